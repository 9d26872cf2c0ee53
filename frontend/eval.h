/* The elaborator's state (Elab: the compile-time evaluator that runs constructors and
 * traces forward) and the functions its files share. */
#ifndef BCL_EVAL_H
#define BCL_EVAL_H
#include "frontend/build.h"
#include "frontend/value.h"

#include "support/limits.h"

/* One registry (registers.models / registers.heads). */
typedef struct RegEntry {
    const char *name;
    Value *v;
    SrcLoc loc;
    bool from_stdlib;           /* the built-in zoo's: a user file's registration of the name wins */
    const char *url;            /* @hub.pretrained(url) of the builder, or NULL */
} RegEntry;

/* A builder decorated with @hub.pretrained(url). */
typedef struct HubMark { Value *fn; const char *url; } HubMark;
typedef struct Registry { const char *kind; int n, cap; RegEntry *e; } Registry;

/* A loaded (or loading) file or native module. */
typedef struct LoadedModule {
    const char *key;            /* "megengine.functional", or the file path */
    Value *ns;
    bool loading;               /* for cycle detection */
} LoadedModule;

typedef struct Frame {
    struct Frame *up;
    FuncObj *fn;
    Value *self;                /* first argument, for super() */
} Frame;

struct Elab {
    Arena *a;
    Diag *d;
    const BclBuildOptions *opt;
    Env *builtins;
    PtrVec modules;             /* LoadedModule* */
    Registry models, heads;
    PtrVec hub_marks;           /* HubMark*: URLs of @hub.pretrained builders */
    Value *registers;           /* the basecls.utils `registers` object */
    ClassObj *module_cls;       /* _bcl.Module */
    ClassObj *tensor_cls, *exception_cls;
    ClassObj *iter_cls;         /* what iter() returns */
    IrGraph *g;                 /* while tracing */
    bool tracing;
    int depth, expr_depth;
    long steps;                 /* statements executed, against max_steps */
    long max_steps;             /* --max-steps, else BCL_MAX_STEPS */
    Frame *frame;
    int walk_gen;
    const char *loading_from;   /* directory of the file being loaded, for imports */
    bool loading_stdlib;        /* the file being loaded is part of the standard library */
    Value *bcl_ns;              /* the _bcl namespace */
    Value *ellipsis;            /* the `...` object (tensor indexing) */
    Value *small_ints;          /* shared ints -16..1023 (per build: no global state) */
    const void *repr_stack[64]; /* containers being printed (a list holding itself prints [...]) */
    int repr_depth;
    bool bind_failed;
    bool top_call;              /* build_model's own call: its site is reported by the caller */
    SrcLoc last_note;           /* to fold the notes of deep recursion */
    int note_repeat;
    PtrVec reported;            /* SrcLoc* of name errors already reported (no duplicates) */
    /* compile-time exceptions (exceptions.c): the value of the last `raise`, and where
     * its error sits (record index in that capture; -1: printed, not held) */
    Value *raised;
    DiagCapture *raised_capture;
    int raised_index;
    Value *handling;            /* the exception an `except` block is handling (bare raise) */
    ClassObj *partial_cls;      /* functools.partial */
    Seq *yields;                /* the running generator function's yielded values (NULL: none runs) */
    SrcLoc user_loc;            /* the innermost call made from a user file (not the stdlib) */
    SrcLoc attr_loc;            /* the attribute read running (get_attr): where __getattr__ is called from */           /* the last call failed while binding its arguments */
};

typedef enum { EX_NORMAL, EX_RETURN, EX_BREAK, EX_CONTINUE, EX_ERROR } ExecStatus;

/* ---- eval.c */
bool loc_in_stdlib(SrcLoc loc);
/* Name errors: remembered so the static check does not repeat them. */
void mark_reported(Elab *I, SrcLoc loc);
bool reported_at(Elab *I, SrcLoc loc);
const char *suggest_name(Elab *I, Env *env, const char *name);
/* Suggestion for a missing module attribute: from that module's own names only. */
const char *suggest_attr(Elab *I, Env *env, const char *name);

/* ---- check.c */
/* Reports undefined names (and missing attributes of native modules) in a file's functions. */
int check_file_names(Elab *I, AstModule *m, Env *globals);
void elab_init(Elab *I, Arena *a, Diag *d, const BclBuildOptions *opt);
Value *eval_expr(Elab *I, Env *env, Expr *e);
ExecStatus exec_block(Elab *I, Env *env, StmtList *b, Value **ret);
/* Runs a file's statements; continues after a failing top-level statement. Returns false on any error. */
bool exec_toplevel(Elab *I, Env *env, AstModule *m);
Value *call_value(Elab *I, Value *f, CallArgs *a, SrcLoc loc);
Value *call0(Elab *I, Value *f, SrcLoc loc);
Value *call1(Elab *I, Value *f, Value *x, SrcLoc loc);
/* Attribute lookup: get_attr reports a missing attribute; try_attr returns NULL silently. */
Value *get_attr(Elab *I, Value *obj, const char *name, SrcLoc loc);
Value *try_attr(Elab *I, Value *obj, const char *name);
bool set_attr(Elab *I, Value *obj, const char *name, Value *v, SrcLoc loc);
/* Truthiness: -1 on error (a tensor condition). */
int truthy(Elab *I, Value *v, SrcLoc loc);
Value *binop(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc);
/* Iterates any iterable into a fresh Seq; NULL (and an error) if not iterable. */
Seq *iterate(Elab *I, Value *v, SrcLoc loc);
Value *subscript(Elab *I, Value *obj, Value *idx, SrcLoc loc);
/* A dict of a mapping (Python's protocol: an object with keys() and __getitem__, e.g.
 * a ConfigDict): v itself if a dict, NULL if not a mapping, V_POISON_ after an error. */
Value *mapping_as_dict(Elab *I, Value *v, SrcLoc loc);
Value *class_lookup(ClassObj *c, const char *name);
/* Python's slice.indices for a V_SLICE over n items. */
bool slice_indices(Elab *I, Value *sl, int64_t n, SrcLoc loc, int64_t *start, int64_t *step, int64_t *count);
/* Binding helpers for natives: fills out[i] for names[i] (NULL if not given). */
bool bind_native(Elab *I, const char *fname, CallArgs *a, SrcLoc loc,
                 const char *const *names, int n_names, int n_required, Value **out);
void callargs_init(CallArgs *a);
void callargs_pos(Elab *I, CallArgs *a, Value *v, SrcLoc loc);
void callargs_kw(Elab *I, CallArgs *a, const char *name, Value *v, SrcLoc loc, SrcLoc origin);
/* Whether f (a function, or a class through its __init__) takes keyword argname: a
 * declared parameter, or (via_kwargs) its **kwargs. */
bool func_accepts(Value *f, const char *argname, bool via_kwargs);
/* Whether f (or a class's __init__) has a **kwargs parameter. */
bool func_has_kwargs(Value *f);
/* "in call to X" name of a callable, or NULL. */
const char *callable_name(Elab *I, Value *f);
ClassObj *native_class(Elab *I, const char *name, TypeKind tk, NativeFn construct);
void ns_add(Elab *I, Value *ns, const char *name, NativeFn fn);
Value *new_namespace(Elab *I, const char *name);

/* Assigns v to an assignment target (name, attribute, subscript, tuple unpacking). */
bool assign_to(Elab *I, Env *env, Expr *target, Value *v, SrcLoc vloc);
/* A function value for a def (or lambda) evaluated in env. */
Value *make_function_value(Elab *I, Env *env, FuncDef *d);
/* The scope where `global`/`nonlocal` names of env live, following V_CELLREF bindings. */
Value *lookup_name_in(Elab *I, Env *env, const char *name);
/* Binds name in env, or where a `global`/`nonlocal` declaration sends it. */
void bind_name(Elab *I, Env *env, const char *name, Value *v);

/* ---- exceptions.c: try/except/finally, raise, with, the exception classes */
void exceptions_init(Elab *I);
ExecStatus exec_try(Elab *I, Env *env, Stmt *s, Value **ret);
ExecStatus exec_raise(Elab *I, Env *env, Stmt *s);
ExecStatus exec_with(Elab *I, Env *env, Stmt *s, Value **ret);
/* The exception class named `name` (a builtin), for natives that raise. */
ClassObj *exception_class(Elab *I, const char *name);

/* ---- iter.c: lazy iterators (generator expressions, map, filter) */
/* A generator function's iterator: the body runs (collecting what it yields) at the
 * first next(). */
Value *genfunc_new(Elab *I, FuncObj *fn, Env *env, Value *self, SrcLoc loc);
/* Whether a function's body yields (S_EXPR/assignments at any block depth). */
bool func_is_generator(FuncDef *d);
/* eval.c: runs a generator function's body, collecting what it yields; NULL after an error. */
Seq *run_generator_body(Elab *I, FuncObj *fn, Env *env, Value *self, SrcLoc loc);
void iter_builtins_init(Elab *I);
Value *genexp_new(Elab *I, Env *env, Expr *e);
/* The next item of a V_ITER; *done at the end; NULL after an error. */
Value *iter_next(Elab *I, Value *it, SrcLoc loc, bool *done);

/* ---- sets.c */
void sets_init(Elab *I);
Value *v_set(Elab *I, bool frozen);
/* Adds x to a set (an error for an unhashable x). */
bool set_add(Elab *I, Value *set, Value *x, SrcLoc loc);
/* set | & - ^ and the subset comparisons; NULL after an error. */
Value *set_binop(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc);
Value *set_method(Elab *I, Value *obj, const char *name);

/* ---- py_modules.c: math, numbers, functools, typing, collections, copy */
Value *native_py_module(Elab *I, const char *dotted);
/* isinstance against a typing / numbers name (Any, Callable, Sequence, Real, ...). */
bool typing_instance(Elab *I, Value *v, ClassObj *c);
/* A namedtuple class (its __bcl_tuple__ attribute) and its objects: instances of tuple. */
bool class_is_tuple_like(ClassObj *c);
bool tuple_like(const Value *v);
/* The function a functools.partial object wraps (NULL if v is not one). */
Value *partial_func(Elab *I, Value *v);

/* ---- builtins_py.c */
void builtins_py_init(Elab *I);
/* Methods of builtin values (list.append, dict.get, str.join, ...): NULL if none. */
Value *builtin_method(Elab *I, Value *obj, const char *name);
/* Whether dict has a method NAME; dict_unbound_call runs dict.NAME(d, ...) (its self:
 * NAME as a str), d a dict or an instance of a dict subclass. */
bool dict_method_exists(Elab *I, const char *name);
/* getattr(o, name, default) / hasattr: try_attr, an AttributeError raised during the
 * lookup (a property, __getattr__) caught as Python does (*out NULL); false after any
 * other error (reported). */
bool try_attr_catching(Elab *I, Value *obj, const char *name, Value **out);
Value *dict_unbound_call(Elab *I, Value *self, CallArgs *a, SrcLoc loc);
bool is_iterator(Elab *I, Value *v);
/* Python int(), float() conversions used by natives; false and an error if not a number. */
bool as_int(Elab *I, Value *v, SrcLoc loc, const char *what, int64_t *out);
bool as_float(Elab *I, Value *v, SrcLoc loc, const char *what, double *out);
/* format(v, spec) as in f-strings and str.format; NULL after an error. */
const char *format_spec(Elab *I, Value *v, const char *spec, SrcLoc loc);

/* ---- mge_intrinsics.c, mge_functional.c, tensor_value.c */
Value *native_megengine(Elab *I);
Value *native_functional(Elab *I);
Value *native_bcl(Elab *I);
Value *tensor_attr(Elab *I, Value *t, const char *name, SrcLoc loc);
Value *tensor_binop(Elab *I, OpKind op, Value *l, Value *r, SrcLoc loc);
/* The error for computing with a parameter (or buffer) v outside forward. */
void param_at_compile_time(Elab *I, Value *v, SrcLoc loc, const char *what);
Value *tensor_neg(Elab *I, Value *t, SrcLoc loc);
Value *tensor_invert(Elab *I, Value *t, SrcLoc loc);
/* x[mask] = v while tracing: x's value becomes F.where(mask, v, x); false after an error. */
bool tensor_setitem(Elab *I, Value *t, Value *idx, Value *v, SrcLoc loc);
Value *tensor_index(Elab *I, Value *t, Value *idx, SrcLoc loc);

/* ---- registry.c */
Value *native_basecls_utils(Elab *I);
void registry_init(Elab *I);
/* Looks name up; reports an unknown name with the closest registered names. */
Value *registry_get(Elab *I, Registry *r, const char *name, SrcLoc loc);
int edit_distance(const char *a, const char *b);
/* The registry a value stands for (registers.models / registers.heads), or NULL. */
Registry *registry_of(Elab *I, const Value *v);
/* `name in registers.models`: membership by registered name, as BaseCls's Registry. */
bool registry_has(const Registry *r, const Value *name);

/* ---- build.c */
/* Imports module `dotted` (from a file in `from_dir`); NULL after an error. */
Value *import_module(Elab *I, const char *dotted, SrcLoc loc, bool from_stdlib);
/* `from .mod import x` (level dots, module "" for `from . import x`) in the file of loc. */
Value *import_relative(Elab *I, const char *module, int level, SrcLoc loc);
/* True if `dotted` names a native module or a standard-library file (not user files). */
bool module_exists(Elab *I, const char *dotted);

#endif
