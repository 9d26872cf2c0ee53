/* The compile-time evaluator: expressions, statements, calls, classes, attributes.
 * Every function returning Value* returns NULL after reporting an error. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/eval.h"
#include "frontend/ndarray.h"

static Value *err(Elab *I, SrcLoc loc, const char *msg) __attribute__((unused));

/* ------------------------------------------------------------------ helpers */

void callargs_init(CallArgs *a) { memset(a, 0, sizeof *a); }

static void grow_args(Elab *I, void **p, int n, size_t sz)
{
    /* capacities are powers of two from 4 */
    if (n >= 4 && (n & (n - 1))) return;
    if (n < 4 && n != 0) return;
    int cap = n ? n * 2 : 4;
    *p = arena_grow(I->a, *p, (size_t)n, (size_t)cap, sz);
}

void callargs_pos(Elab *I, CallArgs *a, Value *v, SrcLoc loc)
{
    grow_args(I, (void **)&a->pos, a->n_pos, sizeof(Value *));
    grow_args(I, (void **)&a->pos_loc, a->n_pos, sizeof(SrcLoc));
    a->pos[a->n_pos] = v;
    a->pos_loc[a->n_pos] = loc;
    a->n_pos++;
}

void callargs_kw(Elab *I, CallArgs *a, const char *name, Value *v, SrcLoc loc, SrcLoc origin)
{
    grow_args(I, (void **)&a->kw_names, a->n_kw, sizeof(char *));
    grow_args(I, (void **)&a->kw, a->n_kw, sizeof(Value *));
    grow_args(I, (void **)&a->kw_loc, a->n_kw, sizeof(SrcLoc));
    grow_args(I, (void **)&a->kw_origin, a->n_kw, sizeof(SrcLoc));
    a->kw_names[a->n_kw] = name;
    a->kw[a->n_kw] = v;
    a->kw_loc[a->n_kw] = loc;
    a->kw_origin[a->n_kw] = origin;
    a->n_kw++;
}

static Value *err(Elab *I, SrcLoc loc, const char *msg)
{
    diag_error(I->d, loc, "%s", msg);
    return NULL;
}

static Value *poisoned(Value *v) { return v && v->kind == V_POISON ? NULL : v; }

/* A module bclc does not provide may be imported, and named, but not used. */
static Value *use_placeholder(Elab *I, Value *p, SrcLoc loc)
{
    diag_error(I->d, loc, "module '%s' is not provided by bclc, so it cannot be used at compile time",
               p->placeholder->module);
    diag_note(I->d, p->placeholder->import_loc, "'%s' was imported here", p->placeholder->module);
    return NULL;
}

ClassObj *native_class(Elab *I, const char *name, TypeKind tk, NativeFn construct)
{
    ClassObj *c = ARENA_NEW(I->a, ClassObj);
    c->name = name;
    c->tk = tk;
    c->construct = construct;
    c->n_mro = 1;
    c->mro = ARENA_NEWN(I->a, ClassObj *, 1);
    c->mro[0] = c;
    return c;
}

Value *new_namespace(Elab *I, const char *name)
{
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_NAMESPACE;
    v->ns = ARENA_NEW(I->a, NamespaceObj);
    v->ns->name = name;
    v->ns->env = env_new(I, NULL);
    return v;
}

void ns_add(Elab *I, Value *ns, const char *name, NativeFn fn)
{
    env_set(I, ns->ns->env, name, v_builtin(I, name, fn, NULL));
}

Value *class_lookup(ClassObj *c, const char *name)
{
    for (int i = 0; i < c->n_mro; i++) {
        Value *v = dict_get_str(&c->mro[i]->attrs, name);
        if (v) return v;
    }
    return NULL;
}

const char *callable_name(Elab *I, Value *f)
{
    switch (f->kind) {
    case V_FUNC: return f->fn->qualname;
    case V_BOUND: return callable_name(I, f->bound.fn);
    case V_CLASS:
        if (f->cls->construct) return NULL;
        return arena_printf(I->a, "%s.__init__", f->cls->name);
    case V_OBJECT: return arena_printf(I->a, "%s.forward", f->obj->cls->name);
    default: return NULL;
    }
}

/* ------------------------------------------------------------------ numbers */

static bool is_intlike(const Value *v) { return v->kind == V_INT || v->kind == V_BOOL; }
static int64_t ival(const Value *v) { return v->kind == V_INT ? v->i : v->b; }
static bool is_number(const Value *v) { return is_intlike(v) || v->kind == V_FLOAT; }
static double fval(const Value *v) { return v->kind == V_FLOAT ? v->f : (double)ival(v); }

static Value *overflow(Elab *I, SrcLoc loc)
{
    return err(I, loc, "integer overflow: the result does not fit in 64 bits");
}

static Value *int_pow(Elab *I, int64_t b, int64_t e, SrcLoc loc)
{
    int64_t r = 1;
    while (e > 0) {
        if (e & 1)
            if (__builtin_mul_overflow(r, b, &r)) return overflow(I, loc);
        e >>= 1;
        if (e && __builtin_mul_overflow(b, b, &b)) return overflow(I, loc);
    }
    return v_int(I, r);
}

static Value *num_binop(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc)
{
    if (is_intlike(l) && is_intlike(r)) {
        int64_t a = ival(l), b = ival(r), x;
        switch (op) {
        case OP_ADD: if (__builtin_add_overflow(a, b, &x)) return overflow(I, loc); return v_int(I, x);
        case OP_SUB: if (__builtin_sub_overflow(a, b, &x)) return overflow(I, loc); return v_int(I, x);
        case OP_MUL: if (__builtin_mul_overflow(a, b, &x)) return overflow(I, loc); return v_int(I, x);
        case OP_DIV:
            if (b == 0) return err(I, loc, "division by zero");
            return v_float(I, (double)a / (double)b);
        case OP_FLOORDIV:
        case OP_MOD: {
            if (b == 0) return err(I, loc, op == OP_MOD ? "modulo by zero" : "integer division by zero");
            if (a == INT64_MIN && b == -1) {
                if (op == OP_MOD) return v_int(I, 0);
                return overflow(I, loc);
            }
            int64_t q = a / b, m = a % b;
            if (m != 0 && ((m < 0) != (b < 0))) { q--; m += b; }  /* Python floors */
            return v_int(I, op == OP_MOD ? m : q);
        }
        case OP_POW:
            if (b < 0) return v_float(I, pow((double)a, (double)b));
            return int_pow(I, a, b, loc);
        case OP_BITAND: case OP_BITOR: case OP_BITXOR: {
            int64_t x = op == OP_BITAND ? (a & b) : op == OP_BITOR ? (a | b) : (a ^ b);
            return l->kind == V_BOOL && r->kind == V_BOOL ? v_bool(x != 0) : v_int(I, x);
        }
        case OP_LSHIFT:
        case OP_RSHIFT:
            if (b < 0) return err(I, loc, "negative shift count");
            if (op == OP_RSHIFT) return v_int(I, b >= 64 ? (a < 0 ? -1 : 0) : a >> b);
            if (a == 0) return v_int(I, 0);
            if (b >= 63 || (a > 0 ? a > (INT64_MAX >> b) : a < (INT64_MIN >> b))) return overflow(I, loc);
            return v_int(I, (int64_t)((uint64_t)a << b));
        default: break;
        }
    } else if (op >= OP_BITAND && op <= OP_RSHIFT) {
        diag_error(I->d, loc, "unsupported operand type(s) for %s: '%s' and '%s'", op_text(op), v_type_name(l), v_type_name(r));
        return NULL;
    } else {
        double a = fval(l), b = fval(r);
        switch (op) {
        case OP_ADD: return v_float(I, a + b);
        case OP_SUB: return v_float(I, a - b);
        case OP_MUL: return v_float(I, a * b);
        case OP_DIV:
            if (b == 0) return err(I, loc, "float division by zero");
            return v_float(I, a / b);
        case OP_FLOORDIV:
            if (b == 0) return err(I, loc, "float floor division by zero");
            return v_float(I, floor(a / b));
        case OP_MOD: {
            if (b == 0) return err(I, loc, "float modulo by zero");
            double m = fmod(a, b);
            if (m != 0 && ((m < 0) != (b < 0))) m += b;
            return v_float(I, m);
        }
        case OP_POW:
            if (a < 0 && b != floor(b)) return err(I, loc, "negative number raised to a fractional power");
            if (a == 0 && b < 0) return err(I, loc, "0.0 cannot be raised to a negative power");
            if (isinf(pow(a, b)) && !isinf(a) && !isinf(b)) return err(I, loc, "float overflow in '**': the result is out of range");
            return v_float(I, pow(a, b));
        default: break;
        }
    }
    return NULL;
}

static Value *seq_repeat(Elab *I, Value *s, int64_t n, SrcLoc loc)
{
    if (n < 0) n = 0;
    if ((s->kind == V_STR ? s->str.len : s->seq->n) == 0) n = 0;  /* '' * 10**18 is '' at once */
    if (s->kind == V_STR) {
        if (n && s->str.len > (int64_t)(1 << 26) / n) return err(I, loc, "string too long");
        char *buf = arena_alloc(I->a, (size_t)(s->str.len * n + 1));
        for (int64_t i = 0; i < n; i++) memcpy(buf + i * s->str.len, s->str.s, (size_t)s->str.len);
        return v_strn(I, buf, s->str.len * n);
    }
    if (n && s->seq->n > (1 << 22) / n) return err(I, loc, "sequence too long");
    Value *r = s->kind == V_LIST ? v_list(I, 0) : v_tuple(I, 0);
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < s->seq->n; j++) seq_push(I, r->seq, s->seq->v[j]);
    return r;
}

static int compare_values(Elab *I, Value *l, Value *r, SrcLoc loc, bool *ok);
static int compare_d(Elab *I, Value *l, Value *r, SrcLoc loc, bool *ok, int depth);

static bool contains(Elab *I, Value *container, Value *x, SrcLoc loc, bool *ok)
{
    *ok = true;
    switch (container->kind) {
    case V_LIST:
    case V_TUPLE:
        for (int i = 0; i < container->seq->n; i++)
            if (v_equal(container->seq->v[i], x)) return true;
        return false;
    case V_DICT: case V_SET: case V_FROZENSET: return dict_find(container->dict, x) != NULL;
    case V_ITER: {
        bool done = false;
        for (;;) {
            Value *v = iter_next(I, container, loc, &done);
            if (!v) { *ok = done; return false; }
            if (v_equal(v, x)) return true;
        }
    }
    case V_STR:
        if (x->kind != V_STR) break;
        if (x->str.len == 0) return true;
        for (int64_t i = 0; i + x->str.len <= container->str.len; i++)
            if (!memcmp(container->str.s + i, x->str.s, (size_t)x->str.len)) return true;
        return false;
    case V_RANGE: {
        if (!is_intlike(x)) return false;
        int64_t v = ival(x), s = container->range.start, e = container->range.stop, st = container->range.step;
        if (st > 0 ? (v < s || v >= e) : (v > s || v <= e)) return false;
        return (v - s) % st == 0;
    }
    case V_NAMESPACE: {
        Registry *r = registry_of(I, container);
        if (r) return registry_has(r, x);
        break;
    }
    case V_OBJECT: {
        /* Python's order: __contains__, then iteration (__iter__) */
        Value *has = try_attr(I, container, "__contains__");
        if (has) {
            Value *r = call1(I, has, x, loc);
            int t = r ? truthy(I, r, loc) : -1;
            *ok = t >= 0;
            return t > 0;
        }
        if (try_attr(I, container, "__iter__")) {
            Seq *s = iterate(I, container, loc);
            if (!s) { *ok = false; return false; }
            for (int i = 0; i < s->n; i++)
                if (v_equal(s->v[i], x)) return true;
            return false;
        }
        break;
    }
    default: break;
    }
    *ok = false;
    diag_error(I->d, loc, "argument of type '%s' does not support 'in'", v_type_name(container));
    return false;
}

static bool is_identical(const Value *a, const Value *b)
{
    if (a == b) return true;
    if (a->kind != b->kind) return false;
    switch (a->kind) {
    case V_NONE: return true;
    case V_BOOL: case V_INT: case V_FLOAT: case V_STR: return v_equal(a, b);
    case V_LIST: case V_TUPLE: return a->seq == b->seq;
    case V_DICT: return a->dict == b->dict;
    default: return v_equal(a, b);
    }
}

/* -1, 0, 1 for ordering comparisons; *ok false on an error. */
static int compare_values(Elab *I, Value *l, Value *r, SrcLoc loc, bool *ok) { return compare_d(I, l, r, loc, ok, 0); }

static int compare_d(Elab *I, Value *l, Value *r, SrcLoc loc, bool *ok, int depth)
{
    *ok = true;
    if (depth > 200) {
        *ok = false;
        diag_error(I->d, loc, "comparison nested too deeply (a list that contains itself?)");
        return 0;
    }
    if (is_number(l) && is_number(r)) {
        if (is_intlike(l) && is_intlike(r)) return ival(l) < ival(r) ? -1 : ival(l) > ival(r);
        double a = fval(l), b = fval(r);
        return a < b ? -1 : a > b;
    }
    if (l->kind == V_STR && r->kind == V_STR) {
        int64_t n = l->str.len < r->str.len ? l->str.len : r->str.len;
        int c = memcmp(l->str.s, r->str.s, (size_t)n);
        if (c) return c < 0 ? -1 : 1;
        return l->str.len < r->str.len ? -1 : l->str.len > r->str.len;
    }
    if ((l->kind == V_LIST || l->kind == V_TUPLE) && l->kind == r->kind) {
        for (int i = 0; i < l->seq->n && i < r->seq->n; i++) {
            if (v_equal(l->seq->v[i], r->seq->v[i])) continue;
            return compare_d(I, l->seq->v[i], r->seq->v[i], loc, ok, depth + 1);
        }
        return l->seq->n < r->seq->n ? -1 : l->seq->n > r->seq->n;
    }
    *ok = false;
    diag_error(I->d, loc, "'<' not supported between instances of '%s' and '%s'", v_type_name(l),
               v_type_name(r));
    return 0;
}

/* A dunder method a .bcl class defines (not the builtin ones), bound to obj; NULL if none. */
static Value *user_dunder(Elab *I, Value *obj, const char *name)
{
    if (obj->kind != V_OBJECT || obj->obj->cls->tk == TK_EXCEPTION) return NULL;
    Value *m = class_lookup(obj->obj->cls, name);
    return m && m->kind == V_FUNC ? try_attr(I, obj, name) : NULL;
}

/* What a tensor comparison takes on either side: tensors, numbers, compile-time arrays. */
static bool is_tensor_operand(const Value *v)
{
    return v->kind == V_TENSOR || v->kind == V_PARAM || v->kind == V_NDARRAY || v->kind == V_INT ||
           v->kind == V_FLOAT || v->kind == V_BOOL;
}

static Value *compare(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc)
{
    bool ok = true;
    if ((op == OP_EQ || op == OP_NE) && (l->kind == V_OBJECT || r->kind == V_OBJECT)) {
        /* a class's __eq__ (the left operand's first, as Python tries it) */
        Value *eq = user_dunder(I, l, "__eq__"), *other = r;
        if (!eq) eq = user_dunder(I, r, "__eq__"), other = l;
        if (eq) {
            Value *res = call1(I, eq, other, loc);
            int t = res ? truthy(I, res, loc) : -1;
            if (t < 0) return NULL;
            return v_bool(op == OP_EQ ? t : !t);
        }
        /* dict subclasses compare as their dicts */
        Value *dl = l->kind == V_OBJECT && l->obj->dict_base ? l->obj->dict_base : l;
        Value *dr = r->kind == V_OBJECT && r->obj->dict_base ? r->obj->dict_base : r;
        if (dl != l || dr != r) return compare(I, op, dl, dr, loc);
    }
    if ((op == OP_LT || op == OP_LE || op == OP_GT || op == OP_GE) && (l->kind == V_SET || l->kind == V_FROZENSET))
        return set_binop(I, op, l, r, loc);
    if ((l->kind == V_NDARRAY || r->kind == V_NDARRAY) && op != OP_IS && op != OP_ISNOT && op != OP_IN && op != OP_NOTIN &&
        l->kind != V_TENSOR && r->kind != V_TENSOR)
        return nd_binop(I, op, l, r, loc);
    if ((l->kind == V_TENSOR || r->kind == V_TENSOR || (I->tracing && (l->kind == V_PARAM || r->kind == V_PARAM))) &&
        op >= OP_EQ && op <= OP_GE && is_tensor_operand(l) && is_tensor_operand(r))
        return tensor_binop(I, op, l, r, loc);   /* an elementwise mask, as MegEngine's */
    if ((l->kind == V_TENSOR || r->kind == V_TENSOR) && op != OP_IS && op != OP_ISNOT)
        return err(I, loc, "comparing tensors is not supported: the result would depend on tensor data, which is not known at compile time");
    switch (op) {
    case OP_EQ: return v_bool(v_equal(l, r));
    case OP_NE: return v_bool(!v_equal(l, r));
    case OP_IS: return v_bool(is_identical(l, r));
    case OP_ISNOT: return v_bool(!is_identical(l, r));
    case OP_IN:
    case OP_NOTIN: {
        bool c = contains(I, r, l, loc, &ok);
        if (!ok) return NULL;
        return v_bool(op == OP_IN ? c : !c);
    }
    default: {
        int c = compare_values(I, l, r, loc, &ok);
        if (!ok) return NULL;
        switch (op) {
        case OP_LT: return v_bool(c < 0);
        case OP_LE: return v_bool(c <= 0);
        case OP_GT: return v_bool(c > 0);
        case OP_GE: return v_bool(c >= 0);
        default: return NULL;
        }
    }
    }
}

Value *binop(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc)
{
    if (op >= OP_EQ) return compare(I, op, l, r, loc);
    if ((l->kind == V_NDARRAY || r->kind == V_NDARRAY) && l->kind != V_TENSOR && r->kind != V_TENSOR &&
        l->kind != V_PARAM && r->kind != V_PARAM)
        return nd_binop(I, op, l, r, loc);
    if (!I->tracing && (l->kind == V_PARAM || r->kind == V_PARAM)) {
        param_at_compile_time(I, l->kind == V_PARAM ? l : r, loc, op_text(op));
        return NULL;
    }
    if (l->kind == V_TENSOR || r->kind == V_TENSOR || l->kind == V_PARAM || r->kind == V_PARAM)
        return tensor_binop(I, op, l, r, loc);
    if (is_number(l) && is_number(r) && op != OP_MATMUL) return num_binop(I, op, l, r, loc);
    if (l->kind == V_SET || l->kind == V_FROZENSET) return set_binop(I, op, l, r, loc);
    if (l->kind == V_PLACEHOLDER || r->kind == V_PLACEHOLDER) return use_placeholder(I, l->kind == V_PLACEHOLDER ? l : r, loc);
    /* a namedtuple in `+` and `*` is the tuple of its fields (p + (1,) is a tuple) */
    if ((op == OP_ADD || op == OP_MUL) && (tuple_like(l) || tuple_like(r))) {
        Value *lt = tuple_like(l) ? dict_get_str(&l->obj->attrs, "_values") : l;
        Value *rt = tuple_like(r) ? dict_get_str(&r->obj->attrs, "_values") : r;
        if (lt && rt && (lt != l || rt != r)) return binop(I, op, lt, rt, loc);
    }
    if (op == OP_ADD) {
        /* compile-time values stay small: doubling loops must not exhaust memory */
        if ((l->kind == V_STR && r->kind == V_STR && l->str.len + r->str.len > (1 << 26)) ||
            ((l->kind == V_LIST || l->kind == V_TUPLE) && l->kind == r->kind && l->seq->n + r->seq->n > (1 << 22)))
            return err(I, loc, "value too large for compile-time evaluation");
        if (l->kind == V_STR && r->kind == V_STR) {
            char *buf = arena_alloc(I->a, (size_t)(l->str.len + r->str.len + 1));
            memcpy(buf, l->str.s, (size_t)l->str.len);
            memcpy(buf + l->str.len, r->str.s, (size_t)r->str.len);
            return v_strn(I, buf, l->str.len + r->str.len);
        }
        if ((l->kind == V_LIST || l->kind == V_TUPLE) && l->kind == r->kind) {
            Value *res = l->kind == V_LIST ? v_list(I, 0) : v_tuple(I, 0);
            for (int i = 0; i < l->seq->n; i++) seq_push(I, res->seq, l->seq->v[i]);
            for (int i = 0; i < r->seq->n; i++) seq_push(I, res->seq, r->seq->v[i]);
            return res;
        }
    }
    if (op == OP_MUL) {
        if ((l->kind == V_STR || l->kind == V_LIST || l->kind == V_TUPLE) && is_intlike(r))
            return seq_repeat(I, l, ival(r), loc);
        if ((r->kind == V_STR || r->kind == V_LIST || r->kind == V_TUPLE) && is_intlike(l))
            return seq_repeat(I, r, ival(l), loc);
    }
    diag_error(I->d, loc, "unsupported operand type(s) for %s: '%s' and '%s'", op_text(op),
               v_type_name(l), v_type_name(r));
    return NULL;
}

static Value *bind_method(Elab *I, Value *f, Value *self);

int truthy(Elab *I, Value *v, SrcLoc loc)
{
    switch (v->kind) {
    case V_NONE: return 0;
    case V_BOOL: return v->b;
    case V_INT: return v->i != 0;
    case V_FLOAT: return v->f != 0;
    case V_STR: return v->str.len != 0;
    case V_LIST: case V_TUPLE: return v->seq->n != 0;
    case V_DICT: case V_SET: case V_FROZENSET: return v->dict->n != 0;
    case V_PLACEHOLDER: use_placeholder(I, v, loc); return -1;
    case V_RANGE:
        return v->range.step > 0 ? v->range.start < v->range.stop : v->range.start > v->range.stop;
    case V_NDARRAY:
        if (v->nd->n != 1) {
            diag_error(I->d, loc, "the truth value of an array with more than one element is ambiguous; use a.any() or a.all()");
            return -1;
        }
        return v->nd->v[0] != 0;
    case V_TENSOR: case V_PARAM:
        diag_error(I->d, loc, "condition depends on tensor data, which is not known at compile time");
        return -1;
    case V_OBJECT: {
        /* Python's truth of an object: __bool__, else __len__ (an empty Sequential is false) */
        bool by_len = false;
        Value *m = class_lookup(v->obj->cls, "__bool__");
        if (!m && (m = class_lookup(v->obj->cls, "__len__"))) by_len = true;
        if (!m && v->obj->dict_base) return v->obj->dict_base->dict->n != 0;
        if (!m || m->kind != V_FUNC) return 1;
        Value *r = call0(I, bind_method(I, m, v), loc);
        if (!r) return -1;
        if (by_len ? !is_intlike(r) : r->kind != V_BOOL) {
            diag_error(I->d, loc, by_len ? "'%s' object cannot be interpreted as an integer" : "__bool__ should return bool, returned %s",
                       v_type_name(r));
            return -1;
        }
        return by_len ? ival(r) != 0 : r->b;
    }
    default: return 1;
    }
}

/* ------------------------------------------------------------------ iteration, subscripts */

Seq *iterate(Elab *I, Value *v, SrcLoc loc)
{
    Seq *s = ARENA_NEW(I->a, Seq);
    switch (v->kind) {
    case V_LIST:
    case V_TUPLE:
        for (int i = 0; i < v->seq->n; i++) seq_push(I, s, v->seq->v[i]);
        return s;
    case V_DICT:
    case V_SET:
    case V_FROZENSET:
        for (int i = 0; i < v->dict->n; i++) seq_push(I, s, v->dict->e[i].key);
        return s;
    case V_ITER:
        for (;;) {
            bool done = false;
            Value *x = iter_next(I, v, loc, &done);
            if (done) return s;
            if (!x) return NULL;
            if (s->n >= (1 << 22)) {
                diag_error(I->d, loc, "iterator too long to iterate at compile time");
                return NULL;
            }
            seq_push(I, s, x);
        }
    case V_PLACEHOLDER: use_placeholder(I, v, loc); return NULL;
    case V_STR:
        for (int64_t i = 0; i < v->str.len; i++) seq_push(I, s, v_strn(I, v->str.s + i, 1));
        return s;
    case V_RANGE: {
        int64_t st = v->range.step;
        int64_t n = 0;
        for (int64_t i = v->range.start; st > 0 ? i < v->range.stop : i > v->range.stop; i += st) {
            if (++n > (1 << 22)) {
                diag_error(I->d, loc, "range too long to iterate at compile time");
                return NULL;
            }
            seq_push(I, s, v_int(I, i));
            if ((st > 0 && i > INT64_MAX - st) || (st < 0 && i < INT64_MIN - st)) break;
        }
        return s;
    }
    case V_OBJECT: {
        Value *it = class_lookup(v->obj->cls, "__iter__");
        if (!it && v->obj->dict_base) return iterate(I, v->obj->dict_base, loc);
        if (it) {
            Value *b = ARENA_NEW(I->a, Value);
            b->kind = V_BOUND;
            b->bound.fn = it;
            b->bound.self = v;
            Value *r = call0(I, b, loc);
            if (!r) return NULL;
            if (r->kind == V_OBJECT && !is_iterator(I, r)) {
                diag_error(I->d, loc, "__iter__ must return a list, a tuple or an iterator in .bcl");
                return NULL;
            }
            return iterate(I, r, loc);
        }
        break;
    }
    case V_NDARRAY:
        if (v->nd->rank == 0) break;
        return iterate(I, nd_rows(I, v->nd), loc);
    case V_TENSOR:
        diag_error(I->d, loc, "iterating over a tensor is not supported in .bcl; index it with x[i]");
        return NULL;
    default: break;
    }
    diag_error(I->d, loc, "'%s' object is not iterable", v_type_name(v));
    return NULL;
}

static bool index_of(Elab *I, Value *idx, int64_t n, SrcLoc loc, int64_t *out, const char *what)
{
    if (!is_intlike(idx)) {
        diag_error(I->d, loc, "%s indices must be integers, not %s", what, v_type_name(idx));
        return false;
    }
    int64_t i = ival(idx);
    if (i < 0) i += n;
    if (i < 0 || i >= n) {
        diag_error(I->d, loc, "%s index %" PRId64 " out of range (length %" PRId64 ")", what, ival(idx), n);
        return false;
    }
    *out = i;
    return true;
}

/* Python's slice.indices: normalised start, stop, step and the element count. */
bool slice_indices(Elab *I, Value *sl, int64_t n, SrcLoc loc, int64_t *start, int64_t *step, int64_t *count)
{
    int64_t st = 1, lo, hi;
    Value *vs[3] = {sl->slice.lo, sl->slice.hi, sl->slice.step};
    for (int i = 0; i < 3; i++)
        if (vs[i] && vs[i]->kind != V_NONE && !is_intlike(vs[i])) {
            diag_error(I->d, loc, "slice indices must be integers or None, not %s", v_type_name(vs[i]));
            return false;
        }
    if (vs[2] && vs[2]->kind != V_NONE) st = ival(vs[2]);
    if (st == 0) {
        diag_error(I->d, loc, "slice step cannot be zero");
        return false;
    }
    if (st > 0) { lo = 0; hi = n; } else { lo = n - 1; hi = -1; }
    if (vs[0] && vs[0]->kind != V_NONE) {
        lo = ival(vs[0]);
        if (lo < 0) lo += n;
        if (st > 0) lo = lo < 0 ? 0 : lo > n ? n : lo;
        else lo = lo < -1 ? -1 : lo > n - 1 ? n - 1 : lo;
    }
    if (vs[1] && vs[1]->kind != V_NONE) {
        hi = ival(vs[1]);
        if (hi < 0) hi += n;
        if (st > 0) hi = hi < 0 ? 0 : hi > n ? n : hi;
        else hi = hi < -1 ? -1 : hi > n - 1 ? n - 1 : hi;
    }
    int64_t c = 0;
    if (st > 0 && hi > lo) c = (hi - lo + st - 1) / st;
    if (st < 0 && lo > hi) c = (lo - hi + (-st) - 1) / (-st);
    *start = lo;
    *step = st;
    *count = c;
    return true;
}

Value *subscript(Elab *I, Value *obj, Value *idx, SrcLoc loc)
{
    switch (obj->kind) {
    case V_LIST:
    case V_TUPLE:
    case V_STR: {
        int64_t n = obj->kind == V_STR ? obj->str.len : obj->seq->n;
        const char *what = obj->kind == V_LIST ? "list" : obj->kind == V_TUPLE ? "tuple" : "string";
        if (idx->kind == V_SLICE) {
            int64_t start, step, count;
            if (!slice_indices(I, idx, n, loc, &start, &step, &count)) return NULL;
            if (obj->kind == V_STR) {
                char *buf = arena_alloc(I->a, (size_t)count + 1);
                for (int64_t i = 0; i < count; i++) buf[i] = obj->str.s[start + i * step];
                return v_strn(I, buf, count);
            }
            Value *r = obj->kind == V_LIST ? v_list(I, 0) : v_tuple(I, 0);
            for (int64_t i = 0; i < count; i++) seq_push(I, r->seq, obj->seq->v[start + i * step]);
            return r;
        }
        int64_t i;
        if (!index_of(I, idx, n, loc, &i, what)) return NULL;
        return obj->kind == V_STR ? v_strn(I, obj->str.s + i, 1) : obj->seq->v[i];
    }
    case V_DICT: {
        Value *v = dict_get(obj->dict, idx);
        if (!v && obj->dict->default_factory) {   /* defaultdict: d[k] makes the value */
            if (idx->kind == V_LIST || idx->kind == V_DICT || idx->kind == V_SET) {
                diag_error(I->d, loc, "unhashable type: '%s'", v_type_name(idx));
                return NULL;
            }
            if (!(v = call0(I, obj->dict->default_factory, loc))) return NULL;
            dict_set(I, obj->dict, idx, v, loc);
        }
        if (!v) {
            diag_error(I->d, loc, "key %s not found in dict", v_repr(I, idx));
            return NULL;
        }
        return v;
    }
    case V_RANGE: {
        Seq *s = iterate(I, obj, loc);
        if (!s) return NULL;
        Value *l = v_list(I, 0);
        l->seq = s;
        Value *r = subscript(I, l, idx, loc);
        if (r && r->kind == V_LIST) {
            diag_error(I->d, loc, "slicing a range is not supported in .bcl; use list(range(...))[...]");
            return NULL;
        }
        return r;
    }
    case V_CLASS:
        if (obj->cls->tk == TK_TYPING || obj->cls->tk != TK_NONE) return obj;  /* List[int], Optional[X] */
        break;
    case V_OBJECT: {
        Value *gi = class_lookup(obj->obj->cls, "__getitem__");
        if (!gi && obj->obj->dict_base) return subscript(I, obj->obj->dict_base, idx, loc);
        if (gi) {
            Value *b = ARENA_NEW(I->a, Value);
            b->kind = V_BOUND;
            b->bound.fn = gi;
            b->bound.self = obj;
            return call1(I, b, idx, loc);
        }
        break;
    }
    case V_NDARRAY:
        return nd_getitem(I, obj, idx, loc);
    case V_TENSOR:
    case V_PARAM:
        return tensor_index(I, obj, idx, loc);
    case V_PLACEHOLDER: return use_placeholder(I, obj, loc);
    default: break;
    }
    diag_error(I->d, loc, "'%s' object is not subscriptable", v_type_name(obj));
    return NULL;
}

/* ------------------------------------------------------------------ attributes */

static Value *bind_method(Elab *I, Value *f, Value *self)
{
    if (f->kind == V_FUNC && f->fn->method_kind == 's') return f;
    if (f->kind == V_FUNC && f->fn->method_kind == 'c') {
        Value *c = ARENA_NEW(I->a, Value);
        c->kind = V_CLASS;
        c->cls = self->kind == V_OBJECT ? self->obj->cls : self->kind == V_CLASS ? self->cls : NULL;
        if (!c->cls) return f;
        self = c;
    }
    if (f->kind == V_FUNC) {
        Value *b = ARENA_NEW(I->a, Value);
        b->kind = V_BOUND;
        b->bound.fn = f;
        b->bound.self = self;
        return b;
    }
    if (f->kind == V_BUILTIN && !f->builtin.self) return v_builtin(I, f->builtin.name, f->builtin.fn, self);
    return f;
}

static Value *param_value(Elab *I, Value *v)
{
    /* a parameter read while tracing is its graph value */
    if (I->tracing && v->kind == V_PARAM && v->param->ir) return v_tensor(I, v->param->ir);
    return v;
}

Value *try_attr(Elab *I, Value *obj, const char *name)
{
    switch (obj->kind) {
    case V_OBJECT: {
        Value *v = dict_get_str(&obj->obj->attrs, name);
        if (v) return param_value(I, v);
        if (!strcmp(name, "__class__")) {
            Value *c = ARENA_NEW(I->a, Value);
            c->kind = V_CLASS;
            c->cls = obj->obj->cls;
            return c;
        }
        v = class_lookup(obj->obj->cls, name);
        if (v && v->kind == V_PROPERTY) return call1(I, v->bound.fn, obj, I->user_loc);
        if (v) return bind_method(I, v, obj);
        if (obj->obj->message && !strcmp(name, "args")) {
            Value *t = v_tuple(I, 1);
            t->seq->v[0] = v_str(I, obj->obj->message);
            return t;
        }
        /* a dict subclass inherits dict's methods (items, get, update, __getitem__, ...) */
        if (obj->obj->dict_base && (v = builtin_method(I, obj->obj->dict_base, name))) return v;
        /* a class's __getattr__, for names found nowhere else (never for dunders, which
         * Python looks up on the type) */
        Value *ga = class_lookup(obj->obj->cls, "__getattr__");
        bool dunder = !strncmp(name, "__", 2) && strlen(name) > 4 && !strcmp(name + strlen(name) - 2, "__");
        if (ga && ga->kind == V_FUNC && !dunder)
            return call1(I, bind_method(I, ga, obj), v_str(I, name), I->attr_loc.src ? I->attr_loc : I->user_loc);
        return NULL;
    }
    case V_CLASS: {
        if (!strcmp(name, "__name__")) return v_str(I, obj->cls->name);
        Value *v = class_lookup(obj->cls, name);
        if (v && v->kind == V_FUNC && v->fn->method_kind == 'c') return bind_method(I, v, obj);
        if (!v && obj->cls->tk == TK_DICT && dict_method_exists(I, name))   /* dict.get(d, k), dict.__init__(self) */
            return v_builtin(I, arena_strdup(I->a, name), dict_unbound_call, v_str(I, name));
        return v;
    }
    case V_NAMESPACE: {
        Value *v = env_get_local(obj->ns->env, name);
        /* packages load their submodules lazily: mge.module, basecls.layers, ... */
        if (!v && module_exists(I, arena_printf(I->a, "%s.%s", obj->ns->name, name))) {
            v = import_module(I, arena_printf(I->a, "%s.%s", obj->ns->name, name), NO_LOC, false);
            if (v) env_set(I, obj->ns->env, name, v);
        }
        return v;
    }
    case V_SUPER: {
        ClassObj *c = obj->super.self->kind == V_OBJECT ? obj->super.self->obj->cls : obj->super.start;
        int i = 0;
        while (i < c->n_mro && c->mro[i] != obj->super.start) i++;
        for (i++; i < c->n_mro; i++) {
            Value *v = dict_get_str(&c->mro[i]->attrs, name);
            if (v) return bind_method(I, v, obj->super.self);
            /* super().__init__(**kw), super().__setitem__(k, v) in a dict subclass: dict's own */
            Value *self = obj->super.self;
            if (c->mro[i]->tk == TK_DICT && self->kind == V_OBJECT && self->obj->dict_base)
                return builtin_method(I, self->obj->dict_base, name);
        }
        return NULL;
    }
    case V_FUNC:
        if (!strcmp(name, "__name__")) return v_str(I, obj->fn->def->name);
        if (!strcmp(name, "__qualname__")) return v_str(I, obj->fn->qualname);
        if (!strcmp(name, "__doc__")) return V_NONE_;
        return NULL;
    case V_SET: case V_FROZENSET: return set_method(I, obj, name);
    case V_PLACEHOLDER: return NULL;
    case V_TENSOR:
        return tensor_attr(I, obj, name, NO_LOC);
    case V_NDARRAY:
        return nd_attr(I, obj, name, NO_LOC);
    case V_PARAM:
        if (I->tracing && obj->param->ir) return tensor_attr(I, v_tensor(I, obj->param->ir), name, NO_LOC);
        if (!strcmp(name, "shape")) {
            Value *t = v_tuple(I, obj->param->shape.rank);
            for (int i = 0; i < obj->param->shape.rank; i++) t->seq->v[i] = v_int(I, obj->param->shape.d[i]);
            return t;
        }
        if (!strcmp(name, "ndim")) return v_int(I, obj->param->shape.rank);
        return NULL;
    default:
        return builtin_method(I, obj, name);
    }
}

static const char *suggest_in(Elab *I, Env *env, const char *name, bool parents)
{
    const char *best = NULL;
    int bd = 1 << 30;
    int limit = strlen(name) <= 4 ? 1 : 2;
    for (Env *e = env; e; e = parents ? e->parent : NULL)
        for (int i = 0; i < e->n; i++) {
            int d = edit_distance(name, e->vars[i].name);
            if (d <= limit && d < bd && strcmp(name, e->vars[i].name)) {
                bd = d;
                best = e->vars[i].name;
            }
        }
    return best ? arena_printf(I->a, "; did you mean '%s'?", best) : "";
}

/* "; did you mean 'relu'?" for a name close to one defined in env (and its parents) */
const char *suggest_name(Elab *I, Env *env, const char *name) { return suggest_in(I, env, name, true); }

/* The same for a module attribute: only the module's own names (not the builtins
 * its scope falls back to: `M.init` must not suggest 'int'). */
const char *suggest_attr(Elab *I, Env *env, const char *name) { return suggest_in(I, env, name, false); }

Value *get_attr(Elab *I, Value *obj, const char *name, SrcLoc loc)
{
    int errs_before = I->d->n_errors;
    if (obj->kind == V_TENSOR || (obj->kind == V_PARAM && I->tracing && obj->param->ir)) {
        Value *t = obj->kind == V_PARAM ? v_tensor(I, obj->param->ir) : obj;
        return tensor_attr(I, t, name, loc);  /* reports its own errors */
    }
    SrcLoc outer = I->attr_loc;
    I->attr_loc = loc;
    Value *v = try_attr(I, obj, name);
    I->attr_loc = outer;
    if (v) return v;
    if (I->d->n_errors != errs_before) return NULL;   /* a property getter failed */
    if (obj->kind == V_PLACEHOLDER) return use_placeholder(I, obj, loc);
    if (obj->kind == V_NAMESPACE) {
        diag_error(I->d, loc, "'%s' has no attribute '%s'%s", obj->ns->name, name, suggest_attr(I, obj->ns->env, name));
        mark_reported(I, loc);
    }
    else if (obj->kind == V_CLASS)
        diag_error(I->d, loc, "type object '%s' has no attribute '%s'", obj->cls->name, name);
    else if (obj->kind == V_SUPER)
        diag_error(I->d, loc, "'super' object has no attribute '%s'", name);
    else
        diag_error(I->d, loc, "'%s' object has no attribute '%s'", v_type_name(obj), name);
    return NULL;
}

bool set_attr(Elab *I, Value *obj, const char *name, Value *v, SrcLoc loc)
{
    if (obj->kind == V_OBJECT) {
        if (I->tracing && obj->obj->cls->is_module && !obj->obj->born_in_forward) {
            diag_error(I->d, loc, "modules cannot be changed in forward (assigning '%s')", name);
            return false;
        }
        Value *prop = class_lookup(obj->obj->cls, name);
        if (prop && prop->kind == V_PROPERTY) {
            if (!prop->bound.self) {
                diag_error(I->d, loc, "property '%s' of '%s' object has no setter", name, obj->obj->cls->name);
                return false;
            }
            CallArgs a;
            callargs_init(&a);
            callargs_pos(I, &a, obj, loc);
            callargs_pos(I, &a, v, loc);
            return call_value(I, prop->bound.self, &a, loc) != NULL;
        }
        if (v->kind == V_TENSOR) {
            diag_error(I->d, loc, "a tensor cannot be stored in a module attribute ('%s'); use _bcl.param or _bcl.buffer", name);
            return false;
        }
        dict_set_str(I, &obj->obj->attrs, name, v, loc);
        return true;
    }
    if (obj->kind == V_CLASS && !obj->cls->construct && !obj->cls->tk) {
        dict_set_str(I, &obj->cls->attrs, name, v, loc);
        return true;
    }
    diag_error(I->d, loc, "cannot set attribute '%s' of a '%s' object", name, v_type_name(obj));
    return false;
}

/* ------------------------------------------------------------------ calls */

/* The callable whose parameters a call binds: a class's __init__, a bound method's function. */
static Value *signature_of(Value *f, bool *module_init)
{
    *module_init = false;
    if (f->kind == V_BOUND) f = f->bound.fn;
    if (f->kind == V_OBJECT && f->obj->cls->tk == TK_PARTIAL) f = partial_func(NULL, f);
    if (f->kind == V_CLASS) {
        ClassObj *c = f->cls;
        f = class_lookup(c, "__init__");
        /* inherited native Module.__init__(self, name=None) */
        if (f && f->kind == V_BUILTIN && c->is_module) *module_init = true;
    }
    return f;
}

bool func_accepts(Value *f, const char *argname, bool via_kwargs)
{
    bool minit;
    f = signature_of(f, &minit);
    if (!f) return false;
    if (minit) return !strcmp(argname, "name");
    if (f->kind == V_BUILTIN) return via_kwargs;  /* natives take **kwargs-like keywords */
    if (f->kind != V_FUNC) return false;
    FuncDef *d = f->fn->def;
    for (int i = 0; i < d->n_params; i++) {
        if (d->params[i].kind == PARAM_DSTAR) {
            if (via_kwargs) return true;
            continue;
        }
        if (d->params[i].kind != PARAM_STAR && !strcmp(d->params[i].name, argname)) return true;
    }
    return false;
}

bool func_has_kwargs(Value *f)
{
    bool minit;
    f = signature_of(f, &minit);
    if (!f || minit) return false;
    if (f->kind == V_BUILTIN) return true;
    if (f->kind != V_FUNC) return false;
    for (int i = 0; i < f->fn->def->n_params; i++)
        if (f->fn->def->params[i].kind == PARAM_DSTAR) return true;
    return false;
}

/* Reports a binding error at the call (or the dict entry a keyword came from). */
static void bind_error(Elab *I, SrcLoc loc, SrcLoc origin, FuncObj *fn, const char *msg)
{
    if (origin.src) {
        diag_error(I->d, origin, "%s", msg);
        if (!I->top_call) diag_note(I->d, loc, "in this call");
    } else {
        diag_error(I->d, loc, "%s", msg);
    }
    if (fn) diag_note(I->d, fn->def->name_loc, "'%s' is defined here", fn->qualname);
}

/* "; did you mean 'kernel_size'?" for a keyword close to a declared parameter */
static const char *suggest_param(Elab *I, FuncDef *d, const char *name)
{
    const char *best = NULL;
    int bd = 1 << 30;
    size_t n = strlen(name);
    for (int i = 0; i < d->n_params; i++) {
        if (d->params[i].kind == PARAM_STAR || d->params[i].kind == PARAM_DSTAR) continue;
        const char *p = d->params[i].name;
        size_t m = strlen(p);
        int dist = edit_distance(name, p);
        bool prefix = n >= 3 && m >= 3 && (!strncmp(name, p, n < m ? n : m));
        if ((dist <= 2 || prefix) && dist < bd) {
            bd = dist;
            best = p;
        }
    }
    return best ? arena_printf(I->a, "; did you mean '%s'?", best) : "";
}

static bool bind_args(Elab *I, FuncObj *fn, Value *self, CallArgs *a, SrcLoc loc, const char *disp, Env *env)
{
    FuncDef *d = fn->def;
    int np = d->n_params;
    Value **bound = ARENA_NEWN(I->a, Value *, np + 1);
    int star = -1, dstar = -1;
    for (int i = 0; i < np; i++) {
        if (d->params[i].kind == PARAM_STAR) star = i;
        if (d->params[i].kind == PARAM_DSTAR) dstar = i;
    }
    Value *extra = v_tuple(I, 0);
    Value *kwargs = v_dict(I);
    int n_pos = a->n_pos + (self ? 1 : 0);
    int pi = 0;
    for (int k = 0; k < n_pos; k++) {
        Value *v = self ? (k == 0 ? self : a->pos[k - 1]) : a->pos[k];
        while (pi < np && d->params[pi].kind != PARAM_NORMAL) {
            if (d->params[pi].kind == PARAM_STAR || d->params[pi].kind == PARAM_KWONLY ||
                d->params[pi].kind == PARAM_DSTAR) { pi = np; break; }
            pi++;
        }
        if (pi < np) {
            bound[pi++] = v;
        } else if (star >= 0) {
            seq_push(I, extra->seq, v);
        } else {
            int takes = 0;
            for (int i = 0; i < np; i++) takes += d->params[i].kind == PARAM_NORMAL;
            if (self && takes > 0) { takes--; n_pos--; }
            bind_error(I, loc, NO_LOC, fn, arena_printf(I->a, "%s() takes %d positional argument%s but %d %s given",
                                                        disp, takes, takes == 1 ? "" : "s", n_pos, n_pos == 1 ? "was" : "were"));
            I->bind_failed = true;
            return false;
        }
    }
    for (int k = 0; k < a->n_kw; k++) {
        const char *name = a->kw_names[k];
        int found = -1;
        for (int i = 0; i < np; i++)
            if ((d->params[i].kind == PARAM_NORMAL || d->params[i].kind == PARAM_KWONLY) &&
                !strcmp(d->params[i].name, name)) { found = i; break; }
        if (found >= 0 && !(self && found == 0)) {
            if (bound[found]) {
                bind_error(I, loc, a->kw_origin[k], fn,
                           arena_printf(I->a, "%s() got multiple values for argument '%s'", disp, name));
                I->bind_failed = true;
                return false;
            }
            bound[found] = a->kw[k];
        } else if (dstar >= 0) {
            if (dict_find_str(kwargs->dict, name)) {
                bind_error(I, loc, a->kw_origin[k], fn,
                           arena_printf(I->a, "%s() got multiple values for keyword argument '%s'", disp, name));
                I->bind_failed = true;
                return false;
            }
            dict_set(I, kwargs->dict, v_str(I, name), a->kw[k], a->kw_origin[k].src ? a->kw_origin[k] : a->kw_loc[k]);
        } else {
            bind_error(I, loc, a->kw_origin[k], fn,
                       arena_printf(I->a, "%s() got an unexpected keyword argument '%s'%s", disp, name,
                                    suggest_param(I, d, name)));
            I->bind_failed = true;
            return false;
        }
    }
    for (int i = 0; i < np; i++) {
        Param *p = &d->params[i];
        if (i == star) { env_set(I, env, p->name, extra); continue; }
        if (i == dstar) { env_set(I, env, p->name, kwargs); continue; }
        if (!bound[i]) bound[i] = fn->defaults[i];
        if (!bound[i]) {
            bind_error(I, loc, NO_LOC, fn, arena_printf(I->a, "%s() missing required %sargument '%s'", disp,
                                                        p->kind == PARAM_KWONLY ? "keyword-only " : "", p->name));
            I->bind_failed = true;
            return false;
        }
        env_set(I, env, p->name, bound[i]);
    }
    return true;
}

static bool block_yields(const StmtList *b);

static bool stmt_yields(const Stmt *s)
{
    switch (s->kind) {
    case S_EXPR: return s->expr && s->expr->kind == E_YIELD;
    case S_ASSIGN: return s->assign.value && s->assign.value->kind == E_YIELD;
    case S_AUGASSIGN: return s->aug.value && s->aug.value->kind == E_YIELD;
    case S_ANNASSIGN: return s->ann.value && s->ann.value->kind == E_YIELD;
    case S_RETURN: return s->expr && s->expr->kind == E_YIELD;
    case S_IF: return block_yields(&s->if_.body) || block_yields(&s->if_.orelse);
    case S_FOR: return block_yields(&s->for_.body) || block_yields(&s->for_.orelse);
    case S_WHILE: return block_yields(&s->while_.body) || block_yields(&s->while_.orelse);
    case S_WITH: return block_yields(&s->with_.body);
    case S_TRY:
        if (block_yields(&s->try_.body) || block_yields(&s->try_.orelse) || block_yields(&s->try_.finalbody)) return true;
        for (int i = 0; i < s->try_.n_handlers; i++)
            if (block_yields(&s->try_.handlers[i].body)) return true;
        return false;
    default: return false;   /* nested def / class: their own */
    }
}

static bool block_yields(const StmtList *b)
{
    for (int i = 0; i < b->n; i++)
        if (stmt_yields(b->v[i])) return true;
    return false;
}

bool func_is_generator(FuncDef *d)
{
    if (!d->is_generator) d->is_generator = block_yields(&d->body) ? 1 : 2;
    return d->is_generator == 1;
}

/* Runs a function's body in a new call frame; false after an error (a stray
 * break/continue included). Shared by calls and generator bodies. */
static bool exec_body(Elab *I, FuncObj *fn, Env *env, Value *self, Value **ret)
{
    Frame fr = {I->frame, fn, self};
    I->frame = &fr;
    I->depth++;
    ExecStatus st = exec_block(I, env, &fn->def->body, ret);
    I->depth--;
    I->frame = fr.up;
    if (st == EX_BREAK || st == EX_CONTINUE)
        diag_error(I->d, fn->def->loc, "'break' or 'continue' outside a loop");
    return st != EX_ERROR && st != EX_BREAK && st != EX_CONTINUE;
}

/* Runs a generator function's body, collecting what it yields (iter.c calls it at
 * the first next()). NULL after an error. */
Seq *run_generator_body(Elab *I, FuncObj *fn, Env *env, Value *self, SrcLoc loc)
{
    if (I->depth >= BCL_MAX_CALL_DEPTH) {
        diag_error(I->d, loc, "maximum recursion depth (%d calls) exceeded", BCL_MAX_CALL_DEPTH);
        return NULL;
    }
    Seq *outer = I->yields;
    Seq *mine = ARENA_NEW(I->a, Seq);
    I->yields = mine;
    Value *ret = NULL;
    bool ok = exec_body(I, fn, env, self, &ret);
    I->yields = outer;
    return ok ? mine : NULL;   /* a `return x` only ends the generator (its value is StopIteration's) */
}

static Value *call_user(Elab *I, FuncObj *fn, Value *self, CallArgs *a, SrcLoc loc, const char *disp)
{
    if (I->depth >= BCL_MAX_CALL_DEPTH) {
        diag_error(I->d, loc, "maximum recursion depth (%d calls) exceeded", BCL_MAX_CALL_DEPTH);
        I->bind_failed = true;
        return NULL;
    }
    Env *env = env_new(I, fn->closure);
    bool ok = bind_args(I, fn, self, a, loc, disp, env);
    I->top_call = false;
    if (!ok) return NULL;
    if (func_is_generator(fn->def)) return genfunc_new(I, fn, env, self ? self : (a->n_pos ? a->pos[0] : NULL), loc);
    Value *ret = NULL;
    if (!exec_body(I, fn, env, self ? self : (a->n_pos ? a->pos[0] : NULL), &ret)) return NULL;
    return ret ? ret : V_NONE_;
}

/* A class deriving from dict (or OrderedDict, defaultdict): its instances are dicts.
 * basecore's ConfigDict keeps its items as attributes instead (__bcl_items_in_attrs__). */
static bool derives_dict(ClassObj *c)
{
    if (class_lookup(c, "__bcl_items_in_attrs__")) return false;
    for (int i = 1; i < c->n_mro; i++)
        if (c->mro[i]->tk == TK_DICT) return true;
    return false;
}

static Value *construct(Elab *I, ClassObj *c, CallArgs *a, SrcLoc loc)
{
    Value *obj = ARENA_NEW(I->a, Value);
    obj->kind = V_OBJECT;
    obj->obj = ARENA_NEW(I->a, ObjectObj);
    obj->obj->cls = c;
    /* a module made in forward (a Sequential slice) may only hold modules of the tree */
    obj->obj->born_in_forward = I->tracing;
    obj->obj->made_at = I->user_loc;
    if (derives_dict(c)) obj->obj->dict_base = v_dict(I);   /* dict.__new__: an empty dict */
    Value *init = class_lookup(c, "__init__");
    Value *r;
    if (!init && obj->obj->dict_base) {   /* dict.__init__: C(a=1), C({...}), C(pairs) */
        Value *m = builtin_method(I, obj->obj->dict_base, "__init__");
        return call_value(I, m, a, loc) ? obj : NULL;
    }
    if (!init) {
        if (a->n_pos || a->n_kw) {
            diag_error(I->d, loc, "%s() takes no arguments", c->name);
            return NULL;
        }
        return obj;
    }
    if (init->kind == V_FUNC)
        r = call_user(I, init->fn, obj, a, loc, c->name);
    else
        r = call_value(I, bind_method(I, init, obj), a, loc);
    if (!r) return NULL;
    if (r->kind != V_NONE) {
        diag_error(I->d, loc, "__init__() should return None, not '%s'", v_type_name(r));
        return NULL;
    }
    return obj;
}

/* MegEngine's hub.pretrained wraps a builder in one that also takes pretrained=False:
 * the keyword is taken out here; True would download the weights, which bclc does
 * not do (they come from --weights). false after an error. */
static bool take_pretrained_kw(Elab *I, FuncObj *fn, CallArgs *a, SrcLoc loc)
{
    if (func_accepts(&(Value){.kind = V_FUNC, .fn = fn}, "pretrained", false)) return true;
    for (int k = 0; k < a->n_kw; k++) {
        if (strcmp(a->kw_names[k], "pretrained")) continue;
        int t = truthy(I, a->kw[k], loc);
        if (t < 0) return false;
        if (t) {
            diag_error(I->d, a->kw_loc[k].src ? a->kw_loc[k] : loc,
                       "%s(pretrained=True): bclc does not download weights (%s); "
                       "build it with pretrained=False and give the checkpoint with --weights FILE",
                       fn->def->name, fn->hub_url);
            return false;
        }
        for (int j = k + 1; j < a->n_kw; j++) {
            a->kw_names[j - 1] = a->kw_names[j];
            a->kw[j - 1] = a->kw[j];
            a->kw_loc[j - 1] = a->kw_loc[j];
            a->kw_origin[j - 1] = a->kw_origin[j];
        }
        a->n_kw--;
        k--;
    }
    return true;
}

Value *call_value(Elab *I, Value *f, CallArgs *a, SrcLoc loc)
{
    switch (f->kind) {
    case V_FUNC:
        if (f->fn->hub_url && a->n_kw && !take_pretrained_kw(I, f->fn, a, loc)) return NULL;
        return call_user(I, f->fn, NULL, a, loc, f->fn->qualname);
    case V_BOUND:
        if (f->bound.fn->kind == V_FUNC)
            return call_user(I, f->bound.fn->fn, f->bound.self, a, loc, f->bound.fn->fn->qualname);
        if (f->bound.fn->kind == V_BUILTIN && !f->bound.fn->builtin.self)  /* a native method (iterator.__iter__) */
            return f->bound.fn->builtin.fn(I, f->bound.self, a, loc);
        return call_value(I, f->bound.fn, a, loc);
    case V_BUILTIN: return f->builtin.fn(I, f->builtin.self, a, loc);
    case V_CLASS:
        if (f->cls->construct) return f->cls->construct(I, f, a, loc);
        if (f->cls->tk == TK_TYPING) break;
        return construct(I, f->cls, a, loc);
    case V_OBJECT: {
        if (f->obj->cls->is_module || class_lookup(f->obj->cls, "__call__")) {
            Value *call = class_lookup(f->obj->cls, "__call__");
            if (!call || (call->kind == V_BUILTIN && f->obj->cls->is_module)) call = class_lookup(f->obj->cls, "forward");
            if (!call) {
                diag_error(I->d, loc, "module '%s' has no forward method", f->obj->cls->name);
                return NULL;
            }
            /* nodes traced inside record the module path (bclc bench --profile) */
            const char *outer = I->g ? I->g->scope : NULL;
            if (I->tracing && I->g && f->obj->path) I->g->scope = f->obj->path;
            Value *r = call->kind == V_FUNC ? call_user(I, call->fn, f, a, loc, call->fn->qualname)
                                            : call_value(I, bind_method(I, call, f), a, loc);
            if (I->g) I->g->scope = outer;
            return r;
        }
        break;
    }
    case V_POISON: return NULL;
    case V_PLACEHOLDER: return use_placeholder(I, f, loc);
    default: break;
    }
    diag_error(I->d, loc, "'%s' object is not callable", v_type_name(f));
    return NULL;
}

Value *call0(Elab *I, Value *f, SrcLoc loc)
{
    CallArgs a;
    callargs_init(&a);
    return call_value(I, f, &a, loc);
}

Value *call1(Elab *I, Value *f, Value *x, SrcLoc loc)
{
    CallArgs a;
    callargs_init(&a);
    callargs_pos(I, &a, x, loc);
    return call_value(I, f, &a, loc);
}

bool bind_native(Elab *I, const char *fname, CallArgs *a, SrcLoc loc, const char *const *names, int n_names,
                 int n_required, Value **out)
{
    for (int i = 0; i < n_names; i++) out[i] = NULL;
    if (a->n_pos > n_names) {
        diag_error(I->d, loc, "%s() takes at most %d argument%s (%d given)", fname, n_names, n_names == 1 ? "" : "s",
                   a->n_pos);
        return false;
    }
    for (int i = 0; i < a->n_pos; i++) out[i] = a->pos[i];
    for (int k = 0; k < a->n_kw; k++) {
        int found = -1;
        for (int i = 0; i < n_names; i++)
            if (!strcmp(names[i], a->kw_names[k])) found = i;
        if (found < 0) {
            bind_error(I, loc, a->kw_origin[k], NULL,
                       arena_printf(I->a, "%s() got an unexpected keyword argument '%s'", fname, a->kw_names[k]));
            return false;
        }
        if (out[found]) {
            bind_error(I, loc, a->kw_origin[k], NULL,
                       arena_printf(I->a, "%s() got multiple values for argument '%s'", fname, a->kw_names[k]));
            return false;
        }
        out[found] = a->kw[k];
    }
    for (int i = 0; i < n_required; i++)
        if (!out[i]) {
            diag_error(I->d, loc, "%s() missing required argument '%s'", fname, names[i]);
            return false;
        }
    return true;
}

/* ------------------------------------------------------------------ expressions */

static Value *lookup_name(Elab *I, Env *env, const char *name)
{
    for (Env *e = env; e; e = e->parent) {
        Value *v = env_get_local(e, name);
        if (v && v->kind == V_CELLREF) return lookup_name(I, v->cellref, name);
        if (v) return v;
    }
    return NULL;
}

Value *lookup_name_in(Elab *I, Env *env, const char *name) { return lookup_name(I, env, name); }

void bind_name(Elab *I, Env *env, const char *name, Value *v)
{
    Value *cur = env_get_local(env, name);
    if (cur && cur->kind == V_CELLREF) {
        bind_name(I, cur->cellref, name, v);
        return;
    }
    env_set(I, env, name, v);
}

Value *mapping_as_dict(Elab *I, Value *v, SrcLoc loc)
{
    if (v->kind == V_DICT) return v;
    if (v->kind != V_OBJECT) return NULL;
    /* Python's mapping protocol (** and dict(m)): keys(), then m[key] for each */
    Value *keys_fn = try_attr(I, v, "keys");
    Value *getitem = keys_fn ? try_attr(I, v, "__getitem__") : NULL;
    if (!getitem) return NULL;
    Value *keys = call0(I, keys_fn, loc);
    Seq *ks = keys ? iterate(I, keys, loc) : NULL;
    if (!ks) return V_POISON_;
    Value *d = v_dict(I);
    for (int k = 0; k < ks->n; k++) {
        Value *x = call1(I, getitem, ks->v[k], loc);
        if (!x) return V_POISON_;
        dict_set(I, d->dict, ks->v[k], x, loc);
    }
    return d;
}

static bool eval_args(Elab *I, Env *env, Expr *e, CallArgs *a)
{
    callargs_init(a);
    for (int i = 0; i < e->call.n_args; i++) {
        Arg *arg = &e->call.args[i];
        Value *v = poisoned(eval_expr(I, env, arg->value));
        if (!v) return false;
        switch (arg->kind) {
        case ARG_POS: callargs_pos(I, a, v, arg->value->loc); break;
        case ARG_KW: callargs_kw(I, a, arg->name, v, arg->loc, NO_LOC); break;
        case ARG_STAR: {
            Seq *s = iterate(I, v, arg->value->loc);
            if (!s) return false;
            for (int k = 0; k < s->n; k++) callargs_pos(I, a, s->v[k], arg->value->loc);
            break;
        }
        case ARG_DSTAR:
            if (v->kind != V_DICT) {
                Value *m = mapping_as_dict(I, v, arg->value->loc);
                if (m == V_POISON_) return false;
                if (!m) {
                    diag_error(I->d, arg->value->loc, "argument after ** must be a mapping, not %s", v_type_name(v));
                    return false;
                }
                v = m;
            }
            for (int k = 0; k < v->dict->n; k++) {
                DictEntry *de = &v->dict->e[k];
                if (de->key->kind != V_STR) {
                    diag_error(I->d, arg->value->loc, "keywords must be strings, not %s", v_type_name(de->key));
                    return false;
                }
                for (int j = 0; j < a->n_kw; j++)
                    if (!strcmp(a->kw_names[j], de->key->str.s)) {
                        diag_error(I->d, de->loc.src ? de->loc : arg->value->loc,
                                   "got multiple values for keyword argument '%s'", de->key->str.s);
                        if (de->loc.src) diag_note(I->d, arg->value->loc, "in this call");
                        return false;
                    }
                callargs_kw(I, a, de->key->str.s, de->val, arg->value->loc, de->loc);
            }
            break;
        }
    }
    return true;
}

void mark_reported(Elab *I, SrcLoc loc)
{
    SrcLoc *l = ARENA_NEW(I->a, SrcLoc);
    *l = loc;
    ptrvec_push(I->a, &I->reported, l);
}

bool reported_at(Elab *I, SrcLoc loc)
{
    for (int i = 0; i < I->reported.n; i++) {
        SrcLoc *l = I->reported.v[i];
        if (l->src == loc.src && l->line == loc.line && l->col == loc.col) return true;
    }
    return false;
}

bool loc_in_stdlib(SrcLoc loc)
{
    return loc.src && loc.src->path && !strncmp(loc.src->path, "<stdlib>/", 9);
}

static Value *eval_call(Elab *I, Env *env, Expr *e)
{
    Value *f = poisoned(eval_expr(I, env, e->call.func));
    if (!f) return NULL;
    CallArgs a;
    if (!eval_args(I, env, e, &a)) return NULL;
    I->bind_failed = false;
    SrcLoc saved_user = I->user_loc;
    if (!loc_in_stdlib(e->loc)) I->user_loc = e->loc;
    Value *r = call_value(I, f, &a, e->loc);
    I->user_loc = saved_user;
    if (!r) {
        const char *n = callable_name(I, f);
        if (n && !I->bind_failed) {
            /* deep recursion: show the first few identical notes only */
            SrcLoc l = I->last_note;
            bool same = l.src == e->loc.src && l.line == e->loc.line && l.col == e->loc.col;
            I->note_repeat = same ? I->note_repeat + 1 : 0;
            I->last_note = e->loc;
            if (I->note_repeat < 3) diag_note(I->d, e->loc, "in call to %s here", n);
            else if (I->note_repeat == 3) diag_note(I->d, e->loc, "(further calls to %s here are not shown)", n);
        }
        I->bind_failed = false;
    }
    return r;
}

static Value *eval_listcomp(Elab *I, Env *env, Expr *e, int gi, Value *out);

static bool assign(Elab *I, Env *env, Expr *target, Value *v, SrcLoc vloc);
static Value *make_function(Elab *I, Env *env, FuncDef *d);

static Value *eval_listcomp(Elab *I, Env *env, Expr *e, int gi, Value *out)
{
    if (gi == e->comp.n_gens) {
        Value *v = eval_expr(I, env, e->comp.elt);
        if (!poisoned(v)) return NULL;
        if (out->kind == V_SET) return set_add(I, out, v, e->comp.elt->loc) ? out : NULL;
        if (out->kind == V_DICT) {
            Value *val = poisoned(eval_expr(I, env, e->comp.value));
            if (!val) return NULL;
            if (v->kind == V_LIST || v->kind == V_DICT || v->kind == V_SET) {
                diag_error(I->d, e->comp.elt->loc, "unhashable type: '%s'", v_type_name(v));
                return NULL;
            }
            dict_set(I, out->dict, v, val, e->comp.elt->loc);
            return out;
        }
        seq_push(I, out->seq, v);
        return out;
    }
    Comprehension *c = &e->comp.gens[gi];
    Value *it = poisoned(eval_expr(I, env, c->iter));
    if (!it) return NULL;
    Seq *s = iterate(I, it, c->iter->loc);
    if (!s) return NULL;
    for (int i = 0; i < s->n; i++) {
        if (!assign(I, env, c->target, s->v[i], c->iter->loc)) return NULL;
        bool keep = true;
        for (int k = 0; k < c->ifs.n && keep; k++) {
            Value *cv = poisoned(eval_expr(I, env, c->ifs.v[k]));
            if (!cv) return NULL;
            int t = truthy(I, cv, c->ifs.v[k]->loc);
            if (t < 0) return NULL;
            keep = t;
        }
        if (keep && !eval_listcomp(I, env, e, gi + 1, out)) return NULL;
    }
    return out;
}

static Value *eval_display(Elab *I, Env *env, ExprList *el, Value *out)
{
    for (int i = 0; i < el->n; i++) {
        Expr *x = el->v[i];
        if (x->kind == E_STARRED) {
            Value *v = poisoned(eval_expr(I, env, x->starred.value));
            if (!v) return NULL;
            Seq *s = iterate(I, v, x->loc);
            if (!s) return NULL;
            for (int k = 0; k < s->n; k++) seq_push(I, out->seq, s->v[k]);
        } else {
            Value *v = poisoned(eval_expr(I, env, x));
            if (!v) return NULL;
            seq_push(I, out->seq, v);
        }
    }
    return out;
}

static Value *eval_fstring(Elab *I, Env *env, Expr *e)
{
    const char *acc = "";
    for (int i = 0; i < e->fstr.n; i++) {
        Expr *p = e->fstr.v[i];
        const char *piece;
        if (p->kind == E_STR) {
            piece = p->str;
        } else if (p->kind == E_FIELD) {
            Value *v = poisoned(eval_expr(I, env, p->field.value));
            if (!v) return NULL;
            if (p->field.conv == 'r') v = v_str(I, v_repr(I, v));
            piece = format_spec(I, v, p->field.spec ? p->field.spec : "", p->loc);
            if (!piece) return NULL;
        } else {
            Value *v = poisoned(eval_expr(I, env, p));
            if (!v) return NULL;
            piece = v_to_str(I, v);
        }
        acc = arena_printf(I->a, "%s%s", acc, piece);
    }
    return v_str(I, acc);
}

static Value *eval_expr_inner(Elab *I, Env *env, Expr *e)
{
    switch (e->kind) {
    case E_NAME: {
        Value *v = lookup_name(I, env, e->name);
        if (!v) {
            diag_error(I->d, e->loc, "name '%s' is not defined%s", e->name, suggest_name(I, env, e->name));
            mark_reported(I, e->loc);
            return NULL;
        }
        return poisoned(v);
    }
    case E_INT: return v_int(I, e->ival);
    case E_FLOAT: return v_float(I, e->fval);
    case E_STR: return v_strn(I, e->str, e->str_len);
    case E_BOOL: return v_bool(e->bval);
    case E_NONE: return V_NONE_;
    case E_FSTRING: return eval_fstring(I, env, e);
    case E_FIELD: {
        Value *v = poisoned(eval_expr(I, env, e->field.value));
        if (!v) return NULL;
        const char *s = format_spec(I, v, e->field.spec ? e->field.spec : "", e->loc);
        return s ? v_str(I, s) : NULL;
    }
    case E_ATTR: {
        Value *o = poisoned(eval_expr(I, env, e->attr.obj));
        if (!o) return NULL;
        return get_attr(I, o, e->attr.name, e->attr.name_loc.src ? e->attr.name_loc : e->loc);
    }
    case E_SUBSCRIPT: {
        Value *o = poisoned(eval_expr(I, env, e->sub.obj));
        if (!o) return NULL;
        Value *idx = poisoned(eval_expr(I, env, e->sub.index));
        if (!idx) return NULL;
        return subscript(I, o, idx, e->loc);
    }
    case E_SLICE: {
        Value *s = ARENA_NEW(I->a, Value);
        s->kind = V_SLICE;
        Expr *parts[3] = {e->slice.lo, e->slice.hi, e->slice.step};
        Value *vals[3] = {NULL, NULL, NULL};
        for (int i = 0; i < 3; i++)
            if (parts[i] && !(vals[i] = poisoned(eval_expr(I, env, parts[i])))) return NULL;
        s->slice.lo = vals[0];
        s->slice.hi = vals[1];
        s->slice.step = vals[2];
        return s;
    }
    case E_CALL: return eval_call(I, env, e);
    case E_BINOP: {
        Value *l = poisoned(eval_expr(I, env, e->bin.l));
        if (!l) return NULL;
        Value *r = poisoned(eval_expr(I, env, e->bin.r));
        if (!r) return NULL;
        if (e->bin.op == OP_MATMUL) return tensor_binop(I, OP_MATMUL, l, r, e->loc);
        return binop(I, e->bin.op, l, r, e->loc);
    }
    case E_UNARY: {
        Value *x = poisoned(eval_expr(I, env, e->un.x));
        if (!x) return NULL;
        if (e->un.op == OP_NOT) {
            int t = truthy(I, x, e->un.x->loc);
            return t < 0 ? NULL : v_bool(!t);
        }
        if (x->kind == V_NDARRAY) {
            if (e->un.op == OP_POS) return x;
            if (e->un.op == OP_INVERT) {
                /* numpy's ~: logical not of bools, bitwise not (-x - 1) of ints */
                const NdArray *a = x->nd;
                if (a->dt == ND_FLOAT32 || a->dt == ND_FLOAT64) {
                    diag_error(I->d, e->loc, "bad operand type for unary ~: a %s array", nd_type_name(a->dt));
                    return NULL;
                }
                NdArray *r = nd_new(I, a->dt, a->rank, a->dims);
                for (int64_t k = 0; k < a->n; k++) r->v[k] = a->dt == ND_BOOL ? (double)(a->v[k] == 0) : -a->v[k] - 1;
                r->is_tensor = a->is_tensor;
                return nd_value(I, r);
            }
            return nd_value(I, nd_unary(I, x->nd, "neg", 0, e->loc));
        }
        if (x->kind == V_TENSOR || x->kind == V_PARAM) {
            if (e->un.op == OP_POS) return x;
            return e->un.op == OP_INVERT ? tensor_invert(I, x, e->loc) : tensor_neg(I, x, e->loc);
        }
        if (!is_number(x) || (e->un.op == OP_INVERT && x->kind == V_FLOAT)) {
            if (x->kind == V_PLACEHOLDER) return use_placeholder(I, x, e->loc);
            diag_error(I->d, e->loc, "bad operand type for unary %s: '%s'", op_text(e->un.op), v_type_name(x));
            return NULL;
        }
        if (e->un.op == OP_INVERT) return v_int(I, ~ival(x));
        if (e->un.op == OP_POS) return x->kind == V_BOOL ? v_int(I, x->b) : x;
        if (x->kind == V_FLOAT) return v_float(I, -x->f);
        if (ival(x) == INT64_MIN) return overflow(I, e->loc);
        return v_int(I, -ival(x));
    }
    case E_BOOLOP: {
        Value *l = poisoned(eval_expr(I, env, e->bin.l));
        if (!l) return NULL;
        int t = truthy(I, l, e->bin.l->loc);
        if (t < 0) return NULL;
        if (e->bin.op == OP_AND ? !t : t) return l;
        return poisoned(eval_expr(I, env, e->bin.r));
    }
    case E_COMPARE: {
        Value *l = poisoned(eval_expr(I, env, e->cmp.first));
        if (!l) return NULL;
        for (int i = 0; i < e->cmp.n; i++) {
            Value *r = poisoned(eval_expr(I, env, e->cmp.rest[i]));
            if (!r) return NULL;
            Value *c = compare(I, e->cmp.ops[i], l, r, e->loc);
            if (!c) return NULL;
            if (c->kind != V_BOOL) {  /* an elementwise comparison of arrays */
                if (e->cmp.n == 1) return c;
                int t = truthy(I, c, e->loc);
                if (t < 0) return NULL;
                if (!t) return v_bool(false);
                l = r;
                continue;
            }
            if (!c->b) return c;
            l = r;
        }
        return v_bool(true);
    }
    case E_IFEXP: {
        Value *c = poisoned(eval_expr(I, env, e->ifexp.cond));
        if (!c) return NULL;
        int t = truthy(I, c, e->ifexp.cond->loc);
        if (t < 0) return NULL;
        return poisoned(eval_expr(I, env, t ? e->ifexp.body : e->ifexp.orelse));
    }
    case E_LIST: return eval_display(I, env, &e->elts, v_list(I, 0));
    case E_TUPLE: return eval_display(I, env, &e->elts, v_tuple(I, 0));
    case E_DICT: {
        Value *d = v_dict(I);
        for (int i = 0; i < e->dict.n; i++) {
            Value *v = poisoned(eval_expr(I, env, e->dict.values[i]));
            if (!v) return NULL;
            if (!e->dict.keys[i]) {
                if (v->kind != V_DICT) {
                    diag_error(I->d, e->dict.values[i]->loc, "'%s' object is not a mapping", v_type_name(v));
                    return NULL;
                }
                for (int k = 0; k < v->dict->n; k++)
                    dict_set(I, d->dict, v->dict->e[k].key, v->dict->e[k].val, v->dict->e[k].loc);
                continue;
            }
            Value *k = poisoned(eval_expr(I, env, e->dict.keys[i]));
            if (!k) return NULL;
            if (k->kind == V_LIST || k->kind == V_DICT) {
                diag_error(I->d, e->dict.keys[i]->loc, "unhashable type: '%s'", v_type_name(k));
                return NULL;
            }
            SrcLoc l = e->dict.keys[i]->loc;
            dict_set(I, d->dict, k, v, l);
        }
        return d;
    }
    case E_LISTCOMP:
    case E_SETCOMP:
    case E_DICTCOMP: {
        Env *cenv = env_new(I, env);
        Value *out = e->kind == E_LISTCOMP ? v_list(I, 0) : e->kind == E_SETCOMP ? v_set(I, false) : v_dict(I);
        return eval_listcomp(I, cenv, e, 0, out);
    }
    case E_GENEXP: return genexp_new(I, env, e);
    case E_SET: {
        Value *l = eval_display(I, env, &e->elts, v_list(I, 0));
        if (!l) return NULL;
        Value *s = v_set(I, false);
        for (int i = 0; i < l->seq->n; i++)
            if (!set_add(I, s, l->seq->v[i], e->loc)) return NULL;
        return s;
    }
    case E_LAMBDA: return make_function(I, env, e->lambda);
    case E_YIELD: {
        if (!I->yields || (I->frame && I->frame->fn && !func_is_generator(I->frame->fn->def))) {
            diag_error(I->d, e->loc, I->yields || I->frame ? "'yield' inside an expression is not supported in .bcl "
                                                              "(write it as a statement: `yield x` or `y = yield x`)"
                                                            : "'yield' outside function");
            return NULL;
        }
        if (!e->yield_.value) {
            seq_push(I, I->yields, V_NONE_);
            return V_NONE_;
        }
        Value *v = eval_expr(I, env, e->yield_.value);
        if (!v || v->kind == V_POISON) return NULL;
        if (e->yield_.from) {
            Seq *s = iterate(I, v, e->yield_.value->loc);
            if (!s) return NULL;
            for (int i = 0; i < s->n; i++) seq_push(I, I->yields, s->v[i]);
            return V_NONE_;   /* the sub-generator's return value is not kept */
        }
        seq_push(I, I->yields, v);
        return V_NONE_;   /* what send() would give: bclc has no send() */
    }
    case E_STARRED:
        diag_error(I->d, e->loc, "can't use starred expression here");
        return NULL;
    }
    diag_error(I->d, e->loc, "expression not supported in .bcl");
    return NULL;
}

Value *eval_expr(Elab *I, Env *env, Expr *e)
{
    if (I->expr_depth >= BCL_MAX_EXPR_DEPTH) {
        diag_error(I->d, e->loc, "expression nested too deeply");
        return NULL;
    }
    I->expr_depth++;
    Value *v = eval_expr_inner(I, env, e);
    I->expr_depth--;
    return v;
}

/* ------------------------------------------------------------------ statements */

static bool assign(Elab *I, Env *env, Expr *target, Value *v, SrcLoc vloc)
{
    switch (target->kind) {
    case E_NAME: bind_name(I, env, target->name, v); return true;
    case E_ATTR: {
        Value *o = poisoned(eval_expr(I, env, target->attr.obj));
        if (!o) return false;
        return set_attr(I, o, target->attr.name, v, vloc.src ? vloc : target->loc);
    }
    case E_SUBSCRIPT: {
        Value *o = poisoned(eval_expr(I, env, target->sub.obj));
        if (!o) return false;
        Value *idx = poisoned(eval_expr(I, env, target->sub.index));
        if (!idx) return false;
        if (o->kind == V_OBJECT && o->obj->dict_base && !class_lookup(o->obj->cls, "__setitem__")) o = o->obj->dict_base;
        if (o->kind == V_DICT) {
            if (idx->kind == V_LIST || idx->kind == V_DICT) {
                diag_error(I->d, target->sub.index->loc, "unhashable type: '%s'", v_type_name(idx));
                return false;
            }
            dict_set(I, o->dict, idx, v, vloc.src ? vloc : target->loc);
            return true;
        }
        if (o->kind == V_LIST) {
            int64_t i;
            if (idx->kind == V_SLICE) {
                diag_error(I->d, target->loc, "slice assignment is not supported in .bcl");
                return false;
            }
            if (!index_of(I, idx, o->seq->n, target->loc, &i, "list assignment")) return false;
            o->seq->v[i] = v;
            return true;
        }
        if (o->kind == V_NDARRAY) return nd_setitem(I, o, idx, v, target->loc);
        if (o->kind == V_TENSOR) return tensor_setitem(I, o, idx, v, target->loc);
        if (o->kind == V_OBJECT && class_lookup(o->obj->cls, "__setitem__")) {
            CallArgs a;
            callargs_init(&a);
            callargs_pos(I, &a, idx, target->loc);
            callargs_pos(I, &a, v, target->loc);
            return call_value(I, bind_method(I, class_lookup(o->obj->cls, "__setitem__"), o), &a, target->loc) != NULL;
        }
        diag_error(I->d, target->loc, "'%s' object does not support item assignment", v_type_name(o));
        return false;
    }
    case E_TUPLE:
    case E_LIST: {
        Seq *s = iterate(I, v, target->loc);
        if (!s) return false;
        int star = -1, n = target->elts.n;
        for (int i = 0; i < n; i++)
            if (target->elts.v[i]->kind == E_STARRED) star = i;
        if (star < 0 ? s->n != n : s->n < n - 1) {
            if (s->n > n)
                diag_error(I->d, target->loc, "too many values to unpack (expected %d, got %d)", n, s->n);
            else
                diag_error(I->d, target->loc, "not enough values to unpack (expected %s%d, got %d)",
                           star < 0 ? "" : "at least ", star < 0 ? n : n - 1, s->n);
            return false;
        }
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (i == star) {
                int take = s->n - (n - 1);
                Value *l = v_list(I, 0);
                for (int j = 0; j < take; j++) seq_push(I, l->seq, s->v[k++]);
                if (!assign(I, env, target->elts.v[i]->starred.value, l, vloc)) return false;
            } else if (!assign(I, env, target->elts.v[i], s->v[k++], vloc)) {
                return false;
            }
        }
        return true;
    }
    default:
        diag_error(I->d, target->loc, "cannot assign to this expression");
        return false;
    }
}

static Value *make_function(Elab *I, Env *env, FuncDef *d)
{
    FuncObj *fn = ARENA_NEW(I->a, FuncObj);
    fn->def = d;
    fn->qualname = d->name;
    fn->closure = env;
    while (fn->closure && fn->closure->is_class) fn->closure = fn->closure->parent;
    fn->globals = env;
    while (fn->globals->parent && fn->globals->parent != I->builtins) fn->globals = fn->globals->parent;
    fn->defaults = ARENA_NEWN(I->a, Value *, d->n_params + 1);
    for (int i = 0; i < d->n_params; i++)
        if (d->params[i].def && !(fn->defaults[i] = poisoned(eval_expr(I, env, d->params[i].def)))) return NULL;
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_FUNC;
    v->fn = fn;
    return v;
}

Value *make_function_value(Elab *I, Env *env, FuncDef *d) { return make_function(I, env, d); }

bool assign_to(Elab *I, Env *env, Expr *target, Value *v, SrcLoc vloc) { return assign(I, env, target, v, vloc); }

static Value *apply_decorators(Elab *I, Env *env, ExprList *decs, Value *v)
{
    for (int i = decs->n - 1; i >= 0; i--) {
        Value *dec = poisoned(eval_expr(I, env, decs->v[i]));
        if (!dec) return NULL;
        I->bind_failed = false;
        v = call1(I, dec, v, decs->v[i]->loc);
        if (!v) return NULL;
    }
    return v;
}

/* C3 linearisation of a class's bases (Python's MRO). */
static bool compute_mro(Elab *I, ClassObj *c, SrcLoc loc)
{
    int nb = c->n_bases;
    int total = 1;
    for (int i = 0; i < nb; i++) total += c->bases[i]->cls->n_mro;
    ClassObj **out = ARENA_NEWN(I->a, ClassObj *, total + 1);
    int n_out = 0;
    out[n_out++] = c;
    /* lists: each base's MRO, then the list of bases */
    int nl = nb + 1;
    ClassObj ***lists = ARENA_NEWN(I->a, ClassObj **, nl);
    int *len = ARENA_NEWN(I->a, int, nl), *pos = ARENA_NEWN(I->a, int, nl);
    for (int i = 0; i < nb; i++) {
        lists[i] = c->bases[i]->cls->mro;
        len[i] = c->bases[i]->cls->n_mro;
    }
    lists[nb] = ARENA_NEWN(I->a, ClassObj *, nb + 1);
    for (int i = 0; i < nb; i++) lists[nb][i] = c->bases[i]->cls;
    len[nb] = nb;
    for (;;) {
        bool any = false;
        ClassObj *pick = NULL;
        for (int i = 0; i < nl && !pick; i++) {
            if (pos[i] >= len[i]) continue;
            any = true;
            ClassObj *cand = lists[i][pos[i]];
            bool in_tail = false;
            for (int j = 0; j < nl && !in_tail; j++)
                for (int k = pos[j] + 1; k < len[j]; k++)
                    if (lists[j][k] == cand) { in_tail = true; break; }
            if (!in_tail) pick = cand;
        }
        if (!any) break;
        if (!pick) {
            diag_error(I->d, loc, "cannot create a consistent method resolution order for class '%s'", c->name);
            return false;
        }
        out[n_out++] = pick;
        for (int i = 0; i < nl; i++)
            if (pos[i] < len[i] && lists[i][pos[i]] == pick) pos[i]++;
    }
    c->mro = out;
    c->n_mro = n_out;
    return true;
}

static Value *make_class(Elab *I, Env *env, ClassDef *cd)
{
    ClassObj *c = ARENA_NEW(I->a, ClassObj);
    c->name = cd->name;
    c->loc = cd->name_loc;
    c->n_bases = cd->n_bases;
    c->bases = ARENA_NEWN(I->a, Value *, cd->n_bases + 1);
    for (int i = 0; i < cd->n_bases; i++) {
        Value *b = poisoned(eval_expr(I, env, cd->bases[i].value));
        if (!b) return NULL;
        if (b->kind != V_CLASS || (b->cls->tk != TK_EXCEPTION && b->cls->tk != TK_OBJECT && b->cls->tk != TK_DICT &&
                                    (b->cls->construct || b->cls->tk))) {
            diag_error(I->d, cd->bases[i].value->loc, "a class can only derive from M.Module, dict, an exception class or another .bcl class, not '%s'",
                       b->kind == V_CLASS ? b->cls->name : v_type_name(b));
            return NULL;
        }
        c->bases[i] = b;
        if (b->cls->is_module) c->is_module = true;
        if (b->cls->tk == TK_OBJECT) continue;   /* `class C(object)`: a plain class, as `class C:` */
        if (b->cls->tk == TK_EXCEPTION) {
            c->tk = TK_EXCEPTION;
            c->construct = I->exception_cls->construct;
        }
    }
    if (!compute_mro(I, c, cd->name_loc)) return NULL;
    Env *cenv = env_new(I, env);
    cenv->is_class = true;
    Value *ret = NULL;
    ExecStatus st = exec_block(I, cenv, &cd->body, &ret);
    if (st == EX_ERROR) return NULL;
    if (st != EX_NORMAL) {
        diag_error(I->d, cd->loc, "'return', 'break' or 'continue' in a class body");
        return NULL;
    }
    for (int i = 0; i < cenv->n; i++) {
        Value *v = cenv->vars[i].v;
        if (!v) continue;   /* deleted in the class body */
        if (v->kind == V_FUNC && !v->fn->owner) {
            v->fn->owner = c;
            v->fn->qualname = arena_printf(I->a, "%s.%s", c->name, v->fn->def->name);
        }
        dict_set_str(I, &c->attrs, cenv->vars[i].name, v, cd->loc);
    }
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_CLASS;
    v->cls = c;
    return v;
}

static ExecStatus exec_import(Elab *I, Env *env, Stmt *s)
{
    for (int i = 0; i < s->import_.n; i++) {
        ImportName *in = &s->import_.names[i];
        Value *m = import_module(I, in->name, in->loc, false);
        if (!m) return EX_ERROR;
        if (in->asname) {
            env_set(I, env, in->asname, m);
            continue;
        }
        const char *dot = strchr(in->name, '.');
        if (!dot) {
            env_set(I, env, in->name, m);
            continue;
        }
        /* `import a.b.c` binds `a`, with b and c reachable as attributes */
        const char *first = arena_strndup(I->a, in->name, (size_t)(dot - in->name));
        Value *root = env_get_local(env, first);
        if (!root || root->kind != V_NAMESPACE) {
            root = new_namespace(I, first);
            env_set(I, env, first, root);
        }
        Value *cur = root;
        const char *p = dot + 1;
        while (p) {
            const char *nd = strchr(p, '.');
            const char *part = nd ? arena_strndup(I->a, p, (size_t)(nd - p)) : p;
            if (!nd) {
                env_set(I, cur->ns->env, part, m);
                break;
            }
            Value *next = env_get_local(cur->ns->env, part);
            if (!next || next->kind != V_NAMESPACE) {
                next = new_namespace(I, arena_strndup(I->a, in->name, (size_t)(nd - in->name)));
                env_set(I, cur->ns->env, part, next);
            }
            cur = next;
            p = nd + 1;
        }
    }
    return EX_NORMAL;
}

static ExecStatus exec_from(Elab *I, Env *env, Stmt *s)
{
    bool rel = s->from.level > 0;
    const char *mod = s->from.module ? s->from.module : "";
    if (rel && !*mod) {
        /* `from . import resnet`: each name is a module beside this file */
        if (s->from.star) {
            diag_error(I->d, s->loc, "'from . import *' is not supported; import the modules by name");
            return EX_ERROR;
        }
        for (int i = 0; i < s->from.n; i++) {
            ImportName *in = &s->from.names[i];
            Value *v = import_relative(I, in->name, s->from.level, in->loc);
            if (!v) return EX_ERROR;
            env_set(I, env, in->asname ? in->asname : in->name, v);
        }
        return EX_NORMAL;
    }
    Value *m = rel ? import_relative(I, mod, s->from.level, s->loc) : import_module(I, mod, s->loc, false);
    if (!m) return EX_ERROR;
    if (m->kind == V_PLACEHOLDER) {   /* each name is a placeholder too: cv2.imread */
        for (int i = 0; i < s->from.n; i++) {
            ImportName *in = &s->from.names[i];
            Value *ph = ARENA_NEW(I->a, Value);
            ph->kind = V_PLACEHOLDER;
            ph->placeholder = ARENA_NEW(I->a, PlaceholderObj);
            ph->placeholder->module = arena_printf(I->a, "%s.%s", mod, in->name);
            ph->placeholder->import_loc = in->loc;
            env_set(I, env, in->asname ? in->asname : in->name, ph);
        }
        return EX_NORMAL;
    }
    if (s->from.star) {
        Env *me = m->ns->env;
        for (int i = 0; i < me->n; i++)
            if (me->vars[i].name[0] != '_' && me->vars[i].v) env_set(I, env, me->vars[i].name, me->vars[i].v);
        return EX_NORMAL;
    }
    ExecStatus st = EX_NORMAL;
    for (int i = 0; i < s->from.n; i++) {
        ImportName *in = &s->from.names[i];
        Value *v = env_get_local(m->ns->env, in->name);
        if (!v) {
            const char *sub = arena_printf(I->a, "%s.%s", s->from.module, in->name);
            int nerr = I->d->n_errors;
            (void)nerr;
            v = NULL;
            /* a submodule of a package ("from basecls import layers") */
            if (!strchr(in->name, '.') && (!strcmp(s->from.module, "basecls") || !strcmp(s->from.module, "megengine")))
                v = import_module(I, sub, in->loc, false);
            if (!v) {
                if (I->d->n_errors == nerr)
                    diag_error(I->d, in->loc, "cannot import name '%s' from '%s'", in->name, s->from.module);
                env_set(I, env, in->asname ? in->asname : in->name, V_POISON_);
                st = EX_ERROR;
                continue;
            }
        }
        env_set(I, env, in->asname ? in->asname : in->name, v);
    }
    return st;
}

static ExecStatus exec_stmt(Elab *I, Env *env, Stmt *s, Value **ret);

ExecStatus exec_block(Elab *I, Env *env, StmtList *b, Value **ret)
{
    for (int i = 0; i < b->n; i++) {
        ExecStatus st = exec_stmt(I, env, b->v[i], ret);
        if (st != EX_NORMAL) return st;
    }
    return EX_NORMAL;
}

static ExecStatus exec_augassign(Elab *I, Env *env, Stmt *s)
{
    Expr *t = s->aug.target;
    Value *rhs;
    Value *cur, *obj = NULL, *idx = NULL;
    switch (t->kind) {
    case E_NAME:
        cur = poisoned(eval_expr(I, env, t));
        break;
    case E_ATTR:
        if (!(obj = poisoned(eval_expr(I, env, t->attr.obj)))) return EX_ERROR;
        cur = get_attr(I, obj, t->attr.name, t->loc);
        break;
    case E_SUBSCRIPT:
        if (!(obj = poisoned(eval_expr(I, env, t->sub.obj)))) return EX_ERROR;
        if (!(idx = poisoned(eval_expr(I, env, t->sub.index)))) return EX_ERROR;
        cur = subscript(I, obj, idx, t->loc);
        break;
    default:
        diag_error(I->d, t->loc, "illegal target for augmented assignment");
        return EX_ERROR;
    }
    if (!cur) return EX_ERROR;
    if (!(rhs = poisoned(eval_expr(I, env, s->aug.value)))) return EX_ERROR;
    Value *nv;
    if (s->aug.op == OP_ADD && cur->kind == V_LIST) {
        Seq *items = iterate(I, rhs, s->aug.value->loc);  /* list += iterable extends in place */
        if (!items) return EX_ERROR;
        for (int i = 0; i < items->n; i++) seq_push(I, cur->seq, items->v[i]);
        nv = cur;
    } else {
        nv = s->aug.op == OP_MATMUL ? tensor_binop(I, OP_MATMUL, cur, rhs, s->loc) : binop(I, s->aug.op, cur, rhs, s->loc);
        if (!nv) return EX_ERROR;
    }
    switch (t->kind) {
    case E_NAME: bind_name(I, env, t->name, nv); return EX_NORMAL;
    case E_ATTR: return set_attr(I, obj, t->attr.name, nv, s->loc) ? EX_NORMAL : EX_ERROR;
    default:
        if (obj->kind == V_DICT) { dict_set(I, obj->dict, idx, nv, s->loc); return EX_NORMAL; }
        if (obj->kind == V_NDARRAY) return nd_setitem(I, obj, idx, nv, t->loc) ? EX_NORMAL : EX_ERROR;
        if (obj->kind == V_LIST) {
            int64_t i;
            if (!index_of(I, idx, obj->seq->n, t->loc, &i, "list")) return EX_ERROR;
            obj->seq->v[i] = nv;
            return EX_NORMAL;
        }
        diag_error(I->d, t->loc, "'%s' object does not support item assignment", v_type_name(obj));
        return EX_ERROR;
    }
}

/* `del x`, `del d[k]`, `del xs[i]`, `del xs[a:b]`, `del obj.attr`, `del a, b`. */
static bool delete_target(Elab *I, Env *env, Expr *t)
{
    switch (t->kind) {
    case E_NAME: {
        Env *e = env;
        Value *cur = env_get_local(e, t->name);
        while (cur && cur->kind == V_CELLREF) {
            e = cur->cellref;
            cur = env_get_local(e, t->name);
        }
        if (!cur || cur->kind == V_POISON) {
            if (cur) return false;
            diag_error(I->d, t->loc, "name '%s' is not defined", t->name);
            return false;
        }
        env_set(I, e, t->name, NULL);   /* unbound again */
        return true;
    }
    case E_TUPLE:
    case E_LIST:
        for (int i = 0; i < t->elts.n; i++)
            if (!delete_target(I, env, t->elts.v[i])) return false;
        return true;
    case E_ATTR: {
        Value *o = poisoned(eval_expr(I, env, t->attr.obj));
        if (!o) return false;
        if (o->kind == V_OBJECT) {
            if (I->tracing && o->obj->cls->is_module && !o->obj->born_in_forward) {
                diag_error(I->d, t->loc, "modules cannot be changed in forward (deleting '%s')", t->attr.name);
                return false;
            }
            Value key = {.kind = V_STR, .str = {t->attr.name, (int64_t)strlen(t->attr.name)}};
            if (dict_del(&o->obj->attrs, &key)) return true;
        }
        diag_error(I->d, t->attr.name_loc.src ? t->attr.name_loc : t->loc, "'%s' object has no attribute '%s'",
                   v_type_name(o), t->attr.name);
        return false;
    }
    case E_SUBSCRIPT: {
        Value *o = poisoned(eval_expr(I, env, t->sub.obj));
        if (!o) return false;
        Value *idx = poisoned(eval_expr(I, env, t->sub.index));
        if (!idx) return false;
        if (o->kind == V_OBJECT && class_lookup(o->obj->cls, "__delitem__")) {
            CallArgs a;
            callargs_init(&a);
            callargs_pos(I, &a, idx, t->loc);
            return call_value(I, bind_method(I, class_lookup(o->obj->cls, "__delitem__"), o), &a, t->loc) != NULL;
        }
        if (o->kind == V_OBJECT && o->obj->dict_base) o = o->obj->dict_base;
        if (o->kind == V_DICT) {
            if (dict_del(o->dict, idx)) return true;
            diag_error(I->d, t->loc, "key %s not found in dict", v_repr(I, idx));
            return false;
        }
        if (o->kind == V_LIST) {
            int64_t start, step, count;
            if (idx->kind == V_SLICE) {
                if (!slice_indices(I, idx, o->seq->n, t->loc, &start, &step, &count)) return false;
            } else {
                if (!index_of(I, idx, o->seq->n, t->loc, &start, "list assignment")) return false;
                step = 1;
                count = 1;
            }
            /* keep the items not selected, in order */
            bool *gone = ARENA_NEWN(I->a, bool, o->seq->n + 1);
            for (int64_t k = 0; k < count; k++) gone[start + k * step] = true;
            int w = 0;
            for (int k = 0; k < o->seq->n; k++)
                if (!gone[k]) o->seq->v[w++] = o->seq->v[k];
            o->seq->n = w;
            return true;
        }
        diag_error(I->d, t->loc, "'%s' object does not support item deletion", v_type_name(o));
        return false;
    }
    default:
        diag_error(I->d, t->loc, "cannot delete this expression");
        return false;
    }
}

/* `global x`: x in this scope is the file's x; `nonlocal x`: the x of the nearest
 * enclosing function. The scope holds a V_CELLREF that name lookups follow. */
static bool declare_names(Elab *I, Env *env, Stmt *s)
{
    Env *target = NULL;
    if (s->kind == S_GLOBAL) {
        if (!I->frame) return true;   /* at top level, names are global already */
        target = I->frame->fn->globals;
    }
    for (int i = 0; i < s->names.n; i++) {
        const char *n = s->names.v[i];
        Env *t = target;
        if (s->kind == S_NONLOCAL) {
            for (Env *e = env->parent; e && !t; e = e->parent)
                if (!e->is_class && e->parent && env_get_local(e, n) && (!I->frame || e != I->frame->fn->globals)) t = e;
            if (!t || !I->frame || t == I->frame->fn->globals) {
                diag_error(I->d, s->loc, "no binding for nonlocal '%s' found", n);
                return false;
            }
        }
        if (t == env) continue;
        Value *ref = ARENA_NEW(I->a, Value);
        ref->kind = V_CELLREF;
        ref->cellref = t;
        env_set(I, env, n, ref);
    }
    return true;
}

static void steps_exceeded(Elab *I, SrcLoc loc)
{
    diag_error(I->d, loc, "compile-time evaluation ran more than %ld statements (the limit; --max-steps N raises it); "
               "is there a runaway loop?", I->max_steps);
}

static ExecStatus exec_stmt(Elab *I, Env *env, Stmt *s, Value **ret)
{
    /* a budget of statements, so that huge nested loops end with an error, not a hang */
    if (++I->steps > I->max_steps) {
        if (I->steps == I->max_steps + 1) steps_exceeded(I, s->loc);
        return EX_ERROR;
    }
    switch (s->kind) {
    case S_EXPR: return poisoned(eval_expr(I, env, s->expr)) ? EX_NORMAL : EX_ERROR;
    case S_ASSIGN: {
        Value *v = poisoned(eval_expr(I, env, s->assign.value));
        if (!v) return EX_ERROR;
        for (int i = 0; i < s->assign.n_targets; i++)
            if (!assign(I, env, s->assign.targets[i], v, s->assign.value->loc)) return EX_ERROR;
        return EX_NORMAL;
    }
    case S_AUGASSIGN: return exec_augassign(I, env, s);
    case S_ANNASSIGN: {
        if (!s->ann.value) return EX_NORMAL;
        Value *v = poisoned(eval_expr(I, env, s->ann.value));
        if (!v) return EX_ERROR;
        return assign(I, env, s->ann.target, v, s->ann.value->loc) ? EX_NORMAL : EX_ERROR;
    }
    case S_IF: {
        Value *c = poisoned(eval_expr(I, env, s->if_.cond));
        if (!c) return EX_ERROR;
        int t = truthy(I, c, s->if_.cond->loc);
        if (t < 0) return EX_ERROR;
        return exec_block(I, env, t ? &s->if_.body : &s->if_.orelse, ret);
    }
    case S_FOR: {
        Value *it = poisoned(eval_expr(I, env, s->for_.iter));
        if (!it) return EX_ERROR;
        Seq *items = iterate(I, it, s->for_.iter->loc);
        if (!items) return EX_ERROR;
        for (int i = 0; i < items->n; i++) {
            if (!assign(I, env, s->for_.target, items->v[i], s->for_.iter->loc)) return EX_ERROR;
            ExecStatus st = exec_block(I, env, &s->for_.body, ret);
            if (st == EX_BREAK) return EX_NORMAL;
            if (st == EX_RETURN || st == EX_ERROR) return st;
        }
        return exec_block(I, env, &s->for_.orelse, ret);
    }
    case S_RETURN:
        if (s->expr) {
            Value *v = poisoned(eval_expr(I, env, s->expr));
            if (!v) return EX_ERROR;
            *ret = v;
        } else {
            *ret = V_NONE_;
        }
        return EX_RETURN;
    case S_ASSERT: {
        Value *c = poisoned(eval_expr(I, env, s->assert_.cond));
        if (!c) return EX_ERROR;
        int t = truthy(I, c, s->assert_.cond->loc);
        if (t < 0) return EX_ERROR;
        if (t) return EX_NORMAL;
        if (s->assert_.msg) {
            Value *m = poisoned(eval_expr(I, env, s->assert_.msg));
            if (!m) return EX_ERROR;
            diag_error(I->d, s->loc, "assertion failed: %s", v_to_str(I, m));
        } else {
            diag_error(I->d, s->loc, "assertion failed");
        }
        return EX_ERROR;
    }
    case S_RAISE: return exec_raise(I, env, s);
    case S_WHILE:
        for (;;) {
            Value *c = poisoned(eval_expr(I, env, s->while_.cond));
            if (!c) return EX_ERROR;
            int t = truthy(I, c, s->while_.cond->loc);
            if (t < 0) return EX_ERROR;
            if (!t) break;
            ExecStatus st = exec_block(I, env, &s->while_.body, ret);
            if (st == EX_BREAK) return EX_NORMAL;
            if (st == EX_RETURN || st == EX_ERROR) return st;
            if (++I->steps > I->max_steps) {   /* an empty loop body runs no statement */
                steps_exceeded(I, s->loc);
                return EX_ERROR;
            }
        }
        return exec_block(I, env, &s->while_.orelse, ret);
    case S_TRY: return exec_try(I, env, s, ret);
    case S_WITH: return exec_with(I, env, s, ret);
    case S_DEL:
        for (int i = 0; i < s->del_.n; i++)
            if (!delete_target(I, env, s->del_.v[i])) return EX_ERROR;
        return EX_NORMAL;
    case S_GLOBAL:
    case S_NONLOCAL:
        return declare_names(I, env, s) ? EX_NORMAL : EX_ERROR;
    case S_PASS: return EX_NORMAL;
    case S_BREAK: return EX_BREAK;
    case S_CONTINUE: return EX_CONTINUE;
    case S_DEF: {
        Value *f = make_function(I, env, s->def);
        if (!f) return EX_ERROR;
        f = apply_decorators(I, env, &s->def->decorators, f);
        if (!f) return EX_ERROR;
        env_set(I, env, s->def->name, f);
        return EX_NORMAL;
    }
    case S_CLASS: {
        Value *c = make_class(I, env, s->cls);
        if (!c) return EX_ERROR;
        c = apply_decorators(I, env, &s->cls->decorators, c);
        if (!c) return EX_ERROR;
        env_set(I, env, s->cls->name, c);
        return EX_NORMAL;
    }
    case S_IMPORT: return exec_import(I, env, s);
    case S_FROM: return exec_from(I, env, s);
    }
    diag_error(I->d, s->loc, "statement not supported in .bcl");
    return EX_ERROR;
}

/* Binds the names a failed statement would have defined to a poison value, so that
 * later uses stay silent instead of repeating "not defined" errors. */
static void poison_targets(Elab *I, Env *env, Stmt *s)
{
    switch (s->kind) {
    case S_ASSIGN:
        for (int i = 0; i < s->assign.n_targets; i++)
            if (s->assign.targets[i]->kind == E_NAME) env_set(I, env, s->assign.targets[i]->name, V_POISON_);
        break;
    case S_ANNASSIGN:
        if (s->ann.target->kind == E_NAME) env_set(I, env, s->ann.target->name, V_POISON_);
        break;
    case S_DEF: env_set(I, env, s->def->name, V_POISON_); break;
    case S_CLASS: env_set(I, env, s->cls->name, V_POISON_); break;
    case S_IMPORT:
        for (int i = 0; i < s->import_.n; i++) {
            ImportName *in = &s->import_.names[i];
            const char *n = in->asname ? in->asname : in->name;
            if (!env_get_local(env, n) && !strchr(n, '.')) env_set(I, env, n, V_POISON_);
        }
        break;
    case S_FROM:
        for (int i = 0; i < s->from.n; i++) {
            ImportName *in = &s->from.names[i];
            const char *n = in->asname ? in->asname : in->name;
            if (!env_get_local(env, n)) env_set(I, env, n, V_POISON_);
        }
        break;
    default: break;
    }
}

bool exec_toplevel(Elab *I, Env *env, AstModule *m)
{
    bool ok = true;
    for (int i = 0; i < m->body.n; i++) {
        Stmt *s = m->body.v[i];
        Value *ret = NULL;
        ExecStatus st = exec_stmt(I, env, s, &ret);
        if (st == EX_ERROR) {
            ok = false;
            poison_targets(I, env, s);
        } else if (st != EX_NORMAL) {
            diag_error(I->d, s->loc, "'return', 'break' or 'continue' outside a function or loop");
            ok = false;
        }
    }
    return ok;
}
