/* A persistent thread pool for compiled code: parallel_for over a range of work
 * items, cut into a fixed number of contiguous chunks (a few per thread) that the
 * caller and the workers claim dynamically; a task must compute each item the same
 * way whatever range it is given, which keeps results independent of threads. */
#ifndef BCL_RT_POOL_H
#define BCL_RT_POOL_H
#include <stdint.h>

typedef struct BclPool BclPool;
/* A task runs items [begin, end) with the compiled graph's slot table. */
typedef void (*BclTask)(void **slots, int64_t begin, int64_t end);

/* threads <= 0: BCL_NUM_THREADS from the environment, else the online cores.
 * Returns NULL when no thread could be started (then run single-threaded). */
BclPool *bcl_pool_new(int threads);
int bcl_pool_threads(const BclPool *p);
/* Runs fn over [0, n) and returns when every item is done. pool may be NULL. */
void bcl_rt_parallel_for(BclPool *pool, BclTask fn, void **slots, int64_t n);
void bcl_pool_free(BclPool *p);

/* Step profiling (BCL_JIT_PROFILE): bcl_pool_prof_start sizes the table for n steps
 * and starts the clock of a run; compiled code calls bcl_rt_prof_mark after step i,
 * which adds the time since the previous mark to step i. bcl_pool_prof returns the
 * table (seconds summed over runs) or NULL. */
void bcl_pool_prof_start(BclPool *p, int n);
void bcl_rt_prof_mark(BclPool *p, int64_t i);
const double *bcl_pool_prof(const BclPool *p);

#endif
