#include "support/diag.h"
#include "support/limits.h"
#include "support/oom.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *level_name[] = {"error", "warning", "note"};

void diag_init(Diag *d, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->out = out ? out : stderr;
    d->max_errors = BCL_DEFAULT_MAX_ERRORS;
}

/* Finds the start and length of line `line` (1-based) in src. */
static bool find_line(const Source *src, int line, const char **start, int *len)
{
    const char *p = src->text, *end = src->text + src->len;
    for (int l = 1; l < line; l++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p) return false;
        p++;
    }
    const char *e = memchr(p, '\n', (size_t)(end - p));
    if (!e) e = end;
    if (e > p && e[-1] == '\r') e--;
    *start = p;
    *len = (int)(e - p);
    return true;
}

/* One diagnostic is composed here and written with a single fwrite: stderr is
 * unbuffered, and a caret line written a byte at a time is one system call per byte. */
typedef struct DiagText {
    char s[4096];
    size_t n;
} DiagText;

static void text_vadd(DiagText *t, const char *fmt, va_list ap)
{
    if (t->n >= sizeof t->s) return;
    int k = vsnprintf(t->s + t->n, sizeof t->s - t->n, fmt, ap);
    if (k > 0) t->n += (size_t)k;
    if (t->n >= sizeof t->s) {  /* too long: cut, and say so */
        t->n = sizeof t->s - 5;
        memcpy(t->s + t->n, "...\n", 4);
        t->n += 4;
    }
}

static void text_add(DiagText *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(DiagText *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_vadd(t, fmt, ap);
    va_end(ap);
}

/* Source lines longer than this are shown as a window around the column. */
enum { SHOW_LINE = 160, SHOW_BEFORE = 60 };

static void add_caret(DiagText *t, SrcLoc loc)
{
    const char *line;
    int len;
    if (!loc.src->text || !find_line(loc.src, loc.line, &line, &len)) return;
    int col = loc.col < 1 ? 1 : loc.col;
    int from = 0, to = len;
    if (len > SHOW_LINE) {
        from = col - 1 > SHOW_BEFORE ? col - 1 - SHOW_BEFORE : 0;
        if (from > len) from = len;
        to = from + SHOW_LINE < len ? from + SHOW_LINE : len;
    }
    const char *pre = from > 0 ? "..." : "", *post = to < len ? "..." : "";
    text_add(t, "    %s%.*s%s\n    %s", pre, to - from, line + from, post, *pre ? "   " : "");
    char mark[SHOW_LINE + 2];
    int k = 0;
    for (int i = from + 1; i < col && i <= to; i++) mark[k++] = line[i - 1] == '\t' ? '\t' : ' ';
    mark[k++] = '^';
    int span = loc.len;
    if (col - 1 + span > to) span = to - (col - 1);
    for (int i = 1; i < span && k < SHOW_LINE + 1; i++) mark[k++] = '~';
    text_add(t, "%.*s\n", k, mark);
}

static void count(Diag *d, DiagLevel lvl)
{
    if (lvl == DIAG_ERROR) d->n_errors++;
    if (lvl == DIAG_WARNING) d->n_warnings++;
}

/* Past max_errors errors, errors and their notes are counted but not shown; the first
 * one not shown says so, once. */
static bool suppressed(Diag *d, DiagLevel lvl)
{
    if (!d->max_errors || d->n_errors <= d->max_errors || lvl == DIAG_WARNING) return false;
    if (lvl == DIAG_ERROR && d->n_errors == d->max_errors + 1)
        fprintf(d->out, "bclc: error: too many errors (more than %d); stopping here (--max-errors N shows more)\n",
                d->max_errors);
    return true;
}

static void capture_add(Diag *d, DiagLevel lvl, SrcLoc loc, const char *fmt, va_list ap)
{
    DiagCapture *c = d->capture;
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 8;
        c->r = bcl_xrealloc(c->r, sizeof *c->r * (size_t)cap);
        c->cap = cap;
    }
    char tmp[1024];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    size_t len = strlen(tmp) + 1;
    char *m = bcl_xmalloc(len);
    memcpy(m, tmp, len);
    c->r[c->n++] = (DiagRecord){(int)lvl, loc, m};
}

void diag_capture_begin(Diag *d, DiagCapture *c)
{
    memset(c, 0, sizeof *c);
    c->up = d->capture;
    c->n_errors_before = d->n_errors;
    d->capture = c;
}

void diag_capture_end(Diag *d, DiagCapture *c, bool replay)
{
    d->capture = c->up;
    d->n_errors = c->n_errors_before;
    for (int i = 0; i < c->n; i++) {
        if (replay) diag_emit(d, (DiagLevel)c->r[i].lvl, c->r[i].loc, "%s", c->r[i].msg);
        free(c->r[i].msg);
    }
    free(c->r);
    c->r = NULL;
    c->n = c->cap = 0;
}

void diag_emit(Diag *d, DiagLevel lvl, SrcLoc loc, const char *fmt, ...)
{
    count(d, lvl);
    if (d->capture && lvl != DIAG_WARNING) {
        va_list ap;
        va_start(ap, fmt);
        capture_add(d, lvl, loc, fmt, ap);
        va_end(ap);
        return;
    }
    if (suppressed(d, lvl)) return;
    DiagText t;
    t.n = 0;
    if (loc.src)
        text_add(&t, "%s:%d:%d: %s: ", loc.src->path, loc.line, loc.col, level_name[lvl]);
    else
        text_add(&t, "bclc: %s: ", level_name[lvl]);
    va_list ap;
    va_start(ap, fmt);
    text_vadd(&t, fmt, ap);
    va_end(ap);
    text_add(&t, "\n");
    if (loc.src && loc.line > 0) add_caret(&t, loc);
    fwrite(t.s, 1, t.n, d->out);
}

static void emit_path(Diag *d, DiagLevel lvl, const char *path, const char *fmt, va_list ap)
{
    count(d, lvl);
    if (suppressed(d, lvl)) return;
    DiagText t;
    t.n = 0;
    text_add(&t, "%s: %s: ", path ? path : "bclc", level_name[lvl]);
    text_vadd(&t, fmt, ap);
    text_add(&t, "\n");
    fwrite(t.s, 1, t.n, d->out);
}

void diag_error_path(Diag *d, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_path(d, DIAG_ERROR, path, fmt, ap);
    va_end(ap);
}

void diag_warning_path(Diag *d, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit_path(d, DIAG_WARNING, path, fmt, ap);
    va_end(ap);
}

void bcl_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "bclc: internal compiler error: %s:%d: assertion '%s' failed\n", file, line, cond);
    abort();
}
