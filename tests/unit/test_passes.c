/* The passes against the interpreter: each graph is built twice from the same seed,
 * one copy is optimized, and both run in the reference interpreter; the outputs must
 * agree (max|diff| <= 1e-5 * max|y| + 1e-6). Also checks the rewrites took place, the
 * pipeline strings, and the memory plan (by executing the graph inside it). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend/interp/interp.h"
#include "backend/interp/kernels.h"
#include "passes/pass.h"
#include "tests/unit/test_support.h"

/* ---- graph building with random data ---- */

static uint64_t rng_state;
static float frand(float lo, float hi)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((rng_state >> 40) & 0xffffff) / (float)0xffffff;
}

static IrValue *param(IrGraph *g, const char *name, Shape s, float lo, float hi)
{
    IrValue *v = ir_add_param(g, name, &s, INIT_ZEROS, NO_LOC);
    int64_t n = shape_numel(&s);
    v->data = ARENA_NEWN(g->arena, float, n);
    for (int64_t i = 0; i < n; i++) v->data[i] = frand(lo, hi);
    return v;
}

static IrValue *node(IrGraph *g, IrOp op, IrValue *a, IrValue *b, const IrAttrs *at)
{
    IrValue *in[2] = {a, b};
    IrValue *v = ir_add_node(g, op, in, b ? 2 : 1, at, NO_LOC, NULL);
    assert_non_null(v);
    return v;
}

static IrValue *conv(IrGraph *g, IrValue *x, const char *name, int o, int k, int stride, int groups, bool bias)
{
    IrAttrs a = ir_attrs_default();
    a.stride[0] = a.stride[1] = stride;
    for (int i = 0; i < 4; i++) a.pad[i] = k / 2;
    a.groups = groups;
    char buf[64];
    snprintf(buf, sizeof buf, "%s.weight", name);
    IrValue *in[3] = {x, param(g, buf, shp(4, o, (int)x->shape.d[1] / groups, k, k), -0.5f, 0.5f), NULL};
    if (bias) {
        snprintf(buf, sizeof buf, "%s.bias", name);
        in[2] = param(g, buf, shp(1, o), -0.5f, 0.5f);
    }
    IrValue *v = ir_add_node(g, IR_CONV2D, in, bias ? 3 : 2, &a, NO_LOC, NULL);
    assert_non_null(v);
    return v;
}

static IrValue *bn(IrGraph *g, IrValue *x, const char *name)
{
    int c = (int)x->shape.d[1];
    char b[4][64];
    const char *suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++) snprintf(b[i], sizeof b[i], "%s.%s", name, suffix[i]);
    IrValue *in[5] = {x, param(g, b[0], shp(1, c), 0.5f, 2.0f), param(g, b[1], shp(1, c), -1, 1),
                      param(g, b[2], shp(1, c), -0.5f, 0.5f), param(g, b[3], shp(1, c), 0.5f, 1.5f)};
    IrValue *v = ir_add_node(g, IR_BATCH_NORM, in, 5, NULL, NO_LOC, NULL);
    assert_non_null(v);
    return v;
}

static IrValue *linear(IrGraph *g, IrValue *x, const char *name, int o)
{
    char w[64], bb[64];
    snprintf(w, sizeof w, "%s.weight", name);
    snprintf(bb, sizeof bb, "%s.bias", name);
    IrValue *in[3] = {x, param(g, w, shp(2, o, (int)x->shape.d[x->shape.rank - 1]), -0.5f, 0.5f),
                      param(g, bb, shp(1, o), -0.5f, 0.5f)};
    IrValue *v = ir_add_node(g, IR_LINEAR, in, 3, NULL, NO_LOC, NULL);
    assert_non_null(v);
    return v;
}

static IrValue *global_pool(IrGraph *g, IrValue *x, IrOp op)
{
    IrAttrs a = ir_attrs_default();
    a.kernel[0] = a.stride[0] = x->shape.d[2];
    a.kernel[1] = a.stride[1] = x->shape.d[3];
    return node(g, op, x, NULL, &a);
}

static IrValue *reshape(IrGraph *g, IrValue *x, Shape s)
{
    IrAttrs a = ir_attrs_default();
    a.shape = s;
    return node(g, IR_RESHAPE, x, NULL, &a);
}

/* conv-bn-relu twice, a depthwise conv-bn-relu6 without bias, dropout, a BN with
 * nothing to fold into (after a pool), conv-bn whose conv also feeds another node. */
static void build_conv_bn(IrGraph *g)
{
    Shape is = shp(4, 2, 3, 9, 9);
    IrValue *x = ir_add_input(g, "input", &is);
    x = node(g, IR_RELU, bn(g, conv(g, x, "c1", 8, 3, 1, 1, true), "bn1"), NULL, NULL);
    x = node(g, IR_DROPOUT, x, NULL, NULL);
    x = node(g, IR_RELU6, bn(g, conv(g, x, "dw", 8, 3, 2, 8, false), "bn2"), NULL, NULL);
    IrAttrs pa = ir_attrs_default();
    pa.kernel[0] = pa.kernel[1] = 2;
    pa.stride[0] = pa.stride[1] = 2;
    x = node(g, IR_MAX_POOL2D, x, NULL, &pa);
    x = node(g, IR_SILU, bn(g, x, "bn3"), NULL, NULL);
    IrValue *c = conv(g, x, "c4", 4, 1, 1, 1, true);
    /* c has two users: neither bn4 nor tanh may fold into the conv */
    IrValue *y = node(g, IR_ADD, bn(g, c, "bn4"), node(g, IR_TANH, c, NULL, NULL), NULL);
    ir_add_output(g, node(g, IR_SIGMOID, y, NULL, NULL));
}

/* Two residual blocks: the second adds an operand computed after the conv. */
static void build_residual(IrGraph *g)
{
    Shape is = shp(4, 1, 4, 6, 6);
    IrValue *x = ir_add_input(g, "input", &is);
    IrValue *h = node(g, IR_RELU, bn(g, conv(g, x, "b1.c1", 4, 3, 1, 1, false), "b1.bn1"), NULL, NULL);
    h = bn(g, conv(g, h, "b1.c2", 4, 3, 1, 1, false), "b1.bn2");
    x = node(g, IR_RELU, node(g, IR_ADD, x, h, NULL), NULL, NULL);
    IrValue *c = bn(g, conv(g, x, "b2.c1", 4, 1, 1, 1, true), "b2.bn1");
    IrValue *later = node(g, IR_TANH, x, NULL, NULL);   /* scheduled after the conv */
    x = node(g, IR_GELU, node(g, IR_ADD, c, later, NULL), NULL, NULL);
    ir_add_output(g, x);
}

/* conv -> relu -> global avg pool -> flatten -> linear-bn1d-leaky_relu -> linear;
 * a global max pool branch; shape chains and duplicated work for cse. */
static void build_head(IrGraph *g)
{
    Shape is = shp(4, 2, 3, 5, 5);
    IrValue *x = ir_add_input(g, "input", &is);
    IrValue *f = node(g, IR_RELU, conv(g, x, "stem", 6, 3, 1, 1, true), NULL, NULL);
    IrValue *p = reshape(g, global_pool(g, f, IR_AVG_POOL2D), shp(2, 2, 6));
    IrValue *q = reshape(g, global_pool(g, f, IR_MAX_POOL2D), shp(2, 2, 6));
    /* reshape chain and a transpose pair that cancels */
    IrValue *r = reshape(g, reshape(g, q, shp(3, 2, 3, 2)), shp(2, 2, 6));
    IrAttrs t = ir_attrs_default();
    t.perm[0] = 1;
    t.perm[1] = 0;
    r = node(g, IR_TRANSPOSE, node(g, IR_TRANSPOSE, r, NULL, &t), NULL, &t);
    r = reshape(g, r, shp(2, 2, 6));                   /* to its own shape */
    IrValue *h = node(g, IR_ADD, p, r, NULL);
    IrValue *h2 = node(g, IR_ADD, p, r, NULL);          /* cse */
    h = node(g, IR_MUL, h, h2, NULL);
    /* a constant subexpression: (c1 + c2) * input-derived */
    Shape cs = shp(1, 6);
    float cd[6] = {1, 2, 3, 4, 5, 6};
    IrValue *k = node(g, IR_ADD, ir_add_const(g, &cs, cd), ir_add_const(g, &cs, cd), NULL);
    h = node(g, IR_MUL, h, k, NULL);
    IrAttrs lr = ir_attrs_default();
    lr.alpha = 0.2f;
    h = node(g, IR_LEAKY_RELU, bn(g, linear(g, h, "fc1", 5), "bn_fc"), NULL, &lr);
    ir_add_output(g, linear(g, h, "fc2", 3));
}

typedef void (*Builder)(IrGraph *g);

/* Runs g in the interpreter on the seeded random input; returns output 0 (malloc'd). */
static float *run(const IrGraph *g, uint64_t seed, int64_t *n_out)
{
    assert_int_equal(g->inputs.n, 1);
    const IrValue *in = g->inputs.v[0];
    int64_t n = shape_numel(&in->shape);
    float *x = malloc(sizeof(float) * (size_t)n);
    rng_state = seed;
    for (int64_t i = 0; i < n; i++) x[i] = frand(-2, 2);
    const IrValue *o = g->outputs.v[0];
    *n_out = shape_numel(&o->shape);
    float *y = malloc(sizeof(float) * (size_t)*n_out);
    Diag d;
    diag_init(&d, stderr);
    const float *ins[1] = {x};
    float *outs[1] = {y};
    assert_int_equal(bcl_interp_run(g, ins, outs, &d), 0);
    free(x);
    return y;
}

static IrGraph *build(Arena *a, Builder b, uint64_t seed)
{
    rng_state = seed;
    IrGraph *g = ir_graph_new(a, "test");
    b(g);
    Diag d;
    diag_init(&d, stderr);
    assert_true(ir_verify(g, &d));
    return g;
}

static int count_op(const IrGraph *g, IrOp op)
{
    int c = 0;
    for (int i = 0; i < g->nodes.n; i++) c += ((IrNode *)g->nodes.v[i])->op == op;
    return c;
}

/* Optimizes a copy with pipeline and compares; returns the optimized graph. */
static IrGraph *check_equiv(Arena *a, Builder b, const char *pipeline)
{
    IrGraph *g0 = build(a, b, 42), *g1 = build(a, b, 42);
    Diag d;
    diag_init(&d, stderr);
    PassOptions po = {.verify_each = true};
    assert_int_equal(bcl_run_passes(g1, pipeline, &po, &d), 0);
    assert_int_equal(d.n_errors, 0);
    int64_t n0, n1;
    float *y0 = run(g0, 7, &n0), *y1 = run(g1, 7, &n1);
    assert_int_equal(n0, n1);
    double maxy = 0, maxd = 0;
    for (int64_t i = 0; i < n0; i++) {
        maxy = fmax(maxy, fabs(y0[i]));
        maxd = fmax(maxd, fabs((double)y0[i] - y1[i]));
    }
    if (!(maxd <= 1e-5 * maxy + 1e-6)) fail_msg("%s: max|diff| %g with max|y| %g", pipeline, maxd, maxy);
    assert_true(maxy > 1e-3);   /* a meaningful output, not all zeros */
    free(y0);
    free(y1);
    return g1;
}

static const char *o2_all(void)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s,fuse-add,fuse-act,fuse-pool-flatten,dce,plan-memory", bcl_default_pipeline(2));
    return buf;
}

static void test_conv_bn_equiv(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    IrGraph *g = check_equiv(&a, build_conv_bn, o2_all());
    /* bn1, bn2 fold; bn3 (after a pool) and bn4 (its conv has two users) become
     * scale_shift, and conv c4 keeps its own weights. */
    assert_int_equal(count_op(g, IR_BATCH_NORM), 0);
    assert_int_equal(count_op(g, IR_SCALE_SHIFT), 2);
    int unfolded = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *n = g->nodes.v[i];
        if (n->op != IR_CONV2D) continue;
        if (n->in[1]->kind == IRV_PARAM) {
            assert_string_equal(n->in[1]->name, "c4.weight");
            unfolded++;
        } else {
            assert_int_equal(n->in[1]->kind, IRV_CONST);
            assert_non_null(strstr(n->in[1]->name, ".weight#folded"));
            assert_non_null(strstr(n->in[2]->name, ".bias#folded"));
        }
    }
    assert_int_equal(unfolded, 1);
    assert_int_equal(count_op(g, IR_DROPOUT), 0);
    assert_int_equal(count_op(g, IR_RELU) + count_op(g, IR_RELU6), 0);
    assert_int_equal(count_op(g, IR_SIGMOID), 0);   /* fused into the add */
    assert_int_equal(count_op(g, IR_SILU), 1);      /* after scale_shift: not fusable */
    check_equiv(&a, build_conv_bn, "fold-bn");
    check_equiv(&a, build_conv_bn, "fuse-act");
    check_equiv(&a, build_conv_bn, bcl_default_pipeline(1));
    arena_free(&a);
}

/* Two convs with one weight tensor (tied), each with its own BN, then a conv whose
 * weight is its alone. */
static void build_tied_bn(IrGraph *g)
{
    Shape is = shp(4, 1, 4, 5, 5);
    IrValue *x = ir_add_input(g, "input", &is);
    IrValue *a = conv(g, x, "own", 4, 3, 1, 1, true);
    IrAttrs at = ir_attrs_default();
    at.pad[0] = at.pad[1] = at.pad[2] = at.pad[3] = 1;
    IrValue *in[2] = {x, a->def->in[1]};   /* own.weight again: tied */
    IrValue *b = ir_add_node(g, IR_CONV2D, in, 2, &at, NO_LOC, NULL);
    assert_non_null(b);
    IrValue *y = node(g, IR_ADD, bn(g, a, "bn_a"), bn(g, b, "bn_b"), NULL);
    ir_add_output(g, bn(g, conv(g, y, "last", 3, 1, 1, 1, false), "bn_c"));
}

/* fold-bn scales a weight in its own buffer when its conv is its only reader (no
 * second copy of the weights), and copies a weight two convs share. */
static void test_fold_bn_in_place(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    check_equiv(&a, build_tied_bn, "fold-bn");   /* the values: against the unoptimized graph */
    IrGraph *g = build(&a, build_tied_bn, 42);
    IrValue *tied = ir_find_param(g, "own.weight"), *last = ir_find_param(g, "last.weight");
    const float *last_buf = last->data, *tied_buf = tied->data;
    int64_t nt = shape_numel(&tied->shape);
    float *tied_copy = malloc(sizeof(float) * (size_t)nt);
    memcpy(tied_copy, tied->data, sizeof(float) * (size_t)nt);
    Diag d;
    diag_init(&d, stderr);
    assert_int_equal(bcl_run_passes(g, "fold-bn", NULL, &d), 0);
    assert_int_equal(count_op(g, IR_BATCH_NORM), 0);
    int n_conv = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *n = g->nodes.v[i];
        if (n->op != IR_CONV2D) continue;
        n_conv++;
        assert_int_equal(n->in[1]->kind, IRV_CONST);
        if (n->in[1]->shape.d[0] == 3)   /* last: its weight's own buffer, folded */
            assert_ptr_equal(n->in[1]->data, last_buf);
        else                             /* the tied pair: copies */
            assert_true(n->in[1]->data != tied_buf);
    }
    assert_int_equal(n_conv, 3);
    assert_null(last->data);   /* moved: nothing reads the param now */
    assert_ptr_equal(tied->data, tied_buf);
    assert_memory_equal(tied->data, tied_copy, sizeof(float) * (size_t)nt);
    /* the graph still runs (the interpreter does not ask an unread param for data) */
    int64_t n_out;
    free(run(g, 7, &n_out));
    free(tied_copy);
    arena_free(&a);
}

static void test_residual_equiv(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    IrGraph *g = check_equiv(&a, build_residual, o2_all());
    assert_int_equal(count_op(g, IR_BATCH_NORM), 0);
    /* block 1's add fuses into conv b1.c2 (x comes first); block 2's operand comes later */
    assert_int_equal(count_op(g, IR_ADD), 1);
    int residual_convs = 0;
    for (int i = 0; i < g->nodes.n; i++) {
        IrNode *n = g->nodes.v[i];
        if (n->op == IR_CONV2D && n->n_in == 4) {
            residual_convs++;
            assert_int_equal(n->attrs.act, IR_RELU);
        }
    }
    assert_int_equal(residual_convs, 1);
    check_equiv(&a, build_residual, "fuse-add");
    check_equiv(&a, build_residual, "fuse-act,fuse-add");
    arena_free(&a);
}

static void test_head_equiv(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    IrGraph *g = check_equiv(&a, build_head, o2_all());
    assert_int_equal(count_op(g, IR_RESHAPE), 0);
    assert_int_equal(count_op(g, IR_TRANSPOSE), 0);
    assert_int_equal(count_op(g, IR_BATCH_NORM), 0);
    assert_int_equal(count_op(g, IR_LEAKY_RELU), 0);
    /* h + h2 merged; c1 == c2 merged and c1 + c2 folded away */
    assert_int_equal(count_op(g, IR_ADD), 1);
    assert_int_equal(count_op(g, IR_MUL), 2);
    check_equiv(&a, build_head, "simplify-shape");
    check_equiv(&a, build_head, "cse");
    check_equiv(&a, build_head, "fold-constants");
    check_equiv(&a, build_head, "fuse-pool-flatten");
    arena_free(&a);
}

/* ---- memory plan ---- */

/* Independent check: values whose live ranges meet never overlap in the arena unless
 * one reuses the other's buffer; then runs the graph with every activation inside
 * the arena at its planned offset and compares with the interpreter. */
static void check_plan(const IrGraph *g, const MemPlan *p)
{
    int nv = g->values.n, nn = g->nodes.n;
    assert_int_equal(p->n_values, nv);
    int *first = calloc((size_t)nv, sizeof(int)), *last = calloc((size_t)nv, sizeof(int));
    for (int v = 0; v < nv; v++) first[v] = last[v] = -1;
    for (int i = 0; i < nn; i++) {
        IrNode *n = g->nodes.v[i];
        first[n->out->id] = last[n->out->id] = i;
        for (int k = 0; k < n->n_in; k++) last[n->in[k]->id] = i;
    }
    for (int i = 0; i < g->outputs.n; i++) last[((IrValue *)g->outputs.v[i])->id] = nn;
    int64_t total = 0;
    for (int u = 0; u < nv; u++) {
        IrValue *vu = g->values.v[u];
        if (vu->kind != IRV_NODE) {
            assert_int_equal(p->offset[u], -1);
            continue;
        }
        total += shape_numel(&vu->shape) * 4;
        assert_int_equal(p->size[u], shape_numel(&vu->shape) * 4);
        assert_int_equal(p->offset[u] % 64, 0);
        assert_true(p->offset[u] + p->size[u] <= p->peak);
        for (int v = 0; v < nv; v++) {
            if (v == u || ((IrValue *)g->values.v[v])->kind != IRV_NODE) continue;
            bool live = first[u] <= last[v] && first[v] <= last[u];
            bool overlap = p->offset[u] < p->offset[v] + p->size[v] && p->offset[v] < p->offset[u] + p->size[u];
            /* Sharing is allowed only where v is u's input at u's definition and dies there. */
            bool shared = p->shares[u] == v || p->shares[v] == u;
            if (live && overlap && !shared) {
                /* a chain of sharing: u and v reach the same owner */
                int ru = u, rv = v;
                while (p->shares[ru] >= 0) ru = p->shares[ru];
                while (p->shares[rv] >= 0) rv = p->shares[rv];
                assert_int_equal(ru, rv);
            }
        }
    }
    assert_int_equal(p->total, total);
    free(first);
    free(last);

    /* execute inside the plan */
    float *arena = calloc((size_t)(p->peak / 4 + 1), sizeof(float));
    const float **buf = calloc((size_t)nv, sizeof *buf);
    const IrValue *in = g->inputs.v[0];
    int64_t ni = shape_numel(&in->shape);
    float *x = malloc(sizeof(float) * (size_t)ni);
    rng_state = 7;
    for (int64_t i = 0; i < ni; i++) x[i] = frand(-2, 2);
    for (int v = 0; v < nv; v++) {
        IrValue *val = g->values.v[v];
        if (val->kind == IRV_INPUT) buf[v] = x;
        else if (val->kind != IRV_NODE) buf[v] = val->data;
        else buf[v] = arena + p->offset[v] / 4;
    }
    for (int i = 0; i < nn; i++) {
        IrNode *n = g->nodes.v[i];
        const float *ins[64];
        for (int k = 0; k < n->n_in; k++) ins[k] = buf[n->in[k]->id];
        if (n->op == IR_RESHAPE && p->shares[n->out->id] >= 0) continue;   /* a view: no copy */
        kern_run_node(n, ins, (float *)buf[n->out->id]);
    }
    int64_t no;
    float *ref = run(g, 7, &no);
    const float *got = buf[((IrValue *)g->outputs.v[0])->id];
    for (int64_t i = 0; i < no; i++) assert_float_equal(got[i], ref[i], 0.0f);
    free(ref);
    free(x);
    free(buf);
    free(arena);
}

static void test_memplan(void **state)
{
    (void)state;
    Builder bs[] = {build_conv_bn, build_residual, build_head};
    for (int i = 0; i < 3; i++) {
        Arena a;
        arena_init(&a);
        IrGraph *g = build(&a, bs[i], 42);
        MemPlan *p = bcl_plan_memory(g, &a);
        check_plan(g, p);
        assert_true(p->peak < p->total);
        Diag d;
        diag_init(&d, stderr);
        assert_int_equal(bcl_run_passes(g, o2_all(), NULL, &d), 0);
        check_plan(g, bcl_plan_memory(g, &a));
        arena_free(&a);
    }
}

/* A chain of unary ops runs in place in one buffer; a reshape is a view. */
static void test_memplan_inplace(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    IrGraph *g = ir_graph_new(&a, "chain");
    Shape s = shp(2, 3, 10);   /* 120 bytes -> 128 aligned */
    IrValue *x = ir_add_input(g, "input", &s);
    IrValue *y = node(g, IR_EXP, x, NULL, NULL);
    y = node(g, IR_RELU, y, NULL, NULL);
    y = node(g, IR_TANH, y, NULL, NULL);
    IrValue *r = reshape(g, y, shp(1, 30));
    IrValue *z = node(g, IR_NEG, r, NULL, NULL);
    ir_add_output(g, z);
    MemPlan *p = bcl_plan_memory(g, &a);
    assert_int_equal(p->peak, 128);
    assert_int_equal(p->total, 5 * 120);
    for (int i = 0; i < g->nodes.n; i++) assert_int_equal(p->offset[((IrNode *)g->nodes.v[i])->out->id], 0);
    assert_int_equal(p->shares[r->id], y->id);
    check_plan(g, p);

    /* y = exp(x) is used twice: relu(y) cannot overwrite it. */
    IrGraph *h = ir_graph_new(&a, "fork");
    x = ir_add_input(h, "input", &s);
    y = node(h, IR_EXP, x, NULL, NULL);
    IrValue *u = node(h, IR_RELU, y, NULL, NULL);
    ir_add_output(h, node(h, IR_ADD, u, y, NULL));
    p = bcl_plan_memory(h, &a);
    assert_int_not_equal(p->offset[u->id], p->offset[y->id]);
    assert_int_equal(p->peak, 256);
    check_plan(h, p);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bcl_print_memplan(f, h, p);
    fclose(f);
    assert_non_null(strstr(text, "peak: 256 bytes (71.1% of 360 bytes of activations)"));
    free(text);
    arena_free(&a);
}

/* ---- pipelines ---- */

static void test_pipeline_strings(void **state)
{
    (void)state;
    Cap c;
    cap_init(&c);
    for (int l = 0; l <= 2; l++) assert_true(bcl_check_pipeline(bcl_default_pipeline(l), &c.d));
    assert_string_equal(bcl_default_pipeline(0), "");
    assert_string_equal(bcl_default_pipeline(7), bcl_default_pipeline(2));
    assert_true(bcl_check_pipeline(" dce, ,cse,", &c.d));
    assert_int_equal(c.d.n_errors, 0);
    assert_false(bcl_check_pipeline("dce,fold-nothing,cse,bogus", &c.d));
    assert_int_equal(c.d.n_errors, 2);

    Arena a;
    arena_init(&a);
    IrGraph *g = build(&a, build_head, 1);
    int before = g->nodes.n;
    assert_int_equal(bcl_run_passes(g, "dce,nope", NULL, &c.d), 1);
    assert_int_equal(g->nodes.n, before);   /* nothing ran */
    PassOptions po = {.print_after = "nope"};
    assert_int_equal(bcl_run_passes(g, "dce", &po, &c.d), 1);
    assert_non_null(strstr(cap_text(&c), "unknown pass 'fold-nothing'"));
    assert_non_null(strstr(cap_text(&c), "unknown pass 'bogus'"));
    assert_non_null(strstr(cap_text(&c), "unknown pass 'nope'"));

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    po = (PassOptions){.print_after = "elide-dropout", .stats = true, .print_out = f};
    assert_int_equal(bcl_run_passes(g, "cse,elide-dropout", &po, &c.d), 0);
    fclose(f);
    assert_non_null(strstr(text, "pass cse: "));
    assert_non_null(strstr(text, "# after elide-dropout\ngraph @test {"));
    assert_null(strstr(text, "# after cse"));
    free(text);
    cap_free(&c);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_bn_equiv),
        cmocka_unit_test(test_fold_bn_in_place),
        cmocka_unit_test(test_residual_equiv),
        cmocka_unit_test(test_head_equiv),
        cmocka_unit_test(test_memplan),
        cmocka_unit_test(test_memplan_inplace),
        cmocka_unit_test(test_pipeline_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
