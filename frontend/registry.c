/* basecls.utils.registers: registers.models and registers.heads, the register()
 * decorator with its BaseCls checks, lookups with closest-name suggestions. */
#include <stdlib.h>
#include <string.h>

#include "frontend/eval.h"

int edit_distance(const char *a, const char *b)
{
    /* Levenshtein, case-insensitive (users mistype case too) */
    size_t n = strlen(a), m = strlen(b);
    if (n > 200 || m > 200) return 1000;
    int prev[201], cur[201];
    for (size_t j = 0; j <= m; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            char x = a[i - 1], y = b[j - 1];
            if (x >= 'A' && x <= 'Z') x = (char)(x + 32);
            if (y >= 'A' && y <= 'Z') y = (char)(y + 32);
            int c = prev[j - 1] + (x != y);
            if (prev[j] + 1 < c) c = prev[j] + 1;
            if (cur[j - 1] + 1 < c) c = cur[j - 1] + 1;
            cur[j] = c;
        }
        memcpy(prev, cur, sizeof(int) * (m + 1));
    }
    return prev[m];
}

void registry_init(Elab *I)
{
    I->models.kind = "model";
    I->heads.kind = "head";
}

static const char *def_name(Value *v)
{
    if (v->kind == V_CLASS) return v->cls->name;
    if (v->kind == V_FUNC) return v->fn->def->name;
    return NULL;
}

static SrcLoc def_loc(Value *v)
{
    if (v->kind == V_CLASS) return v->cls->loc;
    if (v->kind == V_FUNC) return v->fn->def->name_loc;
    return NO_LOC;
}

/* The parameter named `name` of a registered constructor or builder, if any. */
static Param *name_param(Value *v)
{
    Value *f = v;
    if (v->kind == V_CLASS) f = class_lookup(v->cls, "__init__");
    if (!f || f->kind != V_FUNC) return NULL;
    FuncDef *d = f->fn->def;
    for (int i = 0; i < d->n_params; i++)
        if (d->params[i].kind != PARAM_STAR && d->params[i].kind != PARAM_DSTAR && !strcmp(d->params[i].name, "name"))
            return &d->params[i];
    return NULL;
}

static Value *do_register(Elab *I, Registry *r, Value *obj, const char *name, SrcLoc loc)
{
    if (obj->kind != V_CLASS && obj->kind != V_FUNC) {
        diag_error(I->d, loc, "registers.%ss.register() can only register a class or a function, not '%s'", r->kind,
                   v_type_name(obj));
        return NULL;
    }
    if (!name) name = def_name(obj);
    SrcLoc at = def_loc(obj).src ? def_loc(obj) : loc;
    Param *p = name_param(obj);
    if (p) {
        diag_error(I->d, at, "registered %s '%s' must not take a parameter named 'name': model.%sname is reserved for the registry key",
                   r->kind, name, !strcmp(r->kind, "head") ? "head." : "");
        diag_note(I->d, p->loc, "the parameter is declared here");
        return NULL;
    }
    const char *url = NULL;
    for (int i = 0; i < I->hub_marks.n; i++) {
        HubMark *m = I->hub_marks.v[i];
        if (m->fn == obj || (m->fn->kind == obj->kind && (obj->kind == V_FUNC ? m->fn->fn == obj->fn : m->fn->cls == obj->cls)))
            url = m->url;
    }
    bool std = I->loading_stdlib;
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->e[i].name, name)) {
            /* a user's file registering a name the zoo also has: the user's is built */
            if (r->e[i].from_stdlib && !std) {
                r->e[i] = (RegEntry){name, obj, at, false, url};
                return obj;
            }
            if (std && !r->e[i].from_stdlib) return obj;  /* the zoo's copy is not registered */
            diag_error(I->d, at, "%s '%s' is already registered", r->kind, name);
            diag_note(I->d, r->e[i].loc, "previously registered here");
            return NULL;
        }
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        r->e = arena_grow(I->a, r->e, (size_t)r->n, (size_t)cap, sizeof(RegEntry));
        r->cap = cap;
    }
    r->e[r->n++] = (RegEntry){name, obj, at, std, url};
    return obj;
}

Value *registry_get(Elab *I, Registry *r, const char *name, SrcLoc loc)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->e[i].name, name)) return r->e[i].v;
    if (!r->n) {
        diag_error(I->d, loc, "unknown %s '%s': no %ss are registered", r->kind, name, r->kind);
        return NULL;
    }
    /* the three closest names by edit distance */
    int best[3] = {-1, -1, -1}, bd[3] = {1 << 30, 1 << 30, 1 << 30};
    for (int i = 0; i < r->n; i++) {
        int d = edit_distance(name, r->e[i].name);
        for (int k = 0; k < 3; k++)
            if (d < bd[k]) {
                for (int j = 2; j > k; j--) { bd[j] = bd[j - 1]; best[j] = best[j - 1]; }
                bd[k] = d;
                best[k] = i;
                break;
            }
    }
    const char *list = "";
    for (int k = 0; k < 3 && best[k] >= 0; k++)
        list = arena_printf(I->a, "%s%s'%s'", list, k ? ", " : "", r->e[best[k]].name);
    diag_error(I->d, loc, "unknown %s '%s'; the closest registered %ss are: %s", r->kind, name, r->kind, list);
    return NULL;
}

/* register() returns a decorator; the decorator carries the name (or None) as its self. */
static Value *decorate(Elab *I, Registry *r, Value *self, CallArgs *a, SrcLoc loc)
{
    if (a->n_pos != 1 || a->n_kw) {
        diag_error(I->d, loc, "the register() decorator takes exactly one class or function");
        return NULL;
    }
    return do_register(I, r, a->pos[0], self && self->kind == V_STR ? self->str.s : NULL, loc);
}
static Value *deco_models(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return decorate(I, &I->models, s, a, l); }
static Value *deco_heads(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return decorate(I, &I->heads, s, a, l); }

static Value *reg_register(Elab *I, Registry *r, CallArgs *a, SrcLoc loc, NativeFn deco)
{
    static const char *const names[] = {"module", "name", "force"};
    Value *av[3];
    if (!bind_native(I, "register", a, loc, names, 3, 0, av)) return NULL;
    const char *name = NULL;
    if (av[1] && av[1]->kind != V_NONE) {
        if (av[1]->kind != V_STR) {
            diag_error(I->d, loc, "register(): name must be a string, not %s", v_type_name(av[1]));
            return NULL;
        }
        name = av[1]->str.s;
    }
    if (av[0] && av[0]->kind != V_NONE) return do_register(I, r, av[0], name, loc);  /* register(cls) */
    return v_builtin(I, "register.<decorator>", deco, name ? v_str(I, name) : NULL);
}
static Value *models_register(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reg_register(I, &I->models, a, l, deco_models); }
static Value *heads_register(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reg_register(I, &I->heads, a, l, deco_heads); }

static Value *reg_get(Elab *I, Registry *r, CallArgs *a, SrcLoc loc)
{
    static const char *const names[] = {"name"};
    Value *av[1];
    if (!bind_native(I, "get", a, loc, names, 1, 1, av)) return NULL;
    if (av[0]->kind != V_STR) {
        diag_error(I->d, loc, "registers.%ss.get(): the name must be a string, not %s", r->kind, v_type_name(av[0]));
        return NULL;
    }
    /* a name coming from the config is reported at its config entry */
    SrcLoc at = a->n_pos ? a->pos_loc[0] : loc;
    return registry_get(I, r, av[0]->str.s, at);
}
static Value *models_get(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reg_get(I, &I->models, a, l); }
static Value *heads_get(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reg_get(I, &I->heads, a, l); }

static Value *reg_contains(Elab *I, Registry *r, CallArgs *a, SrcLoc loc)
{
    if (a->n_pos != 1 || a->n_kw || a->pos[0]->kind != V_STR) {
        diag_error(I->d, loc, "contains() takes one name");
        return NULL;
    }
    return v_bool(registry_has(r, a->pos[0]));
}
static Value *models_contains(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reg_contains(I, &I->models, a, l); }
static Value *heads_contains(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reg_contains(I, &I->heads, a, l); }

static Value *reg_names(Elab *I, Registry *r)
{
    Value *l = v_list(I, 0);
    for (int i = 0; i < r->n; i++) seq_push(I, l->seq, v_str(I, r->e[i].name));
    return l;
}
static Value *models_names(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reg_names(I, &I->models); }
static Value *heads_names(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return reg_names(I, &I->heads); }

Registry *registry_of(Elab *I, const Value *v)
{
    if (!I->registers || v->kind != V_NAMESPACE) return NULL;
    if (v == env_get_local(I->registers->ns->env, "models")) return &I->models;
    if (v == env_get_local(I->registers->ns->env, "heads")) return &I->heads;
    return NULL;
}

bool registry_has(const Registry *r, const Value *name)
{
    if (name->kind != V_STR) return false;
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->e[i].name, name->str.s)) return true;
    return false;
}

/* BaseCls's recursive_update(d, u): merges u into d in place, descending into the dicts
 * u holds (a missing key starts as {}), and returns d. */
static Value *rec_update(Elab *I, Value *d, Value *u, SrcLoc loc, int depth)
{
    if (depth > 64) {
        diag_error(I->d, loc, "recursive_update(): dicts nested too deeply (does a dict contain itself?)");
        return NULL;
    }
    if (d->kind != V_DICT || u->kind != V_DICT) {
        diag_error(I->d, loc, "recursive_update() merges a dict into a dict, not %s into %s", v_type_name(u), v_type_name(d));
        return NULL;
    }
    for (int i = 0; i < u->dict->n; i++) {
        DictEntry *e = &u->dict->e[i];
        Value *v = e->val;
        if (v->kind == V_DICT) {
            Value *cur = dict_get(d->dict, e->key);
            if (!cur) cur = v_dict(I);
            if (!(v = rec_update(I, cur, v, loc, depth + 1))) return NULL;
        }
        dict_set(I, d->dict, e->key, v, e->loc);
    }
    return d;
}

static Value *b_recursive_update(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    static const char *const names[] = {"d", "u"};
    Value *av[2];
    if (!bind_native(I, "recursive_update", a, loc, names, 2, 2, av)) return NULL;
    return rec_update(I, av[0], av[1], loc, 0);
}

Value *native_basecls_utils(Elab *I)
{
    if (!I->registers) {
        Value *reg = new_namespace(I, "basecls.utils.registers");
        Value *m = new_namespace(I, "registers.models"), *h = new_namespace(I, "registers.heads");
        ns_add(I, m, "register", models_register);
        ns_add(I, m, "get", models_get);
        ns_add(I, m, "contains", models_contains);
        ns_add(I, m, "names", models_names);
        ns_add(I, m, "keys", models_names);
        ns_add(I, h, "register", heads_register);
        ns_add(I, h, "get", heads_get);
        ns_add(I, h, "contains", heads_contains);
        ns_add(I, h, "names", heads_names);
        ns_add(I, h, "keys", heads_names);
        env_set(I, reg->ns->env, "models", m);
        env_set(I, reg->ns->env, "heads", h);
        I->registers = reg;
    }
    Value *ns = new_namespace(I, "basecls.utils");
    env_set(I, ns->ns->env, "registers", I->registers);
    ns_add(I, ns, "recursive_update", b_recursive_update);
    return ns;
}
