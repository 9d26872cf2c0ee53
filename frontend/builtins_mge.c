/* Native MegEngine: megengine.functional primitives that emit IR nodes while
 * forward is traced, tensor operators and methods, mge.Tensor, and the _bcl
 * intrinsics (Module, param, buffer, accepts). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/eval.h"

#define ARGS(...) static const char *const names[] = {__VA_ARGS__}; \
    Value *av[sizeof names / sizeof *names]
#define BIND(fname, nreq) \
    if (!bind_native(I, fname, a, loc, names, (int)(sizeof names / sizeof *names), nreq, av)) return NULL
#define OPT(i) (av[i] && av[i]->kind != V_NONE)

static bool is_intlike(const Value *v) { return v->kind == V_INT || v->kind == V_BOOL; }

/* ------------------------------------------------------------------ conversions */

static IrValue *tensor_of(Interp *I, Value *v, SrcLoc loc, const char *what)
{
    if (v->kind == V_TENSOR) return v->tensor;
    if (v->kind == V_PARAM) {
        if (v->param->ir) return v->param->ir;
        if (v->param->born_in_forward) {
            diag_error(I->d, loc, "%s: this parameter was created in forward; create parameters (and the modules that hold them) in __init__", what);
            return NULL;
        }
        diag_error(I->d, loc, "%s: this parameter is not part of the model (it is not an attribute of a module in the tree)", what);
        return NULL;
    }
    if (I->tracing && I->g && (v->kind == V_INT || v->kind == V_FLOAT || v->kind == V_BOOL))
        return ir_const_scalar(I->g, v->kind == V_FLOAT ? (float)v->f : (float)(v->kind == V_INT ? v->i : v->b));
    if (!I->tracing)
        diag_error(I->d, loc, "%s: tensor operations are only allowed in forward (got %s)", what, v_type_name(v));
    else
        diag_error(I->d, loc, "%s: expected a tensor, got %s", what, v_type_name(v));
    return NULL;
}

static Value *emit(Interp *I, IrOp op, IrValue **in, int n, const IrAttrs *at, SrcLoc loc)
{
    /* a node made inside the standard library is located in the user's file: where the
     * module running it was constructed (M.Conv2d(...)), else the user's call */
    if (loc_in_stdlib(loc)) {
        SrcLoc best = I->user_loc;
        for (Frame *f = I->frame; f; f = f->up) {
            Value *s = f->self;
            if (s && s->kind == V_OBJECT && s->obj->made_at.src && !loc_in_stdlib(s->obj->made_at)) {
                best = s->obj->made_at;
                break;
            }
        }
        if (best.src) loc = best;
    }
    IrAttrs def = ir_attrs_default();
    IrValue *r = ir_add_node(I->g, op, in, n, at ? at : &def, loc, I->d);
    return r ? v_tensor(I, r) : NULL;
}

static IrValue *emit_ir(Interp *I, IrOp op, IrValue **in, int n, const IrAttrs *at, SrcLoc loc)
{
    Value *v = emit(I, op, in, n, at, loc);
    return v ? v->tensor : NULL;
}

static IrValue *reshape_ir(Interp *I, IrValue *x, const Shape *s, SrcLoc loc)
{
    if (shape_eq(&x->shape, s)) return x;
    IrAttrs at = ir_attrs_default();
    at.shape = *s;
    return emit_ir(I, IR_RESHAPE, &x, 1, &at, loc);
}

/* An int, or a tuple/list of n ints. */
static bool int_tuple(Interp *I, Value *v, int n, SrcLoc loc, const char *what, int64_t *out)
{
    if (is_intlike(v)) {
        for (int i = 0; i < n; i++) out[i] = v->kind == V_INT ? v->i : v->b;
        return true;
    }
    if ((v->kind == V_TUPLE || v->kind == V_LIST) && v->seq->n == n) {
        for (int i = 0; i < n; i++)
            if (!as_int(I, v->seq->v[i], loc, what, &out[i])) return false;
        return true;
    }
    diag_error(I->d, loc, "%s must be an int or a tuple of %d ints, got %s", what, n, v_repr(I, v));
    return false;
}

/* A list of ints (dims): a tuple/list, or a single int. */
static int int_list(Interp *I, Value *v, SrcLoc loc, const char *what, int64_t *out, int max)
{
    if (is_intlike(v)) {
        out[0] = v->kind == V_INT ? v->i : v->b;
        return 1;
    }
    if (v->kind == V_TUPLE || v->kind == V_LIST) {
        if (v->seq->n > max) {
            diag_error(I->d, loc, "%s: at most %d dimensions are supported", what, max);
            return -1;
        }
        for (int i = 0; i < v->seq->n; i++)
            if (!as_int(I, v->seq->v[i], loc, what, &out[i])) return -1;
        return v->seq->n;
    }
    diag_error(I->d, loc, "%s must be an int or a tuple of ints, got %s", what, v_type_name(v));
    return -1;
}

static bool norm_axis(Interp *I, int64_t *ax, int rank, SrcLoc loc, const char *what)
{
    if (*ax < -rank || *ax >= rank) {
        diag_error(I->d, loc, "%s: axis %lld is out of range for a tensor of rank %d", what, (long long)*ax, rank);
        return false;
    }
    if (*ax < 0) *ax += rank;
    return true;
}

static bool need_trace(Interp *I, SrcLoc loc, const char *what)
{
    if (I->tracing && I->g) return true;
    diag_error(I->d, loc, "%s: tensor operations are only allowed in forward", what);
    return false;
}

static Value *shape_tuple(Interp *I, const Shape *s)
{
    Value *t = v_tuple(I, s->rank);
    for (int i = 0; i < s->rank; i++) t->seq->v[i] = v_int(I, s->d[i]);
    return t;
}

/* ------------------------------------------------------------------ shape ops */

static Value *do_reshape(Interp *I, IrValue *x, int64_t *dims, int n, SrcLoc loc)
{
    if (n > BCL_MAX_RANK) {
        diag_error(I->d, loc, "reshape: at most %d dimensions are supported", BCL_MAX_RANK);
        return NULL;
    }
    Shape s = {.rank = n};
    int infer = -1;
    int64_t known = 1, total = shape_numel(&x->shape);
    char buf[128];
    for (int i = 0; i < n; i++) {
        if (dims[i] == -1) {
            if (infer >= 0) {
                diag_error(I->d, loc, "reshape: only one dimension can be -1");
                return NULL;
            }
            infer = i;
        } else if (dims[i] < 0) {
            diag_error(I->d, loc, "reshape: bad dimension %lld", (long long)dims[i]);
            return NULL;
        } else {
            known *= dims[i];
        }
        s.d[i] = dims[i];
    }
    if (infer >= 0) {
        if (known == 0 || total % known) {
            diag_error(I->d, loc, "reshape: cannot reshape a tensor of shape %s (%lld elements) with a -1 dimension",
                       shape_str(&x->shape, buf, sizeof buf), (long long)total);
            return NULL;
        }
        s.d[infer] = total / known;
    } else if (known != total) {
        char b2[128];
        diag_error(I->d, loc, "reshape: cannot reshape a tensor of shape %s into %s",
                   shape_str(&x->shape, buf, sizeof buf), shape_str(&s, b2, sizeof b2));
        return NULL;
    }
    IrValue *r = reshape_ir(I, x, &s, loc);
    return r ? v_tensor(I, r) : NULL;
}

static Value *do_flatten(Interp *I, IrValue *x, int64_t start, int64_t end, SrcLoc loc)
{
    int r = x->shape.rank;
    if (r == 0) {
        Shape s = {.rank = 1, .d = {1}};
        IrValue *y = reshape_ir(I, x, &s, loc);
        return y ? v_tensor(I, y) : NULL;
    }
    if (!norm_axis(I, &start, r, loc, "flatten") || !norm_axis(I, &end, r, loc, "flatten")) return NULL;
    if (start > end) {
        diag_error(I->d, loc, "flatten: start_axis (%lld) is after end_axis (%lld)", (long long)start, (long long)end);
        return NULL;
    }
    Shape s = {0};
    for (int i = 0; i < start; i++) s.d[s.rank++] = x->shape.d[i];
    int64_t m = 1;
    for (int64_t i = start; i <= end; i++) m *= x->shape.d[i];
    s.d[s.rank++] = m;
    for (int i = (int)end + 1; i < r; i++) s.d[s.rank++] = x->shape.d[i];
    IrValue *y = reshape_ir(I, x, &s, loc);
    return y ? v_tensor(I, y) : NULL;
}

static Value *do_transpose(Interp *I, IrValue *x, int64_t *perm, int n, SrcLoc loc)
{
    int r = x->shape.rank;
    if (n != r) {
        diag_error(I->d, loc, "transpose: the pattern has %d axes but the tensor has rank %d", n, r);
        return NULL;
    }
    IrAttrs at = ir_attrs_default();
    bool seen[BCL_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) {
        int64_t p = perm[i];
        if (!norm_axis(I, &p, r, loc, "transpose")) return NULL;
        if (seen[p]) {
            diag_error(I->d, loc, "transpose: axis %lld repeated in the pattern", (long long)p);
            return NULL;
        }
        seen[p] = true;
        at.perm[i] = p;
    }
    return emit(I, IR_TRANSPOSE, &x, 1, &at, loc);
}

static Value *do_reduce(Interp *I, IrOp op, IrValue *x, Value *axis, Value *keep, SrcLoc loc, const char *what)
{
    IrAttrs at = ir_attrs_default();
    int r = x->shape.rank;
    if (!axis || axis->kind == V_NONE) {
        at.n_axes = r;
        for (int i = 0; i < r; i++) at.axes[i] = i;
    } else {
        int n = int_list(I, axis, loc, what, at.axes, BCL_MAX_RANK);
        if (n < 0) return NULL;
        at.n_axes = n;
        for (int i = 0; i < n; i++)
            if (!norm_axis(I, &at.axes[i], r, loc, what)) return NULL;
    }
    if (keep) {
        int t = truthy(I, keep, loc);
        if (t < 0) return NULL;
        at.keepdim = t;
    }
    return emit(I, op, &x, 1, &at, loc);
}

/* x[idx]: ints, slices (step > 0) and None, static; a slice node then a reshape. */
Value *tensor_index(Interp *I, Value *t, Value *idx, SrcLoc loc)
{
    IrValue *x = tensor_of(I, t, loc, "indexing");
    if (!x) return NULL;
    if (!need_trace(I, loc, "indexing")) return NULL;
    Value *one[1] = {idx};
    Value **items = one;
    int n = 1;
    if (idx->kind == V_TUPLE) { items = idx->seq->v; n = idx->seq->n; }
    int r = x->shape.rank, ax = 0;
    IrAttrs at = ir_attrs_default();
    for (int i = 0; i < r; i++) { at.begin[i] = 0; at.end[i] = x->shape.d[i]; at.step[i] = 1; }
    Shape out = {0};
    bool sliced = false;
    int n_axes_used = 0, n_ell = 0;
    for (int k = 0; k < n; k++) {
        if (items[k] == I->ellipsis) n_ell++;
        else if (items[k]->kind != V_NONE) n_axes_used++;
    }
    if (n_ell > 1) {
        diag_error(I->d, loc, "an index can only have a single ellipsis ('...')");
        return NULL;
    }
    for (int k = 0; k < n; k++) {
        Value *it = items[k];
        if (it == I->ellipsis) {
            /* ... stands for every axis the other indices do not name */
            for (int j = 0; j < r - n_axes_used && ax < r; j++, ax++) {
                if (out.rank >= BCL_MAX_RANK) goto too_many;
                out.d[out.rank++] = x->shape.d[ax];
            }
            continue;
        }
        if (it->kind == V_NONE) {
            if (out.rank >= BCL_MAX_RANK) goto too_many;
            out.d[out.rank++] = 1;
            continue;
        }
        if (ax >= r) {
            diag_error(I->d, loc, "too many indices for a tensor of rank %d", r);
            return NULL;
        }
        int64_t dim = x->shape.d[ax];
        if (is_intlike(it)) {
            int64_t i = it->kind == V_INT ? it->i : it->b;
            if (i < -dim || i >= dim) {
                diag_error(I->d, loc, "index %lld is out of range for axis %d of size %lld", (long long)i, ax, (long long)dim);
                return NULL;
            }
            if (i < 0) i += dim;
            at.begin[ax] = i;
            at.end[ax] = i + 1;
            sliced = sliced || dim != 1;
            ax++;
        } else if (it->kind == V_SLICE) {
            int64_t start, step, count;
            if (!slice_indices(I, it, dim, loc, &start, &step, &count)) return NULL;
            if (step < 0) {
                diag_error(I->d, loc, "tensor slices with a negative step are not supported");
                return NULL;
            }
            if (count == 0) {
                diag_error(I->d, loc, "this slice of axis %d is empty; empty tensors are not supported", ax);
                return NULL;
            }
            at.begin[ax] = start;
            at.end[ax] = start + (count - 1) * step + 1;
            at.step[ax] = step;
            if (count != dim) sliced = true;
            if (out.rank >= BCL_MAX_RANK) goto too_many;
            out.d[out.rank++] = count;
            ax++;
        } else {
            diag_error(I->d, loc, "tensor indices must be ints, slices or None (static), not %s", v_type_name(it));
            return NULL;
        }
    }
    for (; ax < r; ax++) {
        if (out.rank >= BCL_MAX_RANK) goto too_many;
        out.d[out.rank++] = x->shape.d[ax];
    }
    IrValue *y = x;
    if (sliced && !(y = emit_ir(I, IR_SLICE, &x, 1, &at, loc))) return NULL;
    y = reshape_ir(I, y, &out, loc);
    return y ? v_tensor(I, y) : NULL;
too_many:
    diag_error(I->d, loc, "indexing gives more than %d dimensions", BCL_MAX_RANK);
    return NULL;
}

/* ------------------------------------------------------------------ operators */

Value *tensor_binop(Interp *I, OpKind op, Value *l, Value *r, SrcLoc loc)
{
    IrOp ir;
    switch (op) {
    case OP_ADD: ir = IR_ADD; break;
    case OP_SUB: ir = IR_SUB; break;
    case OP_MUL: ir = IR_MUL; break;
    case OP_DIV: ir = IR_DIV; break;
    case OP_POW: ir = IR_POW; break;
    case OP_MATMUL: ir = IR_MATMUL; break;
    default:
        diag_error(I->d, loc, "operator '%s' is not supported on tensors", op_text(op));
        return NULL;
    }
    if (!need_trace(I, loc, op_text(op))) return NULL;
    IrValue *in[2];
    if (!(in[0] = tensor_of(I, l, loc, op_text(op))) || !(in[1] = tensor_of(I, r, loc, op_text(op)))) return NULL;
    return emit(I, ir, in, 2, NULL, loc);
}

Value *tensor_neg(Interp *I, Value *t, SrcLoc loc)
{
    if (!need_trace(I, loc, "-")) return NULL;
    IrValue *x = tensor_of(I, t, loc, "-");
    return x ? emit(I, IR_NEG, &x, 1, NULL, loc) : NULL;
}

/* ------------------------------------------------------------------ tensor methods */

static Value *tm_reshape(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    int64_t dims[BCL_MAX_RANK + 1];
    int n;
    if (a->n_kw) {
        diag_error(I->d, loc, "reshape() takes no keyword arguments");
        return NULL;
    }
    if (a->n_pos == 1 && (a->pos[0]->kind == V_TUPLE || a->pos[0]->kind == V_LIST)) {
        n = int_list(I, a->pos[0], loc, "reshape", dims, BCL_MAX_RANK);
        if (n < 0) return NULL;
    } else {
        if (a->n_pos > BCL_MAX_RANK) {
            diag_error(I->d, loc, "reshape: at most %d dimensions are supported", BCL_MAX_RANK);
            return NULL;
        }
        n = a->n_pos;
        for (int i = 0; i < n; i++)
            if (!as_int(I, a->pos[i], loc, "reshape dimension", &dims[i])) return NULL;
    }
    return do_reshape(I, self->tensor, dims, n, loc);
}

static Value *tm_flatten(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("start_axis", "end_axis");
    BIND("flatten", 0);
    int64_t s = 0, e = -1;
    if (av[0] && !as_int(I, av[0], loc, "start_axis", &s)) return NULL;
    if (av[1] && !as_int(I, av[1], loc, "end_axis", &e)) return NULL;
    return do_flatten(I, self->tensor, s, e, loc);
}

static Value *tm_transpose(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    int64_t perm[BCL_MAX_RANK];
    int n;
    if (a->n_pos == 1 && (a->pos[0]->kind == V_TUPLE || a->pos[0]->kind == V_LIST)) {
        if ((n = int_list(I, a->pos[0], loc, "transpose", perm, BCL_MAX_RANK)) < 0) return NULL;
    } else if (a->n_pos == 0 && !a->n_kw) {
        n = self->tensor->shape.rank;  /* reverse the axes, as NumPy */
        for (int i = 0; i < n; i++) perm[i] = n - 1 - i;
    } else {
        if (a->n_pos > BCL_MAX_RANK || a->n_kw) {
            diag_error(I->d, loc, "transpose: bad arguments");
            return NULL;
        }
        n = a->n_pos;
        for (int i = 0; i < n; i++)
            if (!as_int(I, a->pos[i], loc, "transpose axis", &perm[i])) return NULL;
    }
    return do_transpose(I, self->tensor, perm, n, loc);
}

static Value *tm_reduce(Interp *I, Value *self, CallArgs *a, SrcLoc loc, IrOp op, const char *f)
{
    ARGS("axis", "keepdims");
    BIND(f, 0);
    return do_reduce(I, op, self->tensor, av[0], av[1], loc, f);
}
static Value *tm_mean(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return tm_reduce(I, s, a, l, IR_REDUCE_MEAN, "mean"); }
static Value *tm_sum(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return tm_reduce(I, s, a, l, IR_REDUCE_SUM, "sum"); }
static Value *tm_max(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return tm_reduce(I, s, a, l, IR_REDUCE_MAX, "max"); }
static Value *tm_min(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return tm_reduce(I, s, a, l, IR_REDUCE_MIN, "min"); }

static Value *tm_dimshuffle(Interp *I, Value *self, CallArgs *a, SrcLoc loc) { return tm_transpose(I, self, a, loc); }

Value *tensor_attr(Interp *I, Value *t, const char *name, SrcLoc loc)
{
    IrValue *x = t->tensor;
    if (!strcmp(name, "shape")) return shape_tuple(I, &x->shape);
    if (!strcmp(name, "ndim")) return v_int(I, x->shape.rank);
    if (!strcmp(name, "size")) return v_int(I, shape_numel(&x->shape));
    if (!strcmp(name, "dtype")) return v_str(I, "float32");
    static const struct { const char *name; NativeFn fn; } ms[] = {
        {"reshape", tm_reshape}, {"flatten", tm_flatten}, {"transpose", tm_transpose},
        {"dimshuffle", tm_dimshuffle}, {"mean", tm_mean}, {"sum", tm_sum}, {"max", tm_max}, {"min", tm_min},
    };
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
        if (!strcmp(ms[i].name, name)) return v_builtin(I, ms[i].name, ms[i].fn, t);
    if (loc.src || !loc.line) {
        if (loc.src) diag_error(I->d, loc, "'Tensor' object has no attribute '%s' in .bcl", name);
    }
    return NULL;
}

/* ------------------------------------------------------------------ megengine.functional */

#define FIRST_TENSOR(what) \
    if (!need_trace(I, loc, what)) return NULL; \
    IrValue *x = tensor_of(I, av[0], loc, what); \
    if (!x) return NULL

static Value *unary(Interp *I, CallArgs *a, SrcLoc loc, IrOp op, const char *f)
{
    ARGS("inp");
    BIND(f, 1);
    FIRST_TENSOR(f);
    return emit(I, op, &x, 1, NULL, loc);
}
#define UNARY(NAME, OP) \
    static Value *F_##NAME(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return unary(I, a, l, OP, #NAME); }
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
static Value *unary_alpha(Interp *I, CallArgs *a, SrcLoc loc, IrOp op, const char *f, const char *pname,
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

static Value *F_leaky_relu(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
{
    return unary_alpha(I, a, loc, IR_LEAKY_RELU, "leaky_relu", "negative_slope", 0.01);
}

static Value *F_elu(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
{
    return unary_alpha(I, a, loc, IR_ELU, "elu", "alpha", 1.0);
}

static Value *binary(Interp *I, CallArgs *a, SrcLoc loc, OpKind op, IrOp ir, const char *f)
{
    ARGS("x", "y");
    BIND(f, 2);
    if (ir == IR_MAXIMUM || ir == IR_MINIMUM) {
        if (!need_trace(I, loc, f)) return NULL;
        IrValue *in[2];
        if (!(in[0] = tensor_of(I, av[0], loc, f)) || !(in[1] = tensor_of(I, av[1], loc, f))) return NULL;
        return emit(I, ir, in, 2, NULL, loc);
    }
    return tensor_binop(I, op, av[0], av[1], loc);
}
static Value *F_add(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_ADD, IR_ADD, "add"); }
static Value *F_sub(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_SUB, IR_SUB, "sub"); }
static Value *F_mul(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_MUL, IR_MUL, "mul"); }
static Value *F_div(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_DIV, IR_DIV, "div"); }
static Value *F_pow(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_POW, IR_POW, "pow"); }
static Value *F_maximum(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_ADD, IR_MAXIMUM, "maximum"); }
static Value *F_minimum(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return binary(I, a, l, OP_ADD, IR_MINIMUM, "minimum"); }

static Value *F_softmax(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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

static Value *F_flatten(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "start_axis", "end_axis");
    BIND("flatten", 1);
    FIRST_TENSOR("flatten");
    int64_t st = 0, e = -1;
    if (OPT(1) && !as_int(I, av[1], loc, "start_axis", &st)) return NULL;
    if (OPT(2) && !as_int(I, av[2], loc, "end_axis", &e)) return NULL;
    return do_flatten(I, x, st, e, loc);
}

static Value *F_reshape(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "target_shape");
    BIND("reshape", 2);
    FIRST_TENSOR("reshape");
    int64_t dims[BCL_MAX_RANK];
    int n = int_list(I, av[1], loc, "target_shape", dims, BCL_MAX_RANK);
    return n < 0 ? NULL : do_reshape(I, x, dims, n, loc);
}

static Value *F_transpose(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "pattern");
    BIND("transpose", 2);
    FIRST_TENSOR("transpose");
    int64_t perm[BCL_MAX_RANK];
    int n = int_list(I, av[1], loc, "pattern", perm, BCL_MAX_RANK);
    return n < 0 ? NULL : do_transpose(I, x, perm, n, loc);
}

static Value *reduce_fn(Interp *I, CallArgs *a, SrcLoc loc, IrOp op, const char *f)
{
    ARGS("inp", "axis", "keepdims");
    BIND(f, 1);
    FIRST_TENSOR(f);
    return do_reduce(I, op, x, av[1], av[2], loc, f);
}
static Value *F_mean(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, IR_REDUCE_MEAN, "mean"); }
static Value *F_sum(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, IR_REDUCE_SUM, "sum"); }
static Value *F_max(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, IR_REDUCE_MAX, "max"); }
static Value *F_min(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, IR_REDUCE_MIN, "min"); }

static IrValue **tensor_seq(Interp *I, Value *v, SrcLoc loc, const char *f, int *n)
{
    if (v->kind != V_LIST && v->kind != V_TUPLE) {
        diag_error(I->d, loc, "%s: expected a list or tuple of tensors, got %s", f, v_type_name(v));
        return NULL;
    }
    if (v->seq->n == 0 || v->seq->n > 64) {
        diag_error(I->d, loc, "%s: expected 1 to 64 tensors, got %d", f, v->seq->n);
        return NULL;
    }
    IrValue **xs = ARENA_NEWN(I->a, IrValue *, v->seq->n);
    for (int i = 0; i < v->seq->n; i++)
        if (!(xs[i] = tensor_of(I, v->seq->v[i], loc, f))) return NULL;
    *n = v->seq->n;
    return xs;
}

static Value *F_concat(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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
    if (n == 1) return v_tensor(I, xs[0]);
    return emit(I, IR_CONCAT, xs, n, &at, loc);
}

static Value *F_stack(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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
    if (n == 1) return v_tensor(I, xs[0]);
    IrAttrs at = ir_attrs_default();
    at.axis = ax;
    return emit(I, IR_CONCAT, xs, n, &at, loc);
}

/* MegEngine's F.repeat(inp, repeats, axis=None): each element `repeats` times along axis
 * (the flattened input when axis is None). There is no repeat op: a unit axis is added
 * after `axis`, `repeats` copies are concatenated along it, and the two axes merged. */
static Value *F_repeat(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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

static IrValue *slice_axis(Interp *I, IrValue *x, int ax, int64_t b, int64_t e, SrcLoc loc)
{
    if (b == 0 && e == x->shape.d[ax]) return x;
    IrAttrs at = ir_attrs_default();
    for (int i = 0; i < x->shape.rank; i++) { at.begin[i] = 0; at.end[i] = x->shape.d[i]; at.step[i] = 1; }
    at.begin[ax] = b;
    at.end[ax] = e;
    return emit_ir(I, IR_SLICE, &x, 1, &at, loc);
}

static Value *F_split(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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

static IrValue *per_channel(Interp *I, IrValue *v, SrcLoc loc)
{
    /* MegEngine keeps (1, C, 1, 1) tensors; the IR takes [C] */
    if (v->shape.rank == 1) return v;
    Shape s = {.rank = 1, .d = {shape_numel(&v->shape)}};
    return reshape_ir(I, v, &s, loc);
}

static Value *F_conv2d(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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

static Value *F_linear(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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

static IrValue *swap_last(Interp *I, IrValue *x, SrcLoc loc)
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

static Value *F_matmul(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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

static IrValue *const_fill(Interp *I, int64_t c, float v)
{
    Shape s = {.rank = 1, .d = {c}};
    float *data = ARENA_NEWN(I->a, float, c > 0 ? c : 1);
    for (int64_t i = 0; i < c; i++) data[i] = v;
    return ir_add_const(I->g, &s, data);
}

static Value *F_batch_norm(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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

static Value *F_layer_norm(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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

static Value *pool(Interp *I, CallArgs *a, SrcLoc loc, bool is_max)
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
static Value *F_max_pool2d(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return pool(I, a, l, true); }
static Value *F_avg_pool2d(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return pool(I, a, l, false); }

static Value *adaptive(Interp *I, CallArgs *a, SrcLoc loc, bool is_max)
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
static Value *F_adaptive_avg_pool2d(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return adaptive(I, a, l, false); }
static Value *F_adaptive_max_pool2d(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return adaptive(I, a, l, true); }

static Value *F_dropout(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("inp", "drop_prob", "training");
    BIND("dropout", 1);
    FIRST_TENSOR("dropout");
    return emit(I, IR_DROPOUT, &x, 1, NULL, loc);
}

static Value *F_pad(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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

static Value *F_interpolate(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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

static Value *F_roll(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
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
static Value *filled(Interp *I, CallArgs *a, SrcLoc loc, const char *f, int kind)
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
static Value *F_zeros(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return filled(I, a, l, "zeros", 0); }
static Value *F_ones(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return filled(I, a, l, "ones", 1); }
static Value *F_full(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return filled(I, a, l, "full", 2); }

Value *native_functional(Interp *I)
{
    Value *ns = new_namespace(I, "megengine.functional");
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
    };
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) ns_add(I, ns, fs[i].name, fs[i].fn);
    /* MegEngine's sub-namespaces alias the same primitives */
    env_set(I, ns->ns->env, "nn", ns);
    Value *vision = new_namespace(I, "megengine.functional.vision");
    ns_add(I, vision, "interpolate", F_interpolate);
    env_set(I, ns->ns->env, "vision", vision);
    return ns;
}

/* ------------------------------------------------------------------ megengine, _bcl */

/* mge.Parameter(F.ones(shape)): a new parameter with that shape and initialiser */
static Value *c_parameter(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    static const char *const names[] = {"data", "dtype", "device", "is_const", "no_cache", "name"};
    Value *av[6];
    if (!bind_native(I, "Parameter", a, loc, names, 6, 1, av)) return NULL;
    if (av[0]->kind != V_PARAM || I->tracing) {
        diag_error(I->d, loc, "mge.Parameter(...) takes F.zeros(shape) or F.ones(shape) in __init__; "
                              "creating tensors from data is not supported in .bcl");
        return NULL;
    }
    Value *r = ARENA_NEW(I->a, Value);
    r->kind = V_PARAM;
    r->param = ARENA_NEW(I->a, ParamObj);
    *r->param = *av[0]->param;
    r->param->buffer = false;
    r->param->ir = NULL;
    return r;
}

static Value *c_tensor(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    diag_error(I->d, loc, "creating tensors from data (mge.Tensor(...)) is not supported in .bcl");
    return NULL;
}

Value *native_megengine(Interp *I)
{
    Value *ns = new_namespace(I, "megengine");
    Value *t = ARENA_NEW(I->a, Value);
    t->kind = V_CLASS;
    t->cls = native_class(I, "Tensor", TK_TENSOR, c_tensor);
    I->tensor_cls = t->cls;
    env_set(I, ns->ns->env, "Tensor", t);
    Value *p = ARENA_NEW(I->a, Value);
    p->kind = V_CLASS;
    p->cls = native_class(I, "Parameter", TK_PARAM, c_parameter);
    env_set(I, ns->ns->env, "Parameter", p);
    return ns;
}

static Value *new_param(Interp *I, CallArgs *a, SrcLoc loc, bool buffer)
{
    ARGS("shape", "init");
    const char *f = buffer ? "_bcl.buffer" : "_bcl.param";
    BIND(f, 1);
    ParamObj *p = ARENA_NEW(I->a, ParamObj);
    int64_t dims[BCL_MAX_RANK];
    int n = int_list(I, av[0], loc, "shape", dims, BCL_MAX_RANK);
    if (n < 0) return NULL;
    p->shape.rank = n;
    for (int i = 0; i < n; i++) {
        if (dims[i] <= 0) {
            diag_error(I->d, loc, "%s: dimension %d of the shape is %lld; dimensions must be positive", f, i, (long long)dims[i]);
            return NULL;
        }
        p->shape.d[i] = dims[i];
    }
    p->init = INIT_ZEROS;
    if (av[1]) {
        static const char *const inits[] = {"zeros", "ones", "fan_in", "var"};
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (v_is_str(av[1], inits[i])) k = i;
        if (k < 0) {
            diag_error(I->d, loc, "%s: unknown init %s (expected 'zeros', 'ones', 'fan_in' or 'var')", f, v_repr(I, av[1]));
            return NULL;
        }
        p->init = (IrInit)k;
    }
    p->buffer = buffer;
    p->born_in_forward = I->tracing;
    p->loc = loc_in_stdlib(loc) && I->user_loc.src ? I->user_loc : loc;  /* the user's M.Conv2d(...) */
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_PARAM;
    v->param = p;
    return v;
}
static Value *b_param(Interp *I, Value *s, CallArgs *a, SrcLoc loc) { return new_param(I, a, loc, false); }
static Value *b_buffer(Interp *I, Value *s, CallArgs *a, SrcLoc loc) { return new_param(I, a, loc, true); }

static Value *b_accepts(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("fn", "argname", "kwargs");
    BIND("_bcl.accepts", 2);
    if (av[1]->kind != V_STR) {
        diag_error(I->d, loc, "_bcl.accepts: the argument name must be a string");
        return NULL;
    }
    int via_kwargs = av[2] ? truthy(I, av[2], loc) : 1;
    if (via_kwargs < 0) return NULL;
    return v_bool(func_accepts(av[0], av[1]->str.s, via_kwargs));
}

static Value *b_has_kwargs(Interp *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("fn");
    BIND("_bcl.has_kwargs", 1);
    return v_bool(func_has_kwargs(av[0]));
}

/* MegEngine's Module.__init__(self, name=None): the name is checked and not kept
 * (parameter names come from the attribute tree). Other arguments are errors, so that
 * a class without its own __init__ does not silently swallow them. */
static Value *module_init(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("name");
    /* reached directly by MyMod(...) when the class has no __init__ of its own, else by super() */
    const char *fname = "Module.__init__";
    if (self && self->kind == V_OBJECT) {
        Value *own = class_lookup(self->obj->cls, "__init__");
        if (own && own->kind == V_BUILTIN) fname = self->obj->cls->name;
    }
    BIND(fname, 0);
    if (OPT(0) && av[0]->kind != V_STR) {
        diag_error(I->d, loc, "%s(): name must be a string or None, not %s", fname, v_type_name(av[0]));
        return NULL;
    }
    return V_NONE_;
}

static bool is_module_value(Value *v) { return v->kind == V_OBJECT && v->obj->cls->is_module; }

/* Children in attribute order, including modules inside list/tuple/dict attributes. */
static Value *module_named_children(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *l = v_list(I, 0);
    if (!self || self->kind != V_OBJECT) return l;
    Dict *d = &self->obj->attrs;
    for (int i = 0; i < d->n; i++) {
        Value *v = d->e[i].val;
        const char *k = d->e[i].key->str.s;
        Value *pairs[64];
        const char *keys[64];
        int np = 0;
        if (is_module_value(v)) { pairs[np] = v; keys[np++] = k; }
        else if (v->kind == V_LIST || v->kind == V_TUPLE) {
            for (int j = 0; j < v->seq->n && np < 64; j++)
                if (is_module_value(v->seq->v[j])) { pairs[np] = v->seq->v[j]; keys[np++] = arena_printf(I->a, "%s.%d", k, j); }
        } else if (v->kind == V_DICT) {
            for (int j = 0; j < v->dict->n && np < 64; j++)
                if (is_module_value(v->dict->e[j].val)) {
                    pairs[np] = v->dict->e[j].val;
                    keys[np++] = arena_printf(I->a, "%s.%s", k, v_to_str(I, v->dict->e[j].key));
                }
        }
        for (int j = 0; j < np; j++) {
            Value *t = v_tuple(I, 2);
            t->seq->v[0] = v_str(I, keys[j]);
            t->seq->v[1] = pairs[j];
            seq_push(I, l->seq, t);
        }
    }
    return l;
}

static Value *module_children(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *nc = module_named_children(I, self, a, loc);
    for (int i = 0; i < nc->seq->n; i++) nc->seq->v[i] = nc->seq->v[i]->seq->v[1];
    return nc;
}

/* modules(): self, then every descendant once, depth first, as MegEngine walks them */
static void collect_modules(Interp *I, Value *v, const char *prefix, Value *out, int depth, bool named)
{
    if (depth > 64) return;
    if (is_module_value(v)) {
        for (int i = 0; i < out->seq->n; i++) {
            Value *e = named ? out->seq->v[i]->seq->v[1] : out->seq->v[i];
            if (e->obj == v->obj) return;
        }
        if (named) {
            Value *t = v_tuple(I, 2);
            t->seq->v[0] = v_str(I, prefix);
            t->seq->v[1] = v;
            seq_push(I, out->seq, t);
        } else {
            seq_push(I, out->seq, v);
        }
        Dict *d = &v->obj->attrs;
        for (int i = 0; i < d->n; i++)
            collect_modules(I, d->e[i].val, *prefix ? arena_printf(I->a, "%s.%s", prefix, d->e[i].key->str.s) : d->e[i].key->str.s,
                            out, depth + 1, named);
    } else if (v->kind == V_LIST || v->kind == V_TUPLE) {
        for (int j = 0; j < v->seq->n; j++)
            collect_modules(I, v->seq->v[j], arena_printf(I->a, "%s.%d", prefix, j), out, depth + 1, named);
    } else if (v->kind == V_DICT) {
        for (int j = 0; j < v->dict->n; j++)
            collect_modules(I, v->dict->e[j].val, arena_printf(I->a, "%s.%s", prefix, v_to_str(I, v->dict->e[j].key)), out,
                            depth + 1, named);
    }
}

static Value *module_modules(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *l = v_list(I, 0);
    if (self) collect_modules(I, self, "", l, 0, false);
    return l;
}

static Value *module_named_modules(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *l = v_list(I, 0);
    if (self) collect_modules(I, self, "", l, 0, true);
    return l;
}

/* parameters(): every parameter (not buffer) of the module and its descendants */
static Value *module_params(Interp *I, Value *self, CallArgs *a, SrcLoc loc, bool named)
{
    Value *mods = v_list(I, 0);
    Value *out = v_list(I, 0);
    if (!self) return out;
    collect_modules(I, self, "", mods, 0, true);
    for (int m = 0; m < mods->seq->n; m++) {
        const char *pfx = mods->seq->v[m]->seq->v[0]->str.s;
        Dict *d = &mods->seq->v[m]->seq->v[1]->obj->attrs;
        for (int i = 0; i < d->n; i++) {
            Value *v = d->e[i].val;
            if (v->kind != V_PARAM || v->param->buffer) continue;
            bool seen = false;
            for (int k = 0; k < out->seq->n && !seen; k++) {
                Value *o = named ? out->seq->v[k]->seq->v[1] : out->seq->v[k];
                seen = o->param == v->param;
            }
            if (seen) continue;
            if (named) {
                Value *t = v_tuple(I, 2);
                t->seq->v[0] = v_str(I, *pfx ? arena_printf(I->a, "%s.%s", pfx, d->e[i].key->str.s) : d->e[i].key->str.s);
                t->seq->v[1] = v;
                seq_push(I, out->seq, t);
            } else {
                seq_push(I, out->seq, v);
            }
        }
    }
    return out;
}
static Value *module_parameters(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return module_params(I, s, a, l, false); }
static Value *module_named_parameters(Interp *I, Value *s, CallArgs *a, SrcLoc l) { return module_params(I, s, a, l, true); }

/* Post-order (children before their parent), each module once: apply()'s order. */
static void post_order(Interp *I, Value *v, Value *out, int depth)
{
    if (depth > 64) return;
    if (is_module_value(v)) {
        for (int i = 0; i < out->seq->n; i++)
            if (out->seq->v[i]->obj == v->obj) return;
        Dict *d = &v->obj->attrs;
        for (int i = 0; i < d->n; i++) post_order(I, d->e[i].val, out, depth + 1);
        for (int i = 0; i < out->seq->n; i++)  /* a cycle through an attribute */
            if (out->seq->v[i]->obj == v->obj) return;
        seq_push(I, out->seq, v);
    } else if (v->kind == V_LIST || v->kind == V_TUPLE) {
        for (int j = 0; j < v->seq->n; j++) post_order(I, v->seq->v[j], out, depth + 1);
    } else if (v->kind == V_DICT) {
        for (int j = 0; j < v->dict->n; j++) post_order(I, v->dict->e[j].val, out, depth + 1);
    }
}

/* apply(fn): fn(m) for every module, children first, as MegEngine and PyTorch do; returns self */
static Value *module_apply(Interp *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (a->n_pos != 1 || a->n_kw) {
        diag_error(I->d, loc, "apply() takes one function");
        return NULL;
    }
    Value *mods = v_list(I, 0);
    if (self) post_order(I, self, mods, 0);
    for (int i = 0; i < mods->seq->n; i++)
        if (!call1(I, a->pos[0], mods->seq->v[i], loc)) return NULL;
    return self;
}

Value *native_bcl(Interp *I)
{
    Value *ns = new_namespace(I, "_bcl");
    Value *m = ARENA_NEW(I->a, Value);
    m->kind = V_CLASS;
    m->cls = native_class(I, "Module", TK_NONE, NULL);
    m->cls->is_module = true;
    dict_set_str(I, &m->cls->attrs, "__init__", v_builtin(I, "__init__", module_init, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "children", v_builtin(I, "children", module_children, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "named_children", v_builtin(I, "named_children", module_named_children, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "modules", v_builtin(I, "modules", module_modules, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "named_modules", v_builtin(I, "named_modules", module_named_modules, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "parameters", v_builtin(I, "parameters", module_parameters, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "named_parameters", v_builtin(I, "named_parameters", module_named_parameters, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "apply", v_builtin(I, "apply", module_apply, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "training", v_bool(false), NO_LOC);  /* bclc compiles inference graphs */
    I->module_cls = m->cls;
    env_set(I, ns->ns->env, "Module", m);
    ns_add(I, ns, "param", b_param);
    ns_add(I, ns, "buffer", b_buffer);
    ns_add(I, ns, "accepts", b_accepts);
    ns_add(I, ns, "has_kwargs", b_has_kwargs);
    return ns;
}
