/* The reference interpreter: one buffer per node result, nodes run in topological
 * order; a result's buffer is freed after its last use so peak memory stays near
 * the live set (whole models at batch > 1 would not fit otherwise). */
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "kernels.h"

int bcl_interp_run(const IrGraph *g, const float *const *inputs, float *const *outputs, Diag *d)
{
    return bcl_interp_run_observed(g, inputs, outputs, NULL, NULL, d);
}

int bcl_interp_run_observed(const IrGraph *g, const float *const *inputs, float *const *outputs,
                            InterpObserver observe, void *ctx, Diag *d)
{
    int nv = g->values.n, rc = 0;
    const float **buf = calloc((size_t)nv + 1, sizeof *buf);
    float **owned = calloc((size_t)nv + 1, sizeof *owned);   /* node results we allocated */
    int *last_use = malloc(sizeof(int) * ((size_t)nv + 1));  /* node index, or nodes.n if kept */
    if (!buf || !owned || !last_use) {
        diag_error(d, NO_LOC, "out of memory in the interpreter");
        rc = 1;
        goto done;
    }
    for (int i = 0; i < g->inputs.n; i++) {
        const IrValue *v = g->inputs.v[i];
        buf[v->id] = inputs[i];
    }
    for (int i = 0; i < nv; i++) {
        const IrValue *v = g->values.v[i];
        if (v->kind == IRV_PARAM || v->kind == IRV_CONST) {
            if (!v->data) {
                if (v->kind == IRV_PARAM)
                    diag_error(d, v->loc, "parameter '%s' has no data (load weights or use --random-weights)",
                               v->name ? v->name : "?");
                else
                    diag_error(d, v->loc, "constant %d has no data", v->id);
                rc = 1;
            }
            buf[i] = v->data;
        }
    }
    if (rc) goto done;
    for (int i = 0; i < nv; i++) last_use[i] = -1;
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        for (int k = 0; k < n->n_in; k++) last_use[n->in[k]->id] = i;
    }
    for (int i = 0; i < g->outputs.n; i++) last_use[((IrValue *)g->outputs.v[i])->id] = g->nodes.n;
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        int64_t numel = shape_numel(&n->out->shape);
        float *out = malloc(sizeof(float) * (size_t)(numel > 0 ? numel : 1));
        if (!out) {
            diag_error(d, n->loc, "out of memory for a %s result", ir_op_info[n->op].name);
            rc = 1;
            goto done;
        }
        owned[n->out->id] = out;
        buf[n->out->id] = out;
        const float *ins[64];
        for (int k = 0; k < n->n_in; k++) {
            ins[k] = buf[n->in[k]->id];
            BCL_ASSERT(ins[k] != NULL);   /* topological order is an invariant (ir_verify) */
        }
        kern_run_node(n, ins, out);
        if (observe) observe(ctx, n, out);
        /* Operands (and a result nobody reads) whose last reader was this node. */
        for (int k = 0; k <= n->n_in; k++) {
            int id = k < n->n_in ? n->in[k]->id : n->out->id;
            if (owned[id] && last_use[id] <= i) {
                free(owned[id]);
                owned[id] = NULL;
                buf[id] = NULL;
            }
        }
    }
    for (int i = 0; i < g->outputs.n; i++) {
        const IrValue *v = g->outputs.v[i];
        BCL_ASSERT(buf[v->id] != NULL);
        memcpy(outputs[i], buf[v->id], sizeof(float) * (size_t)shape_numel(&v->shape));
    }
done:
    if (owned)
        for (int i = 0; i < nv; i++) free(owned[i]);
    free(owned);
    free(last_use);
    free((void *)buf);
    return rc;
}
