/* A small strict JSON parser (RFC 8259) for safetensors headers: the whole document
 * becomes a tree in an arena. Limits on depth and value count keep hostile input
 * from exhausting the stack or memory. */
#ifndef BCL_JSON_H
#define BCL_JSON_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "support/arena.h"
#include "support/limits.h"

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } JsonKind;

typedef struct JsonValue JsonValue;
struct JsonValue {
    JsonKind kind;
    bool b;                 /* JSON_BOOL */
    const char *num;        /* JSON_NUMBER: its text (validated, not NUL-terminated) */
    size_t num_len;
    char *str;              /* JSON_STRING: decoded UTF-8, NUL-terminated (may hold NULs) */
    size_t str_len;
    int n;                  /* JSON_ARRAY / JSON_OBJECT: element count */
    JsonValue **items;      /* elements / member values, in document order */
    JsonValue **keys;       /* JSON_OBJECT: member names (JSON_STRING values) */
};

enum { JSON_MAX_DEPTH = BCL_MAX_JSON_DEPTH, JSON_MAX_VALUES = 1000000 };

/* Parses text[0..len) as exactly one JSON value with optional surrounding whitespace.
 * On error returns NULL and writes "at byte N: why" into err. */
JsonValue *json_parse(Arena *a, const char *text, size_t len, char *err, size_t err_len);

/* The value as a non-negative integer without fraction or exponent; false otherwise
 * (also on overflow past INT64_MAX). */
bool json_get_int(const JsonValue *v, int64_t *out);

#endif
