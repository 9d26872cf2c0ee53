/* Reference kernels for the heavy ops: convolution, linear, matmul, pooling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/interp/kernels.h"
#include "support/oom.h"
#include "ir/shape_util.h"

/* First output column whose input column ow * s + off lies in [0, W), and one past the last. */
static void valid_cols(int64_t off, int64_t s, int64_t W, int64_t OW, int64_t *lo, int64_t *hi)
{
    *lo = off >= 0 ? 0 : (-off + s - 1) / s;
    *hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / s + 1;
    if (*hi > OW) *hi = OW;
    if (*lo > *hi) *lo = *hi;
}

/* Direct convolution, accumulated one kernel tap at a time into whole output rows
 * (the inner loop runs over contiguous output columns). */
void kern_conv2d(const float *x, const Shape *xs, const float *w, const Shape *ws, const float *b,
                 const IrAttrs *a, float *y, const Shape *ys)
{
    kern_conv2d_res(x, xs, w, ws, b, NULL, a, y, ys);
}

void kern_conv2d_res(const float *x, const Shape *xs, const float *w, const Shape *ws, const float *b,
                     const float *r, const IrAttrs *a, float *y, const Shape *ys)
{
    int64_t N = xs->d[0], C = xs->d[1], H = xs->d[2], W = xs->d[3];
    int64_t O = ws->d[0], CG = ws->d[1], KH = ws->d[2], KW = ws->d[3];
    int64_t OH = ys->d[2], OW = ys->d[3];
    int64_t G = a->groups, OG = O / G;
    int64_t sh = a->stride[0], sw = a->stride[1], dh = a->dilation[0], dw = a->dilation[1];
    /* The residual plane is saved before y's plane is written: r may be y itself (the
     * memory plan runs the residual add in place). Adding it last keeps the unfused
     * rounding, act(conv + b) + r -> act((conv + b) + r). */
    float *saved = NULL;
    if (r) {
        saved = bcl_xmalloc(sizeof(float) * (size_t)(OH * OW > 0 ? OH * OW : 1));
    }
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++) {
            int64_t g = o / OG;
            float *yp = y + (n * O + o) * OH * OW;
            if (r) memcpy(saved, r + (n * O + o) * OH * OW, sizeof(float) * (size_t)(OH * OW));
            for (int64_t i = 0; i < OH * OW; i++) yp[i] = b ? b[o] : 0.0f;
            for (int64_t c = 0; c < CG; c++) {
                const float *xp = x + (n * C + g * CG + c) * H * W;
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        float wv = w[((o * CG + c) * KH + kh) * KW + kw];
                        int64_t off = kw * dw - a->pad[1], lo, hi;   /* iw = ow * sw + off */
                        valid_cols(off, sw, W, OW, &lo, &hi);
                        for (int64_t oh = 0; oh < OH; oh++) {
                            int64_t ih = oh * sh - a->pad[0] + kh * dh;
                            if (ih < 0 || ih >= H) continue;
                            const float *xr = xp + ih * W + off;
                            float *yr = yp + oh * OW;
                            if (sw == 1)   /* the common case, written so it vectorises */
                                for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xr[ow];
                            else
                                for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xr[ow * sw];
                        }
                    }
            }
            if (r)
                for (int64_t i = 0; i < OH * OW; i++) yp[i] += saved[i];
        }
    free(saved);
}

void kern_linear(const float *x, const Shape *xs, const float *w, const Shape *ws, const float *b,
                 float *y)
{
    int64_t I = ws->d[1], O = ws->d[0], rows = 1;
    for (int i = 0; i < xs->rank - 1; i++) rows *= xs->d[i];
    for (int64_t r = 0; r < rows; r++)
        for (int64_t o = 0; o < O; o++) {
            double acc = b ? b[o] : 0.0;
            for (int64_t i = 0; i < I; i++) acc += (double)x[r * I + i] * w[o * I + i];
            y[r * O + o] = (float)acc;
        }
}

void kern_matmul(const float *a, const Shape *as, const float *b, const Shape *bs, float *y,
                 const Shape *ys)
{
    /* both as stacks of matrices, batch dims broadcast (the JIT plans the same layout) */
    IrMatmulLayout l;
    ir_matmul_layout(as, bs, &l);
    int64_t M = l.M, K = l.K, N = l.N, nbatch = l.n_batch;
    int r = l.batch_rank;
    const int64_t *bd = l.batch, *sa = l.a_stride, *sb = l.b_stride;
    (void)ys;
    for (int64_t t = 0; t < nbatch; t++) {
        int64_t rem = t, oa = 0, ob = 0;
        for (int i = r - 1; i >= 0; i--) {
            int64_t idx = rem % bd[i];
            rem /= bd[i];
            oa += idx * sa[i];
            ob += idx * sb[i];
        }
        for (int64_t m = 0; m < M; m++) {
            float *yr = y + (t * M + m) * N;   /* row m: sum over k of a[m, k] * b[k, :] */
            for (int64_t n = 0; n < N; n++) yr[n] = 0.0f;
            for (int64_t k = 0; k < K; k++) {
                float av = a[oa + m * K + k];
                const float *br = b + ob + k * N;
                for (int64_t n = 0; n < N; n++) yr[n] += av * br[n];
            }
        }
    }
}

void kern_pool2d(IrOp op, const float *x, const Shape *xs, const IrAttrs *a, float *y,
                 const Shape *ys)
{
    int64_t NC = xs->d[0] * xs->d[1], H = xs->d[2], W = xs->d[3];
    /* attrs.flatten gives a [N, C] result: the same data as [N, C, 1, 1] */
    int64_t OH = ys->rank == 4 ? ys->d[2] : 1, OW = ys->rank == 4 ? ys->d[3] : 1;
    for (int64_t p = 0; p < NC; p++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double sum = 0;
                float mx = -INFINITY;
                int64_t count = 0;
                for (int64_t kh = 0; kh < a->kernel[0]; kh++) {
                    int64_t ih = oh * a->stride[0] - a->pad[0] + kh;
                    if (ih < 0 || ih >= H) continue;
                    for (int64_t kw = 0; kw < a->kernel[1]; kw++) {
                        int64_t iw = ow * a->stride[1] - a->pad[1] + kw;
                        if (iw < 0 || iw >= W) continue;
                        float v = x[(p * H + ih) * W + iw];
                        sum += v;
                        if (v > mx || isnan(v)) mx = v;
                        count++;
                    }
                }
                float r;
                if (op == IR_MAX_POOL2D) {
                    r = count ? mx : 0.0f;   /* a window wholly in padding (PyTorch rejects it) */
                } else {
                    /* PyTorch divides by the whole window, MegEngine by the in-bounds part. */
                    int64_t div = a->count_include_pad ? a->kernel[0] * a->kernel[1] : count;
                    r = div ? (float)(sum / (double)div) : 0.0f;
                }
                y[(p * OH + oh) * OW + ow] = r;
            }
}

/* Strides of an operand of shape bs broadcast over the scores [batch..., M, N] of rank r
 * (0 on broadcast dims). */
static void score_strides(const Shape *bs, int r, int64_t *st)
{
    int64_t acc = 1;
    for (int i = 0; i < r; i++) st[i] = 0;
    for (int i = bs ? bs->rank - 1 : -1; i >= 0; i--) {
        st[r - bs->rank + i] = bs->d[i] == 1 ? 0 : acc;
        acc *= bs->d[i];
    }
}

void kern_attention(const float *q, const float *k, const float *v, const float *bias, const Shape *bs,
                    const float *mask, const Shape *ms, const Shape *qs, int64_t N, int64_t E, float alpha, float *y)
{
    int r = qs->rank;
    int64_t M = qs->d[r - 1 - 1], D = qs->d[r - 1], nb = 1;
    for (int i = 0; i < r - 2; i++) nb *= qs->d[i];
    int64_t bst[BCL_MAX_RANK], mst[BCL_MAX_RANK];
    score_strides(bias ? bs : NULL, r, bst);
    score_strides(mask ? ms : NULL, r, mst);
    double *s = bcl_malloc(sizeof(double) * (size_t)(N ? N : 1));
    for (int64_t b = 0; b < nb; b++) {
        int64_t boff = 0, moff = 0, rem = b;
        for (int i = r - 3; i >= 0; i--) {
            boff += (rem % qs->d[i]) * bst[i];
            moff += (rem % qs->d[i]) * mst[i];
            rem /= qs->d[i];
        }
        for (int64_t m = 0; m < M; m++) {
            const float *qr = q + (b * M + m) * D;
            double mx = -INFINITY, sum = 0;
            for (int64_t n = 0; n < N; n++) {
                const float *kr = k + (b * N + n) * D;
                double dot = 0;
                for (int64_t d = 0; d < D; d++) dot += (double)qr[d] * kr[d];
                s[n] = dot * alpha + (bias ? bias[boff + m * bst[r - 2] + n * bst[r - 1]] : 0.0) +
                       (mask ? mask[moff + m * mst[r - 2] + n * mst[r - 1]] : 0.0);
                mx = s[n] > mx ? s[n] : mx;
            }
            for (int64_t n = 0; n < N; n++) sum += (s[n] = exp(s[n] - mx));
            float *yr = y + (b * M + m) * E;
            for (int64_t e = 0; e < E; e++) {
                double acc2 = 0;
                for (int64_t n = 0; n < N; n++) acc2 += s[n] * v[(b * N + n) * E + e];
                yr[e] = (float)(acc2 / sum);
            }
        }
    }
    free(s);
}
