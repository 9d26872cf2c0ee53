"""basecls.utils.registers stand-in: registers.models and registers.heads."""
import difflib
import inspect
import types


class ShimError(Exception):
    """A user error the shim found (bclc reports the same as a diagnostic)."""


def accepts(fn, argname):
    """True if the function (or the class's __init__) declares `argname` or **kwargs."""
    target = fn.__init__ if inspect.isclass(fn) else fn
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == argname or p.kind == p.VAR_KEYWORD for p in params)


def declares(fn, argname):
    target = fn.__init__ if inspect.isclass(fn) else fn
    try:
        return argname in inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False


class Registry:
    def __init__(self, kind):
        self.kind = kind
        self._map = {}

    def register(self, name=None):
        def deco(obj):
            key = name if name is not None else obj.__name__
            if key in self._map:
                raise ShimError(f"{self.kind} '{key}' registered twice")
            if declares(obj, "name"):
                # model.name / model.head.name are reserved by the config contract
                raise ShimError(f"registered {self.kind} '{key}' declares a parameter named 'name'")
            self._map[key] = obj
            return obj
        return deco

    def get(self, key):
        if key not in self._map:
            close = difflib.get_close_matches(str(key), list(self._map), n=3)
            raise ShimError(f"{self.kind} '{key}' is not registered; closest: {close}")
        return self._map[key]

    def __contains__(self, key):
        return key in self._map

    def keys(self):
        return list(self._map)

    def clear(self):
        self._map.clear()


models = Registry("model")
heads = Registry("head")

registers = types.SimpleNamespace(models=models, heads=heads)


def reset():
    models.clear()
    heads.clear()
