/* fuse-act: an activation (ops.def EPILOGUE IS_ACT) applied to the result of an op
 * that takes one (TAKES_ACT: conv2d, linear, matmul, add) becomes that node's epilogue
 * (attrs.act), when the activation is the result's only user, so the intermediate
 * tensor is never stored. */
#include <stdlib.h>

#include "passes/pass_util.h"

int pass_fuse_act(IrGraph *g, Diag *d)
{
    (void)d;
    int n_rewrites = 0;
    int *uses = pu_use_counts(g);
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *a = g->nodes.v[i];
        if (!a || ir_op_info[a->op].epilogue != IR_EPI_IS_ACT) continue;
        IrValue *x = a->in[0];
        if (x->kind != IRV_NODE) continue;
        IrNode *p = x->def;
        /* The producer's result must die here: another user would see the activation. */
        if (ir_op_info[p->op].epilogue != IR_EPI_TAKES_ACT || p->attrs.act >= 0 || uses[x->id] != 1) continue;
        p->attrs.act = a->op;
        p->attrs.act_alpha = ir_op_info[a->op].attrs & IRA_ALPHA ? a->attrs.alpha : 0.0f;
        pu_replace_uses(g, a->out, x);
        uses[x->id] = uses[a->out->id];
        pu_remove_node(g, i);
        n_rewrites++;
    }
    free(uses);
    pu_compact(g);
    return n_rewrites;
}
