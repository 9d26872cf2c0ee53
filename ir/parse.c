/* Textual IR reader: the inverse of ir_print (format in docs/internals/ir.md).
 * Every malformed input is a diagnostic located in the IR text; nodes are rebuilt
 * through ir_add_node, so shapes are re-inferred and checked against the text.
 * Trailing "# file:line:col" comments become node locations with a synthetic
 * Source (path only, no text), so diagnostics still name the .bcl position. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

typedef enum { T_EOF, T_IDENT, T_NUM, T_LOCAL, T_GLOBAL, T_PUNCT, T_COMMENT } TokKind;

typedef struct Tok {
    TokKind kind;
    const char *p;      /* start in the source text */
    int len;
    int line, col;
    char *str;          /* decoded name (ident, %name, @name) or comment text */
    bool numeric;       /* %123 */
} Tok;

typedef struct Sym { const char *key; bool numeric; IrValue *v; } Sym;

typedef struct Parser {
    Arena *a;
    Diag *d;
    const Source *src;
    Tok *toks;
    int n_toks, pos;
    IrGraph *g;
    Sym *syms;
    int n_syms, cap_syms;
    const Source **paths;   /* synthetic sources for "# file:line:col" */
    int n_paths;
    bool failed;
    bool wide;              /* parse_int accepts any int64 (slice bounds) */
} Parser;

#define INT_LIMIT ((long long)1 << 40)

static SrcLoc tok_loc(Parser *P, const Tok *t)
{
    return (SrcLoc){P->src, t->line, t->col, t->len > 0 ? t->len : 1};
}

static bool perr(Parser *P, const Tok *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool perr(Parser *P, const Tok *t, const char *fmt, ...)
{
    if (P->failed) return false;       /* report the first error only: the rest cascades */
    P->failed = true;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    diag_error(P->d, tok_loc(P, t), "%s", msg);
    return false;
}

/* ---- lexer ---- */

static void push_tok(Parser *P, int *cap, Tok t)
{
    if (P->n_toks == *cap) {
        int nc = *cap ? *cap * 2 : 256;
        P->toks = arena_grow(P->a, P->toks, (size_t)P->n_toks, (size_t)nc, sizeof(Tok));
        *cap = nc;
    }
    P->toks[P->n_toks++] = t;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads a "..." string at *pp; returns the decoded text or NULL (with *bad set). */
static char *lex_string(Parser *P, const char **pp, const char *end, const char **bad)
{
    const char *p = *pp + 1;
    char *buf = arena_alloc(P->a, (size_t)(end - p) + 1);
    size_t n = 0;
    while (p < end && *p != '"' && *p != '\n') {
        if (*p == '\\') {
            if (p + 1 < end && (p[1] == '"' || p[1] == '\\')) {
                buf[n++] = p[1];
                p += 2;
            } else if (p + 3 < end && p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
                buf[n++] = (char)(hexval(p[2]) * 16 + hexval(p[3]));
                p += 4;
            } else {
                *bad = p;
                return NULL;
            }
        } else {
            buf[n++] = *p++;
        }
    }
    if (p >= end || *p != '"') {
        *bad = *pp;
        return NULL;
    }
    buf[n] = 0;
    *pp = p + 1;
    return buf;
}

static bool ident_start(int c) { return isalpha(c) || c == '_'; }
static bool ident_char(int c) { return isalnum(c) || c == '_'; }

static bool lex(Parser *P)
{
    const char *p = P->src->text, *end = p + P->src->len, *line_start = p;
    int line = 1, cap = 0;
    while (p < end) {
        if (*p == '\n') { p++; line++; line_start = p; continue; }
        if (isspace((unsigned char)*p)) { p++; continue; }
        Tok t = {.p = p, .line = line, .col = (int)(p - line_start) + 1};
        if (*p == '#') {
            const char *e = memchr(p, '\n', (size_t)(end - p));
            if (!e) e = end;
            t.kind = T_COMMENT;
            t.len = (int)(e - p);
            t.str = arena_strndup(P->a, p + 1, (size_t)(e - p - 1));
            p = e;
        } else if (*p == '%' || *p == '@') {
            t.kind = *p == '%' ? T_LOCAL : T_GLOBAL;
            const char *q = p + 1;
            if (q < end && *q == '"') {
                const char *bad = NULL;
                t.str = lex_string(P, &q, end, &bad);
                if (!t.str) {
                    t.col = (int)(bad - line_start) + 1;
                    t.len = 1;
                    return perr(P, &t, "bad string literal");
                }
            } else if (q < end && isdigit((unsigned char)*q) && t.kind == T_LOCAL) {
                while (q < end && isdigit((unsigned char)*q)) q++;
                t.numeric = true;
                t.str = arena_strndup(P->a, p + 1, (size_t)(q - p - 1));
            } else if (q < end && ident_start((unsigned char)*q)) {
                while (q < end && ident_char((unsigned char)*q)) q++;
                t.str = arena_strndup(P->a, p + 1, (size_t)(q - p - 1));
            } else {
                t.len = 1;
                return perr(P, &t, "expected a name after '%c'", *p);
            }
            t.len = (int)(q - p);
            p = q;
        } else if (ident_start((unsigned char)*p)) {
            const char *q = p;
            while (q < end && ident_char((unsigned char)*q)) q++;
            t.kind = T_IDENT;
            t.len = (int)(q - p);
            t.str = arena_strndup(P->a, p, (size_t)t.len);
            p = q;
        } else if (isdigit((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.') {
            char *q;
            errno = 0;
            (void)strtod(p, &q);
            if (q > end) q = (char *)end;   /* a text not NUL-terminated at len */
            if (q == p) {
                t.len = 1;
                return perr(P, &t, "bad number");
            }
            t.kind = T_NUM;
            t.len = (int)(q - p);
            t.str = arena_strndup(P->a, p, (size_t)t.len);
            p = q;
        } else if (*p && strchr("{}[]():=,", *p)) {
            t.kind = T_PUNCT;
            t.len = 1;
            p++;
        } else {
            t.len = 1;
            return perr(P, &t, "unexpected character '%c'", isprint((unsigned char)*p) ? *p : '?');
        }
        push_tok(P, &cap, t);
    }
    Tok eof = {.kind = T_EOF, .p = end, .line = line, .col = (int)(end - line_start) + 1};
    push_tok(P, &cap, eof);
    return true;
}

/* ---- token stream ---- */

/* Comments are skipped here; only trailing_loc looks at them. */
static int skip_comments(const Parser *P)
{
    int i = P->pos;
    while (P->toks[i].kind == T_COMMENT) i++;
    return i;
}

static Tok *peek(Parser *P) { return &P->toks[skip_comments(P)]; }

static Tok *next(Parser *P)
{
    int i = skip_comments(P);
    if (P->toks[i].kind != T_EOF) P->pos = i + 1;
    return &P->toks[i];
}

static bool is_punct(const Tok *t, char c) { return t->kind == T_PUNCT && *t->p == c; }
static bool is_kw(const Tok *t, const char *kw) { return t->kind == T_IDENT && strcmp(t->str, kw) == 0; }

static bool expect(Parser *P, char c)
{
    Tok *t = peek(P);
    if (!is_punct(t, c)) return perr(P, t, "expected '%c'", c);
    (void)next(P);
    return true;
}

static const char *tok_text(const Tok *t)
{
    static _Thread_local char buf[64];
    if (t->kind == T_EOF) return "end of file";
    snprintf(buf, sizeof buf, "'%.*s'", t->len > 40 ? 40 : t->len, t->p);
    return buf;
}

/* ---- symbols ---- */

static IrValue *lookup(Parser *P, const Tok *t)
{
    for (int i = 0; i < P->n_syms; i++)
        if (P->syms[i].numeric == t->numeric && strcmp(P->syms[i].key, t->str) == 0) return P->syms[i].v;
    return NULL;
}

static bool define(Parser *P, const Tok *t, IrValue *v)
{
    if (lookup(P, t)) return perr(P, t, "redefinition of %.*s", t->len, t->p);
    if (P->n_syms == P->cap_syms) {
        int nc = P->cap_syms ? P->cap_syms * 2 : 64;
        P->syms = arena_grow(P->a, P->syms, (size_t)P->n_syms, (size_t)nc, sizeof(Sym));
        P->cap_syms = nc;
    }
    P->syms[P->n_syms++] = (Sym){t->str, t->numeric, v};
    return true;
}

static IrValue *use(Parser *P)
{
    Tok *t = peek(P);
    if (t->kind != T_LOCAL) {
        perr(P, t, "expected a value (%%name), got %s", tok_text(t));
        return NULL;
    }
    (void)next(P);
    IrValue *v = lookup(P, t);
    if (!v) perr(P, t, "use of undefined value %.*s", t->len, t->p);
    return v;
}

/* ---- literals ---- */

/* Integers are bounded so that shape arithmetic cannot overflow; slice bounds (P->wide)
 * may use the whole range, Python style, and are clamped by the builder. */
static bool parse_int(Parser *P, int64_t *out)
{
    Tok *t = next(P);
    char *e;
    errno = 0;
    long long v = t->kind == T_NUM ? strtoll(t->str, &e, 10) : 0;
    if (t->kind != T_NUM || *e || errno) return perr(P, t, "expected an integer, got %s", tok_text(t));
    if (!P->wide && (v > INT_LIMIT || v < -INT_LIMIT)) return perr(P, t, "integer %s is out of range", t->str);
    *out = v;
    return true;
}

static bool parse_float(Parser *P, float *out)
{
    Tok *t = next(P);
    if (t->kind == T_IDENT && (strcmp(t->str, "inf") == 0 || strcmp(t->str, "nan") == 0)) {
        *out = strtof(t->str, NULL);
        return true;
    }
    if (t->kind != T_NUM) return perr(P, t, "expected a number, got %s", tok_text(t));
    *out = strtof(t->str, NULL);
    return true;
}

/* "[1, 2, 3]" into v (at most max); n receives the count. */
static bool parse_int_list(Parser *P, int64_t *v, int max, int *n, const char *what)
{
    Tok *start = peek(P);
    if (!expect(P, '[')) return false;
    *n = 0;
    if (is_punct(peek(P), ']')) { (void)next(P); return true; }
    for (;;) {
        int64_t x;
        if (!parse_int(P, &x)) return false;
        if (*n >= max) return perr(P, start, "%s: more than %d elements", what, max);
        v[(*n)++] = x;
        Tok *t = next(P);
        if (is_punct(t, ']')) return true;
        if (!is_punct(t, ',')) return perr(P, t, "expected ',' or ']' in a list, got %s", tok_text(t));
    }
}

static bool parse_type(Parser *P, Shape *s)
{
    Tok *t = next(P);
    if (!is_kw(t, "f32")) return perr(P, t, "expected a type like f32[1, 3], got %s", tok_text(t));
    Tok *lb = peek(P);
    memset(s, 0, sizeof *s);
    if (!parse_int_list(P, s->d, BCL_MAX_RANK, &s->rank, "shape")) return false;
    int64_t numel = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->d[i] < 0) return perr(P, lb, "negative dimension in a type");
        if (s->d[i] && numel > INT_LIMIT / s->d[i]) return perr(P, lb, "type too large");
        numel *= s->d[i];
    }
    return true;
}

/* ---- attributes ---- */

static bool parse_bool(Parser *P, bool *out)
{
    Tok *t = next(P);
    if (is_kw(t, "true")) *out = true;
    else if (is_kw(t, "false")) *out = false;
    else return perr(P, t, "expected true or false, got %s", tok_text(t));
    return true;
}

static bool parse_fixed(Parser *P, const Tok *key, int64_t *v, int want)
{
    int64_t tmp[16];
    int n;
    if (!parse_int_list(P, tmp, 16, &n, key->str)) return false;
    if (n != want) return perr(P, key, "%s takes %d values, got %d", key->str, want, n);
    memcpy(v, tmp, sizeof(int64_t) * (size_t)n);
    return true;
}

/* One "key = value"; param declarations only accept init (init != NULL); a node of
 * op accepts the attributes its ops.def ATTRS column names, and act/act_alpha. */
typedef struct { IrInit kind; float args[4]; } InitSpec;

static bool parse_attr(Parser *P, int op, IrAttrs *a, InitSpec *init)
{
    Tok *key = next(P);
    if (key->kind != T_IDENT) return perr(P, key, "expected an attribute name, got %s", tok_text(key));
    if (!expect(P, '=')) return false;
    const char *k = key->str;
    int n;
    if (init) {
        if (strcmp(k, "init") != 0) return perr(P, key, "unknown parameter attribute '%s'", k);
        Tok *t = next(P);
        int v = t->kind == T_IDENT ? ir_init_by_name(t->str) : -1;
        if (v < 0)
            return perr(P, t, "unknown init %s (zeros, ones, fan_in, var, uniform, normal, trunc_normal, const)",
                        tok_text(t));
        init->kind = (IrInit)v;
        int n_args = ir_init_n_args(init->kind);
        if (n_args) {   /* "normal(0, 0.02)" */
            if (!expect(P, '(')) return false;
            for (int k = 0; k < n_args; k++) {
                if (k && !expect(P, ',')) return false;
                if (!parse_float(P, &init->args[k])) return false;
            }
            if (!expect(P, ')')) return false;
        }
        return true;
    }
    unsigned bit = ir_attr_by_key(k);
    if (bit && !(ir_op_info[op].attrs & bit))
        return perr(P, key, "%s has no attribute '%s'", ir_op_info[op].name, k);
    if (!strcmp(k, "stride")) return parse_fixed(P, key, a->stride, 2);
    if (!strcmp(k, "dilation")) return parse_fixed(P, key, a->dilation, 2);
    if (!strcmp(k, "kernel")) return parse_fixed(P, key, a->kernel, 2);
    if (!strcmp(k, "pad")) return parse_fixed(P, key, a->pad, 4);
    if (!strcmp(k, "groups")) return parse_int(P, &a->groups);
    if (!strcmp(k, "count_include_pad")) return parse_bool(P, &a->count_include_pad);
    if (!strcmp(k, "keepdim")) return parse_bool(P, &a->keepdim);
    if (!strcmp(k, "flatten")) return parse_bool(P, &a->flatten);
    if (!strcmp(k, "axis")) return parse_int(P, &a->axis);
    if (!strcmp(k, "n_axes")) {
        int64_t v;
        if (!parse_int(P, &v)) return false;
        if (v < 0 || v > BCL_MAX_RANK) return perr(P, key, "n_axes out of range");
        a->n_axes = (int)v;
        return true;
    }
    if (!strcmp(k, "axes")) return parse_int_list(P, a->axes, BCL_MAX_RANK, &a->n_axes, k);
    if (!strcmp(k, "shape")) return parse_int_list(P, a->shape.d, BCL_MAX_RANK, &a->shape.rank, k);
    if (!strcmp(k, "perm")) return parse_int_list(P, a->perm, BCL_MAX_RANK, &n, k);
    if (!strcmp(k, "begin") || !strcmp(k, "end")) {
        P->wide = true;
        bool ok = parse_int_list(P, !strcmp(k, "begin") ? a->begin : a->end, BCL_MAX_RANK, &n, k);
        P->wide = false;
        return ok;
    }
    if (!strcmp(k, "step")) return parse_int_list(P, a->step, BCL_MAX_RANK, &n, k);
    if (!strcmp(k, "shifts")) return parse_int_list(P, a->shifts, BCL_MAX_RANK, &n, k);
    if (!strcmp(k, "pads")) return parse_int_list(P, a->pads, 2 * BCL_MAX_RANK, &n, k);
    if (!strcmp(k, "value")) return parse_float(P, &a->value);
    if (!strcmp(k, "alpha")) return parse_float(P, &a->alpha);
    if (!strcmp(k, "eps")) return parse_float(P, &a->eps);
    if (!strcmp(k, "act_alpha")) return parse_float(P, &a->act_alpha);
    if (!strcmp(k, "act")) {
        Tok *t = next(P);
        int op = t->kind == T_IDENT ? ir_op_by_name(t->str) : -1;
        if (op < 0 || ir_op_info[op].kind != OPK_ELEMWISE)
            return perr(P, t, "act must be a unary op name, got %s", tok_text(t));
        a->act = op;
        return true;
    }
    return perr(P, key, "unknown attribute '%s'", k);
}

static bool parse_attr_block(Parser *P, int op, IrAttrs *a, InitSpec *init)
{
    if (!is_punct(peek(P), '{')) return true;
    (void)next(P);
    for (;;) {
        if (!parse_attr(P, op, a, init)) return false;
        Tok *t = next(P);
        if (is_punct(t, '}')) return true;
        if (!is_punct(t, ',')) return perr(P, t, "expected ',' or '}' after an attribute, got %s", tok_text(t));
    }
}

/* A trailing "# file:line:col" on the same line as the previous token. */
static SrcLoc trailing_loc(Parser *P)
{
    Tok *t = &P->toks[P->pos];
    if (t->kind != T_COMMENT || P->pos == 0 || P->toks[P->pos - 1].line != t->line) return NO_LOC;
    P->pos++;
    char *s = t->str;
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) n--;
    /* Split from the right: the path itself may contain ':'. */
    int colons[2] = {-1, -1}, found = 0;
    for (size_t i = n; i-- > 0 && found < 2;)
        if (s[i] == ':') colons[found++] = (int)i;
    if (found < 2 || colons[1] == 0) return NO_LOC;
    char *e;
    long line = strtol(s + colons[1] + 1, &e, 10);
    if (e != s + colons[0] || line < 0) return NO_LOC;
    long col = strtol(s + colons[0] + 1, &e, 10);
    if (e != s + n || col < 0) return NO_LOC;
    char *path = arena_strndup(P->a, s, (size_t)colons[1]);
    const Source *src = NULL;
    for (int i = 0; i < P->n_paths && !src; i++)
        if (strcmp(P->paths[i]->path, path) == 0) src = P->paths[i];
    if (!src) {
        Source *ns = ARENA_NEW(P->a, Source);
        ns->path = path;            /* text stays NULL: diagnostics print no source line */
        P->paths = arena_grow(P->a, P->paths, (size_t)P->n_paths, (size_t)P->n_paths + 1,
                              sizeof(Source *));
        P->paths[P->n_paths++] = ns;
        src = ns;
    }
    return (SrcLoc){src, (int)line, (int)col, 0};
}

/* ---- declarations ---- */

static bool parse_decl(Parser *P)
{
    Tok *t = peek(P);
    IrGraph *g = P->g;
    if (is_kw(t, "input") || is_kw(t, "param") || is_kw(t, "const")) {
        (void)next(P);
        Tok *name = next(P);
        if (name->kind != T_LOCAL) return perr(P, name, "expected a value name, got %s", tok_text(name));
        Shape s;
        if (!expect(P, ':') || !parse_type(P, &s)) return false;
        IrValue *v;
        if (is_kw(t, "input")) {
            v = ir_add_input(g, name->numeric ? NULL : name->str, &s);
            v->loc = trailing_loc(P);
        } else if (is_kw(t, "param")) {
            InitSpec init = {INIT_ZEROS, {0}};
            if (!parse_attr_block(P, -1, NULL, &init)) return false;
            v = ir_add_param(g, name->numeric ? "" : name->str, &s, init.kind, NO_LOC);
            memcpy(v->init_args, init.args, sizeof init.args);
            v->loc = trailing_loc(P);
        } else {
            if (!expect(P, '=') || !expect(P, '[')) return false;
            int64_t n = shape_numel(&s), k = 0;
            if (n < 0 || n > (int64_t)1 << 28) return perr(P, name, "constant too large");
            float *data = ARENA_NEWN(P->a, float, n ? n : 1);
            if (!is_punct(peek(P), ']')) {
                for (;;) {
                    float x;
                    if (!parse_float(P, &x)) return false;
                    if (k >= n) return perr(P, name, "constant %s has more than %lld values",
                                            name->str, (long long)n);
                    data[k++] = x;
                    Tok *sep = next(P);
                    if (is_punct(sep, ']')) break;
                    if (!is_punct(sep, ',')) return perr(P, sep, "expected ',' or ']', got %s", tok_text(sep));
                }
            } else {
                (void)next(P);
            }
            if (k != n)
                return perr(P, name, "constant has %lld values but its type needs %lld", (long long)k,
                            (long long)n);
            v = ir_add_const(g, &s, data);
            v->loc = trailing_loc(P);
        }
        return define(P, name, v);
    }
    if (is_kw(t, "output")) {
        (void)next(P);
        IrValue *v = use(P);
        if (!v) return false;
        ir_add_output(g, v);
        return true;
    }
    if (t->kind != T_LOCAL)
        return perr(P, t, "expected a declaration (input, param, const, %%x = op(...), output), got %s",
                    tok_text(t));
    Tok *name = next(P);
    Shape s;
    if (!expect(P, ':') || !parse_type(P, &s) || !expect(P, '=')) return false;
    Tok *opt = next(P);
    int op = opt->kind == T_IDENT ? ir_op_by_name(opt->str) : -1;
    if (op < 0) return perr(P, opt, "unknown op %s", tok_text(opt));
    if (!expect(P, '(')) return false;
    IrValue *in[64];
    int n_in = 0;
    if (!is_punct(peek(P), ')')) {
        for (;;) {
            IrValue *v = use(P);
            if (!v) return false;
            if (n_in == 64) return perr(P, opt, "too many operands");
            in[n_in++] = v;
            Tok *sep = next(P);
            if (is_punct(sep, ')')) break;
            if (!is_punct(sep, ',')) return perr(P, sep, "expected ',' or ')', got %s", tok_text(sep));
        }
    } else {
        (void)next(P);
    }
    IrAttrs a = ir_attrs_default();
    if (!parse_attr_block(P, op, &a, NULL)) return false;
    SrcLoc bcl = trailing_loc(P);
    IrValue *out = ir_add_node(g, (IrOp)op, in, n_in, &a, tok_loc(P, opt), P->d);
    if (!out) {
        P->failed = true;
        return false;
    }
    if (!shape_eq(&out->shape, &s)) {
        char b1[160], b2[160];
        return perr(P, name, "%.*s is declared f32%s but %s gives f32%s", name->len, name->p,
                    shape_str(&s, b1, sizeof b1), ir_op_info[op].name, shape_str(&out->shape, b2, sizeof b2));
    }
    out->def->loc = bcl;
    out->loc = bcl;
    return define(P, name, out);
}

IrGraph *ir_parse(Arena *a, Diag *d, const Source *src)
{
    Parser P = {.a = a, .d = d, .src = src};
    if (!src || !src->text || !lex(&P)) return NULL;
    Tok *t = next(&P);
    if (!is_kw(t, "graph")) {
        perr(&P, t, "expected 'graph', got %s", tok_text(t));
        return NULL;
    }
    Tok *name = next(&P);
    if (name->kind != T_GLOBAL) {
        perr(&P, name, "expected the graph name (@Name), got %s", tok_text(name));
        return NULL;
    }
    P.g = ir_graph_new(a, name->str);
    if (!expect(&P, '{')) return NULL;
    while (!is_punct(peek(&P), '}')) {
        if (peek(&P)->kind == T_EOF) {
            perr(&P, peek(&P), "expected '}' at the end of the graph");
            return NULL;
        }
        if (!parse_decl(&P)) return NULL;
    }
    (void)next(&P);
    t = peek(&P);
    if (t->kind != T_EOF) {
        perr(&P, t, "unexpected %s after the graph", tok_text(t));
        return NULL;
    }
    return P.g;
}
