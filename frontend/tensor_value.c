/* The Tensor value type: conversions between Python values and IR values, shape
 * helpers shared by megengine.functional, indexing, operators, and tensor methods. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/native_args.h"
#include "frontend/tensor_value.h"
#include "frontend/ndarray.h"

/* ------------------------------------------------------------------ conversions */

IrValue *tensor_of(Elab *I, Value *v, SrcLoc loc, const char *what)
{
    if (v->kind == V_TENSOR) return v->tensor;
    if (v->kind == V_NDARRAY && I->tracing && I->g) {  /* a compile-time array used in forward: a constant */
        NdArray *a = v->nd;
        Shape sh = {.rank = a->rank};
        for (int i = 0; i < a->rank; i++) sh.d[i] = a->dims[i];
        float *data = ARENA_NEWN(I->a, float, a->n > 0 ? a->n : 1);
        for (int64_t k = 0; k < a->n; k++) data[k] = (float)a->v[k];
        IrValue *c = ir_add_const(I->g, &sh, data);
        if (c) c->dtype = nd_ir_dtype(a->dt);
        return c;
    }
    if (v->kind == V_PARAM) {
        if (v->param->ir) return v->param->ir;
        if (!I->tracing) {
            param_at_compile_time(I, v, loc, what);
            return NULL;
        }
        if (v->param->born_in_forward) {
            diag_error(I->d, loc, "%s: this parameter was created in forward; create parameters (and the modules that hold them) in __init__", what);
            return NULL;
        }
        diag_error(I->d, loc, "%s: this parameter is not part of the model (it is not an attribute of a module in the tree)", what);
        return NULL;
    }
    if (I->tracing && I->g && (v->kind == V_INT || v->kind == V_FLOAT || v->kind == V_BOOL)) {
        IrValue *c = ir_const_scalar(I->g, v->kind == V_FLOAT ? (float)v->f : (float)(v->kind == V_INT ? v->i : v->b));
        /* a Python number takes part in dtype promotion as its kind: int_t + 1 stays int */
        if (c) c->dtype = v->kind == V_FLOAT ? IR_DT_F32 : v->kind == V_INT ? IR_DT_I32 : IR_DT_BOOL;
        return c;
    }
    if (!I->tracing)
        diag_error(I->d, loc, "%s: tensor operations are only allowed in forward (got %s)", what, v_type_name(v));
    else
        diag_error(I->d, loc, "%s: expected a tensor, got %s", what, v_type_name(v));
    return NULL;
}

/* Arithmetic on ints (or bools) stays int, anything with a float is float (MegEngine's
 * promotion, without its int widths). */
static uint8_t promote(uint8_t a, uint8_t b) { return a == IR_DT_F32 || b == IR_DT_F32 ? IR_DT_F32 : IR_DT_I32; }

/* The dtype the program sees for op's result (IrValue.dtype): masks from comparisons
 * and logic, the source's from data movement and gathers, promotion for arithmetic. */
static uint8_t result_dtype(IrOp op, IrValue **in, int n)
{
    switch (op) {
    case IR_EQUAL: case IR_NOT_EQUAL: case IR_LESS: case IR_LESS_EQUAL: case IR_GREATER: case IR_GREATER_EQUAL:
    case IR_LOGICAL_AND: case IR_LOGICAL_OR: case IR_LOGICAL_XOR: case IR_LOGICAL_NOT:
        return IR_DT_BOOL;
    case IR_TRUNC:
        return IR_DT_I32;
    case IR_RESHAPE: case IR_TRANSPOSE: case IR_SLICE: case IR_PAD: case IR_ROLL: case IR_UPSAMPLE_NEAREST:
    case IR_TAKE: case IR_GATHER: case IR_IDENTITY: case IR_DROPOUT: case IR_REDUCE_MAX: case IR_REDUCE_MIN:
        return in[0]->dtype;
    case IR_CONCAT: {
        uint8_t t = in[0]->dtype;
        for (int i = 1; i < n; i++)
            if (in[i]->dtype != t) t = promote(t, in[i]->dtype);
        return t;
    }
    case IR_WHERE:
        return in[1]->dtype == in[2]->dtype ? in[1]->dtype : promote(in[1]->dtype, in[2]->dtype);
    case IR_ADD: case IR_SUB: case IR_MUL: case IR_MAXIMUM: case IR_MINIMUM:
        return promote(in[0]->dtype, in[1]->dtype);
    case IR_NEG: case IR_REDUCE_SUM:
        return promote(in[0]->dtype, in[0]->dtype);
    default:
        return IR_DT_F32;
    }
}

Value *emit(Elab *I, IrOp op, IrValue **in, int n, const IrAttrs *at, SrcLoc loc)
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
    if (r) r->dtype = result_dtype(op, in, n);
    return r ? v_tensor(I, r) : NULL;
}

IrValue *emit_ir(Elab *I, IrOp op, IrValue **in, int n, const IrAttrs *at, SrcLoc loc)
{
    Value *v = emit(I, op, in, n, at, loc);
    return v ? v->tensor : NULL;
}

IrValue *reshape_ir(Elab *I, IrValue *x, const Shape *s, SrcLoc loc)
{
    if (shape_eq(&x->shape, s)) return x;
    IrAttrs at = ir_attrs_default();
    at.shape = *s;
    return emit_ir(I, IR_RESHAPE, &x, 1, &at, loc);
}

/* An int, or a tuple/list of n ints. */
bool int_tuple(Elab *I, Value *v, int n, SrcLoc loc, const char *what, int64_t *out)
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
int int_list(Elab *I, Value *v, SrcLoc loc, const char *what, int64_t *out, int max)
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

bool norm_axis(Elab *I, int64_t *ax, int rank, SrcLoc loc, const char *what)
{
    if (*ax < -rank || *ax >= rank) {
        diag_error(I->d, loc, "%s: axis %lld is out of range for a tensor of rank %d", what, (long long)*ax, rank);
        return false;
    }
    if (*ax < 0) *ax += rank;
    return true;
}

void param_at_compile_time(Elab *I, Value *v, SrcLoc loc, const char *what)
{
    /* RepVGG's convert_to_deploy fuses trained weights this way */
    diag_error(I->d, loc, "%s: a %s's values are not known at compile time (bclc binds the weights after the model "
               "is built), so a constructor or builder cannot compute with them; convert trained weights before "
               "loading them (RepVGG's convert_to_deploy: build the model with deploy=True and give a checkpoint of "
               "the fused weights)", what, v->param->buffer ? "buffer" : "parameter");
}

bool need_trace(Elab *I, SrcLoc loc, const char *what)
{
    if (I->tracing && I->g) return true;
    diag_error(I->d, loc, "%s: tensor operations are only allowed in forward", what);
    return false;
}

Value *shape_tuple(Elab *I, const Shape *s)
{
    Value *t = v_tuple(I, s->rank);
    for (int i = 0; i < s->rank; i++) t->seq->v[i] = v_int(I, s->d[i]);
    return t;
}

/* ------------------------------------------------------------------ shape ops */

Value *do_reshape(Elab *I, IrValue *x, int64_t *dims, int n, SrcLoc loc)
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
        } else if (__builtin_mul_overflow(known, dims[i], &known) || known > BCL_MAX_TENSOR_ELEMS) {
            s.d[i] = dims[i];
            s.rank = i + 1;
            diag_error(I->d, loc, "reshape: the shape %s... has more than %lld elements", shape_str(&s, buf, sizeof buf),
                       (long long)BCL_MAX_TENSOR_ELEMS);
            return NULL;
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

Value *do_flatten(Elab *I, IrValue *x, int64_t start, int64_t end, SrcLoc loc)
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

Value *do_transpose(Elab *I, IrValue *x, int64_t *perm, int n, SrcLoc loc)
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

Value *do_reduce(Elab *I, IrOp op, IrValue *x, Value *axis, Value *keep, SrcLoc loc, const char *what)
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

/* The IR value of a tensor used as an index: integers only (MegEngine, NumPy and
 * PyTorch reject float indices); a bool mask would select a data-dependent number of
 * elements, which static shapes cannot hold. */
static IrValue *index_tensor(Elab *I, Value *idx, SrcLoc loc)
{
    IrValue *t = tensor_of(I, idx, loc, "indexing");
    if (!t) return NULL;
    if (t->dtype == IR_DT_BOOL) {
        diag_error(I->d, loc, "indexing with a bool mask gives a shape that depends on the data, which a compiled "
                              "model cannot have; use F.where(mask, x, y) to select elementwise");
        return NULL;
    }
    if (t->dtype != IR_DT_I32) {
        diag_error(I->d, loc, "a tensor used as an index must hold integers, not %s; convert it with "
                              ".astype(\"int32\")", ir_dtype_name(t->dtype));
        return NULL;
    }
    return t;
}

/* The static part of x[items] whose items at..at+m-1 are tensors: x indexed with full
 * slices in their places; *axis is the result axis where the first of them now is
 * (NumPy's place for adjacent advanced indices). */
static Value *index_static_items(Elab *I, Value *tv, IrValue *x, Value **items, int n, int at, int m, int *axis,
                                 SrcLoc loc)
{
    Value *rest = v_tuple(I, n);
    Value *full = ARENA_NEW(I->a, Value);
    full->kind = V_SLICE;
    full->slice.lo = full->slice.hi = full->slice.step = V_NONE_;
    int n_axes_used = 0;
    for (int k = 0; k < n; k++) {
        rest->seq->v[k] = k >= at && k < at + m ? full : items[k];
        if (items[k] != I->ellipsis && items[k]->kind != V_NONE) n_axes_used++;
    }
    *axis = 0;
    for (int k = 0; k < at; k++) {   /* result axes the items before the tensors make */
        if (items[k] == I->ellipsis) *axis += x->shape.rank - n_axes_used;
        else if (!is_intlike(items[k])) (*axis)++;   /* a slice keeps its axis, None adds one */
    }
    return tensor_index(I, tv, rest, loc);
}

/* x[..., t, ...] with one integer tensor t among ints, slices, None and `...`: the
 * static items first (t's place held by a full slice), then take along the axis t's
 * place became, where NumPy puts t's dims (one advanced index). */
static Value *index_with_tensor(Elab *I, Value *tv, IrValue *x, Value **items, int n, int at, SrcLoc loc)
{
    IrValue *idx = index_tensor(I, items[at], loc);
    if (!idx) return NULL;
    /* x[0, :, t]: NumPy puts t's dims first (its int and tensor indices are apart),
     * PyTorch in place; an int next to t (x[:, 0, t]) agrees in both */
    for (int k = 0; k < n; k++) {
        if (!is_intlike(items[k])) continue;
        int lo = k < at ? k : at, hi = k < at ? at : k;
        for (int j = lo + 1; j < hi; j++)
            if (!is_intlike(items[j])) {
                diag_error(I->d, loc, "an int index and a tensor index separated by a slice order the result "
                                      "differently in NumPy and PyTorch; index in two steps, e.g. x[0][:, t]");
                return NULL;
            }
    }
    int axis;
    Value *y = index_static_items(I, tv, x, items, n, at, 1, &axis, loc);
    if (!y) return NULL;
    IrValue *in[2] = {y->tensor, idx};
    IrAttrs a = ir_attrs_default();
    a.axis = axis;
    return emit(I, IR_TAKE, in, 2, &a, loc);
}

/* An int32-typed scalar constant (an index's arithmetic stays int). */
static IrValue *int_const(Elab *I, int64_t v)
{
    IrValue *c = ir_const_scalar(I->g, (float)v);
    if (c) c->dtype = IR_DT_I32;
    return c;
}

static IrValue *bin_ir(Elab *I, IrOp op, IrValue *a, IrValue *b, SrcLoc loc)
{
    if (!a || !b) return NULL;
    IrValue *in[2] = {a, b};
    return emit_ir(I, op, in, 2, NULL, loc);
}

/* x[..., i, j, ...] with m > 1 adjacent integer tensor indices: NumPy's (and
 * MegEngine's) rule for adjacent advanced indices, their broadcast shape in place of
 * the axes they index. The static items first (full slices in the tensors' places),
 * the indexed axes merged into one, then a take by the linear index i * d1 + j; a
 * component out of its axis's range makes the linear index out of range, so that the
 * take reports it at run time, located here. */
static Value *index_with_tensors(Elab *I, Value *tv, IrValue *x, Value **items, int n, int at, int m, SrcLoc loc)
{
    for (int k = 0; k < n; k++)
        if (is_intlike(items[k])) {
            diag_error(I->d, loc, "an int index together with several tensor indices is not supported; index in "
                                  "two steps, e.g. x[0][i, j]");
            return NULL;
        }
    int axis;
    Value *y = index_static_items(I, tv, x, items, n, at, m, &axis, loc);
    if (!y) return NULL;
    IrValue *yv = y->tensor;
    if (axis + m > yv->shape.rank) {
        diag_error(I->d, loc, "too many indices for a tensor of rank %d", x->shape.rank);
        return NULL;
    }
    int64_t total = 1;
    for (int k = 0; k < m; k++) total *= yv->shape.d[axis + k];
    if (total > (1 << 24)) {
        diag_error(I->d, loc, "indexing %d axes of %lld elements with tensors is not supported (the linear index "
                              "must stay within 2^24); index one axis at a time", m, (long long)total);
        return NULL;
    }
    Shape merged = {0};
    for (int i = 0; i < axis; i++) merged.d[merged.rank++] = yv->shape.d[i];
    merged.d[merged.rank++] = total;
    for (int i = axis + m; i < yv->shape.rank; i++) merged.d[merged.rank++] = yv->shape.d[i];
    IrValue *flat = reshape_ir(I, yv, &merged, loc);
    IrValue *lin = NULL, *bad = NULL, *zero = int_const(I, 0);
    int64_t stride = total;
    for (int k = 0; k < m && flat; k++) {
        IrValue *i = index_tensor(I, items[at + k], loc);
        if (!i) return NULL;
        int64_t d = yv->shape.d[axis + k];
        stride /= d;
        /* a negative index counts from the end */
        IrValue *w_in[3] = {bin_ir(I, IR_LESS, i, zero, loc), bin_ir(I, IR_ADD, i, int_const(I, d), loc), i};
        if (!w_in[0] || !w_in[1]) return NULL;
        IrValue *norm = emit_ir(I, IR_WHERE, w_in, 3, NULL, loc);
        IrValue *out = bin_ir(I, IR_LOGICAL_OR, bin_ir(I, IR_LESS, norm, zero, loc),
                              bin_ir(I, IR_GREATER_EQUAL, norm, int_const(I, d), loc), loc);
        IrValue *term = stride == 1 ? norm : bin_ir(I, IR_MUL, norm, int_const(I, stride), loc);
        lin = lin ? bin_ir(I, IR_ADD, lin, term, loc) : term;
        bad = bad ? bin_ir(I, IR_LOGICAL_OR, bad, out, loc) : out;
        if (!lin || !bad) return NULL;
    }
    if (!flat) return NULL;
    IrValue *sel[3] = {bad, int_const(I, total), lin};
    IrValue *idx = emit_ir(I, IR_WHERE, sel, 3, NULL, loc);
    if (!idx) return NULL;
    IrValue *in[2] = {flat, idx};
    IrAttrs a = ir_attrs_default();
    a.axis = axis;
    return emit(I, IR_TAKE, in, 2, &a, loc);
}

/* x[idx]: ints, slices (step > 0) and None, static; a slice node then a reshape.
 * A tensor index takes along its axis (IR take): x[t], x[:, t]. */
Value *tensor_index(Elab *I, Value *t, Value *idx, SrcLoc loc)
{
    IrValue *x = tensor_of(I, t, loc, "indexing");
    if (!x) return NULL;
    if (!need_trace(I, loc, "indexing")) return NULL;
    if (idx->kind == V_TENSOR || idx->kind == V_PARAM) {
        /* x[t]: rows of x picked by the integer values of tensor t (numpy.take on axis 0),
         * e.g. Swin's rel_pos_bias_table[rel_pos_index.reshape(-1)] */
        IrValue *in[2] = {x, index_tensor(I, idx, loc)};
        if (!in[1]) return NULL;
        if (x->shape.rank < 1) {
            diag_error(I->d, loc, "a tensor of rank 0 cannot be indexed by a tensor");
            return NULL;
        }
        IrAttrs at = ir_attrs_default();
        at.axis = 0;
        return emit(I, IR_TAKE, in, 2, &at, loc);
    }
    Value *one[1] = {idx};
    Value **items = one;
    int n = 1;
    if (idx->kind == V_TUPLE) { items = idx->seq->v; n = idx->seq->n; }
    int tensor_at = -1, n_tensors = 0;
    for (int k = 0; k < n; k++)
        if (items[k]->kind == V_TENSOR || items[k]->kind == V_PARAM) {
            if (tensor_at >= 0 && k != tensor_at + n_tensors) {
                diag_error(I->d, loc, "tensor indices separated by other indices are not supported (NumPy would move "
                                      "their dims first); index in two steps");
                return NULL;
            }
            if (tensor_at < 0) tensor_at = k;
            n_tensors++;
        }
    if (n_tensors > 1) return index_with_tensors(I, t, x, items, n, tensor_at, n_tensors, loc);
    if (tensor_at >= 0) return index_with_tensor(I, t, x, items, n, tensor_at, loc);
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

Value *tensor_binop(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc)
{
    IrOp ir;
    switch (op) {
    case OP_ADD: ir = IR_ADD; break;
    case OP_SUB: ir = IR_SUB; break;
    case OP_MUL: ir = IR_MUL; break;
    case OP_DIV: ir = IR_DIV; break;
    case OP_POW: ir = IR_POW; break;
    case OP_MATMUL: ir = IR_MATMUL; break;
    case OP_EQ: ir = IR_EQUAL; break;
    case OP_NE: ir = IR_NOT_EQUAL; break;
    case OP_LT: ir = IR_LESS; break;
    case OP_LE: ir = IR_LESS_EQUAL; break;
    case OP_GT: ir = IR_GREATER; break;
    case OP_GE: ir = IR_GREATER_EQUAL; break;
    case OP_BITAND: ir = IR_LOGICAL_AND; break;
    case OP_BITOR: ir = IR_LOGICAL_OR; break;
    case OP_BITXOR: ir = IR_LOGICAL_XOR; break;
    default:
        diag_error(I->d, loc, "operator '%s' is not supported on tensors", op_text(op));
        return NULL;
    }
    if (!need_trace(I, loc, op_text(op))) return NULL;
    IrValue *in[2];
    if (!(in[0] = tensor_of(I, l, loc, op_text(op))) || !(in[1] = tensor_of(I, r, loc, op_text(op)))) return NULL;
    if (op == OP_BITAND || op == OP_BITOR || op == OP_BITXOR) {
        /* on bool tensors (masks) these are logic, as MegEngine's; bit patterns of ints
         * are not kept by float32 data */
        for (int k = 0; k < 2; k++)
            if (in[k]->dtype != IR_DT_BOOL) {
                diag_error(I->d, loc, "operator '%s' on tensors needs bool tensors (masks), got %s; bitwise "
                                      "operations on integer tensors are not supported",
                           op_text(op), ir_dtype_name(in[k]->dtype));
                return NULL;
            }
    }
    return emit(I, ir, in, 2, NULL, loc);
}

/* x[mask] = v in forward: a masked fill, x = F.where(mask, v, x), done in place on the
 * tensor value, so every name bound to x sees it (as MegEngine's in-place write). */
bool tensor_setitem(Elab *I, Value *t, Value *idx, Value *v, SrcLoc loc)
{
    if (!need_trace(I, loc, "item assignment")) return false;
    IrValue *x = t->tensor;
    IrValue *m = NULL;
    if ((idx->kind == V_TENSOR || idx->kind == V_PARAM) && !(m = tensor_of(I, idx, loc, "item assignment")))
        return false;
    if (!m || m->dtype != IR_DT_BOOL) {
        diag_error(I->d, loc, "tensor item assignment in forward supports a bool mask index only (x[mask] = v, a "
                              "masked fill); for other writes build the result with F.where or F.concat");
        return false;
    }
    if (x->kind == IRV_PARAM || x->kind == IRV_CONST) {
        diag_error(I->d, loc, "a parameter or buffer cannot be written in forward; fill a copy: "
                              "y = F.where(mask, v, x)");
        return false;
    }
    IrValue *in[3] = {m, tensor_of(I, v, loc, "item assignment"), x};
    if (!in[1]) return false;
    IrValue *y = emit_ir(I, IR_WHERE, in, 3, NULL, loc);
    if (!y) return false;
    if (!shape_eq(&y->shape, &x->shape)) {
        char b1[96], b2[96];
        diag_error(I->d, loc, "x[mask] = v: the mask and the value must broadcast to x's shape %s, not to %s",
                   shape_str(&x->shape, b1, sizeof b1), shape_str(&y->shape, b2, sizeof b2));
        return false;
    }
    y->dtype = x->dtype;   /* a write keeps the tensor's dtype */
    t->tensor = y;
    return true;
}

/* ~t: logical not of a bool tensor (MegEngine's ~mask). */
Value *tensor_invert(Elab *I, Value *t, SrcLoc loc)
{
    if (!need_trace(I, loc, "~")) return NULL;
    IrValue *x = tensor_of(I, t, loc, "~");
    if (!x) return NULL;
    if (x->dtype != IR_DT_BOOL) {
        diag_error(I->d, loc, "operator '~' on tensors needs a bool tensor (a mask), got %s; bitwise operations "
                              "on integer tensors are not supported", ir_dtype_name(x->dtype));
        return NULL;
    }
    return emit(I, IR_LOGICAL_NOT, &x, 1, NULL, loc);
}

/* t.astype(dtype): the data is float32 in any case, so a cast is a relabelling, except
 * float to int (truncation toward zero, as MegEngine) and anything to bool (x != 0). */
Value *tensor_astype(Elab *I, IrValue *x, Value *dt, SrcLoc loc)
{
    int nd = nd_type_of(dt);
    if (nd < 0) {
        diag_error(I->d, loc, "astype: unsupported dtype %s; use \"float32\", \"int32\" or \"bool\"",
                   v_repr(I, dt));
        return NULL;
    }
    uint8_t to = nd_ir_dtype((NdType)nd);
    if (to == x->dtype) return v_tensor(I, x);
    IrValue *y;
    if (to == IR_DT_BOOL) {
        IrValue *in[2] = {x, ir_const_scalar(I->g, 0.0f)};
        y = emit_ir(I, IR_NOT_EQUAL, in, 2, NULL, loc);
    } else if (to == IR_DT_I32 && x->dtype == IR_DT_F32) {
        y = emit_ir(I, IR_TRUNC, &x, 1, NULL, loc);
    } else {
        y = emit_ir(I, IR_IDENTITY, &x, 1, NULL, loc);   /* bool -> int or float, int -> float: the same numbers */
    }
    if (!y) return NULL;
    y->dtype = to;
    return v_tensor(I, y);
}

Value *tensor_neg(Elab *I, Value *t, SrcLoc loc)
{
    if (!need_trace(I, loc, "-")) return NULL;
    IrValue *x = tensor_of(I, t, loc, "-");
    return x ? emit(I, IR_NEG, &x, 1, NULL, loc) : NULL;
}

/* ------------------------------------------------------------------ tensor methods */

static Value *tm_reshape(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
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

static Value *tm_flatten(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("start_axis", "end_axis");
    BIND("flatten", 0);
    int64_t s = 0, e = -1;
    if (av[0] && !as_int(I, av[0], loc, "start_axis", &s)) return NULL;
    if (av[1] && !as_int(I, av[1], loc, "end_axis", &e)) return NULL;
    return do_flatten(I, self->tensor, s, e, loc);
}

static Value *tm_transpose(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
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

static Value *tm_reduce(Elab *I, Value *self, CallArgs *a, SrcLoc loc, IrOp op, const char *f)
{
    ARGS("axis", "keepdims");
    BIND(f, 0);
    return do_reduce(I, op, self->tensor, av[0], av[1], loc, f);
}
static Value *tm_mean(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return tm_reduce(I, s, a, l, IR_REDUCE_MEAN, "mean"); }
static Value *tm_sum(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return tm_reduce(I, s, a, l, IR_REDUCE_SUM, "sum"); }
static Value *tm_max(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return tm_reduce(I, s, a, l, IR_REDUCE_MAX, "max"); }
static Value *tm_min(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return tm_reduce(I, s, a, l, IR_REDUCE_MIN, "min"); }

static Value *tm_dimshuffle(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return tm_transpose(I, self, a, loc); }

static Value *tm_astype(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("dtype");
    BIND("astype", 1);
    if (!need_trace(I, loc, "astype")) return NULL;
    return tensor_astype(I, self->tensor, av[0], loc);
}

Value *tensor_attr(Elab *I, Value *t, const char *name, SrcLoc loc)
{
    IrValue *x = t->tensor;
    if (!strcmp(name, "shape")) return shape_tuple(I, &x->shape);
    if (!strcmp(name, "ndim")) return v_int(I, x->shape.rank);
    if (!strcmp(name, "size")) return v_int(I, shape_numel(&x->shape));
    if (!strcmp(name, "dtype")) return v_str(I, ir_dtype_name(x->dtype));
    static const struct { const char *name; NativeFn fn; } ms[] = {
        {"reshape", tm_reshape}, {"flatten", tm_flatten}, {"transpose", tm_transpose},
        {"dimshuffle", tm_dimshuffle}, {"mean", tm_mean}, {"sum", tm_sum}, {"max", tm_max}, {"min", tm_min},
        {"astype", tm_astype},
    };
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
        if (!strcmp(ms[i].name, name)) return v_builtin(I, ms[i].name, ms[i].fn, t);
    if (loc.src || !loc.line) {
        if (loc.src) diag_error(I->d, loc, "'Tensor' object has no attribute '%s' in .bcl", name);
    }
    return NULL;
}

bool param_size_ok(Elab *I, const Shape *sh, SrcLoc loc, const char *f)
{
    if (shape_size_ok(sh)) return true;
    char buf[160];
    if (loc_in_stdlib(loc) && I->user_loc.src) loc = I->user_loc;  /* the user's M.Linear(...) */
    diag_error(I->d, loc, "%s: a tensor of shape %s is too large (the limit is %lld elements, %lld GiB)", f,
               shape_str(sh, buf, sizeof buf), (long long)BCL_MAX_TENSOR_ELEMS, (long long)(BCL_MAX_TENSOR_BYTES >> 30));
    return false;
}
