/* The runtime side of an ahead-of-time compiled model (bclc compile): the object
 * file holds a BclrtModel descriptor (code entry, embedded weights, the binding
 * table) and its PREFIX_create/run/destroy call these. Pure C: libbclrt.a is this,
 * the thread pool and nothing else of bclc. */
#ifndef BCL_RT_MODEL_H
#define BCL_RT_MODEL_H
#include <stdint.h>

/* Where a binding entry points (offs[i]); >= 0 is a workspace offset in bytes. */
enum { BCLRT_INPUT = -1, BCLRT_OUTPUT = -2, BCLRT_CONST = -3,
       /* a weight in the separate blob: ptrs[i] holds its byte offset in the data */
       BCLRT_BLOB = -4 };

/* The separate weight blob (bclc compile --weights-out), little endian:
 *   0  "BCLW"            magic
 *   4  u32 version (1)
 *   8  u32 count         buffers
 *   12 u32 reserved (0)
 *   16 u64 data_bytes
 *   24 u64 hash          FNV-1a 64 of the data
 *   32 zeros up to 64, then data_bytes of data: the buffers, each 64-byte aligned.
 * The object records data_bytes and hash, so a blob of another compile is refused. */
#define BCLRT_BLOB_HEADER 64
#define BCLRT_FNV_INIT 14695981039346656037ull
/* Continues FNV-1a 64 from h over n bytes (inline: bclc's writer shares it). */
static inline uint64_t bclrt_fnv1a(const void *p, uint64_t n, uint64_t h)
{
    const unsigned char *b = (const unsigned char *)p;
    for (uint64_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Emitted by backend/llvm/aot.c as a constant; the layout is part of the object
 * format (version 2): change both together. */
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
    int32_t external;              /* 1: weights in a blob (bclrt_create_from_file) */
    int64_t blob_bytes;            /* external: the blob's data_bytes and hash */
    uint64_t blob_hash;
} BclrtModel;

typedef struct BclrtCtx BclrtCtx;

/* NULL when out of memory, the descriptor is of another version or its weights
 * are external (bclrt_last_error says why). */
BclrtCtx *bclrt_create(const BclrtModel *m);
/* For a model compiled with --weights-out: reads and checks the blob at path.
 * NULL when it is missing, truncated, corrupt or of another compile. */
BclrtCtx *bclrt_create_from_file(const BclrtModel *m, const char *path);
/* Why the calling thread's last create failed (static text, "" if none). */
const char *bclrt_last_error(void);
/* in: in_numel floats, out: out_numel floats (dense). Not reentrant per context.
 * Returns 0. */
int bclrt_run(BclrtCtx *c, const float *in, float *out);
void bclrt_destroy(BclrtCtx *c);

#endif
