"""padl's BNN inference engine: the graph IR (what a converter builds) and the `Engine` that runs it.

The IR is a flat list of ops; a `Residual` op nests two lists. Every op holds plain numpy
parameters (float32) and acts on NCHW (or NC after `Flatten`) float32 arrays, exactly like the
torch module it stands for. `padl_lib.bnn.reference` runs each op in slow, obviously correct
numpy; the engine plans the same graph onto the native kernels (`padl_lib.bnn.native`).

Binarization and padding semantics (shared with `padl_lib.bnn.layers`)
-------------------------------------------------------------------------
- sign(x) = +1 for x >= 0 (so sign(0) = +1) and -1 for x < 0; NaN binarizes to +1.
- A binary layer binarizes its input (unless `binarize_input=False`) and its latent weights,
  then computes `alpha[o] * sum(sign(x) * sign(w)) + bias[o]`.
- Zero padding is applied *after* binarization: padded taps contribute 0 to the sum, as torch's
  `F.conv2d(sign(x), sign(w), padding=p)` does. The packed kernels cannot store a 0, so they pad
  with +1 bits and subtract the padded taps' weight sums (the padding correction): the engine's
  result equals the zero-padded sum exactly.

Inside the engine (`padl_lib.bnn.runtime`) activations are channels-last (NHWC). Between binary
layers they stay packed (one bit per channel, 64 channels per uint64 word, bit = 1 for -1)
whenever the next consumer binarizes them (max-pooling in between runs on the bits): the conv's
output transform (alpha, bias and any following BatchNorm/Affine, folded into one scale and bias
per channel) then becomes an integer threshold per channel. A `Residual` whose body is one binary
conv plus per-channel ops (Bi-Real Net's block) adds its shortcut inside that transform.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Union

import numpy as np

__all__ = [
    "Conv2d", "BinaryConv2d", "Linear", "BinaryLinear", "BatchNorm", "Affine", "ReLU", "PReLU",
    "Hardtanh", "MaxPool2d", "AvgPool2d", "GlobalAvgPool", "Flatten", "Residual", "Op", "OP_TYPES",
    "walk", "op_params", "Engine", "engine_layer",
]


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = (int(value), int(value)) if np.isscalar(value) else tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < 0:
        raise ValueError(f"{name} must be a non-negative int or a pair of them, got {value!r}")
    return pair  # type: ignore[return-value]


def _array(value, name: str, ndim: int | None = None, optional: bool = False) -> np.ndarray | None:
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name} is required")
    arr = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    return arr


def _per_channel(value, name: str, channels: int, optional: bool = True) -> np.ndarray | None:
    arr = _array(value, name, 1, optional)
    if arr is not None and arr.shape != (channels,):
        raise ValueError(f"{name} must have one value per channel ({channels}), got shape {arr.shape}")
    return arr


@dataclass(eq=False)
class Conv2d:
    """Float 2-d convolution (the stem). weight: (out, in, kh, kw); bias: (out,) or None."""
    weight: np.ndarray
    bias: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.weight = _array(self.weight, "Conv2d.weight", 4)
        self.bias = _per_channel(self.bias, "Conv2d.bias", self.weight.shape[0])
        self.stride, self.padding = _pair(self.stride, "stride"), _pair(self.padding, "padding")
        if min(self.stride) < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")


@dataclass(eq=False)
class BinaryConv2d:
    """Binary 2-d convolution: `alpha[o] * conv(sign(x), sign(weight)) + bias[o]`, zero padding
    after binarization (padded taps contribute 0). weight: latent real weights (out, in, kh, kw),
    only their signs are used (sign(0) = +1); alpha: per-output-channel scale or None (= 1);
    bias: (out,) or None. With `binarize_input=False` the input stays real (weights-only BNN)."""
    weight: np.ndarray
    alpha: np.ndarray | None = None
    bias: np.ndarray | None = None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    binarize_input: bool = True

    def __post_init__(self) -> None:
        self.weight = _array(self.weight, "BinaryConv2d.weight", 4)
        self.alpha = _per_channel(self.alpha, "BinaryConv2d.alpha", self.weight.shape[0])
        self.bias = _per_channel(self.bias, "BinaryConv2d.bias", self.weight.shape[0])
        self.stride, self.padding = _pair(self.stride, "stride"), _pair(self.padding, "padding")
        self.binarize_input = bool(self.binarize_input)
        if min(self.stride) < 1:
            raise ValueError(f"stride must be >= 1, got {self.stride}")


@dataclass(eq=False)
class Linear:
    """Float fully connected layer: `x @ weight.T + bias`. weight: (out, in)."""
    weight: np.ndarray
    bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.weight = _array(self.weight, "Linear.weight", 2)
        self.bias = _per_channel(self.bias, "Linear.bias", self.weight.shape[0])


@dataclass(eq=False)
class BinaryLinear:
    """Binary fully connected layer: `alpha[o] * (sign(x) @ sign(weight).T)[o] + bias[o]`."""
    weight: np.ndarray
    alpha: np.ndarray | None = None
    bias: np.ndarray | None = None
    binarize_input: bool = True

    def __post_init__(self) -> None:
        self.weight = _array(self.weight, "BinaryLinear.weight", 2)
        self.alpha = _per_channel(self.alpha, "BinaryLinear.alpha", self.weight.shape[0])
        self.bias = _per_channel(self.bias, "BinaryLinear.bias", self.weight.shape[0])
        self.binarize_input = bool(self.binarize_input)


@dataclass(eq=False)
class BatchNorm:
    """Inference BatchNorm over channel axis 1 (NC or NCHW):
    `(x - mean) / sqrt(var + eps) * weight + bias`; weight/bias None mean 1/0 (affine=False)."""
    mean: np.ndarray
    var: np.ndarray
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    eps: float = 1e-5

    def __post_init__(self) -> None:
        self.mean = _array(self.mean, "BatchNorm.mean", 1)
        channels = self.mean.shape[0]
        self.var = _per_channel(self.var, "BatchNorm.var", channels, optional=False)
        self.weight = _per_channel(self.weight, "BatchNorm.weight", channels)
        self.bias = _per_channel(self.bias, "BatchNorm.bias", channels)
        self.eps = float(self.eps)

    def as_affine(self) -> "Affine":
        """The same per-channel map as `Affine(scale, bias)` (float32 arithmetic)."""
        ones = np.ones_like(self.mean)
        scale = (self.weight if self.weight is not None else ones) / np.sqrt(self.var + np.float32(self.eps))
        shift = self.bias if self.bias is not None else np.zeros_like(self.mean)
        return Affine(scale, shift - self.mean * scale)


@dataclass(eq=False)
class Affine:
    """Per-channel `x * scale[c] + bias[c]` over channel axis 1."""
    scale: np.ndarray
    bias: np.ndarray

    def __post_init__(self) -> None:
        self.scale = _array(self.scale, "Affine.scale", 1)
        self.bias = _per_channel(self.bias, "Affine.bias", self.scale.shape[0], optional=False)


@dataclass(eq=False)
class ReLU:
    """max(x, 0)."""


@dataclass(eq=False)
class PReLU:
    """`x if x >= 0 else weight[c] * x`; weight has one value (shared) or one per channel."""
    weight: np.ndarray

    def __post_init__(self) -> None:
        self.weight = _array(self.weight, "PReLU.weight", 1)


@dataclass(eq=False)
class Hardtanh:
    """clip(x, min_val, max_val)."""
    min_val: float = -1.0
    max_val: float = 1.0


@dataclass(eq=False)
class MaxPool2d:
    """Max pooling (padding counts as -inf, floor mode), as torch.nn.MaxPool2d."""
    kernel: tuple[int, int]
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.kernel = _pair(self.kernel, "kernel")
        self.stride = _pair(self.kernel if self.stride is None else self.stride, "stride")
        self.padding = _pair(self.padding, "padding")


@dataclass(eq=False)
class AvgPool2d:
    """Average pooling (floor mode), as torch.nn.AvgPool2d; with `count_include_pad` padded
    zeros count in the divisor (torch's default)."""
    kernel: tuple[int, int]
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] = (0, 0)
    count_include_pad: bool = True

    def __post_init__(self) -> None:
        self.kernel = _pair(self.kernel, "kernel")
        self.stride = _pair(self.kernel if self.stride is None else self.stride, "stride")
        self.padding = _pair(self.padding, "padding")


@dataclass(eq=False)
class GlobalAvgPool:
    """Mean over H and W, keeping them as 1x1 (torch's AdaptiveAvgPool2d(1)): NCHW -> NC11."""


@dataclass(eq=False)
class Flatten:
    """NCHW -> N(C*H*W) in torch's (C, H, W) order."""


@dataclass(eq=False)
class Residual:
    """`run(body, x) + run(shortcut, x)`; an empty shortcut is the identity."""
    body: list
    shortcut: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self.body, self.shortcut = list(self.body), list(self.shortcut)
        for op in (*self.body, *self.shortcut):
            if not isinstance(op, OP_TYPES):
                raise ValueError(f"Residual holds engine ops only, got {type(op).__name__}")


Op = Union[Conv2d, BinaryConv2d, Linear, BinaryLinear, BatchNorm, Affine, ReLU, PReLU, Hardtanh,
           MaxPool2d, AvgPool2d, GlobalAvgPool, Flatten, Residual]
OP_TYPES = (Conv2d, BinaryConv2d, Linear, BinaryLinear, BatchNorm, Affine, ReLU, PReLU, Hardtanh,
            MaxPool2d, AvgPool2d, GlobalAvgPool, Flatten, Residual)


def walk(ops: Sequence[Op]):
    """Every op in `ops`, depth first, including those inside Residual blocks."""
    for op in ops:
        yield op
        if isinstance(op, Residual):
            yield from walk(op.body)
            yield from walk(op.shortcut)


def op_params(op: Op) -> dict:
    """The dataclass fields of `op` as a dict (arrays by reference)."""
    return {f.name: getattr(op, f.name) for f in fields(op)}


class Engine:
    """A BNN graph ready to run: `engine(x)` maps an NCHW float32 batch to the model's output.

    `ops` is the IR above; `input_shape` (C, H, W) is optional and checked when given. The
    native kernels run the graph when the extension is built (`padl_lib.bnn.native.available()`),
    else the numpy reference does; `engine.reference(x)` always runs the reference.
    """

    def __init__(self, ops: Sequence[Op], input_shape: tuple[int, int, int] | None = None,
                 meta: dict | None = None) -> None:
        ops = list(ops)
        if not ops:
            raise ValueError("an engine needs at least one op")
        for op in walk(ops):
            if not isinstance(op, OP_TYPES):
                raise ValueError(f"not an engine op: {type(op).__name__}")
        self.ops = ops
        self.input_shape = tuple(int(v) for v in input_shape) if input_shape is not None else None
        self.meta = dict(meta or {})
        self._plan = None

    def _check_input(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.dtype != np.float32:
            x = x.astype(np.float32)
        if x.ndim != 4:
            raise ValueError(f"engine input must be NCHW (4 dimensions), got shape {x.shape}")
        if self.input_shape is not None and tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"engine expects inputs of shape (N, {', '.join(map(str, self.input_shape))}),"
                             f" got {x.shape}")
        return np.ascontiguousarray(x)

    def reference(self, x: np.ndarray) -> np.ndarray:
        """Run the graph with the slow numpy reference of every op."""
        from padl_lib.bnn import reference

        return reference.run(self.ops, self._check_input(x))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run the graph: native kernels when built, else the numpy reference."""
        from padl_lib.bnn import native

        if not native.available():
            return self.reference(x)
        if self._plan is None:
            from padl_lib.bnn.runtime import Plan

            self._plan = Plan(self.ops)
        return self._plan(self._check_input(x))

    def check(self) -> None:
        """Raise ValueError unless the layers fit together on `input_shape` (runs an empty batch)."""
        if self.input_shape is None:
            raise ValueError("this engine has no input_shape to check against")
        self(np.zeros((0, *self.input_shape), np.float32))

    def save(self, path: str | Path) -> Path:
        """Write the engine to a packed, versioned, checksummed file (`padl_lib.bnn.load`)."""
        from padl_lib.bnn import fileformat

        return fileformat.save(self, path)

    def sizes(self) -> dict[str, int]:
        """Parameter bytes: binary weights packed (1 bit each) against the same weights in fp32,
        and the float parameters kept as they are."""
        binary_bits = binary_fp32 = float_bytes = 0
        for op in walk(self.ops):
            for name, value in op_params(op).items():
                if not isinstance(value, np.ndarray):
                    continue
                if name == "weight" and isinstance(op, (BinaryConv2d, BinaryLinear)):
                    binary_bits += value.size
                    binary_fp32 += value.size * 4
                else:
                    float_bytes += value.nbytes
        return {"binary_weight_bytes": (binary_bits + 7) // 8, "binary_weight_fp32_bytes": binary_fp32,
                "float_param_bytes": float_bytes}

    def __repr__(self) -> str:
        kinds = [type(op).__name__ for op in self.ops]
        return f"Engine({len(kinds)} ops: {', '.join(kinds[:6])}{', ...' if len(kinds) > 6 else ''})"


def engine_layer(in_c: int, out_c: int, hw: int, stride: int = 1, kernel: int = 3, seed: int = 0):
    """A single binary conv layer as the engine runs it (float NHWC in -> pack -> binary conv ->
    per-channel scale/bias -> float NHWC out), for timing against other engines.

    Returns `(run, x)`: `run(x)` executes the whole layer on the prepared input `x`
    (shape (1, hw, hw, in_c), channels-last float32 as inside the engine).
    """
    from padl_lib.bnn.runtime import binary_conv_layer

    return binary_conv_layer(in_c, out_c, hw, stride=stride, kernel=kernel, seed=seed)
