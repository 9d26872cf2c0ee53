/* Whole zoo models (built from the embedded stdlib, random weights, the -O2 pass
 * pipeline: folded BN, fused activations and residual adds) through the JIT and the
 * interpreter: the outputs agree relative to their scale. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend/interp/interp.h"
#include "io/weights.h"
#include "backend/llvm/jit.h"
#include "frontend/build.h"
#include "passes/pass.h"

static void check_model(const char *name, int batch, int hw)
{
    Arena ar;
    arena_init(&ar);
    Diag d;
    diag_init(&d, stderr);
    BclBuildOptions bo = {.model_name = name, .has_input_shape = true, .input_shape = {4, {batch, 3, hw, hw}}};
    IrGraph *g = bcl_build(&bo, &ar, &d);
    assert_non_null(g);
    bcl_random_weights(g, 11);
    assert_int_equal(bcl_run_passes(g, bcl_default_pipeline(2), NULL, &d), 0);
    const IrValue *in = g->inputs.v[0];
    int64_t ni = shape_numel(&in->shape);
    float *x = malloc(sizeof(float) * (size_t)ni);
    for (int64_t i = 0; i < ni; i++) x[i] = sinf((float)i * 0.37f);
    const float *ins[1] = {x};
    BclJit *j = bcl_jit_compile(g, &(BclJitOptions){.threads = 2}, &d);
    assert_non_null(j);
    for (int o = 0; o < g->outputs.n; o++) {
        int64_t n = shape_numel(&((IrValue *)g->outputs.v[o])->shape);
        float **ref = calloc((size_t)g->outputs.n, sizeof *ref), **got = calloc((size_t)g->outputs.n, sizeof *got);
        for (int k = 0; k < g->outputs.n; k++) {
            int64_t m = shape_numel(&((IrValue *)g->outputs.v[k])->shape);
            ref[k] = calloc((size_t)m, sizeof(float));
            got[k] = calloc((size_t)m, sizeof(float));
        }
        assert_int_equal(bcl_interp_run(g, ins, ref, &d), 0);
        assert_int_equal(bcl_jit_run(j, ins, got, &d), 0);
        double md = 0, my = 0;
        for (int64_t i = 0; i < n; i++) {
            md = fmax(md, fabs((double)got[o][i] - ref[o][i]));
            my = fmax(my, fabs((double)ref[o][i]));
        }
        fprintf(stderr, "%s output %d: max |jit - interp| %.3g, max |y| %.3g\n", name, o, md, my);
        assert_true(my > 0);
        assert_true(md <= 1e-4 * my);
        for (int k = 0; k < g->outputs.n; k++) {
            free(ref[k]);
            free(got[k]);
        }
        free(ref);
        free(got);
    }
    bcl_jit_free(j);
    free(x);
    arena_free(&ar);
}

static void test_resnet18(void **st) { check_model("resnet18", 2, 32); }
static void test_mbnetv3_small(void **st) { check_model("mbnetv3_small_x075", 1, 48); }
static void test_regnetx(void **st) { check_model("regnetx_002", 1, 40); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resnet18),
        cmocka_unit_test(test_mbnetv3_small),
        cmocka_unit_test(test_regnetx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
