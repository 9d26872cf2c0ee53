/* The build driver: module loading and imports, _cfg and -o overrides,
 * build_model, parameter naming over the module tree, and tracing forward. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/ast.h"
#include "frontend/eval.h"
#include "frontend/ndarray.h"
#include "support/oom.h"

void elab_init(Elab *I, Arena *a, Diag *d, const BclBuildOptions *opt)
{
    memset(I, 0, sizeof *I);
    I->a = a;
    I->d = d;
    I->opt = opt;
    I->max_steps = opt && opt->max_steps > 0 ? opt->max_steps : BCL_MAX_STEPS;
    I->builtins = env_new(I, NULL);
    registry_init(I);
    builtins_py_init(I);
    I->bcl_ns = native_bcl(I);  /* creates _bcl.Module before any file derives from it */
}

/* ------------------------------------------------------------------ module loading */

static LoadedModule *find_loaded(Elab *I, const char *key)
{
    for (int i = 0; i < I->modules.n; i++) {
        LoadedModule *m = I->modules.v[i];
        if (!strcmp(m->key, key)) return m;
    }
    return NULL;
}

static LoadedModule *add_loaded(Elab *I, const char *key, Value *ns)
{
    LoadedModule *m = ARENA_NEW(I->a, LoadedModule);
    m->key = arena_strdup(I->a, key);
    m->ns = ns;
    ptrvec_push(I->a, &I->modules, m);
    return m;
}

static char *dir_of(Arena *a, const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s) return arena_strdup(a, ".");
    if (s == path) return arena_strdup(a, "/");
    return arena_strndup(a, path, (size_t)(s - path));
}

/* Runs one source as a module; key identifies it in the cache. */
static Value *load_source(Elab *I, const char *key, const char *dotted, Source *src, bool is_stdlib,
                          const char *dir, SrcLoc from)
{
    LoadedModule *lm = find_loaded(I, key);
    if (lm) {
        if (lm->loading) {
            diag_error(I->d, from, "circular import of '%s'", dotted);
            return NULL;
        }
        return lm->ns;
    }
    AstModule *m = bcl_parse(I->a, I->d, src);
    if (!m) return NULL;
    Value *ns = new_namespace(I, dotted);
    ns->ns->is_stdlib = is_stdlib;
    ns->ns->env->parent = I->builtins;
    lm = add_loaded(I, key, ns);
    lm->loading = true;
    const char *saved_dir = I->loading_from;
    bool saved_std = I->loading_stdlib;
    I->loading_from = dir;
    I->loading_stdlib = is_stdlib;
    bool ok = exec_toplevel(I, ns->ns->env, m);
    /* names in functions the build may never run are checked now */
    if (!is_stdlib && check_file_names(I, m, ns->ns->env)) ok = false;
    I->loading_from = saved_dir;
    I->loading_stdlib = saved_std;
    lm->loading = false;
    if (!ok) {
        if (from.src) diag_note(I->d, from, "while importing '%s' here", dotted);
        lm->ns = V_POISON_;
        return NULL;
    }
    return ns;
}

static Value *load_stdlib(Elab *I, const char *key, const char *dotted, SrcLoc from)
{
    const char *text = bcl_stdlib_lookup(key);
    if (!text) return NULL;
    const char *skey = arena_printf(I->a, "<stdlib>/%s", key);
    LoadedModule *lm = find_loaded(I, skey);
    if (lm && !lm->loading) return lm->ns->kind == V_POISON ? NULL : lm->ns;
    Source *src = bcl_source_from_string(I->a, arena_printf(I->a, "<stdlib>/%s.bcl", key), text);
    return load_source(I, skey, dotted, src, true, dir_of(I->a, key), from);
}

static bool file_exists(const char *p) { return access(p, R_OK) == 0; }

/* The model file for module path rel ("a/b") in dir: a/b.py, else a/b.bcl (a BaseCls
 * user's files are .py; both hold the same language); NULL if neither exists. */
static const char *model_file_in(Elab *I, const char *dir, const char *rel)
{
    const char *py = arena_printf(I->a, "%s/%s.py", dir, rel);
    if (file_exists(py)) return py;
    const char *bcl = arena_printf(I->a, "%s/%s.bcl", dir, rel);
    return file_exists(bcl) ? bcl : NULL;
}

static Value *load_file(Elab *I, const char *path, const char *dotted, SrcLoc from)
{
    /* one key per file however it is spelled, so each file loads once */
    char *real = realpath(path, NULL);
    const char *key = real ? arena_strdup(I->a, real) : path;
    free(real);
    LoadedModule *lm = find_loaded(I, key);
    if (lm && !lm->loading) return lm->ns->kind == V_POISON ? NULL : lm->ns;
    if (!lm) {
        Source *src = bcl_read_source(I->a, I->d, path);
        if (!src) return NULL;
        return load_source(I, key, dotted, src, false, dir_of(I->a, path), from);
    }
    return load_source(I, key, dotted, NULL, false, NULL, from);  /* reports the cycle */
}

static const char *const native_names[] = {
    "megengine", "megengine.functional", "megengine.functional.nn", "basecls.utils", "typing", "collections",
    "math", "basecls", "basecls.models", "numpy", NULL,
};

bool module_exists(Elab *I, const char *dotted)
{
    for (int i = 0; native_names[i]; i++)
        if (!strcmp(native_names[i], dotted)) return true;
    char *rel = arena_strdup(I->a, dotted);
    for (char *p = rel; *p; p++)
        if (*p == '.') *p = '/';
    return bcl_stdlib_lookup(rel) != NULL;
}

static void load_zoo(Elab *I);

/* basecls.models: every zoo module, with their public names (resnet18, ...) */
static Value *zoo_namespace(Elab *I)
{
    Value *ns = new_namespace(I, "basecls.models");
    load_zoo(I);
    for (int i = 0; i < I->modules.n; i++) {
        LoadedModule *m = I->modules.v[i];
        if (strncmp(m->key, "<stdlib>/basecls/models/", 24) || m->ns->kind != V_NAMESPACE) continue;
        env_set(I, ns->ns->env, m->key + 24, m->ns);
        Env *e = m->ns->ns->env;
        for (int k = 0; k < e->n; k++)
            if (e->vars[k].name[0] != '_' && e->vars[k].v && e->vars[k].v->kind != V_NAMESPACE) env_set(I, ns->ns->env, e->vars[k].name, e->vars[k].v);
    }
    return ns;
}

static Value *native_module(Elab *I, const char *dotted)
{
    if (!strcmp(dotted, "megengine")) {
        Value *ns = native_megengine(I);
        Value *f = import_module(I, "megengine.functional", NO_LOC, false);
        if (f) env_set(I, ns->ns->env, "functional", f);
        return ns;
    }
    if (!strcmp(dotted, "megengine.functional") || !strcmp(dotted, "megengine.functional.nn")) return native_functional(I);
    if (!strcmp(dotted, "basecls.utils")) return native_basecls_utils(I);
    Value *py = native_py_module(I, dotted);   /* math, typing, functools, ... */
    if (py) return py;
    if (!strcmp(dotted, "numpy")) return native_numpy(I);
    if (!strcmp(dotted, "basecls.models")) return zoo_namespace(I);
    if (!strcmp(dotted, "basecls")) return new_namespace(I, dotted);
    return NULL;
}

static Value *import_inner(Elab *I, const char *dotted, SrcLoc loc);

Value *import_module(Elab *I, const char *dotted, SrcLoc loc, bool from_stdlib)
{
    Value *v = import_inner(I, dotted, loc);
    return v && v->kind == V_POISON ? NULL : v;
}

static Value *import_inner(Elab *I, const char *dotted, SrcLoc loc)
{
    /* native modules, cached by name */
    const char *nkey = arena_printf(I->a, "<native>/%s", dotted);
    LoadedModule *lm = find_loaded(I, nkey);
    if (lm) return lm->ns;
    if (!strcmp(dotted, "_bcl")) {
        if (!I->loading_stdlib) {
            diag_error(I->d, loc, "'_bcl' holds compiler intrinsics and can only be imported by the standard library");
            return NULL;
        }
        return I->bcl_ns;
    }
    Value *nat = native_module(I, dotted);
    if (nat) {
        add_loaded(I, nkey, nat);
        return nat;
    }
    /* dotted name -> relative path "a/b" */
    char *rel = arena_strdup(I->a, dotted);
    for (char *p = rel; *p; p++)
        if (*p == '.') *p = '/';
    /* a file beside the importer (stdlib files import their siblings from the stdlib) */
    if (I->loading_stdlib) {
        const char *sib = I->loading_from && strcmp(I->loading_from, ".") ? arena_printf(I->a, "%s/%s", I->loading_from, rel) : rel;
        if (bcl_stdlib_lookup(sib)) return load_stdlib(I, sib, dotted, loc);
    } else if (I->loading_from) {
        const char *p = model_file_in(I, I->loading_from, rel);
        if (p) return load_file(I, p, dotted, loc);
    }
    for (int i = 0; I->opt && i < I->opt->n_include_dirs; i++) {
        const char *p = model_file_in(I, I->opt->include_dirs[i], rel);
        if (p) return load_file(I, p, dotted, loc);
    }
    if (bcl_stdlib_lookup(rel)) {
        const char *skey = arena_printf(I->a, "<stdlib>/%s", rel);
        LoadedModule *sl = find_loaded(I, skey);
        if (sl && sl->ns->kind == V_POISON) return NULL;
        return load_stdlib(I, rel, dotted, loc);
    }
    /* As in Python, a module is only needed when it is used: bind a placeholder that
     * is an error when the compiler has to use it (cv2 in a never-called method). */
    diag_warning(I->d, loc, "no module named '%s' (looked for %s.py and %s.bcl beside the file, on -I paths and in the standard library); "
                 "using it at compile time is an error", dotted, rel, rel);
    Value *ph = ARENA_NEW(I->a, Value);
    ph->kind = V_PLACEHOLDER;
    ph->placeholder = ARENA_NEW(I->a, PlaceholderObj);
    ph->placeholder->module = dotted;
    ph->placeholder->import_loc = loc;
    return ph;
}

/* `from ..pkg.mod import x` in the file of `loc`: relative to that file's directory
 * (level 1) or the directories above it, in the standard library or on disk. */
Value *import_relative(Elab *I, const char *module, int level, SrcLoc loc)
{
    const char *shown = arena_printf(I->a, "%.*s%s", level, "................................", module);
    const char *path = loc.src ? loc.src->path : NULL;
    if (!path || level > 32) {
        diag_error(I->d, loc, "relative import '%s' outside a file", shown);
        return NULL;
    }
    char *rel = arena_strdup(I->a, module);
    for (char *p = rel; *p; p++)
        if (*p == '.') *p = '/';
    static const char stdpfx[] = "<stdlib>/";
    if (!strncmp(path, stdpfx, sizeof stdpfx - 1)) {
        /* the package is the stdlib directory: climb one component per extra dot */
        char *dir = dir_of(I->a, path + sizeof stdpfx - 1);
        if (!strcmp(dir, ".")) dir[0] = 0;
        for (int i = 1; i < level; i++) {
            char *sl = strrchr(dir, '/');
            if (!*dir) {
                diag_error(I->d, loc, "attempted relative import '%s' beyond the top of the standard library", shown);
                return NULL;
            }
            if (sl) *sl = 0; else dir[0] = 0;
        }
        const char *key = *dir ? arena_printf(I->a, "%s/%s", dir, rel) : rel;
        if (bcl_stdlib_lookup(key)) {
            char *dotted = arena_strdup(I->a, key);
            for (char *p = dotted; *p; p++)
                if (*p == '/') *p = '.';
            const char *skey = arena_printf(I->a, "<stdlib>/%s", key);
            LoadedModule *sl = find_loaded(I, skey);
            if (sl && sl->ns->kind == V_POISON) return NULL;
            bool saved = I->loading_stdlib;
            I->loading_stdlib = true;
            Value *v = load_stdlib(I, key, dotted, loc);
            I->loading_stdlib = saved;
            return v;
        }
        diag_error(I->d, loc, "no module named '%s' (looked for %s.bcl in the standard library)", shown, key);
        return NULL;
    }
    const char *dir = dir_of(I->a, path);
    for (int i = 1; i < level; i++) dir = arena_printf(I->a, "%s/..", dir);
    const char *p = model_file_in(I, dir, rel);
    if (p) return load_file(I, p, shown, loc);
    diag_error(I->d, loc, "no module named '%s' (looked for %s/%s.py and .bcl)", shown, dir, rel);
    return NULL;
}

/* ------------------------------------------------------------------ config and overrides */

static bool is_literal(Expr *e)
{
    switch (e->kind) {
    case E_INT: case E_FLOAT: case E_STR: case E_BOOL: case E_NONE: return true;
    case E_UNARY: return (e->un.op == OP_NEG || e->un.op == OP_POS) && (e->un.x->kind == E_INT || e->un.x->kind == E_FLOAT);
    case E_TUPLE: case E_LIST:
        for (int i = 0; i < e->elts.n; i++)
            if (!is_literal(e->elts.v[i])) return false;
        return true;
    case E_DICT:
        for (int i = 0; i < e->dict.n; i++)
            if (!e->dict.keys[i] || !is_literal(e->dict.keys[i]) || !is_literal(e->dict.values[i])) return false;
        return true;
    default: return false;
    }
}

/* A -o value: a Python literal, else the text itself as a string (as BaseCls does). */
static Value *parse_override_value(Elab *I, const char *text, SrcLoc loc)
{
    Source *src = bcl_source_from_string(I->a, "<command line>", text);
    Diag quiet;
    FILE *null = fopen("/dev/null", "w");
    diag_init(&quiet, null ? null : stderr);
    Arena *pa = I->a;
    AstModule *m = null ? bcl_parse(pa, &quiet, src) : NULL;
    if (null) fclose(null);
    if (m && quiet.n_errors == 0 && m->body.n == 1 && m->body.v[0]->kind == S_EXPR && is_literal(m->body.v[0]->expr)) {
        Env *env = env_new(I, I->builtins);
        Value *v = eval_expr(I, env, m->body.v[0]->expr);
        if (v) {
            /* literal dicts from the command line point at the command line */
            if (v->kind == V_DICT)
                for (int i = 0; i < v->dict->n; i++) v->dict->e[i].loc = loc;
            return v;
        }
        return NULL;
    }
    return v_str(I, text);
}

static bool apply_override(Elab *I, Value *cfg, const char *ov)
{
    Source *src = bcl_source_from_string(I->a, "<command line>", ov);
    SrcLoc loc = {src, 1, 1, (int)strlen(ov)};
    const char *eq = strchr(ov, '=');
    if (!eq || eq == ov) {
        diag_error(I->d, loc, "an override must have the form KEY=VALUE (e.g. -o model.head.width=1024)");
        return false;
    }
    const char *key = arena_strndup(I->a, ov, (size_t)(eq - ov));
    Value *val = parse_override_value(I, eq + 1, loc);
    if (!val) return false;
    Dict *d = cfg->dict;
    const char *p = key;
    for (;;) {
        const char *dot = strchr(p, '.');
        const char *part = dot ? arena_strndup(I->a, p, (size_t)(dot - p)) : p;
        if (!*part) {
            diag_error(I->d, loc, "bad override key '%s'", key);
            return false;
        }
        if (!dot) {
            dict_set_str(I, d, part, val, loc);
            return true;
        }
        DictEntry *e = dict_find_str(d, part);
        if (!e || e->val->kind == V_NONE) {
            Value *nd = v_dict(I);
            dict_set_str(I, d, part, nd, loc);
            d = nd->dict;
        } else if (e->val->kind == V_DICT) {
            /* copy so the file's own dict values stay as written */
            Value *nd = v_dict(I);
            for (int i = 0; i < e->val->dict->n; i++)
                dict_set(I, nd->dict, e->val->dict->e[i].key, e->val->dict->e[i].val, e->val->dict->e[i].loc);
            e->val = nd;
            d = nd->dict;
        } else {
            const char *type = v_type_name(e->val);
            diag_error(I->d, loc, "cannot set '%s': '%s' is %s %s, not a dict", key,
                       arena_strndup(I->a, key, (size_t)(dot - key)), strchr("aeiou", type[0]) ? "an" : "a", type);
            if (e->loc.src) diag_note(I->d, e->loc, "'%s' is set here", part);
            return false;
        }
        p = dot + 1;
    }
}

static Value *copy_dict_d(Elab *I, Value *src, int depth);
static Value *copy_dict(Elab *I, Value *src) { return copy_dict_d(I, src, 0); }

/* nested dicts are copied (overrides must not change the file's values); a dict that
 * contains itself is copied only so deep */
static Value *copy_dict_d(Elab *I, Value *src, int depth)
{
    Value *d = v_dict(I);
    for (int i = 0; i < src->dict->n; i++) {
        Value *v = src->dict->e[i].val;
        if (v->kind == V_DICT && depth < 32) v = copy_dict_d(I, v, depth + 1);
        dict_set(I, d->dict, src->dict->e[i].key, v, src->dict->e[i].loc);
    }
    return d;
}

/* ------------------------------------------------------------------ build_model */

static Value *build_model(Elab *I, Value *cfg, const char *cfg_name, SrcLoc cfg_loc)
{
    DictEntry *me = dict_find_str(cfg->dict, "model");
    if (!me || me->val->kind != V_DICT) {
        if (me && me->val->kind != V_DICT) {
            diag_error(I->d, me->loc.src ? me->loc : cfg_loc, "%s.model must be a dict, not %s", cfg_name, v_type_name(me->val));
            return NULL;
        }
        diag_error(I->d, cfg_loc, "model name is missing: %s has no 'model' dict with a 'name'", cfg_name);
        return NULL;
    }
    Dict *model = me->val->dict;
    DictEntry *ne = dict_find_str(model, "name");
    SrcLoc mloc = me->loc.src ? me->loc : cfg_loc;
    if (!ne || ne->val->kind == V_NONE) {
        diag_error(I->d, ne && ne->loc.src ? ne->loc : mloc, "model name is missing (set %s.model.name)", cfg_name);
        return NULL;
    }
    SrcLoc nloc = ne->loc.src ? ne->loc : mloc;
    Value *ctor;
    const char *mname;
    if (ne->val->kind == V_STR) {
        mname = ne->val->str.s;
        if (!(ctor = registry_get(I, &I->models, mname, nloc))) return NULL;
    } else if (ne->val->kind == V_CLASS || ne->val->kind == V_FUNC) {
        ctor = ne->val;
        mname = ctor->kind == V_CLASS ? ctor->cls->name : ctor->fn->def->name;
    } else {
        diag_error(I->d, nloc, "model.name must be a registered name, a class or a function, not %s", v_type_name(ne->val));
        return NULL;
    }
    CallArgs a;
    callargs_init(&a);
    bool has_head = false;
    for (int i = 0; i < model->n; i++) {
        DictEntry *e = &model->e[i];
        if (v_is_str(e->key, "name")) continue;
        if (e->key->kind != V_STR) {
            diag_error(I->d, e->loc.src ? e->loc : mloc, "%s.model keys must be strings", cfg_name);
            return NULL;
        }
        Value *v = e->val;
        if (v_is_str(e->key, "head")) {
            has_head = true;
            if (v->kind == V_DICT) v = copy_dict(I, v);
        }
        callargs_kw(I, &a, e->key->str.s, v, e->loc.src ? e->loc : mloc, e->loc.src ? e->loc : mloc);
    }
    /* head defaulting from num_classes (BaseCls's build_model) */
    DictEntry *nc = dict_find_str(cfg->dict, "num_classes");
    if (nc && nc->val->kind != V_NONE) {
        if (!has_head) {
            Value *h = v_dict(I);
            callargs_kw(I, &a, "head", h, nc->loc, nc->loc);
        }
        for (int i = 0; i < a.n_kw; i++)
            if (!strcmp(a.kw_names[i], "head") && a.kw[i]->kind == V_DICT && !dict_find_str(a.kw[i]->dict, "w_out"))
                dict_set_str(I, a.kw[i]->dict, "w_out", nc->val, nc->loc.src ? nc->loc : cfg_loc);
    }
    I->bind_failed = false;
    I->top_call = true;
    Value *m = call_value(I, ctor, &a, nloc);
    I->top_call = false;
    if (!m) {
        diag_note(I->d, nloc, "while building model '%s' from %s.model here", mname, cfg_name);
        return NULL;
    }
    if (m->kind != V_OBJECT || !m->obj->cls->is_module) {
        diag_error(I->d, nloc, "model '%s' did not build a module (got %s)", mname, v_type_name(m));
        return NULL;
    }
    return m;
}

/* ------------------------------------------------------------------ parameters */

static bool is_module_value(Value *v) { return v->kind == V_OBJECT && v->obj->cls->is_module; }

/* The parameter walk: the state-dict key of the value being walked is kept in one
 * growing buffer (a key is copied only when a parameter takes it), and the depth counts
 * every module and container level of the whole tree, against BCL_MAX_MODULE_DEPTH. */
typedef struct ParamWalk {
    Elab *I;
    char *key;
    size_t len, cap;
    int depth;
    int64_t total;      /* elements of every parameter and buffer so far */
    bool failed;
} ParamWalk;

static size_t key_push(ParamWalk *w, const char *sep, const char *part)
{
    size_t old = w->len, n = strlen(sep) + strlen(part);
    if (w->len + n + 1 > w->cap) {
        size_t cap = (w->cap ? w->cap * 2 : 256) + n;
        w->key = arena_grow(w->I->a, w->key, w->key ? w->len + 1 : 0, cap, 1);
        w->cap = cap;
    }
    w->len += (size_t)sprintf(w->key + w->len, "%s%s", sep, part);
    return old;
}

static void key_pop(ParamWalk *w, size_t old)
{
    w->len = old;
    if (w->key) w->key[old] = 0;
}

static SrcLoc module_loc(Value *m) { return m->obj->made_at.src ? m->obj->made_at : m->obj->cls->loc; }

static void add_param(ParamWalk *w, ParamObj *p, const char *name)
{
    if (p->ir) return;  /* a shared parameter keeps its first name */
    w->total += shape_numel(&p->shape);  /* each is within BCL_MAX_TENSOR_ELEMS: no overflow */
    const BclBuildOptions *o = w->I->opt;
    int64_t limit = o && o->max_param_elems > 0 ? o->max_param_elems : BCL_MAX_MODEL_ELEMS;
    if (w->total > limit && !w->failed) {
        diag_error(w->I->d, p->loc, "the model's parameters and buffers have more than %lld elements in all "
                   "(the limit; --max-param-elems N raises it, up to %lld)",
                   (long long)limit, (long long)BCL_MAX_PARAM_ELEMS_CAP);
        w->failed = true;
        return;
    }
    size_t old = key_push(w, "", name);
    p->ir = ir_add_param(w->I->g, arena_strdup(w->I->a, w->key), &p->shape, p->init, p->loc);
    memcpy(p->ir->init_args, p->init_args, sizeof p->init_args);
    p->ir->dtype = p->dtype;   /* an int buffer stays an index in forward */
    if (p->data) {  /* a constant buffer (Swin's rel_pos_index): its values unless weights replace them */
        int64_t n = shape_numel(&p->shape);
        p->ir->data = ARENA_NEWN(w->I->g->arena, float, n > 0 ? n : 1);
        memcpy(p->ir->data, p->data, sizeof(float) * (size_t)n);
    }
    key_pop(w, old);
}

static void walk_value(ParamWalk *w, Value *v, int depth);

/* A user's module class that overrides load_state_dict (BaseCls's ViT, which resizes
 * pos_embed for another grid with cv2): bclc binds weights by name itself and does not
 * run it, so the graph records the first such method for a warning where weights are
 * loaded (api/pipeline.c). */
static void note_load_hook(ParamWalk *w, ClassObj *c)
{
    if (w->I->g->load_hook) return;
    Value *f = class_lookup(c, "load_state_dict");
    if (!f || f->kind != V_FUNC || loc_in_stdlib(f->fn->def->loc)) return;
    w->I->g->load_hook = arena_strdup(w->I->g->arena, f->fn->qualname ? f->fn->qualname : "load_state_dict");
    w->I->g->load_hook_loc = f->fn->def->name_loc;
}

/* PyTorch's state-dict order: own parameters, own buffers, then children. */
static void walk_module(ParamWalk *w, Value *m)
{
    ObjectObj *o = m->obj;
    if (o->walk_mark == w->I->walk_gen) return;
    o->walk_mark = w->I->walk_gen;
    /* its module path, for profiles: the key so far without the trailing '.' */
    if (!o->path) o->path = arena_strndup(w->I->a, w->key ? w->key : "", w->len ? w->len - 1 : 0);
    if (w->depth >= BCL_MAX_MODULE_DEPTH) {
        if (!w->failed)
            diag_error(w->I->d, module_loc(m), "modules nested too deeply: more than %d levels", BCL_MAX_MODULE_DEPTH);
        w->failed = true;
        return;
    }
    w->depth++;
    note_load_hook(w, o->cls);
    /* a tensor made in __init__ (not a Parameter) is a buffer, as MegEngine's */
    for (int i = 0; i < o->attrs.n && !w->failed; i++) {
        Value *v = o->attrs.e[i].val;
        if (v->kind == V_NDARRAY && v->nd->is_tensor) {
            Value *b = nd_to_buffer(w->I, v->nd, module_loc(m));
            if (!b) { w->failed = true; break; }
            o->attrs.e[i].val = b;
        }
    }
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < o->attrs.n && !w->failed; i++) {
            Value *v = o->attrs.e[i].val;
            if (v->kind == V_PARAM && v->param->buffer == (pass == 1)) add_param(w, v->param, o->attrs.e[i].key->str.s);
        }
    for (int i = 0; i < o->attrs.n && !w->failed; i++) {
        Value *v = o->attrs.e[i].val;
        if (v->kind != V_OBJECT && v->kind != V_LIST && v->kind != V_TUPLE && v->kind != V_DICT) continue;
        size_t old = key_push(w, "", o->attrs.e[i].key->str.s);
        walk_value(w, v, 0);
        key_pop(w, old);
    }
    w->depth--;
}

/* Modules inside (nested) list / tuple / dict attributes are named attr.i / attr.key, as MegEngine does. */
static void walk_value(ParamWalk *w, Value *v, int depth)
{
    if (depth > BCL_MAX_VALUE_DEPTH || w->failed) return;
    if (is_module_value(v)) {
        size_t old = key_push(w, ".", "");
        walk_module(w, v);
        key_pop(w, old);
    } else if (v->kind == V_LIST || v->kind == V_TUPLE) {
        char num[24];
        for (int j = 0; j < v->seq->n; j++) {
            snprintf(num, sizeof num, "%d", j);
            size_t old = key_push(w, ".", num);
            walk_value(w, v->seq->v[j], depth + 1);
            key_pop(w, old);
        }
    } else if (v->kind == V_DICT) {
        for (int j = 0; j < v->dict->n; j++) {
            size_t old = key_push(w, ".", v_to_str(w->I, v->dict->e[j].key));
            walk_value(w, v->dict->e[j].val, depth + 1);
            key_pop(w, old);
        }
    }
}

/* ------------------------------------------------------------------ input shape, tracing */

static bool img_size(Elab *I, Value *cfg, int64_t *h, int64_t *w)
{
    static const char *const sections[] = {"test", "preprocess"};
    for (int s = 0; s < 2; s++) {
        Value *sec = dict_get_str(cfg->dict, sections[s]);
        if (!sec || sec->kind != V_DICT) continue;
        DictEntry *e = dict_find_str(sec->dict, "img_size");
        if (!e || e->val->kind == V_NONE) continue;
        Value *v = e->val;
        if (v->kind == V_INT && v->i > 0) {
            *h = *w = v->i;
            return true;
        }
        if ((v->kind == V_TUPLE || v->kind == V_LIST) && v->seq->n == 2 && v->seq->v[0]->kind == V_INT &&
            v->seq->v[1]->kind == V_INT && v->seq->v[0]->i > 0 && v->seq->v[1]->i > 0) {
            *h = v->seq->v[0]->i;
            *w = v->seq->v[1]->i;
            return true;
        }
        diag_error(I->d, e->loc, "%s.img_size must be a positive int or a pair of them, got %s", sections[s], v_repr(I, v));
        return false;
    }
    *h = *w = 224;
    return true;
}

/* Input channels: as many as _cfg.preprocess.img_mean has values (BaseCls normalizes
 * each channel with its mean), else 3. */
static bool img_channels(Elab *I, Value *cfg, int64_t *c)
{
    *c = 3;
    Value *sec = dict_get_str(cfg->dict, "preprocess");
    if (!sec || sec->kind != V_DICT) return true;
    DictEntry *e = dict_find_str(sec->dict, "img_mean");
    if (!e || e->val->kind == V_NONE) return true;
    Value *v = e->val;
    if ((v->kind == V_TUPLE || v->kind == V_LIST) && v->seq->n > 0) {
        *c = v->seq->n;
        return true;
    }
    diag_error(I->d, e->loc, "preprocess.img_mean must be a list with one mean per input channel, got %s",
               v_repr(I, v));
    return false;
}

/* A number from a config value (int or float). */
static bool cfg_number(const Value *v, double *out)
{
    if (v->kind == V_INT || v->kind == V_BOOL) return *out = (double)v->i, true;
    if (v->kind == V_FLOAT) return *out = v->f, true;
    return false;
}

static Value *cfg_field(Value *cfg, const char *section, const char *sub, const char *key)
{
    Value *sec = dict_get_str(cfg->dict, section);
    if (sub && sec && sec->kind == V_DICT) sec = dict_get_str(sec->dict, sub);
    if (!sec || sec->kind != V_DICT) return NULL;
    Value *v = dict_get_str(sec->dict, key);
    return v && v->kind != V_NONE ? v : NULL;
}

static bool cfg_numbers(Elab *I, Value *cfg, const char *key, double *out, int *n)
{
    Value *v = cfg_field(cfg, "preprocess", NULL, key);
    if (!v) return true;
    bool ok = (v->kind == V_TUPLE || v->kind == V_LIST) && v->seq->n > 0 && v->seq->n <= 8;
    for (int i = 0; ok && i < v->seq->n; i++) ok = cfg_number(v->seq->v[i], &out[i]);
    if (!ok) {
        DictEntry *e = dict_find_str(dict_get_str(cfg->dict, "preprocess")->dict, key);
        diag_error(I->d, e->loc, "preprocess.%s must be a list of 1 to 8 numbers, got %s", key, v_repr(I, v));
        return false;
    }
    *n = v->seq->n;
    return true;
}

static bool cfg_string(Elab *I, Value *cfg, const char *section, const char *sub, const char *key,
                       char *out, size_t cap)
{
    Value *v = cfg_field(cfg, section, sub, key);
    if (!v) return true;
    if (v->kind != V_STR || (size_t)v->str.len >= cap) {
        diag_error(I->d, NO_LOC, "config %s%s%s.%s must be a short string, got %s", section, sub ? "." : "",
                   sub ? sub : "", key, v_repr(I, v));
        return false;
    }
    memcpy(out, v->str.s, (size_t)v->str.len + 1);
    return true;
}

/* What the test transform needs, with BaseCls's defaults (basecls/configs/base_cfg.py). */
static bool data_cfg(Elab *I, Value *cfg, BclDataCfg *dc)
{
    static const double mean[3] = {103.530, 116.280, 123.675}, std[3] = {57.375, 57.12, 58.395};
    memset(dc, 0, sizeof *dc);
    dc->crop_pct = 0.875;
    strcpy(dc->interpolation, "bilinear");
    strcpy(dc->color_space, "BGR");
    dc->n_mean = dc->n_std = 3;
    memcpy(dc->mean, mean, sizeof mean);
    memcpy(dc->std, std, sizeof std);
    dc->num_classes = -1;
    Value *nc = dict_get_str(cfg->dict, "num_classes");
    if (nc && nc->kind == V_INT) dc->num_classes = nc->i;
    Value *cp = cfg_field(cfg, "test", NULL, "crop_pct");
    if (cp && (!cfg_number(cp, &dc->crop_pct) || !(dc->crop_pct > 0 && dc->crop_pct <= 1))) {
        diag_error(I->d, NO_LOC, "test.crop_pct must be a number in (0, 1], got %s", v_repr(I, cp));
        return false;
    }
    return img_size(I, cfg, &dc->img_h, &dc->img_w) && cfg_numbers(I, cfg, "img_mean", dc->mean, &dc->n_mean) &&
           cfg_numbers(I, cfg, "img_std", dc->std, &dc->n_std) &&
           cfg_string(I, cfg, "augments", "resize", "interpolation", dc->interpolation, sizeof dc->interpolation) &&
           cfg_string(I, cfg, "preprocess", NULL, "img_color_space", dc->color_space, sizeof dc->color_space);
}

static bool add_outputs(Elab *I, Value *r, SrcLoc loc)
{
    if (r->kind == V_TENSOR) {
        ir_add_output(I->g, r->tensor);
        return true;
    }
    if (r->kind == V_PARAM && r->param->ir) {
        ir_add_output(I->g, r->param->ir);
        return true;
    }
    if ((r->kind == V_TUPLE || r->kind == V_LIST) && r->seq->n > 0) {
        for (int i = 0; i < r->seq->n; i++)
            if (!add_outputs(I, r->seq->v[i], loc)) return false;
        return true;
    }
    diag_error(I->d, loc, "forward must return a tensor or a tuple of tensors, not %s", v_type_name(r));
    return false;
}

static Value *default_cfg(Elab *I, const char *model_name)
{
    Value *cfg = v_dict(I);
    Value *model = v_dict(I);
    Source *src = bcl_source_from_string(I->a, "<command line>", arena_printf(I->a, "--model %s", model_name));
    SrcLoc loc = {src, 1, 1, (int)strlen(src->text)};
    dict_set_str(I, model->dict, "name", v_str(I, model_name), loc);
    dict_set_str(I, cfg->dict, "num_classes", v_int(I, 1000), loc);
    dict_set_str(I, cfg->dict, "model", model, loc);
    return cfg;
}

/* Loads every stdlib module of the model zoo, so that their models are registered. */
static void load_zoo(Elab *I)
{
    for (int i = 0; bcl_stdlib_paths[i]; i++)
        if (!strncmp(bcl_stdlib_paths[i], "basecls/models/", 15)) {
            const char *dotted = arena_strdup(I->a, bcl_stdlib_paths[i]);
            for (char *p = (char *)dotted; *p; p++)
                if (*p == '/') *p = '.';
            bool saved = I->loading_stdlib;
            I->loading_stdlib = true;
            load_stdlib(I, bcl_stdlib_paths[i], dotted, NO_LOC);
            I->loading_stdlib = saved;
        }
}

/* What BaseCls keeps in a variant's own config file (zoo/public/<family>/<name>.py) that
 * --model NAME needs: a zoo file's `_zoo_cfgs = dict(NAME=dict(test=dict(img_size=384)))`.
 * Its sections other than model and num_classes go into the default config (overrides
 * still apply after them). */
static void zoo_cfg_defaults(Elab *I, Value *cfg, const char *model_name)
{
    for (int i = 0; bcl_stdlib_paths[i]; i++) {
        if (strncmp(bcl_stdlib_paths[i], "basecls/models/", 15)) continue;
        LoadedModule *lm = find_loaded(I, arena_printf(I->a, "<stdlib>/%s", bcl_stdlib_paths[i]));
        Value *ns = lm && !lm->loading ? lm->ns : NULL;   /* load_zoo loaded them all */
        Value *tab = ns && ns->kind == V_NAMESPACE ? env_get_local(ns->ns->env, "_zoo_cfgs") : NULL;
        DictEntry *e = tab && tab->kind == V_DICT ? dict_find_str(tab->dict, model_name) : NULL;
        if (!e || e->val->kind != V_DICT) continue;
        Dict *d = e->val->dict;
        for (int k = 0; k < d->n; k++) {
            Value *key = d->e[k].key, *v = d->e[k].val;
            if (key->kind != V_STR || !strcmp(key->str.s, "model") || !strcmp(key->str.s, "num_classes"))
                continue;
            dict_set(I, cfg->dict, key, v->kind == V_DICT ? copy_dict(I, v) : v, d->e[k].loc);
        }
    }
}

/* A ConfigDict object (attributes in order, nested ConfigDicts) as a plain dict whose
 * entries keep the locations where the config files wrote them. */
static Value *cfg_object_to_dict(Elab *I, Value *obj, int depth)
{
    Value *d = v_dict(I);
    Dict *src = &obj->obj->attrs;
    for (int i = 0; i < src->n; i++) {
        Value *v = src->e[i].val;
        if (v->kind == V_OBJECT && !v->obj->cls->is_module && depth < 32) v = cfg_object_to_dict(I, v, depth + 1);
        dict_set(I, d->dict, src->e[i].key, v, src->e[i].loc);
    }
    return d;
}

/* Cfg(): the configuration as BaseCls's tools make it (family defaults merged with the
 * file's _cfg), as a dict; NULL after an error. */
static Value *instantiate_cfg(Elab *I, Value *cls)
{
    CallArgs a;
    callargs_init(&a);
    Value *obj = call_value(I, cls, &a, cls->cls->loc);
    if (!obj) {
        diag_note(I->d, cls->cls->loc, "while making the configuration %s()", cls->cls->name);
        return NULL;
    }
    if (obj->kind == V_DICT) return obj;
    if (obj->kind != V_OBJECT || obj->obj->cls->is_module) {
        diag_error(I->d, cls->cls->loc, "%s() must make a configuration (a ConfigDict or a dict), not %s", cls->cls->name,
                   v_type_name(obj));
        return NULL;
    }
    return cfg_object_to_dict(I, obj, 0);
}

static Value *load_main(Elab *I, const BclBuildOptions *opt)
{
    if (!opt->path) return NULL;
    if (opt->source_text) {  /* in-memory text under a virtual name: nothing is read from disk */
        Source *src = bcl_source_from_string(I->a, opt->path, opt->source_text);
        return load_source(I, opt->path, "__main__", src, false, dir_of(I->a, opt->path), NO_LOC);
    }
    return load_file(I, opt->path, "__main__", NO_LOC);
}

static IrGraph *build_graph(const BclBuildOptions *opt, Arena *a, Diag *d);

/* Out of memory anywhere in the elaborator (its arena, the scanner) ends the build
 * with an error instead of aborting the host. */
IrGraph *bcl_build(const BclBuildOptions *opt, Arena *a, Diag *d)
{
    BclOomScope sc;
    DiagCapture *outer_capture = d->capture;
    if (BCL_OOM_CATCH(sc)) {
        /* a compile-time `try` that was running held its errors in a capture on the
         * unwound stack: forget it (its records leak) so the error below is shown */
        d->capture = outer_capture;
        diag_error(d, NO_LOC, "out of memory while building the model (%s)", sc.what);
        return NULL;
    }
    IrGraph *g = build_graph(opt, a, d);
    bcl_oom_pop(&sc);
    return g;
}

static IrGraph *build_graph(const BclBuildOptions *opt, Arena *a, Diag *d)
{
    Elab I;
    elab_init(&I, a, d, opt);
    int errs0 = d->n_errors;
    Value *main_ns = NULL;
    if (opt->path || opt->source_text) {
        main_ns = load_main(&I, opt);
        if (!main_ns || d->n_errors > errs0) return NULL;
    }
    if (opt->model_name) load_zoo(&I);
    if (d->n_errors > errs0) return NULL;
    if (!main_ns && !opt->model_name) {
        diag_error(d, NO_LOC, "nothing to build: give a .bcl file or --model NAME");
        return NULL;
    }
    /* the config */
    const char *cfg_name = opt->cfg_name ? opt->cfg_name : "_cfg";
    Value *cfg = NULL;
    SrcLoc cfg_loc = NO_LOC;
    if (opt->model_name) {
        cfg = default_cfg(&I, opt->model_name);
        zoo_cfg_defaults(&I, cfg, opt->model_name);
    } else {
        Value *c = env_get_local(main_ns->ns->env, cfg_name);
        /* a BaseCls zoo config file: `class Cfg(ResNetConfig)`, used as Cfg() */
        Value *cfg_cls = env_get_local(main_ns->ns->env, opt->cfg_name ? opt->cfg_name : "Cfg");
        if (cfg_cls && cfg_cls->kind == V_CLASS && !cfg_cls->cls->is_module) {
            if (!opt->cfg_name) cfg_name = "Cfg";
            if (!(c = instantiate_cfg(&I, cfg_cls))) return NULL;
        }
        if (!c) {
            diag_error_path(d, opt->path, "no config: '%s' is not defined in this file (define %s = dict(model=dict(name=...)) or use --model NAME)",
                            cfg_name, cfg_name);
            return NULL;
        }
        if (c->kind != V_DICT) {
            diag_error_path(d, opt->path, "'%s' must be a dict, not %s", cfg_name, v_type_name(c));
            return NULL;
        }
        cfg = copy_dict(&I, c);
        /* point "model name is missing" at the config's first entry, else the file */
        if (c->dict->n && c->dict->e[0].loc.src) cfg_loc = c->dict->e[0].loc;
    }
    for (int i = 0; i < opt->n_overrides; i++)
        if (!apply_override(&I, cfg, opt->overrides[i])) return NULL;
    if (!cfg_loc.src) cfg_loc = (SrcLoc){bcl_source_from_string(a, "<command line>", ""), 0, 0, 0};

    /* a registered name the files do not define is the built-in zoo's */
    Value *mcfg = dict_get_str(cfg->dict, "model");
    Value *mname = mcfg && mcfg->kind == V_DICT ? dict_get_str(mcfg->dict, "name") : NULL;
    if (!opt->model_name && mname && mname->kind == V_STR && !registry_has(&I.models, mname)) {
        load_zoo(&I);
        if (d->n_errors > errs0) return NULL;
    }

    Value *model = build_model(&I, cfg, cfg_name, cfg_loc);
    if (!model || d->n_errors > errs0) return NULL;

    /* parameters, in state-dict order */
    I.g = ir_graph_new(a, model->obj->cls->name);
    I.walk_gen++;
    ParamWalk walk = {.I = &I};
    key_push(&walk, "", "");
    walk_module(&walk, model);
    if (walk.failed) return NULL;

    /* the input */
    Shape in = {.rank = 4};
    if (opt->has_input_shape) {
        in = opt->input_shape;
    } else {
        int64_t h, w, c;
        if (!img_size(&I, cfg, &h, &w) || !img_channels(&I, cfg, &c)) return NULL;
        in.d[0] = 1;
        in.d[1] = c;
        in.d[2] = h;
        in.d[3] = w;
    }
    IrValue *x = ir_add_input(I.g, "input", &in);

    /* trace forward */
    I.tracing = true;
    Value *fwd = class_lookup(model->obj->cls, "forward");
    SrcLoc floc = fwd && fwd->kind == V_FUNC ? fwd->fn->def->name_loc : model->obj->cls->loc;
    if (!fwd) {
        diag_error(d, model->obj->cls->loc, "model '%s' has no forward method", model->obj->cls->name);
        return NULL;
    }
    I.bind_failed = false;
    Value *r = call1(&I, model, v_tensor(&I, x), floc);
    I.tracing = false;
    if (!r) {
        diag_note(d, floc, "while tracing %s.forward on an input of shape [%lld, %lld, %lld, %lld]", model->obj->cls->name,
                  (long long)in.d[0], (long long)in.d[1], (long long)in.d[2], (long long)in.d[3]);
        return NULL;
    }
    if (!add_outputs(&I, r, floc)) return NULL;
    if (opt->data_cfg && !data_cfg(&I, cfg, opt->data_cfg)) return NULL;
    if (d->n_errors > errs0) return NULL;
    return I.g;
}

/* ------------------------------------------------------------------ listing */

int bcl_list_registered(const BclBuildOptions *opt, const char *pattern, bool verbose, FILE *out, Diag *d)
{
    Arena a;
    arena_init(&a);
    Elab I;
    elab_init(&I, &a, d, opt);
    int errs0 = d->n_errors;
    if (opt && (opt->path || opt->source_text)) load_main(&I, opt);
    load_zoo(&I);
    /* the stdlib's heads live in basecls.layers */
    if (bcl_stdlib_lookup("basecls/layers")) {
        bool saved = I.loading_stdlib;
        I.loading_stdlib = true;
        load_stdlib(&I, "basecls/layers", "basecls.layers", NO_LOC);
        I.loading_stdlib = saved;
    }
    int rc = d->n_errors > errs0 ? 1 : 0;
    for (int k = 0; k < 2; k++) {
        Registry *r = k ? &I.heads : &I.models;
        for (int i = 0; i < r->n; i++)
            if (!pattern || strstr(r->e[i].name, pattern)) {
                fprintf(out, "%s %s", r->kind, r->e[i].name);
                if (verbose && r->e[i].url) fprintf(out, " %s", r->e[i].url);
                fputc('\n', out);
            }
    }
    arena_free(&a);
    return rc;
}
