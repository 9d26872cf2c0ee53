/* Recursive-descent JSON parser; recursion is bounded by JSON_MAX_DEPTH. */
#include "io/json.h"

#include <stdio.h>
#include <string.h>

typedef struct JP {
    Arena *a;
    const unsigned char *s, *p, *end;
    long values;
    char *err;
    size_t err_len;
    bool failed;
} JP;

static JsonValue *fail(JP *j, const char *why)
{
    if (!j->failed)
        snprintf(j->err, j->err_len, "at byte %zu: %s", (size_t)(j->p - j->s), why);
    j->failed = true;
    return NULL;
}

static void ws(JP *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static JsonValue *new_value(JP *j, JsonKind k)
{
    if (++j->values > JSON_MAX_VALUES) return fail(j, "too many values");
    JsonValue *v = ARENA_NEW(j->a, JsonValue);
    v->kind = k;
    return v;
}

static bool is_digit(const JP *j) { return j->p < j->end && *j->p >= '0' && *j->p <= '9'; }

static JsonValue *parse_number(JP *j)
{
    const unsigned char *start = j->p;
    if (j->p < j->end && *j->p == '-') j->p++;
    if (!is_digit(j)) return fail(j, "invalid number");
    if (*j->p == '0') j->p++;                     /* no leading zeros */
    else while (is_digit(j)) j->p++;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!is_digit(j)) return fail(j, "invalid number: digits expected after '.'");
        while (is_digit(j)) j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (!is_digit(j)) return fail(j, "invalid number: digits expected in the exponent");
        while (is_digit(j)) j->p++;
    }
    JsonValue *v = new_value(j, JSON_NUMBER);
    if (!v) return NULL;
    v->num = (const char *)start;
    v->num_len = (size_t)(j->p - start);
    return v;
}

static int hex4(JP *j)
{
    if (j->end - j->p < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = j->p[i], h;
        if (c >= '0' && c <= '9') h = c - '0';
        else if (c >= 'a' && c <= 'f') h = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') h = c - 'A' + 10;
        else return -1;
        v = v << 4 | h;
    }
    j->p += 4;
    return v;
}

static size_t put_utf8(unsigned char *o, unsigned cp)
{
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) { o[0] = (unsigned char)(0xc0 | cp >> 6); o[1] = (unsigned char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xe0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the well-formed UTF-8 sequence at p (shortest form, no surrogates,
 * <= U+10FFFF), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], cp, n;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) { n = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; }
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (unsigned i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) return 0;
    return n;
}

static JsonValue *parse_string(JP *j)
{
    const unsigned char *open = j->p++;
    /* The decoded text is never longer than the raw text: find the end first. */
    const unsigned char *q = j->p;
    while (q < j->end && *q != '"') q += (*q == '\\' && q + 1 < j->end) ? 2 : 1;
    if (q >= j->end) {
        j->p = open;   /* report where the string starts */
        return fail(j, "unterminated string");
    }
    unsigned char *out = arena_alloc(j->a, (size_t)(q - j->p) + 1), *o = out;
    while (*j->p != '"') {
        unsigned c = *j->p;
        if (c < 0x20) return fail(j, "control character in a string");
        if (c != '\\') {
            size_t n = utf8_len(j->p, q);
            if (!n) return fail(j, "invalid UTF-8 in a string");
            memcpy(o, j->p, n);
            o += n;
            j->p += n;
            continue;
        }
        j->p++;
        switch (*j->p++) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            int cp = hex4(j);
            if (cp < 0) return fail(j, "invalid \\u escape");
            if (cp >= 0xdc00 && cp <= 0xdfff) return fail(j, "unpaired surrogate in \\u escape");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
                    return fail(j, "unpaired surrogate in \\u escape");
                j->p += 2;
                int lo = hex4(j);
                if (lo < 0xdc00 || lo > 0xdfff) return fail(j, "unpaired surrogate in \\u escape");
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            o += put_utf8(o, (unsigned)cp);   /* at most 4 bytes from 6 or 12 raw ones */
            break;
        }
        default:
            j->p--;
            return fail(j, "invalid escape in a string");
        }
    }
    j->p++;   /* closing quote */
    *o = 0;
    JsonValue *v = new_value(j, JSON_STRING);
    if (!v) return NULL;
    v->str = (char *)out;
    v->str_len = (size_t)(o - out);
    return v;
}

static JsonValue *parse_value(JP *j, int depth);

/* Arrays and objects share the loop; objects also collect keys. */
static JsonValue *parse_container(JP *j, int depth, bool object)
{
    if (depth >= JSON_MAX_DEPTH) return fail(j, "nesting too deep");
    JsonValue *v = new_value(j, object ? JSON_OBJECT : JSON_ARRAY);
    if (!v) return NULL;
    char close = object ? '}' : ']';
    int cap = 0;
    j->p++;
    ws(j);
    if (j->p < j->end && *j->p == close) {
        j->p++;
        return v;
    }
    for (;;) {
        JsonValue *key = NULL;
        if (object) {
            ws(j);
            if (j->p >= j->end || *j->p != '"') return fail(j, "expected a string key");
            if (!(key = parse_string(j))) return NULL;
            ws(j);
            if (j->p >= j->end || *j->p != ':') return fail(j, "expected ':'");
            j->p++;
        }
        JsonValue *item = parse_value(j, depth + 1);
        if (!item) return NULL;
        if (v->n == cap) {
            int ncap = cap ? cap * 2 : 4;
            v->items = arena_grow(j->a, v->items, (size_t)v->n, (size_t)ncap, sizeof *v->items);
            if (object) v->keys = arena_grow(j->a, v->keys, (size_t)v->n, (size_t)ncap, sizeof *v->keys);
            cap = ncap;
        }
        if (object) v->keys[v->n] = key;
        v->items[v->n++] = item;
        ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return v;
        }
        if (j->p >= j->end) return fail(j, "unexpected end of JSON");
        return fail(j, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static bool literal(JP *j, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0) return false;
    j->p += n;
    return true;
}

static JsonValue *parse_value(JP *j, int depth)
{
    ws(j);
    if (j->p >= j->end) return fail(j, "unexpected end of JSON");
    JsonValue *v;
    switch (*j->p) {
    case '{': return parse_container(j, depth, true);
    case '[': return parse_container(j, depth, false);
    case '"': return parse_string(j);
    case 't':
        if (!literal(j, "true")) break;
        if ((v = new_value(j, JSON_BOOL))) v->b = true;
        return v;
    case 'f':
        if (!literal(j, "false")) break;
        return new_value(j, JSON_BOOL);
    case 'n':
        if (!literal(j, "null")) break;
        return new_value(j, JSON_NULL);
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9')) return parse_number(j);
    }
    return fail(j, "expected a JSON value");
}

JsonValue *json_parse(Arena *a, const char *text, size_t len, char *err, size_t err_len)
{
    JP j = {.a = a, .s = (const unsigned char *)text, .p = (const unsigned char *)text,
            .end = (const unsigned char *)text + len, .err = err, .err_len = err_len};
    if (err_len) err[0] = 0;
    JsonValue *v = parse_value(&j, 0);
    if (!v) return NULL;
    ws(&j);
    if (j.p != j.end) return fail(&j, "unexpected text after the JSON value");
    return v;
}

bool json_get_int(const JsonValue *v, int64_t *out)
{
    if (v->kind != JSON_NUMBER) return false;
    int64_t r = 0;
    for (size_t i = 0; i < v->num_len; i++) {
        char c = v->num[i];
        if (c < '0' || c > '9') return false;     /* '-', '.', exponent */
        if (r > (INT64_MAX - (c - '0')) / 10) return false;
        r = r * 10 + (c - '0');
    }
    *out = r;
    return true;
}
