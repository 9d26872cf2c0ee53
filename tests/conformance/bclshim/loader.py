"""Loads a .bcl file as Python with the stand-in modules installed, and builds
its model from the config (docs/language.md#the-basecls-contract)."""
import ast
import copy
import importlib.abc
import importlib.util
import os
import sys
import types

from . import functional, layers, libmods, module, registry, tensor
from .registry import ShimError

_STANDINS = ("megengine", "megengine.module", "megengine.functional", "megengine.functional.nn",
             "megengine.functional.vision", "basecls", "basecls.layers", "basecls.utils")


def _install_standins():
    tensor.install()
    mge = types.ModuleType("megengine")
    mge.Tensor = tensor.Tensor
    mge.tensor = tensor.Tensor
    mge.Parameter = tensor.Parameter
    mge.Buffer = tensor.Buffer
    mge.module = module
    mge.functional = functional
    basecls = types.ModuleType("basecls")
    utils = types.ModuleType("basecls.utils")
    utils.registers = registry.registers
    basecls.layers = layers
    basecls.utils = utils
    mods = {"megengine": mge, "megengine.module": module, "megengine.functional": functional,
            "megengine.functional.nn": functional.nn, "megengine.functional.vision": functional.vision,
            "basecls": basecls, "basecls.layers": layers, "basecls.utils": utils}
    libmods.install(mods, mge, layers)
    for k, v in mods.items():
        sys.modules[k] = v


class _BclFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`from mylayers import Block` finds mylayers.bcl beside the importer, then on -I dirs."""

    def __init__(self, dirs):
        self.dirs = dirs

    def find_spec(self, fullname, path, target=None):
        rel = fullname.replace(".", os.sep) + ".bcl"
        for d in self.dirs:
            p = os.path.join(d, rel)
            if os.path.isfile(p):
                return importlib.util.spec_from_file_location(fullname, p, loader=self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, mod):
        path = mod.__spec__.origin
        with open(path, encoding="utf-8") as f:
            src = f.read()
        mod.__file__ = path
        exec(compile(src, path, "exec"), mod.__dict__)


_finder = None


def load_bcl(path, include_dirs=()):
    """Executes the .bcl file as a fresh module; returns the module."""
    global _finder
    _install_standins()
    registry.reset()
    # forget .bcl modules a previous load imported
    for name, m in list(sys.modules.items()):
        if getattr(m, "__file__", None) and str(m.__file__).endswith(".bcl"):
            del sys.modules[name]
    if _finder is not None and _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    path = os.path.abspath(path)
    _finder = _BclFinder([os.path.dirname(path)] + [os.path.abspath(d) for d in include_dirs])
    sys.meta_path.insert(0, _finder)
    sys.dont_write_bytecode = True
    mod = types.ModuleType("__bcl_main__")
    mod.__file__ = path
    with open(path, encoding="utf-8") as f:
        src = f.read()
    exec(compile(src, path, "exec"), mod.__dict__)
    return mod


def parse_literal(text):
    """A value as Python literal, else the string itself (as BaseCls does)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_overrides(items):
    out = []
    for it in items:
        if "=" not in it:
            raise ShimError(f"override '{it}' is not key=value")
        k, v = it.split("=", 1)
        out.append((k.strip(), parse_literal(v.strip())))
    return out


def apply_overrides(cfg, overrides):
    cfg = copy.deepcopy(cfg)
    for key, value in overrides:
        parts = key.split(".")
        d = cfg
        for p in parts[:-1]:
            if p not in d or d[p] is None:
                d[p] = {}
            d = d[p]
            if not isinstance(d, dict):
                raise ShimError(f"override '{key}': '{p}' is not a dict")
        d[parts[-1]] = value
    return cfg


def build_model(cfg):
    if "model" not in cfg or not isinstance(cfg["model"], dict):
        raise ShimError("model name is missing")
    model_args = copy.deepcopy(cfg["model"])
    name = model_args.pop("name", None)
    if name is None:
        raise ShimError("model name is missing")
    if cfg.get("num_classes") is not None:
        model_args.setdefault("head", {})
        if model_args["head"] is not None:
            model_args["head"].setdefault("w_out", cfg["num_classes"])
    if isinstance(name, str):
        fn = registry.models.get(name)
    else:
        fn = name
    return fn(**model_args)


def build_from_file(path, overrides=(), cfg_name="_cfg", include_dirs=()):
    """(model in eval mode, effective cfg) for a .bcl file."""
    mod = load_bcl(path, include_dirs)
    if not hasattr(mod, cfg_name):
        raise ShimError(f"{path}: no top-level '{cfg_name}'")
    cfg = apply_overrides(getattr(mod, cfg_name), parse_overrides(overrides))
    model = build_model(cfg)
    model.eval()
    return model, cfg
