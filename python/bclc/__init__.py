"""bclc: compile BaseCls model files (.bcl) and run them on numpy arrays.

    import bclc
    model = bclc.compile("net.bcl", overrides={"num_classes": 10}, input_shape=(1, 3, 224, 224))
    model.load_weights("net.safetensors")
    y = model(x)

Pure Python over libbcl.so (ctypes); see python/README.md for how the library is found.
"""
from ._model import BclError, Model, compile, engine_available, version

__all__ = ["BclError", "Model", "compile", "engine_available", "version"]
__version__ = "0.1.0"
