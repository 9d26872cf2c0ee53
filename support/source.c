/* Source texts: files read whole, or strings. Line ends are normalised to '\n'
 * (as Python reads source) so that lines and columns agree everywhere. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/source.h"
#include "support/oom.h"

/* Copies text into the arena: drops a UTF-8 byte-order mark, turns "\r\n" and
 * lone '\r' into '\n'. Returns the new length. */
static size_t normalise(char *dst, const char *text, size_t n)
{
    size_t i = 0, k = 0;
    if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) i = 3;
    for (; i < n; i++) {
        if (text[i] == '\r') {
            dst[k++] = '\n';
            if (i + 1 < n && text[i + 1] == '\n') i++;
        } else {
            dst[k++] = text[i];
        }
    }
    dst[k] = 0;
    return k;
}

static Source *make_source(Arena *a, const char *path, const char *text, size_t n)
{
    Source *s = ARENA_NEW(a, Source);
    char *t = arena_alloc(a, n + 1);
    s->path = arena_strdup(a, path);
    s->len = normalise(t, text, n);
    s->text = t;
    return s;
}

Source *bcl_source_from_string(Arena *a, const char *path, const char *text)
{
    return make_source(a, path, text, strlen(text));
}

Source *bcl_read_source(Arena *a, Diag *d, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error_path(d, path, "cannot open: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = bcl_malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            diag_error_path(d, path, "out of memory reading the file");
            return NULL;
        }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        char *nb = bcl_realloc(buf, cap);
        if (!nb) free(buf);
        buf = nb;
    }
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        diag_error_path(d, path, "cannot read: %s", strerror(errno));
        return NULL;
    }
    if (memchr(buf, 0, n)) {
        free(buf);
        diag_error_path(d, path, "source code cannot contain null bytes");
        return NULL;
    }
    Source *s = make_source(a, path, buf, n);
    free(buf);
    return s;
}
