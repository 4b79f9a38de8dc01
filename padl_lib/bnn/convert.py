"""torch (or Gluon) BNN -> padl engine: `convert(model, example_input)`.

Walks `nn.Sequential` models of the supported layers and padl's `Residual` blocks, turns every
module into engine IR ops (`padl_lib.bnn.engine`), then checks the engine against the torch
model on the example input (relative error <= 1e-3 and the same argmax per sample).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from padl_lib.bnn import engine as ir
from padl_lib.bnn.layers import BinaryConv2d, BinaryLinear
from padl_lib.bnn.models import Residual

__all__ = ["convert", "to_ops", "relative_error", "ConversionError", "TOLERANCE"]

TOLERANCE = 1e-3


class ConversionError(ValueError):
    """The model cannot be converted, or the engine does not reproduce it."""


def relative_error(result: np.ndarray, expected: np.ndarray) -> float:
    """max |result - expected| / max |expected| (0 when both are all zero)."""
    scale = float(np.abs(expected).max()) if expected.size else 0.0
    diff = float(np.abs(result - expected).max()) if expected.size else 0.0
    return diff / scale if scale > 0 else diff


def _np(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().float().numpy().copy()


def _name(module: nn.Module, path: str) -> str:
    return f"{path or 'model'} ({type(module).__name__})"


def _require(condition: bool, module: nn.Module, path: str, why: str) -> None:
    if not condition:
        raise ConversionError(f"cannot convert {_name(module, path)}: {why}")


def _check_conv(m: nn.Conv2d, path: str) -> None:
    _require(m.groups == 1, m, path, f"groups={m.groups} (only groups=1 is supported)")
    _require(tuple(m.dilation) == (1, 1), m, path, f"dilation={m.dilation} (only 1 is supported)")
    _require(m.padding_mode == "zeros", m, path, f"padding_mode={m.padding_mode!r} (only 'zeros')")
    _require(not isinstance(m.padding, str), m, path, f"padding={m.padding!r} (use explicit integers)")


def _conv(m: nn.Conv2d, path: str, shapes) -> list[ir.Op]:
    _check_conv(m, path)
    return [ir.Conv2d(_np(m.weight), _np(m.bias), m.stride, m.padding)]


def _binary_conv(m: BinaryConv2d, path: str, shapes) -> list[ir.Op]:
    _check_conv(m, path)
    alpha = _np(m.weight_scale()) if m.scale_weights else None
    return [ir.BinaryConv2d(_np(m.weight), alpha, _np(m.bias), m.stride, m.padding,
                            binarize_input=m.input_quantizer is not None)]


def _linear(m: nn.Linear, path: str, shapes) -> list[ir.Op]:
    return [ir.Linear(_np(m.weight), _np(m.bias))]


def _binary_linear(m: BinaryLinear, path: str, shapes) -> list[ir.Op]:
    alpha = _np(m.weight_scale()) if m.scale_weights else None
    return [ir.BinaryLinear(_np(m.weight), alpha, _np(m.bias), binarize_input=m.input_quantizer is not None)]


def _batchnorm(m: nn.BatchNorm1d | nn.BatchNorm2d, path: str, shapes) -> list[ir.Op]:
    _require(m.track_running_stats and m.running_mean is not None, m, path,
             "BatchNorm without running statistics has no inference form")
    if isinstance(m, nn.BatchNorm1d):
        _require(len(shapes[path]) == 2, m, path, f"BatchNorm1d on input of shape {shapes[path]} (only (N, C))")
    return [ir.BatchNorm(_np(m.running_mean), _np(m.running_var), _np(m.weight), _np(m.bias), m.eps)]


def _prelu(m: nn.PReLU, path: str, shapes) -> list[ir.Op]:
    return [ir.PReLU(_np(m.weight))]


def _hardtanh(m: nn.Hardtanh, path: str, shapes) -> list[ir.Op]:
    return [ir.Hardtanh(float(m.min_val), float(m.max_val))]


def _maxpool(m: nn.MaxPool2d, path: str, shapes) -> list[ir.Op]:
    _require(not m.ceil_mode, m, path, "ceil_mode=True is not supported")
    _require(m.dilation in (1, (1, 1)), m, path, f"dilation={m.dilation} is not supported")
    _require(not m.return_indices, m, path, "return_indices=True is not supported")
    return [ir.MaxPool2d(m.kernel_size, m.stride, m.padding)]


def _avgpool(m: nn.AvgPool2d, path: str, shapes) -> list[ir.Op]:
    _require(not m.ceil_mode, m, path, "ceil_mode=True is not supported")
    _require(m.divisor_override is None, m, path, "divisor_override is not supported")
    return [ir.AvgPool2d(m.kernel_size, m.stride, m.padding, m.count_include_pad)]


def _adaptive_avgpool(m: nn.AdaptiveAvgPool2d, path: str, shapes) -> list[ir.Op]:
    size = m.output_size if isinstance(m.output_size, tuple) else (m.output_size, m.output_size)
    if tuple(size) == (1, 1):
        return [ir.GlobalAvgPool()]
    height, width = shapes[path][2:]
    size = (size[0] or height, size[1] or width)
    _require(height % size[0] == 0 and width % size[1] == 0, m, path,
             f"output size {size} does not divide the input size {(height, width)}")
    kernel = (height // size[0], width // size[1])
    return [ir.AvgPool2d(kernel, kernel)]


def _flatten(m: nn.Flatten, path: str, shapes) -> list[ir.Op]:
    rank = len(shapes[path])
    _require(m.start_dim == 1 and m.end_dim in (-1, rank - 1), m, path,
             f"Flatten(start_dim={m.start_dim}, end_dim={m.end_dim}) (only start_dim=1, end_dim=-1)")
    return [ir.Flatten()] if rank > 2 else []


def _sequential(m: nn.Sequential, path: str, shapes) -> list[ir.Op]:
    ops: list[ir.Op] = []
    for name, child in m.named_children():
        ops += _module(child, f"{path}.{name}" if path else name, shapes)
    return ops


def _residual(m: Residual, path: str, shapes) -> list[ir.Op]:
    prefix = f"{path}." if path else ""
    return [ir.Residual(_module(m.body, prefix + "body", shapes), _module(m.shortcut, prefix + "shortcut", shapes))]


def _nothing(m: nn.Module, path: str, shapes) -> list[ir.Op]:
    return []


# Order matters: padl's binary layers subclass torch's Conv2d / Linear.
HANDLERS: tuple[tuple[type, Callable[..., list[ir.Op]]], ...] = (
    (BinaryConv2d, _binary_conv), (BinaryLinear, _binary_linear), (nn.Conv2d, _conv), (nn.Linear, _linear),
    (nn.BatchNorm2d, _batchnorm), (nn.BatchNorm1d, _batchnorm),
    (nn.ReLU, lambda m, p, s: [ir.ReLU()]), (nn.PReLU, _prelu), (nn.Hardtanh, _hardtanh),
    (nn.MaxPool2d, _maxpool), (nn.AvgPool2d, _avgpool), (nn.AdaptiveAvgPool2d, _adaptive_avgpool),
    (nn.Flatten, _flatten), (nn.Identity, _nothing), (nn.Dropout, _nothing),
    (Residual, _residual), (nn.Sequential, _sequential),
)


def _module(m: nn.Module, path: str, shapes: dict[str, tuple[int, ...]]) -> list[ir.Op]:
    for kind, handler in HANDLERS:
        if type(m) is kind or (isinstance(m, kind) and type(m).forward is kind.forward):
            if path not in shapes and not isinstance(m, (nn.Sequential, Residual)):
                return []  # never reached by the example input (e.g. an identity that torch skipped)
            return handler(m, path, shapes)
    supported = ", ".join(k.__name__ for k, _ in HANDLERS)
    raise ConversionError(f"cannot convert {_name(m, path)}: unsupported module (supported: {supported})")


def _input_shapes(model: nn.Module, x: torch.Tensor) -> tuple[dict[str, tuple[int, ...]], torch.Tensor]:
    """Run the model once, recording each submodule's input shape; return them and the output."""
    shapes: dict[str, tuple[int, ...]] = {}

    def record(name: str):
        def hook(module: nn.Module, args: tuple) -> None:
            shapes.setdefault(name, tuple(args[0].shape))
        return hook

    hooks = [m.register_forward_pre_hook(record(name)) for name, m in model.named_modules()]
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return shapes, out


def _as_tensor(example_input) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(example_input, dtype=np.float32)) if not isinstance(example_input, torch.Tensor) \
        else example_input.detach().float().cpu()
    if x.ndim != 4:
        raise ConversionError(f"example_input must be an NCHW batch (4 dimensions), got shape {tuple(x.shape)}")
    return x


def to_ops(model: nn.Module, example_input) -> tuple[list[ir.Op], np.ndarray]:
    """The engine ops of `model` (eval mode) and its output on `example_input`."""
    x = _as_tensor(example_input)
    was_training = model.training
    model.eval()
    try:
        shapes, out = _input_shapes(model, x)
        ops = _module(model, "", shapes)
    finally:
        model.train(was_training)
    return ops, out.detach().float().numpy()


def convert(model, example_input, verify: bool = True, tolerance: float = TOLERANCE) -> ir.Engine:
    """Convert a torch model (or a Gluon HybridSequential of padl's blocks) to a padl engine.

    `example_input` (NCHW float32, numpy or torch) fixes the input shape; with `verify` the engine
    must reproduce the model's eval output on it (relative error <= `tolerance`, same argmax),
    else a ConversionError says by how much it missed.
    """
    if type(model).__module__.startswith("mxnet") or type(model).__module__ == "padl_lib.bnn.gluon":
        from padl_lib.bnn.gluon import to_torch

        model = to_torch(model)
    if not isinstance(model, nn.Module):
        raise ConversionError(f"convert expects a torch nn.Module or a Gluon block, got {type(model).__name__}")
    ops, expected = to_ops(model, example_input)
    x = _as_tensor(example_input).numpy()
    engine = ir.Engine(ops, input_shape=tuple(x.shape[1:]), meta={"source": type(model).__name__})
    if verify:
        result = engine(x)
        if result.shape != expected.shape:
            raise ConversionError(f"engine output shape {result.shape} differs from the model's {expected.shape}")
        error = relative_error(result, expected)
        flat_r, flat_e = result.reshape(len(x), -1), expected.reshape(len(x), -1)
        if error > tolerance or not np.array_equal(flat_r.argmax(1), flat_e.argmax(1)):
            raise ConversionError(f"the engine does not reproduce the model: relative error {error:.3g} "
                                  f"(tolerance {tolerance:g}), argmax equal: "
                                  f"{np.array_equal(flat_r.argmax(1), flat_e.argmax(1))}")
    return engine
