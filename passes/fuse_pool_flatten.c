/* fuse-pool-flatten: a global pool (max/avg_pool2d with a [N, C, 1, 1] result) whose
 * only user is a reshape to [N, C] produces [N, C] itself (attrs.flatten): the data
 * is the same, one node and one buffer fewer. */
#include <stdlib.h>

#include "passes/pass_util.h"

int pass_fuse_pool_flatten(IrGraph *g, Diag *d)
{
    (void)d;
    int n_rewrites = 0;
    int *uses = pu_use_counts(g);
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *r = g->nodes.v[i];
        if (!r || r->op != IR_RESHAPE) continue;
        IrValue *x = r->in[0];
        if (x->kind != IRV_NODE || uses[x->id] != 1) continue;
        IrNode *p = x->def;
        const Shape *s = &x->shape, *t = &r->out->shape;
        if ((p->op != IR_MAX_POOL2D && p->op != IR_AVG_POOL2D) || p->attrs.flatten) continue;
        if (s->rank != 4 || s->d[2] != 1 || s->d[3] != 1) continue;
        if (t->rank != 2 || t->d[0] != s->d[0] || t->d[1] != s->d[1]) continue;
        p->attrs.flatten = true;
        x->shape = *t;
        pu_replace_uses(g, r->out, x);
        uses[x->id] = uses[r->out->id];
        pu_remove_node(g, i);
        n_rewrites++;
    }
    free(uses);
    pu_compact(g);
    return n_rewrites;
}
