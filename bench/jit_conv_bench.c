/* GFLOP/s of the JIT against the reference interpreter on ResNet-50-like convolutions
 * (conv + bias + relu, as after BN folding): 3x3 64->64 (Winograd, then direct) and
 * 1x1 256->64 at 56x56. GFLOP/s count the direct convolution's 2*N*O*OH*OW*C*KH*KW.
 * Usage: jit_conv_bench [threads] [batch]   (threads 0 = BCL_NUM_THREADS or all cores) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backend/interp/interp.h"
#include "backend/llvm/jit.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return ((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* Best of a few timed runs (the machine is shared: the minimum is the least noisy). */
static double best_time(int (*run)(void *, const float *const *, float *const *), void *ctx,
                        const float *const *in, float *const *out, int reps)
{
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        run(ctx, in, out);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return best;
}

typedef struct { const IrGraph *g; Diag *d; } InterpCtx;
static int run_interp(void *c, const float *const *in, float *const *out)
{
    InterpCtx *ic = c;
    return bcl_interp_run(ic->g, in, out, ic->d);
}
typedef struct { BclJit *j; Diag *d; } JitCtx;
static int run_jit(void *c, const float *const *in, float *const *out)
{
    JitCtx *jc = c;
    return bcl_jit_run(jc->j, in, out, jc->d);
}

static int bench(const char *name, int N, int C, int O, int H, int K, int threads)
{
    Arena ar;
    arena_init(&ar);
    Diag d;
    diag_init(&d, stderr);
    IrGraph *g = ir_graph_new(&ar, name);
    Shape xs = {4, {N, C, H, H}}, ws = {4, {O, C, K, K}}, bs = {1, {O}};
    IrValue *x = ir_add_input(g, "input", &xs);
    IrValue *w = ir_add_param(g, "w", &ws, INIT_FAN_IN, NO_LOC);
    IrValue *b = ir_add_param(g, "b", &bs, INIT_ZEROS, NO_LOC);
    unsigned seed = 1;
    int64_t nw = shape_numel(&ws), nx = shape_numel(&xs);
    w->data = ARENA_NEWN(&ar, float, nw);
    b->data = ARENA_NEWN(&ar, float, O);
    for (int64_t i = 0; i < nw; i++) w->data[i] = frand(&seed) * 0.1f;
    for (int i = 0; i < O; i++) b->data[i] = frand(&seed);
    IrAttrs a = ir_attrs_default();
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = K / 2;
    a.act = IR_RELU;
    IrValue *in[3] = {x, w, b};
    IrValue *y = ir_add_node(g, IR_CONV2D, in, 3, &a, NO_LOC, &d);
    if (!y) return 1;
    ir_add_output(g, y);
    float *xin = malloc(sizeof(float) * (size_t)nx);
    int64_t ny = shape_numel(&y->shape);
    float *yr = malloc(sizeof(float) * (size_t)ny), *yj = malloc(sizeof(float) * (size_t)ny);
    for (int64_t i = 0; i < nx; i++) xin[i] = frand(&seed);
    const float *ins[1] = {xin};
    BclJitOptions opt = {.threads = threads, .time_phases = 1};
    double tc = now();
    BclJit *j = bcl_jit_compile(g, &opt, &d);
    tc = now() - tc;
    if (!j) return 1;
    double flop = 2.0 * N * O * (double)y->shape.d[2] * y->shape.d[3] * C * K * K;
    InterpCtx ic = {g, &d};
    JitCtx jc = {j, &d};
    double ti = best_time(run_interp, &ic, ins, &yr, 2);
    run_jit(&jc, ins, &yj);   /* warm up */
    double tj = best_time(run_jit, &jc, ins, &yj, 20);
    double maxerr = 0;
    for (int64_t i = 0; i < ny; i++) {
        double e = fabs(yj[i] - yr[i]) / (1 + fabs(yr[i]));
        if (e > maxerr) maxerr = e;
    }
    printf("%-28s threads %d  interp %7.2f GFLOP/s  jit %7.2f GFLOP/s  ratio %6.1fx  (compile %.0f ms, max rel err %.1e)\n",
           name, bcl_jit_threads(j), flop / ti * 1e-9, flop / tj * 1e-9, ti / tj, tc * 1e3, maxerr);
    bcl_jit_free(j);
    free(xin);
    free(yr);
    free(yj);
    arena_free(&ar);
    return 0;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 0, N = argc > 2 ? atoi(argv[2]) : 1;
    if (N < 1) N = 1;
    int rc = bench("conv3x3 64->64 56x56", N, 64, 64, 56, 3, threads);
    rc |= bench("conv1x1 256->64 56x56", N, 256, 64, 56, 1, threads);
    setenv("BCL_JIT_WINOGRAD", "0", 1);   /* the same 3x3 by direct convolution */
    rc |= bench("conv3x3 64->64 56x56 direct", N, 64, 64, 56, 3, threads);
    return rc;
}
