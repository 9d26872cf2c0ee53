/* Helpers shared by the cmocka unit tests. Include after <cmocka.h>. Needs only libc
 * and bcl_base (diag.c; ir/ir.h is used for its types only), which every stage links,
 * so any test may include it. Everything is static inline: a test that does not use a
 * helper gets no warning. */
#ifndef BCL_TEST_SUPPORT_H
#define BCL_TEST_SUPPORT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/diag.h"
#include "ir/ir.h"

/* Diagnostics captured into memory, so tests can compare the exact text. */
typedef struct Cap {
    Diag d;
    FILE *f;
    char *buf;
    size_t len;
} Cap;

static inline void cap_init(Cap *c)
{
    c->buf = NULL;
    c->f = open_memstream(&c->buf, &c->len);
    assert_non_null(c->f);
    diag_init(&c->d, c->f);
}

/* Everything reported so far ("" before the first diagnostic). */
static inline const char *cap_text(Cap *c)
{
    fflush(c->f);
    return c->buf ? c->buf : "";
}

static inline void cap_free(Cap *c)
{
    fclose(c->f);
    free(c->buf);
}

static inline void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle)) fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* The whole file at path, malloc'ed and NUL-terminated (so text can be used as a
 * string); fails the test if unreadable. */
static inline unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* A new empty file under /tmp; the name lives in a static buffer until the next
 * call, and the caller unlinks it. */
static inline char *tmp_path(void)
{
    static char p[64];
    strcpy(p, "/tmp/bcl_test_XXXXXX");
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    close(fd);
    return p;
}

/* A malloc'ed copy of n bytes at exactly that size (so ASan catches over-reads). */
static inline unsigned char *memdup(const void *p, size_t n)
{
    unsigned char *b = malloc(n ? n : 1);
    assert_non_null(b);
    memcpy(b, p, n);
    return b;
}

/* Marsaglia's xorshift64: a reproducible stream for the mutation (fuzz) tests. */
static inline uint64_t xorshift64(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The shape [d0, d1, ...] of the given rank. */
static inline Shape shp(int rank, ...)
{
    Shape s = {.rank = rank};
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++) s.d[i] = va_arg(ap, int);
    va_end(ap);
    return s;
}

#endif
