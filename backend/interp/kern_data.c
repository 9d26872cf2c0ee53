/* Reference kernels that move data (transpose, concat, slice, pad, upsample, roll)
 * and reductions. All walk the output (or input) by a multi-index. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/interp/kernels.h"
#include "support/oom.h"

/* Row-major element strides of s. */
static void strides(const Shape *s, int64_t *st)
{
    int64_t acc = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        st[i] = acc;
        acc *= s->d[i];
    }
}

/* Linear index -> multi-index in s. */
static void unravel(int64_t i, const Shape *s, int64_t *idx)
{
    for (int k = s->rank - 1; k >= 0; k--) {
        idx[k] = s->d[k] ? i % s->d[k] : 0;
        i = s->d[k] ? i / s->d[k] : 0;
    }
}

void kern_reduce(IrOp op, const float *x, const Shape *xs, const IrAttrs *a, float *y)
{
    /* The output, laid out as the keepdim shape (same order whether or not kept). */
    Shape ks = *xs;
    int64_t count = 1;
    for (int i = 0; i < a->n_axes; i++) {
        ks.d[a->axes[i]] = 1;
        count *= xs->d[a->axes[i]];
    }
    int64_t ny = shape_numel(&ks), nx = shape_numel(xs);
    float init = op == IR_REDUCE_MAX ? -INFINITY : op == IR_REDUCE_MIN ? INFINITY : 0.0f;
    double *acc = NULL;
    double stack[64];
    acc = ny <= 64 ? stack : bcl_xmalloc(sizeof(double) * (size_t)ny);
    for (int64_t i = 0; i < ny; i++) acc[i] = init;
    int64_t kst[BCL_MAX_RANK], idx[BCL_MAX_RANK];
    strides(&ks, kst);
    for (int64_t i = 0; i < nx; i++) {
        unravel(i, xs, idx);
        int64_t o = 0;
        for (int k = 0; k < xs->rank; k++) o += (ks.d[k] == 1 ? 0 : idx[k]) * kst[k];
        double v = x[i];
        switch (op) {
        case IR_REDUCE_MAX: if (v > acc[o] || isnan(v)) acc[o] = v; break;
        case IR_REDUCE_MIN: if (v < acc[o] || isnan(v)) acc[o] = v; break;
        default: acc[o] += v; break;
        }
    }
    for (int64_t i = 0; i < ny; i++)
        y[i] = (float)(op == IR_REDUCE_MEAN ? (count ? acc[i] / (double)count : NAN) : acc[i]);
    if (acc != stack) free(acc);
}

void kern_transpose(const float *x, const Shape *xs, const int64_t *perm, float *y)
{
    Shape ys = {.rank = xs->rank};
    for (int i = 0; i < xs->rank; i++) ys.d[i] = xs->d[perm[i]];
    int64_t xst[BCL_MAX_RANK], idx[BCL_MAX_RANK], n = shape_numel(xs);
    strides(xs, xst);
    for (int64_t i = 0; i < n; i++) {
        unravel(i, &ys, idx);
        int64_t o = 0;
        for (int k = 0; k < ys.rank; k++) o += idx[k] * xst[perm[k]];
        y[i] = x[o];
    }
}

void kern_concat(const float *const *xs, const Shape *const *shapes, int n, int axis, float *y)
{
    int64_t outer = 1;
    for (int i = 0; i < axis; i++) outer *= shapes[0]->d[i];
    int64_t pos = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < n; k++) {
            int64_t chunk = 1;   /* one input's slab under one outer index */
            for (int i = axis; i < shapes[k]->rank; i++) chunk *= shapes[k]->d[i];
            memcpy(y + pos, xs[k] + o * chunk, sizeof(float) * (size_t)chunk);
            pos += chunk;
        }
}

void kern_slice(const float *x, const Shape *xs, const IrAttrs *a, float *y, const Shape *ys)
{
    int64_t xst[BCL_MAX_RANK], idx[BCL_MAX_RANK], n = shape_numel(ys);
    strides(xs, xst);
    for (int64_t i = 0; i < n; i++) {
        unravel(i, ys, idx);
        int64_t o = 0;
        for (int k = 0; k < ys->rank; k++) o += (a->begin[k] + idx[k] * a->step[k]) * xst[k];
        y[i] = x[o];
    }
}

void kern_pad(const float *x, const Shape *xs, const int64_t *pads, float value, float *y,
              const Shape *ys)
{
    int64_t yst[BCL_MAX_RANK], idx[BCL_MAX_RANK], ny = shape_numel(ys), nx = shape_numel(xs);
    for (int64_t i = 0; i < ny; i++) y[i] = value;
    strides(ys, yst);
    for (int64_t i = 0; i < nx; i++) {
        unravel(i, xs, idx);
        int64_t o = 0;
        for (int k = 0; k < xs->rank; k++) o += (idx[k] + pads[2 * k]) * yst[k];
        y[o] = x[i];
    }
}

/* PyTorch's source index for 'nearest' with an explicit output size (float scale). */
static int64_t nearest_src(int64_t dst, int64_t in, int64_t out)
{
    float scale = (float)in / (float)out;
    int64_t s = (int64_t)floorf((float)dst * scale);
    return s < in - 1 ? s : in - 1;
}

void kern_upsample_nearest(const float *x, const Shape *xs, float *y, const Shape *ys)
{
    int64_t NC = xs->d[0] * xs->d[1], H = xs->d[2], W = xs->d[3], OH = ys->d[2], OW = ys->d[3];
    for (int64_t p = 0; p < NC; p++)
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t ih = nearest_src(oh, H, OH);
            for (int64_t ow = 0; ow < OW; ow++)
                y[(p * OH + oh) * OW + ow] = x[(p * H + ih) * W + nearest_src(ow, W, OW)];
        }
}

void kern_roll(const float *x, const Shape *xs, const int64_t *shifts, float *y)
{
    int64_t st[BCL_MAX_RANK], idx[BCL_MAX_RANK], n = shape_numel(xs);
    strides(xs, st);
    for (int64_t i = 0; i < n; i++) {
        unravel(i, xs, idx);
        int64_t o = 0;
        for (int k = 0; k < xs->rank; k++) {
            int64_t d = xs->d[k];
            int64_t j = ((idx[k] + shifts[k]) % d + d) % d;
            o += j * st[k];
        }
        y[o] = x[i];
    }
}

int64_t kern_take_index(float v, int64_t d, KernFault *f)
{
    /* compared as floats first: NaN, infinities and huge values never reach the cast */
    if (!(v >= -(float)d && v < (float)d) || v != truncf(v)) {
        if (f && !f->count++) {
            f->value = v;
            f->dim = d;
        }
        if (!(v >= -(float)d)) return 0;   /* NaN and below the range */
        if (v >= (float)d) return d - 1;
    }
    int64_t j = (int64_t)v;          /* truncation; exact for a whole number */
    if (j < 0) j += d;
    return j < 0 ? 0 : j >= d ? d - 1 : j;
}

void kern_take(const float *x, const Shape *xs, const float *idx, const Shape *is, int axis, float *y,
               KernFault *f)
{
    Shape ys = {0};
    for (int i = 0; i < axis; i++) ys.d[ys.rank++] = xs->d[i];
    for (int i = 0; i < is->rank; i++) ys.d[ys.rank++] = is->d[i];
    for (int i = axis + 1; i < xs->rank; i++) ys.d[ys.rank++] = xs->d[i];
    int64_t xst[BCL_MAX_RANK], ist[BCL_MAX_RANK], yi[BCL_MAX_RANK], n = shape_numel(&ys);
    strides(xs, xst);
    strides(is, ist);
    for (int64_t i = 0; i < n; i++) {
        unravel(i, &ys, yi);
        int64_t o = 0, k = 0;
        for (int a = 0; a < axis; a++) o += yi[a] * xst[a];
        for (int a = 0; a < is->rank; a++) k += yi[axis + a] * ist[a];
        o += kern_take_index(idx[k], xs->d[axis], f) * xst[axis];
        for (int a = axis + 1; a < xs->rank; a++) o += yi[a - 1 + is->rank] * xst[a];
        y[i] = x[o];
    }
}

void kern_gather(const float *x, const Shape *xs, const float *idx, const Shape *is, int axis, float *y,
                 KernFault *f)
{
    int64_t xst[BCL_MAX_RANK], yi[BCL_MAX_RANK], n = shape_numel(is);
    strides(xs, xst);
    for (int64_t i = 0; i < n; i++) {
        unravel(i, is, yi);
        int64_t o = 0;
        for (int a = 0; a < xs->rank; a++)
            o += (a == axis ? kern_take_index(idx[i], xs->d[a], f) : yi[a]) * xst[a];
        y[i] = x[o];
    }
}
