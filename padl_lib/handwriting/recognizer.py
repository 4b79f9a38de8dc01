"""The recognizer: a CRNN (convolutions + bidirectional LSTM, ~1M parameters) trained with CTC.

Input: word images of height 32 in the topic's convention (dark ink on light paper); each is
contrast-normalized to an ink map (0 paper, 1 ink) first, so faint or grey scans read alike.
The network turns a word 4W pixels wide into W time steps of character scores; CTC decoding
(greedy, or a prefix beam search) collapses them into text.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jiwer
import numpy as np
import torch
from torch import nn

from padl_lib.handwriting.datasets import load_word_image, pad_batch
from padl_lib.handwriting.writers import HEIGHT, to_height
from padl_lib.io import atomic_path
from padl_lib.settings import data_dir

DEFAULT_CHARSET = "abcdefghijklmnopqrstuvwxyz"
STRIDE = 4  # input columns per CTC time step


def shipped_checkpoint() -> Path:
    """The recognizer checkpoint committed with padl."""
    return data_dir() / "handwriting" / "recognizer.pt"


@dataclass(frozen=True)
class Charset:
    """The characters a recognizer knows; index 0 is the CTC blank."""

    chars: str = DEFAULT_CHARSET

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> Charset:
        """Every character that occurs in `texts`, sorted."""
        return cls("".join(sorted(set("".join(texts)))))

    def __len__(self) -> int:
        return len(self.chars) + 1

    def encode(self, text: str) -> list[int]:
        """Label ids of `text` (1-based); unknown characters raise ValueError."""
        index = {c: i + 1 for i, c in enumerate(self.chars)}
        try:
            return [index[c] for c in text]
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} of {text!r} is not in the charset {self.chars!r}") from None

    def decode(self, ids: Sequence[int]) -> str:
        """Text of label ids (0 = blank is skipped)."""
        return "".join(self.chars[i - 1] for i in ids if i > 0)


class CRNN(nn.Module):
    """Conv feature extractor (height 32 → 1, width ÷ 4) + 2-layer BiLSTM + per-step classifier."""

    def __init__(self, n_classes: int, hidden: int = 128) -> None:
        super().__init__()

        def block(cin: int, cout: int, pool: tuple[int, int] | None) -> list[nn.Module]:
            layers: list[nn.Module] = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            return layers + ([nn.MaxPool2d(pool)] if pool else [])

        self.cnn = nn.Sequential(*block(1, 16, (2, 2)), *block(16, 32, (2, 2)), *block(32, 64, (2, 1)),
                                 *block(64, 96, (2, 1)), *block(96, 128, None), nn.Dropout2d(0.1))
        self.feature_dim = 128 * (HEIGHT // 16)
        self.rnn = nn.LSTM(self.feature_dim, hidden, num_layers=2, bidirectional=True, batch_first=True, dropout=0.2)
        self.head = nn.Linear(2 * hidden, n_classes)

    def sequence_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, W) ink maps → (N, W/4, feature_dim) convolutional features."""
        f = self.cnn(x)
        n, c, h, w = f.shape
        return f.permute(0, 3, 1, 2).reshape(n, w, c * h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 32, W) ink maps → (N, W/4, classes) log-probabilities."""
        out, _ = self.rnn(self.sequence_features(x))
        return self.head(out).log_softmax(-1)


def to_ink(image: np.ndarray) -> np.ndarray:
    """Contrast-normalize a dark-on-light word image (any height) to a 32-row ink map in [0, 1]."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 2 or image.size == 0:
        raise ValueError(f"expected a 2-D grey image, got shape {image.shape}")
    if image.shape[0] != HEIGHT:
        image = to_height(image)
    paper, ink = np.percentile(image, 90), np.percentile(image, 1)
    contrast = max(float(paper - ink), 0.05)
    return np.clip((paper - image) / contrast, 0.0, 1.0)


def batch_tensor(images: Sequence[np.ndarray], min_width: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images → padded (N, 1, 32, W) ink tensor and each image's number of CTC time steps."""
    inks = [to_ink(im) for im in images]
    if min_width:
        inks[0] = np.pad(inks[0], ((0, 0), (0, max(0, min_width - inks[0].shape[1]))))
    batch = pad_batch(inks, value=0.0, multiple=STRIDE)
    steps = torch.tensor([math.ceil(im.shape[1] / STRIDE) for im in inks])
    return torch.from_numpy(batch).unsqueeze(1), steps


def ctc_loss(model: CRNN, charset: Charset, images: Sequence[np.ndarray], texts: Sequence[str]) -> torch.Tensor:
    """Mean CTC loss of `model` on one batch (images are padded wide enough for their labels)."""
    labels = [charset.encode(t) for t in texts]
    need = max(2 * len(lab) + 1 for lab in labels) * STRIDE
    x, steps = batch_tensor(images, min_width=need)
    steps = torch.maximum(steps, torch.tensor([(2 * len(lab) + 1) for lab in labels]))
    log_probs = model(x).permute(1, 0, 2)  # (T, N, C)
    steps = torch.clamp(steps, max=log_probs.shape[0])
    targets = torch.tensor([i for lab in labels for i in lab], dtype=torch.long)
    lengths = torch.tensor([len(lab) for lab in labels])
    return nn.functional.ctc_loss(log_probs, targets, steps, lengths, blank=0, zero_infinity=True)


def greedy_decode(log_probs: np.ndarray, charset: Charset) -> str:
    """Best path: the most likely class per step, repeats merged, blanks dropped."""
    best = log_probs.argmax(-1)
    merged = [int(c) for k, c in enumerate(best) if k == 0 or c != best[k - 1]]
    return charset.decode(merged)


def beam_decode(log_probs: np.ndarray, charset: Charset, beam: int = 8, prune: float = 10.0) -> str:
    """CTC prefix beam search over (T, C) log-probabilities; returns the most likely text.

    Per step only the `beam` + 1 best classes within `prune` nats of the best one are extended."""
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, -np.inf)}  # prefix -> (log p blank, log p non-blank)
    for row in log_probs:
        candidates = [c for c in np.argsort(row)[::-1][:beam + 1] if row[c] > row.max() - prune]
        nxt: dict[tuple[int, ...], list[float]] = {}

        def add(prefix: tuple[int, ...], blank: float, nonblank: float) -> None:
            b, nb = nxt.get(prefix, [-np.inf, -np.inf])
            nxt[prefix] = [np.logaddexp(b, blank), np.logaddexp(nb, nonblank)]

        for prefix, (pb, pnb) in beams.items():
            total = np.logaddexp(pb, pnb)
            for c in candidates:
                p = float(row[c])
                if c == 0:
                    add(prefix, total + p, -np.inf)
                elif prefix and prefix[-1] == c:
                    add(prefix + (int(c),), -np.inf, pb + p)  # a repeat needs a blank between
                    add(prefix, -np.inf, pnb + p)  # or it continues the same character
                else:
                    add(prefix + (int(c),), -np.inf, total + p)
        beams = dict(sorted(((k, tuple(v)) for k, v in nxt.items()),
                            key=lambda kv: -np.logaddexp(*kv[1]))[:beam])
    best = max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))[0]
    return charset.decode(best)


def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Character error rate over a corpus: edit distance / reference characters."""
    _check_pairs(references, hypotheses)
    return float(jiwer.cer(list(references), list(hypotheses)))


def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Word error rate over a corpus (for single-word samples: the share read wrongly)."""
    _check_pairs(references, hypotheses)
    return float(jiwer.wer(list(references), list(hypotheses)))


def _check_pairs(references: Sequence[str], hypotheses: Sequence[str]) -> None:
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    if not references:
        raise ValueError("no references to score against")
    if any(not r.strip() for r in references):
        raise ValueError("a reference text is empty")


class Recognizer:
    """A trained CRNN with its charset: reads word images, exposes pooled features."""

    def __init__(self, model: CRNN, charset: Charset, info: dict | None = None) -> None:
        self.model = model.eval()
        self.charset = charset
        self.info = dict(info or {})

    @classmethod
    def new(cls, charset: Charset | None = None, seed: int = 0) -> Recognizer:
        """An untrained recognizer (fixed initial weights for `seed`)."""
        charset = charset or Charset()
        torch.manual_seed(seed)
        return cls(CRNN(len(charset)), charset)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Recognizer:
        """Load a checkpoint written by `save`; None loads the shipped one."""
        path = Path(path) if path is not None else shipped_checkpoint()
        if not path.exists():
            raise FileNotFoundError(f"recognizer checkpoint {path} does not exist")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            charset = Charset(state["charset"])
            model = CRNN(len(charset), hidden=state["hidden"])
            model.load_state_dict(state["weights"])
        except Exception as exc:  # torch raises many types for a corrupt or foreign file
            raise ValueError(f"{path} is not a padl recognizer checkpoint: {exc}") from exc
        return cls(model, charset, state.get("info", {}))

    def save(self, path: str | Path) -> Path:
        """Write the weights (float16, to keep the file small), charset and info atomically."""
        weights = {k: v.half() if v.is_floating_point() else v for k, v in self.model.state_dict().items()}
        state = {"charset": self.charset.chars, "hidden": self.model.rnn.hidden_size, "weights": weights, "info": self.info}
        with atomic_path(path) as tmp:
            torch.save(state, tmp)
        return Path(path)

    def parameters(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.model.parameters())

    def _batches(self, images: Sequence[np.ndarray], batch_size: int):
        order = np.argsort([np.asarray(im).shape[1] * HEIGHT / max(1, np.asarray(im).shape[0]) for im in images])
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            yield idx, batch_tensor([images[i] for i in idx])

    @torch.no_grad()
    def log_probs(self, images: Sequence[np.ndarray], batch_size: int = 64) -> list[np.ndarray]:
        """Per image, the (T, classes) CTC log-probabilities."""
        self.model.eval()
        out: list[np.ndarray] = [np.empty(0)] * len(images)
        for idx, (x, steps) in self._batches(images, batch_size):
            lp = self.model(x).numpy()
            for k, i in enumerate(idx):
                out[i] = lp[k, :int(steps[k])]
        return out

    def text_costs(self, images: Sequence[np.ndarray], texts: Sequence[str]) -> np.ndarray:
        """Per image, the CTC negative log-likelihood of its text, per character (lower: read more surely)."""
        if len(images) != len(texts):
            raise ValueError(f"{len(images)} images but {len(texts)} texts")
        costs = np.empty(len(images))
        for i, (log_probs, text) in enumerate(zip(self.log_probs(images), texts)):
            labels = torch.tensor([self.charset.encode(text)])
            nll = nn.functional.ctc_loss(torch.from_numpy(log_probs)[:, None], labels, torch.tensor([len(log_probs)]),
                                         torch.tensor([labels.shape[1]]), reduction="sum", zero_infinity=False)
            costs[i] = float(nll) / max(len(text), 1)
        return costs

    def read(self, images: Sequence[np.ndarray], beam: int = 0, batch_size: int = 64) -> list[str]:
        """The text of each word image; `beam` > 1 uses prefix beam search, else greedy."""
        if len(images) == 0:
            return []
        decode = (lambda lp: beam_decode(lp, self.charset, beam)) if beam > 1 else (lambda lp: greedy_decode(lp, self.charset))
        return [decode(lp) for lp in self.log_probs(images, batch_size)]

    @torch.no_grad()
    def features(self, images: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """(N, D) recognizer features: the convolutional features averaged over each word's width
        (they carry letter shapes and stroke style; used for Fréchet distance and writer closeness)."""
        self.model.eval()
        out = np.zeros((len(images), self.model.feature_dim), dtype=np.float32)
        for idx, (x, steps) in self._batches(images, batch_size):
            seq = self.model.sequence_features(x).numpy()
            for k, i in enumerate(idx):
                out[i] = seq[k, :int(steps[k])].mean(0)
        return out


def recognize(images: Sequence[np.ndarray | str | Path], model: str | Path | Recognizer | None = None,
              beam: int = 0) -> list[str]:
    """Read word images (arrays or image files) with `model` (default: the shipped recognizer)."""
    recognizer = model if isinstance(model, Recognizer) else Recognizer.load(model)
    arrays = [load_word_image(im) if isinstance(im, (str, Path)) else np.asarray(im, dtype=np.float32) for im in images]
    return recognizer.read(arrays, beam=beam)
