/* fold-constants: a node whose inputs all have data (constants, or params with bound
 * weights) is evaluated now with the interpreter's kernel and becomes a constant.
 * Front to back, so whole constant subgraphs fold in one run. */
#include "backend/interp/kernels.h"
#include "passes/pass_util.h"

/* Larger results are left to run time rather than bloat the graph. */
#define FOLD_MAX_NUMEL ((int64_t)1 << 24)

int pass_fold_constants(IrGraph *g, Diag *d)
{
    int n_rewrites = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *n = g->nodes.v[i];
        if (!n) continue;
        bool all = true;
        for (int k = 0; k < n->n_in && all; k++) all = pu_has_data(n->in[k]);
        if (!all || shape_numel(&n->out->shape) > FOLD_MAX_NUMEL) continue;
        /* A graph output stays the result of a node. */
        if (pu_is_output(g, n->out)) continue;
        const float *in[64];
        BCL_ASSERT(n->n_in <= 64);
        for (int k = 0; k < n->n_in; k++) in[k] = n->in[k]->data;
        IrValue *c = ir_add_const(g, &n->out->shape, NULL);
        KernFault f;
        if (!kern_run_node_checked(n, in, c->data, &f)) {
            /* constant indices out of range: the error every run would give, now */
            char msg[200];
            kern_fault_str(n, &f, msg, sizeof msg);
            diag_error(d, n->loc, "%s", msg);
            return -1;
        }
        c->loc = n->loc;
        pu_replace_uses(g, n->out, c);
        pu_remove_node(g, i);
        n_rewrites++;
    }
    pu_compact(g);
    return n_rewrites;
}
