/* fuse-attention: matmul(softmax(matmul(q, transpose(k)) [* c] [+ bias]), v), softmax over
 * the last axis, becomes one attention node (softmax(q k^T c + bias) v), so the score
 * matrix of a head or window is never stored: the JIT computes it row by row in cache.
 * k^T must be a transpose swapping the last two axes, c a scalar with data, and every
 * intermediate result used only by the next step. Swin's shifted blocks add their mask
 * through a 5-D reshape and stay unfused. */
#include <stdlib.h>

#include "passes/pass_util.h"

/* keys per row the JIT's attention step holds (BCL_JIT_ATTN_MAX_N; passes do not see backends) */
#define FUSE_MAX_KEYS 4096

/* n's result, if it is an unfused node of op op used once; else NULL. */
static IrNode *single_use(const IrValue *v, IrOp op, const int *uses)
{
    if (v->kind != IRV_NODE || v->def->op != op || v->def->attrs.act >= 0 || uses[v->id] != 1) return NULL;
    return v->def;
}

/* A scalar with data (a shape [] or one-element constant): its value into *c. */
static bool scalar_data(const IrValue *v, float *c)
{
    if (!pu_has_data(v) || shape_numel(&v->shape) != 1) return false;
    *c = v->data[0];
    return true;
}

static bool swaps_last_two(const IrNode *t)
{
    int r = t->out->shape.rank;
    if (r < 2) return false;
    for (int i = 0; i < r - 2; i++)
        if (t->attrs.perm[i] != i) return false;
    return t->attrs.perm[r - 2] == r - 1 && t->attrs.perm[r - 1] == r - 2;
}

/* Rewrites y = matmul(a, v) in place when it is the tail of the pattern. */
static bool fuse_one(IrGraph *g, IrNode *y, const int *uses)
{
    if (y->op != IR_MATMUL || y->attrs.act >= 0) return false;
    IrNode *sm = single_use(y->in[0], IR_SOFTMAX, uses);
    if (!sm || sm->attrs.axis != sm->out->shape.rank - 1) return false;
    IrValue *s = sm->in[0], *bias = NULL;
    IrNode *add = single_use(s, IR_ADD, uses);
    if (add) {
        /* scores + bias, the bias broadcast into the scores' shape */
        for (int k = 0; k < 2 && !bias; k++) {
            IrValue *sc = add->in[k], *b = add->in[1 - k];
            if (sc->kind == IRV_NODE && shape_eq(&sc->shape, &add->out->shape) &&
                (sc->def->op == IR_MATMUL || sc->def->op == IR_MUL) && uses[sc->id] == 1) {
                s = sc;
                bias = b;
            }
        }
        if (!bias) return false;
    }
    float alpha = 1.0f;
    IrNode *mul = single_use(s, IR_MUL, uses);
    if (mul) {
        int k = scalar_data(mul->in[1], &alpha) ? 0 : scalar_data(mul->in[0], &alpha) ? 1 : -1;
        if (k < 0 || !shape_eq(&mul->in[k]->shape, &mul->out->shape)) return false;
        s = mul->in[k];
    }
    IrNode *qk = single_use(s, IR_MATMUL, uses);
    if (!qk) return false;
    IrNode *t = single_use(qk->in[1], IR_TRANSPOSE, uses);
    if (!t || !swaps_last_two(t)) return false;
    IrValue *in[4] = {qk->in[0], t->in[0], y->in[1], bias};
    int n_in = bias ? 4 : 3;
    if (in[1]->shape.d[in[1]->shape.rank - 2] > FUSE_MAX_KEYS) return false;
    IrAttrs at = ir_attrs_default();
    at.alpha = alpha;
    const Shape *shapes[4];
    for (int i = 0; i < n_in; i++) shapes[i] = &in[i]->shape;
    Shape out;
    char err[256];
    if (!ir_infer_shape(IR_ATTENTION, shapes, n_in, &at, &out, err, sizeof err) || !shape_eq(&out, &y->out->shape))
        return false;   /* broadcast batch dims, a 1-D operand: left to matmul */
    IrValue **ins = ARENA_NEWN(g->arena, IrValue *, 4);
    for (int i = 0; i < n_in; i++) ins[i] = in[i];
    y->op = IR_ATTENTION;
    y->in = ins;
    y->n_in = n_in;
    y->attrs = at;
    return true;
}

int pass_fuse_attention(IrGraph *g, Diag *d)
{
    (void)d;
    int n_rewrites = 0;
    int *uses = pu_use_counts(g);
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *y = g->nodes.v[i];
        if (y && fuse_one(g, y, uses)) n_rewrites++;
    }
    free(uses);
    if (n_rewrites) pu_remove_dead(g);
    pu_compact(g);
    return n_rewrites;
}
