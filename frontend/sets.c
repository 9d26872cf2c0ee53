/* set and frozenset: a Dict whose keys are the members (values None), so membership
 * is hashed and iteration keeps insertion order. Operators | & - ^ and the subset
 * comparisons, the methods model code uses, and the set()/frozenset() constructors. */
#include <string.h>

#include "frontend/eval.h"

static bool is_set(const Value *v) { return v->kind == V_SET || v->kind == V_FROZENSET; }

Value *v_set(Elab *I, bool frozen)
{
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = frozen ? V_FROZENSET : V_SET;
    v->dict = ARENA_NEW(I->a, Dict);
    return v;
}

bool set_add(Elab *I, Value *set, Value *x, SrcLoc loc)
{
    if (x->kind == V_LIST || x->kind == V_DICT || x->kind == V_SET) {
        diag_error(I->d, loc, "unhashable type: '%s'", v_type_name(x));
        return false;
    }
    if (!dict_find(set->dict, x)) dict_set(I, set->dict, x, V_NONE_, loc);
    return true;
}

static Value *set_from(Elab *I, Value *src, bool frozen, SrcLoc loc)
{
    Value *s = v_set(I, frozen);
    if (!src) return s;
    Seq *items = iterate(I, src, loc);
    if (!items) return NULL;
    for (int i = 0; i < items->n; i++)
        if (!set_add(I, s, items->v[i], loc)) return NULL;
    return s;
}

/* a op b for sets; the result has a's kind (set | frozenset is a set) */
static Value *combine(Elab *I, OpKind op, Value *a, Value *b)
{
    Value *r = v_set(I, a->kind == V_FROZENSET);
    for (int i = 0; i < a->dict->n; i++) {
        Value *x = a->dict->e[i].key;
        bool in_b = dict_find(b->dict, x) != NULL;
        if (op == OP_BITOR || (op == OP_BITAND && in_b) || ((op == OP_SUB || op == OP_BITXOR) && !in_b))
            dict_set(I, r->dict, x, V_NONE_, NO_LOC);
    }
    if (op == OP_BITOR || op == OP_BITXOR)
        for (int i = 0; i < b->dict->n; i++) {
            Value *x = b->dict->e[i].key;
            if (!dict_find(a->dict, x)) dict_set(I, r->dict, x, V_NONE_, NO_LOC);
        }
    return r;
}

static bool subset(const Value *a, const Value *b)
{
    for (int i = 0; i < a->dict->n; i++)
        if (!dict_find(b->dict, a->dict->e[i].key)) return false;
    return true;
}

Value *set_binop(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc)
{
    if (!is_set(r)) {
        diag_error(I->d, loc, "unsupported operand type(s) for %s: '%s' and '%s'", op_text(op), v_type_name(l),
                   v_type_name(r));
        return NULL;
    }
    switch (op) {
    case OP_BITOR: case OP_BITAND: case OP_SUB: case OP_BITXOR: return combine(I, op, l, r);
    case OP_LE: return v_bool(subset(l, r));
    case OP_LT: return v_bool(subset(l, r) && l->dict->n < r->dict->n);
    case OP_GE: return v_bool(subset(r, l));
    case OP_GT: return v_bool(subset(r, l) && l->dict->n > r->dict->n);
    default: break;
    }
    diag_error(I->d, loc, "unsupported operand type(s) for %s: '%s' and '%s'", op_text(op), v_type_name(l),
               v_type_name(r));
    return NULL;
}

/* ------------------------------------------------------------------ methods */

static bool one_arg(Elab *I, CallArgs *a, SrcLoc loc, const char *f)
{
    if (a->n_pos == 1 && !a->n_kw) return true;
    diag_error(I->d, loc, "%s() takes exactly one argument (%d given)", f, a->n_pos + a->n_kw);
    return false;
}

static bool mutable_set(Elab *I, Value *self, SrcLoc loc, const char *f)
{
    if (self->kind == V_SET) return true;
    diag_error(I->d, loc, "'frozenset' object has no attribute '%s'", f);
    return false;
}

static Value *m_add(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!mutable_set(I, self, loc, "add") || !one_arg(I, a, loc, "add")) return NULL;
    return set_add(I, self, a->pos[0], loc) ? V_NONE_ : NULL;
}

static Value *m_discard_remove(Elab *I, Value *self, CallArgs *a, SrcLoc loc, bool remove)
{
    const char *f = remove ? "remove" : "discard";
    if (!mutable_set(I, self, loc, f) || !one_arg(I, a, loc, f)) return NULL;
    if (!dict_del(self->dict, a->pos[0]) && remove) {
        diag_error(I->d, loc, "KeyError: %s", v_repr(I, a->pos[0]));
        return NULL;
    }
    return V_NONE_;
}
static Value *m_discard(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_discard_remove(I, self, a, loc, false); }
static Value *m_remove(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_discard_remove(I, self, a, loc, true); }

static Value *m_update(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!mutable_set(I, self, loc, "update")) return NULL;
    for (int k = 0; k < a->n_pos; k++) {
        Seq *s = iterate(I, a->pos[k], a->pos_loc[k]);
        if (!s) return NULL;
        for (int i = 0; i < s->n; i++)
            if (!set_add(I, self, s->v[i], loc)) return NULL;
    }
    return V_NONE_;
}

/* union/intersection/difference/symmetric_difference take any iterables */
static Value *m_combine(Elab *I, Value *self, CallArgs *a, SrcLoc loc, OpKind op, const char *f)
{
    if (a->n_kw) {
        diag_error(I->d, loc, "%s() takes no keyword arguments", f);
        return NULL;
    }
    Value *r = self;
    for (int k = 0; k < a->n_pos; k++) {
        Value *other = set_from(I, a->pos[k], false, a->pos_loc[k]);
        if (!other) return NULL;
        r = combine(I, op, r, other);
    }
    return r == self ? combine(I, OP_BITOR, self, v_set(I, false)) : r;
}
static Value *m_union(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_combine(I, self, a, loc, OP_BITOR, "union"); }
static Value *m_intersection(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_combine(I, self, a, loc, OP_BITAND, "intersection"); }
static Value *m_difference(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_combine(I, self, a, loc, OP_SUB, "difference"); }
static Value *m_symdiff(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_combine(I, self, a, loc, OP_BITXOR, "symmetric_difference"); }
static Value *m_copy(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (a->n_pos || a->n_kw) {
        diag_error(I->d, loc, "copy() takes no arguments");
        return NULL;
    }
    return combine(I, OP_BITOR, self, v_set(I, false));
}

static Value *m_subsuper(Elab *I, Value *self, CallArgs *a, SrcLoc loc, bool super)
{
    if (!one_arg(I, a, loc, super ? "issuperset" : "issubset")) return NULL;
    Value *other = set_from(I, a->pos[0], false, a->pos_loc[0]);
    if (!other) return NULL;
    return v_bool(super ? subset(other, self) : subset(self, other));
}
static Value *m_issubset(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_subsuper(I, self, a, loc, false); }
static Value *m_issuperset(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { return m_subsuper(I, self, a, loc, true); }

static Value *m_isdisjoint(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (!one_arg(I, a, loc, "isdisjoint")) return NULL;
    Value *other = set_from(I, a->pos[0], false, a->pos_loc[0]);
    return other ? v_bool(combine(I, OP_BITAND, self, other)->dict->n == 0) : NULL;
}

Value *set_method(Elab *I, Value *obj, const char *name)
{
    static const struct { const char *name; NativeFn fn; } ms[] = {
        {"add", m_add}, {"discard", m_discard}, {"remove", m_remove}, {"update", m_update},
        {"union", m_union}, {"intersection", m_intersection}, {"difference", m_difference},
        {"symmetric_difference", m_symdiff}, {"copy", m_copy}, {"issubset", m_issubset},
        {"issuperset", m_issuperset}, {"isdisjoint", m_isdisjoint},
    };
    for (size_t i = 0; i < sizeof ms / sizeof *ms; i++)
        if (!strcmp(ms[i].name, name)) return v_builtin(I, ms[i].name, ms[i].fn, obj);
    return NULL;
}

/* ------------------------------------------------------------------ constructors */

static Value *c_set_any(Elab *I, CallArgs *a, SrcLoc loc, bool frozen)
{
    const char *f = frozen ? "frozenset" : "set";
    if (a->n_kw || a->n_pos > 1) {
        diag_error(I->d, loc, "%s() takes at most 1 positional argument", f);
        return NULL;
    }
    return set_from(I, a->n_pos ? a->pos[0] : NULL, frozen, a->n_pos ? a->pos_loc[0] : loc);
}
static Value *c_set(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { (void)self; return c_set_any(I, a, loc, false); }
static Value *c_frozenset(Elab *I, Value *self, CallArgs *a, SrcLoc loc) { (void)self; return c_set_any(I, a, loc, true); }

void sets_init(Elab *I)
{
    static const struct { const char *name; TypeKind tk; NativeFn fn; } cs[] = {
        {"set", TK_SET, c_set}, {"frozenset", TK_FROZENSET, c_frozenset},
    };
    for (size_t i = 0; i < 2; i++) {
        Value *v = ARENA_NEW(I->a, Value);
        v->kind = V_CLASS;
        v->cls = native_class(I, cs[i].name, cs[i].tk, cs[i].fn);
        env_set(I, I->builtins, cs[i].name, v);
    }
}
