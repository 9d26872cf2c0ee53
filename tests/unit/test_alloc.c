/* The allocators under the weights (support/arena.c, support/oom.c): an arena's large
 * allocations are carved from shared huge-page chunks yet stay zeroed, aligned and
 * disjoint; small ones fill a first malloc'd block, then blocks of one 2 MiB huge page
 * each; bcl_aligned_alloc puts a large buffer on whole 2 MiB pages and asks the
 * kernel for transparent huge pages there (checked in /proc/self/smaps when the
 * machine has THP in "always" or "madvise" mode). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "support/arena.h"
#include "support/oom.h"

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* Sizes on both sides of the small/large split (16 KiB) and of the chunk sizes (4 MiB
 * first, doubling to 64 MiB), one bigger than any chunk: every allocation is zeroed,
 * 16-byte aligned and overlaps no other (each is filled with its own byte and checked
 * after all are made). */
static void test_arena_large_allocations(void **st)
{
    (void)st;
    static const size_t sizes[] = {10,      16384,   16385,    100000,  3u << 20, 5u << 20, 1,
                                   70000,   9u << 20, 17u << 20, 40000, 80u << 20, 123457, 16400};
    enum { N = sizeof sizes / sizeof sizes[0] };
    Arena a;
    arena_init(&a);
    unsigned char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = arena_alloc(&a, sizes[i]);
        assert_int_equal((uintptr_t)p[i] % 16, 0);
        assert_true(all_zero(p[i], sizes[i]));
        memset(p[i], i + 1, sizes[i]);
    }
    for (int i = 0; i < N; i++) {
        assert_int_equal(p[i][0], i + 1);
        assert_int_equal(p[i][sizes[i] - 1], i + 1);
        assert_int_equal(p[i][sizes[i] / 2], i + 1);
    }
    size_t total = 0;
    for (int i = 0; i < N; i++) total += (sizes[i] + 15) / 16 * 16;
    assert_int_equal(a.total, total);
    arena_free(&a);
    assert_null(a.head);
    assert_null(a.big);
    /* the arena is reusable after arena_free */
    unsigned char *q = arena_alloc(&a, 1u << 20);
    assert_true(all_zero(q, 1u << 20));
    arena_free(&a);
}

/* Whether the kernel offers transparent huge pages to madvise'd memory. */
static bool thp_available(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return false;
    char line[128] = "";
    bool ok = fgets(line, sizeof line, f) && !strstr(line, "[never]");
    fclose(f);
    return ok;
}

/* The smaps "THPeligible" flag of the mapping that holds p (-1: not found). */
static int thp_eligible(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int found = 0, r = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            found = (uintptr_t)p >= lo && (uintptr_t)p < hi;
            continue;
        }
        if (found && sscanf(line, "THPeligible: %d", &r) == 1) break;
    }
    fclose(f);
    return r;
}

static void test_aligned_alloc_huge(void **st)
{
    (void)st;
    size_t n = (5u << 20) + 12345;
    unsigned char *p = bcl_aligned_alloc(64, n);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % (2u << 20), 0);   /* starts a huge page */
    memset(p, 7, n);
    assert_int_equal(p[n - 1], 7);
    if (thp_available()) assert_int_equal(thp_eligible(p), 1);
    free(p);
    /* small ones keep their own alignment, and are freed with free() as well */
    unsigned char *s = bcl_aligned_alloc(64, 1000);
    assert_non_null(s);
    assert_int_equal((uintptr_t)s % 64, 0);
    free(s);
}

/* Small allocations past the first 64 KiB block: the next block starts a 2 MiB page
 * (its header first) and is eligible for transparent huge pages; every allocation is
 * zeroed and keeps its own bytes. */
static void test_arena_small_blocks_huge(void **st)
{
    (void)st;
    enum { N = 300, SZ = 1000 };   /* 300 KB: past the first block, inside the second */
    Arena a;
    arena_init(&a);
    unsigned char *p[N];
    const void *first = NULL, *second = NULL;
    for (int i = 0; i < N; i++) {
        p[i] = arena_alloc(&a, SZ);
        assert_true(all_zero(p[i], SZ));
        memset(p[i], i % 251 + 1, SZ);
        if (!first) first = a.head;
        else if (!second && (const void *)a.head != first) second = a.head;
    }
    assert_non_null(second);
    assert_int_equal((uintptr_t)second % (2u << 20), 0);
    if (thp_available()) assert_int_equal(thp_eligible(p[N - 1]), 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(p[i][0], i % 251 + 1);
        assert_int_equal(p[i][SZ - 1], i % 251 + 1);
    }
    arena_free(&a);
    unsigned char *h = bcl_huge_alloc(100);   /* rounded up to one whole huge page */
    assert_non_null(h);
    assert_int_equal((uintptr_t)h % (2u << 20), 0);
    memset(h, 1, 2u << 20);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_large_allocations),
        cmocka_unit_test(test_aligned_alloc_huge),
        cmocka_unit_test(test_arena_small_blocks_huge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
