/* fold-bn: batch_norm(y) with y = conv2d/linear(x, W, b) and no other user of y is
 * folded into that producer: with s = gamma / sqrt(var + eps),
 *   W'[o, ...] = W[o, ...] * s[o],   b'[o] = (b[o] - mean[o]) * s[o] + beta[o].
 * W' and b' are new constants named "<W's name>#folded" and "<b's name>#folded" (the
 * original params keep their names, so weights still bind by state-dict key). Their
 * data is computed when every input has data (bclc binds weights before optimizing);
 * otherwise it stays NULL and only the structure is rewritten (textual IR tests).
 * When the producer is W's only user, W's buffer moves into W' and is scaled in place
 * (W is left without data, read by nothing): no second copy of the model's weights,
 * whose fresh pages are most of this pass's time on a large model.
 * A batch_norm with nothing to fold into becomes scale_shift(x, s, beta - mean * s). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pass_util.h"
#include "support/oom.h"

/* "features.1.weight" -> "features.1" + suffix; other names get the suffix appended. */
static const char *derived_name(IrGraph *g, const IrValue *v, const char *strip, const char *suffix)
{
    if (!v->name || !v->name[0]) return NULL;
    size_t n = strlen(v->name), k = strlen(strip);
    if (n > k && strcmp(v->name + n - k, strip) == 0)
        return arena_printf(g->arena, "%.*s%s", (int)(n - k), v->name, suffix);
    return arena_printf(g->arena, "%s%s", v->name, suffix);
}

/* s[c] = gamma / sqrt(var + eps) and t[c] = beta - mean * s in double, or false when
 * some BN input has no data. */
static bool bn_scale(const IrNode *bn, int64_t c, double *s, double *t)
{
    for (int k = 1; k < 5; k++)
        if (!pu_has_data(bn->in[k])) return false;
    const float *gamma = bn->in[1]->data, *beta = bn->in[2]->data;
    const float *mean = bn->in[3]->data, *var = bn->in[4]->data;
    for (int64_t i = 0; i < c; i++) {
        s[i] = gamma[i] / sqrt((double)var[i] + (double)bn->attrs.eps);
        t[i] = beta[i] - mean[i] * s[i];
    }
    return true;
}

static bool fold_into(IrGraph *g, IrNode *bn, IrNode *p, const int *uses)
{
    IrValue *w = p->in[1], *b = p->n_in > 2 ? p->in[2] : NULL;
    int64_t c = w->shape.d[0];
    if (c <= 0 || bn->in[1]->shape.rank != 1 || bn->in[1]->shape.d[0] != c) return false;
    int64_t per = shape_numel(&w->shape) / c;
    /* a temporary, freed by a guard if an allocation below fails (support/oom.h) */
    double *s = bcl_xmalloc(sizeof(double) * (size_t)c * 2);
    BclOomGuard g_s;
    bcl_oom_guard(&g_s, bcl_oom_free_ptr, &s);
    double *t = s + c;
    bool have = bn_scale(bn, c, s, t) && pu_has_data(w) && (!b || pu_has_data(b));
    Shape bs = {.rank = 1, .d = {c}};
    const char *wname = derived_name(g, w, "", "#folded");
    const char *bname = b ? derived_name(g, b, "", "#folded") : derived_name(g, w, ".weight", ".bias#folded");
    /* The folded values go straight into the new constants (no temporary copy: a
     * second pass over every weight, on fresh pages), W's own buffer when nothing else
     * reads W */
    bool in_place = have && uses[w->id] == 1;
    const float *wsrc = have ? w->data : NULL;
    IrValue *nw = !have ? pu_new_const(g, &w->shape, NULL, wname)
                  : in_place ? ir_add_const_owned(g, &w->shape, w->data) : ir_add_const(g, &w->shape, NULL);
    IrValue *nb = have ? ir_add_const(g, &bs, NULL) : pu_new_const(g, &bs, NULL, bname);
    if (have) {
        if (wname) nw->name = wname;   /* already in the arena */
        if (bname) nb->name = bname;
        if (in_place) w->data = NULL;
        float *wd = nw->data, *bd = nb->data;
        for (int64_t o = 0; o < c; o++) {
            for (int64_t k = 0; k < per; k++) wd[o * per + k] = (float)(wsrc[o * per + k] * s[o]);
            /* (b - mean) * s + beta = b * s + t */
            bd[o] = (float)((b ? b->data[o] : 0.0) * s[o] + t[o]);
        }
    }
    bcl_oom_unguard(&g_s);
    free(s);
    IrValue **in = ARENA_NEWN(g->arena, IrValue *, 3);
    in[0] = p->in[0];
    in[1] = nw;
    in[2] = nb;
    p->in = in;
    p->n_in = 3;
    return true;
}

int pass_fold_bn(IrGraph *g, Diag *d)
{
    int n_rewrites = 0;
    int *uses = pu_use_counts(g);
    BclOomGuard g_uses;
    bcl_oom_guard(&g_uses, bcl_oom_free_ptr, &uses);
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *bn = g->nodes.v[i];
        if (!bn || bn->op != IR_BATCH_NORM) continue;
        IrValue *x = bn->in[0];
        IrNode *p = x->kind == IRV_NODE ? x->def : NULL;
        bool foldable = p && uses[x->id] == 1 && p->attrs.act < 0 &&
                        ((p->op == IR_CONV2D && p->n_in <= 3) ||
                         (p->op == IR_LINEAR && x->shape.rank == 2));
        if (foldable && fold_into(g, bn, p, uses)) {
            pu_replace_uses(g, bn->out, x);
            uses[x->id] = uses[bn->out->id];
            pu_remove_node(g, i);
            n_rewrites++;
            continue;
        }
        /* Nothing to fold into: x * s + t per channel. */
        if (x->shape.rank < 2 || x->shape.d[1] <= 0) continue;
        int64_t c = x->shape.d[1];
        if (bn->in[1]->shape.rank != 1 || bn->in[1]->shape.d[0] != c) continue;
        double *s = bcl_xmalloc(sizeof(double) * (size_t)c * 2);
        float *sd = NULL, *td = NULL;
        BclOomGuard g_s, g_sd;
        bcl_oom_guard(&g_s, bcl_oom_free_ptr, &s);
        bcl_oom_guard(&g_sd, bcl_oom_free_ptr, &sd);
        if (bn_scale(bn, c, s, s + c)) {
            sd = bcl_xmalloc(sizeof(float) * (size_t)c * 2);
            td = sd + c;
            for (int64_t k = 0; k < c; k++) {
                sd[k] = (float)s[k];
                td[k] = (float)s[c + k];
            }
        }
        Shape cs = {.rank = 1, .d = {c}};
        IrValue *in[3] = {x, pu_new_const(g, &cs, sd, derived_name(g, bn->in[1], ".weight", "#scale")),
                          pu_new_const(g, &cs, td, derived_name(g, bn->in[2], ".bias", "#shift"))};
        bcl_oom_unguard(&g_sd);
        bcl_oom_unguard(&g_s);
        free(sd);
        free(s);
        IrValue *y = pu_insert_node(g, i, IR_SCALE_SHIFT, in, 3, NULL, bn->loc, d);
        if (!y) {
            bcl_oom_unguard(&g_uses);
            free(uses);
            return -1;
        }
        /* The uses table is indexed by value id: grow it for y by recomputing. */
        pu_replace_uses(g, bn->out, y);
        pu_remove_node(g, i + 1);
        free(uses);
        uses = NULL;
        uses = pu_use_counts(g);
        n_rewrites++;
    }
    bcl_oom_unguard(&g_uses);
    free(uses);
    pu_compact(g);
    return n_rewrites;
}
