"""Stand-ins for the library modules BaseCls's files import besides megengine.module /
functional: megengine.hub, megengine.utils.tuple_function, megengine.module.init
(M.init), M.batchnorm, basecls.layers.heads / .activations. Initialisers are no-ops:
the conformance runs load the same weights into both sides."""
import types

from . import layers, module


def _pretrained(url):
    def deco(fn):
        fn.pretrained_url = url
        return fn
    return deco


hub = types.ModuleType("megengine.hub")
hub.pretrained = _pretrained


def _ntuple(n):
    def parse(x):
        if isinstance(x, (list, tuple)):
            return x
        return tuple([x] * n)
    return parse


tuple_function = types.ModuleType("megengine.utils.tuple_function")
tuple_function._single, tuple_function._pair = _ntuple(1), _ntuple(2)
tuple_function._triple, tuple_function._quadruple = _ntuple(3), _ntuple(4)
utils = types.ModuleType("megengine.utils")
utils.tuple_function = tuple_function


def _noop(*args, **kwargs):
    return None


init = types.ModuleType("megengine.module.init")
for _n in ("fill_", "zeros_", "ones_", "uniform_", "normal_", "xavier_uniform_", "xavier_normal_",
           "msra_uniform_", "msra_normal_"):
    setattr(init, _n, _noop)

batchnorm = types.ModuleType("megengine.module.batchnorm")
batchnorm._BatchNorm = module._BatchNorm
batchnorm.BatchNorm1d = module.BatchNorm1d
batchnorm.BatchNorm2d = module.BatchNorm2d

heads = types.ModuleType("basecls.layers.heads")
for _n in ("ClsHead", "MBV3Head", "VGGHead", "build_head"):
    setattr(heads, _n, getattr(layers, _n))
activations = types.ModuleType("basecls.layers.activations")
for _n in ("ELU", "HSigmoid", "HSwish", "ReLU6", "Tanh", "activation"):
    setattr(activations, _n, getattr(layers, _n))


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    return tensor


def install(mods, mge, basecls_layers):
    mge.hub = hub
    mge.utils = utils
    module.init = init
    module.batchnorm = batchnorm
    # basecls.layers.heads is reachable by import only: layers.heads is the shim's registry
    basecls_layers.trunc_normal_ = trunc_normal_
    basecls_layers.lecun_normal_ = trunc_normal_
    mods.update({"megengine.hub": hub, "megengine.utils": utils,
                 "megengine.utils.tuple_function": tuple_function,
                 "megengine.module.init": init, "megengine.module.batchnorm": batchnorm,
                 "basecls.layers.heads": heads, "basecls.layers.activations": activations})
