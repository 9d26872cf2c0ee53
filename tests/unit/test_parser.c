/* The .bcl parser: every construct against Python's own ast (expected dumps made
 * with tests/unit/data/parse/pyast_dump.py), precedence, locations, and the
 * diagnostics of syntax errors and unsupported constructs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/ast.h"

typedef struct Parsed {
    bool ok;        /* bcl_parse returned a module */
    char *dump;     /* ast_dump of it ("" if none) */
    char *diags;    /* everything the diagnostics printed */
    int n_errors;
} Parsed;

static Parsed parse_ex(const char *src, bool locs)
{
    Arena a;
    arena_init(&a);
    Parsed r = {0};
    size_t dn, on;
    FILE *df = open_memstream(&r.diags, &dn);
    FILE *of = open_memstream(&r.dump, &on);
    Diag d;
    diag_init(&d, df);
    Source *s = bcl_source_from_string(&a, "t.bcl", src);
    AstModule *m = bcl_parse(&a, &d, s);
    r.ok = m != NULL;
    if (m) ast_dump_ex(of, m, locs);
    r.n_errors = d.n_errors;
    fclose(df);
    fclose(of);
    arena_free(&a);
    return r;
}

static Parsed parse(const char *src) { return parse_ex(src, false); }

static void free_parsed(Parsed *r)
{
    free(r->dump);
    free(r->diags);
}

static void expect_dump_ex(const char *src, const char *want, bool locs)
{
    Parsed r = parse_ex(src, locs);
    if (!r.ok || strcmp(r.dump, want) != 0 || r.n_errors) {
        print_error("source:\n%s\nwant:\n%s\ngot:\n%s\ndiags:\n%s\n", src, want, r.dump, r.diags);
        free_parsed(&r);
        fail();
    }
    free_parsed(&r);
}

static void expect_dump(const char *src, const char *want) { expect_dump_ex(src, want, false); }

/* Asserts that src parses with no diagnostics. */
static void expect_parses(const char *src)
{
    Parsed r = parse(src);
    if (!r.ok || r.n_errors) {
        print_error("source:\n%s\ndiags:\n%s\n", src, r.diags);
        free_parsed(&r);
        fail();
    }
    free_parsed(&r);
}

/* Asserts that src fails to parse with exactly these diagnostics. */
static void expect_diags(const char *src, const char *want)
{
    Parsed r = parse(src);
    if (r.ok || strcmp(r.diags, want) != 0) {
        print_error("source:\n%s\nwant:\n%s\ngot:\n%s\n", src, want, r.diags);
        free_parsed(&r);
        fail();
    }
    free_parsed(&r);
}

/* ---- every construct, against Python's ast ---- */

static void test_imports(void **state)
{
    expect_dump(
        "import a.b as c, d\n"
        "from a.b import x as y, z\n"
        "from . import x\n"
        "from ..pkg.mod import (p,\n"
        "    q as r,)\n"
        "from m import *\n",
        "Module\n"
        "  Import\n"
        "    Alias a.b as c\n"
        "    Alias d\n"
        "  ImportFrom a.b\n"
        "    Alias x as y\n"
        "    Alias z\n"
        "  ImportFrom .\n"
        "    Alias x\n"
        "  ImportFrom ..pkg.mod\n"
        "    Alias p\n"
        "    Alias q as r\n"
        "  ImportFrom m *\n");
}

static void test_classes(void **state)
{
    expect_dump(
        "@registers.models.register()\n"
        "@registers.models.register(name=\"x\")\n"
        "class A(M.Module, Base):\n"
        "    pass\n"
        "class B:\n"
        "    x = 1\n",
        "Module\n"
        "  ClassDef A\n"
        "    decorator: Call\n"
        "      Attr register\n"
        "        Attr models\n"
        "          Name registers\n"
        "    decorator: Call\n"
        "      Attr register\n"
        "        Attr models\n"
        "          Name registers\n"
        "      kw name: Str \"x\"\n"
        "    base: Attr Module\n"
        "      Name M\n"
        "    base: Name Base\n"
        "    body:\n"
        "      Pass\n"
        "  ClassDef B\n"
        "    body:\n"
        "      Assign\n"
        "        target: Name x\n"
        "        value: Int 1\n");
}

static void test_defs(void **state)
{
    expect_dump(
        "def f(a, b: int = 3, *args: int, c, d=4, **kwargs) -> mge.Tensor:\n"
        "    return a\n"
        "def g(x, *, key=None):\n"
        "    pass\n"
        "def h(): pass\n",
        "Module\n"
        "  FunctionDef f\n"
        "    Param a\n"
        "    Param b\n"
        "      annotation: Name int\n"
        "      default: Int 3\n"
        "    Param *args\n"
        "      annotation: Name int\n"
        "    Param c kwonly\n"
        "    Param d kwonly\n"
        "      default: Int 4\n"
        "    Param **kwargs\n"
        "    returns: Attr Tensor\n"
        "      Name mge\n"
        "    body:\n"
        "      Return\n"
        "        Name a\n"
        "  FunctionDef g\n"
        "    Param x\n"
        "    Param key kwonly\n"
        "      default: None\n"
        "    body:\n"
        "      Pass\n"
        "  FunctionDef h\n"
        "    body:\n"
        "      Pass\n");
}

static void test_assigns(void **state)
{
    expect_dump(
        "a = b = 1\n"
        "a, b = c\n"
        "x, = y\n"
        "[p, q] = r\n"
        "a, *rest = s\n"
        "for i, (a, b) in enumerate(xs):\n"
        "    pass\n"
        "self.x[0] = 1\n"
        "x += 1\n"
        "y //= 2\n"
        "z **= 3\n"
        "x: int = 3\n"
        "y: Mapping[str, Any]\n",
        "Module\n"
        "  Assign\n"
        "    target: Name a\n"
        "    target: Name b\n"
        "    value: Int 1\n"
        "  Assign\n"
        "    target: Tuple\n"
        "      Name a\n"
        "      Name b\n"
        "    value: Name c\n"
        "  Assign\n"
        "    target: Tuple\n"
        "      Name x\n"
        "    value: Name y\n"
        "  Assign\n"
        "    target: List\n"
        "      Name p\n"
        "      Name q\n"
        "    value: Name r\n"
        "  Assign\n"
        "    target: Tuple\n"
        "      Name a\n"
        "      Starred\n"
        "        Name rest\n"
        "    value: Name s\n"
        "  For\n"
        "    target: Tuple\n"
        "      Name i\n"
        "      Tuple\n"
        "        Name a\n"
        "        Name b\n"
        "    iter: Call\n"
        "      Name enumerate\n"
        "      arg: Name xs\n"
        "    body:\n"
        "      Pass\n"
        "  Assign\n"
        "    target: Subscript\n"
        "      Attr x\n"
        "        Name self\n"
        "      index: Int 0\n"
        "    value: Int 1\n"
        "  AugAssign +=\n"
        "    target: Name x\n"
        "    value: Int 1\n"
        "  AugAssign //=\n"
        "    target: Name y\n"
        "    value: Int 2\n"
        "  AugAssign **=\n"
        "    target: Name z\n"
        "    value: Int 3\n"
        "  AnnAssign\n"
        "    target: Name x\n"
        "    annotation: Name int\n"
        "    value: Int 3\n"
        "  AnnAssign\n"
        "    target: Name y\n"
        "    annotation: Subscript\n"
        "      Name Mapping\n"
        "      index: Tuple\n"
        "        Name str\n"
        "        Name Any\n");
}

static void test_control(void **state)
{
    expect_dump(
        "if a:\n"
        "    pass\n"
        "elif b:\n"
        "    break\n"
        "elif c:\n"
        "    continue\n"
        "else:\n"
        "    return\n"
        "for x in xs:\n"
        "    pass\n"
        "else:\n"
        "    raise ValueError(\"no\")\n"
        "assert x, \"msg\"\n"
        "assert y\n"
        "raise\n"
        "return a, b\n"
        "x = 1; y = 2;\n",
        "Module\n"
        "  If\n"
        "    cond: Name a\n"
        "    then:\n"
        "      Pass\n"
        "    else:\n"
        "      If\n"
        "        cond: Name b\n"
        "        then:\n"
        "          Break\n"
        "        else:\n"
        "          If\n"
        "            cond: Name c\n"
        "            then:\n"
        "              Continue\n"
        "            else:\n"
        "              Return\n"
        "  For\n"
        "    target: Name x\n"
        "    iter: Name xs\n"
        "    body:\n"
        "      Pass\n"
        "    else:\n"
        "      Raise\n"
        "        Call\n"
        "          Name ValueError\n"
        "          arg: Str \"no\"\n"
        "  Assert\n"
        "    cond: Name x\n"
        "    msg: Str \"msg\"\n"
        "  Assert\n"
        "    cond: Name y\n"
        "  Raise\n"
        "  Return\n"
        "    Tuple\n"
        "      Name a\n"
        "      Name b\n"
        "  Assign\n"
        "    target: Name x\n"
        "    value: Int 1\n"
        "  Assign\n"
        "    target: Name y\n"
        "    value: Int 2\n");
}

static void test_trailers(void **state)
{
    expect_dump(
        "f(a, k=1, *xs, **d)\n"
        "x[:, 0:2, ::2]\n"
        "x[1:]\n"
        "x[a, b]\n"
        "x[(a, b)]\n"
        "a.b.c(d)[e]\n"
        "f()(g)\n",
        "Module\n"
        "  Expr\n"
        "    Call\n"
        "      Name f\n"
        "      arg: Name a\n"
        "      kw k: Int 1\n"
        "      *arg: Name xs\n"
        "      **arg: Name d\n"
        "  Expr\n"
        "    Subscript\n"
        "      Name x\n"
        "      index: Tuple\n"
        "        Slice\n"
        "        Slice\n"
        "          lo: Int 0\n"
        "          hi: Int 2\n"
        "        Slice\n"
        "          step: Int 2\n"
        "  Expr\n"
        "    Subscript\n"
        "      Name x\n"
        "      index: Slice\n"
        "        lo: Int 1\n"
        "  Expr\n"
        "    Subscript\n"
        "      Name x\n"
        "      index: Tuple\n"
        "        Name a\n"
        "        Name b\n"
        "  Expr\n"
        "    Subscript\n"
        "      Name x\n"
        "      index: Tuple\n"
        "        Name a\n"
        "        Name b\n"
        "  Expr\n"
        "    Subscript\n"
        "      Call\n"
        "        Attr c\n"
        "          Attr b\n"
        "            Name a\n"
        "        arg: Name d\n"
        "      index: Name e\n"
        "  Expr\n"
        "    Call\n"
        "      Call\n"
        "        Name f\n"
        "      arg: Name g\n");
}

static void test_displays(void **state)
{
    expect_dump(
        "l = [1, 2,]\n"
        "t = (x,)\n"
        "e = ()\n"
        "p = (x)\n"
        "d = {'a': 1, **kw, 'b': 2,}\n"
        "ed = {}\n"
        "el = []\n"
        "lc = [x * y for x in xs if x if y for y in ys]\n"
        "g = sum(x for x in xs)\n"
        "g2 = (x for x in xs)\n"
        "s = 'a' \"b\" '''c'''\n"
        "t2 = 1, 2\n"
        "st = [*a, b]\n",
        "Module\n"
        "  Assign\n"
        "    target: Name l\n"
        "    value: List\n"
        "      Int 1\n"
        "      Int 2\n"
        "  Assign\n"
        "    target: Name t\n"
        "    value: Tuple\n"
        "      Name x\n"
        "  Assign\n"
        "    target: Name e\n"
        "    value: Tuple\n"
        "  Assign\n"
        "    target: Name p\n"
        "    value: Name x\n"
        "  Assign\n"
        "    target: Name d\n"
        "    value: Dict\n"
        "      key: Str \"a\"\n"
        "      value: Int 1\n"
        "      **: Name kw\n"
        "      key: Str \"b\"\n"
        "      value: Int 2\n"
        "  Assign\n"
        "    target: Name ed\n"
        "    value: Dict\n"
        "  Assign\n"
        "    target: Name el\n"
        "    value: List\n"
        "  Assign\n"
        "    target: Name lc\n"
        "    value: ListComp\n"
        "      elt: BinOp *\n"
        "        Name x\n"
        "        Name y\n"
        "      for: Name x\n"
        "      in: Name xs\n"
        "      if: Name x\n"
        "      if: Name y\n"
        "      for: Name y\n"
        "      in: Name ys\n"
        "  Assign\n"
        "    target: Name g\n"
        "    value: Call\n"
        "      Name sum\n"
        "      arg: GeneratorExp\n"
        "        elt: Name x\n"
        "        for: Name x\n"
        "        in: Name xs\n"
        "  Assign\n"
        "    target: Name g2\n"
        "    value: GeneratorExp\n"
        "      elt: Name x\n"
        "      for: Name x\n"
        "      in: Name xs\n"
        "  Assign\n"
        "    target: Name s\n"
        "    value: Str \"abc\"\n"
        "  Assign\n"
        "    target: Name t2\n"
        "    value: Tuple\n"
        "      Int 1\n"
        "      Int 2\n"
        "  Assign\n"
        "    target: Name st\n"
        "    value: List\n"
        "      Starred\n"
        "        Name a\n"
        "      Name b\n");
}

static void test_fstrings(void **state)
{
    expect_dump(
        "s = f\"a{x}b{{c}}d{y!r}{z:>10}{w!s:.2f}\"\n"
        "t = \"p\" f\"{q}\" \"r\"\n"
        "u = f\"{a + b} and {f(c)['k']}\"\n"
        "v = f\"\\t{x}\\n\"\n",
        "Module\n"
        "  Assign\n"
        "    target: Name s\n"
        "    value: FString\n"
        "      Str \"a\"\n"
        "      Field\n"
        "        Name x\n"
        "      Str \"b{c}d\"\n"
        "      Field !r\n"
        "        Name y\n"
        "      Field spec=\">10\"\n"
        "        Name z\n"
        "      Field !s spec=\".2f\"\n"
        "        Name w\n"
        "  Assign\n"
        "    target: Name t\n"
        "    value: FString\n"
        "      Str \"p\"\n"
        "      Field\n"
        "        Name q\n"
        "      Str \"r\"\n"
        "  Assign\n"
        "    target: Name u\n"
        "    value: FString\n"
        "      Field\n"
        "        BinOp +\n"
        "          Name a\n"
        "          Name b\n"
        "      Str \" and \"\n"
        "      Field\n"
        "        Subscript\n"
        "          Call\n"
        "            Name f\n"
        "            arg: Name c\n"
        "          index: Str \"k\"\n"
        "  Assign\n"
        "    target: Name v\n"
        "    value: FString\n"
        "      Str \"\\t\"\n"
        "      Field\n"
        "        Name x\n"
        "      Str \"\\n\"\n");
}

static void test_precedence(void **state)
{
    expect_dump(
        "-2 ** 2\n"
        "2 ** -1\n"
        "2 ** 3 ** 2\n"
        "a + b * c - d / e // f % g @ h\n"
        "a - b - c\n"
        "not a == b\n"
        "a or b and not c\n"
        "a if b else c if d else e\n"
        "a < b <= c != d is not e not in f in g is h > i >= j == k\n"
        "-a.b(c)[d] ** e\n"
        "+x * -y\n"
        "(a + b) * c\n"
        "a or b or c\n",
        "Module\n"
        "  Expr\n"
        "    UnaryOp -\n"
        "      BinOp **\n"
        "        Int 2\n"
        "        Int 2\n"
        "  Expr\n"
        "    BinOp **\n"
        "      Int 2\n"
        "      UnaryOp -\n"
        "        Int 1\n"
        "  Expr\n"
        "    BinOp **\n"
        "      Int 2\n"
        "      BinOp **\n"
        "        Int 3\n"
        "        Int 2\n"
        "  Expr\n"
        "    BinOp -\n"
        "      BinOp +\n"
        "        Name a\n"
        "        BinOp *\n"
        "          Name b\n"
        "          Name c\n"
        "      BinOp @\n"
        "        BinOp %\n"
        "          BinOp //\n"
        "            BinOp /\n"
        "              Name d\n"
        "              Name e\n"
        "            Name f\n"
        "          Name g\n"
        "        Name h\n"
        "  Expr\n"
        "    BinOp -\n"
        "      BinOp -\n"
        "        Name a\n"
        "        Name b\n"
        "      Name c\n"
        "  Expr\n"
        "    UnaryOp not\n"
        "      Compare\n"
        "        Name a\n"
        "        ==: Name b\n"
        "  Expr\n"
        "    BoolOp or\n"
        "      Name a\n"
        "      BoolOp and\n"
        "        Name b\n"
        "        UnaryOp not\n"
        "          Name c\n"
        "  Expr\n"
        "    IfExp\n"
        "      cond: Name b\n"
        "      then: Name a\n"
        "      else: IfExp\n"
        "        cond: Name d\n"
        "        then: Name c\n"
        "        else: Name e\n"
        "  Expr\n"
        "    Compare\n"
        "      Name a\n"
        "      <: Name b\n"
        "      <=: Name c\n"
        "      !=: Name d\n"
        "      is not: Name e\n"
        "      not in: Name f\n"
        "      in: Name g\n"
        "      is: Name h\n"
        "      >: Name i\n"
        "      >=: Name j\n"
        "      ==: Name k\n"
        "  Expr\n"
        "    UnaryOp -\n"
        "      BinOp **\n"
        "        Subscript\n"
        "          Call\n"
        "            Attr b\n"
        "              Name a\n"
        "            arg: Name c\n"
        "          index: Name d\n"
        "        Name e\n"
        "  Expr\n"
        "    BinOp *\n"
        "      UnaryOp +\n"
        "        Name x\n"
        "      UnaryOp -\n"
        "        Name y\n"
        "  Expr\n"
        "    BinOp *\n"
        "      BinOp +\n"
        "        Name a\n"
        "        Name b\n"
        "      Name c\n"
        "  Expr\n"
        "    BoolOp or\n"
        "      BoolOp or\n"
        "        Name a\n"
        "        Name b\n"
        "      Name c\n");
}

/* ---- unsupported constructs: reported at their place, and parsing goes on ---- */

static void test_unsupported_statements(void **state)
{
    /* while, try, with, del, global and nonlocal are supported now */
    expect_parses("while x:\n    pass\nelse:\n    y\n");
    expect_parses("try:\n    a\nexcept E as e:\n    b\nexcept (A, B):\n    c\nelse:\n    d\nfinally:\n    c\n");
    expect_parses("with open(p) as f, g:\n    pass\n");
    expect_parses("del x[0], y\n");
    expect_parses("def f():\n    global g\n    nonlocal h, i\n");
    expect_parses("raise E from e\n");
    expect_dump("def f():\n    yield 1\n    x = yield\n    yield from g\n",
                "Module\n"
                "  FunctionDef f\n"
                "    body:\n"
                "      Expr\n"
                "        Yield\n"
                "          Int 1\n"
                "      Assign\n"
                "        target: Name x\n"
                "        value: Yield\n"
                "      Expr\n"
                "        YieldFrom\n"
                "          Name g\n");
    expect_diags("async def f():\n    await g()\n",
                 "t.bcl:1:1: error: 'async' is not supported in .bcl\n"
                 "    async def f():\n"
                 "    ^~~~~\n"
                 "t.bcl:2:5: error: 'await' is not supported in .bcl\n"
                 "        await g()\n"
                 "        ^~~~~\n");
}

static void test_unsupported_expressions(void **state)
{
    expect_parses("f = lambda x, y=1, *a, **k: x\ns = {1, 2}\nsc = {x for x in y}\nd = {k: v for k in y}\n");
    expect_diags("if (n := 3):\n    pass\n",
                 "t.bcl:1:7: error: ':=' is not supported in .bcl\n"
                 "    if (n := 3):\n"
                 "          ^~\n");
    expect_dump("x = ~a << 2 | b & c ^ d >> 1\n",
                "Module\n"
                "  Assign\n"
                "    target: Name x\n"
                "    value: BinOp |\n"
                "      BinOp <<\n"
                "        UnaryOp ~\n"
                "          Name a\n"
                "        Int 2\n"
                "      BinOp ^\n"
                "        BinOp &\n"
                "          Name b\n"
                "          Name c\n"
                "        BinOp >>\n"
                "          Name d\n"
                "          Int 1\n");
    expect_diags("class C(B, metaclass=M):\n    pass\n",
                 "t.bcl:1:12: error: 'metaclass=' in a class definition is not supported in .bcl\n"
                 "    class C(B, metaclass=M):\n"
                 "               ^~~~~~~~~~~\n");
    expect_diags("def f(a, /, b):\n    pass\n",
                 "t.bcl:1:10: error: positional-only parameters ('/') are not supported in .bcl\n"
                 "    def f(a, /, b):\n"
                 "             ^\n");
    expect_diags("s = f'{x!a}'\n",
                 "t.bcl:1:9: error: '!a' conversion is not supported in .bcl\n"
                 "    s = f'{x!a}'\n"
                 "            ^~\n");
}

static void test_multiple_errors(void **state)
{
    /* every unsupported construct is reported, in source order, and the
     * supported code around them parses */
    expect_diags("import os\n"
                 "while True:\n"
                 "    x = yield 1\n"
                 "    try:\n"
                 "        pass\n"
                 "    finally:\n"
                 "        y = 2\n"
                 "class A(M.Module):\n"
                 "    def f(self):\n"
                 "        s = {1, 2}\n"
                 "        return s\n"
                 "async def z():\n    pass\n",
                 "t.bcl:12:1: error: 'async' is not supported in .bcl\n"
                 "    async def z():\n"
                 "    ^~~~~\n");
}

/* ---- syntax errors: a message, a place, and recovery at the next statement ---- */

static void test_syntax_errors(void **state)
{
    expect_diags("f(a b)\n",
                 "t.bcl:1:5: error: invalid syntax: unexpected name 'b'; perhaps you forgot a comma?\n"
                 "    f(a b)\n"
                 "        ^\n");
    expect_diags("layers = [M.ReLU()\n          M.ReLU()]\n",
                 "t.bcl:2:11: error: invalid syntax: unexpected name 'M'; perhaps you forgot a comma?\n"
                 "              M.ReLU()]\n"
                 "              ^\n");
    expect_diags("a b\n",
                 "t.bcl:1:3: error: invalid syntax: unexpected name 'b'\n"
                 "    a b\n"
                 "      ^\n");
    expect_diags("x = (1 +)\n",
                 "t.bcl:1:9: error: invalid syntax: unexpected ')'\n"
                 "    x = (1 +)\n"
                 "            ^\n");
    expect_diags("if x\n    pass\n",
                 "t.bcl:1:5: error: invalid syntax: unexpected end of line, expected ':'\n"
                 "    if x\n"
                 "        ^\n");
    expect_diags("if x:\npass\n",
                 "t.bcl:2:1: error: expected an indented block\n"
                 "    pass\n"
                 "    ^~~~\n");
    expect_diags("x = 1\n    y = 2\n",
                 "t.bcl:2:5: error: unexpected indent\n"
                 "        y = 2\n"
                 "        ^\n");
    expect_diags("x = [1,\ny = 2\n",
                 "t.bcl:1:5: error: '[' was never closed\n"
                 "    x = [1,\n"
                 "        ^\n");
    expect_diags("else:\n    pass\n",
                 "t.bcl:1:1: error: invalid syntax: unexpected 'else'\n"
                 "    else:\n"
                 "    ^~~~\n");
    expect_diags("print 'x'\n",
                 "t.bcl:1:1: error: missing parentheses in call to 'print'; did you mean print(...)?\n"
                 "    print 'x'\n"
                 "    ^~~~~\n");
    expect_diags("f 'x'\n",
                 "t.bcl:1:3: error: invalid syntax: unexpected string literal\n"
                 "    f 'x'\n"
                 "      ^~~\n");
    expect_diags("x = 1 +",
                 "t.bcl:1:8: error: invalid syntax: unexpected end of line\n"
                 "    x = 1 +\n"
                 "           ^\n");
    expect_diags("x = 1 +\n",
                 "t.bcl:1:8: error: invalid syntax: unexpected end of line\n"
                 "    x = 1 +\n"
                 "           ^\n");
}

static void test_syntax_error_recovery(void **state)
{
    /* the broken def's body is skipped quietly; the next error is still found,
     * and so is the unsupported construct after it */
    expect_diags("def f(:\n"
                 "    return 1\n"
                 "x = 1 +\n"
                 "y = 2\n"
                 "async def g():\n"
                 "    pass\n",
                 "t.bcl:1:7: error: invalid syntax: unexpected ':'\n"
                 "    def f(:\n"
                 "          ^\n"
                 "t.bcl:3:8: error: invalid syntax: unexpected end of line\n"
                 "    x = 1 +\n"
                 "           ^\n"
                 "t.bcl:5:1: error: 'async' is not supported in .bcl\n"
                 "    async def g():\n"
                 "    ^~~~~\n");
}

static void test_call_and_target_errors(void **state)
{
    expect_diags("f(a=1, 2)\n",
                 "t.bcl:1:8: error: positional argument follows keyword argument\n"
                 "    f(a=1, 2)\n"
                 "           ^\n");
    expect_diags("f(**k, *a)\n",
                 "t.bcl:1:8: error: iterable argument unpacking follows keyword argument unpacking\n"
                 "    f(**k, *a)\n"
                 "           ^~\n");
    expect_diags("f(**k, a)\n",
                 "t.bcl:1:8: error: positional argument follows keyword argument unpacking\n"
                 "    f(**k, a)\n"
                 "           ^\n");
    expect_diags("f(a=1, a=2)\n",
                 "t.bcl:1:8: error: keyword argument repeated: a\n"
                 "    f(a=1, a=2)\n"
                 "           ^~~\n");
    expect_diags("f(a.b=1)\n",
                 "t.bcl:1:3: error: expression cannot contain assignment, perhaps you meant \"==\"?\n"
                 "    f(a.b=1)\n"
                 "      ^~~~~\n");
    expect_diags("f(x for x in y, 1)\n",
                 "t.bcl:1:3: error: generator expression must be parenthesized\n"
                 "    f(x for x in y, 1)\n"
                 "      ^~~~~~~~~~~~\n");
    expect_diags("f() = 1\n",
                 "t.bcl:1:1: error: cannot assign to function call\n"
                 "    f() = 1\n"
                 "    ^~~\n");
    expect_diags("1 = x\n",
                 "t.bcl:1:1: error: cannot assign to literal\n"
                 "    1 = x\n"
                 "    ^\n");
    expect_diags("a + b = c\n",
                 "t.bcl:1:1: error: cannot assign to expression\n"
                 "    a + b = c\n"
                 "    ^~~~~\n");
    expect_diags("None = 1\n",
                 "t.bcl:1:1: error: cannot assign to None\n"
                 "    None = 1\n"
                 "    ^~~~\n");
    expect_diags("for f() in x:\n    pass\n",
                 "t.bcl:1:5: error: cannot assign to function call\n"
                 "    for f() in x:\n"
                 "        ^~~\n");
    expect_diags("a, *b, *c = d\n",
                 "t.bcl:1:8: error: multiple starred expressions in assignment\n"
                 "    a, *b, *c = d\n"
                 "           ^~\n");
    expect_diags("*a = b\n",
                 "t.bcl:1:1: error: starred assignment target must be in a list or tuple\n"
                 "    *a = b\n"
                 "    ^~\n");
    expect_diags("x = *a\n",
                 "t.bcl:1:5: error: cannot use starred expression here\n"
                 "    x = *a\n"
                 "        ^~\n");
    expect_diags("(a, b) += 1\n",
                 "t.bcl:1:1: error: illegal expression for augmented assignment\n"
                 "    (a, b) += 1\n"
                 "    ^~~~~~\n");
    expect_diags("x = [*a for a in b]\n",
                 "t.bcl:1:6: error: iterable unpacking cannot be used in comprehension\n"
                 "    x = [*a for a in b]\n"
                 "         ^~\n");
}

static void test_parameter_errors(void **state)
{
    expect_diags("def f(a=1, b):\n    pass\n",
                 "t.bcl:1:12: error: non-default argument follows default argument\n"
                 "    def f(a=1, b):\n"
                 "               ^\n");
    expect_diags("def f(a, a):\n    pass\n",
                 "t.bcl:1:10: error: duplicate argument 'a' in function definition\n"
                 "    def f(a, a):\n"
                 "             ^\n");
    expect_diags("def f(a, *):\n    pass\n",
                 "t.bcl:1:10: error: named arguments must follow bare *\n"
                 "    def f(a, *):\n"
                 "             ^\n");
    expect_diags("def f(**k, a):\n    pass\n",
                 "t.bcl:1:12: error: arguments cannot follow var-keyword argument\n"
                 "    def f(**k, a):\n"
                 "               ^\n");
    expect_diags("def f(*a, *b):\n    pass\n",
                 "t.bcl:1:11: error: * argument may appear only once\n"
                 "    def f(*a, *b):\n"
                 "              ^~\n");
    /* keyword-only parameters may leave out defaults in any order */
    expect_dump("def f(*, a=1, b):\n    pass\n",
                "Module\n"
                "  FunctionDef f\n"
                "    Param a kwonly\n"
                "      default: Int 1\n"
                "    Param b kwonly\n"
                "    body:\n"
                "      Pass\n");
}

static void test_fstring_errors(void **state)
{
    expect_diags("s = f'a}b'\n",
                 "t.bcl:1:8: error: f-string: single '}' is not allowed\n"
                 "    s = f'a}b'\n"
                 "           ^\n");
    expect_diags("s = f'{ }'\n",
                 "t.bcl:1:7: error: f-string: empty expression not allowed\n"
                 "    s = f'{ }'\n"
                 "          ^~~\n");
    expect_diags("s = f'{x'\n",
                 "t.bcl:1:7: error: f-string: expecting '}'\n"
                 "    s = f'{x'\n"
                 "          ^\n");
    expect_diags("s = f'{x:{w}}'\n",
                 "t.bcl:1:10: error: nested fields in a format spec are not supported in .bcl\n"
                 "    s = f'{x:{w}}'\n"
                 "             ^\n");
    expect_diags("s = f'{x!z}'\n",
                 "t.bcl:1:9: error: f-string: invalid conversion character: expected 's' or 'r'\n"
                 "    s = f'{x!z}'\n"
                 "            ^\n");
    expect_diags("s = f'{x=}'\n",
                 "t.bcl:1:9: error: f-string '=' specifier is not supported in .bcl\n"
                 "    s = f'{x=}'\n"
                 "            ^\n");
    /* the field's own errors point into the string, also on later lines */
    expect_diags("s = f'{a + * b}'\n",
                 "t.bcl:1:12: error: invalid syntax: unexpected '*'\n"
                 "    s = f'{a + * b}'\n"
                 "               ^\n");
    expect_diags("s = f'''\n  {a b}'''\n",
                 "t.bcl:2:6: error: invalid syntax: unexpected name 'b'\n"
                 "      {a b}'''\n"
                 "         ^\n");
    expect_diags("s = f'{(n := 3)}'\n",
                 "t.bcl:1:11: error: ':=' is not supported in .bcl\n"
                 "    s = f'{(n := 3)}'\n"
                 "              ^~\n");
}

static void test_utf8(void **state)
{
    /* names and strings may use any Unicode; columns count bytes */
    expect_dump_ex("gr\xc3\xb6\xc3\x9f\x65 = '\xe2\x82\xac'\n",
                   "Module\n"
                   "  Assign @1:1+15\n"
                   "    target: Name gr\xc3\xb6\xc3\x9f\x65 @1:1+7\n"
                   "    value: Str \"\xe2\x82\xac\" @1:11+5\n",
                   true);
    expect_diags("x = 1\ns = 'a\xff'\n",
                 "t.bcl:2:7: error: invalid UTF-8 (byte 0xff): .bcl files are UTF-8\n"
                 "    s = 'a\xff'\n"
                 "          ^\n");
    expect_diags("s = '\xed\xa0\x80'\n",
                 "t.bcl:1:6: error: invalid UTF-8 (byte 0xed): .bcl files are UTF-8\n"
                 "    s = '\xed\xa0\x80'\n"
                 "         ^\n");
}

/* ---- locations ---- */

static void test_locations(void **state)
{
    /* (checked against Python's ast: col_offset + 1, end_col_offset - col_offset) */
    expect_dump_ex("x = f(a, b=2)[1:]\n"
                   "if x:\n"
                   "    y.z = -x ** 2\n"
                   "s = f'{q}'\n",
                   "Module\n"
                   "  Assign @1:1+17\n"
                   "    target: Name x @1:1+1\n"
                   "    value: Subscript @1:5+13\n"
                   "      Call @1:5+9\n"
                   "        Name f @1:5+1\n"
                   "        arg: Name a @1:7+1\n"
                   "        kw b: Int 2 @1:12+1\n"
                   "      index: Slice @1:15+2\n"
                   "        lo: Int 1 @1:15+1\n"
                   "  If @2:1+5\n"
                   "    cond: Name x @2:4+1\n"
                   "    then:\n"
                   "      Assign @3:5+13\n"
                   "        target: Attr z @3:5+3\n"
                   "          Name y @3:5+1\n"
                   "        value: UnaryOp - @3:11+7\n"
                   "          BinOp ** @3:12+6\n"
                   "            Name x @3:12+1\n"
                   "            Int 2 @3:17+1\n"
                   "  Assign @4:1+10\n"
                   "    target: Name s @4:1+1\n"
                   "    value: FString @4:5+6\n"
                   "      Field @4:7+3\n"
                   "        Name q @4:8+1\n",
                   true);
    /* a span over several lines is cut at the end of its first line */
    expect_dump_ex("x = f(1,\n"
                   "      2)\n"
                   "def g(a,\n"
                   "      b):\n"
                   "    pass\n",
                   "Module\n"
                   "  Assign @1:1+8\n"
                   "    target: Name x @1:1+1\n"
                   "    value: Call @1:5+4\n"
                   "      Name f @1:5+1\n"
                   "      arg: Int 1 @1:7+1\n"
                   "      arg: Int 2 @2:7+1\n"
                   "  FunctionDef g @3:1+8\n"
                   "    Param a @3:7+1\n"
                   "    Param b @4:7+1\n"
                   "    body:\n"
                   "      Pass @5:5+4\n",
                   true);
}

/* ---- whole files ---- */

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = NULL;
    size_t n = 0;
    FILE *o = open_memstream(&buf, &n);
    int c;
    while ((c = fgetc(f)) != EOF) fputc(c, o);
    fclose(o);
    fclose(f);
    return buf;
}

static void test_alexnet_example(void **state)
{
    /* docs/language.md#the-reference-example, checked against Python's ast of the same text */
    Arena a;
    arena_init(&a);
    char *diags = NULL, *dump = NULL;
    size_t dn, on;
    FILE *df = open_memstream(&diags, &dn);
    Diag d;
    diag_init(&d, df);
    Source *s = bcl_read_source(&a, &d, "examples/alexnet.bcl");
    assert_non_null(s);
    AstModule *m = bcl_parse(&a, &d, s);
    fclose(df);
    assert_string_equal(diags, "");
    assert_non_null(m);
    FILE *of = open_memstream(&dump, &on);
    ast_dump(of, m);
    fclose(of);
    char *want = read_text("tests/unit/data/parse/alexnet.ast");
    assert_string_equal(dump, want);
    free(want);
    free(dump);
    free(diags);
    arena_free(&a);
}

static void test_read_source(void **state)
{
    Arena a;
    arena_init(&a);
    char *diags = NULL;
    size_t dn;
    FILE *df = open_memstream(&diags, &dn);
    Diag d;
    diag_init(&d, df);
    assert_null(bcl_read_source(&a, &d, "tests/unit/data/parse/no-such-file.bcl"));
    fclose(df);
    assert_string_equal(diags, "tests/unit/data/parse/no-such-file.bcl: error: cannot open: No such file or directory\n");
    assert_int_equal(d.n_errors, 1);
    /* a byte-order mark is dropped and "\r\n" read as "\n" */
    Source *s = bcl_source_from_string(&a, "b.bcl", "\xef\xbb\xbfx = 1\r\ny\r\n");
    assert_string_equal(s->text, "x = 1\ny\n");
    assert_int_equal(s->len, 8);
    free(diags);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imports),
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_defs),
        cmocka_unit_test(test_assigns),
        cmocka_unit_test(test_control),
        cmocka_unit_test(test_trailers),
        cmocka_unit_test(test_displays),
        cmocka_unit_test(test_fstrings),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_unsupported_statements),
        cmocka_unit_test(test_unsupported_expressions),
        cmocka_unit_test(test_multiple_errors),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_syntax_error_recovery),
        cmocka_unit_test(test_call_and_target_errors),
        cmocka_unit_test(test_parameter_errors),
        cmocka_unit_test(test_fstring_errors),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_alexnet_example),
        cmocka_unit_test(test_read_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
