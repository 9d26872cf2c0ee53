/* Per-handle error texts: diagnostics captured through a memory stream, so a caller
 * gets exactly what bclc would print (file:line:col, caret, notes). */
#define _GNU_SOURCE   /* vasprintf */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "support/oom.h"

static void capture_drop(void *arg)
{
    Capture *c = arg;
    fclose(c->f);
    free(c->buf);
    c->f = NULL;
    c->buf = NULL;
}

bool capture_begin(Capture *c)
{
    c->buf = NULL;
    c->len = 0;
    c->f = open_memstream(&c->buf, &c->len);
    if (!c->f) return false;
    diag_init(&c->d, c->f);
    bcl_oom_guard(&c->guard, capture_drop, c);
    return true;
}

void capture_end(Capture *c, char **msg)
{
    bcl_oom_unguard(&c->guard);
    fclose(c->f);   /* flushes: buf and len are final now */
    c->f = NULL;
    free(*msg);
    *msg = c->buf;
    c->buf = NULL;
}

/* "WHERE: error: BODY\n", as diag_error_path prints it. */
static BclStatus fail(char **msg, BclStatus s, const char *where, const char *fmt, va_list ap)
{
    char *body = NULL, *text = NULL;
    if (vasprintf(&body, fmt, ap) < 0) body = NULL;
    if (!body || asprintf(&text, "%s: error: %s\n", where, body) < 0) text = NULL;
    free(body);
    free(*msg);
    *msg = text;    /* NULL (no memory) reads as "" */
    return s;
}

BclStatus api_fail(char **msg, BclStatus s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail(msg, s, "bclc", fmt, ap);
    va_end(ap);
    return s;
}

BclStatus api_fail_path(char **msg, BclStatus s, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail(msg, s, path, fmt, ap);
    va_end(ap);
    return s;
}

BclStatus api_no_memory(char **msg, const char *what)
{
    return api_fail(msg, BCL_ERR_NO_MEMORY, "out of memory (%s)", what);
}

bool api_msg_is_oom(const char *msg) { return msg && strstr(msg, "out of memory"); }

void api_clear(char **msg)
{
    free(*msg);
    *msg = NULL;
}

const char *api_msg(const char *msg) { return msg ? msg : ""; }

int api_readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return errno ? errno : EIO;
    errno = 0;
    int e = fgetc(f) == EOF && ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    return e;
}

bool api_strdup(const char *s, char **out)
{
    *out = NULL;
    if (!s) return true;
    *out = bcl_strdup(s);
    return *out != NULL;
}
