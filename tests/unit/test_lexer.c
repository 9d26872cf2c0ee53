/* The .bcl lexer: token streams (with INDENT/DEDENT), literals, and lexical errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/ast.h"
#include "parser.h"

typedef struct Lexed {
    char *tokens;   /* one word a token, space-separated */
    char *diags;    /* everything the diagnostics printed */
    int n_errors;
} Lexed;

static void put_escaped(FILE *f, const char *s, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c == '\\') fputs("\\\\", f);
        else if (c < 0x20 || c >= 0x7f) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
}

/* Lexes src in module mode; the leading start token is left out. */
static Lexed lex(const char *src)
{
    Arena a;
    arena_init(&a);
    Lexed r = {0};
    size_t dn, tn;
    FILE *df = open_memstream(&r.diags, &dn);
    FILE *tf = open_memstream(&r.tokens, &tn);
    Diag d;
    diag_init(&d, df);
    Source *s = bcl_source_from_string(&a, "t.bcl", src);
    Lexer *lx = bcl_lexer_new(&a, &d, s, false, 0, (int)s->len, 1, 1);
    BCL_YYSTYPE v;
    BclLoc l;
    int t = bcl_lexer_next(lx, &v, &l);
    assert_string_equal(bcl_token_name(t), "start of module");
    bool first = true;
    while ((t = bcl_lexer_next(lx, &v, &l)) != 0) {
        if (!first) fputc(' ', tf);
        first = false;
        const char *name = bcl_token_name(t);
        if (strcmp(name, "name") == 0) {
            fprintf(tf, "name:%s", v.name);
        } else if (strcmp(name, "integer literal") == 0) {
            fprintf(tf, "int:%lld", (long long)v.ival);
        } else if (strcmp(name, "float literal") == 0) {
            fprintf(tf, "float:%g", v.fval);
        } else if (strcmp(name, "string literal") == 0) {
            if (v.str->is_f) {
                fputs("fstr:", tf);
                put_escaped(tf, s->text + v.str->body_off, v.str->body_len);
            } else {
                fputs("str:", tf);
                put_escaped(tf, v.str->s, v.str->len);
            }
        } else if (strcmp(name, "augmented assignment") == 0) {
            fprintf(tf, "%s=", op_text(v.op));
        } else if (strcmp(name, "end of line") == 0) {
            fputs("NL", tf);
        } else if (strcmp(name, "indent") == 0) {
            fputs("INDENT", tf);
        } else if (strcmp(name, "dedent") == 0) {
            fputs("DEDENT", tf);
        } else {
            fputs(name, tf);
        }
    }
    bcl_lexer_free(lx);
    r.n_errors = d.n_errors;
    fclose(df);
    fclose(tf);
    arena_free(&a);
    return r;
}

static void free_lexed(Lexed *r)
{
    free(r->tokens);
    free(r->diags);
}

/* Asserts the token stream of src, and that it lexed without errors. */
static void expect_tokens(const char *src, const char *want)
{
    Lexed r = lex(src);
    if (strcmp(r.tokens, want) != 0 || r.n_errors != 0) {
        print_error("source:\n%s\nwant: %s\ngot:  %s\ndiags:\n%s\n", src, want, r.tokens, r.diags);
        free_lexed(&r);
        fail();
    }
    free_lexed(&r);
}

/* Asserts the diagnostics of src exactly (and so that it had errors). */
static void expect_diags(const char *src, const char *want)
{
    Lexed r = lex(src);
    if (strcmp(r.diags, want) != 0 || r.n_errors == 0) {
        print_error("source:\n%s\nwant:\n%s\ngot:\n%s\n", src, want, r.diags);
        free_lexed(&r);
        fail();
    }
    free_lexed(&r);
}

static void test_simple_line(void **state)
{
    expect_tokens("x = 1\n", "name:x = int:1 NL");
    expect_tokens("x", "name:x NL");    /* no '\n' at the end */
    expect_tokens("", "");
    expect_tokens("\n\n  \n", "");
}

static void test_nested_blocks(void **state)
{
    expect_tokens("if a:\n"
                  "    if b:\n"
                  "        c\n"
                  "    d\n"
                  "e\n",
                  "if name:a : NL INDENT if name:b : NL INDENT name:c NL DEDENT name:d NL DEDENT name:e NL");
    /* two levels closed at once, and at the end of the file */
    expect_tokens("def f():\n"
                  "  for x in y:\n"
                  "      pass\n"
                  "g()\n",
                  "def name:f ( ) : NL INDENT for name:x in name:y : NL INDENT pass NL DEDENT DEDENT "
                  "name:g ( ) NL");
    expect_tokens("if a:\n    if b:\n        c", "if name:a : NL INDENT if name:b : NL INDENT name:c NL DEDENT DEDENT");
    /* tabs used consistently are fine */
    expect_tokens("if a:\n\tb\n\tif c:\n\t\td\n", "if name:a : NL INDENT name:b NL if name:c : NL INDENT name:d NL DEDENT DEDENT");
}

static void test_blank_and_comment_lines(void **state)
{
    expect_tokens("if a:\n"
                  "    # a comment\n"
                  "\n"
                  "          # a comment indented oddly\n"
                  "    \n"
                  "    b  # trailing\n"
                  "\n"
                  "# at column 1\n"
                  "c\n",
                  "if name:a : NL INDENT name:b NL DEDENT name:c NL");
    expect_tokens("# only a comment", "");
}

static void test_implicit_joining(void **state)
{
    expect_tokens("x = (1,\n"
                  "   2)\n"
                  "y = [\n"
                  "  3,\n"
                  "# comment inside\n"
                  "]\n"
                  "z = {\n"
                  "    'k':\n"
                  "        4}\n",
                  "name:x = ( int:1 , int:2 ) NL name:y = [ int:3 , ] NL name:z = { str:k : int:4 } NL");
    /* indentation inside brackets means nothing */
    expect_tokens("if a:\n"
                  "    f(1,\n"
                  "2)\n"
                  "    g\n",
                  "if name:a : NL INDENT name:f ( int:1 , int:2 ) NL name:g NL DEDENT");
}

static void test_backslash_continuation(void **state)
{
    expect_tokens("x = 1 + \\\n    2\ny\n", "name:x = int:1 + int:2 NL name:y NL");
    expect_tokens("if a and \\\n        b:\n    c\n", "if name:a and name:b : NL INDENT name:c NL DEDENT");
}

static void test_int_literals(void **state)
{
    expect_tokens("0 7 00 0x1F 0XfF 0o17 0O7 0b101 0B1 1_000 0x_ff 9223372036854775807",
                  "int:0 int:7 int:0 int:31 int:255 int:15 int:7 int:5 int:1 int:1000 int:255 "
                  "int:9223372036854775807 NL");
    /* a minus sign is an operator, not part of the literal */
    expect_tokens("-5", "- int:5 NL");
}

static void test_float_literals(void **state)
{
    expect_tokens("1.0 1e-5 .5 1_000.0 2. 3E+2 1_0.2_5 0.25e1 1e400 007.5",
                  "float:1 float:1e-05 float:0.5 float:1000 float:2 float:300 float:10.25 float:2.5 "
                  "float:inf float:7.5 NL");
    /* attribute access on a name is not a float */
    expect_tokens("x.y", "name:x . name:y NL");
}

static void test_string_literals(void **state)
{
    expect_tokens("'a' \"b\" '''c\nd''' \"\"\"e\"f\"\"\" '' \"\"\"\"\"\"",
                  "str:a str:b str:c\\nd str:e\"f str: str: NL");
    expect_tokens("'x\\ty' 'it\\'s' \"q\\\"\" '\\\\' '\\x41\\u00e9\\U0001F600' '\\101\\0' 'a\\\nb'",
                  "str:x\\ty str:it's str:q\" str:\\\\ str:A\\xc3\\xa9\\xf0\\x9f\\x98\\x80 str:A\\x00 str:ab NL");
    /* unknown escapes stay; raw strings keep everything */
    expect_tokens("'\\d' r'\\n\\d' R\"\\\"\" u'u' '\\a\\b\\f\\v\\r'",
                  "str:\\\\d str:\\\\n\\\\d str:\\\\\" str:u str:\\x07\\x08\\x0c\\x0b\\x0d NL");
    /* adjacent literals are separate tokens: the parser joins them */
    expect_tokens("'a' 'b'", "str:a str:b NL");
    /* a triple-quoted string spans lines without NEWLINE or indentation */
    expect_tokens("x = '''\n  a\n'''\ny\n", "name:x = str:\\n  a\\n NL name:y NL");
    /* a name that happens to be a prefix */
    expect_tokens("rb f fr br", "name:rb name:f name:fr name:br NL");
}

static void test_fstring_tokens(void **state)
{
    expect_tokens("f'a{x}b' F\"{y!r:>4}\" rf'{z}\\n' f'''{a}\n'''",
                  "fstr:a{x}b fstr:{y!r:>4} fstr:{z}\\\\n fstr:{a}\\n NL");
}

static void test_keywords_and_operators(void **state)
{
    expect_tokens("True False None and or not in is lambda while",
                  "True False None and or not in is lambda while NL");
    expect_tokens("a := b -> c ** d // e @ f != g <= h >= i >> j << k & l | m ^ ~n ... ;",
                  "name:a := name:b -> name:c ** name:d // name:e @ name:f != name:g <= name:h >= "
                  "name:i >> name:j << name:k & name:l | name:m ^ ~ name:n ... ; NL");
    expect_tokens("a += 1; b //= 2; c **= 3; d @= e",
                  "name:a += int:1 ; name:b //= int:2 ; name:c **= int:3 ; name:d @= name:e NL");
    /* keywords are case sensitive; soft keywords are names */
    expect_tokens("none IF match case _", "name:none name:IF name:match name:case name:_ NL");
}

static void test_crlf_line_ends(void **state)
{
    expect_tokens("if a:\r\n    b\r\nc\r\n", "if name:a : NL INDENT name:b NL DEDENT name:c NL");
}

static void test_error_tab_space_mix(void **state)
{
    expect_diags("if a:\n \tb\n",
                 "t.bcl:2:1: error: indentation mixes tabs and spaces\n"
                 "     \tb\n"
                 "    ^~\n");
    expect_diags("if a:\n\tb\n        c\n",
                 "t.bcl:3:1: error: inconsistent use of tabs and spaces in indentation\n"
                 "            c\n"
                 "    ^~~~~~~~\n");
}

static void test_error_bad_dedent(void **state)
{
    expect_diags("if a:\n"
                 "    b\n"
                 "  c\n"
                 "  d\n",
                 "t.bcl:3:1: error: unindent does not match any outer indentation level\n"
                 "      c\n"
                 "    ^~\n");
    /* the lines after it are one block with it: one error, not one a line */
    Lexed r = lex("if a:\n    b\n  c\n  d\ne\n");
    assert_int_equal(r.n_errors, 1);
    assert_string_equal(r.tokens, "if name:a : NL INDENT name:b NL name:c NL name:d NL DEDENT name:e NL");
    free_lexed(&r);
}

static void test_error_int_literals(void **state)
{
    expect_diags("x = 9223372036854775808\n",
                 "t.bcl:1:5: error: integer literal is too large for a 64-bit int\n"
                 "    x = 9223372036854775808\n"
                 "        ^~~~~~~~~~~~~~~~~~~\n");
    expect_diags("0xffffffffffffffffff\n",
                 "t.bcl:1:1: error: integer literal is too large for a 64-bit int\n"
                 "    0xffffffffffffffffff\n"
                 "    ^~~~~~~~~~~~~~~~~~~~\n");
    expect_diags("x = 0123\n",
                 "t.bcl:1:5: error: leading zeros in decimal integer literals are not permitted; "
                 "use an 0o prefix for octal integers\n"
                 "    x = 0123\n"
                 "        ^~~~\n");
    expect_diags("1_ 1__0\n",
                 "t.bcl:1:1: error: invalid decimal literal '1_'\n"
                 "    1_ 1__0\n"
                 "    ^~\n"
                 "t.bcl:1:4: error: invalid decimal literal '1__0'\n"
                 "    1_ 1__0\n"
                 "       ^~~~\n");
    expect_diags("2j\n",
                 "t.bcl:1:1: error: complex literals are not supported in .bcl\n"
                 "    2j\n"
                 "    ^~\n");
}

static void test_error_strings(void **state)
{
    expect_diags("s = b'x'\n",
                 "t.bcl:1:5: error: bytes literals are not supported in .bcl\n"
                 "    s = b'x'\n"
                 "        ^~~~\n");
    expect_diags("s = 'abc\nt = 1\n",
                 "t.bcl:1:5: error: unterminated string literal (detected at line 1)\n"
                 "    s = 'abc\n"
                 "        ^~~~\n");
    expect_diags("s = \"\"\"abc\n\nt = 1\n",
                 "t.bcl:1:5: error: unterminated triple-quoted string literal (detected at line 3)\n"
                 "    s = \"\"\"abc\n"
                 "        ^~~~~~\n");
    expect_diags("s = 'a\\x4g'\n",
                 "t.bcl:1:7: error: truncated \\x escape: it needs 2 hex digits\n"
                 "    s = 'a\\x4g'\n"
                 "          ^~~\n");
    expect_diags("s = '\\N{DASH}'\n",
                 "t.bcl:1:6: error: \\N{...} escapes are not supported in .bcl\n"
                 "    s = '\\N{DASH}'\n"
                 "         ^~\n");
    expect_diags("s = '\\ud800'\n",
                 "t.bcl:1:6: error: \\u escape is not a valid Unicode character\n"
                 "    s = '\\ud800'\n"
                 "         ^~~~~~\n");
}

static void test_error_characters(void **state)
{
    expect_diags("x = $a ? 1\n",
                 "t.bcl:1:5: error: invalid character '$'\n"
                 "    x = $a ? 1\n"
                 "        ^\n"
                 "t.bcl:1:8: error: invalid character '?'\n"
                 "    x = $a ? 1\n"
                 "           ^\n");
    expect_diags("x = a \\ b\n",
                 "t.bcl:1:7: error: unexpected character after line continuation character\n"
                 "    x = a \\ b\n"
                 "          ^\n");
    expect_diags("x &= 1\n",
                 "t.bcl:1:3: error: '&=' is not supported in .bcl\n"
                 "    x &= 1\n"
                 "      ^~\n");
}

static void test_error_brackets(void **state)
{
    expect_diags("x = 1)\n",
                 "t.bcl:1:6: error: unmatched ')'\n"
                 "    x = 1)\n"
                 "         ^\n");
    expect_diags("x = [1)\n",
                 "t.bcl:1:7: error: closing parenthesis ')' does not match opening parenthesis '['\n"
                 "    x = [1)\n"
                 "          ^\n");
    expect_diags("x = (1,\n  2\n",
                 "t.bcl:1:5: error: '(' was never closed\n"
                 "    x = (1,\n"
                 "        ^\n");
    /* the mismatched bracket is handed on as the right one: the stream stays balanced */
    Lexed r = lex("f(a]\n");
    assert_string_equal(r.tokens, "name:f ( name:a ) NL");
    free_lexed(&r);
}

static void test_error_limits(void **state)
{
    /* deeper than 200 brackets: one error, and the closers still balance */
    char src[1024];
    int n = 0;
    n += sprintf(src + n, "x = ");
    for (int i = 0; i < 210; i++) src[n++] = '(';
    src[n++] = '1';
    for (int i = 0; i < 210; i++) src[n++] = ')';
    src[n++] = '\n';
    src[n] = 0;
    Lexed r = lex(src);
    assert_int_equal(r.n_errors, 1);
    assert_non_null(strstr(r.diags, "t.bcl:1:205: error: too many nested parentheses\n"));
    free_lexed(&r);
    /* more than 100 indentation levels */
    char *deep = malloc(64 * 1024);
    n = 0;
    for (int i = 0; i < 101; i++) n += sprintf(deep + n, "%*sif x:\n", i, "");
    n += sprintf(deep + n, "%*spass\n", 101, "");
    r = lex(deep);
    assert_int_equal(r.n_errors, 1);
    assert_non_null(strstr(r.diags, "t.bcl:101:1: error: too many levels of indentation\n"));
    free_lexed(&r);
    free(deep);
}

static void test_token_locations(void **state)
{
    Arena a;
    arena_init(&a);
    Diag d;
    diag_init(&d, stderr);
    Source *s = bcl_source_from_string(&a, "t.bcl", "if ab:\n    x = 'q'\n");
    Lexer *lx = bcl_lexer_new(&a, &d, s, false, 0, (int)s->len, 1, 1);
    BCL_YYSTYPE v;
    BclLoc l;
    /* start, if, ab, :, NL, INDENT, x, =, 'q' */
    int want[][3] = {{1, 1, 0}, {1, 1, 2}, {1, 4, 2}, {1, 6, 1}, {1, 7, 0}, {2, 5, 0}, {2, 5, 1},
                     {2, 7, 1}, {2, 9, 3}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        bcl_lexer_next(lx, &v, &l);
        SrcLoc sl = bcl_loc_to_src(s, l);
        assert_int_equal(sl.line, want[i][0]);
        assert_int_equal(sl.col, want[i][1]);
        assert_int_equal(sl.len, want[i][2]);
    }
    bcl_lexer_free(lx);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_line),
        cmocka_unit_test(test_nested_blocks),
        cmocka_unit_test(test_blank_and_comment_lines),
        cmocka_unit_test(test_implicit_joining),
        cmocka_unit_test(test_backslash_continuation),
        cmocka_unit_test(test_int_literals),
        cmocka_unit_test(test_float_literals),
        cmocka_unit_test(test_string_literals),
        cmocka_unit_test(test_fstring_tokens),
        cmocka_unit_test(test_keywords_and_operators),
        cmocka_unit_test(test_crlf_line_ends),
        cmocka_unit_test(test_error_tab_space_mix),
        cmocka_unit_test(test_error_bad_dedent),
        cmocka_unit_test(test_error_int_literals),
        cmocka_unit_test(test_error_strings),
        cmocka_unit_test(test_error_characters),
        cmocka_unit_test(test_error_brackets),
        cmocka_unit_test(test_error_limits),
        cmocka_unit_test(test_token_locations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
