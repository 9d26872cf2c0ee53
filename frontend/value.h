/* Compile-time values of the elaborator: everything a .bcl program computes while
 * its constructors run and its forward is traced. All values live in the arena. */
#ifndef BCL_VALUE_H
#define BCL_VALUE_H
#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"
#include "frontend/ast.h"
#include "support/diag.h"

typedef struct Value Value;
typedef struct Elab Elab;
typedef struct Env Env;
typedef struct NdArray NdArray;   /* frontend/ndarray.h */

typedef enum {
    V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_LIST, V_TUPLE, V_DICT, V_RANGE,
    V_CLASS, V_FUNC, V_BUILTIN, V_BOUND, V_OBJECT, V_PARAM, V_TENSOR,
    V_NAMESPACE, V_SUPER, V_SLICE,
    V_SET, V_FROZENSET,   /* dict: the members are the keys (values None) */
    V_ITER,     /* a lazy iterator: generator expressions, map, filter (iter.c) */
    V_PROPERTY, /* @property: bound.fn the getter, bound.self the setter (or NULL) */
    V_PLACEHOLDER, /* an import of a module bclc does not provide: an error when used */
    V_CELLREF,  /* in a function's scope, `global x` / `nonlocal x`: x lives in cellref */
    V_NDARRAY,  /* a compile-time array (numpy, tensors made in __init__) */
    V_POISON,   /* the result of a top-level statement that failed: uses stay silent */
} ValueKind;

/* Insertion-ordered dict; each entry remembers where its value was written. */
typedef struct DictEntry { Value *key, *val; SrcLoc loc; } DictEntry;
/* index: an open-addressed hash table of entry positions + 1 (0 = empty), index_cap
 * slots (a power of two), built once a dict has a few entries, so that lookups stay
 * O(1) however large a dict or attribute table grows. */
typedef struct Dict { int n, cap; DictEntry *e; int *index, index_cap;
    Value *default_factory;     /* collections.defaultdict: called for a missing key (NULL: none) */
} Dict;

typedef struct Seq { int n, cap; Value **v; } Seq;

/* Arguments of one call, after spreading *xs and **d. kw_origin is the location of
 * the dict entry a keyword came from (src NULL when written at the call). */
typedef struct CallArgs {
    int n_pos;
    Value **pos;
    SrcLoc *pos_loc;
    int n_kw;
    const char **kw_names;
    Value **kw;
    SrcLoc *kw_loc, *kw_origin;
} CallArgs;

typedef Value *(*NativeFn)(Elab *I, Value *self, CallArgs *a, SrcLoc loc);

/* Builtin "type" classes that isinstance and calls understand. */
typedef enum {
    TK_NONE = 0, TK_INT, TK_FLOAT, TK_BOOL, TK_STR, TK_LIST, TK_TUPLE, TK_DICT,
    TK_TENSOR, TK_PARAM, TK_OBJECT, TK_EXCEPTION, TK_TYPING,
    TK_SET, TK_FROZENSET, TK_PARTIAL,
} TypeKind;

typedef struct ClassObj {
    const char *name;
    int n_bases;
    Value **bases;
    int n_mro;
    struct ClassObj **mro;      /* this class first */
    Dict attrs;                 /* class dict: methods and class attributes */
    SrcLoc loc;
    bool is_module;             /* derives from _bcl.Module */
    TypeKind tk;                /* builtin type classes (int, list, Exception, ...) */
    NativeFn construct;         /* native classes: called instead of __init__ */
} ClassObj;

typedef struct FuncObj {
    FuncDef *def;
    const char *qualname;       /* "ResBlock.__init__" */
    Value **defaults;           /* per parameter, evaluated at definition time (NULL = none) */
    Env *closure;               /* enclosing function scope (NULL at top level) */
    Env *globals;               /* the defining file's top level */
    ClassObj *owner;            /* class whose body defined it (for super()) */
    char method_kind;           /* 0, 's' staticmethod, 'c' classmethod */
    const char *hub_url;        /* @hub.pretrained(url): the builder also takes pretrained= */
} FuncObj;

typedef struct ObjectObj {
    ClassObj *cls;
    Dict attrs;                 /* in assignment order */
    int walk_mark;
    const char *message;        /* exception objects */
    SrcLoc made_at;             /* the user-file call that constructed it */
    const char *path;           /* modules: the state-dict prefix ("layer1.0"; "" the root), set by the parameter walk */
    bool born_in_forward;       /* created while tracing (e.g. a Sequential slice): still mutable */
    Value *dict_base;           /* an instance of a class deriving from dict: the dict it is (a V_DICT
                                   that dict's methods, d[k], len, in, iteration and repr fall back to) */
} ObjectObj;

typedef struct ParamObj {
    Shape shape;
    IrInit init;
    float init_args[4];         /* the initialiser's arguments (M.init.normal_(p, 0, 0.02)) */
    bool buffer;
    IrValue *ir;                /* created by the parameter walk */
    bool born_in_forward;
    SrcLoc loc;
    const float *data;          /* a buffer's values from mge.Tensor(list) in __init__ (else NULL):
                                   the default that weights may replace */
    uint8_t dtype;              /* IrDtype of a buffer made from an int or bool array (Swin's index) */
} ParamObj;

/* A lazy iterator: next() produces the next item, sets *done at the end, or
 * returns NULL after an error. */
typedef struct IterObj IterObj;
typedef Value *(*IterNextFn)(Elab *I, IterObj *it, SrcLoc loc, bool *done);
struct IterObj {
    IterNextFn next;
    void *state;
    bool exhausted;
    const char *name;   /* "generator", "map", "filter" */
};

typedef struct PlaceholderObj {
    const char *module;     /* "cv2", "loguru.logger" */
    SrcLoc import_loc;
} PlaceholderObj;

typedef struct NamespaceObj {
    const char *name;           /* "megengine.functional", "mylayers" */
    Env *env;
    bool is_stdlib;
} NamespaceObj;

struct Value {
    ValueKind kind;
    bool np_scalar;     /* an int or float taken out of a numpy array (a numpy scalar):
                         * it also has .item() and .tolist(), which give the plain number */
    union {
        bool b;
        int64_t i;
        double f;
        struct { const char *s; int64_t len; } str;
        Seq *seq;                                    /* list, tuple */
        Dict *dict;
        struct { int64_t start, stop, step; } range;
        ClassObj *cls;
        FuncObj *fn;
        struct { const char *name; NativeFn fn; Value *self; void *data; } builtin;
        struct { Value *fn, *self; } bound;
        ObjectObj *obj;
        ParamObj *param;
        IrValue *tensor;
        NdArray *nd;
        NamespaceObj *ns;
        struct { ClassObj *start; Value *self; } super;
        struct { Value *lo, *hi, *step; } slice;
        IterObj *iter;
        PlaceholderObj *placeholder;
        Env *cellref;
    };
};

/* Scopes: a function's locals, a class body, or a file's top level. */
typedef struct EnvVar { const char *name; Value *v; } EnvVar;
struct Env {
    int n, cap;
    EnvVar *vars;
    int *index, index_cap;      /* as Dict's */
    Env *parent;
    bool is_class;
};

/* ---- constructors (value.c) */
/* The singletons are const (read-only memory): a native that wrote into None or True
 * would change every None in the program. V_NONE_ and V_POISON_ cast for the many
 * Value* slots; nothing writes through them. */
extern const Value v_none_val, v_true_val, v_false_val, v_poison_val;
#define V_NONE_ ((Value *)&v_none_val)
#define V_POISON_ ((Value *)&v_poison_val)
Value *v_bool(bool b);
Value *v_int(Elab *I, int64_t i);
Value *v_float(Elab *I, double f);
/* an element taken out of a numpy array: an int or float with .item() */
Value *v_np_scalar(Elab *I, bool is_int, double x);
Value *v_str(Elab *I, const char *s);
Value *v_strn(Elab *I, const char *s, int64_t n);
Value *v_list(Elab *I, int n);       /* n items, all None */
Value *v_tuple(Elab *I, int n);
Value *v_dict(Elab *I);
Value *v_builtin(Elab *I, const char *name, NativeFn fn, Value *self);
Value *v_tensor(Elab *I, IrValue *t);

void seq_push(Elab *I, Seq *s, Value *v);
Value *dict_get(const Dict *d, const Value *key);
DictEntry *dict_find(const Dict *d, const Value *key);
Value *dict_get_str(const Dict *d, const char *key);
DictEntry *dict_find_str(const Dict *d, const char *key);
void dict_set(Elab *I, Dict *d, Value *key, Value *val, SrcLoc loc);
void dict_set_str(Elab *I, Dict *d, const char *key, Value *val, SrcLoc loc);
bool dict_del(Dict *d, const Value *key);

Env *env_new(Elab *I, Env *parent);
Value *env_get_local(const Env *e, const char *name);
void env_set(Elab *I, Env *e, const char *name, Value *v);

/* ---- queries */
const char *v_type_name(const Value *v);
bool v_equal(const Value *a, const Value *b);
bool v_is_str(const Value *v, const char *s);
/* Python str() and repr() (arena strings). */
const char *v_to_str(Elab *I, const Value *v);
const char *v_repr(Elab *I, const Value *v);
bool class_is_sub(const ClassObj *c, const ClassObj *base);

#endif
