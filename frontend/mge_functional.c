/* megengine.functional: primitives that emit IR nodes while forward is traced. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/native_args.h"
#include "frontend/tensor_value.h"
#include "frontend/ndarray.h"

/* ------------------------------------------------------------------ megengine.functional */

#define FIRST_TENSOR(what) \
    if (!need_trace(I, loc, what)) return NULL; \
    IrValue *x = tensor_of(I, av[0], loc, what); \
    if (!x) return NULL

static Value *unary(Elab *I, CallArgs *a, SrcLoc loc, IrOp op, const char *f)
{
    ARGS("inp");
    BIND(f, 1);
    FIRST_TENSOR(f);
    return emit(I, op, &x, 1, NULL, loc);
}
#define UNARY(NAME, OP) \
    static Value *F_##NAME(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return unary(I, a, l, OP, #NAME); }
UNARY(relu, IR_RELU)
UNARY(relu6, IR_RELU6)
UNARY(sigmoid, IR_SIGMOID)
UNARY(silu, IR_SILU)
UNARY(gelu, IR_GELU)
UNARY(hswish, IR_HSWISH)
UNARY(hsigmoid, IR_HSIGMOID)
UNARY(tanh, IR_TANH)
UNARY(exp, IR_EXP)
UNARY(sqrt, IR_SQRT)
UNARY(neg, IR_NEG)

/* An activation with one float parameter stored in attrs.alpha (leaky_relu, elu). */
static Value *unary_alpha(Elab *I, CallArgs *a, SrcLoc loc, IrOp op, const char *f, const char *pname,
                          double def)
{
    const char *const names[] = {"inp", pname};
    Value *av[2];
    BIND(f, 1);
    FIRST_TENSOR(f);
    IrAttrs at = ir_attrs_default();
    double v = def;
    if (OPT(1) && !as_float(I, av[1], loc, pname, &v)) return NULL;
    at.alpha = (float)v;
    return emit(I, op, &x, 1, &at, loc);
}

static Value *F_leaky_relu(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    return unary_alpha(I, a, loc, IR_LEAKY_RELU, "leaky_relu", "negative_slope", 0.01);
}

static Value *F_elu(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    return unary_alpha(I, a, loc, IR_ELU, "elu", "alpha", 1.0);
}

static Value *binary(Elab *I, CallArgs *a, SrcLoc loc, OpKind op, IrOp ir, const char *f)
{
    ARGS("x", "y");
    BIND(f, 2);
    if (ir == IR_MAXIMUM || ir == IR_MINIMUM || ir == IR_LOGICAL_AND || ir == IR_LOGICAL_OR || ir == IR_LOGICAL_XOR) {
        if (!need_trace(I, loc, f)) return NULL;
        IrValue *in[2];
        if (!(in[0] = tensor_of(I, av[0], loc, f)) || !(in[1] = tensor_of(I, av[1], loc, f))) return NULL;
        if (ir >= IR_LOGICAL_AND && ir <= IR_LOGICAL_XOR)
            for (int k = 0; k < 2; k++)
                if (in[k]->dtype != IR_DT_BOOL) {
                    diag_error(I->d, loc, "%s: the operands must be bool tensors, got %s", f, ir_dtype_name(in[k]->dtype));
                    return NULL;
                }
        return emit(I, ir, in, 2, NULL, loc);
    }
    return tensor_binop(I, op, av[0], av[1], loc);
}
static Value *F_add(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_ADD, IR_ADD, "add"); }
static Value *F_sub(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_SUB, IR_SUB, "sub"); }
static Value *F_mul(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_MUL, IR_MUL, "mul"); }
static Value *F_div(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_DIV, IR_DIV, "div"); }
static Value *F_pow(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_POW, IR_POW, "pow"); }
static Value *F_maximum(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_ADD, IR_MAXIMUM, "maximum"); }
static Value *F_minimum(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_ADD, IR_MINIMUM, "minimum"); }

/* Comparisons and logic: masks (bool tensors, 0/1 float32 in the IR). */
static Value *F_equal(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_EQ, IR_EQUAL, "equal"); }
static Value *F_not_equal(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_NE, IR_NOT_EQUAL, "not_equal"); }
static Value *F_less(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_LT, IR_LESS, "less"); }
static Value *F_less_equal(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_LE, IR_LESS_EQUAL, "less_equal"); }
static Value *F_greater(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_GT, IR_GREATER, "greater"); }
static Value *F_greater_equal(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_GE, IR_GREATER_EQUAL, "greater_equal"); }
static Value *F_logical_and(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_BITAND, IR_LOGICAL_AND, "logical_and"); }
static Value *F_logical_or(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_BITOR, IR_LOGICAL_OR, "logical_or"); }
static Value *F_logical_xor(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_BITXOR, IR_LOGICAL_XOR, "logical_xor"); }
static Value *F_logical_not(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp");
    BIND("logical_not", 1);
    return tensor_invert(I, av[0], loc);
}

/* F.isnan(x): x != x, the one value unequal to itself. */
static Value *F_isnan(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp");
    BIND("isnan", 1);
    FIRST_TENSOR("isnan");
    IrValue *in[2] = {x, x};
    return emit(I, IR_NOT_EQUAL, in, 2, NULL, loc);
}

/* F.where(mask, x, y): mask must be bool (MegEngine's check); the three broadcast. */
static Value *F_where(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("mask", "x", "y");
    BIND("where", 3);
    if (!need_trace(I, loc, "where")) return NULL;
    IrValue *in[3];
    for (int k = 0; k < 3; k++)
        if (!(in[k] = tensor_of(I, av[k], loc, "where"))) return NULL;
    if (in[0]->dtype != IR_DT_BOOL) {
        diag_error(I->d, loc, "where: the mask must be a bool tensor (a comparison, or .astype(\"bool\")), got %s",
                   ir_dtype_name(in[0]->dtype));
        return NULL;
    }
    return emit(I, IR_WHERE, in, 3, NULL, loc);
}

/* The index argument of gather / indexing_one_hot: an integer tensor. */
static IrValue *int_index(Elab *I, Value *v, SrcLoc loc, const char *f)
{
    IrValue *t = tensor_of(I, v, loc, f);
    if (t && t->dtype != IR_DT_I32) {
        diag_error(I->d, loc, "%s: the index must be an integer tensor, not %s; convert it with .astype(\"int32\")",
                   f, ir_dtype_name(t->dtype));
        return NULL;
    }
    return t;
}

/* F.gather(inp, axis, index): torch.gather (out[i] = inp[i with i[axis] = index[i]]). */
static Value *F_gather(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "axis", "index");
    BIND("gather", 3);
    FIRST_TENSOR("gather");
    int64_t ax;
    if (!as_int(I, av[1], loc, "axis", &ax) || !norm_axis(I, &ax, x->shape.rank, loc, "gather")) return NULL;
    IrValue *in[2] = {x, int_index(I, av[2], loc, "gather")};
    if (!in[1]) return NULL;
    IrAttrs at = ir_attrs_default();
    at.axis = ax;
    return emit(I, IR_GATHER, in, 2, &at, loc);
}

/* F.nn.indexing_one_hot(src, index, axis=1, keepdims=False): src's element picked by
 * index along axis, index having src's shape without that axis: a gather with the
 * index given a size-1 axis there, removed again unless keepdims. */
static Value *F_indexing_one_hot(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("src", "index", "axis", "keepdims");
    BIND("indexing_one_hot", 2);
    FIRST_TENSOR("indexing_one_hot");
    int64_t ax = 1;
    if (OPT(2) && !as_int(I, av[2], loc, "axis", &ax)) return NULL;
    if (!norm_axis(I, &ax, x->shape.rank, loc, "indexing_one_hot")) return NULL;
    int keep = 0;
    if (OPT(3) && (keep = truthy(I, av[3], loc)) < 0) return NULL;
    IrValue *idx = int_index(I, av[1], loc, "indexing_one_hot");
    if (!idx) return NULL;
    Shape want = {0};
    for (int i = 0; i < x->shape.rank; i++)
        if (i != ax) want.d[want.rank++] = x->shape.d[i];
    if (!shape_eq(&idx->shape, &want)) {
        char b1[96], b2[96];
        diag_error(I->d, loc, "indexing_one_hot: the index has shape %s; it must be the source's %s without axis %lld: %s",
                   shape_str(&idx->shape, b1, sizeof b1), shape_str(&x->shape, b2, sizeof b2), (long long)ax,
                   shape_str(&want, b1, sizeof b1));
        return NULL;
    }
    Shape one = x->shape;
    one.d[ax] = 1;
    IrValue *in[2] = {x, reshape_ir(I, idx, &one, loc)};
    if (!in[1]) return NULL;
    IrAttrs at = ir_attrs_default();
    at.axis = ax;
    IrValue *y = emit_ir(I, IR_GATHER, in, 2, &at, loc);
    if (!y) return NULL;
    if (!keep) y = reshape_ir(I, y, &want, loc);
    return y ? v_tensor(I, y) : NULL;
}

/* F.clip(inp, lower=None, upper=None): bounds are numbers or tensors (broadcast). */
static Value *F_clip(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "lower", "upper");
    BIND("clip", 1);
    FIRST_TENSOR("clip");
    if (!OPT(1) && !OPT(2)) {
        diag_error(I->d, loc, "clip: lower and upper cannot both be None");
        return NULL;
    }
    IrValue *y = x;
    for (int k = 1; k <= 2 && y; k++) {
        if (!OPT(k)) continue;
        IrValue *in[2] = {y, tensor_of(I, av[k], loc, "clip")};
        if (!in[1]) return NULL;
        y = emit_ir(I, k == 1 ? IR_MAXIMUM : IR_MINIMUM, in, 2, NULL, loc);
    }
    return y ? v_tensor(I, y) : NULL;
}

static Value *F_softmax(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "axis");
    BIND("softmax", 1);
    FIRST_TENSOR("softmax");
    int r = x->shape.rank;
    int64_t ax = (r == 0 || r == 1 || r == 3) ? 0 : 1;  /* MegEngine's default axis */
    if (OPT(1) && !as_int(I, av[1], loc, "axis", &ax)) return NULL;
    if (!norm_axis(I, &ax, r, loc, "softmax")) return NULL;
    IrAttrs at = ir_attrs_default();
    at.axis = ax;
    return emit(I, IR_SOFTMAX, &x, 1, &at, loc);
}

static Value *F_flatten(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "start_axis", "end_axis");
    BIND("flatten", 1);
    FIRST_TENSOR("flatten");
    int64_t st = 0, e = -1;
    if (OPT(1) && !as_int(I, av[1], loc, "start_axis", &st)) return NULL;
    if (OPT(2) && !as_int(I, av[2], loc, "end_axis", &e)) return NULL;
    return do_flatten(I, x, st, e, loc);
}

static Value *F_reshape(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "target_shape");
    BIND("reshape", 2);
    FIRST_TENSOR("reshape");
    int64_t dims[BCL_MAX_RANK];
    int n = int_list(I, av[1], loc, "target_shape", dims, BCL_MAX_RANK);
    return n < 0 ? NULL : do_reshape(I, x, dims, n, loc);
}

static Value *F_transpose(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "pattern");
    BIND("transpose", 2);
    FIRST_TENSOR("transpose");
    int64_t perm[BCL_MAX_RANK];
    int n = int_list(I, av[1], loc, "pattern", perm, BCL_MAX_RANK);
    return n < 0 ? NULL : do_transpose(I, x, perm, n, loc);
}

static Value *reduce_fn(Elab *I, CallArgs *a, SrcLoc loc, IrOp op, const char *f)
{
    ARGS("inp", "axis", "keepdims");
    BIND(f, 1);
    FIRST_TENSOR(f);
    return do_reduce(I, op, x, av[1], av[2], loc, f);
}
static Value *F_mean(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, IR_REDUCE_MEAN, "mean"); }
static Value *F_sum(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, IR_REDUCE_SUM, "sum"); }
static Value *F_max(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, IR_REDUCE_MAX, "max"); }
static Value *F_min(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, IR_REDUCE_MIN, "min"); }

static IrValue **tensor_seq(Elab *I, Value *v, SrcLoc loc, const char *f, int *n)
{
    if (v->kind != V_LIST && v->kind != V_TUPLE) {
        diag_error(I->d, loc, "%s: expected a list or tuple of tensors, got %s", f, v_type_name(v));
        return NULL;
    }
    if (v->seq->n == 0) {
        diag_error(I->d, loc, "%s: expected at least one tensor", f);
        return NULL;
    }
    IrValue **xs = ARENA_NEWN(I->a, IrValue *, v->seq->n);
    for (int i = 0; i < v->seq->n; i++)
        if (!(xs[i] = tensor_of(I, v->seq->v[i], loc, f))) return NULL;
    *n = v->seq->n;
    return xs;
}

/* A concat of any number of inputs: the IR op takes at most 64, so longer lists are
 * joined in chunks of 64 and the chunks joined again (the same values). */
static Value *concat_many(Elab *I, IrValue **xs, int n, const IrAttrs *at, SrcLoc loc)
{
    while (n > 64) {
        int m = 0;
        for (int i = 0; i < n; i += 64) {
            int k = n - i < 64 ? n - i : 64;
            IrValue *c = k == 1 ? xs[i] : emit_ir(I, IR_CONCAT, xs + i, k, at, loc);
            if (!c) return NULL;
            xs[m++] = c;
        }
        n = m;
    }
    return n == 1 ? v_tensor(I, xs[0]) : emit(I, IR_CONCAT, xs, n, at, loc);
}

static Value *F_concat(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inps", "axis");
    BIND("concat", 1);
    if (!need_trace(I, loc, "concat")) return NULL;
    int n;
    IrValue **xs = tensor_seq(I, av[0], loc, "concat", &n);
    if (!xs) return NULL;
    int64_t ax = 0;
    if (OPT(1) && !as_int(I, av[1], loc, "axis", &ax)) return NULL;
    if (!norm_axis(I, &ax, xs[0]->shape.rank, loc, "concat")) return NULL;
    IrAttrs at = ir_attrs_default();
    at.axis = ax;
    return concat_many(I, xs, n, &at, loc);
}

static Value *F_stack(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inps", "axis");
    BIND("stack", 1);
    if (!need_trace(I, loc, "stack")) return NULL;
    int n;
    IrValue **xs = tensor_seq(I, av[0], loc, "stack", &n);
    if (!xs) return NULL;
    int64_t ax = 0;
    int r = xs[0]->shape.rank;
    if (r + 1 > BCL_MAX_RANK) {
        diag_error(I->d, loc, "stack: result rank too large");
        return NULL;
    }
    if (OPT(1) && !as_int(I, av[1], loc, "axis", &ax)) return NULL;
    if (!norm_axis(I, &ax, r + 1, loc, "stack")) return NULL;
    char b1[128], b2[128];
    Shape first = xs[0]->shape;
    for (int i = 0; i < n; i++) {
        if (!shape_eq(&xs[i]->shape, &first)) {
            diag_error(I->d, loc, "stack: all tensors must have the same shape, got %s and %s",
                       shape_str(&first, b1, sizeof b1), shape_str(&xs[i]->shape, b2, sizeof b2));
            return NULL;
        }
        Shape sh = {.rank = r + 1};
        for (int k = 0, j = 0; k <= r; k++) sh.d[k] = k == ax ? 1 : xs[i]->shape.d[j++];
        if (!(xs[i] = reshape_ir(I, xs[i], &sh, loc))) return NULL;
    }
    IrAttrs at = ir_attrs_default();
    at.axis = ax;
    return concat_many(I, xs, n, &at, loc);
}

/* MegEngine's F.repeat(inp, repeats, axis=None): each element `repeats` times along axis
 * (the flattened input when axis is None). There is no repeat op: a unit axis is added
 * after `axis`, `repeats` copies are concatenated along it, and the two axes merged. */
static Value *F_repeat(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "repeats", "axis");
    BIND("repeat", 2);
    FIRST_TENSOR("repeat");
    int64_t r, ax = 0;
    if (!as_int(I, av[1], loc, "repeats", &r)) return NULL;
    if (r < 1 || r > 64 * 64) {
        diag_error(I->d, loc, "repeat: repeats must be between 1 and %d, got %lld", 64 * 64, (long long)r);
        return NULL;
    }
    if (OPT(2)) {
        if (!as_int(I, av[2], loc, "axis", &ax)) return NULL;
        if (!norm_axis(I, &ax, x->shape.rank, loc, "repeat")) return NULL;
    } else {
        Shape flat = {.rank = 1, .d = {shape_numel(&x->shape)}};
        if (!(x = reshape_ir(I, x, &flat, loc))) return NULL;
    }
    if (x->shape.rank == 0) {  /* a scalar repeats into a vector */
        Shape one = {.rank = 1, .d = {1}};
        if (!(x = reshape_ir(I, x, &one, loc))) return NULL;
    }
    if (r == 1) return v_tensor(I, x);
    int rank = x->shape.rank;
    if (rank + 1 > BCL_MAX_RANK) {
        diag_error(I->d, loc, "repeat: at most %d dimensions are supported", BCL_MAX_RANK - 1);
        return NULL;
    }
    Shape ex = {.rank = rank + 1};
    for (int k = 0, j = 0; k <= rank; k++) ex.d[k] = k == ax + 1 ? 1 : x->shape.d[j++];
    IrValue *u = reshape_ir(I, x, &ex, loc);
    if (!u) return NULL;
    IrAttrs at = ir_attrs_default();
    at.axis = ax + 1;
    /* concat takes at most 64 inputs: repeat in chunks of 64, then join the chunks */
    IrValue *chunk[64], *parts[64];
    int np = 0;
    for (int64_t left = r; left > 0;) {
        int n = left > 64 ? 64 : (int)left;
        for (int i = 0; i < n; i++) chunk[i] = u;
        IrValue *c = n == 1 ? u : emit_ir(I, IR_CONCAT, chunk, n, &at, loc);
        if (!c) return NULL;
        parts[np++] = c;
        left -= n;
    }
    IrValue *y = np == 1 ? parts[0] : emit_ir(I, IR_CONCAT, parts, np, &at, loc);
    if (!y) return NULL;
    Shape out = x->shape;
    out.d[ax] *= r;
    y = reshape_ir(I, y, &out, loc);
    return y ? v_tensor(I, y) : NULL;
}

static IrValue *slice_axis(Elab *I, IrValue *x, int ax, int64_t b, int64_t e, SrcLoc loc)
{
    if (b == 0 && e == x->shape.d[ax]) return x;
    IrAttrs at = ir_attrs_default();
    for (int i = 0; i < x->shape.rank; i++) { at.begin[i] = 0; at.end[i] = x->shape.d[i]; at.step[i] = 1; }
    at.begin[ax] = b;
    at.end[ax] = e;
    return emit_ir(I, IR_SLICE, &x, 1, &at, loc);
}

static Value *F_split(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "nsplits_or_sections", "axis");
    BIND("split", 2);
    FIRST_TENSOR("split");
    int64_t ax = 0;
    if (OPT(2) && !as_int(I, av[2], loc, "axis", &ax)) return NULL;
    if (!norm_axis(I, &ax, x->shape.rank, loc, "split")) return NULL;
    int64_t dim = x->shape.d[ax];
    int64_t cuts[66];
    int nc = 0;
    cuts[nc++] = 0;
    if (is_intlike(av[1])) {
        int64_t k = av[1]->kind == V_INT ? av[1]->i : av[1]->b;
        if (k <= 0 || k > 64 || dim % k) {
            diag_error(I->d, loc, "split: cannot split an axis of size %lld into %lld equal parts", (long long)dim, (long long)k);
            return NULL;
        }
        for (int64_t i = 1; i < k; i++) cuts[nc++] = i * (dim / k);
    } else {
        int64_t secs[64];
        int n = int_list(I, av[1], loc, "sections", secs, 63);
        if (n < 0) return NULL;
        for (int i = 0; i < n; i++) {
            if (secs[i] <= cuts[nc - 1] || secs[i] >= dim) {
                diag_error(I->d, loc, "split: sections must be increasing and inside the axis (size %lld)", (long long)dim);
                return NULL;
            }
            cuts[nc++] = secs[i];
        }
    }
    cuts[nc] = dim;
    Value *l = v_list(I, 0);
    for (int i = 0; i < nc; i++) {
        IrValue *y = slice_axis(I, x, (int)ax, cuts[i], cuts[i + 1], loc);
        if (!y) return NULL;
        seq_push(I, l->seq, v_tensor(I, y));
    }
    return l;
}

static IrValue *per_channel(Elab *I, IrValue *v, SrcLoc loc)
{
    /* MegEngine keeps (1, C, 1, 1) tensors; the IR takes [C] */
    if (v->shape.rank == 1) return v;
    Shape s = {.rank = 1, .d = {shape_numel(&v->shape)}};
    return reshape_ir(I, v, &s, loc);
}

static Value *F_conv2d(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "weight", "bias", "stride", "padding", "dilation", "groups", "conv_mode", "compute_mode");
    BIND("conv2d", 2);
    FIRST_TENSOR("conv2d");
    IrValue *in[3];
    int n = 2;
    in[0] = x;
    if (!(in[1] = tensor_of(I, av[1], loc, "conv2d weight"))) return NULL;
    if (OPT(2)) {
        if (!(in[2] = tensor_of(I, av[2], loc, "conv2d bias")) || !(in[2] = per_channel(I, in[2], loc))) return NULL;
        n = 3;
    }
    IrAttrs at = ir_attrs_default();
    int64_t p[2] = {0, 0};
    if (OPT(3) && !int_tuple(I, av[3], 2, loc, "stride", at.stride)) return NULL;
    if (OPT(4) && !int_tuple(I, av[4], 2, loc, "padding", p)) return NULL;
    if (OPT(5) && !int_tuple(I, av[5], 2, loc, "dilation", at.dilation)) return NULL;
    if (OPT(6) && !as_int(I, av[6], loc, "groups", &at.groups)) return NULL;
    if (OPT(7) && !v_is_str(av[7], "cross_correlation") && !v_is_str(av[7], "CROSS_CORRELATION")) {
        diag_error(I->d, loc, "conv2d: conv_mode %s is not supported", v_repr(I, av[7]));
        return NULL;
    }
    at.pad[0] = at.pad[2] = p[0];
    at.pad[1] = at.pad[3] = p[1];
    if (in[1]->shape.rank == 5) {  /* MegEngine's grouped layout (G, O/G, I/G, kh, kw) */
        Shape w = {.rank = 4, .d = {in[1]->shape.d[0] * in[1]->shape.d[1], in[1]->shape.d[2], in[1]->shape.d[3], in[1]->shape.d[4]}};
        if (!(in[1] = reshape_ir(I, in[1], &w, loc))) return NULL;
    }
    return emit(I, IR_CONV2D, in, n, &at, loc);
}

static Value *F_linear(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "weight", "bias", "compute_mode");
    BIND("linear", 2);
    FIRST_TENSOR("linear");
    IrValue *in[3] = {x, NULL, NULL};
    int n = 2;
    if (!(in[1] = tensor_of(I, av[1], loc, "linear weight"))) return NULL;
    if (OPT(2)) {
        if (!(in[2] = tensor_of(I, av[2], loc, "linear bias")) || !(in[2] = per_channel(I, in[2], loc))) return NULL;
        n = 3;
    }
    return emit(I, IR_LINEAR, in, n, NULL, loc);
}

static IrValue *swap_last(Elab *I, IrValue *x, SrcLoc loc)
{
    int r = x->shape.rank;
    if (r < 2) return x;
    int64_t perm[BCL_MAX_RANK];
    for (int i = 0; i < r; i++) perm[i] = i;
    perm[r - 1] = r - 2;
    perm[r - 2] = r - 1;
    Value *v = do_transpose(I, x, perm, r, loc);
    return v ? v->tensor : NULL;
}

static Value *F_matmul(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp1", "inp2", "transpose_a", "transpose_b", "compute_mode", "format");
    BIND("matmul", 2);
    FIRST_TENSOR("matmul");
    IrValue *in[2] = {x, tensor_of(I, av[1], loc, "matmul")};
    if (!in[1]) return NULL;
    for (int k = 0; k < 2; k++)
        if (OPT(2 + k)) {
            int t = truthy(I, av[2 + k], loc);
            if (t < 0) return NULL;
            if (t && !(in[k] = swap_last(I, in[k], loc))) return NULL;
        }
    return emit(I, IR_MATMUL, in, 2, NULL, loc);
}

static IrValue *const_fill(Elab *I, int64_t c, float v)
{
    Shape s = {.rank = 1, .d = {c}};
    float *data = ARENA_NEWN(I->a, float, c > 0 ? c : 1);
    for (int64_t i = 0; i < c; i++) data[i] = v;
    return ir_add_const(I->g, &s, data);
}

static Value *F_batch_norm(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps", "inplace",
         "compute_mode", "param_dim");
    BIND("batch_norm", 3);
    FIRST_TENSOR("batch_norm");
    if (x->shape.rank < 2) {
        char b[128];
        diag_error(I->d, loc, "batch_norm: input must have a channel axis, got shape %s", shape_str(&x->shape, b, sizeof b));
        return NULL;
    }
    int64_t c = x->shape.d[1];
    IrValue *in[5] = {x};
    if (OPT(3)) { if (!(in[1] = tensor_of(I, av[3], loc, "batch_norm weight"))) return NULL; }
    else in[1] = const_fill(I, c, 1.0f);
    if (OPT(4)) { if (!(in[2] = tensor_of(I, av[4], loc, "batch_norm bias"))) return NULL; }
    else in[2] = const_fill(I, c, 0.0f);
    if (!(in[3] = tensor_of(I, av[1], loc, "batch_norm running_mean"))) return NULL;
    if (!(in[4] = tensor_of(I, av[2], loc, "batch_norm running_var"))) return NULL;
    for (int i = 1; i < 5; i++)
        if (!(in[i] = per_channel(I, in[i], loc))) return NULL;
    if (OPT(5)) {
        int t = truthy(I, av[5], loc);
        if (t < 0) return NULL;
        if (t) {
            diag_error(I->d, loc, "batch_norm: training=True is not supported; bclc compiles inference graphs");
            return NULL;
        }
    }
    IrAttrs at = ir_attrs_default();
    double eps = 1e-5;
    if (OPT(7) && !as_float(I, av[7], loc, "eps", &eps)) return NULL;
    at.eps = (float)eps;
    return emit(I, IR_BATCH_NORM, in, 5, &at, loc);
}

static Value *F_layer_norm(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "normalized_shape", "affine", "weight", "bias", "eps");
    BIND("layer_norm", 2);
    FIRST_TENSOR("layer_norm");
    int64_t dims[BCL_MAX_RANK];
    int n = int_list(I, av[1], loc, "normalized_shape", dims, BCL_MAX_RANK);
    if (n < 0) return NULL;
    char b1[128], b2[128];
    Shape ns = {.rank = n};
    for (int i = 0; i < n; i++) ns.d[i] = dims[i];
    bool fits = n >= 1 && n <= x->shape.rank;
    for (int i = 0; fits && i < n; i++) fits = dims[i] == x->shape.d[x->shape.rank - n + i];
    if (!fits) {
        diag_error(I->d, loc, "layer_norm: normalized_shape %s does not match the last dimensions of the input %s",
                   shape_str(&ns, b1, sizeof b1), shape_str(&x->shape, b2, sizeof b2));
        return NULL;
    }
    IrAttrs at = ir_attrs_default();
    at.n_axes = n;
    double eps = 1e-5;
    if (OPT(5) && !as_float(I, av[5], loc, "eps", &eps)) return NULL;
    at.eps = (float)eps;
    IrValue *in[3] = {x};
    int k = 1;
    int affine = 1;
    if (OPT(2) && (affine = truthy(I, av[2], loc)) < 0) return NULL;
    if (affine && OPT(3)) {
        if (!(in[k++] = tensor_of(I, av[3], loc, "layer_norm weight"))) return NULL;
        if (OPT(4) && !(in[k++] = tensor_of(I, av[4], loc, "layer_norm bias"))) return NULL;
    }
    return emit(I, IR_LAYER_NORM, in, k, &at, loc);
}

static Value *pool(Elab *I, CallArgs *a, SrcLoc loc, bool is_max)
{
    ARGS("inp", "kernel_size", "stride", "padding", "mode");
    const char *f = is_max ? "max_pool2d" : "avg_pool2d";
    if (!bind_native(I, f, a, loc, names, is_max ? 4 : 5, 2, av)) return NULL;
    FIRST_TENSOR(f);
    IrAttrs at = ir_attrs_default();
    int64_t p[2] = {0, 0};
    if (!int_tuple(I, av[1], 2, loc, "kernel_size", at.kernel)) return NULL;
    if (OPT(2)) { if (!int_tuple(I, av[2], 2, loc, "stride", at.stride)) return NULL; }
    else { at.stride[0] = at.kernel[0]; at.stride[1] = at.kernel[1]; }
    if (OPT(3) && !int_tuple(I, av[3], 2, loc, "padding", p)) return NULL;
    at.pad[0] = at.pad[2] = p[0];
    at.pad[1] = at.pad[3] = p[1];
    if (!is_max) {
        at.count_include_pad = false;
        if (OPT(4)) {
            if (v_is_str(av[4], "average")) at.count_include_pad = true;
            else if (!v_is_str(av[4], "average_count_exclude_padding")) {
                diag_error(I->d, loc, "avg_pool2d: unknown mode %s (expected 'average' or 'average_count_exclude_padding')",
                           v_repr(I, av[4]));
                return NULL;
            }
        }
    }
    return emit(I, is_max ? IR_MAX_POOL2D : IR_AVG_POOL2D, &x, 1, &at, loc);
}
static Value *F_max_pool2d(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return pool(I, a, l, true); }
static Value *F_avg_pool2d(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return pool(I, a, l, false); }

static Value *adaptive(Elab *I, CallArgs *a, SrcLoc loc, bool is_max)
{
    ARGS("inp", "oshp");
    const char *f = is_max ? "adaptive_max_pool2d" : "adaptive_avg_pool2d";
    BIND(f, 2);
    FIRST_TENSOR(f);
    char b[128];
    if (x->shape.rank != 4) {
        diag_error(I->d, loc, "%s: input must be 4-D [N, C, H, W], got %s", f, shape_str(&x->shape, b, sizeof b));
        return NULL;
    }
    int64_t o[2];
    if (!int_tuple(I, av[1], 2, loc, "oshp", o)) return NULL;
    IrAttrs at = ir_attrs_default();
    for (int i = 0; i < 2; i++) {
        int64_t in = x->shape.d[2 + i];
        if (o[i] <= 0 || o[i] > in) {
            diag_error(I->d, loc, "%s: output size %lld does not fit input size %lld", f, (long long)o[i], (long long)in);
            return NULL;
        }
        at.stride[i] = in / o[i];  /* MegEngine's rule */
        at.kernel[i] = in - (o[i] - 1) * at.stride[i];
    }
    at.count_include_pad = false;
    return emit(I, is_max ? IR_MAX_POOL2D : IR_AVG_POOL2D, &x, 1, &at, loc);
}
static Value *F_adaptive_avg_pool2d(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return adaptive(I, a, l, false); }
static Value *F_adaptive_max_pool2d(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return adaptive(I, a, l, true); }

static Value *F_dropout(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "drop_prob", "training");
    BIND("dropout", 1);
    FIRST_TENSOR("dropout");
    return emit(I, IR_DROPOUT, &x, 1, NULL, loc);
}

static Value *F_pad(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("src", "pad_width", "mode", "constant_value");
    BIND("pad", 2);
    FIRST_TENSOR("pad");
    if (OPT(2) && !v_is_str(av[2], "constant")) {
        diag_error(I->d, loc, "pad: mode %s is not supported (only 'constant')", v_repr(I, av[2]));
        return NULL;
    }
    IrAttrs at = ir_attrs_default();
    double cv = 0;
    if (OPT(3) && !as_float(I, av[3], loc, "constant_value", &cv)) return NULL;
    at.value = (float)cv;
    Value *pw = av[1];
    int r = x->shape.rank;
    if ((pw->kind != V_TUPLE && pw->kind != V_LIST) || pw->seq->n != r) {
        diag_error(I->d, loc, "pad: pad_width must hold one (before, after) pair per axis (%d)", r);
        return NULL;
    }
    for (int i = 0; i < r; i++) {
        int64_t p[2];
        if (!int_tuple(I, pw->seq->v[i], 2, loc, "pad_width entry", p)) return NULL;
        at.pads[2 * i] = p[0];
        at.pads[2 * i + 1] = p[1];
    }
    return emit(I, IR_PAD, &x, 1, &at, loc);
}

static Value *F_interpolate(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "size", "scale_factor", "mode", "align_corners");
    BIND("interpolate", 1);
    FIRST_TENSOR("interpolate");
    if (OPT(3) && !v_is_str(av[3], "nearest")) {
        diag_error(I->d, loc, "interpolate: mode %s is not supported (only 'nearest')", v_repr(I, av[3]));
        return NULL;
    }
    char b[128];
    if (x->shape.rank != 4) {
        diag_error(I->d, loc, "interpolate: input must be 4-D [N, C, H, W], got %s", shape_str(&x->shape, b, sizeof b));
        return NULL;
    }
    IrAttrs at = ir_attrs_default();
    at.shape = x->shape;
    if (OPT(1)) {
        if (!int_tuple(I, av[1], 2, loc, "size", &at.shape.d[2])) return NULL;
    } else if (OPT(2)) {
        double sf[2];
        Value *v = av[2];
        if (v->kind == V_TUPLE || v->kind == V_LIST) {
            if (v->seq->n != 2) {
                diag_error(I->d, loc, "interpolate: scale_factor must be a number or a pair");
                return NULL;
            }
            if (!as_float(I, v->seq->v[0], loc, "scale_factor", &sf[0]) || !as_float(I, v->seq->v[1], loc, "scale_factor", &sf[1]))
                return NULL;
        } else {
            if (!as_float(I, v, loc, "scale_factor", &sf[0])) return NULL;
            sf[1] = sf[0];
        }
        for (int i = 0; i < 2; i++) at.shape.d[2 + i] = (int64_t)floor((double)x->shape.d[2 + i] * sf[i]);
    } else {
        diag_error(I->d, loc, "interpolate: either size or scale_factor must be given");
        return NULL;
    }
    return emit(I, IR_UPSAMPLE_NEAREST, &x, 1, &at, loc);
}

static Value *F_roll(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "shift", "axis");
    BIND("roll", 2);
    FIRST_TENSOR("roll");
    int r = x->shape.rank;
    int64_t sh[BCL_MAX_RANK], ax[BCL_MAX_RANK];
    int ns = int_list(I, av[1], loc, "shift", sh, BCL_MAX_RANK);
    if (ns < 0) return NULL;
    IrAttrs at = ir_attrs_default();
    if (!OPT(2)) {
        /* no axis: roll the flattened tensor */
        if (ns != 1) {
            diag_error(I->d, loc, "roll: without axis, shift must be a single int");
            return NULL;
        }
        Shape flat = {.rank = 1, .d = {shape_numel(&x->shape)}};
        IrValue *f = reshape_ir(I, x, &flat, loc);
        if (!f) return NULL;
        at.shifts[0] = flat.d[0] ? ((sh[0] % flat.d[0]) + flat.d[0]) % flat.d[0] : 0;
        IrValue *y = emit_ir(I, IR_ROLL, &f, 1, &at, loc);
        if (!y) return NULL;
        y = reshape_ir(I, y, &x->shape, loc);
        return y ? v_tensor(I, y) : NULL;
    }
    int na = int_list(I, av[2], loc, "axis", ax, BCL_MAX_RANK);
    if (na < 0) return NULL;
    if (na != ns) {
        diag_error(I->d, loc, "roll: shift and axis must have the same length");
        return NULL;
    }
    for (int i = 0; i < na; i++) {
        if (!norm_axis(I, &ax[i], r, loc, "roll")) return NULL;
        int64_t d = x->shape.d[ax[i]];
        at.shifts[ax[i]] = d ? (((at.shifts[ax[i]] + sh[i]) % d) + d) % d : 0;
    }
    return emit(I, IR_ROLL, &x, 1, &at, loc);
}

/* F.zeros / F.ones / F.full(shape, value): a constant while tracing; in __init__ a
 * parameter initialiser for mge.Parameter(F.ones(shape)) (layer scales and the like). */
static Value *filled(Elab *I, CallArgs *a, SrcLoc loc, const char *f, int kind)
{
    static const char *const names[] = {"shape", "value", "dtype", "device"};
    Value *av[4];
    if (!bind_native(I, f, a, loc, names, kind == 2 ? 4 : 3, kind == 2 ? 2 : 1, av)) return NULL;
    if (kind != 2) av[3] = av[2], av[2] = av[1], av[1] = NULL;
    int64_t dims[BCL_MAX_RANK];
    int n = int_list(I, av[0], loc, "shape", dims, BCL_MAX_RANK);
    if (n < 0) return NULL;
    Shape sh = {.rank = n};
    for (int i = 0; i < n; i++) {
        if (dims[i] <= 0) {
            diag_error(I->d, loc, "%s: dimensions must be positive, got %lld", f, (long long)dims[i]);
            return NULL;
        }
        sh.d[i] = dims[i];
    }
    if (!param_size_ok(I, &sh, loc, f)) return NULL;
    double v = kind == 1 ? 1.0 : 0.0;
    if (kind == 2 && !as_float(I, av[1], loc, "value", &v)) return NULL;
    if (I->tracing && I->g) {
        int64_t numel = shape_numel(&sh);
        if (numel > (1 << 24)) {
            diag_error(I->d, loc, "%s: constant too large (%lld elements)", f, (long long)numel);
            return NULL;
        }
        float *data = ARENA_NEWN(I->a, float, numel);
        for (int64_t i = 0; i < numel; i++) data[i] = (float)v;
        return v_tensor(I, ir_add_const(I->g, &sh, data));
    }
    if (v != 0.0 && v != 1.0) {
        diag_error(I->d, loc, "%s: in __init__ only zeros and ones can initialise a parameter", f);
        return NULL;
    }
    ParamObj *p = ARENA_NEW(I->a, ParamObj);
    p->shape = sh;
    p->init = v == 1.0 ? INIT_ONES : INIT_ZEROS;
    p->loc = loc_in_stdlib(loc) && I->user_loc.src ? I->user_loc : loc;
    Value *r = ARENA_NEW(I->a, Value);
    r->kind = V_PARAM;
    r->param = p;
    return r;
}
/* n copies of u joined along axis (concat takes at most 64 inputs: chunks, then the chunks). */
static IrValue *concat_copies(Elab *I, IrValue *u, int64_t n, int64_t axis, SrcLoc loc)
{
    IrAttrs at = ir_attrs_default();
    at.axis = axis;
    IrValue *chunk[64], *parts[64];
    int np = 0;
    for (int64_t left = n; left > 0;) {
        int k = left > 64 ? 64 : (int)left;
        for (int i = 0; i < k; i++) chunk[i] = u;
        IrValue *c = k == 1 ? u : emit_ir(I, IR_CONCAT, chunk, k, &at, loc);
        if (!c) return NULL;
        parts[np++] = c;
        left -= k;
    }
    return np == 1 ? parts[0] : emit_ir(I, IR_CONCAT, parts, np, &at, loc);
}

/* F.broadcast_to(inp, shape): NumPy broadcasting to shape (ViT's class token over the
 * batch). New leading axes by a reshape, then each unit axis copied by a concat. */
static Value *F_broadcast_to(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "shape");
    BIND("broadcast_to", 2);
    FIRST_TENSOR("broadcast_to");
    int64_t dims[BCL_MAX_RANK];
    int n = int_list(I, av[1], loc, "shape", dims, BCL_MAX_RANK);
    if (n < 0) return NULL;
    const Shape *xs = &x->shape;
    Shape to = {.rank = n};
    bool ok = n >= xs->rank;
    for (int i = 0; i < n && ok; i++) {
        int j = i - (n - xs->rank);
        int64_t xd = j >= 0 ? xs->d[j] : 1;
        to.d[i] = dims[i];
        if (dims[i] < 1 || !(xd == dims[i] || xd == 1)) ok = false;
    }
    if (!ok) {
        char b1[64], b2[64];
        Shape want = {.rank = n};
        for (int i = 0; i < n; i++) want.d[i] = dims[i];
        diag_error(I->d, loc, "broadcast_to: cannot broadcast %s to %s", shape_str(xs, b1, sizeof b1),
                   shape_str(&want, b2, sizeof b2));
        return NULL;
    }
    if (!param_size_ok(I, &to, loc, "broadcast_to")) return NULL;
    Shape lifted = {.rank = n};
    for (int i = 0; i < n; i++) lifted.d[i] = i < n - xs->rank ? 1 : xs->d[i - (n - xs->rank)];
    IrValue *y = reshape_ir(I, x, &lifted, loc);
    for (int i = 0; y && i < n; i++)
        if (lifted.d[i] != to.d[i]) y = concat_copies(I, y, to.d[i], i, loc);
    return y ? v_tensor(I, y) : NULL;
}

/* F.expand_dims(inp, axis): unit axes inserted at the given positions of the result. */
static Value *F_expand_dims(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "axis");
    BIND("expand_dims", 2);
    FIRST_TENSOR("expand_dims");
    int64_t axes[BCL_MAX_RANK];
    int n = int_list(I, av[1], loc, "axis", axes, BCL_MAX_RANK);
    if (n < 0) return NULL;
    int rank = x->shape.rank + n;
    if (rank > BCL_MAX_RANK) {
        diag_error(I->d, loc, "expand_dims: the result would have %d dimensions (at most %d)", rank, BCL_MAX_RANK);
        return NULL;
    }
    bool unit[BCL_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) {
        if (!norm_axis(I, &axes[i], rank, loc, "expand_dims")) return NULL;
        if (unit[axes[i]]) {
            diag_error(I->d, loc, "expand_dims: axis %lld is given twice", (long long)axes[i]);
            return NULL;
        }
        unit[axes[i]] = true;
    }
    Shape out = {.rank = rank};
    for (int k = 0, j = 0; k < rank; k++) out.d[k] = unit[k] ? 1 : x->shape.d[j++];
    IrValue *y = reshape_ir(I, x, &out, loc);
    return y ? v_tensor(I, y) : NULL;
}

static Value *F_zeros(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return filled(I, a, l, "zeros", 0); }
static Value *F_ones(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return filled(I, a, l, "ones", 1); }
static Value *F_full(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return filled(I, a, l, "full", 2); }

/* Every megengine.functional name: in __init__, on compile-time tensors (made by
 * F.zeros / mge.Tensor(data) there), evaluated at once (mge_consteval.c); otherwise the
 * primitive that emits IR while forward is traced. */
static const struct { const char *name; NativeFn fn; } fs[] = {
    {"relu", F_relu}, {"relu6", F_relu6}, {"sigmoid", F_sigmoid}, {"silu", F_silu}, {"gelu", F_gelu},
    {"hswish", F_hswish}, {"hsigmoid", F_hsigmoid}, {"tanh", F_tanh}, {"exp", F_exp}, {"sqrt", F_sqrt},
    {"neg", F_neg}, {"leaky_relu", F_leaky_relu}, {"elu", F_elu}, {"add", F_add}, {"sub", F_sub},
    {"mul", F_mul}, {"div", F_div}, {"pow", F_pow}, {"maximum", F_maximum}, {"minimum", F_minimum},
    {"softmax", F_softmax}, {"flatten", F_flatten}, {"reshape", F_reshape}, {"transpose", F_transpose},
    {"mean", F_mean}, {"sum", F_sum}, {"max", F_max}, {"min", F_min}, {"concat", F_concat},
    {"stack", F_stack}, {"split", F_split}, {"conv2d", F_conv2d}, {"linear", F_linear},
    {"matmul", F_matmul}, {"batch_norm", F_batch_norm}, {"layer_norm", F_layer_norm},
    {"max_pool2d", F_max_pool2d}, {"avg_pool2d", F_avg_pool2d},
    {"adaptive_avg_pool2d", F_adaptive_avg_pool2d}, {"adaptive_max_pool2d", F_adaptive_max_pool2d},
    {"dropout", F_dropout}, {"pad", F_pad}, {"interpolate", F_interpolate}, {"roll", F_roll},
    {"zeros", F_zeros}, {"ones", F_ones}, {"full", F_full}, {"repeat", F_repeat},
    {"broadcast_to", F_broadcast_to}, {"expand_dims", F_expand_dims},
    {"equal", F_equal}, {"not_equal", F_not_equal}, {"less", F_less}, {"less_equal", F_less_equal},
    {"greater", F_greater}, {"greater_equal", F_greater_equal}, {"logical_and", F_logical_and},
    {"logical_or", F_logical_or}, {"logical_xor", F_logical_xor}, {"logical_not", F_logical_not},
    {"isnan", F_isnan}, {"where", F_where}, {"gather", F_gather}, {"indexing_one_hot", F_indexing_one_hot},
    {"clip", F_clip},
};

static Value *F_dispatch(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    const char *name = self->str.s;
    for (int i = 0; !I->tracing && i < a->n_pos; i++)
        if (a->pos[i]->kind == V_PARAM) {
            param_at_compile_time(I, a->pos[i], a->pos_loc[i], arena_printf(I->a, "F.%s", name));
            return NULL;
        }
    bool handled = false;
    Value *r = ct_functional(I, name, a, loc, &handled);
    if (handled) return r;
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++)
        if (!strcmp(fs[i].name, name)) return fs[i].fn(I, NULL, a, loc);
    diag_error(I->d, loc, "F.%s is evaluated only on tensors computed in __init__ (compile-time values); "
                          "in forward it is not supported yet", name);
    return NULL;
}

/* Functions evaluated only at compile time (in __init__, on compile-time tensors). */
static const char *const ct_only[] = {
    "squeeze", "log", "abs", "floor", "ceil", "round", "floor_div", "mod", "prod", "linspace", "arange",
};

Value *native_functional(Elab *I)
{
    Value *ns = new_namespace(I, "megengine.functional");
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++)
        env_set(I, ns->ns->env, fs[i].name, v_builtin(I, fs[i].name, F_dispatch, v_str(I, fs[i].name)));
    for (size_t i = 0; i < sizeof ct_only / sizeof *ct_only; i++)
        if (!env_get_local(ns->ns->env, ct_only[i]))
            env_set(I, ns->ns->env, ct_only[i], v_builtin(I, ct_only[i], F_dispatch, v_str(I, ct_only[i])));
    /* MegEngine's sub-namespaces alias the same primitives */
    env_set(I, ns->ns->env, "nn", ns);
    Value *vision = new_namespace(I, "megengine.functional.vision");
    ns_add(I, vision, "interpolate", F_interpolate);
    env_set(I, ns->ns->env, "vision", vision);
    return ns;
}
