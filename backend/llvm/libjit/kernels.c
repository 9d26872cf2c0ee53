/* The JIT's kernel library, compiled to LLVM bitcode at build time (clang, no LLVM
 * optimisation) and embedded into bcl_llvm. At JIT time each kernel is inlined into a
 * per-node function with a constant parameter table, then the module is optimised for
 * the host CPU, so shapes, strides and attrs are constants here in practice.
 * Parameter layouts: kernels.h. Float semantics follow the reference interpreter
 * (backend/interp) operation by operation where it matters (double accumulation in
 * batch_norm, reductions; the same activation formulas). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ir/ir.h"
#include "backend/llvm/libjit/kernels.h"

#define KERNEL(name) void bcl_k_##name(void **slots, const int64_t *p, int64_t begin, int64_t end)
#define INL static inline __attribute__((always_inline))

typedef float v16f __attribute__((vector_size(64)));
typedef float v16fu __attribute__((vector_size(64), aligned(4)));   /* unaligned access */

INL v16f ld16(const float *q) { return *(const v16fu *)q; }
INL v16f splat(float s) { return (v16f){s, s, s, s, s, s, s, s, s, s, s, s, s, s, s, s}; }

INL float fbits(int64_t v)
{
    uint32_t u = (uint32_t)v;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The buffer of a slot field (kp->x); a negative index means "absent". */
INL float *slot_ptr(void **slots, int64_t s) { return s < 0 ? 0 : (float *)slots[s]; }

/* The kernel's table as its struct (kernels.h): kp->field. */
#define PARAMS(name) const bcl_kp_##name *kp = (const bcl_kp_##name *)(const void *)p

INL float relu6f(float x) { return x < 0 ? 0 : x > 6 ? 6 : x; }

/* exp in float arithmetic only (so loops over it vectorise; libm's would be a call
 * per element): x = n ln2 + r, |r| <= ln2/2, e^r by its degree-6 Taylor polynomial
 * (error about 1e-7 relative), times 2^n built in the exponent bits. */
INL float fexp(float x)
{
    if (x != x) return x;
    x = x > 88.7f ? 88.7f : x;
    if (x < -86.0f) return 0.0f;   /* below 2^-124: zero is within any tolerance used */
    float n = __builtin_rintf(x * 1.44269504f);
    float r = x - n * 0.693145751953125f - n * 1.428606765330187e-06f;
    float q = 1 + r * (1 + r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.008333334f + r * 0.0013888889f)))));
    int32_t e = ((int32_t)n + 126) << 23;   /* 2^(n-1): n = 128 stays finite */
    float s;
    memcpy(&s, &e, sizeof s);
    return q * s * 2.0f;
}

INL float sigmoidf(float x) { return 1.0f / (1.0f + fexp(-x)); }

INL float tanh_f(float x)
{
    float a = x < 0 ? -x : x, t = 1.0f - 2.0f / (fexp(2.0f * a) + 1.0f);
    return x != x ? x : x < 0 ? -t : t;
}

/* Every unary op, and the fused activation epilogue (op < 0: none). */
INL float act1(int64_t op, float x, float alpha)
{
    switch (op) {
    case IR_RELU: return x < 0 ? 0 : x;   /* NaN stays NaN, -0 stays -0, as in PyTorch */
    case IR_RELU6: return relu6f(x);
    case IR_SIGMOID: return sigmoidf(x);
    case IR_SILU: return x * sigmoidf(x);
    case IR_GELU: return (float)(0.5 * x * (1.0 + erf((double)x / sqrt(2.0))));
    case IR_HSWISH: return x * relu6f(x + 3) / 6;
    case IR_HSIGMOID: return relu6f(x + 3) / 6;
    case IR_LEAKY_RELU: return x >= 0 ? x : alpha * x;
    case IR_TANH: return tanh_f(x);
    case IR_ELU: return x > 0 ? x : alpha * (fexp(x) - 1.0f);
    case IR_NEG: return -x;
    case IR_SQRT: return sqrtf(x);
    case IR_EXP: return fexp(x);
    case IR_LOGICAL_NOT: return x == 0 ? 1.0f : 0.0f;
    case IR_TRUNC: return __builtin_truncf(x);
    default: return x;   /* identity, dropout, none */
    }
}

/* The activation on 16 lanes at once. The common ones are written on vectors,
 * branch-free, with the same formulas per lane as act1 (so the same values): the
 * kernels' epilogues then need no SLP vectorisation of 16 unrolled scalar copies,
 * which cost most of the compile time of a conv1x1 with SiLU. Others: act1 per lane. */
typedef int32_t v16i __attribute__((vector_size(64)));
typedef double v8d __attribute__((vector_size(64)));

INL v16f vsel(v16i m, v16f a, v16f b) { return (v16f)(((v16i)a & m) | ((v16i)b & ~m)); }

INL v16f vexp(v16f x)   /* fexp on 16 lanes */
{
    v16f xc = __builtin_elementwise_max(__builtin_elementwise_min(x, splat(88.7f)), splat(-87.0f));
    v16f n = __builtin_elementwise_roundeven(xc * 1.44269504f);
    v16f r = xc - n * 0.693145751953125f - n * 1.428606765330187e-06f;
    v16f q = 1 + r * (1 + r * (0.5f + r * (0.16666667f + r * (0.041666668f + r * (0.008333334f + r * 0.0013888889f)))));
    v16i e = (__builtin_convertvector(n, v16i) + 126) << 23;
    v16f y = q * (v16f)e * 2.0f;
    y = vsel(x < -86.0f, splat(0), y);
    return vsel(x != x, x, y);
}

INL v16f vrelu6(v16f x) { return vsel(x > 6.0f, splat(6), vsel(x < 0.0f, splat(0), x)); }

/* 1 + e^-x on 16 lanes, the denominator of sigmoid and SiLU (EfficientNet's every
 * epilogue): x clamped to [-88, 88] by compare-and-select (one vmaxps/vminps each, where
 * __builtin_elementwise_max/min cost three for their NaN rule; a NaN passes through);
 * n = round(-x log2 e) by adding 1.5 * 2^23 + 127, which leaves n + 127 in the low
 * mantissa bits, so 2^n is those bits shifted into the exponent (no round, no convert,
 * no bias add); e^r on |r| <= ln2 / 2 by a degree-5 minimax polynomial (relative error
 * 1.7e-7 evaluated in float, as the degree-6 Taylor one of fexp; fitted by weighted least
 * squares). At the clamps e^-x is 2.4e38 or 0 (n = -127 gives the bits of +0), so the
 * tails give 0 and 1 as the exact values round to. */
INL v16f vexpneg1(v16f x)
{
    v16f xc = vsel(x < -88.0f, splat(-88.0f), x);
    xc = vsel(xc > 88.0f, splat(88.0f), xc);
    v16f nm = xc * -1.44269504f + 12583039.0f;
    v16f n = nm - 12583039.0f;
    v16f r = -xc - n * 0.693145751953125f - n * 1.428606765330187e-06f;
    v16f q = 1 + r * (0.99999970f + r * (0.49999151f + r * (0.16667636f + r * (0.041897930f + r * 0.0082903150f))));
    return 1.0f + q * (v16f)((v16i)nm << 23);
}

/* sigmoid and SiLU: one division each (x / d for SiLU, not x * (1 / d)); within 6e-7
 * relative of the exact values (1/(1+e^-x) in double) over the whole float range, 30%
 * fewer cycles than vexp's rounding and degree-6 polynomial (4.7 -> 3.3 ns per 16 lanes
 * on Zen 4, 5.8 -> 4.1 with AVX2). */
INL v16f vsigmoid(v16f x) { return 1.0f / vexpneg1(x); }
INL v16f vsilu(v16f x) { return x / vexpneg1(x); }

/* GELU's exact (erf) form on 16 lanes: erfc(z), z = |x|/sqrt(2), by Abramowitz and
 * Stegun 7.1.26 (absolute error below 1.5e-7), so gelu = x (1 - erfc/2) for x >= 0 and
 * x erfc/2 below (no cancellation for negative x). */
INL v16f vgelu(v16f x)
{
    v16f z = __builtin_elementwise_min(__builtin_elementwise_abs(x) * 0.70710678f, splat(10.0f));
    v16f t = 1.0f / (1.0f + 0.3275911f * z);
    v16f poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    v16f h = 0.5f * poly * vexp(-z * z);   /* erfc(z) / 2 */
    return vsel(x != x, x, x * vsel(x >= 0.0f, 1.0f - h, h));
}

INL v16f act16(int64_t op, v16f x, float alpha)
{
    switch (op) {
    case IR_GELU: return vgelu(x);
    case IR_RELU: return vsel(x < 0.0f, splat(0), x);
    case IR_RELU6: return vrelu6(x);
    case IR_SIGMOID: return vsigmoid(x);
    case IR_SILU: return vsilu(x);
    case IR_HSWISH: return x * vrelu6(x + 3.0f) / 6.0f;
    case IR_HSIGMOID: return vrelu6(x + 3.0f) / 6.0f;
    case IR_LEAKY_RELU: return vsel(x >= 0.0f, x, alpha * x);
    default:
#pragma clang loop unroll(full)
        for (int j = 0; j < 16; j++) x[j] = act1(op, x[j], alpha);
        return x;
    }
}

INL float binop(int64_t op, float a, float b)
{
    switch (op) {
    case IR_ADD: return a + b;
    case IR_SUB: return a - b;
    case IR_MUL: return a * b;
    case IR_DIV: return a / b;
    case IR_POW: return powf(a, b);
    case IR_MAXIMUM: return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
    case IR_EQUAL: return a == b ? 1.0f : 0.0f;   /* masks are 0/1 floats, as the interpreter's */
    case IR_NOT_EQUAL: return a != b ? 1.0f : 0.0f;
    case IR_LESS: return a < b ? 1.0f : 0.0f;
    case IR_LESS_EQUAL: return a <= b ? 1.0f : 0.0f;
    case IR_GREATER: return a > b ? 1.0f : 0.0f;
    case IR_GREATER_EQUAL: return a >= b ? 1.0f : 0.0f;
    case IR_LOGICAL_AND: return a != 0 && b != 0 ? 1.0f : 0.0f;
    case IR_LOGICAL_OR: return a != 0 || b != 0 ? 1.0f : 0.0f;
    case IR_LOGICAL_XOR: return (a != 0) != (b != 0) ? 1.0f : 0.0f;
    default: return isnan(a) || isnan(b) ? NAN : a < b ? a : b;   /* minimum */
    }
}

INL int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* A prefetch 2 KB ahead in a stream of weights read once per run from memory, one per
 * 64-byte line read: the hardware prefetcher alone left these GEMMs waiting on DRAM
 * (ResNet-50's 7x7 Winograd GEMMs, 16 MB of U each: 2.05 -> 1.55 ms forced AVX2,
 * 1.70 -> 1.47 ms AVX-512; AlexNet's batch-8 fc1, 151 MB: 12.4 -> 8.7 ms forced AVX2;
 * CPU time at 1 thread; conv1x1, whose 6 weights per channel take 2.7 prefetches a
 * line: RegNetX-1.6GF's 21.5 -> 20.6 ms forced AVX2, ResNet-50's 35.1 -> 34.3 ms).
 * conv1x1_cv's weights (8 MB) gained nothing from it. */
INL void pf_ahead(const float *p) { __builtin_prefetch(p + 512, 0, 3); }

KERNEL(unary)
{
    PARAMS(unary);
    int64_t op = kp->op, n = kp->n, chunk = kp->chunk;
    float alpha = fbits(kp->alpha);
    const float *x = slot_ptr(slots, kp->x);
    float *y = slot_ptr(slots, kp->y);
    int64_t hi = min64(end * chunk, n), i = begin * chunk;
    /* whole vectors with the epilogues' formulas (act16: GELU, SiLU ... without libm), the tail by act1 */
    for (; i + 16 <= hi; i += 16) *(v16fu *)(y + i) = act16(op, ld16(x + i), alpha);
    for (; i < hi; i++) y[i] = act1(op, x[i], alpha);
}

INL void binary_rows(int64_t op, const float *restrict a, const float *restrict b, float *restrict y,
                     const bcl_kp_binary *kp, int64_t r0, int64_t r1)
{
    int64_t rank = kp->rank, act = kp->act;
    float alpha = fbits(kp->alpha);
    const int64_t *yd = kp->ydims, *sa = kp->astr, *sb = kp->bstr;
    int64_t len = yd[rank - 1], la = sa[rank - 1], lb = sb[rank - 1];
    for (int64_t r = r0; r < r1; r++) {
        int64_t rem = r, oa = 0, ob = 0;
        for (int64_t k = rank - 2; k >= 0; k--) {
            int64_t i = rem % yd[k];
            rem /= yd[k];
            oa += i * sa[k];
            ob += i * sb[k];
        }
        float *yr = y + r * len;
        for (int64_t j = 0; j < len; j++) yr[j] = act1(act, binop(op, a[oa + j * la], b[ob + j * lb]), alpha);
    }
}

KERNEL(binary)
{
    PARAMS(binary);
    int64_t rows = kp->rows, per = kp->rows_per_item;
    const float *a = slot_ptr(slots, kp->a), *b = slot_ptr(slots, kp->b);
    float *y = slot_ptr(slots, kp->y);
    /* y may be written in place over an operand only by identical indexing, so no
     * restrict violation in practice; the JIT never aliases them. */
    binary_rows(kp->op, a, b, y, kp, begin * per, min64(end * per, rows));
}

KERNEL(norm_chan)
{
    PARAMS(norm_chan);
    int64_t mode = kp->mode, C = kp->C, inner = kp->inner, act = kp->act;
    float eps = fbits(kp->eps), alpha = fbits(kp->alpha);
    const float *x = slot_ptr(slots, kp->x), *g = slot_ptr(slots, kp->g), *bt = slot_ptr(slots, kp->b);
    const float *m = slot_ptr(slots, kp->m), *v = slot_ptr(slots, kp->v);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t it = begin; it < end; it++) {
        int64_t c = it % C;
        const float *px = x + it * inner;
        float *py = y + it * inner;
        if (mode == 0) {
            double inv = 1.0 / sqrt((double)v[c] + eps);
            for (int64_t i = 0; i < inner; i++)
                py[i] = act1(act, (float)(((double)px[i] - m[c]) * inv * g[c] + bt[c]), alpha);
        } else {
            float s = g[c], t = bt[c];
            for (int64_t i = 0; i < inner; i++) py[i] = act1(act, px[i] * s + t, alpha);
        }
    }
}

KERNEL(layer_norm)
{
    PARAMS(layer_norm);
    int64_t inner = kp->inner;
    float eps = fbits(kp->eps);
    const float *x = slot_ptr(slots, kp->x), *g = slot_ptr(slots, kp->g), *b = slot_ptr(slots, kp->b);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t r = begin; r < end; r++) {
        const float *px = x + r * inner;
        float *py = y + r * inner;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < inner; i++) mean += px[i];
        mean /= (double)inner;
        for (int64_t i = 0; i < inner; i++) var += (px[i] - mean) * (px[i] - mean);
        var /= (double)inner;
        double inv = 1.0 / sqrt(var + eps);
        for (int64_t i = 0; i < inner; i++) {
            double v = (px[i] - mean) * inv;
            if (g) v *= g[i];
            if (b) v += b[i];
            py[i] = (float)v;
        }
    }
}

KERNEL(softmax)
{
    PARAMS(softmax);
    int64_t dim = kp->dim, inner = kp->inner;
    const float *x = slot_ptr(slots, kp->x);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t it = begin; it < end; it++) {
        int64_t o = it / inner, in = it % inner;
        const float *px = x + o * dim * inner + in;
        float *py = y + o * dim * inner + in;
        float mx = -INFINITY;
        for (int64_t k = 0; k < dim; k++) mx = px[k * inner] > mx ? px[k * inner] : mx;
        double sum = 0;
        for (int64_t k = 0; k < dim; k++) sum += exp((double)px[k * inner] - mx);
        for (int64_t k = 0; k < dim; k++) py[k * inner] = (float)(exp((double)px[k * inner] - mx) / sum);
    }
}

KERNEL(pool)
{
    PARAMS(pool);
    int64_t op = kp->op, H = kp->H, W = kp->W, OH = kp->OH, OW = kp->OW, KH = kp->kh, KW = kp->kw;
    int64_t sh = kp->sh, sw = kp->sw, pt = kp->pt, pl = kp->pl, cip = kp->cip;
    const float *x = slot_ptr(slots, kp->x);
    float *y = slot_ptr(slots, kp->y);
    if (op == IR_AVG_POOL2D && OH == 1 && OW == 1 && KH == H && KW == W && !pt && !pl) {
        /* global average pooling (SE blocks, heads): the contiguous plane summed 16 lanes
         * at a time, still in double like the reference */
        for (int64_t c = begin; c < end; c++) {
            const float *xc = x + c * H * W;
            v8d s0 = {0}, s1 = {0};
            int64_t i = 0;
            for (; i + 16 <= H * W; i += 16) {
                v16f v = ld16(xc + i);
                s0 += __builtin_convertvector(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7), v8d);
                s1 += __builtin_convertvector(__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15), v8d);
            }
            s0 += s1;
            double sum = ((s0[0] + s0[4]) + (s0[1] + s0[5])) + ((s0[2] + s0[6]) + (s0[3] + s0[7]));
            for (; i < H * W; i++) sum += xc[i];
            y[c] = (float)(sum / (double)(H * W));
        }
        return;
    }
    for (int64_t c = begin; c < end; c++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                double sum = 0;
                float mx = -INFINITY;
                int64_t count = 0;
                for (int64_t kh = 0; kh < KH; kh++) {
                    int64_t ih = oh * sh - pt + kh;
                    if (ih < 0 || ih >= H) continue;
                    for (int64_t kw = 0; kw < KW; kw++) {
                        int64_t iw = ow * sw - pl + kw;
                        if (iw < 0 || iw >= W) continue;
                        float v = x[(c * H + ih) * W + iw];
                        if (op == IR_MAX_POOL2D) {
                            if (v > mx || isnan(v)) mx = v;
                        } else {
                            sum += v;
                        }
                        count++;
                    }
                }
                float r;
                if (op == IR_MAX_POOL2D) {
                    r = count ? mx : 0.0f;
                } else {
                    int64_t div = cip ? KH * KW : count;
                    r = div ? (float)(sum / (double)div) : 0.0f;
                }
                y[(c * OH + oh) * OW + ow] = r;
            }
}

KERNEL(reduce)
{
    PARAMS(reduce);
    int64_t op = kp->op, rank = kp->rank, count = kp->count, nr = kp->nr;
    const int64_t *yd = kp->ydims, *ys = kp->ystr_in_x, *rd = kp->rdims, *rs = kp->rstr;
    const float *x = slot_ptr(slots, kp->x);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t o = begin; o < end; o++) {
        int64_t rem = o, base = 0;
        for (int64_t k = rank - 1; k >= 0; k--) {
            base += (rem % yd[k]) * ys[k];
            rem /= yd[k];
        }
        double acc = op == IR_REDUCE_MAX ? -INFINITY : op == IR_REDUCE_MIN ? INFINITY : 0.0;
        for (int64_t j = 0; j < count; j++) {
            int64_t r = j, off = base;
            for (int64_t k = nr - 1; k >= 0; k--) {
                off += (r % rd[k]) * rs[k];
                r /= rd[k];
            }
            double v = x[off];
            if (op == IR_REDUCE_MAX) {
                if (v > acc || isnan(v)) acc = v;
            } else if (op == IR_REDUCE_MIN) {
                if (v < acc || isnan(v)) acc = v;
            } else {
                acc += v;
            }
        }
        y[o] = (float)(op == IR_REDUCE_MEAN ? (count ? acc / (double)count : NAN) : acc);
    }
}

/* Per output axis, the input index is: mode 0 mul*i + add (out of range: the pad
 * value), mode 1 (i - add) mod xdim (roll), mode 2 min(floor(i * scale), xdim - 1). */
KERNEL(gather)
{
    PARAMS(gather);
    int64_t rank = kp->rank, ny = kp->ny, chunk = kp->chunk;
    float value = fbits(kp->value);
    const int64_t *yd = kp->ydims, *mode = kp->mode, *mul = kp->mul, *add = kp->add, *xd = kp->xdim,
                  *xs = kp->xstr, *fs = kp->fscale;
    const float *x = slot_ptr(slots, kp->x);
    float *y = slot_ptr(slots, kp->y);
    int64_t hi = min64(end * chunk, ny);
    for (int64_t i = begin * chunk; i < hi; i++) {
        int64_t rem = i, off = 0;
        int inside = 1;
        for (int64_t k = rank - 1; k >= 0; k--) {
            int64_t yi = rem % yd[k], xi;
            rem /= yd[k];
            if (mode[k] == 0) {
                xi = mul[k] * yi + add[k];
                if (xi < 0 || xi >= xd[k]) inside = 0;
            } else if (mode[k] == 1) {
                xi = ((yi - add[k]) % xd[k] + xd[k]) % xd[k];
            } else {
                xi = (int64_t)floorf((float)yi * fbits(fs[k]));
                if (xi > xd[k] - 1) xi = xd[k] - 1;
            }
            off += xi * xs[k];
        }
        y[i] = inside ? x[off] : value;
    }
}

/* A strided 1x1 conv's input subsampled plane by plane (the general gather computed
 * every element's index through the per-axis map: 6 ns a float). With sw constant the
 * row loop vectorises as strided loads. */
KERNEL(subsample)
{
    PARAMS(subsample);
    int64_t H = kp->H, W = kp->W, OH = kp->OH, OW = kp->OW, sh = kp->sh, sw = kp->sw;
    const float *x = slot_ptr(slots, kp->x);
    float *y = slot_ptr(slots, kp->y);
    int64_t hi = min64(end * kp->planes, kp->R);
    for (int64_t r = begin * kp->planes; r < hi; r++)
        for (int64_t i = 0; i < OH; i++) {
            const float *xr = x + (r * H + i * sh) * W;
            float *yr = y + (r * OH + i) * OW;
            for (int64_t j = 0; j < OW; j++) yr[j] = xr[j * sw];
        }
}

KERNEL(copy_rows)
{
    PARAMS(copy_rows);
    int64_t len = kp->len, ystride = kp->ystride, yoff = kp->yoff;
    const float *x = slot_ptr(slots, kp->x);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t r = begin; r < end; r++) memcpy(y + yoff + r * ystride, x + r * len, sizeof(float) * (size_t)len);
}

/* Fused attention, one query row per item: scores q.k * alpha + bias into a stack row
 * (they stay in L1), max, float exp and sum, then the weighted sum of v's rows. */
KERNEL(attention)
{
    PARAMS(attention);
    int64_t M = kp->M, N = kp->N, D = kp->D, E = kp->E, rank = kp->rank;
    float alpha = fbits(kp->alpha);
    const int64_t *bd = kp->bd, *bst = kp->bstr;
    int64_t bsm = kp->bstr_m, bsn = kp->bstr_n, msm = kp->mstr_m, msn = kp->mstr_n;
    const int64_t *mst = kp->mstr;
    const float *q = slot_ptr(slots, kp->q), *k = slot_ptr(slots, kp->k), *v = slot_ptr(slots, kp->v);
    const float *bias = slot_ptr(slots, kp->bias), *mask = slot_ptr(slots, kp->mask);
    float *y = slot_ptr(slots, kp->y);
    float s[BCL_JIT_ATTN_MAX_N];
    for (int64_t it = begin; it < end; it++) {
        int64_t b = it / M, m = it % M, rem = b, boff = 0, moff = 0;
        for (int64_t i = rank - 1; i >= 0; i--) {
            boff += (rem % bd[i]) * bst[i];
            moff += (rem % bd[i]) * mst[i];
            rem /= bd[i];
        }
        const float *qr = q + it * D, *kb = k + b * N * D, *vb = v + b * N * E;
        float mx = -INFINITY;
        for (int64_t n = 0; n < N; n++) {
            const float *kr = kb + n * D;
            /* 8 partial sums (one vector): a single float chain would not vectorise */
            float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0}, dot = 0;
            int64_t d = 0;
            for (; d + 8 <= D; d += 8)
                for (int l = 0; l < 8; l++) lane[l] += qr[d + l] * kr[d + l];
            for (; d < D; d++) dot += qr[d] * kr[d];
            dot += ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
            float sc = dot * alpha + (bias ? bias[boff + m * bsm + n * bsn] : 0.0f) +
                       (mask ? mask[moff + m * msm + n * msn] : 0.0f);
            s[n] = sc;
            mx = sc > mx ? sc : mx;
        }
        float sum = 0;
        for (int64_t n = 0; n < N; n++) {
            s[n] = fexp(s[n] - mx);
            sum += s[n];
        }
        float inv = 1.0f / sum, *yr = y + it * E;
        for (int64_t e = 0; e < E; e++) yr[e] = 0;
        for (int64_t n = 0; n < N; n++) {
            const float *vr = vb + n * E;
            float w = s[n] * inv;
            for (int64_t e = 0; e < E; e++) yr[e] += w * vr[e];
        }
    }
}

/* An index held as a float, checked as the interpreter's kern_take_index does: a bad
 * one (outside [-d, d), not whole, NaN) is clamped into the axis and recorded in the
 * step's fault word (fault[0] = 1, fault[1] = its bits), which bcl_jit_run reports. */
INL int64_t index_of(float v, int64_t d, int32_t *fault)
{
    if (!(v >= -(float)d && v < (float)d) || v != __builtin_truncf(v)) {
        int32_t bits;
        memcpy(&bits, &v, sizeof bits);
        if (fault) {
            __atomic_store_n(&fault[1], bits, __ATOMIC_RELAXED);
            __atomic_store_n(&fault[0], 1, __ATOMIC_RELAXED);
        }
        if (!(v >= -(float)d)) return 0;
        if (v >= (float)d) return d - 1;
    }
    int64_t j = (int64_t)v;
    if (j < 0) j += d;
    return j < 0 ? 0 : j >= d ? d - 1 : j;
}

/* numpy.take along an axis: one item copies the inner row picked by one index. */
KERNEL(take)
{
    PARAMS(take);
    int64_t dx = kp->dx, inner = kp->inner, ni = kp->ni;
    const float *x = slot_ptr(slots, kp->x), *idx = slot_ptr(slots, kp->idx);
    float *y = slot_ptr(slots, kp->y);
    int32_t *fault = (int32_t *)slot_ptr(slots, kp->fault);
    for (int64_t it = begin; it < end; it++) {
        int64_t o = it / ni, k = it % ni, j = index_of(idx[k], dx, fault);
        memcpy(y + it * inner, x + (o * dx + j) * inner, sizeof(float) * (size_t)inner);
    }
}

/* torch.gather: one item is a chunk of output elements (the index's shape); the output
 * index with its axis coordinate replaced by the index value addresses x. */
KERNEL(gather_axis)
{
    PARAMS(gather_axis);
    int64_t rank = kp->rank, axis = kp->axis, n = kp->n, chunk = kp->chunk;
    const int64_t *yd = kp->ydims, *xst = kp->xstr, *xd = kp->xdims;
    const float *x = slot_ptr(slots, kp->x), *idx = slot_ptr(slots, kp->idx);
    float *y = slot_ptr(slots, kp->y);
    int32_t *fault = (int32_t *)slot_ptr(slots, kp->fault);
    int64_t hi = min64(end * chunk, n);
    for (int64_t i = begin * chunk; i < hi; i++) {
        int64_t rem = i, o = 0;
        for (int64_t k = rank - 1; k >= 0; k--) {
            int64_t c = rem % yd[k];
            rem /= yd[k];
            o += (k == axis ? index_of(idx[i], xd[k], fault) : c) * xst[k];
        }
        y[i] = x[o];
    }
}

/* F.where: rows of the broadcast result, as binary's; a select, so a NaN in the
 * unchosen operand does not leak. */
KERNEL(where)
{
    PARAMS(where);
    int64_t rank = kp->rank, rows = kp->rows, per = kp->rows_per_item;
    const int64_t *yd = kp->ydims, *sm = kp->mstr, *sx = kp->xstr, *sy = kp->ystr;
    const float *m = slot_ptr(slots, kp->m), *x = slot_ptr(slots, kp->x), *yv = slot_ptr(slots, kp->y);
    float *out = slot_ptr(slots, kp->out);
    int64_t len = yd[rank - 1], lm = sm[rank - 1], lx = sx[rank - 1], ly = sy[rank - 1];
    int64_t r1 = min64(end * per, rows);
    for (int64_t r = begin * per; r < r1; r++) {
        int64_t rem = r, om = 0, ox = 0, oy = 0;
        for (int64_t k = rank - 2; k >= 0; k--) {
            int64_t i = rem % yd[k];
            rem /= yd[k];
            om += i * sm[k];
            ox += i * sx[k];
            oy += i * sy[k];
        }
        float *orow = out + r * len;
        for (int64_t j = 0; j < len; j++) orow[j] = m[om + j * lm] != 0 ? x[ox + j * lx] : yv[oy + j * ly];
    }
}

KERNEL(matmul)
{
    PARAMS(matmul);
    int64_t M = kp->M, K = kp->K, N = kp->N, rank = kp->rank, act = kp->act;
    float alpha = fbits(kp->alpha);
    const int64_t *bd = kp->bd, *sa = kp->sa, *sb = kp->sb;
    const float *a = slot_ptr(slots, kp->a), *b = slot_ptr(slots, kp->b);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t it = begin; it < end; it++) {
        int64_t t = it / M, m = it % M, rem = t, oa = 0, ob = 0;
        for (int64_t i = rank - 1; i >= 0; i--) {
            int64_t idx = rem % bd[i];
            rem /= bd[i];
            oa += idx * sa[i];
            ob += idx * sb[i];
        }
        float *yr = y + it * N;
        for (int64_t n = 0; n < N; n++) yr[n] = 0.0f;
        for (int64_t k = 0; k < K; k++) {
            float av = a[oa + m * K + k];
            const float *br = b + ob + k * N;
            for (int64_t n = 0; n < N; n++) yr[n] += av * br[n];
        }
        for (int64_t n = 0; n < N; n++) yr[n] = act1(act, yr[n], alpha);
    }
}

KERNEL(linear)
{
    PARAMS(linear);
    int64_t I = kp->I, O = kp->O, act = kp->act;
    float alpha = fbits(kp->alpha);
    const float *x = slot_ptr(slots, kp->x), *w = slot_ptr(slots, kp->w), *b = slot_ptr(slots, kp->b);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t r = begin; r < end; r++)
        for (int64_t o = 0; o < O; o++) {
            double acc = b ? b[o] : 0.0;
            for (int64_t i = 0; i < I; i++) acc += (double)x[r * I + i] * w[o * I + i];
            y[r * O + o] = act1(act, (float)acc, alpha);
        }
}

/* Stores a 16-channel vector's valid lanes (channel o0 + j < nch) of one output
 * element position, adding the residual and the activation. A full block (the usual
 * case) indexes lanes by constants; a loop over lanes up to a variable count would
 * index the vector by a variable, which AVX2 code does by spilling both ymm halves
 * to the stack and reloading them per lane (wino_out with a residual took 7x the
 * AVX-512 time). A partial block goes through an array instead. */
INL void store_lanes(float *restrict y, const float *restrict r, v16f v, int64_t base, int64_t cstride,
                     int64_t nvalid, int64_t act, float alpha)
{
    if (nvalid >= 16) {
        if (r) {
            v16f rv;
#pragma clang loop unroll(full)
            for (int j = 0; j < 16; j++) rv[j] = r[base + j * cstride];
            v += rv;
        }
        v = act16(act, v, alpha);
#pragma clang loop unroll(full)
        for (int j = 0; j < 16; j++) y[base + j * cstride] = v[j];
        return;
    }
    if (nvalid == 8) {   /* conv16c_tile8's blocks: constant lanes too */
        if (r) {
            v16f rv = splat(0);
#pragma clang loop unroll(full)
            for (int j = 0; j < 8; j++) rv[j] = r[base + j * cstride];
            v += rv;
        }
        v = act16(act, v, alpha);
#pragma clang loop unroll(full)
        for (int j = 0; j < 8; j++) y[base + j * cstride] = v[j];
        return;
    }
    float t[16];
    *(v16fu *)t = v;
    if (r)
        for (int64_t j = 0; j < nvalid; j++) t[j] += r[base + j * cstride];
    *(v16fu *)t = act16(act, ld16(t), alpha);
    for (int64_t j = 0; j < nvalid; j++) y[base + j * cstride] = t[j];
}

/* rt rows (a constant after inlining) of x times one 16-column block of packed w.
 * Row r is pixel r % P of image r / P: x[n][i][px], y[n][o][px] (P = 1: a plain
 * [rows, I] x [I, O] linear; P > 1: a 1x1 convolution on few pixels). */
INL void linear_tile(const float *restrict x, const float *restrict wp, const float *restrict res,
                     float *restrict y, int64_t r0, const int rt, int64_t I, int64_t O, int64_t OB, int64_t ob,
                     int64_t P, int64_t act, float alpha)
{
    v16f acc[8];
#pragma clang loop unroll(full)
    for (int t = 0; t < rt; t++) acc[t] = splat(0);
    const float *w = wp + ob * I * 16;
    int64_t i0 = 0;
    if (rt == 1) {   /* one row (a classifier at batch 1): four chains, not one long one */
        v16f s1 = splat(0), s2 = splat(0), s3 = splat(0);
        const float *xr = x + (r0 / P) * I * P + r0 % P;
        for (; i0 + 4 <= I; i0 += 4) {
            acc[0] += splat(xr[i0 * P]) * ld16(w + i0 * 16);
            s1 += splat(xr[(i0 + 1) * P]) * ld16(w + (i0 + 1) * 16);
            s2 += splat(xr[(i0 + 2) * P]) * ld16(w + (i0 + 2) * 16);
            s3 += splat(xr[(i0 + 3) * P]) * ld16(w + (i0 + 3) * 16);
        }
        acc[0] = (acc[0] + s1) + (s2 + s3);
    }
    for (int64_t i = i0; i < I; i++) {
        v16f wv = ld16(w + i * 16);
#pragma clang loop unroll(full)
        for (int t = 0; t < rt; t++) {
            int64_t r = r0 + t;
            acc[t] += splat(x[((r / P) * I + i) * P + r % P]) * wv;
        }
    }
    v16f bv = ld16(wp + OB * I * 16 + ob * 16);
    for (int t = 0; t < rt; t++) {
        int64_t r = r0 + t;
        store_lanes(y, res, acc[t] + bv, ((r / P) * O + ob * 16) * P + r % P, P, O - ob * 16, act, alpha);
    }
}

KERNEL(linear_p)
{
    PARAMS(linear_p);
    int64_t rows = kp->rows, I = kp->I, O = kp->O, OB = kp->OB, act = kp->act, RT = kp->RT, P = kp->P;
    float alpha = fbits(kp->alpha);
    const float *x = slot_ptr(slots, kp->x), *wp = slot_ptr(slots, kp->wp), *res = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t it = begin; it < end; it++) {
        int64_t rt = it / OB, ob = it % OB, r0 = rt * RT;
        if (RT == 4 && r0 + 4 <= rows)   /* the full tile, register-blocked */
            linear_tile(x, wp, res, y, r0, 4, I, O, OB, ob, P, act, alpha);
        else
            for (int64_t r = r0; r < min64(r0 + RT, rows); r++)
                linear_tile(x, wp, res, y, r, 1, I, O, OB, ob, P, act, alpha);
    }
}

/* Generic direct convolution (any groups), the reference algorithm per output plane. */
KERNEL(conv)
{
    PARAMS(conv);
    int64_t C = kp->C, H = kp->H, W = kp->W, O = kp->O, KH = kp->KH, KW = kp->KW, OH = kp->OH, OW = kp->OW;
    int64_t sh = kp->sh, sw = kp->sw, dh = kp->dh, dw = kp->dw, pt = kp->pt, pl = kp->pl, G = kp->G;
    int64_t act = kp->act;
    float alpha = fbits(kp->alpha);
    int64_t CG = C / G, OG = O / G;
    const float *x = slot_ptr(slots, kp->x), *w = slot_ptr(slots, kp->w), *b = slot_ptr(slots, kp->b);
    const float *res = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t it = begin; it < end; it++) {
        int64_t n = it / O, o = it % O, g = o / OG;
        float *yp = y + it * OH * OW;
        for (int64_t i = 0; i < OH * OW; i++) yp[i] = b ? b[o] : 0.0f;
        for (int64_t c = 0; c < CG; c++) {
            const float *xp = x + (n * C + g * CG + c) * H * W;
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++) {
                    float wv = w[((o * CG + c) * KH + kh) * KW + kw];
                    /* the output columns whose input column lies inside the image, so
                     * the inner loop has no test and vectorises */
                    int64_t off = kw * dw - pl;
                    int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                    int64_t hi = W - 1 - off < 0 ? 0 : min64((W - 1 - off) / sw + 1, OW);
                    for (int64_t oh = 0; oh < OH; oh++) {
                        int64_t ih = oh * sh - pt + kh * dh;
                        if (ih < 0 || ih >= H) continue;
                        float *yr = yp + oh * OW;
                        const float *xr = xp + ih * W;
                        for (int64_t ow = lo; ow < hi; ow++) yr[ow] += wv * xr[ow * sw + off];
                    }
                }
        }
        const float *rp = res ? res + it * OH * OW : 0;
        for (int64_t i = 0; i < OH * OW; i++) yp[i] = act1(act, rp ? yp[i] + rp[i] : yp[i], alpha);
    }
}

/* NCHW -> zero-padded NCHW16c: xp[n][cb][HP][WP][16], channels past C are zero. */
KERNEL(pack16c)
{
    PARAMS(pack16c);
    int64_t C = kp->C, H = kp->H, W = kp->W, CB = kp->CB, HP = kp->HP, WP = kp->WP, pt = kp->pt, pl = kp->pl;
    int64_t CG = kp->CG, CBG = kp->CBG;
    const float *x = slot_ptr(slots, kp->x);
    float *xp = slot_ptr(slots, kp->xp);
    for (int64_t it = begin; it < end; it++) {
        /* it = (n, hp, cb): a thread's range is rows, as its producer's (pool.c) */
        int64_t cb = it % CB, hp = (it / CB) % HP, n = it / (HP * CB), ih = hp - pt;
        /* each group's channels start a new block (dense: one group of C) */
        int64_t kb = cb % CBG, c0 = (cb / CBG) * CG + kb * 16, nc = min64(16, CG - kb * 16);
        float *row = xp + ((n * CB + cb) * HP + hp) * WP * 16;
        if (ih < 0 || ih >= H || nc < 16) {
            memset(row, 0, sizeof(float) * 16 * (size_t)WP);
        } else {   /* only the halo columns */
            memset(row, 0, sizeof(float) * 16 * (size_t)pl);
            memset(row + (pl + W) * 16, 0, sizeof(float) * 16 * (size_t)(WP - pl - W));
        }
        if (ih < 0 || ih >= H) continue;
        /* A transpose: contiguous reads per channel, stores 16 floats apart (one
         * cache line each, all in L1); vectorising it only grows the code. */
        for (int64_t j = 0; j < nc; j++) {
            const float *xr = x + ((n * C + c0 + j) * H + ih) * W;
            float *dst = row + pl * 16 + j;
#pragma clang loop vectorize(disable) interleave(disable)
            for (int64_t iw = 0; iw < W; iw++) dst[iw * 16] = xr[iw];
        }
    }
}

/* One output tile: tw (a constant) consecutive output columns x 16 output channels,
 * accumulated in vector registers over all input channel blocks and taps. */
INL void conv16c_tile(const float *restrict xp, const float *restrict wp, const float *restrict r,
                      float *restrict y, const bcl_kp_conv16c *kp, int64_t n, int64_t ob, int64_t oh,
                      int64_t ow0, const int tw)
{
    int64_t CB = kp->CB, HP = kp->HP, WP = kp->WP, O = kp->O, OB = kp->OB, KH = kp->KH, KW = kp->KW;
    int64_t OH = kp->OH, OW = kp->OW, sh = kp->sh, sw = kp->sw, dh = kp->dh, dw = kp->dw, act = kp->act;
    int64_t CBG = kp->CBG, OBG = kp->OBG, CG = kp->CG, OG = kp->OG;
    float alpha = fbits(kp->alpha);
    v16f acc[16];
#pragma clang loop unroll(full)
    for (int t = 0; t < tw; t++) acc[t] = splat(0);
    /* Grouped: output block ob reads only its group's CBG input blocks. */
    int64_t cb0 = (ob / OBG) * CBG;
    for (int64_t cb = cb0; cb < cb0 + CBG; cb++) {
        int64_t cn = min64(16, CG - (cb - cb0) * 16);   /* the padded channels of a group's last block are zeros */
        for (int64_t kh = 0; kh < KH; kh++) {
            const float *xr = xp + (((n * CB + cb) * HP + oh * sh + kh * dh) * WP) * 16;
            /* Unrolling the taps only grows the code (and compile time). */
#pragma clang loop unroll(disable)
            for (int64_t kw = 0; kw < KW; kw++) {
                const float *wk = wp + (((ob * CBG + cb - cb0) * KH + kh) * KW + kw) * 256;
                const float *xk = xr + (ow0 * sw + kw * dw) * 16;
#pragma clang loop unroll(disable)
                for (int64_t c = 0; c < cn; c++) {
                    v16f w = ld16(wk + c * 16);
#pragma clang loop unroll(full)
                    for (int t = 0; t < tw; t++) acc[t] += splat(xk[t * sw * 16 + c]) * w;
                }
            }
        }
    }
    v16f bv = ld16(wp + OB * CBG * KH * KW * 256 + ob * 16);
    int64_t og = ob % OBG, o0 = (ob / OBG) * OG + og * 16;   /* blocks are per group too */
    for (int t = 0; t < tw; t++)
        store_lanes(y, r, acc[t] + bv, ((n * O + o0) * OH + oh) * OW + ow0 + t, OH * OW, OG - og * 16, act, alpha);
}

/* conv16c_tile for an output block with at most 8 valid channels (the second block of
 * a 24-channel group, RegNet's): 8-lane vectors, so the padding lanes cost no FMAs
 * (with AVX2 one ymm per accumulator instead of two: 2/3 of the work for 24-channel
 * groups). The block's weights are still 16 wide; lanes 8-15 are not read. */
typedef float v8f __attribute__((vector_size(32)));
typedef float v8fu __attribute__((vector_size(32), aligned(4)));
INL void conv16c_tile8(const float *restrict xp, const float *restrict wp, const float *restrict r,
                       float *restrict y, const bcl_kp_conv16c *kp, int64_t n, int64_t ob, int64_t oh, int64_t ow0,
                       const int tw)
{
    int64_t CB = kp->CB, HP = kp->HP, WP = kp->WP, O = kp->O, OB = kp->OB, KH = kp->KH, KW = kp->KW;
    int64_t OH = kp->OH, OW = kp->OW, sh = kp->sh, sw = kp->sw, dh = kp->dh, dw = kp->dw, act = kp->act;
    int64_t CBG = kp->CBG, OBG = kp->OBG, CG = kp->CG, OG = kp->OG;
    float alpha = fbits(kp->alpha);
    v8f acc[16];
#pragma clang loop unroll(full)
    for (int t = 0; t < tw; t++) acc[t] = (v8f){0};
    int64_t cb0 = (ob / OBG) * CBG;
    for (int64_t cb = cb0; cb < cb0 + CBG; cb++) {
        int64_t cn = min64(16, CG - (cb - cb0) * 16);
        for (int64_t kh = 0; kh < KH; kh++) {
            const float *xr = xp + (((n * CB + cb) * HP + oh * sh + kh * dh) * WP) * 16;
#pragma clang loop unroll(disable)
            for (int64_t kw = 0; kw < KW; kw++) {
                const float *wk = wp + (((ob * CBG + cb - cb0) * KH + kh) * KW + kw) * 256;
                const float *xk = xr + (ow0 * sw + kw * dw) * 16;
#pragma clang loop unroll(disable)
                for (int64_t c = 0; c < cn; c++) {
                    v8f w = *(const v8fu *)(wk + c * 16);
#pragma clang loop unroll(full)
                    for (int t = 0; t < tw; t++) {
                        float xv = xk[t * sw * 16 + c];
                        acc[t] += (v8f){xv, xv, xv, xv, xv, xv, xv, xv} * w;
                    }
                }
            }
        }
    }
    v8f bv = *(const v8fu *)(wp + OB * CBG * KH * KW * 256 + ob * 16);
    int64_t og = ob % OBG, o0 = (ob / OBG) * OG + og * 16;
    for (int t = 0; t < tw; t++) {
        v8f a = acc[t] + bv;
        v16f v = __builtin_shufflevector(a, a, 0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7);
        store_lanes(y, r, v, ((n * O + o0) * OH + oh) * OW + ow0 + t, OH * OW, OG - og * 16, act, alpha);
    }
}

KERNEL(conv16c)
{
    PARAMS(conv16c);
    int64_t OB = kp->OB, OH = kp->OH, OW = kp->OW, TW = kp->TW;
    const float *xp = slot_ptr(slots, kp->xp), *wp = slot_ptr(slots, kp->wp), *r = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t it = begin; it < end; it++) {
        int64_t oh = it % OH, ob = (it / OH) % OB, n = it / (OH * OB), ow = 0;
        /* TW and OW % TW are constants, so both tiles are fully unrolled. */
        if (kp->HALF8 && kp->OG - (ob % kp->OBG) * 16 <= 8) {   /* a half-empty block */
            int64_t TW8 = kp->TW8;
            for (; ow + TW8 <= OW; ow += TW8) conv16c_tile8(xp, wp, r, y, kp, n, ob, oh, ow, TW8);
            if (ow < OW) conv16c_tile8(xp, wp, r, y, kp, n, ob, oh, ow, OW % TW8);
            continue;
        }
        for (; ow + TW <= OW; ow += TW) conv16c_tile(xp, wp, r, y, kp, n, ob, oh, ow, TW);
        if (ow < OW) conv16c_tile(xp, wp, r, y, kp, n, ob, oh, ow, OW % TW);
    }
}

INL void dw16c_tile(const float *restrict xp, const float *restrict wp, const float *restrict r,
                    float *restrict y, const bcl_kp_dwconv16c *kp, int64_t n, int64_t cb, int64_t oh,
                    int64_t ow0, const int tw)
{
    int64_t CB = kp->CB, HP = kp->HP, WP = kp->WP, C = kp->C, KH = kp->KH, KW = kp->KW;
    int64_t OH = kp->OH, OW = kp->OW, sh = kp->sh, sw = kp->sw, dh = kp->dh, dw = kp->dw, act = kp->act;
    float alpha = fbits(kp->alpha);
    v16f acc[16];
#pragma clang loop unroll(full)
    for (int t = 0; t < tw; t++) acc[t] = splat(0);
    for (int64_t kh = 0; kh < KH; kh++) {
        const float *xr = xp + (((n * CB + cb) * HP + oh * sh + kh * dh) * WP) * 16;
        for (int64_t kw = 0; kw < KW; kw++) {
            v16f w = ld16(wp + ((cb * KH + kh) * KW + kw) * 16);
            const float *xk = xr + (ow0 * sw + kw * dw) * 16;
#pragma clang loop unroll(full)
            for (int t = 0; t < tw; t++) acc[t] += ld16(xk + t * sw * 16) * w;
        }
    }
    v16f bv = ld16(wp + CB * KH * KW * 16 + cb * 16);
    for (int t = 0; t < tw; t++)
        store_lanes(y, r, acc[t] + bv, ((n * C + cb * 16) * OH + oh) * OW + ow0 + t, OH * OW,
                    C - cb * 16, act, alpha);
}

KERNEL(dwconv16c)
{
    PARAMS(dwconv16c);
    int64_t CB = kp->CB, OH = kp->OH, OW = kp->OW, TW = kp->TW;
    const float *xp = slot_ptr(slots, kp->xp), *wp = slot_ptr(slots, kp->wp), *r = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    for (int64_t it = begin; it < end; it++) {
        int64_t oh = it % OH, cb = (it / OH) % CB, n = it / (OH * CB), ow = 0;
        for (; ow + TW <= OW; ow += TW) dw16c_tile(xp, wp, r, y, kp, n, cb, oh, ow, TW);
        if (ow < OW) dw16c_tile(xp, wp, r, y, kp, n, cb, oh, ow, OW % TW);
    }
}

/* 1x1 stride-1 unpadded convolution as a GEMM straight on NCHW (no packing of the
 * activations): y[n][o][p] = sum_c w[o][c] * x[n][c][p]. A register tile is ot
 * output channels x pv 16-pixel vectors; the epilogue stores whole vectors. */
INL void gemm_tile(const float *restrict x, const float *restrict wp, const float *restrict r,
                   float *restrict y, const bcl_kp_conv1x1 *kp, int64_t n, int64_t obk, int64_t p0, const int ot,
                   const int pv)
{
    int64_t C = kp->C, P = kp->P, O = kp->O, OBK = kp->OBK, act = kp->act, WS = kp->WS;
    float alpha = fbits(kp->alpha);
    wp += n * WS;   /* weights scaled per image (scale_w), or shared (WS = 0) */
    v16f acc[8][4];
#pragma clang loop unroll(full)
    for (int i = 0; i < ot; i++)
#pragma clang loop unroll(full)
        for (int v = 0; v < pv; v++) acc[i][v] = splat(0);
    const float *xc = x + n * C * P + p0, *wc = wp + obk * C * ot;
    /* Unrolled twice, not four times: ResNet-50's code 14% smaller (optimised IR), its
     * LLVM time 5-8% less, inference the same (AVX-512 and AVX2, alternated runs);
     * once only was 1-2% slower on AVX2, whose tiles have 12 FMAs per channel. */
#pragma clang loop unroll_count(2)
    for (int64_t c = 0; c < C; c++) {
        pf_ahead(wc + c * ot);
        v16f xv[4];
#pragma clang loop unroll(full)
        for (int v = 0; v < pv; v++) xv[v] = ld16(xc + c * P + 16 * v);
#pragma clang loop unroll(full)
        for (int i = 0; i < ot; i++) {
            v16f wv = splat(wc[c * ot + i]);
#pragma clang loop unroll(full)
            for (int v = 0; v < pv; v++) acc[i][v] += wv * xv[v];
        }
    }
#pragma clang loop unroll(full)
    for (int i = 0; i < ot; i++) {
        int64_t o = obk * ot + i;
        if (o >= O) break;
        v16f bv = splat(wp[OBK * C * ot + o]);
#pragma clang loop unroll(full)
        for (int v = 0; v < pv; v++) {
            int64_t idx = (n * O + o) * P + p0 + 16 * v;
            v16f s = acc[i][v] + bv;
            if (r) s += ld16(r + idx);
            *(v16fu *)(y + idx) = act16(act, s, alpha);
        }
    }
}

/* pv vectors of pixels from p0 as register tiles of at most rv vectors (rv < pv where
 * the registers hold fewer, AVX2: the item's weights are then reused from L1/L2). */
INL void gemm_tiles(const float *restrict x, const float *restrict wp, const float *restrict r,
                    float *restrict y, const bcl_kp_conv1x1 *kp, int64_t n, int64_t obk, int64_t p0, const int ot,
                    const int pv, const int rv)
{
#pragma clang loop unroll(full)
    for (int s = 0; s < pv; s += rv) gemm_tile(x, wp, r, y, kp, n, obk, p0 + 16 * s, ot, pv - s < rv ? pv - s : rv);
}

KERNEL(conv1x1)
{
    PARAMS(conv1x1);
    int64_t P = kp->P, OBK = kp->OBK, OT = kp->OT, PV = kp->PV, RV = kp->RV;
    const float *x = slot_ptr(slots, kp->x), *wp = slot_ptr(slots, kp->wp), *r = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    /* Items (n, tile, obk), obk fastest so a thread's consecutive items reuse the
     * pixel tile; the last tile of an image also does the remainder. */
    int64_t tiles = P / (16 * PV), per_n = tiles ? tiles : 1;
    for (int64_t it = begin; it < end; it++) {
        int64_t obk = it % OBK, t = (it / OBK) % per_n, n = it / (OBK * per_n);
        /* OT, PV, RV and the remainders are constants: each call is fully unrolled. */
        if (t < tiles) gemm_tiles(x, wp, r, y, kp, n, obk, t * 16 * PV, OT, PV, RV);
        if (t != per_n - 1) continue;
        int64_t p0 = tiles * 16 * PV;
        if ((P - p0) / 16 > 0) gemm_tiles(x, wp, r, y, kp, n, obk, p0, OT, (P % (16 * PV)) / 16, RV);
        /* the last 16 pixels again, overlapping: same values, same thread */
        if (P % 16) gemm_tile(x, wp, r, y, kp, n, obk, P - 16, OT, 1);
    }
}

/* conv1x1_cv's input, each pixel tile's C x mt values contiguous: read in place
 * (x[c][p0..p0+mt), a row of P apart per c) the tile took a cache line or two per
 * channel for mt floats, and with 6-pixel tiles (AVX2) the loads from L2 bound the
 * GEMM (ResNet-50's 7x7 1x1 convs at 70 GFLOP/s of the core's 117). */
INL void cv_pack_tile(const float *restrict x, float *restrict xt, int64_t C, int64_t P, const int mt)
{
    for (int64_t c = 0; c < C; c++)
#pragma clang loop unroll(full)
        for (int m = 0; m < mt; m++) xt[c * mt + m] = x[c * P + m];
}

KERNEL(cv_pack)
{
    PARAMS(cv_pack);
    int64_t C = kp->C, P = kp->P, MT = kp->MT, tiles = (P + MT - 1) / MT;
    const float *x = slot_ptr(slots, kp->x);
    float *xt = slot_ptr(slots, kp->xt);
    for (int64_t it = begin; it < end; it++) {
        int64_t t = it % tiles, n = it / tiles;
        const float *xs = x + n * C * P + t * MT;
        float *xd = xt + n * C * P + t * MT * C;
        if (t * MT + MT <= P) cv_pack_tile(xs, xd, C, P, MT);
        else cv_pack_tile(xs, xd, C, P, P % MT);
    }
}

/* conv1x1's GEMM transposed, for images of few pixels that are not a multiple of 16
 * (7x7: 16-pixel vectors would compute 64 for 49): output channels are the vector
 * dimension, pixels the rows. A register tile is mt pixels x nv blocks of 16 output
 * channels; every pixel of x is broadcast (the tile's x[c][p0..p0+mt) are adjacent in
 * cv_pack's layout), weights [OB][C][16] are read as vectors, and each output lane is
 * stored to its channel's row y[o][p] (16 scalar stores per vector: cheap against C
 * FMAs per vector). */
INL void cv_tile(const float *restrict x, const float *restrict wp, const float *restrict r, float *restrict y,
                 const bcl_kp_conv1x1_cv *kp, int64_t n, int64_t ob0, int64_t p0, const int mt, const int nv)
{
    int64_t C = kp->C, P = kp->P, O = kp->O, OB = kp->OB, act = kp->act, WS = kp->WS;
    float alpha = fbits(kp->alpha);
    wp += n * WS;   /* weights scaled per image (scale_w), or shared (WS = 0) */
    v16f acc[8][4];
#pragma clang loop unroll(full)
    for (int m = 0; m < mt; m++)
#pragma clang loop unroll(full)
        for (int v = 0; v < nv; v++) acc[m][v] = splat(0);
    /* x[c][p0 + m]: cv_pack's tile ([C][mt]), or NCHW in place (a row of P per c) */
    int64_t cs = kp->PK ? mt : P;
    const float *xc = x + n * C * P + (kp->PK ? p0 * C : p0), *wc = wp + ob0 * C * 16;
#pragma clang loop unroll_count(2)
    for (int64_t c = 0; c < C; c++) {
        v16f wv[4];
#pragma clang loop unroll(full)
        for (int v = 0; v < nv; v++) wv[v] = *(const v16f *)(wc + (v * C + c) * 16);
#pragma clang loop unroll(full)
        for (int m = 0; m < mt; m++) {
            v16f xs = splat(xc[c * cs + m]);
#pragma clang loop unroll(full)
            for (int v = 0; v < nv; v++) acc[m][v] += xs * wv[v];
        }
    }
    /* The epilogue (bias, residual, activation, 16 lane stores per vector) runs as a
     * loop over a stack copy of the tile: unrolled mt x nv times it was most of the
     * JIT's compile time for ResNet-50 (0.4 s of LLVM CPU for one step function), for
     * work that is small against the C FMAs per vector. */
    v16f out[8][4];
#pragma clang loop unroll(full)
    for (int m = 0; m < mt; m++)
#pragma clang loop unroll(full)
        for (int v = 0; v < nv; v++) out[m][v] = acc[m][v];
#pragma clang loop unroll(disable)
    for (int v = 0; v < nv; v++) {
        int64_t o0 = (ob0 + v) * 16;
        v16f bv = *(const v16f *)(wp + OB * C * 16 + o0);
        int64_t nj = O % 16 == 0 || o0 + 16 <= O ? 16 : O - o0;   /* 16 unless the last, partial block */
#pragma clang loop unroll(disable)
        for (int m = 0; m < mt; m++) {
            int64_t base = (n * O + o0) * P + p0 + m;
            v16f s = out[m][v] + bv;
            if (r) {
#pragma clang loop unroll(full)
                for (int j = 0; j < 16; j++)
                    if (j < nj) s[j] += r[base + j * P];
            }
            s = act16(act, s, alpha);
            if (nj == 16) {   /* (always, when O % 16 == 0: no tests) */
#pragma clang loop unroll(full)
                for (int j = 0; j < 16; j++) y[base + j * P] = s[j];
            } else {
#pragma clang loop unroll(full)
                for (int j = 0; j < 16; j++)
                    if (j < nj) y[base + j * P] = s[j];
            }
        }
    }
}

KERNEL(conv1x1_cv)
{
    PARAMS(conv1x1_cv);
    int64_t P = kp->P, OB = kp->OB, MT = kp->MT, NV = kp->NV;
    const float *x = slot_ptr(slots, kp->x), *wp = slot_ptr(slots, kp->wp), *r = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    /* Items (n, channel group of NV blocks, pixel tile), pixel tiles fastest: a thread's
     * consecutive items read the same weights. The last group and the last pixel tile
     * may be narrower (constants: every call is unrolled). */
    int64_t groups = (OB + NV - 1) / NV, tiles = (P + MT - 1) / MT;
    for (int64_t it = begin; it < end; it++) {
        int64_t t = it % tiles, g = (it / tiles) % groups, n = it / (tiles * groups);
        int64_t p0 = t * MT, ob0 = g * NV;
        int full_p = p0 + MT <= P, full_o = ob0 + NV <= OB;
        if (full_p && full_o) cv_tile(x, wp, r, y, kp, n, ob0, p0, MT, NV);
        else if (full_p) cv_tile(x, wp, r, y, kp, n, ob0, p0, MT, OB % NV);
        else if (full_o) cv_tile(x, wp, r, y, kp, n, ob0, p0, P % MT, NV);
        else cv_tile(x, wp, r, y, kp, n, ob0, p0, P % MT, OB % NV);
    }
}

/* An SE block's scale folded into the next 1x1 conv: per image, the conv1x1 weights
 * times s[n][c] (input channel c), bias copied: conv(x * s) = conv_{w s}(x). */
KERNEL(scale_w)
{
    PARAMS(scale_w);
    int64_t C = kp->C, OT = kp->OT, OBK = kp->OBK, WS = OBK * C * OT + OBK * OT;
    const float *wp = slot_ptr(slots, kp->wp), *s = slot_ptr(slots, kp->s);
    float *wo = slot_ptr(slots, kp->wo);
    for (int64_t it = begin; it < end; it++) {
        int64_t n = it / OBK, obk = it % OBK;
        const float *src = wp + obk * C * OT, *sn = s + n * C;
        float *dst = wo + n * WS + obk * C * OT;
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < OT; i++) dst[c * OT + i] = src[c * OT + i] * sn[c];
        for (int64_t i = 0; i < OT; i++) wo[n * WS + OBK * C * OT + obk * OT + i] = wp[OBK * C * OT + obk * OT + i];
    }
}

/* Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions: 2x2 output tiles from 4x4
 * input patches, 16 multiplies per tile and channel pair instead of 36.
 * V = B^T d B per patch (wino_in), M[xi] = V[xi] U[xi] for the 16 positions xi
 * (wino_gemm, U = G g G^T packed at compile time), Y = A^T M A (wino_out). */
KERNEL(wino_in)
{
    PARAMS(wino_in);
    int64_t CB = kp->CB, HP = kp->HP, WP = kp->WP, TH = kp->TH, TW = kp->TW;
    const float *xp = slot_ptr(slots, kp->xp);
    float *V = slot_ptr(slots, kp->V);
    int64_t T = kp->N * TH * TW, Cp = CB * 16;
    for (int64_t it = begin; it < end; it++) {   /* it = (n, th) */
        int64_t n = it / TH, th = it % TH;
        for (int64_t tw = 0; tw < TW; tw++)
            for (int64_t cb = 0; cb < CB; cb++) {
                const float *b = xp + (((n * CB + cb) * HP + 2 * th) * WP + 2 * tw) * 16;
                v16f d[4][4], t[4][4];
#pragma clang loop unroll(full)
                for (int i = 0; i < 4; i++)
#pragma clang loop unroll(full)
                    for (int j = 0; j < 4; j++) d[i][j] = ld16(b + (i * WP + j) * 16);
#pragma clang loop unroll(full)
                for (int j = 0; j < 4; j++) {   /* B^T d */
                    t[0][j] = d[0][j] - d[2][j];
                    t[1][j] = d[1][j] + d[2][j];
                    t[2][j] = d[2][j] - d[1][j];
                    t[3][j] = d[1][j] - d[3][j];
                }
                int64_t tile = (n * TH + th) * TW + tw;
#pragma clang loop unroll(full)
                for (int i = 0; i < 4; i++) {   /* (B^T d) B */
                    v16f v[4] = {t[i][0] - t[i][2], t[i][1] + t[i][2], t[i][2] - t[i][1], t[i][1] - t[i][3]};
#pragma clang loop unroll(full)
                    for (int j = 0; j < 4; j++) *(v16fu *)(V + ((i * 4 + j) * T + tile) * Cp + cb * 16) = v[j];
                }
            }
    }
}

INL void wino_tile(const float *restrict V, const float *restrict U, float *restrict M, int64_t xi, int64_t t0,
                   const int rt, int64_t T, int64_t Cp, int64_t OB, int64_t ob)
{
    v16f acc[8];
#pragma clang loop unroll(full)
    for (int r = 0; r < rt; r++) acc[r] = splat(0);
    const float *u = U + (xi * OB + ob) * Cp * 16, *v = V + (xi * T + t0) * Cp;
#pragma clang loop unroll_count(2)
    for (int64_t c = 0; c < Cp; c++) {
        pf_ahead(u + c * 16);
        v16f w = ld16(u + c * 16);
#pragma clang loop unroll(full)
        for (int r = 0; r < rt; r++) acc[r] += splat(v[r * Cp + c]) * w;
    }
#pragma clang loop unroll(full)
    for (int r = 0; r < rt; r++) *(v16fu *)(M + ((xi * T + t0 + r) * OB + ob) * 16) = acc[r];
}

KERNEL(wino_gemm)
{
    PARAMS(wino_gemm);
    int64_t T = kp->T, Cp = kp->Cp, OB = kp->OB, RT = kp->RT, TB = (T + RT - 1) / RT;
    const float *V = slot_ptr(slots, kp->V), *U = slot_ptr(slots, kp->U);
    float *M = slot_ptr(slots, kp->M);
    for (int64_t it = begin; it < end; it++) {   /* it = (xi, tile block, ob) */
        int64_t ob = it % OB, tb = (it / OB) % TB, xi = it / (OB * TB), t0 = tb * RT;
        /* the last block: T % RT rows (a constant) in one tile, not one row at a time
         * (a one-row tile has two ymm accumulators on AVX2: FMA latency bound) */
        if (t0 + RT <= T)
            wino_tile(V, U, M, xi, t0, RT, T, Cp, OB, ob);
        else
            wino_tile(V, U, M, xi, t0, T % RT, T, Cp, OB, ob);
    }
}

KERNEL(wino_out)
{
    PARAMS(wino_out);
    int64_t O = kp->O, OB = kp->OB, OH = kp->OH, OW = kp->OW, TH = kp->TH, TW = kp->TW, act = kp->act, Cp = kp->Cp;
    float alpha = fbits(kp->alpha);
    const float *M = slot_ptr(slots, kp->M), *U = slot_ptr(slots, kp->U), *r = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    int64_t T = kp->N * TH * TW;
    for (int64_t it = begin; it < end; it++) {   /* it = (n, th, ob): a thread's range is rows */
        int64_t ob = it % OB, th = (it / OB) % TH, n = it / (TH * OB);
        v16f bv = ld16(U + 16 * OB * Cp * 16 + ob * 16);
        for (int64_t tw = 0; tw < TW; tw++) {
            int64_t tile = (n * TH + th) * TW + tw;
            v16f m[4][4], t[2][4];
#pragma clang loop unroll(full)
            for (int i = 0; i < 4; i++)
#pragma clang loop unroll(full)
                for (int j = 0; j < 4; j++) m[i][j] = ld16(M + (((i * 4 + j) * T + tile) * OB + ob) * 16);
#pragma clang loop unroll(full)
            for (int j = 0; j < 4; j++) {   /* A^T m */
                t[0][j] = m[0][j] + m[1][j] + m[2][j];
                t[1][j] = m[1][j] - m[2][j] - m[3][j];
            }
#pragma clang loop unroll(full)
            for (int i = 0; i < 2; i++) {   /* (A^T m) A */
                int64_t oh = 2 * th + i;
                if (oh >= OH) break;
                v16f o0 = t[i][0] + t[i][1] + t[i][2] + bv, o1 = t[i][1] - t[i][2] - t[i][3] + bv;
                int64_t base = ((n * O + ob * 16) * OH + oh) * OW + 2 * tw;
                store_lanes(y, r, o0, base, OH * OW, O - ob * 16, act, alpha);
                if (2 * tw + 1 < OW) store_lanes(y, r, o1, base + 1, OH * OW, O - ob * 16, act, alpha);
            }
        }
    }
}

/* Winograd F(4x4, 3x3): 4x4 output tiles from 6x6 input patches, 36 multiplies per
 * tile and channel pair instead of 144 (F(2x2, 3x3): 64 per 16 outputs). Points 0,
 * +-1, +-2, infinity; V = B^T d B (wino4_in), the same wino_gemm over 36 positions,
 * Y = A^T M A (wino4_out); U = G g G^T is packed at compile time (bcl_pack_wino43). */

/* B^T applied to 6 values a[0..5] (rows or columns of a patch). */
INL void wino4_bt(const v16f *a, v16f *o)
{
    v16f p = a[4] - 4.0f * a[2], q = a[3] - 4.0f * a[1];
    v16f r = a[4] - a[2], s = 2.0f * (a[3] - a[1]);
    o[0] = 4.0f * a[0] - 5.0f * a[2] + a[4];
    o[1] = p + q;
    o[2] = p - q;
    o[3] = r + s;
    o[4] = r - s;
    o[5] = 4.0f * a[1] - 5.0f * a[3] + a[5];
}

KERNEL(wino4_in)
{
    PARAMS(wino4_in);
    int64_t CB = kp->CB, HP = kp->HP, WP = kp->WP, TH = kp->TH, TW = kp->TW;
    const float *xp = slot_ptr(slots, kp->xp);
    float *V = slot_ptr(slots, kp->V);
    int64_t T = kp->N * TH * TW, Cp = CB * 16;
    for (int64_t it = begin; it < end; it++) {   /* it = (n, th) */
        int64_t n = it / TH, th = it % TH;
        for (int64_t tw = 0; tw < TW; tw++)
            for (int64_t cb = 0; cb < CB; cb++) {
                const float *b = xp + (((n * CB + cb) * HP + 4 * th) * WP + 4 * tw) * 16;
                /* rows times B: e[i] = d[i] B. The row and column loops stay loops: fully
                 * unrolled (36 vectors live) they cost more compile time than they save. */
                v16f e[6][6];
#pragma clang loop unroll(disable)
                for (int i = 0; i < 6; i++) {
                    v16f d[6];
#pragma clang loop unroll(full)
                    for (int j = 0; j < 6; j++) d[j] = ld16(b + (i * WP + j) * 16);
                    wino4_bt(d, e[i]);
                }
                int64_t tile = (n * TH + th) * TW + tw;
#pragma clang loop unroll(disable)
                for (int j = 0; j < 6; j++) {   /* B^T on each column */
                    v16f c[6], v[6];
#pragma clang loop unroll(full)
                    for (int i = 0; i < 6; i++) c[i] = e[i][j];
                    wino4_bt(c, v);
#pragma clang loop unroll(full)
                    for (int i = 0; i < 6; i++) *(v16fu *)(V + ((i * 6 + j) * T + tile) * Cp + cb * 16) = v[i];
                }
            }
    }
}

/* A^T applied to 6 values m[0..5]: 4 outputs. */
INL void wino4_at(const v16f *m, v16f *o)
{
    v16f a = m[1] + m[2], b = m[1] - m[2], c = m[3] + m[4], d = m[3] - m[4];
    o[0] = m[0] + a + c;
    o[1] = b + 2.0f * d;
    o[2] = a + 4.0f * c;
    o[3] = b + 8.0f * d + m[5];
}

KERNEL(wino4_out)
{
    PARAMS(wino4_out);
    int64_t O = kp->O, OB = kp->OB, OH = kp->OH, OW = kp->OW, TH = kp->TH, TW = kp->TW, act = kp->act, Cp = kp->Cp;
    float alpha = fbits(kp->alpha);
    const float *M = slot_ptr(slots, kp->M), *U = slot_ptr(slots, kp->U), *r = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    int64_t T = kp->N * TH * TW;
    for (int64_t it = begin; it < end; it++) {   /* it = (n, th, ob): a thread's range is rows */
        int64_t ob = it % OB, th = (it / OB) % TH, n = it / (TH * OB);
        v16f bv = ld16(U + 36 * OB * Cp * 16 + ob * 16);
        for (int64_t tw = 0; tw < TW; tw++) {
            int64_t tile = (n * TH + th) * TW + tw;
            v16f t[4][6];   /* A^T m, column by column (loops, as in wino4_in) */
#pragma clang loop unroll(disable)
            for (int j = 0; j < 6; j++) {
                v16f m[6], o[4];
#pragma clang loop unroll(full)
                for (int i = 0; i < 6; i++) m[i] = ld16(M + (((i * 6 + j) * T + tile) * OB + ob) * 16);
                wino4_at(m, o);
#pragma clang loop unroll(full)
                for (int i = 0; i < 4; i++) t[i][j] = o[i];
            }
#pragma clang loop unroll(disable)
            for (int i = 0; i < 4; i++) {   /* (A^T m) A, row by row */
                int64_t oh = 4 * th + i;
                if (oh >= OH) break;
                v16f o[4];
                wino4_at(t[i], o);
                int64_t base = ((n * O + ob * 16) * OH + oh) * OW + 4 * tw;
#pragma clang loop unroll(full)
                for (int j = 0; j < 4; j++)
                    if (4 * tw + j < OW) store_lanes(y, r, o[j] + bv, base + j, OH * OW, O - ob * 16, act, alpha);
            }
        }
    }
}

/* Stores the first n lanes of v at y (n < 16, a constant after inlining). */
INL void store_part(float *restrict y, v16f v, int64_t n)
{
    float tmp[16];
    *(v16fu *)tmp = v;
    memcpy(y, tmp, sizeof(float) * (size_t)n);
}

INL v16f load_part(const float *restrict x, int64_t n)
{
    float tmp[16] = {0};
    memcpy(tmp, x, sizeof(float) * (size_t)n);
    return *(v16fu *)tmp;
}

/* nr output rows x tv vectors of 16 outputs of dwconv, from column ow0 (nlast lanes
 * valid in the last vector; 16: all); rr0 is the first row's first input row in the
 * band buffer. Each input row vector is loaded once per tap column and feeds every
 * output row whose taps reach it (up to min(nr, KH) FMAs per load where one row took
 * one), and each row's taps still come in (kh, kw) order, so the sums are the
 * single-row tile's. y and r point at the first row (rows OW apart). */
INL void dw_rows_tile(const float *restrict buf, const float *restrict wc, float bias, const float *restrict r,
                      float *restrict y, const bcl_kp_dwconv *kp, int64_t rr0, int64_t ow0, const int tv,
                      int64_t nlast, const int nr)
{
    int64_t KH = kp->KH, KW = kp->KW, sh = kp->sh, sw = kp->sw, dh = kp->dh, dw = kp->dw, act = kp->act;
    int64_t WQ = kp->WQ, OW = kp->OW;
    float alpha = fbits(kp->alpha);
    v16f acc[8][8];
#pragma clang loop unroll(full)
    for (int o = 0; o < nr; o++)
#pragma clang loop unroll(full)
        for (int t = 0; t < tv; t++) acc[o][t] = splat(bias);
    int64_t IR = (nr - 1) * sh + (KH - 1) * dh + 1;   /* input rows of the nr output rows */
#pragma clang loop unroll(full)
    for (int64_t ir = 0; ir < IR; ir++)
#pragma clang loop unroll(full)
        for (int64_t kw = 0; kw < KW; kw++) {
            const float *row = buf + ((rr0 + ir) * sw + (kw * dw) % sw) * WQ + (kw * dw) / sw + ow0;
            v16f v[8];
#pragma clang loop unroll(full)
            for (int t = 0; t < tv; t++) v[t] = ld16(row + 16 * t);
#pragma clang loop unroll(full)
            for (int o = 0; o < nr; o++) {
                int64_t kh = ir - o * sh;   /* output row o's tap row reading input row ir */
                if (kh < 0 || kh % dh || kh / dh >= KH) continue;
                v16f wv = splat(wc[kh / dh * KW + kw]);
#pragma clang loop unroll(full)
                for (int t = 0; t < tv; t++) acc[o][t] += v[t] * wv;
            }
        }
#pragma clang loop unroll(full)
    for (int o = 0; o < nr; o++)
#pragma clang loop unroll(full)
        for (int t = 0; t < tv; t++) {
            float *yo = y + o * OW + ow0 + 16 * t;
            const float *ro = r ? r + o * OW + ow0 + 16 * t : 0;
            v16f s = acc[o][t];
            if (t == tv - 1 && nlast < 16) {
                if (ro) s += load_part(ro, nlast);
                store_part(yo, act16(act, s, alpha), nlast);
            } else {
                if (ro) s += ld16(ro);
                *(v16fu *)yo = act16(act, s, alpha);
            }
        }
}

/* nr output rows (a constant) of one channel, whole: register tiles of TV vectors, then
 * the remainder (FV % TV full vectors and a partial one: constants) as one tile. */
INL void dw_rows(const float *restrict buf, const float *restrict wc, float bias, const float *restrict r,
                 float *restrict y, const bcl_kp_dwconv *kp, int64_t rr0, const int nr)
{
    int64_t OW = kp->OW, TV = kp->TV, FV = OW / 16, NL = OW % 16;   /* full vectors per row, lanes of the last */
    int64_t v = 0;
    for (; v + TV <= FV; v += TV) dw_rows_tile(buf, wc, bias, r, y, kp, rr0, v * 16, TV, 16, nr);
    if (FV % TV || NL) dw_rows_tile(buf, wc, bias, r, y, kp, rr0, v * 16, FV % TV + (NL ? 1 : 0), NL ? NL : 16, nr);
}

/* Output rows oh0 .. oh1 - 1 of one channel from its band buffer: OR rows at a time
 * (kp->OR, a constant), the band's last oh1 - oh0 rows mod OR through the same tile for
 * that many rows. y and r point at the channel's plane. */
INL void dw_band(const float *restrict buf, const float *restrict wc, float bias, const float *restrict r,
                 float *restrict y, const bcl_kp_dwconv *kp, int64_t oh0, int64_t oh1)
{
    int64_t OR = kp->OR, sh = kp->sh, OW = kp->OW, oh = oh0;
    for (; oh + OR <= oh1; oh += OR)
        dw_rows(buf, wc, bias, r ? r + oh * OW : 0, y + oh * OW, kp, (oh - oh0) * sh, OR);
    int64_t left = oh1 - oh, rr0 = (oh - oh0) * sh;
    const float *ro = r ? r + oh * OW : 0;
    /* OR <= 8 (planner); each branch's row count is a constant */
    if (left == 1) dw_rows(buf, wc, bias, ro, y + oh * OW, kp, rr0, 1);
    else if (OR > 2 && left == 2) dw_rows(buf, wc, bias, ro, y + oh * OW, kp, rr0, 2);
    else if (OR > 3 && left == 3) dw_rows(buf, wc, bias, ro, y + oh * OW, kp, rr0, 3);
    else if (OR > 4 && left == 4) dw_rows(buf, wc, bias, ro, y + oh * OW, kp, rr0, 4);
    else if (OR > 5 && left == 5) dw_rows(buf, wc, bias, ro, y + oh * OW, kp, rr0, 5);
    else if (OR > 6 && left == 6) dw_rows(buf, wc, bias, ro, y + oh * OW, kp, rr0, 6);
    else if (OR > 7 && left == 7) dw_rows(buf, wc, bias, ro, y + oh * OW, kp, rr0, 7);
}

/* Copies input rows ih0 .. ih0 + rows - 1 of one H x W plane into buf as padded rows
 * split into sw column phases: padded column j (input column j - pl) of row rr goes to
 * buf[(rr * sw + j % sw) * WQ + j / sw]; rows and columns outside the plane hold padv.
 * Then a tap reads 16 consecutive floats for 16 consecutive outputs, whatever the
 * stride, with no bounds tests (dwconv, maxpool, convrow). */
INL void fill_row(float *restrict dst, const float *restrict src, int64_t W, int64_t sw, int64_t WQ, int64_t pl,
                  float padv)
{
    if (sw == 2 && src) {
        /* the padded row whole, then split into even and odd columns 16 at a
         * time (a strided scalar copy cost more than the taps) */
        float tmp[2 * WQ + 16];
        int64_t n = min64(W, 2 * WQ - pl);
        for (int64_t i = 0; i < pl; i++) tmp[i] = padv;
        memcpy(tmp + pl, src, sizeof(float) * (size_t)n);
        for (int64_t i = pl + n; i < 2 * WQ + 16; i++) tmp[i] = padv;
        float *ev = dst, *od = ev + WQ;
        int64_t i = 0;
        for (; i + 16 <= WQ; i += 16) {
            v16f a = ld16(tmp + 2 * i), b = ld16(tmp + 2 * i + 16);
            *(v16fu *)(ev + i) = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22,
                                                         24, 26, 28, 30);
            *(v16fu *)(od + i) = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23,
                                                         25, 27, 29, 31);
        }
        for (; i < WQ; i++) ev[i] = tmp[2 * i], od[i] = tmp[2 * i + 1];
        return;
    }
    for (int64_t q = 0; q < sw; q++) {
        float *d = dst + q * WQ;
        if (!src) {
            for (int64_t i = 0; i < WQ; i++) d[i] = padv;
            continue;
        }
        /* padded column j = i * sw + q is input column j - pl */
        int64_t lo = pl - q > 0 ? (pl - q + sw - 1) / sw : 0;
        int64_t hi = (W + pl - q + sw - 1) / sw;
        lo = min64(lo, WQ), hi = min64(hi < lo ? lo : hi, WQ);
        const float *sq = src + q - pl;
        for (int64_t i = 0; i < lo; i++) d[i] = padv;
        for (int64_t i = lo; i < hi; i++) d[i] = sq[i * sw];
        for (int64_t i = hi; i < WQ; i++) d[i] = padv;
    }
}

/* Copies input rows ih0 .. ih0 + rows - 1 of one H x W plane into buf as padded rows
 * split into sw column phases: padded column j (input column j - pl) of row rr goes to
 * buf[(rr * sw + j % sw) * WQ + j / sw]; rows and columns outside the plane hold padv.
 * Then a tap reads 16 consecutive floats for 16 consecutive outputs, whatever the
 * stride, with no bounds tests (dwconv, maxpool, convrow). */
INL void fill_band(float *restrict buf, const float *restrict xc, int64_t H, int64_t W, int64_t ih0, int64_t rows,
                   int64_t sw, int64_t WQ, int64_t pl, float padv)
{
    for (int64_t rr = 0; rr < rows; rr++) {
        int64_t ih = ih0 + rr;
        fill_row(buf + rr * sw * WQ, ih >= 0 && ih < H ? xc + ih * W : 0, W, sw, WQ, pl, padv);
    }
}

/* Depthwise convolution straight on NCHW (no packing, whole-vector stores),
 * vectorised along the output row. An item is a band of RB output rows of one
 * channel: the band's input rows are first copied into a zero-padded local buffer
 * (it stays in L1), each row split into sw column phases (padded column j at
 * [j % sw][j / sw]), so a tap reads 16 consecutive floats for 16 consecutive outputs
 * with no bounds tests, whatever the stride. wp is w[C][KH*KW] + bias[C]. */
KERNEL(dwconv)
{
    PARAMS(dwconv);
    int64_t C = kp->C, H = kp->H, W = kp->W, KH = kp->KH, KW = kp->KW, OH = kp->OH, OW = kp->OW;
    int64_t sh = kp->sh, sw = kp->sw, dh = kp->dh, pt = kp->pt, pl = kp->pl, RB = kp->RB, WQ = kp->WQ;
    const float *x = slot_ptr(slots, kp->x), *wp = slot_ptr(slots, kp->wp), *r = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    int64_t NB = (OH + RB - 1) / RB, R = (RB - 1) * sh + (KH - 1) * dh + 1;
    float buf[R * sw * WQ];
    for (int64_t it = begin; it < end; it++) {
        /* it = (n, band, c): a thread's range is rows, as its producer's (pool.c) */
        int64_t c = it % C, band = (it / C) % NB, nc = it / (C * NB) * C + c;
        int64_t oh0 = band * RB, oh1 = min64(OH, oh0 + RB);
        int64_t rows = (oh1 - oh0 - 1) * sh + (KH - 1) * dh + 1;
        const float *xc = x + nc * H * W;
        fill_band(buf, xc, H, W, oh0 * sh - pt, rows, sw, WQ, pl, 0.0f);
        dw_band(buf, wp + c * KH * KW, wp[C * KH * KW + c], r ? r + nc * OH * OW : 0, y + nc * OH * OW, kp, oh0, oh1);
    }
}

/* Depthwise conv, stride 1 or 2, on small planes (rows under 16: the 7x7 stages, where
 * dwconv's 16-lane row vectors held 7 outputs). The zero-padded plane is split into
 * sh x sw phase planes (padded row i, column j in phase (i % sh, j % sw) at (i / sh,
 * j / sw)), each flat with PW = OW + (KW - 1) / sw floats a row, so output (oh, ow) at
 * flat index f = oh * PW + ow is sum_{kh,kw} w * phase(kh % sh, kw % sw)[f + (kh / sh) *
 * PW + kw / sw]: each tap is one shifted vector read for NVEC vectors of flat outputs
 * (7x7, 5x5: 5 vectors where rows took 7; the PW - OW lanes per row between outputs are
 * computed and dropped). An item is one channel plane. Then each output row: + residual,
 * activation, store. */
KERNEL(dwflat)
{
    PARAMS(dwflat);
    int64_t C = kp->C, H = kp->H, W = kp->W, KH = kp->KH, KW = kp->KW, OH = kp->OH, OW = kp->OW;
    int64_t sh = kp->sh, sw = kp->sw, pt = kp->pt, pl = kp->pl, act = kp->act, PW = kp->PW, NVEC = kp->NVEC;
    float alpha = fbits(kp->alpha);
    const float *x = slot_ptr(slots, kp->x), *wp = slot_ptr(slots, kp->wp), *r = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    /* floats per phase plane: the vectors' reach past the shifts, rounded to vectors */
    int64_t PH = OH + (KH - 1) / sh, PS = (NVEC * 16 + (KH - 1) / sh * PW + (KW - 1) / sw + 15) / 16 * 16;
    float buf[sh * sw * PS], out[NVEC * 16 + 16];   /* a row's vector read reaches past the last output */
    for (int64_t nc = begin; nc < end; nc++) {
        int64_t c = nc % C;
        for (int64_t i = 0; i < sh * sw * PS; i += 16) *(v16fu *)(buf + i) = splat(0);
        const float *xc = x + nc * H * W;
        for (int64_t ih = 0; ih < H; ih++) {   /* rows and columns no tap reads are left out */
            int64_t i = ih + pt;
            if (i < 0 || i / sh >= PH) continue;
            float *prow = buf + (i % sh) * sw * PS + (i / sh) * PW;
            if (sw == 1) {
                int64_t lo = pl < 0 ? -pl : 0, hi = min64(W, PW - pl);
                for (int64_t iw = lo; iw < hi; iw++) prow[iw + pl] = xc[ih * W + iw];
            } else
                for (int64_t iw = 0; iw < W; iw++) {
                    int64_t j = iw + pl;
                    if (j >= 0 && j / sw < PW) prow[(j % sw) * PS + j / sw] = xc[ih * W + iw];
                }
        }
        const float *wc = wp + c * KH * KW;
        v16f acc[8];
        float bias = wp[C * KH * KW + c];
#pragma clang loop unroll(full)
        for (int v = 0; v < NVEC; v++) acc[v] = splat(bias);
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++) {
                v16f wv = splat(wc[kh * KW + kw]);
                const float *b = buf + ((kh % sh) * sw + kw % sw) * PS + kh / sh * PW + kw / sw;
#pragma clang loop unroll(full)
                for (int v = 0; v < NVEC; v++) acc[v] += ld16(b + 16 * v) * wv;
            }
#pragma clang loop unroll(full)
        for (int v = 0; v < NVEC; v++) *(v16fu *)(out + 16 * v) = acc[v];
        float *yc = y + nc * OH * OW;
        const float *rc = r ? r + nc * OH * OW : 0;
        for (int64_t oh = 0; oh < OH; oh++) {
            v16f s = ld16(out + oh * PW);   /* OW < 16 lanes of it are this row's */
            if (rc) s += load_part(rc + oh * OW, OW);
            store_part(yc + oh * OW, act16(act, s, alpha), OW);
        }
    }
}

/* The expansion of G channels at once (the register tile G channels x CV row vectors),
 * so each vector of x read from L2 feeds G FMAs, written into G band buffers. */
INL void pw_rows(const float *restrict xr, const float *restrict pw, float *restrict bufs, const bcl_kp_pwdw *kp,
                 int64_t c0, int64_t ih, int64_t rr, const int G)
{
    int64_t C = kp->C, H = kp->H, W = kp->W, sw = kp->sw, pl = kp->pl, WQ = kp->WQ, Ci = kp->Ci, pact = kp->pact;
    int64_t CV = kp->CV, BUF = kp->BUF;   /* BUF: floats per channel's band buffer */
    float palpha = fbits(kp->palpha);
    int64_t NV = (W + 15) / 16;
    float row[G][NV * 16];
    const float *wg[4];
    float bg[4];
#pragma clang loop unroll(full)
    for (int g = 0; g < G; g++) {
        int64_t c = min64(c0 + g, C - 1);   /* past C (the last group): computed, never stored */
        wg[g] = pw + c * Ci, bg[g] = pw[C * Ci + c];
    }
    /* CV vectors of the row per pass */
#pragma clang loop unroll(full)
    for (int64_t v0 = 0; v0 < NV; v0 += CV) {
        v16f acc[4][8];
#pragma clang loop unroll(full)
        for (int g = 0; g < G; g++)
#pragma clang loop unroll(full)
            for (int v = 0; v < 8; v++) acc[g][v] = splat(bg[g]);
        for (int64_t k = 0; k < Ci; k++) {
            const float *xk = xr + k * H * W + v0 * 16;
            v16f xv[8];
#pragma clang loop unroll(full)
            for (int v = 0; v < 8; v++) {
                if (v >= CV || v0 + v >= NV) break;
                /* a partial last vector reads on into the next row (lanes past W are
                 * never copied out), except at the plane's end (the buffer's, maybe):
                 * load_part's store-forwarding stall there only */
                int64_t col = (v0 + v) * 16;
                xv[v] = col + 16 > W && k == Ci - 1 && ih == H - 1 ? load_part(xk + v * 16, W - col) : ld16(xk + v * 16);
            }
#pragma clang loop unroll(full)
            for (int g = 0; g < G; g++) {
                v16f wv = splat(wg[g][k]);
#pragma clang loop unroll(full)
                for (int v = 0; v < 8; v++) {
                    if (v >= CV || v0 + v >= NV) break;
                    acc[g][v] += wv * xv[v];
                }
            }
        }
#pragma clang loop unroll(full)
        for (int g = 0; g < G; g++)
#pragma clang loop unroll(full)
            for (int v = 0; v < 8; v++) {
                if (v >= CV || v0 + v >= NV) break;
                *(v16fu *)(row[g] + (v0 + v) * 16) = act16(pact, acc[g][v], palpha);
            }
    }
#pragma clang loop unroll(full)
    for (int g = 0; g < G; g++) fill_row(bufs + g * BUF + rr * sw * WQ, row[g], W, sw, WQ, pl, 0.0f);
}

/* The depthwise conv fused with the 1x1 expansion before it (the inverted residual
 * blocks of MobileNetV2 and EfficientNet, on planes too large for L2): each input row a
 * band needs, of expanded channel c, is computed (bias + sum_k w[c][k] x[k][row], the
 * expansion's activation) straight into the band buffer, so the expanded tensor (4.8 MB
 * for 96 x 112 x 112) never goes through memory. Items (n, band, group of G channels),
 * groups fastest: a thread's consecutive items read the same input rows, which stay in
 * L2, and each row vector read feeds G channels (pw_rows). p: dwconv's, then pw
 * (w[C][Ci] + bias[C]), Ci, act, alpha, CV, G, BUF; x is the expansion's input. */
_Static_assert(offsetof(bcl_kp_pwdw, TV) == offsetof(bcl_kp_dwconv, TV), "pwdw's table starts with dwconv's");
KERNEL(pwdw)
{
    PARAMS(pwdw);
    const bcl_kp_dwconv *dwk = (const bcl_kp_dwconv *)(const void *)kp;   /* the same leading fields */
    int64_t C = kp->C, H = kp->H, W = kp->W, KH = kp->KH, KW = kp->KW, OH = kp->OH, OW = kp->OW;
    int64_t sh = kp->sh, sw = kp->sw, dh = kp->dh, pt = kp->pt, pl = kp->pl, RB = kp->RB, WQ = kp->WQ;
    int64_t Ci = kp->Ci, G = kp->G, BUF = kp->BUF;
    const float *x = slot_ptr(slots, kp->x), *wp = slot_ptr(slots, kp->wp), *r = slot_ptr(slots, kp->r);
    const float *pw = slot_ptr(slots, kp->pw);
    float *y = slot_ptr(slots, kp->y);
    int64_t NB = (OH + RB - 1) / RB, CG = (C + G - 1) / G;   /* NV = ceil(W / 16) <= 8 (planner) */
    float bufs[G * BUF];
    for (int64_t it = begin; it < end; it++) {
        int64_t cg = it % CG, band = (it / CG) % NB, n = it / (CG * NB), c0 = cg * G;
        int64_t oh0 = band * RB, oh1 = min64(OH, oh0 + RB);
        int64_t rows = (oh1 - oh0 - 1) * sh + (KH - 1) * dh + 1;
        const float *xn = x + n * Ci * H * W;
        for (int64_t rr = 0; rr < rows; rr++) {
            int64_t ih = oh0 * sh - pt + rr;
            if (ih < 0 || ih >= H) {
                for (int64_t g = 0; g < G; g++) fill_row(bufs + g * BUF + rr * sw * WQ, 0, W, sw, WQ, pl, 0.0f);
                continue;
            }
            /* G is a constant: one unrolled tile */
            if (G == 4) pw_rows(xn + ih * W, pw, bufs, kp, c0, ih, rr, 4);
            else if (G == 2) pw_rows(xn + ih * W, pw, bufs, kp, c0, ih, rr, 2);
            else pw_rows(xn + ih * W, pw, bufs, kp, c0, ih, rr, 1);
        }
        for (int64_t g = 0; g < G && c0 + g < C; g++) {
            int64_t c = c0 + g, nc = n * C + c;
            dw_band(bufs + g * BUF, wp + c * KH * KW, wp[C * KH * KW + c], r ? r + nc * OH * OW : 0,
                    y + nc * OH * OW, dwk, oh0, oh1);
        }
    }
}

/* Max pooling on NCHW through the same padded band buffer (padding -inf): 16 outputs
 * of a row per vector, whole-vector stores. A NaN anywhere in the window gives NaN,
 * as in the reference. */
KERNEL(maxpool)
{
    PARAMS(maxpool);
    int64_t H = kp->H, W = kp->W, OH = kp->OH, OW = kp->OW, KH = kp->KH, KW = kp->KW, sh = kp->sh, sw = kp->sw;
    int64_t pt = kp->pt, pl = kp->pl, RB = kp->RB, WQ = kp->WQ;
    const float *x = slot_ptr(slots, kp->x);
    float *y = slot_ptr(slots, kp->y);
    int64_t NB = (OH + RB - 1) / RB, R = (RB - 1) * sh + KH;
    float buf[R * sw * WQ];
    for (int64_t it = begin; it < end; it++) {
        int64_t band = it % NB, c = it / NB, oh0 = band * RB, oh1 = min64(OH, oh0 + RB);
        fill_band(buf, x + c * H * W, H, W, oh0 * sh - pt, (oh1 - oh0 - 1) * sh + KH, sw, WQ, pl, -INFINITY);
        for (int64_t oh = oh0; oh < oh1; oh++) {
            float *yr = y + (c * OH + oh) * OW;
            for (int64_t ow0 = 0; ow0 < OW; ow0 += 16) {
                v16f m = splat(-INFINITY);
                v16i nan = {0};
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        v16f v = ld16(buf + (((oh - oh0) * sh + kh) * sw + kw % sw) * WQ + kw / sw + ow0);
                        nan |= v != v;
                        m = vsel(v > m, v, m);
                    }
                m = vsel(nan, splat(NAN), m);
                if (ow0 + 16 <= OW)
                    *(v16fu *)(yr + ow0) = m;
                else
                    store_part(yr + ow0, m, OW - ow0);
            }
        }
    }
}

/* A register tile of convrow: ot output channels x tv vectors of 16 outputs of one row. */
INL void convrow_tile(const float *restrict buf, const float *restrict wp, const float *restrict r,
                      float *restrict y, const bcl_kp_convrow *kp, int64_t n, int64_t obk, int64_t oh, int64_t rr0,
                      int64_t ow0,
                      const int ot, const int tv, int64_t nlast)
{
    int64_t C = kp->C, KH = kp->KH, KW = kp->KW, O = kp->O, OH = kp->OH, OW = kp->OW, sw = kp->sw;
    int64_t dh = kp->dh, dw = kp->dw, act = kp->act, R = kp->R, WQ = kp->WQ, OBK = kp->OBK;
    float alpha = fbits(kp->alpha);
    v16f acc[8][4];
#pragma clang loop unroll(full)
    for (int i = 0; i < ot; i++)
#pragma clang loop unroll(full)
        for (int t = 0; t < tv; t++) acc[i][t] = splat(0);
    const float *wk = wp + obk * C * KH * KW * ot;
    for (int64_t c = 0; c < C; c++)
        for (int64_t kh = 0; kh < KH; kh++)
#pragma clang loop unroll(disable)
            for (int64_t kw = 0; kw < KW; kw++) {
                const float *row = buf + ((c * R + rr0 + kh * dh) * sw + (kw * dw) % sw) * WQ + (kw * dw) / sw + ow0;
                v16f xv[4];
#pragma clang loop unroll(full)
                for (int t = 0; t < tv; t++) xv[t] = ld16(row + 16 * t);
                const float *wt = wk + ((c * KH + kh) * KW + kw) * ot;
#pragma clang loop unroll(full)
                for (int i = 0; i < ot; i++) {
                    v16f wv = splat(wt[i]);
#pragma clang loop unroll(full)
                    for (int t = 0; t < tv; t++) acc[i][t] += wv * xv[t];
                }
            }
#pragma clang loop unroll(full)
    for (int i = 0; i < ot; i++) {
        int64_t o = obk * ot + i;
        if (o >= O) break;
        v16f bv = splat(wp[OBK * C * KH * KW * ot + o]);
#pragma clang loop unroll(full)
        for (int t = 0; t < tv; t++) {
            int64_t idx = ((n * O + o) * OH + oh) * OW + ow0 + 16 * t;
            v16f s = acc[i][t] + bv;
            if (t == tv - 1 && nlast < 16) {
                if (r) s += load_part(r + idx, nlast);
                store_part(y + idx, act16(act, s, alpha), nlast);
            } else {
                if (r) s += ld16(r + idx);
                *(v16fu *)(y + idx) = act16(act, s, alpha);
            }
        }
    }
}

/* Dense convolution with few input channels (a network's stem: 3 channels) straight on
 * NCHW: an item is a band of output rows of one image for OT output channels; the band's
 * input rows of all C channels go to the padded, phase-split buffer (fill_band), then
 * register tiles of OT channels x TV vectors along the row, whole-vector stores. The
 * blocked kernel would pad 3 channels to 16 and scatter its stores. */
KERNEL(convrow)
{
    PARAMS(convrow);
    int64_t C = kp->C, H = kp->H, W = kp->W, KH = kp->KH, OH = kp->OH, OW = kp->OW, sh = kp->sh, sw = kp->sw;
    int64_t dh = kp->dh, pt = kp->pt, pl = kp->pl, RB = kp->RB, WQ = kp->WQ, OT = kp->OT, R = kp->R, OBK = kp->OBK;
    int64_t TV = kp->TV;
    const float *x = slot_ptr(slots, kp->x), *wp = slot_ptr(slots, kp->wp), *r = slot_ptr(slots, kp->r);
    float *y = slot_ptr(slots, kp->y);
    int64_t NB = (OH + RB - 1) / RB, FV = OW / 16, NL = OW % 16;
    float buf[C * R * sw * WQ];
    int64_t filled = -1;   /* the (image, band) in buf: consecutive items share it */
    for (int64_t it = begin; it < end; it++) {
        int64_t obk = it % OBK, nb = it / OBK, band = nb % NB, n = nb / NB;
        int64_t oh0 = band * RB, oh1 = min64(OH, oh0 + RB);
        if (nb != filled) {
            for (int64_t c = 0; c < C; c++)
                fill_band(buf + c * R * sw * WQ, x + (n * C + c) * H * W, H, W, oh0 * sh - pt,
                          (oh1 - oh0 - 1) * sh + (KH - 1) * dh + 1, sw, WQ, pl, 0.0f);
            filled = nb;
        }
        for (int64_t oh = oh0; oh < oh1; oh++) {
            int64_t rr0 = (oh - oh0) * sh, v = 0;
            for (; v + TV <= FV; v += TV) convrow_tile(buf, wp, r, y, kp, n, obk, oh, rr0, v * 16, OT, TV, 16);
            if (FV % TV || NL)
                convrow_tile(buf, wp, r, y, kp, n, obk, oh, rr0, v * 16, OT, FV % TV + (NL ? 1 : 0), NL ? NL : 16);
        }
    }
}

#include "backend/llvm/libjit/kernels_tf.c"   /* transformer kernels (same unit) */
