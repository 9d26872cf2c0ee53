/* The AST of a .bcl file (a static subset of Python 3). Built by the parser in an
 * arena; read by the elaborator. Every node carries the SrcLoc of its span. */
#ifndef BCL_AST_H
#define BCL_AST_H
#include <stdbool.h>
#include <stdint.h>

#include "support/arena.h"
#include "support/diag.h"
#include "support/source.h"

typedef struct Expr Expr;
typedef struct Stmt Stmt;
typedef struct FuncDef FuncDef;

typedef struct ExprList { int n; Expr **v; } ExprList;
typedef struct StmtList { int n; Stmt **v; } StmtList;

typedef enum {
    E_NAME,      /* name */
    E_INT,       /* ival */
    E_FLOAT,     /* fval */
    E_STR,       /* str, str_len (escapes decoded; adjacent literals concatenated) */
    E_FSTRING,   /* fstr: literal pieces (E_STR) and fields (E_FIELD), in order */
    E_FIELD,     /* an f-string field: field.value, field.conv ('r','s' or 0), field.spec (NULL if none) */
    E_BOOL,      /* bval */
    E_NONE,
    E_ATTR,      /* attr.obj . attr.name */
    E_SUBSCRIPT, /* sub.obj [ sub.index ]; a tuple index `x[a, b]` is an E_TUPLE */
    E_SLICE,     /* slice.lo : slice.hi : slice.step, any may be NULL; only inside subscripts */
    E_CALL,      /* call.func ( call.args ) */
    E_BINOP,     /* bin.op, bin.l, bin.r */
    E_UNARY,     /* un.op, un.x */
    E_BOOLOP,    /* bin.op (OP_AND/OP_OR), bin.l, bin.r */
    E_COMPARE,   /* cmp.first, then cmp.n pairs (cmp.ops[i], cmp.rest[i]): chained */
    E_IFEXP,     /* ifexp.body if ifexp.cond else ifexp.orelse */
    E_LIST,      /* elts */
    E_TUPLE,     /* elts (also the parenthesis-less tuples of `a, b = ...` and `return a, b`) */
    E_DICT,      /* dict.keys[i]: dict.values[i]; a key of NULL means `**value` */
    E_LISTCOMP,  /* [comp.elt for comp.gens...] */
    E_GENEXP,    /* (comp.elt for comp.gens...): a lazy iterator */
    E_SETCOMP,   /* {comp.elt for comp.gens...} */
    E_DICTCOMP,  /* {comp.elt: comp.value for comp.gens...} */
    E_SET,       /* {elts} */
    E_LAMBDA,    /* lambda: a FuncDef whose body is `return <expr>` */
    E_STARRED,   /* starred.value: `*x` in calls, displays and assignment targets */
    E_YIELD,     /* yield_.value (NULL: bare yield); yield_.from: `yield from value` */
} ExprKind;

typedef enum {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_FLOORDIV, OP_MOD, OP_POW, OP_MATMUL,
    OP_AND, OP_OR,                       /* boolean */
    OP_BITAND, OP_BITOR, OP_BITXOR, OP_LSHIFT, OP_RSHIFT,
    OP_NEG, OP_POS, OP_NOT, OP_INVERT,   /* unary */
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IS, OP_ISNOT, OP_IN, OP_NOTIN,
} OpKind;

typedef enum { ARG_POS, ARG_KW, ARG_STAR, ARG_DSTAR } ArgKind;
typedef struct Arg {
    ArgKind kind;
    const char *name;    /* ARG_KW only */
    Expr *value;
    SrcLoc loc;
} Arg;

typedef struct Comprehension {  /* for target in iter if ifs[0] if ifs[1] ... */
    Expr *target, *iter;
    ExprList ifs;
} Comprehension;

struct Expr {
    ExprKind kind;
    SrcLoc loc;
    union {
        const char *name;
        int64_t ival;
        double fval;
        bool bval;
        struct { const char *str; int64_t str_len; };
        ExprList fstr;
        struct { Expr *value; char conv; const char *spec; } field;
        struct { Expr *obj; const char *name; SrcLoc name_loc; } attr;
        struct { Expr *obj, *index; } sub;
        struct { Expr *lo, *hi, *step; } slice;
        struct { Expr *func; int n_args; Arg *args; } call;
        struct { OpKind op; Expr *l, *r; } bin;
        struct { OpKind op; Expr *x; } un;
        struct { Expr *first; int n; OpKind *ops; Expr **rest; } cmp;
        struct { Expr *cond, *body, *orelse; } ifexp;
        ExprList elts;
        struct { int n; Expr **keys, **values; } dict;
        struct { Expr *elt; int n_gens; Comprehension *gens; Expr *value; } comp;
        struct FuncDef *lambda;
        struct { Expr *value; } starred;
        struct { Expr *value; bool from; } yield_;
    };
};

typedef enum { PARAM_NORMAL, PARAM_STAR, PARAM_DSTAR, PARAM_KWONLY } ParamKind;
typedef struct Param {
    ParamKind kind;      /* PARAM_STAR = *args, PARAM_DSTAR = **kwargs, PARAM_KWONLY after * or *args */
    const char *name;
    Expr *annotation;    /* parsed, ignored; may be NULL */
    Expr *def;           /* default value or NULL */
    SrcLoc loc;
} Param;

struct FuncDef {
    const char *name;
    int n_params;
    Param *params;
    Expr *returns;       /* annotation, ignored; may be NULL */
    StmtList body;
    ExprList decorators; /* the expressions after '@', outermost first */
    SrcLoc loc;          /* the whole `def` line */
    SrcLoc name_loc;
    signed char is_generator; /* its body yields (nested defs aside): 1 yes, 2 no, 0 not yet looked at */
};

typedef struct ClassDef {
    const char *name;
    int n_bases;
    Arg *bases;          /* positional bases; keywords (metaclass=) are rejected by the parser */
    StmtList body;
    ExprList decorators;
    SrcLoc loc;
    SrcLoc name_loc;
} ClassDef;

typedef struct ImportName {      /* `a.b.c as d` or, in from-imports, `name as d` */
    const char *name;            /* dotted name */
    const char *asname;          /* NULL if none */
    SrcLoc loc;
} ImportName;

/* One `except [type [as name]]:` clause; type NULL for a bare `except:`. */
typedef struct ExceptHandler {
    Expr *type;
    const char *name;
    StmtList body;
    SrcLoc loc;
} ExceptHandler;

typedef struct WithItem { Expr *ctx, *target; } WithItem;

typedef enum {
    S_EXPR,      /* expr */
    S_ASSIGN,    /* assign.targets[0] = assign.targets[1] = ... = assign.value */
    S_AUGASSIGN, /* aug.target aug.op= aug.value */
    S_ANNASSIGN, /* ann.target : ann.annotation [= ann.value] */
    S_IF,        /* if_.cond, if_.body, if_.orelse (elif is a nested S_IF in orelse) */
    S_FOR,       /* for_.target in for_.iter: for_.body (for_.orelse: `else:` block) */
    S_RETURN,    /* expr, may be NULL */
    S_ASSERT,    /* assert_.cond, assert_.msg (may be NULL) */
    S_RAISE,     /* expr (may be NULL: re-raise), raise_.cause ignored */
    S_WHILE,     /* while_.cond: while_.body (while_.orelse: `else:` block) */
    S_TRY,       /* try_.body, try_.handlers, try_.orelse, try_.finalbody */
    S_WITH,      /* with_.items (context expressions, optional targets), with_.body */
    S_DEL,       /* del_.targets */
    S_GLOBAL,    /* names.n names.v: `global a, b` */
    S_NONLOCAL,  /* names: `nonlocal a, b` */
    S_PASS, S_BREAK, S_CONTINUE,
    S_DEF,       /* def */
    S_CLASS,     /* cls */
    S_IMPORT,    /* import_.names */
    S_FROM,      /* from.module (dotted, level leading dots), from.names; from.star for `import *` */
} StmtKind;

struct Stmt {
    StmtKind kind;
    SrcLoc loc;
    union {
        Expr *expr;
        struct { int n_targets; Expr **targets; Expr *value; } assign;
        struct { Expr *target; OpKind op; Expr *value; } aug;
        struct { Expr *target, *annotation, *value; } ann;
        struct { Expr *cond; StmtList body, orelse; } if_;
        struct { Expr *target, *iter; StmtList body, orelse; } for_;
        struct { Expr *cond, *msg; } assert_;
        struct { Expr *cond; StmtList body, orelse; } while_;
        struct { StmtList body; int n_handlers; ExceptHandler *handlers; StmtList orelse, finalbody; } try_;
        struct { int n; WithItem *items; StmtList body; } with_;
        ExprList del_;
        struct { int n; const char **v; } names;
        FuncDef *def;
        ClassDef *cls;
        struct { int n; ImportName *names; } import_;
        struct { const char *module; int level; bool star; int n; ImportName *names; } from;
    };
};

typedef struct AstModule {
    const Source *src;
    StmtList body;
} AstModule;

/* Parses one source text. Errors (syntax, unsupported constructs) go to d; the parser
 * reports every unsupported construct it can find, not only the first. Returns NULL
 * if any error was reported. Everything is allocated in a. */
AstModule *bcl_parse(Arena *a, Diag *d, const Source *src);


/* Debug printer: one node a line, indented; used by parser tests. */
void ast_dump(FILE *out, const AstModule *m);
const char *op_text(OpKind op);   /* "+", "//", "not in", ... */
/* ast_dump, with " @line:col+len" after each node when with_locs (location tests). */
void ast_dump_ex(FILE *out, const AstModule *m, bool with_locs);

/* Zeroed nodes of the given kind, in a. */
Expr *ast_new_expr(Arena *a, ExprKind kind, SrcLoc loc);
Stmt *ast_new_stmt(Arena *a, StmtKind kind, SrcLoc loc);

#endif
