"""Recognizer training: from scratch on the font writers, and fine-tuning on a few new words.

Batches are built from samples of similar width (`width_batches`), so little time goes into
padding. The shipped checkpoint is made by `python -m padl_lib.handwriting train`.
"""
from __future__ import annotations

import copy
import time

import numpy as np
import torch

from padl_lib.handwriting.datasets import WordDataset, render_dataset, width_batches
from padl_lib.handwriting.recognizer import Charset, Recognizer, cer, ctc_loss, wer
from padl_lib.handwriting.writers import heldout_writers, train_writers, word_list
from padl_lib.progress import Progress, report


def training_set(per_writer: int, seed: int = 0, progress: Progress | None = None) -> WordDataset:
    """Train words written by every train writer (`per_writer` each)."""
    return render_dataset(train_writers(), word_list("train"), per_writer, seed=seed, progress=progress)


def test_sets(per_writer: int, seed: int = 1) -> dict[str, WordDataset]:
    """Test words (never trained on) by the seen writers and by the held-out, unseen writers."""
    words = word_list("test")
    return {"seen": render_dataset(train_writers(), words, per_writer, seed=seed),
            "unseen": render_dataset(heldout_writers(), words, per_writer, seed=seed)}


def evaluate(recognizer: Recognizer, dataset: WordDataset, beam: int = 0) -> dict[str, float]:
    """CER and WER of `recognizer` on `dataset`."""
    hyps = recognizer.read([s.image for s in dataset], beam=beam)
    return {"cer": cer(dataset.texts, hyps), "wer": wer(dataset.texts, hyps), "n": len(dataset)}


def train_step(model: torch.nn.Module, charset: Charset, optimizer: torch.optim.Optimizer,
               data: WordDataset, idx: list[int]) -> float:
    """One optimizer step of CTC training on the samples `idx` of `data`; returns the loss."""
    loss = ctc_loss(model, charset, [data[i].image for i in idx], [data.texts[i] for i in idx])
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    return loss.item()


def train_recognizer(data: WordDataset, epochs: int = 6, batch_size: int = 32, lr: float = 3e-3,
                     recognizer: Recognizer | None = None, seed: int = 0,
                     progress: Progress | None = None) -> Recognizer:
    """Train (or continue training) a recognizer with CTC on `data`; one-cycle learning rate."""
    if len(data) == 0:
        raise ValueError("no training samples")
    recognizer = recognizer or Recognizer.new(Charset.from_texts(data.texts) if _needs_charset(data) else None, seed)
    model, charset = recognizer.model, recognizer.charset
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    per_epoch = -(-len(data) // batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * per_epoch, pct_start=0.15)
    model.train()
    start, losses = time.monotonic(), []
    for epoch in range(epochs):
        for k, idx in enumerate(width_batches(data.widths, batch_size, rng=rng)):
            losses.append(train_step(model, charset, optimizer, data, idx))
            schedule.step()
            report(progress, epoch * per_epoch + k + 1, epochs * per_epoch,
                   f"training recognizer (loss {np.mean(losses[-50:]):.3f})")
    model.eval()
    recognizer.info.update(epochs=epochs, samples=len(data), batch_size=batch_size, lr=lr, seed=seed,
                           train_seconds=round(time.monotonic() - start, 1),
                           initial_loss=float(np.mean(losses[:10])), final_loss=float(np.mean(losses[-50:])),
                           loss_curve=_curve(losses))
    return recognizer


def _curve(losses: list[float], points: int = 100) -> list[list[float]]:
    """(step, mean loss) for at most `points` equal chunks of the run."""
    chunks = np.array_split(np.arange(len(losses)), min(points, len(losses)))
    return [[int(c[-1]) + 1, float(np.mean([losses[i] for i in c]))] for c in chunks]


def _needs_charset(data: WordDataset) -> bool:
    return not set("".join(data.texts)) <= set(Charset().chars)


def fine_tune(recognizer: Recognizer, data: WordDataset, steps: int = 200, batch_size: int = 16, lr: float = 3e-4,
              replay: WordDataset | None = None, replay_share: float = 0.5, seed: int = 0,
              progress: Progress | None = None) -> Recognizer:
    """A fine-tuned copy of `recognizer` (the original is untouched).

    Each batch mixes `data` with `replay` samples (e.g. seen writers' words) in the share
    `replay_share`, so the recognizer keeps what it knew. BatchNorm statistics stay frozen.
    """
    if len(data) == 0:
        raise ValueError("no samples to fine-tune on")
    tuned = Recognizer(copy.deepcopy(recognizer.model), recognizer.charset, dict(recognizer.info))
    model = tuned.model
    mix = data if replay is None or len(replay) == 0 else data + replay
    n_new = len(data)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    n_replay = 0 if mix is data else int(round(batch_size * replay_share))
    for step in range(steps):
        idx = rng.integers(0, n_new, batch_size - n_replay).tolist()
        if n_replay:
            idx += (n_new + rng.integers(0, len(mix) - n_new, n_replay)).tolist()
        train_step(model, tuned.charset, optimizer, mix, idx)
        report(progress, step + 1, steps, "fine-tuning recognizer")
    model.eval()
    tuned.info.update(fine_tuned_steps=steps, fine_tuned_samples=n_new)
    return tuned
