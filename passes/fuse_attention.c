/* fuse-attention: matmul(softmax(matmul(q, transpose(k)) [* c] [+ bias]), v), softmax over
 * the last axis, becomes one attention node (softmax(q k^T c + bias) v), so the score
 * matrix of a head or window is never stored: the JIT computes it row by row in cache.
 * k^T must be a transpose swapping the last two axes, c a scalar with data, and every
 * intermediate result used only by the next step. Swin's shifted blocks add their mask
 * through a reshape to [B/nW, nW, H, N, N] and back:
 *   softmax(reshape(reshape(scores + bias, S5) + mask, S4))
 * becomes reshape(attention(q5, k5, v5, bias, mask), S4) with q, k, v reshaped to S5's
 * batch dims (row-major reshapes keep the flat batch index, so each score row meets the
 * same bias and mask elements). */
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

/* Whether bias (broadcast to scores of shape s4) gives each score the same element when
 * broadcast to the reshaped scores s5 (the same last three dims, batch dims regrouped):
 * only its last three dims may differ from 1. */
static bool bias_survives_reshape(const Shape *b, const Shape *s4, const Shape *s5)
{
    for (int j = 3; j < b->rank; j++)
        if (b->d[b->rank - 1 - j] != 1) return false;
    return b->rank < 3 || s4->rank < 3 || s5->rank < 3 || b->d[b->rank - 3] == 1 ||
           s4->d[s4->rank - 3] == s5->d[s5->rank - 3];
}

/* x's shape with s's batch dims (all but the last two) and x's last two. */
static Shape with_batch_of(const IrValue *x, const Shape *s)
{
    Shape r = *s;
    r.d[s->rank - 2] = x->shape.d[x->shape.rank - 2];
    r.d[s->rank - 1] = x->shape.d[x->shape.rank - 1];
    return r;
}

/* Rewrites y = matmul(a, v) in place when it is the tail of the pattern. */
static bool fuse_one(IrGraph *g, IrNode *y, const int *uses, Diag *d)
{
    if (y->op != IR_MATMUL || y->attrs.act >= 0) return false;
    IrNode *sm = single_use(y->in[0], IR_SOFTMAX, uses);
    if (!sm || sm->attrs.axis != sm->out->shape.rank - 1) return false;
    IrValue *s = sm->in[0], *bias = NULL, *mask = NULL;
    const Shape *s5 = NULL;   /* the masked form's regrouped scores */
    IrNode *r4 = single_use(s, IR_RESHAPE, uses), *a5 = r4 ? single_use(r4->in[0], IR_ADD, uses) : NULL;
    if (a5) {
        for (int k = 0; k < 2 && !mask; k++) {
            IrNode *r5 = single_use(a5->in[k], IR_RESHAPE, uses);
            const Shape *o5 = &a5->out->shape, *o4 = &r4->out->shape;
            if (r5 && shape_eq(&r5->in[0]->shape, o4) && shape_eq(&r5->out->shape, o5) && o5->rank >= 2 &&
                o5->d[o5->rank - 1] == o4->d[o4->rank - 1] && o5->d[o5->rank - 2] == o4->d[o4->rank - 2]) {
                mask = a5->in[1 - k];
                s5 = o5;
                s = r5->in[0];
            }
        }
        if (!mask) return false;
    }
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
    IrValue *in[5] = {qk->in[0], t->in[0], y->in[1], bias, NULL};
    int n_in = bias ? 4 : 3;
    if (in[1]->shape.d[in[1]->shape.rank - 2] > FUSE_MAX_KEYS) return false;
    IrAttrs at = ir_attrs_default();
    at.alpha = alpha;
    if (mask) {
        if (bias && !bias_survives_reshape(&bias->shape, &s->shape, s5)) return false;
        in[n_in++] = mask;
        Shape sh5[5], out5, want5 = with_batch_of(y->out, s5);
        const Shape *shapes[5];
        for (int i = 0; i < n_in; i++) {
            sh5[i] = i < 3 ? with_batch_of(in[i], s5) : in[i]->shape;
            shapes[i] = &sh5[i];
        }
        char err[256];
        if (in[1]->shape.rank < 2 || !ir_infer_shape(IR_ATTENTION, shapes, n_in, &at, &out5, err, sizeof err) ||
            !shape_eq(&out5, &want5) || shape_numel(&want5) != shape_numel(&y->out->shape))
            return false;
        int pos = pu_node_index(g, y);
        IrValue *ins5[5];
        for (int i = 0; i < n_in; i++) {
            ins5[i] = in[i];
            if (i >= 3) continue;
            IrAttrs ra = ir_attrs_default();
            ra.shape = sh5[i];
            ins5[i] = pu_insert_node(g, pos++, IR_RESHAPE, &in[i], 1, &ra, y->loc, d);
            if (!ins5[i]) return false;
            ins5[i]->def->scope = y->scope;
        }
        IrValue *att = pu_insert_node(g, pos, IR_ATTENTION, ins5, n_in, &at, y->loc, d);
        if (!att) return false;
        att->def->scope = y->scope;
        IrValue **one = ARENA_NEWN(g->arena, IrValue *, 1);
        one[0] = att;
        IrAttrs ra = ir_attrs_default();
        ra.shape = y->out->shape;
        y->op = IR_RESHAPE;
        y->in = one;
        y->n_in = 1;
        y->attrs = ra;
        return true;
    }
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
    int n_rewrites = 0;
    int *uses = pu_use_counts(g);
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *y = g->nodes.v[i];
        if (y && fuse_one(g, y, uses, d)) n_rewrites++;
    }
    free(uses);
    if (n_rewrites) pu_remove_dead(g);
    pu_compact(g);
    return n_rewrites;
}
