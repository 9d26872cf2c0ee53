/* The interpreter on small graphs with hand-computed results. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/interp/interp.h"
#include "tests/unit/test_support.h"

/* x (3x3) -> conv 2x2 + bias -> sub 50 -> relu -> reshape [1, 4] -> linear; also mean. */
static IrGraph *build(Arena *ar, IrValue **w_out)
{
    Diag d;
    diag_init(&d, stderr);
    IrGraph *g = ir_graph_new(ar, "Small");
    Shape xs = shp(4, 1, 1, 3, 3), ws = shp(4, 1, 1, 2, 2), bs = shp(1, 1), ls = shp(2, 2, 4);
    IrValue *x = ir_add_input(g, "input", &xs);
    IrValue *w = ir_add_param(g, "conv.weight", &ws, INIT_FAN_IN, NO_LOC);
    IrValue *b = ir_add_param(g, "conv.bias", &bs, INIT_ZEROS, NO_LOC);
    IrValue *lw = ir_add_param(g, "fc.weight", &ls, INIT_FAN_IN, NO_LOC);
    IrValue *in[3] = {x, w, b};
    IrValue *y = ir_add_node(g, IR_CONV2D, in, 3, NULL, NO_LOC, &d);
    IrValue *sub[2] = {y, ir_const_scalar(g, 50.0f)};
    y = ir_add_node(g, IR_SUB, sub, 2, NULL, NO_LOC, &d);
    y = ir_add_node(g, IR_RELU, &y, 1, NULL, NO_LOC, &d);
    IrAttrs a = ir_attrs_default();
    a.shape = shp(2, 1, 4);
    IrValue *f = ir_add_node(g, IR_RESHAPE, &y, 1, &a, NO_LOC, &d);
    IrValue *lin[2] = {f, lw};
    IrValue *o = ir_add_node(g, IR_LINEAR, lin, 2, NULL, NO_LOC, &d);
    a = ir_attrs_default();   /* no axes: mean of everything */
    IrValue *m = ir_add_node(g, IR_REDUCE_MEAN, &y, 1, &a, NO_LOC, &d);
    assert_non_null(o);
    assert_non_null(m);
    ir_add_output(g, o);
    ir_add_output(g, m);
    ir_add_output(g, y);
    static float wv[4] = {1, 2, 3, 4}, bv[1] = {0.5f}, lv[8] = {1, 1, 1, 1, 0, 0, 1, -1};
    w->data = wv;
    b->data = bv;
    lw->data = lv;
    *w_out = w;
    return g;
}

static void test_small_graph(void **st)
{
    (void)st;
    Arena ar;
    arena_init(&ar);
    IrValue *w;
    IrGraph *g = build(&ar, &w);
    Diag d;
    diag_init(&d, stderr);
    assert_true(ir_verify(g, &d));
    float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    float o[2] = {0}, m[1] = {0}, y[4] = {0};
    const float *ins[1] = {x};
    float *outs[3] = {o, m, y};
    assert_int_equal(bcl_interp_run(g, ins, outs, &d), 0);
    /* conv: 37.5 47.5 67.5 77.5; - 50 -> -12.5 -2.5 17.5 27.5; relu -> 0 0 17.5 27.5 */
    float want_y[4] = {0, 0, 17.5f, 27.5f};
    for (int i = 0; i < 4; i++) assert_float_equal(y[i], want_y[i], 1e-6);
    assert_float_equal(o[0], 45.0f, 1e-5);
    assert_float_equal(o[1], -10.0f, 1e-5);
    assert_float_equal(m[0], 11.25f, 1e-6);
    assert_int_equal(d.n_errors, 0);
    arena_free(&ar);
}

static void test_missing_weights(void **st)
{
    (void)st;
    Arena ar;
    arena_init(&ar);
    IrValue *w;
    IrGraph *g = build(&ar, &w);
    w->data = NULL;
    Cap c;
    cap_init(&c);
    float x[9] = {0}, o[2], m[1], y[4];
    const float *ins[1] = {x};
    float *outs[3] = {o, m, y};
    assert_int_equal(bcl_interp_run(g, ins, outs, &c.d), 1);
    assert_int_equal(c.d.n_errors, 1);
    assert_non_null(strstr(cap_text(&c), "error: parameter 'conv.weight' has no data"));
    cap_free(&c);
    arena_free(&ar);
}

/* A parsed graph runs the same way: the text format carries everything but weights. */
static void test_parsed_graph(void **st)
{
    (void)st;
    const char *text =
        "graph @P {\n"
        "  input %x: f32[2, 3]\n"
        "  const %c: f32[3] = [1, 2, 3]\n"
        "  %2: f32[2, 3] = mul(%x, %c) {act = relu}\n"
        "  %3: f32[3, 2] = transpose(%2) {perm = [1, 0]}\n"
        "  %4: f32[3, 1] = max(%3) {axes = [1], keepdim = true}\n"
        "  %5: f32[3, 2] = softmax(%3) {axis = -1}\n"
        "  %6: f32[3, 2] = add(%5, %5)\n"   /* dead, and one operand twice: freed once */
        "  output %4\n"
        "  output %5\n"
        "}\n";
    Arena ar;
    arena_init(&ar);
    Diag d;
    diag_init(&d, stderr);
    Source src = {"p.ir", text, strlen(text)};
    IrGraph *g = ir_parse(&ar, &d, &src);
    assert_non_null(g);
    float x[6] = {1, -1, 2, -2, 3, 0.5f}, mx[3], sm[6];
    const float *ins[1] = {x};
    float *outs[2] = {mx, sm};
    assert_int_equal(bcl_interp_run(g, ins, outs, &d), 0);
    /* relu(x * c) = [[1, 0, 6], [0, 6, 1.5]]; transposed rows: [1, 0], [0, 6], [6, 1.5] */
    assert_float_equal(mx[0], 1, 0);
    assert_float_equal(mx[1], 6, 0);
    assert_float_equal(mx[2], 6, 0);
    float e1 = expf(-1.0f), e6 = expf(-6.0f), e45 = expf(-4.5f);
    assert_float_equal(sm[0], 1 / (1 + e1), 1e-6);
    assert_float_equal(sm[1], e1 / (1 + e1), 1e-6);
    assert_float_equal(sm[2], e6 / (1 + e6), 1e-6);
    assert_float_equal(sm[4], 1 / (1 + e45), 1e-6);
    arena_free(&ar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_graph),
        cmocka_unit_test(test_missing_weights),
        cmocka_unit_test(test_parsed_graph),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
