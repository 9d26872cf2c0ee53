/* Textual IR round trip (print -> parse -> print), parse errors, and the verifier. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"
#include "tests/unit/test_support.h"

static char *print_to_string(const IrGraph *g)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ir_print(f, g);
    fclose(f);
    return text;
}

static const Source model_src = {"m.bcl", "", 0};
static SrcLoc L(int line, int col) { return (SrcLoc){&model_src, line, col, 1}; }

/* A graph using most ops, attrs, dotted and odd param names, constants and locations. */
static IrGraph *build_sample(Arena *ar, Diag *d)
{
    IrGraph *g = ir_graph_new(ar, "Sample");
    Shape xs = shp(4, 2, 3, 8, 8);
    IrValue *x = ir_add_input(g, "input", &xs);
    Shape ws = shp(4, 8, 3, 3, 3), cs = shp(1, 8), ls = shp(2, 5, 10), lb = shp(1, 5);
    IrValue *w = ir_add_param(g, "features.0.weight", &ws, INIT_FAN_IN, L(3, 5));
    IrValue *b = ir_add_param(g, "features.0.bias", &cs, INIT_ZEROS, L(3, 5));
    IrValue *gm = ir_add_param(g, "bn.weight", &cs, INIT_ONES, NO_LOC);
    IrValue *bt = ir_add_param(g, "bn.bias", &cs, INIT_ZEROS, NO_LOC);
    IrValue *mn = ir_add_param(g, "bn.running_mean", &cs, INIT_ZEROS, NO_LOC);
    IrValue *vr = ir_add_param(g, "bn.running_var", &cs, INIT_VAR, NO_LOC);
    IrValue *lw = ir_add_param(g, "0.weight", &ls, INIT_FAN_IN, NO_LOC);
    IrValue *lbias = ir_add_param(g, "we\"ird\\name", &lb, INIT_ZEROS, NO_LOC);
    IrValue *half = ir_const_scalar(g, 0.5f);
    float cv[3] = {1.25f, -3e-8f, 1e20f};
    Shape c3 = shp(1, 3);
    IrValue *c = ir_add_const(g, &c3, cv);

    IrAttrs a = ir_attrs_default();
    a.pad[0] = 1; a.pad[1] = 1; a.pad[2] = 0; a.pad[3] = 1;
    a.stride[0] = 2;
    a.act = IR_RELU;
    IrValue *in3[3] = {x, w, b};
    IrValue *y = ir_add_node(g, IR_CONV2D, in3, 3, &a, L(10, 13), d);
    IrValue *bn_in[5] = {y, gm, bt, mn, vr};
    a = ir_attrs_default();
    a.eps = 1e-3f;
    y = ir_add_node(g, IR_BATCH_NORM, bn_in, 5, &a, L(11, 9), d);
    a = ir_attrs_default();
    a.alpha = 0.2f;
    y = ir_add_node(g, IR_LEAKY_RELU, &y, 1, &a, L(12, 9), d);
    a = ir_attrs_default();
    a.kernel[0] = a.kernel[1] = 2;
    a.stride[0] = a.stride[1] = 2;
    a.pad[2] = a.pad[3] = 1;
    a.count_include_pad = true;
    IrValue *p = ir_add_node(g, IR_AVG_POOL2D, &y, 1, &a, L(13, 9), d);   /* [2, 8, 2, 5] */
    a.count_include_pad = false;
    a.pad[2] = a.pad[3] = 0;
    IrValue *q = ir_add_node(g, IR_MAX_POOL2D, &y, 1, &a, L(14, 9), d);  /* [2, 8, 2, 4] */
    a = ir_attrs_default();
    a.pads[5] = 1;
    a.value = -1.5f;
    q = ir_add_node(g, IR_PAD, &q, 1, &a, NO_LOC, d);                    /* [2, 8, 3, 4] */
    IrValue *pq[2] = {p, q};
    a = ir_attrs_default();
    a.axis = -2;
    IrValue *cat = ir_add_node(g, IR_CONCAT, pq, 2, &a, L(15, 9), d);     /* [2, 8, 5, 4] */
    IrValue *hm[2] = {cat, half};
    a = ir_attrs_default();
    a.act = IR_ELU;
    a.act_alpha = 0.75f;
    IrValue *m = ir_add_node(g, IR_MUL, hm, 2, &a, NO_LOC, d);
    a = ir_attrs_default();
    a.n_axes = 1;
    a.axes[0] = -1;
    a.keepdim = true;
    IrValue *r = ir_add_node(g, IR_REDUCE_MEAN, &m, 1, &a, NO_LOC, d);    /* [2, 8, 5, 1] */
    a = ir_attrs_default();
    a.perm[0] = 0; a.perm[1] = 2; a.perm[2] = 3; a.perm[3] = 1;
    IrValue *t = ir_add_node(g, IR_TRANSPOSE, &r, 1, &a, NO_LOC, d);      /* [2, 5, 1, 8] */
    a = ir_attrs_default();
    a.shape = shp(2, 2, -1);
    IrValue *f = ir_add_node(g, IR_RESHAPE, &t, 1, &a, NO_LOC, d);        /* [2, 40] */
    a = ir_attrs_default();
    for (int i = 0; i < 2; i++) { a.begin[i] = 0; a.end[i] = INT64_MAX; }
    a.begin[1] = 1; a.step[1] = 4;
    IrValue *sl = ir_add_node(g, IR_SLICE, &f, 1, &a, NO_LOC, d);         /* [2, 10] */
    IrValue *lin[3] = {sl, lw, lbias};
    IrValue *o = ir_add_node(g, IR_LINEAR, lin, 3, NULL, L(20, 16), d);   /* [2, 5] */
    a = ir_attrs_default();
    a.axis = 1;
    o = ir_add_node(g, IR_SOFTMAX, &o, 1, &a, NO_LOC, d);
    a = ir_attrs_default();
    a.shape = shp(4, 2, 8, 5, 7);
    IrValue *u = ir_add_node(g, IR_UPSAMPLE_NEAREST, &p, 1, &a, NO_LOC, d);
    a = ir_attrs_default();
    a.shifts[2] = -2; a.shifts[3] = 3;
    u = ir_add_node(g, IR_ROLL, &u, 1, &a, NO_LOC, d);
    IrValue *uc[2] = {u, c};
    u = ir_add_node(g, IR_ADD, uc, 2, NULL, NO_LOC, d);   /* [2, 8, 5, 7] + [3]: an error */
    assert_null(u);
    ir_add_output(g, o);
    ir_add_output(g, p);
    return g;
}

static void test_round_trip(void **st)
{
    (void)st;
    Arena ar;
    arena_init(&ar);
    Cap c;
    cap_init(&c);
    IrGraph *g = build_sample(&ar, &c.d);
    /* the last add is a deliberate broadcast error: [2, 8, 5, 7] + [3] */
    assert_int_equal(c.d.n_errors, 1);
    assert_true(ir_verify(g, &c.d));
    char *t1 = print_to_string(g);
    if (getenv("DBG")) fputs(t1, stderr);
    Source src = {"sample.ir", t1, strlen(t1)};
    IrGraph *g2 = ir_parse(&ar, &c.d, &src);
    const char *diag = cap_text(&c);
    if (!g2) fail_msg("parse failed:\n%s\n--- text:\n%s", diag, t1);
    assert_int_equal(c.d.n_errors, 1);
    Diag quiet;
    diag_init(&quiet, stderr);
    assert_true(ir_verify(g2, &quiet));
    char *t2 = print_to_string(g2);
    if (strcmp(t1, t2) != 0) fail_msg("round trip differs:\n%s\n--- vs:\n%s", t1, t2);

    /* spot checks on the format */
    assert_non_null(strstr(t1, "graph @Sample {\n  input %input: f32[2, 3, 8, 8]\n"));
    assert_non_null(strstr(t1, "  param %\"features.0.weight\": f32[8, 3, 3, 3] {init = fan_in}  # m.bcl:3:5\n"));
    assert_non_null(strstr(t1, "param %\"we\\\"ird\\\\name\": f32[5] {init = zeros}\n"));
    assert_non_null(strstr(t1, "  const %9: f32[] = [0.5]\n"));
    assert_non_null(strstr(t1, "  const %10: f32[3] = [1.25, -2.99999989e-08, 1.00000002e+20]\n"));
    assert_non_null(strstr(t1, "  %11: f32[2, 8, 4, 8] = conv2d(%input, %\"features.0.weight\", "
                               "%\"features.0.bias\") {stride = [2, 1], pad = [1, 1, 0, 1], "
                               "dilation = [1, 1], groups = 1, act = relu}  # m.bcl:10:13\n"));
    assert_non_null(strstr(t1, "= batch_norm(%11, %\"bn.weight\", %\"bn.bias\", %\"bn.running_mean\", "
                               "%\"bn.running_var\") {eps = 0.00100000005}  # m.bcl:11:9\n"));
    assert_non_null(strstr(t1, "  %14: f32[2, 8, 2, 4] = avg_pool2d(%13) {kernel = [2, 2], stride = [2, 2], "
                               "pad = [0, 0, 1, 1], count_include_pad = true}"));
    assert_non_null(strstr(t1, "= max_pool2d(%13) {kernel = [2, 2], stride = [2, 2], pad = [0, 0, 0, 0]}"));
    assert_non_null(strstr(t1, "= concat(%14, %16) {axis = 2}"));
    assert_non_null(strstr(t1, "= mul(%17, %9) {act = elu, act_alpha = 0.75}\n"));
    assert_non_null(strstr(t1, "= mean(%18) {axes = [3], keepdim = true}"));
    assert_non_null(strstr(t1, "= transpose(%19) {perm = [0, 2, 3, 1]}"));
    assert_non_null(strstr(t1, "  %21: f32[2, 40] = reshape(%20) {shape = [2, 40]}\n"));
    assert_non_null(strstr(t1, "  %22: f32[2, 10] = slice(%21) {begin = [0, 1], end = [2, 40], step = [1, 4]}\n"));
    assert_non_null(strstr(t1, "= pad(%15) {pads = [0, 0, 0, 0, 0, 1, 0, 0], value = -1.5}"));
    assert_non_null(strstr(t1, "= leaky_relu(%12) {alpha = 0.200000003}"));
    assert_non_null(strstr(t1, "= linear(%22, %\"0.weight\", %\"we\\\"ird\\\\name\")  # m.bcl:20:16\n"));
    assert_non_null(strstr(t1, "= softmax(%23) {axis = 1}\n"));
    assert_non_null(strstr(t1, "= upsample_nearest(%14) {shape = [2, 8, 5, 7]}\n"));
    assert_non_null(strstr(t1, "= roll(%25) {shifts = [0, 0, -2, 3]}\n"));
    assert_non_null(strstr(t1, "  output %24\n  output %14\n}\n"));
    /* exact constants survive the trip */
    IrValue *c10 = g2->values.v[10];
    assert_int_equal(c10->kind, IRV_CONST);
    assert_true(c10->data[1] == -3e-8f && c10->data[2] == 1e20f);

    /* locations survive as synthetic sources; values come back with data and names */
    IrNode *conv = g2->nodes.v[0];
    assert_non_null(conv->loc.src);
    assert_string_equal(conv->loc.src->path, "m.bcl");
    assert_int_equal(conv->loc.line, 10);
    assert_int_equal(conv->loc.col, 13);
    assert_non_null(ir_find_param(g2, "we\"ird\\name"));
    assert_int_equal(ir_find_param(g2, "bn.running_var")->init, INIT_VAR);
    free(t1);
    free(t2);
    cap_free(&c);
    arena_free(&ar);
}

/* Parses text; expects failure with msg (a substring) in the diagnostics. */
static void expect_parse_error(const char *text, const char *msg)
{
    Arena ar;
    arena_init(&ar);
    Cap c;
    cap_init(&c);
    Source src = {"t.ir", text, strlen(text)};
    IrGraph *g = ir_parse(&ar, &c.d, &src);
    const char *out = cap_text(&c);
    if (g) fail_msg("parse of <<%s>> should fail with '%s'", text, msg);
    if (!strstr(out, msg)) fail_msg("diagnostic <<%s>> lacks '%s'", out, msg);
    assert_true(c.d.n_errors >= 1);
    cap_free(&c);
    arena_free(&ar);
}

static void test_parse_errors(void **st)
{
    (void)st;
    expect_parse_error("", "t.ir:1:1: error: expected 'graph', got end of file");
    expect_parse_error("graph @G {\n  input %x: f32[2]\n  %1: f32[2] = relu(%y)\n}\n",
                       "t.ir:3:21: error: use of undefined value %y");
    expect_parse_error("graph @G {\n  input %x: f32[2]\n  %1: f32[2] = frob(%x)\n}\n",
                       "t.ir:3:16: error: unknown op 'frob'");
    expect_parse_error("graph @G {\n  input %x: f32[2]\n  %1: f32[3] = relu(%x)\n}\n",
                       "t.ir:3:3: error: %1 is declared f32[3] but relu gives f32[2]");
    expect_parse_error("graph @G {\n  input %x: f32[2, 3]\n  %1: f32[2] = add(%x, %x)\n}\n",
                       "error: %1 is declared f32[2] but add gives f32[2, 3]");
    /* a key the op does not use (ops.def ATTRS) */
    expect_parse_error("graph @G {\n  input %x: f32[2, 3]\n  %1: f32[2, 3] = relu(%x) {axis = 1}\n}\n",
                       "t.ir:3:29: error: relu has no attribute 'axis'");
    expect_parse_error("graph @G {\n  input %x: f32[1, 2, 4, 4]\n  %1: f32[1, 2, 4, 4] = max_pool2d(%x) {count_include_pad = true}\n}\n",
                       "max_pool2d has no attribute 'count_include_pad'");
    expect_parse_error("graph @G {\n  input %x: f32[2]\n  %1: f32[2] = relu(%x) {colour = 3}\n}\n",
                       "t.ir:3:26: error: unknown attribute 'colour'");
    expect_parse_error("graph @G {\n  input %x: f32[1, 2, 4, 4]\n  %1: f32[1, 2, 2, 2] = max_pool2d(%x) {kernel = [2]}\n}\n",
                       "kernel takes 2 values, got 1");
    expect_parse_error("graph @G {\n  input %x: f32[2]\n  input %x: f32[2]\n}\n", "redefinition of %x");
    expect_parse_error("graph @G {\n  input %x: f32[2]\n", "expected '}' at the end of the graph");
    expect_parse_error("graph @G {\n  const %c: f32[2] = [1]\n}\n", "constant has 1 values but its type needs 2");
    expect_parse_error("graph @G {\n  param %\"a.b: f32[2]\n}\n", "bad string literal");
    expect_parse_error("graph @G {\n  input %x: f32[2] $\n}\n", "unexpected character '$'");
    expect_parse_error("graph @G {\n  param %w: f32[2] {init = random}\n}\n", "unknown init 'random'");
    /* shape errors from the builder point at the op in the IR text */
    expect_parse_error("graph @G {\n  input %x: f32[2, 3]\n  input %y: f32[4]\n  %2: f32[2, 3] = add(%x, %y)\n}\n",
                       "t.ir:4:19: error: shape mismatch in add: [2, 3] and [4] cannot be broadcast");
}

static void test_parse_minimal(void **st)
{
    (void)st;
    Arena ar;
    arena_init(&ar);
    Diag d;
    diag_init(&d, stderr);
    const char *text =
        "# a comment line\n"
        "graph @\"my net\" {\n"
        "  input %0: f32[1, 4]   # in.bcl:1:2\n"
        "  const %k: f32[] = [-inf]\n"
        "  %7: f32[1, 4] = maximum(%0, %k) # weird:path:3:4\n"
        "  %8: f32[] = sum(%7) {keepdim = false}\n"
        "  output %8\n"
        "}\n";
    Source src = {"min.ir", text, strlen(text)};
    IrGraph *g = ir_parse(&ar, &d, &src);
    assert_non_null(g);
    assert_string_equal(g->name, "my net");
    assert_int_equal(g->inputs.n, 1);
    assert_null(((IrValue *)g->inputs.v[0])->name);
    IrNode *mx = g->nodes.v[0], *sum = g->nodes.v[1];
    assert_string_equal(mx->loc.src->path, "weird:path");
    assert_int_equal(mx->loc.line, 3);
    assert_int_equal(sum->attrs.n_axes, 2);   /* no axes: all of them */
    assert_int_equal(sum->out->shape.rank, 0);
    assert_true(ir_verify(g, &d));
    char *t = print_to_string(g);
    assert_non_null(strstr(t, "graph @\"my net\" {\n  input %0: f32[1, 4]  # in.bcl:1:2\n  const %1: f32[] = [-inf]\n"
                              "  %2: f32[1, 4] = maximum(%0, %1)  # weird:path:3:4\n"
                              "  %3: f32[] = sum(%2) {axes = [0, 1], keepdim = false}\n  output %3\n}\n"));
    free(t);
    arena_free(&ar);
}

static IrGraph *small_graph(Arena *ar)
{
    IrGraph *g = ir_graph_new(ar, "G");
    Shape s = shp(2, 2, 3);
    IrValue *x = ir_add_input(g, "x", &s);
    IrValue *r = ir_add_node(g, IR_RELU, &x, 1, NULL, NO_LOC, NULL);
    IrValue *in[2] = {r, x};
    IrValue *y = ir_add_node(g, IR_ADD, in, 2, NULL, NO_LOC, NULL);
    ir_add_output(g, y);
    return g;
}

static void expect_verify_error(IrGraph *g, const char *msg)
{
    Cap c;
    cap_init(&c);
    bool ok = ir_verify(g, &c.d);
    const char *out = cap_text(&c);
    if (ok) fail_msg("verify should fail with '%s'", msg);
    if (!strstr(out, msg)) fail_msg("verifier output <<%s>> lacks '%s'", out, msg);
    cap_free(&c);
}

static void test_verify(void **st)
{
    (void)st;
    Arena ar;
    arena_init(&ar);
    Diag quiet;
    diag_init(&quiet, stderr);
    IrGraph *g = small_graph(&ar);
    assert_true(ir_verify(g, &quiet));
    assert_int_equal(quiet.n_errors, 0);

    /* out of topological order */
    void *tmp = g->nodes.v[0];
    g->nodes.v[0] = g->nodes.v[1];
    g->nodes.v[1] = tmp;
    expect_verify_error(g, "add node 1 uses value 1 before it is defined");
    g->nodes.v[1] = g->nodes.v[0];
    g->nodes.v[0] = tmp;
    assert_true(ir_verify(g, &quiet));

    /* a stale stored shape */
    IrNode *add = g->nodes.v[1];
    add->out->shape.d[1] = 4;
    expect_verify_error(g, "add node 1: stored shape [2, 4] differs from the inferred [2, 3]");
    add->out->shape.d[1] = 3;

    /* arity */
    add->n_in = 1;
    expect_verify_error(g, "add node 1 has 1 inputs (expected 2 to 2)");
    add->n_in = 2;

    /* ids */
    ((IrValue *)g->values.v[0])->id = 5;
    expect_verify_error(g, "value at index 0 has id 5");
    ((IrValue *)g->values.v[0])->id = 0;

    /* attrs that no longer infer */
    add->attrs.act = IR_ADD;
    expect_verify_error(g, "fused activation");
    add->attrs.act = -1;

    /* outputs */
    g->outputs.n = 0;
    expect_verify_error(g, "graph has no outputs");
    g->outputs.n = 1;
    IrGraph *other = small_graph(&ar);
    g->outputs.v[0] = other->values.v[2];   /* same id as g's value 2, another graph's object */
    expect_verify_error(g, "output 0 is not a value of the graph");
    g->outputs.v[0] = add->out;
    assert_true(ir_verify(g, &quiet));
    assert_int_equal(quiet.n_errors, 0);
    arena_free(&ar);
}

/* Every prefix and many corruptions of a valid text: a diagnostic or a graph, never a crash. */
static void test_parse_robust(void **st)
{
    (void)st;
    Arena ar;
    arena_init(&ar);
    FILE *null = fopen("/dev/null", "w");
    Diag d;
    diag_init(&d, null);
    IrGraph *g = build_sample(&ar, &d);
    char *text = print_to_string(g);
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    int parsed = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        Arena a2;
        arena_init(&a2);
        memcpy(buf, text, cut);
        buf[cut] = 0;
        Source src = {"cut.ir", buf, cut};
        IrGraph *h = ir_parse(&a2, &d, &src);
        if (h) {
            parsed++;
            ir_print(null, h);
            ir_verify(h, &d);
        }
        arena_free(&a2);
    }
    assert_true(parsed >= 1);   /* at least the whole text (and cuts inside the final comment-free tail) */
    const char junk[] = "%@\"{}[]():=,#-.0123456789e xyz\n\\";
    uint64_t r = 12345;
    for (int t = 0; t < 2000; t++) {
        Arena a2;
        arena_init(&a2);
        memcpy(buf, text, len + 1);
        for (int k = 0; k < 3; k++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            size_t pos = (size_t)(r >> 33) % len;
            buf[pos] = junk[(r >> 20) % (sizeof junk - 1)];
        }
        Source src = {"junk.ir", buf, len};
        IrGraph *h = ir_parse(&a2, &d, &src);
        if (h) {
            ir_print(null, h);
            ir_verify(h, &d);
        }
        arena_free(&a2);
    }
    fclose(null);
    free(buf);
    free(text);
    arena_free(&ar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_minimal),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_parse_robust),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
