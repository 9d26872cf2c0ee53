"""bclshim: runs a .bcl model file as Python against torch-backed stand-ins of
MegEngine and BaseCls, to give the independent reference for bclc.

Semantics come from MegEngine / BaseCls (and docs/language.md#the-basecls-contract), never from
bclc's own stdlib. Entry points: `load_model` and `build_from_file`.
"""
from .loader import load_bcl, build_from_file, apply_overrides, parse_overrides

__all__ = ["load_bcl", "build_from_file", "apply_overrides", "parse_overrides"]
