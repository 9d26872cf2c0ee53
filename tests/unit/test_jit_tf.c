/* The JIT's transformer kernels (libjit/kernels_tf.c) against naive formulas computed
 * here in double: the register-blocked GEMM of Linear (every row and column tail, bias,
 * GELU epilogue), the row-copy form of transpose / roll / slice / pad, the vector layer
 * norm, and GELU itself. Each graph runs on the host's vectors and on AVX2
 * (x86-64-v3), the two code paths the planner picks tiles for. */
#include "tests/unit/test_jit_util.h"

static const char *const cpus[] = {NULL, "x86-64-v3"};

/* Runs t's graph on the JIT for target cpu (threads 2); outputs malloc'd. */
static float **run_jit(JT *t, const char *cpu, const float **in)
{
    IrGraph *g = t->g;
    assert_true(ir_verify(g, &t->d));
    BclJitOptions opt = {.threads = 2, .target_cpu = cpu, .cache = 0};
    BclJit *j = bcl_jit_compile(g, &opt, &t->d);
    assert_non_null(j);
    float **got = calloc((size_t)g->outputs.n + 1, sizeof *got);
    for (int i = 0; i < g->outputs.n; i++) {
        int64_t n = shape_numel(&((IrValue *)g->outputs.v[i])->shape);
        got[i] = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
    }
    assert_int_equal(bcl_jit_run(j, in, got, &t->d), 0);
    bcl_jit_free(j);
    return got;
}

static int compare(const float *got, const double *want, int64_t n, double tol, const char *what)
{
    int bad = 0;
    for (int64_t k = 0; k < n; k++) {
        bool ok = (isnan(want[k]) && isnan(got[k])) || fabs(got[k] - want[k]) <= tol * (1 + fabs(want[k]));
        if (!ok && bad++ < 5) fprintf(stderr, "%s [%lld]: jit %.9g, formula %.9g\n", what, (long long)k, got[k], want[k]);
    }
    return bad;
}

static double gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }

/* y = act(x w^T + b) for rows x I inputs, O outputs; the tails of the 8x32 (AVX-512)
 * and 6x16 (AVX2) tiles and of the 16-lane blocks. */
static void test_gemm(void **st)
{
    (void)st;
    static const int cases[][3] = {{1, 3, 1},   {2, 16, 15},  {3, 7, 16},   {5, 33, 17},  {6, 64, 31},
                                   {7, 20, 32}, {8, 48, 33},  {9, 5, 48},   {13, 40, 64}, {17, 100, 100},
                                   {16, 8, 96}, {23, 70, 40}, {197, 64, 80}};
    int nc = (int)(sizeof cases / sizeof *cases);
    for (int cpu = 0; cpu < 2; cpu++) {
        JT t;
        jt_init(&t, 31);
        const float **in = calloc((size_t)nc, sizeof *in);
        const float *w[16], *b[16];
        int acts[16];
        for (int c = 0; c < nc; c++) {
            int R = cases[c][0], I = cases[c][1], O = cases[c][2];
            IrValue *v[3] = {jt_input(&t, jt_shape(2, R, I)), jt_param(&t, jt_shape(2, O, I), -0.5f, 0.5f), NULL};
            int n = 2;
            if (c % 3) v[n++] = jt_param(&t, jt_shape(1, O), -1, 1);
            w[c] = v[1]->data;
            b[c] = n > 2 ? v[2]->data : NULL;
            IrAttrs a = ir_attrs_default();
            acts[c] = a.act = c % 2 ? IR_GELU : c % 4 == 2 ? IR_RELU : -1;
            ir_add_output(t.g, jt_node(&t, IR_LINEAR, v, n, &a));
            in[c] = jt_data(&t, &v[0]->shape, -2, 2);
        }
        float **got = run_jit(&t, cpus[cpu], in);
        int bad = 0;
        for (int c = 0; c < nc; c++) {
            int R = cases[c][0], I = cases[c][1], O = cases[c][2];
            double *want = malloc(sizeof(double) * (size_t)(R * O));
            for (int r = 0; r < R; r++)
                for (int o = 0; o < O; o++) {
                    double s = b[c] ? b[c][o] : 0;
                    for (int i = 0; i < I; i++) s += (double)in[c][r * I + i] * w[c][o * I + i];
                    want[r * O + o] = acts[c] == IR_GELU ? gelu(s) : acts[c] == IR_RELU ? (s < 0 ? 0 : s) : s;
                }
            bad += compare(got[c], want, R * O, 1e-5, "linear");
            free(want);
        }
        jt_free_outputs(&t, got);
        free(in);
        jt_free(&t);
        assert_int_equal(bad, 0);
    }
}

/* The residual epilogue of linear (pass fuse-add): act(x w^T + b + r), on the GEMM
 * (bound weights), the one-row kernel and the run-time-weight kernel + add step. */
static void test_gemm_residual(void **st)
{
    (void)st;
    static const int cases[][4] = {{13, 40, 50, 1}, {1, 33, 20, 1}, {5, 7, 9, 0}, {9, 64, 32, 1}};
    for (int cpu = 0; cpu < 2; cpu++) {
        JT t;
        jt_init(&t, 37);
        const float *in[12], *w[4], *b[4];
        for (int c = 0; c < 4; c++) {
            int R = cases[c][0], I = cases[c][1], O = cases[c][2];
            IrValue *v[4] = {jt_input(&t, jt_shape(2, R, I)),
                             cases[c][3] ? jt_param(&t, jt_shape(2, O, I), -0.5f, 0.5f) : jt_input(&t, jt_shape(2, O, I)),
                             jt_param(&t, jt_shape(1, O), -1, 1), jt_input(&t, jt_shape(2, R, O))};
            IrAttrs a = ir_attrs_default();
            a.act = c % 2 ? IR_GELU : IR_RELU;
            ir_add_output(t.g, jt_node(&t, IR_LINEAR, v, 4, &a));
            in[3 * c] = jt_data(&t, &v[0]->shape, -2, 2);
            in[3 * c + 1] = cases[c][3] ? NULL : jt_data(&t, &v[1]->shape, -0.5f, 0.5f);
            in[3 * c + 2] = jt_data(&t, &v[3]->shape, -2, 2);
            w[c] = cases[c][3] ? v[1]->data : in[3 * c + 1];
            b[c] = v[2]->data;
        }
        /* graph inputs in order of creation: x, (w,) r per case */
        const float *gin[12];
        int k = 0;
        for (int c = 0; c < 4; c++) {
            gin[k++] = in[3 * c];
            if (!cases[c][3]) gin[k++] = in[3 * c + 1];
            gin[k++] = in[3 * c + 2];
        }
        float **got = run_jit(&t, cpus[cpu], gin);
        int bad = 0;
        for (int c = 0; c < 4; c++) {
            int R = cases[c][0], I = cases[c][1], O = cases[c][2];
            double *want = malloc(sizeof(double) * (size_t)(R * O));
            for (int r = 0; r < R; r++)
                for (int o = 0; o < O; o++) {
                    double s = b[c][o] + in[3 * c + 2][r * O + o];
                    for (int i = 0; i < I; i++) s += (double)in[3 * c][r * I + i] * w[c][o * I + i];
                    want[r * O + o] = c % 2 ? gelu(s) : (s < 0 ? 0 : s);
                }
            bad += compare(got[c], want, R * O, 1e-5, "linear + residual");
            free(want);
        }
        jt_free_outputs(&t, got);
        jt_free(&t);
        assert_int_equal(bad, 0);
    }
}

/* Data movement that keeps the last axis: each output row is one run of the input. */
static void test_gather_rows(void **st)
{
    (void)st;
    for (int cpu = 0; cpu < 2; cpu++) {
        JT t;
        jt_init(&t, 32);
        /* x [2, 6, 5, 8] */
        enum { A = 2, B = 6, C = 5, D = 8 };
        IrValue *x = jt_input(&t, jt_shape(4, A, B, C, D));
        IrAttrs tr = ir_attrs_default();
        int64_t perm[4] = {2, 0, 1, 3};
        for (int i = 0; i < 4; i++) tr.perm[i] = perm[i];
        ir_add_output(t.g, jt_node(&t, IR_TRANSPOSE, &x, 1, &tr));
        IrAttrs ro = ir_attrs_default();
        for (int i = 0; i < 4; i++) ro.shifts[i] = 0;
        ro.shifts[1] = -3, ro.shifts[2] = 2;
        ir_add_output(t.g, jt_node(&t, IR_ROLL, &x, 1, &ro));
        IrAttrs sl = ir_attrs_default();
        int64_t be[4] = {1, 0, 1, 0}, en[4] = {2, 6, 5, 8}, sp[4] = {1, 2, 2, 1};
        for (int i = 0; i < 4; i++) sl.begin[i] = be[i], sl.end[i] = en[i], sl.step[i] = sp[i];
        ir_add_output(t.g, jt_node(&t, IR_SLICE, &x, 1, &sl));
        IrAttrs pd = ir_attrs_default();
        int64_t pads[8] = {0, 0, 1, 2, 0, 1, 0, 0};
        for (int i = 0; i < 8; i++) pd.pads[i] = pads[i];
        pd.value = -7.5f;
        ir_add_output(t.g, jt_node(&t, IR_PAD, &x, 1, &pd));
        /* the last two axes swapped (tiles of 16 x 16, partial ones at both edges) */
        IrValue *z = jt_input(&t, jt_shape(3, 2, 37, 21));
        IrAttrs sw = ir_attrs_default();
        sw.perm[0] = 0, sw.perm[1] = 2, sw.perm[2] = 1;
        ir_add_output(t.g, jt_node(&t, IR_TRANSPOSE, &z, 1, &sw));
        const float *in[2] = {jt_data(&t, &x->shape, -1, 1), jt_data(&t, &z->shape, -1, 1)};
        const float *X = in[0];
        float **got = run_jit(&t, cpus[cpu], in);
        static double want[4][2048];   /* the largest case: 2 x 37 x 21 */
        int bad = 0;
        for (int a = 0; a < A; a++)
            for (int b = 0; b < B; b++)
                for (int c = 0; c < C; c++)
                    for (int d = 0; d < D; d++) {
                        double v = X[((a * B + b) * C + c) * D + d];
                        want[0][((c * A + a) * B + b) * D + d] = v;   /* transpose (2, 0, 1, 3) */
                        int rb = ((b - 3) % B + B) % B, rc = ((c + 2) % C + C) % C;   /* y[rb][rc] = x[b][c] */
                        want[1][((a * B + rb) * C + rc) * D + d] = v;
                    }
        bad += compare(got[0], want[0], A * B * C * D, 0, "transpose");
        bad += compare(got[1], want[1], A * B * C * D, 0, "roll");
        int n = 0;
        for (int b = 0; b < B; b += 2)
            for (int c = 1; c < C; c += 2)
                for (int d = 0; d < D; d++) want[2][n++] = X[((1 * B + b) * C + c) * D + d];
        bad += compare(got[2], want[2], n, 0, "slice");
        n = 0;
        for (int a = 0; a < A; a++)
            for (int b = -1; b < B + 2; b++)
                for (int c = 0; c < C + 1; c++)
                    for (int d = 0; d < D; d++)
                        want[3][n++] = b < 0 || b >= B || c >= C ? -7.5 : X[((a * B + b) * C + c) * D + d];
        bad += compare(got[3], want[3], n, 0, "pad");
        n = 0;
        for (int b = 0; b < 2; b++)
            for (int j = 0; j < 21; j++)
                for (int i = 0; i < 37; i++) want[0][n++] = in[1][(b * 37 + i) * 21 + j];
        bad += compare(got[4], want[0], n, 0, "transpose of the last two axes");
        jt_free_outputs(&t, got);
        jt_free(&t);
        assert_int_equal(bad, 0);
    }
}

/* Layer norm over the last axis (inner below, at and past a vector; affine or not). */
static void test_layer_norm(void **st)
{
    (void)st;
    static const int inner[] = {5, 16, 40, 384};
    for (int cpu = 0; cpu < 2; cpu++) {
        JT t;
        jt_init(&t, 33);
        const float *in[4], *g[4], *bt[4];
        enum { R = 7 };
        for (int c = 0; c < 4; c++) {
            IrValue *v[3] = {jt_input(&t, jt_shape(2, R, inner[c])), jt_param(&t, jt_shape(1, inner[c]), 0.5f, 2),
                             jt_param(&t, jt_shape(1, inner[c]), -1, 1)};
            IrAttrs a = ir_attrs_default();
            a.n_axes = 1;
            a.eps = 1e-5f;
            int n = c % 2 ? 1 : 3;
            g[c] = n > 1 ? v[1]->data : NULL;
            bt[c] = n > 1 ? v[2]->data : NULL;
            ir_add_output(t.g, jt_node(&t, IR_LAYER_NORM, v, n, &a));
            float *d = jt_data(&t, &v[0]->shape, -3, 5);
            for (int i = 0; i < R * inner[c]; i++) d[i] += 100.0f * (float)(i / inner[c]);   /* offset rows */
            in[c] = d;
        }
        float **got = run_jit(&t, cpus[cpu], in);
        int bad = 0;
        for (int c = 0; c < 4; c++) {
            int n = inner[c];
            double want[R * 384];
            for (int r = 0; r < R; r++) {
                double m = 0, var = 0;
                for (int i = 0; i < n; i++) m += in[c][r * n + i];
                m /= n;
                for (int i = 0; i < n; i++) var += (in[c][r * n + i] - m) * (in[c][r * n + i] - m);
                var /= n;
                for (int i = 0; i < n; i++) {
                    double v = (in[c][r * n + i] - m) / sqrt(var + 1e-5);
                    want[r * n + i] = g[c] ? v * g[c][i] + bt[c][i] : v;
                }
            }
            bad += compare(got[c], want, R * n, 1e-4, "layer_norm");
        }
        jt_free_outputs(&t, got);
        jt_free(&t);
        assert_int_equal(bad, 0);
    }
}

/* GELU as a standalone op and as the linear epilogue (vector form): erf's formula over
 * [-12, 12], NaN and infinities. */
static void test_gelu(void **st)
{
    (void)st;
    enum { N = 4099 };
    for (int cpu = 0; cpu < 2; cpu++) {
        JT t;
        jt_init(&t, 34);
        IrValue *x = jt_input(&t, jt_shape(2, N, 1));
        IrAttrs a = ir_attrs_default();
        ir_add_output(t.g, jt_node(&t, IR_GELU, &x, 1, &a));
        float ones[16];
        for (int i = 0; i < 16; i++) ones[i] = 1.0f;
        IrValue *lin[2] = {x, ir_add_const(t.g, &(Shape){.rank = 2, .d = {16, 1}}, ones)};
        a.act = IR_GELU;
        ir_add_output(t.g, jt_node(&t, IR_LINEAR, lin, 2, &a));
        float *d = ARENA_NEWN(&t.ar, float, N);
        for (int i = 0; i < N - 3; i++) d[i] = -12.0f + 24.0f * (float)i / (float)(N - 4);
        d[N - 3] = NAN, d[N - 2] = INFINITY, d[N - 1] = -INFINITY;
        const float *in[1] = {d};
        float **got = run_jit(&t, cpus[cpu], in);
        double *want = malloc(sizeof(double) * N);
        for (int i = 0; i < N; i++) want[i] = isinf(d[i]) ? (d[i] > 0 ? INFINITY : 0) : gelu(d[i]);
        int bad = 0;
        for (int i = 0; i < N - 2; i++)   /* -inf * erfc: NaN or 0 are both defensible; the ops agree on finite x */
            bad += !((isnan(want[i]) && isnan(got[0][i])) || fabs(got[0][i] - want[i]) <= 1e-6 * (1 + fabs(want[i])));
        for (int i = 0; i < N - 3; i++)
            for (int o = 0; o < 16; o++)
                bad += fabs(got[1][i * 16 + o] - want[i]) > 1e-6 * (1 + fabs(want[i]));
        bad += !isnan(got[1][(N - 3) * 16]) + (got[1][(N - 2) * 16] != INFINITY);
        free(want);
        jt_free_outputs(&t, got);
        jt_free(&t);
        assert_int_equal(bad, 0);
    }
}

/* softmax(q k^T alpha + bias) v by its definition, in double; q [nb, M, D], k [nb, N, D],
 * v [nb, N, E], bias element (b, m, n) at bias[b * bbs + m * bsm + n * bsn] or none. */
static void attention_formula(const float *q, const float *k, const float *v, const float *bias, int64_t bbs,
                              int64_t bsm, int64_t bsn, int nb, int M, int N, int D, int E, double alpha,
                              double *y)
{
    double *sc = malloc(sizeof(double) * (size_t)N);
    for (int b = 0; b < nb; b++)
        for (int m = 0; m < M; m++) {
            double mx = -INFINITY, sum = 0;
            for (int n = 0; n < N; n++) {
                double d = 0;
                for (int i = 0; i < D; i++) d += (double)q[(b * M + m) * D + i] * k[(b * N + n) * D + i];
                sc[n] = d * alpha + (bias ? bias[b * bbs + m * bsm + n * bsn] : 0);
                mx = sc[n] > mx ? sc[n] : mx;
            }
            for (int n = 0; n < N; n++) sum += sc[n] = exp(sc[n] - mx);
            for (int e = 0; e < E; e++) {
                double acc = 0;
                for (int n = 0; n < N; n++) acc += sc[n] * v[(b * N + n) * E + e];
                y[(b * M + m) * E + e] = acc / sum;
            }
        }
    free(sc);
}

/* The tiled attention step: rows and keys past every tile and vector, head sizes with
 * and without a 16-column tail, a bias per head (contiguous keys) and one broadcast
 * along the keys (the scalar path), no bias. */
static void test_attention_tiled(void **st)
{
    (void)st;
    /* nb, M, N, D, E, bias kind (0 none, 1 [nb, M, N], 2 [M, 1] per row) */
    static const int cases[][6] = {{6, 197, 197, 64, 64, 0}, {3, 49, 49, 32, 32, 1}, {2, 70, 33, 20, 20, 1},
                                   {1, 3, 5, 1, 16, 2},      {2, 1, 17, 8, 80, 1},   {1, 65, 100, 16, 7, 2}};
    int nc = (int)(sizeof cases / sizeof *cases);
    for (int cpu = 0; cpu < 2; cpu++) {
        JT t;
        jt_init(&t, 35);
        const float *in[18], *bias[6];
        for (int c = 0; c < nc; c++) {
            int nb = cases[c][0], M = cases[c][1], N = cases[c][2], D = cases[c][3], E = cases[c][4];
            IrValue *v[4] = {jt_input(&t, jt_shape(3, nb, M, D)), jt_input(&t, jt_shape(3, nb, N, D)),
                             jt_input(&t, jt_shape(3, nb, N, E)), NULL};
            int n = 3;
            if (cases[c][5] == 1) v[n++] = jt_param(&t, jt_shape(3, nb, M, N), -3, 3);
            if (cases[c][5] == 2) v[n++] = jt_param(&t, jt_shape(2, M, 1), -3, 3);
            bias[c] = n > 3 ? v[3]->data : NULL;
            IrAttrs a = ir_attrs_default();
            a.alpha = 1.0f / sqrtf((float)D);
            ir_add_output(t.g, jt_node(&t, IR_ATTENTION, v, n, &a));
            for (int i = 0; i < 3; i++) in[3 * c + i] = jt_data(&t, &v[i]->shape, -2, 2);
        }
        float **got = run_jit(&t, cpus[cpu], in);
        int bad = 0;
        for (int c = 0; c < nc; c++) {
            int nb = cases[c][0], M = cases[c][1], N = cases[c][2], D = cases[c][3], E = cases[c][4];
            double *want = malloc(sizeof(double) * (size_t)(nb * M * E));
            int64_t bbs = cases[c][5] == 1 ? M * N : 0, bsm = cases[c][5] == 1 ? N : 1, bsn = cases[c][5] == 1;
            attention_formula(in[3 * c], in[3 * c + 1], in[3 * c + 2], bias[c], bbs, bsm, bsn, nb, M, N, D, E,
                              (double)(1.0f / sqrtf((float)D)), want);
            bad += compare(got[c], want, nb * M * E, 1e-5, "attention");
            free(want);
        }
        jt_free_outputs(&t, got);
        jt_free(&t);
        assert_int_equal(bad, 0);
    }
}

/* Swin's shifted windows: 5-D attention [B0, nW, H, N, .] with a per-head bias and a
 * per-window mask (the tiled kernel), and the row kernel's long key rows (N > 1024)
 * with a mask along the keys. */
static void test_attention_mask(void **st)
{
    (void)st;
    enum { B0 = 2, NW = 2, H = 3, N = 49, D = 32, LN = 1100 };
    for (int cpu = 0; cpu < 2; cpu++) {
        JT t;
        jt_init(&t, 36);
        IrValue *v[5] = {jt_input(&t, jt_shape(5, B0, NW, H, N, D)), jt_input(&t, jt_shape(5, B0, NW, H, N, D)),
                         jt_input(&t, jt_shape(5, B0, NW, H, N, D)), jt_param(&t, jt_shape(4, 1, H, N, N), -2, 2),
                         jt_param(&t, jt_shape(4, NW, 1, N, N), -100, 0)};
        IrAttrs a = ir_attrs_default();
        a.alpha = 0.25f;
        ir_add_output(t.g, jt_node(&t, IR_ATTENTION, v, 5, &a));
        IrValue *w[5] = {jt_input(&t, jt_shape(3, 2, 3, 4)), jt_input(&t, jt_shape(3, 2, LN, 4)),
                         jt_input(&t, jt_shape(3, 2, LN, 5)), jt_param(&t, jt_shape(3, 2, 3, 1), -1, 1),
                         jt_param(&t, jt_shape(1, LN), -5, 0)};
        ir_add_output(t.g, jt_node(&t, IR_ATTENTION, w, 5, &a));
        const float *in[6];
        for (int i = 0; i < 3; i++) in[i] = jt_data(&t, &v[i]->shape, -2, 2);
        for (int i = 0; i < 3; i++) in[3 + i] = jt_data(&t, &w[i]->shape, -2, 2);
        float **got = run_jit(&t, cpus[cpu], in);
        /* the two additive operands as one full [nb, M, N] array */
        int nb = B0 * NW * H;
        float *full = malloc(sizeof(float) * (size_t)(nb * N * N));
        for (int b = 0; b < nb; b++)
            for (int m = 0; m < N; m++)
                for (int n = 0; n < N; n++)
                    full[(b * N + m) * N + n] = v[3]->data[((b % H) * N + m) * N + n] +
                                                v[4]->data[(((b / H) % NW) * N + m) * N + n];
        double *want = malloc(sizeof(double) * (size_t)(nb * N * D));
        attention_formula(in[0], in[1], in[2], full, N * N, N, 1, nb, N, N, D, D, 0.25, want);
        int bad = compare(got[0], want, nb * N * D, 1e-5, "masked attention");
        float *full2 = malloc(sizeof(float) * (size_t)(2 * 3 * LN));
        for (int b = 0; b < 2; b++)
            for (int m = 0; m < 3; m++)
                for (int n = 0; n < LN; n++) full2[(b * 3 + m) * LN + n] = w[3]->data[b * 3 + m] + w[4]->data[n];
        attention_formula(in[3], in[4], in[5], full2, 3 * LN, LN, 1, 2, 3, LN, 4, 5, 0.25, want);
        bad += compare(got[1], want, 2 * 3 * 5, 1e-5, "long masked attention");
        free(full);
        free(full2);
        free(want);
        jt_free_outputs(&t, got);
        jt_free(&t);
        assert_int_equal(bad, 0);
    }
}

/* ViT's and Swin's qkv split: reshape [B, N, 3, H, D], transpose to [3, B, H, N, D], a
 * slice per operand. The attention reads q, k and v in place from the projection; a
 * slice with another reader (q * k) is copied straight from it; the transpose is a
 * graph output in the second case (computed, and still not read by the attention).
 * Against the interpreter, on both vector widths; D = 16 takes the register transpose
 * of K, D = 20 the buffered edge tiles. */
static void test_attention_views(void **st)
{
    (void)st;
    static const int cases[][3] = {{37, 3, 16}, {49, 2, 20}};   /* N, H, D */
    for (int cpu = 0; cpu < 2; cpu++)
        for (int c = 0; c < 2; c++) {
            enum { B = 2 };
            int N = cases[c][0], H = cases[c][1], D = cases[c][2];
            JT t;
            jt_init(&t, 37);
            IrValue *x = jt_input(&t, jt_shape(3, B, N, 3 * H * D));
            IrAttrs rs = ir_attrs_default();
            rs.shape = jt_shape(5, B, N, 3, H, D);
            IrValue *r = jt_node(&t, IR_RESHAPE, &x, 1, &rs);
            IrAttrs tr = ir_attrs_default();
            int64_t perm[5] = {2, 0, 3, 1, 4};
            for (int i = 0; i < 5; i++) tr.perm[i] = perm[i];
            IrValue *qkv = jt_node(&t, IR_TRANSPOSE, &r, 1, &tr), *op[3];
            for (int k = 0; k < 3; k++) {
                IrAttrs sl = ir_attrs_default();
                int64_t en[5] = {k + 1, B, H, N, D};
                for (int i = 0; i < 5; i++) sl.begin[i] = i ? 0 : k, sl.end[i] = en[i], sl.step[i] = 1;
                IrValue *s1 = jt_node(&t, IR_SLICE, &qkv, 1, &sl);
                IrAttrs r4 = ir_attrs_default();
                r4.shape = jt_shape(4, B, H, N, D);
                op[k] = jt_node(&t, IR_RESHAPE, &s1, 1, &r4);
            }
            IrAttrs a = ir_attrs_default();
            a.alpha = 1.0f / sqrtf((float)D);
            ir_add_output(t.g, jt_node(&t, IR_ATTENTION, op, 3, &a));
            IrValue *qq[2] = {op[0], op[1]};
            IrAttrs mu = ir_attrs_default();
            ir_add_output(t.g, jt_node(&t, IR_MUL, qq, 2, &mu));
            if (c == 1) ir_add_output(t.g, qkv);
            const float *in[1] = {jt_data(&t, &x->shape, -2, 2)};
            float **got = run_jit(&t, cpus[cpu], in);
            int no = t.g->outputs.n, bad = 0;
            float *ref[3];
            for (int o = 0; o < no; o++)
                ref[o] = calloc((size_t)shape_numel(&((IrValue *)t.g->outputs.v[o])->shape), sizeof(float));
            assert_int_equal(bcl_interp_run(t.g, in, ref, &t.d), 0);
            for (int o = 0; o < no; o++) {
                int64_t n = shape_numel(&((IrValue *)t.g->outputs.v[o])->shape);
                double *want = malloc(sizeof(double) * (size_t)n);
                for (int64_t k = 0; k < n; k++) want[k] = ref[o][k];
                bad += compare(got[o], want, n, 1e-5, o == 0 ? "attention on views" : o == 1 ? "q * k" : "qkv");
                free(want);
                free(ref[o]);
            }
            jt_free_outputs(&t, got);
            jt_free(&t);
            assert_int_equal(bad, 0);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm),
        cmocka_unit_test(test_gemm_residual),
        cmocka_unit_test(test_gather_rows),
        cmocka_unit_test(test_layer_norm),
        cmocka_unit_test(test_gelu),
        cmocka_unit_test(test_attention_tiled),
        cmocka_unit_test(test_attention_mask),
        cmocka_unit_test(test_attention_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
