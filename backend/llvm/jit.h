/* The LLVM JIT engine: compiles an IR graph (shapes static, parameters bound) into
 * native code through ORC LLJIT, specialised to the graph's shapes and the host CPU,
 * and runs it on a persistent thread pool. Results match the reference interpreter
 * (backend/interp) within float rounding. */
#ifndef BCL_JIT_H
#define BCL_JIT_H
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"
#include "ir/memplan.h"

typedef struct BclJitOptions {
    int threads;        /* 0 = BCL_NUM_THREADS from the environment, else the online cores */
    FILE *emit_llvm;    /* if set, the optimised module is printed there */
    int time_phases;    /* print the time of each compile phase to stderr */
    /* NULL: BCL_JIT_TARGET_CPU from the environment, else "native" (the host); or
     * x86-64, x86-64-v2, x86-64-v3, x86-64-v4 (as bclc compile --target-cpu) */
    const char *target_cpu;
    int profile;        /* time every step (bcl_jit_profile); also BCL_JIT_PROFILE=1, which prints to stderr */
    /* 1: reuse (and fill) the on-disk cache of compiled code and packed weights in
     * BCL_CACHE_DIR, else $XDG_CACHE_HOME/bclc, else ~/.cache/bclc; BCL_NO_CACHE=1 in
     * the environment turns it off. 0: compile from scratch, store nothing. */
    int cache;
    /* 1: first measure the lowering choices (tile sizes, Winograd or direct) for this
     * graph's shapes that the cache's tuning table lacks, and store them there (bclc
     * --tune; also BCL_JIT_TUNE=1). Every compile uses the stored choices. */
    int tune;
} BclJitOptions;

typedef struct BclJit BclJit;

/* Compiles g; every parameter and constant must have data (it is read, and packed
 * where a kernel wants another layout, now; later changes to it are not seen).
 * opt may be NULL (defaults). Returns NULL after reporting to d. The graph must
 * outlive the returned engine. */
BclJit *bcl_jit_compile(const IrGraph *g, const BclJitOptions *opt, Diag *d);

/* inputs[i] holds graph input i, outputs[i] receives graph output i (dense, the
 * values' shapes). Not reentrant: one run at a time per engine. Returns 0, or 1
 * after reporting to d. */
int bcl_jit_run(BclJit *j, const float *const *inputs, float *const *outputs, Diag *d);

/* The worker thread count the engine runs with. */
int bcl_jit_threads(const BclJit *j);
/* How a run covers the batch: 1, all of it in each step; N (the batch), image by
 * image (sub-batching: the steps were lowered for one image). */
int64_t bcl_jit_images(const BclJit *j);
/* Per-stage sub-batching: the first step that runs once over the whole batch (the
 * steps before it run per image), or 0 when every step runs per image or none does. */
int bcl_jit_split_step(const BclJit *j);
/* Images computed at once, each by one thread (1: one at a time, steps on all threads). */
int bcl_jit_image_sets(const BclJit *j);

/* The memory plan the engine runs (one arena for node results and scratch, laid out
 * by ir/memplan.c's planner; MemPlan.how says how each value is held), allocated in a,
 * for bcl_print_memplan. Value ids are those of the graph the engine was compiled from. */
MemPlan *bcl_jit_memplan(const BclJit *j, Arena *a);

/* The time of each step of a profiled engine (BclJitOptions.profile), summed over
 * *runs runs: fills up to max_steps entries and returns the step count (0 when
 * not profiled). */
typedef struct BclJitStepTime {
    const char *op;         /* the IR op the step comes from */
    const char *kernel;
    SrcLoc loc;             /* that op's .bcl expression */
    const char *scope;      /* the module path whose forward made the op ("layer1.0"; "" the model), or NULL */
    int node;               /* the index of that op's node in the graph lowered (-1: none) */
    double seconds;
} BclJitStepTime;
int bcl_jit_profile(const BclJit *j, BclJitStepTime *steps, int max_steps, int *runs);
/* Whether the engine's code and packed weights came from the disk cache. */
int bcl_jit_from_cache(const BclJit *j);

/* A cache entry's names: sig, the plan's signature (the compiled code and the shapes
 * and kinds of what it reads); key, the entry's (sig and every byte it reads). */
typedef struct BclJitCacheIds {
    uint64_t key[2], sig[2];
} BclJitCacheIds;
/* The ids of the entry j was stored under or loaded from; false when j did not use
 * the cache. */
bool bcl_jit_cache_ids(const BclJit *j, BclJitCacheIds *ids);
/* The engine for g from the cache entry ids->key, when g's plan has the signature
 * ids->sig; g's parameters need not have data (the entry holds all the engine reads).
 * NULL when the cache is off, the entry is missing or corrupt or the plan differs
 * (*other_plan: it did): nothing is reported, the caller compiles instead. The graph
 * must outlive the engine. */
BclJit *bcl_jit_load_cached(const IrGraph *g, const BclJitOptions *opt, const BclJitCacheIds *ids, bool *other_plan);
/* The cache directory when opt uses the cache (BCL_NO_CACHE=1 in the environment
 * turns it off); false otherwise. */
bool bcl_jit_cache_dir(const BclJitOptions *opt, char *dir, size_t cap);
/* The compiler's identity in cache keys: a hash of the bclc binary's path, size and
 * time and of the kernels' bitcode. */
uint64_t bcl_jit_build_id(void);

void bcl_jit_free(BclJit *j);

#endif
