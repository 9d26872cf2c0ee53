/* `bclc run --check`: runs the graph before and after the pass pipeline on the same
 * input and compares. Results are matched by IrValue identity (passes rewrite the graph
 * in place, so a value that survives keeps its pointer); a value whose producing node
 * changed kind or epilogue (a fusion) is not compared itself, the first unchanged node
 * after it is. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/interp/interp.h"
#include "support/oom.h"
#include "api/pipeline.h"

typedef struct Snapshot {
    const IrValue *v;
    IrOp op;
    int act, n_in;
    float *data;
} Snapshot;

typedef struct CheckCtx {
    Snapshot *snaps;
    int n, cap;
    bool comparing;
    bool no_memory;             /* a snapshot could not be allocated: reported after the run */
    const IrNode *first_bad;
    double bad_diff, bad_tol;
} CheckCtx;

static int cmp_snap(const void *a, const void *b)
{
    const IrValue *x = ((const Snapshot *)a)->v, *y = ((const Snapshot *)b)->v;
    return x < y ? -1 : x > y;
}

static double max_abs(const float *x, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(x[i]));
    return m;
}

/* The tolerance of issue 4: max |diff| <= 1e-5 * max |y| + 1e-6. */
static double tolerance(const float *ref, int64_t n) { return 1e-5 * max_abs(ref, n) + 1e-6; }

static double max_diff(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (isnan(e)) return INFINITY;
        m = fmax(m, e);
    }
    return m;
}

static void observe(void *vctx, const IrNode *n, const float *out)
{
    CheckCtx *c = vctx;
    int64_t numel = shape_numel(&n->out->shape);
    if (!c->comparing) {
        if (c->no_memory) return;
        if (c->n == c->cap) {
            int cap = c->cap ? 2 * c->cap : 64;
            Snapshot *snaps = bcl_realloc(c->snaps, sizeof *c->snaps * (size_t)cap);
            if (!snaps) {
                c->no_memory = true;
                return;
            }
            c->snaps = snaps;
            c->cap = cap;
        }
        float *data = bcl_malloc(sizeof(float) * (size_t)(numel ? numel : 1));
        if (!data) {
            c->no_memory = true;
            return;
        }
        Snapshot *s = &c->snaps[c->n++];
        s->v = n->out;
        s->op = n->op;
        s->act = n->attrs.act;
        s->n_in = n->n_in;
        s->data = data;
        memcpy(s->data, out, sizeof(float) * (size_t)numel);
        return;
    }
    if (c->first_bad) return;
    Snapshot key = {.v = n->out};
    Snapshot *s = bsearch(&key, c->snaps, (size_t)c->n, sizeof *c->snaps, cmp_snap);
    if (!s || s->op != n->op || s->act != n->attrs.act || s->n_in != n->n_in ||
        !shape_eq(&s->v->shape, &n->out->shape))
        return;
    double diff = max_diff(s->data, out, numel), tol = tolerance(s->data, numel);
    if (diff > tol) {
        c->first_bad = n;
        c->bad_diff = diff;
        c->bad_tol = tol;
    }
}

/* What the check holds while passes run (they may jump on out of memory): freed on
 * every path, by the guard on a jump. */
typedef struct CheckHeld {
    CheckCtx c;
    int n_out;
    float **ref;
    const IrValue **ref_val;
} CheckHeld;

static void free_held(void *arg)
{
    CheckHeld *h = arg;
    for (int i = 0; i < h->c.n; i++) free(h->c.snaps[i].data);
    free(h->c.snaps);
    if (h->ref)
        for (int i = 0; i < h->n_out; i++) free(h->ref[i]);
    free(h->ref);
    free(h->ref_val);
    memset(h, 0, sizeof *h);
}

int bcl_run_passes_checked(IrGraph *g, const char *pipeline, const PassOptions *opt,
                           const float *const *inputs, float *const *outputs, FILE *report, Diag *d)
{
    int n_out = g->outputs.n, rc = 1;
    CheckHeld h = {.n_out = n_out};
    CheckCtx *c = &h.c;
    BclOomGuard guard;
    bcl_oom_guard(&guard, free_held, &h);
    h.ref = bcl_calloc((size_t)n_out, sizeof *h.ref);
    h.ref_val = bcl_calloc((size_t)n_out, sizeof *h.ref_val);
    if (!h.ref || !h.ref_val) goto no_memory;
    for (int i = 0; i < n_out; i++) {
        h.ref_val[i] = g->outputs.v[i];
        int64_t n = shape_numel(&h.ref_val[i]->shape);
        if (!(h.ref[i] = bcl_malloc(sizeof(float) * (size_t)(n ? n : 1)))) goto no_memory;
    }
    if (bcl_interp_run_observed(g, inputs, h.ref, observe, c, d)) goto done;
    if (c->no_memory) goto no_memory;
    qsort(c->snaps, (size_t)c->n, sizeof *c->snaps, cmp_snap);
    if (bcl_run_passes(g, pipeline, opt, d)) goto done;
    if (g->outputs.n != n_out) {
        diag_error(d, NO_LOC, "--check: the optimized graph has %d outputs, the original %d", g->outputs.n, n_out);
        goto done;
    }
    c->comparing = true;
    /* the optimized graph runs inside its memory plan, as bclc runs it */
    if (bcl_interp_run_planned_observed(g, NULL, inputs, outputs, observe, c, d)) goto done;
    rc = 0;
    for (int i = 0; i < n_out; i++) {
        const IrValue *v = g->outputs.v[i];
        int64_t n = shape_numel(&v->shape);
        double diff = max_diff(h.ref[i], outputs[i], n), tol = tolerance(h.ref[i], n);
        if (!shape_eq(&v->shape, &h.ref_val[i]->shape) || diff > tol) {
            diag_error(d, NO_LOC, "--check: output %d of the optimized graph differs: max |diff| %.3g > tolerance %.3g",
                       i, diff, tol);
            rc = 1;
        } else {
            fprintf(report, "check: output %d matches the unoptimized graph (max |diff| %.3g, tolerance %.3g)\n",
                    i, diff, tol);
        }
    }
    if (c->first_bad) {
        const IrNode *n = c->first_bad;
        diag_error(d, n->loc, "--check: the first result that differs after optimization is this %s: max |diff| %.3g > tolerance %.3g",
                   ir_op_info[n->op].name, c->bad_diff, c->bad_tol);
        rc = 1;
    }
    goto done;
no_memory:
    diag_error(d, NO_LOC, "out of memory for --check's copies of the unoptimized graph's results");
done:
    bcl_oom_unguard(&guard);
    free_held(&h);
    return rc;
}
