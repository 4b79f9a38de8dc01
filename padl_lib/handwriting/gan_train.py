"""Training of the few-shot handwriting GAN on the font writers (or any writer-organized pool).

Each step draws B training writers; for each, K of its word images (5–15) form the style
samples and another of its words is the target. The generator writes the target text in the
style; the losses are

* adversarial (hinge) from the patch discriminator,
* the frozen recognizer's CTC loss on the generated words (they must stay readable),
* writer classification: the discriminator's writer head must name the target writer,
* L1 to the writer's real image of the same word (paired data exist for font writers; it
  speeds up CPU training a lot and keeps letter shapes close to the writer's).
"""
from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from padl_lib.handwriting.datasets import WordDataset, render_dataset
from padl_lib.handwriting.generator import GanConfig, HandwritingGAN, encode_texts, pad_images, stretch_to_widths
from padl_lib.handwriting.recognizer import DEFAULT_CHARSET, STRIDE, Recognizer
from padl_lib.progress import Progress, report
from padl_lib.settings import seed_everything

CtcLoss = Callable[[torch.Tensor, torch.Tensor, Sequence[str]], torch.Tensor]
"""(images (B,1,32,W), widths (B,), texts) -> mean CTC loss, differentiable in the images."""


def group_by_writer(data: WordDataset) -> tuple[list[str], list[list[tuple[np.ndarray, str]]]]:
    """Writer ids and, per writer, its (image, text) pairs; every writer needs ≥ 2 words."""
    writers = sorted(set(data.writer_ids))
    groups: dict[str, list[tuple[np.ndarray, str]]] = {w: [] for w in writers}
    for sample in data:
        groups[sample.writer_id].append((sample.image, sample.text))
    short = [w for w in writers if len(groups[w]) < 2]
    if short:
        raise ValueError(f"every writer needs at least 2 word images; too few for {', '.join(short)}")
    return writers, [groups[w] for w in writers]


def ink_map(images: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """Differentiable twin of the recognizer's `to_ink`: per image, (paper - x) / contrast in [0, 1]
    with paper and ink levels (90th and 1st percentile) measured on the valid columns."""
    out = torch.zeros_like(images)
    for i in range(images.shape[0]):
        valid = images[i, :, :, : int(widths[i])]
        levels = torch.quantile(valid.detach().flatten(), torch.tensor([0.01, 0.9]))
        contrast = torch.clamp(levels[1] - levels[0], min=0.05)
        out[i, :, :, : int(widths[i])] = torch.clamp((levels[1] - valid) / contrast, 0, 1)
    return out


def recognizer_ctc(recognizer: Recognizer) -> CtcLoss:
    """The frozen recognizer's mean CTC loss on generated (B, 1, 32, W) paper-white images."""
    model = recognizer.model.eval()
    for p in model.parameters():
        p.requires_grad_(False)

    def loss(images: torch.Tensor, widths: torch.Tensor, texts: Sequence[str]) -> torch.Tensor:
        labels = [recognizer.charset.encode(t) for t in texts]
        need = max(2 * len(lab) + 1 for lab in labels) * STRIDE
        width = max(images.shape[-1], need)
        width = -(-width // STRIDE) * STRIDE
        ink = F.pad(ink_map(images, widths), (0, width - images.shape[-1]))
        log_probs = model(ink).permute(1, 0, 2)
        steps = torch.maximum(torch.ceil(widths / STRIDE).long(), torch.tensor([2 * len(lab) + 1 for lab in labels]))
        steps = steps.clamp(max=log_probs.shape[0])
        targets = torch.tensor([i for lab in labels for i in lab], dtype=torch.long)
        lengths = torch.tensor([len(lab) for lab in labels])
        return F.ctc_loss(log_probs, targets, steps, lengths, blank=0, zero_infinity=True)

    return loss


def train_words(per_writer: int, seed: int = 0) -> WordDataset:
    """Train words rendered by every training font writer (the GAN's default data)."""
    from padl_lib.handwriting.writers import train_writers, word_list

    return render_dataset(train_writers(), word_list("train"), per_writer, seed=seed)


@dataclass
class GanTrainConfig:
    """Hyper-parameters of GAN training (the default is the shipped pre-training run); `tiny()` for tests."""

    steps: int = 1200
    batch: int = 16
    min_samples: int = 5
    max_samples: int = 10
    words_per_writer: int = 300
    lr: float = 2e-4
    w_ctc: float = 1.0
    w_writer: float = 0.5
    w_l1: float = 4.0
    seed: int = 0

    @classmethod
    def tiny(cls) -> "GanTrainConfig":
        """A few steps on a few words: for tests and quick-mode notebooks."""
        return cls(steps=30, batch=4, max_samples=6, words_per_writer=12)


def sample_batch(groups: list[list[tuple[np.ndarray, str]]], batch: int, k_range: tuple[int, int],
                 rng: random.Random):
    """Style samples (B,K,1,32,W), their widths and counts, char widths, target texts/images, writer ids."""
    k_max = k_range[1]
    writer_ids, sample_sets, targets = [], [], []
    for _ in range(batch):
        wi = rng.randrange(len(groups))
        items = groups[wi]
        k = min(rng.randint(*k_range), len(items) - 1)
        chosen = rng.sample(items, k + 1)
        writer_ids.append(wi)
        sample_sets.append(chosen[:k])
        targets.append(chosen[k])
    flat = [im for s in sample_sets for im, _ in s]
    padded, widths = pad_images(flat)
    images = torch.ones(batch, k_max, 1, padded.shape[2], padded.shape[3])
    sample_widths = torch.ones(batch, k_max, dtype=torch.long)
    pos = 0
    for b, s in enumerate(sample_sets):
        images[b, : len(s)] = padded[pos: pos + len(s)]
        sample_widths[b, : len(s)] = widths[pos: pos + len(s)]
        pos += len(s)
    counts = torch.tensor([len(s) for s in sample_sets])
    real, real_widths = pad_images([im for im, _ in targets])
    texts = [t for _, t in targets]
    return images, sample_widths, counts, texts, real, real_widths, torch.tensor(writer_ids)


def _hinge_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def masked_l1(a: torch.Tensor, b: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference over the valid columns of two equally padded batches."""
    cols = torch.arange(a.shape[-1])[None, :] < widths[:, None]
    mask = cols[:, None, None, :].to(a.dtype).expand_as(a)
    return ((a - b).abs() * mask).sum() / mask.sum()


def train_gan(data: WordDataset, alphabet: str, ctc_loss: CtcLoss | None = None,
              config: GanTrainConfig | None = None, gan: HandwritingGAN | None = None,
              progress: Progress | None = None, log: list | None = None,
              checkpoint: Path | None = None, checkpoint_every: int = 250) -> HandwritingGAN:
    """Train (or continue training) a HandwritingGAN on `data` (several writers); returns it in eval mode.

    `ctc_loss` is the frozen recognizer's CTC loss (skipped when None, e.g. in tiny tests).
    `log`, when given, receives one dict of losses per step; `checkpoint`, when given, is
    rewritten every `checkpoint_every` steps and at the end.
    """
    config = config or GanTrainConfig()
    seed_everything(config.seed)
    rng = random.Random(config.seed)
    writers, groups = group_by_writer(data)
    gan = gan or HandwritingGAN(GanConfig(alphabet=alphabet, n_writers=len(writers)))
    if gan.config.n_writers != len(writers):
        raise ValueError(f"the GAN classifies {gan.config.n_writers} writers but the data has {len(writers)}")
    gan.train()
    g_params = list(gan.encoder.parameters()) + list(gan.generator.parameters())
    opt_g = torch.optim.Adam(g_params, lr=config.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=config.lr, betas=(0.5, 0.999))
    k_range = (min(config.min_samples, config.max_samples), config.max_samples)
    start = time.monotonic()
    for step in range(config.steps):
        samples, s_widths, counts, texts, real, r_widths, writer = sample_batch(groups, config.batch, k_range, rng)
        lengths = torch.tensor([len(t) for t in texts])
        style = gan.encode_style(samples, s_widths, counts, r_widths.float() / lengths)
        noise = torch.randn(config.batch, gan.config.noise_dim)
        codes, _ = encode_texts(texts, alphabet)
        raw = gan.generator(codes, style.vector, noise)
        fake, f_widths = stretch_to_widths(raw, lengths, style.char_width)
        fake, f_widths = _pad_like(fake, real.shape[-1]), f_widths.clamp(max=real.shape[-1])

        # discriminator: real vs fake, and which writer wrote the real word
        d_real, logits_real = gan.discriminator(real, r_widths)
        d_fake, _ = gan.discriminator(fake.detach(), f_widths)
        d_loss = _hinge_d(d_real, d_fake) + F.cross_entropy(logits_real, writer)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()

        # generator: fool D, be read correctly, look like the writer, match the real word
        d_fake, logits_fake = gan.discriminator(fake, f_widths)
        losses = {"adv": -d_fake.mean(), "writer": F.cross_entropy(logits_fake, writer),
                  "l1": masked_l1(fake, real, r_widths)}
        if ctc_loss is not None:
            losses["ctc"] = ctc_loss(fake, f_widths, texts)
        g_loss = (losses["adv"] + config.w_writer * losses["writer"] + config.w_l1 * losses["l1"]
                  + config.w_ctc * losses.get("ctc", torch.zeros(())))
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        if log is not None:
            log.append({"step": step, "d": d_loss.item(), "seconds": time.monotonic() - start,
                        **{k: v.item() for k, v in losses.items()}})
        report(progress, step + 1, config.steps, "training the style GAN")
        if checkpoint is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == config.steps):
            gan.save(checkpoint)
    return gan.eval()


def _pad_like(images: torch.Tensor, width: int) -> torch.Tensor:
    """Pad (with paper) or crop a batch to `width` columns."""
    if images.shape[-1] >= width:
        return images[..., :width]
    return F.pad(images, (0, width - images.shape[-1]), value=1.0)


def add_train_gan_command(sub: argparse._SubParsersAction) -> None:
    """Register `python -m padl_lib.handwriting train-gan` (how the shipped GAN is made)."""
    p = sub.add_parser("train-gan", help="train the few-shot style GAN on the training font writers")
    p.add_argument("-o", "--output", type=Path, required=True, help="GAN checkpoint to write")
    p.add_argument("--recognizer", type=Path, default=None, help="recognizer for the CTC loss (default: shipped)")
    p.add_argument("--no-ctc", action="store_true", help="pre-train without the recognizer's CTC loss")
    p.add_argument("--steps", type=int, default=GanTrainConfig.steps)
    p.add_argument("--per-writer", type=int, default=GanTrainConfig.words_per_writer, help="words per train writer")
    p.add_argument("--resume", type=Path, default=None, help="continue from this GAN checkpoint")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    p.set_defaults(run=_run_train_gan)


def _run_train_gan(args: argparse.Namespace) -> None:
    from padl_lib import set_threads
    from padl_lib.progress import tqdm_progress

    set_threads(args.threads)
    recognizer = None if args.no_ctc else Recognizer.load(args.recognizer)
    alphabet = recognizer.charset.chars if recognizer else DEFAULT_CHARSET
    config = GanTrainConfig(steps=args.steps, words_per_writer=args.per_writer)
    gan = HandwritingGAN.load(args.resume) if args.resume else None
    data = train_words(config.words_per_writer, seed=config.seed)
    train_gan(data, alphabet, recognizer_ctc(recognizer) if recognizer else None, config, gan=gan,
              progress=tqdm_progress("step"), checkpoint=args.output)
    print(f"trained {config.steps} steps -> {args.output}")
