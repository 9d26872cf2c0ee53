"""megengine.module stand-in: torch.nn.Module subclasses with MegEngine's
constructor signatures and MegEngine's attribute registration rules."""
from collections import OrderedDict

import numpy as np
import torch

from . import functional as F
from .tensor import Parameter


def _holds_module(v):
    if isinstance(v, torch.nn.Module):
        return True
    if isinstance(v, (list, tuple)):
        return any(_holds_module(x) for x in v)
    if isinstance(v, dict):
        return any(_holds_module(x) for x in v.values())
    return False


def _wrap(v):
    """Lists / tuples / dicts holding modules become registered containers, so that
    their modules are named `attr.i` / `attr.key` as MegEngine does."""
    if isinstance(v, (_MList, _MDict)):
        return v
    if isinstance(v, (list, tuple)) and (_holds_module(v) or (isinstance(v, list) and not v)):
        return _MList(v)
    if isinstance(v, dict) and _holds_module(v):
        return _MDict(v)
    return v


class Module(torch.nn.Module):
    def __init__(self, name=None):
        super().__init__()
        object.__setattr__(self, "name", name)

    def __setattr__(self, key, value):
        value = _wrap(value)
        if key in self._modules and not isinstance(value, torch.nn.Module):
            del self._modules[key]
        if isinstance(value, torch.Tensor) and not isinstance(value, torch.nn.Parameter) \
                and key not in self._parameters:
            # a plain tensor attribute is part of MegEngine's state dict: a buffer
            if key in self.__dict__:
                object.__delattr__(self, key)
            self.register_buffer(key, value)
            return
        super().__setattr__(key, value)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward")


class _MList(Module):
    """A list that registers the modules it holds under their indices."""

    def __init__(self, items=()):
        super().__init__()
        object.__setattr__(self, "_items", [_wrap(x) for x in items])
        self._sync()

    def _sync(self):
        self._modules.clear()
        for i, x in enumerate(self._items):
            if isinstance(x, torch.nn.Module):
                self._modules[str(i)] = x

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list(self._items[i])
        return self._items[i]

    def __setitem__(self, i, v):
        self._items[i] = _wrap(v)
        self._sync()

    def __contains__(self, v):
        return v in self._items

    def __add__(self, other):
        return list(self._items) + list(other)

    def __iadd__(self, other):
        self.extend(other)
        return self

    def append(self, v):
        self._items.append(_wrap(v))
        self._sync()

    def extend(self, vs):
        self._items.extend(_wrap(v) for v in vs)
        self._sync()

    def insert(self, i, v):
        self._items.insert(i, _wrap(v))
        self._sync()

    def pop(self, i=-1):
        v = self._items.pop(i)
        self._sync()
        return v

    def index(self, v):
        return self._items.index(v)

    def forward(self, *a, **k):
        raise TypeError("a list of modules is not callable")


class _MDict(Module):
    def __init__(self, d):
        super().__init__()
        object.__setattr__(self, "_items", {k: _wrap(v) for k, v in d.items()})
        self._sync()

    def _sync(self):
        self._modules.clear()
        for k, x in self._items.items():
            if isinstance(x, torch.nn.Module):
                self._modules[str(k)] = x

    def __len__(self):
        return len(self._items)

    def __iter__(self):
        return iter(list(self._items))

    def __getitem__(self, k):
        return self._items[k]

    def __setitem__(self, k, v):
        self._items[k] = _wrap(v)
        self._sync()

    def __contains__(self, k):
        return k in self._items

    def keys(self):
        return self._items.keys()

    def values(self):
        return self._items.values()

    def items(self):
        return self._items.items()

    def get(self, k, d=None):
        return self._items.get(k, d)

    def forward(self, *a, **k):
        raise TypeError("a dict of modules is not callable")


class Sequential(Module):
    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for k, m in args[0].items():
                self.add_module(k, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(list(self._modules.values()))

    def __getitem__(self, i):
        mods = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*mods[i])
        return mods[i]

    def append(self, m):
        self.add_module(str(len(self._modules)), m)


def _uniform(shape, bound):
    return np.random.uniform(-bound, bound, shape).astype(np.float32)


class Conv2d(Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, conv_mode="cross_correlation", compute_mode="default",
                 padding_mode="zeros", **kwargs):
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise ValueError("in_channels and out_channels must be divisible by groups")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = F._pair(kernel_size)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.groups = groups
        kh, kw = self.kernel_size
        fan_in = in_channels // groups * kh * kw
        # PyTorch layout (O, I/G, kh, kw): the layout bclc presents
        self.weight = Parameter(_uniform((out_channels, in_channels // groups, kh, kw), fan_in ** -0.5))
        self.bias = Parameter(np.zeros(out_channels, np.float32)) if bias else None

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Linear(Module):
    def __init__(self, in_features, out_features, bias=True, compute_mode="default", **kwargs):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(_uniform((out_features, in_features), in_features ** -0.5))
        self.bias = Parameter(np.zeros(out_features, np.float32)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class _BatchNorm(Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.9, affine=True,
                 track_running_stats=True, freeze=False, **kwargs):
        super().__init__()
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, affine
        if affine:
            self.weight = Parameter(np.ones(num_features, np.float32))
            self.bias = Parameter(np.zeros(num_features, np.float32))
        else:
            self.weight = None
            self.bias = None
        # PyTorch layout (C,); MegEngine stores (1, C, 1, 1)
        self.running_mean = torch.zeros(num_features)
        self.running_var = torch.ones(num_features)

    def forward(self, x):
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, eps=self.eps)


class BatchNorm2d(_BatchNorm):
    def forward(self, x):
        if x.ndim != 4:
            raise ValueError(f"expected 4D input (got {x.ndim}D input)")
        return super().forward(x)


class BatchNorm1d(_BatchNorm):
    def forward(self, x):
        if x.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")
        return super().forward(x)


class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5, affine=True, **kwargs):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps, self.affine = eps, affine
        if affine:
            self.weight = Parameter(np.ones(self.normalized_shape, np.float32))
            self.bias = Parameter(np.zeros(self.normalized_shape, np.float32))
        else:
            self.weight = None
            self.bias = None

    def forward(self, x):
        return F.layer_norm(x, self.normalized_shape, self.affine, self.weight, self.bias, self.eps)


def _act(fn, cls_name):
    class _A(Module):
        def __init__(self, **kwargs):
            super().__init__(kwargs.get("name"))

        def forward(self, x):
            return fn(x)
    _A.__name__ = _A.__qualname__ = cls_name
    return _A


ReLU = _act(F.relu, "ReLU")
ReLU6 = _act(F.relu6, "ReLU6")
Sigmoid = _act(F.sigmoid, "Sigmoid")
SiLU = _act(F.silu, "SiLU")
GELU = _act(F.gelu, "GELU")
Hardswish = _act(F.hswish, "Hardswish")
Hardsigmoid = _act(F.hsigmoid, "Hardsigmoid")
Tanh = _act(F.tanh, "Tanh")


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, **kwargs):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)


class Softmax(Module):
    def __init__(self, axis=None, **kwargs):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.softmax(x, self.axis)


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, **kwargs):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, mode="average_count_exclude_padding", **kwargs):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.mode = kernel_size, stride, padding, mode

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.mode)


class AdaptiveAvgPool2d(Module):
    def __init__(self, oshp, **kwargs):
        super().__init__()
        self.oshp = oshp

    def forward(self, x):
        return F.adaptive_avg_pool2d(x, self.oshp)


class AdaptiveMaxPool2d(Module):
    def __init__(self, oshp, **kwargs):
        super().__init__()
        self.oshp = oshp

    def forward(self, x):
        return F.adaptive_max_pool2d(x, self.oshp)


class Dropout(Module):
    def __init__(self, drop_prob=0.0, **kwargs):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return x


class Identity(Module):
    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x
