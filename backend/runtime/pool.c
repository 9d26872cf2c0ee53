/* The thread pool behind bcl_rt_parallel_for: a job is published by bumping a
 * generation counter; workers (and the caller waiting for them) spin briefly, since
 * steps follow each other closely, then sleep on a condition variable. */
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

struct BclPool {
    int n;                  /* threads including the caller */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    uint64_t gen;           /* bumped once per job */
    int pending;            /* workers still running the current job */
    int quit;
    BclTask fn;
    void **slots;
    int64_t items;
    double *prof, t_mark;
    int n_prof;
};

typedef struct { BclPool *p; int idx; } WorkerArg;

/* About 10-50 us of polling before sleeping: steps are often shorter than a wake-up. */
#define SPIN 2000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_part(BclPool *p, int idx)
{
    int64_t lo = p->items * idx / p->n, hi = p->items * (idx + 1) / p->n;
    if (lo < hi) p->fn(p->slots, lo, hi);
}

static void *worker(void *arg)
{
    WorkerArg wa = *(WorkerArg *)arg;
    free(arg);
    BclPool *p = wa.p;
    uint64_t seen = 0;
    for (;;) {
        for (int k = 0; k < SPIN && __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE) == seen &&
                        !__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE);
             k++)
            cpu_relax();
        pthread_mutex_lock(&p->mu);
        while (p->gen == seen && !p->quit) pthread_cond_wait(&p->start, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            break;
        }
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        run_part(p, wa.idx);
        if (__atomic_sub_fetch(&p->pending, 1, __ATOMIC_ACQ_REL) == 0) {
            pthread_mutex_lock(&p->mu);   /* the caller may be asleep on done */
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

static int default_threads(void)
{
    const char *e = getenv("BCL_NUM_THREADS");
    if (e && *e) {
        char *endp;
        long v = strtol(e, &endp, 10);
        if (*endp == '\0' && v > 0 && v <= 1024) return (int)v;
    }
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

BclPool *bcl_pool_new(int threads)
{
    if (threads <= 0) threads = default_threads();
    BclPool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = threads;
    p->th = calloc((size_t)threads, sizeof *p->th);
    if (!p->th) {
        free(p);
        return NULL;
    }
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

void bcl_rt_parallel_for(BclPool *p, BclTask fn, void **slots, int64_t n)
{
    if (n <= 0) return;
    if (!p || p->n == 1 || n == 1) {   /* not worth waking anyone */
        fn(slots, 0, n);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->slots = slots;
    p->items = n;
    __atomic_store_n(&p->pending, p->n - 1, __ATOMIC_RELEASE);
    __atomic_store_n(&p->gen, p->gen + 1, __ATOMIC_RELEASE);   /* publishes the job */
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    run_part(p, 0);
    for (int k = 0; k < SPIN && __atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0; k++) cpu_relax();
    pthread_mutex_lock(&p->mu);
    while (__atomic_load_n(&p->pending, __ATOMIC_ACQUIRE) > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
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
    free(p->th);
    free(p);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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
