"""The slow, obviously correct numpy reference of every engine op (NCHW float32 throughout).

The engine's fast path and the converter's tests are checked against this file.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from padl_lib.bnn import engine as ir

__all__ = ["run", "run_op", "sign", "conv2d"]


def sign(x: np.ndarray) -> np.ndarray:
    """+1 where x >= 0 (and NaN), -1 where x < 0, as float32."""
    return np.where(x < 0, np.float32(-1), np.float32(1)).astype(np.float32)


def _channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int],
             padding: tuple[int, int], pad_value: float) -> np.ndarray:
    """(N, C, OH, OW, kh, kw) view of the padded input's sliding windows."""
    ph, pw = padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=pad_value)
    if xp.shape[2] < kernel[0] or xp.shape[3] < kernel[1]:
        raise ValueError(f"input {x.shape[2:]} (padded {xp.shape[2:]}) is smaller than the kernel {kernel}")
    win = np.lib.stride_tricks.sliding_window_view(xp, kernel, axis=(2, 3))
    return win[:, :, ::stride[0], ::stride[1]]


def conv2d(x: np.ndarray, weight: np.ndarray, stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    """Plain zero-padded 2-d convolution (cross-correlation, as torch), no bias."""
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv expects {weight.shape[1]} input channels, got {x.shape[1]}")
    win = _windows(x, weight.shape[2:], stride, padding, 0.0)
    out = np.tensordot(win, weight, axes=([1, 4, 5], [1, 2, 3]))  # N, OH, OW, O
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)


def _scale_bias(y: np.ndarray, alpha: np.ndarray | None, bias: np.ndarray | None) -> np.ndarray:
    if alpha is not None:
        y = y * _channel(alpha, y.ndim)
    if bias is not None:
        y = y + _channel(bias, y.ndim)
    return y.astype(np.float32)


def _pool(x: np.ndarray, op, reduce) -> np.ndarray:
    pad_value = -np.inf if isinstance(op, ir.MaxPool2d) else 0.0
    return reduce(_windows(x, op.kernel, op.stride, op.padding, pad_value))


def _avg_pool(x: np.ndarray, op: ir.AvgPool2d) -> np.ndarray:
    total = _pool(x, op, lambda w: w.sum(axis=(4, 5)))
    if op.count_include_pad:
        return (total / np.float32(op.kernel[0] * op.kernel[1])).astype(np.float32)
    count = _pool(np.ones_like(x[:1, :1]), op, lambda w: w.sum(axis=(4, 5)))
    return (total / count).astype(np.float32)


def run_op(op: ir.Op, x: np.ndarray) -> np.ndarray:
    """Apply one engine op to `x`."""
    if isinstance(op, ir.Conv2d):
        return _scale_bias(conv2d(x, op.weight, op.stride, op.padding), None, op.bias)
    if isinstance(op, ir.BinaryConv2d):
        xb = sign(x) if op.binarize_input else x
        return _scale_bias(conv2d(xb, sign(op.weight), op.stride, op.padding), op.alpha, op.bias)
    if isinstance(op, (ir.Linear, ir.BinaryLinear)):
        if x.ndim != 2 or x.shape[1] != op.weight.shape[1]:
            raise ValueError(f"{type(op).__name__} expects (N, {op.weight.shape[1]}) input, got {x.shape}")
        if isinstance(op, ir.Linear):
            return _scale_bias(x @ op.weight.T, None, op.bias)
        xb = sign(x) if op.binarize_input else x
        return _scale_bias(xb @ sign(op.weight).T, op.alpha, op.bias)
    if isinstance(op, ir.BatchNorm):
        return run_op(op.as_affine(), x)
    if isinstance(op, ir.Affine):
        return (x * _channel(op.scale, x.ndim) + _channel(op.bias, x.ndim)).astype(np.float32)
    if isinstance(op, ir.ReLU):
        return np.maximum(x, np.float32(0))
    if isinstance(op, ir.PReLU):
        w = op.weight if op.weight.size == 1 else _channel(op.weight, x.ndim)
        return np.where(x >= 0, x, x * w).astype(np.float32)
    if isinstance(op, ir.Hardtanh):
        return np.clip(x, np.float32(op.min_val), np.float32(op.max_val))
    if isinstance(op, ir.MaxPool2d):
        return _pool(x, op, lambda w: w.max(axis=(4, 5))).astype(np.float32)
    if isinstance(op, ir.AvgPool2d):
        return _avg_pool(x, op)
    if isinstance(op, ir.GlobalAvgPool):
        return x.mean(axis=(2, 3), keepdims=True, dtype=np.float32)
    if isinstance(op, ir.Flatten):
        return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))
    if isinstance(op, ir.Residual):
        return (run(op.body, x) + run(op.shortcut, x)).astype(np.float32)
    raise ValueError(f"not an engine op: {type(op).__name__}")


def run(ops: Sequence[ir.Op], x: np.ndarray) -> np.ndarray:
    """Apply `ops` in order (the empty list is the identity)."""
    for op in ops:
        x = run_op(op, x)
    return x
