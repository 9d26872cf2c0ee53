"""Lets the shim import the zoo's .bcl files: `from basecls.models.resnet import ...`.

The stand-in `basecls` module becomes a package whose `models` subpackage the shim's
.bcl finder fills from stdlib/ (the shim's own M and basecls.layers stay in use).
Used by tests/zoo/forward_check.py and bench/benchlib.py."""
import sys
import types

from . import loader


def enable_basecls_models():
    """Patches loader._install_standins once; later calls do nothing."""
    if getattr(loader._install_standins, "_bcl_models_package", False):
        return
    orig = loader._install_standins

    def install():
        orig()
        basecls = sys.modules["basecls"]
        basecls.__path__ = []
        models = types.ModuleType("basecls.models")
        models.__path__ = []
        basecls.models = models
        sys.modules["basecls.models"] = models

    install._bcl_models_package = True
    loader._install_standins = install
