"""Reference data for one model: seeded weights (PyTorch and MegEngine layouts),
an input, the eval-mode output, and the parameter list."""
import numpy as np
import torch

from . import module as M
from . import safetensors


def entries(model):
    """[(key, tensor, owner module, attr name)] in state-dict order (PyTorch's)."""
    owners = {}
    for prefix, m in model.named_modules(remove_duplicate=False):
        for n, t in list(m._parameters.items()) + list(m._buffers.items()):
            if t is not None:
                owners[(prefix + "." if prefix else "") + n] = (m, n)
    out = []
    for key, t in model.state_dict(keep_vars=True).items():
        if key.endswith("num_batches_tracked"):
            continue
        m, n = owners[key]
        out.append((key, t, m, n))
    return out


def _fill(rng, m, n, shape):
    u = lambda lo, hi: rng.uniform(lo, hi, shape).astype(np.float32)  # noqa: E731
    if isinstance(m, M._BatchNorm):
        # far from the identity so that BN is really exercised
        return u(0.5, 1.5) if n in ("weight", "running_var") else u(-0.5, 0.5)
    if isinstance(m, M.LayerNorm):
        return u(0.5, 1.5) if n == "weight" else u(-0.5, 0.5)
    if isinstance(m, (M.Conv2d, M.Linear)):
        if n == "weight":
            fan_in = int(np.prod(shape[1:]))
            b = fan_in ** -0.5
            return u(-b, b)
        return u(-0.2, 0.2)
    return u(-0.5, 0.5)


def mge_shape(m, n, shape):
    """The tensor's shape in MegEngine's own layout (same elements, same order)."""
    shape = tuple(shape)
    if isinstance(m, M._BatchNorm):
        return (1, shape[0], 1, 1)
    if isinstance(m, M.Conv2d):
        if n == "bias":
            return (1, shape[0], 1, 1)
        if n == "weight" and m.groups > 1:
            g = m.groups
            return (g, shape[0] // g) + shape[1:]
    return shape


def randomize(model, seed):
    """Fills every parameter and BatchNorm statistic; shared tensors get one value. Other
    buffers are constants the constructor computed (Swin's rel_pos_index and attn_mask)
    and keep their values."""
    rng = np.random.default_rng(seed)
    done = {}
    for key, t, m, n in entries(model):
        if n in m._buffers and not isinstance(m, M._BatchNorm):
            continue
        if id(t) not in done:
            done[id(t)] = _fill(rng, m, n, tuple(t.shape))
            with torch.no_grad():
                t.copy_(torch.from_numpy(done[id(t)]))


def make_input(shape, seed):
    rng = np.random.default_rng(seed + 7919)
    return rng.standard_normal(shape).astype(np.float32)


def mge_dtype(t):
    """The dtype MegEngine gives the tensor ('' for float32): MegEngine holds int64
    data as int32."""
    if t.dtype == torch.bool:
        return " bool"
    return "" if t.is_floating_point() else " int32"


def params_text(model):
    return "".join(f"{k} [{', '.join(str(d) for d in t.shape)}]{mge_dtype(t)}\n" for k, t, _, _ in entries(model))


def write_case(model, input_shape, seed, outdir, meta=None):
    import os
    randomize(model, seed)
    ents = entries(model)
    tensors = [(k, t.detach().numpy().copy()) for k, t, _, _ in ents]
    safetensors.save(os.path.join(outdir, "weights.safetensors"), tensors, meta)
    # MegEngine's checkpoints hold int buffers as int32 (PyTorch's above: int64)
    mge = [(k, t.detach().numpy().reshape(mge_shape(m, n, t.shape))) for k, t, m, n in ents]
    mge = [(k, a.astype(np.int32) if a.dtype == np.int64 else a) for k, a in mge]
    safetensors.save(os.path.join(outdir, "weights_mge.safetensors"), mge, meta)
    x = make_input(tuple(input_shape), seed)
    np.save(os.path.join(outdir, "input.npy"), x)
    model.eval()
    with torch.no_grad():
        y = model(torch.from_numpy(x))
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"forward returned {type(y).__name__}, expected one tensor")
    y = y.detach().numpy().astype(np.float32)
    np.save(os.path.join(outdir, "expected.npy"), y)
    with open(os.path.join(outdir, "params.txt"), "w") as f:
        f.write(params_text(model))
    return y
