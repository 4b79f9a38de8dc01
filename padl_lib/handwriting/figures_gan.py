"""Figures and tables of the GAN and the adaptation study (called from the topic's figures.py)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from padl_lib.handwriting.experiment import CONDITIONS, writer_words
from padl_lib.handwriting.generator import HandwritingGAN
from padl_lib.handwriting.glyphs import forced_align, letter_cuts
from padl_lib.handwriting.recognizer import Recognizer, to_ink
from padl_lib.handwriting.writers import get_writer, word_list
from padl_lib.settings import data_dir

STUDY_RESULTS = "handwriting/study.json"  # written by `experiment --json`, committed with the report
STUDY_REPLICATES = ("handwriting/study_seed1.json",)  # the same study with `--seed 1` (other samples and test words)


def style_grid_figure(gan: HandwritingGAN, writer_ids: Sequence[str], texts: Sequence[str], n_samples: int = 15,
                      seed: int = 0, recognizer: Recognizer | None = None):
    """Per writer: one of its real words, then `texts` written by the GAN from `n_samples` of its words
    (with the copy path when a `recognizer` is given, else by the synthesis path alone)."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(writer_ids), 1 + len(texts), figsize=(1.6 * (1 + len(texts)), 0.55 * len(writer_ids)),
                             squeeze=False)
    for row, writer_id in zip(axes, writer_ids):
        writer = get_writer(writer_id)
        style_texts = list(rng.choice(word_list("train"), n_samples, replace=False))
        samples = writer_words(writer, style_texts, seed=seed)
        style = gan.style([(s.image, s.text) for s in samples], recognizer)
        images = [samples[0].image] + gan.write(list(texts), style, seed=seed)
        for ax, image in zip(row, images):
            ax.imshow(image, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
        row[0].set_ylabel(f"{writer_id}\n({writer.split})", rotation=0, ha="right", va="center", fontsize=7)
    axes[0][0].set_title("real sample", fontsize=8)
    for ax, text in zip(axes[0][1:], texts):
        ax.set_title(f"{'GAN + copy' if recognizer else 'GAN'}: {text}", fontsize=8)
    fig.tight_layout()
    return fig


def letter_cuts_figure(recognizer: Recognizer, samples: Sequence[tuple[np.ndarray, str]]):
    """The copy path at work: each sample with the cuts between its letters (from CTC alignment)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(samples), 1, figsize=(5, 0.8 * len(samples)), squeeze=False)
    for ax, (image, text), log_probs in zip(axes[:, 0], samples, recognizer.log_probs([im for im, _ in samples])):
        ink = to_ink(image)
        spans = forced_align(log_probs, recognizer.charset.encode(text))
        cuts = letter_cuts(ink, spans)
        ax.imshow(image, cmap="gray", vmin=0, vmax=1)
        for cut in cuts[1:-1]:
            ax.axvline(cut - 0.5, color="tab:red", lw=0.8)
        for ch, left, right in zip(text, cuts, cuts[1:]):
            ax.text((left + right) / 2, -2, ch, ha="center", va="bottom", fontsize=8, color="tab:blue")
        ax.set_axis_off()
    fig.tight_layout()
    return fig


def study_bar_figure(result: dict):
    """Mean CER of each condition, per sample count, over the held-out writers."""
    import matplotlib.pyplot as plt

    settings = result["settings"]
    conds = [c for c in CONDITIONS if any(c in s["mean"] for s in settings.values())]
    fig, ax = plt.subplots(figsize=(6, 2.8))
    width = 0.8 / len(settings)
    for i, (k, setting) in enumerate(settings.items()):
        present = [j for j, c in enumerate(conds) if c in setting["mean"]]
        ax.bar(np.array(present) + i * width, [setting["mean"][conds[j]] for j in present], width, label=f"{k} samples")
    ax.set_xticks(np.arange(len(conds)) + width * (len(settings) - 1) / 2, [c.replace("_", " ") for c in conds])
    ax.set_ylabel("mean CER, held-out writers")
    ax.legend()
    fig.tight_layout()
    return fig


def study_tables(result: dict) -> dict[str, tuple[list[str], list[list[object]]]]:
    """Tables of the study: CER per writer and condition (per sample count) and generation quality."""
    tables = {}
    for k, setting in result["settings"].items():
        conds = [c for c in CONDITIONS if c in setting["mean"]]
        header = ["writer", "letters seen", *[c.replace("_", " ") for c in conds]]
        rows = [[w, f"{r['coverage']:.2f}", *[f"{r[c]:.3f}" for c in conds]] for w, r in setting["per_writer"].items()]
        rows.append(["mean", f"{setting['mean']['coverage']:.2f}", *[f"{setting['mean'][c]:.3f}" for c in conds]])
        tables[f"hw_study_cer_{k}"] = (header, rows)
    header = ["writer", "FD gen.", "FD real halves", "FD nearest other", "nearest writer", "synthesis alone closest"]
    rows = [[w, f"{g['frechet_generated']:.1f}", f"{g['frechet_real_halves']:.1f}",
             f"{g['frechet_nearest_other']:.1f}", g["nearest_writer"], "yes" if g["closest_synthesis_only"] else "no"]
            for w, g in result["generation"].items()]
    tables["hw_gan_quality"] = (header, rows)
    reading = result.get("independent_reader")
    tables["hw_independent_reader"] = (["words of the held-out writers", "CER"], [
        [kind.replace("_", " "), f"{value:.3f}"] for kind, value in reading.items()] if reading else [
        ["not measured", "run the study with --independent-reader"]])
    header = ["goal", "measured", "target", "met"]
    tables["hw_goals"] = (header, [[name, f"{g['value']:.3f}", g["target"], "yes" if g["met"] else "no"]
                                   for name, g in result["goals"].items()])
    return tables


def seeds_table(results: Sequence[dict]) -> tuple[list[str], list[list[object]]]:
    """The goals of several runs of the study side by side (one column per seed)."""
    header = ["goal", *[f"seed {r['config']['seed']}" for r in results], "target"]
    rows = [[name, *[f"{r['goals'][name]['value']:.4f}" for r in results], goal["target"]]
            for name, goal in results[0]["goals"].items()]
    return header, rows


def make_figures(out, results: Path | None = None) -> None:
    """Write the GAN sample grid, the study's bar chart and its tables (from the committed results)."""
    from padl_lib.handwriting.writers import heldout_writers, train_writers

    gan = HandwritingGAN.load()
    writers = [w.writer_id for w in train_writers()[:3]] + [w.writer_id for w in heldout_writers()]
    texts = ["minimum", "quiz", "handwriting", "jazz"]
    out.figure(style_grid_figure(gan, writers, texts), "hw_gan_samples")
    heldout = [w.writer_id for w in heldout_writers()]
    out.figure(style_grid_figure(gan, heldout, texts, recognizer=Recognizer.load()), "hw_gan_copy_samples")
    path = results or data_dir() / STUDY_RESULTS
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `python -m padl_lib.handwriting experiment --json {path}`")
    result = json.loads(path.read_text())
    out.figure(study_bar_figure(result), "hw_study_cer")
    for name, (header, rows) in study_tables(result).items():
        out.table(name, header, rows)
    replicates = [json.loads(p.read_text()) for p in (data_dir() / r for r in STUDY_REPLICATES) if p.exists()]
    out.table("hw_goals_by_seed", *seeds_table([result, *replicates]))
