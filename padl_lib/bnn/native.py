"""Typed wrapper of padl's native BNN kernels (`padl_lib.bnn._kernels`, built by setup.py)."""
from __future__ import annotations

try:
    from padl_lib.bnn import _kernels
except ImportError:  # not built (e.g. a source checkout without `pip install -e .`)
    _kernels = None


def available() -> bool:
    """True when the native extension is built and importable."""
    return _kernels is not None
