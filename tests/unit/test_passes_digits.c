/* End to end: the digits example (.bcl + trained weights) built by the frontend, run
 * in the interpreter on the held-out set before and after -O2 (with fuse-add and
 * plan-memory); the logits must agree and so must every predicted class. Run from
 * the source root (ctest does). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "backend/interp/interp.h"
#include "io/npy.h"
#include "io/weights.h"
#include "frontend/build.h"
#include "passes/pass.h"

static IrGraph *build_digits(Arena *a, Diag *d, const Shape *input)
{
    BclBuildOptions bo = {0};
    bo.path = "examples/digits/digits.bcl";
    bo.has_input_shape = true;
    bo.input_shape = *input;
    IrGraph *g = bcl_build(&bo, a, d);
    assert_non_null(g);
    StFile f;
    assert_int_equal(st_read("examples/digits/digits.safetensors", &f, d), 0);
    assert_int_equal(bcl_bind_weights(g, &f, "digits.safetensors", 1, d), 0);
    st_free(&f);
    return g;
}

static void test_digits_o2(void **state)
{
    (void)state;
    Diag d;
    diag_init(&d, stderr);
    Shape xs;
    float *x = NULL;
    assert_int_equal(npy_read("examples/digits/heldout.npy", &xs, &x, &d), 0);
    assert_int_equal(xs.rank, 4);
    Arena a;
    arena_init(&a);
    IrGraph *g0 = build_digits(&a, &d, &xs), *g1 = build_digits(&a, &d, &xs);
    PassOptions po = {.verify_each = true};
    assert_int_equal(bcl_run_passes(g1, bcl_default_pipeline(2), &po, &d), 0);
    assert_int_equal(bcl_run_passes(g1, "plan-memory", &po, &d), 0);
    assert_true(g1->nodes.n < g0->nodes.n);
    for (int i = 0; i < g1->nodes.n; i++) {
        IrOp op = ((IrNode *)g1->nodes.v[i])->op;
        assert_true(op != IR_BATCH_NORM && op != IR_RELU);
    }

    const IrValue *o = g0->outputs.v[0];
    int64_t n = shape_numel(&o->shape), classes = o->shape.d[o->shape.rank - 1];
    float *y0 = malloc(sizeof(float) * (size_t)n), *y1 = malloc(sizeof(float) * (size_t)n);
    const float *ins[1] = {x};
    assert_int_equal(bcl_interp_run(g0, ins, &y0, &d), 0);
    assert_int_equal(bcl_interp_run(g1, ins, &y1, &d), 0);
    double maxy = 0, maxd = 0;
    for (int64_t i = 0; i < n; i++) {
        maxy = fmax(maxy, fabs(y0[i]));
        maxd = fmax(maxd, fabs((double)y0[i] - y1[i]));
    }
    if (!(maxd <= 1e-5 * maxy + 1e-6)) fail_msg("max|diff| %g, max|y| %g", maxd, maxy);
    for (int64_t r = 0; r < n / classes; r++) {
        int a0 = 0, a1 = 0;
        for (int64_t c = 1; c < classes; c++) {
            if (y0[r * classes + c] > y0[r * classes + a0]) a0 = (int)c;
            if (y1[r * classes + c] > y1[r * classes + a1]) a1 = (int)c;
        }
        assert_int_equal(a0, a1);
    }
    free(y0);
    free(y1);
    free(x);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_digits_o2)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
