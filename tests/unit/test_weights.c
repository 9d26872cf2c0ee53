/* Binding weights to parameters: strict and non-strict reports, the MegEngine/PyTorch
 * layout equivalences, ignored keys, random weights and the params report. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/weights.h"
#include "tests/unit/test_support.h"

static int64_t numel(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->d[i];
    return n;
}

/* A heap tensor filled with base, base+1, ... (owned by the StFile: st_free frees it). */
static StTensor tensor(const char *name, Shape s, float base)
{
    StTensor t = {strdup(name), s, malloc((size_t)(numel(&s) ? numel(&s) : 1) * sizeof(float)), ST_F32, false};
    for (int64_t i = 0; i < numel(&s); i++) t.data[i] = base + (float)i;
    return t;
}

static StFile file_of(int n, ...)
{
    StFile f = {.n = n, .t = calloc((size_t)n + 1, sizeof(StTensor))};
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) f.t[i] = va_arg(ap, StTensor);
    va_end(ap);
    return f;
}

static IrGraph *model(Arena *a)
{
    IrGraph *g = ir_graph_new(a, "Tiny");
    ir_add_param(g, "features.0.weight", &(Shape){4, {64, 3, 11, 11}}, INIT_FAN_IN, NO_LOC);
    ir_add_param(g, "features.0.bias", &(Shape){1, {64}}, INIT_ZEROS, NO_LOC);
    ir_add_param(g, "bn.running_var", &(Shape){1, {64}}, INIT_VAR, NO_LOC);
    ir_add_param(g, "fc.weight", &(Shape){2, {10, 64}}, INIT_FAN_IN, NO_LOC);
    ir_add_param(g, "fc.bias", &(Shape){1, {10}}, INIT_ONES, NO_LOC);
    return g;
}

static void test_shape_equivalence(void **state)
{
    static const struct { Shape m, f; bool ok; } cases[] = {
        {{1, {64}}, {4, {1, 64, 1, 1}}, true},              /* conv bias, BN */
        {{4, {1, 64, 1, 1}}, {1, {64}}, true},
        {{4, {64, 8, 3, 3}}, {5, {4, 16, 8, 3, 3}}, true},    /* grouped conv, G = 4 */
        {{5, {4, 16, 8, 3, 3}}, {4, {64, 8, 3, 3}}, true},
        {{4, {32, 1, 3, 3}}, {5, {32, 1, 1, 3, 3}}, true},    /* depthwise */
        {{4, {64, 1, 3, 3}}, {5, {2, 32, 1, 3, 3}}, true},    /* depthwise-ish, G = 2 */
        {{0, {0}}, {1, {1}}, true},                          /* scalar ~ (1,) */
        {{2, {0, 4}}, {2, {0, 4}}, true},
        {{4, {64, 3, 11, 11}}, {4, {64, 3, 5, 5}}, false},
        {{2, {10, 20}}, {2, {20, 10}}, false},                /* transposed: same count */
        {{1, {64}}, {2, {8, 8}}, false},
        {{4, {64, 8, 3, 3}}, {5, {4, 16, 3, 8, 3}}, false},   /* wrong order inside */
        {{4, {64, 8, 3, 3}}, {4, {8, 64, 3, 3}}, false},
        {{4, {64, 8, 3, 3}}, {6, {2, 2, 16, 8, 3, 3}}, false},/* only one split allowed */
        {{1, {64}}, {1, {65}}, false},
        {{2, {0, 4}}, {2, {4, 0}}, false},
        {{1, {4}}, {3, {2, 2, 1}}, false},                   /* 4 = 2*2, but other dims */
        {{1, {4}}, {2, {2, 2}}, false},                      /* the split is for conv weights only */
        {{3, {64, 3, 3}}, {4, {2, 32, 3, 3}}, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (bcl_weight_shape_compatible(&cases[i].m, &cases[i].f) != cases[i].ok)
            fail_msg("case %zu: expected %s", i, cases[i].ok ? "compatible" : "incompatible");
    /* hostile: a file shape whose element count overflows never matches */
    Shape huge = {3, {INT64_MAX / 2, 4, 0}};
    Shape zero = {1, {0}};
    assert_false(bcl_weight_shape_compatible(&zero, &huge));
}

static void test_bind_exact_and_megengine(void **state)
{
    Arena a;
    arena_init(&a);
    IrGraph *g = model(&a);
    StFile f = file_of(6,
        tensor("fc.bias", shp(1, 10), 100),
        tensor("features.0.weight", shp(4, 64, 3, 11, 11), 0),
        tensor("features.0.bias", shp(4, 1, 64, 1, 1), 7),          /* MegEngine layout */
        tensor("bn.running_var", shp(4, 1, 64, 1, 1), 3),
        tensor("bn.num_batches_tracked", shp(0), 5),
        tensor("fc.weight", shp(2, 10, 64), -50));
    Cap c;
    cap_init(&c);
    const float *fc_bias = f.t[0].data, *nbt = f.t[4].data;
    assert_int_equal(bcl_bind_weights(g, &f, "w.safetensors", 1, &c.d), 0);
    assert_string_equal(cap_text(&c), "");
    /* bound tensors moved into the graph (no copy), the ignored one stays the file's */
    assert_ptr_equal(ir_find_param(g, "fc.bias")->data, fc_bias);
    assert_null(f.t[0].data);
    assert_ptr_equal(f.t[4].data, nbt);
    st_free(&f);   /* the graph owns the moved buffers (its arena frees them) */
    IrValue *w = ir_find_param(g, "features.0.weight");
    assert_true(w->data[0] == 0.0f && w->data[64 * 3 * 11 * 11 - 1] == (float)(64 * 3 * 11 * 11 - 1));
    IrValue *b = ir_find_param(g, "features.0.bias");
    assert_int_equal(b->shape.rank, 1);   /* the model's layout is kept */
    for (int i = 0; i < 64; i++) assert_true(b->data[i] == 7.0f + (float)i);
    assert_true(ir_find_param(g, "bn.running_var")->data[63] == 66.0f);
    assert_true(ir_find_param(g, "fc.bias")->data[9] == 109.0f);
    assert_true(ir_find_param(g, "fc.weight")->data[639] == 589.0f);
    cap_free(&c);
    arena_free(&a);
}

static StFile bad_file(void)
{
    return file_of(6,
        tensor("features.0.weight", shp(4, 64, 3, 5, 5), 0),
        tensor("features.0.bias", shp(1, 64), 1),
        tensor("bn.running_var", shp(2, 8, 8), 2),
        tensor("extra.weight", shp(1, 3), 3),
        tensor("bn.num_batches_tracked", shp(0), 4),
        tensor("head.num_batches_tracked_x", shp(0), 5));
}

/* bad_file() bound to model(): strict or not, the same four reports, as errors or
 * as warnings. */
static IrGraph *bind_bad_file(Arena *a, Cap *c, int strict)
{
    IrGraph *g = model(a);
    StFile f = bad_file();
    int rc = bcl_bind_weights(g, &f, "w.safetensors", strict, &c->d);
    if (strict) assert_int_not_equal(rc, 0);
    else assert_int_equal(rc, 0);
    const char *k = strict ? "error" : "warning";
    char want[1024];
    snprintf(want, sizeof want,
             "w.safetensors: %s: missing keys (2): fc.weight, fc.bias\n"
             "w.safetensors: %s: unexpected keys (2): extra.weight, head.num_batches_tracked_x\n"
             "w.safetensors: %s: shape mismatch for 'features.0.weight': model [64, 3, 11, 11], file [64, 3, 5, 5]\n"
             "w.safetensors: %s: shape mismatch for 'bn.running_var': model [64], file [8, 8]\n",
             k, k, k, k);
    assert_string_equal(cap_text(c), want);
    st_free(&f);
    return g;
}

static void test_strict_reports_everything(void **state)
{
    Arena a;
    arena_init(&a);
    Cap c;
    cap_init(&c);
    IrGraph *g = bind_bad_file(&a, &c, 1);
    assert_int_equal(c.d.n_errors, 4);
    assert_null(ir_find_param(g, "features.0.weight")->data);
    assert_null(ir_find_param(g, "fc.weight")->data);
    cap_free(&c);
    arena_free(&a);
}

static void test_non_strict_warns_and_binds(void **state)
{
    Arena a;
    arena_init(&a);
    Cap c;
    cap_init(&c);
    IrGraph *g = bind_bad_file(&a, &c, 0);
    assert_int_equal(c.d.n_errors, 0);
    assert_int_equal(c.d.n_warnings, 4);
    IrValue *b = ir_find_param(g, "features.0.bias");
    assert_non_null(b->data);
    assert_true(b->data[5] == 6.0f);
    assert_null(ir_find_param(g, "fc.bias")->data);   /* missing keeps its (absent) value */

    /* the rest are then filled randomly, the bound ones are kept */
    bcl_random_weights(g, 1);
    assert_true(b->data[5] == 6.0f);
    assert_true(ir_find_param(g, "fc.bias")->data[0] == 1.0f);
    cap_free(&c);
    arena_free(&a);
}

static void test_empty_and_odd_names(void **state)
{
    Arena a;
    arena_init(&a);
    IrGraph *g = ir_graph_new(&a, "M");
    StFile f = file_of(3, tensor("num_batches_tracked", shp(0), 0), tensor("a\nb", shp(0), 0),
                       tensor("bnnum_batches_tracked", shp(0), 0));
    Cap c;
    cap_init(&c);
    assert_int_not_equal(bcl_bind_weights(g, &f, "x", 1, &c.d), 0);
    assert_string_equal(cap_text(&c), "x: error: unexpected keys (2): a\\x0ab, bnnum_batches_tracked\n");
    st_free(&f);
    /* an empty file against a model: all missing */
    ir_add_param(g, "p", &(Shape){1, {2}}, INIT_ZEROS, NO_LOC);
    StFile empty = {.n = 0};
    assert_int_not_equal(bcl_bind_weights(g, &empty, "x", 1, &c.d), 0);
    assert_true(strstr(cap_text(&c), "x: error: missing keys (1): p\n") != NULL);
    cap_free(&c);
    arena_free(&a);
}

/* ts written to a temporary safetensors file and read back (st_write, st_read). */
static StFile read_back(const StTensor *ts, int n, Diag *d)
{
    char *p = tmp_path();
    assert_int_equal(st_write(p, ts, n, d), 0);
    StFile f;
    assert_int_equal(st_read(p, &f, d), 0);
    unlink(p);
    return f;
}

/* Through a real file: st_write, st_read, bind, st_free. */
static void test_bind_from_file(void **state)
{
    float w[2 * 4 * 3 * 3], bias[8];
    for (int i = 0; i < 72; i++) w[i] = (float)i * 0.5f;
    for (int i = 0; i < 8; i++) bias[i] = -(float)i;
    StTensor ts[2] = {{"conv.weight", {5, {2, 4, 1, 3, 3}}, w, ST_F32, false}, {"conv.bias", {4, {1, 8, 1, 1}}, bias, ST_F32, false}};
    Cap c;
    cap_init(&c);
    StFile f = read_back(ts, 2, &c.d);
    Arena a;
    arena_init(&a);
    IrGraph *g = ir_graph_new(&a, "G");
    IrValue *cw = ir_add_param(g, "conv.weight", &(Shape){4, {8, 1, 3, 3}}, INIT_FAN_IN, NO_LOC);
    IrValue *cb = ir_add_param(g, "conv.bias", &(Shape){1, {8}}, INIT_ZEROS, NO_LOC);
    assert_int_equal(bcl_bind_weights(g, &f, "w.st", 1, &c.d), 0);
    st_free(&f);
    assert_memory_equal(cw->data, w, sizeof w);
    assert_memory_equal(cb->data, bias, sizeof bias);
    assert_int_equal(c.d.n_errors + c.d.n_warnings, 0);
    cap_free(&c);
    arena_free(&a);
}

/* A read file's tensors share one 64-byte aligned slab; binding gives the slab to the
 * graph whole: bound parameters use it in place, the file's unbound tensor still reads
 * its values, and st_free then frees neither (valgrind / ASan see a double free). */
static void test_bind_moves_slab(void **state)
{
    float w[3 * 5], extra[7], bias[3];
    for (int i = 0; i < 15; i++) w[i] = (float)i;
    for (int i = 0; i < 7; i++) extra[i] = 100.0f + (float)i;
    for (int i = 0; i < 3; i++) bias[i] = -(float)i;
    StTensor ts[3] = {{"fc.weight", {2, {3, 5}}, w, ST_F32, false},
                      {"extra", {1, {7}}, extra, ST_F32, false},
                      {"fc.bias", {1, {3}}, bias, ST_F32, false}};
    Cap c;
    cap_init(&c);
    StFile f = read_back(ts, 3, &c.d);
    for (int i = 0; i < 3; i++) {
        assert_true(st_in_slab(&f, f.t[i].data));
        assert_int_equal((uintptr_t)f.t[i].data % 64, 0);
    }
    const float *slab_w = f.t[0].data;
    Arena a;
    arena_init(&a);
    IrGraph *g = ir_graph_new(&a, "G");
    IrValue *fw = ir_add_param(g, "fc.weight", &(Shape){2, {3, 5}}, INIT_FAN_IN, NO_LOC);
    IrValue *fb = ir_add_param(g, "fc.bias", &(Shape){1, {3}}, INIT_ZEROS, NO_LOC);
    assert_int_equal(bcl_bind_weights(g, &f, "w.st", 0, &c.d), 0);   /* "extra" is a warning */
    assert_ptr_equal(fw->data, slab_w);                           /* no copy */
    assert_null(f.t[0].data);
    assert_null(f.t[2].data);
    assert_true(f.slab_moved);
    assert_memory_equal(f.t[1].data, extra, sizeof extra);
    st_free(&f);
    assert_memory_equal(fw->data, w, sizeof w);
    assert_memory_equal(fb->data, bias, sizeof bias);
    cap_free(&c);
    arena_free(&a);
}

/* Int and bool buffers through a real file in each dtype: an int64 or int32 index, or
 * whole float32 values, bind to an int32 buffer; a fraction, a value beyond 2^24, a
 * bool entry, or a mask of 2 does not (strict: an error naming the key and dtypes). */
static void test_bind_int_buffers(void **state)
{
    static const struct {
        StDtype file;
        float v[3];
        uint8_t model;
        const char *err;   /* NULL: binds */
    } cases[] = {
        {ST_I64, {3, -2, 0}, IR_DT_I32, NULL},
        {ST_I32, {3, 2, 1}, IR_DT_I32, NULL},
        {ST_U8, {3, 2, 1}, IR_DT_I32, NULL},
        {ST_F32, {3, 2, 1}, IR_DT_I32, NULL},
        {ST_F32, {3, 2.5f, 1}, IR_DT_I32, "dtype mismatch for 'idx': model int32, file float32 (element 1 is 2.5, "
                                          "not a whole number within +-2^24)"},
        {ST_I64, {3, 33554432.0f, 1}, IR_DT_I32, "dtype mismatch for 'idx': model int32, file int64 (values beyond +-2^24"},
        {ST_F32, {3, -16777216.0f, 1}, IR_DT_I32, "element 1 is -16777216, not a whole"},
        {ST_BOOL, {1, 0, 1}, IR_DT_I32, "dtype mismatch for 'idx': model int32, file bool (a bool entry)"},
        {ST_BOOL, {1, 0, 1}, IR_DT_BOOL, NULL},
        {ST_F32, {1, 0, 1}, IR_DT_BOOL, NULL},
        {ST_I32, {1, 2, 1}, IR_DT_BOOL, "dtype mismatch for 'idx': model bool, file int32 (element 1 is 2, not 0 or 1)"},
        {ST_I64, {1, 7, 1}, IR_DT_F32, NULL},   /* a float parameter takes any values */
        {ST_F64, {0.25f, 7, 1}, IR_DT_F32, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        float v[3];
        memcpy(v, cases[i].v, sizeof v);
        StTensor t = {"idx", {1, {3}}, v, cases[i].file, false};
        Cap c;
        cap_init(&c);
        StFile f = read_back(&t, 1, &c.d);
        assert_int_equal(f.t[0].dtype, cases[i].file);
        Arena a;
        arena_init(&a);
        IrGraph *g = ir_graph_new(&a, "G");
        IrValue *idx = ir_add_param(g, "idx", &(Shape){1, {3}}, INIT_ZEROS, NO_LOC);
        idx->dtype = cases[i].model;
        int rc = bcl_bind_weights(g, &f, "w.st", 1, &c.d);
        if (!cases[i].err) {
            if (rc != 0) fail_msg("case %zu: %s", i, cap_text(&c));
            assert_memory_equal(idx->data, cases[i].v, sizeof v);
        } else {
            assert_int_equal(rc, -1);
            assert_contains(cap_text(&c), cases[i].err);
            assert_null(idx->data);   /* the buffer keeps its own values */
            /* non-strict: a warning */
            Cap w;
            cap_init(&w);
            assert_int_equal(bcl_bind_weights(g, &f, "w.st", 0, &w.d), 0);
            assert_int_equal(w.d.n_warnings, 1);
            assert_contains(cap_text(&w), "warning: dtype mismatch for 'idx'");
            cap_free(&w);
        }
        st_free(&f);
        cap_free(&c);
        arena_free(&a);
    }
}

static void test_random_weights(void **state)
{
    Arena a, b;
    arena_init(&a);
    arena_init(&b);
    IrGraph *g1 = model(&a), *g2 = ir_graph_new(&b, "Other");
    /* same names in another order, plus an extra parameter */
    ir_add_param(g2, "extra", &(Shape){1, {5}}, INIT_FAN_IN, NO_LOC);
    ir_add_param(g2, "fc.weight", &(Shape){2, {10, 64}}, INIT_FAN_IN, NO_LOC);
    ir_add_param(g2, "bn.running_var", &(Shape){1, {64}}, INIT_VAR, NO_LOC);
    bcl_random_weights(g1, 42);
    bcl_random_weights(g2, 42);
    const float *fw = ir_find_param(g1, "fc.weight")->data;
    assert_memory_equal(fw, ir_find_param(g2, "fc.weight")->data, 640 * sizeof(float));
    assert_memory_equal(ir_find_param(g1, "bn.running_var")->data,
                        ir_find_param(g2, "bn.running_var")->data, 64 * sizeof(float));

    /* fan_in 64: uniform(-1/8, 1/8), mean near 0, values spread out */
    double sum = 0, mx = 0;
    for (int i = 0; i < 640; i++) {
        assert_true(fw[i] >= -0.125f && fw[i] < 0.125f);
        sum += fw[i];
        if (fabs(fw[i]) > mx) mx = fabs(fw[i]);
    }
    assert_true(fabs(sum / 640) < 0.02 && mx > 0.1);
    const float *cw = ir_find_param(g1, "features.0.weight")->data;
    for (int i = 0; i < 64 * 363; i++) assert_true(fabsf(cw[i]) <= 1.0f / sqrtf(363.0f));
    const float *var = ir_find_param(g1, "bn.running_var")->data;
    double vs = 0;
    for (int i = 0; i < 64; i++) {
        assert_true(var[i] >= 0.5f && var[i] < 1.5f);
        vs += var[i];
    }
    assert_true(fabs(vs / 64 - 1.0) < 0.15);
    for (int i = 0; i < 64; i++) assert_true(ir_find_param(g1, "features.0.bias")->data[i] == 0.0f);
    for (int i = 0; i < 10; i++) assert_true(ir_find_param(g1, "fc.bias")->data[i] == 1.0f);

    /* another seed, other values */
    Arena c;
    arena_init(&c);
    IrGraph *g3 = model(&c);
    bcl_random_weights(g3, 43);
    int same = 0;
    for (int i = 0; i < 640; i++) same += ir_find_param(g3, "fc.weight")->data[i] == fw[i];
    assert_true(same < 5);
    arena_free(&a);
    arena_free(&b);
    arena_free(&c);
}

static void test_print_weight_match(void **state)
{
    Arena a;
    arena_init(&a);
    IrGraph *g = model(&a);
    StFile f = bad_file();
    char *buf = NULL;
    size_t len;
    FILE *out = open_memstream(&buf, &len);
    bcl_print_weight_match(out, g, &f);
    fclose(out);
    assert_string_equal(buf,
        "features.0.weight [64, 3, 11, 11] shape mismatch (file [64, 3, 5, 5])\n"
        "features.0.bias [64] ok\n"
        "bn.running_var [64] shape mismatch (file [8, 8])\n"
        "fc.weight [10, 64] missing\n"
        "fc.bias [10] missing\n"
        "extra.weight [3] unexpected\n"
        "head.num_batches_tracked_x [] unexpected\n");
    free(buf);
    st_free(&f);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_equivalence),
        cmocka_unit_test(test_bind_exact_and_megengine),
        cmocka_unit_test(test_strict_reports_everything),
        cmocka_unit_test(test_non_strict_warns_and_binds),
        cmocka_unit_test(test_empty_and_odd_names),
        cmocka_unit_test(test_bind_from_file),
        cmocka_unit_test(test_bind_moves_slab),
        cmocka_unit_test(test_bind_int_buffers),
        cmocka_unit_test(test_random_weights),
        cmocka_unit_test(test_print_weight_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
