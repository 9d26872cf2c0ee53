/* The .bcl grammar: Python 3's, built into the AST of ast.h.
 *
 * Constructs outside the .bcl subset (while, try, with, lambda, yield, ...) are
 * parsed in full and reported at their keyword, so one run reports all of them;
 * a real syntax error skips to the end of the statement and parsing goes on. */
%define api.pure full
%define api.prefix {bcl_yy}
%define api.token.prefix {TK_}
%define api.location.type {BclLoc}
%define parse.error custom
%define parse.lac full
%locations
%param {ParseState *ps}
%expect 0

%code requires {
#include <stdbool.h>
#include <stdint.h>
#include "frontend/ast.h"

/* A token's or a rule's span: 1-based line/column of both ends, and byte
 * offsets into the source text (used to measure a span's length). */
typedef struct BclLoc {
    int first_line, first_column, last_line, last_column;
    int start, end;
} BclLoc;

/* A string literal token: decoded text (not for f-strings) and where its body
 * (the text between the quotes) sits in the source. */
typedef struct StrTok {
    char *s;
    int64_t len;
    bool is_raw, is_bytes, is_f;
    int body_off, body_len, body_line, body_col;
} StrTok;

typedef struct Lexer Lexer;

typedef struct ParseState {
    Arena *a;
    Diag *d;
    const Source *src;
    Lexer *lx;
    AstModule *module;      /* result of a module parse */
    Expr *field;            /* result of an f-string field parse */
    bool after_error;       /* the last statement was skipped by error recovery */
} ParseState;

/* A comma-separated list: its items, whether it ended in a comma, and the
 * for/if clauses when it was a comprehension. */
typedef struct Seq {
    PtrVec v;
    bool comma;
    PtrVec *gens;
} Seq;

#define YYLLOC_DEFAULT(Cur, Rhs, N)                                         \
    do {                                                                    \
        if (N) {                                                            \
            (Cur).first_line = YYRHSLOC(Rhs, 1).first_line;                 \
            (Cur).first_column = YYRHSLOC(Rhs, 1).first_column;             \
            (Cur).start = YYRHSLOC(Rhs, 1).start;                           \
            (Cur).last_line = YYRHSLOC(Rhs, N).last_line;                   \
            (Cur).last_column = YYRHSLOC(Rhs, N).last_column;               \
            (Cur).end = YYRHSLOC(Rhs, N).end;                               \
        } else {                                                            \
            (Cur).first_line = (Cur).last_line = YYRHSLOC(Rhs, 0).last_line; \
            (Cur).first_column = (Cur).last_column = YYRHSLOC(Rhs, 0).last_column; \
            (Cur).start = (Cur).end = YYRHSLOC(Rhs, 0).end;                 \
        }                                                                   \
    } while (0)
}

%code provides {
/* The token stream (lexer.l). field: lex an f-string field, text at src->text + off. */
Lexer *bcl_lexer_new(Arena *a, Diag *d, const Source *src, bool field, int off, int len,
                     int line, int col);
int bcl_lexer_next(Lexer *lx, BCL_YYSTYPE *v, BclLoc *l);
void bcl_lexer_free(Lexer *lx);
bool bcl_lexer_quiet_eof(const Lexer *lx);
/* The last line on which the lexer reported an error (0: none): the parser stays quiet there. */
int bcl_lexer_error_line(const Lexer *lx);
/* The innermost open bracket, if any. */
bool bcl_lexer_open_bracket(const Lexer *lx, BclLoc *loc, char *c);
/* Error recovery after a syntax error inside brackets (on): the brackets are
 * forgotten, and closing ones without a match dropped quietly until a statement
 * parses again (off). */
void bcl_lexer_recover(Lexer *lx, bool on);
/* Decodes a string body's escapes into *out (arena); errors point into the source. */
bool bcl_decode_escapes(Arena *a, Diag *d, const Source *src, const char *raw, int n,
                        int line, int col, int off, bool is_raw, char **out, int64_t *out_len);
SrcLoc bcl_loc_to_src(const Source *src, BclLoc l);
/* The location of raw[i] (len bytes), raw starting at (line, col, byte offset off). */
BclLoc bcl_loc_in(const char *raw, int i, int len, int line, int col, int off);
/* Adjacent string literals (StrTok*): one E_STR, or an E_FSTRING if any is an f-string
 * (string_literals.c). */
Expr *bcl_make_strings(ParseState *ps, PtrVec *toks, BclLoc l);
/* A token kind's name: "(", "name", "indent", "end of line". */
const char *bcl_token_name(int tok);
int bcl_yyparse(ParseState *ps);
}

%code {
#include <stdlib.h>
#include <string.h>

static int bcl_yylex(BCL_YYSTYPE *v, BclLoc *l, ParseState *ps) { return bcl_lexer_next(ps->lx, v, l); }
static void bcl_yyerror(BclLoc *l, ParseState *ps, const char *msg);

static SrcLoc L(ParseState *ps, BclLoc l) { return bcl_loc_to_src(ps->src, l); }
static Expr *mkexpr(ParseState *ps, ExprKind k, BclLoc l) { return ast_new_expr(ps->a, k, L(ps, l)); }
static Stmt *mkstmt(ParseState *ps, StmtKind k, BclLoc l) { return ast_new_stmt(ps->a, k, L(ps, l)); }
static PtrVec *newvec(ParseState *ps) { return ARENA_NEW(ps->a, PtrVec); }
static PtrVec *vec1(ParseState *ps, void *p);
static void push(ParseState *ps, PtrVec *v, void *p) { if (p) ptrvec_push(ps->a, v, p); }
static Seq seq1(ParseState *ps, void *p);
static ExprList exprlist(ParseState *ps, const PtrVec *v);
static StmtList stmtlist(ParseState *ps, const PtrVec *v);
static void unsupported(ParseState *ps, BclLoc l, const char *what);
static Expr *seq_expr(ParseState *ps, Seq s, BclLoc l, ExprKind k);
static Expr *no_star(ParseState *ps, Expr *e);
static void check_target(ParseState *ps, Expr *e);
static Expr *binop(ParseState *ps, ExprKind k, OpKind op, Expr *l, Expr *r, BclLoc loc);
static Expr *unary(ParseState *ps, OpKind op, Expr *x, BclLoc loc);
static Expr *compare_add(ParseState *ps, Expr *c, OpKind op, Expr *r);
static Expr *make_call(ParseState *ps, Expr *func, PtrVec *args, BclLoc l);
static Arg *make_arg(ParseState *ps, ArgKind k, const char *name, Expr *v, BclLoc l);
static Expr *make_comp(ParseState *ps, Expr *elt, PtrVec *gens, BclLoc l);
static Comprehension *make_gen(ParseState *ps, Expr *target, Expr *iter);
static Param *make_param(ParseState *ps, int kind, const char *name, Expr *ann, Expr *def, BclLoc l);
static Stmt *make_def(ParseState *ps, const char *name, BclLoc name_l, PtrVec *params, Expr *ret,
                      BclLoc l);
static Stmt *make_class(ParseState *ps, const char *name, BclLoc name_l, PtrVec *args, BclLoc l);
static ImportName *make_import_name(ParseState *ps, const char *name, const char *as, BclLoc l);
static void set_import_names(ParseState *ps, Stmt *s, PtrVec *names);
static Stmt *decorate(ParseState *ps, Stmt *s, PtrVec *decorators);
static void set_names(ParseState *ps, Stmt *s, PtrVec *names);
static ExceptHandler *make_handler(ParseState *ps, Expr *type, const char *name, PtrVec *body, BclLoc l);
static Expr *make_lambda(ParseState *ps, PtrVec *params, Expr *body, BclLoc l);

/* Param kinds that exist only while parsing a parameter list. */
enum { PK_BARE_STAR = 100, PK_SLASH };
}

%union {
    int64_t ival;
    double fval;
    const char *name;
    StrTok *str;
    OpKind op;
    int num;
    Expr *expr;
    Stmt *stmt;
    PtrVec *vec;
    Seq seq;
    Arg *arg;
    Param *param;
    ImportName *imp;
    Comprehension *gen;
    ExceptHandler *handler;
    WithItem *withitem;
}

%token EOF 0 "end of file"
%token START_MODULE "start of module" START_FIELD "start of field"
%token NEWLINE "end of line" INDENT "indent" DEDENT "dedent"
%token <name> NAME "name"
%token <ival> INT "integer literal"
%token <fval> FLOAT "float literal"
%token <str> STRING "string literal"
%token <op> AUGASSIGN "augmented assignment"
%token FALSE "False" NONE "None" TRUE "True" AND "and" AS "as" ASSERT "assert"
%token ASYNC "async" AWAIT "await" BREAK "break" CLASS "class" CONTINUE "continue"
%token DEF "def" DEL "del" ELIF "elif" ELSE "else" EXCEPT "except" FINALLY "finally"
%token FOR "for" FROM "from" GLOBAL "global" IF "if" IMPORT "import" IN "in" IS "is"
%token LAMBDA "lambda" NONLOCAL "nonlocal" NOT "not" OR "or" PASS "pass" RAISE "raise"
%token RETURN "return" TRY "try" WHILE "while" WITH "with" YIELD "yield"
%token LPAR "(" RPAR ")" LSQB "[" RSQB "]" LBRACE "{" RBRACE "}"
%token COMMA "," COLON ":" SEMI ";" DOT "." ELLIPSIS "..." ARROW "->" WALRUS ":="
%token EQUAL "=" PLUS "+" MINUS "-" STAR "*" SLASH "/" DSLASH "//" PERCENT "%"
%token POW "**" AT "@" AMPER "&" VBAR "|" CIRCUMFLEX "^" TILDE "~" LSHIFT "<<"
%token RSHIFT ">>" EQEQ "==" NOTEQ "!=" LT "<" GT ">" LE "<=" GE ">="

%type <vec> stmts stmt simple_stmt small_stmts suite elif_part else_part decorators
%type <vec> dotted_as_names import_as_names comp arglist arglist_opt params params_opt
%type <vec> strings dict_items
%type <stmt> small_stmt expr_stmt import_stmt from_module compound_stmt if_stmt for_stmt
%type <stmt> funcdef classdef decorated async_stmt while_stmt try_stmt with_stmt
%type <expr> namedexpr test test_nocond or_test and_test not_test comparison expr xor_expr
%type <expr> and_expr shift_expr arith term factor power atom_expr atom_trailers atom
%type <expr> star_expr test_or_star tc_elem el_elem subscript opt_test yield_expr rhs
%type <expr> lambdef decorator tsl exprlist subscripts comp_chain ret_opt ann_opt field_expr
%type <expr> dict_item
%type <seq> tsl_items el_items tc_items sub_items testlist_comp assign_chain set_items
%type <op> comp_op
%type <name> dotted_name
%type <num> dots
%type <arg> argument
%type <param> param lparam
%type <imp> dotted_as_name import_as_name
%type <gen> comp_for
%type <vec> class_args names handlers with_items lparams lparams_opt
%type <vec> finally_part
%type <handler> handler
%type <withitem> with_item

%start start

%%

start
    : START_MODULE stmts        { ps->module->body = stmtlist(ps, $2); }
    | START_FIELD field_expr    { ps->field = $2; }
    ;

field_expr
    : tsl                       { $$ = no_star(ps, $1); }
    | yield_expr
    ;

stmts
    : %empty                    { $$ = newvec(ps); }
    | stmts stmt                { $$ = $1; for (int i = 0; i < $2->n; i++) push(ps, $$, $2->v[i]); }
    ;

stmt
    : simple_stmt               { $$ = $1; ps->after_error = false; bcl_lexer_recover(ps->lx, false); }
    | compound_stmt             { $$ = vec1(ps, $1); ps->after_error = false; bcl_lexer_recover(ps->lx, false); }
    | error NEWLINE             { $$ = newvec(ps); ps->after_error = true; yyerrok; }
    | INDENT {
          /* After error recovery this is the body of the broken statement. */
          if (!ps->after_error) diag_error(ps->d, L(ps, @1), "unexpected indent");
      } stmts DEDENT            { $$ = newvec(ps); ps->after_error = false; }
    ;

simple_stmt
    : small_stmts NEWLINE       { $$ = $1; }
    | small_stmts SEMI NEWLINE  { $$ = $1; }
    ;

small_stmts
    : small_stmt                { $$ = newvec(ps); push(ps, $$, $1); }
    | small_stmts SEMI small_stmt { $$ = $1; push(ps, $$, $3); }
    ;

small_stmt
    : expr_stmt
    | PASS                      { $$ = mkstmt(ps, S_PASS, @$); }
    | BREAK                     { $$ = mkstmt(ps, S_BREAK, @$); }
    | CONTINUE                  { $$ = mkstmt(ps, S_CONTINUE, @$); }
    | RETURN                    { $$ = mkstmt(ps, S_RETURN, @$); }
    | RETURN tsl                { $$ = mkstmt(ps, S_RETURN, @$); $$->expr = no_star(ps, $2); }
    | RAISE                     { $$ = mkstmt(ps, S_RAISE, @$); }
    | RAISE test                { $$ = mkstmt(ps, S_RAISE, @$); $$->expr = $2; }
    | RAISE test FROM test      { $$ = mkstmt(ps, S_RAISE, @$); $$->expr = $2; /* the cause is only shown by Python */ }
    | ASSERT test               { $$ = mkstmt(ps, S_ASSERT, @$); $$->assert_.cond = $2; }
    | ASSERT test COMMA test    { $$ = mkstmt(ps, S_ASSERT, @$); $$->assert_.cond = $2; $$->assert_.msg = $4; }
    | import_stmt
    | DEL exprlist {
          $$ = mkstmt(ps, S_DEL, @$);
          Expr *t = $2;
          check_target(ps, t);
          if (t->kind == E_TUPLE) $$->del_ = t->elts;
          else { $$->del_.n = 1; $$->del_.v = ARENA_NEWN(ps->a, Expr *, 1); $$->del_.v[0] = t; }
      }
    | GLOBAL names              { $$ = mkstmt(ps, S_GLOBAL, @$); set_names(ps, $$, $2); }
    | NONLOCAL names            { $$ = mkstmt(ps, S_NONLOCAL, @$); set_names(ps, $$, $2); }
    ;

names
    : NAME                      { $$ = vec1(ps, (void *)$1); }
    | names COMMA NAME          { $$ = $1; push(ps, $$, (void *)$3); }
    ;

expr_stmt
    : tsl                       { $$ = mkstmt(ps, S_EXPR, @$); $$->expr = no_star(ps, $1); }
    | yield_expr                { $$ = mkstmt(ps, S_EXPR, @$); $$->expr = $1; }
    | tsl AUGASSIGN rhs {
          $$ = mkstmt(ps, S_AUGASSIGN, @$);
          Expr *t = $1;
          if (t->kind != E_NAME && t->kind != E_ATTR && t->kind != E_SUBSCRIPT)
              diag_error(ps->d, t->loc, "illegal expression for augmented assignment");
          $$->aug.target = t;
          $$->aug.op = $2;
          $$->aug.value = no_star(ps, $3);
      }
    | tsl COLON test            { $$ = mkstmt(ps, S_ANNASSIGN, @$); $$->ann.target = $1; $$->ann.annotation = $3; }
    | tsl COLON test EQUAL rhs  {
          $$ = mkstmt(ps, S_ANNASSIGN, @$);
          $$->ann.target = $1;
          $$->ann.annotation = $3;
          $$->ann.value = no_star(ps, $5);
      }
    | assign_chain {
          $$ = mkstmt(ps, S_ASSIGN, @$);
          int n = $1.v.n - 1;
          $$->assign.n_targets = n;
          $$->assign.targets = ARENA_NEWN(ps->a, Expr *, n);
          for (int i = 0; i < n; i++) {
              check_target(ps, $1.v.v[i]);
              $$->assign.targets[i] = $1.v.v[i];
          }
          $$->assign.value = no_star(ps, $1.v.v[n]);
      }
    ;

assign_chain
    : tsl EQUAL rhs             { $$ = seq1(ps, $1); push(ps, &$$.v, $3); }
    | assign_chain EQUAL rhs    { $$ = $1; push(ps, &$$.v, $3); }
    ;

rhs
    : tsl
    | yield_expr
    ;

yield_expr
    : YIELD                     { $$ = mkexpr(ps, E_YIELD, @$); }
    | YIELD tsl                 { $$ = mkexpr(ps, E_YIELD, @$); $$->yield_.value = no_star(ps, $2); }
    | YIELD FROM test           { $$ = mkexpr(ps, E_YIELD, @$); $$->yield_.value = $3; $$->yield_.from = true; }
    ;

import_stmt
    : IMPORT dotted_as_names    { $$ = mkstmt(ps, S_IMPORT, @$); set_import_names(ps, $$, $2); }
    | FROM from_module IMPORT STAR { $$ = $2; $$->loc = L(ps, @$); $$->from.star = true; }
    | FROM from_module IMPORT LPAR import_as_names RPAR {
          $$ = $2; $$->loc = L(ps, @$); set_import_names(ps, $$, $5);
      }
    | FROM from_module IMPORT LPAR import_as_names COMMA RPAR {
          $$ = $2; $$->loc = L(ps, @$); set_import_names(ps, $$, $5);
      }
    | FROM from_module IMPORT import_as_names {
          $$ = $2; $$->loc = L(ps, @$); set_import_names(ps, $$, $4);
      }
    ;

from_module
    : dotted_name               { $$ = mkstmt(ps, S_FROM, @$); $$->from.module = $1; }
    | dots                      { $$ = mkstmt(ps, S_FROM, @$); $$->from.level = $1; }
    | dots dotted_name          { $$ = mkstmt(ps, S_FROM, @$); $$->from.level = $1; $$->from.module = $2; }
    ;

dots
    : DOT                       { $$ = 1; }
    | ELLIPSIS                  { $$ = 3; }
    | dots DOT                  { $$ = $1 + 1; }
    | dots ELLIPSIS             { $$ = $1 + 3; }
    ;

dotted_name
    : NAME
    | dotted_name DOT NAME      { $$ = arena_printf(ps->a, "%s.%s", $1, $3); }
    ;

dotted_as_names
    : dotted_as_name            { $$ = vec1(ps, $1); }
    | dotted_as_names COMMA dotted_as_name { $$ = $1; push(ps, $$, $3); }
    ;

dotted_as_name
    : dotted_name               { $$ = make_import_name(ps, $1, NULL, @$); }
    | dotted_name AS NAME       { $$ = make_import_name(ps, $1, $3, @$); }
    ;

import_as_names
    : import_as_name            { $$ = vec1(ps, $1); }
    | import_as_names COMMA import_as_name { $$ = $1; push(ps, $$, $3); }
    ;

import_as_name
    : NAME                      { $$ = make_import_name(ps, $1, NULL, @$); }
    | NAME AS NAME              { $$ = make_import_name(ps, $1, $3, @$); }
    ;

compound_stmt
    : if_stmt
    | for_stmt
    | while_stmt
    | try_stmt
    | with_stmt
    | funcdef
    | classdef
    | decorated
    | async_stmt
    ;

suite
    : simple_stmt
    | NEWLINE INDENT stmts DEDENT { $$ = $3; }
    ;

if_stmt
    : IF namedexpr COLON suite elif_part {
          $$ = mkstmt(ps, S_IF, @$);
          $$->if_.cond = $2;
          $$->if_.body = stmtlist(ps, $4);
          $$->if_.orelse = stmtlist(ps, $5);
      }
    ;

elif_part
    : %empty                    { $$ = newvec(ps); }
    | ELSE COLON suite          { $$ = $3; }
    | ELIF namedexpr COLON suite elif_part {
          Stmt *s = mkstmt(ps, S_IF, @$);
          s->if_.cond = $2;
          s->if_.body = stmtlist(ps, $4);
          s->if_.orelse = stmtlist(ps, $5);
          $$ = vec1(ps, s);
      }
    ;

else_part
    : %empty                    { $$ = newvec(ps); }
    | ELSE COLON suite          { $$ = $3; }
    ;

for_stmt
    : FOR exprlist IN tsl COLON suite else_part {
          $$ = mkstmt(ps, S_FOR, @$);
          check_target(ps, $2);
          $$->for_.target = $2;
          $$->for_.iter = no_star(ps, $4);
          $$->for_.body = stmtlist(ps, $6);
          $$->for_.orelse = stmtlist(ps, $7);
      }
    ;

while_stmt
    : WHILE namedexpr COLON suite else_part {
          $$ = mkstmt(ps, S_WHILE, @$);
          $$->while_.cond = $2;
          $$->while_.body = stmtlist(ps, $4);
          $$->while_.orelse = stmtlist(ps, $5);
      }
    ;

try_stmt
    : TRY COLON suite handlers else_part finally_part {
          $$ = mkstmt(ps, S_TRY, @1);
          $$->try_.body = stmtlist(ps, $3);
          $$->try_.n_handlers = $4->n;
          $$->try_.handlers = ARENA_NEWN(ps->a, ExceptHandler, $4->n);
          for (int i = 0; i < $4->n; i++) $$->try_.handlers[i] = *(ExceptHandler *)$4->v[i];
          $$->try_.orelse = stmtlist(ps, $5);
          $$->try_.finalbody = stmtlist(ps, $6);
      }
    | TRY COLON suite FINALLY COLON suite {
          $$ = mkstmt(ps, S_TRY, @1);
          $$->try_.body = stmtlist(ps, $3);
          $$->try_.finalbody = stmtlist(ps, $6);
      }
    ;

handlers
    : handler                   { $$ = vec1(ps, $1); }
    | handlers handler          { $$ = $1; push(ps, $$, $2); }
    ;

handler
    : EXCEPT COLON suite        { $$ = make_handler(ps, NULL, NULL, $3, @1); }
    | EXCEPT test COLON suite   { $$ = make_handler(ps, $2, NULL, $4, @1); }
    | EXCEPT test AS NAME COLON suite { $$ = make_handler(ps, $2, $4, $6, @1); }
    ;

finally_part
    : %empty                    { $$ = newvec(ps); }
    | FINALLY COLON suite       { $$ = $3; }
    ;

with_stmt
    : WITH with_items COLON suite {
          $$ = mkstmt(ps, S_WITH, @1);
          $$->with_.n = $2->n;
          $$->with_.items = ARENA_NEWN(ps->a, WithItem, $2->n);
          for (int i = 0; i < $2->n; i++) $$->with_.items[i] = *(WithItem *)$2->v[i];
          $$->with_.body = stmtlist(ps, $4);
      }
    ;

with_items
    : with_item                 { $$ = vec1(ps, $1); }
    | with_items COMMA with_item { $$ = $1; push(ps, $$, $3); }
    ;

with_item
    : test                      { $$ = ARENA_NEW(ps->a, WithItem); $$->ctx = $1; }
    | test AS expr              { $$ = ARENA_NEW(ps->a, WithItem); $$->ctx = $1; check_target(ps, $3); $$->target = $3; }
    ;

async_stmt
    : async_kw funcdef          { $$ = NULL; }
    | async_kw with_stmt        { $$ = NULL; }
    | async_kw for_stmt         { $$ = NULL; }
    ;

async_kw
    : ASYNC                     { unsupported(ps, @1, "async"); }
    ;

funcdef
    : DEF NAME LPAR params_opt RPAR ret_opt COLON <stmt>{
          BclLoc head = @1;
          head.last_line = @7.last_line;
          head.last_column = @7.last_column;
          head.end = @7.end;
          $$ = make_def(ps, $2, @2, $4, $6, head);
      } suite                   { $$ = $8; $$->def->body = stmtlist(ps, $9); }
    ;

ret_opt
    : %empty                    { $$ = NULL; }
    | ARROW test                { $$ = $2; }
    ;

params_opt
    : %empty                    { $$ = newvec(ps); }
    | params
    | params COMMA
    ;

params
    : param                     { $$ = vec1(ps, $1); }
    | params COMMA param        { $$ = $1; push(ps, $$, $3); }
    ;

param
    : NAME ann_opt              { $$ = make_param(ps, PARAM_NORMAL, $1, $2, NULL, @$); }
    | NAME ann_opt EQUAL test   { $$ = make_param(ps, PARAM_NORMAL, $1, $2, $4, @$); }
    | STAR                      { $$ = make_param(ps, PK_BARE_STAR, NULL, NULL, NULL, @$); }
    | STAR NAME ann_opt         { $$ = make_param(ps, PARAM_STAR, $2, $3, NULL, @$); }
    | POW NAME ann_opt          { $$ = make_param(ps, PARAM_DSTAR, $2, $3, NULL, @$); }
    | SLASH                     { $$ = make_param(ps, PK_SLASH, NULL, NULL, NULL, @$); }
    ;

ann_opt
    : %empty                    { $$ = NULL; }
    | COLON test                { $$ = $2; }
    ;

classdef
    : CLASS NAME class_args COLON <stmt>{
          BclLoc head = @1;
          head.last_line = @4.last_line;
          head.last_column = @4.last_column;
          head.end = @4.end;
          $$ = make_class(ps, $2, @2, $3, head);
      } suite                   { $$ = $5; $$->cls->body = stmtlist(ps, $6); }
    ;

class_args
    : %empty                    { $$ = newvec(ps); }
    | LPAR arglist_opt RPAR     { $$ = $2; }
    ;

decorated
    : decorators funcdef        { $$ = decorate(ps, $2, $1); }
    | decorators classdef       { $$ = decorate(ps, $2, $1); }
    | decorators async_stmt     { $$ = NULL; }
    ;

decorators
    : decorator                 { $$ = vec1(ps, $1); }
    | decorators decorator      { $$ = $1; push(ps, $$, $2); }
    ;

decorator
    : AT namedexpr NEWLINE      { $$ = $2; }
    ;

/* ---- expressions ---- */

namedexpr
    : test
    | test WALRUS test          { unsupported(ps, @2, ":="); $$ = $3; }
    ;

test
    : or_test
    | or_test IF or_test ELSE test {
          $$ = mkexpr(ps, E_IFEXP, @$);
          $$->ifexp.body = $1;
          $$->ifexp.cond = $3;
          $$->ifexp.orelse = $5;
      }
    | lambdef
    ;

test_nocond
    : or_test
    ;

lambdef
    : LAMBDA lparams_opt COLON test { $$ = make_lambda(ps, $2, $4, @$); }
    ;

lparams_opt
    : %empty                    { $$ = newvec(ps); }
    | lparams
    | lparams COMMA
    ;

lparams
    : lparam                    { $$ = vec1(ps, $1); }
    | lparams COMMA lparam      { $$ = $1; push(ps, $$, $3); }
    ;

lparam
    : NAME                      { $$ = make_param(ps, PARAM_NORMAL, $1, NULL, NULL, @$); }
    | NAME EQUAL test           { $$ = make_param(ps, PARAM_NORMAL, $1, NULL, $3, @$); }
    | STAR                      { $$ = make_param(ps, PK_BARE_STAR, NULL, NULL, NULL, @$); }
    | STAR NAME                 { $$ = make_param(ps, PARAM_STAR, $2, NULL, NULL, @$); }
    | POW NAME                  { $$ = make_param(ps, PARAM_DSTAR, $2, NULL, NULL, @$); }
    | SLASH                     { $$ = make_param(ps, PK_SLASH, NULL, NULL, NULL, @$); }
    ;

or_test
    : and_test
    | or_test OR and_test       { $$ = binop(ps, E_BOOLOP, OP_OR, $1, $3, @$); }
    ;

and_test
    : not_test
    | and_test AND not_test     { $$ = binop(ps, E_BOOLOP, OP_AND, $1, $3, @$); }
    ;

not_test
    : NOT not_test              { $$ = unary(ps, OP_NOT, $2, @$); }
    | comparison
    ;

comparison
    : expr
    | expr comp_chain           { $$ = $2; $$->cmp.first = $1; $$->loc = L(ps, @$); }
    ;

comp_chain
    : comp_op expr              { $$ = compare_add(ps, NULL, $1, $2); }
    | comp_chain comp_op expr   { $$ = compare_add(ps, $1, $2, $3); }
    ;

comp_op
    : LT                        { $$ = OP_LT; }
    | GT                        { $$ = OP_GT; }
    | EQEQ                      { $$ = OP_EQ; }
    | GE                        { $$ = OP_GE; }
    | LE                        { $$ = OP_LE; }
    | NOTEQ                     { $$ = OP_NE; }
    | IN                        { $$ = OP_IN; }
    | NOT IN                    { $$ = OP_NOTIN; }
    | IS                        { $$ = OP_IS; }
    | IS NOT                    { $$ = OP_ISNOT; }
    ;

star_expr
    : STAR expr                 { $$ = mkexpr(ps, E_STARRED, @$); $$->starred.value = $2; }
    ;

expr
    : xor_expr
    | expr VBAR xor_expr        { $$ = binop(ps, E_BINOP, OP_BITOR, $1, $3, @$); }
    ;

xor_expr
    : and_expr
    | xor_expr CIRCUMFLEX and_expr { $$ = binop(ps, E_BINOP, OP_BITXOR, $1, $3, @$); }
    ;

and_expr
    : shift_expr
    | and_expr AMPER shift_expr { $$ = binop(ps, E_BINOP, OP_BITAND, $1, $3, @$); }
    ;

shift_expr
    : arith
    | shift_expr LSHIFT arith   { $$ = binop(ps, E_BINOP, OP_LSHIFT, $1, $3, @$); }
    | shift_expr RSHIFT arith   { $$ = binop(ps, E_BINOP, OP_RSHIFT, $1, $3, @$); }
    ;

arith
    : term
    | arith PLUS term           { $$ = binop(ps, E_BINOP, OP_ADD, $1, $3, @$); }
    | arith MINUS term          { $$ = binop(ps, E_BINOP, OP_SUB, $1, $3, @$); }
    ;

term
    : factor
    | term STAR factor          { $$ = binop(ps, E_BINOP, OP_MUL, $1, $3, @$); }
    | term SLASH factor         { $$ = binop(ps, E_BINOP, OP_DIV, $1, $3, @$); }
    | term DSLASH factor        { $$ = binop(ps, E_BINOP, OP_FLOORDIV, $1, $3, @$); }
    | term PERCENT factor       { $$ = binop(ps, E_BINOP, OP_MOD, $1, $3, @$); }
    | term AT factor            { $$ = binop(ps, E_BINOP, OP_MATMUL, $1, $3, @$); }
    ;

factor
    : PLUS factor               { $$ = unary(ps, OP_POS, $2, @$); }
    | MINUS factor              { $$ = unary(ps, OP_NEG, $2, @$); }
    | TILDE factor              { $$ = unary(ps, OP_INVERT, $2, @$); }
    | power
    ;

power
    : atom_expr
    | atom_expr POW factor      { $$ = binop(ps, E_BINOP, OP_POW, $1, $3, @$); }
    ;

atom_expr
    : atom_trailers
    | AWAIT atom_trailers       { unsupported(ps, @1, "await"); $$ = $2; }
    ;

atom_trailers
    : atom
    | atom_trailers LPAR arglist_opt RPAR { $$ = make_call(ps, $1, $3, @$); }
    | atom_trailers LSQB subscripts RSQB {
          $$ = mkexpr(ps, E_SUBSCRIPT, @$);
          $$->sub.obj = $1;
          $$->sub.index = $3;
      }
    | atom_trailers DOT NAME {
          $$ = mkexpr(ps, E_ATTR, @$);
          $$->attr.obj = $1;
          $$->attr.name = $3;
          $$->attr.name_loc = L(ps, @3);
      }
    ;

atom
    : LPAR RPAR                 { $$ = mkexpr(ps, E_TUPLE, @$); }
    | LPAR yield_expr RPAR      { $$ = $2; }
    | LPAR testlist_comp RPAR {
          if ($2.gens)
              $$ = make_comp(ps, $2.v.v[0], $2.gens, @$), $$->kind = E_GENEXP;
          else if ($2.v.n == 1 && !$2.comma)
              $$ = no_star(ps, $2.v.v[0]);
          else
              $$ = seq_expr(ps, $2, @$, E_TUPLE);
      }
    | LSQB RSQB                 { $$ = mkexpr(ps, E_LIST, @$); }
    | LSQB testlist_comp RSQB {
          if ($2.gens)
              $$ = make_comp(ps, $2.v.v[0], $2.gens, @$);
          else
              $$ = seq_expr(ps, $2, @$, E_LIST);
      }
    | LBRACE RBRACE             { $$ = mkexpr(ps, E_DICT, @$); }
    | LBRACE dict_items RBRACE  {
          $$ = mkexpr(ps, E_DICT, @$);
          int n = $2->n / 2;
          $$->dict.n = n;
          $$->dict.keys = ARENA_NEWN(ps->a, Expr *, n);
          $$->dict.values = ARENA_NEWN(ps->a, Expr *, n);
          for (int i = 0; i < n; i++) {
              $$->dict.keys[i] = $2->v[2 * i];
              $$->dict.values[i] = $2->v[2 * i + 1];
          }
      }
    | LBRACE dict_items COMMA RBRACE {
          $$ = mkexpr(ps, E_DICT, @$);
          int n = $2->n / 2;
          $$->dict.n = n;
          $$->dict.keys = ARENA_NEWN(ps->a, Expr *, n);
          $$->dict.values = ARENA_NEWN(ps->a, Expr *, n);
          for (int i = 0; i < n; i++) {
              $$->dict.keys[i] = $2->v[2 * i];
              $$->dict.values[i] = $2->v[2 * i + 1];
          }
      }
    | LBRACE test COLON test comp RBRACE {
          $$ = make_comp(ps, $2, $5, @$);
          $$->kind = E_DICTCOMP;
          $$->comp.value = $4;
      }
    | LBRACE set_items RBRACE   { $$ = seq_expr(ps, $2, @$, E_SET); }
    | LBRACE set_items COMMA RBRACE { $$ = seq_expr(ps, $2, @$, E_SET); }
    | LBRACE test_or_star comp RBRACE { $$ = make_comp(ps, $2, $3, @$); $$->kind = E_SETCOMP; }
    | NAME                      { $$ = mkexpr(ps, E_NAME, @$); $$->name = $1; }
    | INT                       { $$ = mkexpr(ps, E_INT, @$); $$->ival = $1; }
    | FLOAT                     { $$ = mkexpr(ps, E_FLOAT, @$); $$->fval = $1; }
    | strings                   { $$ = bcl_make_strings(ps, $1, @$); }
    | ELLIPSIS                  { $$ = mkexpr(ps, E_NAME, @$); $$->name = "Ellipsis"; }
    | NONE                      { $$ = mkexpr(ps, E_NONE, @$); }
    | TRUE                      { $$ = mkexpr(ps, E_BOOL, @$); $$->bval = true; }
    | FALSE                     { $$ = mkexpr(ps, E_BOOL, @$); $$->bval = false; }
    ;

strings
    : STRING                    { $$ = vec1(ps, $1); }
    | strings STRING            { $$ = $1; push(ps, $$, $2); }
    ;

/* Keys and values alternate; a NULL key is a `**d` entry. */
dict_items
    : dict_item                 { $$ = newvec(ps); ptrvec_push(ps->a, $$, $1->elts.v[0]);
                                  ptrvec_push(ps->a, $$, $1->elts.v[1]); }
    | dict_items COMMA dict_item { $$ = $1; ptrvec_push(ps->a, $$, $3->elts.v[0]);
                                  ptrvec_push(ps->a, $$, $3->elts.v[1]); }
    ;

/* A (key, value) pair, carried in a scratch tuple. */
dict_item
    : test COLON test           { $$ = mkexpr(ps, E_TUPLE, @$); $$->elts.n = 2;
                                  $$->elts.v = ARENA_NEWN(ps->a, Expr *, 2);
                                  $$->elts.v[0] = $1; $$->elts.v[1] = $3; }
    | POW expr                  { $$ = mkexpr(ps, E_TUPLE, @$); $$->elts.n = 2;
                                  $$->elts.v = ARENA_NEWN(ps->a, Expr *, 2);
                                  $$->elts.v[0] = NULL; $$->elts.v[1] = $2; }
    ;

set_items
    : test_or_star              { $$ = seq1(ps, $1); }
    | set_items COMMA test_or_star { $$ = $1; push(ps, &$$.v, $3); }
    ;

testlist_comp
    : tc_elem comp              { $$ = seq1(ps, $1); $$.gens = $2; }
    | tc_items
    | tc_items COMMA            { $$ = $1; $$.comma = true; }
    ;

tc_items
    : tc_elem                   { $$ = seq1(ps, $1); }
    | tc_items COMMA tc_elem    { $$ = $1; push(ps, &$$.v, $3); $$.comma = true; }
    ;

tc_elem
    : namedexpr
    | star_expr
    ;

comp
    : comp_for                  { $$ = vec1(ps, $1); }
    | comp comp_for             { $$ = $1; push(ps, $$, $2); }
    | comp IF test_nocond {
          $$ = $1;
          Comprehension *g = $$->v[$$->n - 1];
          g->ifs.v = arena_grow(ps->a, g->ifs.v, (size_t)g->ifs.n, (size_t)g->ifs.n + 1, sizeof(Expr *));
          g->ifs.v[g->ifs.n++] = $3;
      }
    ;

comp_for
    : FOR exprlist IN or_test   { check_target(ps, $2); $$ = make_gen(ps, $2, $4); }
    | async_kw FOR exprlist IN or_test { $$ = make_gen(ps, $3, $5); }
    ;

subscripts
    : sub_items                 { $$ = $1.v.n == 1 ? $1.v.v[0] : seq_expr(ps, $1, @$, E_TUPLE); }
    | sub_items COMMA           { $$ = seq_expr(ps, $1, @$, E_TUPLE); }
    ;

sub_items
    : subscript                 { $$ = seq1(ps, $1); }
    | sub_items COMMA subscript { $$ = $1; push(ps, &$$.v, $3); }
    ;

subscript
    : test
    | opt_test COLON opt_test {
          /* from the first part written to the last: an empty part has no place */
          BclLoc l = $1 ? @1 : @2;
          BclLoc e = $3 ? @3 : @2;
          l.last_line = e.last_line, l.last_column = e.last_column, l.end = e.end;
          $$ = mkexpr(ps, E_SLICE, l);
          $$->slice.lo = $1;
          $$->slice.hi = $3;
      }
    | opt_test COLON opt_test COLON opt_test {
          BclLoc l = $1 ? @1 : @2;
          BclLoc e = $5 ? @5 : @4;
          l.last_line = e.last_line, l.last_column = e.last_column, l.end = e.end;
          $$ = mkexpr(ps, E_SLICE, l);
          $$->slice.lo = $1;
          $$->slice.hi = $3;
          $$->slice.step = $5;
      }
    ;

opt_test
    : %empty                    { $$ = NULL; }
    | test
    ;

arglist_opt
    : %empty                    { $$ = newvec(ps); }
    | arglist
    | arglist COMMA
    ;

arglist
    : argument                  { $$ = vec1(ps, $1); }
    | arglist COMMA argument    { $$ = $1; push(ps, $$, $3); }
    ;

argument
    : test                      { $$ = make_arg(ps, ARG_POS, NULL, no_star(ps, $1), @$); }
    | test comp                 { $$ = make_arg(ps, ARG_POS, NULL, make_comp(ps, $1, $2, @$), @$);
                                  $$->value->kind = E_GENEXP; $$->name = "<genexp>"; }
    | test EQUAL test {
          const char *name = "?";
          if ($1->kind == E_NAME)
              name = $1->name;
          else
              diag_error(ps->d, L(ps, @$), "expression cannot contain assignment, perhaps you meant \"==\"?");
          $$ = make_arg(ps, ARG_KW, name, $3, @$);
      }
    | test WALRUS test          { unsupported(ps, @2, ":="); $$ = make_arg(ps, ARG_POS, NULL, $3, @$); }
    | STAR test                 { $$ = make_arg(ps, ARG_STAR, NULL, $2, @$); }
    | POW test                  { $$ = make_arg(ps, ARG_DSTAR, NULL, $2, @$); }
    ;

exprlist
    : el_items                  { $$ = $1.v.n == 1 ? $1.v.v[0] : seq_expr(ps, $1, @$, E_TUPLE); }
    | el_items COMMA            { $$ = seq_expr(ps, $1, @$, E_TUPLE); }
    ;

el_items
    : el_elem                   { $$ = seq1(ps, $1); }
    | el_items COMMA el_elem    { $$ = $1; push(ps, &$$.v, $3); }
    ;

el_elem
    : expr
    | star_expr
    ;

tsl
    : tsl_items                 { $$ = $1.v.n == 1 ? $1.v.v[0] : seq_expr(ps, $1, @$, E_TUPLE); }
    | tsl_items COMMA           { $$ = seq_expr(ps, $1, @$, E_TUPLE); }
    ;

tsl_items
    : test_or_star              { $$ = seq1(ps, $1); }
    | tsl_items COMMA test_or_star { $$ = $1; push(ps, &$$.v, $3); }
    ;

test_or_star
    : test
    | star_expr
    ;

%%

/* ---- locations and messages ---- */

SrcLoc bcl_loc_to_src(const Source *src, BclLoc l)
{
    SrcLoc s = {src, l.first_line, l.first_column, 0};
    if (l.last_line == l.first_line) {
        s.len = l.end - l.start;
    } else {    /* a multi-line span: up to the end of its first line */
        const char *p = src->text + l.start;
        const char *nl = memchr(p, '\n', src->len - (size_t)l.start);
        s.len = nl ? (int)(nl - p) : (int)(src->len - (size_t)l.start);
    }
    return s;
}

static void bcl_yyerror(BclLoc *l, ParseState *ps, const char *msg)
{
    if (strstr(msg, "exhausted"))
        diag_error(ps->d, L(ps, *l), "too deeply nested: the parser ran out of stack");
    else
        diag_error(ps->d, L(ps, *l), "%s", msg);
}

const char *bcl_token_name(int tok) { return yysymbol_name(YYTRANSLATE(tok)); }

/* A symbol as messages show it: punctuation and keywords quoted, others described;
 * with l, a name or number shows its text. */
static void describe(yysymbol_kind_t k, ParseState *ps, const BclLoc *l, char *out, size_t n)
{
    const char *name = yysymbol_name(k);
    const char *text = l ? ps->src->text + l->start : "";
    int tlen = l ? l->end - l->start : 0;
    if (tlen > 40) tlen = 40;
    switch (k) {
    case YYSYMBOL_NAME: case YYSYMBOL_INT: case YYSYMBOL_FLOAT:
        if (l) snprintf(out, n, "%s '%.*s'", k == YYSYMBOL_NAME ? "name" : "number", tlen, text);
        else snprintf(out, n, "%s", k == YYSYMBOL_NAME ? "name" : "number");
        return;
    case YYSYMBOL_AUGASSIGN:
        if (l) snprintf(out, n, "'%.*s'", tlen, text);
        else snprintf(out, n, "%s", name);
        return;
    case YYSYMBOL_STRING: case YYSYMBOL_NEWLINE: case YYSYMBOL_INDENT: case YYSYMBOL_DEDENT:
    case YYSYMBOL_YYEOF: case YYSYMBOL_START_MODULE: case YYSYMBOL_START_FIELD:
    case YYSYMBOL_YYerror: case YYSYMBOL_YYUNDEF:
        snprintf(out, n, "%s", name);
        return;
    default:
        snprintf(out, n, "'%s'", name);
        return;
    }
}

/* The column of the first non-blank character on the line holding text[off]. */
static int line_indent(const Source *src, int off)
{
    int b = off;
    while (b > 0 && src->text[b - 1] != '\n') b--;
    int col = 1;
    while (src->text[b] == ' ' || src->text[b] == '\t') b++, col++;
    return col;
}

static bool starts_expr(yysymbol_kind_t k)
{
    switch (k) {
    case YYSYMBOL_NAME: case YYSYMBOL_INT: case YYSYMBOL_FLOAT: case YYSYMBOL_STRING:
    case YYSYMBOL_NONE: case YYSYMBOL_TRUE: case YYSYMBOL_FALSE: case YYSYMBOL_LPAR:
    case YYSYMBOL_LSQB: case YYSYMBOL_LBRACE: case YYSYMBOL_NOT: case YYSYMBOL_TILDE:
        return true;
    default:
        return false;
    }
}

/* `print "x"`, Python 2's print statement, ends up here: say so. */
static bool py2_print(ParseState *ps, const BclLoc *l)
{
    int b = l->start;
    while (b > 0 && ps->src->text[b - 1] != '\n') b--;
    int col = 1;
    while (ps->src->text[b] == ' ' || ps->src->text[b] == '\t') b++, col++;
    const char *p = ps->src->text + b;
    if (strncmp(p, "print", 5) != 0 || (p[5] != ' ' && p[5] != '\t')) return false;
    for (int i = b + 5; i < l->start; i++)
        if (ps->src->text[i] != ' ' && ps->src->text[i] != '\t') return false;
    SrcLoc at = {ps->src, l->first_line, col, 5};
    diag_error(ps->d, at, "missing parentheses in call to 'print'; did you mean print(...)?");
    return true;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, ParseState *ps)
{
    yysymbol_kind_t tok = yypcontext_token(ctx);
    const BclLoc *l = yypcontext_location(ctx);
    /* The lexer already said why the text ended too early, or what is wrong on this line. */
    if (bcl_lexer_quiet_eof(ps->lx) && (tok == YYSYMBOL_YYEOF || tok == YYSYMBOL_NEWLINE ||
                                         tok == YYSYMBOL_DEDENT))
        return 0;
    if (bcl_lexer_error_line(ps->lx) == l->first_line) return 0;
    /* An error on a later line than an open bracket: most likely it was never closed.
     * Forget the brackets so that recovery finds the end of the line. */
    BclLoc open;
    char c;
    bool in_brackets = bcl_lexer_open_bracket(ps->lx, &open, &c);
    if (in_brackets) {
        /* Recovery skips to the end of the line: for that, forget the brackets. */
        bcl_lexer_recover(ps->lx, true);
        /* A line that starts no further right than the bracket's line is a new statement. */
        int line_col = line_indent(ps->src, l->start), open_col = line_indent(ps->src, open.start);
        if (open.first_line < l->first_line && line_col <= open_col) {
            diag_error(ps->d, L(ps, open), "'%c' was never closed", c);
            return 0;
        }
    }
    if (tok == YYSYMBOL_INDENT) {
        diag_error(ps->d, L(ps, *l), "unexpected indent");
        return 0;
    }
    yysymbol_kind_t exp[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, exp, YYNTOKENS);
    if (n == 1 && exp[0] == YYSYMBOL_INDENT) {
        diag_error(ps->d, L(ps, *l), "expected an indented block");
        return 0;
    }
    if (!in_brackets && starts_expr(tok) && py2_print(ps, l)) return 0;
    char what[96], want[96] = "";
    describe(tok, ps, tok == YYSYMBOL_YYEOF ? NULL : l, what, sizeof what);
    if (n == 1) {
        char e[80];
        describe(exp[0], ps, NULL, e, sizeof e);
        snprintf(want, sizeof want, ", expected %s", e);
    } else if (tok == YYSYMBOL_NEWLINE) {
        /* `if x` at the end of a line: say what the header lacks */
        for (int i = 0; i < n; i++)
            if (exp[i] == YYSYMBOL_COLON) snprintf(want, sizeof want, ", expected ':'");
    } else if (in_brackets && starts_expr(tok)) {
        /* two expressions side by side in a call or a list: M.ReLU() M.Conv2d(...) */
        for (int i = 0; i < n; i++)
            if (exp[i] == YYSYMBOL_COMMA) snprintf(want, sizeof want, "; perhaps you forgot a comma?");
    }
    diag_error(ps->d, L(ps, *l), "invalid syntax: unexpected %s%s", what, want);
    return 0;
}

/* ---- helpers of the actions ---- */

static PtrVec *vec1(ParseState *ps, void *p)
{
    PtrVec *v = newvec(ps);
    push(ps, v, p);
    return v;
}

static Seq seq1(ParseState *ps, void *p)
{
    Seq s = {{0}, false, NULL};
    push(ps, &s.v, p);
    return s;
}

static ExprList exprlist(ParseState *ps, const PtrVec *v)
{
    ExprList l = {v->n, ARENA_NEWN(ps->a, Expr *, v->n)};
    for (int i = 0; i < v->n; i++) l.v[i] = v->v[i];
    return l;
}

static StmtList stmtlist(ParseState *ps, const PtrVec *v)
{
    StmtList l = {v->n, ARENA_NEWN(ps->a, Stmt *, v->n)};
    for (int i = 0; i < v->n; i++) l.v[i] = v->v[i];
    return l;
}

static void unsupported(ParseState *ps, BclLoc l, const char *what)
{
    diag_error(ps->d, L(ps, l), "'%s' is not supported in .bcl", what);
}

/* Stands for an expression that was reported; the module is never returned. */

static Expr *seq_expr(ParseState *ps, Seq s, BclLoc l, ExprKind k)
{
    Expr *e = mkexpr(ps, k, l);
    e->elts = exprlist(ps, &s.v);
    return e;
}

static Expr *no_star(ParseState *ps, Expr *e)
{
    if (e && e->kind == E_STARRED)
        diag_error(ps->d, e->loc, "cannot use starred expression here");
    return e;
}

static const char *expr_what(const Expr *e)
{
    switch (e->kind) {
    case E_CALL: return "function call";
    case E_INT: case E_FLOAT: case E_STR: return "literal";
    case E_FSTRING: return "f-string expression";
    case E_BOOL: return e->bval ? "True" : "False";
    case E_NONE: return "None";
    case E_COMPARE: return "comparison";
    case E_IFEXP: return "conditional expression";
    case E_LISTCOMP: return "list comprehension";
    case E_DICT: return "dict literal";
    case E_BOOLOP: case E_BINOP: case E_UNARY: return "expression";
    default: return "expression";
    }
}

/* Assignment and loop targets: names, attributes, subscripts, and tuples or lists
 * of them with at most one starred item each. */
static void check_target(ParseState *ps, Expr *e)
{
    switch (e->kind) {
    case E_NAME: case E_ATTR: case E_SUBSCRIPT:
        return;
    case E_TUPLE: case E_LIST: {
        int stars = 0;
        for (int i = 0; i < e->elts.n; i++) {
            Expr *x = e->elts.v[i];
            if (x->kind == E_STARRED) {
                if (++stars == 2)
                    diag_error(ps->d, x->loc, "multiple starred expressions in assignment");
                check_target(ps, x->starred.value);
            } else {
                check_target(ps, x);
            }
        }
        return;
    }
    case E_STARRED:
        diag_error(ps->d, e->loc, "starred assignment target must be in a list or tuple");
        return;
    default:
        diag_error(ps->d, e->loc, "cannot assign to %s", expr_what(e));
        return;
    }
}

static Expr *binop(ParseState *ps, ExprKind k, OpKind op, Expr *l, Expr *r, BclLoc loc)
{
    Expr *e = mkexpr(ps, k, loc);
    e->bin.op = op;
    e->bin.l = l;
    e->bin.r = r;
    return e;
}

static Expr *unary(ParseState *ps, OpKind op, Expr *x, BclLoc loc)
{
    Expr *e = mkexpr(ps, E_UNARY, loc);
    e->un.op = op;
    e->un.x = x;
    return e;
}

static Expr *compare_add(ParseState *ps, Expr *c, OpKind op, Expr *r)
{
    if (!c) c = ast_new_expr(ps->a, E_COMPARE, r->loc);
    int n = c->cmp.n;
    c->cmp.ops = arena_grow(ps->a, c->cmp.ops, (size_t)n, (size_t)n + 1, sizeof(OpKind));
    c->cmp.rest = arena_grow(ps->a, c->cmp.rest, (size_t)n, (size_t)n + 1, sizeof(Expr *));
    c->cmp.ops[n] = op;
    c->cmp.rest[n] = r;
    c->cmp.n = n + 1;
    return c;
}

static Arg *make_arg(ParseState *ps, ArgKind k, const char *name, Expr *v, BclLoc l)
{
    Arg *a = ARENA_NEW(ps->a, Arg);
    a->kind = k;
    a->name = name;
    a->value = v;
    a->loc = L(ps, l);
    return a;
}

/* Python's rules on the order of arguments. A generator argument (name set to
 * "<genexp>" by the grammar) must be the only one. */
static Expr *make_call(ParseState *ps, Expr *func, PtrVec *args, BclLoc l)
{
    Expr *e = mkexpr(ps, E_CALL, l);
    e->call.func = func;
    e->call.n_args = args->n;
    e->call.args = ARENA_NEWN(ps->a, Arg, args->n);
    bool kw = false, dstar = false;
    for (int i = 0; i < args->n; i++) {
        Arg *a = args->v[i];
        if (a->kind == ARG_POS && a->name) {
            if (args->n > 1) diag_error(ps->d, a->loc, "generator expression must be parenthesized");
            a->name = NULL;
        }
        switch (a->kind) {
        case ARG_POS:
            if (dstar)
                diag_error(ps->d, a->loc, "positional argument follows keyword argument unpacking");
            else if (kw)
                diag_error(ps->d, a->loc, "positional argument follows keyword argument");
            break;
        case ARG_STAR:
            if (dstar)
                diag_error(ps->d, a->loc, "iterable argument unpacking follows keyword argument unpacking");
            break;
        case ARG_KW:
            kw = true;
            for (int j = 0; j < i; j++) {
                Arg *b = args->v[j];
                if (b->kind == ARG_KW && strcmp(b->name, a->name) == 0) {
                    diag_error(ps->d, a->loc, "keyword argument repeated: %s", a->name);
                    break;
                }
            }
            break;
        case ARG_DSTAR:
            dstar = true;
            break;
        }
        e->call.args[i] = *a;
    }
    return e;
}

static Comprehension *make_gen(ParseState *ps, Expr *target, Expr *iter)
{
    Comprehension *g = ARENA_NEW(ps->a, Comprehension);
    g->target = target;
    g->iter = iter;
    return g;
}

/* A list comprehension (the caller retags generator, set and dict comprehensions). */
static Expr *make_comp(ParseState *ps, Expr *elt, PtrVec *gens, BclLoc l)
{
    Expr *e = mkexpr(ps, E_LISTCOMP, l);
    if (elt->kind == E_STARRED)
        diag_error(ps->d, elt->loc, "iterable unpacking cannot be used in comprehension");
    e->comp.elt = elt;
    e->comp.n_gens = gens->n;
    e->comp.gens = ARENA_NEWN(ps->a, Comprehension, gens->n);
    for (int i = 0; i < gens->n; i++) e->comp.gens[i] = *(Comprehension *)gens->v[i];
    return e;
}

static Param *make_param(ParseState *ps, int kind, const char *name, Expr *ann, Expr *def, BclLoc l)
{
    Param *p = ARENA_NEW(ps->a, Param);
    p->kind = (ParamKind)kind;
    p->name = name;
    p->annotation = ann;
    p->def = def;
    p->loc = L(ps, l);
    return p;
}

/* Checks a parameter list as Python does and gives keyword-only parameters their kind. */
static void finish_params(ParseState *ps, PtrVec *items, int *n_out, Param **out)
{
    Param *ps_out = ARENA_NEWN(ps->a, Param, items->n);
    int n = 0;
    bool star = false, dstar = false, dflt = false;
    Param *bare = NULL;
    int kwonly = 0;
    for (int i = 0; i < items->n; i++) {
        Param *p = items->v[i];
        if (dstar) {
            diag_error(ps->d, p->loc, "arguments cannot follow var-keyword argument");
            continue;
        }
        if ((int)p->kind == PK_SLASH) {
            diag_error(ps->d, p->loc, "positional-only parameters ('/') are not supported in .bcl");
            continue;
        }
        if ((int)p->kind == PK_BARE_STAR || p->kind == PARAM_STAR) {
            if (star) diag_error(ps->d, p->loc, "* argument may appear only once");
            star = true;
            if ((int)p->kind == PK_BARE_STAR) {
                bare = p;
                continue;
            }
        } else if (p->kind == PARAM_DSTAR) {
            dstar = true;
        } else if (star) {
            p->kind = PARAM_KWONLY;
            kwonly++;
        } else if (p->def) {
            dflt = true;
        } else if (dflt) {
            diag_error(ps->d, p->loc, "non-default argument follows default argument");
        }
        for (int j = 0; j < n; j++)
            if (strcmp(ps_out[j].name, p->name) == 0) {
                diag_error(ps->d, p->loc, "duplicate argument '%s' in function definition", p->name);
                break;
            }
        ps_out[n++] = *p;
    }
    if (bare && kwonly == 0) diag_error(ps->d, bare->loc, "named arguments must follow bare *");
    *n_out = n;
    *out = ps_out;
}

static Stmt *make_def(ParseState *ps, const char *name, BclLoc name_l, PtrVec *params, Expr *ret,
                      BclLoc l)
{
    Stmt *s = mkstmt(ps, S_DEF, l);
    FuncDef *f = ARENA_NEW(ps->a, FuncDef);
    f->name = name;
    finish_params(ps, params, &f->n_params, &f->params);
    f->returns = ret;
    f->loc = s->loc;
    f->name_loc = L(ps, name_l);
    s->def = f;
    return s;
}

static void set_names(ParseState *ps, Stmt *s, PtrVec *names)
{
    s->names.n = names->n;
    s->names.v = ARENA_NEWN(ps->a, const char *, names->n);
    for (int i = 0; i < names->n; i++) s->names.v[i] = names->v[i];
}

static ExceptHandler *make_handler(ParseState *ps, Expr *type, const char *name, PtrVec *body, BclLoc l)
{
    ExceptHandler *h = ARENA_NEW(ps->a, ExceptHandler);
    h->type = type;
    h->name = name;
    h->body = stmtlist(ps, body);
    h->loc = L(ps, l);
    return h;
}

/* `lambda params: body` is a function named "<lambda>" whose body returns body. */
static Expr *make_lambda(ParseState *ps, PtrVec *params, Expr *body, BclLoc l)
{
    Expr *e = mkexpr(ps, E_LAMBDA, l);
    FuncDef *f = ARENA_NEW(ps->a, FuncDef);
    f->name = "<lambda>";
    finish_params(ps, params, &f->n_params, &f->params);
    Stmt *r = ast_new_stmt(ps->a, S_RETURN, body->loc);
    r->expr = body;
    f->body.n = 1;
    f->body.v = ARENA_NEWN(ps->a, Stmt *, 1);
    f->body.v[0] = r;
    f->loc = f->name_loc = e->loc;
    e->lambda = f;
    return e;
}

static Stmt *make_class(ParseState *ps, const char *name, BclLoc name_l, PtrVec *args, BclLoc l)
{
    Stmt *s = mkstmt(ps, S_CLASS, l);
    ClassDef *c = ARENA_NEW(ps->a, ClassDef);
    c->name = name;
    c->bases = ARENA_NEWN(ps->a, Arg, args->n);
    for (int i = 0; i < args->n; i++) {
        Arg *a = args->v[i];
        if (a->kind == ARG_KW)
            diag_error(ps->d, a->loc, "'%s=' in a class definition is not supported in .bcl", a->name);
        else if (a->kind != ARG_POS || a->name)
            diag_error(ps->d, a->loc, "only plain base classes are supported in .bcl");
        else
            c->bases[c->n_bases++] = *a;
    }
    c->loc = s->loc;
    c->name_loc = L(ps, name_l);
    s->cls = c;
    return s;
}

static Stmt *decorate(ParseState *ps, Stmt *s, PtrVec *decorators)
{
    if (s->kind == S_DEF) s->def->decorators = exprlist(ps, decorators);
    else s->cls->decorators = exprlist(ps, decorators);
    return s;
}

static ImportName *make_import_name(ParseState *ps, const char *name, const char *as, BclLoc l)
{
    ImportName *n = ARENA_NEW(ps->a, ImportName);
    n->name = name;
    n->asname = as;
    n->loc = L(ps, l);
    return n;
}

static void set_import_names(ParseState *ps, Stmt *s, PtrVec *names)
{
    ImportName *v = ARENA_NEWN(ps->a, ImportName, names->n);
    for (int i = 0; i < names->n; i++) v[i] = *(ImportName *)names->v[i];
    if (s->kind == S_IMPORT) {
        s->import_.n = names->n;
        s->import_.names = v;
    } else {
        s->from.n = names->n;
        s->from.names = v;
    }
}

/* ---- entry point ---- */

/* Length of the UTF-8 sequence at p (at most n bytes), or 0 if it is not valid UTF-8. */
static int utf8_len(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80) return 1;
    int len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (len == 0 || p[0] > 0xf4 || (size_t)len > n) return 0;
    for (int i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if (len == 3 && p[0] == 0xe0 && p[1] < 0xa0) return 0;     /* overlong */
    if (len == 3 && p[0] == 0xed && p[1] >= 0xa0) return 0;    /* surrogate */
    if (len == 4 && p[0] == 0xf0 && p[1] < 0x90) return 0;     /* overlong */
    if (len == 4 && p[0] == 0xf4 && p[1] >= 0x90) return 0;    /* past U+10FFFF */
    return len;
}

/* Source files are UTF-8, as in Python; the first bad byte is reported. */
static bool check_utf8(Diag *d, const Source *src)
{
    const unsigned char *t = (const unsigned char *)src->text;
    int line = 1, col = 1;
    for (size_t i = 0; i < src->len;) {
        int n = utf8_len(t + i, src->len - i);
        if (n == 0) {
            SrcLoc at = {src, line, col, 1};
            diag_error(d, at, "invalid UTF-8 (byte 0x%02x): .bcl files are UTF-8", t[i]);
            return false;
        }
        if (t[i] == '\n') line++, col = 1;
        else col += n;
        i += (size_t)n;
    }
    return true;
}

AstModule *bcl_parse(Arena *a, Diag *d, const Source *src)
{
    int errs = d->n_errors;
    ParseState ps = {0};
    ps.a = a;
    ps.d = d;
    ps.src = src;
    ps.module = ARENA_NEW(a, AstModule);
    ps.module->src = src;
    if (src->len > (size_t)INT32_MAX / 2) {
        diag_error(d, NO_LOC, "%s: file is too large", src->path);
        return NULL;
    }
    if (!check_utf8(d, src)) return NULL;
    ps.lx = bcl_lexer_new(a, d, src, false, 0, (int)src->len, 1, 1);
    int rc = bcl_yyparse(&ps);
    bcl_lexer_free(ps.lx);
    if (rc != 0 || d->n_errors != errs) return NULL;
    return ps.module;
}
