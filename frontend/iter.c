/* Lazy iterators: generator expressions, map() and filter(). Each produces one item
 * per next(), so `next(b for b in blocks if b.stride == 2)` evaluates the condition
 * only up to the first match, as Python does. The iterables the loops run over are
 * taken whole when the loop starts (the first one when the generator is made). */
#include <string.h>

#include "frontend/eval.h"

static Value *new_iter(Elab *I, const char *name, IterNextFn next, void *state)
{
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_ITER;
    v->iter = ARENA_NEW(I->a, IterObj);
    v->iter->next = next;
    v->iter->state = state;
    v->iter->name = name;
    return v;
}

Value *iter_next(Elab *I, Value *it, SrcLoc loc, bool *done)
{
    *done = false;
    if (it->iter->exhausted) {
        *done = true;
        return NULL;
    }
    Value *v = it->iter->next(I, it->iter, loc, done);
    if (*done || !v) it->iter->exhausted = true;
    return v;
}

/* ------------------------------------------------------------------ generator expressions */

typedef struct GenState {
    Expr *e;
    Env *env;           /* the comprehension's own scope */
    Seq **items;        /* per loop: what it runs over */
    int *pos;           /* per loop: the next item */
    int level;          /* the innermost loop entered */
} GenState;

static Value *gen_next(Elab *I, IterObj *it, SrcLoc loc, bool *done)
{
    (void)loc;
    GenState *g = it->state;
    Expr *e = g->e;
    for (;;) {
        int k = g->level;
        if (g->pos[k] >= g->items[k]->n) {
            if (k == 0) {
                *done = true;
                return NULL;
            }
            g->level--;
            continue;
        }
        Comprehension *c = &e->comp.gens[k];
        Value *x = g->items[k]->v[g->pos[k]++];
        if (!assign_to(I, g->env, c->target, x, c->iter->loc)) return NULL;
        bool keep = true;
        for (int j = 0; j < c->ifs.n && keep; j++) {
            Value *cv = eval_expr(I, g->env, c->ifs.v[j]);
            if (!cv || cv->kind == V_POISON) return NULL;
            int t = truthy(I, cv, c->ifs.v[j]->loc);
            if (t < 0) return NULL;
            keep = t;
        }
        if (!keep) continue;
        if (k + 1 < e->comp.n_gens) {
            Comprehension *inner = &e->comp.gens[k + 1];
            Value *src = eval_expr(I, g->env, inner->iter);
            if (!src || src->kind == V_POISON) return NULL;
            Seq *s = iterate(I, src, inner->iter->loc);
            if (!s) return NULL;
            g->items[k + 1] = s;
            g->pos[k + 1] = 0;
            g->level = k + 1;
            continue;
        }
        Value *v = eval_expr(I, g->env, e->comp.elt);
        return v && v->kind != V_POISON ? v : NULL;
    }
}

Value *genexp_new(Elab *I, Env *env, Expr *e)
{
    GenState *g = ARENA_NEW(I->a, GenState);
    g->e = e;
    g->env = env_new(I, env);
    g->items = ARENA_NEWN(I->a, Seq *, e->comp.n_gens);
    g->pos = ARENA_NEWN(I->a, int, e->comp.n_gens);
    /* the first iterable is evaluated at once, in the enclosing scope */
    Value *src = eval_expr(I, env, e->comp.gens[0].iter);
    if (!src || src->kind == V_POISON) return NULL;
    if (!(g->items[0] = iterate(I, src, e->comp.gens[0].iter->loc))) return NULL;
    return new_iter(I, "generator", gen_next, g);
}

/* ------------------------------------------------------------------ map, filter */

typedef struct MapState {
    Value *fn;
    int n;
    Seq **src;
    int pos;
    SrcLoc loc;
} MapState;

static Value *map_next(Elab *I, IterObj *it, SrcLoc loc, bool *done)
{
    MapState *m = it->state;
    for (int i = 0; i < m->n; i++)
        if (m->pos >= m->src[i]->n) {
            *done = true;
            return NULL;
        }
    CallArgs a;
    callargs_init(&a);
    for (int i = 0; i < m->n; i++) callargs_pos(I, &a, m->src[i]->v[m->pos], m->loc);
    m->pos++;
    return call_value(I, m->fn, &a, m->loc.src ? m->loc : loc);
}

static Value *filter_next(Elab *I, IterObj *it, SrcLoc loc, bool *done)
{
    MapState *m = it->state;
    while (m->pos < m->src[0]->n) {
        Value *x = m->src[0]->v[m->pos++];
        Value *t = m->fn->kind == V_NONE ? x : call1(I, m->fn, x, m->loc.src ? m->loc : loc);
        if (!t) return NULL;
        int b = truthy(I, t, m->loc);
        if (b < 0) return NULL;
        if (b) return x;
    }
    *done = true;
    return NULL;
}

static Value *b_map(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (a->n_kw || a->n_pos < 2) {
        diag_error(I->d, loc, "map() takes a function and at least one iterable");
        return NULL;
    }
    MapState *m = ARENA_NEW(I->a, MapState);
    m->fn = a->pos[0];
    m->n = a->n_pos - 1;
    m->loc = loc;
    m->src = ARENA_NEWN(I->a, Seq *, m->n);
    for (int i = 0; i < m->n; i++)
        if (!(m->src[i] = iterate(I, a->pos[i + 1], a->pos_loc[i + 1]))) return NULL;
    return new_iter(I, "map", map_next, m);
}

static Value *b_filter(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (a->n_kw || a->n_pos != 2) {
        diag_error(I->d, loc, "filter() takes a function (or None) and an iterable");
        return NULL;
    }
    MapState *m = ARENA_NEW(I->a, MapState);
    m->fn = a->pos[0];
    m->n = 1;
    m->loc = loc;
    m->src = ARENA_NEWN(I->a, Seq *, 1);
    if (!(m->src[0] = iterate(I, a->pos[1], a->pos_loc[1]))) return NULL;
    return new_iter(I, "filter", filter_next, m);
}

/* ------------------------------------------------------------------ generator functions */

/* A call of a function whose body yields: nothing runs until the first next(), which
 * runs the whole body and keeps what it yields (so an endless generator ends in the
 * statement budget, and its side effects all happen at that first next()). */
typedef struct GenFuncState {
    FuncObj *fn;
    Env *env;
    Value *self;
    SrcLoc loc;
    Seq *items;
    int pos;
} GenFuncState;

static Value *genfunc_next(Elab *I, IterObj *it, SrcLoc loc, bool *done)
{
    GenFuncState *g = it->state;
    if (!g->items && !(g->items = run_generator_body(I, g->fn, g->env, g->self, g->loc.src ? g->loc : loc)))
        return NULL;
    if (g->pos >= g->items->n) {
        *done = true;
        return NULL;
    }
    return g->items->v[g->pos++];
}

Value *genfunc_new(Elab *I, FuncObj *fn, Env *env, Value *self, SrcLoc loc)
{
    GenFuncState *g = ARENA_NEW(I->a, GenFuncState);
    g->fn = fn;
    g->env = env;
    g->self = self;
    g->loc = loc;
    return new_iter(I, "generator", genfunc_next, g);
}

/* ------------------------------------------------------------------ zip, enumerate */

/* One source of zip/enumerate: an iterator is pulled one item at a time (so zip of
 * generators runs them in step, as Python does), anything else is taken whole. */
typedef struct ZipSource {
    Value *it;      /* a V_ITER, or NULL */
    Seq *items;
    int pos;
} ZipSource;

static bool source_init(Elab *I, ZipSource *src, Value *v, SrcLoc loc)
{
    src->pos = 0;
    src->it = v->kind == V_ITER ? v : NULL;
    src->items = src->it ? NULL : iterate(I, v, loc);
    return src->it || src->items;
}

/* The next item; NULL with *done at the end, NULL without after an error. */
static Value *source_next(Elab *I, ZipSource *src, SrcLoc loc, bool *done)
{
    *done = false;
    if (src->it) return iter_next(I, src->it, loc, done);
    if (src->pos >= src->items->n) {
        *done = true;
        return NULL;
    }
    return src->items->v[src->pos++];
}

typedef struct ZipState {
    int n;
    ZipSource *src;
    int64_t count;      /* enumerate: the next index */
    SrcLoc loc;
} ZipState;

static Value *zip_next(Elab *I, IterObj *it, SrcLoc loc, bool *done)
{
    ZipState *z = it->state;
    if (z->n == 0) {
        *done = true;
        return NULL;
    }
    Value *t = v_tuple(I, z->n);
    for (int i = 0; i < z->n; i++)
        if (!(t->seq->v[i] = source_next(I, &z->src[i], z->loc.src ? z->loc : loc, done))) return NULL;
    return t;
}

static Value *enumerate_next(Elab *I, IterObj *it, SrcLoc loc, bool *done)
{
    ZipState *z = it->state;
    Value *x = source_next(I, &z->src[0], z->loc.src ? z->loc : loc, done);
    if (!x) return NULL;
    Value *t = v_tuple(I, 2);
    t->seq->v[0] = v_int(I, z->count++);
    t->seq->v[1] = x;
    return t;
}

static Value *b_zip(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    if (a->n_kw) {
        diag_error(I->d, loc, "zip() takes no keyword arguments in .bcl");
        return NULL;
    }
    ZipState *z = ARENA_NEW(I->a, ZipState);
    z->n = a->n_pos;
    z->loc = loc;
    z->src = ARENA_NEWN(I->a, ZipSource, a->n_pos + 1);
    for (int i = 0; i < a->n_pos; i++)
        if (!source_init(I, &z->src[i], a->pos[i], a->pos_loc[i])) return NULL;
    return new_iter(I, "zip", zip_next, z);
}

static Value *b_enumerate(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    (void)self;
    static const char *const names[] = {"iterable", "start"};
    Value *av[2] = {0};
    if (!bind_native(I, "enumerate", a, loc, names, 2, 1, av)) return NULL;
    ZipState *z = ARENA_NEW(I->a, ZipState);
    z->n = 1;
    z->loc = loc;
    if (av[1] && !as_int(I, av[1], loc, "start", &z->count)) return NULL;
    z->src = ARENA_NEWN(I->a, ZipSource, 1);
    if (!source_init(I, &z->src[0], av[0], loc)) return NULL;
    return new_iter(I, "enumerate", enumerate_next, z);
}

void iter_builtins_init(Elab *I)
{
    env_set(I, I->builtins, "zip", v_builtin(I, "zip", b_zip, NULL));
    env_set(I, I->builtins, "enumerate", v_builtin(I, "enumerate", b_enumerate, NULL));
    env_set(I, I->builtins, "map", v_builtin(I, "map", b_map, NULL));
    env_set(I, I->builtins, "filter", v_builtin(I, "filter", b_filter, NULL));
}
