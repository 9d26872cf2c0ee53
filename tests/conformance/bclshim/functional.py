"""megengine.functional stand-in: MegEngine signatures and defaults, torch math."""
import math
import types

import torch
import torch.nn.functional as TF

from .registry import ShimError
from .tensor import _as_tensor, permute, reduce


def _pair(v):
    if isinstance(v, (tuple, list)):
        assert len(v) == 2, f"expected a pair, got {v}"
        return int(v[0]), int(v[1])
    return int(v), int(v)


def _t(x):
    return x if isinstance(x, torch.Tensor) else _as_tensor(x)


# --- elementwise ----------------------------------------------------------
def relu(x):
    return TF.relu(x)


def relu6(x):
    return torch.clamp(x, 0.0, 6.0)


def sigmoid(x):
    return torch.sigmoid(x)


def silu(x):
    return x * torch.sigmoid(x)


def gelu(x):
    # MegEngine's GELU is the exact erf form
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def hsigmoid(x):
    return relu6(x + 3.0) / 6.0


def hswish(x):
    return x * relu6(x + 3.0) / 6.0


def leaky_relu(inp, negative_slope=0.01):
    return torch.where(inp > 0, inp, inp * negative_slope)


def tanh(x):
    return torch.tanh(x)


def elu(x, alpha=1.0):
    return torch.where(x > 0, x, alpha * (torch.exp(x) - 1.0))


def exp(x):
    return torch.exp(_t(x))


def log(x):
    return torch.log(_t(x))


def sqrt(x):
    return torch.sqrt(_t(x))


def abs(x):  # noqa: A001 - MegEngine's name
    return torch.abs(_t(x))


def erf(x):
    return torch.erf(_t(x))


def _pair_tensors(x, y):
    ref = x if isinstance(x, torch.Tensor) else y
    conv = lambda v: v if isinstance(v, torch.Tensor) else torch.tensor(float(v), dtype=ref.dtype)  # noqa: E731
    return conv(x), conv(y)


def maximum(x, y):
    return torch.maximum(*_pair_tensors(x, y))


def minimum(x, y):
    return torch.minimum(*_pair_tensors(x, y))


def clip(inp, lower=None, upper=None):
    # bounds may be tensors (broadcast) or numbers: maximum with lower, then minimum
    if lower is not None:
        inp = maximum(inp, lower)
    if upper is not None:
        inp = minimum(inp, upper)
    return inp


def add(x, y):
    return x + y


def sub(x, y):
    return x - y


def mul(x, y):
    return x * y


def div(x, y):
    return x / y


def pow(x, y):  # noqa: A001
    return x ** y


# Comparisons give bool tensors and logic wants them, as MegEngine's.
def equal(x, y):
    return torch.eq(*_pair_tensors(x, y))


def not_equal(x, y):
    return torch.ne(*_pair_tensors(x, y))


def less(x, y):
    return torch.lt(*_pair_tensors(x, y))


def less_equal(x, y):
    return torch.le(*_pair_tensors(x, y))


def greater(x, y):
    return torch.gt(*_pair_tensors(x, y))


def greater_equal(x, y):
    return torch.ge(*_pair_tensors(x, y))


def _bool(x, f):
    if x.dtype != torch.bool:
        raise TypeError(f"{f}: MegEngine's logical ops take bool tensors, got {x.dtype}")
    return x


def logical_and(x, y):
    return torch.logical_and(_bool(x, "logical_and"), _bool(y, "logical_and"))


def logical_or(x, y):
    return torch.logical_or(_bool(x, "logical_or"), _bool(y, "logical_or"))


def logical_xor(x, y):
    return torch.logical_xor(_bool(x, "logical_xor"), _bool(y, "logical_xor"))


def logical_not(inp):
    return torch.logical_not(_bool(inp, "logical_not"))


def isnan(inp):
    return torch.isnan(inp)


def _index(t, f):
    if t.dtype in (torch.float16, torch.float32, torch.float64, torch.bool):
        raise TypeError(f"{f}: the index must be an integer tensor, got {t.dtype}")
    return t.long()


def gather(inp, axis, index):
    """out[i] = inp[i with i[axis] = index[i]] (MegEngine's F.gather, torch.gather's rule)."""
    return torch.gather(inp, axis, _index(index, "gather"))


def indexing_one_hot(src, index, axis=1, keepdims=False):
    """src's element picked by index along axis; index is src's shape without axis."""
    r = torch.gather(src, axis, _index(index, "indexing_one_hot").unsqueeze(axis))
    return r if keepdims else r.squeeze(axis)


def softmax(inp, axis=None):
    if axis is None:
        # MegEngine's default axis rule (_get_softmax_axis)
        axis = 0 if inp.ndim in (0, 1, 3) else 1
    return torch.softmax(inp, dim=axis)


def logsoftmax(inp, axis=None):
    if axis is None:
        axis = 0 if inp.ndim in (0, 1, 3) else 1
    return torch.log_softmax(inp, dim=axis)


# --- shapes ---------------------------------------------------------------
def flatten(inp, start_axis=0, end_axis=-1):
    return torch.flatten(inp, start_axis, end_axis)


def reshape(inp, target_shape):
    return inp.reshape(tuple(target_shape))


def transpose(inp, pattern):
    return permute(inp, pattern)


def concat(inps, axis=0, device=None):
    return torch.cat(list(inps), dim=axis)


def stack(inps, axis=0, device=None):
    return torch.stack(list(inps), dim=axis)


def split(inp, nsplits_or_sections, axis=0):
    n = inp.shape[axis]
    if isinstance(nsplits_or_sections, int):
        k = nsplits_or_sections
        if n % k != 0:
            raise ValueError(f"inp.shape[{axis}] ({n}) is not divisible by nsplits_or_sections ({k})")
        return list(torch.split(inp, n // k, dim=axis))
    # a list of section boundaries, as numpy.split
    bounds = [0] + list(nsplits_or_sections) + [n]
    return [inp.narrow(axis, a, b - a) for a, b in zip(bounds[:-1], bounds[1:])]


def expand_dims(inp, axis):
    axes = sorted(axis) if isinstance(axis, (list, tuple)) else [axis]
    for a in axes:
        inp = inp.unsqueeze(a)
    return inp


def squeeze(inp, axis=None):
    if axis is None:
        return inp.squeeze()
    axes = sorted(axis, reverse=True) if isinstance(axis, (list, tuple)) else [axis]
    for a in axes:
        inp = inp.squeeze(a)
    return inp


def broadcast_to(inp, shape):
    return inp.expand(*shape)


def roll(inp, shift, axis=None):
    if axis is None:
        return torch.roll(inp, shift)
    return torch.roll(inp, shift, axis)


def pad(src, pad_width, mode="constant", constant_value=0.0):
    # pad_width pairs apply to the leading dimensions (MegEngine's convention)
    pw = [tuple(int(v) for v in p) for p in pad_width]
    assert len(pw) <= src.ndim
    tpad = []
    for d in reversed(range(src.ndim)):
        b, a = pw[d] if d < len(pw) else (0, 0)
        tpad += [b, a]
    mode = mode.lower()
    if mode == "constant":
        return TF.pad(src, tpad, mode="constant", value=constant_value)
    # torch supports reflect/replicate only on trailing dims of 3-5D tensors: pad by indexing
    out = src
    for d in range(len(pw)):
        b, a = pw[d]
        if b == 0 and a == 0:
            continue
        n = out.shape[d]
        if mode in ("edge", "replicate"):
            idx = [0] * b + list(range(n)) + [n - 1] * a
        elif mode == "reflect":
            idx = [b - i for i in range(b)] + list(range(n)) + [n - 2 - i for i in range(a)]
        else:
            raise ValueError(f"pad mode '{mode}' not supported")
        out = out.index_select(d, torch.tensor(idx, dtype=torch.long))
    return out


def ones(shape, dtype="float32"):
    return torch.ones(tuple(shape) if not isinstance(shape, int) else (shape,))


def zeros(shape, dtype="float32"):
    return torch.zeros(tuple(shape) if not isinstance(shape, int) else (shape,))


def full(shape, value, dtype=None, device=None):
    t = torch.full(tuple(shape) if not isinstance(shape, int) else (shape,), value)
    return t.float() if t.dtype == torch.float64 else t


def where(mask, x, y):
    mask = torch.as_tensor(mask)
    if mask.dtype != torch.bool:   # MegEngine: "mask must be bool"
        raise ValueError("where: mask must be bool")
    return torch.where(mask, torch.as_tensor(x), torch.as_tensor(y))


# --- reductions -----------------------------------------------------------
def mean(inp, axis=None, keepdims=False):
    return reduce(inp, "mean", tuple(axis) if isinstance(axis, list) else axis, keepdims)


def sum(inp, axis=None, keepdims=False):  # noqa: A001
    return reduce(inp, "sum", tuple(axis) if isinstance(axis, list) else axis, keepdims)


def max(inp, axis=None, keepdims=False):  # noqa: A001
    return reduce(inp, "max", tuple(axis) if isinstance(axis, list) else axis, keepdims)


def min(inp, axis=None, keepdims=False):  # noqa: A001
    return reduce(inp, "min", tuple(axis) if isinstance(axis, list) else axis, keepdims)


# --- linear algebra / nn --------------------------------------------------
def matmul(inp1, inp2, transpose_a=False, transpose_b=False, compute_mode="default", format="default"):
    if transpose_a:
        inp1 = inp1.transpose(-1, -2) if inp1.ndim >= 2 else inp1
    if transpose_b:
        inp2 = inp2.transpose(-1, -2) if inp2.ndim >= 2 else inp2
    return torch.matmul(inp1, inp2)


def linear(inp, weight, bias=None, compute_mode="default"):
    return TF.linear(inp, weight, None if bias is None else bias.reshape(-1))


def conv2d(inp, weight, bias=None, stride=1, padding=0, dilation=1, groups=1,
           conv_mode="cross_correlation", compute_mode="default"):
    if weight.ndim == 5:
        # MegEngine's grouped layout (G, O/G, I/G, kh, kw)
        groups = weight.shape[0]
        weight = weight.reshape(-1, *weight.shape[2:])
    if bias is not None:
        bias = bias.reshape(-1)
    return TF.conv2d(inp, weight, bias, _pair(stride), _pair(padding), _pair(dilation), groups)


def max_pool2d(inp, kernel_size, stride=None, padding=0):
    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None else k
    return TF.max_pool2d(inp, k, s, _pair(padding))


def avg_pool2d(inp, kernel_size, stride=None, padding=0, mode="average_count_exclude_padding"):
    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None else k
    m = mode.lower()
    if m not in ("average_count_exclude_padding", "average"):
        raise ValueError(f"avg_pool2d mode '{mode}' not supported")
    return TF.avg_pool2d(inp, k, s, _pair(padding), count_include_pad=(m == "average"))


def _adaptive(inp, oshp, how):
    # MegEngine's window rule: stride = floor(in/out), window = in - (out-1)*stride, no padding
    oh, ow = _pair(oshp)
    ih, iw = inp.shape[-2], inp.shape[-1]
    if oh > ih or ow > iw or oh < 1 or ow < 1:
        # stride 0: MegEngine divides by zero here (BaseCls notes it in wrapper.py)
        raise ShimError(f"adaptive pooling to ({oh}, {ow}) from ({ih}, {iw}): output larger than input")
    sh, sw = ih // oh, iw // ow
    kh, kw = ih - (oh - 1) * sh, iw - (ow - 1) * sw
    rows = []
    for i in range(oh):
        cols = []
        for j in range(ow):
            win = inp[..., i * sh:i * sh + kh, j * sw:j * sw + kw]
            cols.append(reduce(win, how, (-2, -1), False))
        rows.append(torch.stack(cols, -1))
    return torch.stack(rows, -2)


def adaptive_avg_pool2d(inp, oshp):
    return _adaptive(inp, oshp, "mean")


def adaptive_max_pool2d(inp, oshp):
    return _adaptive(inp, oshp, "max")


def dropout(inp, drop_prob, training=True):
    # the reference is inference: dropout is the identity, as in bclc
    return inp


def batch_norm(inp, running_mean=None, running_var=None, weight=None, bias=None, *,
               training=False, momentum=0.9, eps=1e-5, inplace=True, compute_mode="default"):
    c = inp.shape[1]
    shape = (1, c) + (1,) * (inp.ndim - 2)
    y = (inp - running_mean.reshape(shape)) / torch.sqrt(running_var.reshape(shape) + eps)
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def layer_norm(inp, normalized_shape, affine=True, weight=None, bias=None, eps=1e-5):
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    return TF.layer_norm(inp, tuple(normalized_shape), weight, bias, eps)


def interpolate(inp, size=None, scale_factor=None, mode="bilinear", align_corners=None):
    mode = mode.lower()
    if mode == "nearest":
        return TF.interpolate(inp, size=size, scale_factor=scale_factor, mode="nearest")
    if mode in ("bilinear", "linear"):
        return TF.interpolate(inp, size=size, scale_factor=scale_factor, mode=mode,
                              align_corners=bool(align_corners))
    raise ValueError(f"interpolate mode '{mode}' not supported")


# F.nn.* and F.vision.* aliases, as in MegEngine
nn = types.SimpleNamespace()
vision = types.SimpleNamespace(interpolate=interpolate)
for _name in ("relu", "relu6", "sigmoid", "silu", "gelu", "hsigmoid", "hswish", "leaky_relu",
              "softmax", "logsoftmax", "linear", "conv2d", "max_pool2d", "avg_pool2d",
              "adaptive_avg_pool2d", "adaptive_max_pool2d", "dropout", "pad", "interpolate",
              "batch_norm", "layer_norm", "elu", "indexing_one_hot"):
    setattr(nn, _name, globals()[_name])

__all__ = [n for n in dir() if not n.startswith("_") and n not in ("math", "np", "torch", "TF", "types")]
