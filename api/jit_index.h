/* The JIT cache's index: a record naming a cache entry by what comes before the plan
 * (the model as built, the weight file's identity, the options), so that a later
 * compile of the same model with the same weight file loads the engine without
 * reading the weights (they are most of a cached compile's time: ResNet-50's 100 MB).
 *
 *   build -> index key -> record? -> passes on the graph without data -> plan with
 *   the record's signature? -> load the entry (code, packed weights, leaves read in
 *   place) -> engine
 *
 * The weight file is named by its device, inode, size and modification and change
 * times, as make and Bazel's digest cache do: writing to it changes its change time,
 * so a changed file is a new index key. The entry the record names is keyed by
 * content, as every cache entry. Anything that does not match (no record, a plan of
 * another signature, a missing or corrupt entry) falls back to the full pipeline. */
#ifndef BCL_API_JIT_INDEX_H
#define BCL_API_JIT_INDEX_H
#if BCL_HAVE_LLVM
#include <stdbool.h>
#include <stdint.h>

#include "api/pipeline.h"
#include "backend/llvm/jit.h"

typedef struct BclJitIndex {
    bool on;                /* the index applies (a weight file, the cache on, no --tune ...) */
    bool never;             /* its record says: this model's plan needs the data */
    uint64_t pre[2];        /* the index key */
    bool other_plan;        /* the record's plan signature was not the plan without data */
    uint64_t old_sig[2];    /* that signature */
    double passes_s;        /* the time of the passes without data */
    double engine_s;        /* after a hit: the time of loading the engine */
} BclJitIndex;

/* Looks the model of *g (just built by bcl_pipeline_build: no weights, no pass run)
 * up. A hit runs the passes on *g without data and returns the engine loaded from the
 * cache: *g is then the optimised graph, whose parameters have no data (use it for
 * shapes and names). NULL otherwise: *g is unchanged, or, when the passes ran but the
 * engine could not be loaded, built again (NULL after an error then). ix is filled for
 * bcl_jit_index_store. */
BclJit *bcl_jit_index_load(IrGraph **g, const BclModelOptions *o, const char *pipeline, const BclJitOptions *jo,
                           Arena *a, Diag *d, BclJitIndex *ix);

/* After the full pipeline compiled j: records j's cache entry under ix's key. clean:
 * reading the weights and the passes gave no warning (a record would skip them). */
void bcl_jit_index_store(const BclJitIndex *ix, const BclJit *j, bool clean);

#endif
#endif
