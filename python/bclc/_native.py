"""Loads libbcl.so and declares the C API's prototypes (include/bcl/bcl.h)."""
import ctypes
import ctypes.util
import os
import sys

SONAME = "libbcl.so.0"

c_int64_p = ctypes.POINTER(ctypes.c_int64)
c_float_p = ctypes.POINTER(ctypes.c_float)
c_size_t_p = ctypes.POINTER(ctypes.c_size_t)


class _Compiler(ctypes.Structure):
    pass


class _Model(ctypes.Structure):
    pass


class _Context(ctypes.Structure):
    pass


CompilerP = ctypes.POINTER(_Compiler)
ModelP = ctypes.POINTER(_Model)
ContextP = ctypes.POINTER(_Context)

# name: (restype, argtypes); every BclStatus is a c_int
_PROTOTYPES = {
    "bcl_version": (ctypes.c_int, []),
    "bcl_version_string": (ctypes.c_char_p, []),
    "bcl_status_name": (ctypes.c_char_p, [ctypes.c_int]),
    "bcl_engine_available": (ctypes.c_int, [ctypes.c_char_p]),
    "bcl_compiler_create": (ctypes.c_int, [ctypes.POINTER(CompilerP)]),
    "bcl_compiler_destroy": (None, [CompilerP]),
    "bcl_compiler_error": (ctypes.c_char_p, [CompilerP]),
    "bcl_compiler_set_engine": (ctypes.c_int, [CompilerP, ctypes.c_char_p]),
    "bcl_compiler_set_threads": (ctypes.c_int, [CompilerP, ctypes.c_int]),
    "bcl_compiler_set_input_shape": (ctypes.c_int, [CompilerP, c_int64_p, ctypes.c_int]),
    "bcl_compiler_add_override": (ctypes.c_int, [CompilerP, ctypes.c_char_p]),
    "bcl_compiler_set_config": (ctypes.c_int, [CompilerP, ctypes.c_char_p]),
    "bcl_compiler_set_model": (ctypes.c_int, [CompilerP, ctypes.c_char_p]),
    "bcl_compiler_set_opt_level": (ctypes.c_int, [CompilerP, ctypes.c_int]),
    "bcl_compiler_set_passes": (ctypes.c_int, [CompilerP, ctypes.c_char_p]),
    "bcl_compiler_add_include_dir": (ctypes.c_int, [CompilerP, ctypes.c_char_p]),
    "bcl_compiler_set_strict_weights": (ctypes.c_int, [CompilerP, ctypes.c_int]),
    "bcl_compile_file": (ctypes.c_int, [CompilerP, ctypes.c_char_p, ctypes.POINTER(ModelP)]),
    "bcl_compile_string": (ctypes.c_int, [CompilerP, ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ModelP)]),
    "bcl_compile_registered": (ctypes.c_int, [CompilerP, ctypes.c_char_p, ctypes.POINTER(ModelP)]),
    "bcl_model_destroy": (None, [ModelP]),
    "bcl_model_error": (ctypes.c_char_p, [ModelP]),
    "bcl_model_load_weights_file": (ctypes.c_int, [ModelP, ctypes.c_char_p]),
    "bcl_model_load_weights_memory": (ctypes.c_int, [ModelP, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]),
    "bcl_model_random_weights": (ctypes.c_int, [ModelP, ctypes.c_uint64]),
    "bcl_model_prepare": (ctypes.c_int, [ModelP]),
    "bcl_model_is_prepared": (ctypes.c_int, [ModelP]),
    "bcl_model_name": (ctypes.c_char_p, [ModelP]),
    "bcl_model_num_inputs": (ctypes.c_int, [ModelP]),
    "bcl_model_num_outputs": (ctypes.c_int, [ModelP]),
    "bcl_model_num_params": (ctypes.c_int, [ModelP]),
    "bcl_model_input_shape": (ctypes.c_int, [ModelP, ctypes.c_int, c_int64_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]),
    "bcl_model_output_shape": (ctypes.c_int, [ModelP, ctypes.c_int, c_int64_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]),
    "bcl_model_param_shape": (ctypes.c_int, [ModelP, ctypes.c_int, c_int64_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]),
    "bcl_model_param_name": (ctypes.c_char_p, [ModelP, ctypes.c_int]),
    "bcl_context_create": (ctypes.c_int, [ModelP, ctypes.POINTER(ContextP)]),
    "bcl_context_destroy": (None, [ContextP]),
    "bcl_context_error": (ctypes.c_char_p, [ContextP]),
    "bcl_context_run": (ctypes.c_int, [ContextP, ctypes.POINTER(c_float_p), c_size_t_p, ctypes.c_int,
                                       ctypes.POINTER(c_float_p), c_size_t_p, ctypes.c_int]),
}


def _candidates():
    """Where libbcl.so may be, in the order documented in python/README.md."""
    env = os.environ.get("BCL_LIBRARY")
    if env:
        yield os.path.join(env, SONAME) if os.path.isdir(env) else env
        return   # an explicit choice is not second-guessed
    here = os.path.dirname(os.path.abspath(__file__))
    d = here
    for _ in range(6):   # PREFIX/lib/python3/dist-packages/bclc -> PREFIX/lib; repo/python/bclc -> repo/build
        d = os.path.dirname(d)
        for sub in ("", "lib", "build"):
            yield os.path.join(d, sub, SONAME)
    for p in (sys.prefix, "/usr/local", "/usr"):
        yield os.path.join(p, "lib", SONAME)
    found = ctypes.util.find_library("bcl")
    yield found or SONAME   # the dynamic loader's own search


def load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
            continue
        for name, (res, args) in _PROTOTYPES.items():
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        lib.path = path
        return lib
    raise ImportError("bclc: libbcl.so not found; set BCL_LIBRARY to the library (or its directory). Tried:\n  "
                      + "\n  ".join(tried))


lib = load()
