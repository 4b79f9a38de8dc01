"""Few-shot writer adaptation: a new writer's ~15 labelled words → a recognizer tuned to that hand.

The GAN reads the samples' style (and, through the recognizer's alignment, cuts the writer's
own letters from them) and writes a few hundred new words in it; the recognizer is
fine-tuned on those plus the real samples, with replay of the training writers' words mixed
into every batch and a small learning rate, so it keeps what it knew. `real_only=True` is the
control: the same fine-tuning on the real samples alone.
"""
from __future__ import annotations

import argparse
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from padl_lib.handwriting.datasets import WordDataset, WordSample, load_folder, render_dataset
from padl_lib.handwriting.generator import HandwritingGAN, WriterStyle
from padl_lib.handwriting.recognizer import Recognizer
from padl_lib.handwriting.train import fine_tune
from padl_lib.handwriting.writers import train_writers, word_list
from padl_lib.progress import Progress, report
from padl_lib.settings import quick


@dataclass
class AdaptConfig:
    """How much to generate and how long to fine-tune."""

    generated: int = 200       # words written by the GAN in the writer's style
    real_repeats: int = 8      # the real samples are repeated so they keep weight among generated ones
    steps: int = 100
    batch_size: int = 16
    lr: float = 3e-4
    replay_per_writer: int = 20
    replay_share: float = 0.5
    copy_letters: bool = True  # set words from the writer's own letters (the GAN's copy path)
    seed: int = 0

    @classmethod
    def quick(cls) -> "AdaptConfig":
        return cls(generated=16, steps=4, batch_size=8, replay_per_writer=1)

    @classmethod
    def default(cls) -> "AdaptConfig":
        """The quick config in quick mode (PADL_QUICK), else the full one."""
        return cls.quick() if quick() else cls()


@lru_cache(maxsize=2)
def replay_set(per_writer: int, seed: int = 7) -> WordDataset:
    """Train words by the recognizer's training writers, mixed into fine-tuning batches (cached; do not modify)."""
    return render_dataset(train_writers(), word_list("train"), per_writer, seed=seed)


def generation_texts(n: int, seed: int = 0) -> list[str]:
    """`n` training words to write in the new style (never test words)."""
    return random.Random(seed).sample(word_list("train"), n)


def generate_words(gan: HandwritingGAN, style: WriterStyle, texts: Sequence[str], writer_id: str,
                   seed: int = 0) -> WordDataset:
    """The texts written by the GAN in `style`, as a dataset labelled with `writer_id`."""
    images = gan.write(texts, style, seed=seed)
    return WordDataset([WordSample(im, t, writer_id) for im, t in zip(images, texts)])


def check_samples(samples: WordDataset, recognizer: Recognizer) -> None:
    """Refuse samples the recognizer cannot learn from (none, empty or unknown characters)."""
    if len(samples) == 0:
        raise ValueError("no labelled samples of the new writer were given")
    for text in samples.texts:
        if not text.strip():
            raise ValueError("a sample's label is empty")
        recognizer.charset.encode(text)


def tuning_data(samples: WordDataset, generated: WordDataset | None, repeats: int) -> WordDataset:
    """Real samples (repeated) plus the generated words, if any."""
    real = samples.subset([i for _ in range(repeats) for i in range(len(samples))])
    return real if generated is None else real + generated


def adapt(samples: WordDataset, recognizer: Recognizer | None = None, gan: HandwritingGAN | None = None,
          real_only: bool = False, style_samples: WordDataset | None = None, config: AdaptConfig | None = None,
          replay: WordDataset | None = None, progress: Progress | None = None) -> Recognizer:
    """A copy of `recognizer` fine-tuned to the writer of `samples` (labelled word images).

    `style_samples` (default: `samples`) are what the GAN reads the style from; the study's
    random-style control passes another writer's words here. `real_only` skips the GAN.
    """
    config = config or AdaptConfig.default()
    recognizer = recognizer or Recognizer.load()
    check_samples(samples, recognizer)
    lowered = WordDataset([WordSample(s.image, s.text.lower(), s.writer_id) for s in samples])
    generated = None
    if not real_only:
        gan = gan or HandwritingGAN.load()
        report(progress, 0, 1, "writing words in the new style")
        style_source = style_samples if style_samples is not None else lowered
        style = gan.style([(s.image, s.text.lower()) for s in style_source],
                          recognizer if config.copy_letters else None)
        texts = generation_texts(config.generated, config.seed)
        generated = generate_words(gan, style, texts, "generated", seed=config.seed)
        report(progress, 1, 1, "writing words in the new style")
    replay = replay if replay is not None else replay_set(config.replay_per_writer)
    tuned = fine_tune(recognizer, tuning_data(lowered, generated, config.real_repeats), steps=config.steps,
                      batch_size=config.batch_size, lr=config.lr, replay=replay, replay_share=config.replay_share,
                      seed=config.seed, progress=progress)
    tuned.info.update(adapted_on=len(samples), generated=0 if generated is None else len(generated),
                      real_only=real_only)
    return tuned


def adapt_folder(samples_dir: str | Path, out_model: str | Path, real_only: bool = False,
                 model: str | Path | None = None, progress: Progress | None = None) -> Path:
    """The `adapt` command: read DIR (images + labels.tsv), adapt, save the recognizer atomically."""
    samples = load_folder(samples_dir, lower=True)
    source = Path(model) if model else None
    if source is not None and Path(out_model).resolve() == source.resolve():
        raise ValueError(f"refusing to overwrite the input model {source}; choose another --out-model")
    tuned = adapt(samples, Recognizer.load(source), real_only=real_only, progress=progress)
    return tuned.save(out_model)


def letter_coverage(texts: Sequence[str], alphabet: str = "abcdefghijklmnopqrstuvwxyz") -> float:
    """Share of `alphabet` that occurs in `texts` (the 5-sample setting leaves letters unseen)."""
    seen = set("".join(texts))
    return float(np.mean([ch in seen for ch in alphabet]))


def add_adapt_command(sub: argparse._SubParsersAction) -> None:
    """Register `python -m padl_lib.handwriting adapt` on an argparse subparsers object."""
    p = sub.add_parser("adapt", help="fine-tune the recognizer to a new writer from ~15 labelled words")
    p.add_argument("--samples", type=Path, required=True, help="folder of the writer's word images + labels.tsv")
    p.add_argument("--out-model", type=Path, required=True, help="adapted recognizer checkpoint to write")
    p.add_argument("--model", type=Path, default=None, help="recognizer to start from (default: the shipped one)")
    p.add_argument("--real-only", action="store_true", help="control: fine-tune on the samples alone, no GAN")
    p.set_defaults(run=_run_adapt)


def _run_adapt(args: argparse.Namespace) -> None:
    from padl_lib.progress import tqdm_progress

    path = adapt_folder(args.samples, args.out_model, real_only=args.real_only, model=args.model,
                        progress=tqdm_progress("step"))
    print(f"adapted recognizer -> {path}")
