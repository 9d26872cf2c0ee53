/* cse: two nodes with the same op, the same operands and the same attributes compute
 * the same value; the later one is replaced by the earlier. Constants with the same
 * shape and contents are merged first, so nodes fed by equal constants merge too. */
#include <stdlib.h>
#include <string.h>

#include "passes/pass_util.h"

static bool ints_eq(const int64_t *a, const int64_t *b, int n)
{
    return n <= 0 || memcmp(a, b, sizeof(int64_t) * (size_t)n) == 0;
}

static bool feq(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/* Field by field: IrAttrs has padding, so memcmp of whole structs is unreliable. */
static bool attrs_eq(const IrAttrs *a, const IrAttrs *b)
{
    return ints_eq(a->stride, b->stride, 2) && ints_eq(a->dilation, b->dilation, 2) &&
           ints_eq(a->kernel, b->kernel, 2) && ints_eq(a->pad, b->pad, 4) && a->groups == b->groups &&
           a->count_include_pad == b->count_include_pad && a->axis == b->axis &&
           a->n_axes == b->n_axes && ints_eq(a->axes, b->axes, BCL_MAX_RANK) && a->keepdim == b->keepdim &&
           ints_eq(a->perm, b->perm, BCL_MAX_RANK) && shape_eq(&a->shape, &b->shape) &&
           ints_eq(a->begin, b->begin, BCL_MAX_RANK) && ints_eq(a->end, b->end, BCL_MAX_RANK) &&
           ints_eq(a->step, b->step, BCL_MAX_RANK) && ints_eq(a->pads, b->pads, 2 * BCL_MAX_RANK) &&
           ints_eq(a->shifts, b->shifts, BCL_MAX_RANK) && feq(a->value, b->value) &&
           feq(a->alpha, b->alpha) && feq(a->eps, b->eps) && a->act == b->act &&
           feq(a->act_alpha, b->act_alpha) && a->flatten == b->flatten;
}

static bool nodes_eq(const IrNode *a, const IrNode *b)
{
    if (a->op != b->op || a->n_in != b->n_in) return false;
    for (int k = 0; k < a->n_in; k++)
        if (a->in[k] != b->in[k]) return false;
    return shape_eq(&a->out->shape, &b->out->shape) && attrs_eq(&a->attrs, &b->attrs);
}

static bool consts_eq(const IrValue *a, const IrValue *b)
{
    if (!shape_eq(&a->shape, &b->shape) || !a->data || !b->data) return false;
    return memcmp(a->data, b->data, sizeof(float) * (size_t)shape_numel(&a->shape)) == 0;
}

static uint64_t hash_node(const IrNode *n)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)n->op;
    for (int k = 0; k < n->n_in; k++) h = (h ^ (uint64_t)n->in[k]->id) * 1099511628211ull;
    return h;
}

int pass_cse(IrGraph *g, Diag *d)
{
    (void)d;
    int n_rewrites = 0;

    /* Equal constants: quadratic, but graphs hold few constants without names. */
    PtrVec consts = {0};
    for (int i = 0; i < g->values.n; i++) {
        IrValue *v = g->values.v[i];
        if (v->kind == IRV_CONST) ptrvec_push(g->arena, &consts, v);
    }
    for (int i = 0; i < consts.n; i++) {
        IrValue *v = consts.v[i];
        for (int j = 0; j < i; j++) {
            IrValue *w = consts.v[j];
            if (w && consts_eq(v, w)) {
                pu_replace_uses(g, v, w);
                consts.v[i] = NULL;
                n_rewrites++;
                break;
            }
        }
    }

    /* Nodes: an open-addressing table keyed by (op, operands), in schedule order, so
     * the survivor always comes first and dominates the later copies' users. */
    int cap = 16;
    while (cap < 2 * g->nodes.n) cap *= 2;
    IrNode **table = calloc((size_t)cap, sizeof *table);
    BCL_ASSERT(table != NULL);
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *n = g->nodes.v[i];
        uint64_t h = hash_node(n);
        size_t s = (size_t)(h & (uint64_t)(cap - 1));
        IrNode *same = NULL;
        for (; table[s]; s = (s + 1) & (size_t)(cap - 1))
            if (nodes_eq(table[s], n)) { same = table[s]; break; }
        if (!same) {
            table[s] = n;
            continue;
        }
        if (!pu_can_replace(g, n->out, same->out)) continue;
        pu_replace_uses(g, n->out, same->out);
        pu_remove_node(g, i);
        n_rewrites++;
    }
    free(table);
    pu_compact(g);
    return n_rewrites;
}
