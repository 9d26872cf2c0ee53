/* fuse-add: a residual add(conv2d(...), r) or add(linear(...), r) becomes the conv's
 * or linear's epilogue (a 4th input: out = act(conv + bias + r)) when its result has no
 * other user and r is already
 * computed before the conv in the schedule (so nothing has to move and r's lifetime
 * does not grow). A conv without a bias gets a zero bias to keep the operand order.
 * Run it before fuse-act, or after: an activation already fused into the add moves
 * to the conv. */
#include <stdlib.h>

#include "passes/pass_util.h"

/* Whether r is available before node index ci. */
static bool computed_before(const IrGraph *g, const IrValue *r, int ci)
{
    if (r->kind != IRV_NODE) return true;
    int ri = pu_node_index(g, r->def);
    return ri >= 0 && ri < ci;
}

int pass_fuse_add(IrGraph *g, Diag *d)
{
    (void)d;
    int n_rewrites = 0;
    int *uses = pu_use_counts(g);
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *add = g->nodes.v[i];
        if (!add || add->op != IR_ADD) continue;
        for (int k = 0; k < 2; k++) {
            IrValue *c = add->in[k], *r = add->in[1 - k];
            if (c->kind != IRV_NODE || c == r) continue;
            IrNode *conv = c->def;
            if ((conv->op != IR_CONV2D && conv->op != IR_LINEAR) || conv->n_in > 3 || conv->attrs.act >= 0 ||
                uses[c->id] != 1)
                continue;
            /* No broadcasting in the epilogue: the residual has the conv's shape. */
            if (!shape_eq(&r->shape, &c->shape) || !shape_eq(&add->out->shape, &c->shape)) continue;
            int ci = pu_node_index(g, conv);
            if (!computed_before(g, r, ci)) continue;
            IrValue **in = ARENA_NEWN(g->arena, IrValue *, 4);
            in[0] = conv->in[0];
            in[1] = conv->in[1];
            if (conv->n_in > 2) {
                in[2] = conv->in[2];
            } else {
                Shape bs = {.rank = 1, .d = {conv->in[1]->shape.d[0]}};
                in[2] = ir_add_const(g, &bs, NULL);   /* zero-filled */
            }
            in[3] = r;
            conv->in = in;
            conv->n_in = 4;
            conv->attrs.act = add->attrs.act;
            conv->attrs.act_alpha = add->attrs.act_alpha;
            pu_replace_uses(g, add->out, c);
            uses[c->id] = uses[add->out->id];
            pu_remove_node(g, i);
            n_rewrites++;
            break;
        }
    }
    free(uses);
    pu_compact(g);
    return n_rewrites;
}
