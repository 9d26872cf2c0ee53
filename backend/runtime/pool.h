/* A persistent thread pool for compiled code: parallel_for over a range of work
 * items, split statically into one contiguous part per thread (the caller runs
 * part 0), so a fixed thread count always gives the same partition. */
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

#endif
