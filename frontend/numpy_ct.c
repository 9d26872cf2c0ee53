/* numpy at compile time: the `numpy` module's functions and the ndarray methods and
 * attributes that BaseCls's constructors use, over the arrays of ndarray.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/native_args.h"
#include "frontend/ndarray.h"

static NdArray *arr(Elab *I, Value *v, SrcLoc loc) { return nd_from_value(I, v, -1, loc); }

static bool dtype_arg(Elab *I, Value *v, int *out, SrcLoc loc)
{
    *out = -1;
    if (!v || v->kind == V_NONE) return true;
    *out = nd_type_of(v);
    if (*out < 0) {
        diag_error(I->d, loc, "unsupported dtype %s (bool, int32, int64, float32, float64)", v_repr(I, v));
        return false;
    }
    return true;
}

/* a shape argument: an int or a sequence of ints */
static int shape_arg(Elab *I, Value *v, int64_t *dims, SrcLoc loc)
{
    if (v->kind == V_INT) { dims[0] = v->i; return 1; }
    if (v->kind == V_TUPLE || v->kind == V_LIST) {
        if (v->seq->n > BCL_MAX_RANK) {
            diag_error(I->d, loc, "arrays of more than %d dimensions are not supported", BCL_MAX_RANK);
            return -1;
        }
        for (int i = 0; i < v->seq->n; i++)
            if (!as_int(I, v->seq->v[i], loc, "shape", &dims[i])) return -1;
        return v->seq->n;
    }
    diag_error(I->d, loc, "a shape must be an int or a tuple of ints, not %s", v_type_name(v));
    return -1;
}

static bool scalar_of(Value *v, double *x, int *kind)
{
    if (v->kind == V_INT) { *x = (double)v->i; *kind = 1; return true; }
    if (v->kind == V_FLOAT) { *x = v->f; *kind = 2; return true; }
    if (v->kind == V_BOOL) { *x = v->b; *kind = 0; return true; }
    return false;
}

/* ------------------------------------------------------------------ creation */

static Value *filled(Elab *I, CallArgs *a, SrcLoc loc, const char *f, int which)
{
    ARGS("shape", "fill_value", "dtype");
    if (which != 2) {
        static const char *const n2[] = {"shape", "dtype"};
        Value *b[2];
        if (!bind_native(I, f, a, loc, n2, 2, 1, b)) return NULL;
        av[0] = b[0], av[1] = NULL, av[2] = b[1];
    } else {
        BIND(f, 2);
    }
    int64_t dims[BCL_MAX_RANK];
    int n = shape_arg(I, av[0], dims, loc), dt;
    if (n < 0 || !dtype_arg(I, av[2], &dt, loc)) return NULL;
    double x = which == 1;
    int kind = 2;
    if (which == 2 && !scalar_of(av[1], &x, &kind)) {
        diag_error(I->d, loc, "np.full: fill_value must be a number");
        return NULL;
    }
    NdType t = dt >= 0 ? (NdType)dt : which == 2 ? (kind == 2 ? ND_FLOAT64 : kind == 1 ? ND_INT64 : ND_BOOL) : ND_FLOAT64;
    for (int i = 0; i < n; i++)
        if (dims[i] < 0 || dims[i] > (1 << 24)) {
            diag_error(I->d, loc, "np.%s: bad dimension %lld", f, (long long)dims[i]);
            return NULL;
        }
    NdArray *r = nd_new(I, t, n, dims);
    if (r->n > (1 << 24)) {
        diag_error(I->d, loc, "np.%s: compile-time array too large", f);
        return NULL;
    }
    for (int64_t k = 0; k < r->n; k++) r->v[k] = nd_cast(t, x);
    return nd_value(I, r);
}
static Value *np_zeros(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return filled(I, a, l, "zeros", 0); }
static Value *np_ones(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return filled(I, a, l, "ones", 1); }
static Value *np_full(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return filled(I, a, l, "full", 2); }

static Value *like(Elab *I, CallArgs *a, SrcLoc loc, const char *f, double x)
{
    ARGS("a", "dtype");
    BIND(f, 1);
    NdArray *src = arr(I, av[0], loc);
    int dt;
    if (!src || !dtype_arg(I, av[1], &dt, loc)) return NULL;
    NdArray *r = nd_new(I, dt >= 0 ? (NdType)dt : src->dt, src->rank, src->dims);
    for (int64_t k = 0; k < r->n; k++) r->v[k] = nd_cast(r->dt, x);
    return nd_value(I, r);
}
static Value *np_zeros_like(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return like(I, a, l, "zeros_like", 0); }
static Value *np_ones_like(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return like(I, a, l, "ones_like", 1); }

static Value *np_array(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("object", "dtype", "copy");
    BIND("array", 1);
    int dt;
    if (!dtype_arg(I, av[1], &dt, loc)) return NULL;
    NdArray *r = nd_from_value(I, av[0], dt, loc);
    if (!r) return NULL;
    if (r == (av[0]->kind == V_NDARRAY ? av[0]->nd : NULL)) r = nd_astype(I, r, r->dt);  /* a copy */
    return nd_value(I, r);
}

static Value *np_asarray(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("a", "dtype");
    BIND("asarray", 1);
    int dt;
    if (!dtype_arg(I, av[1], &dt, loc)) return NULL;
    return nd_value(I, nd_from_value(I, av[0], dt, loc));
}

static Value *np_arange(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("start", "stop", "step", "dtype");
    BIND("arange", 1);
    double v[3] = {0, 0, 1};
    int kinds[3] = {1, 1, 1}, dt;
    Value *start = av[0], *stop = av[1];
    if (!stop || stop->kind == V_NONE) { stop = start; start = NULL; }
    Value *in[3] = {start, stop, av[2]};
    for (int i = 0; i < 3; i++) {
        if (!in[i] || in[i]->kind == V_NONE) continue;
        if (!scalar_of(in[i], &v[i], &kinds[i])) {
            diag_error(I->d, loc, "np.arange: arguments must be numbers, not %s", v_type_name(in[i]));
            return NULL;
        }
    }
    if (!dtype_arg(I, av[3], &dt, loc)) return NULL;
    if (v[2] == 0) {
        diag_error(I->d, loc, "np.arange: step must not be zero");
        return NULL;
    }
    double len = ceil((v[1] - v[0]) / v[2]);
    int64_t n = len > 0 ? (int64_t)len : 0;
    if (n > (1 << 24)) {
        diag_error(I->d, loc, "np.arange: compile-time array too large");
        return NULL;
    }
    bool all_int = kinds[0] < 2 && kinds[1] < 2 && kinds[2] < 2;
    NdType t = dt >= 0 ? (NdType)dt : all_int ? ND_INT64 : ND_FLOAT64;
    NdArray *r = nd_new(I, t, 1, &n);
    for (int64_t k = 0; k < n; k++) r->v[k] = nd_cast(t, v[0] + (double)k * v[2]);
    return nd_value(I, r);
}

static Value *np_linspace(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("start", "stop", "num", "endpoint", "retstep", "dtype");
    BIND("linspace", 2);
    double lo, hi;
    int k1, k2, dt;
    int64_t num = 50;
    if (!scalar_of(av[0], &lo, &k1) || !scalar_of(av[1], &hi, &k2)) {
        diag_error(I->d, loc, "np.linspace: start and stop must be numbers");
        return NULL;
    }
    if (av[2] && !as_int(I, av[2], loc, "num", &num)) return NULL;
    if (num < 0 || num > (1 << 24)) {
        diag_error(I->d, loc, "np.linspace: bad number of samples %lld", (long long)num);
        return NULL;
    }
    int endpoint = av[3] ? truthy(I, av[3], loc) : 1;
    if (endpoint < 0 || !dtype_arg(I, av[5], &dt, loc)) return NULL;
    int64_t div = endpoint ? num - 1 : num;
    double step = div > 0 ? (hi - lo) / (double)div : NAN;
    NdType t = dt >= 0 ? (NdType)dt : ND_FLOAT64;
    NdArray *r = nd_new(I, t, 1, &num);
    for (int64_t k = 0; k < num; k++) r->v[k] = div > 0 ? (double)k * step + lo : lo;
    if (endpoint && num > 1) r->v[num - 1] = hi;
    for (int64_t k = 0; k < num; k++) r->v[k] = nd_cast(t, r->v[k]);
    if (av[4] && truthy(I, av[4], loc) == 1) {
        Value *tup = v_tuple(I, 2);
        tup->seq->v[0] = nd_value(I, r);
        tup->seq->v[1] = v_float(I, step);
        return tup;
    }
    return nd_value(I, r);
}

/* ------------------------------------------------------------------ elementwise */

/* a Python number in, a Python number out (np.log(2.0)); arrays stay arrays */
static Value *unary_fn(Elab *I, CallArgs *a, SrcLoc loc, const char *f)
{
    ARGS("x", "decimals");
    BIND(f, 1);
    int64_t dec = 0;
    if (av[1] && !as_int(I, av[1], loc, "decimals", &dec)) return NULL;
    if (av[1] && strcmp(f, "round") && strcmp(f, "around")) {
        diag_error(I->d, loc, "np.%s takes one argument", f);
        return NULL;
    }
    NdArray *x = arr(I, av[0], loc);
    if (!x) return NULL;
    NdArray *r = nd_unary(I, x, !strcmp(f, "around") ? "round" : !strcmp(f, "absolute") ? "abs" : f, (int)dec, loc);
    if (!r) return NULL;
    if (av[0]->kind != V_NDARRAY && r->rank == 0) return nd_scalar(I, r, 0);
    return nd_value(I, r);
}
#define UNARY(NAME) \
    static Value *np_##NAME(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return unary_fn(I, a, l, #NAME); }
UNARY(log)
UNARY(log2)
UNARY(exp)
UNARY(sqrt)
UNARY(abs)
UNARY(absolute)
UNARY(floor)
UNARY(ceil)
UNARY(round)
UNARY(around)

static Value *binary_fn(Elab *I, CallArgs *a, SrcLoc loc, const char *f, OpKind op)
{
    ARGS("x1", "x2");
    BIND(f, 2);
    Value *r = nd_binop(I, op, av[0], av[1], loc);
    if (r && av[0]->kind != V_NDARRAY && av[1]->kind != V_NDARRAY && r->nd->rank == 0) return nd_scalar(I, r->nd, 0);
    return r;
}
#define BINARY(NAME, OP) \
    static Value *np_##NAME(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return binary_fn(I, a, l, #NAME, OP); }
BINARY(add, OP_ADD)
BINARY(subtract, OP_SUB)
BINARY(multiply, OP_MUL)
BINARY(divide, OP_DIV)
BINARY(true_divide, OP_DIV)
BINARY(floor_divide, OP_FLOORDIV)
BINARY(power, OP_POW)
BINARY(mod, OP_MOD)

static Value *extremum2(Elab *I, CallArgs *a, SrcLoc loc, const char *f, bool is_max)
{
    ARGS("x1", "x2");
    BIND(f, 2);
    Value *c = nd_binop(I, is_max ? OP_GE : OP_LE, av[0], av[1], loc);
    NdArray *x = c ? arr(I, av[0], loc) : NULL, *y = x ? arr(I, av[1], loc) : NULL;
    return y ? nd_value(I, nd_where(I, c->nd, x, y, loc)) : NULL;
}
static Value *np_maximum(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return extremum2(I, a, l, "maximum", true); }
static Value *np_minimum(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return extremum2(I, a, l, "minimum", false); }

static Value *np_where(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("condition", "x", "y");
    BIND("where", 3);
    NdArray *c = arr(I, av[0], loc), *x = c ? arr(I, av[1], loc) : NULL, *y = x ? arr(I, av[2], loc) : NULL;
    return y ? nd_value(I, nd_where(I, c, x, y, loc)) : NULL;
}

static Value *np_clip(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("a", "a_min", "a_max");
    BIND("clip", 3);
    Value *r = av[0];
    if (av[1]->kind != V_NONE) {
        Value *c = nd_binop(I, OP_LT, r, av[1], loc);
        NdArray *x = c ? arr(I, av[1], loc) : NULL, *y = x ? arr(I, r, loc) : NULL;
        if (!y || !(r = nd_value(I, nd_where(I, c->nd, x, y, loc)))) return NULL;
    }
    if (av[2]->kind != V_NONE) {
        Value *c = nd_binop(I, OP_GT, r, av[2], loc);
        NdArray *x = c ? arr(I, av[2], loc) : NULL, *y = x ? arr(I, r, loc) : NULL;
        if (!y || !(r = nd_value(I, nd_where(I, c->nd, x, y, loc)))) return NULL;
    }
    return r;
}

/* ------------------------------------------------------------------ shapes, joins */

static NdArray **array_seq(Elab *I, Value *v, int *n, SrcLoc loc, const char *f)
{
    if (v->kind != V_LIST && v->kind != V_TUPLE && v->kind != V_NDARRAY) {
        diag_error(I->d, loc, "np.%s takes a sequence of arrays", f);
        return NULL;
    }
    Value *rows = v->kind == V_NDARRAY ? nd_rows(I, v->nd) : v;
    *n = rows->seq->n;
    NdArray **xs = ARENA_NEWN(I->a, NdArray *, *n ? *n : 1);
    for (int i = 0; i < *n; i++)
        if (!(xs[i] = arr(I, rows->seq->v[i], loc))) return NULL;
    return xs;
}

static Value *join(Elab *I, CallArgs *a, SrcLoc loc, const char *f, bool concat)
{
    ARGS("arrays", "axis");
    BIND(f, 1);
    int64_t axis = 0;
    int n;
    if (av[1] && !as_int(I, av[1], loc, "axis", &axis)) return NULL;
    NdArray **xs = array_seq(I, av[0], &n, loc, f);
    return xs ? nd_value(I, nd_stack(I, xs, n, axis, concat, loc)) : NULL;
}
static Value *np_stack(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return join(I, a, l, "stack", false); }
static Value *np_concatenate(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return join(I, a, l, "concatenate", true); }

/* np.split(a, sections or indices, axis=0): a list of arrays (copies, as all indexing here) */
static Value *np_split(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("ary", "indices_or_sections", "axis");
    BIND("split", 2);
    NdArray *x = arr(I, av[0], loc);
    if (!x) return NULL;
    int64_t axis = 0;
    if (av[2] && !as_int(I, av[2], loc, "axis", &axis)) return NULL;
    if (axis < 0) axis += x->rank;
    if (axis < 0 || axis >= x->rank) {
        diag_error(I->d, loc, "np.split: axis out of range for an array of rank %d", x->rank);
        return NULL;
    }
    int64_t len = x->dims[axis];
    int64_t cuts[66];
    int n_cuts = 0;
    if (av[1]->kind == V_INT) {
        int64_t k = av[1]->i;
        if (k <= 0 || len % k) {
            diag_error(I->d, loc, "ValueError: array split does not result in an equal division");
            return NULL;
        }
        if (k > 64) {
            diag_error(I->d, loc, "np.split: at most 64 sections in .bcl");
            return NULL;
        }
        for (int64_t i = 1; i < k; i++) cuts[n_cuts++] = i * (len / k);
    } else {
        Seq *ix = iterate(I, av[1], loc);
        if (!ix) return NULL;
        if (ix->n > 64) {
            diag_error(I->d, loc, "np.split: at most 64 indices in .bcl");
            return NULL;
        }
        for (int i = 0; i < ix->n; i++) {
            if (!as_int(I, ix->v[i], loc, "split index", &cuts[n_cuts])) return NULL;
            int64_t c = cuts[n_cuts];
            cuts[n_cuts++] = c < 0 ? (c + len < 0 ? 0 : c + len) : (c > len ? len : c);
        }
    }
    Value *out = v_list(I, 0);
    int64_t lo = 0;
    for (int i = 0; i <= n_cuts; i++) {
        int64_t hi = i < n_cuts ? cuts[i] : len;
        if (hi < lo) hi = lo;
        Value *idx = v_tuple(I, (int)axis + 1);
        for (int k = 0; k <= axis; k++) {
            Value *sl = ARENA_NEW(I->a, Value);
            sl->kind = V_SLICE;
            if (k == axis) {
                sl->slice.lo = v_int(I, lo);
                sl->slice.hi = v_int(I, hi);
            }
            idx->seq->v[k] = sl;
        }
        Value *part = nd_getitem(I, nd_value(I, x), idx, loc);
        if (!part) return NULL;
        seq_push(I, out->seq, part);
        lo = hi;
    }
    return out;
}

static Value *np_meshgrid(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    bool ij = false;
    for (int k = 0; k < a->n_kw; k++) {
        if (!strcmp(a->kw_names[k], "indexing") && a->kw[k]->kind == V_STR &&
            (!strcmp(a->kw[k]->str.s, "ij") || !strcmp(a->kw[k]->str.s, "xy"))) {
            ij = !strcmp(a->kw[k]->str.s, "ij");
            continue;
        }
        diag_error(I->d, loc, "np.meshgrid: only indexing='xy' or 'ij' is supported");
        return NULL;
    }
    int n = a->n_pos;
    if (n < 1 || n > BCL_MAX_RANK) {
        diag_error(I->d, loc, "np.meshgrid takes 1 to %d arrays", BCL_MAX_RANK);
        return NULL;
    }
    NdArray *xs[BCL_MAX_RANK];
    int64_t dims[BCL_MAX_RANK];
    for (int i = 0; i < n; i++) {
        if (!(xs[i] = arr(I, a->pos[i], loc))) return NULL;
        if (xs[i]->rank != 1) xs[i] = nd_reshape(I, xs[i], &xs[i]->n, 1, loc);
        dims[i] = xs[i]->n;
    }
    if (!ij && n >= 2) { int64_t t = dims[0]; dims[0] = dims[1]; dims[1] = t; }
    Value *out = v_tuple(I, n);
    for (int i = 0; i < n; i++) {
        NdArray *r = nd_new(I, xs[i]->dt, n, dims);
        int axis = (!ij && n >= 2 && i < 2) ? 1 - i : i;  /* the output axis that input i varies along */
        int64_t idx[BCL_MAX_RANK] = {0};
        for (int64_t k = 0; k < r->n; k++) {
            r->v[k] = xs[i]->v[idx[axis]];
            for (int j = n - 1; j >= 0; j--) {
                if (++idx[j] < dims[j]) break;
                idx[j] = 0;
            }
        }
        out->seq->v[i] = nd_value(I, r);
    }
    Value *l = v_list(I, 0);  /* numpy 1.x returns a list */
    for (int i = 0; i < n; i++) seq_push(I, l->seq, out->seq->v[i]);
    return l;
}

static Value *np_unique(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("ar", "return_index", "return_inverse", "return_counts");
    BIND("unique", 1);
    if ((av[1] && truthy(I, av[1], loc) == 1) || (av[2] && truthy(I, av[2], loc) == 1)) {
        diag_error(I->d, loc, "np.unique: return_index and return_inverse are not supported; return_counts is");
        return NULL;
    }
    NdArray *x = arr(I, av[0], loc);
    if (!x) return NULL;
    double *v = ARENA_NEWN(I->a, double, x->n ? x->n : 1);
    memcpy(v, x->v, (size_t)x->n * sizeof(double));
    /* insertion sort is enough for constructor-sized arrays; keep it simple and stable */
    for (int64_t i = 1; i < x->n; i++) {
        double t = v[i];
        int64_t j = i;
        while (j > 0 && v[j - 1] > t) { v[j] = v[j - 1]; j--; }
        v[j] = t;
    }
    int64_t m = 0;
    int64_t *cnt = ARENA_NEWN(I->a, int64_t, x->n ? x->n : 1);
    for (int64_t i = 0; i < x->n; i++) {
        if (m && v[m - 1] == v[i]) { cnt[m - 1]++; continue; }
        v[m] = v[i];
        cnt[m++] = 1;
    }
    NdArray *u = nd_new(I, x->dt, 1, &m);
    memcpy(u->v, v, (size_t)m * sizeof(double));
    if (!av[3] || truthy(I, av[3], loc) != 1) return nd_value(I, u);
    NdArray *c = nd_new(I, ND_INT64, 1, &m);
    for (int64_t i = 0; i < m; i++) c->v[i] = (double)cnt[i];
    Value *t = v_tuple(I, 2);
    t->seq->v[0] = nd_value(I, u);
    t->seq->v[1] = nd_value(I, c);
    return t;
}

/* ------------------------------------------------------------------ methods */

static int64_t dims_from_args(Elab *I, CallArgs *a, int64_t *dims, SrcLoc loc, const char *f)
{
    if (a->n_kw) {
        diag_error(I->d, loc, "%s: keyword arguments are not supported", f);
        return -1;
    }
    if (a->n_pos == 1 && (a->pos[0]->kind == V_TUPLE || a->pos[0]->kind == V_LIST)) return shape_arg(I, a->pos[0], dims, loc);
    if (a->n_pos > BCL_MAX_RANK) {
        diag_error(I->d, loc, "%s: at most %d dimensions", f, BCL_MAX_RANK);
        return -1;
    }
    for (int i = 0; i < a->n_pos; i++)
        if (!as_int(I, a->pos[i], loc, f, &dims[i])) return -1;
    return a->n_pos;
}

static Value *inherit(Value *r, const Value *self)
{
    if (r && r->kind == V_NDARRAY) r->nd->is_tensor = self->nd->is_tensor;
    return r;
}

static Value *m_reshape(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    int64_t dims[BCL_MAX_RANK];
    int64_t n = dims_from_args(I, a, dims, loc, "reshape");
    return n < 0 ? NULL : inherit(nd_value(I, nd_reshape(I, self->nd, dims, (int)n, loc)), self);
}

static Value *m_transpose(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    int64_t perm[BCL_MAX_RANK];
    int64_t n = dims_from_args(I, a, perm, loc, "transpose");
    if (n < 0) return NULL;
    if (n == 0) {
        n = self->nd->rank;
        for (int i = 0; i < n; i++) perm[i] = n - 1 - i;
    }
    return inherit(nd_value(I, nd_transpose(I, self->nd, perm, (int)n, loc)), self);
}

static Value *m_flatten(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    int64_t n = self->nd->n;
    return inherit(nd_value(I, nd_reshape(I, self->nd, &n, 1, loc)), self);
}

static Value *m_astype(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("dtype");
    BIND("astype", 1);
    int dt;
    if (!dtype_arg(I, av[0], &dt, loc)) return NULL;
    return inherit(nd_value(I, nd_astype(I, self->nd, dt < 0 ? self->nd->dt : (NdType)dt)), self);
}

static Value *m_copy(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return inherit(nd_value(I, nd_astype(I, self->nd, self->nd->dt)), self); }
/* tensor.numpy(): the values as a numpy array */
static Value *m_numpy(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return nd_value(I, nd_astype(I, self->nd, self->nd->dt)); }
static Value *m_tolist(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    return self->nd->rank == 0 ? nd_scalar(I, self->nd, 0) : nd_tolist(I, self->nd);
}

static Value *m_item(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (a->n_pos || a->n_kw || self->nd->n != 1) {
        if (!a->n_pos && self->nd->n != 1)
            diag_error(I->d, loc, "can only convert an array of size 1 to a Python scalar (this one has %lld elements)",
                       (long long)self->nd->n);
        else
            diag_error(I->d, loc, "item() with arguments is not supported");
        return NULL;
    }
    return nd_scalar(I, self->nd, 0);
}

static Value *m_round(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("decimals");
    BIND("round", 0);
    int64_t dec = 0;
    if (av[0] && !as_int(I, av[0], loc, "decimals", &dec)) return NULL;
    return inherit(nd_value(I, nd_unary(I, self->nd, "round", (int)dec, loc)), self);
}

static Value *reduce_m(Elab *I, Value *self, CallArgs *a, SrcLoc loc, int what, const char *f)
{
    ARGS("axis", "keepdims");
    BIND(f, 0);
    int keep = av[1] ? truthy(I, av[1], loc) : 0;
    if (keep < 0) return NULL;
    Value *r = nd_reduce(I, self->nd, what, av[0], keep, loc);
    if (r && r->kind != V_NDARRAY && self->nd->is_tensor) {  /* a tensor's full reduction is a 0-d tensor */
        NdArray *z = nd_new(I, self->nd->dt == ND_BOOL ? ND_INT32 : self->nd->dt, 0, NULL);
        z->v[0] = r->kind == V_FLOAT ? r->f : r->kind == V_INT ? (double)r->i : r->b;
        z->is_tensor = true;
        return nd_value(I, z);
    }
    return inherit(r, self);
}
static Value *m_sum(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_m(I, s, a, l, OP_ADD, "sum"); }
static Value *m_prod(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_m(I, s, a, l, OP_MUL, "prod"); }
static Value *m_max(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_m(I, s, a, l, 'M', "max"); }
static Value *m_min(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_m(I, s, a, l, 'm', "min"); }
static Value *m_mean(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_m(I, s, a, l, 'a', "mean"); }

Value *nd_attr(Elab *I, Value *v, const char *name, SrcLoc loc)
{
    NdArray *a = v->nd;
    if (!strcmp(name, "shape")) {
        Value *t = v_tuple(I, a->rank);
        for (int i = 0; i < a->rank; i++) t->seq->v[i] = v_int(I, a->dims[i]);
        return t;
    }
    if (!strcmp(name, "ndim")) return v_int(I, a->rank);
    if (!strcmp(name, "size")) return v_int(I, a->n);
    if (!strcmp(name, "dtype")) return v_str(I, nd_type_name(a->dt));
    if (!strcmp(name, "T")) {
        int64_t perm[BCL_MAX_RANK];
        for (int i = 0; i < a->rank; i++) perm[i] = a->rank - 1 - i;
        return nd_value(I, nd_transpose(I, a, perm, a->rank, loc));
    }
    static const struct { const char *name; NativeFn fn; } ms[] = {
        {"reshape", m_reshape}, {"transpose", m_transpose}, {"flatten", m_flatten}, {"ravel", m_flatten},
        {"astype", m_astype}, {"copy", m_copy}, {"tolist", m_tolist}, {"item", m_item}, {"sum", m_sum},
        {"prod", m_prod}, {"max", m_max}, {"min", m_min}, {"mean", m_mean}, {"round", m_round}, {"numpy", m_numpy},
    };
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
        if (!strcmp(ms[i].name, name)) return v_builtin(I, ms[i].name, ms[i].fn, v);
    if (loc.src) diag_error(I->d, loc, "'numpy.ndarray' object has no attribute '%s' in .bcl", name);
    return NULL;
}

/* np.sum(x, axis=...) and friends: the methods as functions */
static Value *reduce_fn(Elab *I, CallArgs *a, SrcLoc loc, int what, const char *f)
{
    if (a->n_pos < 1) {
        diag_error(I->d, loc, "np.%s takes an array", f);
        return NULL;
    }
    NdArray *x = arr(I, a->pos[0], loc);
    if (!x) return NULL;
    CallArgs rest = *a;
    rest.n_pos--;
    rest.pos++;
    if (rest.pos_loc) rest.pos_loc++;
    return reduce_m(I, nd_value(I, x), &rest, loc, what, f);
}
static Value *np_sum(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, OP_ADD, "sum"); }
static Value *np_prod(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, OP_MUL, "prod"); }
static Value *np_max(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, 'M', "max"); }
static Value *np_min(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, 'm', "min"); }
static Value *np_mean(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reduce_fn(I, a, l, 'a', "mean"); }

static Value *np_reshape(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("a", "newshape");
    BIND("reshape", 2);
    int64_t dims[BCL_MAX_RANK];
    NdArray *x = arr(I, av[0], loc);
    int n = x ? shape_arg(I, av[1], dims, loc) : -1;
    return n < 0 ? NULL : nd_value(I, nd_reshape(I, x, dims, n, loc));
}

static Value *np_transpose(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("a", "axes");
    BIND("transpose", 1);
    NdArray *x = arr(I, av[0], loc);
    if (!x) return NULL;
    int64_t perm[BCL_MAX_RANK];
    int n = x->rank;
    if (av[1] && av[1]->kind != V_NONE) {
        if ((n = shape_arg(I, av[1], perm, loc)) < 0) return NULL;
    } else {
        for (int i = 0; i < n; i++) perm[i] = n - 1 - i;
    }
    return nd_value(I, nd_transpose(I, x, perm, n, loc));
}

static Value *np_expand_dims(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("a", "axis");
    BIND("expand_dims", 2);
    NdArray *x = arr(I, av[0], loc);
    int64_t ax;
    if (!x || !as_int(I, av[1], loc, "axis", &ax)) return NULL;
    int r = x->rank + 1;
    if (ax < -r || ax >= r || r > BCL_MAX_RANK) {
        diag_error(I->d, loc, "axis %lld is out of bounds for array of dimension %d", (long long)ax, r);
        return NULL;
    }
    if (ax < 0) ax += r;
    int64_t d[BCL_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++) d[i] = i == ax ? 1 : x->dims[j++];
    return nd_value(I, nd_reshape(I, x, d, r, loc));
}

Value *native_numpy(Elab *I)
{
    Value *ns = new_namespace(I, "numpy");
    static const struct { const char *name; NativeFn fn; } fs[] = {
        {"zeros", np_zeros}, {"ones", np_ones}, {"full", np_full}, {"zeros_like", np_zeros_like},
        {"ones_like", np_ones_like}, {"array", np_array}, {"asarray", np_asarray}, {"arange", np_arange},
        {"linspace", np_linspace}, {"log", np_log}, {"log2", np_log2}, {"exp", np_exp}, {"sqrt", np_sqrt},
        {"abs", np_abs}, {"absolute", np_absolute}, {"floor", np_floor}, {"ceil", np_ceil}, {"round", np_round},
        {"around", np_around}, {"add", np_add}, {"subtract", np_subtract}, {"multiply", np_multiply},
        {"divide", np_divide}, {"true_divide", np_true_divide}, {"floor_divide", np_floor_divide},
        {"power", np_power}, {"mod", np_mod}, {"maximum", np_maximum}, {"minimum", np_minimum},
        {"where", np_where}, {"clip", np_clip}, {"stack", np_stack}, {"concatenate", np_concatenate},
        {"meshgrid", np_meshgrid}, {"unique", np_unique}, {"sum", np_sum}, {"prod", np_prod}, {"max", np_max},
        {"min", np_min}, {"amax", np_max}, {"amin", np_min}, {"mean", np_mean}, {"reshape", np_reshape},
        {"transpose", np_transpose}, {"expand_dims", np_expand_dims}, {"split", np_split},
    };
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) ns_add(I, ns, fs[i].name, fs[i].fn);
    static const char *const dtypes[] = {"bool_", "int32", "int64", "float32", "float64", "intp", "float_", "int_"};
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++) env_set(I, ns->ns->env, dtypes[i], v_str(I, dtypes[i]));
    env_set(I, ns->ns->env, "pi", v_float(I, M_PI));
    env_set(I, ns->ns->env, "e", v_float(I, M_E));
    env_set(I, ns->ns->env, "inf", v_float(I, INFINITY));
    env_set(I, ns->ns->env, "newaxis", V_NONE_);
    return ns;
}
