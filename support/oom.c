#include "support/oom.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static _Thread_local BclOomScope *scope_top;

void bcl_oom_push(BclOomScope *sc)
{
    sc->up = scope_top;
    sc->what = NULL;
    sc->guards = NULL;
    scope_top = sc;
}

void bcl_oom_guard(BclOomGuard *g, void (*fn)(void *arg), void *arg)
{
    g->fn = fn;
    g->arg = arg;
    g->scope = scope_top;
    if (!g->scope) return;
    g->next = g->scope->guards;
    g->scope->guards = g;
}

void bcl_oom_unguard(BclOomGuard *g)
{
    if (!g->scope) return;
    for (BclOomGuard **p = &g->scope->guards; *p; p = &(*p)->next)
        if (*p == g) {
            *p = g->next;
            break;
        }
    g->scope = NULL;
}

void bcl_oom_free_ptr(void *arg)
{
    void **p = arg;
    free(*p);
    *p = NULL;
}

void bcl_oom_pop(BclOomScope *sc)
{
    if (scope_top == sc) scope_top = sc->up;
    /* guards still registered outlive the scope: detach them, so that unguarding
     * them later touches nothing of this (then dead) frame */
    for (BclOomGuard *g = sc->guards; g; g = g->next) g->scope = NULL;
    sc->guards = NULL;
}

void bcl_oom_fail(const char *what)
{
    BclOomScope *sc = scope_top;
    if (!sc) {
        fprintf(stderr, "bclc: error: out of memory (%s)\n", what);
        abort();
    }
    /* the cleanups run while the frames that own them still exist */
    while (sc->guards) {
        BclOomGuard *g = sc->guards;
        sc->guards = g->next;
        g->scope = NULL;
        g->fn(g->arg);
    }
    scope_top = sc->up;
    sc->what = what;
    longjmp(sc->jb, 1);
}

/* -1: not read yet; 0: off; N: fail the Nth */
static atomic_long fail_at = -1;
static atomic_long n_allocs;

void bcl_fail_alloc_at(long n)
{
    atomic_store(&n_allocs, 0);
    atomic_store(&fail_at, n);
}

static void report_count(void)
{
    fprintf(stderr, "bcl: %ld checked allocations\n", atomic_load(&n_allocs));
}

bool bcl_alloc_fails(void)
{
    long at = atomic_load(&fail_at);
    if (at < 0) {
        const char *e = getenv("BCL_FAIL_ALLOC");
        bool count = e && !strcmp(e, "count");
        long n = count ? LONG_MAX : e ? strtol(e, NULL, 10) : 0;
        long expect = -1;
        if (atomic_compare_exchange_strong(&fail_at, &expect, n > 0 ? n : 0) && count) atexit(report_count);
        at = atomic_load(&fail_at);
    }
    if (at == 0) return false;
    return atomic_fetch_add(&n_allocs, 1) + 1 == at;
}

void *bcl_malloc(size_t n)
{
    if (bcl_alloc_fails()) return NULL;
    return malloc(n ? n : 1);
}

void *bcl_realloc(void *p, size_t n)
{
    if (bcl_alloc_fails()) return NULL;
    return realloc(p, n ? n : 1);
}

/* Buffers of at least this size start on a 2 MiB boundary, are a whole number of
 * 2 MiB pages, and ask for transparent huge pages: the first touch of a weight or
 * activation buffer then faults once per 2 MiB instead of once per 4 KiB. Under
 * shadow-paging hypervisors a 4 KiB fault costs about 10 us (ResNet-50's start-up
 * touched about 100,000 pages: 1 s of its 1.8 s); the rounding wastes under 2 MiB
 * per buffer, a third at most. */
enum { HUGE_PAGE = 2 << 20, HUGE_MIN = 4 << 20 };

void *bcl_huge_alloc(size_t n)
{
    if (bcl_alloc_fails() || n > SIZE_MAX / 2) return NULL;
    n = (n ? n + HUGE_PAGE - 1 : HUGE_PAGE) / HUGE_PAGE * HUGE_PAGE;
    void *p = aligned_alloc(HUGE_PAGE, n);
#ifdef MADV_HUGEPAGE
    if (p) (void)madvise(p, n, MADV_HUGEPAGE);   /* a hint: failure changes nothing */
#endif
    return p;
}

void *bcl_aligned_alloc(size_t align, size_t n)
{
    n = n ? n : align;
    if (n >= HUGE_MIN && n <= SIZE_MAX / 2 && align <= HUGE_PAGE) return bcl_huge_alloc(n);
    if (bcl_alloc_fails()) return NULL;
    return aligned_alloc(align, (n + align - 1) / align * align);
}

float *bcl_alloc_floats(size_t n)
{
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) / 64 * 64;
    float *p = bcl_aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

char *bcl_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = bcl_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void *bcl_xmalloc(size_t n)
{
    void *p = bcl_malloc(n);
    if (!p) bcl_oom_fail("malloc");
    return p;
}

void *bcl_xcalloc(size_t n, size_t size)
{
    void *p = bcl_alloc_fails() ? NULL : calloc(n ? n : 1, size ? size : 1);
    if (!p) bcl_oom_fail("calloc");
    return p;
}

void *bcl_xrealloc(void *p, size_t n)
{
    void *q = bcl_alloc_fails() ? NULL : realloc(p, n ? n : 1);
    if (!q) bcl_oom_fail("realloc");
    return q;
}

void *bcl_calloc(size_t n, size_t size)
{
    if (bcl_alloc_fails()) return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

bool bcl_memory_fits(double bytes)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return true;   /* unknown: let malloc decide */
    return bytes <= (double)pages * (double)page;
}
