/* Reference kernels for elementwise, broadcast, softmax and normalisation ops. */
#include <math.h>
#include <string.h>

#include "backend/interp/kernels.h"
#include "ir/shape_util.h"

static float relu6(float x) { return x < 0 ? 0 : x > 6 ? 6 : x; }
static float sigmoid(float x) { return (float)(1.0 / (1.0 + exp(-(double)x))); }

float kern_unary(IrOp op, float x, float alpha)
{
    switch (op) {
    case IR_RELU: return x < 0 ? 0 : x;   /* NaN stays NaN, -0 stays -0, as in PyTorch */
    case IR_RELU6: return relu6(x);
    case IR_SIGMOID: return sigmoid(x);
    case IR_SILU: return x * sigmoid(x);
    case IR_GELU: return (float)(0.5 * x * (1.0 + erf((double)x / sqrt(2.0))));
    case IR_HSWISH: return x * relu6(x + 3) / 6;
    case IR_HSIGMOID: return relu6(x + 3) / 6;
    case IR_LEAKY_RELU: return x >= 0 ? x : alpha * x;
    case IR_TANH: return tanhf(x);
    case IR_ELU: return x > 0 ? x : (float)(alpha * expm1((double)x));
    case IR_NEG: return -x;
    case IR_SQRT: return sqrtf(x);
    case IR_EXP: return expf(x);
    case IR_DROPOUT:
    case IR_IDENTITY: return x;
    case IR_LOGICAL_NOT: return x == 0 ? 1.0f : 0.0f;
    case IR_TRUNC: return truncf(x);
    default: BCL_ASSERT(!"not a unary op");
    }
}

void kern_unary_buf(IrOp op, const float *x, float *y, int64_t n, float alpha)
{
    for (int64_t i = 0; i < n; i++) y[i] = kern_unary(op, x[i], alpha);
}

static float binary(IrOp op, float a, float b)
{
    switch (op) {
    case IR_ADD: return a + b;
    case IR_SUB: return a - b;
    case IR_MUL: return a * b;
    case IR_DIV: return a / b;
    case IR_POW: return powf(a, b);
    case IR_MAXIMUM: return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
    case IR_MINIMUM: return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
    /* masks: 1 where true, 0 where false; IEEE compares (NaN unequal to all) */
    case IR_EQUAL: return a == b;
    case IR_NOT_EQUAL: return a != b;
    case IR_LESS: return a < b;
    case IR_LESS_EQUAL: return a <= b;
    case IR_GREATER: return a > b;
    case IR_GREATER_EQUAL: return a >= b;
    case IR_LOGICAL_AND: return a != 0 && b != 0;
    case IR_LOGICAL_OR: return a != 0 || b != 0;
    case IR_LOGICAL_XOR: return (a != 0) != (b != 0);
    default: BCL_ASSERT(!"not a binary op");
    }
}

void kern_binary(IrOp op, const float *a, const Shape *as, const float *b, const Shape *bs,
                 float *y, const Shape *ys)
{
    int r = ys->rank;
    int64_t sa[BCL_MAX_RANK], sb[BCL_MAX_RANK], n = shape_numel(ys);
    ir_bcast_strides(as, r, sa);
    ir_bcast_strides(bs, r, sb);
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, oa = 0, ob = 0;
        for (int k = r - 1; k >= 0; k--) {
            int64_t idx = rem % ys->d[k];
            rem /= ys->d[k];
            oa += idx * sa[k];
            ob += idx * sb[k];
        }
        y[i] = binary(op, a[oa], b[ob]);
    }
}

void kern_where(const float *m, const Shape *ms, const float *x, const Shape *xs, const float *y,
                const Shape *ys, float *out, const Shape *os)
{
    int r = os->rank;
    int64_t sm[BCL_MAX_RANK], sx[BCL_MAX_RANK], sy[BCL_MAX_RANK], n = shape_numel(os);
    ir_bcast_strides(ms, r, sm);
    ir_bcast_strides(xs, r, sx);
    ir_bcast_strides(ys, r, sy);
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, om = 0, ox = 0, oy = 0;
        for (int k = r - 1; k >= 0; k--) {
            int64_t idx = rem % os->d[k];
            rem /= os->d[k];
            om += idx * sm[k];
            ox += idx * sx[k];
            oy += idx * sy[k];
        }
        /* a select, not arithmetic: a NaN or inf in the unchosen operand does not leak */
        out[i] = m[om] != 0 ? x[ox] : y[oy];
    }
}

/* Splits a shape around axis into outer x dim x inner. */
static void split_axis(const Shape *s, int axis, int64_t *outer, int64_t *dim, int64_t *inner)
{
    *outer = *inner = 1;
    for (int i = 0; i < axis; i++) *outer *= s->d[i];
    for (int i = axis + 1; i < s->rank; i++) *inner *= s->d[i];
    *dim = s->d[axis];
}

void kern_softmax(const float *x, const Shape *xs, int axis, float *y)
{
    int64_t outer, dim, inner;
    split_axis(xs, axis, &outer, &dim, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t in = 0; in < inner; in++) {
            const float *px = x + o * dim * inner + in;
            float *py = y + o * dim * inner + in;
            float mx = -INFINITY;
            for (int64_t k = 0; k < dim; k++) mx = px[k * inner] > mx ? px[k * inner] : mx;
            double sum = 0;
            for (int64_t k = 0; k < dim; k++) sum += exp((double)px[k * inner] - mx);
            for (int64_t k = 0; k < dim; k++) py[k * inner] = (float)(exp((double)px[k * inner] - mx) / sum);
        }
}

void kern_batch_norm(const float *x, const Shape *xs, const float *gamma, const float *beta,
                     const float *mean, const float *var, float eps, float *y)
{
    int64_t outer, C, inner;
    split_axis(xs, 1, &outer, &C, &inner);
    for (int64_t n = 0; n < outer; n++)
        for (int64_t c = 0; c < C; c++) {
            double inv = 1.0 / sqrt((double)var[c] + eps);
            for (int64_t i = 0; i < inner; i++) {
                int64_t k = (n * C + c) * inner + i;
                y[k] = (float)(((double)x[k] - mean[c]) * inv * gamma[c] + beta[c]);
            }
        }
}

void kern_scale_shift(const float *x, const Shape *xs, const float *s, const float *t, float *y)
{
    int64_t outer, C, inner;
    split_axis(xs, 1, &outer, &C, &inner);
    for (int64_t n = 0; n < outer; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < inner; i++) {
                int64_t k = (n * C + c) * inner + i;
                y[k] = x[k] * s[c] + t[c];
            }
}

void kern_layer_norm(const float *x, const Shape *xs, int n_axes, const float *gamma,
                     const float *beta, float eps, float *y)
{
    int64_t inner = 1;
    for (int i = xs->rank - n_axes; i < xs->rank; i++) inner *= xs->d[i];
    int64_t rows = inner ? shape_numel(xs) / inner : 0;
    for (int64_t r = 0; r < rows; r++) {
        const float *px = x + r * inner;
        float *py = y + r * inner;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < inner; i++) mean += px[i];
        mean /= (double)inner;
        for (int64_t i = 0; i < inner; i++) var += (px[i] - mean) * (px[i] - mean);
        var /= (double)inner;   /* biased, as PyTorch and MegEngine */
        double inv = 1.0 / sqrt(var + eps);
        for (int64_t i = 0; i < inner; i++) {
            double v = (px[i] - mean) * inv;
            if (gamma) v *= gamma[i];
            if (beta) v += beta[i];
            py[i] = (float)v;
        }
    }
}
