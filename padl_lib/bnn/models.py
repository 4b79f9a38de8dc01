"""padl's BNN model zoo: a small BNN for scikit-learn's 8x8 digits (trained, checkpoint shipped),
Bi-Real-Net-18 and a QuickNet-style network (ImageNet-shaped, random init for timing).

Every model is an `nn.Sequential` of torch layers, padl's binary layers and `Residual` blocks,
so `padl_lib.bnn.convert` understands all of them.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from padl_lib.bnn.layers import BinaryConv2d, BinaryLinear
from padl_lib.settings import data_dir

__all__ = ["Residual", "digits_bnn", "birealnet18", "quicknet", "DIGITS_CHECKPOINT", "load_digits_bnn"]

DIGITS_CHECKPOINT = data_dir() / "bnn" / "digits_bnn.pt"


class Residual(nn.Module):
    """`body(x) + shortcut(x)`: the residual block of Bi-Real Net and QuickNet."""

    def __init__(self, body: nn.Module, shortcut: nn.Module | None = None) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


def digits_bnn(input_quantizer: str = "ste_sign") -> nn.Sequential:
    """A small BNN for 1x8x8 digits: a float first conv, two binary convs, a binary FC layer
    and a float classifier (first and last layer stay real-valued, as usual for BNNs).
    `input_quantizer` picks the activations' gradient estimator ('ste_sign' or 'approx_sign')."""
    q = {"bias": False, "input_quantizer": input_quantizer}
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.Hardtanh(),
        BinaryConv2d(32, 64, 3, padding=1, **q), nn.BatchNorm2d(64), nn.MaxPool2d(2),
        BinaryConv2d(64, 128, 3, padding=1, **q), nn.BatchNorm2d(128), nn.MaxPool2d(2),
        nn.Flatten(),
        BinaryLinear(128 * 2 * 2, 64, **q), nn.BatchNorm1d(64), nn.Hardtanh(),
        nn.Linear(64, 10),
    )


def load_digits_bnn(path: str | Path = DIGITS_CHECKPOINT) -> nn.Sequential:
    """The digits BNN with the weights trained by `padl_lib.bnn.train` (eval mode)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no digits BNN checkpoint at {path}; train one with "
                                f"`python -m padl_lib.bnn train --out {path}`")
    model = digits_bnn()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model.eval()


def _bireal_block(c_in: int, c_out: int, stride: int) -> Residual:
    body = nn.Sequential(BinaryConv2d(c_in, c_out, 3, stride, 1, bias=False, input_quantizer="approx_sign"),
                         nn.BatchNorm2d(c_out))
    shortcut = None
    if stride != 1 or c_in != c_out:
        shortcut = nn.Sequential(nn.AvgPool2d(stride) if stride != 1 else nn.Identity(),
                                 nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
    return Residual(body, shortcut)


def birealnet18(num_classes: int = 1000) -> nn.Sequential:
    """Bi-Real-Net-18 (Liu et al. 2018): a real-valued shortcut around every binary 3x3 conv,
    approx-sign activations, float stem, float downsampling shortcuts and classifier."""
    layers: list[nn.Module] = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.MaxPool2d(3, 2, 1)]
    c_in = 64
    for c_out in (64, 128, 256, 512):
        for i in range(4):
            stride = 2 if (i == 0 and c_out != 64) else 1
            layers.append(_bireal_block(c_in, c_out, stride))
            c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, num_classes)]
    return nn.Sequential(*layers)


def _quicknet_block(channels: int) -> Residual:
    return Residual(nn.Sequential(BinaryConv2d(channels, channels, 3, 1, 1, bias=False),
                                  nn.ReLU(), nn.BatchNorm2d(channels)))


def quicknet(num_classes: int = 1000, blocks: tuple[int, ...] = (4, 4, 4, 4),
             channels: tuple[int, ...] = (64, 128, 256, 512)) -> nn.Sequential:
    """A QuickNet-style BNN (Bannink et al. 2021, larq zoo): a float stride-4 stem, sections of
    residual binary 3x3 convs (conv -> ReLU -> BN), float transitions (ReLU, max-pool, 1x1 conv)."""
    if len(blocks) != len(channels):
        raise ValueError("quicknet needs one block count per section")
    layers: list[nn.Module] = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                               nn.Conv2d(32, channels[0], 3, 2, 1, bias=False), nn.BatchNorm2d(channels[0])]
    for section, (n, c) in enumerate(zip(blocks, channels)):
        if section > 0:
            layers += [nn.ReLU(), nn.MaxPool2d(3, 2, 1), nn.Conv2d(channels[section - 1], c, 1, bias=False),
                       nn.BatchNorm2d(c)]
        layers += [_quicknet_block(c) for _ in range(n)]
    layers += [nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[-1], num_classes)]
    return nn.Sequential(*layers)
