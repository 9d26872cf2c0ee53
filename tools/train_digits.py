#!/usr/bin/python3
"""Train examples/digits/digits.bcl on scikit-learn's 8x8 digits, deterministically.

Run with Debian's interpreter, which has python3-torch and python3-sklearn:

    /usr/bin/python3 tools/train_digits.py            # writes examples/digits/*

The network is not re-declared here: the .bcl file itself is executed as Python
against a small torch-backed stand-in for the few MegEngine / BaseCls names it
uses, so the trained model and its state-dict keys are exactly the file's.

Outputs (all in examples/digits/):
  digits.safetensors      trained weights, F32, BatchNorm in eval statistics
  heldout.npy             the held-out test split, N x 1 x 8 x 8 float32 in [0, 1]
  heldout_labels.txt      its true labels, one per line
  sample_<d>.npy          single held-out images (1 x 1 x 8 x 8), named by true label
  labels.txt              class names "0".."9", one per line
"""

import argparse
import json
import os
import struct
import sys
import time
import types

import numpy as np
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE_DIR = os.path.join(ROOT, "examples", "digits")
BCL_FILE = os.path.join(EXAMPLE_DIR, "digits.bcl")

SEED = 0
SPLIT_SEED = 0          # sklearn train_test_split random_state
TEST_FRACTION = 0.2     # 360 of the 1797 images are held out
EPOCHS = 40
BATCH = 32
LR = 3e-3
SAMPLE_DIGITS = (0, 2, 3, 7, 9)


# --- a torch-backed stand-in for the names digits.bcl uses ---------------------------
# Only what the example needs; anything else fails loudly as an AttributeError.

class _Registry:
    def __init__(self):
        self.entries = {}

    def register(self, name=None):
        def deco(obj):
            key = name or obj.__name__
            if key in self.entries:
                raise ValueError(f"'{key}' registered twice")
            self.entries[key] = obj
            return obj
        return deco

    def get(self, key):
        if key not in self.entries:
            raise KeyError(f"model '{key}' not registered; known: {sorted(self.entries)}")
        return self.entries[key]


def _accepts(cls, arg):
    import inspect
    params = inspect.signature(cls.__init__).parameters
    return arg in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _build_head(w_in, head_cfg=None, norm_name="BN", act_name="relu"):
    # docs/language.md#the-basecls-contract: norm/act only where the head's constructor takes them.
    if head_cfg is None or head_cfg.get("name") is None:
        return None
    cfg = dict(head_cfg)
    cls = cfg.pop("name")
    if not isinstance(cls, type):
        raise ValueError(f"head {cls!r} not supported by this stand-in (pass a class)")
    for arg, val in (("norm_name", norm_name), ("act_name", act_name)):
        if _accepts(cls, arg):
            cfg[arg] = val
    return cls(w_in, **cfg)


def _module(name, **attrs):
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    return mod


def _conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
            groups=1, bias=True):
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                     dilation=dilation, groups=groups, bias=bias)


def _batchnorm2d(num_features, eps=1e-5):
    return nn.BatchNorm2d(num_features, eps=eps)


def _shim_modules():
    registers = types.SimpleNamespace(models=_Registry(), heads=_Registry())
    mge = _module("megengine", Tensor=torch.Tensor)
    M = _module("megengine.module", Module=nn.Module, Sequential=nn.Sequential,
                Conv2d=_conv2d, BatchNorm2d=_batchnorm2d, ReLU=nn.ReLU, Linear=nn.Linear,
                AdaptiveAvgPool2d=nn.AdaptiveAvgPool2d)
    F = _module("megengine.functional", flatten=torch.flatten)
    mge.module, mge.functional = M, F
    layers = _module("basecls.layers", build_head=_build_head)
    utils = _module("basecls.utils", registers=registers)
    basecls = _module("basecls", layers=layers, utils=utils)
    return registers, {"megengine": mge, "megengine.module": M, "megengine.functional": F,
                       "basecls": basecls, "basecls.layers": layers, "basecls.utils": utils}


def build_model_from_bcl(path=BCL_FILE):
    """Execute the .bcl file as Python and build its _cfg model (BaseCls contract)."""
    registers, shims = _shim_modules()
    saved = {k: sys.modules.get(k) for k in shims}
    sys.modules.update(shims)
    try:
        ns = {"__name__": "digits_bcl"}
        with open(path) as f:
            exec(compile(f.read(), path, "exec"), ns)
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
    cfg = ns["_cfg"]
    model_cfg = dict(cfg["model"])
    cls = registers.models.get(model_cfg.pop("name"))
    if "num_classes" in cfg:
        head = model_cfg.setdefault("head", {})
        if isinstance(head, dict) and "w_out" not in head:
            model_cfg["head"] = dict(head, w_out=cfg["num_classes"])
    return cls(**model_cfg)


# --- safetensors, written and read with the standard library ---------------------------

def state_dict_arrays(model):
    """Parameters and buffers by state-dict key; num_batches_tracked is not a weight."""
    return {k: v.detach().to(torch.float32).contiguous().numpy()
            for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def write_safetensors(path, arrays):
    header, blobs, offset = {}, [], 0
    for key, arr in arrays.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[key] = {"dtype": "F32", "shape": list(arr.shape),
                       "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)     # the format pads the header with spaces to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in blobs:
            f.write(data)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack_from("<Q", raw, 0)
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{key}: only F32 is written here"
        lo, hi = info["data_offsets"]
        out[key] = np.frombuffer(raw[base + lo:base + hi], dtype="<f4").reshape(info["shape"])
    return out


def load_trained_model(weights=None):
    model = build_model_from_bcl()
    arrays = read_safetensors(weights or os.path.join(EXAMPLE_DIR, "digits.safetensors"))
    tensors = {k: torch.from_numpy(v.copy()) for k, v in arrays.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"weights do not match digits.bcl: missing {missing}, "
                         f"unexpected {unexpected}")
    return model.eval()


# --- data and training ----------------------------------------------------------------

def load_split():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None, :, :]   # N x 1 x 8 x 8 in [0, 1]
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=TEST_FRACTION, random_state=SPLIT_SEED,
                            stratify=y)


def accuracy(model, x, y):
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return int((pred == y).sum())


def train(model, x_train, y_train):
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if epoch % 10 == 9 or epoch == EPOCHS - 1:
            print(f"epoch {epoch + 1:3d}  loss {total / len(xt):.4f}")
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=EXAMPLE_DIR, help="output directory (default: %(default)s)")
    args = ap.parse_args()

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    x_train, x_test, y_train, y_test = load_split()
    model = build_model_from_bcl()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"train {len(x_train)}, held-out {len(x_test)}, parameters {n_params}")

    t0 = time.time()
    model = train(model, x_train, y_train)
    print(f"trained in {time.time() - t0:.1f} s")
    correct = accuracy(model, x_test, y_test)
    print(f"torch held-out accuracy: {correct}/{len(y_test)} = {100.0 * correct / len(y_test):.2f}%")

    os.makedirs(args.out, exist_ok=True)
    out = lambda name: os.path.join(args.out, name)
    write_safetensors(out("digits.safetensors"), state_dict_arrays(model))
    np.save(out("heldout.npy"), np.ascontiguousarray(x_test, dtype=np.float32))
    with open(out("heldout_labels.txt"), "w") as f:
        f.write("".join(f"{int(v)}\n" for v in y_test))
    with open(out("labels.txt"), "w") as f:
        f.write("".join(f"{d}\n" for d in range(10)))

    # One sample per chosen digit: the first held-out image of it that torch gets right.
    with torch.no_grad():
        probs = torch.softmax(model(torch.from_numpy(x_test)), 1).numpy()
    for d in SAMPLE_DIGITS:
        i = next(i for i in range(len(y_test))
                 if y_test[i] == d and probs[i].argmax() == d)
        np.save(out(f"sample_{d}.npy"), np.ascontiguousarray(x_test[i:i + 1], dtype=np.float32))
        print(f"sample_{d}.npy: held-out #{i}, torch p({d}) = {probs[i, d]:.4f}")
    print(f"wrote {args.out} (weights {os.path.getsize(out('digits.safetensors'))} bytes)")


if __name__ == "__main__":
    main()
