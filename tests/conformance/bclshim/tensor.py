"""megengine.Tensor / Parameter stand-ins: torch tensors with MegEngine's
method signatures patched in (transpose(pattern), mean(axis, keepdims), ...)."""
import numpy as np
import torch

_orig = {}


def _as_tensor(value, dtype=None):
    if isinstance(value, torch.Tensor):
        t = value.detach()
    else:
        arr = np.asarray(value)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)   # MegEngine's default float is float32
        t = torch.as_tensor(arr)
    if dtype is not None:
        t = t.to(_torch_dtype(dtype))
    elif t.dtype == torch.float64:
        t = t.float()
    return t


def _torch_dtype(dtype):
    name = np.dtype(dtype).name if not isinstance(dtype, torch.dtype) else None
    if name is None:
        return dtype
    return {"float32": torch.float32, "float16": torch.float16, "int32": torch.int32,
            "int64": torch.int64, "bool": torch.bool, "uint8": torch.uint8,
            "int8": torch.int8, "float64": torch.float32}[name]


class _TensorMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, torch.Tensor)


class Tensor(metaclass=_TensorMeta):
    """mge.Tensor(value): constructs a torch tensor; isinstance works on any tensor."""

    def __new__(cls, value=None, dtype=None, device=None, **kwargs):
        return _as_tensor(value if value is not None else [], dtype)


class _ParamMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, torch.nn.Parameter)


class Parameter(metaclass=_ParamMeta):
    """mge.Parameter(value): a torch Parameter (no grad: inference only)."""

    def __new__(cls, value, dtype=None, device=None, **kwargs):
        return torch.nn.Parameter(_as_tensor(value, dtype).clone(), requires_grad=False)


class _BufferMeta(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, torch.Tensor) and not isinstance(obj, torch.nn.Parameter)


class Buffer(metaclass=_BufferMeta):
    def __new__(cls, value, dtype=None, device=None, **kwargs):
        return _as_tensor(value, dtype).clone()


def _axis_args(args, kw):
    """(axis, keepdims) from a MegEngine-style (or torch-style) call."""
    axis = kw.pop("axis", kw.pop("dim", None))
    keepdims = kw.pop("keepdims", kw.pop("keepdim", False))
    if args:
        axis = args[0]
        if len(args) > 1:
            keepdims = args[1]
    if kw:
        raise TypeError(f"unexpected arguments {sorted(kw)}")
    if isinstance(axis, list):
        axis = tuple(axis)
    return axis, bool(keepdims)


def reduce(x, how, axis=None, keepdims=False):
    if axis is None:
        flat = x.reshape(-1)
        r = {"mean": lambda: torch.mean(flat), "sum": lambda: torch.sum(flat),
             "prod": lambda: torch.prod(flat), "max": lambda: torch.amax(flat, 0),
             "min": lambda: torch.amin(flat, 0)}[how]()
        return r.reshape([1] * x.ndim) if keepdims else r
    if how == "mean":
        return torch.mean(x, dim=axis, keepdim=keepdims)
    if how == "sum":
        return torch.sum(x, dim=axis, keepdim=keepdims)
    if how == "prod":
        return torch.prod(x, dim=axis, keepdim=keepdims)
    if how == "max":
        return torch.amax(x, dim=axis, keepdim=keepdims)
    return torch.amin(x, dim=axis, keepdim=keepdims)


def permute(x, pattern):
    """MegEngine transpose: a permutation, where 'x' inserts a new axis of size 1."""
    pattern = list(pattern)
    dims = [p for p in pattern if p != "x"]
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"transpose pattern {tuple(pattern)} does not match ndim {x.ndim}")
    y = x.permute(*dims)
    for i, p in enumerate(pattern):
        if p == "x":
            y = y.unsqueeze(i)
    return y


def _m_transpose(self, *args, **kw):
    if kw:
        return _orig["transpose"](self, *args, **kw)
    if not args:
        return self.permute(*reversed(range(self.ndim)))
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return permute(self, args[0])
    if len(args) == self.ndim and self.ndim != 2:
        return permute(self, args)
    return _orig["transpose"](self, *args)


def _m_flatten(self, *args, **kw):
    start = kw.pop("start_axis", kw.pop("start_dim", 0))
    end = kw.pop("end_axis", kw.pop("end_dim", -1))
    if args:
        start = args[0]
        if len(args) > 1:
            end = args[1]
    return _orig["flatten"](self, start, end)


def _mk_reduce(how):
    def f(self, *args, **kw):
        axis, keepdims = _axis_args(args, dict(kw))
        return reduce(self, how, axis, keepdims)
    return f


def _mk_iop(op):
    # `x += y` rebinds x to a new value, as in bclc's traced SSA (no aliasing)
    def f(self, other):
        return op(self, other)
    return f


def _m_astype(self, dtype):
    return self.to(_torch_dtype(dtype))


def _long_index(i):
    # MegEngine indexes with int32 tensors; torch 1.13 wants int64 (a float index stays
    # an error, as in MegEngine)
    if isinstance(i, torch.Tensor) and i.dtype in (torch.int32, torch.int16, torch.int8, torch.uint8):
        return i.long()
    return i


def _m_getitem(self, idx):
    if isinstance(idx, tuple):
        idx = tuple(_long_index(i) for i in idx)
    else:
        idx = _long_index(idx)
    return _orig["__getitem__"](self, idx)


_installed = False


def install():
    """Patch torch.Tensor with MegEngine's method signatures (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    for name in ("transpose", "flatten", "mean", "sum", "max", "min", "prod", "__getitem__"):
        _orig[name] = getattr(torch.Tensor, name)
    torch.Tensor.transpose = _m_transpose
    torch.Tensor.flatten = _m_flatten
    torch.Tensor.astype = _m_astype
    torch.Tensor.__getitem__ = _m_getitem
    for how in ("mean", "sum", "max", "min", "prod"):
        setattr(torch.Tensor, how, _mk_reduce(how))
    torch.Tensor.__iadd__ = _mk_iop(lambda a, b: a + b)
    torch.Tensor.__isub__ = _mk_iop(lambda a, b: a - b)
    torch.Tensor.__imul__ = _mk_iop(lambda a, b: a * b)
    torch.Tensor.__itruediv__ = _mk_iop(lambda a, b: a / b)
    torch.set_grad_enabled(False)
