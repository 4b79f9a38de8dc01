"""Binary layers for training in torch: sign quantizers with straight-through estimators,
XNOR-Net scaling factors, and `BinaryConv2d` / `BinaryLinear` with latent real weights.

Conventions shared with the engine (`padl_lib.bnn.engine`):
- sign(0) = +1, so every value binarizes to exactly +1 or -1 (one bit);
- a binary convolution zero-pads *after* binarizing its input: padded positions contribute 0
  to the dot product (larq's default `pad_values=0`); the engine corrects for them exactly;
- the weight scale (when on) is one factor per output channel, alpha = mean |w| (XNOR-Net).
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "QUANTIZERS", "sign", "ste_sign", "approx_sign", "quantizer",
    "BinaryConv2d", "BinaryLinear", "binary_layers", "freeze", "unfreeze", "frozen",
    "clip_latent_weights",
]


def sign(x: torch.Tensor) -> torch.Tensor:
    """Deterministic sign with sign(0) = +1 (no gradient)."""
    one = x.new_ones(())
    return torch.where(x >= 0, one, -one)


def _straight_through(name: str, surrogate: Callable[[torch.Tensor], torch.Tensor], doc: str) -> type:
    """An autograd Function: sign(x) forward, `grad * surrogate(x)` backward."""

    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        return sign(x)

    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        return grad * surrogate(x).to(grad.dtype)

    return type(name, (torch.autograd.Function,),
                {"forward": staticmethod(forward), "backward": staticmethod(backward), "__doc__": doc})


_SteSign = _straight_through("_SteSign", lambda x: x.abs() <= 1,
                             "sign(x) forward; the gradient passes straight through where |x| <= 1 (BinaryNet).")
_ApproxSign = _straight_through("_ApproxSign", lambda x: (2 - 2 * x.abs()).clamp(min=0),
                                "sign(x) forward; Bi-Real Net's piecewise-quadratic gradient 2 - 2|x| on |x| < 1.")


def ste_sign(x: torch.Tensor) -> torch.Tensor:
    """Binarize with the plain straight-through estimator."""
    return _SteSign.apply(x)


def approx_sign(x: torch.Tensor) -> torch.Tensor:
    """Binarize with Bi-Real Net's approximate-sign gradient."""
    return _ApproxSign.apply(x)


QUANTIZERS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {"ste_sign": ste_sign, "approx_sign": approx_sign}


def quantizer(name: str | None) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The quantizer called `name` ('ste_sign', 'approx_sign'), or None for no quantization."""
    if name is None:
        return None
    if name not in QUANTIZERS:
        raise ValueError(f"unknown quantizer {name!r}; choose one of {sorted(QUANTIZERS)} or None")
    return QUANTIZERS[name]


class _BinaryMixin:
    """What BinaryConv2d and BinaryLinear share: quantizers, the weight scale and clipping."""

    input_quantizer: str | None
    weight_quantizer: str | None
    scale_weights: bool
    clip_value: float
    weight: nn.Parameter

    def _setup_binary(self, input_quantizer: str | None, weight_quantizer: str | None,
                      scale_weights: bool, clip_value: float) -> None:
        quantizer(input_quantizer), quantizer(weight_quantizer)  # validate the names early
        if weight_quantizer is None:
            raise ValueError("a binary layer needs a weight quantizer ('ste_sign' or 'approx_sign')")
        if clip_value <= 0:
            raise ValueError(f"clip_value must be positive, got {clip_value}")
        self.input_quantizer, self.weight_quantizer = input_quantizer, weight_quantizer
        self.scale_weights, self.clip_value = scale_weights, float(clip_value)

    _frozen: tuple[torch.Tensor, torch.Tensor | None] | None = None

    def _binary_weight_and_scale(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """sign(w) and alpha (None when scaling is off): fresh, or those fixed by `frozen`."""
        if self._frozen is not None:
            return self._frozen
        return self.binary_weight(), self.weight_scale() if self.scale_weights else None

    def weight_scale(self) -> torch.Tensor:
        """Per-output-channel scale alpha = mean |w| (ones when scaling is off)."""
        w = self.weight
        if not self.scale_weights:
            return torch.ones(w.shape[0], dtype=w.dtype, device=w.device)
        return w.abs().flatten(1).mean(dim=1)

    def binary_weight(self) -> torch.Tensor:
        """The binarized weights sign(w) (the scale is applied to the output, see `_scaled`)."""
        return quantizer(self.weight_quantizer)(self.weight)

    def _scaled(self, y: torch.Tensor, alpha: torch.Tensor | None) -> torch.Tensor:
        """alpha[o] * y + bias[o]. Scaling after the ±1 dot product keeps it an exact integer
        times alpha, as in the engine (so a zero sum stays exactly zero)."""
        if alpha is not None:
            y = y * alpha.view(1, -1, *([1] * (y.dim() - 2)))
        if self.bias is not None:
            y = y + self.bias.view(1, -1, *([1] * (y.dim() - 2)))
        return y

    def binary_input(self, x: torch.Tensor) -> torch.Tensor:
        quant = quantizer(self.input_quantizer)
        return x if quant is None else quant(x)

    @torch.no_grad()
    def clip_(self) -> None:
        """Clip the latent real weights to [-clip_value, clip_value] (call after each step)."""
        self.weight.clamp_(-self.clip_value, self.clip_value)

    def _binary_repr(self) -> str:
        return (f", input_quantizer={self.input_quantizer!r}, weight_quantizer={self.weight_quantizer!r}"
                f", scale_weights={self.scale_weights}")


class BinaryConv2d(_BinaryMixin, nn.Conv2d):
    """A 2-d convolution that binarizes its input and its weights (like larq's QuantConv2D
    with both quantizers set). Arguments as `torch.nn.Conv2d`, then keyword-only options."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device=None, dtype=None, *,
                 input_quantizer: str | None = "ste_sign", weight_quantizer: str | None = "ste_sign",
                 scale_weights: bool = True, clip_value: float = 1.0) -> None:
        if padding_mode != "zeros":
            raise ValueError(f"BinaryConv2d supports padding_mode='zeros' only, got {padding_mode!r}")
        if isinstance(padding, str):
            raise ValueError("BinaryConv2d needs explicit integer padding, not a padding string")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, device, dtype)
        self._setup_binary(input_quantizer, weight_quantizer, scale_weights, clip_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w_b, alpha = self._binary_weight_and_scale()
        return self._scaled(F.conv2d(self.binary_input(x), w_b, None, self.stride, self.padding, self.dilation,
                                     self.groups), alpha)

    def extra_repr(self) -> str:
        return super().extra_repr() + self._binary_repr()


class BinaryLinear(_BinaryMixin, nn.Linear):
    """A fully connected layer that binarizes its input and its weights.
    Arguments as `torch.nn.Linear`, then keyword-only options."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None, *,
                 input_quantizer: str | None = "ste_sign", weight_quantizer: str | None = "ste_sign",
                 scale_weights: bool = True, clip_value: float = 1.0) -> None:
        super().__init__(in_features, out_features, bias, device, dtype)
        self._setup_binary(input_quantizer, weight_quantizer, scale_weights, clip_value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w_b, alpha = self._binary_weight_and_scale()
        return self._scaled(F.linear(self.binary_input(x), w_b), alpha)

    def extra_repr(self) -> str:
        return super().extra_repr() + self._binary_repr()


def binary_layers(model: nn.Module) -> list[BinaryConv2d | BinaryLinear]:
    """Every binary layer inside `model`."""
    return [m for m in model.modules() if isinstance(m, (BinaryConv2d, BinaryLinear))]


def freeze(model: nn.Module) -> nn.Module:
    """Fix the binary weights of every binary layer of `model` for inference: each layer keeps the
    sign(w) and alpha of now instead of recomputing them per call, until `unfreeze(model)`."""
    with torch.no_grad():
        for layer in binary_layers(model):
            layer._frozen = layer.binary_weight(), layer.weight_scale() if layer.scale_weights else None
    return model


def unfreeze(model: nn.Module) -> nn.Module:
    """Let the binary layers of `model` follow their latent weights again."""
    for layer in binary_layers(model):
        layer._frozen = None
    return model


@contextlib.contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """`freeze(model)` for the duration of a block."""
    try:
        yield freeze(model)
    finally:
        unfreeze(model)


def clip_latent_weights(model: nn.Module) -> None:
    """Clip the latent weights of every binary layer in `model` (after an optimizer step)."""
    for layer in binary_layers(model):
        layer.clip_()
