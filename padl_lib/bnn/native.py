"""Typed wrapper of padl's native BNN kernels (`padl_lib.bnn._kernels`, built by setup.py).

Bit encoding (see `kernels/bnn.h`): channels-last, 64 channels per uint64 word, bit c % 64 of
word c // 64; bit 1 = -1, bit 0 = +1 (so sign(0) = +1); channel tail bits are 0.
The environment variable PADL_BNN_ISA (e.g. `avx2`) forces an ISA at import.
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import numpy as np

try:
    from padl_lib.bnn import _kernels
except ImportError:  # not built (e.g. a source checkout without `pip install -e .`)
    _kernels = None

__all__ = ["available", "isa", "available_isas", "select_isa", "forced_isa", "set_threads", "threads", "peak",
           "pack", "pack_weights", "thresholds", "gemm", "binary_conv", "reference_conv"]


def available() -> bool:
    """True when the native extension is built and importable."""
    return _kernels is not None


def _k():
    if _kernels is None:
        raise RuntimeError("padl's native BNN kernels are not built; run `make test` or "
                           "`.venv/bin/python -m pip install --no-deps --no-build-isolation -e .`")
    return _kernels


def isa() -> str:
    """Name of the active kernel ISA: 'avx512', 'avx2', 'neon', 'portable' or 'reference'."""
    return _k().isa()


def available_isas() -> list[str]:
    """The ISAs this CPU can run, best first (always ends with 'portable', 'reference')."""
    return list(_k().available_isas())


def select_isa(name: str = "auto") -> str:
    """Force the kernels of ISA `name` ('auto' = the best this CPU supports); return it."""
    try:
        _k().select_isa(name)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    return isa()


@contextlib.contextmanager
def forced_isa(name: str) -> Iterator[str]:
    """Run a block with the kernels of ISA `name`, then restore the previous ISA."""
    previous = isa()
    try:
        yield select_isa(name)
    finally:
        select_isa(previous)


def set_threads(n: int) -> int:
    """Threads of the engine: the native kernels and, when loaded, torch (the float layers)."""
    if n < 1:
        raise ValueError(f"thread count must be at least 1, got {n}")
    _k().set_threads(int(n))
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(int(n))
    return threads()


def threads() -> int:
    """Threads the native kernels use."""
    return int(_k().threads())


def peak(iterations: int) -> tuple[int, int]:
    """Run the active ISA's in-register xor+popcount loop (its ceiling on this CPU);
    returns (checksum, bit-MACs done). Time it to get the peak rate."""
    checksum, bits = _k().peak(int(iterations))
    return int(checksum), int(bits)


def pack(x: np.ndarray) -> np.ndarray:
    """Pack float32 (..., C) into sign bits (..., ceil(C / 64)) uint64."""
    return _k().pack(np.ascontiguousarray(x, dtype=np.float32))


def pack_weights(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signs of OIHW (or (out, in)) weights as the kernels take them: packed (O, kh*kw*words)
    in tap-major, channels-last order, and each tap's channel sum of sign(w) (O, kh*kw) int32."""
    w = np.asarray(weight, dtype=np.float32)
    if w.ndim == 2:
        w = w[:, :, None, None]
    if w.ndim != 4:
        raise ValueError(f"weights must be OIHW or (out, in), got shape {w.shape}")
    hwc = np.ascontiguousarray(w.transpose(0, 2, 3, 1))  # O, kh, kw, C
    packed = pack(hwc).reshape(w.shape[0], -1)
    wsum = np.where(hwc < 0, -1, 1).sum(axis=3).reshape(w.shape[0], -1).astype(np.int32)
    return packed, wsum


def thresholds(scale: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer thresholds equivalent to binarizing `scale * dot + bias` (sign(0) = +1):
    output bit (1 = negative) = (dot < thresh) XOR flip. Returns (thresh int32, flip packed uint8)."""
    s = np.asarray(scale, dtype=np.float64)
    b = np.asarray(bias, dtype=np.float64)
    if s.shape != b.shape or s.ndim != 1:
        raise ValueError("scale and bias must be 1-d arrays of the same length")
    big = np.iinfo(np.int32).max
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = -b / s
        thresh = np.where(s > 0, np.ceil(cut), np.floor(cut) + 1)
    thresh = np.where(s == 0, np.where(b < 0, big, -big), thresh)
    thresh = np.clip(np.nan_to_num(thresh, nan=-big), -big, big).astype(np.int32)
    flip = np.packbits((s < 0).astype(np.uint8), bitorder="little")
    return thresh, flip


def gemm(a: np.ndarray, b: np.ndarray, nbits: int, scale=None, bias=None, thresh=None, flip=None,
         corr=None, pattern=None) -> np.ndarray:
    """Binary GEMM of packed rows `a` (P, K words) with packed weights `b` (O, K words):
    dot = nbits - 2 popcount(a ^ b) - corr[pattern[p]]; then float `dot * scale + bias`
    (P, O) or bits `(dot < thresh) ^ flip` (P, words(O))."""
    return _k().gemm(a, b, int(nbits), scale, bias, thresh, flip, corr, pattern)


def binary_conv(weight: np.ndarray, stride=(1, 1), padding=(0, 0)):
    """A native binary conv for OIHW latent weights; call `.run(x_packed_nhwc, scale, bias)`
    (optionally `residual=` an NHWC float32 array of the output's shape, added last) or
    `.run(x, thresh=..., flip=...)`; `out=` reuses an output array."""
    packed, wsum = pack_weights(weight)
    o, c, kh, kw = np.asarray(weight).shape if np.ndim(weight) == 4 else (*np.shape(weight), 1, 1)
    return _k().BinaryConv(packed, wsum, int(c), (int(kh), int(kw)), tuple(stride), tuple(padding))


def reference_conv(x: np.ndarray, weight: np.ndarray, stride=(1, 1), padding=(0, 0), scale=None, bias=None,
                   thresh=None, flip=None, residual=None) -> np.ndarray:
    """The scalar reference conv (direct loops, padded taps skipped) on packed NHWC `x`."""
    packed, _ = pack_weights(weight)
    c, kh, kw = np.asarray(weight).shape[1:]
    return _k().reference_conv(x, packed, int(c), (int(kh), int(kw)), tuple(stride), tuple(padding),
                               scale, bias, thresh, flip, residual)


if _kernels is not None and os.environ.get("PADL_BNN_ISA"):
    select_isa(os.environ["PADL_BNN_ISA"])

