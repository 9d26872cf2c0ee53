/* Shapes: small helpers and the shape function of every op in ops.def. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ir/ir.h"
#include "support/limits.h"

int64_t shape_numel(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->d[i];
    return n;
}

bool shape_eq(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->d[i] != b->d[i]) return false;
    return true;
}

char *shape_str(const Shape *s, char *buf, size_t n)
{
    if (!n) return buf;
    size_t k = 0;
    buf[0] = 0;
    k += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < s->rank && i < BCL_MAX_RANK && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)s->d[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
    return buf;
}

/* Element counts above the limit are rejected so no arithmetic on shapes can overflow. */
bool shape_size_ok(const Shape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++)
        if (s->d[i] < 0 || s->d[i] > BCL_MAX_TENSOR_ELEMS || __builtin_mul_overflow(n, s->d[i], &n) ||
            n > BCL_MAX_TENSOR_ELEMS)
            return false;
    return n <= BCL_MAX_TENSOR_BYTES / (int64_t)sizeof(float);
}

static bool numel_ok(const Shape *s) { return shape_size_ok(s); }

/* Formats an error; returns false so shape functions can `return fail(...)`. */
static bool fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t n, const char *fmt, ...)
{
    if (!err || !n) return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return false;
}

/* Short-lived shape strings for messages (four slots, enough for one message). */
static const char *S(const Shape *s)
{
    static _Thread_local char buf[4][160];   /* per thread: compilers may run in parallel */
    static _Thread_local int k;
    k = (k + 1) & 3;
    return shape_str(s, buf[k], sizeof buf[k]);
}

static bool broadcast(const char *op, const Shape *a, const Shape *b, Shape *out, char *err, size_t n)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    out->rank = r;
    for (int i = 0; i < r; i++) {
        int ia = a->rank - r + i, ib = b->rank - r + i;
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return fail(err, n, "shape mismatch in %s: %s and %s cannot be broadcast", op, S(a), S(b));
        out->d[i] = da == 1 ? db : da;
    }
    return true;
}

/* Output size of one spatial axis of a window op; k_eff is the dilated kernel extent. */
static bool window(const char *op, const char *what, int64_t in, int64_t p0, int64_t p1,
                   int64_t k_eff, int64_t s, int64_t *out, char *err, size_t n)
{
    if (in + p0 + p1 < k_eff)
        return fail(err, n, "%s: %s %lld is larger than the padded input (%lld + %lld + %lld)", op,
                    what, (long long)k_eff, (long long)in, (long long)p0, (long long)p1);
    *out = (in + p0 + p1 - k_eff) / s + 1;
    return true;
}

static bool check_window_attrs(const char *op, const IrAttrs *a, bool dil, char *err, size_t n)
{
    for (int i = 0; i < 2; i++) {
        if (a->stride[i] <= 0)
            return fail(err, n, "%s: stride must be positive, got [%lld, %lld]", op,
                        (long long)a->stride[0], (long long)a->stride[1]);
        if (dil && a->dilation[i] <= 0)
            return fail(err, n, "%s: dilation must be positive, got [%lld, %lld]", op,
                        (long long)a->dilation[0], (long long)a->dilation[1]);
    }
    for (int i = 0; i < 4; i++)
        if (a->pad[i] < 0)
            return fail(err, n, "%s: padding must be non-negative, got [%lld, %lld, %lld, %lld]", op,
                        (long long)a->pad[0], (long long)a->pad[1], (long long)a->pad[2],
                        (long long)a->pad[3]);
    return true;
}

static bool infer_conv(const Shape *x, const Shape *w, const Shape *b, const Shape *res,
                       const IrAttrs *a, Shape *o, char *err, size_t n)
{
    if (x->rank != 4) return fail(err, n, "conv2d: input must be 4-D [N, C, H, W], got %s", S(x));
    if (w->rank != 4) return fail(err, n, "conv2d: weight must be 4-D [O, C/groups, kh, kw], got %s", S(w));
    if (!check_window_attrs("conv2d", a, true, err, n)) return false;
    int64_t g = a->groups;
    if (g <= 0) return fail(err, n, "conv2d: groups must be positive, got %lld", (long long)g);
    if (x->d[1] % g != 0)
        return fail(err, n, "conv2d: input channels %lld of %s are not divisible by groups = %lld",
                    (long long)x->d[1], S(x), (long long)g);
    if (w->d[0] % g != 0)
        return fail(err, n, "conv2d: output channels %lld of weight %s are not divisible by groups = %lld",
                    (long long)w->d[0], S(w), (long long)g);
    if (w->d[1] * g != x->d[1])
        return fail(err, n, "conv2d: input %s has %lld channels but weight %s expects %lld "
                    "(%lld per group x groups = %lld)", S(x), (long long)x->d[1], S(w),
                    (long long)(w->d[1] * g), (long long)w->d[1], (long long)g);
    if (b && (b->rank != 1 || b->d[0] != w->d[0]))
        return fail(err, n, "conv2d: bias %s does not match the %lld output channels of weight %s",
                    S(b), (long long)w->d[0], S(w));
    o->rank = 4;
    o->d[0] = x->d[0];
    o->d[1] = w->d[0];
    for (int i = 0; i < 2; i++) {
        int64_t keff = a->dilation[i] * (w->d[2 + i] - 1) + 1;
        if (!window("conv2d", a->dilation[i] > 1 ? "dilated kernel extent" : "kernel size", x->d[2 + i],
                    a->pad[i], a->pad[i + 2], keff,
                    a->stride[i], &o->d[2 + i], err, n))
            return false;
    }
    if (res && !shape_eq(res, o))   /* a fused residual add: exactly the result's shape */
        return fail(err, n, "conv2d: residual %s does not match the result shape %s", S(res), S(o));
    return true;
}

static bool infer_pool(const char *op, const Shape *x, const IrAttrs *a, Shape *o, char *err, size_t n)
{
    if (x->rank != 4) return fail(err, n, "%s: input must be 4-D [N, C, H, W], got %s", op, S(x));
    if (!check_window_attrs(op, a, false, err, n)) return false;
    if (a->kernel[0] <= 0 || a->kernel[1] <= 0)
        return fail(err, n, "%s: kernel size must be positive, got [%lld, %lld]", op,
                    (long long)a->kernel[0], (long long)a->kernel[1]);
    *o = *x;
    for (int i = 0; i < 2; i++)
        if (!window(op, "kernel size", x->d[2 + i], a->pad[i], a->pad[i + 2], a->kernel[i],
                    a->stride[i], &o->d[2 + i], err, n))
            return false;
    if (a->flatten) {   /* a global pool fused with the flatten after it */
        if (o->d[2] != 1 || o->d[3] != 1)
            return fail(err, n, "%s: flatten needs a 1x1 result, got %s", op, S(o));
        o->rank = 2;
    }
    return true;
}

static bool infer_matmul(const Shape *a, const Shape *b, Shape *o, char *err, size_t n)
{
    if (a->rank < 1 || b->rank < 1)
        return fail(err, n, "matmul: operands must have rank >= 1, got %s and %s", S(a), S(b));
    /* NumPy: a 1-D left operand is a row [1, K], a 1-D right one a column [K, 1];
     * the added dim is dropped from the result. */
    Shape A = *a, B = *b;
    if (A.rank == 1) { A.rank = 2; A.d[1] = A.d[0]; A.d[0] = 1; }
    if (B.rank == 1) { B.rank = 2; B.d[1] = 1; }
    int64_t m = A.d[A.rank - 2], k = A.d[A.rank - 1], k2 = B.d[B.rank - 2], nn = B.d[B.rank - 1];
    if (k != k2)
        return fail(err, n, "shape mismatch in matmul: %s and %s: inner dimensions %lld and %lld differ",
                    S(a), S(b), (long long)k, (long long)k2);
    Shape ba = A, bb = B, bo;
    ba.rank -= 2;
    bb.rank -= 2;
    if (!broadcast("matmul", &ba, &bb, &bo, err, n))
        return fail(err, n, "shape mismatch in matmul: batch dimensions of %s and %s cannot be broadcast",
                    S(a), S(b));
    if (bo.rank + 2 > BCL_MAX_RANK) return fail(err, n, "matmul: result rank too large");
    *o = bo;
    if (a->rank > 1) o->d[o->rank++] = m;
    if (b->rank > 1) o->d[o->rank++] = nn;
    return true;
}

static bool is_vec(const Shape *s, int64_t c) { return s->rank == 1 && s->d[0] == c; }

static bool infer_norm(IrOp op, const Shape *const *in, int n_in, const IrAttrs *a, Shape *o,
                       char *err, size_t n)
{
    const char *name = ir_op_info[op].name;
    const Shape *x = in[0];
    if (op == IR_LAYER_NORM) {
        if (a->n_axes < 1 || a->n_axes > x->rank)
            return fail(err, n, "layer_norm: cannot normalise the last %d dims of %s", a->n_axes, S(x));
        Shape t = {.rank = a->n_axes};
        for (int i = 0; i < a->n_axes; i++) t.d[i] = x->d[x->rank - a->n_axes + i];
        for (int i = 1; i < n_in; i++)
            if (!shape_eq(in[i], &t))
                return fail(err, n, "layer_norm: %s %s does not match the normalised shape %s of %s",
                            i == 1 ? "weight" : "bias", S(in[i]), S(&t), S(x));
        *o = *x;
        return true;
    }
    if (x->rank < 2) return fail(err, n, "%s: input must be [N, C, ...], got %s", name, S(x));
    static const char *const bn_names[] = {"", "weight", "bias", "running mean", "running var"};
    for (int i = 1; i < n_in; i++)
        if (!is_vec(in[i], x->d[1]))
            return fail(err, n, "%s: %s %s does not match the %lld channels of %s", name,
                        op == IR_BATCH_NORM ? bn_names[i] : (i == 1 ? "scale" : "shift"), S(in[i]),
                        (long long)x->d[1], S(x));
    *o = *x;
    return true;
}

static bool infer_reduce(const char *op, const Shape *x, const IrAttrs *a, Shape *o, char *err, size_t n)
{
    bool red[BCL_MAX_RANK] = {0};
    for (int i = 0; i < a->n_axes; i++) {
        int64_t ax = a->axes[i];
        if (red[ax]) return fail(err, n, "%s: axis %lld given twice", op, (long long)ax);
        red[ax] = true;
    }
    o->rank = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!red[i]) o->d[o->rank++] = x->d[i];
        else if (a->keepdim) o->d[o->rank++] = 1;
    }
    return true;
}

static bool infer_concat(const Shape *const *in, int n_in, const IrAttrs *a, Shape *o, char *err, size_t n)
{
    const Shape *x = in[0];
    int64_t ax = a->axis;
    *o = *x;
    for (int i = 1; i < n_in; i++) {
        const Shape *y = in[i];
        if (y->rank != x->rank)
            return fail(err, n, "concat: input %d %s has rank %d but input 0 %s has rank %d", i, S(y),
                        y->rank, S(x), x->rank);
        for (int j = 0; j < x->rank; j++)
            if (j != ax && y->d[j] != x->d[j])
                return fail(err, n, "concat along axis %lld: input %d %s differs from input 0 %s in dim %d",
                            (long long)ax, i, S(y), S(x), j);
        o->d[ax] += y->d[ax];
    }
    return true;
}

static bool infer_transpose(const Shape *x, const IrAttrs *a, Shape *o, char *err, size_t n)
{
    bool seen[BCL_MAX_RANK] = {0};
    o->rank = x->rank;
    for (int i = 0; i < x->rank; i++) {
        int64_t p = a->perm[i];
        if (seen[p]) return fail(err, n, "transpose: perm is not a permutation of %d axes (%lld repeats)",
                                 x->rank, (long long)p);
        seen[p] = true;
        o->d[i] = x->d[p];
    }
    return true;
}

static bool infer_slice(const Shape *x, const IrAttrs *a, Shape *o, char *err, size_t n)
{
    o->rank = x->rank;
    for (int i = 0; i < x->rank; i++) {
        int64_t b = a->begin[i], e = a->end[i], s = a->step[i];
        if (s <= 0) return fail(err, n, "slice: step must be positive, got %lld on axis %d", (long long)s, i);
        if (b < 0 || e < b || e > x->d[i])
            return fail(err, n, "slice: bounds %lld:%lld are outside axis %d of %s", (long long)b,
                        (long long)e, i, S(x));
        o->d[i] = (e - b + s - 1) / s;
    }
    return true;
}

static bool infer_unchecked(IrOp op, const Shape *const *in, int n_in, const IrAttrs *a, Shape *o,
                            char *err, size_t n)
{
    const char *name = ir_op_info[op].name;
    const Shape *x = in[0];
    /* Every op has a case and there is no default: -Werror=switch names an op added to
     * ops.def without a shape function. */
    switch (op) {
    case IR_RELU: case IR_RELU6: case IR_SIGMOID: case IR_SILU: case IR_GELU: case IR_HSWISH:
    case IR_HSIGMOID: case IR_LEAKY_RELU: case IR_TANH: case IR_ELU: case IR_NEG: case IR_SQRT:
    case IR_EXP: case IR_DROPOUT: case IR_IDENTITY: case IR_LOGICAL_NOT: case IR_TRUNC:
        *o = *x;
        return true;
    case IR_ADD: case IR_SUB: case IR_MUL: case IR_DIV: case IR_POW: case IR_MAXIMUM: case IR_MINIMUM:
    case IR_EQUAL: case IR_NOT_EQUAL: case IR_LESS: case IR_LESS_EQUAL: case IR_GREATER:
    case IR_GREATER_EQUAL: case IR_LOGICAL_AND: case IR_LOGICAL_OR: case IR_LOGICAL_XOR:
        return broadcast(name, in[0], in[1], o, err, n);
    case IR_WHERE: {
        /* mask, x and y broadcast together, as NumPy's three-way where */
        Shape xy;
        if (!broadcast(name, in[1], in[2], &xy, err, n)) return false;
        if (!broadcast(name, in[0], &xy, o, err, n))
            return fail(err, n, "shape mismatch in where: the mask %s does not broadcast with x %s and y %s",
                        S(in[0]), S(in[1]), S(in[2]));
        return true;
    }
    case IR_GATHER: {
        const Shape *idx = in[1];
        if (x->rank < 1) return fail(err, n, "gather: input must have rank >= 1, got %s", S(x));
        if (idx->rank != x->rank)
            return fail(err, n, "gather: the index %s must have the input's rank (%s has rank %d)", S(idx), S(x),
                        x->rank);
        if (x->d[a->axis] < 1) return fail(err, n, "gather: axis %lld of %s is empty", (long long)a->axis, S(x));
        for (int i = 0; i < x->rank; i++)
            if (i != a->axis && idx->d[i] > x->d[i])
                return fail(err, n, "gather: the index %s is larger than the input %s on axis %d", S(idx), S(x), i);
        *o = *idx;
        return true;
    }
    case IR_REDUCE_MEAN: case IR_REDUCE_SUM: case IR_REDUCE_MAX: case IR_REDUCE_MIN:
        return infer_reduce(name, x, a, o, err, n);
    case IR_MAX_POOL2D: case IR_AVG_POOL2D:
        return infer_pool(name, x, a, o, err, n);
    case IR_BATCH_NORM: case IR_LAYER_NORM: case IR_SCALE_SHIFT:
        return infer_norm(op, in, n_in, a, o, err, n);
    case IR_CONV2D:
        return infer_conv(x, in[1], n_in > 2 ? in[2] : NULL, n_in > 3 ? in[3] : NULL, a, o, err, n);
    case IR_LINEAR: {
        const Shape *w = in[1];
        if (x->rank < 1) return fail(err, n, "linear: input must have rank >= 1, got %s", S(x));
        if (w->rank != 2) return fail(err, n, "linear: weight must be 2-D [out, in], got %s", S(w));
        if (x->d[x->rank - 1] != w->d[1])
            return fail(err, n, "shape mismatch in linear: input %s has %lld features but weight %s "
                        "expects %lld", S(x), (long long)x->d[x->rank - 1], S(w), (long long)w->d[1]);
        if (n_in > 2 && !is_vec(in[2], w->d[0]))
            return fail(err, n, "linear: bias %s does not match the %lld outputs of weight %s", S(in[2]),
                        (long long)w->d[0], S(w));
        *o = *x;
        o->d[o->rank - 1] = w->d[0];
        if (n_in > 3 && !shape_eq(in[3], o))
            return fail(err, n, "linear: residual %s must have the result's shape %s", S(in[3]), S(o));
        return true;
    }
    case IR_MATMUL:
        return infer_matmul(x, in[1], o, err, n);
    case IR_SOFTMAX:
        if (x->rank < 1) return fail(err, n, "softmax: input must have rank >= 1");
        *o = *x;
        return true;
    case IR_RESHAPE:
        if (a->shape.rank < 0 || a->shape.rank > BCL_MAX_RANK)
            return fail(err, n, "reshape: bad target rank %d", a->shape.rank);
        for (int i = 0; i < a->shape.rank; i++)
            if (a->shape.d[i] < 0)
                return fail(err, n, "reshape: bad target dimension %lld in %s", (long long)a->shape.d[i],
                            S(&a->shape));
        if (shape_numel(&a->shape) != shape_numel(x))
            return fail(err, n, "reshape: cannot reshape %s (%lld elements) to %s (%lld elements)", S(x),
                        (long long)shape_numel(x), S(&a->shape), (long long)shape_numel(&a->shape));
        *o = a->shape;
        return true;
    case IR_TRANSPOSE:
        return infer_transpose(x, a, o, err, n);
    case IR_CONCAT:
        return infer_concat(in, n_in, a, o, err, n);
    case IR_SLICE:
        return infer_slice(x, a, o, err, n);
    case IR_PAD:
        *o = *x;
        for (int i = 0; i < x->rank; i++) {
            int64_t p0 = a->pads[2 * i], p1 = a->pads[2 * i + 1];
            if (p0 < 0 || p1 < 0)
                return fail(err, n, "pad: negative padding (%lld, %lld) on axis %d", (long long)p0,
                            (long long)p1, i);
            o->d[i] += p0 + p1;
        }
        return true;
    case IR_UPSAMPLE_NEAREST:
        if (x->rank != 4) return fail(err, n, "upsample_nearest: input must be 4-D [N, C, H, W], got %s", S(x));
        if (a->shape.rank != 4 || a->shape.d[0] != x->d[0] || a->shape.d[1] != x->d[1] ||
            a->shape.d[2] <= 0 || a->shape.d[3] <= 0)
            return fail(err, n, "upsample_nearest: output shape %s does not fit input %s "
                        "(N and C must be kept, H and W positive)", S(&a->shape), S(x));
        *o = a->shape;
        return true;
    case IR_ROLL:
        *o = *x;
        return true;
    case IR_ATTENTION: {
        const Shape *k = in[1], *v = in[2];
        int r = x->rank;
        if (r < 2 || k->rank != r || v->rank != r)
            return fail(err, n, "attention: q %s, k %s and v %s must have one rank >= 2", S(x), S(k), S(v));
        for (int i = 0; i < r - 2; i++)
            if (k->d[i] != x->d[i] || v->d[i] != x->d[i])
                return fail(err, n, "attention: the batch dims of q %s, k %s and v %s differ", S(x), S(k), S(v));
        if (k->d[r - 1] != x->d[r - 1] || v->d[r - 2] != k->d[r - 2])
            return fail(err, n, "attention: q %s, k %s and v %s do not chain (q's and k's last dims, "
                        "k's and v's rows must agree)", S(x), S(k), S(v));
        *o = *x;
        o->d[r - 1] = v->d[r - 1];
        for (int j = 3; j < n_in; j++) {   /* bias, mask */
            const Shape *b = in[j];
            Shape sc = *x;
            sc.d[r - 1] = k->d[r - 2];
            bool ok = b->rank <= r;
            for (int i = 0; ok && i < b->rank; i++) {
                int64_t bd = b->d[b->rank - 1 - i], sd = sc.d[r - 1 - i];
                ok = bd == sd || bd == 1;
            }
            if (!ok)
                return fail(err, n, "attention: %s %s does not broadcast to the scores %s", j == 3 ? "bias" : "mask",
                            S(b), S(&sc));
        }
        return true;
    }
    case IR_TAKE: {
        const Shape *idx = in[1];
        if (x->rank < 1) return fail(err, n, "take: input must have rank >= 1, got %s", S(x));
        if (x->d[a->axis] < 1) return fail(err, n, "take: axis %lld of %s is empty", (long long)a->axis, S(x));
        if (x->rank - 1 + idx->rank > BCL_MAX_RANK)
            return fail(err, n, "take: indexing %s with %s gives more than %d dimensions", S(x), S(idx),
                        BCL_MAX_RANK);
        o->rank = 0;
        for (int i = 0; i < a->axis; i++) o->d[o->rank++] = x->d[i];
        for (int i = 0; i < idx->rank; i++) o->d[o->rank++] = idx->d[i];
        for (int i = (int)a->axis + 1; i < x->rank; i++) o->d[o->rank++] = x->d[i];
        return true;
    }
    case IR_OP_COUNT:
        break;
    }
    return fail(err, n, "%s: no shape function", name);
}

bool ir_infer_shape(IrOp op, const Shape *const *in, int n_in, const IrAttrs *attrs,
                    Shape *out, char *err, size_t err_len)
{
    if ((unsigned)op >= IR_OP_COUNT) return fail(err, err_len, "unknown op %d", (int)op);
    const IrOpInfo *info = &ir_op_info[op];
    if (n_in < info->min_inputs || n_in > info->max_inputs) {
        if (info->min_inputs == info->max_inputs)
            return fail(err, err_len, "%s takes %d inputs, got %d", info->name, info->min_inputs, n_in);
        return fail(err, err_len, "%s takes %d to %d inputs, got %d", info->name, info->min_inputs,
                    info->max_inputs, n_in);
    }
    for (int i = 0; i < n_in; i++) {
        if (!in[i]) return fail(err, err_len, "%s: input %d is missing", info->name, i);
        if (in[i]->rank < 0 || in[i]->rank > BCL_MAX_RANK)
            return fail(err, err_len, "%s: input %d has a bad rank %d", info->name, i, in[i]->rank);
        for (int j = 0; j < in[i]->rank; j++)
            if (in[i]->d[j] < 0)
                return fail(err, err_len, "%s: input %d has a negative dimension", info->name, i);
        if (!numel_ok(in[i])) return fail(err, err_len, "%s: input %d is too large", info->name, i);
    }
    /* Inference accepts the un-normalised form (negative axes) too. */
    IrAttrs a = attrs ? *attrs : ir_attrs_default();
    if (!ir_normalize_attrs(op, in, n_in, &a, err, err_len)) return false;
    Shape o = {0};
    if (!infer_unchecked(op, in, n_in, &a, &o, err, err_len)) return false;
    if (!numel_ok(&o)) return fail(err, err_len, "%s: the result %s is too large", info->name, S(&o));
    *out = o;
    return true;
}
