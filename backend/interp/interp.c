/* The reference interpreter: nodes run in topological order. Unplanned, each node
 * result gets its own buffer, freed after its last use so peak memory stays near the
 * live set (whole models at batch > 1 would not fit otherwise). Planned, every result
 * lives in one arena at the offset the memory plan gives it. */
#include <stdlib.h>
#include <string.h>

#include "backend/interp/interp.h"
#include "support/oom.h"
#include "backend/interp/kernels.h"

/* buf[id] for every graph input, parameter and constant; 1 after reporting a
 * parameter or constant without data. */
static int bind_leaves(const IrGraph *g, const float *const *inputs, const float **buf, Diag *d)
{
    int rc = 0;
    for (int i = 0; i < g->inputs.n; i++) {
        const IrValue *v = g->inputs.v[i];
        buf[v->id] = inputs[i];
    }
    /* a leaf nothing reads needs no data (fold-bn moves a weight's buffer into its
     * folded constant) */
    int *uses = bcl_malloc(sizeof(int) * (size_t)(g->values.n ? g->values.n : 1));
    if (!uses) {
        diag_error(d, NO_LOC, "out of memory in the interpreter");
        return 1;
    }
    ir_count_uses(g, uses);
    for (int i = 0; i < g->values.n; i++) {
        const IrValue *v = g->values.v[i];
        if (v->kind == IRV_PARAM || v->kind == IRV_CONST) {
            if (!v->data && uses[i]) {
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
    free(uses);
    return rc;
}

/* One node; a data fault (an index out of range) is an error at the node's source line. */
static bool run_checked(const IrNode *n, const float *const *ins, float *out, Diag *d)
{
    KernFault f;
    if (kern_run_node_checked(n, ins, out, &f)) return true;
    char msg[200];
    kern_fault_str(n, &f, msg, sizeof msg);
    diag_error(d, n->loc, "%s", msg);
    return false;
}

int bcl_interp_run(const IrGraph *g, const float *const *inputs, float *const *outputs, Diag *d)
{
    return bcl_interp_run_observed(g, inputs, outputs, NULL, NULL, d);
}

int bcl_interp_run_observed(const IrGraph *g, const float *const *inputs, float *const *outputs,
                            InterpObserver observe, void *ctx, Diag *d)
{
    int nv = g->values.n, rc = 0;
    const float **buf = bcl_calloc((size_t)nv + 1, sizeof *buf);
    float **owned = bcl_calloc((size_t)nv + 1, sizeof *owned);   /* node results we allocated */
    int *last_use = bcl_malloc(sizeof(int) * ((size_t)nv + 1));  /* node index, or nodes.n if kept */
    if (!buf || !owned || !last_use) {
        diag_error(d, NO_LOC, "out of memory in the interpreter");
        rc = 1;
        goto done;
    }
    if (bind_leaves(g, inputs, buf, d)) {
        rc = 1;
        goto done;
    }
    for (int i = 0; i < nv; i++) last_use[i] = -1;
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        for (int k = 0; k < n->n_in; k++) last_use[n->in[k]->id] = i;
    }
    for (int i = 0; i < g->outputs.n; i++) last_use[((IrValue *)g->outputs.v[i])->id] = g->nodes.n;
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        int64_t numel = shape_numel(&n->out->shape);
        float *out = bcl_malloc(sizeof(float) * (size_t)(numel > 0 ? numel : 1));
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
        if (!run_checked(n, ins, out, d)) {
            rc = 1;
            goto done;
        }
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

int bcl_interp_run_planned(const IrGraph *g, const MemPlan *plan, const float *const *inputs,
                           float *const *outputs, Diag *d)
{
    return bcl_interp_run_planned_observed(g, plan, inputs, outputs, NULL, NULL, d);
}

/* Whether plan fits g: one entry per value, every node result inside the arena. */
static bool plan_fits(const IrGraph *g, const MemPlan *p)
{
    if (p->n_values != g->values.n || p->peak < 0) return false;
    for (int i = 0; i < g->nodes.n; i++) {
        const IrValue *v = ((const IrNode *)g->nodes.v[i])->out;
        int64_t off = p->offset[v->id], size = p->size[v->id];
        if (off < 0 || off % BCL_MEMPLAN_ALIGN || size != shape_numel(&v->shape) * (int64_t)sizeof(float) ||
            off + size > p->peak)
            return false;
    }
    return true;
}

static void arena_free_guarded(void *arg) { arena_free(arg); }

int bcl_interp_run_planned_observed(const IrGraph *g, const MemPlan *plan, const float *const *inputs,
                                    float *const *outputs, InterpObserver observe, void *ctx, Diag *d)
{
    /* what the run holds, released by the guards if an allocation fails below (the
     * planner, a kernel's scratch: support/oom.h) */
    Arena a;
    arena_init(&a);
    const float **buf = NULL;
    float *arena = NULL;
    BclOomGuard g_a, g_buf, g_arena;
    bcl_oom_guard(&g_a, arena_free_guarded, &a);
    bcl_oom_guard(&g_buf, bcl_oom_free_ptr, (void *)&buf);
    bcl_oom_guard(&g_arena, bcl_oom_free_ptr, &arena);
    if (!plan) plan = bcl_plan_memory(g, &a);
    int nv = g->values.n, rc = 0;
    buf = bcl_calloc((size_t)nv + 1, sizeof *buf);
    /* aligned_alloc wants a size that is a multiple of the alignment */
    size_t bytes = (size_t)(plan->peak + BCL_MEMPLAN_ALIGN - 1) / BCL_MEMPLAN_ALIGN * BCL_MEMPLAN_ALIGN;
    arena = bcl_aligned_alloc(BCL_MEMPLAN_ALIGN, bytes ? bytes : BCL_MEMPLAN_ALIGN);
    if (!buf || !arena) {
        diag_error(d, NO_LOC, "out of memory for the interpreter's %lld-byte activation arena", (long long)plan->peak);
        rc = 1;
        goto done;
    }
    if (!plan_fits(g, plan)) {
        diag_error(d, NO_LOC, "internal error: the memory plan does not match the graph");
        rc = 1;
        goto done;
    }
    if (bind_leaves(g, inputs, buf, d)) {
        rc = 1;
        goto done;
    }
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        int o = n->out->id;
        float *out = arena + plan->offset[o] / (int64_t)sizeof(float);
        buf[o] = out;
        const float *ins[64];
        for (int k = 0; k < n->n_in; k++) {
            ins[k] = buf[n->in[k]->id];
            BCL_ASSERT(ins[k] != NULL);   /* topological order is an invariant (ir_verify) */
        }
        /* A view already holds the data at its own offset; an in-place op runs with
         * out == ins[k] (the planner only aliases kernels that read i before writing i). */
        if (!(n->op == IR_RESHAPE && plan->shares[o] >= 0) && !run_checked(n, ins, out, d)) {
            rc = 1;
            goto done;
        }
        if (observe) observe(ctx, n, out);
    }
    for (int i = 0; i < g->outputs.n; i++) {
        const IrValue *v = g->outputs.v[i];
        BCL_ASSERT(buf[v->id] != NULL);
        memcpy(outputs[i], buf[v->id], sizeof(float) * (size_t)shape_numel(&v->shape));
    }
done:
    bcl_oom_unguard(&g_arena);
    bcl_oom_unguard(&g_buf);
    bcl_oom_unguard(&g_a);
    free(arena);
    free((void *)buf);
    arena_free(&a);
    return rc;
}
