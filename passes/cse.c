/* cse: two nodes with the same op, the same operands and the same attributes compute
 * the same value; the later one is replaced by the earlier. Constants with the same
 * shape and contents are merged first, so nodes fed by equal constants merge too. */
#include <stdlib.h>
#include <string.h>

#include "passes/pass_util.h"
#include "support/oom.h"

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

static uint64_t hash_const(const IrValue *v)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)v->shape.rank;
    for (int i = 0; i < v->shape.rank; i++) h = (h ^ (uint64_t)v->shape.d[i]) * 1099511628211ull;
    const unsigned char *p = (const unsigned char *)v->data;
    size_t n = sizeof(float) * (size_t)shape_numel(&v->shape);
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static size_t table_size(int n)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)n) cap *= 2;
    return cap;
}

/* Linear in the graph: constants and nodes are found in hash tables, and a merged
 * value is recorded in repl (by value id) and substituted as later nodes are visited,
 * instead of rewriting every use at once (which made 20,000 nodes take 10 s). */
int pass_cse(IrGraph *g, Diag *d)
{
    int n_rewrites = 0;
    int nv = g->values.n;
    IrValue **repl = bcl_calloc((size_t)(nv ? nv : 1), sizeof *repl);
    if (!repl) {
        diag_error(d, NO_LOC, "cse: out of memory");
        return -1;
    }

    /* Equal constants (shape and contents): the first one stays. */
    size_t ccap = table_size(nv);
    IrValue **consts = bcl_calloc(ccap, sizeof *consts);
    if (!consts) {
        free(repl);
        diag_error(d, NO_LOC, "cse: out of memory");
        return -1;
    }
    for (int i = 0; i < nv; i++) {
        IrValue *v = g->values.v[i];
        if (v->kind != IRV_CONST || !v->data) continue;
        size_t s = (size_t)(hash_const(v) & (uint64_t)(ccap - 1));
        for (; consts[s]; s = (s + 1) & (ccap - 1))
            if (consts_eq(consts[s], v)) break;
        if (!consts[s]) {
            consts[s] = v;
            continue;
        }
        repl[v->id] = consts[s];
        n_rewrites++;
    }
    free(consts);

    /* Nodes: keyed by (op, operands), in schedule order, so the survivor always comes
     * first and dominates the later copies' users. */
    size_t cap = table_size(g->nodes.n);
    IrNode **table = bcl_calloc(cap, sizeof *table);
    if (!table) {
        free(repl);
        diag_error(d, NO_LOC, "cse: out of memory");
        return -1;
    }
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *n = g->nodes.v[i];
        for (int k = 0; k < n->n_in; k++)
            if (repl[n->in[k]->id]) n->in[k] = repl[n->in[k]->id];
        uint64_t h = hash_node(n);
        size_t s = (size_t)(h & (uint64_t)(cap - 1));
        IrNode *same = NULL;
        for (; table[s]; s = (s + 1) & (cap - 1))
            if (nodes_eq(table[s], n)) { same = table[s]; break; }
        if (!same) {
            table[s] = n;
            continue;
        }
        repl[n->out->id] = same->out;   /* a node result can replace an output too */
        pu_remove_node(g, i);
        n_rewrites++;
    }
    for (int i = 0; i < g->outputs.n; i++) {
        IrValue *o = g->outputs.v[i];
        if (repl[o->id]) g->outputs.v[i] = repl[o->id];
    }
    free(table);
    free(repl);
    pu_compact(g);
    return n_rewrites;
}
