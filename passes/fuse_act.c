/* fuse-act: an activation applied to the result of conv2d, linear, matmul or add
 * becomes that node's epilogue (attrs.act), when the activation is the result's only
 * user, so the intermediate tensor is never stored. */
#include <stdlib.h>

#include "passes/pass_util.h"

static bool is_fusable_act(IrOp op)
{
    switch (op) {
    case IR_RELU: case IR_RELU6: case IR_SIGMOID: case IR_SILU: case IR_GELU:
    case IR_HSWISH: case IR_HSIGMOID: case IR_LEAKY_RELU: case IR_TANH:
        return true;
    default:
        return false;
    }
}

static bool is_fusable_producer(IrOp op)
{
    return op == IR_CONV2D || op == IR_LINEAR || op == IR_MATMUL || op == IR_ADD;
}

int pass_fuse_act(IrGraph *g, Diag *d)
{
    (void)d;
    int n_rewrites = 0;
    int *uses = pu_use_counts(g);
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *a = g->nodes.v[i];
        if (!a || !is_fusable_act(a->op)) continue;
        IrValue *x = a->in[0];
        if (x->kind != IRV_NODE) continue;
        IrNode *p = x->def;
        /* The producer's result must die here: another user would see the activation. */
        if (!is_fusable_producer(p->op) || p->attrs.act >= 0 || uses[x->id] != 1) continue;
        p->attrs.act = a->op;
        p->attrs.act_alpha = a->op == IR_LEAKY_RELU ? a->attrs.alpha : 0.0f;
        pu_replace_uses(g, a->out, x);
        uses[x->id] = uses[a->out->id];
        pu_remove_node(g, i);
        n_rewrites++;
    }
    free(uses);
    pu_compact(g);
    return n_rewrites;
}
