/* BclContext: one thread's execution of a prepared model. The interpreter allocates
 * its scratch per run; a JIT context owns a compiled instance (its activation arena
 * and thread pool), so contexts never share mutable state. */
#include <stdlib.h>

#include "backend/interp/interp.h"
#include "api/api_internal.h"
#include "support/oom.h"

#if BCL_HAVE_LLVM
BclJit *model_compile_jit(BclModel *m, char **msg);   /* model.c */
#endif

BclStatus bcl_context_create(BclModel *m, BclContext **out)
{
    if (!m) return BCL_ERR_INVALID_ARGUMENT;
    if (!out) return BCL_ERR_INVALID_ARGUMENT;   /* m->msg is not touched without the lock */
    *out = NULL;
    BclContext *ctx = bcl_calloc(1, sizeof *ctx);
    if (!ctx) {
        pthread_mutex_lock(&m->mu);
        api_no_memory(&m->msg, "the context");
        pthread_mutex_unlock(&m->mu);
        return BCL_ERR_NO_MEMORY;
    }
    ctx->m = m;
    pthread_mutex_lock(&m->mu);
    BclStatus s = model_prepare_locked(m);
#if BCL_HAVE_LLVM
    if (!s && m->run.engine == ENGINE_JIT) {
        /* reuse an instance no context holds, else compile another one */
        if (m->n_spare) {
            ctx->jit = m->spare[--m->n_spare];
        } else if (!(ctx->jit = model_compile_jit(m, &m->msg))) {
            s = api_msg_is_oom(m->msg) ? BCL_ERR_NO_MEMORY : BCL_ERR_RUNTIME;
        }
    }
#endif
    pthread_mutex_unlock(&m->mu);
    if (s) {
        free(ctx);
        return s;
    }
    *out = ctx;
    return BCL_OK;
}

void bcl_context_destroy(BclContext *ctx)
{
    if (!ctx) return;
#if BCL_HAVE_LLVM
    if (ctx->jit) {
        /* hand the instance back for the next context; free it if there is no room */
        BclModel *m = ctx->m;
        pthread_mutex_lock(&m->mu);
        if (m->n_spare == m->cap_spare) {
            int cap = m->cap_spare ? 2 * m->cap_spare : 4;
            BclJit **v = bcl_realloc(m->spare, sizeof *v * (size_t)cap);
            if (v) {
                m->spare = v;
                m->cap_spare = cap;
            }
        }
        if (m->n_spare < m->cap_spare) {
            m->spare[m->n_spare++] = ctx->jit;
            ctx->jit = NULL;
        }
        pthread_mutex_unlock(&m->mu);
        bcl_jit_free(ctx->jit);
    }
#endif
    free(ctx->msg);
    free(ctx);
}

const char *bcl_context_error(const BclContext *ctx) { return ctx ? api_msg(ctx->msg) : "bclc: error: NULL context\n"; }

/* Checks one side's buffers against the model's tensors. */
static BclStatus check_buffers(BclContext *ctx, const char *side, const void *const *bufs, const size_t *counts, int n,
                               const ApiTensor *t, int n_model)
{
    if (n != n_model)
        return api_fail(&ctx->msg, BCL_ERR_INVALID_ARGUMENT, "the model has %d %s%s, %d given", n_model, side,
                        n_model == 1 ? "" : "s", n);
    if (n && (!bufs || !counts))
        return api_fail(&ctx->msg, BCL_ERR_INVALID_ARGUMENT, "the %s buffers or their counts are NULL", side);
    for (int i = 0; i < n; i++) {
        if (!bufs[i]) return api_fail(&ctx->msg, BCL_ERR_INVALID_ARGUMENT, "%s buffer %d is NULL", side, i);
        int64_t numel = shape_numel(&t[i].shape);
        if ((int64_t)counts[i] != numel) {
            char sb[160];
            return api_fail(&ctx->msg, BCL_ERR_SHAPE, "%s %d has shape %s (%lld elements), its buffer holds %zu", side, i,
                            shape_str(&t[i].shape, sb, sizeof sb), (long long)numel, counts[i]);
        }
    }
    return BCL_OK;
}

static int run_engine(BclContext *ctx, const float *const *inputs, float *const *outputs, Diag *d)
{
    BclOomScope sc;
    if (BCL_OOM_CATCH(sc)) {
        diag_error(d, NO_LOC, "out of memory while running the model (%s)", sc.what);
        return 2;
    }
    int rc;
#if BCL_HAVE_LLVM
    if (ctx->jit)
        rc = bcl_jit_run(ctx->jit, inputs, outputs, d);
    else
#endif
        rc = bcl_interp_run_planned(ctx->m->g, NULL, inputs, outputs, d);   /* reentrant: plans per run, reads the graph only */
    bcl_oom_pop(&sc);
    return rc;
}

BclStatus bcl_context_run(BclContext *ctx, const float *const *inputs, const size_t *input_counts, int n_inputs,
                          float *const *outputs, const size_t *output_counts, int n_outputs)
{
    if (!ctx) return BCL_ERR_INVALID_ARGUMENT;
    const BclModel *m = ctx->m;
    BclStatus s = check_buffers(ctx, "input", (const void *const *)inputs, input_counts, n_inputs, m->in, m->n_in);
    if (!s) s = check_buffers(ctx, "output", (const void *const *)outputs, output_counts, n_outputs, m->out, m->n_out);
    if (s) return s;
    Capture cap;
    if (!capture_begin(&cap)) return api_no_memory(&ctx->msg, "a message stream");
    int rc = run_engine(ctx, inputs, outputs, &cap.d);
    capture_end(&cap, &ctx->msg);
    if (rc == 2) return BCL_ERR_NO_MEMORY;
    if (rc || cap.d.n_errors) {
        if (!ctx->msg || !*ctx->msg) api_fail(&ctx->msg, BCL_ERR_RUNTIME, "the model failed to run");
        return BCL_ERR_RUNTIME;
    }
    return BCL_OK;
}

BclStatus bcl_context_run1(BclContext *ctx, const float *input, size_t input_count, float *output, size_t output_count)
{
    const float *in[1] = {input};
    float *out[1] = {output};
    return bcl_context_run(ctx, in, &input_count, 1, out, &output_count, 1);
}
