/* Diagnostics: "file:line:col: error: msg", the source line, a caret under the span,
 * and "note:" lines. Every user error in bclc goes through here. */
#ifndef BCL_DIAG_H
#define BCL_DIAG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* A source text: a .bcl file, an embedded stdlib file, or "<command line>". */
typedef struct Source {
    const char *path;   /* as shown in diagnostics */
    const char *text;   /* whole text, NUL-terminated */
    size_t len;
} Source;

/* A span in a source: 1-based line and column, len in bytes (0 = just a point).
 * src == NULL means "no location"; then the message is printed as "bclc: error: msg",
 * or "path: error: msg" when line == 0 and path is given via diag_error_path. */
typedef struct SrcLoc {
    const Source *src;
    int line, col, len;
} SrcLoc;

#define NO_LOC ((SrcLoc){0})

typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagLevel;

/* Errors held back while a compile-time `try` runs (and their notes): a handler that
 * catches the error drops them; otherwise they are replayed where they would have gone. */
typedef struct DiagRecord { int lvl; SrcLoc loc; char *msg; } DiagRecord;
typedef struct DiagCapture {
    struct DiagCapture *up;
    int n, cap;
    DiagRecord *r;
    int n_errors_before;
} DiagCapture;

typedef struct Diag {
    FILE *out;          /* where diagnostics go (stderr by default) */
    DiagCapture *capture;   /* innermost active capture, or NULL */
    int n_errors, n_warnings;
    int max_errors;     /* stop printing errors after this many (0 = no limit) */
    bool color;
} Diag;

void diag_init(Diag *d, FILE *out);
void diag_emit(Diag *d, DiagLevel lvl, SrcLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define diag_error(d, loc, ...)   diag_emit((d), DIAG_ERROR, (loc), __VA_ARGS__)
#define diag_warning(d, loc, ...) diag_emit((d), DIAG_WARNING, (loc), __VA_ARGS__)
#define diag_note(d, loc, ...)    diag_emit((d), DIAG_NOTE, (loc), __VA_ARGS__)
/* An error about a whole file (weights, inputs): "path: error: msg". */
void diag_error_path(Diag *d, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void diag_warning_path(Diag *d, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Starts holding errors and notes in c (warnings still print). */
void diag_capture_begin(Diag *d, DiagCapture *c);
/* Stops holding: replay re-emits the held diagnostics (to the enclosing capture or the
 * output), otherwise they are dropped and no longer counted. Frees c's records. */
void diag_capture_end(Diag *d, DiagCapture *c, bool replay);

/* Compiler bugs (never user errors): print file:line and abort. */
#define BCL_ASSERT(c) \
    ((c) ? (void)0 : bcl_assert_fail(#c, __FILE__, __LINE__))
_Noreturn void bcl_assert_fail(const char *cond, const char *file, int line);

#endif
