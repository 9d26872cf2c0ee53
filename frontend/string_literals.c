/* String literals: escape decoding (for the lexer) and f-strings split into literal
 * pieces and parsed {fields} (for the parser). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ast.h"
#include "parser.h"

static SrcLoc L(ParseState *ps, BclLoc l) { return bcl_loc_to_src(ps->src, l); }
static Expr *mkexpr(ParseState *ps, ExprKind k, BclLoc l) { return ast_new_expr(ps->a, k, L(ps, l)); }

/* Stands for a field that was reported; the module is never returned. */
static Expr *dummy(ParseState *ps, BclLoc l) { return mkexpr(ps, E_NONE, l); }

static ExprList exprlist(ParseState *ps, const PtrVec *v)
{
    ExprList l = {v->n, ARENA_NEWN(ps->a, Expr *, v->n)};
    for (int i = 0; i < v->n; i++) l.v[i] = v->v[i];
    return l;
}

/* ---- escapes ---- */

static void put_utf8(char *out, int64_t *k, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*k)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*k)++] = (char)(0xc0 | (cp >> 6));
        out[(*k)++] = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out[(*k)++] = (char)(0xe0 | (cp >> 12));
        out[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*k)++] = (char)(0x80 | (cp & 0x3f));
    } else {
        out[(*k)++] = (char)(0xf0 | (cp >> 18));
        out[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[(*k)++] = (char)(0x80 | (cp & 0x3f));
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The location of raw[i], raw starting at (line, col, off). */
BclLoc bcl_loc_in(const char *raw, int i, int len, int line, int col, int off)
{
    for (int k = 0; k < i; k++) {
        if (raw[k] == '\n') line++, col = 1;
        else col++;
    }
    return (BclLoc){line, col, line, col + len, off + i, off + i + len};
}

bool bcl_decode_escapes(Arena *a, Diag *d, const Source *src, const char *raw, int n,
                        int line, int col, int off, bool is_raw, char **out, int64_t *out_len)
{
    /* Every escape yields at most as many bytes as it takes in the source. */
    char *o = arena_alloc(a, (size_t)n + 1);
    int64_t k = 0;
    bool ok = true;
    for (int i = 0; i < n;) {
        char c = raw[i];
        if (c != '\\' || is_raw || i + 1 == n) {
            o[k++] = c;
            i++;
            continue;
        }
        char e = raw[i + 1];
        int start = i;
        i += 2;
        switch (e) {
        case '\n': break;
        case '\\': o[k++] = '\\'; break;
        case '\'': o[k++] = '\''; break;
        case '"': o[k++] = '"'; break;
        case 'a': o[k++] = '\a'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'v': o[k++] = '\v'; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
            uint32_t v = (uint32_t)(e - '0');
            for (int j = 0; j < 2 && i < n && raw[i] >= '0' && raw[i] <= '7'; j++)
                v = v * 8 + (uint32_t)(raw[i++] - '0');
            put_utf8(o, &k, v);
            break;
        }
        case 'x': case 'u': case 'U': {
            int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            uint32_t v = 0;
            int j = 0;
            for (; j < digits && i < n && hexval((unsigned char)raw[i]) >= 0; j++)
                v = v * 16 + (uint32_t)hexval((unsigned char)raw[i++]);
            if (j < digits) {
                diag_error(d, bcl_loc_to_src(src, bcl_loc_in(raw, start, i - start, line, col, off)),
                           "truncated \\%c escape: it needs %d hex digits", e, digits);
                ok = false;
            } else if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
                diag_error(d, bcl_loc_to_src(src, bcl_loc_in(raw, start, i - start, line, col, off)),
                           "\\%c escape is not a valid Unicode character", e);
                ok = false;
            } else {
                put_utf8(o, &k, v);
            }
            break;
        }
        case 'N':
            diag_error(d, bcl_loc_to_src(src, bcl_loc_in(raw, start, 2, line, col, off)),
                       "\\N{...} escapes are not supported in .bcl");
            ok = false;
            break;
        default:    /* unknown escapes stay as written, as in Python */
            o[k++] = '\\';
            o[k++] = e;
            break;
        }
    }
    o[k] = 0;
    *out = o;
    *out_len = k;
    return ok;
}

/* ---- f-strings ---- */

/* The location of body[i] of string token t (the body is verbatim source). */
static BclLoc body_pos(ParseState *ps, const StrTok *t, int i, int len)
{
    const char *raw = ps->src->text + t->body_off;
    int line = t->body_line, col = t->body_col;
    for (int k = 0; k < i; k++) {
        if (raw[k] == '\n') line++, col = 1;
        else col++;
    }
    BclLoc l = {line, col, line, col, t->body_off + i, t->body_off + i};
    const char *p = raw + i;
    for (int k = 0; k < len; k++) {
        if (p[k] == '\n') l.last_line++, l.last_column = 1;
        else l.last_column++;
    }
    l.end += len;
    return l;
}

typedef struct FsBuild {
    PtrVec parts;       /* E_STR and E_FIELD */
    char *lit;          /* the literal text being gathered */
    int64_t lit_len, lit_cap;
    bool has_lit;
    BclLoc lit_loc;
} FsBuild;

static void lit_add(ParseState *ps, FsBuild *b, const char *s, int64_t n, BclLoc l)
{
    if (b->lit_len + n + 1 > b->lit_cap) {
        int64_t cap = (b->lit_len + n + 1) * 2;
        b->lit = arena_grow(ps->a, b->lit, (size_t)b->lit_len, (size_t)cap, 1);
        b->lit_cap = cap;
    }
    memcpy(b->lit + b->lit_len, s, (size_t)n);
    b->lit_len += n;
    b->lit[b->lit_len] = 0;
    if (!b->has_lit) {
        b->lit_loc = l;
        b->has_lit = true;
    } else {
        b->lit_loc.last_line = l.last_line;
        b->lit_loc.last_column = l.last_column;
        b->lit_loc.end = l.end;
    }
}

static void lit_flush(ParseState *ps, FsBuild *b)
{
    if (!b->has_lit) return;
    if (b->lit_len > 0) {
        Expr *e = mkexpr(ps, E_STR, b->lit_loc);
        e->str = b->lit;
        e->str_len = b->lit_len;
        ptrvec_push(ps->a, &b->parts, e);
    }
    b->lit = NULL;
    b->lit_len = b->lit_cap = 0;
    b->has_lit = false;
}

/* Decodes body[from, to) of an f-string token into the literal being gathered. */
static void fs_segment(ParseState *ps, FsBuild *b, const StrTok *t, int from, int to)
{
    if (to <= from) return;
    BclLoc l = body_pos(ps, t, from, to - from);
    char *out;
    int64_t n;
    bcl_decode_escapes(ps->a, ps->d, ps->src, ps->src->text + t->body_off + from, to - from,
                       l.first_line, l.first_column, l.start, t->is_raw, &out, &n);
    lit_add(ps, b, out, n, l);
}

/* Parses the expression of an f-string field, body[from, to) of token t. */
static Expr *parse_field(ParseState *ps, const StrTok *t, int from, int to)
{
    BclLoc l = body_pos(ps, t, from, 0);
    ParseState sub = *ps;
    sub.module = NULL;
    sub.field = NULL;
    sub.after_error = false;
    sub.lx = bcl_lexer_new(ps->a, ps->d, ps->src, true, l.start, to - from, l.first_line,
                           l.first_column);
    int errs = ps->d->n_errors;
    int rc = bcl_yyparse(&sub);
    bcl_lexer_free(sub.lx);
    if (rc != 0 || ps->d->n_errors != errs || !sub.field) return NULL;
    return sub.field;
}

static bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f'; }

/* One `{expr!c:spec}` field starting at body[i] == '{'; returns the index after it. */
static int fs_field(ParseState *ps, FsBuild *b, const StrTok *t, int i)
{
    const char *raw = ps->src->text + t->body_off;
    int n = t->body_len;
    int j = i + 1, nest = 0;
    char quote = 0;
    for (; j < n; j++) {
        char c = raw[j];
        if (quote) {
            if (c == '\\') j++;
            else if (c == quote) quote = 0;
            continue;
        }
        if (c == '\'' || c == '"') quote = c;
        else if (c == '(' || c == '[' || c == '{') nest++;
        else if (c == ')' || c == ']' || c == '}') {
            if (nest == 0) break;
            nest--;
        } else if (nest == 0 && c == '!' && !(j + 1 < n && raw[j + 1] == '=')) break;
        else if (nest == 0 && c == ':') break;
        else if (c == '#') {
            diag_error(ps->d, L(ps, body_pos(ps, t, j, 1)), "f-string expression part cannot include '#'");
            return n;
        }
    }
    if (j >= n) {
        diag_error(ps->d, L(ps, body_pos(ps, t, i, 1)), "f-string: expecting '}'");
        return n;
    }
    if (raw[j] == ')' || raw[j] == ']') {
        diag_error(ps->d, L(ps, body_pos(ps, t, j, 1)), "f-string: unmatched '%c'", raw[j]);
        return n;
    }
    int e0 = i + 1, e1 = j;
    while (e0 < e1 && is_blank(raw[e0])) e0++;
    while (e1 > e0 && is_blank(raw[e1 - 1])) e1--;
    if (e0 == e1) {
        diag_error(ps->d, L(ps, body_pos(ps, t, i, j - i + 1)), "f-string: empty expression not allowed");
        return j + 1;
    }
    if (raw[e1 - 1] == '=' && (e1 - 2 < e0 || !strchr("=!<>", raw[e1 - 2]))) {
        diag_error(ps->d, L(ps, body_pos(ps, t, e1 - 1, 1)),
                   "f-string '=' specifier is not supported in .bcl");
        e1--;
    }
    Expr *value = parse_field(ps, t, i + 1, e1);
    char conv = 0;
    const char *spec = NULL;
    int k = j;
    if (raw[k] == '!') {
        char c = k + 1 < n ? raw[k + 1] : 0;
        if (c == 'r' || c == 's') {
            conv = c;
        } else if (c == 'a') {
            diag_error(ps->d, L(ps, body_pos(ps, t, k, 2)), "'!a' conversion is not supported in .bcl");
        } else {
            diag_error(ps->d, L(ps, body_pos(ps, t, k, 1)),
                       "f-string: invalid conversion character: expected 's' or 'r'");
        }
        k += 2;
    }
    if (k < n && raw[k] == ':') {
        int s0 = k + 1, depth = 0;
        for (k = s0; k < n; k++) {
            if (raw[k] == '{') {
                if (depth++ == 0)
                    diag_error(ps->d, L(ps, body_pos(ps, t, k, 1)),
                               "nested fields in a format spec are not supported in .bcl");
            } else if (raw[k] == '}') {
                if (depth == 0) break;
                depth--;
            }
        }
        char *out;
        int64_t sn;
        BclLoc sl = body_pos(ps, t, s0, k - s0);
        bcl_decode_escapes(ps->a, ps->d, ps->src, raw + s0, (k < n ? k : n) - s0, sl.first_line,
                           sl.first_column, sl.start, t->is_raw, &out, &sn);
        spec = out;
    }
    if (k >= n || raw[k] != '}') {
        diag_error(ps->d, L(ps, body_pos(ps, t, i, 1)), "f-string: expecting '}'");
        return n;
    }
    lit_flush(ps, b);
    Expr *f = mkexpr(ps, E_FIELD, body_pos(ps, t, i, k + 1 - i));
    f->field.value = value ? value : dummy(ps, body_pos(ps, t, i + 1, j - i - 1));
    f->field.conv = conv;
    f->field.spec = spec;
    ptrvec_push(ps->a, &b->parts, f);
    return k + 1;
}

static void fs_split(ParseState *ps, FsBuild *b, const StrTok *t)
{
    const char *raw = ps->src->text + t->body_off;
    int n = t->body_len, seg = 0, i = 0;
    while (i < n) {
        char c = raw[i];
        if (c == '\\' && !t->is_raw) {
            /* skip the escaped character, but a brace after a backslash is still a brace */
            i += (i + 1 < n && raw[i + 1] != '{' && raw[i + 1] != '}') ? 2 : 1;
            continue;
        }
        if (c != '{' && c != '}') {
            i++;
            continue;
        }
        fs_segment(ps, b, t, seg, i);
        if (i + 1 < n && raw[i + 1] == c) {
            lit_add(ps, b, &raw[i], 1, body_pos(ps, t, i, 2));
            i += 2;
        } else if (c == '}') {
            diag_error(ps->d, L(ps, body_pos(ps, t, i, 1)), "f-string: single '}' is not allowed");
            i++;
        } else {
            i = fs_field(ps, b, t, i);
        }
        seg = i;
    }
    fs_segment(ps, b, t, seg, n);
}

/* Adjacent literals: one E_STR, or an E_FSTRING if any of them is an f-string. */
Expr *bcl_make_strings(ParseState *ps, PtrVec *toks, BclLoc l)
{
    bool any_f = false;
    int64_t total = 0;
    for (int i = 0; i < toks->n; i++) {
        StrTok *t = toks->v[i];
        any_f |= t->is_f;
        if (!t->is_f) total += t->len;
    }
    if (!any_f) {
        Expr *e = mkexpr(ps, E_STR, l);
        char *s = arena_alloc(ps->a, (size_t)total + 1);
        int64_t k = 0;
        for (int i = 0; i < toks->n; i++) {
            StrTok *t = toks->v[i];
            memcpy(s + k, t->s, (size_t)t->len);
            k += t->len;
        }
        e->str = s;
        e->str_len = total;
        return e;
    }
    FsBuild b = {0};
    for (int i = 0; i < toks->n; i++) {
        StrTok *t = toks->v[i];
        if (t->is_f) fs_split(ps, &b, t);
        else lit_add(ps, &b, t->s, t->len, body_pos(ps, t, 0, t->body_len));
    }
    lit_flush(ps, &b);
    Expr *e = mkexpr(ps, E_FSTRING, l);
    e->fstr = exprlist(ps, &b.parts);
    return e;
}

