/* The memory planner's core (bcl_plan_buffers, ir/memplan.c), which the interpreter's
 * plan and the JIT's arena both come from, in both placements: no two buffers alive at
 * one step share bytes, a result never lands in a buffer its own step reads, aliases
 * share their root's offset and stretch its lifetime and size, dead buffers are reused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ir/memplan.h"
#include "tests/unit/test_support.h"

static int64_t al(int64_t s) { return (s > 0 ? s + 63 : 64) / 64 * 64; }

/* Checks a plan against the rules: per root, the union of its aliases' lifetimes and
 * the largest aliased size; then every pair of roots alive at a common step (closed
 * intervals [first, last]) is disjoint in bytes, and everything lies below the peak. */
static void check(const BclBufReq *r, int n, const int64_t *off, int64_t peak)
{
    int *root = malloc(sizeof(int) * (size_t)n), *lo = malloc(sizeof(int) * (size_t)n), *hi = malloc(sizeof(int) * (size_t)n);
    int64_t *sz = malloc(sizeof(int64_t) * (size_t)n);
    for (int i = 0; i < n; i++) {
        root[i] = r[i].alias_of >= 0 ? root[r[i].alias_of] : i;
        int q = root[i], last = r[i].last > r[i].first ? r[i].last : r[i].first;
        if (q == i) lo[i] = r[i].first, hi[i] = last, sz[i] = al(r[i].size);
        else {
            if (hi[q] < last) hi[q] = last;
            if (sz[q] < al(r[i].size)) sz[q] = al(r[i].size);
            assert_int_equal(off[i], off[q]);
        }
    }
    for (int i = 0; i < n; i++) {
        assert_int_equal(off[i] % BCL_MEMPLAN_ALIGN, 0);
        assert_true(off[i] >= 0 && off[root[i]] + sz[root[i]] <= peak);
        if (root[i] != i) continue;
        for (int j = i + 1; j < n; j++) {
            if (root[j] != j) continue;
            bool live = lo[i] <= hi[j] && lo[j] <= hi[i];
            bool overlap = off[i] < off[j] + sz[j] && off[j] < off[i] + sz[i];
            if (live && overlap)
                fail_msg("buffers %d [%d,%d] and %d [%d,%d] overlap: [%lld,+%lld) and [%lld,+%lld)", i, lo[i], hi[i], j,
                         lo[j], hi[j], (long long)off[i], (long long)sz[i], (long long)off[j], (long long)sz[j]);
        }
    }
    free(root);
    free(lo);
    free(hi);
    free(sz);
}

/* A result never shares with an operand that dies at its own step; the next step's
 * result does take the dead buffer. */
static void test_operands_not_reused(void **state)
{
    (void)state;
    BclBufReq r[] = {{256, 0, 1, -1}, {256, 1, 2, -1}, {256, 2, 3, -1}, {256, 3, 3, -1}};
    int64_t off[4];
    int64_t peak = bcl_plan_buffers(r, 4, BCL_PLACE_IN_STEP_ORDER, off);
    check(r, 4, off, peak);
    assert_int_not_equal(off[0], off[1]);   /* step 1 reads 0 while writing 1 */
    assert_int_not_equal(off[1], off[2]);
    assert_int_equal(off[2], off[0]);       /* 0 died at step 1: free at step 2 */
    assert_int_equal(off[3], off[1]);
    assert_int_equal(peak, 512);
}

/* Disjoint lifetimes of one size reuse one block; sizes round up to the alignment,
 * a zero-byte request takes one aligned unit. */
static void test_reuse_and_alignment(void **state)
{
    (void)state;
    BclBufReq r[] = {{100, 0, 0, -1}, {0, 1, 1, -1}, {64, 2, 2, -1}, {1, 3, 3, -1}};
    int64_t off[4];
    int64_t peak = bcl_plan_buffers(r, 4, BCL_PLACE_IN_STEP_ORDER, off);
    check(r, 4, off, peak);
    for (int i = 0; i < 4; i++) assert_int_equal(off[i], 0);
    assert_int_equal(peak, 128);
}

/* Best fit: with free blocks of 128 and 512 bytes, a 128-byte request takes the small one
 * and a 384-byte request the large one; a request larger than every free block grows
 * the arena from the free block at its top. */
static void test_best_fit(void **state)
{
    (void)state;
    BclBufReq r[] = {
        {512, 0, 0, -1}, {64, 0, 2, -1}, {128, 0, 0, -1}, {64, 0, 9, -1},   /* 0..767 then two frees */
        {128, 1, 9, -1}, {384, 2, 9, -1}, {1024, 3, 9, -1},
    };
    int64_t off[7];
    int64_t peak = bcl_plan_buffers(r, 7, BCL_PLACE_IN_STEP_ORDER, off);
    check(r, 7, off, peak);
    assert_int_equal(off[0], 0);
    assert_int_equal(off[2], 576);
    assert_int_equal(off[4], 576);   /* the 128-byte hole, not the 512-byte one */
    assert_int_equal(off[5], 0);     /* the 512-byte hole */
    assert_int_equal(off[6], 768);   /* nothing fits: on top */
    assert_int_equal(peak, 768 + 1024);
}

/* An alias shares its root's offset, keeps the root alive until its own last step, and
 * a larger alias grows the root's block. */
static void test_alias(void **state)
{
    (void)state;
    BclBufReq r[] = {
        {256, 0, 1, -1},   /* 0: a result */
        {512, 1, 4, 0},    /* 1: written in place of 0 at step 1, larger, read until 4 */
        {256, 2, 2, -1},   /* 2: alive while 1 is: must not overlap 0's (grown) block */
        {128, 3, 5, 1},    /* 3: a view of 1 (so of 0), read until 5 */
        {512, 6, 6, -1},   /* 6: after the whole group died: reuses its block */
    };
    int64_t off[5];
    int64_t peak = bcl_plan_buffers(r, 5, BCL_PLACE_IN_STEP_ORDER, off);
    check(r, 5, off, peak);
    assert_int_equal(off[1], off[0]);
    assert_int_equal(off[3], off[0]);
    assert_true(off[2] >= off[0] + 512 || off[2] + 256 <= off[0]);
    assert_int_equal(off[4], off[0]);
    assert_int_equal(peak, 768);
}

/* Both placements keep the rules for aliases and dying operands. */
static void test_by_size_rules(void **state)
{
    (void)state;
    BclBufReq r[] = {
        {256, 0, 1, -1}, {512, 1, 4, 0}, {256, 2, 2, -1}, {128, 3, 5, 1}, {512, 6, 6, -1}, {256, 6, 7, -1},
    };
    int64_t off[6];
    int64_t peak = bcl_plan_buffers(r, 6, BCL_PLACE_BY_SIZE, off);
    check(r, 6, off, peak);
    assert_int_equal(off[1], off[0]);
    assert_int_equal(off[3], off[0]);
    assert_int_not_equal(off[4], off[5]);   /* both written at step 6 */
    assert_int_equal(peak, 768);
}

/* Where step order fragments the arena, largest first does not: a small long-lived
 * buffer placed first in step order lands between two large ones' places. */
static void test_by_size_smaller(void **state)
{
    (void)state;
    BclBufReq r[] = {
        {1024, 0, 1, -1},   /* large, dies at step 1 */
        {64, 1, 9, -1},     /* small, lives long: in step order it goes above the large one */
        {2048, 2, 3, -1},   /* larger: in step order it cannot use the large one's hole alone */
    };
    int64_t a[3], b[3];
    int64_t in_order = bcl_plan_buffers(r, 3, BCL_PLACE_IN_STEP_ORDER, a);
    int64_t by_size = bcl_plan_buffers(r, 3, BCL_PLACE_BY_SIZE, b);
    check(r, 3, a, in_order);
    check(r, 3, b, by_size);
    assert_int_equal(in_order, 1024 + 64 + 2048);
    assert_int_equal(by_size, 2048 + 64);
}

/* Random requests (several per step, long and short lives, aliases) against the rules,
 * in both placements. */
static void test_random(void **state)
{
    (void)state;
    uint64_t st = 12345;
    for (int round = 0; round < 200; round++) {
        int n = 1 + round % 97;
        BclBufReq *r = calloc((size_t)n, sizeof *r);
        int64_t *off = calloc((size_t)n, sizeof *off);
        for (int i = 0; i < n; i++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t x = st >> 16;
            int first = i / 2 + (int)(x % 3);
            r[i].first = first;
            r[i].last = first + (int)((x >> 4) % (x >> 12 & 1 ? 40 : 4));
            r[i].size = (int64_t)((x >> 20) % 5000);
            int a = i > 0 && (x >> 40) % 5 == 0 ? (int)((x >> 44) % (uint64_t)i) : -1;
            r[i].alias_of = a >= 0 && r[a].first <= first ? a : -1;   /* an alias starts after its root */
        }
        int64_t peak = bcl_plan_buffers(r, n, BCL_PLACE_IN_STEP_ORDER, off);
        assert_true(peak > 0);
        check(r, n, off, peak);
        peak = bcl_plan_buffers(r, n, BCL_PLACE_BY_SIZE, off);
        assert_true(peak > 0);
        check(r, n, off, peak);
        free(r);
        free(off);
    }
    int64_t off0;
    assert_int_equal(bcl_plan_buffers(NULL, 0, BCL_PLACE_IN_STEP_ORDER, &off0), 0);
    assert_int_equal(bcl_plan_buffers(NULL, 0, BCL_PLACE_BY_SIZE, &off0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_operands_not_reused),
        cmocka_unit_test(test_reuse_and_alignment),
        cmocka_unit_test(test_best_fit),
        cmocka_unit_test(test_alias),
        cmocka_unit_test(test_by_size_rules),
        cmocka_unit_test(test_by_size_smaller),
        cmocka_unit_test(test_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
