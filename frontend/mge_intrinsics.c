/* The megengine namespace (Tensor, Parameter) and the _bcl intrinsics the standard
 * library is written with (Module and its tree walks, param, buffer, accepts). */
#include <stdio.h>
#include <string.h>

#include "frontend/native_args.h"
#include "frontend/tensor_value.h"
#include "frontend/ndarray.h"

/* ------------------------------------------------------------------ megengine, _bcl */

/* mge.Parameter(F.ones(shape)): a new parameter with that shape and initialiser */
static Value *c_parameter(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    static const char *const names[] = {"data", "dtype", "device", "is_const", "no_cache", "name"};
    Value *av[6];
    if (!bind_native(I, "Parameter", a, loc, names, 6, 1, av)) return NULL;
    if (!I->tracing && av[0]->kind == V_NDARRAY) {
        Value *p = ct_parameter(I, av[0]->nd, loc_in_stdlib(loc) && I->user_loc.src ? I->user_loc : loc);
        if (p) p->param->born_in_forward = false;
        return p;
    }
    if (!I->tracing && av[0]->kind != V_PARAM && av[0]->kind != V_TENSOR) {
        NdArray *nd = nd_from_value(I, av[0], -1, loc);
        if (!nd) return NULL;
        return ct_parameter(I, nd_astype(I, nd, ND_FLOAT32), loc_in_stdlib(loc) && I->user_loc.src ? I->user_loc : loc);
    }
    if (av[0]->kind != V_PARAM || I->tracing) {
        diag_error(I->d, loc, "mge.Parameter(...) takes F.zeros(shape) or F.ones(shape) in __init__; "
                              "creating tensors from data is not supported in .bcl");
        return NULL;
    }
    Value *r = ARENA_NEW(I->a, Value);
    r->kind = V_PARAM;
    r->param = ARENA_NEW(I->a, ParamObj);
    *r->param = *av[0]->param;
    r->param->buffer = false;
    r->param->ir = NULL;
    return r;
}

/* The shape of a nested list/tuple of numbers (rectangular), into sh; false after an error. */
static bool nested_shape(Elab *I, Value *v, Shape *sh, int depth, SrcLoc loc)
{
    if (v->kind != V_LIST && v->kind != V_TUPLE) {
        if (v->kind == V_INT || v->kind == V_FLOAT || v->kind == V_BOOL) return true;
        diag_error(I->d, loc, "mge.Tensor: expected numbers or (nested) lists of numbers, got %s", v_type_name(v));
        return false;
    }
    if (depth >= BCL_MAX_RANK) {
        diag_error(I->d, loc, "mge.Tensor: more than %d nested lists", BCL_MAX_RANK);
        return false;
    }
    if (v->seq->n == 0) {
        diag_error(I->d, loc, "mge.Tensor: empty lists make empty tensors, which are not supported");
        return false;
    }
    sh->d[depth] = v->seq->n;
    if (sh->rank < depth + 1) sh->rank = depth + 1;
    return nested_shape(I, v->seq->v[0], sh, depth + 1, loc);
}

/* Writes the numbers of v (of shape sh from axis `depth`) at out[*k...]; false when ragged. */
static bool nested_fill(Elab *I, Value *v, const Shape *sh, int depth, float *out, int64_t *k, SrcLoc loc)
{
    bool is_seq = v->kind == V_LIST || v->kind == V_TUPLE;
    if (depth == sh->rank) {
        double f;
        if (is_seq || !as_float(I, v, loc, "mge.Tensor element", &f)) {
            if (is_seq) diag_error(I->d, loc, "mge.Tensor: the nested lists are ragged (not of one shape)");
            return false;
        }
        out[(*k)++] = (float)f;
        return true;
    }
    if (!is_seq || v->seq->n != sh->d[depth]) {
        diag_error(I->d, loc, "mge.Tensor: the nested lists are ragged (not of one shape)");
        return false;
    }
    for (int i = 0; i < v->seq->n; i++)
        if (!nested_fill(I, v->seq->v[i], sh, depth + 1, out, k, loc)) return false;
    return true;
}

/* mge.Tensor(data) in __init__: a buffer (a state-dict entry that is not a Parameter, as
 * MegEngine's) holding the values of a number or nested list, e.g. Swin's rel_pos_index
 * and attn_mask. Its values are the default that loaded weights replace. */
static Value *c_tensor(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    static const char *const names[] = {"data", "dtype", "device", "is_const", "no_cache", "name"};
    Value *av[6];
    if (!bind_native(I, "Tensor", a, loc, names, 6, 1, av)) return NULL;
    if (I->tracing) {
        diag_error(I->d, loc, "mge.Tensor(...) in forward is not supported in .bcl; create constant tensors in __init__");
        return NULL;
    }
    /* a compile-time tensor: F.* and operators evaluate on it in __init__, and a module
     * holding it holds a buffer with its values */
    if (av[0]->kind != V_PARAM) return ct_tensor(I, av[0], av[1], loc);
    Shape sh = {0};
    if (!nested_shape(I, av[0], &sh, 0, loc)) return NULL;
    if (!param_size_ok(I, &sh, loc, "mge.Tensor")) return NULL;
    int64_t n = shape_numel(&sh), k = 0;
    float *data = ARENA_NEWN(I->a, float, n > 0 ? n : 1);
    if (!nested_fill(I, av[0], &sh, 0, data, &k, loc)) return NULL;
    ParamObj *p = ARENA_NEW(I->a, ParamObj);
    p->shape = sh;
    p->init = INIT_ZEROS;
    p->buffer = true;
    p->data = data;
    p->loc = loc_in_stdlib(loc) && I->user_loc.src ? I->user_loc : loc;
    Value *r = ARENA_NEW(I->a, Value);
    r->kind = V_PARAM;
    r->param = p;
    return r;
}

Value *native_megengine(Elab *I)
{
    Value *ns = new_namespace(I, "megengine");
    Value *t = ARENA_NEW(I->a, Value);
    t->kind = V_CLASS;
    t->cls = native_class(I, "Tensor", TK_TENSOR, c_tensor);
    I->tensor_cls = t->cls;
    env_set(I, ns->ns->env, "Tensor", t);
    env_set(I, ns->ns->env, "tensor", t);   /* MegEngine's alias (RepVGG uses megengine.tensor) */
    Value *p = ARENA_NEW(I->a, Value);
    p->kind = V_CLASS;
    p->cls = native_class(I, "Parameter", TK_PARAM, c_parameter);
    env_set(I, ns->ns->env, "Parameter", p);
    return ns;
}

static Value *new_param(Elab *I, CallArgs *a, SrcLoc loc, bool buffer)
{
    ARGS("shape", "init");
    const char *f = buffer ? "_bcl.buffer" : "_bcl.param";
    BIND(f, 1);
    ParamObj *p = ARENA_NEW(I->a, ParamObj);
    int64_t dims[BCL_MAX_RANK];
    int n = int_list(I, av[0], loc, "shape", dims, BCL_MAX_RANK);
    if (n < 0) return NULL;
    p->shape.rank = n;
    for (int i = 0; i < n; i++) {
        if (dims[i] <= 0) {
            diag_error(I->d, loc, "%s: dimension %d of the shape is %lld; dimensions must be positive", f, i, (long long)dims[i]);
            return NULL;
        }
        p->shape.d[i] = dims[i];
    }
    if (!param_size_ok(I, &p->shape, loc, f)) return NULL;
    p->init = INIT_ZEROS;
    if (av[1]) {
        static const char *const inits[] = {"zeros", "ones", "fan_in", "var"};
        int k = -1;
        for (int i = 0; i < 4; i++)
            if (v_is_str(av[1], inits[i])) k = i;
        if (k < 0) {
            diag_error(I->d, loc, "%s: unknown init %s (expected 'zeros', 'ones', 'fan_in' or 'var')", f, v_repr(I, av[1]));
            return NULL;
        }
        p->init = (IrInit)k;
    }
    p->buffer = buffer;
    p->born_in_forward = I->tracing;
    p->loc = loc_in_stdlib(loc) && I->user_loc.src ? I->user_loc : loc;  /* the user's M.Conv2d(...) */
    Value *v = ARENA_NEW(I->a, Value);
    v->kind = V_PARAM;
    v->param = p;
    return v;
}
static Value *b_param(Elab *I, Value *s, CallArgs *a, SrcLoc loc) { return new_param(I, a, loc, false); }
static Value *b_buffer(Elab *I, Value *s, CallArgs *a, SrcLoc loc) { return new_param(I, a, loc, true); }

static Value *b_accepts(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("fn", "argname", "kwargs");
    BIND("_bcl.accepts", 2);
    if (av[1]->kind != V_STR) {
        diag_error(I->d, loc, "_bcl.accepts: the argument name must be a string");
        return NULL;
    }
    int via_kwargs = av[2] ? truthy(I, av[2], loc) : 1;
    if (via_kwargs < 0) return NULL;
    return v_bool(func_accepts(av[0], av[1]->str.s, via_kwargs));
}

static Value *b_has_kwargs(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("fn");
    BIND("_bcl.has_kwargs", 1);
    return v_bool(func_has_kwargs(av[0]));
}

/* _bcl.set_init(p, kind, *args): how --random-weights fills parameter p
 * (megengine.module.init calls it: "zeros", "ones", "const"(val), "uniform"(a, b),
 * "normal"(mean, std), "trunc_normal"(mean, std, a, b)). */
static Value *b_set_init(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("tensor", "kind", "a0", "a1", "a2", "a3");
    BIND("_bcl.set_init", 2);
    if (av[0]->kind != V_PARAM || I->tracing) {
        diag_error(I->d, loc, "M.init: expected a parameter of a module being constructed, got %s%s", v_type_name(av[0]),
                   I->tracing ? " (initialisers run in __init__, not in forward)" : "");
        return NULL;
    }
    int k = av[1]->kind == V_STR ? ir_init_by_name(av[1]->str.s) : -1;
    if (k < 0) {
        diag_error(I->d, loc, "_bcl.set_init: unknown init %s", v_repr(I, av[1]));
        return NULL;
    }
    int n_args = ir_init_n_args((IrInit)k);
    float args[4] = {0};
    for (int i = 0; i < 4; i++) {
        if ((i < n_args) != (av[2 + i] != NULL)) {
            diag_error(I->d, loc, "_bcl.set_init: init '%s' takes %d arguments", av[1]->str.s, n_args);
            return NULL;
        }
        double x;
        if (av[2 + i] && !as_float(I, av[2 + i], loc, "init argument", &x)) return NULL;
        if (av[2 + i]) args[i] = (float)x;
    }
    av[0]->param->init = (IrInit)k;
    memcpy(av[0]->param->init_args, args, sizeof args);
    return V_NONE_;
}

/* _bcl.hub_pretrained(fn, url): megengine.hub.pretrained's decorator; the URL stays
 * with the builder as metadata (bclc list -v), nothing is downloaded. */
static Value *b_hub_pretrained(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("fn", "url");
    BIND("hub.pretrained", 2);
    if (av[1]->kind != V_STR) {
        diag_error(I->d, loc, "hub.pretrained(url): the URL must be a string, not %s", v_type_name(av[1]));
        return NULL;
    }
    if (av[0]->kind != V_FUNC && av[0]->kind != V_CLASS) {
        diag_error(I->d, loc, "hub.pretrained(url) decorates a function or class, not %s", v_type_name(av[0]));
        return NULL;
    }
    HubMark *m = ARENA_NEW(I->a, HubMark);
    m->fn = av[0];
    m->url = av[1]->str.s;
    ptrvec_push(I->a, &I->hub_marks, m);
    if (av[0]->kind == V_FUNC) av[0]->fn->hub_url = m->url;
    return av[0];
}

/* _bcl.attrs(obj): a new dict of obj's attributes, in assignment order, each entry
 * keeping where it was set (basecore's ConfigDict keeps its keys as attributes). */
static Value *b_attrs(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("obj");
    BIND("_bcl.attrs", 1);
    if (av[0]->kind != V_OBJECT) {
        diag_error(I->d, loc, "_bcl.attrs: expected an object, got %s", v_type_name(av[0]));
        return NULL;
    }
    Value *d = v_dict(I);
    Dict *src = &av[0]->obj->attrs;
    for (int i = 0; i < src->n; i++) dict_set(I, d->dict, src->e[i].key, src->e[i].val, src->e[i].loc);
    return d;
}

static bool is_instance_of(Value *v, ClassObj *c)
{
    if (v->kind != V_OBJECT) return false;
    for (int i = 0; i < v->obj->cls->n_mro; i++)
        if (v->obj->cls->mro[i] == c) return true;
    return v->obj->cls == c;
}

/* basecore's ConfigDict.merge: the entries of src (a dict or a ConfigDict) are set on
 * target; a dict value merges into the ConfigDict already there (or a new one of class
 * cd), recursively. Entries keep the location where the config file wrote them. */
static bool cfg_merge(Elab *I, Value *target, Value *src, ClassObj *cd, SrcLoc loc, int depth)
{
    if (depth > 32) {
        diag_error(I->d, loc, "ConfigDict.merge: dicts nested too deeply (does a dict contain itself?)");
        return false;
    }
    Dict *sd = src->kind == V_DICT ? src->dict : &src->obj->attrs;
    for (int i = 0; i < sd->n; i++) {
        DictEntry *e = &sd->e[i];
        if (e->key->kind != V_STR) {
            diag_error(I->d, e->loc.src ? e->loc : loc, "ConfigDict keys must be strings, not %s", v_type_name(e->key));
            return false;
        }
        Value *v = e->val;
        if (v->kind == V_DICT || is_instance_of(v, cd)) {
            Value *cur = dict_get(&target->obj->attrs, e->key);
            if (!cur || !is_instance_of(cur, cd)) {
                cur = ARENA_NEW(I->a, Value);
                cur->kind = V_OBJECT;
                cur->obj = ARENA_NEW(I->a, ObjectObj);
                cur->obj->cls = cd;
                cur->obj->made_at = I->user_loc;
            }
            if (!cfg_merge(I, cur, v, cd, loc, depth + 1)) return false;
            v = cur;
        }
        dict_set(I, &target->obj->attrs, e->key, v, e->loc.src ? e->loc : loc);
    }
    return true;
}

static Value *b_cfg_merge(Elab *I, Value *s, CallArgs *a, SrcLoc loc)
{
    ARGS("target", "src", "cls");
    BIND("_bcl.cfg_merge", 3);
    if (av[2]->kind != V_CLASS || !is_instance_of(av[0], av[2]->cls)) {
        diag_error(I->d, loc, "_bcl.cfg_merge: the target must be an instance of the given class");
        return NULL;
    }
    if (av[1]->kind != V_DICT && !is_instance_of(av[1], av[2]->cls)) {
        diag_error(I->d, loc, "ConfigDict.merge: expected a dict or a ConfigDict, got %s", v_type_name(av[1]));
        return NULL;
    }
    return cfg_merge(I, av[0], av[1], av[2]->cls, loc, 0) ? V_NONE_ : NULL;
}

/* MegEngine's Module.__init__(self, name=None): the name is checked and not kept
 * (parameter names come from the attribute tree). Other arguments are errors, so that
 * a class without its own __init__ does not silently swallow them. */
static Value *module_init(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    ARGS("name");
    /* reached directly by MyMod(...) when the class has no __init__ of its own, else by super() */
    const char *fname = "Module.__init__";
    if (self && self->kind == V_OBJECT) {
        Value *own = class_lookup(self->obj->cls, "__init__");
        if (own && own->kind == V_BUILTIN) fname = self->obj->cls->name;
    }
    BIND(fname, 0);
    if (OPT(0) && av[0]->kind != V_STR) {
        diag_error(I->d, loc, "%s(): name must be a string or None, not %s", fname, v_type_name(av[0]));
        return NULL;
    }
    return V_NONE_;
}

static bool is_module_value(Value *v) { return v->kind == V_OBJECT && v->obj->cls->is_module; }

/* Children in attribute order, including modules inside list/tuple/dict attributes. */
static Value *module_named_children(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *l = v_list(I, 0);
    if (!self || self->kind != V_OBJECT) return l;
    Dict *d = &self->obj->attrs;
    for (int i = 0; i < d->n; i++) {
        Value *v = d->e[i].val;
        const char *k = d->e[i].key->str.s;
        Value *pairs[64];
        const char *keys[64];
        int np = 0;
        if (is_module_value(v)) { pairs[np] = v; keys[np++] = k; }
        else if (v->kind == V_LIST || v->kind == V_TUPLE) {
            for (int j = 0; j < v->seq->n && np < 64; j++)
                if (is_module_value(v->seq->v[j])) { pairs[np] = v->seq->v[j]; keys[np++] = arena_printf(I->a, "%s.%d", k, j); }
        } else if (v->kind == V_DICT) {
            for (int j = 0; j < v->dict->n && np < 64; j++)
                if (is_module_value(v->dict->e[j].val)) {
                    pairs[np] = v->dict->e[j].val;
                    keys[np++] = arena_printf(I->a, "%s.%s", k, v_to_str(I, v->dict->e[j].key));
                }
        }
        for (int j = 0; j < np; j++) {
            Value *t = v_tuple(I, 2);
            t->seq->v[0] = v_str(I, keys[j]);
            t->seq->v[1] = pairs[j];
            seq_push(I, l->seq, t);
        }
    }
    return l;
}

static Value *module_children(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *nc = module_named_children(I, self, a, loc);
    for (int i = 0; i < nc->seq->n; i++) nc->seq->v[i] = nc->seq->v[i]->seq->v[1];
    return nc;
}

/* modules(): self, then every descendant once, depth first, as MegEngine walks them */
static void collect_modules(Elab *I, Value *v, const char *prefix, Value *out, int depth, bool named)
{
    if (depth > 64) return;
    if (is_module_value(v)) {
        for (int i = 0; i < out->seq->n; i++) {
            Value *e = named ? out->seq->v[i]->seq->v[1] : out->seq->v[i];
            if (e->obj == v->obj) return;
        }
        if (named) {
            Value *t = v_tuple(I, 2);
            t->seq->v[0] = v_str(I, prefix);
            t->seq->v[1] = v;
            seq_push(I, out->seq, t);
        } else {
            seq_push(I, out->seq, v);
        }
        Dict *d = &v->obj->attrs;
        for (int i = 0; i < d->n; i++)
            collect_modules(I, d->e[i].val, *prefix ? arena_printf(I->a, "%s.%s", prefix, d->e[i].key->str.s) : d->e[i].key->str.s,
                            out, depth + 1, named);
    } else if (v->kind == V_LIST || v->kind == V_TUPLE) {
        for (int j = 0; j < v->seq->n; j++)
            collect_modules(I, v->seq->v[j], arena_printf(I->a, "%s.%d", prefix, j), out, depth + 1, named);
    } else if (v->kind == V_DICT) {
        for (int j = 0; j < v->dict->n; j++)
            collect_modules(I, v->dict->e[j].val, arena_printf(I->a, "%s.%s", prefix, v_to_str(I, v->dict->e[j].key)), out,
                            depth + 1, named);
    }
}

static Value *module_modules(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *l = v_list(I, 0);
    if (self) collect_modules(I, self, "", l, 0, false);
    return l;
}

static Value *module_named_modules(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    Value *l = v_list(I, 0);
    if (self) collect_modules(I, self, "", l, 0, true);
    return l;
}

/* parameters(): every parameter (not buffer) of the module and its descendants */
static Value *module_params(Elab *I, Value *self, CallArgs *a, SrcLoc loc, bool named)
{
    Value *mods = v_list(I, 0);
    Value *out = v_list(I, 0);
    if (!self) return out;
    collect_modules(I, self, "", mods, 0, true);
    for (int m = 0; m < mods->seq->n; m++) {
        const char *pfx = mods->seq->v[m]->seq->v[0]->str.s;
        Dict *d = &mods->seq->v[m]->seq->v[1]->obj->attrs;
        for (int i = 0; i < d->n; i++) {
            Value *v = d->e[i].val;
            if (v->kind != V_PARAM || v->param->buffer) continue;
            bool seen = false;
            for (int k = 0; k < out->seq->n && !seen; k++) {
                Value *o = named ? out->seq->v[k]->seq->v[1] : out->seq->v[k];
                seen = o->param == v->param;
            }
            if (seen) continue;
            if (named) {
                Value *t = v_tuple(I, 2);
                t->seq->v[0] = v_str(I, *pfx ? arena_printf(I->a, "%s.%s", pfx, d->e[i].key->str.s) : d->e[i].key->str.s);
                t->seq->v[1] = v;
                seq_push(I, out->seq, t);
            } else {
                seq_push(I, out->seq, v);
            }
        }
    }
    return out;
}
static Value *module_parameters(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return module_params(I, s, a, l, false); }
static Value *module_named_parameters(Elab *I, Value *s, CallArgs *a, SrcLoc l) { return module_params(I, s, a, l, true); }

/* Post-order (children before their parent), each module once: apply()'s order. */
static void post_order(Elab *I, Value *v, Value *out, int depth)
{
    if (depth > 64) return;
    if (is_module_value(v)) {
        for (int i = 0; i < out->seq->n; i++)
            if (out->seq->v[i]->obj == v->obj) return;
        Dict *d = &v->obj->attrs;
        for (int i = 0; i < d->n; i++) post_order(I, d->e[i].val, out, depth + 1);
        for (int i = 0; i < out->seq->n; i++)  /* a cycle through an attribute */
            if (out->seq->v[i]->obj == v->obj) return;
        seq_push(I, out->seq, v);
    } else if (v->kind == V_LIST || v->kind == V_TUPLE) {
        for (int j = 0; j < v->seq->n; j++) post_order(I, v->seq->v[j], out, depth + 1);
    } else if (v->kind == V_DICT) {
        for (int j = 0; j < v->dict->n; j++) post_order(I, v->dict->e[j].val, out, depth + 1);
    }
}

/* apply(fn): fn(m) for every module, children first, as MegEngine and PyTorch do; returns self */
static Value *module_apply(Elab *I, Value *self, CallArgs *a, SrcLoc loc)
{
    if (a->n_pos != 1 || a->n_kw) {
        diag_error(I->d, loc, "apply() takes one function");
        return NULL;
    }
    Value *mods = v_list(I, 0);
    if (self) post_order(I, self, mods, 0);
    for (int i = 0; i < mods->seq->n; i++)
        if (!call1(I, a->pos[0], mods->seq->v[i], loc)) return NULL;
    return self;
}

Value *native_bcl(Elab *I)
{
    Value *ns = new_namespace(I, "_bcl");
    Value *m = ARENA_NEW(I->a, Value);
    m->kind = V_CLASS;
    m->cls = native_class(I, "Module", TK_NONE, NULL);
    m->cls->is_module = true;
    dict_set_str(I, &m->cls->attrs, "__init__", v_builtin(I, "__init__", module_init, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "children", v_builtin(I, "children", module_children, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "named_children", v_builtin(I, "named_children", module_named_children, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "modules", v_builtin(I, "modules", module_modules, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "named_modules", v_builtin(I, "named_modules", module_named_modules, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "parameters", v_builtin(I, "parameters", module_parameters, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "named_parameters", v_builtin(I, "named_parameters", module_named_parameters, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "apply", v_builtin(I, "apply", module_apply, NULL), NO_LOC);
    dict_set_str(I, &m->cls->attrs, "training", v_bool(false), NO_LOC);  /* bclc compiles inference graphs */
    I->module_cls = m->cls;
    env_set(I, ns->ns->env, "Module", m);
    ns_add(I, ns, "param", b_param);
    ns_add(I, ns, "buffer", b_buffer);
    ns_add(I, ns, "accepts", b_accepts);
    ns_add(I, ns, "has_kwargs", b_has_kwargs);
    ns_add(I, ns, "set_init", b_set_init);
    ns_add(I, ns, "hub_pretrained", b_hub_pretrained);
    ns_add(I, ns, "attrs", b_attrs);
    ns_add(I, ns, "cfg_merge", b_cfg_merge);
    return ns;
}
