/* Reference kernels against independent naive formulas written in this file
 * (im2col + GEMM for conv, explicit padded buffers for pools, multi-index loops). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/interp/kernels.h"
#include "tests/unit/test_support.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void)   /* uniform in [-1, 1) */
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng >> 40) / (double)(1 << 24)) * 2.0f - 1.0f;
}
static int irand(int lo, int hi) { return lo + (int)((frand() + 1.0f) * 0.5f * (float)(hi - lo + 1)) % (hi - lo + 1); }

static float *rand_buf(int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = frand();
    return p;
}

static void check_close(const float *got, const float *want, int64_t n, float tol, const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        float g = got[i], w = want[i];
        if (isnan(w) && isnan(g)) continue;
        if (!(fabsf(g - w) <= tol * (1.0f + fabsf(w))))
            fail_msg("%s: element %lld: got %.9g want %.9g", what, (long long)i, g, w);
    }
}

/* One op on fresh inputs of the given shapes, run through the builder and kern_run_node.
 * Returns the output (malloc'd); inputs are in bufs (random unless given). */
typedef struct Run { Arena ar; IrGraph *g; IrNode *n; float *in[8]; float *out; int n_in; } Run;

static void run_op(Run *r, IrOp op, const Shape *shapes, int n_in, const IrAttrs *a, float *const *given)
{
    arena_init(&r->ar);
    r->g = ir_graph_new(&r->ar, "T");
    IrValue *vals[8];
    for (int i = 0; i < n_in; i++) {
        vals[i] = ir_add_input(r->g, NULL, &shapes[i]);
        r->in[i] = given && given[i] ? given[i] : rand_buf(shape_numel(&shapes[i]));
    }
    r->n_in = n_in;
    Diag d;
    diag_init(&d, stderr);
    IrValue *out = ir_add_node(r->g, op, vals, n_in, a, NO_LOC, &d);
    assert_non_null(out);
    r->n = out->def;
    r->out = malloc(sizeof(float) * (size_t)(shape_numel(&out->shape) + 1));
    kern_run_node(r->n, (const float *const *)r->in, r->out);
}

static void run_free(Run *r, float *const *given)
{
    for (int i = 0; i < r->n_in; i++)
        if (!(given && given[i])) free(r->in[i]);
    free(r->out);
    arena_free(&r->ar);
}

/* ---------------- convolution: im2col + GEMM ---------------- */

static void conv_ref(const float *x, Shape xs, const float *w, Shape ws, const float *b,
                     const IrAttrs *a, float *y, int64_t OH, int64_t OW)
{
    int64_t N = xs.d[0], C = xs.d[1], H = xs.d[2], W = xs.d[3];
    int64_t O = ws.d[0], CG = ws.d[1], KH = ws.d[2], KW = ws.d[3], G = a->groups, OG = O / G;
    int64_t rows = CG * KH * KW, cols = OH * OW;
    float *col = calloc((size_t)(rows * cols), sizeof(float));
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < G; g++) {
            /* column matrix of this group: row (c, kh, kw), column (oh, ow) */
            for (int64_t r = 0; r < rows; r++) {
                int64_t c = r / (KH * KW), kh = (r / KW) % KH, kw = r % KW;
                for (int64_t q = 0; q < cols; q++) {
                    int64_t oh = q / OW, ow = q % OW;
                    int64_t ih = oh * a->stride[0] + kh * a->dilation[0] - a->pad[0];
                    int64_t iw = ow * a->stride[1] + kw * a->dilation[1] - a->pad[1];
                    bool inside = ih >= 0 && ih < H && iw >= 0 && iw < W;
                    col[r * cols + q] = inside ? x[((n * C + g * CG + c) * H + ih) * W + iw] : 0.0f;
                }
            }
            for (int64_t o = 0; o < OG; o++) {
                const float *wrow = w + (g * OG + o) * rows;   /* weight as [O, rows] */
                float *yrow = y + (n * O + g * OG + o) * cols;
                for (int64_t q = 0; q < cols; q++) yrow[q] = b ? b[g * OG + o] : 0.0f;
                for (int64_t r = 0; r < rows; r++)
                    for (int64_t q = 0; q < cols; q++) yrow[q] += wrow[r] * col[r * cols + q];
            }
        }
    free(col);
}

static void conv_case(int N, int C, int H, int W, int O, int KH, int KW, int groups, int sh, int sw,
                      int pt, int pl, int pb, int pr, int dh, int dw, bool bias)
{
    IrAttrs a = ir_attrs_default();
    a.stride[0] = sh; a.stride[1] = sw;
    a.pad[0] = pt; a.pad[1] = pl; a.pad[2] = pb; a.pad[3] = pr;
    a.dilation[0] = dh; a.dilation[1] = dw;
    a.groups = groups;
    Shape sh3[3] = {shp(4, N, C, H, W), shp(4, O, C / groups, KH, KW), shp(1, O)};
    Run r;
    run_op(&r, IR_CONV2D, sh3, bias ? 3 : 2, &a, NULL);
    const Shape *ys = &r.n->out->shape;
    int64_t n = shape_numel(ys);
    float *want = malloc(sizeof(float) * (size_t)n);
    conv_ref(r.in[0], sh3[0], r.in[1], sh3[1], bias ? r.in[2] : NULL, &a, want, ys->d[2], ys->d[3]);
    char what[200];
    snprintf(what, sizeof what, "conv N%d C%d %dx%d O%d k%dx%d g%d s%d,%d p%d,%d,%d,%d d%d,%d", N, C, H, W,
             O, KH, KW, groups, sh, sw, pt, pl, pb, pr, dh, dw);
    check_close(r.out, want, n, 1e-4f, what);
    free(want);
    run_free(&r, NULL);
}

static void test_conv2d(void **st)
{
    (void)st;
    conv_case(1, 3, 7, 7, 4, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, true);      /* 1x1 */
    conv_case(2, 4, 9, 8, 6, 1, 1, 1, 3, 2, 0, 0, 0, 0, 1, 1, false);     /* stride > kernel */
    conv_case(1, 2, 6, 7, 3, 3, 3, 1, 2, 2, 1, 0, 2, 1, 1, 1, true);      /* asymmetric pad */
    conv_case(2, 6, 5, 5, 6, 3, 3, 6, 1, 1, 1, 1, 1, 1, 1, 1, true);      /* depthwise */
    conv_case(1, 4, 8, 8, 8, 3, 3, 6 / 3, 1, 1, 2, 2, 2, 2, 2, 2, false); /* groups 2, dilation */
    conv_case(1, 3, 1, 1, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, true);      /* single pixel */
    conv_case(3, 2, 10, 6, 4, 2, 3, 2, 2, 1, 0, 1, 1, 0, 3, 1, true);     /* everything at once */
    for (int t = 0; t < 25; t++) {
        int groups = irand(1, 3), C = groups * irand(1, 3), O = groups * irand(1, 3);
        int KH = irand(1, 4), KW = irand(1, 4), dh = irand(1, 2), dw = irand(1, 2);
        int pt = irand(0, 2), pl = irand(0, 2), pb = irand(0, 2), pr = irand(0, 2);
        int H = dh * (KH - 1) + 1 - pt - pb + irand(0, 6), W = dw * (KW - 1) + 1 - pl - pr + irand(0, 6);
        if (H < 1) H = 1;
        if (W < 1) W = 1;
        if (H + pt + pb < dh * (KH - 1) + 1) pb += dh * (KH - 1) + 1 - (H + pt + pb);
        if (W + pl + pr < dw * (KW - 1) + 1) pr += dw * (KW - 1) + 1 - (W + pl + pr);
        conv_case(irand(1, 3), C, H, W, O, KH, KW, groups, irand(1, 3), irand(1, 3), pt, pl, pb, pr, dh, dw,
                  irand(0, 1));
    }
}

/* Fused epilogues: act(conv + b + residual) and act after linear / add. */
static void test_fused_epilogue(void **st)
{
    (void)st;
    IrAttrs a = ir_attrs_default();
    a.pad[0] = a.pad[1] = a.pad[2] = a.pad[3] = 1;
    Shape sh[4] = {shp(4, 2, 3, 5, 5), shp(4, 4, 3, 3, 3), shp(1, 4), shp(4, 2, 4, 5, 5)};
    Run plain, fused;
    run_op(&plain, IR_CONV2D, sh, 3, &a, NULL);
    float *given[4] = {plain.in[0], plain.in[1], plain.in[2], NULL};
    a.act = IR_LEAKY_RELU;
    a.act_alpha = 0.1f;
    run_op(&fused, IR_CONV2D, sh, 4, &a, given);
    int64_t n = shape_numel(&sh[3]);
    float *want = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        float v = plain.out[i] + fused.in[3][i];
        want[i] = v < 0 ? 0.1f * v : v;
    }
    check_close(fused.out, want, n, 1e-5f, "conv + residual + leaky_relu");
    free(want);
    run_free(&fused, given);
    run_free(&plain, NULL);

    Shape ab[2] = {shp(2, 3, 4), shp(1, 4)};
    a = ir_attrs_default();
    a.act = IR_RELU6;
    Run r;
    run_op(&r, IR_ADD, ab, 2, &a, NULL);
    for (int i = 0; i < 12; i++) {
        float s = r.in[0][i] + r.in[1][i % 4];
        assert_float_equal(r.out[i], s < 0 ? 0 : s > 6 ? 6 : s, 1e-6);
    }
    run_free(&r, NULL);
}

/* ---------------- linear and matmul ---------------- */

static void test_linear(void **st)
{
    (void)st;
    int cases[][4] = {{1, 1, 5, 3}, {2, 3, 7, 4}, {4, 1, 1, 1}};
    for (int t = 0; t < 3; t++) {
        int A = cases[t][0], B = cases[t][1], I = cases[t][2], O = cases[t][3];
        Shape sh[3] = {shp(3, A, B, I), shp(2, O, I), shp(1, O)};
        for (int bias = 0; bias < 2; bias++) {
            Run r;
            run_op(&r, IR_LINEAR, sh, 2 + bias, NULL, NULL);
            /* y = x w^T via the transposed weight, accumulated axpy-style */
            int rows = A * B;
            float *wt = malloc(sizeof(float) * (size_t)(I * O)), *want = calloc((size_t)(rows * O), sizeof(float));
            for (int o = 0; o < O; o++)
                for (int i = 0; i < I; i++) wt[i * O + o] = r.in[1][o * I + i];
            for (int rr = 0; rr < rows; rr++) {
                for (int o = 0; o < O; o++) want[rr * O + o] = bias ? r.in[2][o] : 0.0f;
                for (int i = 0; i < I; i++)
                    for (int o = 0; o < O; o++) want[rr * O + o] += r.in[0][rr * I + i] * wt[i * O + o];
            }
            check_close(r.out, want, rows * O, 1e-5f, "linear");
            free(wt);
            free(want);
            run_free(&r, NULL);
        }
    }
}

/* Offset of an output batch multi-index in a broadcast operand with the given batch dims. */
static int64_t bat_off(const int64_t *idx, int r, const Shape *s, int sr)
{
    int64_t off = 0;
    for (int k = 0; k < sr; k++) {
        int64_t i = idx[r - sr + k];
        off = off * s->d[k] + (s->d[k] == 1 ? 0 : i);
    }
    return off;
}

static void matmul_case(Shape as, Shape bs)
{
    Shape sh[2] = {as, bs};
    Run r;
    run_op(&r, IR_MATMUL, sh, 2, NULL, NULL);
    /* promote 1-D operands, then walk output batch indices */
    Shape A = as, B = bs;
    if (A.rank == 1) A = shp(2, 1, (int)as.d[0]);
    if (B.rank == 1) B = shp(2, (int)bs.d[0], 1);
    int64_t M = A.d[A.rank - 2], K = A.d[A.rank - 1], N = B.d[B.rank - 1];
    Shape Ab = A, Bb = B;
    Ab.rank -= 2;
    Bb.rank -= 2;
    int r_ = Ab.rank > Bb.rank ? Ab.rank : Bb.rank;
    int64_t bd[8], nb = 1;
    for (int k = 0; k < r_; k++) {
        int ia = Ab.rank - r_ + k, ib = Bb.rank - r_ + k;
        int64_t da = ia >= 0 ? Ab.d[ia] : 1, db = ib >= 0 ? Bb.d[ib] : 1;
        bd[k] = da > db ? da : db;
        nb *= bd[k];
    }
    assert_int_equal(shape_numel(&r.n->out->shape), nb * M * N);
    float *want = malloc(sizeof(float) * (size_t)(nb * M * N + 1));
    for (int64_t t = 0; t < nb; t++) {
        int64_t idx[8], rem = t;
        for (int k = r_ - 1; k >= 0; k--) { idx[k] = rem % bd[k]; rem /= bd[k]; }
        int64_t oa = bat_off(idx, r_, &Ab, Ab.rank), ob = bat_off(idx, r_, &Bb, Bb.rank);
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                float s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += r.in[0][(oa * M + m) * K + k] * r.in[1][(ob * K + k) * N + n];
                want[(t * M + m) * N + n] = s;
            }
    }
    check_close(r.out, want, nb * M * N, 1e-5f, "matmul");
    free(want);
    run_free(&r, NULL);
}

static void test_matmul(void **st)
{
    (void)st;
    matmul_case(shp(2, 3, 4), shp(2, 4, 5));
    matmul_case(shp(1, 4), shp(1, 4));
    matmul_case(shp(1, 4), shp(3, 2, 4, 5));
    matmul_case(shp(3, 2, 3, 4), shp(1, 4));
    matmul_case(shp(4, 2, 1, 3, 4), shp(3, 3, 4, 2));
    matmul_case(shp(3, 1, 3, 4), shp(3, 5, 4, 2));
    matmul_case(shp(2, 1, 1), shp(3, 2, 1, 6));
}

/* ---------------- pooling: explicit padded buffers ---------------- */

static void pool_case(IrOp op, Shape xs, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, bool cip)
{
    IrAttrs a = ir_attrs_default();
    a.kernel[0] = kh; a.kernel[1] = kw;
    a.stride[0] = sh; a.stride[1] = sw;
    a.pad[0] = pt; a.pad[1] = pl; a.pad[2] = pb; a.pad[3] = pr;
    a.count_include_pad = cip;
    Run r;
    run_op(&r, op, &xs, 1, &a, NULL);
    int64_t NC = xs.d[0] * xs.d[1], H = xs.d[2], W = xs.d[3], PH = H + pt + pb, PW = W + pl + pr;
    int64_t OH = (PH - kh) / sh + 1, OW = (PW - kw) / sw + 1;
    assert_int_equal(r.n->out->shape.d[2], OH);
    assert_int_equal(r.n->out->shape.d[3], OW);
    float *padded = malloc(sizeof(float) * (size_t)(NC * PH * PW)), *mask = malloc(sizeof(float) * (size_t)(PH * PW));
    float *want = malloc(sizeof(float) * (size_t)(NC * OH * OW));
    for (int64_t i = 0; i < PH; i++)
        for (int64_t j = 0; j < PW; j++)
            mask[i * PW + j] = (i >= pt && i < pt + H && j >= pl && j < pl + W) ? 1.0f : 0.0f;
    for (int64_t p = 0; p < NC; p++)
        for (int64_t i = 0; i < PH; i++)
            for (int64_t j = 0; j < PW; j++)
                padded[(p * PH + i) * PW + j] = mask[i * PW + j] != 0
                    ? r.in[0][(p * H + i - pt) * W + j - pl]
                    : (op == IR_MAX_POOL2D ? -INFINITY : 0.0f);
    for (int64_t p = 0; p < NC; p++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                float acc = op == IR_MAX_POOL2D ? -INFINITY : 0.0f, cnt = 0;
                for (int i = 0; i < kh; i++)
                    for (int j = 0; j < kw; j++) {
                        int64_t ii = oh * sh + i, jj = ow * sw + j;
                        float v = padded[(p * PH + ii) * PW + jj];
                        acc = op == IR_MAX_POOL2D ? fmaxf(acc, v) : acc + v;
                        cnt += mask[ii * PW + jj];
                    }
                if (op == IR_AVG_POOL2D) acc /= cip ? (float)(kh * kw) : cnt;
                want[(p * OH + oh) * OW + ow] = acc;
            }
    check_close(r.out, want, NC * OH * OW, 1e-5f, op == IR_MAX_POOL2D ? "max_pool2d" : "avg_pool2d");
    free(padded);
    free(mask);
    free(want);
    run_free(&r, NULL);
}

static void test_pool(void **st)
{
    (void)st;
    for (int t = 0; t < 40; t++) {
        int kh = irand(1, 3), kw = irand(1, 3);
        int pt = irand(0, kh / 2), pl = irand(0, kw / 2), pb = irand(0, kh / 2), pr = irand(0, kw / 2);
        Shape xs = shp(4, irand(1, 2), irand(1, 3), irand(kh, 7), irand(kw, 7));
        pool_case(t % 2 ? IR_MAX_POOL2D : IR_AVG_POOL2D, xs, kh, kw, irand(1, 3), irand(1, 3), pt, pl, pb, pr,
                  irand(0, 1));
    }
    pool_case(IR_MAX_POOL2D, shp(4, 2, 3, 1, 1), 1, 1, 2, 2, 0, 0, 0, 0, false);   /* single pixel */
    pool_case(IR_AVG_POOL2D, shp(4, 1, 2, 5, 5), 2, 2, 3, 3, 0, 0, 0, 0, false);   /* stride > kernel */
}

/* Hand-computed: x = [[1, 2], [3, 4]], 2x2 window, stride 1, pad 1 everywhere -> 3x3. */
static void test_avg_pool_modes(void **st)
{
    (void)st;
    float x[4] = {1, 2, 3, 4};
    Shape xs = shp(4, 1, 1, 2, 2);
    float *given[1] = {x};
    IrAttrs a = ir_attrs_default();
    a.kernel[0] = a.kernel[1] = 2;
    for (int i = 0; i < 4; i++) a.pad[i] = 1;
    a.count_include_pad = true;   /* PyTorch: always / 4 */
    Run r;
    run_op(&r, IR_AVG_POOL2D, &xs, 1, &a, given);
    float torch[9] = {0.25f, 0.75f, 0.5f, 1.0f, 2.5f, 1.5f, 0.75f, 1.75f, 1.0f};
    check_close(r.out, torch, 9, 1e-6f, "avg count_include_pad");
    run_free(&r, given);
    a.count_include_pad = false;  /* MegEngine: / in-bounds count */
    run_op(&r, IR_AVG_POOL2D, &xs, 1, &a, given);
    float mge[9] = {1, 1.5f, 2, 2, 2.5f, 3, 3, 3.5f, 4};
    check_close(r.out, mge, 9, 1e-6f, "avg exclude pad");
    run_free(&r, given);
    /* asymmetric padding matters: only bottom/right */
    a.pad[0] = a.pad[1] = 0;
    run_op(&r, IR_AVG_POOL2D, &xs, 1, &a, given);
    float br[4] = {2.5f, 3, 3.5f, 4};
    check_close(r.out, br, 4, 1e-6f, "avg bottom/right pad");
    run_free(&r, given);
    /* global pool fused with flatten: [1, 1] of the same values */
    a = ir_attrs_default();
    a.kernel[0] = a.kernel[1] = 2;
    a.flatten = true;
    run_op(&r, IR_MAX_POOL2D, &xs, 1, &a, given);
    assert_int_equal(r.n->out->shape.rank, 2);
    assert_float_equal(r.out[0], 4.0f, 0);
    run_free(&r, given);
}

/* ---------------- elementwise ---------------- */

static double ref_unary(IrOp op, double x, double alpha)
{
    switch (op) {
    case IR_RELU: return x < 0 ? 0 : x;
    case IR_RELU6: return fmin(fmax(x, 0), 6);
    case IR_SIGMOID: return 0.5 * (1 + tanh(x / 2));
    case IR_SILU: return x * 0.5 * (1 + tanh(x / 2));
    case IR_GELU: return 0.5 * x * erfc(-x / sqrt(2.0));
    case IR_HSWISH: return x <= -3 ? 0 : x >= 3 ? x : x * (x + 3) / 6;
    case IR_HSIGMOID: return x <= -3 ? 0 : x >= 3 ? 1 : (x + 3) / 6;
    case IR_LEAKY_RELU: return x < 0 ? alpha * x : x;
    case IR_TANH: return (exp(2 * x) - 1) / (exp(2 * x) + 1);
    case IR_ELU: return x < 0 ? alpha * (exp(x) - 1) : x;
    case IR_NEG: return -x;
    case IR_SQRT: return pow(x, 0.5);
    case IR_EXP: return pow(M_E, x);
    case IR_LOGICAL_NOT: return x ? 0 : 1;   /* x[2] is 0: both outcomes are covered */
    case IR_TRUNC: return x < 0 ? ceil(x) : floor(x);
    default: return x;   /* dropout, identity */
    }
}

static void test_unary(void **st)
{
    (void)st;
    Shape xs = shp(3, 2, 3, 17);
    for (int op = 0; op < IR_OP_COUNT; op++) {
        if (ir_op_info[op].kind != OPK_ELEMWISE) continue;
        float *x = rand_buf(102);
        for (int i = 0; i < 102; i++) x[i] *= 5.0f;   /* cover both sides of +-3 */
        x[0] = -3; x[1] = 3; x[2] = 0;
        if (op == IR_SQRT)
            for (int i = 0; i < 102; i++) x[i] = fabsf(x[i]);
        IrAttrs a = ir_attrs_default();
        a.alpha = 0.3f;
        float *given[1] = {x};
        Run r;
        run_op(&r, (IrOp)op, &xs, 1, &a, given);
        float want[102];
        for (int i = 0; i < 102; i++) want[i] = (float)ref_unary((IrOp)op, x[i], 0.3);
        check_close(r.out, want, 102, 2e-6f, ir_op_info[op].name);
        run_free(&r, given);
        free(x);
    }
}

static double ref_binary(IrOp op, double a, double b)
{
    switch (op) {
    case IR_ADD: return a + b;
    case IR_SUB: return a - b;
    case IR_MUL: return a * b;
    case IR_DIV: return a / b;
    case IR_POW: return pow(a, b);
    case IR_MAXIMUM: return fmax(a, b);
    case IR_MINIMUM: return fmin(a, b);
    /* masks: a comparison is true or false, written as an if on doubles */
    case IR_EQUAL: if (a == b) return 1; return 0;
    case IR_NOT_EQUAL: if (a == b) return 0; return 1;
    case IR_LESS: if (b - a > 0) return 1; return 0;
    case IR_LESS_EQUAL: if (b - a >= 0) return 1; return 0;
    case IR_GREATER: if (a - b > 0) return 1; return 0;
    case IR_GREATER_EQUAL: if (a - b >= 0) return 1; return 0;
    case IR_LOGICAL_AND: return (a ? 1 : 0) * (b ? 1 : 0);
    case IR_LOGICAL_OR: return fmax(a ? 1 : 0, b ? 1 : 0);
    case IR_LOGICAL_XOR: return fabs((a ? 1.0 : 0.0) - (b ? 1.0 : 0.0));
    default: fail_msg("ref_binary: no formula for %s", ir_op_info[op].name); return 0;
    }
}

static void test_binary(void **st)
{
    (void)st;
    Shape pairs[][2] = {{shp(4, 2, 3, 4, 5), shp(4, 2, 3, 4, 5)}, {shp(4, 2, 3, 4, 5), shp(3, 3, 1, 5)},
                        {shp(2, 4, 1), shp(3, 3, 1, 6)}, {shp(0), shp(2, 3, 2)}, {shp(3, 2, 1, 4), shp(0)}};
    for (int op = 0; op < IR_OP_COUNT; op++)
        for (int t = 0; t < 5; t++) {
            if (ir_op_info[op].kind != OPK_BROADCAST) break;
            Shape *sh = pairs[t];
            float *given[2] = {NULL, NULL};
            if (op == IR_POW) {   /* positive bases */
                given[0] = rand_buf(shape_numel(&sh[0]));
                for (int64_t i = 0; i < shape_numel(&sh[0]); i++) given[0][i] = fabsf(given[0][i]) + 0.1f;
            }
            if (op >= IR_EQUAL) {   /* comparisons and logic: few distinct values, so ties and zeros occur */
                for (int s = 0; s < 2; s++) {
                    given[s] = rand_buf(shape_numel(&sh[s]));
                    for (int64_t i = 0; i < shape_numel(&sh[s]); i++) given[s][i] = roundf(given[s][i] * 1.4f);
                }
            }
            Run r;
            run_op(&r, (IrOp)op, sh, 2, NULL, given);
            const Shape *ys = &r.n->out->shape;
            int64_t n = shape_numel(ys);
            float *want = malloc(sizeof(float) * (size_t)n);
            for (int64_t i = 0; i < n; i++) {
                /* multi-index of i, then each operand's own index with size-1 dims pinned */
                int64_t idx[8], rem = i;
                for (int k = ys->rank - 1; k >= 0; k--) { idx[k] = rem % ys->d[k]; rem /= ys->d[k]; }
                int64_t off[2] = {0, 0};
                for (int s = 0; s < 2; s++)
                    for (int k = 0; k < sh[s].rank; k++) {
                        int64_t j = idx[ys->rank - sh[s].rank + k];
                        off[s] = off[s] * sh[s].d[k] + j % sh[s].d[k];
                    }
                want[i] = (float)ref_binary((IrOp)op, r.in[0][off[0]], r.in[1][off[1]]);
            }
            check_close(r.out, want, n, op >= IR_EQUAL ? 0 : 1e-5f, ir_op_info[op].name);
            free(want);
            run_free(&r, given);
            free(given[0]);
            if (op >= IR_EQUAL) free(given[1]);
        }
    /* NaN: unequal to everything (even itself), true as a logic operand */
    float nan_a[1] = {NAN}, nan_b[1] = {NAN};
    IrOp cmp[] = {IR_EQUAL, IR_NOT_EQUAL, IR_LESS, IR_LESS_EQUAL, IR_GREATER, IR_GREATER_EQUAL, IR_LOGICAL_AND,
                  IR_LOGICAL_OR, IR_LOGICAL_XOR};
    float want_nan[] = {0, 1, 0, 0, 0, 0, 1, 1, 0};
    for (int k = 0; k < 9; k++) {
        float *given[2] = {nan_a, nan_b};
        Shape one[2] = {shp(1, 1), shp(1, 1)};
        Run r;
        run_op(&r, cmp[k], one, 2, NULL, given);
        assert_float_equal(r.out[0], want_nan[k], 0);
        run_free(&r, given);
    }
}

/* where: out = mask ? x : y by a multi-index loop over the broadcast result; a NaN or
 * inf in the unchosen operand stays out */
static void test_where(void **st)
{
    (void)st;
    Shape cases[][3] = {{shp(2, 3, 4), shp(2, 3, 4), shp(2, 3, 4)},
                        {shp(3, 1, 3, 1), shp(2, 1, 4), shp(0)},
                        {shp(1, 4), shp(3, 2, 1, 1), shp(2, 2, 4)}};
    Shape outs[] = {shp(2, 3, 4), shp(3, 1, 3, 4), shp(3, 2, 2, 4)};
    for (int t = 0; t < 3; t++) {
        Shape *sh = cases[t];
        float *given[3] = {rand_buf(shape_numel(&sh[0])), rand_buf(shape_numel(&sh[1])), rand_buf(shape_numel(&sh[2]))};
        for (int64_t i = 0; i < shape_numel(&sh[0]); i++) given[0][i] = given[0][i] > 0;
        given[1][0] = NAN;
        given[2][0] = INFINITY;
        Run r;
        run_op(&r, IR_WHERE, sh, 3, NULL, given);
        const Shape *ys = &r.n->out->shape;
        assert_true(shape_eq(ys, &outs[t]));
        for (int64_t i = 0; i < shape_numel(ys); i++) {
            int64_t idx[8], rem = i, off[3] = {0, 0, 0};
            for (int k = ys->rank - 1; k >= 0; k--) { idx[k] = rem % ys->d[k]; rem /= ys->d[k]; }
            for (int s = 0; s < 3; s++)
                for (int k = 0; k < sh[s].rank; k++)
                    off[s] = off[s] * sh[s].d[k] + idx[ys->rank - sh[s].rank + k] % sh[s].d[k];
            float want = given[0][off[0]] == 1.0f ? given[1][off[1]] : given[2][off[2]];
            if (isnan(want)) assert_true(isnan(r.out[i]));
            else assert_float_equal(r.out[i], want, 0);
        }
        run_free(&r, given);
        for (int s = 0; s < 3; s++) free(given[s]);
    }
}

/* gather on each axis of a 3-D input, written out as torch.gather's formula with an
 * index smaller than the input off the axis; bad indices are reported, not read */
static void test_gather(void **st)
{
    (void)st;
    Shape xs = shp(3, 4, 5, 6);
    for (int axis = 0; axis < 3; axis++) {
        Shape is = shp(3, 3, 4, 2);
        int64_t d = xs.d[axis], n = shape_numel(&is);
        float *idx = malloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) idx[i] = (float)(irand(0, 2 * (int)d - 1) - (int)d);   /* [-d, d) */
        float *given[2] = {NULL, idx};
        IrAttrs a = ir_attrs_default();
        a.axis = axis - 3;   /* negative: normalised by the builder */
        Run r;
        run_op(&r, IR_GATHER, (Shape[]){xs, is}, 2, &a, given);
        assert_int_equal(r.n->attrs.axis, axis);
        assert_true(shape_eq(&r.n->out->shape, &is));
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 2; k++) {
                    int64_t q = (i * 4 + j) * 2 + k, v = (int64_t)idx[q];
                    if (v < 0) v += d;
                    int64_t c[3] = {i, j, k};
                    c[axis] = v;
                    assert_float_equal(r.out[q], r.in[0][(c[0] * 5 + c[1]) * 6 + c[2]], 0);
                }
        KernFault f;
        assert_true(kern_run_node_checked(r.n, (const float *const *)r.in, r.out, &f));
        idx[5] = (float)d;          /* one past the end */
        idx[7] = 0.5f;              /* not a whole number */
        idx[9] = NAN;
        assert_false(kern_run_node_checked(r.n, (const float *const *)r.in, r.out, &f));
        assert_int_equal(f.count, 3);
        assert_float_equal(f.value, (float)d, 0);
        char msg[200];
        kern_fault_str(r.n, &f, msg, sizeof msg);
        char want[200];
        snprintf(want, sizeof want, "gather: index %d is out of range for axis %d of size %d (and 2 more)", (int)d,
                 axis, (int)d);
        assert_string_equal(msg, want);
        run_free(&r, given);
        free(idx);
    }
}

static void test_softmax(void **st)
{
    (void)st;
    Shape xs = shp(3, 2, 5, 3);
    for (int axis = -3; axis < 3; axis++) {
        IrAttrs a = ir_attrs_default();
        a.axis = axis;
        float *x = rand_buf(30);
        x[0] = 1000.0f;   /* stability: exp(1000) overflows without the max shift */
        float *given[1] = {x};
        Run r;
        run_op(&r, IR_SOFTMAX, &xs, 1, &a, given);
        int ax = axis < 0 ? axis + 3 : axis;
        int64_t st_[3] = {15, 3, 1};
        float want[30];
        for (int i = 0; i < 30; i++) {
            int64_t base = i - ((i / st_[ax]) % xs.d[ax]) * st_[ax];
            double m = -INFINITY, lse = 0;
            for (int k = 0; k < xs.d[ax]; k++) m = fmax(m, x[base + k * st_[ax]]);
            for (int k = 0; k < xs.d[ax]; k++) lse += exp(x[base + k * st_[ax]] - m);
            want[i] = (float)exp(x[i] - m - log(lse));
        }
        check_close(r.out, want, 30, 1e-5f, "softmax");
        run_free(&r, given);
        free(x);
    }
}

/* ---------------- normalisation ---------------- */

static void test_norms(void **st)
{
    (void)st;
    Shape shapes[] = {shp(2, 3, 4), shp(4, 2, 4, 3, 5), shp(5, 1, 2, 2, 1, 3)};
    for (int t = 0; t < 3; t++) {
        Shape xs = shapes[t], cs = shp(1, (int)xs.d[1]);
        Shape sh[5] = {xs, cs, cs, cs, cs};
        int64_t C = xs.d[1], inner = shape_numel(&xs) / xs.d[0] / C;
        float *var = rand_buf(C);
        for (int c = 0; c < C; c++) var[c] = fabsf(var[c]) + 0.1f;
        float *given[5] = {NULL, NULL, NULL, NULL, var};
        IrAttrs a = ir_attrs_default();
        a.eps = 1e-3f;
        Run r;
        run_op(&r, IR_BATCH_NORM, sh, 5, &a, given);
        int64_t n = shape_numel(&xs);
        float *want = malloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            int64_t c = (i / inner) % C;
            want[i] = (r.in[0][i] - r.in[3][c]) / sqrtf(var[c] + 1e-3f) * r.in[1][c] + r.in[2][c];
        }
        check_close(r.out, want, n, 1e-5f, "batch_norm");
        run_free(&r, given);
        run_op(&r, IR_SCALE_SHIFT, sh, 3, NULL, NULL);
        for (int64_t i = 0; i < n; i++) {
            int64_t c = (i / inner) % C;
            want[i] = r.in[0][i] * r.in[1][c] + r.in[2][c];
        }
        check_close(r.out, want, n, 1e-6f, "scale_shift");
        run_free(&r, NULL);
        free(want);
        free(var);
    }
    /* layer_norm over the last 2 dims of [3, 4, 5], with and without affine */
    Shape xs = shp(3, 3, 4, 5), ns = shp(2, 4, 5);
    Shape sh[3] = {xs, ns, ns};
    for (int k = 1; k <= 3; k += 2) {
        IrAttrs a = ir_attrs_default();
        a.n_axes = 2;
        Run r;
        run_op(&r, IR_LAYER_NORM, sh, k, &a, NULL);
        float want[60];
        for (int row = 0; row < 3; row++) {
            const float *p = r.in[0] + row * 20;
            double s = 0, s2 = 0;
            for (int i = 0; i < 20; i++) { s += p[i]; s2 += (double)p[i] * p[i]; }
            double mean = s / 20, var = s2 / 20 - mean * mean;   /* E[x^2] - E[x]^2 */
            for (int i = 0; i < 20; i++) {
                double v = (p[i] - mean) / sqrt(var + 1e-5);
                if (k == 3) v = v * r.in[1][i] + r.in[2][i];
                want[row * 20 + i] = (float)v;
            }
        }
        check_close(r.out, want, 60, 1e-4f, "layer_norm");
        run_free(&r, NULL);
    }
}

/* ---------------- reductions and data movement ---------------- */

static void test_reduce(void **st)
{
    (void)st;
    Shape xs = shp(4, 2, 3, 4, 5);
    int axsets[][4] = {{1, 1}, {2, -1, 0}, {3, 0, 2, 3}, {1, -3}};
    for (int op = IR_REDUCE_MEAN; op <= IR_REDUCE_MIN; op++)
        for (int t = 0; t < 4; t++)
            for (int keep = 0; keep < 2; keep++) {
                IrAttrs a = ir_attrs_default();
                a.n_axes = axsets[t][0];
                bool red[4] = {0};
                for (int i = 0; i < a.n_axes; i++) {
                    a.axes[i] = axsets[t][1 + i];
                    red[(a.axes[i] + 4) % 4] = true;
                }
                a.keepdim = keep;
                Run r;
                run_op(&r, (IrOp)op, &xs, 1, &a, NULL);
                int64_t n = shape_numel(&r.n->out->shape);
                float *want = malloc(sizeof(float) * (size_t)n);
                /* walk output cells in order; for each, scan the whole input for members */
                int64_t cell = 0;
                for (int i0 = 0; i0 < (red[0] ? 1 : 2); i0++)
                    for (int i1 = 0; i1 < (red[1] ? 1 : 3); i1++)
                        for (int i2 = 0; i2 < (red[2] ? 1 : 4); i2++)
                            for (int i3 = 0; i3 < (red[3] ? 1 : 5); i3++) {
                                double acc = op == IR_REDUCE_MAX ? -1e30 : op == IR_REDUCE_MIN ? 1e30 : 0;
                                int cnt = 0;
                                for (int j = 0; j < 120; j++) {
                                    int j0 = j / 60, j1 = j / 20 % 3, j2 = j / 5 % 4, j3 = j % 5;
                                    if ((!red[0] && j0 != i0) || (!red[1] && j1 != i1) ||
                                        (!red[2] && j2 != i2) || (!red[3] && j3 != i3))
                                        continue;
                                    double v = r.in[0][j];
                                    acc = op == IR_REDUCE_MAX ? fmax(acc, v) : op == IR_REDUCE_MIN ? fmin(acc, v) : acc + v;
                                    cnt++;
                                }
                                want[cell++] = (float)(op == IR_REDUCE_MEAN ? acc / cnt : acc);
                            }
                assert_int_equal(cell, n);
                check_close(r.out, want, n, 1e-5f, ir_op_info[op].name);
                free(want);
                run_free(&r, NULL);
            }
}

static void test_data_movement(void **st)
{
    (void)st;
    /* x[i] = i makes every expected value an index computation. */
    float x[120];
    for (int i = 0; i < 120; i++) x[i] = (float)i;
    float *given[3] = {x, x, x};
    Shape xs = shp(4, 2, 3, 4, 5);
    Run r;

    IrAttrs a = ir_attrs_default();
    a.perm[0] = 2; a.perm[1] = 0; a.perm[2] = 3; a.perm[3] = 1;   /* y[c][a][d][b] = x[a][b][c][d] */
    run_op(&r, IR_TRANSPOSE, &xs, 1, &a, given);
    for (int A = 0; A < 2; A++) for (int B = 0; B < 3; B++) for (int C = 0; C < 4; C++) for (int D = 0; D < 5; D++)
        assert_float_equal(r.out[((C * 2 + A) * 5 + D) * 3 + B], x[((A * 3 + B) * 4 + C) * 5 + D], 0);
    run_free(&r, given);

    a = ir_attrs_default();
    a.shape = shp(2, 6, 20);
    run_op(&r, IR_RESHAPE, &xs, 1, &a, given);
    check_close(r.out, x, 120, 0, "reshape");
    run_free(&r, given);

    Shape cs[3] = {shp(3, 2, 1, 3), shp(3, 2, 2, 3), shp(3, 2, 3, 3)};
    a = ir_attrs_default();
    a.axis = 1;
    run_op(&r, IR_CONCAT, cs, 3, &a, given);
    /* row-wise: output [2, 6, 3]: rows 0 from in0, 1-2 from in1, 3-5 from in2 */
    for (int n = 0; n < 2; n++)
        for (int row = 0; row < 6; row++)
            for (int c = 0; c < 3; c++) {
                int src = row < 1 ? 0 : row < 3 ? 1 : 2, lr = row < 1 ? row : row < 3 ? row - 1 : row - 3;
                int h = (int)cs[src].d[1];
                assert_float_equal(r.out[(n * 6 + row) * 3 + c], x[(n * h + lr) * 3 + c], 0);
            }
    run_free(&r, given);

    a = ir_attrs_default();
    int64_t b[4] = {1, 0, 1, -4}, e[4] = {2, 3, 4, 5}, s[4] = {1, 2, 2, 3};
    for (int i = 0; i < 4; i++) { a.begin[i] = b[i]; a.end[i] = e[i]; a.step[i] = s[i]; }
    run_op(&r, IR_SLICE, &xs, 1, &a, given);   /* [1, 2, 2, 2]: b 0,2; c 1,3; d 1,4 */
    assert_true(shape_eq(&r.n->out->shape, &(Shape){4, {1, 2, 2, 2}}));
    int k = 0;
    for (int B = 0; B < 3; B += 2) for (int C = 1; C < 4; C += 2) for (int D = 1; D < 5; D += 3)
        assert_float_equal(r.out[k++], x[((1 * 3 + B) * 4 + C) * 5 + D], 0);
    run_free(&r, given);

    a = ir_attrs_default();
    a.pads[2] = 1; a.pads[3] = 0; a.pads[6] = 2; a.pads[7] = 1;
    a.value = -7;
    run_op(&r, IR_PAD, &xs, 1, &a, given);   /* [2, 4, 4, 8] */
    for (int A = 0; A < 2; A++) for (int B = 0; B < 4; B++) for (int C = 0; C < 4; C++) for (int D = 0; D < 8; D++) {
        bool in = B >= 1 && D >= 2 && D < 7;
        float want = in ? x[((A * 3 + B - 1) * 4 + C) * 5 + D - 2] : -7;
        assert_float_equal(r.out[((A * 4 + B) * 4 + C) * 8 + D], want, 0);
    }
    run_free(&r, given);

    a = ir_attrs_default();
    a.shifts[0] = 1; a.shifts[2] = -1; a.shifts[3] = 7;
    run_op(&r, IR_ROLL, &xs, 1, &a, given);
    for (int A = 0; A < 2; A++) for (int B = 0; B < 3; B++) for (int C = 0; C < 4; C++) for (int D = 0; D < 5; D++) {
        int sa = (A - 1 + 2) % 2, sc = (C + 1) % 4, sd = ((D - 7) % 5 + 5) % 5;   /* out[i] = in[i - shift] */
        assert_float_equal(r.out[((A * 3 + B) * 4 + C) * 5 + D], x[((sa * 3 + B) * 4 + sc) * 5 + sd], 0);
    }
    run_free(&r, given);

    /* nearest: src = floor(dst * in / out), up and down */
    int sizes[][4] = {{4, 5, 8, 10}, {4, 5, 6, 7}, {4, 5, 2, 3}, {4, 5, 4, 5}};
    for (int t = 0; t < 4; t++) {
        Shape us = shp(4, 2, 3, sizes[t][0], sizes[t][1]);
        a = ir_attrs_default();
        int OH = sizes[t][2], OW = sizes[t][3];
        a.shape = shp(4, 2, 3, OH, OW);
        run_op(&r, IR_UPSAMPLE_NEAREST, &us, 1, &a, given);
        for (int p = 0; p < 6; p++) for (int oh = 0; oh < OH; oh++) for (int ow = 0; ow < OW; ow++)
            assert_float_equal(r.out[(p * OH + oh) * OW + ow], x[(p * 4 + oh * 4 / OH) * 5 + ow * 5 / OW], 0);
        run_free(&r, given);
    }
}

/* take: y[a, i, j, c] = x[a, idx[i, j], c], written out by hand; negative indices count
 * from the end; out-of-range ones are faults (clamped, counted, reported). */
static void test_take(void **st)
{
    Shape xs = shp(3, 2, 5, 3), is = shp(2, 2, 3);
    float idx[6] = {0, 4, 2, -1, -5, 3};
    int want_row[6] = {0, 4, 2, 4, 0, 3};
    float *given[2] = {NULL, idx};
    IrAttrs a = ir_attrs_default();
    a.axis = 1;
    Run r;
    run_op(&r, IR_TAKE, (Shape[]){xs, is}, 2, &a, given);
    assert_true(shape_eq(&r.n->out->shape, &(Shape){4, {2, 2, 3, 3}}));
    for (int A = 0; A < 2; A++)
        for (int k = 0; k < 6; k++)
            for (int c = 0; c < 3; c++)
                assert_float_equal(r.out[(A * 6 + k) * 3 + c], r.in[0][(A * 5 + want_row[k]) * 3 + c], 0);
    KernFault f;
    assert_true(kern_run_node_checked(r.n, (const float *const *)r.in, r.out, &f));
    assert_int_equal(f.count, 0);
    float bad[][2] = {{7, 7}, {-6, -6}, {2.5f, 2.5f}, {INFINITY, INFINITY}, {1e30f, 1e30f}};
    for (int b = 0; b < 5; b++) {
        idx[3] = bad[b][0];
        assert_false(kern_run_node_checked(r.n, (const float *const *)r.in, r.out, &f));
        assert_int_equal(f.count, 6);   /* once per element read through it: 2 x 3 */
        assert_float_equal(f.value, bad[b][1], 0);
        assert_int_equal(f.dim, 5);
    }
    char msg[200];
    idx[3] = 7;
    kern_run_node_checked(r.n, (const float *const *)r.in, r.out, &f);
    kern_fault_str(r.n, &f, msg, sizeof msg);
    assert_string_equal(msg, "take: index 7 is out of range for axis 1 of size 5 (and 5 more)");
    idx[3] = 2.5f;
    kern_run_node_checked(r.n, (const float *const *)r.in, r.out, &f);
    kern_fault_str(r.n, &f, msg, sizeof msg);
    assert_string_equal(msg, "take: index 2.5 is not a whole number (and 5 more)");
    run_free(&r, given);

    /* axis 0 of a table, as Swin's rel_pos_bias_table[rel_pos_index.reshape(-1)] */
    Shape ts = shp(2, 7, 2), js = shp(1, 4);
    float j2[4] = {6, 0, 3, 3};
    float *given2[2] = {NULL, j2};
    a.axis = -2;
    run_op(&r, IR_TAKE, (Shape[]){ts, js}, 2, &a, given2);
    assert_int_equal(r.n->attrs.axis, 0);
    for (int k = 0; k < 4; k++)
        for (int c = 0; c < 2; c++) assert_float_equal(r.out[k * 2 + c], r.in[0][(int)j2[k] * 2 + c], 0);
    run_free(&r, given2);
}

/* attention against the unfused ops it replaces: matmul(q, k^T), * alpha, + bias
 * (broadcast), softmax over the last axis, matmul with v */
static void test_attention(void **st)
{
    int B = 2, H = 3, M = 5, N = 7, D = 4, E = 6;
    Shape qs = shp(4, B, H, M, D), ks = shp(4, B, H, N, D), vs = shp(4, B, H, N, E), bs = shp(3, H, 1, N);
    Shape ms = shp(4, B, 1, M, N);   /* the mask: per batch index, shared by the heads */
    for (int with_bias = 0; with_bias < 3; with_bias++) {
        IrAttrs a = ir_attrs_default();
        a.alpha = 0.35f;
        Run r;
        run_op(&r, IR_ATTENTION, (Shape[]){qs, ks, vs, bs, ms}, 3 + with_bias, &a, NULL);
        assert_true(shape_eq(&r.n->out->shape, &(Shape){4, {B, H, M, E}}));
        float *kt = malloc(sizeof(float) * (size_t)(B * H * N * D)), *s = malloc(sizeof(float) * (size_t)(B * H * M * N));
        float *p = malloc(sizeof(float) * (size_t)(B * H * M * N)), *want = malloc(sizeof(float) * (size_t)(B * H * M * E));
        int64_t perm[4] = {0, 1, 3, 2};
        kern_transpose(r.in[1], &ks, perm, kt);
        Shape kts = shp(4, B, H, D, N), ss = shp(4, B, H, M, N);
        kern_matmul(r.in[0], &qs, kt, &kts, s, &ss);
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int m = 0; m < M; m++) for (int n = 0; n < N; n++) {
            float *e = &s[((b * H + h) * M + m) * N + n];
            *e = *e * a.alpha + (with_bias ? r.in[3][h * N + n] : 0) +
                 (with_bias > 1 ? r.in[4][(b * M + m) * N + n] : 0);
        }
        kern_softmax(s, &ss, 3, p);
        Shape ys = shp(4, B, H, M, E);
        kern_matmul(p, &ss, r.in[2], &vs, want, &ys);
        check_close(r.out, want, B * H * M * E, 1e-5f, "attention");
        free(kt), free(s), free(p), free(want);
        run_free(&r, NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_fused_epilogue),
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_avg_pool_modes),
        cmocka_unit_test(test_unary),
        cmocka_unit_test(test_binary),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_norms),
        cmocka_unit_test(test_reduce),
        cmocka_unit_test(test_data_movement),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_where),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_attention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
