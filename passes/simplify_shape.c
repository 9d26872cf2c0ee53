/* simplify-shape: reshape(reshape(x)) reads x directly; a reshape to its input's shape
 * disappears; transpose(transpose(x)) becomes one transpose with the composed
 * permutation, or disappears when that is the identity, as does an identity transpose;
 * a 1x1 pool without padding that keeps its input's shape (an SE block's global pool
 * on an already 1x1 map) disappears. Nodes left without users are removed (and
 * counted as rewrites). */
#include <stdlib.h>

#include "passes/pass_util.h"

static bool is_identity_perm(const int64_t *perm, int rank)
{
    for (int i = 0; i < rank; i++)
        if (perm[i] != i) return false;
    return true;
}

/* avg/max over one element with no padding is that element. */
static bool is_identity_pool(const IrNode *n)
{
    const IrAttrs *a = &n->attrs;
    return (n->op == IR_AVG_POOL2D || n->op == IR_MAX_POOL2D) && a->kernel[0] == 1 && a->kernel[1] == 1 &&
           !a->pad[0] && !a->pad[1] && !a->pad[2] && !a->pad[3] && !a->flatten && a->act < 0 &&
           shape_eq(&n->in[0]->shape, &n->out->shape);
}

int pass_simplify_shape(IrGraph *g, Diag *d)
{
    (void)d;
    int n_rewrites = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *n = g->nodes.v[i];
        if (n && is_identity_pool(n) && pu_can_replace(g, n->out, n->in[0])) {
            pu_replace_uses(g, n->out, n->in[0]);
            pu_remove_node(g, i);
            n_rewrites++;
            continue;
        }
        if (!n || (n->op != IR_RESHAPE && n->op != IR_TRANSPOSE)) continue;
        IrValue *x = n->in[0];
        IrNode *p = x->kind == IRV_NODE ? x->def : NULL;
        /* Fold the producer in: chains collapse one link per visit, front to back. */
        if (p && p->op == n->op) {
            if (n->op == IR_TRANSPOSE) {
                /* y = transpose(x, p0), z = transpose(y, p1): z.d[j] = x.d[p0[p1[j]]]. */
                int64_t perm[BCL_MAX_RANK];
                for (int j = 0; j < x->shape.rank; j++) perm[j] = p->attrs.perm[n->attrs.perm[j]];
                for (int j = 0; j < x->shape.rank; j++) n->attrs.perm[j] = perm[j];
            }
            x = n->in[0] = p->in[0];
            n_rewrites++;
        }
        bool noop = n->op == IR_RESHAPE ? shape_eq(&x->shape, &n->out->shape)
                                        : is_identity_perm(n->attrs.perm, x->shape.rank);
        if (noop && pu_can_replace(g, n->out, x)) {
            pu_replace_uses(g, n->out, x);
            pu_remove_node(g, i);
            n_rewrites++;
        }
    }
    n_rewrites += pu_remove_dead(g);
    pu_compact(g);
    return n_rewrites;
}
