/* AST constructors and the debug printer (one node a line, two spaces a level;
 * a child's role, where not obvious, is a "label: " before it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ast.h"

Expr *ast_new_expr(Arena *a, ExprKind kind, SrcLoc loc)
{
    Expr *e = ARENA_NEW(a, Expr);
    e->kind = kind;
    e->loc = loc;
    return e;
}

Stmt *ast_new_stmt(Arena *a, StmtKind kind, SrcLoc loc)
{
    Stmt *s = ARENA_NEW(a, Stmt);
    s->kind = kind;
    s->loc = loc;
    return s;
}

const char *op_text(OpKind op)
{
    switch (op) {
    case OP_ADD: return "+";
    case OP_SUB: return "-";
    case OP_MUL: return "*";
    case OP_DIV: return "/";
    case OP_FLOORDIV: return "//";
    case OP_MOD: return "%";
    case OP_POW: return "**";
    case OP_MATMUL: return "@";
    case OP_AND: return "and";
    case OP_OR: return "or";
    case OP_NEG: return "-";
    case OP_POS: return "+";
    case OP_NOT: return "not";
    case OP_INVERT: return "~";
    case OP_BITAND: return "&";
    case OP_BITOR: return "|";
    case OP_BITXOR: return "^";
    case OP_LSHIFT: return "<<";
    case OP_RSHIFT: return ">>";
    case OP_EQ: return "==";
    case OP_NE: return "!=";
    case OP_LT: return "<";
    case OP_LE: return "<=";
    case OP_GT: return ">";
    case OP_GE: return ">=";
    case OP_IS: return "is";
    case OP_ISNOT: return "is not";
    case OP_IN: return "in";
    case OP_NOTIN: return "not in";
    }
    return "?";
}

typedef struct Dumper {
    FILE *out;
    bool locs;
} Dumper;

static void begin(Dumper *d, int depth, const char *label)
{
    fprintf(d->out, "%*s", 2 * depth, "");
    if (label) fprintf(d->out, "%s: ", label);
}

static void end(Dumper *d, SrcLoc loc)
{
    if (d->locs && loc.src) fprintf(d->out, " @%d:%d+%d", loc.line, loc.col, loc.len);
    fputc('\n', d->out);
}

/* A label line that holds no node ("body:"). */
static void heading(Dumper *d, int depth, const char *label)
{
    fprintf(d->out, "%*s%s:\n", 2 * depth, "", label);
}

static void quoted(FILE *out, const char *s, int64_t n)
{
    fputc('"', out);
    for (int64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (c < 0x20 || c == 0x7f) fprintf(out, "\\x%02x", c);
            else fputc(c, out);
        }
    }
    fputc('"', out);
}

/* The shortest text that reads back as the same double, with a '.' or 'e' so it
 * reads as a float. */
static void print_float(FILE *out, double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!strpbrk(buf, ".eni")) strcat(buf, ".0");
    fputs(buf, out);
}

static void dump_expr(Dumper *d, const Expr *e, int depth, const char *label);
static void dump_stmts(Dumper *d, const StmtList *l, int depth);

static void dump_param(Dumper *d, const Param *p, int depth);
static void dump_opt(Dumper *d, const Expr *e, int depth, const char *label)
{
    if (e) dump_expr(d, e, depth, label);
}

static void dump_list(Dumper *d, const ExprList *l, int depth, const char *label)
{
    for (int i = 0; i < l->n; i++) dump_expr(d, l->v[i], depth, label);
}

static void dump_arg(Dumper *d, const Arg *a, int depth)
{
    char label[256];
    switch (a->kind) {
    case ARG_POS: snprintf(label, sizeof label, "arg"); break;
    case ARG_KW: snprintf(label, sizeof label, "kw %s", a->name); break;
    case ARG_STAR: snprintf(label, sizeof label, "*arg"); break;
    case ARG_DSTAR: snprintf(label, sizeof label, "**arg"); break;
    }
    dump_expr(d, a->value, depth, label);
}

static void dump_expr(Dumper *d, const Expr *e, int depth, const char *label)
{
    FILE *out = d->out;
    begin(d, depth, label);
    switch (e->kind) {
    case E_NAME:
        fprintf(out, "Name %s", e->name);
        end(d, e->loc);
        break;
    case E_INT:
        fprintf(out, "Int %lld", (long long)e->ival);
        end(d, e->loc);
        break;
    case E_FLOAT:
        fputs("Float ", out);
        print_float(out, e->fval);
        end(d, e->loc);
        break;
    case E_STR:
        fputs("Str ", out);
        quoted(out, e->str, e->str_len);
        end(d, e->loc);
        break;
    case E_FSTRING:
        fputs("FString", out);
        end(d, e->loc);
        dump_list(d, &e->fstr, depth + 1, NULL);
        break;
    case E_FIELD:
        fputs("Field", out);
        if (e->field.conv) fprintf(out, " !%c", e->field.conv);
        if (e->field.spec) {
            fputs(" spec=", out);
            quoted(out, e->field.spec, (int64_t)strlen(e->field.spec));
        }
        end(d, e->loc);
        dump_expr(d, e->field.value, depth + 1, NULL);
        break;
    case E_BOOL:
        fputs(e->bval ? "True" : "False", out);
        end(d, e->loc);
        break;
    case E_NONE:
        fputs("None", out);
        end(d, e->loc);
        break;
    case E_ATTR:
        fprintf(out, "Attr %s", e->attr.name);
        end(d, e->loc);
        dump_expr(d, e->attr.obj, depth + 1, NULL);
        break;
    case E_SUBSCRIPT:
        fputs("Subscript", out);
        end(d, e->loc);
        dump_expr(d, e->sub.obj, depth + 1, NULL);
        dump_expr(d, e->sub.index, depth + 1, "index");
        break;
    case E_SLICE:
        fputs("Slice", out);
        end(d, e->loc);
        dump_opt(d, e->slice.lo, depth + 1, "lo");
        dump_opt(d, e->slice.hi, depth + 1, "hi");
        dump_opt(d, e->slice.step, depth + 1, "step");
        break;
    case E_CALL:
        fputs("Call", out);
        end(d, e->loc);
        dump_expr(d, e->call.func, depth + 1, NULL);
        for (int i = 0; i < e->call.n_args; i++) dump_arg(d, &e->call.args[i], depth + 1);
        break;
    case E_BINOP:
        fprintf(out, "BinOp %s", op_text(e->bin.op));
        end(d, e->loc);
        dump_expr(d, e->bin.l, depth + 1, NULL);
        dump_expr(d, e->bin.r, depth + 1, NULL);
        break;
    case E_BOOLOP:
        fprintf(out, "BoolOp %s", op_text(e->bin.op));
        end(d, e->loc);
        dump_expr(d, e->bin.l, depth + 1, NULL);
        dump_expr(d, e->bin.r, depth + 1, NULL);
        break;
    case E_UNARY:
        fprintf(out, "UnaryOp %s", op_text(e->un.op));
        end(d, e->loc);
        dump_expr(d, e->un.x, depth + 1, NULL);
        break;
    case E_COMPARE:
        fputs("Compare", out);
        end(d, e->loc);
        dump_expr(d, e->cmp.first, depth + 1, NULL);
        for (int i = 0; i < e->cmp.n; i++) dump_expr(d, e->cmp.rest[i], depth + 1, op_text(e->cmp.ops[i]));
        break;
    case E_IFEXP:
        fputs("IfExp", out);
        end(d, e->loc);
        dump_expr(d, e->ifexp.cond, depth + 1, "cond");
        dump_expr(d, e->ifexp.body, depth + 1, "then");
        dump_expr(d, e->ifexp.orelse, depth + 1, "else");
        break;
    case E_LIST:
    case E_TUPLE:
        fputs(e->kind == E_LIST ? "List" : "Tuple", out);
        end(d, e->loc);
        dump_list(d, &e->elts, depth + 1, NULL);
        break;
    case E_DICT:
        fputs("Dict", out);
        end(d, e->loc);
        for (int i = 0; i < e->dict.n; i++) {
            if (e->dict.keys[i]) {
                dump_expr(d, e->dict.keys[i], depth + 1, "key");
                dump_expr(d, e->dict.values[i], depth + 1, "value");
            } else {
                dump_expr(d, e->dict.values[i], depth + 1, "**");
            }
        }
        break;
    case E_SET:
        fputs("Set", out);
        end(d, e->loc);
        dump_list(d, &e->elts, depth + 1, NULL);
        break;
    case E_LAMBDA:
        fputs("Lambda", out);
        end(d, e->loc);
        for (int i = 0; i < e->lambda->n_params; i++) dump_param(d, &e->lambda->params[i], depth + 1);
        dump_expr(d, e->lambda->body.v[0]->expr, depth + 1, "body");
        break;
    case E_LISTCOMP:
    case E_GENEXP:
    case E_SETCOMP:
    case E_DICTCOMP:
        fputs(e->kind == E_LISTCOMP ? "ListComp" : e->kind == E_GENEXP ? "GeneratorExp" : e->kind == E_SETCOMP ? "SetComp" : "DictComp", out);
        end(d, e->loc);
        dump_expr(d, e->comp.elt, depth + 1, e->kind == E_DICTCOMP ? "key" : "elt");
        if (e->kind == E_DICTCOMP) dump_expr(d, e->comp.value, depth + 1, "value");
        for (int i = 0; i < e->comp.n_gens; i++) {
            const Comprehension *g = &e->comp.gens[i];
            dump_expr(d, g->target, depth + 1, "for");
            dump_expr(d, g->iter, depth + 1, "in");
            dump_list(d, &g->ifs, depth + 1, "if");
        }
        break;
    case E_STARRED:
        fputs("Starred", out);
        end(d, e->loc);
        dump_expr(d, e->starred.value, depth + 1, NULL);
        break;
    case E_YIELD:
        fputs(e->yield_.from ? "YieldFrom" : "Yield", out);
        end(d, e->loc);
        if (e->yield_.value) dump_expr(d, e->yield_.value, depth + 1, NULL);
        break;
    }
}

static void dump_block(Dumper *d, const StmtList *l, int depth, const char *label)
{
    if (l->n == 0) return;
    heading(d, depth, label);
    dump_stmts(d, l, depth + 1);
}

static void dump_param(Dumper *d, const Param *p, int depth)
{
    const char *pre = p->kind == PARAM_STAR ? "*" : p->kind == PARAM_DSTAR ? "**" : "";
    begin(d, depth, NULL);
    fprintf(d->out, "Param %s%s%s", pre, p->name, p->kind == PARAM_KWONLY ? " kwonly" : "");
    end(d, p->loc);
    dump_opt(d, p->annotation, depth + 1, "annotation");
    dump_opt(d, p->def, depth + 1, "default");
}

static void dump_alias(Dumper *d, const ImportName *n, int depth)
{
    begin(d, depth, NULL);
    fprintf(d->out, "Alias %s", n->name);
    if (n->asname) fprintf(d->out, " as %s", n->asname);
    end(d, n->loc);
}

static void dump_stmt(Dumper *d, const Stmt *s, int depth)
{
    FILE *out = d->out;
    begin(d, depth, NULL);
    switch (s->kind) {
    case S_EXPR:
        fputs("Expr", out);
        end(d, s->loc);
        dump_expr(d, s->expr, depth + 1, NULL);
        break;
    case S_ASSIGN:
        fputs("Assign", out);
        end(d, s->loc);
        for (int i = 0; i < s->assign.n_targets; i++) dump_expr(d, s->assign.targets[i], depth + 1, "target");
        dump_expr(d, s->assign.value, depth + 1, "value");
        break;
    case S_AUGASSIGN:
        fprintf(out, "AugAssign %s=", op_text(s->aug.op));
        end(d, s->loc);
        dump_expr(d, s->aug.target, depth + 1, "target");
        dump_expr(d, s->aug.value, depth + 1, "value");
        break;
    case S_ANNASSIGN:
        fputs("AnnAssign", out);
        end(d, s->loc);
        dump_expr(d, s->ann.target, depth + 1, "target");
        dump_expr(d, s->ann.annotation, depth + 1, "annotation");
        dump_opt(d, s->ann.value, depth + 1, "value");
        break;
    case S_IF:
        fputs("If", out);
        end(d, s->loc);
        dump_expr(d, s->if_.cond, depth + 1, "cond");
        dump_block(d, &s->if_.body, depth + 1, "then");
        dump_block(d, &s->if_.orelse, depth + 1, "else");
        break;
    case S_FOR:
        fputs("For", out);
        end(d, s->loc);
        dump_expr(d, s->for_.target, depth + 1, "target");
        dump_expr(d, s->for_.iter, depth + 1, "iter");
        dump_block(d, &s->for_.body, depth + 1, "body");
        dump_block(d, &s->for_.orelse, depth + 1, "else");
        break;
    case S_RETURN:
        fputs("Return", out);
        end(d, s->loc);
        dump_opt(d, s->expr, depth + 1, NULL);
        break;
    case S_ASSERT:
        fputs("Assert", out);
        end(d, s->loc);
        dump_expr(d, s->assert_.cond, depth + 1, "cond");
        dump_opt(d, s->assert_.msg, depth + 1, "msg");
        break;
    case S_RAISE:
        fputs("Raise", out);
        end(d, s->loc);
        dump_opt(d, s->expr, depth + 1, NULL);
        break;
    case S_WHILE:
        fputs("While", out);
        end(d, s->loc);
        dump_expr(d, s->while_.cond, depth + 1, "cond");
        dump_block(d, &s->while_.body, depth + 1, "body");
        dump_block(d, &s->while_.orelse, depth + 1, "else");
        break;
    case S_TRY:
        fputs("Try", out);
        end(d, s->loc);
        dump_block(d, &s->try_.body, depth + 1, "body");
        for (int i = 0; i < s->try_.n_handlers; i++) {
            const ExceptHandler *h = &s->try_.handlers[i];
            dump_opt(d, h->type, depth + 1, "except");
            dump_block(d, &h->body, depth + 1, "handler");
        }
        dump_block(d, &s->try_.orelse, depth + 1, "else");
        dump_block(d, &s->try_.finalbody, depth + 1, "finally");
        break;
    case S_WITH:
        fputs("With", out);
        end(d, s->loc);
        for (int i = 0; i < s->with_.n; i++) {
            dump_expr(d, s->with_.items[i].ctx, depth + 1, "item");
            dump_opt(d, s->with_.items[i].target, depth + 1, "as");
        }
        dump_block(d, &s->with_.body, depth + 1, "body");
        break;
    case S_DEL:
        fputs("Delete", out);
        end(d, s->loc);
        dump_list(d, &s->del_, depth + 1, NULL);
        break;
    case S_GLOBAL:
    case S_NONLOCAL:
        fputs(s->kind == S_GLOBAL ? "Global" : "Nonlocal", out);
        for (int i = 0; i < s->names.n; i++) fprintf(out, " %s", s->names.v[i]);
        end(d, s->loc);
        break;
    case S_PASS:
        fputs("Pass", out);
        end(d, s->loc);
        break;
    case S_BREAK:
        fputs("Break", out);
        end(d, s->loc);
        break;
    case S_CONTINUE:
        fputs("Continue", out);
        end(d, s->loc);
        break;
    case S_DEF: {
        const FuncDef *f = s->def;
        fprintf(out, "FunctionDef %s", f->name);
        end(d, s->loc);
        dump_list(d, &f->decorators, depth + 1, "decorator");
        for (int i = 0; i < f->n_params; i++) dump_param(d, &f->params[i], depth + 1);
        dump_opt(d, f->returns, depth + 1, "returns");
        dump_block(d, &f->body, depth + 1, "body");
        break;
    }
    case S_CLASS: {
        const ClassDef *c = s->cls;
        fprintf(out, "ClassDef %s", c->name);
        end(d, s->loc);
        dump_list(d, &c->decorators, depth + 1, "decorator");
        for (int i = 0; i < c->n_bases; i++) dump_expr(d, c->bases[i].value, depth + 1, "base");
        dump_block(d, &c->body, depth + 1, "body");
        break;
    }
    case S_IMPORT:
        fputs("Import", out);
        end(d, s->loc);
        for (int i = 0; i < s->import_.n; i++) dump_alias(d, &s->import_.names[i], depth + 1);
        break;
    case S_FROM:
        fputs("ImportFrom ", out);
        for (int i = 0; i < s->from.level; i++) fputc('.', out);
        fprintf(out, "%s%s", s->from.module ? s->from.module : "", s->from.star ? " *" : "");
        end(d, s->loc);
        for (int i = 0; i < s->from.n; i++) dump_alias(d, &s->from.names[i], depth + 1);
        break;
    }
}

static void dump_stmts(Dumper *d, const StmtList *l, int depth)
{
    for (int i = 0; i < l->n; i++) dump_stmt(d, l->v[i], depth);
}

void ast_dump_ex(FILE *out, const AstModule *m, bool with_locs)
{
    Dumper d = {out, with_locs};
    fputs("Module\n", out);
    dump_stmts(&d, &m->body, 1);
}

void ast_dump(FILE *out, const AstModule *m) { ast_dump_ex(out, m, false); }
