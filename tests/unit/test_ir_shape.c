/* Shape inference, attribute normalisation and the builder's diagnostics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "ir/shape_util.h"
#include "tests/unit/test_support.h"

/* Infers op on the given shapes; on success checks the result, on failure the message. */
static void expect_shape(IrOp op, const Shape *in, int n, const IrAttrs *a, Shape want)
{
    const Shape *p[8];
    for (int i = 0; i < n; i++) p[i] = &in[i];
    Shape out;
    char err[512] = "";
    bool ok = ir_infer_shape(op, p, n, a, &out, err, sizeof err);
    if (!ok) fail_msg("%s failed: %s", ir_op_info[op].name, err);
    char b1[128], b2[128];
    if (!shape_eq(&out, &want))
        fail_msg("%s: got %s want %s", ir_op_info[op].name, shape_str(&out, b1, sizeof b1),
                 shape_str(&want, b2, sizeof b2));
}

static void expect_error(IrOp op, const Shape *in, int n, const IrAttrs *a, const char *substr)
{
    const Shape *p[8];
    for (int i = 0; i < n; i++) p[i] = &in[i];
    Shape out;
    char err[512] = "";
    bool ok = ir_infer_shape(op, p, n, a, &out, err, sizeof err);
    if (ok) fail_msg("%s: expected an error containing '%s'", ir_op_info[op].name, substr);
    if (!strstr(err, substr)) fail_msg("error '%s' lacks '%s'", err, substr);
}

static void test_shape_helpers(void **st)
{
    (void)st;
    Shape a = shp(4, 1, 3, 224, 224), b = shp(0);
    char buf[64];
    assert_string_equal(shape_str(&a, buf, sizeof buf), "[1, 3, 224, 224]");
    assert_string_equal(shape_str(&b, buf, sizeof buf), "[]");
    assert_int_equal(shape_numel(&a), 3 * 224 * 224);
    assert_int_equal(shape_numel(&b), 1);
    char small[6];
    shape_str(&a, small, sizeof small);
    assert_int_equal(strlen(small), 5);   /* truncated, still terminated */
    assert_true(shape_eq(&a, &a));
    assert_false(shape_eq(&a, &b));
    assert_int_equal(ir_op_by_name("conv2d"), IR_CONV2D);
    assert_int_equal(ir_op_by_name("upsample_nearest"), IR_UPSAMPLE_NEAREST);
    assert_int_equal(ir_op_by_name("nope"), -1);
    IrAttrs d = ir_attrs_default();
    assert_int_equal(d.stride[1], 1);
    assert_int_equal(d.groups, 1);
    assert_int_equal(d.act, -1);
    assert_float_equal(d.eps, 1e-5f, 1e-12);
}

static void test_conv(void **st)
{
    (void)st;
    IrAttrs a = ir_attrs_default();
    a.stride[0] = a.stride[1] = 4;
    for (int i = 0; i < 4; i++) a.pad[i] = 2;
    Shape in[3] = {shp(1, 1), shp(1, 1), shp(1, 64)};
    in[0] = shp(4, 1, 3, 224, 224);
    in[1] = shp(4, 64, 3, 11, 11);
    expect_shape(IR_CONV2D, in, 3, &a, shp(4, 1, 64, 55, 55));
    /* dilation 2, 3x3, pad 2, stride 1 keeps the size; asymmetric pad changes it */
    a = ir_attrs_default();
    a.dilation[0] = a.dilation[1] = 2;
    for (int i = 0; i < 4; i++) a.pad[i] = 2;
    in[0] = shp(4, 2, 8, 10, 12);
    in[1] = shp(4, 16, 8, 3, 3);
    expect_shape(IR_CONV2D, in, 2, &a, shp(4, 2, 16, 10, 12));
    a.pad[2] = 0;   /* bottom */
    expect_shape(IR_CONV2D, in, 2, &a, shp(4, 2, 16, 8, 12));
    /* depthwise */
    a = ir_attrs_default();
    a.groups = 32;
    in[0] = shp(4, 1, 32, 7, 7);
    in[1] = shp(4, 32, 1, 3, 3);
    expect_shape(IR_CONV2D, in, 2, &a, shp(4, 1, 32, 5, 5));
    /* errors */
    a = ir_attrs_default();
    in[0] = shp(4, 1, 3, 8, 8);
    in[1] = shp(4, 16, 4, 3, 3);
    expect_error(IR_CONV2D, in, 2, &a, "has 3 channels but weight [16, 4, 3, 3] expects 4");
    a.groups = 2;
    expect_error(IR_CONV2D, in, 2, &a, "not divisible by groups = 2");
    a.groups = 1;
    in[1] = shp(4, 16, 3, 9, 9);
    expect_error(IR_CONV2D, in, 2, &a, "larger than the padded input");
    a.pad[0] = a.pad[2] = 1;   /* 8 + 2 = 10 >= 9 in H, but W stays 8 */
    expect_error(IR_CONV2D, in, 2, &a, "conv2d: kernel size 9 is larger than the padded input (8 + 0 + 0)");
    in[1] = shp(4, 16, 3, 3, 3);
    a.dilation[1] = 4;         /* 4 * 2 + 1 = 9 > 8 */
    expect_error(IR_CONV2D, in, 2, &a, "conv2d: dilated kernel extent 9 is larger than the padded input");
    a.dilation[1] = 1;
    in[1] = shp(4, 16, 3, 3, 3);
    in[2] = shp(1, 8);
    expect_error(IR_CONV2D, in, 3, &a, "bias [8] does not match the 16 output channels");
    a.stride[0] = 0;
    expect_error(IR_CONV2D, in, 2, &a, "stride must be positive");
    expect_error(IR_CONV2D, in, 1, &a, "inputs, got 1");
    /* a fused residual must have exactly the result's shape */
    a = ir_attrs_default();
    in[0] = shp(4, 1, 3, 8, 8); in[1] = shp(4, 16, 3, 3, 3); in[2] = shp(1, 16);
    Shape in4[4] = {in[0], in[1], in[2], shp(4, 1, 16, 6, 6)};
    expect_shape(IR_CONV2D, in4, 4, &a, shp(4, 1, 16, 6, 6));
    in4[3] = shp(4, 1, 16, 8, 8);
    expect_error(IR_CONV2D, in4, 4, &a, "residual [1, 16, 8, 8] does not match the result shape [1, 16, 6, 6]");
    in[0] = shp(3, 3, 8, 8);
    a = ir_attrs_default();
    expect_error(IR_CONV2D, in, 2, &a, "input must be 4-D");
}

static void test_pool(void **st)
{
    (void)st;
    IrAttrs a = ir_attrs_default();
    a.kernel[0] = a.kernel[1] = 3;
    a.stride[0] = a.stride[1] = 2;
    Shape in[1] = {shp(4, 1, 64, 55, 55)};
    expect_shape(IR_MAX_POOL2D, in, 1, &a, shp(4, 1, 64, 27, 27));
    a.pad[0] = 1; a.pad[1] = 0; a.pad[2] = 1; a.pad[3] = 1;
    in[0] = shp(4, 2, 3, 6, 6);
    /* H: (6+2-3)/2+1 = 3, W: (6+1-3)/2+1 = 3 */
    expect_shape(IR_AVG_POOL2D, in, 1, &a, shp(4, 2, 3, 3, 3));
    a = ir_attrs_default();
    a.kernel[0] = a.kernel[1] = 5;
    in[0] = shp(4, 1, 1, 4, 4);
    expect_error(IR_AVG_POOL2D, in, 1, &a, "kernel size 5 is larger than the padded input");
    a.kernel[0] = a.kernel[1] = 4;
    a.flatten = true;
    in[0] = shp(4, 2, 8, 4, 4);
    expect_shape(IR_AVG_POOL2D, in, 1, &a, shp(2, 2, 8));
    a.kernel[0] = 2;
    expect_error(IR_MAX_POOL2D, in, 1, &a, "flatten needs a 1x1 result");
}

static void test_broadcast_matmul_linear(void **st)
{
    (void)st;
    Shape in[3] = {shp(4, 1, 64, 56, 56), shp(3, 64, 1, 56)};
    expect_shape(IR_ADD, in, 2, NULL, shp(4, 1, 64, 56, 56));
    in[1] = shp(0);
    expect_shape(IR_MUL, in, 2, NULL, shp(4, 1, 64, 56, 56));
    in[0] = shp(4, 1, 64, 56, 56);
    in[1] = shp(4, 1, 128, 56, 56);
    expect_error(IR_ADD, in, 2, NULL, "shape mismatch in add: [1, 64, 56, 56] and [1, 128, 56, 56] cannot be broadcast");

    in[0] = shp(3, 2, 3, 4); in[1] = shp(2, 4, 5);
    expect_shape(IR_MATMUL, in, 2, NULL, shp(3, 2, 3, 5));
    in[0] = shp(1, 4); in[1] = shp(3, 2, 4, 5);
    expect_shape(IR_MATMUL, in, 2, NULL, shp(2, 2, 5));
    in[0] = shp(3, 2, 3, 4); in[1] = shp(1, 4);
    expect_shape(IR_MATMUL, in, 2, NULL, shp(2, 2, 3));
    in[0] = shp(1, 4); in[1] = shp(1, 4);
    expect_shape(IR_MATMUL, in, 2, NULL, shp(0));
    in[0] = shp(4, 3, 1, 2, 4); in[1] = shp(3, 5, 4, 6);
    expect_shape(IR_MATMUL, in, 2, NULL, shp(4, 3, 5, 2, 6));
    in[0] = shp(2, 3, 4); in[1] = shp(2, 5, 6);
    expect_error(IR_MATMUL, in, 2, NULL, "inner dimensions 4 and 5 differ");
    in[0] = shp(3, 2, 3, 4); in[1] = shp(3, 3, 4, 6);
    expect_error(IR_MATMUL, in, 2, NULL, "batch dimensions");

    in[0] = shp(3, 2, 7, 16); in[1] = shp(2, 10, 16); in[2] = shp(1, 10);
    expect_shape(IR_LINEAR, in, 3, NULL, shp(3, 2, 7, 10));
    in[1] = shp(2, 10, 15);
    expect_error(IR_LINEAR, in, 2, NULL, "input [2, 7, 16] has 16 features but weight [10, 15] expects 15");
    in[1] = shp(2, 10, 16); in[2] = shp(1, 9);
    expect_error(IR_LINEAR, in, 3, NULL, "bias [9] does not match");
}

static void test_data_movement(void **st)
{
    (void)st;
    IrAttrs a = ir_attrs_default();
    Shape in[3] = {shp(4, 2, 3, 4, 5), shp(4, 2, 6, 4, 5), shp(4, 2, 1, 4, 5)};
    a.axis = -3;
    expect_shape(IR_CONCAT, in, 3, &a, shp(4, 2, 10, 4, 5));
    in[2] = shp(4, 2, 1, 3, 5);
    expect_error(IR_CONCAT, in, 3, &a, "input 2 [2, 1, 3, 5] differs from input 0 [2, 3, 4, 5] in dim 2");
    a.axis = 4;
    expect_error(IR_CONCAT, in, 2, &a, "axis 4 is out of range for rank 4");

    a = ir_attrs_default();
    a.shape = shp(2, 6, -1);
    in[0] = shp(3, 2, 3, 4);
    expect_shape(IR_RESHAPE, in, 1, &a, shp(2, 6, 4));
    a.shape = shp(2, 5, 5);
    expect_error(IR_RESHAPE, in, 1, &a, "cannot reshape [2, 3, 4] (24 elements) to [5, 5] (25 elements)");

    a = ir_attrs_default();
    a.perm[0] = 0; a.perm[1] = -1; a.perm[2] = 1;
    expect_shape(IR_TRANSPOSE, in, 1, &a, shp(3, 2, 4, 3));
    a.perm[1] = 0;
    expect_error(IR_TRANSPOSE, in, 1, &a, "not a permutation");

    a = ir_attrs_default();
    for (int i = 0; i < 3; i++) { a.begin[i] = 0; a.end[i] = in[0].d[i]; }
    a.begin[2] = 1; a.end[2] = 4; a.step[2] = 2;   /* 1, 3 */
    a.begin[1] = -2;                                /* 1, 2 */
    expect_shape(IR_SLICE, in, 1, &a, shp(3, 2, 2, 2));
    a.step[0] = 0;
    expect_error(IR_SLICE, in, 1, &a, "step must be positive");

    a = ir_attrs_default();
    a.pads[2] = 1; a.pads[3] = 2; a.pads[4] = 0; a.pads[5] = 3;
    expect_shape(IR_PAD, in, 1, &a, shp(3, 2, 6, 7));
    a.pads[0] = -1;
    expect_error(IR_PAD, in, 1, &a, "negative padding");

    a = ir_attrs_default();
    a.shape = shp(4, 1, 3, 10, 12);
    in[0] = shp(4, 1, 3, 5, 4);
    expect_shape(IR_UPSAMPLE_NEAREST, in, 1, &a, shp(4, 1, 3, 10, 12));
    a.shape = shp(4, 1, 4, 10, 12);
    expect_error(IR_UPSAMPLE_NEAREST, in, 1, &a, "does not fit input");

    a = ir_attrs_default();
    a.shifts[0] = 7;
    expect_shape(IR_ROLL, in, 1, &a, shp(4, 1, 3, 5, 4));

    /* take: x.shape[:axis] + idx.shape + x.shape[axis+1:] */
    a = ir_attrs_default();
    a.axis = -1;
    Shape ti[2] = {shp(3, 2, 3, 4), shp(2, 5, 6)};
    expect_shape(IR_TAKE, ti, 2, &a, shp(4, 2, 3, 5, 6));
    a.axis = 0;
    ti[1] = shp(1, 7);
    expect_shape(IR_TAKE, ti, 2, &a, shp(3, 7, 3, 4));
    ti[1] = shp(0);
    expect_shape(IR_TAKE, ti, 2, &a, shp(2, 3, 4));
    a.axis = 3;
    expect_error(IR_TAKE, ti, 2, &a, "out of range");
    a.axis = 0;
    Shape at[5] = {shp(4, 2, 3, 5, 8), shp(4, 2, 3, 7, 8), shp(4, 2, 3, 7, 6), shp(3, 3, 1, 7), shp(4, 2, 1, 5, 7)};
    a = ir_attrs_default();
    expect_shape(IR_ATTENTION, at, 5, &a, shp(4, 2, 3, 5, 6));
    expect_shape(IR_ATTENTION, at, 4, &a, shp(4, 2, 3, 5, 6));
    expect_shape(IR_ATTENTION, at, 3, &a, shp(4, 2, 3, 5, 6));
    at[4] = shp(4, 3, 1, 5, 7);
    expect_error(IR_ATTENTION, at, 5, &a, "mask [3, 1, 5, 7] does not broadcast");
    at[3] = shp(3, 3, 5, 6);
    expect_error(IR_ATTENTION, at, 4, &a, "does not broadcast");
    at[2] = shp(4, 2, 3, 8, 6);
    expect_error(IR_ATTENTION, at, 3, &a, "do not chain");
    at[1] = shp(4, 2, 1, 7, 8);
    expect_error(IR_ATTENTION, at, 3, &a, "batch dims");
    a.axis = 0;
    ti[1] = shp(7, 1, 1, 1, 1, 1, 1, 2);
    expect_error(IR_TAKE, ti, 2, &a, "more than 8 dimensions");

    /* where: mask, x, y broadcast together */
    Shape wi[3] = {shp(3, 2, 1, 5), shp(2, 4, 1), shp(0)};
    a = ir_attrs_default();
    expect_shape(IR_WHERE, wi, 3, &a, shp(3, 2, 4, 5));
    wi[2] = shp(4, 3, 1, 1, 1);
    expect_shape(IR_WHERE, wi, 3, &a, shp(4, 3, 2, 4, 5));
    wi[0] = shp(2, 3, 1);
    expect_error(IR_WHERE, wi, 3, &a, "the mask [3, 1] does not broadcast with x [4, 1] and y [3, 1, 1, 1]");
    wi[0] = shp(0), wi[1] = shp(2, 3, 2), wi[2] = shp(2, 4, 5);
    expect_error(IR_WHERE, wi, 3, &a, "shape mismatch in where: [3, 2] and [4, 5] cannot be broadcast");
    /* comparisons and logic broadcast as add does */
    Shape ci[2] = {shp(2, 3, 1), shp(1, 4)};
    for (IrOp op = IR_EQUAL; op <= IR_LOGICAL_XOR; op++) expect_shape(op, ci, 2, &a, shp(2, 3, 4));
    ci[1] = shp(2, 2, 4);
    expect_error(IR_LESS, ci, 2, &a, "shape mismatch in less: [3, 1] and [2, 4] cannot be broadcast");
    expect_shape(IR_LOGICAL_NOT, ci, 1, &a, shp(2, 3, 1));

    /* gather: the index's shape; the index has x's rank, at most x's size off the axis */
    Shape gi[2] = {shp(3, 4, 5, 6), shp(3, 4, 9, 2)};
    a.axis = 1;
    expect_shape(IR_GATHER, gi, 2, &a, shp(3, 4, 9, 2));
    a.axis = -1;
    gi[1] = shp(3, 2, 5, 11);
    expect_shape(IR_GATHER, gi, 2, &a, shp(3, 2, 5, 11));
    a.axis = 0;
    expect_error(IR_GATHER, gi, 2, &a, "gather: the index [2, 5, 11] is larger than the input [4, 5, 6] on axis 2");
    gi[1] = shp(2, 4, 5);
    expect_error(IR_GATHER, gi, 2, &a, "must have the input's rank");
    a.axis = 3;
    gi[1] = shp(3, 1, 1, 1);
    expect_error(IR_GATHER, gi, 2, &a, "out of range");
}

static void test_reduce_norm(void **st)
{
    (void)st;
    IrAttrs a = ir_attrs_default();
    Shape in[5] = {shp(4, 2, 3, 4, 5)};
    a.n_axes = 2; a.axes[0] = -1; a.axes[1] = 2;
    expect_shape(IR_REDUCE_MEAN, in, 1, &a, shp(2, 2, 3));
    a.keepdim = true;
    expect_shape(IR_REDUCE_MAX, in, 1, &a, shp(4, 2, 3, 1, 1));
    a.axes[1] = 3;
    expect_error(IR_REDUCE_SUM, in, 1, &a, "axis 3 given twice");
    a.axes[1] = -5;
    expect_error(IR_REDUCE_SUM, in, 1, &a, "axis -5 is out of range for rank 4");
    a = ir_attrs_default();   /* no axes: all of them */
    expect_shape(IR_REDUCE_SUM, in, 1, &a, shp(0));

    in[1] = shp(1, 3); in[2] = shp(1, 3); in[3] = shp(1, 3); in[4] = shp(1, 3);
    expect_shape(IR_BATCH_NORM, in, 5, NULL, shp(4, 2, 3, 4, 5));
    in[3] = shp(1, 4);
    expect_error(IR_BATCH_NORM, in, 5, NULL, "running mean [4] does not match the 3 channels");
    in[0] = shp(1, 3);
    expect_error(IR_SCALE_SHIFT, in, 3, NULL, "input must be [N, C, ...]");

    a = ir_attrs_default();
    a.n_axes = 2;
    in[0] = shp(3, 2, 7, 8); in[1] = shp(2, 7, 8); in[2] = shp(2, 7, 8);
    expect_shape(IR_LAYER_NORM, in, 3, &a, shp(3, 2, 7, 8));
    in[2] = shp(1, 8);
    expect_error(IR_LAYER_NORM, in, 3, &a, "bias [8] does not match the normalised shape [7, 8]");
    a.axis = 3;
    in[0] = shp(2, 3, 4);
    expect_error(IR_SOFTMAX, in, 1, &a, "out of range");
}

/* The builder: stores normalised attrs, reports located errors with all operand shapes. */
static void test_builder(void **st)
{
    (void)st;
    Arena ar;
    arena_init(&ar);
    Cap c;
    cap_init(&c);
    Source src = {"m.bcl", "x = a + b\n", 10};
    IrGraph *g = ir_graph_new(&ar, "M");
    Shape s1 = shp(4, 1, 64, 56, 56), s2 = shp(4, 1, 128, 56, 56);
    IrValue *x = ir_add_input(g, "input", &s1);
    IrValue *y = ir_add_param(g, "b.weight", &s2, INIT_ONES, NO_LOC);
    IrValue *in[2] = {x, y};
    SrcLoc loc = {&src, 1, 5, 5};
    assert_null(ir_add_node(g, IR_ADD, in, 2, NULL, loc, &c.d));
    assert_int_equal(c.d.n_errors, 1);
    assert_int_equal(g->nodes.n, 0);
    IrAttrs a = ir_attrs_default();
    a.n_axes = 2; a.axes[0] = -1; a.axes[1] = -2;
    IrValue *m = ir_add_node(g, IR_REDUCE_MEAN, &x, 1, &a, loc, &c.d);
    assert_non_null(m);
    assert_int_equal(m->def->attrs.axes[0], 2);
    assert_int_equal(m->def->attrs.axes[1], 3);
    assert_ptr_equal(m->def->out, m);
    assert_ptr_equal(ir_find_param(g, "b.weight"), y);
    assert_null(ir_find_param(g, "b"));
    const char *text = cap_text(&c);
    assert_non_null(strstr(text, "m.bcl:1:5: error: shape mismatch in add: [1, 64, 56, 56] and "
                                 "[1, 128, 56, 56] cannot be broadcast"));
    assert_non_null(strstr(text, "note: add operands: [1, 64, 56, 56], [1, 128, 56, 56]"));
    assert_non_null(strstr(text, "^~~~~"));
    cap_free(&c);
    arena_free(&ar);
}

/* The helpers both backends index with (ir/shape_util.h). */
static void test_bcast_strides(void **st)
{
    (void)st;
    int64_t s[4];
    Shape a = shp(3, 2, 1, 5);            /* [2, 1, 5] in a [7, 2, 3, 5] result */
    ir_bcast_strides(&a, 4, s);
    assert_int_equal(s[0], 0);           /* absent: broadcast */
    assert_int_equal(s[1], 5);
    assert_int_equal(s[2], 0);           /* size 1: broadcast */
    assert_int_equal(s[3], 1);
    Shape b = shp(0);                      /* a scalar reads element 0 everywhere */
    ir_bcast_strides(&b, 2, s);
    assert_int_equal(s[0], 0);
    assert_int_equal(s[1], 0);
}

static void test_matmul_layout(void **st)
{
    (void)st;
    IrMatmulLayout l;
    Shape a = shp(4, 2, 1, 3, 4), b = shp(3, 5, 4, 6);   /* [2,1,3,4] @ [5,4,6] -> [2,5,3,6] */
    ir_matmul_layout(&a, &b, &l);
    assert_int_equal(l.M, 3);
    assert_int_equal(l.K, 4);
    assert_int_equal(l.N, 6);
    assert_int_equal(l.batch_rank, 2);
    assert_int_equal(l.batch[0], 2);
    assert_int_equal(l.batch[1], 5);
    assert_int_equal(l.n_batch, 10);
    assert_int_equal(l.a_stride[0], 12);  /* one [3,4] matrix per index of dim 0 */
    assert_int_equal(l.a_stride[1], 0);   /* a's dim 1 is 1: broadcast */
    assert_int_equal(l.b_stride[0], 0);   /* b has no dim 0: broadcast */
    assert_int_equal(l.b_stride[1], 24);
    Shape v = shp(1, 4), m = shp(2, 4, 6);            /* [4] @ [4,6]: a is [1,4] */
    ir_matmul_layout(&v, &m, &l);
    assert_int_equal(l.M, 1);
    assert_int_equal(l.K, 4);
    assert_int_equal(l.N, 6);
    assert_int_equal(l.batch_rank, 0);
    assert_int_equal(l.n_batch, 1);
    Shape w = shp(1, 6);                                 /* [4,6] @ [6]: b is [6,1] */
    ir_matmul_layout(&m, &w, &l);
    assert_int_equal(l.M, 4);
    assert_int_equal(l.K, 6);
    assert_int_equal(l.N, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bcast_strides),
        cmocka_unit_test(test_matmul_layout),
        cmocka_unit_test(test_shape_helpers),
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_broadcast_matmul_linear),
        cmocka_unit_test(test_data_movement),
        cmocka_unit_test(test_reduce_norm),
        cmocka_unit_test(test_builder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
