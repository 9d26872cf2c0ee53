#include "support/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *level_name[] = {"error", "warning", "note"};

void diag_init(Diag *d, FILE *out)
{
    memset(d, 0, sizeof *d);
    d->out = out ? out : stderr;
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

static void print_caret(Diag *d, SrcLoc loc)
{
    const char *line;
    int len;
    if (!loc.src->text || !find_line(loc.src, loc.line, &line, &len)) return;
    fprintf(d->out, "    %.*s\n    ", len, line);
    int col = loc.col < 1 ? 1 : loc.col;
    for (int i = 1; i < col && i <= len; i++) fputc(line[i - 1] == '\t' ? '\t' : ' ', d->out);
    fputc('^', d->out);
    int span = loc.len;
    if (col - 1 + span > len) span = len - (col - 1);
    for (int i = 1; i < span; i++) fputc('~', d->out);
    fputc('\n', d->out);
}

static void count(Diag *d, DiagLevel lvl)
{
    if (lvl == DIAG_ERROR) d->n_errors++;
    if (lvl == DIAG_WARNING) d->n_warnings++;
}

static bool suppressed(Diag *d, DiagLevel lvl)
{
    return d->max_errors && d->n_errors > d->max_errors && lvl != DIAG_WARNING;
}

void diag_emit(Diag *d, DiagLevel lvl, SrcLoc loc, const char *fmt, ...)
{
    count(d, lvl);
    if (suppressed(d, lvl)) return;
    if (loc.src)
        fprintf(d->out, "%s:%d:%d: %s: ", loc.src->path, loc.line, loc.col, level_name[lvl]);
    else
        fprintf(d->out, "bclc: %s: ", level_name[lvl]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(d->out, fmt, ap);
    va_end(ap);
    fputc('\n', d->out);
    if (loc.src && loc.line > 0) print_caret(d, loc);
}

static void emit_path(Diag *d, DiagLevel lvl, const char *path, const char *fmt, va_list ap)
{
    count(d, lvl);
    if (suppressed(d, lvl)) return;
    fprintf(d->out, "%s: %s: ", path ? path : "bclc", level_name[lvl]);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
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
