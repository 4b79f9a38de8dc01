"""Figures and tables of the handwriting data and recognizer (the writer gap).

Report material written by `make_figures`:
- figures/hw_writer_samples.pdf: the same words by every font writer (train and held out)
- figures/hw_cer_per_writer.pdf: the shipped recognizer's CER per writer, seen vs unseen
- tables/hw_recognizer_cer.tex: CER and WER on seen and unseen writers (test words)
and then those of `figures_gan` (the GAN samples and the adaptation study).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from padl_lib.figures import ReportOutput
from padl_lib.handwriting.datasets import render_dataset
from padl_lib.handwriting.recognizer import Recognizer, cer, wer
from padl_lib.handwriting.writers import FontWriter, all_writers, word_list
from padl_lib.settings import quick


def writer_samples_figure(writers: Sequence[FontWriter], words: Sequence[str] = ("handwriting", "quick", "jumps", "lazy")):
    """A grid: one row per writer, the same `words` in each writer's hand."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(writers), len(words), figsize=(1.9 * len(words), 0.42 * len(writers) + 0.4),
                             squeeze=False)
    for r, writer in enumerate(writers):
        for c, word in enumerate(words):
            ax = axes[r, c]
            ax.imshow(writer.render(word, seed=c), cmap="gray", vmin=0, vmax=1, aspect="equal")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
        label = writer.writer_id + (" (held out)" if writer.split == "heldout" else "")
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout(pad=0.2)
    return fig


def cer_per_writer(recognizer: Recognizer, per_writer: int, seed: int = 1) -> list[dict]:
    """Per writer: split, CER and WER of `recognizer` on `per_writer` test words."""
    writers = all_writers()
    data = render_dataset(writers, word_list("test"), per_writer, seed=seed)
    hyps = recognizer.read([s.image for s in data])
    rows = []
    for writer in writers:
        idx = [i for i, w in enumerate(data.writer_ids) if w == writer.writer_id]
        refs, got = [data.texts[i] for i in idx], [hyps[i] for i in idx]
        rows.append({"writer": writer.writer_id, "split": writer.split, "cer": cer(refs, got), "wer": wer(refs, got),
                     "refs": refs, "hyps": got})
    return rows


def split_summary(rows: Sequence[dict]) -> dict[str, dict[str, float]]:
    """Corpus CER/WER over the seen ("train") and unseen ("heldout") writers."""
    out = {}
    for split in ("train", "heldout"):
        refs = [r for row in rows if row["split"] == split for r in row["refs"]]
        hyps = [h for row in rows if row["split"] == split for h in row["hyps"]]
        out[split] = {"cer": cer(refs, hyps), "wer": wer(refs, hyps), "n": len(refs)}
    return out


def cer_figure(rows: Sequence[dict]):
    """Bar chart of CER per writer, seen writers in one colour and unseen ones in another."""
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: (r["split"] != "train", r["cer"]))
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    colors = ["tab:blue" if r["split"] == "train" else "tab:red" for r in rows]
    ax.bar(range(len(rows)), [r["cer"] for r in rows], color=colors)
    ax.set_xticks(range(len(rows)), [r["writer"] for r in rows], rotation=70, fontsize=7)
    ax.set_ylabel("character error rate")
    for split, color, name in (("train", "tab:blue", "seen writers"), ("heldout", "tab:red", "unseen writers")):
        mean = np.mean([r["cer"] for r in rows if r["split"] == split])
        ax.axhline(mean, color=color, linestyle="--", linewidth=1, label=f"{name}: mean {mean:.3f}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def ctc_figure(recognizer: Recognizer, image: np.ndarray, text: str = ""):
    """A word image above its per-step CTC character probabilities (blank as '-')."""
    import matplotlib.pyplot as plt

    from padl_lib.handwriting.recognizer import to_ink

    probs = np.exp(recognizer.log_probs([image])[0]).T
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5.5), gridspec_kw={"height_ratios": [1, 3]})
    top.imshow(to_ink(image), cmap="gray_r", aspect="auto")
    top.set_title(f"input (ink map){': ' + text if text else ''}", fontsize=9)
    top.axis("off")
    bottom.imshow(probs, cmap="viridis", aspect="auto", interpolation="nearest")
    bottom.set_yticks(range(len(recognizer.charset)), ["-"] + list(recognizer.charset.chars), fontsize=6)
    bottom.set_xlabel("time step (4 input columns each)")
    bottom.set_title(f"CTC probabilities, greedy reading: {recognizer.read([image])[0]!r}", fontsize=9)
    fig.tight_layout()
    return fig


def feature_scatter_figure(recognizer: Recognizer, writers: Sequence[FontWriter], per_writer: int = 20, seed: int = 2):
    """Recognizer features of each writer's words, projected to 2-D by PCA: hands form clusters."""
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    data = render_dataset(writers, word_list("test"), per_writer, seed=seed)
    points = PCA(2, random_state=0).fit_transform(recognizer.features([s.image for s in data]))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for writer in writers:
        idx = [i for i, w in enumerate(data.writer_ids) if w == writer.writer_id]
        ax.scatter(points[idx, 0], points[idx, 1], s=10, label=writer.writer_id,
                   marker="x" if writer.split == "heldout" else "o")
    ax.legend(fontsize=6, ncol=2, markerscale=1.5)
    ax.set_title("recognizer features (PCA); x = held-out writer", fontsize=9)
    fig.tight_layout()
    return fig


def writer_identification(recognizer: Recognizer, writers: Sequence[FontWriter], per_writer: int = 30,
                          references: int = 15, seed: int = 4) -> float:
    """How often a single word's features lie nearest to its own writer's centroid (the centroids
    averaged over `references` other words per writer); chance is 1 / len(writers)."""
    if not 0 < references < per_writer:
        raise ValueError("need 0 < references < per_writer")
    data = render_dataset(writers, word_list("test"), per_writer, seed=seed)
    feats, ids = recognizer.features([s.image for s in data]), np.array(data.writer_ids)
    names = [w.writer_id for w in writers]
    centroids = np.stack([feats[np.flatnonzero(ids == n)[:references]].mean(0) for n in names])
    queries = np.concatenate([np.flatnonzero(ids == n)[references:] for n in names])
    nearest = np.linalg.norm(feats[queries, None] - centroids[None], axis=2).argmin(1)
    return float(np.mean(np.array(names)[nearest] == ids[queries]))


def make_figures(out: ReportOutput) -> None:
    """Write the handwriting data/recognizer figures and table, then the GAN and study ones."""
    from padl_lib.handwriting import figures_gan

    out.figure(writer_samples_figure(all_writers()), "hw_writer_samples")
    rows = cer_per_writer(Recognizer.load(), per_writer=10 if quick() else 100)
    out.figure(cer_figure(rows), "hw_cer_per_writer")
    summary = split_summary(rows)
    out.table("hw_recognizer_cer", ["writers", "words", "CER", "WER"],
              [["seen (train fonts)", summary["train"]["n"], round(summary["train"]["cer"], 4), round(summary["train"]["wer"], 4)],
               ["unseen (held-out fonts)", summary["heldout"]["n"], round(summary["heldout"]["cer"], 4),
                round(summary["heldout"]["wer"], 4)]],
              caption="shipped recognizer on test words (never trained on), greedy decoding")
    figures_gan.make_figures(out)
