/* Tensors as compile-time values in constructors: megengine.functional called in
 * __init__ on tensors made there (F.zeros/ones/full, mge.Tensor(data), their arithmetic)
 * is evaluated at once into compile-time arrays (ndarray.c) with MegEngine's dtypes
 * (float32, int32, bool). A module holding such a tensor holds a buffer (the walk in
 * build.c), and mge.Parameter(tensor) makes a parameter whose values are the defaults
 * that loaded weights replace. */
#include <math.h>
#include <string.h>

#include "frontend/native_args.h"
#include "frontend/ndarray.h"

static bool is_ct(const Value *v) { return v->kind == V_NDARRAY; }

static Value *tensor_result(Elab *I, NdArray *a)
{
    if (!a) return NULL;
    a->is_tensor = true;
    return nd_value(I, a);
}

/* MegEngine's dtype of a tensor made from data: floats are float32, ints int32 */
static NdArray *mge_dtype(Elab *I, NdArray *a)
{
    NdType t = a->dt == ND_FLOAT64 ? ND_FLOAT32 : a->dt == ND_INT64 ? ND_INT32 : a->dt;
    return t == a->dt ? a : nd_astype(I, a, t);
}

static NdArray *as_tensor(Elab *I, Value *v, SrcLoc loc)
{
    NdArray *a = nd_from_value(I, v, -1, loc);
    return a ? mge_dtype(I, a) : NULL;
}

Value *ct_tensor(Elab *I, Value *data, Value *dtype, SrcLoc loc)
{
    int dt = dtype && dtype->kind != V_NONE ? nd_type_of(dtype) : -1;
    if (dtype && dtype->kind != V_NONE && dt < 0) {
        diag_error(I->d, loc, "mge.Tensor: unsupported dtype %s", v_repr(I, dtype));
        return NULL;
    }
    NdArray *a = nd_from_value(I, data, dt, loc);
    if (!a) return NULL;
    if (dt < 0) a = mge_dtype(I, a);
    if (a == (data->kind == V_NDARRAY ? data->nd : NULL)) a = nd_astype(I, a, a->dt);  /* a copy */
    return tensor_result(I, a);
}

Value *ct_parameter(Elab *I, NdArray *a, SrcLoc loc)
{
    Value *b = nd_to_buffer(I, a, loc);
    if (!b) return NULL;
    ParamObj *p = b->param;
    p->buffer = false;
    bool zeros = true, ones = true;
    for (int64_t k = 0; k < a->n; k++) {
        zeros = zeros && a->v[k] == 0;
        ones = ones && a->v[k] == 1;
    }
    if (zeros || ones) {  /* an initialiser, as F.zeros / F.ones always were */
        p->init = ones ? INIT_ONES : INIT_ZEROS;
        p->data = NULL;
    }
    return b;
}

static int64_t shape_of_arg(Elab *I, Value *v, int64_t *dims, SrcLoc loc, const char *f)
{
    if (v->kind == V_INT) { dims[0] = v->i; return 1; }
    if (v->kind == V_TUPLE || v->kind == V_LIST) {
        if (v->seq->n > BCL_MAX_RANK) goto bad;
        for (int i = 0; i < v->seq->n; i++)
            if (!as_int(I, v->seq->v[i], loc, "shape", &dims[i])) return -1;
        return v->seq->n;
    }
bad:
    diag_error(I->d, loc, "%s: the shape must be an int or a tuple of at most %d ints", f, BCL_MAX_RANK);
    return -1;
}

static Value *filled(Elab *I, CallArgs *a, SrcLoc loc, const char *f, int which)
{
    static const char *const names[] = {"shape", "value", "dtype", "device"};
    Value *av[4];
    if (!bind_native(I, f, a, loc, names, which == 2 ? 4 : 3, which == 2 ? 2 : 1, av)) return NULL;
    if (which != 2) av[2] = av[1], av[1] = NULL;
    int64_t dims[BCL_MAX_RANK];
    int64_t n = shape_of_arg(I, av[0], dims, loc, f);
    if (n < 0) return NULL;
    int64_t total = 1;
    for (int i = 0; i < n; i++) {
        if (dims[i] <= 0 || dims[i] > (1 << 24) || total > (1 << 24) / dims[i]) {
            diag_error(I->d, loc, "%s: dimensions must be positive (and the tensor at most 2^24 elements), got %lld", f,
                       (long long)dims[i]);
            return NULL;
        }
        total *= dims[i];
    }
    double x = which == 1;
    NdType t = ND_FLOAT32;
    if (which == 2) {
        if (av[1]->kind == V_INT) t = ND_INT32;
        else if (av[1]->kind == V_BOOL) t = ND_BOOL;
        if (!as_float(I, av[1], loc, "value", &x)) return NULL;
    }
    if (av[2] && av[2]->kind != V_NONE) {
        int dt = nd_type_of(av[2]);
        if (dt < 0) {
            diag_error(I->d, loc, "%s: unsupported dtype %s", f, v_repr(I, av[2]));
            return NULL;
        }
        t = (NdType)dt;
    }
    NdArray *r = nd_new(I, t, (int)n, dims);
    for (int64_t k = 0; k < r->n; k++) r->v[k] = nd_cast(t, x);
    return tensor_result(I, r);
}

/* The arguments as bound by name; NULL (not handled) when the first is not a
 * compile-time tensor. */
static bool bind_ct(Elab *I, const char *f, CallArgs *a, SrcLoc loc, const char *const *names, int n, int nreq,
                    Value **av, bool *handled)
{
    *handled = false;
    Value *first = a->n_pos ? a->pos[0] : NULL;
    for (int k = 0; !first && k < a->n_kw; k++)
        if (!strcmp(a->kw_names[k], names[0])) first = a->kw[k];
    if (!first) return false;
    bool ct = is_ct(first);
    if (!ct && (first->kind == V_LIST || first->kind == V_TUPLE))  /* concat / stack */
        for (int i = 0; i < first->seq->n; i++) ct = ct || is_ct(first->seq->v[i]);
    if (!ct) return false;
    *handled = true;
    return bind_native(I, f, a, loc, names, n, nreq, av);
}

static Value *reduce_ct(Elab *I, NdArray *x, int what, Value *axis, Value *keep, SrcLoc loc)
{
    int k = keep ? truthy(I, keep, loc) : 0;
    if (k < 0) return NULL;
    Value *r = nd_reduce(I, x, what, axis, k, loc);
    if (!r) return NULL;
    if (r->kind == V_NDARRAY) return tensor_result(I, r->nd);
    NdArray *z = nd_new(I, x->dt == ND_BOOL ? ND_INT32 : x->dt, 0, NULL);
    z->v[0] = r->kind == V_FLOAT ? r->f : r->kind == V_INT ? (double)r->i : r->b;
    return tensor_result(I, z);
}

/* F.linspace(start, stop, num) and F.arange(start, stop, step): float32 tensors by
 * default, as MegEngine makes them (computed in double, rounded once). */
static Value *ranged(Elab *I, CallArgs *a, SrcLoc loc, bool lin)
{
    static const char *const nl[] = {"start", "stop", "num", "dtype", "device"};
    static const char *const na[] = {"start", "stop", "step", "dtype", "device"};
    Value *av[5] = {0};
    if (!bind_native(I, lin ? "linspace" : "arange", a, loc, lin ? nl : na, 5, lin ? 3 : 1, av)) return NULL;
    double v[3] = {0, 0, 1};
    Value *in[3] = {av[0], av[1], av[2]};
    if (!lin && (!av[1] || av[1]->kind == V_NONE)) { in[0] = NULL; in[1] = av[0]; }
    for (int i = 0; i < 3; i++)
        if (in[i] && in[i]->kind != V_NONE && !as_float(I, in[i], loc, lin ? "linspace" : "arange", &v[i]))
            return NULL;
    NdType t = ND_FLOAT32;
    if (av[3] && av[3]->kind != V_NONE) {
        int dt = nd_type_of(av[3]);
        if (dt < 0) {
            diag_error(I->d, loc, "%s: unsupported dtype %s", lin ? "linspace" : "arange", v_repr(I, av[3]));
            return NULL;
        }
        t = (NdType)dt;
    }
    int64_t n;
    if (lin) {
        n = (int64_t)v[2];
        if (v[2] != (double)n || n < 0) {
            diag_error(I->d, loc, "linspace: num must be a non-negative integer");
            return NULL;
        }
    } else {
        if (v[2] == 0) {
            diag_error(I->d, loc, "arange: step must not be zero");
            return NULL;
        }
        double len = ceil((v[1] - v[0]) / v[2]);
        n = len > 0 ? (int64_t)len : 0;
    }
    if (n > (1 << 24)) {
        diag_error(I->d, loc, "%s: compile-time tensor too large", lin ? "linspace" : "arange");
        return NULL;
    }
    NdArray *r = nd_new(I, t, 1, &n);
    for (int64_t k = 0; k < n; k++) {
        double x = lin ? (n > 1 ? v[0] + (v[1] - v[0]) * (double)k / (double)(n - 1) : v[0]) : v[0] + (double)k * v[2];
        r->v[k] = nd_cast(t, x);
    }
    return tensor_result(I, r);
}

Value *ct_functional(Elab *I, const char *f, CallArgs *a, SrcLoc loc, bool *handled)
{
    *handled = false;
    if (I->tracing) return NULL;
    if (!strcmp(f, "linspace") || !strcmp(f, "arange")) {
        *handled = true;
        return ranged(I, a, loc, f[0] == 'l');
    }
    if (!strcmp(f, "zeros") || !strcmp(f, "ones") || !strcmp(f, "full")) {
        *handled = true;
        return filled(I, a, loc, f, !strcmp(f, "zeros") ? 0 : !strcmp(f, "ones") ? 1 : 2);
    }
    Value *av[4] = {0};
    static const char *const unary[] = {"relu", "exp", "sqrt", "log", "abs", "neg", "sigmoid", "floor", "ceil", "round"};
    for (size_t i = 0; i < sizeof unary / sizeof *unary; i++)
        if (!strcmp(f, unary[i])) {
            static const char *const n1[] = {"inp"};
            if (!bind_ct(I, f, a, loc, n1, 1, 1, av, handled)) return NULL;
            NdArray *x = av[0]->nd;
            if (!strcmp(f, "relu")) {
                Value *pos = nd_binop(I, OP_GT, av[0], v_int(I, 0), loc);
                NdArray *zero = nd_new(I, x->dt, 0, NULL);
                return pos ? tensor_result(I, nd_where(I, pos->nd, x, zero, loc)) : NULL;
            }
            if (!strcmp(f, "sigmoid")) {
                NdArray *r = nd_new(I, ND_FLOAT32, x->rank, x->dims);
                for (int64_t k = 0; k < x->n; k++) r->v[k] = nd_cast(ND_FLOAT32, 1.0 / (1.0 + exp(-x->v[k])));
                return tensor_result(I, r);
            }
            NdArray *r = nd_unary(I, x, f, 0, loc);
            return r && r->dt == ND_FLOAT64 ? tensor_result(I, nd_astype(I, r, ND_FLOAT32)) : tensor_result(I, r);
        }
    static const struct { const char *name; OpKind op; } bin[] = {
        {"add", OP_ADD}, {"sub", OP_SUB}, {"mul", OP_MUL}, {"div", OP_DIV}, {"pow", OP_POW},
        {"equal", OP_EQ}, {"not_equal", OP_NE}, {"less", OP_LT}, {"less_equal", OP_LE}, {"greater", OP_GT},
        {"greater_equal", OP_GE}, {"floor_div", OP_FLOORDIV}, {"mod", OP_MOD},
    };
    for (size_t i = 0; i < sizeof bin / sizeof *bin; i++)
        if (!strcmp(f, bin[i].name)) {
            static const char *const n2[] = {"x", "y"};
            *handled = (a->n_pos > 0 && is_ct(a->pos[0])) || (a->n_pos > 1 && is_ct(a->pos[1]));
            if (!*handled || !bind_native(I, f, a, loc, n2, 2, 2, av)) return NULL;
            Value *r = nd_binop(I, bin[i].op, av[0], av[1], loc);
            return r ? tensor_result(I, r->nd) : NULL;
        }
    if (!strcmp(f, "maximum") || !strcmp(f, "minimum")) {
        static const char *const n2[] = {"x", "y"};
        *handled = (a->n_pos > 0 && is_ct(a->pos[0])) || (a->n_pos > 1 && is_ct(a->pos[1]));
        if (!*handled || !bind_native(I, f, a, loc, n2, 2, 2, av)) return NULL;
        Value *c = nd_binop(I, !strcmp(f, "maximum") ? OP_GE : OP_LE, av[0], av[1], loc);
        NdArray *x = c ? as_tensor(I, av[0], loc) : NULL, *y = x ? as_tensor(I, av[1], loc) : NULL;
        return y ? tensor_result(I, nd_where(I, c->nd, x, y, loc)) : NULL;
    }
    if (!strcmp(f, "clip")) {   /* MegEngine: minimum(maximum(x, lower), upper); None bounds nothing */
        static const char *const n3[] = {"inp", "lower", "upper"};
        if (!bind_ct(I, f, a, loc, n3, 3, 1, av, handled)) return NULL;
        Value *x = av[0];
        for (int b = 1; b <= 2; b++) {
            if (!av[b] || av[b]->kind == V_NONE) continue;
            Value *c = nd_binop(I, b == 1 ? OP_GE : OP_LE, x, av[b], loc);
            NdArray *p = c ? as_tensor(I, x, loc) : NULL, *q = p ? as_tensor(I, av[b], loc) : NULL;
            NdArray *r = q ? nd_where(I, c->nd, p, q, loc) : NULL;
            if (!r) return NULL;
            /* a float tensor keeps its dtype (MegEngine), not numpy's float32 + int32 promotion */
            if (p->dt == ND_FLOAT32 && r->dt != ND_FLOAT32) r = nd_astype(I, r, ND_FLOAT32);
            x = tensor_result(I, r);
        }
        return x == av[0] ? tensor_result(I, nd_astype(I, av[0]->nd, av[0]->nd->dt)) : x;
    }
    if (!strcmp(f, "tanh") || !strcmp(f, "isnan") || !strcmp(f, "logical_not")) {
        static const char *const n1[] = {"inp"};
        if (!bind_ct(I, f, a, loc, n1, 1, 1, av, handled)) return NULL;
        NdArray *x = av[0]->nd;
        if (f[0] == 'l' && x->dt != ND_BOOL) {
            diag_error(I->d, loc, "logical_not: the operand must be a bool tensor, got %s", nd_type_name(x->dt));
            return NULL;
        }
        NdArray *r = nd_new(I, f[0] == 't' ? ND_FLOAT32 : ND_BOOL, x->rank, x->dims);
        for (int64_t k = 0; k < x->n; k++)
            r->v[k] = f[0] == 't' ? nd_cast(ND_FLOAT32, tanh(x->v[k])) : f[0] == 'i' ? (double)(x->v[k] != x->v[k])
                                                                        : (double)(x->v[k] == 0);
        return tensor_result(I, r);
    }
    if (!strcmp(f, "logical_and") || !strcmp(f, "logical_or") || !strcmp(f, "logical_xor")) {
        static const char *const n2[] = {"x", "y"};
        *handled = (a->n_pos > 0 && is_ct(a->pos[0])) || (a->n_pos > 1 && is_ct(a->pos[1]));
        if (!*handled || !bind_native(I, f, a, loc, n2, 2, 2, av)) return NULL;
        for (int i = 0; i < 2; i++)
            if (av[i]->kind != V_NDARRAY || av[i]->nd->dt != ND_BOOL) {
                diag_error(I->d, loc, "%s: the operands must be bool tensors, got %s", f,
                           av[i]->kind == V_NDARRAY ? nd_type_name(av[i]->nd->dt) : v_type_name(av[i]));
                return NULL;
            }
        Value *r = nd_binop(I, f[8] == 'a' ? OP_BITAND : f[8] == 'o' ? OP_BITOR : OP_BITXOR, av[0], av[1], loc);
        return r ? tensor_result(I, r->nd) : NULL;
    }
    if (!strcmp(f, "where")) {
        static const char *const n3[] = {"mask", "x", "y"};
        *handled = false;
        for (int i = 0; i < a->n_pos; i++) *handled = *handled || is_ct(a->pos[i]);
        if (!*handled || !bind_native(I, f, a, loc, n3, 3, 3, av)) return NULL;
        NdArray *c = as_tensor(I, av[0], loc), *x = c ? as_tensor(I, av[1], loc) : NULL, *y = x ? as_tensor(I, av[2], loc) : NULL;
        return y ? tensor_result(I, nd_where(I, c, x, y, loc)) : NULL;
    }
    if (!strcmp(f, "reshape")) {
        static const char *const n[] = {"inp", "target_shape"};
        if (!bind_ct(I, f, a, loc, n, 2, 2, av, handled)) return NULL;
        int64_t dims[BCL_MAX_RANK];
        int64_t r = shape_of_arg(I, av[1], dims, loc, f);
        return r < 0 ? NULL : tensor_result(I, nd_reshape(I, av[0]->nd, dims, (int)r, loc));
    }
    if (!strcmp(f, "broadcast_to")) {
        static const char *const n[] = {"inp", "shape"};
        if (!bind_ct(I, f, a, loc, n, 2, 2, av, handled)) return NULL;
        int64_t dims[BCL_MAX_RANK];
        int64_t r = shape_of_arg(I, av[1], dims, loc, f);
        if (r < 0) return NULL;
        NdArray *z = nd_new(I, av[0]->nd->dt, (int)r, dims);  /* zeros of the target shape */
        Value *s = nd_binop(I, OP_ADD, av[0], nd_value(I, z), loc);
        if (!s) return NULL;
        for (int i = 0; i < (int)r; i++)
            if (s->nd->dims[i] != dims[i]) {
                diag_error(I->d, loc, "broadcast_to: cannot broadcast to the given shape");
                return NULL;
            }
        return tensor_result(I, s->nd);
    }
    if (!strcmp(f, "flatten")) {
        static const char *const n[] = {"inp", "start_axis", "end_axis"};
        if (!bind_ct(I, f, a, loc, n, 3, 1, av, handled)) return NULL;
        NdArray *x = av[0]->nd;
        int64_t s0 = 0, e0 = -1;
        if (av[1] && !as_int(I, av[1], loc, "start_axis", &s0)) return NULL;
        if (av[2] && !as_int(I, av[2], loc, "end_axis", &e0)) return NULL;
        if (s0 < 0) s0 += x->rank;
        if (e0 < 0) e0 += x->rank;
        if (s0 < 0 || e0 >= x->rank || s0 > e0) {
            diag_error(I->d, loc, "flatten: bad axes for a tensor of rank %d", x->rank);
            return NULL;
        }
        int64_t dims[BCL_MAX_RANK];
        int nd = 0;
        for (int i = 0; i < s0; i++) dims[nd++] = x->dims[i];
        int64_t m = 1;
        for (int64_t i = s0; i <= e0; i++) m *= x->dims[i];
        dims[nd++] = m;
        for (int64_t i = e0 + 1; i < x->rank; i++) dims[nd++] = x->dims[i];
        return tensor_result(I, nd_reshape(I, x, dims, nd, loc));
    }
    if (!strcmp(f, "transpose")) {
        static const char *const n[] = {"inp", "pattern"};
        if (!bind_ct(I, f, a, loc, n, 2, 2, av, handled)) return NULL;
        int64_t perm[BCL_MAX_RANK];
        int64_t r = shape_of_arg(I, av[1], perm, loc, f);
        return r < 0 ? NULL : tensor_result(I, nd_transpose(I, av[0]->nd, perm, (int)r, loc));
    }
    if (!strcmp(f, "expand_dims") || !strcmp(f, "squeeze")) {
        static const char *const n[] = {"inp", "axis"};
        bool sq = !strcmp(f, "squeeze");
        if (!bind_ct(I, f, a, loc, n, 2, sq ? 1 : 2, av, handled)) return NULL;
        NdArray *x = av[0]->nd;
        int64_t dims[BCL_MAX_RANK];
        int r = 0;
        if (sq) {
            bool drop[BCL_MAX_RANK] = {0};
            if (!av[1] || av[1]->kind == V_NONE) {
                for (int i = 0; i < x->rank; i++) drop[i] = x->dims[i] == 1;
            } else {
                int64_t ax;
                if (!as_int(I, av[1], loc, "axis", &ax)) return NULL;
                if (ax < 0) ax += x->rank;
                if (ax < 0 || ax >= x->rank || x->dims[ax] != 1) {
                    diag_error(I->d, loc, "squeeze: axis %lld is not an axis of size 1", (long long)ax);
                    return NULL;
                }
                drop[ax] = true;
            }
            for (int i = 0; i < x->rank; i++)
                if (!drop[i]) dims[r++] = x->dims[i];
        } else {
            int64_t ax;
            if (!as_int(I, av[1], loc, "axis", &ax)) return NULL;
            r = x->rank + 1;
            if (ax < 0) ax += r;
            if (ax < 0 || ax >= r || r > BCL_MAX_RANK) {
                diag_error(I->d, loc, "expand_dims: axis out of range for a tensor of rank %d", x->rank);
                return NULL;
            }
            for (int i = 0, j = 0; i < r; i++) dims[i] = i == ax ? 1 : x->dims[j++];
        }
        return tensor_result(I, nd_reshape(I, x, dims, r, loc));
    }
    if (!strcmp(f, "concat") || !strcmp(f, "stack")) {
        static const char *const n[] = {"inps", "axis"};
        if (!bind_ct(I, f, a, loc, n, 2, 1, av, handled)) return NULL;
        int64_t axis = 0;
        if (av[1] && !as_int(I, av[1], loc, "axis", &axis)) return NULL;
        if (av[0]->kind != V_LIST && av[0]->kind != V_TUPLE) {
            diag_error(I->d, loc, "%s: expected a list of tensors", f);
            return NULL;
        }
        int cnt = av[0]->seq->n;
        NdArray **xs = ARENA_NEWN(I->a, NdArray *, cnt ? cnt : 1);
        for (int i = 0; i < cnt; i++)
            if (!(xs[i] = as_tensor(I, av[0]->seq->v[i], loc))) return NULL;
        return tensor_result(I, nd_stack(I, xs, cnt, axis, !strcmp(f, "concat"), loc));
    }
    static const struct { const char *name; int what; } red[] = {
        {"sum", OP_ADD}, {"mean", 'a'}, {"max", 'M'}, {"min", 'm'}, {"prod", OP_MUL},
    };
    for (size_t i = 0; i < sizeof red / sizeof *red; i++)
        if (!strcmp(f, red[i].name)) {
            static const char *const n[] = {"inp", "axis", "keepdims"};
            if (!bind_ct(I, f, a, loc, n, 3, 1, av, handled)) return NULL;
            return reduce_ct(I, av[0]->nd, red[i].what, av[1], av[2], loc);
        }
    return NULL;
}
