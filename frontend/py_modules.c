/* Python's standard modules as far as model files use them at compile time: math,
 * numbers, typing, functools, collections and copy. */
#include <math.h>
#include <string.h>

#include "frontend/native_args.h"

static bool is_intlike(const Value *v) { return v->kind == V_INT || v->kind == V_BOOL; }
static int64_t ival(const Value *v) { return v->kind == V_INT ? v->i : v->b; }

static bool nargs(Elab *I, CallArgs *a, SrcLoc loc, const char *f, int lo, int hi)
{
    if (a->n_kw) {
        diag_error(I->d, loc, "%s() takes no keyword arguments", f);
        return false;
    }
    if (a->n_pos < lo || a->n_pos > hi) {
        diag_error(I->d, loc, "%s() takes %d to %d arguments (%d given)", f, lo, hi, a->n_pos);
        return false;
    }
    return true;
}

static Value *add_class(Elab *I, Env *env, const char *name, TypeKind tk, NativeFn construct)
{
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_CLASS;
    v->cls = native_class(I, name, tk, construct);
    env_set(I, env, name, v);
    return v;
}

/* ------------------------------------------------------------------ math */

static Value *domain_error(Elab *I, SrcLoc loc)
{
    diag_error(I->d, loc, "ValueError: math domain error");
    return NULL;
}

static Value *int_of(Elab *I, double r, SrcLoc loc)
{
    if (isnan(r) || isinf(r)) {
        diag_error(I->d, loc, isnan(r) ? "ValueError: cannot convert float NaN to integer"
                                       : "OverflowError: cannot convert float infinity to integer");
        return NULL;
    }
    if (!(r > -9.2e18 && r < 9.2e18)) {
        diag_error(I->d, loc, "OverflowError: %g does not fit in a 64-bit int", r);
        return NULL;
    }
    return v_int(I, (int64_t)r);
}

/* the one-argument float functions, by name */
static double (*unary_fn(const char *name))(double)
{
    static const struct { const char *name; double (*fn)(double); } fs[] = {
        {"exp", exp}, {"sqrt", sqrt}, {"log2", log2}, {"log10", log10}, {"cos", cos}, {"sin", sin},
        {"tan", tan}, {"acos", acos}, {"asin", asin}, {"atan", atan}, {"cosh", cosh}, {"sinh", sinh},
        {"tanh", tanh}, {"fabs", fabs}, {"erf", erf}, {"erfc", erfc}, {"log1p", log1p}, {"expm1", expm1},
        {"degrees", NULL}, {"radians", NULL},
    };
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++)
        if (!strcmp(fs[i].name, name)) return fs[i].fn;
    return NULL;
}

static Value *math_unary(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    const char *f = self->str.s;   /* the builtin's self is its name */
    if (!nargs(I, a, loc, f, 1, 1)) return NULL;
    double x;
    if (!as_float(I, a->pos[0], a->pos_loc[0], arena_printf(I->a, "math.%s() argument", f), &x)) return NULL;
    if (!strcmp(f, "degrees")) return v_float(I, x * 180.0 / M_PI);
    if (!strcmp(f, "radians")) return v_float(I, x * M_PI / 180.0);
    if ((!strcmp(f, "sqrt") && x < 0) || ((!strcmp(f, "log2") || !strcmp(f, "log10")) && x <= 0) ||
        ((!strcmp(f, "acos") || !strcmp(f, "asin")) && (x < -1 || x > 1)) || (!strcmp(f, "log1p") && x <= -1))
        return domain_error(I, loc);
    double r = unary_fn(f)(x);
    if (isinf(r) && !isinf(x)) {
        diag_error(I->d, loc, "OverflowError: math range error");
        return NULL;
    }
    return v_float(I, r);
}

static Value *f_round_to_int(Elab *I, CallArgs *a, SrcLoc loc, const char *f, double (*fn)(double))
{
    if (!nargs(I, a, loc, f, 1, 1)) return NULL;
    if (is_intlike(a->pos[0])) return v_int(I, ival(a->pos[0]));
    double x;
    if (!as_float(I, a->pos[0], a->pos_loc[0], arena_printf(I->a, "math.%s() argument", f), &x)) return NULL;
    return int_of(I, fn(x), loc);
}
static Value *f_ceil(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { (void)self; return f_round_to_int(I, a, loc, "ceil", ceil); }
static Value *f_floor(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { (void)self; return f_round_to_int(I, a, loc, "floor", floor); }
static Value *f_trunc(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { (void)self; return f_round_to_int(I, a, loc, "trunc", trunc); }

static Value *f_log(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (!nargs(I, a, loc, "log", 1, 2)) return NULL;
    double x, b = M_E;
    if (!as_float(I, a->pos[0], a->pos_loc[0], "math.log() argument", &x)) return NULL;
    if (a->n_pos == 2 && !as_float(I, a->pos[1], a->pos_loc[1], "math.log() base", &b)) return NULL;
    if (x <= 0 || b <= 0 || b == 1) return domain_error(I, loc);
    return v_float(I, a->n_pos == 2 ? log(x) / log(b) : log(x));
}

static Value *f_pow(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (!nargs(I, a, loc, "pow", 2, 2)) return NULL;
    double x, y;
    if (!as_float(I, a->pos[0], a->pos_loc[0], "math.pow() argument", &x) ||
        !as_float(I, a->pos[1], a->pos_loc[1], "math.pow() argument", &y))
        return NULL;
    if ((x < 0 && y != floor(y)) || (x == 0 && y < 0)) return domain_error(I, loc);
    return v_float(I, pow(x, y));
}

static Value *f_atan2(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (!nargs(I, a, loc, "atan2", 2, 2)) return NULL;
    double y, x;
    if (!as_float(I, a->pos[0], a->pos_loc[0], "math.atan2() argument", &y) ||
        !as_float(I, a->pos[1], a->pos_loc[1], "math.atan2() argument", &x))
        return NULL;
    return v_float(I, atan2(y, x));
}

static Value *f_gcd(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (!nargs(I, a, loc, "gcd", 0, 1 << 20)) return NULL;
    int64_t g = 0;
    for (int i = 0; i < a->n_pos; i++) {
        int64_t x;
        if (!as_int(I, a->pos[i], a->pos_loc[i], "math.gcd() argument", &x)) return NULL;
        x = x < 0 ? -x : x;
        while (x) { int64_t t = g % x; g = x; x = t; }
    }
    return v_int(I, g);
}

static Value *f_isclose(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    ARGS("a", "b", "rel_tol", "abs_tol");
    BIND("isclose", 2);
    double x, y, rel = 1e-9, abs_tol = 0;
    if (!as_float(I, av[0], loc, "math.isclose() argument", &x) || !as_float(I, av[1], loc, "math.isclose() argument", &y))
        return NULL;
    if (av[2] && !as_float(I, av[2], loc, "rel_tol", &rel)) return NULL;
    if (av[3] && !as_float(I, av[3], loc, "abs_tol", &abs_tol)) return NULL;
    if (rel < 0 || abs_tol < 0) {
        diag_error(I->d, loc, "ValueError: tolerances must be non-negative");
        return NULL;
    }
    if (x == y) return v_bool(true);
    if (isinf(x) || isinf(y)) return v_bool(false);
    double d = fabs(x - y);
    return v_bool(d <= fabs(rel * y) || d <= fabs(rel * x) || d <= abs_tol);
}

static Value *f_prod(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    ARGS("iterable", "start");
    BIND("prod", 1);
    Seq *s = iterate(I, av[0], loc);
    if (!s) return NULL;
    Value *r = av[1] ? av[1] : v_int(I, 1);
    for (int i = 0; i < s->n; i++)
        if (!(r = binop(I, OP_MUL, r, s->v[i], loc))) return NULL;
    return r;
}

static Value *f_fsum(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (!nargs(I, a, loc, "fsum", 1, 1)) return NULL;
    Seq *s = iterate(I, a->pos[0], a->pos_loc[0]);
    if (!s) return NULL;
    double sum = 0, c = 0;   /* Kahan-compensated */
    for (int i = 0; i < s->n; i++) {
        double x;
        if (!as_float(I, s->v[i], loc, "math.fsum() item", &x)) return NULL;
        double y = x - c, t = sum + y;
        c = (t - sum) - y;
        sum = t;
    }
    return v_float(I, sum);
}

static Value *f_classify(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    const char *f = self->str.s;
    if (!nargs(I, a, loc, f, 1, 1)) return NULL;
    double x;
    if (!as_float(I, a->pos[0], a->pos_loc[0], arena_printf(I->a, "math.%s() argument", f), &x)) return NULL;
    if (!strcmp(f, "isnan")) return v_bool(isnan(x));
    if (!strcmp(f, "isinf")) return v_bool(isinf(x));
    return v_bool(isfinite(x));
}

static Value *f_copysign(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (!nargs(I, a, loc, "copysign", 2, 2)) return NULL;
    double x, y;
    if (!as_float(I, a->pos[0], a->pos_loc[0], "math.copysign() argument", &x) ||
        !as_float(I, a->pos[1], a->pos_loc[1], "math.copysign() argument", &y))
        return NULL;
    return v_float(I, copysign(x, y));
}

static Value *native_math(Elab *I)
{
    Value *ns = new_namespace(I, "math");
    static const char *const unary[] = {"exp", "sqrt", "log2", "log10", "cos", "sin", "tan", "acos", "asin",
                                        "atan", "cosh", "sinh", "tanh", "fabs", "erf", "erfc", "log1p", "expm1",
                                        "degrees", "radians"};
    for (size_t i = 0; i < sizeof unary / sizeof *unary; i++)
        env_set(I, ns->ns->env, unary[i], v_builtin(I, unary[i], math_unary, v_str(I, unary[i])));
    static const char *const classify[] = {"isnan", "isinf", "isfinite"};
    for (size_t i = 0; i < 3; i++) env_set(I, ns->ns->env, classify[i], v_builtin(I, classify[i], f_classify, v_str(I, classify[i])));
    static const struct { const char *name; NativeFn fn; } fs[] = {
        {"ceil", f_ceil}, {"floor", f_floor}, {"trunc", f_trunc}, {"log", f_log}, {"pow", f_pow},
        {"atan2", f_atan2}, {"gcd", f_gcd}, {"isclose", f_isclose}, {"prod", f_prod}, {"fsum", f_fsum},
        {"copysign", f_copysign},
    };
    for (size_t i = 0; i < sizeof fs / sizeof *fs; i++) ns_add(I, ns, fs[i].name, fs[i].fn);
    env_set(I, ns->ns->env, "pi", v_float(I, M_PI));
    env_set(I, ns->ns->env, "e", v_float(I, M_E));
    env_set(I, ns->ns->env, "tau", v_float(I, 2 * M_PI));
    env_set(I, ns->ns->env, "inf", v_float(I, INFINITY));
    env_set(I, ns->ns->env, "nan", v_float(I, NAN));
    return ns;
}

/* ------------------------------------------------------------------ typing, numbers */

static bool callable_value(const Value *v)
{
    switch (v->kind) {
    case V_FUNC: case V_BUILTIN: case V_BOUND: case V_CLASS: return true;
    case V_OBJECT:
        return v->obj->cls->is_module || v->obj->cls->tk == TK_PARTIAL || class_lookup(v->obj->cls, "__call__");
    default: return false;
    }
}

bool class_is_tuple_like(ClassObj *c) { return class_lookup(c, "__bcl_tuple__") != NULL; }

bool tuple_like(const Value *v) { return v->kind == V_OBJECT && class_is_tuple_like(v->obj->cls); }

bool typing_instance(Elab *I, Value *v, ClassObj *c)
{
    const char *n = c->name;
    bool num = v->kind == V_INT || v->kind == V_BOOL || v->kind == V_FLOAT;
    /* numbers: bool is an Integral, float a Real, neither a tensor */
    if (!strcmp(n, "Number") || !strcmp(n, "Complex") || !strcmp(n, "Real")) return num;
    if (!strcmp(n, "Integral") || !strcmp(n, "Rational")) return v->kind == V_INT || v->kind == V_BOOL;
    if (!strcmp(n, "Callable")) return callable_value(v);
    if (!strcmp(n, "Sequence"))
        return v->kind == V_LIST || v->kind == V_TUPLE || v->kind == V_STR || v->kind == V_RANGE || tuple_like(v);
    if (!strcmp(n, "MutableSequence") || !strcmp(n, "List")) return v->kind == V_LIST;
    if (!strcmp(n, "Tuple")) return v->kind == V_TUPLE || tuple_like(v);
    if (!strcmp(n, "Mapping") || !strcmp(n, "MutableMapping") || !strcmp(n, "Dict")) {
        if (v->kind == V_OBJECT)   /* a class deriving from dict (ConfigDict) */
            for (int i = 0; i < v->obj->cls->n_mro; i++)
                if (v->obj->cls->mro[i]->tk == TK_DICT) return true;
        return v->kind == V_DICT;
    }
    if (!strcmp(n, "Set") || !strcmp(n, "AbstractSet")) return v->kind == V_SET || v->kind == V_FROZENSET;
    if (!strcmp(n, "FrozenSet")) return v->kind == V_FROZENSET;
    if (!strcmp(n, "Type")) return v->kind == V_CLASS;
    if (!strcmp(n, "Iterator")) return is_iterator(I, v);
    if (!strcmp(n, "Iterable") || !strcmp(n, "Collection"))
        return v->kind == V_LIST || v->kind == V_TUPLE || v->kind == V_STR || v->kind == V_RANGE || v->kind == V_DICT ||
               v->kind == V_SET || v->kind == V_FROZENSET || is_iterator(I, v) ||
               (v->kind == V_OBJECT && (class_lookup(v->obj->cls, "__iter__") || v->obj->dict_base));
    if (!strcmp(n, "Hashable"))
        return v->kind != V_LIST && v->kind != V_DICT && v->kind != V_SET;
    /* Any, Optional, Union, TypeVar...: Python refuses them in isinstance */
    diag_error(I->d, I->user_loc, "TypeError: typing.%s cannot be used with isinstance()", n);
    return false;
}

static Value *native_typing(Elab *I)
{
    Value *ns = new_namespace(I, "typing");
    static const char *const names[] = {"Any", "Mapping", "Sequence", "Optional", "List", "Dict", "Tuple", "Union",
                                        "Callable", "Iterable", "Iterator", "Type", "MutableMapping", "Set",
                                        "FrozenSet", "MutableSequence", "Collection", "Hashable", "AbstractSet",
                                        "NamedTuple", "TypeVar", "Generic", "ClassVar", "Literal", "Final"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) add_class(I, ns->ns->env, names[i], TK_TYPING, NULL);
    env_set(I, ns->ns->env, "TYPE_CHECKING", v_bool(false));
    return ns;
}

static Value *native_numbers(Elab *I)
{
    Value *ns = new_namespace(I, "numbers");
    static const char *const names[] = {"Number", "Complex", "Real", "Rational", "Integral"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) add_class(I, ns->ns->env, names[i], TK_TYPING, NULL);
    return ns;
}

/* ------------------------------------------------------------------ functools */

/* partial objects keep the function, the positional arguments (a tuple) and the
 * keywords (a dict) as Python's: p.func, p.args, p.keywords */
Value *partial_func(Elab *I, Value *v)
{
    (void)I;
    if (v->kind != V_OBJECT || v->obj->cls->tk != TK_PARTIAL) return NULL;
    return dict_get_str(&v->obj->attrs, "func");
}

static Value *c_partial(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (a->n_pos < 1) {
        diag_error(I->d, loc, "TypeError: partial() takes at least 1 argument (the function)");
        return NULL;
    }
    Value *f = a->pos[0];
    Value *args = v_tuple(I, 0), *kw = v_dict(I);
    /* partial(partial(f, a), b) flattens, as Python's does */
    if (partial_func(I, f)) {
        Value *inner = f;
        f = partial_func(I, inner);
        Value *ia = dict_get_str(&inner->obj->attrs, "args"), *ik = dict_get_str(&inner->obj->attrs, "keywords");
        for (int i = 0; i < ia->seq->n; i++) seq_push(I, args->seq, ia->seq->v[i]);
        for (int i = 0; i < ik->dict->n; i++) dict_set(I, kw->dict, ik->dict->e[i].key, ik->dict->e[i].val, ik->dict->e[i].loc);
    }
    if (!callable_value(f)) {
        diag_error(I->d, a->pos_loc[0], "TypeError: the first argument of partial() must be callable, not '%s'", v_type_name(f));
        return NULL;
    }
    for (int i = 1; i < a->n_pos; i++) seq_push(I, args->seq, a->pos[i]);
    for (int i = 0; i < a->n_kw; i++) dict_set(I, kw->dict, v_str(I, a->kw_names[i]), a->kw[i], a->kw_loc[i]);
    Value *obj = ARENA_NEW(I->a, Value);
    obj->kind = V_OBJECT;
    obj->obj = ARENA_NEW(I->a, ObjectObj);
    obj->obj->cls = self->cls;
    obj->obj->made_at = I->user_loc;
    dict_set_str(I, &obj->obj->attrs, "func", f, loc);
    dict_set_str(I, &obj->obj->attrs, "args", args, loc);
    dict_set_str(I, &obj->obj->attrs, "keywords", kw, loc);
    return obj;
}

/* calling a partial: its arguments first, then the call's; call keywords override */
static Value *partial_call(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *f = partial_func(I, self);
    Value *args = dict_get_str(&self->obj->attrs, "args"), *kw = dict_get_str(&self->obj->attrs, "keywords");
    CallArgs c;
    callargs_init(&c);
    for (int i = 0; i < args->seq->n; i++) callargs_pos(I, &c, args->seq->v[i], loc);
    for (int i = 0; i < a->n_pos; i++) callargs_pos(I, &c, a->pos[i], a->pos_loc[i]);
    for (int i = 0; i < kw->dict->n; i++) {
        const char *k = kw->dict->e[i].key->str.s;
        bool overridden = false;
        for (int j = 0; j < a->n_kw && !overridden; j++) overridden = !strcmp(a->kw_names[j], k);
        if (!overridden) callargs_kw(I, &c, k, kw->dict->e[i].val, loc, kw->dict->e[i].loc);
    }
    for (int j = 0; j < a->n_kw; j++) callargs_kw(I, &c, a->kw_names[j], a->kw[j], a->kw_loc[j], a->kw_origin[j]);
    return call_value(I, f, &c, loc);
}

static Value *f_reduce(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (!nargs(I, a, loc, "reduce", 2, 3)) return NULL;
    Seq *s = iterate(I, a->pos[1], a->pos_loc[1]);
    if (!s) return NULL;
    int i = 0;
    Value *acc = a->n_pos == 3 ? a->pos[2] : NULL;
    if (!acc) {
        if (!s->n) {
            diag_error(I->d, loc, "TypeError: reduce() of empty iterable with no initial value");
            return NULL;
        }
        acc = s->v[i++];
    }
    for (; i < s->n; i++) {
        CallArgs c;
        callargs_init(&c);
        callargs_pos(I, &c, acc, loc);
        callargs_pos(I, &c, s->v[i], loc);
        if (!(acc = call_value(I, a->pos[0], &c, loc))) return NULL;
    }
    return acc;
}

static Value *identity(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (!nargs(I, a, loc, "decorator", 1, 1)) return NULL;
    return a->pos[0];
}

/* lru_cache and cache change no result at compile time: lru_cache(f), lru_cache(),
 * lru_cache(maxsize=N) all leave the function as it is; wraps(f) likewise */
static Value *f_lru_cache(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    (void)loc;
    if (a->n_pos == 1 && callable_value(a->pos[0]) && !a->n_kw) return a->pos[0];
    return v_builtin(I, "lru_cache", identity, NULL);
}

static Value *f_wraps(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    (void)a;
    (void)loc;
    return v_builtin(I, "wraps", identity, NULL);
}

static Value *native_functools(Elab *I)
{
    Value *ns = new_namespace(I, "functools");
    Value *p = add_class(I, ns->ns->env, "partial", TK_PARTIAL, c_partial);
    dict_set_str(I, &p->cls->attrs, "__call__", v_builtin(I, "__call__", partial_call, NULL), NO_LOC);
    I->partial_cls = p->cls;
    ns_add(I, ns, "reduce", f_reduce);
    ns_add(I, ns, "lru_cache", f_lru_cache);
    ns_add(I, ns, "cache", identity);
    ns_add(I, ns, "wraps", f_wraps);
    return ns;
}

/* ------------------------------------------------------------------ collections, copy */

/* defaultdict(factory, ...): a dict (isinstance dict) whose missing keys are made by
 * factory(); the other arguments are dict()'s */
static Value *c_defaultdict(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    Value *factory = a->n_pos ? a->pos[0] : V_NONE_;
    if (factory->kind != V_NONE && !callable_value(factory)) {
        diag_error(I->d, a->pos_loc[0], "TypeError: first argument must be callable or None");
        return NULL;
    }
    CallArgs rest = *a;
    if (a->n_pos) {
        rest.n_pos--;
        rest.pos++;
        rest.pos_loc++;
    }
    Value *dict = env_get_local(I->builtins, "dict");
    Value *d = dict->cls->construct(I, dict, &rest, loc);
    if (!d) return NULL;
    d->dict->default_factory = factory->kind == V_NONE ? NULL : factory;
    return d;
}

static Value *native_collections(Elab *I)
{
    Value *ns = new_namespace(I, "collections");
    /* dicts keep insertion order, so OrderedDict is a dict */
    Value *dict = env_get_local(I->builtins, "dict");
    add_class(I, ns->ns->env, "OrderedDict", TK_DICT, dict->cls->construct);
    add_class(I, ns->ns->env, "defaultdict", TK_DICT, c_defaultdict);
    Value *abc = new_namespace(I, "collections.abc");
    static const char *const names[] = {"Callable", "Sequence", "Mapping", "MutableMapping", "Iterable",
                                        "Iterator", "Set", "Hashable", "Collection", "MutableSequence"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        add_class(I, abc->ns->env, names[i], TK_TYPING, NULL);
        add_class(I, ns->ns->env, names[i], TK_TYPING, NULL);
    }
    env_set(I, ns->ns->env, "abc", abc);
    /* namedtuple is written in .bcl (stdlib/_bcl_collections.bcl) */
    Value *impl = import_module(I, "_bcl_collections", NO_LOC, true);
    Value *nt = impl && impl->kind == V_NAMESPACE ? env_get_local(impl->ns->env, "namedtuple") : NULL;
    if (nt) env_set(I, ns->ns->env, "namedtuple", nt);
    return ns;
}

static Value *copy_value(Elab *I, Value *v, bool deep, int depth, SrcLoc loc)
{
    if (depth > 200) {
        diag_error(I->d, loc, "deepcopy() nested too deeply");
        return NULL;
    }
    Value *r;
    switch (v->kind) {
    case V_LIST:
    case V_TUPLE:
        if (v->kind == V_TUPLE && !deep) return v;
        r = v->kind == V_LIST ? v_list(I, 0) : v_tuple(I, 0);
        for (int i = 0; i < v->seq->n; i++) {
            Value *x = deep ? copy_value(I, v->seq->v[i], true, depth + 1, loc) : v->seq->v[i];
            if (!x) return NULL;
            seq_push(I, r->seq, x);
        }
        return r;
    case V_DICT:
    case V_SET:
        r = v->kind == V_DICT ? v_dict(I) : v_set(I, false);
        for (int i = 0; i < v->dict->n; i++) {
            Value *x = deep ? copy_value(I, v->dict->e[i].val, true, depth + 1, loc) : v->dict->e[i].val;
            if (!x) return NULL;
            dict_set(I, r->dict, v->dict->e[i].key, x, v->dict->e[i].loc);
        }
        return r;
    case V_OBJECT: {
        if (v->obj->cls->is_module && I->tracing) {
            diag_error(I->d, loc, "copying a module in forward is not supported in .bcl");
            return NULL;
        }
        r = ARENA_NEW(I->a, Value);
        r->kind = V_OBJECT;
        r->obj = ARENA_NEW(I->a, ObjectObj);
        *r->obj = *v->obj;
        memset(&r->obj->attrs, 0, sizeof r->obj->attrs);
        for (int i = 0; i < v->obj->attrs.n; i++) {
            DictEntry *e = &v->obj->attrs.e[i];
            Value *x = deep ? copy_value(I, e->val, true, depth + 1, loc) : e->val;
            if (!x) return NULL;
            dict_set(I, &r->obj->attrs, e->key, x, e->loc);
        }
        /* a dict subclass's items are copied as a dict's */
        if (v->obj->dict_base && !(r->obj->dict_base = copy_value(I, v->obj->dict_base, deep, depth + 1, loc))) return NULL;
        return r;
    }
    default: return v;   /* immutable values, classes, functions: shared, as Python does */
    }
}

static Value *f_copy(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, self ? "deepcopy" : "copy", 1, 1)) return NULL;
    return copy_value(I, a->pos[0], self != NULL, 0, loc);
}

static Value *native_copy(Elab *I)
{
    Value *ns = new_namespace(I, "copy");
    env_set(I, ns->ns->env, "copy", v_builtin(I, "copy", f_copy, NULL));
    env_set(I, ns->ns->env, "deepcopy", v_builtin(I, "deepcopy", f_copy, V_NONE_));
    return ns;
}

Value *native_py_module(Elab *I, const char *dotted)
{
    if (!strcmp(dotted, "math")) return native_math(I);
    if (!strcmp(dotted, "typing")) return native_typing(I);
    if (!strcmp(dotted, "numbers")) return native_numbers(I);
    if (!strcmp(dotted, "functools")) return native_functools(I);
    if (!strcmp(dotted, "collections")) return native_collections(I);
    if (!strcmp(dotted, "collections.abc")) {
        Value *c = native_collections(I);
        return env_get_local(c->ns->env, "abc");
    }
    if (!strcmp(dotted, "copy")) return native_copy(I);
    return NULL;
}
