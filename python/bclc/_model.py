"""bclc.compile and Model: the C API's compiler, model and contexts behind numpy."""
import ctypes
import os
import threading

import numpy as np

from ._native import ContextP, CompilerP, ModelP, c_float_p, lib

MAX_DIMS = 8


class BclError(Exception):
    """A failed library call: .status is the status name ("BCL_ERR_COMPILE"), .message
    the library's diagnostic text (file:line:col: error: ..., the line, a caret)."""

    def __init__(self, status, message):
        self.status = lib.bcl_status_name(status).decode()
        self.code = status
        self.message = message
        super().__init__(message.rstrip("\n") or self.status)


def _text(p):
    return p.decode("utf-8", "replace") if p else ""


def _check(status, error_text):
    if status != 0:
        raise BclError(status, _text(error_text()))


def _literal(value):
    """A config override's value as the Python literal bclc parses (-o KEY=VALUE)."""
    if isinstance(value, (bool, int, float, str, tuple, list, dict)) or value is None:
        return repr(value)
    raise TypeError(f"override value {value!r}: only Python literals (numbers, strings, tuples, lists, dicts)")


def _overrides(overrides):
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{k}={_literal(v)}" for k, v in overrides.items()]
    out = []
    for o in overrides:
        if not isinstance(o, str) or "=" not in o:
            raise TypeError(f"override {o!r}: want 'key=value' strings or a dict")
        out.append(o)
    return out


def _is_path(x):
    if isinstance(x, os.PathLike):
        return True
    if "\n" in x:
        return False
    # a one-line string is a path when it names a file or looks like one; a missing
    # model.bcl is then an I/O error, not a syntax error in the text "model.bcl"
    return os.path.exists(x) or x.endswith((".bcl", ".py")) or os.path.sep in x


def compile(path_or_source=None, model=None, cfg=None, overrides=None, input_shape=None, engine=None,
            threads=0, opt_level=None, passes=None, include_dirs=(), strict_weights=True, name=None):
    """Compiles a .bcl file (a path) or its text into a Model.

    model: build this registered model (one the file registers, or from the zoo when
    path_or_source is None); cfg: the config variable (default "_cfg"); overrides:
    {"num_classes": 10} or ["num_classes=10"]; input_shape: e.g. (1, 3, 224, 224)
    (default from the config); engine: "jit" or "interp" (default: jit when the
    library has it); name: the file name diagnostics show for a source text."""
    if path_or_source is None and model is None:
        raise TypeError("bclc.compile: give a path, a source text, or model=NAME")
    c = CompilerP()
    _check(lib.bcl_compiler_create(ctypes.byref(c)), lambda: b"bcl_compiler_create failed")
    try:
        err = lambda: lib.bcl_compiler_error(c)  # noqa: E731
        if engine is not None:
            _check(lib.bcl_compiler_set_engine(c, engine.encode()), err)
        _check(lib.bcl_compiler_set_threads(c, int(threads)), err)
        if input_shape is not None:
            dims = [int(d) for d in input_shape]
            arr = (ctypes.c_int64 * max(len(dims), 1))(*dims)
            _check(lib.bcl_compiler_set_input_shape(c, arr, len(dims)), err)
        for o in _overrides(overrides):
            _check(lib.bcl_compiler_add_override(c, o.encode()), err)
        if cfg is not None:
            _check(lib.bcl_compiler_set_config(c, cfg.encode()), err)
        if opt_level is not None:
            _check(lib.bcl_compiler_set_opt_level(c, int(opt_level)), err)
        if passes is not None:
            _check(lib.bcl_compiler_set_passes(c, passes.encode()), err)
        for d in include_dirs:
            _check(lib.bcl_compiler_add_include_dir(c, os.fsencode(d)), err)
        _check(lib.bcl_compiler_set_strict_weights(c, 1 if strict_weights else 0), err)
        m = ModelP()
        if path_or_source is None:
            _check(lib.bcl_compile_registered(c, model.encode(), ctypes.byref(m)), err)
        else:
            if model is not None:
                _check(lib.bcl_compiler_set_model(c, model.encode()), err)
            if _is_path(path_or_source):
                _check(lib.bcl_compile_file(c, os.fsencode(path_or_source), ctypes.byref(m)), err)
            else:
                nm = name.encode() if name else None
                _check(lib.bcl_compile_string(c, path_or_source.encode(), nm, ctypes.byref(m)), err)
        warnings = _text(lib.bcl_compiler_error(c))
        return Model(m, warnings)
    finally:
        lib.bcl_compiler_destroy(c)


def _shape(getter, m, i):
    dims = (ctypes.c_int64 * MAX_DIMS)()
    rank = ctypes.c_int()
    _check(getter(m, i, dims, MAX_DIMS, ctypes.byref(rank)), lambda: lib.bcl_model_error(m))
    return tuple(dims[k] for k in range(rank.value))


def _nhwc_hint(got, want):
    """' (NHWC? the model takes NCHW)' when got is want with channels moved last."""
    if len(want) == 4 and len(got) == 4 and tuple(got) == (want[0], want[2], want[3], want[1]) \
            and tuple(got) != tuple(want):
        return "; NHWC? the model takes NCHW: use x.transpose(0, 3, 1, 2)"
    return ""


class Model:
    """A compiled model. Call it (or .run) with numpy arrays; safe to call from many
    threads at once (each thread gets its own execution context)."""

    def __init__(self, handle, warnings=""):
        self._m = handle
        self.warnings = warnings
        self._lock = threading.Lock()       # the model's non-const calls, the context list
        self._local = threading.local()
        self._contexts = []
        self.name = _text(lib.bcl_model_name(handle))
        self.input_shapes = [_shape(lib.bcl_model_input_shape, handle, i) for i in range(lib.bcl_model_num_inputs(handle))]
        self.output_shapes = [_shape(lib.bcl_model_output_shape, handle, i)
                              for i in range(lib.bcl_model_num_outputs(handle))]

    # -- weights and preparation
    def _err(self):
        return lib.bcl_model_error(self._handle())

    def _handle(self):
        if not self._m:
            raise ValueError("bclc.Model: used after close()")
        return self._m

    @property
    def params(self):
        """[(state-dict key, shape)] of the parameters a weight file must hold."""
        m = self._handle()
        return [(_text(lib.bcl_model_param_name(m, i)), _shape(lib.bcl_model_param_shape, m, i))
                for i in range(lib.bcl_model_num_params(m))]

    def load_weights(self, path_or_bytes, name=None):
        """Binds a weight file (a path, or its bytes) by state-dict key."""
        with self._lock:
            m = self._handle()
            if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
                buf = bytes(path_or_bytes)
                _check(lib.bcl_model_load_weights_memory(m, buf, len(buf), name.encode() if name else None), self._err)
            else:
                _check(lib.bcl_model_load_weights_file(m, os.fsencode(path_or_bytes)), self._err)
            self.warnings = _text(lib.bcl_model_error(m))
        return self

    def random_weights(self, seed=0):
        with self._lock:
            _check(lib.bcl_model_random_weights(self._handle(), int(seed)), self._err)
        return self

    def prepare(self):
        """Optimises and compiles the model now (else the first run does)."""
        _check(lib.bcl_model_prepare(self._handle()), self._err)
        return self

    # -- running
    def _context(self):
        ctx = getattr(self._local, "ctx", None)
        if ctx is None:
            ctx = ContextP()
            m = self._handle()
            _check(lib.bcl_context_create(m, ctypes.byref(ctx)), self._err)
            with self._lock:
                self._contexts.append(ctx)
            self._local.ctx = ctx
        return ctx

    def run(self, *inputs):
        """Runs the model: one float32 array per input (converted if needed), of the
        input shapes. Returns the output array, or a list for several outputs."""
        if len(inputs) != len(self.input_shapes):
            raise ValueError(f"{self.name} takes {len(self.input_shapes)} input(s), got {len(inputs)}")
        arrays = []
        for i, (x, want) in enumerate(zip(inputs, self.input_shapes)):
            x = np.ascontiguousarray(x, dtype=np.float32)
            if x.shape != want:
                raise ValueError(f"{self.name}: input {i} has shape {x.shape}, the model was compiled for "
                                 f"{want}{_nhwc_hint(x.shape, want)}")
            arrays.append(x)
        outs = [np.empty(s, dtype=np.float32) for s in self.output_shapes]
        ctx = self._context()
        n_in, n_out = len(arrays), len(outs)
        in_ptrs = (c_float_p * n_in)(*[a.ctypes.data_as(c_float_p) for a in arrays])
        in_counts = (ctypes.c_size_t * n_in)(*[a.size for a in arrays])
        out_ptrs = (c_float_p * n_out)(*[o.ctypes.data_as(c_float_p) for o in outs])
        out_counts = (ctypes.c_size_t * n_out)(*[o.size for o in outs])
        _check(lib.bcl_context_run(ctx, in_ptrs, in_counts, n_in, out_ptrs, out_counts, n_out),
               lambda: lib.bcl_context_error(ctx))
        return outs[0] if n_out == 1 else outs

    __call__ = run

    # -- lifetime
    def close(self):
        """Frees the contexts and the model (also done when the object is collected)."""
        with self._lock:
            for ctx in self._contexts:
                lib.bcl_context_destroy(ctx)
            self._contexts = []
            if self._m:
                lib.bcl_model_destroy(self._m)
            self._m = None
            self._local = threading.local()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return f"<bclc.Model {self.name} inputs={self.input_shapes} outputs={self.output_shapes}>"


def engine_available(engine):
    return bool(lib.bcl_engine_available(engine.encode()))


def version():
    return lib.bcl_version_string().decode()

