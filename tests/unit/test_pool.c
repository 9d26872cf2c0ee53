/* The JIT's thread pool (runtime/pool.c): every item of a parallel_for runs exactly once,
 * whether the workers are spinning (jobs back to back), asleep (a pause between jobs
 * longer than the spin), or still busy when the caller runs out of chunks (uneven items:
 * the caller's wait, whose spin yields the core). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "runtime/pool.h"

enum { MAX_ITEMS = 5000 };

/* slots[0]: int counts[MAX_ITEMS]; slots[1]: spin length per item (uneven work) */
static void count_items(void **slots, int64_t begin, int64_t end)
{
    int *counts = slots[0];
    intptr_t work = (intptr_t)slots[1];
    for (int64_t i = begin; i < end; i++) {
        volatile double x = 0;
        for (intptr_t k = 0; k < (i % 7 == 0 ? work : 1); k++) x += 1e-9;
        __atomic_add_fetch(&counts[i], 1, __ATOMIC_RELAXED);
    }
}

/* slots[0]: char ran_on_caller[n]; slots[1]: the caller's pthread_t */
static void note_thread(void **slots, int64_t begin, int64_t end)
{
    char *on_caller = slots[0];
    pthread_t caller = *(pthread_t *)slots[1];
    for (int64_t i = begin; i < end; i++) {
        volatile double x = 0;
        for (int k = 0; k < 3000; k++) x += 1e-9;   /* even work: every thread takes part */
        on_caller[i] = (char)pthread_equal(pthread_self(), caller);
    }
}

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static void test_every_item_once(void **st)
{
    (void)st;
    static const int64_t sizes[] = {2, 3, 7, 8, 9, 64, 257, 1000, MAX_ITEMS};
    int *counts = calloc(MAX_ITEMS, sizeof *counts);
    assert_non_null(counts);
    for (int threads = 2; threads <= 3; threads++) {
        BclPool *p = bcl_pool_new(threads);
        assert_non_null(p);
        assert_int_equal(bcl_pool_threads(p), threads);
        for (int r = 0; r < 300; r++) {
            int64_t n = sizes[r % (int)(sizeof sizes / sizeof *sizes)];
            void *slots[2] = {counts, (void *)(intptr_t)(r % 3 == 0 ? 20000 : 0)};
            for (int64_t i = 0; i < n; i++) counts[i] = 0;
            if (r % 50 == 49) sleep_us(2000);   /* past the spin: the workers sleep */
            bcl_rt_parallel_for(p, count_items, slots, n);
            int bad = 0;
            for (int64_t i = 0; i < n; i++) bad += counts[i] != 1;
            assert_int_equal(bad, 0);
        }
        bcl_pool_free(p);
    }
    free(counts);
}

/* Each thread owns a contiguous share of a job's items and claims it first (so it reads
 * what it wrote in the step before): on 2 threads the caller runs the first half and the
 * worker the second. Stealing (a thread descheduled) may move a chunk, so the test asks
 * for that split in a few jobs of 100 only: with one shared claim counter the threads'
 * chunks interleave and the first half is never the caller's alone. */
static void test_own_share_first(void **st)
{
    (void)st;
    enum { N = 256, JOBS = 100 };
    char on_caller[N];
    pthread_t self = pthread_self();
    void *slots[2] = {on_caller, &self};
    BclPool *p = bcl_pool_new(2);
    assert_non_null(p);
    int halves = 0;
    for (int r = 0; r < JOBS; r++) {
        bcl_rt_parallel_for(p, note_thread, slots, N);
        int first = 0, second = 0;
        for (int i = 0; i < N / 2; i++) first += on_caller[i], second += on_caller[N / 2 + i];
        halves += first == N / 2 && second == 0;
    }
    bcl_pool_free(p);
    /* idle machine: 99-100 of 100; two busy-looping processes on the 2 cores: 16-40;
     * the shared counter: 0 either way */
    if (halves < JOBS / 20) fail_msg("the caller ran exactly the first half in %d of %d jobs", halves, JOBS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_item_once),
        cmocka_unit_test(test_own_share_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
