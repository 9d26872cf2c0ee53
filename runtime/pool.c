/* The thread pool behind bcl_rt_parallel_for. A job's items are split into one
 * contiguous share per thread, and each share into chunks that halve in size (1/2,
 * 1/4, ... of the share, the last two equal). Each thread owns its share's chunks in an
 * atomic word of its own (generation | end | next chunk): it claims them from the front,
 * and a thread that has run out steals from the back of the others', the smallest
 * chunks first. So a thread slowed down by another process on its core (or asleep)
 * leaves only its tail to the others, the others keep their data where they wrote it,
 * and the end of a step waits for a small chunk, not a large one. Chunk boundaries
 * depend only on the item and thread counts, and every item is computed the same way by
 * any thread, so results stay bitwise reproducible.
 * Idle workers spin briefly, since steps follow each other closely, then sleep; the spin
 * yields the core now and then, for other processes on a shared machine. */
#include "runtime/pool.h"

#include "runtime/foreign_call.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct BclPool {
    int n;                  /* threads including the caller */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    uint64_t job;           /* gen << 32 | nchunks << 16: the current job, for waking */
    struct { _Alignas(64) uint64_t w; } *own;   /* per thread: gen << 32 | end << 16 | next */
    int64_t finished;       /* chunks of the current job that are done */
    int sleepers;           /* workers asleep (or about to be) on start */
    int quit;
    BclTask fn;
    void **slots;
    int64_t items;
    double *prof, t_mark;
    int n_prof;
};

typedef struct { BclPool *p; int idx; } WorkerArg;

/* About 100 us of polling before sleeping: steps are often shorter than a wake-up. */
#define SPIN 2000
/* Every SPIN_YIELD polls, a sched_yield: on an idle core it returns at once (a syscall, well
 * under a microsecond), but where other processes wait for the core (a shared machine) it
 * lets them run instead of burning this thread's share on pauses, which then went
 * missing when the thread had a chunk to run: EfficientNet-B0 at batch 1 on 2 threads,
 * load average 11-13 on 2 cores, p50 29-32 ms without (1 thread: 22-24 ms), 24 ms with. */
#define SPIN_YIELD 20
/* Chunks per share: sizes 1/2, 1/4, 1/8, 1/16, 1/16 of it. The two cores of these
 * machines often run at different speeds for a while (another process on one core's
 * sibling): with two equal chunks per share, a ResNet-50 step at batch 1 on 2 threads
 * left 7-10% of the threads' time idle at its end (one thread 15-25% slower and nothing
 * left to steal). */
#define CHUNKS_PER_SHARE 5
/* The words' chunk fields are 16 bits wide. */
#define MAX_THREADS 1024
_Static_assert(MAX_THREADS * CHUNKS_PER_SHARE <= 0xffff, "chunk indices fit the words");

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline void spin_step(int k)
{
    if (k % SPIN_YIELD == SPIN_YIELD - 1) sched_yield();
    else cpu_relax();
}

static inline uint32_t job_gen(uint64_t w) { return (uint32_t)(w >> 32); }

/* The first item of chunk k of a job of nch = threads * CHUNKS_PER_SHARE chunks:
 * thread t's share is [items t / threads, items (t + 1) / threads). */
static int64_t chunk_start(int64_t items, int threads, int64_t k)
{
    int64_t t = k / CHUNKS_PER_SHARE, j = k % CHUNKS_PER_SHARE;
    int64_t lo = items * t / threads, share = items * (t + 1) / threads - lo;
    return lo + share - (share >> j);
}

/* Claims and runs chunks of generation gen until none is left: first thread me's own,
 * from the front, then the others', from the back. Thread t's share is the t-th share
 * of the items in every step, so where consecutive steps order their items alike
 * (image, then rows), a thread reads what it wrote in the step before from its own
 * cache instead of the other core's: the memory-bound kernels order items that way (2
 * threads, batch 1, Zen 5, alternated runs: ResNet-50 24.0-24.7 -> 23.1-23.9 ms,
 * MobileNetV2 3.78-3.84 -> 3.67-3.71). A successful claim of chunk k means the job
 * cannot finish before k does, so fn/slots/items (written before the words were
 * published) are still this job's while k runs. The chunks run are counted once, at
 * the end: one write to the shared counter per thread and job. */
BCL_CALLS_FOREIGN_CODE static void run_chunks(BclPool *p, uint32_t gen, int me)
{
    int64_t nch = (int64_t)((__atomic_load_n(&p->job, __ATOMIC_ACQUIRE) >> 16) & 0xffff), ran = 0;
    for (int v = 0; v < p->n; v++) {
        uint64_t *word = &p->own[(me + v) % p->n].w;
        uint64_t w = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        for (;;) {
            int64_t end = (int64_t)((w >> 16) & 0xffff), next = (int64_t)(w & 0xffff);
            if (job_gen(w) != gen || next >= end) break;
            /* the owner takes the next chunk, a thief the last one */
            uint64_t claimed = v == 0 ? w + 1 : w - ((uint64_t)1 << 16);
            if (!__atomic_compare_exchange_n(word, &w, claimed, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                continue;   /* w now holds the current word */
            int64_t k = v == 0 ? next : end - 1;
            int64_t lo = chunk_start(p->items, p->n, k), hi = chunk_start(p->items, p->n, k + 1);
            if (lo < hi) p->fn(p->slots, lo, hi);
            ran++;
            w = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        }
    }
    if (ran && __atomic_add_fetch(&p->finished, ran, __ATOMIC_ACQ_REL) == nch) {
        pthread_mutex_lock(&p->mu);   /* the caller may be asleep on done */
        pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void *worker(void *arg)
{
    WorkerArg wa = *(WorkerArg *)arg;
    free(arg);
    BclPool *p = wa.p;
    uint32_t seen = 0;
    for (;;) {
        for (int k = 0; k < SPIN && job_gen(__atomic_load_n(&p->job, __ATOMIC_ACQUIRE)) == seen &&
                        !__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE);
             k++)
            spin_step(k);
        pthread_mutex_lock(&p->mu);
        /* seq_cst pairs with the caller's publish-then-check-sleepers: either it sees
         * us counted here or we see its new generation. */
        __atomic_add_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
        while (job_gen(__atomic_load_n(&p->job, __ATOMIC_SEQ_CST)) == seen && !p->quit)
            pthread_cond_wait(&p->start, &p->mu);
        __atomic_sub_fetch(&p->sleepers, 1, __ATOMIC_SEQ_CST);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        seen = job_gen(__atomic_load_n(&p->job, __ATOMIC_ACQUIRE));
        pthread_mutex_unlock(&p->mu);
        run_chunks(p, seen, wa.idx);
    }
    return NULL;
}

static int default_threads(void)
{
    const char *e = getenv("BCL_NUM_THREADS");
    if (e && *e) {
        char *endp;
        long v = strtol(e, &endp, 10);
        if (*endp == '\0' && v > 0 && v <= MAX_THREADS) return (int)v;
    }
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

BclPool *bcl_pool_new(int threads)
{
    if (threads <= 0) threads = default_threads();
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    BclPool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = threads;
    p->th = calloc((size_t)threads, sizeof *p->th);
    p->own = aligned_alloc(64, 64 * (size_t)threads);
    if (!p->th || !p->own) {
        free(p->th);
        free(p->own);
        free(p);
        return NULL;
    }
    memset(p->own, 0, 64 * (size_t)threads);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int i = 1; i < threads; i++) {
        WorkerArg *wa = malloc(sizeof *wa);
        if (!wa) {
            p->n = i;
            break;
        }
        *wa = (WorkerArg){p, i};
        if (pthread_create(&p->th[i], NULL, worker, wa) != 0) {
            free(wa);
            p->n = i;   /* fewer threads than asked: still correct */
            break;
        }
    }
    return p;
}

int bcl_pool_threads(const BclPool *p) { return p ? p->n : 1; }

BCL_CALLS_FOREIGN_CODE void bcl_rt_parallel_for(BclPool *p, BclTask fn, void **slots, int64_t n)
{
    if (n <= 0) return;
    if (!p || p->n == 1 || n == 1) {   /* not worth waking anyone */
        fn(slots, 0, n);
        return;
    }
    int64_t nch = (int64_t)p->n * CHUNKS_PER_SHARE;
    /* Every chunk of the previous job is done, so no worker reads these now. */
    p->fn = fn;
    p->slots = slots;
    p->items = n;
    __atomic_store_n(&p->finished, 0, __ATOMIC_RELAXED);
    uint32_t gen = job_gen(__atomic_load_n(&p->job, __ATOMIC_RELAXED)) + 1;
    for (int t = 0; t < p->n; t++) {   /* thread t's share: chunks [t, t + 1) * CHUNKS_PER_SHARE */
        uint64_t lo = (uint64_t)t * CHUNKS_PER_SHARE, hi = lo + CHUNKS_PER_SHARE;
        __atomic_store_n(&p->own[t].w, (uint64_t)gen << 32 | hi << 16 | lo, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&p->job, (uint64_t)gen << 32 | (uint64_t)nch << 16, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&p->sleepers, __ATOMIC_SEQ_CST) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->start);
        pthread_mutex_unlock(&p->mu);
    }
    run_chunks(p, gen, 0);
    /* Only chunks a worker has claimed are left: wait for them. */
    for (int k = 0; k < SPIN && __atomic_load_n(&p->finished, __ATOMIC_ACQUIRE) < nch; k++) spin_step(k);
    if (__atomic_load_n(&p->finished, __ATOMIC_ACQUIRE) < nch) {
        pthread_mutex_lock(&p->mu);
        while (__atomic_load_n(&p->finished, __ATOMIC_ACQUIRE) < nch) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}

void bcl_pool_free(BclPool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->quit, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->th[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p->prof);
    free(p->own);
    free(p->th);
    free(p);
}

/* BCL_JIT_PROFILE=cpu times the steps in the calling thread's CPU time: with one
 * thread on a machine shared with other processes, time spent descheduled is left out. */
static double now_s(void)
{
    static int cpu_clock_flag = -1;   /* read once; atomics keep concurrent engines race-free */
    int cpu_clock = __atomic_load_n(&cpu_clock_flag, __ATOMIC_RELAXED);
    if (cpu_clock < 0) {
        const char *e = getenv("BCL_JIT_PROFILE");
        cpu_clock = e && !strcmp(e, "cpu");
        __atomic_store_n(&cpu_clock_flag, cpu_clock, __ATOMIC_RELAXED);
    }
    struct timespec ts;
    clock_gettime(cpu_clock ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void bcl_pool_prof_start(BclPool *p, int n)
{
    if (!p) return;
    if (!p->prof) {
        p->prof = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
        p->n_prof = p->prof ? n : 0;
    }
    p->t_mark = now_s();
}

void bcl_rt_prof_mark(BclPool *p, int64_t i)
{
    if (!p || i < 0 || i >= p->n_prof) return;
    double t = now_s();
    p->prof[i] += t - p->t_mark;
    p->t_mark = t;
}

const double *bcl_pool_prof(const BclPool *p) { return p ? p->prof : NULL; }
