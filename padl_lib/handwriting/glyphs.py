"""Letters cut from a writer's own samples: the generator's copy path.

The recognizer's CTC outputs, force-aligned to a sample's label, say where each letter lies
along the word; the cut between two letters goes through the emptiest ink column near the
midpoint of their alignments. Every sample's *core band* (the rows between baseline and
x-height, where most ink lies) is found from its ink profile, so letters from words of
different heights can be scaled to one common core and set on one baseline.

`compose` writes a word from such letters: each character is one of the writer's own
occurrences of it (hard attention over the samples), or, for letters the samples do not
show, a letter from a fallback word written by the GAN. A cut in the wrong place leaves a
letter with a sliver of its neighbour, so `compose_readable` sets every word several times
from different occurrences and keeps the one the recognizer reads most surely as the word
(its CTC cost): the recognizer loss of ScrabbleGAN, applied when sampling.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from padl_lib.handwriting.recognizer import STRIDE, Recognizer, to_ink
from padl_lib.handwriting.writers import to_height

CORE = 14          # rows of the common core band in the composed canvas
CANVAS = 4 * CORE  # canvas height: room for ascenders and descenders
BASELINE = 2.5 * CORE  # canvas row of the baseline
_NEG = -1e9


def forced_align(log_probs: np.ndarray, labels: Sequence[int]) -> list[tuple[int, int]]:
    """Viterbi CTC alignment of (T, C) log-probabilities to `labels` (1-based ids, 0 = blank).

    Returns the (first, last) time step of every label; raises ValueError when the sequence
    is too short to hold the labels."""
    states = [0]
    for label in labels:
        states += [label, 0]
    states = np.asarray(states)
    steps, n = log_probs.shape[0], len(states)
    if steps < len(labels) + sum(a == b for a, b in zip(labels, labels[1:])):
        raise ValueError(f"{steps} CTC steps cannot hold {len(labels)} letters")
    emit = log_probs[:, states]                          # (T, S)
    skip = np.zeros(n, bool)
    skip[2:] = (states[2:] != 0) & (states[2:] != states[:-2])
    score = np.full(n, _NEG)
    score[:2] = emit[0, :2]
    back = np.zeros((steps, n), np.int64)
    idx = np.arange(n)
    for t in range(1, steps):
        stay, step, jump = score, np.r_[_NEG, score[:-1]], np.where(skip, np.r_[_NEG, _NEG, score[:-2]], _NEG)
        options = np.stack([stay, step, jump])
        choice = options.argmax(0)
        back[t] = idx - choice
        score = options.max(0) + emit[t]
    state = n - 1 if n == 1 or score[n - 1] >= score[n - 2] else n - 2
    spans: dict[int, list[int]] = {}
    for t in range(steps - 1, -1, -1):
        if state % 2 == 1:
            spans.setdefault(state // 2, []).append(t)
        state = back[t, state]
    return [(min(spans[k]), max(spans[k])) for k in range(len(labels))]


def core_band(ink: np.ndarray) -> tuple[float, float]:
    """(top, bottom) rows of the core band: the rows holding at least half the peak row ink."""
    profile = ink.sum(1)
    rows = np.nonzero(profile >= 0.5 * profile.max())[0] if profile.max() > 0 else np.arange(ink.shape[0])
    return float(rows.min()), float(rows.max() + 1)


def letter_cuts(ink: np.ndarray, spans: Sequence[tuple[int, int]]) -> list[int]:
    """Column cuts between letters: the emptiest column within a stride of each alignment midpoint."""
    width = ink.shape[1]
    centres = [(a + b + 1) / 2 * STRIDE for a, b in spans]
    column_ink = ink.sum(0)
    cuts = [0]
    for left, right in zip(centres, centres[1:]):
        mid = int(round((left + right) / 2))
        lo, hi = max(cuts[-1] + 1, mid - STRIDE), min(width - 1, mid + STRIDE + 1)
        cuts.append(lo + int(np.argmin(column_ink[lo:hi])) if hi > lo else min(mid, width - 1))
    return cuts + [width]


@dataclass
class Letter:
    """One occurrence of a letter: its ink columns, scaled so the sample's core band is CORE rows."""

    ink: np.ndarray          # (rows, cols), ink 1 on 0
    baseline: float          # row of the baseline within `ink`
    position: str            # "initial", "medial", "final" or "single"


def _position(index: int, length: int) -> str:
    if length == 1:
        return "single"
    return "initial" if index == 0 else "final" if index == length - 1 else "medial"


def _scaled(ink: np.ndarray, core: tuple[float, float]) -> tuple[np.ndarray, float]:
    """Resize a sample's ink so its core band is CORE rows high; returns it and its baseline row."""
    scale = CORE / max(core[1] - core[0], 2.0)
    resized = to_height(ink, max(2, int(round(ink.shape[0] * scale))))
    return resized, core[1] * resized.shape[0] / ink.shape[0]


def _blank_edges(ink: np.ndarray, threshold: float = 0.2) -> tuple[int, int]:
    """Numbers of ink-free columns at the left and right edge of a letter."""
    inked = np.nonzero(ink.max(0) > threshold)[0]
    if inked.size == 0:
        return ink.shape[1], ink.shape[1]
    return int(inked[0]), int(ink.shape[1] - 1 - inked[-1])


def word_letters(ink: np.ndarray, text: str, cuts: Sequence[int]) -> tuple[dict[int, Letter], list[int]]:
    """Cut one sample into its letters, scaled to the common core and trimmed of blank columns
    (letters with no ink are dropped); also the blank gaps between neighbouring letters."""
    scaled, baseline = _scaled(ink, core_band(ink))
    factor = scaled.shape[1] / ink.shape[1]
    letters, edges = {}, []
    for i in range(len(text)):
        lo, hi = int(round(cuts[i] * factor)), int(round(cuts[i + 1] * factor))
        left, right = _blank_edges(scaled[:, lo:hi])
        edges.append((left, right))
        if hi - lo - left - right >= 2:
            letters[i] = Letter(scaled[:, lo + left: hi - right], baseline, _position(i, len(text)))
    gaps = [edges[i][1] + edges[i + 1][0] for i in range(len(text) - 1) if i in letters and i + 1 in letters]
    return letters, gaps


@dataclass
class GlyphBank:
    """A writer's letters, cut from their labelled samples; `paper`/`ink` are their tones and
    `reader` the recognizer that located them (it also judges composed words)."""

    letters: dict[str, list[Letter]] = field(default_factory=dict)
    gap: float = 1.0  # median blank columns between two letters of a word (at the common core)
    paper: float = 1.0
    ink: float = 0.0
    reader: Recognizer | None = None

    @classmethod
    def from_samples(cls, samples: Sequence[tuple[np.ndarray, str]], recognizer: Recognizer) -> GlyphBank:
        """Align every sample's label with `recognizer` and keep each letter occurrence."""
        images = [np.asarray(im, dtype=np.float32) for im, _ in samples]
        bank = cls(paper=float(np.median([np.percentile(to_height(im), 90) for im in images])),
                   ink=float(np.median([np.percentile(to_height(im), 1) for im in images])), reader=recognizer)
        gaps: list[int] = []
        for (_, text), image, log_probs in zip(samples, images, recognizer.log_probs(images)):
            ink = to_ink(image)
            try:
                spans = forced_align(log_probs, recognizer.charset.encode(text))
            except ValueError:
                continue  # a label the recognizer cannot place in this image: skip the sample
            letters, word_gaps = word_letters(ink, text, letter_cuts(ink, spans))
            for i, letter in letters.items():
                bank.letters.setdefault(text[i], []).append(letter)
            gaps += word_gaps
        bank.gap = float(np.median(gaps)) if gaps else bank.gap
        return bank

    def knows(self, ch: str) -> bool:
        return ch in self.letters

    def pick(self, ch: str, position: str, rng: np.random.Generator) -> Letter:
        """One of the writer's occurrences of `ch`, preferring the same position in the word."""
        options = self.letters[ch]
        same = [g for g in options if g.position == position]
        pool = same if same and rng.random() < 0.75 else options
        return pool[int(rng.integers(len(pool)))]


def fallback_letters(ink: np.ndarray, text: str) -> dict[int, Letter]:
    """Letters of a word the GAN wrote (by position): it gives every character the same width."""
    cuts = [int(round(i * ink.shape[1] / len(text))) for i in range(len(text) + 1)]
    return word_letters(ink, text, cuts)[0]


def compose(text: str, bank: GlyphBank, fallback: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """`text` set from the bank's letters on a common baseline, as a 32-px-high image (1 = paper).

    `fallback` is the same text written by the GAN; it supplies letters the bank lacks."""
    missing = [ch for ch in text if not bank.knows(ch)]
    if missing and fallback is None:
        raise ValueError(f"the samples show no {''.join(sorted(set(missing)))!r} and no fallback word was given")
    spare = fallback_letters(to_ink(fallback), text) if missing else {}
    pieces = []
    for i, ch in enumerate(text):
        if bank.knows(ch):
            pieces.append(bank.pick(ch, _position(i, len(text)), rng))
        elif i in spare:
            pieces.append(spare[i])
    gaps = np.maximum(np.round(bank.gap + rng.normal(0, 0.5, len(pieces))), 0).astype(int)
    canvas = np.zeros((CANVAS, sum(p.ink.shape[1] for p in pieces) + int(gaps.sum()) + 2), np.float32)
    x = 1
    for piece, gap in zip(pieces, gaps):
        top = int(round(BASELINE - piece.baseline + rng.normal(0, 0.4)))
        rows = slice(max(top, 0), min(top + piece.ink.shape[0], CANVAS))
        src = piece.ink[rows.start - top: rows.stop - top]
        canvas[rows, x: x + src.shape[1]] = np.maximum(canvas[rows, x: x + src.shape[1]], src)
        x += src.shape[1] + gap
    rows = np.nonzero(canvas.max(1) > 0.2)[0]
    ink = canvas[max(rows.min() - 1, 0): rows.max() + 2] if rows.size else canvas
    ink = np.clip(to_height(ink), 0, 1)
    return (bank.paper - ink * (bank.paper - bank.ink)).astype(np.float32)


def compose_readable(texts: Sequence[str], bank: GlyphBank, fallbacks: Sequence[np.ndarray | None],
                     rng: np.random.Generator, candidates: int = 8) -> list[np.ndarray]:
    """Each text composed `candidates` times; the one with the lowest CTC cost under the bank's
    reader is kept (without a reader, the first)."""
    drafts = [[compose(text, bank, fallback, rng) for _ in range(candidates if bank.reader else 1)]
              for text, fallback in zip(texts, fallbacks)]
    if bank.reader is None:
        return [options[0] for options in drafts]
    costs = bank.reader.text_costs([im for options in drafts for im in options],
                                   [text for text, options in zip(texts, drafts) for _ in options])
    return [options[int(np.argmin(costs[k * candidates:(k + 1) * candidates]))] for k, options in enumerate(drafts)]
