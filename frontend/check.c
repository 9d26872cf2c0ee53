/* A static check of a loaded file's functions: every name that is not defined
 * (and every missing attribute of a native module such as F.foo) is reported as a
 * warning, even in code the build never runs, so that one run lists them all. As in
 * Python, such a name is an error only when the code that uses it runs. */
#include <string.h>

#include "frontend/eval.h"

typedef struct Scope {
    struct Scope *up;
    const char **names;
    int n, cap;
    bool is_func;
} Scope;

typedef struct Checker {
    Elab *I;
    Env *globals;
    int n_errors;
    int depth;          /* nested sub-expressions, against BCL_MAX_EXPR_DEPTH */
    bool too_deep;      /* the current expression hit the limit */
} Checker;

static void scope_add(Elab *I, Scope *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        s->names = arena_grow(I->a, s->names, (size_t)s->n, (size_t)cap, sizeof(char *));
        s->cap = cap;
    }
    s->names[s->n++] = name;
}

static bool scope_has(const Scope *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return true;
    return false;
}

static void add_target(Elab *I, Scope *s, Expr *t)
{
    if (!t) return;
    switch (t->kind) {
    case E_NAME: scope_add(I, s, t->name); break;
    case E_TUPLE:
    case E_LIST:
        for (int i = 0; i < t->elts.n; i++) add_target(I, s, t->elts.v[i]);
        break;
    case E_STARRED: add_target(I, s, t->starred.value); break;
    default: break;
    }
}

/* Names a function body binds (Python makes them local to the whole body). */
static void collect_locals(Elab *I, Scope *s, StmtList *b)
{
    for (int i = 0; i < b->n; i++) {
        Stmt *st = b->v[i];
        switch (st->kind) {
        case S_ASSIGN:
            for (int k = 0; k < st->assign.n_targets; k++) add_target(I, s, st->assign.targets[k]);
            break;
        case S_AUGASSIGN: add_target(I, s, st->aug.target); break;
        case S_ANNASSIGN: add_target(I, s, st->ann.target); break;
        case S_FOR:
            add_target(I, s, st->for_.target);
            collect_locals(I, s, &st->for_.body);
            collect_locals(I, s, &st->for_.orelse);
            break;
        case S_IF:
            collect_locals(I, s, &st->if_.body);
            collect_locals(I, s, &st->if_.orelse);
            break;
        case S_WHILE:
            collect_locals(I, s, &st->while_.body);
            collect_locals(I, s, &st->while_.orelse);
            break;
        case S_TRY:
            collect_locals(I, s, &st->try_.body);
            for (int k = 0; k < st->try_.n_handlers; k++) {
                if (st->try_.handlers[k].name) scope_add(I, s, st->try_.handlers[k].name);
                collect_locals(I, s, &st->try_.handlers[k].body);
            }
            collect_locals(I, s, &st->try_.orelse);
            collect_locals(I, s, &st->try_.finalbody);
            break;
        case S_WITH:
            for (int k = 0; k < st->with_.n; k++) add_target(I, s, st->with_.items[k].target);
            collect_locals(I, s, &st->with_.body);
            break;
        case S_GLOBAL:
        case S_NONLOCAL:
            for (int k = 0; k < st->names.n; k++) scope_add(I, s, st->names.v[k]);
            break;
        case S_DEF: scope_add(I, s, st->def->name); break;
        case S_CLASS: scope_add(I, s, st->cls->name); break;
        case S_IMPORT:
            for (int k = 0; k < st->import_.n; k++) {
                ImportName *in = &st->import_.names[k];
                const char *n = in->asname ? in->asname : in->name;
                const char *dot = strchr(n, '.');
                scope_add(I, s, dot ? arena_strndup(I->a, n, (size_t)(dot - n)) : n);
            }
            break;
        case S_FROM:
            for (int k = 0; k < st->from.n; k++)
                scope_add(I, s, st->from.names[k].asname ? st->from.names[k].asname : st->from.names[k].name);
            break;
        default: break;
        }
    }
}

/* The value a name has at module level, if no enclosing function shadows it. */
static Value *global_value(Checker *c, Scope *s, const char *name)
{
    for (Scope *p = s; p; p = p->up)
        if (scope_has(p, name)) return NULL;
    Value *v = env_get_local(c->globals, name);
    return v ? v : env_get_local(c->I->builtins, name);
}

static void check_expr(Checker *c, Scope *s, Expr *e);

static void check_list(Checker *c, Scope *s, ExprList *l)
{
    for (int i = 0; i < l->n; i++) check_expr(c, s, l->v[i]);
}

static void check_name(Checker *c, Scope *s, Expr *e)
{
    for (Scope *p = s; p; p = p->up)
        if (scope_has(p, e->name)) return;
    if (env_get_local(c->globals, e->name) || env_get_local(c->I->builtins, e->name)) return;
    if (reported_at(c->I, e->loc)) return;
    /* suggestions from the enclosing function scopes first, then module level */
    const char *sug = "";
    for (Scope *p = s; p && !*sug; p = p->up)
        for (int i = 0; i < p->n && !*sug; i++)
            if (edit_distance(e->name, p->names[i]) <= (strlen(e->name) <= 4 ? 1 : 2))
                sug = arena_printf(c->I->a, "; did you mean '%s'?", p->names[i]);
    if (!*sug) sug = suggest_name(c->I, c->globals, e->name);
    diag_warning(c->I->d, e->loc, "name '%s' is not defined%s", e->name, sug);
}

static void check_expr_inner(Checker *c, Scope *s, Expr *e);
static void check_func(Checker *c, Scope *up, FuncDef *d, bool header_ran);

/* The same depth limit as the evaluator's: a long flat `x + x + ...` is a left-deep
 * tree, so the check stops (once per expression) instead of overflowing the C stack. */
static void check_expr(Checker *c, Scope *s, Expr *e)
{
    if (!e || c->too_deep) return;
    if (c->depth >= BCL_MAX_EXPR_DEPTH) {
        c->too_deep = true;  /* unwinding: nothing more is reported for this expression */
        if (!reported_at(c->I, e->loc)) {
            diag_error(c->I->d, e->loc, "expression nested too deeply");
            c->n_errors++;
        }
        return;
    }
    c->depth++;
    check_expr_inner(c, s, e);
    if (--c->depth == 0) c->too_deep = false;
}

static void check_expr_inner(Checker *c, Scope *s, Expr *e)
{
    switch (e->kind) {
    case E_NAME: check_name(c, s, e); break;
    case E_FSTRING: check_list(c, s, &e->fstr); break;
    case E_FIELD: check_expr(c, s, e->field.value); break;
    case E_ATTR: {
        check_expr(c, s, e->attr.obj);
        /* M.Foo, F.foo: a module's names are all known once it has loaded */
        if (e->attr.obj->kind == E_NAME) {
            Value *v = global_value(c, s, e->attr.obj->name);
            if (v && v->kind == V_NAMESPACE && !env_get_local(v->ns->env, e->attr.name) &&
                !module_exists(c->I, arena_printf(c->I->a, "%s.%s", v->ns->name, e->attr.name)) && !reported_at(c->I, e->attr.name_loc.src ? e->attr.name_loc : e->loc)) {
                diag_warning(c->I->d, e->attr.name_loc.src ? e->attr.name_loc : e->loc, "'%s' has no attribute '%s'%s",
                           v->ns->name, e->attr.name, suggest_attr(c->I, v->ns->env, e->attr.name));
            }
        }
        break;
    }
    case E_SUBSCRIPT: check_expr(c, s, e->sub.obj); check_expr(c, s, e->sub.index); break;
    case E_SLICE: check_expr(c, s, e->slice.lo); check_expr(c, s, e->slice.hi); check_expr(c, s, e->slice.step); break;
    case E_CALL:
        check_expr(c, s, e->call.func);
        for (int i = 0; i < e->call.n_args; i++) check_expr(c, s, e->call.args[i].value);
        break;
    case E_BINOP: case E_BOOLOP: check_expr(c, s, e->bin.l); check_expr(c, s, e->bin.r); break;
    case E_UNARY: check_expr(c, s, e->un.x); break;
    case E_COMPARE:
        check_expr(c, s, e->cmp.first);
        for (int i = 0; i < e->cmp.n; i++) check_expr(c, s, e->cmp.rest[i]);
        break;
    case E_IFEXP: check_expr(c, s, e->ifexp.cond); check_expr(c, s, e->ifexp.body); check_expr(c, s, e->ifexp.orelse); break;
    case E_LIST: case E_TUPLE: case E_SET: check_list(c, s, &e->elts); break;
    case E_LAMBDA: check_func(c, s, e->lambda, false); break;
    case E_DICT:
        for (int i = 0; i < e->dict.n; i++) { check_expr(c, s, e->dict.keys[i]); check_expr(c, s, e->dict.values[i]); }
        break;
    case E_LISTCOMP: case E_GENEXP: case E_SETCOMP: case E_DICTCOMP: {
        Scope cs = {.up = s};
        for (int g = 0; g < e->comp.n_gens; g++) {
            /* the first iterable is evaluated outside the comprehension */
            check_expr(c, g == 0 ? s : &cs, e->comp.gens[g].iter);
            add_target(c->I, &cs, e->comp.gens[g].target);
            check_list(c, &cs, &e->comp.gens[g].ifs);
        }
        check_expr(c, &cs, e->comp.elt);
        if (e->kind == E_DICTCOMP) check_expr(c, &cs, e->comp.value);
        break;
    }
    case E_STARRED: check_expr(c, s, e->starred.value); break;
    case E_YIELD: if (e->yield_.value) check_expr(c, s, e->yield_.value); break;
    default: break;
    }
}


static void check_block(Checker *c, Scope *s, StmtList *b)
{
    for (int i = 0; i < b->n; i++) {
        Stmt *st = b->v[i];
        switch (st->kind) {
        case S_EXPR: case S_RETURN: case S_RAISE: check_expr(c, s, st->expr); break;
        case S_ASSIGN:
            check_expr(c, s, st->assign.value);
            for (int k = 0; k < st->assign.n_targets; k++)
                if (st->assign.targets[k]->kind != E_NAME) check_expr(c, s, st->assign.targets[k]);
            break;
        case S_AUGASSIGN: check_expr(c, s, st->aug.target); check_expr(c, s, st->aug.value); break;
        case S_ANNASSIGN:
            check_expr(c, s, st->ann.value);
            if (st->ann.target->kind != E_NAME) check_expr(c, s, st->ann.target);
            break;
        case S_IF:
            check_expr(c, s, st->if_.cond);
            check_block(c, s, &st->if_.body);
            check_block(c, s, &st->if_.orelse);
            break;
        case S_FOR:
            check_expr(c, s, st->for_.iter);
            if (st->for_.target->kind != E_NAME) check_expr(c, s, st->for_.target);
            check_block(c, s, &st->for_.body);
            check_block(c, s, &st->for_.orelse);
            break;
        case S_ASSERT: check_expr(c, s, st->assert_.cond); check_expr(c, s, st->assert_.msg); break;
        case S_WHILE:
            check_expr(c, s, st->while_.cond);
            check_block(c, s, &st->while_.body);
            check_block(c, s, &st->while_.orelse);
            break;
        case S_TRY:
            check_block(c, s, &st->try_.body);
            for (int k = 0; k < st->try_.n_handlers; k++) {
                check_expr(c, s, st->try_.handlers[k].type);
                check_block(c, s, &st->try_.handlers[k].body);
            }
            check_block(c, s, &st->try_.orelse);
            check_block(c, s, &st->try_.finalbody);
            break;
        case S_WITH:
            for (int k = 0; k < st->with_.n; k++) check_expr(c, s, st->with_.items[k].ctx);
            check_block(c, s, &st->with_.body);
            break;
        case S_DEL: check_list(c, s, &st->del_); break;
        case S_DEF: check_func(c, s, st->def, false); break;
        case S_CLASS:
            check_list(c, s, &st->cls->decorators);
            for (int k = 0; k < st->cls->n_bases; k++) check_expr(c, s, st->cls->bases[k].value);
            for (int k = 0; k < st->cls->body.n; k++)
                if (st->cls->body.v[k]->kind == S_DEF) check_func(c, NULL, st->cls->body.v[k]->def, false);
            break;
        default: break;
        }
    }
}

/* header_ran: the decorators and defaults were evaluated when the file ran */
static void check_func(Checker *c, Scope *up, FuncDef *d, bool header_ran)
{
    if (!header_ran) {
        check_list(c, up, &d->decorators);
        for (int i = 0; i < d->n_params; i++) check_expr(c, up, d->params[i].def);
    }
    Scope s = {.up = up, .is_func = true};
    for (int i = 0; i < d->n_params; i++) scope_add(c->I, &s, d->params[i].name);
    collect_locals(c->I, &s, &d->body);
    check_block(c, &s, &d->body);
}

/* Checks the functions and methods of a file whose top level has run. */
int check_file_names(Elab *I, AstModule *m, Env *globals)
{
    Checker c = {.I = I, .globals = globals};
    for (int i = 0; i < m->body.n; i++) {
        Stmt *st = m->body.v[i];
        if (st->kind == S_DEF) {
            check_func(&c, NULL, st->def, true);
        } else if (st->kind == S_CLASS) {
            for (int k = 0; k < st->cls->body.n; k++)
                if (st->cls->body.v[k]->kind == S_DEF) check_func(&c, NULL, st->cls->body.v[k]->def, true);
        }
    }
    return c.n_errors;
}
