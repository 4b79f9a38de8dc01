"""The engine's fast path: the IR compiled once into steps on the native kernels.

Activations are channels-last: float NHWC (or NC) arrays, or `Packed` sign bits between binary
layers. Compiling folds each binary layer's alpha, bias and the per-channel BatchNorm/Affine ops
that follow it into one scale and bias per channel (the fused output transform); when the next
op binarizes its input anyway, that transform becomes an integer threshold and the layer writes
packed bits directly (no float round trip).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from padl_lib.bnn import engine as ir
from padl_lib.bnn import native

__all__ = ["Plan", "Packed", "binary_conv_layer"]


@dataclass
class Packed:
    """Sign bits of an NHWC activation: words (N, H, W, ceil(C / 64)) uint64, `channels` = C."""
    words: np.ndarray
    channels: int


Step = Callable[[object], object]


def _float(x) -> np.ndarray:
    if isinstance(x, Packed):
        raise ValueError("internal: a float op received packed bits")
    return x


def _expect(x, ndim: int, channels: int, layer: str) -> None:
    """Raise a clear ValueError when `x` is not what `layer` takes."""
    shape = (x.words.shape[:-1] + (x.channels,)) if isinstance(x, Packed) else x.shape
    if len(shape) != ndim or shape[-1] != channels:
        want = "(N, H, W, C)" if ndim == 4 else "(N, C)"
        raise ValueError(f"{layer} takes {channels} input channels, shaped {want} channels-last; "
                         f"got shape {tuple(shape)} (the layers before it do not fit)")


def _nhwc(x: np.ndarray) -> np.ndarray:
    return x if x.ndim == 4 else x.reshape(x.shape[0], 1, 1, x.shape[1])


class BinaryStep:
    """Pack (unless already packed) -> binary conv -> fused output transform."""

    def __init__(self, op: ir.BinaryConv2d | ir.BinaryLinear, scale: np.ndarray, bias: np.ndarray,
                 to_bits: bool) -> None:
        self.linear = isinstance(op, ir.BinaryLinear)
        stride = (1, 1) if self.linear else op.stride
        padding = (0, 0) if self.linear else op.padding
        self.channels = op.weight.shape[1]
        self.conv = native.binary_conv(op.weight, stride, padding)
        if to_bits:
            self.thresh, self.flip = native.thresholds(scale, bias)
        else:
            self.scale, self.bias = scale.astype(np.float32), bias.astype(np.float32)
        self.to_bits = to_bits

    def __call__(self, x, residual: np.ndarray | None = None):
        """Run on float or packed `x`; a float `residual` of the output's shape is added last."""
        layer = "BinaryLinear" if self.linear else "BinaryConv2d"
        _expect(x, 2 if self.linear and not isinstance(x, Packed) else 4, self.channels, layer)
        words = x.words if isinstance(x, Packed) else native.pack(_nhwc(x))
        if self.to_bits:
            return Packed(self.conv.run(words, thresh=self.thresh, flip=self.flip), self.conv.outputs)
        y = self.conv.run(words, self.scale, self.bias, residual=residual)
        return y.reshape(y.shape[0], y.shape[-1]) if self.linear else y


def _fold(op: ir.BinaryConv2d | ir.BinaryLinear | ir.Conv2d, following: list) -> tuple[np.ndarray, np.ndarray]:
    """Scale and bias per output channel of `op` followed by the per-channel `following` ops."""
    out = op.weight.shape[0]
    alpha = getattr(op, "alpha", None)
    scale = np.ones(out) if alpha is None else alpha.astype(np.float64)
    bias = np.zeros(out) if op.bias is None else op.bias.astype(np.float64)
    for extra in following:
        affine = extra.as_affine() if isinstance(extra, ir.BatchNorm) else extra
        scale, bias = scale * affine.scale, bias * affine.scale + affine.bias
    return scale, bias


def _torch():
    """torch when installed: its channels-last float conv and pooling are the fastest here."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def _torch_nhwc(fn) -> Step:
    """Run a torch NCHW function on an NHWC array without copies (channels-last views)."""
    torch = _torch()

    def run(x):
        with torch.no_grad():
            y = fn(torch.from_numpy(_float(x)).permute(0, 3, 1, 2))
        return y.permute(0, 2, 3, 1).contiguous().numpy()

    return run


def _float_conv(weight: np.ndarray, bias: np.ndarray | None, stride, padding) -> Step:
    o, c, kh, kw = weight.shape
    torch = _torch()
    if torch is not None:
        w_t = torch.from_numpy(weight).contiguous(memory_format=torch.channels_last)
        b_t = None if bias is None else torch.from_numpy(bias)
        conv = _torch_nhwc(lambda x: torch.nn.functional.conv2d(x, w_t, b_t, tuple(stride), tuple(padding)))

        def run_torch(x):
            _expect(x, 4, c, "Conv2d")
            try:
                return conv(x)
            except RuntimeError as exc:  # e.g. an input smaller than the kernel
                raise ValueError(f"Conv2d cannot run on input {x.shape}: {exc}") from None

        return run_torch
    matrix = np.ascontiguousarray(weight.transpose(2, 3, 1, 0).reshape(kh * kw * c, o))  # (kh, kw, C) rows

    def run(x):
        _expect(x, 4, c, "Conv2d")
        n = x.shape[0]
        if (kh, kw) == (1, 1) and tuple(padding) == (0, 0):
            cols = x[:, ::stride[0], ::stride[1], :]
            oh, ow = cols.shape[1:3]
            cols = cols.reshape(-1, c)
        else:
            xp = np.pad(x, ((0, 0), (padding[0],) * 2, (padding[1],) * 2, (0, 0)))
            win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(1, 2))[:, ::stride[0], ::stride[1]]
            oh, ow = win.shape[1:3]
            cols = win.transpose(0, 1, 2, 4, 5, 3).reshape(n * oh * ow, kh * kw * c)
        y = cols @ matrix
        if bias is not None:
            y += bias
        return y.reshape(n, oh, ow, o)

    return run


def _linear(weight: np.ndarray, bias: np.ndarray | None) -> Step:
    matrix = np.ascontiguousarray(weight.T)

    def run(x):
        _expect(x, 2, matrix.shape[0], "Linear")
        y = _float(x) @ matrix
        return y + bias if bias is not None else y

    return run


def _pool(op: ir.MaxPool2d | ir.AvgPool2d) -> Step:
    """Pooling on NHWC floats (torch when installed, else numpy); max-pooling also takes bits."""
    torch = _torch()
    if isinstance(op, ir.MaxPool2d):
        packed_pool = _packed_max_pool(op)
        if torch is not None:
            float_pool = _torch_nhwc(lambda x: torch.nn.functional.max_pool2d(x, op.kernel, op.stride, op.padding))
        else:
            def float_pool(x):
                return np.maximum.reduce(_windows_nhwc(_float(x), op, -np.inf))
        return lambda x: packed_pool(x) if isinstance(x, Packed) else float_pool(x)
    if torch is not None:
        return _torch_nhwc(lambda x: torch.nn.functional.avg_pool2d(x, op.kernel, op.stride, op.padding,
                                                                    count_include_pad=op.count_include_pad))

    def average(x):
        x = _float(x)
        total = np.add.reduce(_windows_nhwc(x, op, 0.0))
        if op.count_include_pad or op.padding == (0, 0):
            return total / np.float32(op.kernel[0] * op.kernel[1])
        return total / np.add.reduce(_windows_nhwc(np.ones((1, *x.shape[1:3], 1), np.float32), op, 0.0))

    return average


def _windows_nhwc(x: np.ndarray, op, fill) -> list[np.ndarray]:
    """The kernel taps of a pooling op as strided views of the padded NHWC input."""
    (kh, kw), (sh, sw), (ph, pw) = op.kernel, op.stride, op.padding
    n, h, w, _ = x.shape
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=fill)
    oh, ow = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    return [xp[:, dy:dy + sh * (oh - 1) + 1:sh, dx:dx + sw * (ow - 1) + 1:sw] for dy in range(kh) for dx in range(kw)]


def _packed_max_pool(op: ir.MaxPool2d) -> Callable[[Packed], Packed]:
    """Max pooling on sign bits: sign is monotone, so the max is -1 only where every tap is -1:
    a bitwise AND of the taps (padding is all ones, neutral for AND)."""
    def run(x: Packed) -> Packed:
        taps = _windows_nhwc(x.words, op, np.uint64(np.iinfo(np.uint64).max))
        words = np.bitwise_and.reduce(taps)
        tail = x.channels % 64
        if tail:  # channel tail bits stay 0
            words[..., -1] &= np.uint64((1 << tail) - 1)
        return Packed(np.ascontiguousarray(words), x.channels)

    return run


def _channelwise(op) -> Step:
    if isinstance(op, (ir.BatchNorm, ir.Affine)):
        affine = op.as_affine() if isinstance(op, ir.BatchNorm) else op
        return lambda x: _float(x) * affine.scale + affine.bias
    if isinstance(op, ir.ReLU):
        return lambda x: np.maximum(_float(x), np.float32(0))
    if isinstance(op, ir.PReLU):
        return lambda x: np.where(_float(x) >= 0, x, x * op.weight).astype(np.float32)
    if isinstance(op, ir.Hardtanh):
        return lambda x: np.clip(_float(x), np.float32(op.min_val), np.float32(op.max_val))
    raise ValueError(f"not a channel-wise op: {type(op).__name__}")


def _flatten(x):
    x = _float(x)
    return x.transpose(0, 3, 1, 2).reshape(x.shape[0], int(np.prod(x.shape[1:]))) if x.ndim == 4 else x


def _global_avg_pool(x):
    return _float(x).mean(axis=(1, 2), keepdims=True, dtype=np.float32)


def _residual(op: ir.Residual) -> Step:
    """body(x) + shortcut(x); a body of one binary conv and per-channel ops (Bi-Real Net's block)
    runs as one step with the shortcut's output added in the conv's output transform."""
    shortcut = compile_ops(op.shortcut)
    first, rest = op.body[0] if op.body else None, op.body[1:]
    if (isinstance(first, ir.BinaryConv2d) and first.binarize_input
            and all(isinstance(extra, (ir.BatchNorm, ir.Affine)) for extra in rest)):
        conv = BinaryStep(first, *_fold(first, rest), to_bits=False)
        return lambda x: conv(x, residual=_float(_run(shortcut, x)))
    body = compile_ops(op.body)
    return lambda x: _float(_run(body, x)) + _float(_run(shortcut, x))


def _binarizes_input(op) -> bool:
    return isinstance(op, (ir.BinaryConv2d, ir.BinaryLinear)) and op.binarize_input


def _as_float_conv(op: ir.BinaryConv2d | ir.BinaryLinear) -> ir.Conv2d | ir.Linear:
    """A binary layer whose input stays real (weights-only BNN) as the equivalent float layer."""
    weight = np.where(op.weight < 0, np.float32(-1), np.float32(1))
    if op.alpha is not None:
        weight = weight * op.alpha.reshape((-1,) + (1,) * (weight.ndim - 1))
    if isinstance(op, ir.BinaryLinear):
        return ir.Linear(weight, op.bias)
    return ir.Conv2d(weight, op.bias, op.stride, op.padding)


def compile_ops(ops: Sequence[ir.Op]) -> list[Step]:
    """Steps running `ops` on channels-last activations."""
    steps: list[Step] = []
    i = 0
    while i < len(ops):
        op = ops[i]
        i += 1
        if isinstance(op, (ir.BinaryConv2d, ir.BinaryLinear)) and not op.binarize_input:
            op = _as_float_conv(op)
        if isinstance(op, (ir.BinaryConv2d, ir.BinaryLinear)):
            following = []
            while i < len(ops) and isinstance(ops[i], (ir.BatchNorm, ir.Affine)):
                following.append(ops[i])
                i += 1
            j = i
            while j < len(ops) and isinstance(ops[j], ir.MaxPool2d):  # max-pooling commutes with sign
                j += 1
            to_bits = j < len(ops) and _binarizes_input(ops[j])
            steps.append(BinaryStep(op, *_fold(op, following), to_bits=to_bits))
        elif isinstance(op, ir.Conv2d):
            following = []
            while i < len(ops) and isinstance(ops[i], (ir.BatchNorm, ir.Affine)):
                following.append(ops[i])
                i += 1
            scale, bias = _fold(op, following)
            weight = (op.weight * scale.reshape(-1, 1, 1, 1)).astype(np.float32)
            steps.append(_float_conv(weight, bias.astype(np.float32), op.stride, op.padding))
        elif isinstance(op, ir.Linear):
            steps.append(_linear(op.weight, op.bias))
        elif isinstance(op, (ir.MaxPool2d, ir.AvgPool2d)):
            steps.append(_pool(op))
        elif isinstance(op, ir.GlobalAvgPool):
            steps.append(_global_avg_pool)
        elif isinstance(op, ir.Flatten):
            steps.append(_flatten)
        elif isinstance(op, ir.Residual):
            steps.append(_residual(op))
        else:
            steps.append(_channelwise(op))
    return steps


def _run(steps: Sequence[Step], x):
    for step in steps:
        x = step(x)
    return x


class Plan:
    """The compiled fast path of an engine: NCHW float32 in, the model's output layout out."""

    def __init__(self, ops: Sequence[ir.Op]) -> None:
        self.steps = compile_ops(ops)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = _float(_run(self.steps, np.ascontiguousarray(x.transpose(0, 2, 3, 1))))
        y = y.transpose(0, 3, 1, 2) if y.ndim == 4 else y
        return np.ascontiguousarray(y, dtype=np.float32)


def binary_conv_layer(in_c: int, out_c: int, hw: int, stride: int = 1, kernel: int = 3, seed: int = 0):
    """`(run, x)`: one binary conv layer (pack + conv + per-channel scale/bias, float NHWC in and
    out) with random weights and BatchNorm, and a matching random input."""
    rng = np.random.default_rng(seed)
    op = ir.BinaryConv2d(rng.standard_normal((out_c, in_c, kernel, kernel)), alpha=rng.random(out_c) + 0.5,
                         stride=stride, padding=kernel // 2)
    bn = ir.BatchNorm(rng.standard_normal(out_c), rng.random(out_c) + 0.5, rng.standard_normal(out_c),
                      rng.standard_normal(out_c))
    step = BinaryStep(op, *_fold(op, [bn]), to_bits=False)
    x = rng.standard_normal((1, hw, hw, in_c)).astype(np.float32)
    return step, x
