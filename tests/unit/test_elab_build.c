/* Unit tests of bcl_build: the BaseCls contract (_cfg, overrides, build_model,
 * head defaulting), parameter naming and order, and tracing forward into IR. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "frontend/build.h"
#include "tests/unit/test_support_elab.h"

static IrGraph *build(Ctx *c, const char *src, const char *const *ov, int n_ov)
{
    write_temp_bcl(c, NULL, src);
    BclBuildOptions opt = {.path = c->path, .overrides = ov, .n_overrides = n_ov};
    IrGraph *g = bcl_build(&opt, &c->a, &c->d);
    fflush(c->err);
    return g;
}

static const char *param_list(Ctx *c, IrGraph *g)
{
    char *out = arena_strdup(&c->a, "");
    for (int i = 0; i < g->params.n; i++) {
        IrValue *v = g->params.v[i];
        char b[64];
        out = arena_printf(&c->a, "%s%s%s", out, v->name, shape_str(&v->shape, b, sizeof b));
        if (i + 1 < g->params.n) out = arena_printf(&c->a, "%s ", out);
    }
    return out;
}

static const char *HEADER =
    "import megengine as mge\n"
    "import megengine.functional as F\n"
    "import megengine.module as M\n"
    "from basecls.layers import build_head\n"
    "from basecls.utils import registers\n";

static const char *src_with(Ctx *c, const char *body) { return arena_printf(&c->a, "%s%s", HEADER, body); }

/* torch.nn: Conv2d+BatchNorm2d+Linear in a Sequential; state_dict() keys in this order */
static void test_param_order_and_names(void **state)
{
    Ctx *c = *state;
    IrGraph *g = build(c, src_with(c,
        "class Net(M.Module):\n"
        "    def __init__(self, head=None):\n"
        "        super().__init__()\n"
        "        self.bn = M.BatchNorm2d(4)\n"
        "        self.scale = _s = None\n"
        "        self.stem = M.Sequential(M.Conv2d(3, 4, 3, padding=1, bias=False), M.ReLU())\n"
        "        self.blocks = [M.Conv2d(4, 4, 1), M.Conv2d(4, 4, 1)]\n"
        "        self.shared = self.blocks[0]\n"
        "        self.fc = M.Linear(4, 2)\n"
        "    def forward(self, x):\n"
        "        x = self.bn(self.stem(x))\n"
        "        for b in self.blocks:\n"
        "            x = b(x)\n"
        "        return self.fc(x.mean(axis=(2, 3)))\n"
        "_cfg = dict(model=dict(name=Net), test=dict(img_size=(8, 6)))\n"), NULL, 0);
    assert_non_null(g);
    assert_string_equal(param_list(c, g),
        "bn.weight[4] bn.bias[4] bn.running_mean[4] bn.running_var[4] stem.0.weight[4, 3, 3, 3] "
        "blocks.0.weight[4, 4, 1, 1] blocks.0.bias[4] blocks.1.weight[4, 4, 1, 1] blocks.1.bias[4] "
        "fc.weight[2, 4] fc.bias[2]");
    assert_string_equal(g->name, "Net");
    assert_int_equal(g->inputs.n, 1);
    IrValue *in = g->inputs.v[0];
    assert_int_equal(in->shape.d[2], 8);
    assert_int_equal(in->shape.d[3], 6);
    assert_int_equal(g->outputs.n, 1);
    IrValue *out = g->outputs.v[0];
    assert_int_equal(out->shape.rank, 2);
    assert_int_equal(out->shape.d[1], 2);
}

static const char *HEADNET =
    "class Net(M.Module):\n"
    "    def __init__(self, width=8, head=None):\n"
    "        super().__init__()\n"
    "        self.conv = M.Conv2d(3, width, 3)\n"
    "        self.head = build_head(width, head)\n"
    "    def forward(self, x):\n"
    "        x = self.conv(x)\n"
    "        if getattr(self, 'head', None) is not None:\n"
    "            x = self.head(x)\n"
    "        return x\n"
    "registers.models.register()(Net)\n";

static void test_head_defaults_from_num_classes(void **state)
{
    Ctx *c = *state;
    IrGraph *g = build(c, src_with(c, arena_printf(&c->a, "%s_cfg = dict(num_classes=7, model=dict(name='Net', head=dict(name='ClsHead')))\n", HEADNET)), NULL, 0);
    assert_non_null(g);
    IrValue *w = ir_find_param(g, "head.fc.weight");
    assert_non_null(w);
    assert_int_equal(w->shape.d[0], 7);  /* w_out = num_classes */
    assert_int_equal(w->shape.d[1], 8);
}

static void test_overrides(void **state)
{
    Ctx *c = *state;
    const char *ov[] = {"model.width=16", "num_classes=3", "model.head.name=ClsHead", "test.img_size=(32, 16)"};
    IrGraph *g = build(c, src_with(c, arena_printf(&c->a, "%s_cfg = dict(num_classes=7, model=dict(name='Net', head=None))\n", HEADNET)), ov, 4);
    assert_non_null(g);
    IrValue *w = ir_find_param(g, "head.fc.weight");
    assert_non_null(w);
    assert_int_equal(w->shape.d[0], 3);
    assert_int_equal(w->shape.d[1], 16);
    IrValue *in = g->inputs.v[0];
    assert_int_equal(in->shape.d[2], 32);
    assert_int_equal(in->shape.d[3], 16);
}

/* -o values are Python literals (ast.literal_eval), else strings, as BaseCls reads them */
static void test_override_literals(void **state)
{
    Ctx *c = *state;
    const char *ov[] = {"model.a=(1, 2)", "model.b=None", "model.c=True", "model.d='BN'", "model.e=BN",
                        "model.f=1e-3", "model.g=-1", "model.h=[1, 'x']", "model.i={'k': 2}", "model.j=foo(1)",
                        "model.k=relu6", "new.deep.key=3"};
    IrGraph *g = build(c, src_with(c,
        "class Net(M.Module):\n"
        "    def __init__(self, a, b, c, d, e, f, g, h, i, j, k):\n"
        "        super().__init__()\n"
        "        got = [a, b, c, d, e, f, g, h, i, j, k]\n"
        "        want = [(1, 2), None, True, 'BN', 'BN', 0.001, -1, [1, 'x'], {'k': 2}, 'foo(1)', 'relu6']\n"
        "        assert got == want and isinstance(a, tuple) and isinstance(f, float), f'got {got!r}'\n"
        "    def forward(self, x):\n"
        "        return x\n"
        "_cfg = dict(model=dict(name=Net, a=0, b=0, c=0, d=0, e=0, f=0, g=0, h=0, i=0, j=0, k=0))\n"), ov, 12);
    if (!g) fail_msg("%s", errors(c));
}

static void test_explicit_head_none(void **state)
{
    Ctx *c = *state;
    IrGraph *g = build(c, src_with(c, arena_printf(&c->a, "%s_cfg = dict(num_classes=7, model=dict(name='Net', head=None))\n", HEADNET)), NULL, 0);
    assert_non_null(g);
    assert_int_equal(g->params.n, 2);  /* conv only: the network returns its features */
}

static void test_override_string_fallback(void **state)
{
    Ctx *c = *state;
    /* a value that is not a literal is taken as a string: ClsHeadd is then an unknown head */
    const char *ov[] = {"model.head.name=ClsHeadd"};
    IrGraph *g = build(c, src_with(c, arena_printf(&c->a, "%s_cfg = dict(num_classes=7, model=dict(name='Net'))\n", HEADNET)), ov, 1);
    assert_null(g);
    EXPECT_ERR("head 'ClsHeadd' not supported");
    EXPECT_ERR(":17:39: note: while building model 'Net' from _cfg.model here");
}

/* HEADER + body must fail to build, reporting msg. */
static void expect_build_error(Ctx *c, const char *body, const char *msg)
{
    assert_null(build(c, src_with(c, body), NULL, 0));
    EXPECT_ERR(msg);
}

static void test_head_kwarg_error_points_at_config(void **state)
{
    Ctx *c = *state;
    expect_build_error(c, arena_printf(&c->a, "%s_cfg = dict(\n    num_classes=7,\n    model=dict(name='Net', head=dict(name='ClsHead', widht=3)))\n", HEADNET),
                       ":19:54: error: ClsHead() got an unexpected keyword argument 'widht'");
}

static void test_model_name_missing(void **state)
{
    Ctx *c = *state;
    expect_build_error(c, arena_printf(&c->a, "%s_cfg = dict(model=dict(width=3))\n", HEADNET), "model name is missing");
}

static void test_tensor_condition_is_error(void **state)
{
    expect_build_error(*state,
        "class Net(M.Module):\n"
        "    def forward(self, x):\n"
        "        if x:\n"
        "            return x\n"
        "        return x\n"
        "_cfg = dict(model=dict(name=Net))\n",
        ":8:12: error: condition depends on tensor data, which is not known at compile time");
}

static void test_module_mutation_in_forward(void **state)
{
    expect_build_error(*state,
        "class Net(M.Module):\n"
        "    def forward(self, x):\n"
        "        self.cache = 1\n"
        "        return x\n"
        "_cfg = dict(model=dict(name=Net))\n",
        "error: modules cannot be changed in forward");
}

/* shapes follow MegEngine / NumPy (the expectations are torch's for the same ops) */
static void test_tensor_ops_shapes_small(void **state)
{
    Ctx *c = *state;
    write_temp_bcl(c, HEADER,
          "class Net(M.Module):\n"
          "    def forward(self, x):\n"
          "        n, ch, h, w = x.shape\n"
          "        a = x[:, 1:3, ::2, -1]\n"
          "        b = F.adaptive_avg_pool2d(x, (3, 4))\n"
          "        s = F.softmax(x.reshape(n, -1))\n"
          "        t = x.flatten(2).transpose(0, 2, 1)\n"
          "        u = F.concat([x, x * 2 - 1], axis=1)\n"
          "        parts = F.split(u, 2, axis=1)\n"
          "        v = F.stack([a, a], axis=0)\n"
          "        m = x.mean(axis=1, keepdims=True)\n"
          "        return a, b, s, t, parts[1], v, m, x[0, None], x[..., 1:3], x[0, ..., None, 2]\n"
          "_cfg = dict(model=dict(name=Net))\n");
    BclBuildOptions opt = {.path = c->path, .has_input_shape = true, .input_shape = {4, {1, 3, 9, 10}}};
    IrGraph *g = bcl_build(&opt, &c->a, &c->d);
    if (!g) fail_msg("%s", errors(c));
    const char *expect[] = {"[1, 2, 5]", "[1, 3, 3, 4]", "[1, 270]", "[1, 90, 3]", "[1, 3, 9, 10]",
                            "[2, 1, 2, 5]", "[1, 1, 9, 10]", "[1, 3, 9, 10]", "[1, 3, 9, 2]", "[3, 9, 1]"};
    assert_int_equal(g->outputs.n, 10);
    for (int i = 0; i < 10; i++) {
        char buf[64];
        IrValue *o = g->outputs.v[i];
        assert_string_equal(shape_str(&o->shape, buf, sizeof buf), expect[i]);
    }
    /* adaptive pooling uses MegEngine's window: stride = 9 // 3 = 3, kernel = 9 - 2 * 3 = 3;
     * stride = 10 // 4 = 2, kernel = 10 - 3 * 2 = 4 */
    IrValue *b = g->outputs.v[1];
    assert_int_equal(b->def->attrs.stride[0], 3);
    assert_int_equal(b->def->attrs.kernel[0], 3);
    assert_int_equal(b->def->attrs.stride[1], 2);
    assert_int_equal(b->def->attrs.kernel[1], 4);
    /* softmax over axis 1 */
    assert_int_equal(((IrValue *)g->outputs.v[2])->def->attrs.axis, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_param_order_and_names, setup_build, teardown),
        cmocka_unit_test_setup_teardown(test_head_defaults_from_num_classes, setup_build, teardown),
        cmocka_unit_test_setup_teardown(test_overrides, setup_build, teardown),
        cmocka_unit_test_setup_teardown(test_override_literals, setup_build, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_head_none, setup_build, teardown),
        cmocka_unit_test_setup_teardown(test_override_string_fallback, setup_build, teardown),
        cmocka_unit_test_setup_teardown(test_head_kwarg_error_points_at_config, setup_build, teardown),
        cmocka_unit_test_setup_teardown(test_model_name_missing, setup_build, teardown),
        cmocka_unit_test_setup_teardown(test_tensor_condition_is_error, setup_build, teardown),
        cmocka_unit_test_setup_teardown(test_module_mutation_in_forward, setup_build, teardown),
        cmocka_unit_test_setup_teardown(test_tensor_ops_shapes_small, setup_build, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
