/* Python builtins of the subset (len, range, min, isinstance, ...), the methods of
 * list / dict / str, format specs, and the math / typing / collections modules. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/native_args.h"
#include "frontend/ndarray.h"

static bool is_intlike(const Value *v) { return v->kind == V_INT || v->kind == V_BOOL; }
static int64_t ival(const Value *v) { return v->kind == V_INT ? v->i : v->b; }

bool as_int(Elab *I, Value *v, SrcLoc loc, const char *what, int64_t *out)
{
    if (is_intlike(v)) { *out = ival(v); return true; }
    diag_error(I->d, loc, "%s must be an int, not %s", what, v_type_name(v));
    return false;
}

bool as_float(Elab *I, Value *v, SrcLoc loc, const char *what, double *out)
{
    if (is_intlike(v)) { *out = (double)ival(v); return true; }
    if (v->kind == V_FLOAT) { *out = v->f; return true; }
    diag_error(I->d, loc, "%s must be a number, not %s", what, v_type_name(v));
    return false;
}

static Value *no_kw(Elab *I, CallArgs *a, SrcLoc loc, const char *f)
{
    if (a->n_kw) {
        diag_error(I->d, loc, "%s() takes no keyword arguments", f);
        return NULL;
    }
    return V_NONE_;
}

static bool nargs(Elab *I, CallArgs *a, SrcLoc loc, const char *f, int lo, int hi)
{
    if (!no_kw(I, a, loc, f)) return false;
    if (a->n_pos < lo || a->n_pos > hi) {
        if (lo == hi)
            diag_error(I->d, loc, "%s() takes exactly %d argument%s (%d given)", f, lo, lo == 1 ? "" : "s", a->n_pos);
        else
            diag_error(I->d, loc, "%s() takes from %d to %d arguments (%d given)", f, lo, hi, a->n_pos);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ format specs */

const char *format_spec(Elab *I, Value *v, const char *spec, SrcLoc loc)
{
    if (!*spec) return v_to_str(I, v);
    const char *p = spec;
    char fill = ' ', align = 0, sign = 0, type = 0;
    bool zero = false, comma = false;
    int width = -1, prec = -1;
    if (p[0] && (p[1] == '<' || p[1] == '>' || p[1] == '^' || p[1] == '=')) { fill = p[0]; align = p[1]; p += 2; }
    else if (*p == '<' || *p == '>' || *p == '^' || *p == '=') align = *p++;
    if (*p == '+' || *p == '-' || *p == ' ') sign = *p++;
    if (*p == '0') { zero = true; p++; }
    if (*p >= '0' && *p <= '9') { width = (int)strtol(p, (char **)&p, 10); if (width > 1000) width = 1000; }
    if (*p == ',' || *p == '_') { comma = true; p++; }
    if (*p == '.') { p++; prec = (int)strtol(p, (char **)&p, 10); if (prec > 100) prec = 100; }
    if (*p) type = *p++;
    if (*p) {
        diag_error(I->d, loc, "invalid format specifier '%s'", spec);
        return NULL;
    }
    (void)comma;
    char bodybuf[512];
    char *body = bodybuf;
    bool numeric = v->kind == V_INT || v->kind == V_BOOL || v->kind == V_FLOAT;
    if (!numeric && v->kind != V_STR) {
        diag_error(I->d, loc, "unsupported format string passed to %s.__format__", v_type_name(v));
        return NULL;
    }
    if (type == 's' || (!type && !numeric)) {
        if (numeric && type == 's') {
            diag_error(I->d, loc, "unknown format code 's' for object of type '%s'", v_type_name(v));
            return NULL;
        }
        const char *s = v_to_str(I, v);
        size_t sl = strlen(s);
        if (prec >= 0 && (size_t)prec < sl) sl = (size_t)prec;
        body = arena_strndup(I->a, s, sl);
        if (!align) align = '<';
    } else if (strchr("dxXob", type ? type : 'd') && v->kind != V_FLOAT) {
        if (!numeric) goto bad;
        int64_t x = ival(v);
        char t = type ? type : 'd';
        if (t == 'd') snprintf(body, sizeof bodybuf, sign == '+' ? "%+" PRId64 : sign == ' ' ? "% " PRId64 : "%" PRId64, x);
        else if (t == 'x') snprintf(body, sizeof bodybuf, "%" PRIx64, x);
        else if (t == 'X') snprintf(body, sizeof bodybuf, "%" PRIX64, x);
        else if (t == 'o') snprintf(body, sizeof bodybuf, "%" PRIo64, x);
        else {
            int n = 0;
            uint64_t u = (uint64_t)x;
            char tmp[65];
            do { tmp[n++] = (char)('0' + (u & 1)); u >>= 1; } while (u);
            for (int i = 0; i < n; i++) body[i] = tmp[n - 1 - i];
            body[n] = 0;
        }
        if (!align) align = '>';
    } else if (strchr("fFeEgG%", type ? type : 'g')) {
        if (!numeric) goto bad;
        double x = v->kind == V_FLOAT ? v->f : (double)ival(v);
        char t = type ? type : 'g';
        char fmt[16];
        if (!type && prec < 0) {
            body = (char *)v_to_str(I, v);
        } else {
            if (t == '%') { x *= 100; t = 'f'; }
            snprintf(fmt, sizeof fmt, "%%%s.%d%c", sign == '+' ? "+" : sign == ' ' ? " " : "", prec < 0 ? 6 : prec, t);
            snprintf(body, sizeof bodybuf, fmt, x);
            if (type == '%') strncat(body, "%", sizeof bodybuf - strlen(body) - 1);
        }
        if (!align) align = '>';
    } else {
    bad:
        diag_error(I->d, loc, "unknown format code '%c' for object of type '%s'", type, v_type_name(v));
        return NULL;
    }
    int len = (int)strlen(body);
    if (width <= len) return arena_strdup(I->a, body);
    if (zero && !align) { fill = '0'; align = '='; }
    if (zero && fill == ' ') { fill = '0'; if (align == '>') align = '='; }
    char *out = arena_alloc(I->a, (size_t)width + 1);
    int padn = width - len, left = 0;
    if (align == '<') left = 0;
    else if (align == '^') left = padn / 2;
    else left = padn;
    if (align == '=') {
        int k = 0, b = 0;
        if (body[0] == '-' || body[0] == '+' || body[0] == ' ') out[k++] = body[b++];
        for (int i = 0; i < padn; i++) out[k++] = fill;
        memcpy(out + k, body + b, (size_t)(len - b));
        out[width] = 0;
        return out;
    }
    for (int i = 0; i < left; i++) out[i] = fill;
    memcpy(out + left, body, (size_t)len);
    for (int i = left + len; i < width; i++) out[i] = fill;
    out[width] = 0;
    return out;
}

/* ------------------------------------------------------------------ builtin functions */

static int64_t length(Elab *I, Value *v, SrcLoc loc, bool *ok)
{
    *ok = true;
    switch (v->kind) {
    case V_STR: return v->str.len;
    case V_LIST: case V_TUPLE: return v->seq->n;
    case V_DICT: case V_SET: case V_FROZENSET: return v->dict->n;
    case V_NDARRAY:
        if (v->nd->rank > 0) return v->nd->dims[0];
        break;
    case V_TENSOR:  /* MegEngine: the size of the first axis */
        if (v->tensor->shape.rank > 0) return v->tensor->shape.d[0];
        break;
    case V_RANGE: {
        int64_t s = v->range.start, e = v->range.stop, st = v->range.step;
        if (st > 0) return e > s ? (e - s + st - 1) / st : 0;
        return s > e ? (s - e - st - 1) / (-st) : 0;
    }
    case V_OBJECT: {
        Value *f = class_lookup(v->obj->cls, "__len__");
        if (!f && v->obj->dict_base) return v->obj->dict_base->dict->n;
        if (f) {
            Value *b = get_attr(I, v, "__len__", loc);
            Value *r = b ? call0(I, b, loc) : NULL;
            if (r && is_intlike(r)) return ival(r);
            if (r) diag_error(I->d, loc, "__len__ must return an int");
            *ok = false;
            return 0;
        }
        break;
    }
    default: break;
    }
    *ok = false;
    diag_error(I->d, loc, "object of type '%s' has no len()", v_type_name(v));
    return 0;
}

static Value *b_len(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "len", 1, 1)) return NULL;
    bool ok;
    int64_t n = length(I, a->pos[0], loc, &ok);
    return ok ? v_int(I, n) : NULL;
}

static Value *b_range(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "range", 1, 3)) return NULL;
    int64_t x[3] = {0, 0, 1};
    for (int i = 0; i < a->n_pos; i++)
        if (!as_int(I, a->pos[i], a->pos_loc[i], "range() argument", &x[i])) return NULL;
    Value *r = ARENA_NEW(I->a, Value);
    r->kind = V_RANGE;
    if (a->n_pos == 1) { r->range.start = 0; r->range.stop = x[0]; r->range.step = 1; }
    else { r->range.start = x[0]; r->range.stop = x[1]; r->range.step = a->n_pos == 3 ? x[2] : 1; }
    if (r->range.step == 0) {
        diag_error(I->d, loc, "range() arg 3 must not be zero");
        return NULL;
    }
    return r;
}

static Value *minmax(Elab *I, CallArgs *a, SrcLoc loc, bool is_max)
{
    const char *f = is_max ? "max" : "min";
    Value *def = NULL, *key = NULL;
    for (int i = 0; i < a->n_kw; i++) {
        if (!strcmp(a->kw_names[i], "default")) def = a->kw[i];
        else if (!strcmp(a->kw_names[i], "key")) key = a->kw[i]->kind == V_NONE ? NULL : a->kw[i];
        else {
            diag_error(I->d, loc, "%s() got an unexpected keyword argument '%s'", f, a->kw_names[i]);
            return NULL;
        }
    }
    Seq *items;
    if (a->n_pos == 1) {
        if (!(items = iterate(I, a->pos[0], a->pos_loc[0]))) return NULL;
    } else if (a->n_pos > 1) {
        items = ARENA_NEW(I->a, Seq);
        for (int i = 0; i < a->n_pos; i++) seq_push(I, items, a->pos[i]);
    } else {
        diag_error(I->d, loc, "%s expected at least 1 argument, got 0", f);
        return NULL;
    }
    if (!items->n) {
        if (def) return def;
        diag_error(I->d, loc, "%s() arg is an empty sequence", f);
        return NULL;
    }
    /* with key=, items compare by key(item); the first of equal ones wins, as in Python */
    Value *best = items->v[0], *best_k = key ? call1(I, key, best, loc) : best;
    if (!best_k) return NULL;
    for (int i = 1; i < items->n; i++) {
        Value *k = key ? call1(I, key, items->v[i], loc) : items->v[i];
        if (!k) return NULL;
        Value *c = binop(I, is_max ? OP_GT : OP_LT, k, best_k, loc);
        if (!c) return NULL;
        if (c->b) {
            best = items->v[i];
            best_k = k;
        }
    }
    return best;
}

static Value *b_max(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return minmax(I, a, loc, true); }
static Value *b_min(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return minmax(I, a, loc, false); }

static Value *b_abs(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "abs", 1, 1)) return NULL;
    Value *x = a->pos[0];
    if (x->kind == V_FLOAT) return v_float(I, fabs(x->f));
    if (is_intlike(x)) {
        if (ival(x) == INT64_MIN) {
            diag_error(I->d, loc, "integer overflow: the result does not fit in 64 bits");
            return NULL;
        }
        return v_int(I, ival(x) < 0 ? -ival(x) : ival(x));
    }
    diag_error(I->d, loc, "bad operand type for abs(): '%s'", v_type_name(x));
    return NULL;
}

static Value *parse_int_str(Elab *I, const char *s, int64_t len, SrcLoc loc)
{
    char buf[64];
    if (len >= (int64_t)sizeof buf) goto bad;
    memcpy(buf, s, (size_t)len);
    buf[len] = 0;
    char *end;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    while (*end == ' ') end++;
    if (end == buf || *end || errno) goto bad;
    return v_int(I, x);
bad:
    diag_error(I->d, loc, "invalid literal for int() with base 10: '%.*s'", (int)(len > 40 ? 40 : len), s);
    return NULL;
}

static Value *c_int(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "int", 0, 1)) return NULL;
    if (!a->n_pos) return v_int(I, 0);
    Value *x = a->pos[0];
    if (is_intlike(x)) return v_int(I, ival(x));
    if (x->kind == V_FLOAT) {
        if (!(x->f > -9.2e18 && x->f < 9.2e18)) {
            diag_error(I->d, loc, "cannot convert float %s to an int", v_repr(I, x));
            return NULL;
        }
        return v_int(I, (int64_t)x->f);
    }
    if (x->kind == V_STR) return parse_int_str(I, x->str.s, x->str.len, loc);
    diag_error(I->d, loc, "int() argument must be a string or a number, not '%s'", v_type_name(x));
    return NULL;
}

static Value *c_float(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "float", 0, 1)) return NULL;
    if (!a->n_pos) return v_float(I, 0);
    Value *x = a->pos[0];
    if (x->kind == V_STR) {
        char *end;
        double f = strtod(x->str.s, &end);
        if (end == x->str.s || *end) {
            diag_error(I->d, loc, "could not convert string to float: %s", v_repr(I, x));
            return NULL;
        }
        return v_float(I, f);
    }
    double f;
    if (!as_float(I, x, loc, "float() argument", &f)) return NULL;
    return v_float(I, f);
}

static Value *c_bool(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "bool", 0, 1)) return NULL;
    if (!a->n_pos) return v_bool(false);
    int t = truthy(I, a->pos[0], loc);
    return t < 0 ? NULL : v_bool(t);
}

static Value *c_str(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "str", 0, 1)) return NULL;
    return v_str(I, a->n_pos ? v_to_str(I, a->pos[0]) : "");
}

static Value *b_repr(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "repr", 1, 1)) return NULL;
    return v_str(I, v_repr(I, a->pos[0]));
}

static Value *b_round(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "round", 1, 2)) return NULL;
    double x;
    if (!as_float(I, a->pos[0], loc, "round() argument", &x)) return NULL;
    if (a->n_pos == 2 && a->pos[1]->kind != V_NONE) {
        int64_t nd;
        if (!as_int(I, a->pos[1], loc, "ndigits", &nd)) return NULL;
        if (is_intlike(a->pos[0]) && nd >= 0) return a->pos[0];
        if (nd >= 0 && nd <= 300) {
            /* glibc rounds the exact binary value, as CPython does: round(2.675, 2) == 2.67 */
            char buf[400];
            snprintf(buf, sizeof buf, "%.*f", (int)nd, x);
            return v_float(I, strtod(buf, NULL));
        }
        double p = pow(10.0, (double)(nd < -300 ? -300 : nd));
        return v_float(I, nearbyint(x * p) / p);
    }
    if (is_intlike(a->pos[0])) return v_int(I, ival(a->pos[0]));
    double r = nearbyint(x);  /* round half to even, as Python */
    if (!(r > -9.2e18 && r < 9.2e18)) {
        diag_error(I->d, loc, "cannot round %g to an int", x);
        return NULL;
    }
    return v_int(I, (int64_t)r);
}

static Value *b_sum(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("iterable", "start");
    BIND("sum", 1);
    Seq *s = iterate(I, av[0], loc);
    if (!s) return NULL;
    Value *acc = av[1] ? av[1] : v_int(I, 0);
    for (int i = 0; i < s->n; i++)
        if (!(acc = binop(I, OP_ADD, acc, s->v[i], loc))) return NULL;
    return acc;
}

static Value *c_list(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "list", 0, 1)) return NULL;
    Value *l = v_list(I, 0);
    if (a->n_pos) {
        Seq *s = iterate(I, a->pos[0], loc);
        if (!s) return NULL;
        l->seq = s;
    }
    return l;
}

static Value *c_tuple(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "tuple", 0, 1)) return NULL;
    Value *l = v_tuple(I, 0);
    if (a->n_pos) {
        Seq *s = iterate(I, a->pos[0], loc);
        if (!s) return NULL;
        l->seq = s;
    }
    return l;
}

/* dict(mapping_or_pairs, **kw): entries keep the location of the keyword they came from */
static Value *c_dict(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (a->n_pos > 1) {
        diag_error(I->d, loc, "dict expected at most 1 argument, got %d", a->n_pos);
        return NULL;
    }
    Value *d = v_dict(I);
    if (a->n_pos) {
        Value *src = a->pos[0];
        Value *m = src->kind == V_OBJECT ? mapping_as_dict(I, src, a->pos_loc[0]) : NULL;
        if (m == V_POISON_) return NULL;
        if (m) src = m;
        if (src->kind == V_DICT) {
            for (int i = 0; i < src->dict->n; i++)
                dict_set(I, d->dict, src->dict->e[i].key, src->dict->e[i].val, src->dict->e[i].loc);
        } else {
            Seq *s = iterate(I, src, a->pos_loc[0]);
            if (!s) return NULL;
            for (int i = 0; i < s->n; i++) {
                Value *p = s->v[i];
                if ((p->kind != V_LIST && p->kind != V_TUPLE) || p->seq->n != 2) {
                    diag_error(I->d, a->pos_loc[0], "dictionary update sequence element #%d has the wrong shape", i);
                    return NULL;
                }
                dict_set(I, d->dict, p->seq->v[0], p->seq->v[1], a->pos_loc[0]);
            }
        }
    }
    for (int i = 0; i < a->n_kw; i++)
        dict_set(I, d->dict, v_str(I, a->kw_names[i]), a->kw[i], a->kw_origin[i].src ? a->kw_origin[i] : a->kw_loc[i]);
    return d;
}

static bool instance_of(Elab *I, Value *v, ClassObj *c)
{
    switch (c->tk) {
    case TK_INT: return v->kind == V_INT || v->kind == V_BOOL;
    case TK_FLOAT: return v->kind == V_FLOAT;
    case TK_BOOL: return v->kind == V_BOOL;
    case TK_STR: return v->kind == V_STR;
    case TK_LIST: return v->kind == V_LIST;
    case TK_TUPLE: return v->kind == V_TUPLE || tuple_like(v);   /* namedtuple objects are tuples */
    case TK_DICT: return v->kind == V_DICT || (v->kind == V_OBJECT && class_is_sub(v->obj->cls, c));
    case TK_TENSOR: return v->kind == V_TENSOR || v->kind == V_PARAM;
    case TK_PARAM: return v->kind == V_PARAM;
    case TK_OBJECT: return true;
    case TK_TYPING: return typing_instance(I, v, c);
    case TK_SET: return v->kind == V_SET;
    case TK_FROZENSET: return v->kind == V_FROZENSET;
    default: break;
    }
    return v->kind == V_OBJECT && class_is_sub(v->obj->cls, c);
}

static Value *b_isinstance(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "isinstance", 2, 2)) return NULL;
    Value *c = a->pos[1];
    Seq one = {1, 1, &c};
    Seq *cs = c->kind == V_TUPLE ? c->seq : &one;
    for (int i = 0; i < cs->n; i++) {
        if (cs->v[i]->kind != V_CLASS) {
            diag_error(I->d, a->pos_loc[1], "isinstance() arg 2 must be a class or a tuple of classes");
            return NULL;
        }
        if (instance_of(I, a->pos[0], cs->v[i]->cls)) return v_bool(true);
    }
    return v_bool(false);
}

static Value *b_issubclass(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "issubclass", 2, 2)) return NULL;
    if (a->pos[0]->kind != V_CLASS) {
        diag_error(I->d, a->pos_loc[0], "issubclass() arg 1 must be a class");
        return NULL;
    }
    Value *c = a->pos[1];
    Seq one = {1, 1, &c};
    Seq *cs = c->kind == V_TUPLE ? c->seq : &one;
    for (int i = 0; i < cs->n; i++) {
        if (cs->v[i]->kind != V_CLASS) {
            diag_error(I->d, a->pos_loc[1], "issubclass() arg 2 must be a class or a tuple of classes");
            return NULL;
        }
        ClassObj *base = cs->v[i]->cls, *k = a->pos[0]->cls;
        if (class_is_sub(k, base) || base->tk == TK_OBJECT) return v_bool(true);
        /* builtin types: bool is an int; typing / numbers names by their rules */
        if (base->tk == TK_INT && k->tk == TK_BOOL) return v_bool(true);
        if (base->tk == TK_TUPLE && class_is_tuple_like(k)) return v_bool(true);
        if (base->tk == TK_TYPING) {
            Value probe = {.kind = k->tk == TK_INT ? V_INT : k->tk == TK_FLOAT ? V_FLOAT : k->tk == TK_BOOL ? V_BOOL
                                 : k->tk == TK_STR ? V_STR : k->tk == TK_LIST ? V_LIST : k->tk == TK_TUPLE ? V_TUPLE
                                 : k->tk == TK_DICT ? V_DICT : V_CLASS};
            if (probe.kind != V_CLASS && typing_instance(I, &probe, base)) return v_bool(true);
        }
    }
    return v_bool(false);
}

static Value *b_divmod(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "divmod", 2, 2)) return NULL;
    Value *q = binop(I, OP_FLOORDIV, a->pos[0], a->pos[1], loc);
    if (!q) return NULL;
    Value *r = binop(I, OP_MOD, a->pos[0], a->pos[1], loc);
    if (!r) return NULL;
    Value *t = v_tuple(I, 2);
    t->seq->v[0] = q;
    t->seq->v[1] = r;
    return t;
}

static Value *b_pow(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("base", "exp", "mod");
    BIND("pow", 2);
    if (!OPT(2)) return binop(I, OP_POW, av[0], av[1], loc);
    int64_t b, e, m;
    if (!as_int(I, av[0], loc, "pow() base", &b) || !as_int(I, av[1], loc, "pow() exponent", &e) ||
        !as_int(I, av[2], loc, "pow() modulus", &m))
        return NULL;
    if (m == 0 || e < 0) {
        diag_error(I->d, loc, m == 0 ? "ValueError: pow() 3rd argument cannot be 0"
                                     : "ValueError: pow() with a modulus needs a non-negative exponent in .bcl");
        return NULL;
    }
    /* square and multiply in 128 bits, result with the modulus's sign as in Python */
    __int128 r = 1, x = ((b % m) + m) % m;
    for (; e; e >>= 1) {
        if (e & 1) r = r * x % m;
        x = x * x % m;
    }
    int64_t out = (int64_t)r;
    if (out != 0 && (out < 0) != (m < 0)) out += m;
    return v_int(I, out);
}

static Value *b_slice(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "slice", 1, 3)) return NULL;
    Value *s = ARENA_NEW(I->a, Value);
    s->kind = V_SLICE;
    if (a->n_pos == 1) {
        s->slice.hi = a->pos[0];
    } else {
        s->slice.lo = a->pos[0];
        s->slice.hi = a->pos[1];
        if (a->n_pos == 3) s->slice.step = a->pos[2];
    }
    return s;
}

static Value *b_id(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "id", 1, 1)) return NULL;
    /* identity of the object: containers and objects by their storage */
    Value *v = a->pos[0];
    const void *p = v->kind == V_LIST || v->kind == V_TUPLE ? (const void *)v->seq
                  : v->kind == V_DICT || v->kind == V_SET || v->kind == V_FROZENSET ? (const void *)v->dict
                  : v->kind == V_OBJECT ? (const void *)v->obj : v->kind == V_CLASS ? (const void *)v->cls
                  : v->kind == V_FUNC ? (const void *)v->fn : (const void *)v;
    return v_int(I, (int64_t)((uintptr_t)p >> 3));
}

static Value *property_setter(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "setter", 1, 1)) return NULL;
    Value *p = ARENA_NEW(I->a, Value);
    *p = *self;
    p->bound.self = a->pos[0];
    return p;
}

static Value *b_property(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("fget", "fset");
    BIND("property", 1);
    Value *p = ARENA_NEW(I->a, Value);
    p->kind = V_PROPERTY;
    p->bound.fn = av[0];
    p->bound.self = OPT(1) ? av[1] : NULL;
    return p;
}

/* `p.setter` of a property (the decorator `@name.setter`) */
static Value *property_attr(Elab *I, Value *p, const char *name)
{
    if (!strcmp(name, "setter")) return v_builtin(I, "setter", property_setter, p);
    if (!strcmp(name, "fget")) return p->bound.fn;
    return NULL;
}

static Value *dict_fromkeys(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("iterable", "value");
    BIND("fromkeys", 1);
    Seq *s = iterate(I, av[0], loc);
    if (!s) return NULL;
    Value *d = v_dict(I);
    for (int i = 0; i < s->n; i++) {
        if (s->v[i]->kind == V_LIST || s->v[i]->kind == V_DICT || s->v[i]->kind == V_SET) {
            diag_error(I->d, loc, "unhashable type: '%s'", v_type_name(s->v[i]));
            return NULL;
        }
        dict_set(I, d->dict, s->v[i], av[1] ? av[1] : V_NONE_, loc);
    }
    return d;
}

static Value *b_getattr(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "getattr", 2, 3)) return NULL;
    if (a->pos[1]->kind != V_STR) {
        diag_error(I->d, a->pos_loc[1], "attribute name must be a string, not '%s'", v_type_name(a->pos[1]));
        return NULL;
    }
    if (a->n_pos == 3) {
        Value *v;
        if (!try_attr_catching(I, a->pos[0], a->pos[1]->str.s, &v)) return NULL;
        return v ? v : a->pos[2];
    }
    return get_attr(I, a->pos[0], a->pos[1]->str.s, loc);
}

static Value *b_hasattr(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "hasattr", 2, 2)) return NULL;
    if (a->pos[1]->kind != V_STR) {
        diag_error(I->d, a->pos_loc[1], "attribute name must be a string, not '%s'", v_type_name(a->pos[1]));
        return NULL;
    }
    Value *v;
    if (!try_attr_catching(I, a->pos[0], a->pos[1]->str.s, &v)) return NULL;
    return v_bool(v != NULL);
}

static Value *b_setattr(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "setattr", 3, 3)) return NULL;
    if (a->pos[1]->kind != V_STR) {
        diag_error(I->d, a->pos_loc[1], "attribute name must be a string, not '%s'", v_type_name(a->pos[1]));
        return NULL;
    }
    return set_attr(I, a->pos[0], a->pos[1]->str.s, a->pos[2], loc) ? V_NONE_ : NULL;
}

static Value *b_print(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    for (int i = 0; i < a->n_pos; i++) fprintf(stderr, "%s%s", i ? " " : "", v_to_str(I, a->pos[i]));
    fputc('\n', stderr);
    return V_NONE_;
}

static Value *b_anyall(Elab *I, CallArgs *a, SrcLoc loc, bool is_all)
{
    if (!nargs(I, a, loc, is_all ? "all" : "any", 1, 1)) return NULL;
    Seq *s = iterate(I, a->pos[0], loc);
    if (!s) return NULL;
    for (int i = 0; i < s->n; i++) {
        int t = truthy(I, s->v[i], loc);
        if (t < 0) return NULL;
        if (is_all && !t) return v_bool(false);
        if (!is_all && t) return v_bool(true);
    }
    return v_bool(is_all);
}
static Value *b_any(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return b_anyall(I, a, loc, false); }
static Value *b_all(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return b_anyall(I, a, loc, true); }

static Value *b_reversed(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "reversed", 1, 1)) return NULL;
    Seq *s = iterate(I, a->pos[0], loc);
    if (!s) return NULL;
    Value *l = v_list(I, 0);
    for (int i = s->n - 1; i >= 0; i--) seq_push(I, l->seq, s->v[i]);
    return l;
}

static Value *b_sorted(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("iterable", "key", "reverse");
    if (a->n_pos > 1) {
        diag_error(I->d, loc, "sorted() takes 1 positional argument; pass key= and reverse= by name");
        return NULL;
    }
    BIND("sorted", 1);
    Seq *s = iterate(I, av[0], loc);
    if (!s) return NULL;
    int rev = av[2] ? truthy(I, av[2], loc) : 0;
    if (rev < 0) return NULL;
    /* with key=, sort (key, index) pairs and map back: the sort stays stable */
    Seq *items = s;
    if (OPT(1)) {
        Seq *keyed = ARENA_NEW(I->a, Seq);
        for (int i = 0; i < s->n; i++) {
            Value *k = call1(I, av[1], s->v[i], loc);
            if (!k) return NULL;
            Value *pair = v_tuple(I, 2);
            pair->seq->v[0] = k;
            pair->seq->v[1] = v_int(I, i);
            seq_push(I, keyed, pair);
        }
        s = keyed;
    }
    /* a stable merge sort: comparisons can fail (mixed types), so no qsort */
    Value **tmp = ARENA_NEWN(I->a, Value *, s->n + 1);
    for (int width = 1; width < s->n; width *= 2) {
        for (int lo = 0; lo < s->n; lo += 2 * width) {
            int mid = lo + width < s->n ? lo + width : s->n, hi = lo + 2 * width < s->n ? lo + 2 * width : s->n;
            int i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                /* take from the right run only if it is strictly before the left one */
                Value *rj = s != items ? s->v[j]->seq->v[0] : s->v[j], *ri = s != items ? s->v[i]->seq->v[0] : s->v[i];
                Value *c = binop(I, rev ? OP_GT : OP_LT, rj, ri, loc);
                if (!c) return NULL;
                tmp[k++] = c->b ? s->v[j++] : s->v[i++];
            }
            while (i < mid) tmp[k++] = s->v[i++];
            while (j < hi) tmp[k++] = s->v[j++];
        }
        memcpy(s->v, tmp, sizeof(Value *) * (size_t)s->n);
    }
    Value *l = v_list(I, 0);
    if (s != items) {
        for (int i = 0; i < s->n; i++) seq_push(I, l->seq, items->v[s->v[i]->seq->v[1]->i]);
        return l;
    }
    l->seq = s;
    return l;
}

static Value *b_type(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "type", 1, 1)) return NULL;
    Value *v = a->pos[0];
    if (v->kind == V_OBJECT) {
        Value *c = ARENA_NEW(I->a, Value);
        c->kind = V_CLASS;
        c->cls = v->obj->cls;
        return c;
    }
    const char *n = v_type_name(v);
    Value *c = env_get_local(I->builtins, n);
    if (c && c->kind == V_CLASS) return c;
    diag_error(I->d, loc, "type() of a '%s' is not supported in .bcl", n);
    return NULL;
}

/* super() in a method: the class that defined the running method, and its first argument */
static Value *b_super(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (a->n_kw || (a->n_pos != 0 && a->n_pos != 2)) {
        diag_error(I->d, loc, "super() takes no arguments (or a class and an instance)");
        return NULL;
    }
    Value *s = ARENA_NEW(I->a, Value);
    s->kind = V_SUPER;
    if (a->n_pos == 2) {
        if (a->pos[0]->kind != V_CLASS || a->pos[1]->kind != V_OBJECT) {
            diag_error(I->d, loc, "super(type, obj): expected a class and an instance");
            return NULL;
        }
        s->super.start = a->pos[0]->cls;
        s->super.self = a->pos[1];
        return s;
    }
    Frame *f = I->frame;
    if (!f || !f->fn->owner || !f->self) {
        diag_error(I->d, loc, "super(): no arguments outside a method");
        return NULL;
    }
    s->super.start = f->fn->owner;
    s->super.self = f->self;
    return s;
}

static Value *method_deco(Elab *I, CallArgs *a, SrcLoc loc, char kind)
{
    const char *f = kind == 's' ? "staticmethod" : "classmethod";
    if (!nargs(I, a, loc, f, 1, 1)) return NULL;
    Value *fn = a->pos[0];
    if (fn->kind != V_FUNC) {
        diag_error(I->d, loc, "%s() expects a function defined with def", f);
        return NULL;
    }
    Value *v = ARENA_NEW(I->a, Value);
    *v = *fn;
    v->fn = ARENA_NEW(I->a, FuncObj);
    *v->fn = *fn->fn;
    v->fn->method_kind = kind;
    return v;
}
static Value *b_staticmethod(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return method_deco(I, a, loc, 's'); }
static Value *b_classmethod(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return method_deco(I, a, loc, 'c'); }

/* ------------------------------------------------------------------ iter, next, callable */

/* An iterator holds a snapshot of its items (hidden attributes: not valid identifiers)
 * and a position; next() advances it, and for / list() take what is left. */
static Value *it_items(Value *it) { return dict_get_str(&it->obj->attrs, " items"); }
static int64_t it_pos(Value *it) { return dict_get_str(&it->obj->attrs, " pos")->i; }

bool is_iterator(Elab *I, Value *v) { return v->kind == V_ITER || (v->kind == V_OBJECT && v->obj->cls == I->iter_cls); }

static Value *it_rest(Elab *I, Value *it)
{
    Value *items = it_items(it);
    Value *l = v_list(I, 0);
    for (int64_t i = it_pos(it); i < items->seq->n; i++) seq_push(I, l->seq, items->seq->v[i]);
    dict_set_str(I, &it->obj->attrs, " pos", v_int(I, items->seq->n), NO_LOC);
    return l;
}

static Value *it_iter(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "__iter__", 0, 0)) return NULL;
    return it_rest(I, self);
}

static Value *b_iter(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "iter", 1, 1)) return NULL;
    if (is_iterator(I, a->pos[0])) return a->pos[0];
    Seq *s = iterate(I, a->pos[0], a->pos_loc[0]);
    if (!s) return NULL;
    Value *items = v_tuple(I, 0);
    items->seq = s;
    Value *it = ARENA_NEW(I->a, Value);
    it->kind = V_OBJECT;
    it->obj = ARENA_NEW(I->a, ObjectObj);
    it->obj->cls = I->iter_cls;
    dict_set_str(I, &it->obj->attrs, " items", items, NO_LOC);
    dict_set_str(I, &it->obj->attrs, " pos", v_int(I, 0), NO_LOC);
    return it;
}

static Value *b_next(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "next", 1, 2)) return NULL;
    Value *it = a->pos[0];
    if (!is_iterator(I, it)) {
        diag_error(I->d, a->pos_loc[0], "'%s' object is not an iterator (use next(iter(x)))", v_type_name(it));
        return NULL;
    }
    if (it->kind == V_ITER) {
        bool done = false;
        Value *v = iter_next(I, it, loc, &done);
        if (v || !done) return v;
        if (a->n_pos == 2) return a->pos[1];
        diag_error(I->d, loc, "StopIteration: next() on an exhausted iterator");
        return NULL;
    }
    Value *items = it_items(it);
    int64_t pos = it_pos(it);
    if (pos >= items->seq->n) {
        if (a->n_pos == 2) return a->pos[1];
        diag_error(I->d, loc, "StopIteration: next() on an exhausted iterator");
        return NULL;
    }
    dict_set_str(I, &it->obj->attrs, " pos", v_int(I, pos + 1), NO_LOC);
    return items->seq->v[pos];
}

static Value *b_callable(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "callable", 1, 1)) return NULL;
    Value *v = a->pos[0];
    switch (v->kind) {
    case V_FUNC: case V_BUILTIN: case V_BOUND: case V_CLASS: return v_bool(true);
    case V_OBJECT:
        return v_bool(v->obj->cls->is_module || v->obj->cls->tk == TK_PARTIAL || class_lookup(v->obj->cls, "__call__") != NULL);
    default: return v_bool(false);
    }
}

static Value *add_class(Elab *I, Env *env, const char *name, TypeKind tk, NativeFn construct)
{
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_CLASS;
    v->cls = native_class(I, name, tk, construct);
    env_set(I, env, name, v);
    return v;
}

void builtins_py_init(Elab *I)
{
    Env *e = I->builtins;
    static const struct { const char *name; NativeFn fn; } fns[] = {
        {"len", b_len}, {"range", b_range}, {"min", b_min}, {"max", b_max}, {"abs", b_abs},
        {"round", b_round}, {"sum", b_sum},
        {"isinstance", b_isinstance}, {"getattr", b_getattr}, {"setattr", b_setattr},
        {"hasattr", b_hasattr}, {"print", b_print}, {"repr", b_repr}, {"any", b_any}, {"all", b_all},
        {"reversed", b_reversed}, {"sorted", b_sorted}, {"type", b_type},
        {"staticmethod", b_staticmethod}, {"classmethod", b_classmethod}, {"super", b_super},
        {"iter", b_iter}, {"next", b_next}, {"callable", b_callable},
        {"issubclass", b_issubclass}, {"divmod", b_divmod}, {"pow", b_pow}, {"slice", b_slice},
        {"id", b_id}, {"property", b_property},
    };
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) env_set(I, e, fns[i].name, v_builtin(I, fns[i].name, fns[i].fn, NULL));
    add_class(I, e, "int", TK_INT, c_int);
    add_class(I, e, "float", TK_FLOAT, c_float);
    add_class(I, e, "bool", TK_BOOL, c_bool);
    add_class(I, e, "str", TK_STR, c_str);
    add_class(I, e, "list", TK_LIST, c_list);
    add_class(I, e, "tuple", TK_TUPLE, c_tuple);
    Value *dict_cls = add_class(I, e, "dict", TK_DICT, c_dict);
    dict_set_str(I, &dict_cls->cls->attrs, "fromkeys", v_builtin(I, "fromkeys", dict_fromkeys, NULL), NO_LOC);
    add_class(I, e, "object", TK_OBJECT, NULL);
    Value *ell = ARENA_NEW(I->a, Value);
    ell->kind = V_OBJECT;
    ell->obj = ARENA_NEW(I->a, ObjectObj);
    ell->obj->cls = native_class(I, "ellipsis", TK_NONE, NULL);
    ell->obj->message = "Ellipsis";
    env_set(I, e, "Ellipsis", ell);
    I->ellipsis = ell;
    I->iter_cls = native_class(I, "iterator", TK_NONE, NULL);
    dict_set_str(I, &I->iter_cls->attrs, "__iter__", v_builtin(I, "__iter__", it_iter, NULL), NO_LOC);
    exceptions_init(I);
    sets_init(I);
    iter_builtins_init(I);
}

/* ------------------------------------------------------------------ methods */

static Value *m_append(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "append", 1, 1)) return NULL;
    seq_push(I, self->seq, a->pos[0]);
    return V_NONE_;
}

static Value *m_extend(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "extend", 1, 1)) return NULL;
    Seq *s = iterate(I, a->pos[0], loc);
    if (!s) return NULL;
    for (int i = 0; i < s->n; i++) seq_push(I, self->seq, s->v[i]);
    return V_NONE_;
}

static Value *m_insert(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "insert", 2, 2)) return NULL;
    int64_t i;
    if (!as_int(I, a->pos[0], loc, "index", &i)) return NULL;
    Seq *s = self->seq;
    if (i < 0) i += s->n;
    if (i < 0) i = 0;
    if (i > s->n) i = s->n;
    seq_push(I, s, V_NONE_);
    memmove(&s->v[i + 1], &s->v[i], sizeof(Value *) * (size_t)(s->n - 1 - i));
    s->v[i] = a->pos[1];
    return V_NONE_;
}

static Value *m_list_pop(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "pop", 0, 1)) return NULL;
    Seq *s = self->seq;
    int64_t i = s->n - 1;
    if (a->n_pos && !as_int(I, a->pos[0], loc, "index", &i)) return NULL;
    if (i < 0) i += s->n;
    if (i < 0 || i >= s->n) {
        diag_error(I->d, loc, s->n ? "pop index out of range" : "pop from empty list");
        return NULL;
    }
    Value *v = s->v[i];
    memmove(&s->v[i], &s->v[i + 1], sizeof(Value *) * (size_t)(s->n - 1 - i));
    s->n--;
    return v;
}

static Value *m_index(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "index", 1, 1)) return NULL;
    for (int i = 0; i < self->seq->n; i++)
        if (v_equal(self->seq->v[i], a->pos[0])) return v_int(I, i);
    diag_error(I->d, loc, "%s is not in list", v_repr(I, a->pos[0]));
    return NULL;
}

static Value *m_count(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "count", 1, 1)) return NULL;
    int64_t n = 0;
    for (int i = 0; i < self->seq->n; i++) n += v_equal(self->seq->v[i], a->pos[0]);
    return v_int(I, n);
}

static Value *m_list_copy(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "copy", 0, 0)) return NULL;
    Value *l = v_list(I, 0);
    for (int i = 0; i < self->seq->n; i++) seq_push(I, l->seq, self->seq->v[i]);
    return l;
}

static Value *m_reverse(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "reverse", 0, 0)) return NULL;
    Seq *s = self->seq;
    for (int i = 0, j = s->n - 1; i < j; i++, j--) { Value *t = s->v[i]; s->v[i] = s->v[j]; s->v[j] = t; }
    return V_NONE_;
}

static Value *m_remove(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "remove", 1, 1)) return NULL;
    Seq *s = self->seq;
    for (int i = 0; i < s->n; i++)
        if (v_equal(s->v[i], a->pos[0])) {
            memmove(&s->v[i], &s->v[i + 1], sizeof(Value *) * (size_t)(s->n - 1 - i));
            s->n--;
            return V_NONE_;
        }
    diag_error(I->d, loc, "list.remove(x): x not in list");
    return NULL;
}

static Value *m_get(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "get", 1, 2)) return NULL;
    Value *v = dict_get(self->dict, a->pos[0]);
    return v ? v : a->n_pos == 2 ? a->pos[1] : V_NONE_;
}

static Value *dict_view(Elab *I, Value *self, int which)
{
    Value *l = v_list(I, 0);
    for (int i = 0; i < self->dict->n; i++) {
        DictEntry *e = &self->dict->e[i];
        if (which == 0) seq_push(I, l->seq, e->key);
        else if (which == 1) seq_push(I, l->seq, e->val);
        else {
            Value *t = v_tuple(I, 2);
            t->seq->v[0] = e->key;
            t->seq->v[1] = e->val;
            seq_push(I, l->seq, t);
        }
    }
    return l;
}

static Value *m_keys(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return nargs(I, a, loc, "keys", 0, 0) ? dict_view(I, self, 0) : NULL; }
static Value *m_values(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return nargs(I, a, loc, "values", 0, 0) ? dict_view(I, self, 1) : NULL; }
static Value *m_items(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return nargs(I, a, loc, "items", 0, 0) ? dict_view(I, self, 2) : NULL; }

static Value *m_update(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *src = c_dict(I, NULL, a, loc);
    if (!src) return NULL;
    for (int i = 0; i < src->dict->n; i++)
        dict_set(I, self->dict, src->dict->e[i].key, src->dict->e[i].val, src->dict->e[i].loc);
    return V_NONE_;
}

static Value *m_dict_pop(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "pop", 1, 2)) return NULL;
    Value *v = dict_get(self->dict, a->pos[0]);
    if (v) {
        dict_del(self->dict, a->pos[0]);
        return v;
    }
    if (a->n_pos == 2) return a->pos[1];
    diag_error(I->d, loc, "key %s not found in dict", v_repr(I, a->pos[0]));
    return NULL;
}

static Value *m_dict_copy(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "copy", 0, 0)) return NULL;
    Value *d = v_dict(I);
    for (int i = 0; i < self->dict->n; i++)
        dict_set(I, d->dict, self->dict->e[i].key, self->dict->e[i].val, self->dict->e[i].loc);
    return d;
}

static Value *m_setdefault(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "setdefault", 1, 2)) return NULL;
    Value *v = dict_get(self->dict, a->pos[0]);
    if (v) return v;
    v = a->n_pos == 2 ? a->pos[1] : V_NONE_;
    dict_set(I, self->dict, a->pos[0], v, loc);
    return v;
}

/* dict's dunders and the rest of its methods, as methods of a dict value: what a class
 * deriving from dict inherits (d.__getitem__(k), super().__setitem__(k, v), ...). */
static bool hashable_key(Elab *I, Value *k, SrcLoc loc)
{
    if (k->kind != V_LIST && k->kind != V_DICT && k->kind != V_SET) return true;
    diag_error(I->d, loc, "unhashable type: '%s'", v_type_name(k));
    return false;
}

static Value *m_dict_getitem(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "__getitem__", 1, 1)) return NULL;
    return subscript(I, self, a->pos[0], loc);
}

static Value *m_dict_setitem(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "__setitem__", 2, 2) || !hashable_key(I, a->pos[0], loc)) return NULL;
    dict_set(I, self->dict, a->pos[0], a->pos[1], loc);
    return V_NONE_;
}

static Value *m_dict_delitem(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "__delitem__", 1, 1)) return NULL;
    if (dict_del(self->dict, a->pos[0])) return V_NONE_;
    diag_error(I->d, loc, "key %s not found in dict", v_repr(I, a->pos[0]));
    return NULL;
}

static Value *m_dict_contains(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "__contains__", 1, 1)) return NULL;
    return v_bool(dict_get(self->dict, a->pos[0]) != NULL);
}

static Value *m_dict_len(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "__len__", 0, 0)) return NULL;
    return v_int(I, self->dict->n);
}

static Value *m_dict_iter(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "__iter__", 0, 0)) return NULL;
    CallArgs one;
    callargs_init(&one);
    callargs_pos(I, &one, self, loc);
    return b_iter(I, NULL, &one, loc);
}

/* d.__init__(...) / dict.__init__(self, ...): dict.update with dict()'s arguments */
static Value *m_dict_init(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *src = c_dict(I, NULL, a, loc);
    if (!src) return NULL;
    for (int i = 0; i < src->dict->n; i++) dict_set(I, self->dict, src->dict->e[i].key, src->dict->e[i].val, src->dict->e[i].loc);
    return V_NONE_;
}

static Value *m_dict_clear(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "clear", 0, 0)) return NULL;
    while (self->dict->n) dict_del(self->dict, self->dict->e[self->dict->n - 1].key);
    return V_NONE_;
}

/* popitem(): the last (key, value) pair, as Python's LIFO order */
static Value *m_dict_popitem(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "popitem", 0, 0)) return NULL;
    if (!self->dict->n) {
        diag_error(I->d, loc, "popitem(): dictionary is empty");
        return NULL;
    }
    DictEntry *e = &self->dict->e[self->dict->n - 1];
    Value *t = v_tuple(I, 2);
    t->seq->v[0] = e->key;
    t->seq->v[1] = e->val;
    dict_del(self->dict, e->key);
    return t;
}

static Value *str_arg(Elab *I, CallArgs *a, int i, SrcLoc loc, const char *f)
{
    if (a->pos[i]->kind != V_STR) {
        diag_error(I->d, loc, "%s() argument must be str, not %s", f, v_type_name(a->pos[i]));
        return NULL;
    }
    return a->pos[i];
}

static Value *m_join(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "join", 1, 1)) return NULL;
    Seq *s = iterate(I, a->pos[0], loc);
    if (!s) return NULL;
    int64_t total = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->v[i]->kind != V_STR) {
            diag_error(I->d, loc, "sequence item %d: expected str instance, %s found", i, v_type_name(s->v[i]));
            return NULL;
        }
        total += s->v[i]->str.len + (i ? self->str.len : 0);
        if (total > (1 << 26)) {
            diag_error(I->d, loc, "value too large for compile-time evaluation");
            return NULL;
        }
    }
    char *buf = arena_alloc(I->a, (size_t)total + 1), *p = buf;
    for (int i = 0; i < s->n; i++) {
        if (i) { memcpy(p, self->str.s, (size_t)self->str.len); p += self->str.len; }
        memcpy(p, s->v[i]->str.s, (size_t)s->v[i]->str.len);
        p += s->v[i]->str.len;
    }
    return v_strn(I, buf, total);
}

static Value *m_split(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "split", 0, 1)) return NULL;
    Value *l = v_list(I, 0);
    const char *s = self->str.s, *end = s + self->str.len;
    if (!a->n_pos || a->pos[0]->kind == V_NONE) {
        while (s < end) {
            while (s < end && strchr(" \t\n\r", *s)) s++;
            const char *b = s;
            while (s < end && !strchr(" \t\n\r", *s)) s++;
            if (s > b) seq_push(I, l->seq, v_strn(I, b, s - b));
        }
        return l;
    }
    Value *sep = str_arg(I, a, 0, loc, "split");
    if (!sep) return NULL;
    if (!sep->str.len) {
        diag_error(I->d, loc, "empty separator");
        return NULL;
    }
    for (;;) {
        const char *f = NULL;
        for (const char *p = s; p + sep->str.len <= end; p++)
            if (!memcmp(p, sep->str.s, (size_t)sep->str.len)) { f = p; break; }
        if (!f) { seq_push(I, l->seq, v_strn(I, s, end - s)); break; }
        seq_push(I, l->seq, v_strn(I, s, f - s));
        s = f + sep->str.len;
    }
    return l;
}

static Value *m_startsends(Elab *I, Value *self, CallArgs *a, SrcLoc loc, bool ends)
{
    if (!nargs(I, a, loc, ends ? "endswith" : "startswith", 1, 1)) return NULL;
    Value *p = a->pos[0];
    Seq one = {1, 1, &p};
    Seq *ps = p->kind == V_TUPLE ? p->seq : &one;
    for (int i = 0; i < ps->n; i++) {
        Value *x = ps->v[i];
        if (x->kind != V_STR) {
            diag_error(I->d, loc, "%s arg must be str or a tuple of str, not %s", ends ? "endswith" : "startswith", v_type_name(x));
            return NULL;
        }
        if (x->str.len > self->str.len) continue;
        const char *at = ends ? self->str.s + self->str.len - x->str.len : self->str.s;
        if (!memcmp(at, x->str.s, (size_t)x->str.len)) return v_bool(true);
    }
    return v_bool(false);
}
static Value *m_startswith(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_startsends(I, self, a, loc, false); }
static Value *m_endswith(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_startsends(I, self, a, loc, true); }

static Value *m_case(Elab *I, Value *self, CallArgs *a, SrcLoc loc, bool up)
{
    if (!nargs(I, a, loc, up ? "upper" : "lower", 0, 0)) return NULL;
    char *s = arena_strndup(I->a, self->str.s, (size_t)self->str.len);
    for (char *p = s; *p; p++)
        if (up && *p >= 'a' && *p <= 'z') *p = (char)(*p - 32);
        else if (!up && *p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    return v_strn(I, s, self->str.len);
}
static Value *m_upper(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_case(I, self, a, loc, true); }
static Value *m_lower(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_case(I, self, a, loc, false); }

static Value *m_strip(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "strip", 0, 0)) return NULL;
    const char *s = self->str.s, *e = s + self->str.len;
    while (s < e && strchr(" \t\n\r", *s)) s++;
    while (e > s && strchr(" \t\n\r", e[-1])) e--;
    return v_strn(I, s, e - s);
}

static Value *m_replace(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!nargs(I, a, loc, "replace", 2, 2)) return NULL;
    Value *o = str_arg(I, a, 0, loc, "replace"), *n = str_arg(I, a, 1, loc, "replace");
    if (!o || !n) return NULL;
    if (!o->str.len) return self;
    const char *s = self->str.s, *end = s + self->str.len;
    int64_t count = 0;
    for (const char *p = s; p + o->str.len <= end;)
        if (!memcmp(p, o->str.s, (size_t)o->str.len)) { count++; p += o->str.len; } else p++;
    int64_t total = self->str.len + count * (n->str.len - o->str.len);
    if (total > (1 << 26)) {
        diag_error(I->d, loc, "value too large for compile-time evaluation");
        return NULL;
    }
    char *buf = arena_alloc(I->a, (size_t)total + 1), *q = buf;
    for (const char *p = s; p < end;) {
        if (p + o->str.len <= end && !memcmp(p, o->str.s, (size_t)o->str.len)) {
            memcpy(q, n->str.s, (size_t)n->str.len);
            q += n->str.len;
            p += o->str.len;
        } else {
            *q++ = *p++;
        }
    }
    return v_strn(I, buf, total);
}

/* str.format: {} {0} {name} with optional :spec */
static Value *m_format(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    const char *s = self->str.s, *acc = "";
    int auto_i = 0;
    while (*s) {
        if (s[0] == '{' && s[1] == '{') { acc = arena_printf(I->a, "%s{", acc); s += 2; continue; }
        if (s[0] == '}' && s[1] == '}') { acc = arena_printf(I->a, "%s}", acc); s += 2; continue; }
        if (*s != '{') {
            const char *b = s;
            while (*s && *s != '{' && !(s[0] == '}' && s[1] == '}')) s++;
            acc = arena_printf(I->a, "%s%.*s", acc, (int)(s - b), b);
            continue;
        }
        const char *close = strchr(s, '}');
        if (!close) {
            diag_error(I->d, loc, "single '{' encountered in format string");
            return NULL;
        }
        const char *field = arena_strndup(I->a, s + 1, (size_t)(close - s - 1));
        const char *colon = strchr(field, ':');
        const char *spec = colon ? colon + 1 : "";
        const char *key = colon ? arena_strndup(I->a, field, (size_t)(colon - field)) : field;
        Value *v = NULL;
        if (!*key) {
            if (auto_i >= a->n_pos) goto bad_index;
            v = a->pos[auto_i++];
        } else if (*key >= '0' && *key <= '9') {
            int k = atoi(key);
            if (k >= a->n_pos) goto bad_index;
            v = a->pos[k];
        } else {
            for (int i = 0; i < a->n_kw; i++)
                if (!strcmp(a->kw_names[i], key)) v = a->kw[i];
            if (!v) {
                diag_error(I->d, loc, "format: no argument named '%s'", key);
                return NULL;
            }
        }
        const char *piece = format_spec(I, v, spec, loc);
        if (!piece) return NULL;
        acc = arena_printf(I->a, "%s%s", acc, piece);
        s = close + 1;
    }
    return v_str(I, acc);
bad_index:
    diag_error(I->d, loc, "format: replacement index out of range");
    return NULL;
}

/* numpy scalar .item() / .tolist(): the Python number */
static Value *m_np_scalar_item(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (a->n_pos || a->n_kw) {
        diag_error(I->d, loc, "item() of a numpy scalar takes no arguments");
        return NULL;
    }
    return self->kind == V_INT ? v_int(I, self->i) : v_float(I, self->f);
}

bool dict_method_exists(Elab *I, const char *name)
{
    Value probe = {.kind = V_DICT};
    return builtin_method(I, &probe, name) != NULL;
}

/* dict.NAME(d, ...) called on the class (self: NAME as a str); d a dict or an instance
 * of a dict subclass */
Value *dict_unbound_call(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    const char *name = self->str.s;
    Value *d = a->n_pos ? a->pos[0] : NULL;
    if (d && d->kind == V_OBJECT && d->obj->dict_base) d = d->obj->dict_base;
    if (!d || d->kind != V_DICT) {
        diag_error(I->d, loc, "descriptor '%s' of 'dict' object needs a dict argument", name);
        return NULL;
    }
    CallArgs rest = *a;
    rest.n_pos--;
    rest.pos++;
    rest.pos_loc++;
    return call_value(I, builtin_method(I, d, name), &rest, loc);
}

Value *builtin_method(Elab *I, Value *obj, const char *name)
{
    if (obj->np_scalar && (obj->kind == V_INT || obj->kind == V_FLOAT) &&
        (!strcmp(name, "item") || !strcmp(name, "tolist")))
        return v_builtin(I, name, m_np_scalar_item, obj);
    static const struct { ValueKind k; const char *name; NativeFn fn; } ms[] = {
        {V_LIST, "append", m_append}, {V_LIST, "extend", m_extend}, {V_LIST, "insert", m_insert},
        {V_LIST, "pop", m_list_pop}, {V_LIST, "index", m_index}, {V_LIST, "count", m_count},
        {V_LIST, "copy", m_list_copy}, {V_LIST, "reverse", m_reverse}, {V_LIST, "remove", m_remove},
        {V_TUPLE, "index", m_index}, {V_TUPLE, "count", m_count},
        {V_DICT, "get", m_get}, {V_DICT, "items", m_items}, {V_DICT, "keys", m_keys},
        {V_DICT, "values", m_values}, {V_DICT, "update", m_update}, {V_DICT, "pop", m_dict_pop},
        {V_DICT, "copy", m_dict_copy}, {V_DICT, "setdefault", m_setdefault}, {V_DICT, "clear", m_dict_clear},
        {V_DICT, "popitem", m_dict_popitem}, {V_DICT, "__getitem__", m_dict_getitem},
        {V_DICT, "__setitem__", m_dict_setitem}, {V_DICT, "__delitem__", m_dict_delitem},
        {V_DICT, "__contains__", m_dict_contains}, {V_DICT, "__len__", m_dict_len}, {V_DICT, "__iter__", m_dict_iter},
        {V_DICT, "__init__", m_dict_init},
        {V_STR, "format", m_format}, {V_STR, "join", m_join}, {V_STR, "split", m_split},
        {V_STR, "startswith", m_startswith}, {V_STR, "endswith", m_endswith}, {V_STR, "upper", m_upper},
        {V_STR, "lower", m_lower}, {V_STR, "replace", m_replace}, {V_STR, "strip", m_strip},
    };
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
        if (ms[i].k == obj->kind && !strcmp(ms[i].name, name)) return v_builtin(I, ms[i].name, ms[i].fn, obj);
    if (obj->kind == V_PROPERTY) return property_attr(I, obj, name);
    return NULL;
}

