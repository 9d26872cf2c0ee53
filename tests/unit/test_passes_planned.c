/* The interpreter inside the memory plan: every example and conformance model, built
 * by the frontend with random weights, gives bit-identical outputs planned and
 * unplanned (the same kernels in the same order, only the buffers differ), both as
 * traced and after -O2; -O2 stays within issue 4's tolerance of the traced graph and
 * leaves no BN, dropout, activation-after-conv or flatten-after-global-pool node.
 * Run from the source root (ctest does). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "backend/interp/interp.h"
#include "io/weights.h"
#include "frontend/build.h"
#include "passes/pass.h"

typedef struct Case {
    const char *path;
    Shape shape;                  /* rank 0: the config's default input */
    const char *overrides[4];
} Case;

#define S4(n, c, h, w) {.rank = 4, .d = {n, c, h, w}}

static const Case cases[] = {
    /* AlexNet (tests/conformance/models/alexnet.bcl is the same network) with a narrow
     * head: the default 4096-wide one is 230 MB of weights */
    {"examples/alexnet.bcl", S4(1, 3, 224, 224), {"model.head.width=48", "num_classes=11"}},
    {"examples/models/resnet_small.bcl", S4(2, 3, 32, 32), {0}},
    {"examples/models/mobile_se.bcl", S4(1, 3, 64, 64), {0}},
    {"examples/models/shuffle.bcl", S4(2, 3, 32, 32), {0}},
    {"examples/models/builder_kwargs.bcl", S4(1, 3, 64, 64), {0}},
    {"examples/digits/digits.bcl", S4(3, 1, 8, 8), {0}},
    {"tests/conformance/models/activations.bcl", S4(2, 4, 5, 6), {0}},
    {"tests/conformance/models/builder_fn.bcl", S4(2, 3, 16, 16),
     {"model.name=plain_net", "model.act_name=silu", "model.head.hidden=8"}},
    {"tests/conformance/models/containers.bcl", S4(1, 4, 10, 10), {0}},
    {"tests/conformance/models/dw_se.bcl", S4(1, 3, 32, 32), {0}},
    {"tests/conformance/models/dw_se.bcl", S4(2, 3, 28, 28), {"model.act_name=relu", "model.head.se_r=0.0"}},
    {"tests/conformance/models/headless.bcl", S4(2, 3, 12, 12), {0}},
    {"tests/conformance/models/mlp_ops.bcl", S4(2, 3, 8, 8), {0}},
    {"tests/conformance/models/nested.bcl", S4(1, 4, 9, 9), {0}},
    {"tests/conformance/models/ops_misc.bcl", S4(2, 3, 10, 8), {0}},
    {"tests/conformance/models/pooling.bcl", S4(2, 3, 17, 13), {0}},
    {"tests/conformance/models/resnet_basic.bcl", S4(2, 3, 32, 32), {0}},
    {"tests/conformance/models/resnet_basic.bcl", S4(1, 3, 20, 20),
     {"model.depths=[2,1,2]", "model.widths=[8,16,24]", "model.strides=[1,2,2]"}},
    {"tests/conformance/models/shuffle.bcl", S4(2, 3, 24, 24), {0}},
    {"tests/conformance/models/vgg_pool2d.bcl", S4(2, 3, 30, 26), {"model.head.width=24", "model.head.act_name=relu6"}},
};

static IrGraph *build_case(const Case *c, Arena *a, Diag *d)
{
    BclBuildOptions bo = {0};
    bo.path = c->path;
    bo.overrides = c->overrides;
    while (bo.n_overrides < 4 && c->overrides[bo.n_overrides]) bo.n_overrides++;
    if (c->shape.rank) {
        bo.has_input_shape = true;
        bo.input_shape = c->shape;
    }
    IrGraph *g = bcl_build(&bo, a, d);
    if (!g) fail_msg("%s does not build", c->path);
    bcl_random_weights(g, 2024);
    return g;
}

/* Runs g on inputs, planned or not; outputs malloc'd, one per graph output. */
static float **run(const IrGraph *g, const float *const *ins, bool planned)
{
    float **outs = calloc((size_t)g->outputs.n, sizeof *outs);
    for (int i = 0; i < g->outputs.n; i++) {
        int64_t n = shape_numel(&((IrValue *)g->outputs.v[i])->shape);
        outs[i] = malloc(sizeof(float) * (size_t)(n ? n : 1));
    }
    Diag d;
    diag_init(&d, stderr);
    int rc = planned ? bcl_interp_run_planned(g, NULL, ins, outs, &d) : bcl_interp_run(g, ins, outs, &d);
    assert_int_equal(rc, 0);
    return outs;
}

static void free_outs(float **o, int n)
{
    for (int i = 0; i < n; i++) free(o[i]);
    free(o);
}

static void assert_identical(const IrGraph *g, float **a, float **b, const char *what)
{
    for (int i = 0; i < g->outputs.n; i++) {
        int64_t n = shape_numel(&((IrValue *)g->outputs.v[i])->shape);
        if (memcmp(a[i], b[i], sizeof(float) * (size_t)n)) fail_msg("%s: output %d differs planned vs unplanned", what, i);
    }
}

static int n_inplace, n_views;

static void count_sharing(const IrGraph *g)
{
    Arena a;
    arena_init(&a);
    MemPlan *p = bcl_plan_memory(g, &a);
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        if (p->shares[n->out->id] < 0) continue;
        if (n->op == IR_RESHAPE) n_views++;
        else n_inplace++;
    }
    assert_true(p->peak <= p->total);
    arena_free(&a);
}

/* Issue 4's criterion on the optimized graph: no BN, dropout or identity node, no
 * activation reading a conv2d/linear result, no reshape of a 1x1 global pool. */
static void check_fused(const IrGraph *g, const char *path)
{
    for (int i = 0; i < g->nodes.n; i++) {
        const IrNode *n = g->nodes.v[i];
        if (n->op == IR_BATCH_NORM || n->op == IR_DROPOUT || n->op == IR_IDENTITY)
            fail_msg("%s: a %s node is left after -O2", path, ir_op_info[n->op].name);
        const IrNode *p = n->n_in && n->in[0]->kind == IRV_NODE ? n->in[0]->def : NULL;
        if (!p) continue;
        bool act = n->op == IR_RELU || n->op == IR_RELU6 || n->op == IR_SIGMOID || n->op == IR_SILU ||
                   n->op == IR_GELU || n->op == IR_HSWISH || n->op == IR_HSIGMOID ||
                   n->op == IR_LEAKY_RELU || n->op == IR_TANH;
        if (act && (p->op == IR_CONV2D || p->op == IR_LINEAR))
            fail_msg("%s: %s after %s is not fused", path, ir_op_info[n->op].name, ir_op_info[p->op].name);
        const Shape *ps = &p->out->shape;
        if (n->op == IR_RESHAPE && (p->op == IR_AVG_POOL2D || p->op == IR_MAX_POOL2D) && ps->rank == 4 &&
            ps->d[2] == 1 && ps->d[3] == 1)
            fail_msg("%s: the flatten after a global pool is not fused", path);
    }
}

static void check_case(const Case *c)
{
    Diag d;
    diag_init(&d, stderr);
    Arena a;
    arena_init(&a);
    IrGraph *g0 = build_case(c, &a, &d), *g1 = build_case(c, &a, &d);
    assert_int_equal(g0->inputs.n, 1);
    const IrValue *in = g0->inputs.v[0];
    int64_t ni = shape_numel(&in->shape);
    float *x = malloc(sizeof(float) * (size_t)ni);
    uint64_t s = 99;
    for (int64_t i = 0; i < ni; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        x[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 4.0 - 2.0);
    }
    const float *ins[1] = {x};

    float **ref = run(g0, ins, false), **p0 = run(g0, ins, true);
    assert_identical(g0, ref, p0, c->path);
    count_sharing(g0);

    PassOptions po = {.verify_each = true};
    assert_int_equal(bcl_run_passes(g1, bcl_default_pipeline(2), &po, &d), 0);
    assert_int_equal(bcl_run_passes(g1, "plan-memory", &po, &d), 0);
    check_fused(g1, c->path);
    float **u1 = run(g1, ins, false), **p1 = run(g1, ins, true);
    assert_identical(g1, u1, p1, c->path);
    count_sharing(g1);
    assert_int_equal(g1->outputs.n, g0->outputs.n);
    for (int i = 0; i < g0->outputs.n; i++) {
        int64_t n = shape_numel(&((IrValue *)g0->outputs.v[i])->shape);
        double maxy = 0, maxd = 0;
        for (int64_t k = 0; k < n; k++) {
            maxy = fmax(maxy, fabs(ref[i][k]));
            maxd = fmax(maxd, fabs((double)ref[i][k] - p1[i][k]));
        }
        if (!(maxd <= 1e-5 * maxy + 1e-6)) fail_msg("%s -O2: max|diff| %g, max|y| %g", c->path, maxd, maxy);
    }
    free_outs(ref, g0->outputs.n);
    free_outs(p0, g0->outputs.n);
    free_outs(u1, g1->outputs.n);
    free_outs(p1, g1->outputs.n);
    free(x);
    arena_free(&a);
}

static void test_models_planned(void **state)
{
    (void)state;
    n_inplace = n_views = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) check_case(&cases[i]);
    /* the models exercise both kinds of sharing, so the aliasing paths really ran */
    assert_true(n_inplace > 0);
    assert_true(n_views > 0);
}

/* In place on a binary op's second operand: c - relu(x) overwrites relu's buffer
 * (operand 1) while reading the broadcast constant c as operand 0. */
static void test_inplace_second_operand(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    Diag d;
    diag_init(&d, stderr);
    IrGraph *g = ir_graph_new(&a, "sub");
    Shape s = {.rank = 2, .d = {3, 5}}, cs = {.rank = 1, .d = {5}};
    IrValue *x = ir_add_input(g, "input", &s);
    float cdata[5] = {1, -2, 3, -4, 5};
    IrValue *c = ir_add_const(g, &cs, cdata);
    IrAttrs at = ir_attrs_default();
    IrValue *ins1[1] = {x};
    IrValue *r = ir_add_node(g, IR_RELU, ins1, 1, &at, NO_LOC, &d);
    IrValue *ins2[2] = {c, r};
    IrValue *y = ir_add_node(g, IR_SUB, ins2, 2, &at, NO_LOC, &d);
    ir_add_output(g, y);
    MemPlan *p = bcl_plan_memory(g, &a);
    assert_int_equal(p->shares[y->id], r->id);

    float xv[15], got[15];
    for (int i = 0; i < 15; i++) xv[i] = (float)(i % 7) - 3.0f;
    const float *in[1] = {xv};
    float *out[1] = {got};
    assert_int_equal(bcl_interp_run_planned(g, p, in, out, &d), 0);
    for (int i = 0; i < 15; i++) assert_float_equal(got[i], cdata[i % 5] - fmaxf(xv[i], 0.0f), 0.0f);

    /* a plan for another graph is refused with a diagnostic, not followed */
    IrGraph *h = ir_graph_new(&a, "other");
    IrValue *hx = ir_add_input(h, "input", &s);
    IrValue *hin[1] = {hx};
    ir_add_output(h, ir_add_node(h, IR_RELU, hin, 1, &at, NO_LOC, &d));
    FILE *devnull = fopen("/dev/null", "w");
    diag_init(&d, devnull);
    assert_int_equal(bcl_interp_run_planned(h, p, in, out, &d), 1);
    assert_int_equal(d.n_errors, 1);
    fclose(devnull);
    arena_free(&a);
}

/* conv2d's fused residual runs in place when it dies at the conv, but never when
 * the conv also reads that buffer as its input x. */
static void test_conv_residual_inplace(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    Diag d;
    diag_init(&d, stderr);
    Shape xs = {.rank = 4, .d = {1, 2, 5, 4}}, ws = {.rank = 4, .d = {2, 2, 3, 3}}, bs = {.rank = 1, .d = {2}};
    float wd[36], bd[2] = {0.5f, -0.25f}, xv[40];
    for (int i = 0; i < 36; i++) wd[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
    for (int i = 0; i < 40; i++) xv[i] = (float)((i * 5) % 13) / 13.0f - 0.4f;
    IrAttrs conv = ir_attrs_default();
    conv.pad[0] = conv.pad[1] = conv.pad[2] = conv.pad[3] = 1;
    conv.act = IR_RELU;
    IrAttrs none = ir_attrs_default();
    for (int shared_x = 0; shared_x < 2; shared_x++) {
        IrGraph *g = ir_graph_new(&a, "res");
        IrValue *x = ir_add_input(g, "input", &xs);
        IrValue *w = ir_add_const(g, &ws, wd), *b = ir_add_const(g, &bs, bd);
        IrValue *e_in[1] = {x};
        IrValue *r = ir_add_node(g, IR_EXP, e_in, 1, &none, NO_LOC, &d);
        IrValue *h = shared_x ? r : ir_add_node(g, IR_NEG, e_in, 1, &none, NO_LOC, &d);
        IrValue *c_in[4] = {h, w, b, r};
        IrValue *y = ir_add_node(g, IR_CONV2D, c_in, 4, &conv, NO_LOC, &d);
        ir_add_output(g, y);
        MemPlan *p = bcl_plan_memory(g, &a);
        assert_int_equal(p->shares[y->id], shared_x ? -1 : r->id);

        /* expected: relu(conv(h) + b + exp(x)), computed here directly */
        float hv[40], want[40], got[40];
        for (int i = 0; i < 40; i++) hv[i] = shared_x ? expf(xv[i]) : -xv[i];
        for (int o = 0; o < 2; o++)
            for (int oh = 0; oh < 5; oh++)
                for (int ow = 0; ow < 4; ow++) {
                    double acc = bd[o];
                    for (int c = 0; c < 2; c++)
                        for (int kh = 0; kh < 3; kh++)
                            for (int kw = 0; kw < 3; kw++) {
                                int ih = oh + kh - 1, iw = ow + kw - 1;
                                if (ih >= 0 && ih < 5 && iw >= 0 && iw < 4)
                                    acc += (double)wd[((o * 2 + c) * 3 + kh) * 3 + kw] * hv[(c * 5 + ih) * 4 + iw];
                            }
                    int k = (o * 5 + oh) * 4 + ow;
                    acc += expf(xv[k]);
                    want[k] = (float)(acc > 0 ? acc : 0);
                }
        const float *in[1] = {xv};
        float *out[1] = {got};
        assert_int_equal(bcl_interp_run_planned(g, p, in, out, &d), 0);
        for (int i = 0; i < 40; i++) assert_float_equal(got[i], want[i], 1e-5f);
    }
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inplace_second_operand),
        cmocka_unit_test(test_conv_residual_inplace),
        cmocka_unit_test(test_models_planned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
