/* Compile-time values: constructors, dicts, scopes, equality, str()/repr(). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/eval.h"
#include "frontend/ndarray.h"

const Value v_none_val = {.kind = V_NONE};
const Value v_true_val = {.kind = V_BOOL, .b = true};
const Value v_false_val = {.kind = V_BOOL, .b = false};
const Value v_poison_val = {.kind = V_POISON};

static Value *new_value(Elab *I, ValueKind k)
{
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = k;
    return v;
}

Value *v_bool(bool b) { return (Value *)(b ? &v_true_val : &v_false_val); }

Value *v_int(Elab *I, int64_t i)
{
    /* small ints are shared (they are immutable), which keeps loops cheap */
    if (i >= -16 && i < 1024) {
        if (!I->small_ints) {
            I->small_ints = ARENA_NEWN(I->a, Value, 1040);
            for (int k = 0; k < 1040; k++) {
                I->small_ints[k].kind = V_INT;
                I->small_ints[k].i = k - 16;
            }
        }
        return &I->small_ints[i + 16];
    }
    Value *v = new_value(I, V_INT);
    v->i = i;
    return v;
}

Value *v_np_scalar(Elab *I, bool is_int, double x)
{
    /* never a shared small int: the flag belongs to this value only */
    Value *v = new_value(I, is_int ? V_INT : V_FLOAT);
    if (is_int) v->i = (int64_t)x;
    else v->f = x;
    v->np_scalar = true;
    return v;
}

Value *v_float(Elab *I, double f)
{
    Value *v = new_value(I, V_FLOAT);
    v->f = f;
    return v;
}

Value *v_strn(Elab *I, const char *s, int64_t n)
{
    Value *v = new_value(I, V_STR);
    v->str.s = arena_strndup(I->a, s, (size_t)n);
    v->str.len = n;
    return v;
}

Value *v_str(Elab *I, const char *s) { return v_strn(I, s, (int64_t)strlen(s)); }

static Value *new_seq(Elab *I, ValueKind k, int n)
{
    Value *v = new_value(I, k);
    v->seq = ARENA_NEW(I->a, Seq);
    v->seq->cap = n < 4 ? 4 : n;
    v->seq->v = ARENA_NEWN(I->a, Value *, v->seq->cap);
    v->seq->n = n;
    for (int i = 0; i < n; i++) v->seq->v[i] = V_NONE_;
    return v;
}

Value *v_list(Elab *I, int n) { return new_seq(I, V_LIST, n); }
Value *v_tuple(Elab *I, int n) { return new_seq(I, V_TUPLE, n); }

Value *v_dict(Elab *I)
{
    Value *v = new_value(I, V_DICT);
    v->dict = ARENA_NEW(I->a, Dict);
    return v;
}

Value *v_builtin(Elab *I, const char *name, NativeFn fn, Value *self)
{
    Value *v = new_value(I, V_BUILTIN);
    v->builtin.name = name;
    v->builtin.fn = fn;
    v->builtin.self = self;
    return v;
}

Value *v_tensor(Elab *I, IrValue *t)
{
    Value *v = new_value(I, V_TENSOR);
    v->tensor = t;
    return v;
}

void seq_push(Elab *I, Seq *s, Value *v)
{
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 4;
        s->v = arena_grow(I->a, s->v, (size_t)s->n, (size_t)cap, sizeof(Value *));
        s->cap = cap;
    }
    s->v[s->n++] = v;
}

/* ---- hashing: equal values (v_equal) hash alike */

enum { INDEX_FROM = 12 };   /* smaller tables are searched linearly */

static uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return mix64(h);
}

/* Numbers compare by value (1 == 1.0 == True), ints through their double. */
static uint64_t hash_double(double f)
{
    if (f == f && f >= -9.2e18 && f <= 9.2e18 && f == (double)(int64_t)f) return mix64((uint64_t)(int64_t)f);
    uint64_t bits;
    memcpy(&bits, &f, sizeof bits);
    return mix64(bits);
}

static uint64_t hash_ptr(const void *p) { return mix64((uint64_t)(uintptr_t)p); }

static uint64_t hash_value(const Value *v, int depth)
{
    switch (v->kind) {
    case V_NONE: return 0x51ed27;
    case V_BOOL: return hash_double((double)v->b);
    case V_INT: return hash_double((double)v->i);
    case V_FLOAT: return hash_double(v->f);
    case V_STR: return hash_bytes(v->str.s, (size_t)v->str.len);
    case V_LIST:
    case V_TUPLE: {
        uint64_t h = 0x7157 + (uint64_t)v->seq->n;
        if (depth < 4)
            for (int i = 0; i < v->seq->n && i < 16; i++) h = mix64(h ^ hash_value(v->seq->v[i], depth + 1));
        return h;
    }
    case V_DICT: return 0xd1c7 + (uint64_t)v->dict->n;   /* order-free */
    case V_SET: case V_FROZENSET: return 0x5e7 + (uint64_t)v->dict->n;
    case V_RANGE: return mix64((uint64_t)v->range.start ^ mix64((uint64_t)v->range.stop ^ mix64((uint64_t)v->range.step)));
    case V_CLASS: return hash_ptr(v->cls);
    case V_FUNC: return hash_ptr(v->fn);
    case V_OBJECT: return hash_ptr(v->obj);
    case V_PARAM: return hash_ptr(v->param);
    case V_TENSOR: return hash_ptr(v->tensor);
    case V_NAMESPACE: return hash_ptr(v->ns);
    case V_BUILTIN: return hash_ptr((const void *)v->builtin.fn) ^ hash_ptr(v->builtin.self);
    case V_BOUND: return hash_ptr(v->bound.self);
    default: return hash_ptr(v);
    }
}

/* Rebuilds an index for n keys (hash of key i by hash_at) with room to grow. */
static void index_build(Elab *I, int **index, int *cap, int n, uint64_t (*hash_at)(const void *, int), const void *tab)
{
    int c = 16;
    while (c < 2 * (n + 1)) c *= 2;
    int *slot = ARENA_NEWN(I->a, int, c);
    for (int i = 0; i < n; i++) {
        size_t k = (size_t)hash_at(tab, i) & (size_t)(c - 1);
        while (slot[k]) k = (k + 1) & (size_t)(c - 1);
        slot[k] = i + 1;
    }
    *index = slot;
    *cap = c;
}

static uint64_t dict_hash_at(const void *d, int i) { return hash_value(((const Dict *)d)->e[i].key, 0); }
static uint64_t env_hash_at(const void *e, int i)
{
    const char *s = ((const Env *)e)->vars[i].name;
    return hash_bytes(s, strlen(s));
}

/* After appending entry n-1: index it, or (re)build the index when it is due. */
static void index_added(Elab *I, int **index, int *cap, int n, uint64_t h, uint64_t (*hash_at)(const void *, int),
                        const void *tab)
{
    if (n < INDEX_FROM) return;
    if (!*index || 2 * n > *cap) {
        index_build(I, index, cap, n, hash_at, tab);
        return;
    }
    size_t k = (size_t)h & (size_t)(*cap - 1);
    while ((*index)[k]) k = (k + 1) & (size_t)(*cap - 1);
    (*index)[k] = n;
}

DictEntry *dict_find(const Dict *d, const Value *key)
{
    if (d->index) {
        size_t m = (size_t)(d->index_cap - 1);
        for (size_t k = (size_t)hash_value(key, 0) & m; d->index[k]; k = (k + 1) & m)
            if (v_equal(d->e[d->index[k] - 1].key, key)) return &d->e[d->index[k] - 1];
        return NULL;
    }
    for (int i = 0; i < d->n; i++)
        if (v_equal(d->e[i].key, key)) return &d->e[i];
    return NULL;
}

Value *dict_get(const Dict *d, const Value *key)
{
    DictEntry *e = dict_find(d, key);
    return e ? e->val : NULL;
}

DictEntry *dict_find_str(const Dict *d, const char *key)
{
    if (d->index) {
        size_t m = (size_t)(d->index_cap - 1);
        for (size_t k = (size_t)hash_bytes(key, strlen(key)) & m; d->index[k]; k = (k + 1) & m)
            if (v_is_str(d->e[d->index[k] - 1].key, key)) return &d->e[d->index[k] - 1];
        return NULL;
    }
    for (int i = 0; i < d->n; i++)
        if (v_is_str(d->e[i].key, key)) return &d->e[i];
    return NULL;
}

Value *dict_get_str(const Dict *d, const char *key)
{
    DictEntry *e = dict_find_str(d, key);
    return e ? e->val : NULL;
}

void dict_set(Elab *I, Dict *d, Value *key, Value *val, SrcLoc loc)
{
    DictEntry *e = dict_find(d, key);
    if (e) {  /* Python keeps the first insertion position */
        e->val = val;
        e->loc = loc;
        return;
    }
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 8;
        d->e = arena_grow(I->a, d->e, (size_t)d->n, (size_t)cap, sizeof(DictEntry));
        d->cap = cap;
    }
    d->e[d->n++] = (DictEntry){key, val, loc};
    index_added(I, &d->index, &d->index_cap, d->n, d->index || d->n >= INDEX_FROM ? hash_value(key, 0) : 0,
                dict_hash_at, d);
}

void dict_set_str(Elab *I, Dict *d, const char *key, Value *val, SrcLoc loc)
{
    DictEntry *e = dict_find_str(d, key);
    if (e) {
        e->val = val;
        e->loc = loc;
        return;
    }
    dict_set(I, d, v_str(I, key), val, loc);
}

bool dict_del(Dict *d, const Value *key)
{
    DictEntry *e = dict_find(d, key);
    if (!e) return false;
    int i = (int)(e - d->e);
    memmove(&d->e[i], &d->e[i + 1], sizeof(DictEntry) * (size_t)(d->n - i - 1));
    d->n--;
    d->index = NULL;    /* positions moved: rebuilt at the next insertion */
    d->index_cap = 0;
    return true;
}

Env *env_new(Elab *I, Env *parent)
{
    Env *e = ARENA_NEW(I->a, Env);
    e->parent = parent;
    return e;
}

Value *env_get_local(const Env *e, const char *name)
{
    if (e->index) {
        size_t m = (size_t)(e->index_cap - 1);
        for (size_t k = (size_t)hash_bytes(name, strlen(name)) & m; e->index[k]; k = (k + 1) & m)
            if (!strcmp(e->vars[e->index[k] - 1].name, name)) return e->vars[e->index[k] - 1].v;
        return NULL;
    }
    for (int i = 0; i < e->n; i++)
        if (!strcmp(e->vars[i].name, name)) return e->vars[i].v;
    return NULL;
}

void env_set(Elab *I, Env *e, const char *name, Value *v)
{
    if (e->index) {
        size_t m = (size_t)(e->index_cap - 1);
        for (size_t k = (size_t)hash_bytes(name, strlen(name)) & m; e->index[k]; k = (k + 1) & m)
            if (!strcmp(e->vars[e->index[k] - 1].name, name)) {
                e->vars[e->index[k] - 1].v = v;
                return;
            }
    } else {
        for (int i = 0; i < e->n; i++)
            if (!strcmp(e->vars[i].name, name)) {
                e->vars[i].v = v;
                return;
            }
    }
    if (e->n == e->cap) {
        int cap = e->cap ? e->cap * 2 : 8;
        e->vars = arena_grow(I->a, e->vars, (size_t)e->n, (size_t)cap, sizeof(EnvVar));
        e->cap = cap;
    }
    e->vars[e->n++] = (EnvVar){name, v};
    index_added(I, &e->index, &e->index_cap, e->n, e->index || e->n >= INDEX_FROM ? hash_bytes(name, strlen(name)) : 0,
                env_hash_at, e);
}

const char *v_type_name(const Value *v)
{
    switch (v->kind) {
    case V_NONE: return "NoneType";
    case V_BOOL: return "bool";
    case V_INT: return "int";
    case V_FLOAT: return "float";
    case V_STR: return "str";
    case V_LIST: return "list";
    case V_TUPLE: return "tuple";
    case V_DICT: return "dict";
    case V_RANGE: return "range";
    case V_CLASS: return "type";
    case V_FUNC: return "function";
    case V_BUILTIN: return "builtin_function";
    case V_BOUND: return "method";
    case V_OBJECT: return v->obj->cls->name;
    case V_PARAM: return v->param->buffer ? "buffer" : "Parameter";
    case V_TENSOR: return "Tensor";
    case V_NDARRAY: return "numpy.ndarray";
    case V_NAMESPACE: return "module";
    case V_SUPER: return "super";
    case V_SLICE: return "slice";
    case V_SET: return "set";
    case V_FROZENSET: return "frozenset";
    case V_ITER: return v->iter->name;
    case V_PROPERTY: return "property";
    case V_PLACEHOLDER: return "module";
    case V_CELLREF: return "cell";
    case V_POISON: return "<error>";
    }
    return "?";
}

bool v_is_str(const Value *v, const char *s)
{
    return v->kind == V_STR && (size_t)v->str.len == strlen(s) && !memcmp(v->str.s, s, (size_t)v->str.len);
}

static bool is_num(const Value *v) { return v->kind == V_INT || v->kind == V_BOOL || v->kind == V_FLOAT; }
static double num_f(const Value *v) { return v->kind == V_FLOAT ? v->f : v->kind == V_INT ? (double)v->i : v->b; }

static bool equal_d(const Value *a, const Value *b, int depth);

/* set == frozenset when they hold the same members, as in Python */
static bool same_members(const Value *a, const Value *b)
{
    if (a->dict->n != b->dict->n) return false;
    for (int i = 0; i < a->dict->n; i++)
        if (!dict_find(b->dict, a->dict->e[i].key)) return false;
    return true;
}

bool v_equal(const Value *a, const Value *b) { return equal_d(a, b, 0); }

/* depth bounds self-containing lists (a.append(a)): deeper than that they differ */
static bool equal_d(const Value *a, const Value *b, int depth)
{
    if (a == b) return true;
    if (depth > 200) return false;
    if (is_num(a) && is_num(b)) {
        if (a->kind != V_FLOAT && b->kind != V_FLOAT) {
            int64_t x = a->kind == V_INT ? a->i : a->b, y = b->kind == V_INT ? b->i : b->b;
            return x == y;
        }
        return num_f(a) == num_f(b);
    }
    if (a->kind != b->kind) {
        if ((a->kind == V_SET || a->kind == V_FROZENSET) && (b->kind == V_SET || b->kind == V_FROZENSET))
            return same_members(a, b);
        return false;
    }
    switch (a->kind) {
    case V_NONE: return true;
    case V_STR: return a->str.len == b->str.len && !memcmp(a->str.s, b->str.s, (size_t)a->str.len);
    case V_LIST:
    case V_TUPLE:
        if (a->seq->n != b->seq->n) return false;
        for (int i = 0; i < a->seq->n; i++)
            if (!equal_d(a->seq->v[i], b->seq->v[i], depth + 1)) return false;
        return true;
    case V_DICT:
        if (a->dict->n != b->dict->n) return false;
        for (int i = 0; i < a->dict->n; i++) {
            Value *o = dict_get(b->dict, a->dict->e[i].key);
            if (!o || !equal_d(a->dict->e[i].val, o, depth + 1)) return false;
        }
        return true;
    case V_SET:
    case V_FROZENSET: return same_members(a, b);
    case V_RANGE:
        return a->range.start == b->range.start && a->range.stop == b->range.stop &&
               a->range.step == b->range.step;
    case V_CLASS: return a->cls == b->cls;
    case V_FUNC: return a->fn == b->fn;
    case V_OBJECT: return a->obj == b->obj;
    case V_PARAM: return a->param == b->param;
    case V_TENSOR: return a->tensor == b->tensor;
    case V_NAMESPACE: return a->ns == b->ns;
    case V_BUILTIN: return a->builtin.fn == b->builtin.fn && a->builtin.self == b->builtin.self;
    case V_BOUND: return equal_d(a->bound.fn, b->bound.fn, depth + 1) && a->bound.self == b->bound.self;
    default: return false;
    }
}

bool class_is_sub(const ClassObj *c, const ClassObj *base)
{
    for (int i = 0; i < c->n_mro; i++)
        if (c->mro[i] == base) return true;
    return false;
}

/* A growable arena string buffer. */
typedef struct Buf { char *s; size_t n, cap; Arena *a; } Buf;

static void buf_put(Buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 64);
        while (cap < b->n + n + 1) cap *= 2;
        b->s = arena_grow(b->a, b->s, b->n, cap, 1);
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void buf_puts(Buf *b, const char *s) { buf_put(b, s, strlen(s)); }

static void float_repr(char *out, size_t n, double f)
{
    if (isnan(f)) { snprintf(out, n, "nan"); return; }
    if (isinf(f)) { snprintf(out, n, f < 0 ? "-inf" : "inf"); return; }
    /* Python's repr: the shortest digits that round-trip, fixed notation for
     * exponents in [-4, 16), else d.ddde+XX */
    char e[64];
    int prec;
    for (prec = 0; prec <= 16; prec++) {
        snprintf(e, sizeof e, "%.*e", prec, f);
        if (strtod(e, NULL) == f) break;
    }
    char *ep = strchr(e, 'e');
    int exp10 = atoi(ep + 1);
    if (exp10 >= -4 && exp10 < 16) {
        int decimals = prec - exp10;
        if (decimals < 1) decimals = 1;
        snprintf(out, n, "%.*f", decimals, f);
        return;
    }
    *ep = 0;
    snprintf(out, n, "%se%c%02d", e, exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
}

/* the containers being printed, so that a list holding itself prints as [...] */
static bool on_stack(Elab *I, const void *p)
{
    for (int i = 0; i < I->repr_depth; i++)
        if (I->repr_stack[i] == p) return true;
    return false;
}

static void repr_into(Elab *I, Buf *b, const Value *v, bool top_str, int depth)
{
    char tmp[64];
    if (depth > 50 || depth >= 64) { buf_puts(b, "..."); return; }
    if ((v->kind == V_LIST || v->kind == V_TUPLE) && on_stack(I, v->seq)) { buf_puts(b, v->kind == V_LIST ? "[...]" : "(...)"); return; }
    if (v->kind == V_DICT && on_stack(I, v->dict)) { buf_puts(b, "{...}"); return; }
    if (b->n > (1 << 24)) { buf_puts(b, "..."); return; }  /* bounded output */
    switch (v->kind) {
    case V_NONE: buf_puts(b, "None"); break;
    case V_BOOL: buf_puts(b, v->b ? "True" : "False"); break;
    case V_INT: snprintf(tmp, sizeof tmp, "%" PRId64, v->i); buf_puts(b, tmp); break;
    case V_FLOAT: float_repr(tmp, sizeof tmp, v->f); buf_puts(b, tmp); break;
    case V_STR:
        if (top_str) { buf_put(b, v->str.s, (size_t)v->str.len); break; }
        {
            /* Python quotes with ' unless the text holds ' and no " */
            bool sq = memchr(v->str.s, '\'', (size_t)v->str.len), dq = memchr(v->str.s, '"', (size_t)v->str.len);
            char q = sq && !dq ? '"' : '\'';
            buf_put(b, &q, 1);
            for (int64_t i = 0; i < v->str.len; i++) {
                char c = v->str.s[i];
                if (c == q || c == '\\') { buf_put(b, "\\", 1); buf_put(b, &c, 1); }
                else if (c == '\n') buf_puts(b, "\\n");
                else if (c == '\t') buf_puts(b, "\\t");
                else if (c == '\r') buf_puts(b, "\\r");
                else buf_put(b, &c, 1);
            }
            buf_put(b, &q, 1);
        }
        break;
    case V_LIST:
    case V_TUPLE:
        buf_puts(b, v->kind == V_LIST ? "[" : "(");
        I->repr_stack[I->repr_depth++] = v->seq;
        for (int i = 0; i < v->seq->n; i++) {
            if (i) buf_puts(b, ", ");
            repr_into(I, b, v->seq->v[i], false, depth + 1);
        }
        I->repr_depth--;
        if (v->kind == V_TUPLE && v->seq->n == 1) buf_puts(b, ",");
        buf_puts(b, v->kind == V_LIST ? "]" : ")");
        break;
    case V_DICT:
        buf_puts(b, "{");
        I->repr_stack[I->repr_depth++] = v->dict;
        for (int i = 0; i < v->dict->n; i++) {
            if (i) buf_puts(b, ", ");
            repr_into(I, b, v->dict->e[i].key, false, depth + 1);
            buf_puts(b, ": ");
            repr_into(I, b, v->dict->e[i].val, false, depth + 1);
        }
        I->repr_depth--;
        buf_puts(b, "}");
        break;
    case V_SET:
    case V_FROZENSET:
        if (v->dict->n == 0) {
            buf_puts(b, v->kind == V_SET ? "set()" : "frozenset()");
            break;
        }
        buf_puts(b, v->kind == V_SET ? "{" : "frozenset({");
        for (int i = 0; i < v->dict->n; i++) {
            if (i) buf_puts(b, ", ");
            repr_into(I, b, v->dict->e[i].key, false, depth + 1);
        }
        buf_puts(b, v->kind == V_SET ? "}" : "})");
        break;
    case V_PLACEHOLDER: buf_puts(b, "<module '"); buf_puts(b, v->placeholder->module); buf_puts(b, "' (not provided by bclc)>"); break;
    case V_SLICE: {
        const Value *parts[3] = {v->slice.lo, v->slice.hi, v->slice.step};
        buf_puts(b, "slice(");
        for (int i = 0; i < 3; i++) {
            if (i) buf_puts(b, ", ");
            if (parts[i]) repr_into(I, b, parts[i], false, depth + 1);
            else buf_puts(b, "None");
        }
        buf_puts(b, ")");
        break;
    }
    case V_ITER: buf_puts(b, "<"); buf_puts(b, v->iter->name); buf_puts(b, " object>"); break;
    case V_PROPERTY: buf_puts(b, "<property object>"); break;
    case V_CELLREF: buf_puts(b, "<cell>"); break;
    case V_RANGE:
        snprintf(tmp, sizeof tmp, "range(%" PRId64 ", %" PRId64 ")", v->range.start, v->range.stop);
        buf_puts(b, tmp);
        break;
    case V_CLASS: buf_puts(b, "<class '"); buf_puts(b, v->cls->name); buf_puts(b, "'>"); break;
    case V_FUNC: buf_puts(b, "<function "); buf_puts(b, v->fn->qualname); buf_puts(b, ">"); break;
    case V_BUILTIN: buf_puts(b, "<built-in function "); buf_puts(b, v->builtin.name); buf_puts(b, ">"); break;
    case V_BOUND: buf_puts(b, "<bound method>"); break;
    case V_OBJECT:
        if (v->obj->message) {
            buf_puts(b, v->obj->message);
            break;
        }
        if (!v->obj->cls->is_module && v->obj->cls->tk != TK_EXCEPTION) {
            /* a class's own __str__ (for str()) or __repr__ */
            Value *m = top_str ? class_lookup(v->obj->cls, "__str__") : NULL;
            const char *name = m ? "__str__" : "__repr__";
            if (!m) m = class_lookup(v->obj->cls, "__repr__");
            Value *bound = m && m->kind == V_FUNC ? try_attr(I, (Value *)v, name) : NULL;
            Value *r = bound ? call0(I, bound, NO_LOC) : NULL;
            if (r && r->kind == V_STR) {
                buf_puts(b, r->str.s);
                break;
            }
            if (!m && v->obj->dict_base) {   /* a dict subclass prints as its dict, as in Python */
                repr_into(I, b, v->obj->dict_base, false, depth + 1);
                break;
            }
        }
        buf_puts(b, v->obj->cls->name);
        buf_puts(b, "()");
        break;
    case V_PARAM: {
        char sh[128];
        buf_puts(b, v->param->buffer ? "Buffer(shape=" : "Parameter(shape=");
        buf_puts(b, shape_str(&v->param->shape, sh, sizeof sh));
        buf_puts(b, ")");
        break;
    }
    case V_NDARRAY: buf_puts(b, nd_repr(I, v->nd)); break;
    case V_TENSOR: {
        char sh[128];
        buf_puts(b, "Tensor(shape=");
        buf_puts(b, shape_str(&v->tensor->shape, sh, sizeof sh));
        buf_puts(b, ")");
        break;
    }
    case V_NAMESPACE: buf_puts(b, "<module '"); buf_puts(b, v->ns->name); buf_puts(b, "'>"); break;
    case V_SUPER: buf_puts(b, "<super>"); break;
    case V_POISON: buf_puts(b, "<error>"); break;
    }
}

const char *v_to_str(Elab *I, const Value *v)
{
    Buf b = {.a = I->a};
    buf_puts(&b, "");
    repr_into(I, &b, v, true, 0);
    return b.s;
}

const char *v_repr(Elab *I, const Value *v)
{
    Buf b = {.a = I->a};
    buf_puts(&b, "");
    repr_into(I, &b, v, false, 0);
    return b.s;
}
