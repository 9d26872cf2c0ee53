"""basecls.layers stand-in, with BaseCls's semantics (basecls/layers/{heads,
modules,activations,wrapper}.py) and the build_head rules of docs/language.md#the-basecls-contract."""
import copy

from . import functional as F
from . import module as M
from .registry import ShimError, accepts, declares, heads


# --- activations ----------------------------------------------------------
class ELU(M.Module):
    def __init__(self, alpha=1.0, name=None):
        super().__init__(name)
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)


class HSigmoid(M.Module):
    def forward(self, x):
        return F.hsigmoid(x)


class HSwish(M.Module):
    def forward(self, x):
        return F.hswish(x)


class ReLU6(M.Module):
    def forward(self, x):
        return F.relu6(x)


class Tanh(M.Module):
    def forward(self, x):
        return F.tanh(x)


_ACTS = {
    "elu": ELU, "gelu": M.GELU, "hsigmoid": HSigmoid, "hswish": HSwish,
    "leaky_relu": M.LeakyReLU, "relu": M.ReLU, "relu6": ReLU6, "silu": M.SiLU, "tanh": Tanh,
}


def activation(name, **kwargs):
    if name is None:
        return M.Identity()
    if callable(name):
        return name(**kwargs)
    if isinstance(name, str) and name in _ACTS:
        return _ACTS[name](**kwargs)
    raise ShimError(f"Activation name '{name}' not supported")


# --- modules --------------------------------------------------------------
def conv2d(w_in, w_out, k, *, stride=1, dilation=1, groups=1, bias=False):
    assert k % 2 == 1, "Only odd size kernels supported to avoid padding issues."
    return M.Conv2d(w_in, w_out, k, stride=stride, padding=(k - 1) * dilation // 2,
                    dilation=dilation, groups=groups, bias=bias)


def norm2d(name, w_in, **kwargs):
    if name is None:
        return M.Identity()
    if callable(name):
        return name(w_in, **kwargs)
    if name == "BN":
        return M.BatchNorm2d(w_in, **kwargs)
    if name == "LN":
        return M.LayerNorm(w_in, **kwargs)
    raise ShimError(f"Norm name '{name}' not supported")


def pool2d(k, *, stride=1, name="max"):
    assert k % 2 == 1, "Only odd size kernels supported to avoid padding issues."
    funcs = {"avg": M.AvgPool2d, "max": M.MaxPool2d}
    if name not in funcs:
        raise ShimError(f"Pool name '{name}' not supported")
    return funcs[name](k, stride=stride, padding=(k - 1) // 2)


def gap2d(shape=1):
    return M.AdaptiveAvgPool2d(shape)


def linear(w_in, w_out, *, bias=False):
    return M.Linear(w_in, w_out, bias=bias)


class SE(M.Module):
    def __init__(self, w_in, w_se, act_name, approx_sigmoid=False):
        super().__init__()
        self.avg_pool = gap2d()
        self.f_ex = M.Sequential(
            conv2d(w_in, w_se, 1, bias=True),
            activation(act_name),
            conv2d(w_se, w_in, 1, bias=True),
            activation("hsigmoid") if approx_sigmoid else M.Sigmoid(),
        )

    def forward(self, x):
        return x * self.f_ex(self.avg_pool(x))


class DropPath(M.Dropout):
    def forward(self, x):
        return x   # inference


def make_divisible(value, divisor=8, min_value=None, round_limit=0.0):
    min_value = min_value or divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < round_limit * value:
        new_value += divisor
    return new_value


# --- heads ----------------------------------------------------------------
class ClsHead(M.Module):
    def __init__(self, w_in, w_out=1000, width=0, dropout_prob=0.0, norm_name="BN",
                 act_name="relu", bias=True):
        super().__init__()
        self.width = width
        if self.width > 0:
            self.conv = conv2d(w_in, self.width, 1)
            self.bn = norm2d(norm_name, self.width)
            self.act = activation(act_name)
            w_in = self.width
        self.avg_pool = gap2d()
        if dropout_prob > 0.0:
            self.dropout = M.Dropout(dropout_prob)
        self.fc = linear(w_in, w_out, bias=bias)

    def forward(self, x):
        if self.width > 0:
            x = self.act(self.bn(self.conv(x)))
        x = self.avg_pool(x)
        x = F.flatten(x, 1)
        if getattr(self, "dropout", None) is not None:
            x = self.dropout(x)
        return self.fc(x)


class MBV3Head(M.Module):
    def __init__(self, w_in, w_out=1000, width=960, w_h=1280, dropout_prob=0.0, se_r=0.0,
                 norm_name="BN", act_name="hswish", bias=True):
        super().__init__()
        self.conv = conv2d(w_in, width, 1)
        self.bn = norm2d(norm_name, width)
        self.act = activation(act_name)
        self.avg_pool = gap2d()
        if se_r > 0.0:
            self.se = SE(width, int(se_r * width), act_name)
        self.h_fc = linear(width, w_h, bias=bias)
        self.h_act = activation(act_name)
        if dropout_prob > 0.0:
            self.dropout = M.Dropout(dropout_prob)
        self.fc = linear(w_h, w_out, bias=bias)

    def forward(self, x):
        x = self.act(self.bn(self.conv(x)))
        x = self.avg_pool(x)
        if getattr(self, "se", None) is not None:
            x = self.se(x)
        x = F.flatten(x, 1)
        x = self.h_act(self.h_fc(x))
        if getattr(self, "dropout", None) is not None:
            x = self.dropout(x)
        return self.fc(x)


class VGGHead(M.Module):
    def __init__(self, w_in, w_out=1000, width=4096, dropout_prob=0.5, act_name="relu", **kwargs):
        super().__init__()
        self.avg_pool = gap2d(7)
        self.classifier = M.Sequential(
            linear(w_in * 7 * 7, width, bias=True),
            activation(act_name),
            M.Dropout(dropout_prob),
            linear(width, width, bias=True),
            activation(act_name),
            M.Dropout(dropout_prob),
            linear(width, w_out, bias=True),
        )

    def forward(self, x):
        x = self.avg_pool(x)
        x = F.flatten(x, 1)
        return self.classifier(x)


_BUILTIN_HEADS = {"ClsHead": ClsHead, "MBV3Head": MBV3Head, "VGGHead": VGGHead}


def build_head(w_in, head_args=None, norm_name="BN", act_name="relu"):
    if head_args is None:
        return None
    head_args = copy.deepcopy(dict(head_args))
    head_name = head_args.pop("name", None)
    if head_name is None:
        return None
    if isinstance(head_name, str):
        if head_name in _BUILTIN_HEADS:
            cls = _BUILTIN_HEADS[head_name]
        elif head_name in heads:
            cls = heads.get(head_name)
        else:
            known = sorted(_BUILTIN_HEADS) + sorted(heads.keys())
            raise ShimError(f"head '{head_name}' not supported; known heads: {known}")
    elif callable(head_name):
        cls = head_name
        if declares(cls, "name"):
            raise ShimError(f"head {cls.__name__} declares a parameter named 'name'")
    else:
        raise ShimError(f"head '{head_name}' not supported")
    head_args["w_in"] = w_in
    # defaults go only where the constructor takes them (docs/language.md#the-basecls-contract)
    if accepts(cls, "norm_name"):
        head_args.setdefault("norm_name", norm_name)
    if accepts(cls, "act_name"):
        head_args.setdefault("act_name", act_name)
    return cls(**head_args)


__all__ = ["build_head", "ClsHead", "MBV3Head", "VGGHead", "conv2d", "norm2d", "activation",
           "pool2d", "gap2d", "linear", "SE", "DropPath", "make_divisible",
           "ELU", "HSigmoid", "HSwish", "ReLU6", "Tanh"]
