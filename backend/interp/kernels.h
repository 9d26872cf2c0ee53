/* Reference kernels: float32, NCHW, obviously correct rather than fast. One function
 * per IR op family; shapes are passed explicitly so unit tests can call them alone. */
#ifndef BCL_KERNELS_H
#define BCL_KERNELS_H
#include "ir/ir.h"

/* A fault that depends on tensor data (an index out of range or not a whole number, in
 * take and gather): the kernel clamps the index, so nothing reads out of bounds, and
 * counts it here; the caller reports it (docs/internals/ir.md "Masks and indices"). */
typedef struct KernFault {
    int64_t count;      /* bad indices seen */
    float value;        /* the first one */
    int64_t dim;        /* the size of the axis it indexes */
} KernFault;

/* Runs one node's op on dense input buffers (shapes from the node's values), then its
 * fused epilogue: conv2d's residual input (4th) is added, then attrs.act (>= 0) applied.
 * kern_run_node_checked also returns false after a data fault (f filled; f may be NULL). */
void kern_run_node(const IrNode *n, const float *const *in, float *out);
bool kern_run_node_checked(const IrNode *n, const float *const *in, float *out, KernFault *f);
/* "take: index 12 is out of range for axis 1 of size 9" into buf (n's op, f's values). */
void kern_fault_str(const IrNode *n, const KernFault *f, char *buf, size_t len);

/* x[N,C,H,W] * w[O,C/g,kh,kw] (+ b[O], may be NULL) -> y[N,O,OH,OW]: stride, pad
 * (t,l,b,r), dilation, groups from a. */
void kern_conv2d(const float *x, const Shape *xs, const float *w, const Shape *ws, const float *b,
                 const IrAttrs *a, float *y, const Shape *ys);
/* kern_conv2d, then + r[N,O,OH,OW] (the fused residual, may be NULL). r may be y
 * itself (in place), never x. */
void kern_conv2d_res(const float *x, const Shape *xs, const float *w, const Shape *ws, const float *b,
                     const float *r, const IrAttrs *a, float *y, const Shape *ys);
/* x[..., I] w[O, I] (+ b[O], may be NULL) -> y[..., O] */
void kern_linear(const float *x, const Shape *xs, const float *w, const Shape *ws, const float *b,
                 float *y);
/* NumPy matmul: 1-D operands and broadcast batch dims; ys is the inferred result shape. */
void kern_matmul(const float *a, const Shape *as, const float *b, const Shape *bs, float *y,
                 const Shape *ys);
/* op is IR_MAX_POOL2D or IR_AVG_POOL2D; kernel, stride, pad, count_include_pad from a;
 * ys may be the flattened [N, C] of a 1x1 result. */
void kern_pool2d(IrOp op, const float *x, const Shape *xs, const IrAttrs *a, float *y,
                 const Shape *ys);

/* y = (x - mean) / sqrt(var + eps) * gamma + beta over axis 1 of x[N, C, ...]. */
void kern_batch_norm(const float *x, const Shape *xs, const float *gamma, const float *beta,
                     const float *mean, const float *var, float eps, float *y);
/* Normalises over the last n_axes dims; gamma/beta may be NULL. */
void kern_layer_norm(const float *x, const Shape *xs, int n_axes, const float *gamma,
                     const float *beta, float eps, float *y);
/* y = x * s[c] + t[c] over axis 1. */
void kern_scale_shift(const float *x, const Shape *xs, const float *s, const float *t, float *y);

/* A unary elementwise op (any OPK_ELEMWISE op) on one value; alpha for leaky_relu/elu. */
float kern_unary(IrOp op, float x, float alpha);
void kern_unary_buf(IrOp op, const float *x, float *y, int64_t n, float alpha);
/* A binary OPK_BROADCAST op with NumPy broadcasting into ys. */
void kern_binary(IrOp op, const float *a, const Shape *as, const float *b, const Shape *bs,
                 float *y, const Shape *ys);
void kern_softmax(const float *x, const Shape *xs, int axis, float *y);

/* mean/sum/max/min over a->axes (normalised, non-negative). */
void kern_reduce(IrOp op, const float *x, const Shape *xs, const IrAttrs *a, float *y);
void kern_transpose(const float *x, const Shape *xs, const int64_t *perm, float *y);
void kern_concat(const float *const *xs, const Shape *const *shapes, int n, int axis, float *y);
void kern_slice(const float *x, const Shape *xs, const IrAttrs *a, float *y, const Shape *ys);
void kern_pad(const float *x, const Shape *xs, const int64_t *pads, float value, float *y,
              const Shape *ys);
/* PyTorch 'nearest': src = min(floor(dst * (in / out)), in - 1) per spatial axis. */
void kern_upsample_nearest(const float *x, const Shape *xs, float *y, const Shape *ys);
/* torch.roll: y[(i + shift) mod d] = x[i] on every axis. */
void kern_roll(const float *x, const Shape *xs, const int64_t *shifts, float *y);
/* softmax(q k^T alpha + bias + mask) v over the last two axes of q[..., M, D], k[..., N, D],
 * v[..., N, E] (same batch dims); bias and mask (each may be NULL) of shapes bs and ms
 * broadcast to [..., M, N]. */
void kern_attention(const float *q, const float *k, const float *v, const float *bias, const Shape *bs,
                    const float *mask, const Shape *ms, const Shape *qs, int64_t N, int64_t E, float alpha, float *y);
/* numpy.take(x, idx, axis): y = x.shape[:axis] + idx.shape + x.shape[axis+1:]; idx holds
 * integers as floats, negative ones count from the end; a bad one (out of [-d, d), not
 * whole, NaN) is counted in f (may be NULL) and clamped into the axis. */
void kern_take(const float *x, const Shape *xs, const float *idx, const Shape *is, int axis, float *y,
               KernFault *f);
int64_t kern_take_index(float v, int64_t d, KernFault *f);
/* torch.gather / F.gather: idx has x's rank (idx.shape[k] <= x.shape[k] off the axis);
 * y[i] = x[i with i[axis] = idx[i]], indices as for take. */
void kern_gather(const float *x, const Shape *xs, const float *idx, const Shape *is, int axis, float *y,
                 KernFault *f);
/* F.where: out = m != 0 ? x : y, the three broadcast (NumPy rules) to os. */
void kern_where(const float *m, const Shape *ms, const float *x, const Shape *xs, const float *y,
                const Shape *ys, float *out, const Shape *os);

#endif
