#!/usr/bin/python3
"""Self-test of the reference itself: the shim's semantics against hand-computed
values (numpy loops, BaseCls / MegEngine facts), and the runner against a
shim-based stand-in for bclc, correct and deliberately wrong.

usage: selftest.py [--runner]      (--runner also exercises run_conformance.py)
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bclshim import loader, registry, safetensors, tensor  # noqa: E402
from bclshim import functional as F  # noqa: E402
from bclshim import layers as L  # noqa: E402
from bclshim import module as M  # noqa: E402
from bclshim.reference import entries, mge_shape, params_text  # noqa: E402

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def _np_pool(x, k, s, p, how, count_pad=False):
    """Plain loops over a (H, W) array; padding never wins a max."""
    H, W = x.shape
    oh, ow = (H + 2 * p[0] - k[0]) // s[0] + 1, (W + 2 * p[1] - k[1]) // s[1] + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            vals = []
            for a in range(k[0]):
                for b in range(k[1]):
                    r, c = i * s[0] - p[0] + a, j * s[1] - p[1] + b
                    if 0 <= r < H and 0 <= c < W:
                        vals.append(x[r, c])
            if how == "max":
                out[i, j] = max(vals)
            else:
                out[i, j] = sum(vals) / (k[0] * k[1] if count_pad else len(vals))
    return out


@check
def pooling_padding_modes():
    x = np.random.default_rng(0).standard_normal((7, 6)).astype(np.float32)
    t = torch.from_numpy(x)[None, None]
    got = F.avg_pool2d(t, 3, 2, 1)[0, 0].numpy()
    assert np.allclose(got, _np_pool(x, (3, 3), (2, 2), (1, 1), "avg"), atol=1e-6), "exclude-padding avg"
    got = F.avg_pool2d(t, 3, 2, 1, mode="average")[0, 0].numpy()
    assert np.allclose(got, _np_pool(x, (3, 3), (2, 2), (1, 1), "avg", True), atol=1e-6), "average avg"
    got = F.max_pool2d(t, (3, 2), (1, 2), (1, 1))[0, 0].numpy()
    assert np.allclose(got, _np_pool(x, (3, 2), (1, 2), (1, 1), "max")), "max pool"
    got = M.AvgPool2d(2)(t)[0, 0].numpy()   # stride defaults to the kernel
    assert got.shape == (3, 3)


@check
def adaptive_window_rule():
    x = np.arange(8 * 5, dtype=np.float32).reshape(8, 5) ** 1.5
    t = torch.from_numpy(x)[None, None]
    # 8 -> 3: stride 2, window 4; 5 -> 3: stride 1, window 3 (PyTorch's rule differs)
    want = np.array([[x[r:r + 4, c:c + 3].mean() for c in (0, 1, 2)] for r in (0, 2, 4)])
    assert np.allclose(F.adaptive_avg_pool2d(t, 3)[0, 0].numpy(), want, rtol=1e-6), "adaptive avg"
    assert not np.allclose(torch.nn.functional.adaptive_avg_pool2d(t, 3)[0, 0].numpy(), want)
    want = np.array([[x[r:r + 4, c:c + 3].max() for c in (0, 1, 2)] for r in (0, 2, 4)])
    assert np.allclose(M.AdaptiveMaxPool2d((3, 3))(t)[0, 0].numpy(), want), "adaptive max"
    # 1 -> 6 would be stride 0: an error, as in MegEngine
    _expect_error(lambda: F.adaptive_avg_pool2d(torch.ones(1, 1, 1, 1), (6, 6)), "larger than input")
    # 7 -> 6: stride 1, window 2
    y = torch.arange(7.0).reshape(1, 1, 7, 1)
    assert F.adaptive_max_pool2d(y, (6, 1)).flatten().tolist() == [1, 2, 3, 4, 5, 6]


@check
def activations_and_softmax():
    x = torch.linspace(-5, 5, 41)
    xn = x.numpy().astype(np.float64)
    relu6 = np.minimum(np.maximum(xn, 0), 6)
    assert np.allclose(F.hswish(x).numpy(), xn * relu6_shift(xn) / 6, atol=1e-6)
    assert np.allclose(F.hsigmoid(x).numpy(), relu6_shift(xn) / 6, atol=1e-6)
    assert np.allclose(F.relu6(x * 2).numpy(), np.minimum(np.maximum(2 * xn, 0), 6), atol=1e-6)
    assert np.allclose(F.leaky_relu(x).numpy(), np.where(xn > 0, xn, 0.01 * xn), atol=1e-6)
    import math
    gelu = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in xn])
    assert np.allclose(F.gelu(x).numpy(), gelu, atol=1e-6)
    assert np.allclose(F.silu(x).numpy(), xn / (1 + np.exp(-xn)), atol=1e-6)
    del relu6
    # MegEngine's default softmax axis: 0 for 1-D / 3-D, 1 otherwise
    for shape, axis in (((5,), 0), ((2, 5), 1), ((2, 3, 4), 0), ((2, 3, 4, 5), 1)):
        y = F.softmax(torch.randn(*shape)).sum(axis)
        assert torch.allclose(y, torch.ones_like(y), atol=1e-5), shape


def relu6_shift(xn):
    return np.minimum(np.maximum(xn + 3, 0), 6)


@check
def tensor_methods():
    tensor.install()
    x = torch.arange(24.0).reshape(2, 3, 4)
    assert x.transpose(2, 0, 1).shape == (4, 2, 3)
    assert x.transpose((1, 0, 2)).shape == (3, 2, 4)
    assert x.mean(axis=1, keepdims=True).shape == (2, 1, 4)
    assert float(x.max()) == 23.0 and x.max(axis=2).shape == (2, 3)
    assert F.flatten(x, 1).shape == (2, 12) and x.flatten(0, 1).shape == (6, 4)
    y = x
    y += 1.0
    assert float(x[0, 0, 0]) == 0.0, "x += y must not alias"
    parts = F.split(x, 2, axis=2)
    assert len(parts) == 2 and parts[1].shape == (2, 3, 2)
    parts = F.split(x, [1, 3], axis=2)
    assert [p.shape[2] for p in parts] == [1, 2, 1]
    p = F.pad(x, ((0, 0), (1, 2)))
    assert p.shape == (2, 6, 4) and float(p[0, 0, 0]) == 0.0 and float(p[0, 1, 0]) == 0.0
    assert F.transpose(x, (0, 2, 1)).shape == (2, 4, 3)


@check
def make_divisible_values():
    # BaseCls: max(min_value, int(v + d/2) // d * d), bumped if below round_limit * v
    cases = [((4,), 8), ((37,), 40), ((16 * 0.25,), 8), ((100, 8, None, 0.9), 104), ((10, 8, None, 0.9), 16),
             ((20, 8, None, 0.9), 24), ((3, 4), 4), ((30, 16), 32)]
    for args, want in cases:
        assert L.make_divisible(*args) == want, (args, L.make_divisible(*args), want)


@check
def registration_naming():
    class Net(M.Module):
        def __init__(self):
            super().__init__()
            self.a = M.Conv2d(2, 4, 3, groups=2)
            self.blocks = [M.Linear(2, 3), [M.BatchNorm2d(3)], "not a module"]
            self.d = {"x": M.Linear(1, 1, bias=False)}
            self.seq = M.Sequential(M.ReLU(), M.Linear(2, 2))
            self.late = []
            self.late.append(M.Linear(2, 2, bias=False))
            self.t = tensor.Tensor(np.ones(3))
            self.none = None
    keys = [(k, tuple(t.shape)) for k, t, _, _ in entries(Net())]
    want = [("t", (3,)), ("a.weight", (4, 1, 3, 3)), ("a.bias", (4,)),
            ("blocks.0.weight", (3, 2)), ("blocks.0.bias", (3,)),
            ("blocks.1.0.weight", (3,)), ("blocks.1.0.bias", (3,)),
            ("blocks.1.0.running_mean", (3,)), ("blocks.1.0.running_var", (3,)),
            ("d.x.weight", (1, 1)), ("seq.1.weight", (2, 2)), ("seq.1.bias", (2,)),
            ("late.0.weight", (2, 2))]
    assert keys == want, keys


@check
def megengine_layouts():
    conv = M.Conv2d(4, 6, 3, groups=2)
    bn = M.BatchNorm2d(5)
    assert mge_shape(conv, "weight", conv.weight.shape) == (2, 3, 2, 3, 3)
    assert mge_shape(conv, "bias", conv.bias.shape) == (1, 6, 1, 1)
    assert mge_shape(bn, "running_var", bn.running_var.shape) == (1, 5, 1, 1)
    # the grouped layout holds the same elements in the same order
    w = conv.weight.detach().clone()
    wg = w.reshape(2, 3, 2, 3, 3)
    x = torch.randn(1, 4, 5, 5)
    assert torch.allclose(F.conv2d(x, w, groups=2), F.conv2d(x, wg), atol=1e-6)


@check
def safetensors_roundtrip():
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "w.safetensors")
        a = np.arange(6, dtype=np.float32).reshape(2, 3)
        safetensors.save(p, [("z", a), ("a", np.float32([1.5]))], {"k": "v"})
        back = safetensors.load(p)
        assert list(back) == ["z", "a"] and np.array_equal(back["z"], a)
        with open(p, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
        assert n % 8 == 0


def _expect_error(fn, text):
    try:
        fn()
    except (registry.ShimError, TypeError) as e:
        assert text in str(e), f"'{text}' not in '{e}'"
        return
    raise AssertionError(f"no error (expected '{text}')")


@check
def build_head_rules():
    class NoDefaults(M.Module):       # takes neither norm_name nor act_name
        def __init__(self, w_in, w_out):
            super().__init__()
            self.fc = M.Linear(w_in, w_out)
    assert L.build_head(8, None) is None
    assert L.build_head(8, {"w_out": 3}) is None
    assert L.build_head(8, {"name": None}) is None
    assert isinstance(L.build_head(8, {"name": NoDefaults, "w_out": 3}), NoDefaults)
    h = L.build_head(8, {"name": "ClsHead", "w_out": 3, "width": 4}, "BN", "hswish")
    assert isinstance(h.act, L.HSwish)
    _expect_error(lambda: L.build_head(8, {"name": "Nope"}), "not supported")
    _expect_error(lambda: L.build_head(8, {"name": NoDefaults, "w_out": 3, "act_name": "relu"}), "act_name")

    class Named(M.Module):
        def __init__(self, w_in, name="x"):
            super().__init__()
    _expect_error(lambda: L.build_head(8, {"name": Named}), "'name'")


@check
def build_model_rules():
    registry.reset()

    @registry.models.register()
    class Tiny(M.Module):
        def __init__(self, head=None, k=1):
            super().__init__()
            self.head, self.k = head, k
    m = loader.build_model({"num_classes": 5, "model": {"name": "Tiny"}})
    assert m.head == {"w_out": 5}
    m = loader.build_model({"num_classes": 5, "model": {"name": "Tiny", "head": None}})
    assert m.head is None
    m = loader.build_model({"num_classes": 5, "model": {"name": "Tiny", "head": {"w_out": 2}}})
    assert m.head == {"w_out": 2}
    _expect_error(lambda: loader.build_model({"model": {}}), "model name is missing")
    _expect_error(lambda: loader.build_model({"model": {"name": "Tiy"}}), "Tiny")
    _expect_error(lambda: registry.models.register()(Tiny), "twice")

    def bad(name=None):
        return None
    _expect_error(lambda: registry.models.register(name="bad")(bad), "'name'")
    cfg = loader.apply_overrides({"model": {"name": "A"}}, loader.parse_overrides(
        ["model.head.width=1024", "num_classes=10", "model.act=relu", "model.s=(1, 2)", "x=None", "y='BN'"]))
    assert cfg == {"model": {"name": "A", "head": {"width": 1024}, "act": "relu", "s": (1, 2)},
                   "num_classes": 10, "x": None, "y": "BN"}, cfg
    registry.reset()


@check
def alexnet_param_list():
    model, _ = loader.build_from_file(os.path.join(HERE, "models", "alexnet.bcl"))
    # torchvision's AlexNet names: features.{0,3,6,8,10}, classifier.{1,4,6}
    want = []
    for i, (o, c, k) in zip((0, 3, 6, 8, 10), ((64, 3, 11), (192, 64, 5), (384, 192, 3), (256, 384, 3), (256, 256, 3))):
        want += [f"features.{i}.weight [{o}, {c}, {k}, {k}]", f"features.{i}.bias [{o}]"]
    for i, (o, c) in zip((1, 4, 6), ((4096, 9216), (4096, 4096), (1000, 4096))):
        want += [f"head.classifier.{i}.weight [{o}, {c}]", f"head.classifier.{i}.bias [{o}]"]
    assert params_text(model).splitlines() == want
    y = model(torch.zeros(1, 3, 224, 224))
    assert tuple(y.shape) == (1, 1000)
    _expect_error(lambda: model(torch.zeros(1, 3, 99, 99)), "larger than input")   # 2x2 features


@check
def alexnet_vs_torch_nn():
    """The shim's AlexNet equals one built from torch.nn with the same weights
    (at 224 px the 6x6 adaptive pool is the identity under both rules)."""
    from bclshim.reference import randomize
    model, _ = loader.build_from_file(os.path.join(HERE, "models", "alexnet.bcl"),
                                      ["model.head.width=32", "num_classes=5"])
    randomize(model, 3)
    nn = torch.nn
    ref = nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(), nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d(6), nn.Flatten(), nn.Dropout(),
        nn.Linear(9216, 32), nn.ReLU(), nn.Dropout(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 5)).eval()
    sd = model.state_dict()
    rename = {f"features.{i}": str(i) for i in (0, 3, 6, 8, 10)}
    rename.update({"head.classifier.1": "16", "head.classifier.4": "19", "head.classifier.6": "21"})
    ref.load_state_dict({rename[k.rsplit(".", 1)[0]] + "." + k.rsplit(".", 1)[1]: v for k, v in sd.items()})
    x = torch.randn(1, 3, 224, 224)
    assert torch.allclose(model(x), ref(x), atol=1e-5)


@check
def batchnorm_vs_torch_nn():
    bn = M.BatchNorm2d(4, eps=1e-3)
    ref = torch.nn.BatchNorm2d(4, eps=1e-3).eval()
    for t in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
        t.copy_(torch.rand(4) + 0.5)
    ref.load_state_dict(dict(bn.state_dict(), num_batches_tracked=torch.tensor(0)))
    x = torch.randn(2, 4, 3, 3)
    assert torch.allclose(bn.eval()(x), ref(x), atol=1e-6)
    bn1 = M.BatchNorm1d(4)
    bn1.load_state_dict(bn.state_dict())
    y = torch.randn(3, 4)
    want = (y - bn.running_mean) / torch.sqrt(bn.running_var + 1e-5) * bn.weight + bn.bias
    assert torch.allclose(bn1.eval()(y), want, atol=1e-6)


def run_unit_checks():
    """[(name, error or None)] for every semantic check."""
    torch.manual_seed(0)
    np.random.seed(0)
    out = []
    for fn in CHECKS:
        try:
            fn()
            out.append((fn.__name__, None))
        except Exception as e:  # report, keep going
            out.append((fn.__name__, f"{type(e).__name__}: {e}"))
    return out


def run_runner_checks():
    """The runner passes a correct stand-in and catches wrong ones."""
    fails = []
    shim = os.path.join(HERE, "shim_bclc.py")
    with tempfile.TemporaryDirectory() as wd:
        for fault, want in (("", "4 passed, 0 failed"), ("scale", "2 passed, 2 failed"),
                            ("params", "3 passed, 1 failed")):
            env = dict(os.environ, BCL_SHIM_FAULT=fault)
            r = subprocess.run([sys.executable, os.path.join(HERE, "run_conformance.py"), "--bclc", shim,
                                "--workdir", wd, "-k", "pooling@batch2"], capture_output=True, text=True, env=env)
            last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
            if last != f"conformance: {want}" or (r.returncode == 0) != (fault == ""):
                fails.append(f"fault '{fault}': rc {r.returncode}, '{last}'\n{r.stdout}{r.stderr}")
    return fails


def main():
    bad = 0
    for name, err in run_unit_checks():
        print(f"{'PASS' if err is None else 'FAIL'}: {name}" + ("" if err is None else f": {err}"))
        bad += err is not None
    if "--runner" in sys.argv:
        for f in run_runner_checks():
            print("FAIL: runner: " + f)
            bad += 1
        print("runner checks done")
    print(f"selftest: {'ok' if not bad else f'{bad} failed'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
