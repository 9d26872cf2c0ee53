/* Runs an ahead-of-time compiled model: one zeroed, 64-byte aligned workspace for
 * activations and scratch (as the JIT's fresh buffers), the binding table resolved
 * once, input and output pointers patched in per run. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "pool.h"

struct BclrtCtx {
    const BclrtModel *m;
    BclPool *pool;
    void **ctx;
    char *ws;
};

BclrtCtx *bclrt_create(const BclrtModel *m)
{
    if (!m || m->version != 1) return NULL;
    BclrtCtx *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->m = m;
    size_t ws = (size_t)(m->workspace + 63) / 64 * 64;
    c->ws = aligned_alloc(64, ws ? ws : 64);
    c->ctx = malloc(sizeof(void *) * (size_t)(m->n_ctx ? m->n_ctx : 1));
    if (!c->ws || !c->ctx) {
        bclrt_destroy(c);
        return NULL;
    }
    memset(c->ws, 0, ws ? ws : 64);
    for (int i = 0; i < m->n_ctx; i++)
        c->ctx[i] = m->offs[i] >= 0 ? (void *)(c->ws + m->offs[i]) : (void *)m->ptrs[i];
    /* No thread started is not fatal: the steps then run on the caller. */
    c->pool = bcl_pool_new(m->threads);
    return c;
}

int bclrt_run(BclrtCtx *c, const float *in, float *out)
{
    const BclrtModel *m = c->m;
    for (int i = 0; i < m->n_ctx; i++) {
        if (m->offs[i] == BCLRT_INPUT) c->ctx[i] = (void *)in;
        else if (m->offs[i] == BCLRT_OUTPUT) c->ctx[i] = out;
    }
    m->entry(c->ctx, c->pool);
    if (m->out_src != BCLRT_OUTPUT && m->out_numel > 0) {
        const void *src = m->out_src >= 0 ? (const void *)(c->ws + m->out_src)
                          : m->out_src == BCLRT_INPUT ? (const void *)in : m->out_ptr;
        memcpy(out, src, sizeof(float) * (size_t)m->out_numel);
    }
    return 0;
}

void bclrt_destroy(BclrtCtx *c)
{
    if (!c) return;
    bcl_pool_free(c->pool);
    free(c->ctx);
    free(c->ws);
    free(c);
}
