"""Shared by run_bench.py and torch_bench.py: the benchmarked models, and building
one of them as a PyTorch model through the conformance shim
(tests/conformance/bclshim), which executes the same .bcl file as Python.

Run with Debian's /usr/bin/python3 (torch, numpy).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STDLIB = os.path.join(ROOT, "stdlib")
SHIM_DIR = os.path.join(ROOT, "tests", "conformance")

# name -> .bcl file (relative to the repository root); all take 1x3x224x224 images.
MODELS = {
    "resnet50": "bench/models/resnet50.bcl",
    "resnet18": "bench/models/resnet18.bcl",
    "mbnetv2": "bench/models/mbnetv2.bcl",
    "alexnet": "examples/alexnet.bcl",
    "vgg11": "bench/models/vgg11.bcl",
    "effnet_b0": "bench/models/effnet_b0.bcl",
    "regnetx_016": "bench/models/regnetx_016.bcl",
    "vit_small_patch16_224": "bench/models/vit_small_patch16_224.bcl",
    "swin_tiny_patch4_window7_224": "bench/models/swin_tiny_patch4_window7_224.bcl",
}
IMAGE = (3, 224, 224)
SEED = 1234


def model_path(name):
    return os.path.join(ROOT, MODELS[name])


_loader = None


def shim_loader():
    """The shim's loader, patched so that `from basecls.models.resnet import ...`
    finds the zoo's .bcl files in stdlib/ (the shim's stand-in `basecls` is a plain
    module; here it becomes a package whose `models` the shim's finder fills). The
    shim's own M / F / basecls.layers stay in use, so torch never runs bclc's stdlib
    layers, only the zoo's architecture code."""
    global _loader
    if _loader is not None:
        return _loader
    if SHIM_DIR not in sys.path:
        sys.path.insert(0, SHIM_DIR)
    from bclshim import loader
    from bclshim.zoo import enable_basecls_models

    enable_basecls_models()
    _loader = loader
    return loader


def build_torch_model(name):
    """The model `name` as an eval-mode torch.nn.Module (parameters not yet set)."""
    loader = shim_loader()
    model, _ = loader.build_from_file(model_path(name), [], "_cfg", [STDLIB])
    model.eval()
    return model


class native_ops:
    """Context manager: while active, the shim's batch_norm and adaptive pooling run as
    single native torch ops (F.batch_norm, F.adaptive_*_pool2d) instead of the shim's
    readable compositions (five elementwise ops; a Python loop over windows). The
    results are the same (adaptive pooling only where the output size divides the
    input, where MegEngine's window rule equals PyTorch's; other sizes keep the shim's
    code), but the timed torch model and its ONNX export (BatchNormalization /
    GlobalAveragePool nodes, which ONNX Runtime fuses) are what a PyTorch user gets.
    The reference outputs are computed without it."""

    def __enter__(self):
        shim_loader()
        import torch.nn.functional as TF
        from bclshim import functional

        orig = {n: getattr(functional, n) for n in
                ("batch_norm", "adaptive_avg_pool2d", "adaptive_max_pool2d")}

        def batch_norm(inp, running_mean=None, running_var=None, weight=None, bias=None, *,
                       training=False, momentum=0.9, eps=1e-5, inplace=True,
                       compute_mode="default"):
            if running_mean is None or running_var is None or training:
                return orig["batch_norm"](inp, running_mean, running_var, weight, bias,
                                          training=training, momentum=momentum, eps=eps,
                                          inplace=inplace, compute_mode=compute_mode)
            flat = (lambda t: None if t is None else t.reshape(-1))  # noqa: E731
            return TF.batch_norm(inp, flat(running_mean), flat(running_var), flat(weight),
                                 flat(bias), False, 0.0, eps)

        def adaptive(name, native):
            def fn(inp, oshp):
                oh, ow = (oshp, oshp) if isinstance(oshp, int) else tuple(oshp)
                ih, iw = int(inp.shape[-2]), int(inp.shape[-1])
                if 1 <= oh <= ih and 1 <= ow <= iw and ih % oh == 0 and iw % ow == 0:
                    return native(inp, (oh, ow))
                return orig[name](inp, oshp)
            return fn

        new = {"batch_norm": batch_norm,
               "adaptive_avg_pool2d": adaptive("adaptive_avg_pool2d", TF.adaptive_avg_pool2d),
               "adaptive_max_pool2d": adaptive("adaptive_max_pool2d", TF.adaptive_max_pool2d)}
        self._restore = []
        for ns in (functional, functional.nn):
            for n, f in new.items():
                if hasattr(ns, n):
                    self._restore.append((ns, n, getattr(ns, n)))
                    setattr(ns, n, f)
        return self

    def __exit__(self, *exc):
        for ns, n, f in reversed(self._restore):
            setattr(ns, n, f)
        return False


class no_patch:
    """The null counterpart of native_ops (the shim's own code)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def load_weights(model, path):
    """Sets every parameter and buffer from a .safetensors file written by
    run_bench.py (state-dict keys, PyTorch layouts); all must be present."""
    import torch
    from bclshim import safetensors

    tensors = safetensors.load(path)
    state = model.state_dict()
    missing = [k for k in state if k not in tensors and not k.endswith("num_batches_tracked")]
    extra = [k for k in tensors if k not in state]
    if missing or extra:
        raise RuntimeError(f"{path}: missing {missing[:5]}, unexpected {extra[:5]}")
    with torch.no_grad():
        for k, t in state.items():
            if k in tensors:
                t.copy_(torch.from_numpy(tensors[k]).reshape(t.shape))
