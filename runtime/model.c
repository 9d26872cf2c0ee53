/* Runs an ahead-of-time compiled model: one zeroed, 64-byte aligned workspace for
 * activations and scratch (as the JIT's fresh buffers), the binding table resolved
 * once, input and output pointers patched in per run. */
#include "runtime/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/foreign_call.h"
#include "runtime/pool.h"

struct BclrtCtx {
    const BclrtModel *m;
    BclPool *pool;
    void **ctx;
    char *ws;
    char *blob;      /* external weights, 64-byte aligned */
    const void *out_const;
};

static _Thread_local char last_error[256];

const char *bclrt_last_error(void) { return last_error; }

static BclrtCtx *fail(const char *fmt, const char *arg)
{
    snprintf(last_error, sizeof last_error, fmt, arg ? arg : "");
    return NULL;
}

static uint64_t le(const unsigned char *b, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* Reads and checks the blob at path against m; a 64-byte aligned copy or NULL. */
static char *load_blob(const BclrtModel *m, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return fail("cannot open the weight blob '%s'", path), NULL;
    unsigned char h[BCLRT_BLOB_HEADER];
    char *data = NULL;
    if (fread(h, 1, sizeof h, f) != sizeof h || memcmp(h, "BCLW", 4)) {
        fail("'%s' is not a bclc weight blob", path);
        goto out;
    }
    if (le(h + 4, 4) != 1) {
        fail("'%s': unsupported weight blob version", path);
        goto out;
    }
    if (le(h + 16, 8) != (uint64_t)m->blob_bytes || le(h + 24, 8) != m->blob_hash) {
        fail("'%s' holds the weights of another compile of the model", path);
        goto out;
    }
    size_t n = (size_t)m->blob_bytes;
    data = aligned_alloc(64, (n + 63) / 64 * 64 + 64);
    if (!data) {
        fail("out of memory for the weight blob '%s'", path);
        goto out;
    }
    if (fread(data, 1, n, f) != n) {
        fail("the weight blob '%s' is truncated", path);
        goto bad;
    }
    if (bclrt_fnv1a(data, n, BCLRT_FNV_INIT) != m->blob_hash) {
        fail("the weight blob '%s' is corrupt (checksum mismatch)", path);
        goto bad;
    }
    goto out;
bad:
    free(data);
    data = NULL;
out:
    fclose(f);
    return data;
}

static BclrtCtx *create(const BclrtModel *m, const char *path)
{
    last_error[0] = 0;
    if (!m || m->version != 2) return fail("%sthe model descriptor is of another runtime version", NULL);
    if (m->external && !path)
        return fail("%sthe weights are in a separate blob: use PREFIX_create_from_file", NULL);
    char *blob = NULL;
    if (m->external && !(blob = load_blob(m, path))) return NULL;
    BclrtCtx *c = calloc(1, sizeof *c);
    if (!c) {
        free(blob);
        return fail("%sout of memory", NULL);
    }
    c->m = m;
    c->blob = blob;
    c->out_const = m->out_src == BCLRT_BLOB ? (const void *)(blob + (intptr_t)m->out_ptr) : m->out_ptr;
    size_t ws = (size_t)(m->workspace + 63) / 64 * 64;
    c->ws = aligned_alloc(64, ws ? ws : 64);
    c->ctx = malloc(sizeof(void *) * (size_t)(m->n_ctx ? m->n_ctx : 1));
    if (!c->ws || !c->ctx) {
        bclrt_destroy(c);
        return fail("%sout of memory", NULL);
    }
    memset(c->ws, 0, ws ? ws : 64);
    for (int i = 0; i < m->n_ctx; i++)
        c->ctx[i] = m->offs[i] >= 0 ? (void *)(c->ws + m->offs[i])
                    : m->offs[i] == BCLRT_BLOB ? (void *)(c->blob + (intptr_t)m->ptrs[i])
                    : (void *)m->ptrs[i];
    /* No thread started is not fatal: the steps then run on the caller. */
    c->pool = bcl_pool_new(m->threads);
    return c;
}

BclrtCtx *bclrt_create(const BclrtModel *m) { return create(m, NULL); }

BclrtCtx *bclrt_create_from_file(const BclrtModel *m, const char *path)
{
    if (!path) return fail("%sno weight blob path given", NULL);
    return create(m, path);
}

BCL_CALLS_FOREIGN_CODE int bclrt_run(BclrtCtx *c, const float *in, float *out)
{
    const BclrtModel *m = c->m;
    for (int i = 0; i < m->n_ctx; i++) {
        if (m->offs[i] == BCLRT_INPUT) c->ctx[i] = (void *)in;
        else if (m->offs[i] == BCLRT_OUTPUT) c->ctx[i] = out;
    }
    m->entry(c->ctx, c->pool);
    if (m->out_src != BCLRT_OUTPUT && m->out_numel > 0) {
        const void *src = m->out_src >= 0 ? (const void *)(c->ws + m->out_src)
                          : m->out_src == BCLRT_INPUT ? (const void *)in : c->out_const;
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
    free(c->blob);
    free(c);
}
