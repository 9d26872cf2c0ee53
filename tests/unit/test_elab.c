/* Unit tests of the elaborator: Python semantics of the compile-time evaluator,
 * checked against values CPython prints for the same expressions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frontend/eval.h"
#include "tests/unit/test_support_elab.h"

static void test_arithmetic(void **state)
{
    Ctx *c = *state;
    assert_true(run(c, "r = [7//-2, -7//2, 7%-3, -7%3, -7.5%2, 7.5//-2, 2**-1, 10/4, 3*'ab', [1]*3, (1,)+(2,)]\n"));
    EXPECT("r", "[-4, -4, -2, 2, 0.5, -4.0, 0.5, 2.5, 'ababab', [1, 1, 1], (1, 2)]");
}

static void test_logic_and_builtins(void **state)
{
    Ctx *c = *state;
    assert_true(run(c, "r = [1<2<3, 3>2>2, 0 or 'x', 1 and 0, 'b' in 'abc', 3 in {3:1}, None is None, [1,2]<[1,3],"
                       " round(0.5), round(1.5), round(2.675, 2), int(-3.9), abs(-2.5), sum([1,2,3]), sum([0.5], 1)]\n"));
    EXPECT("r", "[True, False, 'x', 0, True, True, True, True, 0, 2, 2.67, -3, 2.5, 6, 1.5]");
}

/* CPython's repr: shortest round-trip digits, exponent outside [-4, 16), quote choice */
static void test_repr(void **state)
{
    Ctx *c = *state;
    assert_true(run(c, "f = [1e3, 1e16, 1.5e-5, 0.0001, 123456.789, 1e-7, -2.5, 0.1 + 0.2, 1 / 3, 2.0 ** 60, 5e-324]\n"
                       "s = [\"it's\", 'say \"hi\"', 'a\\nb', str(1.0), str([1.5, 'x'])]\n"));
    EXPECT("f", "[1000.0, 1e+16, 1.5e-05, 0.0001, 123456.789, 1e-07, -2.5, 0.30000000000000004, "
                "0.3333333333333333, 1.152921504606847e+18, 5e-324]");
    EXPECT("s", "[\"it's\", 'say \"hi\"', 'a\\nb', '1.0', \"[1.5, 'x']\"]");
}

static void test_int_overflow_is_error(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "x = 2 ** 62\ny = x * 4\n"));
    EXPECT_ERR("t.bcl:2:5: error: integer overflow");
}

static void test_division_by_zero(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "x = 1 // 0\n"));
    EXPECT_ERR("integer division by zero");
}

static void test_fstrings_and_format(void **state)
{
    Ctx *c = *state;
    assert_true(run(c, "x = 3\n"
                       "s = f'{x:05d}|{3.14159:.2f}|{\"ab\":>5}|{\"ab\":<4}|{7:^5}|{1234.5:10.1f}|{0.25:%}|{-5:+d}|{255:x}|{2.0}|{1e20}|{1/3}'\n"
                       "t = '{0}-{1}-{0}'.format('a', 'b')\n"
                       "u = '{:>3}'.format(7)\n"));
    EXPECT("s", "'00003|3.14|   ab|ab  |  7  |    1234.5|25.000000%|-5|ff|2.0|1e+20|0.3333333333333333'");
    EXPECT("t", "'a-b-a'");
    EXPECT("u", "'  7'");
}

static void test_call_binding(void **state)
{
    Ctx *c = *state;
    assert_true(run(c, "def f(a, b=2, *args, c, d=4, **kw):\n"
                       "    return (a, b, args, c, d, kw)\n"
                       "r1 = f(1, c=3)\n"
                       "r2 = f(1, 2, 3, 4, c=5, e=6)\n"
                       "r3 = f(*[1, 2], **{'c': 7})\n"
                       "def g(x, acc=[]):\n"
                       "    acc.append(x)\n"
                       "    return len(acc)\n"
                       "g(1)\n"
                       "r4 = g(2)\n"));
    EXPECT("r1", "(1, 2, (), 3, 4, {})");
    EXPECT("r2", "(1, 2, (3, 4), 5, 4, {'e': 6})");
    EXPECT("r3", "(1, 2, (), 7, 4, {})");
    EXPECT("r4", "2");  /* defaults are evaluated once, at definition time */
}

static void test_call_errors(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "def f(w_in, w_out=3):\n    return w_in\nx = f(w_out=1)\ny = f(1, foo=2)\nz = f(1, 2, 3)\n"));
    EXPECT_ERR("t.bcl:3:5: error: f() missing required argument 'w_in'");
    EXPECT_ERR("t.bcl:4:5: error: f() got an unexpected keyword argument 'foo'");
    EXPECT_ERR("t.bcl:5:5: error: f() takes 2 positional arguments but 3 were given");
    EXPECT_ERR("t.bcl:1:5: note: 'f' is defined here");
}

static void test_classes_super_mro(void **state)
{
    Ctx *c = *state;
    const char *src =
        "import megengine.module as M\n"
        "class A(M.Module):\n"
        "    tag = 'A'\n"
        "    def who(self):\n"
        "        return ['A']\n"
        "class B(A):\n"
        "    def who(self):\n"
        "        return ['B'] + super().who()\n"
        "class C(A):\n"
        "    tag = 'C'\n"
        "    def who(self):\n"
        "        return ['C'] + super().who()\n"
        "class D(B, C):\n"
        "    def __init__(self, n):\n"
        "        super().__init__()\n"
        "        self.n = n\n"
        "    def who(self):\n"
        "        return ['D'] + super().who()\n"
        "d = D(5)\n"
        "r = d.who()\n"
        "t = d.tag\n"
        "i = [isinstance(d, A), isinstance(d, C), isinstance(3, int), isinstance(True, int), isinstance('x', (int, str))]\n"
        "h = [hasattr(d, 'n'), hasattr(d, 'zz'), getattr(d, 'zz', 7), getattr(d, 'n')]\n"
        "class E(M.Module):\n"
        "    base = 10\n"
        "    @staticmethod\n"
        "    def twice(x):\n"
        "        return 2 * x\n"
        "    @classmethod\n"
        "    def make(cls, k):\n"
        "        return cls.base + k\n"
        "sm = [E.twice(3), E().twice(4), E.make(1), E().make(2)]\n";
    assert_true(run(c, src));
    EXPECT("r", "['D', 'B', 'C', 'A']");  /* C3 MRO, as CPython */
    EXPECT("t", "'C'");
    EXPECT("i", "[True, True, True, True, True]");
    EXPECT("h", "[True, False, 7, 5]");
    EXPECT("sm", "[6, 8, 11, 12]");
}

/* the expected names are torch.nn's for the same tree (lists held as ModuleList there) */
static void test_module_walks(void **state)
{
    Ctx *c = *state;
    assert_true(run(c, "import megengine.module as M\n"
                       "class B(M.Module):\n"
                       "    def __init__(self):\n"
                       "        super().__init__()\n"
                       "        self.c = M.Conv2d(3, 3, 1)\n"
                       "        self.l = [M.ReLU(), M.Sequential(M.Conv2d(3, 3, 1, bias=False))]\n"
                       "        self.shared = self.c\n"
                       "class N(M.Module):\n"
                       "    def __init__(self):\n"
                       "        super().__init__()\n"
                       "        self.b = B()\n"
                       "        self.bn = M.BatchNorm2d(3)\n"
                       "n = N()\n"
                       "mods = [k for k, m in n.named_modules()]\n"
                       "params = [k for k, p in n.named_parameters()]\n"
                       "kids = [type(m).__name__ for m in n.children()]\n"
                       "order = []\n"
                       "def visit(m):\n"
                       "    order.append(type(m).__name__)\n"
                       "n.apply(visit)\n"));
    EXPECT("mods", "['', 'b', 'b.c', 'b.l.0', 'b.l.1', 'b.l.1.0', 'bn']");
    EXPECT("params", "['b.c.weight', 'b.c.bias', 'b.l.1.0.weight', 'bn.weight', 'bn.bias']");
    EXPECT("kids", "['B', 'BatchNorm2d']");
    EXPECT("order", "['Conv2d', 'ReLU', 'Conv2d', 'Sequential', 'B', 'BatchNorm2d', 'N']");
}

static void test_closures_and_comprehensions(void **state)
{
    Ctx *c = *state;
    assert_true(run(c, "def outer():\n"
                       "    v = 5\n"
                       "    def inner(q):\n"
                       "        return q + v\n"
                       "    return inner\n"
                       "r = outer()(1)\n"
                       "x = 'outer'\n"
                       "l = [x * 2 for x in range(4) if x % 2]\n"
                       "p = [(i, j) for i in range(2) for j in range(i)]\n"
                       "a, *b = [1, 2, 3]\n"
                       "(m, n), o = (1, 2), 3\n"));
    EXPECT("r", "6");
    EXPECT("x", "'outer'");  /* the comprehension variable does not leak */
    EXPECT("l", "[2, 6]");
    EXPECT("p", "[(1, 0)]");
    EXPECT("b", "[2, 3]");
    EXPECT("n", "2");
}

static void test_loops_and_methods(void **state)
{
    Ctx *c = *state;
    assert_true(run(c, "out = []\n"
                       "for i in range(5):\n"
                       "    if i == 1:\n"
                       "        continue\n"
                       "    if i == 3:\n"
                       "        break\n"
                       "    out.append(i)\n"
                       "else:\n"
                       "    out.append('no')\n"
                       "for k in []:\n"
                       "    pass\n"
                       "else:\n"
                       "    out.append('else')\n"
                       "d = dict(a=1)\n"
                       "d.update(b=2)\n"
                       "d.setdefault('c', 3)\n"
                       "d['a'] += 10\n"
                       "ks = list(d.keys())\n"
                       "it = [(k, v) for k, v in d.items()]\n"
                       "pp = d.pop('b')\n"
                       "s = ','.join(['x', 'y']).upper().split(',')\n"
                       "xs = [3, 1]\n"
                       "xs.insert(0, 9)\n"
                       "xs.extend((7,))\n"
                       "last = xs.pop()\n"
                       "idx = xs.index(1)\n"
                       "sl = [0, 1, 2, 3, 4][::-2]\n"
                       "sl2 = 'abcdef'[1:-1:2]\n"
                       "e = list(enumerate('ab', 1))\n"
                       "z = list(zip([1, 2, 3], 'ab'))\n"));
    EXPECT("out", "[0, 2, 'else']");
    EXPECT("ks", "['a', 'b', 'c']");
    EXPECT("it", "[('a', 11), ('b', 2), ('c', 3)]");
    EXPECT("pp", "2");
    EXPECT("s", "['X', 'Y']");
    EXPECT("xs", "[9, 3, 1]");
    EXPECT("last", "7");
    EXPECT("idx", "2");
    EXPECT("sl", "[4, 2, 0]");
    EXPECT("sl2", "'bd'");
    EXPECT("e", "[(1, 'a'), (2, 'b')]");
    EXPECT("z", "[(1, 'a'), (2, 'b')]");
}

static void test_continue_after_toplevel_error(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "import megengine.functional as F\ny = F.foo\nz = bar + 1\nq = z + 1\nw = y\n"));
    EXPECT_ERR("t.bcl:2:7: error: 'megengine.functional' has no attribute 'foo'");
    EXPECT_ERR("t.bcl:3:5: error: name 'bar' is not defined");
    /* uses of names whose definition failed stay silent */
    assert_int_equal(c->d.n_errors, 2);
}

static void test_assert_and_raise(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "def chk(w):\n    assert w > 0, f'w must be positive, got {w}'\n    return w\nchk(-2)\n"));
    EXPECT_ERR("t.bcl:2:5: error: assertion failed: w must be positive, got -2");
    EXPECT_ERR("t.bcl:4:1: note: in call to chk here");
}

static void test_raise(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "raise ValueError('bad ' + str(3))\n"));
    EXPECT_ERR("t.bcl:1:1: error: ValueError: bad 3");
}

static void test_recursion_limit(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "def f(n):\n    return f(n + 1)\nf(0)\n"));
    EXPECT_ERR("maximum recursion depth");
}

static void test_edit_distance(void **state)
{
    (void)state;
    assert_int_equal(edit_distance("resnet18", "resnet18"), 0);
    assert_int_equal(edit_distance("resnt18", "resnet18"), 1);
    assert_int_equal(edit_distance("kitten", "sitting"), 3);
    assert_int_equal(edit_distance("ResNet", "resnet"), 0);
}

static void test_registry(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "import megengine.module as M\n"
                        "from basecls.utils import registers\n"
                        "@registers.models.register()\n"
                        "class resnet18(M.Module):\n    pass\n"
                        "@registers.models.register(name='resnet34')\n"
                        "def mk():\n    return resnet18()\n"
                        "@registers.models.register()\n"
                        "def resnet34():\n    return resnet18()\n"
                        "@registers.heads.register()\n"
                        "class H(M.Module):\n    def __init__(self, w_in, name):\n        super().__init__()\n"
                        "x = registers.models.get('resnet35')\n"));
    EXPECT_ERR("t.bcl:10:5: error: model 'resnet34' is already registered");
    EXPECT_ERR("t.bcl:7:5: note: previously registered here");
    EXPECT_ERR("t.bcl:13:7: error: registered head 'H' must not take a parameter named 'name'");
    EXPECT_ERR("unknown model 'resnet35'; the closest registered models are: 'resnet34', 'resnet18'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_arithmetic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_logic_and_builtins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_overflow_is_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_division_by_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fstrings_and_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_classes_super_mro, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_walks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closures_and_comprehensions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loops_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(test_continue_after_toplevel_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assert_and_raise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recursion_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_edit_distance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
