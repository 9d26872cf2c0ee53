/* Prepare and run fuzzed models: a .bcl file that builds is given random weights and
 * a fixed input, optimised with -O2 and run on the interpreter, and (when the build has
 * it) compiled by the JIT and run; the two must agree (NaN where the other is NaN,
 * else within a relative 1e-3). A disagreement aborts: a finding. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend/interp/interp.h"
#include "frontend/build.h"
#include "io/weights.h"
#include "passes/pass.h"
#include "tests/fuzz/fuzz_common.h"
#if BCL_HAVE_LLVM
#include "backend/llvm/jit.h"
#endif

enum { MAX_NUMEL = 1 << 16 };

static bool small_graph(const IrGraph *g)
{
    if (g->inputs.n != 1 || g->outputs.n < 1 || g->nodes.n > 200) return false;
    for (int i = 0; i < g->values.n; i++)
        if (!shape_size_ok(&((IrValue *)g->values.v[i])->shape) ||
            shape_numel(&((IrValue *)g->values.v[i])->shape) > MAX_NUMEL)
            return false;
    return true;
}

static bool close_enough(float a, float b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabsf(a - b) <= 1e-3f * (1.0f + fabsf(a) + fabsf(b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 14) return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    Diag d;
    fuzz_diag(&d);
    Arena a;
    arena_init(&a);
    BclBuildOptions o = {.path = "fuzz.bcl", .source_text = text};
    IrGraph *g = bcl_build(&o, &a, &d);
    if (!g || d.n_errors || !small_graph(g)) goto out;
    bcl_random_weights(g, 7);
    if (bcl_run_passes(g, bcl_default_pipeline(2), NULL, &d) || d.n_errors || g->outputs.n < 1) goto out;
    const IrValue *in = g->inputs.v[0], *outv = g->outputs.v[0];
    int64_t ni = shape_numel(&in->shape), no = shape_numel(&outv->shape);
    float *x = malloc(sizeof(float) * (size_t)(ni ? ni : 1));
    for (int64_t i = 0; i < ni; i++) x[i] = (float)((i * 37 % 101) - 50) / 25.0f;
    float **y1 = calloc((size_t)g->outputs.n, sizeof *y1), **y2 = calloc((size_t)g->outputs.n, sizeof *y2);
    for (int k = 0; k < g->outputs.n; k++) {
        int64_t n = shape_numel(&((IrValue *)g->outputs.v[k])->shape);
        y1[k] = calloc((size_t)(n ? n : 1), sizeof(float));
        y2[k] = calloc((size_t)(n ? n : 1), sizeof(float));
    }
    const float *ins[1] = {x};
    int rc = bcl_interp_run(g, ins, y1, &d);
#if BCL_HAVE_LLVM
    if (!rc) {
        BclJitOptions jo = {.threads = 1};
        BclJit *j = bcl_jit_compile(g, &jo, &d);
        if (j && !bcl_jit_run(j, ins, y2, &d)) {
            for (int k = 0; k < g->outputs.n; k++) {
                int64_t n = shape_numel(&((IrValue *)g->outputs.v[k])->shape);
                for (int64_t i = 0; i < n; i++)
                    if (!close_enough(y1[k][i], y2[k][i])) {
                        fprintf(stderr, "fuzz_model_run: output %d element %lld: interpreter %g, JIT %g\n", k,
                                (long long)i, y1[k][i], y2[k][i]);
                        abort();
                    }
            }
        }
        bcl_jit_free(j);
    }
#endif
    (void)no;
    for (int k = 0; k < g->outputs.n; k++) {
        free(y1[k]);
        free(y2[k]);
    }
    free(y1);
    free(y2);
    free(x);
out:
    arena_free(&a);
    free(text);
    return 0;
}
