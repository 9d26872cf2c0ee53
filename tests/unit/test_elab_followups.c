/* Unit tests of the elaborator's later additions: Module.__init__ binding, iter /
 * next / callable, registry membership, _bcl.has_kwargs, recursive_update, relative
 * imports, F.repeat and attribute suggestions. Expected values are what CPython and
 * MegEngine give for the same programs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frontend/eval.h"
#include "tests/unit/test_support_elab.h"

static const char *MOD = "import megengine.module as M\n";

static char *cat(Ctx *c, const char *a, const char *b) { return arena_printf(&c->a, "%s%s", a, b); }

/* A class without __init__ gets Module.__init__(self, name=None): nothing else binds. */
static void test_module_init_rejects_unknown_kwarg(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, cat(c, MOD, "class MyMod(M.Module):\n"
                                    "    def forward(self, x):\n"
                                    "        return x\n"
                                    "m = MyMod(foo=1)\n")));
    EXPECT_ERR("t.bcl:5:5: error: MyMod() got an unexpected keyword argument 'foo'");
}

static void test_module_init_rejects_extra_positional(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, cat(c, MOD, "class MyMod(M.Module):\n"
                                    "    pass\n"
                                    "m = MyMod('a', 2)\n")));
    EXPECT_ERR("MyMod() takes at most 1 argument (2 given)");
}

static void test_module_init_accepts_name(void **state)
{
    Ctx *c = *state;
    RUN_OK((cat(c, MOD, "class A(M.Module):\n"
                                   "    pass\n"
                                   "class B(M.Module):\n"
                                   "    def __init__(self):\n"
                                   "        super().__init__(name='b')\n"
                                   "a = A()\n"
                                   "a2 = A('x')\n"
                                   "a3 = A(name=None)\n"
                                   "b = B()\n"
                                   "ok = isinstance(b, M.Module)\n")));
    EXPECT("ok", "True");
}

static void test_module_init_super_bad_kwarg(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, cat(c, MOD, "class B(M.Module):\n"
                                    "    def __init__(self):\n"
                                    "        super().__init__(width=3)\n"
                                    "b = B()\n")));
    EXPECT_ERR("Module.__init__() got an unexpected keyword argument 'width'");
}

/* Values from CPython 3 for the same program. */
static void test_iter_next_callable(void **state)
{
    Ctx *c = *state;
    RUN_OK((cat(c, MOD, "it = iter([1, 2, 3])\n"
                                   "a = next(it)\n"
                                   "rest = [x for x in it]\n"
                                   "b = next(it, 'done')\n"
                                   "it2 = iter((4, 5, 6))\n"
                                   "next(it2)\n"
                                   "r2 = list(it2)\n"
                                   "same = iter(it2) is it2\n"
                                   "d = next(iter({'k': 1}))\n"
                                   "s = []\n"
                                   "for ch in iter('ab'):\n"
                                   "    s.append(ch)\n"
                                   "t = tuple(iter(range(3)))\n"
                                   "def f():\n"
                                   "    pass\n"
                                   "cl = [callable(f), callable(len), callable(M.Conv2d), callable(iter([])), callable(1),\n"
                                   "      callable('x'), callable([].append), callable(M.Conv2d(1, 1, 1)), callable(None)]\n")));
    EXPECT("a", "1");
    EXPECT("rest", "[2, 3]");
    EXPECT("b", "'done'");
    EXPECT("r2", "[5, 6]");
    EXPECT("same", "True");
    EXPECT("d", "'k'");
    EXPECT("s", "['a', 'b']");
    EXPECT("t", "(0, 1, 2)");
    EXPECT("cl", "[True, True, True, False, False, False, True, True, False]");
}

static void test_next_errors(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "it = iter([])\nx = next(it)\n"));
    EXPECT_ERR("t.bcl:2:5: error: StopIteration");
}

static void test_next_on_list_is_error(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "x = next([1])\n"));
    EXPECT_ERR("'list' object is not an iterator");
}

static void test_registry_membership(void **state)
{
    Ctx *c = *state;
    RUN_OK(cat(c, MOD, "from basecls.utils import registers\n"
                       "@registers.models.register()\n"
                       "class Net(M.Module):\n"
                       "    pass\n"
                       "@registers.heads.register(name='MyHead')\n"
                       "def my_head(w_in):\n"
                       "    return None\n"
                       "r = ['Net' in registers.models, 'MyHead' in registers.heads, 'my_head' in registers.heads,\n"
                       "     'Net' not in registers.heads, 'nope' not in registers.models, 3 in registers.models,\n"
                       "     registers.models.contains('Net')]\n"));
    EXPECT("r", "[True, True, False, True, True, False, True]");
}

static void test_in_namespace_is_error(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "import math\nx = 'pi' in math\n"));
    EXPECT_ERR("argument of type 'module' does not support 'in'");
}

/* _bcl is for the standard library only: these run as if loading it. */
static void test_has_kwargs_and_declared(void **state)
{
    Ctx *c = *state;
    c->I.loading_stdlib = true;
    RUN_OK(cat(c, MOD, "import _bcl\n"
                       "def f(a, **kw):\n"
                       "    pass\n"
                       "def g(a, *args, b=1):\n"
                       "    pass\n"
                       "class H(M.Module):\n"
                       "    def __init__(self, w_in, name=None, **kw):\n"
                       "        super().__init__()\n"
                       "class K(M.Module):\n"
                       "    pass\n"
                       "r = [_bcl.has_kwargs(f), _bcl.has_kwargs(g), _bcl.has_kwargs(H), _bcl.has_kwargs(K),\n"
                       "     _bcl.accepts(f, 'zz'), _bcl.accepts(f, 'zz', kwargs=False), _bcl.accepts(f, 'a', False),\n"
                       "     _bcl.accepts(g, 'args'), _bcl.accepts(g, 'b', kwargs=False),\n"
                       "     _bcl.accepts(H, 'name', kwargs=False), _bcl.accepts(H, 'self', kwargs=False),\n"
                       "     _bcl.accepts(K, 'name'), _bcl.accepts(K, 'w_in')]\n"));
    /* 'self' is declared too: build_head never asks for it */
    EXPECT("r", "[True, False, True, False, True, False, True, False, True, True, True, True, False]");
}

/* A head that declares 'name' beside **kwargs was missed by the old probe. */
static void test_build_head_name_with_kwargs(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, cat(c, MOD, "from basecls.layers import build_head\n"
                                    "class H(M.Module):\n"
                                    "    def __init__(self, w_in, name=None, **kw):\n"
                                    "        super().__init__()\n"
                                    "h = build_head(8, dict(name=H))\n")));
    EXPECT_ERR("declares a parameter 'name'");
}

static void test_build_head_kwargs_only_ok(void **state)
{
    Ctx *c = *state;
    RUN_OK(cat(c, MOD, "from basecls.layers import build_head\n"
                       "class H(M.Module):\n"
                       "    def __init__(self, w_in, **kw):\n"
                       "        super().__init__()\n"
                       "        self.keys = sorted(kw.keys())\n"
                       "h = build_head(8, dict(name=H, w_out=3))\n"
                       "k = h.keys\n"));
    EXPECT("k", "['act_name', 'norm_name', 'w_out']");
}

/* Expected values from BaseCls's recursive_update under CPython. */
static void test_recursive_update(void **state)
{
    Ctx *c = *state;
    RUN_OK("from basecls.utils import recursive_update\n"
           "a = dict(x=1, m=dict(name='r', head=dict(w_out=10, width=5)), z=[1])\n"
           "b = dict(m=dict(head=dict(w_out=2), depth=3), y=dict(k=1), z=[2])\n"
           "r = recursive_update(a, b)\n"
           "same = r is a\n"
           "c = recursive_update({}, {'p': {'q': {}}})\n");
    EXPECT("a", "{'x': 1, 'm': {'name': 'r', 'head': {'w_out': 2, 'width': 5}, 'depth': 3}, 'z': [2], 'y': {'k': 1}}");
    EXPECT("same", "True");
    EXPECT("c", "{'p': {'q': {}}}");
}

static void test_recursive_update_non_dict(void **state)
{
    Ctx *c = *state;
    assert_false(run(c, "from basecls.utils import recursive_update\n"
                        "r = recursive_update(dict(m=3), dict(m=dict(a=1)))\n"));
    EXPECT_ERR("t.bcl:2:5: error: recursive_update() merges a dict into a dict, not dict into int");
}

/* Runs src as if it were the standard-library file at path (e.g. basecls/models/x.bcl). */
static bool run_as_stdlib(Ctx *c, const char *path, const char *src)
{
    return run_file(c, arena_printf(&c->a, "<stdlib>/%s", path), src, true);
}

static void test_relative_import_in_stdlib(void **state)
{
    Ctx *c = *state;
    if (!run_as_stdlib(c, "basecls/models/fake.bcl",
                       "from .resnet import ResNet\n"
                       "from basecls.models.resnet import ResNet as R2\n"
                       "from ..layers import conv2d\n"
                       "from basecls.layers import conv2d as c2\n"
                       "from . import vgg\n"
                       "r = [ResNet is R2, conv2d is c2, callable(vgg.VGG)]\n"))
        fail_msg("unexpected errors:\n%s", errors(c));
    EXPECT("r", "[True, True, True]");
}

static void test_relative_import_stdlib_errors(void **state)
{
    Ctx *c = *state;
    assert_false(run_as_stdlib(c, "basecls/models/fake.bcl", "from .nothing import X\n"));
    EXPECT_ERR("no module named '.nothing' (looked for basecls/models/nothing.bcl in the standard library)");
    assert_false(run_as_stdlib(c, "basecls/models/fake.bcl", "from .... import X\n"));
    EXPECT_ERR("beyond the top of the standard library");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_module_init_rejects_unknown_kwarg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_init_rejects_extra_positional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_init_accepts_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_module_init_super_bad_kwarg, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter_next_callable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_next_on_list_is_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_membership, setup, teardown),
        cmocka_unit_test_setup_teardown(test_in_namespace_is_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_has_kwargs_and_declared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_head_name_with_kwargs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_build_head_kwargs_only_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recursive_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recursive_update_non_dict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_import_in_stdlib, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_import_stdlib_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
