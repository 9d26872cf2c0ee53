/* Compile-time arrays (ndarray.h): creation, dtype promotion as numpy's, broadcasting
 * arithmetic and comparisons, basic / boolean / integer indexing, reductions. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/ndarray.h"

#define ND_MAX_ELEMS (1 << 24)

static const char *const type_names[] = {"bool", "int32", "int64", "float32", "float64"};

const char *nd_type_name(NdType t) { return type_names[t]; }

static bool is_float_t(NdType t) { return t == ND_FLOAT32 || t == ND_FLOAT64; }

int nd_type_of(const Value *v)
{
    if (v->kind == V_STR) {
        static const struct { const char *n; NdType t; } names[] = {
            {"bool", ND_BOOL}, {"bool_", ND_BOOL}, {"int32", ND_INT32}, {"int64", ND_INT64}, {"int", ND_INT64},
            {"float32", ND_FLOAT32}, {"float64", ND_FLOAT64}, {"float", ND_FLOAT64}, {"float_", ND_FLOAT64},
            {"int_", ND_INT64}, {"intp", ND_INT64}, {"double", ND_FLOAT64}, {"single", ND_FLOAT32},
        };
        for (size_t i = 0; i < sizeof names / sizeof *names; i++)
            if (!strcmp(v->str.s, names[i].n)) return (int)names[i].t;
        return -1;
    }
    if (v->kind == V_CLASS) {
        if (v->cls->tk == TK_INT) return ND_INT64;
        if (v->cls->tk == TK_FLOAT) return ND_FLOAT64;
        if (v->cls->tk == TK_BOOL) return ND_BOOL;
    }
    return -1;
}

double nd_cast(NdType t, double x)
{
    switch (t) {
    case ND_BOOL: return x != 0;
    case ND_INT32: return (double)(int32_t)(int64_t)x;
    case ND_INT64: return isfinite(x) ? (double)(int64_t)x : x;
    case ND_FLOAT32: return (double)(float)x;
    case ND_FLOAT64: return x;
    }
    return x;
}

NdArray *nd_new(Elab *I, NdType dt, int rank, const int64_t *dims)
{
    NdArray *a = ARENA_NEW(I->a, NdArray);
    a->dt = dt;
    a->rank = rank;
    a->n = 1;
    for (int i = 0; i < rank; i++) {
        a->dims[i] = dims[i];
        a->n *= dims[i];
    }
    a->v = ARENA_NEWN(I->a, double, a->n > 0 ? a->n : 1);
    return a;
}

static NdArray *checked_new(Elab *I, NdType dt, int rank, const int64_t *dims, SrcLoc loc)
{
    if (rank > BCL_MAX_RANK) {
        diag_error(I->d, loc, "arrays of more than %d dimensions are not supported", BCL_MAX_RANK);
        return NULL;
    }
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) {
            diag_error(I->d, loc, "negative dimensions are not allowed");
            return NULL;
        }
        if (dims[i] && n > ND_MAX_ELEMS / dims[i]) {
            diag_error(I->d, loc, "compile-time array too large (more than %d elements)", ND_MAX_ELEMS);
            return NULL;
        }
        n *= dims[i];
    }
    return nd_new(I, dt, rank, dims);
}

Value *nd_value(Elab *I, NdArray *a)
{
    if (!a) return NULL;
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_NDARRAY;
    v->nd = a;
    return v;
}

Value *nd_scalar(Elab *I, const NdArray *a, int64_t i)
{
    double x = a->v[i];
    switch (a->dt) {
    case ND_BOOL: return v_bool(x != 0);
    case ND_INT32: case ND_INT64: return v_np_scalar(I, true, x);
    default: return v_np_scalar(I, false, x);
    }
}

static Value *tolist_at(Elab *I, const NdArray *a, int axis, int64_t off, int64_t stride)
{
    if (axis == a->rank) return nd_scalar(I, a, off);
    int64_t inner = stride / (a->dims[axis] ? a->dims[axis] : 1);
    Value *l = v_list(I, 0);
    for (int64_t i = 0; i < a->dims[axis]; i++) seq_push(I, l->seq, tolist_at(I, a, axis + 1, off + i * inner, inner));
    return l;
}

Value *nd_tolist(Elab *I, const NdArray *a) { return tolist_at(I, a, 0, 0, a->n); }

const char *nd_repr(Elab *I, const NdArray *a)
{
    const char *body = v_repr(I, nd_tolist(I, a));
    if (a->dt == ND_INT64 || a->dt == ND_FLOAT64 || a->dt == ND_BOOL) return arena_printf(I->a, "array(%s)", body);
    return arena_printf(I->a, "array(%s, dtype=%s)", body, nd_type_name(a->dt));
}

Value *nd_rows(Elab *I, const NdArray *a)
{
    Value *l = v_list(I, 0);
    if (a->rank == 0) return l;
    int64_t inner = a->dims[0] ? a->n / a->dims[0] : 0;
    for (int64_t i = 0; i < a->dims[0]; i++) {
        if (a->rank == 1) {
            seq_push(I, l->seq, nd_scalar(I, a, i));
            continue;
        }
        NdArray *r = nd_new(I, a->dt, a->rank - 1, a->dims + 1);
        memcpy(r->v, a->v + i * inner, (size_t)inner * sizeof(double));
        seq_push(I, l->seq, nd_value(I, r));
    }
    return l;
}

/* ------------------------------------------------------------------ from Python values */

static bool shape_of(Elab *I, Value *v, int depth, int64_t *dims, int *rank, SrcLoc loc)
{
    if (v->kind == V_LIST || v->kind == V_TUPLE) {
        if (depth >= BCL_MAX_RANK) {
            diag_error(I->d, loc, "np.array: nested more than %d deep", BCL_MAX_RANK);
            return false;
        }
        dims[depth] = v->seq->n;
        if (depth + 1 > *rank) *rank = depth + 1;
        if (v->seq->n) return shape_of(I, v->seq->v[0], depth + 1, dims, rank, loc);
        return true;
    }
    if (v->kind == V_NDARRAY) {
        for (int i = 0; i < v->nd->rank; i++) dims[depth + i] = v->nd->dims[i];
        if (depth + v->nd->rank > *rank) *rank = depth + v->nd->rank;
    }
    return true;
}

static bool fill_from(Elab *I, Value *v, int depth, int rank, const int64_t *dims, double *out, int64_t *k, int *kind,
                      SrcLoc loc)
{
    if (depth == rank) {
        switch (v->kind) {
        case V_BOOL: out[(*k)++] = v->b; return true;
        case V_INT: out[(*k)++] = (double)v->i; if (*kind < 1) *kind = 1; return true;
        case V_FLOAT: out[(*k)++] = v->f; *kind = 2; return true;
        case V_NDARRAY:
            if (v->nd->rank == 0) {
                out[(*k)++] = v->nd->v[0];
                int kk = is_float_t(v->nd->dt) ? 2 : v->nd->dt == ND_BOOL ? 0 : 1;
                if (kk > *kind) *kind = kk;
                return true;
            }
            break;
        default: break;
        }
        diag_error(I->d, loc, "expected numbers or (nested) lists of numbers, got %s", v_type_name(v));
        return false;
    }
    if (v->kind == V_NDARRAY) {
        NdArray *a = v->nd;
        if (a->rank != rank - depth || memcmp(a->dims, dims + depth, sizeof(int64_t) * (size_t)a->rank)) goto ragged;
        memcpy(out + *k, a->v, (size_t)a->n * sizeof(double));
        *k += a->n;
        int kk = is_float_t(a->dt) ? 2 : a->dt == ND_BOOL ? 0 : 1;
        if (kk > *kind) *kind = kk;
        return true;
    }
    if ((v->kind != V_LIST && v->kind != V_TUPLE) || v->seq->n != dims[depth]) goto ragged;
    for (int i = 0; i < v->seq->n; i++)
        if (!fill_from(I, v->seq->v[i], depth + 1, rank, dims, out, k, kind, loc)) return false;
    return true;
ragged:
    diag_error(I->d, loc, "the nested lists are ragged (not of one shape)");
    return false;
}

NdArray *nd_from_value(Elab *I, Value *v, int dt, SrcLoc loc)
{
    if (v->kind == V_NDARRAY) return dt < 0 || (NdType)dt == v->nd->dt ? v->nd : nd_astype(I, v->nd, (NdType)dt);
    int64_t dims[BCL_MAX_RANK] = {0};
    int rank = 0;
    if (!shape_of(I, v, 0, dims, &rank, loc)) return NULL;
    NdArray *a = checked_new(I, ND_FLOAT64, rank, dims, loc);
    if (!a) return NULL;
    int64_t k = 0;
    int kind = 0;  /* 0 bool, 1 int, 2 float */
    if (!fill_from(I, v, 0, rank, dims, a->v, &k, &kind, loc)) return NULL;
    /* the widest array inside decides too: float32 arrays stay float32 */
    a->dt = kind == 2 ? ND_FLOAT64 : kind == 1 ? ND_INT64 : ND_BOOL;
    if (v->kind == V_NDARRAY) a->dt = v->nd->dt;
    if (dt >= 0) a->dt = (NdType)dt;
    for (int64_t i = 0; i < a->n; i++) a->v[i] = nd_cast(a->dt, a->v[i]);
    return a;
}

NdArray *nd_astype(Elab *I, const NdArray *a, NdType dt)
{
    NdArray *r = nd_new(I, dt, a->rank, a->dims);
    for (int64_t i = 0; i < a->n; i++) r->v[i] = nd_cast(dt, a->v[i]);
    return r;
}

NdArray *nd_reshape(Elab *I, const NdArray *a, const int64_t *dims, int n, SrcLoc loc)
{
    int64_t d[BCL_MAX_RANK];
    int infer = -1;
    int64_t known = 1;
    if (n > BCL_MAX_RANK) {
        diag_error(I->d, loc, "reshape: at most %d dimensions", BCL_MAX_RANK);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        d[i] = dims[i];
        if (dims[i] == -1) {
            if (infer >= 0) {
                diag_error(I->d, loc, "reshape: can only specify one unknown dimension");
                return NULL;
            }
            infer = i;
        } else if (dims[i] < 0) {
            diag_error(I->d, loc, "reshape: negative dimension %lld", (long long)dims[i]);
            return NULL;
        } else {
            known *= dims[i];
        }
    }
    if (infer >= 0 && known && a->n % known == 0) d[infer] = a->n / known;
    else if (infer >= 0) known = -1;
    int64_t total = 1;
    for (int i = 0; i < n; i++) total *= d[i];
    if (known < 0 || total != a->n) {
        diag_error(I->d, loc, "cannot reshape array of size %lld into the requested shape", (long long)a->n);
        return NULL;
    }
    NdArray *r = nd_new(I, a->dt, n, d);
    memcpy(r->v, a->v, (size_t)a->n * sizeof(double));
    return r;
}

static void strides_of(const NdArray *a, int64_t *st)
{
    int64_t s = 1;
    for (int i = a->rank - 1; i >= 0; i--) {
        st[i] = s;
        s *= a->dims[i];
    }
}

NdArray *nd_transpose(Elab *I, const NdArray *a, const int64_t *perm, int n, SrcLoc loc)
{
    int64_t p[BCL_MAX_RANK];
    bool seen[BCL_MAX_RANK] = {0};
    if (n != a->rank) {
        diag_error(I->d, loc, "transpose: axes don't match array (%d axes for an array of rank %d)", n, a->rank);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        int64_t x = perm[i] < 0 ? perm[i] + n : perm[i];
        if (x < 0 || x >= n || seen[x]) {
            diag_error(I->d, loc, "transpose: axes must be a permutation of the dimensions");
            return NULL;
        }
        seen[x] = true;
        p[i] = x;
    }
    int64_t d[BCL_MAX_RANK], st[BCL_MAX_RANK], idx[BCL_MAX_RANK] = {0};
    for (int i = 0; i < n; i++) d[i] = a->dims[p[i]];
    strides_of(a, st);
    NdArray *r = nd_new(I, a->dt, n, d);
    for (int64_t k = 0; k < r->n; k++) {
        int64_t off = 0;
        for (int i = 0; i < n; i++) off += idx[i] * st[p[i]];
        r->v[k] = a->v[off];
        for (int i = n - 1; i >= 0; i--) {
            if (++idx[i] < d[i]) break;
            idx[i] = 0;
        }
    }
    return r;
}

/* ------------------------------------------------------------------ promotion, broadcasting */

/* numpy's result type of an array and a Python scalar (kind 0 bool, 1 int, 2 float):
 * the scalar does not widen the array's own kind. */
static NdType with_scalar(NdType t, int kind)
{
    if (kind == 2) return is_float_t(t) ? t : ND_FLOAT64;
    if (kind == 1) return t == ND_BOOL ? ND_INT64 : t;
    return t;
}

static NdType promote(NdType a, NdType b)
{
    if (a == b) return a;
    if (a > b) { NdType t = a; a = b; b = t; }
    if (b == ND_FLOAT32 && (a == ND_INT32 || a == ND_INT64)) return ND_FLOAT64;
    return b;
}

static bool broadcast(Elab *I, const NdArray *x, const NdArray *y, int *rank, int64_t *dims, SrcLoc loc)
{
    int r = x->rank > y->rank ? x->rank : y->rank;
    for (int i = 0; i < r; i++) {
        int64_t a = i - (r - x->rank) >= 0 ? x->dims[i - (r - x->rank)] : 1;
        int64_t b = i - (r - y->rank) >= 0 ? y->dims[i - (r - y->rank)] : 1;
        if (a != b && a != 1 && b != 1) {
            diag_error(I->d, loc, "operands could not be broadcast together (dimension %d: %lld vs %lld)", i, (long long)a,
                       (long long)b);
            return false;
        }
        dims[i] = a == 1 ? b : a;
    }
    *rank = r;
    return true;
}

/* the offset in x of output element idx (output rank r), broadcasting x's size-1 axes */
static int64_t bcast_off(const NdArray *x, const int64_t *st, const int64_t *idx, int r)
{
    int64_t off = 0;
    for (int i = 0; i < x->rank; i++) {
        int oi = i + (r - x->rank);
        if (x->dims[i] != 1) off += idx[oi] * st[i];
    }
    return off;
}

static double floor_mod(double a, double b)
{
    double m = fmod(a, b);
    if (m != 0 && ((m < 0) != (b < 0))) m += b;
    return m;
}

static bool apply_op(Elab *I, OpKind op, NdType t, double a, double b, double *out, SrcLoc loc)
{
    bool is_int = !is_float_t(t) && t != ND_BOOL;
    switch (op) {
    case OP_ADD: *out = t == ND_BOOL ? (a || b) : a + b; return true;
    case OP_SUB: *out = a - b; return true;
    case OP_MUL: *out = t == ND_BOOL ? (a && b) : a * b; return true;
    case OP_DIV: *out = a / b; return true;
    case OP_FLOORDIV:
        if (is_int && b == 0) goto zero;
        *out = floor(a / b);
        return true;
    case OP_MOD:
        if (is_int && b == 0) goto zero;
        *out = b == 0 ? NAN : floor_mod(a, b);
        return true;
    case OP_POW:
        if (is_int && b < 0) {
            diag_error(I->d, loc, "integers to negative integer powers are not allowed (numpy); use a float array");
            return false;
        }
        *out = pow(a, b);
        return true;
    case OP_BITAND: case OP_BITOR: case OP_BITXOR: case OP_LSHIFT: case OP_RSHIFT: {
        /* numpy's bitwise ufuncs: on bool and integer arrays only (logic on bools) */
        if (is_float_t(t) || (t == ND_BOOL && (op == OP_LSHIFT || op == OP_RSHIFT))) {
            diag_error(I->d, loc, "TypeError: operator '%s' is not supported for %s arrays (numpy's bitwise ufuncs "
                       "take bool and integer arrays)", op_text(op), nd_type_name(t));
            return false;
        }
        int64_t x = (int64_t)a, y = (int64_t)b;
        if ((op == OP_LSHIFT || op == OP_RSHIFT) && (y < 0 || y > 63)) {
            *out = op == OP_RSHIFT && x < 0 ? -1 : 0;   /* numpy: shifts past the width give 0 (or -1) */
            return true;
        }
        uint64_t ux = (uint64_t)x;
        *out = op == OP_BITAND ? (double)(x & y) : op == OP_BITOR ? (double)(x | y) : op == OP_BITXOR ? (double)(x ^ y)
             : op == OP_LSHIFT ? (double)(int64_t)(ux << y) : (double)(x >> y);
        return true;
    }
    case OP_EQ: *out = a == b; return true;
    case OP_NE: *out = a != b; return true;
    case OP_LT: *out = a < b; return true;
    case OP_LE: *out = a <= b; return true;
    case OP_GT: *out = a > b; return true;
    case OP_GE: *out = a >= b; return true;
    default:
        diag_error(I->d, loc, "operator '%s' is not supported on arrays", op_text(op));
        return false;
    }
zero:
    diag_error(I->d, loc, "integer division or modulo by zero in an array operation");
    return false;
}

static bool is_compare(OpKind op) { return op == OP_EQ || op == OP_NE || op == OP_LT || op == OP_LE || op == OP_GT || op == OP_GE; }

/* operand as an array, with its "kind" when it is a Python scalar (-1 for arrays) */
static NdArray *operand(Elab *I, Value *v, int *scalar_kind, SrcLoc loc)
{
    *scalar_kind = -1;
    if (v->kind == V_NDARRAY) return v->nd;
    if (v->kind == V_BOOL || v->kind == V_INT || v->kind == V_FLOAT) {
        *scalar_kind = v->kind == V_BOOL ? 0 : v->kind == V_INT ? 1 : 2;
        NdArray *a = nd_new(I, v->kind == V_FLOAT ? ND_FLOAT64 : v->kind == V_INT ? ND_INT64 : ND_BOOL, 0, NULL);
        a->v[0] = v->kind == V_BOOL ? v->b : v->kind == V_INT ? (double)v->i : v->f;
        return a;
    }
    if (v->kind == V_LIST || v->kind == V_TUPLE) return nd_from_value(I, v, -1, loc);
    diag_error(I->d, loc, "unsupported operand type for an array operation: '%s'", v_type_name(v));
    return NULL;
}

static NdArray *elementwise(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc)
{
    int kl, kr;
    NdArray *x = operand(I, l, &kl, loc), *y = x ? operand(I, r, &kr, loc) : NULL;
    if (!x || !y) return NULL;
    NdType t;
    if (kl >= 0 && kr >= 0) t = promote(x->dt, y->dt);
    else if (kl >= 0) t = with_scalar(y->dt, kl);
    else if (kr >= 0) t = with_scalar(x->dt, kr);
    else t = promote(x->dt, y->dt);
    NdType out_t = t;
    if (op == OP_DIV && !is_float_t(t)) out_t = t = ND_FLOAT64;
    if (op == OP_SUB && t == ND_BOOL) {
        diag_error(I->d, loc, "numpy boolean subtract is not supported; use ^ or logical_xor");
        return NULL;
    }
    if ((op == OP_POW || op == OP_FLOORDIV || op == OP_MOD) && t == ND_BOOL) out_t = t = ND_INT64;
    if (is_compare(op)) out_t = ND_BOOL;
    int rank;
    int64_t dims[BCL_MAX_RANK], sx[BCL_MAX_RANK], sy[BCL_MAX_RANK], idx[BCL_MAX_RANK] = {0};
    if (!broadcast(I, x, y, &rank, dims, loc)) return NULL;
    NdArray *o = checked_new(I, out_t, rank, dims, loc);
    if (!o) return NULL;
    strides_of(x, sx);
    strides_of(y, sy);
    for (int64_t k = 0; k < o->n; k++) {
        double a = nd_cast(t, x->v[bcast_off(x, sx, idx, rank)]);
        double b = nd_cast(t, y->v[bcast_off(y, sy, idx, rank)]);
        double z;
        if (!apply_op(I, op, t, a, b, &z, loc)) return NULL;
        o->v[k] = nd_cast(out_t, z);
        for (int i = rank - 1; i >= 0; i--) {
            if (++idx[i] < dims[i]) break;
            idx[i] = 0;
        }
    }
    return o;
}

Value *nd_binop(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc)
{
    if (op == OP_MATMUL) {
        diag_error(I->d, loc, "'@' on compile-time arrays is not supported; use loops or np.dot-free code");
        return NULL;
    }
    NdArray *o = elementwise(I, op, l, r, loc);
    if (o) o->is_tensor = (l->kind == V_NDARRAY && l->nd->is_tensor) || (r->kind == V_NDARRAY && r->nd->is_tensor);
    return nd_value(I, o);
}

NdArray *nd_where(Elab *I, const NdArray *c, const NdArray *x, const NdArray *y, SrcLoc loc)
{
    int r1, rank;
    int64_t d1[BCL_MAX_RANK], dims[BCL_MAX_RANK], sc[BCL_MAX_RANK], sx[BCL_MAX_RANK], sy[BCL_MAX_RANK];
    int64_t idx[BCL_MAX_RANK] = {0};
    if (!broadcast(I, x, y, &r1, d1, loc)) return NULL;
    NdArray tmp = {.rank = r1};
    memcpy(tmp.dims, d1, sizeof d1);
    if (!broadcast(I, c, &tmp, &rank, dims, loc)) return NULL;
    NdType t = promote(x->dt, y->dt);
    NdArray *o = checked_new(I, t, rank, dims, loc);
    if (!o) return NULL;
    strides_of(c, sc);
    strides_of(x, sx);
    strides_of(y, sy);
    for (int64_t k = 0; k < o->n; k++) {
        bool take_x = c->v[bcast_off(c, sc, idx, rank)] != 0;
        o->v[k] = nd_cast(t, take_x ? x->v[bcast_off(x, sx, idx, rank)] : y->v[bcast_off(y, sy, idx, rank)]);
        for (int i = rank - 1; i >= 0; i--) {
            if (++idx[i] < dims[i]) break;
            idx[i] = 0;
        }
    }
    return o;
}

NdArray *nd_unary(Elab *I, const NdArray *a, const char *fn, int decimals, SrcLoc loc)
{
    bool keeps = !strcmp(fn, "abs") || !strcmp(fn, "neg") || !strcmp(fn, "round");
    NdType t = keeps ? (a->dt == ND_BOOL && strcmp(fn, "round") ? ND_INT64 : a->dt) : (is_float_t(a->dt) ? a->dt : ND_FLOAT64);
    if ((!strcmp(fn, "floor") || !strcmp(fn, "ceil")) && !is_float_t(a->dt)) t = ND_FLOAT64;
    NdArray *o = nd_new(I, t, a->rank, a->dims);
    double scale = pow(10.0, decimals);
    for (int64_t i = 0; i < a->n; i++) {
        double x = a->v[i], z;
        if (!strcmp(fn, "log")) z = log(x);
        else if (!strcmp(fn, "log2")) z = log2(x);
        else if (!strcmp(fn, "exp")) z = exp(x);
        else if (!strcmp(fn, "sqrt")) z = sqrt(x);
        else if (!strcmp(fn, "abs")) z = fabs(x);
        else if (!strcmp(fn, "neg")) z = -x;
        else if (!strcmp(fn, "floor")) z = floor(x);
        else if (!strcmp(fn, "ceil")) z = ceil(x);
        else if (!strcmp(fn, "round")) z = decimals ? nearbyint(x * scale) / scale : nearbyint(x);  /* half to even */
        else {
            diag_error(I->d, loc, "np.%s is not supported", fn);
            return NULL;
        }
        o->v[i] = nd_cast(t, z);
    }
    return o;
}

/* ------------------------------------------------------------------ reductions */

static bool axis_set(Elab *I, Value *axis, int rank, bool *red, SrcLoc loc)
{
    for (int i = 0; i < rank; i++) red[i] = !axis || axis->kind == V_NONE;
    if (!axis || axis->kind == V_NONE) return true;
    Value *one[1] = {axis};
    Value **items = one;
    int n = 1;
    if (axis->kind == V_TUPLE || axis->kind == V_LIST) { items = axis->seq->v; n = axis->seq->n; }
    for (int k = 0; k < n; k++) {
        int64_t ax;
        if (!as_int(I, items[k], loc, "axis", &ax)) return false;
        if (ax < -rank || ax >= rank) {
            diag_error(I->d, loc, "axis %lld is out of bounds for array of dimension %d", (long long)ax, rank);
            return false;
        }
        red[ax < 0 ? ax + rank : ax] = true;
    }
    return true;
}

Value *nd_reduce(Elab *I, const NdArray *a, int what, Value *axis, bool keepdims, SrcLoc loc)
{
    bool red[BCL_MAX_RANK];
    if (!axis_set(I, axis, a->rank, red, loc)) return NULL;
    if (a->n == 0 && (what == 'M' || what == 'm')) {
        diag_error(I->d, loc, "zero-size array to reduction operation %s which has no identity", what == 'M' ? "maximum" : "minimum");
        return NULL;
    }
    NdType t = a->dt;
    if (what == OP_ADD || what == OP_MUL) t = (a->dt == ND_BOOL || a->dt == ND_INT32) ? ND_INT64 : a->dt;
    if (what == 'a') t = is_float_t(a->dt) ? a->dt : ND_FLOAT64;
    int64_t od[BCL_MAX_RANK];
    int orank = 0;
    bool all = true;
    for (int i = 0; i < a->rank; i++) {
        if (!red[i]) { od[orank++] = a->dims[i]; all = false; }
        else if (keepdims) od[orank++] = 1;
    }
    if (keepdims) all = false;
    NdArray *o = nd_new(I, t, orank, od);
    int64_t *cnt = ARENA_NEWN(I->a, int64_t, o->n > 0 ? o->n : 1);
    for (int64_t k = 0; k < o->n; k++) o->v[k] = what == OP_MUL ? 1 : 0;
    int64_t idx[BCL_MAX_RANK] = {0};
    for (int64_t k = 0; k < a->n; k++) {
        int64_t off = 0;
        for (int i = 0; i < a->rank; i++)
            if (!red[i]) off = off * a->dims[i] + idx[i];
        double x = a->v[k];
        double *dst = &o->v[off];
        switch (what) {
        case OP_ADD: case 'a': *dst += x; break;
        case OP_MUL: *dst *= x; break;
        case 'M': if (!cnt[off] || x > *dst || isnan(x)) *dst = x; break;
        case 'm': if (!cnt[off] || x < *dst || isnan(x)) *dst = x; break;
        }
        cnt[off]++;
        for (int i = a->rank - 1; i >= 0; i--) {
            if (++idx[i] < a->dims[i]) break;
            idx[i] = 0;
        }
    }
    for (int64_t k = 0; k < o->n; k++) {
        if (what == 'a') o->v[k] = cnt[k] ? o->v[k] / (double)cnt[k] : NAN;
        o->v[k] = nd_cast(t, o->v[k]);
    }
    return all ? nd_scalar(I, o, 0) : nd_value(I, o);
}

NdArray *nd_stack(Elab *I, NdArray **xs, int n, int64_t axis, bool concat, SrcLoc loc)
{
    if (n == 0) {
        diag_error(I->d, loc, "need at least one array to %s", concat ? "concatenate" : "stack");
        return NULL;
    }
    NdType t = xs[0]->dt;
    for (int i = 1; i < n; i++) t = promote(t, xs[i]->dt);
    int r = xs[0]->rank;
    int orank = concat ? r : r + 1;
    if (concat && r == 0) {
        diag_error(I->d, loc, "zero-dimensional arrays cannot be concatenated");
        return NULL;
    }
    if (axis < -orank || axis >= orank) {
        diag_error(I->d, loc, "axis %lld is out of bounds for array of dimension %d", (long long)axis, orank);
        return NULL;
    }
    if (axis < 0) axis += orank;
    int64_t od[BCL_MAX_RANK];
    int64_t along = 0;
    for (int i = 0; i < n; i++) {
        bool ok = xs[i]->rank == r;
        for (int k = 0; ok && k < r; k++) ok = concat && k == axis ? true : xs[i]->dims[k] == xs[0]->dims[k];
        if (!ok) {
            diag_error(I->d, loc, "all the input arrays must have the same shape%s", concat ? " (except along the axis)" : "");
            return NULL;
        }
        along += concat ? xs[i]->dims[axis] : 1;
    }
    if (!concat)
        for (int k = 0, j = 0; k < orank; k++) od[k] = k == axis ? n : xs[0]->dims[j++];
    else
        for (int k = 0; k < orank; k++) od[k] = k == axis ? along : xs[0]->dims[k];
    NdArray *o = checked_new(I, t, orank, od, loc);
    if (!o) return NULL;
    /* outer = product of dims before axis; each input contributes a block per outer index */
    int64_t outer = 1;
    for (int k = 0; k < axis; k++) outer *= od[k];
    int64_t w = 0;
    for (int64_t b = 0; b < outer; b++)
        for (int i = 0; i < n; i++) {
            int64_t blk = xs[i]->n / (outer ? outer : 1);
            for (int64_t e = 0; e < blk; e++) o->v[w++] = nd_cast(t, xs[i]->v[b * blk + e]);
        }
    return o;
}

/* ------------------------------------------------------------------ indexing */

/* One index of basic indexing resolved: source axis indices per output axis. */
typedef struct IndexPlan {
    int rank;                     /* output rank */
    int64_t dims[BCL_MAX_RANK];
    int src_axis[BCL_MAX_RANK];   /* -1 for a None axis */
    int64_t start[BCL_MAX_RANK], step[BCL_MAX_RANK];
    int64_t base;                 /* offset of the integer-indexed axes */
} IndexPlan;

static bool plan_basic(Elab *I, const NdArray *a, Value *idx, IndexPlan *p, SrcLoc loc)
{
    Value *one[1] = {idx};
    Value **items = one;
    int n = 1;
    if (idx->kind == V_TUPLE) { items = idx->seq->v; n = idx->seq->n; }
    int64_t st[BCL_MAX_RANK];
    strides_of(a, st);
    int used = 0, n_ell = 0;
    for (int k = 0; k < n; k++) {
        if (items[k] == I->ellipsis) n_ell++;
        else if (items[k]->kind != V_NONE) used++;
    }
    if (n_ell > 1) {
        diag_error(I->d, loc, "an index can only have a single ellipsis ('...')");
        return false;
    }
    if (used > a->rank) {
        diag_error(I->d, loc, "too many indices for array: array is %d-dimensional, but %d were indexed", a->rank, used);
        return false;
    }
    memset(p, 0, sizeof *p);
    int ax = 0;
    for (int k = 0; k <= n; k++) {
        bool fill = k == n || items[k] == I->ellipsis;
        if (fill) {
            int upto = k == n ? a->rank : ax + (a->rank - used);
            for (; ax < upto; ax++) {
                if (p->rank >= BCL_MAX_RANK) goto too_many;
                p->src_axis[p->rank] = ax;
                p->start[p->rank] = 0;
                p->step[p->rank] = 1;
                p->dims[p->rank++] = a->dims[ax];
            }
            continue;
        }
        Value *it = items[k];
        if (it->kind == V_NONE) {
            if (p->rank >= BCL_MAX_RANK) goto too_many;
            p->src_axis[p->rank] = -1;
            p->dims[p->rank++] = 1;
        } else if (it->kind == V_INT || it->kind == V_BOOL) {
            int64_t i = it->kind == V_INT ? it->i : it->b, d = a->dims[ax];
            if (i < -d || i >= d) {
                diag_error(I->d, loc, "index %lld is out of bounds for axis %d with size %lld", (long long)i, ax, (long long)d);
                return false;
            }
            p->base += (i < 0 ? i + d : i) * st[ax];
            ax++;
        } else if (it->kind == V_SLICE) {
            int64_t s, stp, cnt;
            if (!slice_indices(I, it, a->dims[ax], loc, &s, &stp, &cnt)) return false;
            if (p->rank >= BCL_MAX_RANK) goto too_many;
            p->src_axis[p->rank] = ax;
            p->start[p->rank] = s;
            p->step[p->rank] = stp;
            p->dims[p->rank++] = cnt;
            ax++;
        } else {
            diag_error(I->d, loc, "array indices must be integers, slices, None, '...' or one boolean / integer array, not %s",
                       v_type_name(it));
            return false;
        }
    }
    return true;
too_many:
    diag_error(I->d, loc, "indexing gives more than %d dimensions", BCL_MAX_RANK);
    return false;
}

/* source offset of each output element of plan p, in order */
static void plan_offsets(const NdArray *a, const IndexPlan *p, int64_t *offs, int64_t n)
{
    int64_t st[BCL_MAX_RANK], idx[BCL_MAX_RANK] = {0};
    strides_of(a, st);
    for (int64_t k = 0; k < n; k++) {
        int64_t off = p->base;
        for (int i = 0; i < p->rank; i++)
            if (p->src_axis[i] >= 0) off += (p->start[i] + idx[i] * p->step[i]) * st[p->src_axis[i]];
        offs[k] = off;
        for (int i = p->rank - 1; i >= 0; i--) {
            if (++idx[i] < p->dims[i]) break;
            idx[i] = 0;
        }
    }
}

static bool is_mask(const NdArray *a, const Value *idx)
{
    return idx->kind == V_NDARRAY && idx->nd->dt == ND_BOOL && idx->nd->rank == a->rank &&
           !memcmp(idx->nd->dims, a->dims, sizeof(int64_t) * (size_t)a->rank);
}

Value *nd_getitem(Elab *I, Value *arr, Value *idx, SrcLoc loc)
{
    NdArray *a = arr->nd;
    if (is_mask(a, idx)) {
        int64_t cnt = 0;
        for (int64_t k = 0; k < a->n; k++) cnt += idx->nd->v[k] != 0;
        NdArray *o = nd_new(I, a->dt, 1, &cnt);
        for (int64_t k = 0, w = 0; k < a->n; k++)
            if (idx->nd->v[k] != 0) o->v[w++] = a->v[k];
        o->is_tensor = a->is_tensor;
        return nd_value(I, o);
    }
    if (idx->kind == V_NDARRAY || idx->kind == V_LIST) {
        /* integer array: rows along axis 0 (numpy's take) */
        NdArray *ix = nd_from_value(I, idx, -1, loc);
        if (!ix) return NULL;
        if (is_float_t(ix->dt) || ix->dt == ND_BOOL || a->rank == 0) {
            diag_error(I->d, loc, "arrays used as indices must be of integer type (or a boolean mask of the array's shape)");
            return NULL;
        }
        int64_t inner = a->dims[0] ? a->n / a->dims[0] : 0;
        int64_t od[BCL_MAX_RANK];
        int orank = ix->rank + a->rank - 1;
        if (orank > BCL_MAX_RANK) {
            diag_error(I->d, loc, "indexing gives more than %d dimensions", BCL_MAX_RANK);
            return NULL;
        }
        for (int i = 0; i < ix->rank; i++) od[i] = ix->dims[i];
        for (int i = 1; i < a->rank; i++) od[ix->rank + i - 1] = a->dims[i];
        NdArray *o = checked_new(I, a->dt, orank, od, loc);
        if (!o) return NULL;
        for (int64_t k = 0; k < ix->n; k++) {
            int64_t r = (int64_t)ix->v[k];
            if (r < -a->dims[0] || r >= a->dims[0]) {
                diag_error(I->d, loc, "index %lld is out of bounds for axis 0 with size %lld", (long long)r, (long long)a->dims[0]);
                return NULL;
            }
            if (r < 0) r += a->dims[0];
            memcpy(o->v + k * inner, a->v + r * inner, (size_t)inner * sizeof(double));
        }
        o->is_tensor = a->is_tensor;
        return nd_value(I, o);
    }
    IndexPlan p;
    if (!plan_basic(I, a, idx, &p, loc)) return NULL;
    NdArray *o = nd_new(I, a->dt, p.rank, p.dims);
    int64_t *offs = ARENA_NEWN(I->a, int64_t, o->n > 0 ? o->n : 1);
    plan_offsets(a, &p, offs, o->n);
    for (int64_t k = 0; k < o->n; k++) o->v[k] = a->v[offs[k]];
    if (p.rank == 0 && !a->is_tensor) return nd_scalar(I, o, 0);  /* a[i, j]: a Python number */
    o->is_tensor = a->is_tensor;
    return nd_value(I, o);
}

bool nd_setitem(Elab *I, Value *arr, Value *idx, Value *v, SrcLoc loc)
{
    NdArray *a = arr->nd;
    int kind;
    NdArray *src = operand(I, v, &kind, loc);
    if (!src) return false;
    if (is_mask(a, idx)) {
        int64_t cnt = 0;
        for (int64_t k = 0; k < a->n; k++) cnt += idx->nd->v[k] != 0;
        if (src->n != 1 && !(src->rank == 1 && src->dims[0] == cnt)) {
            diag_error(I->d, loc, "boolean mask assignment: %lld values for %lld selected elements", (long long)src->n,
                       (long long)cnt);
            return false;
        }
        for (int64_t k = 0, r = 0; k < a->n; k++)
            if (idx->nd->v[k] != 0) a->v[k] = nd_cast(a->dt, src->v[src->n == 1 ? 0 : r++]);
        return true;
    }
    IndexPlan p;
    if (!plan_basic(I, a, idx, &p, loc)) return false;
    int64_t n = 1;
    for (int i = 0; i < p.rank; i++) n *= p.dims[i];
    NdArray target = {.rank = p.rank};
    memcpy(target.dims, p.dims, sizeof p.dims);
    int rank;
    int64_t dims[BCL_MAX_RANK], ss[BCL_MAX_RANK], ix[BCL_MAX_RANK] = {0};
    if (!broadcast(I, &target, src, &rank, dims, loc)) return false;
    if (rank != p.rank || memcmp(dims, p.dims, sizeof(int64_t) * (size_t)rank)) {
        diag_error(I->d, loc, "could not broadcast the assigned value into the indexed shape");
        return false;
    }
    int64_t *offs = ARENA_NEWN(I->a, int64_t, n > 0 ? n : 1);
    plan_offsets(a, &p, offs, n);
    strides_of(src, ss);
    /* read every value first: the source may be the target itself */
    double *vals = ARENA_NEWN(I->a, double, n > 0 ? n : 1);
    for (int64_t k = 0; k < n; k++) {
        vals[k] = src->v[bcast_off(src, ss, ix, rank)];
        for (int i = rank - 1; i >= 0; i--) {
            if (++ix[i] < dims[i]) break;
            ix[i] = 0;
        }
    }
    for (int64_t k = 0; k < n; k++) a->v[offs[k]] = nd_cast(a->dt, vals[k]);
    return true;
}

uint8_t nd_ir_dtype(NdType t)
{
    return t == ND_BOOL ? IR_DT_BOOL : t == ND_INT32 || t == ND_INT64 ? IR_DT_I32 : IR_DT_F32;
}

Value *nd_to_buffer(Elab *I, const NdArray *a, SrcLoc loc)
{
    if (a->rank == 0 || a->n == 0) {
        diag_error(I->d, loc, "a tensor attribute of a module becomes a buffer and must have at least one element "
                              "and one dimension");
        return NULL;
    }
    ParamObj *p = ARENA_NEW(I->a, ParamObj);
    p->shape.rank = a->rank;
    for (int i = 0; i < a->rank; i++) p->shape.d[i] = a->dims[i];
    float *data = ARENA_NEWN(I->a, float, a->n);
    for (int64_t k = 0; k < a->n; k++) data[k] = (float)a->v[k];
    p->data = data;
    p->init = INIT_ZEROS;
    p->buffer = true;
    p->loc = loc;
    p->dtype = nd_ir_dtype(a->dt);
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_PARAM;
    v->param = p;
    return v;
}
