/* The JIT on small multi-op models, against the interpreter, and the same results
 * for 1, 2 and 4 threads. */
#include "tests/unit/test_jit_util.h"

/* conv-bn-relu-maxpool, a residual block (conv with fused residual and act),
 * a depthwise conv, global avg pool (flattened), linear + softmax. */
static void build_net(JT *t, int N)
{
    IrValue *x = jt_input(t, jt_shape(4, N, 3, 20, 18));
    IrAttrs a = ir_attrs_default();
    a.stride[0] = a.stride[1] = 2;
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    IrValue *c1[2] = {x, jt_param(t, jt_shape(4, 24, 3, 3, 3), -0.3f, 0.3f)};
    IrValue *y = jt_node(t, IR_CONV2D, c1, 2, &a);
    IrValue *bn[5] = {y, jt_param(t, jt_shape(1, 24), 0.5f, 1.5f), jt_param(t, jt_shape(1, 24), -0.5f, 0.5f),
                      jt_param(t, jt_shape(1, 24), -0.5f, 0.5f), jt_param(t, jt_shape(1, 24), 0.5f, 1.5f)};
    y = jt_node(t, IR_BATCH_NORM, bn, 5, NULL);
    y = jt_node(t, IR_RELU, &y, 1, NULL);
    a = ir_attrs_default();
    a.kernel[0] = a.kernel[1] = 3;
    a.stride[0] = a.stride[1] = 2;
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    IrValue *p = jt_node(t, IR_MAX_POOL2D, &y, 1, &a);
    /* residual block: relu(conv(relu(conv(p))) + p) */
    a = ir_attrs_default();
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    a.act = IR_RELU;
    IrValue *r1[3] = {p, jt_param(t, jt_shape(4, 24, 24, 3, 3), -0.1f, 0.1f), jt_param(t, jt_shape(1, 24), -0.2f, 0.2f)};
    IrValue *h = jt_node(t, IR_CONV2D, r1, 3, &a);
    IrValue *r2[4] = {h, jt_param(t, jt_shape(4, 24, 24, 3, 3), -0.1f, 0.1f), jt_param(t, jt_shape(1, 24), -0.2f, 0.2f), p};
    IrValue *blk = jt_node(t, IR_CONV2D, r2, 4, &a);
    a.groups = 24;   /* depthwise, then a 1x1 projection with relu6 */
    IrValue *dw[2] = {blk, jt_param(t, jt_shape(4, 24, 1, 3, 3), -0.3f, 0.3f)};
    IrValue *dy = jt_node(t, IR_CONV2D, dw, 2, &a);
    a = ir_attrs_default();
    a.act = IR_RELU6;
    IrValue *pw[3] = {dy, jt_param(t, jt_shape(4, 40, 24, 1, 1), -0.2f, 0.2f), jt_param(t, jt_shape(1, 40), -0.1f, 0.1f)};
    IrValue *q = jt_node(t, IR_CONV2D, pw, 3, &a);
    a = ir_attrs_default();
    a.kernel[0] = q->shape.d[2], a.kernel[1] = q->shape.d[3];
    a.flatten = true;
    IrValue *gp = jt_node(t, IR_AVG_POOL2D, &q, 1, &a);
    IrValue *fc[3] = {gp, jt_param(t, jt_shape(2, 10, 40), -0.3f, 0.3f), jt_param(t, jt_shape(1, 10), -0.1f, 0.1f)};
    IrValue *logits = jt_node(t, IR_LINEAR, fc, 3, NULL);
    a = ir_attrs_default();
    a.axis = 1;
    ir_add_output(t->g, jt_node(t, IR_SOFTMAX, &logits, 1, &a));
    ir_add_output(t->g, logits);
}

static void test_net_vs_interp(void **st)
{
    JT t;
    jt_init(&t, 21);
    build_net(&t, 3);
    jt_check(&t, 2, 1e-4, false);
    jt_free(&t);
}

static void test_threads_agree(void **st)
{
    JT t;
    jt_init(&t, 22);
    build_net(&t, 2);
    float **o1 = jt_check(&t, 1, 1e-4, true);
    int counts[] = {2, 4};
    for (int c = 0; c < 2; c++) {
        float **o = jt_check(&t, counts[c], 1e-4, true);
        /* Each element is computed by one thread in a fixed order: bitwise equal. */
        for (int i = 0; i < t.g->outputs.n; i++) {
            int64_t n = shape_numel(&((IrValue *)t.g->outputs.v[i])->shape);
            assert_memory_equal(o[i], o1[i], sizeof(float) * (size_t)n);
        }
        jt_free_outputs(&t, o);
    }
    jt_free_outputs(&t, o1);
    jt_free(&t);
}

/* Repeated runs of one engine give the same answer (no state leaks between runs). */
static void test_rerun(void **st)
{
    JT t;
    jt_init(&t, 23);
    build_net(&t, 1);
    IrGraph *g = t.g;
    const float *in[1] = {jt_data(&t, &((IrValue *)g->inputs.v[0])->shape, -1, 1)};
    float a0[10], a1[10], b0[10], b1[10];
    float *o1[2] = {a0, b0}, *o2[2] = {a1, b1};
    BclJit *j = bcl_jit_compile(g, NULL, &t.d);
    assert_non_null(j);
    assert_int_equal(bcl_jit_run(j, in, o1, &t.d), 0);
    assert_int_equal(bcl_jit_run(j, in, o2, &t.d), 0);
    assert_memory_equal(a0, a1, sizeof a0);
    assert_memory_equal(b0, b1, sizeof b0);
    bcl_jit_free(j);
    jt_free(&t);
}

/* threads = 0 takes BCL_NUM_THREADS. */
static void test_threads_from_env(void **st)
{
    JT t;
    jt_init(&t, 24);
    IrValue *x = jt_input(&t, jt_shape(2, 4, 5));
    ir_add_output(t.g, jt_node(&t, IR_RELU, &x, 1, NULL));
    setenv("BCL_NUM_THREADS", "3", 1);
    BclJit *j = bcl_jit_compile(t.g, &(BclJitOptions){.threads = 0}, &t.d);
    unsetenv("BCL_NUM_THREADS");
    assert_non_null(j);
    assert_int_equal(bcl_jit_threads(j), 3);
    bcl_jit_free(j);
    jt_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_vs_interp),
        cmocka_unit_test(test_threads_agree),
        cmocka_unit_test(test_rerun),
        cmocka_unit_test(test_threads_from_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
