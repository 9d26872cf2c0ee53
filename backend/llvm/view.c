/* Strided views for the JIT planner: a value made from another by reshape, transpose
 * and slice (steps of any sign) is read in place, as an offset and a stride per axis
 * of the other buffer, when the chain allows it (a reshape that would need a copy,
 * as numpy's, ends the chain). The attention step reads q, k and v this way, so
 * the qkv split of ViT and Swin (reshape, transpose, three slices) costs no copy. */
#include "backend/llvm/jit_internal.h"

/* v reshaped to `to` without a copy: old axes grouped with new axes of the same
 * element count; each old group must be one run (stride = next stride * next size). */
static bool view_reshape(JitView *v, const Shape *to)
{
    int64_t od[BCL_MAX_RANK], os[BCL_MAX_RANK], ns[BCL_MAX_RANK];
    int on = 0, nn = to->rank;
    for (int i = 0; i < v->rank; i++) {
        if (v->d[i] == 0) return false;
        if (v->d[i] != 1) od[on] = v->d[i], os[on++] = v->st[i];
    }
    int oi = 0, ni = 0;
    while (ni < nn) {
        if (to->d[ni] == 1 || oi == on) {   /* a new axis of size 1: any stride */
            if (to->d[ni] != 1) return false;
            ns[ni++] = 0;
            continue;
        }
        int64_t np = to->d[ni], op = od[oi];
        int nj = ni + 1, oj = oi + 1;
        while (np != op) {
            if (np < op) {
                if (nj >= nn) return false;
                np *= to->d[nj++];
            } else {
                if (oj >= on) return false;
                op *= od[oj++];
            }
        }
        for (int k = oi; k < oj - 1; k++)
            if (os[k] != od[k + 1] * os[k + 1]) return false;
        ns[nj - 1] = os[oj - 1];
        for (int k = nj - 1; k > ni; k--) ns[k - 1] = ns[k] * to->d[k];
        ni = nj, oi = oj;
    }
    if (oi != on) return false;
    v->rank = nn;
    for (int i = 0; i < nn; i++) v->d[i] = to->d[i], v->st[i] = ns[i];
    return true;
}

bool jit_is_view_op(const IrNode *n)
{
    return (n->op == IR_RESHAPE || n->op == IR_TRANSPOSE || n->op == IR_SLICE) && n->attrs.act < 0;
}

void jit_view_of(const IrValue *val, JitView *v)
{
    /* the chain, last op first; then applied from its base forward */
    const IrNode *chain[64];
    int nc = 0;
    const IrValue *b = val;
    while (b->kind == IRV_NODE && jit_is_view_op(b->def) && nc < 64) {
        chain[nc++] = b->def;
        b = b->def->in[0];
    }
    for (;;) {
        v->base = b;
        v->off = 0;
        v->rank = b->shape.rank;
        int64_t acc = 1;
        for (int i = b->shape.rank - 1; i >= 0; i--) v->d[i] = b->shape.d[i], v->st[i] = acc, acc *= b->shape.d[i];
        int k = nc - 1;
        for (; k >= 0; k--) {
            const IrNode *n = chain[k];
            const IrAttrs *a = &n->attrs;
            if (n->op == IR_RESHAPE) {
                if (!view_reshape(v, &n->out->shape)) break;
            } else if (n->op == IR_TRANSPOSE) {
                JitView t = *v;
                for (int i = 0; i < v->rank; i++) v->d[i] = t.d[a->perm[i]], v->st[i] = t.st[a->perm[i]];
            } else {
                for (int i = 0; i < v->rank; i++) {
                    v->off += a->begin[i] * v->st[i];
                    v->st[i] *= a->step[i];
                    v->d[i] = n->out->shape.d[i];
                }
            }
        }
        if (k < 0) return;
        /* chain[k] needs a copy: the view starts at its result */
        b = chain[k]->out;
        nc = k;
    }
}
