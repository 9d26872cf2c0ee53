/* The runtime side of an ahead-of-time compiled model (bclc compile): the object
 * file holds a BclrtModel descriptor (code entry, embedded weights, the binding
 * table) and its PREFIX_create/run/destroy call these. Pure C: libbclrt.a is this,
 * the thread pool and nothing else of bclc. */
#ifndef BCL_RT_MODEL_H
#define BCL_RT_MODEL_H
#include <stdint.h>

/* Where a binding entry points (offs[i]); >= 0 is a workspace offset in bytes. */
enum { BCLRT_INPUT = -1, BCLRT_OUTPUT = -2, BCLRT_CONST = -3 };

/* Emitted by backend/llvm/aot.c as a constant; the layout is part of the object
 * format (version 1): change both together. */
typedef struct BclrtModel {
    int32_t version;
    int32_t n_ctx;                 /* binding entries */
    int64_t workspace;             /* activation and scratch bytes */
    const void *const *ptrs;       /* [n_ctx]: the constant (weights) pointers */
    const int64_t *offs;           /* [n_ctx]: workspace offset or BCLRT_* */
    void (*entry)(void **ctx, void *pool);
    int64_t in_numel, out_numel;
    int64_t out_src;               /* BCLRT_OUTPUT: written in place; else where to copy it from */
    const void *out_ptr;           /* out_src == BCLRT_CONST: the constant output */
    int32_t threads;               /* 0: BCL_NUM_THREADS, else the online cores */
    int32_t reserved;
} BclrtModel;

typedef struct BclrtCtx BclrtCtx;

/* NULL when out of memory or the descriptor is of another version. */
BclrtCtx *bclrt_create(const BclrtModel *m);
/* in: in_numel floats, out: out_numel floats (dense). Not reentrant per context.
 * Returns 0. */
int bclrt_run(BclrtCtx *c, const float *in, float *out);
void bclrt_destroy(BclrtCtx *c);

#endif
