"""BMXNet 2-style binary layers for MXNet Gluon: `QConv2D` and `QDense` HybridBlocks that
binarize input and weights with a straight-through estimator, train like any Gluon block and
export to padl's packed engine format (through their torch twins and `padl_lib.bnn.convert`).

BMXNet 2's own binary operators are not in the mxnet wheel, so these blocks express the same
math with stock operators: sign(x) forward, gradient 1 on |x| <= 1 (BlockGrad trick).
mxnet is imported lazily through `padl_lib.import_mxnet()`.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn as tnn

from padl_lib import import_mxnet
from padl_lib.bnn.layers import BinaryConv2d, BinaryLinear
from padl_lib.progress import Progress, report

mx = import_mxnet()
from mxnet import autograd, gluon  # noqa: E402
from mxnet.gluon import nn  # noqa: E402

__all__ = ["det_sign", "QConv2D", "QDense", "HardTanh", "BiRealBlock", "digits_bnn", "birealnet18", "train",
           "predict", "clip_latent_weights", "to_torch", "export"]


def det_sign(F, x):
    """sign(x) (sign(0) = +1) with the straight-through estimator: the gradient of clip(x, -1, 1)."""
    clipped = F.clip(x, -1.0, 1.0)
    return clipped + F.BlockGrad(2 * (x >= 0) - 1 - clipped)


def _scaled(F, y, weight, bias, scale: bool, shape: tuple[int, ...]):
    """alpha[o] * y + bias[o] with alpha = mean |w| per output channel, applied after the ±1 dot
    product so that it stays an exact integer times alpha (as in padl's torch layers and engine)."""
    if scale:
        alpha = F.mean(F.abs(weight), axis=tuple(range(1, len(shape))))
        y = F.broadcast_mul(y, F.reshape(alpha, shape=shape))
    if bias is not None:
        y = F.broadcast_add(y, F.reshape(bias, shape=shape))
    return y


class QConv2D(nn.Conv2D):
    """Binary 2-d convolution (BMXNet 2's QConv2D with bits=1): binarizes its input and its
    weights, optional per-channel scale mean |w|. Arguments as `gluon.nn.Conv2D`."""

    def __init__(self, channels: int, kernel_size, strides=(1, 1), padding=(0, 0), in_channels: int = 0,
                 use_bias: bool = False, scale: bool = True, binarize_input: bool = True, **kwargs: Any) -> None:
        super().__init__(channels, kernel_size, strides=strides, padding=padding, in_channels=in_channels,
                         use_bias=use_bias, **kwargs)
        self.scale, self.binarize_input = scale, binarize_input

    def hybrid_forward(self, F, x, weight, bias=None):
        x_b = det_sign(F, x) if self.binarize_input else x
        y = F.Convolution(x_b, det_sign(F, weight), **{**self._kwargs, "no_bias": True})
        return _scaled(F, y, weight, bias, self.scale, (1, -1, 1, 1))


class QDense(nn.Dense):
    """Binary fully connected layer (BMXNet 2's QDense with bits=1). Arguments as `gluon.nn.Dense`."""

    def __init__(self, units: int, use_bias: bool = False, in_units: int = 0, scale: bool = True,
                 binarize_input: bool = True, **kwargs: Any) -> None:
        super().__init__(units, use_bias=use_bias, in_units=in_units, **kwargs)
        self.scale, self.binarize_input = scale, binarize_input

    def hybrid_forward(self, F, x, weight, bias=None):
        x_b = det_sign(F, x) if self.binarize_input else x
        y = F.FullyConnected(x_b, det_sign(F, weight), no_bias=True, num_hidden=self._units, flatten=self._flatten)
        return _scaled(F, y, weight, bias, self.scale, (1, -1))


class HardTanh(gluon.HybridBlock):
    """clip(x, -1, 1), the usual real-valued activation in front of a binary layer."""

    def hybrid_forward(self, F, x):
        return F.clip(x, -1.0, 1.0)


def digits_bnn() -> nn.HybridSequential:
    """The Gluon twin of `padl_lib.bnn.models.digits_bnn` (same layers, same shapes)."""
    net = nn.HybridSequential()
    net.add(nn.Conv2D(32, 3, padding=1, use_bias=False, in_channels=1), nn.BatchNorm(in_channels=32), HardTanh(),
            QConv2D(64, 3, padding=1, in_channels=32), nn.BatchNorm(in_channels=64), nn.MaxPool2D(2),
            QConv2D(128, 3, padding=1, in_channels=64), nn.BatchNorm(in_channels=128), nn.MaxPool2D(2),
            nn.Flatten(),
            QDense(64, in_units=512), nn.BatchNorm(in_channels=64), HardTanh(),
            nn.Dense(10, in_units=64))
    return net


class BiRealBlock(gluon.HybridBlock):
    """Bi-Real Net's block: BN(QConv2D(x)) plus a real shortcut (avg-pool, 1x1 conv, BN when
    the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.HybridSequential()
        self.body.add(QConv2D(c_out, 3, stride, 1, in_channels=c_in), nn.BatchNorm(in_channels=c_out))
        self.shortcut = nn.HybridSequential()
        if stride != 1:
            self.shortcut.add(nn.AvgPool2D(stride))
        if stride != 1 or c_in != c_out:
            self.shortcut.add(nn.Conv2D(c_out, 1, use_bias=False, in_channels=c_in), nn.BatchNorm(in_channels=c_out))

    def hybrid_forward(self, F, x):
        return self.body(x) + (self.shortcut(x) if len(self.shortcut) else x)


def birealnet18(num_classes: int = 1000) -> nn.HybridSequential:
    """Bi-Real-Net-18 as Gluon blocks (the shape of `padl_lib.bnn.models.birealnet18`), for timing
    MXNet on the same model; binary convs run as sign + fp32 convolution, as in BMXNet 2."""
    net = nn.HybridSequential()
    net.add(nn.Conv2D(64, 7, 2, 3, use_bias=False, in_channels=3), nn.BatchNorm(in_channels=64),
            nn.MaxPool2D(3, 2, 1))
    c_in = 64
    for c_out in (64, 128, 256, 512):
        for i in range(4):
            net.add(BiRealBlock(c_in, c_out, 2 if (i == 0 and c_out != 64) else 1))
            c_in = c_out
    net.add(nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dense(num_classes, in_units=512))
    return net


def _binary_blocks(net: gluon.Block):
    if isinstance(net, (QConv2D, QDense)):
        yield net
    for child in net._children.values():
        yield from _binary_blocks(child)


def clip_latent_weights(net: gluon.Block, clip_value: float = 1.0) -> None:
    """Clip the latent real weights of every binary block to [-clip_value, clip_value]."""
    for block in _binary_blocks(net):
        block.weight.set_data(block.weight.data().clip(-clip_value, clip_value))


def train(net: gluon.Block, x: np.ndarray, y: np.ndarray, epochs: int = 10, lr: float = 5e-3,
          batch_size: int = 64, seed: int = 0, progress: Progress | None = None) -> list[float]:
    """Train `net` (initialized here if needed) with Adam on NCHW float32 `x` and int labels `y`;
    clip latent binary weights after each step. Return the mean loss per epoch."""
    mx.random.seed(seed)
    rng = np.random.default_rng(seed)
    net.initialize(mx.init.Xavier(), force_reinit=False)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": lr})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    losses = []
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            data, label = mx.nd.array(x[idx]), mx.nd.array(y[idx])
            with autograd.record():
                loss = loss_fn(net(data), label)
            loss.backward()
            trainer.step(len(idx))
            clip_latent_weights(net)
            total += float(loss.sum().asscalar())
        losses.append(total / len(order))
        report(progress, epoch + 1, epochs, "training (gluon)")
    return losses


def predict(net: gluon.Block, x: np.ndarray) -> np.ndarray:
    """Eval-mode output of `net` on NCHW float32 `x` as numpy."""
    return net(mx.nd.array(x)).asnumpy()


def _param(p) -> torch.Tensor:
    return torch.from_numpy(p.data().asnumpy().copy())


def _conv(block: nn.Conv2D, make: Callable[..., tnn.Conv2d], **extra: Any) -> tnn.Conv2d:
    kw = block._kwargs
    if kw["num_group"] != 1 or kw["dilate"] != (1, 1) or kw["layout"] != "NCHW":
        raise ValueError(f"cannot export {block.name}: only NCHW, ungrouped, undilated convolutions are supported")
    out_c, in_c = block.weight.shape[:2]
    module = make(in_c, out_c, kw["kernel"], kw["stride"], kw["pad"], bias=not kw["no_bias"], **extra)
    module.weight.data.copy_(_param(block.weight))
    if block.bias is not None:
        module.bias.data.copy_(_param(block.bias))
    return module


def _dense(block: nn.Dense, make: Callable[..., tnn.Linear], **extra: Any) -> list[tnn.Module]:
    out_f, in_f = block.weight.shape
    module = make(in_f, out_f, bias=block.bias is not None, **extra)
    module.weight.data.copy_(_param(block.weight))
    if block.bias is not None:
        module.bias.data.copy_(_param(block.bias))
    return [tnn.Flatten(), module] if block._flatten else [module]


def _batchnorm(block: nn.BatchNorm, flat: bool) -> tnn.Module:
    kw = block._kwargs
    if kw["axis"] != 1:
        raise ValueError(f"cannot export {block.name}: only BatchNorm over axis 1 is supported")
    channels = block.gamma.shape[0]
    module = (tnn.BatchNorm1d if flat else tnn.BatchNorm2d)(channels, eps=kw["eps"])
    gamma = torch.ones(channels) if kw["fix_gamma"] else _param(block.gamma)
    for name, value in (("weight", gamma), ("bias", _param(block.beta)),
                        ("running_mean", _param(block.running_mean)), ("running_var", _param(block.running_var))):
        getattr(module, name).data.copy_(value)
    return module


def _pool(block: nn.Block) -> tnn.Module:
    kw = block._kwargs
    if kw["global_pool"]:
        return tnn.AdaptiveAvgPool2d(1) if kw["pool_type"] == "avg" else tnn.AdaptiveMaxPool2d(1)
    if kw["pooling_convention"] != "valid":
        raise ValueError(f"cannot export {block.name}: only pooling_convention='valid' is supported")
    if kw["pool_type"] == "max":
        return tnn.MaxPool2d(kw["kernel"], kw["stride"], kw["pad"])
    return tnn.AvgPool2d(kw["kernel"], kw["stride"], kw["pad"], count_include_pad=kw.get("count_include_pad", True))


def _activation(block: nn.Activation) -> tnn.Module:
    kinds = {"relu": tnn.ReLU, "tanh": tnn.Tanh, "sigmoid": tnn.Sigmoid}
    if block._act_type not in kinds:
        raise ValueError(f"cannot export {block.name}: activation {block._act_type!r} is not supported")
    return kinds[block._act_type]()


def to_torch(net: gluon.Block) -> tnn.Sequential:
    """The torch twin of a Gluon `HybridSequential` built from padl's supported blocks, with the
    trained parameters copied (eval mode). Unsupported blocks raise a ValueError naming them."""
    if not isinstance(net, (nn.HybridSequential, nn.Sequential)):
        raise ValueError(f"to_torch expects a Gluon (Hybrid)Sequential, got {type(net).__name__}")
    layers: list[tnn.Module] = []
    flat = False
    for block in net._children.values():
        if isinstance(block, QConv2D):
            layers.append(_conv(block, BinaryConv2d, input_quantizer="ste_sign" if block.binarize_input else None,
                                scale_weights=block.scale))
        elif isinstance(block, nn.Conv2D):
            layers.append(_conv(block, tnn.Conv2d))
        elif isinstance(block, QDense):
            layers += _dense(block, BinaryLinear, input_quantizer="ste_sign" if block.binarize_input else None,
                             scale_weights=block.scale)
            flat = True
        elif isinstance(block, nn.Dense):
            if block.act is not None:
                raise ValueError(f"cannot export {block.name}: put the activation in its own block")
            layers += _dense(block, tnn.Linear)
            flat = True
        elif isinstance(block, nn.BatchNorm):
            layers.append(_batchnorm(block, flat))
        elif isinstance(block, (nn.MaxPool2D, nn.AvgPool2D, nn.GlobalAvgPool2D, nn.GlobalMaxPool2D)):
            layers.append(_pool(block))
        elif isinstance(block, nn.Flatten):
            layers.append(tnn.Flatten())
            flat = True
        elif isinstance(block, HardTanh):
            layers.append(tnn.Hardtanh())
        elif isinstance(block, nn.Activation):
            layers.append(_activation(block))
        else:
            raise ValueError(f"cannot export Gluon block {block.name} ({type(block).__name__}): not supported")
    return tnn.Sequential(*layers).eval()


def export(net: gluon.Block, path: str | Path, example_input: np.ndarray):
    """Convert a trained Gluon BNN to padl's engine and save it in the packed file format;
    return the engine."""
    from padl_lib.bnn.convert import convert

    engine = convert(to_torch(net), example_input)
    engine.save(path)
    return engine
