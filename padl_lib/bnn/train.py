"""Training BNNs in torch: the digits data, a training loop with latent-weight clipping, and
the recipe that produced the shipped digits checkpoint."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from padl_lib.bnn.layers import clip_latent_weights
from padl_lib.bnn.models import DIGITS_CHECKPOINT, digits_bnn
from padl_lib.io import atomic_path
from padl_lib.progress import Progress, report
from padl_lib.settings import seed_everything

__all__ = ["DigitsData", "load_digits", "History", "train", "evaluate", "train_digits_bnn", "save_checkpoint"]


@dataclass
class DigitsData:
    """scikit-learn's bundled 8x8 handwritten digits as NCHW float32 in [-1, 1], split once."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits(test_fraction: float = 0.25, seed: int = 0) -> DigitsData:
    """The 1,797 UCI digits (ships with scikit-learn, no download), split stratified."""
    from sklearn.datasets import load_digits as sk_digits
    from sklearn.model_selection import train_test_split

    digits = sk_digits()
    x = (digits.images.astype(np.float32) / 8.0 - 1.0)[:, None]  # pixel values 0..16 -> [-1, 1]
    y = digits.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return DigitsData(*(torch.from_numpy(a) for a in (x_tr, y_tr, x_te, y_te)))


@dataclass
class History:
    """Per-epoch training loss and train/test accuracy."""

    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 512) -> float:
    """Top-1 accuracy of `model` (put in eval mode) on (x, y)."""
    model.eval()
    correct = sum(int((model(x[i:i + batch_size]).argmax(1) == y[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    return correct / len(x)


def train(model: nn.Module, data: DigitsData, epochs: int = 30, lr: float = 5e-3, batch_size: int = 64,
          seed: int = 0, progress: Progress | None = None) -> History:
    """Train with Adam and a cosine schedule; clip binary layers' latent weights after each step."""
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    seed_everything(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    history = History()
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(data.x_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            loss = loss_fn(model(data.x_train[idx]), data.y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            clip_latent_weights(model)
            total += float(loss.detach()) * len(idx)
        schedule.step()
        history.loss.append(total / len(order))
        history.train_accuracy.append(evaluate(model, data.x_train, data.y_train))
        history.test_accuracy.append(evaluate(model, data.x_test, data.y_test))
        report(progress, epoch + 1, epochs, "training")
    model.eval()
    return history


def train_digits_bnn(epochs: int = 30, seed: int = 0, input_quantizer: str = "ste_sign",
                     progress: Progress | None = None) -> tuple[nn.Sequential, History]:
    """Train padl's digits BNN from scratch; return the model (eval mode) and its history."""
    seed_everything(seed)
    model = digits_bnn(input_quantizer)
    history = train(model, load_digits(seed=seed), epochs=epochs, seed=seed, progress=progress)
    return model, history


def save_checkpoint(model: nn.Module, path: str | Path = DIGITS_CHECKPOINT) -> Path:
    """Save `model`'s state dict atomically."""
    with atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)
    return Path(path)
