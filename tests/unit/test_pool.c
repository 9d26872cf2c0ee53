/* The JIT's thread pool (runtime/pool.c): every item of a parallel_for runs exactly once,
 * whether the workers are spinning (jobs back to back), asleep (a pause between jobs
 * longer than the spin), or still busy when the caller runs out of chunks (uneven items:
 * the caller's wait, whose spin yields the core); a thread that runs out steals from the
 * back of the others' shares. */
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

/* Each thread owns a contiguous share of a job's items and claims it from the front
 * (so it reads what it wrote in the step before): on 2 threads the caller runs the start
 * of the first half and the worker the start of the second (each share's first chunk is
 * half of it). Stealing (a thread descheduled, or slower) moves chunks from the back of
 * a share, so the test asks for that in a few jobs of 100 only: with one shared claim
 * counter the threads' chunks interleave and the worker's start is the caller's too. */
static void test_own_share_first(void **st)
{
    (void)st;
    enum { N = 256, JOBS = 100 };
    char on_caller[N];
    pthread_t self = pthread_self();
    void *slots[2] = {on_caller, &self};
    BclPool *p = bcl_pool_new(2);
    assert_non_null(p);
    int owned = 0;
    for (int r = 0; r < JOBS; r++) {
        bcl_rt_parallel_for(p, note_thread, slots, N);
        int first = 0, second = 0;
        for (int i = 0; i < N / 4; i++) first += on_caller[i], second += on_caller[N / 2 + i];
        owned += first == N / 4 && second == 0;
    }
    bcl_pool_free(p);
    /* idle machine: 94-100 of 100; two busy-looping processes on the 2 cores: 51-65 */
    if (owned < JOBS / 20) fail_msg("each thread ran its share's first chunk in %d of %d jobs", owned, JOBS);
}

/* A thread held up in its first chunk: the caller, done with its own share, steals the
 * rest of the worker's share from the back, the smallest chunks first (so a slow
 * thread keeps the front of its share, and the step ends on a small chunk). The
 * worker's first chunk is half its share (items [N/2, 3N/4)). */
typedef struct {
    pthread_t caller;
    int worker_in;          /* the worker is inside its first chunk */
    int n_calls;
    struct { int64_t lo, hi; int on_caller; } calls[64];
} StealLog;

static void held_worker(void **slots, int64_t begin, int64_t end)
{
    StealLog *log = slots[0];
    int me_caller = pthread_equal(pthread_self(), log->caller);
    int k = __atomic_fetch_add(&log->n_calls, 1, __ATOMIC_ACQ_REL);
    if (k < 64) log->calls[k].lo = begin, log->calls[k].hi = end, log->calls[k].on_caller = me_caller;
    if (!me_caller && begin == 128) {   /* the worker's first item: hold it */
        __atomic_store_n(&log->worker_in, 1, __ATOMIC_RELEASE);
        sleep_us(50000);
    }
    if (me_caller && begin == 0)   /* wait (1 s at most) until the worker holds its chunk */
        for (int i = 0; i < 100000 && !__atomic_load_n(&log->worker_in, __ATOMIC_ACQUIRE); i++) sleep_us(10);
}

static void test_steal_from_back(void **st)
{
    (void)st;
    enum { N = 256 };
    StealLog log = {.caller = pthread_self()};
    void *slots[1] = {&log};
    BclPool *p = bcl_pool_new(2);
    assert_non_null(p);
    bcl_rt_parallel_for(p, held_worker, slots, N);
    bcl_pool_free(p);
    if (!log.worker_in) skip();   /* the worker never started within 1 s (overloaded machine) */
    int64_t prev = N, covered = 0;
    for (int k = 0; k < log.n_calls && k < 64; k++) {
        covered += log.calls[k].hi - log.calls[k].lo;
        if (!log.calls[k].on_caller) {   /* the worker ran only its first chunk */
            assert_int_equal(log.calls[k].lo, N / 2);
            assert_int_equal(log.calls[k].hi, 3 * N / 4);
        } else if (log.calls[k].lo >= N / 2) {   /* stolen: each chunk before the last one */
            assert_int_equal(log.calls[k].hi, prev);
            assert_true(log.calls[k].hi - log.calls[k].lo <= N / 8);
            prev = log.calls[k].lo;
        }
    }
    assert_int_equal(prev, 3 * N / 4);
    assert_int_equal(covered, N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_item_once),
        cmocka_unit_test(test_own_share_first),
        cmocka_unit_test(test_steal_from_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
