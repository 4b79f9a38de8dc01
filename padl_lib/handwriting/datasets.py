"""Word-image datasets: (image, text, writer_id) samples from font writers, IAM or folders.

Every sample's image follows the topic's convention (float32, height 32, values in [0, 1],
dark ink on light paper). `width_batches` groups samples of similar width so a batch is
padded little (padding every batch to the widest word was 5–20x slower to train).
"""
from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from padl_lib.handwriting.writers import HEIGHT, FontWriter, to_height
from padl_lib.progress import Progress, report

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp", ".pgm", ".ppm", ".pbm")


class WordSample(NamedTuple):
    image: np.ndarray  # float32, height 32, dark ink on light paper
    text: str
    writer_id: str


class WordDataset(Sequence[WordSample]):
    """An in-memory list of word samples (images kept as uint8 to save memory)."""

    def __init__(self, samples: Sequence[WordSample] = ()) -> None:
        self._images = [np.round(np.asarray(s.image) * 255).astype(np.uint8) for s in samples]
        self.texts = [s.text for s in samples]
        self.writer_ids = [s.writer_id for s in samples]

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return self.subset(range(len(self))[i])
        return WordSample(self._images[i].astype(np.float32) / 255.0, self.texts[i], self.writer_ids[i])

    @property
    def widths(self) -> list[int]:
        """Image widths in pixels (for bucketing)."""
        return [im.shape[1] for im in self._images]

    def subset(self, indices: Sequence[int]) -> WordDataset:
        """The samples at `indices`, as a new dataset."""
        out = WordDataset()
        out._images = [self._images[i] for i in indices]
        out.texts = [self.texts[i] for i in indices]
        out.writer_ids = [self.writer_ids[i] for i in indices]
        return out

    def by_writer(self, writer_id: str) -> WordDataset:
        """Only `writer_id`'s samples."""
        return self.subset([i for i, w in enumerate(self.writer_ids) if w == writer_id])

    def __add__(self, other: WordDataset) -> WordDataset:
        out = WordDataset()
        out._images = self._images + other._images
        out.texts = self.texts + other.texts
        out.writer_ids = self.writer_ids + other.writer_ids
        return out


def render_dataset(writers: Sequence[FontWriter], words: Sequence[str], per_writer: int, seed: int = 0,
                   progress: Progress | None = None) -> WordDataset:
    """`per_writer` random words from `words` written by each writer; deterministic given `seed`."""
    if not writers or not words:
        raise ValueError("need at least one writer and one word")
    rng = np.random.default_rng(seed)
    samples = []
    total = len(writers) * per_writer
    for wi, writer in enumerate(writers):
        for j, k in enumerate(rng.integers(0, len(words), per_writer)):
            samples.append(WordSample(writer.render(words[k], seed=seed * 1_000_003 + wi * per_writer + j),
                                      words[k], writer.writer_id))
            if len(samples) % 200 == 0:
                report(progress, len(samples), total, "rendering words")
    report(progress, total, total, "rendering words")
    return WordDataset(samples)


# ---------------------------------------------------------------- images from disk

def load_word_image(path: str | Path, height: int = HEIGHT) -> np.ndarray:
    """A word image file (any common format and size, dark ink on light paper) in the topic's
    convention: grey float32 in [0, 1], `height` rows, aspect kept."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            grey = _grey(ImageOps.exif_transpose(im))
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from exc
    if grey.ndim != 2 or min(grey.shape) < 2:
        raise ValueError(f"image {path} is too small ({grey.shape}) to hold a word")
    return np.clip(to_height(crop_to_ink(grey), height), 0, 1)


def _grey(im: Image.Image) -> np.ndarray:
    """Any PIL image as grey float32 in [0, 1]; transparency counts as white paper."""
    if im.mode.startswith("I"):  # 16/32-bit grey
        values = np.asarray(im, dtype=np.float32)
        return values / (65535.0 if values.max() > 255 else 255.0)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        flat = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(flat, im.convert("RGBA"))
    return np.asarray(im.convert("L"), dtype=np.float32) / 255.0


def crop_to_ink(grey: np.ndarray, margin: float = 0.05) -> np.ndarray:
    """Cut the paper around the written word (like the tight crops of IAM and the font writers),
    keeping `margin` x the word's height on every side. Blank images come back unchanged."""
    paper, dark = np.percentile(grey, 90), np.percentile(grey, 0.5)
    if paper - dark < 0.1:
        return grey
    ink = (paper - grey) > 0.5 * (paper - dark)
    rows = np.flatnonzero(ink.sum(1) >= max(2, 0.005 * grey.shape[1]))
    cols = np.flatnonzero(ink.sum(0) >= 2)
    if rows.size == 0 or cols.size == 0:
        return grey
    pad = int(round(margin * (rows[-1] - rows[0] + 1)))
    top, bottom = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, grey.shape[0])
    left, right = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, grey.shape[1])
    return grey[top:bottom, left:right]


def image_files(folder: str | Path) -> list[Path]:
    """The image files directly inside `folder`, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_labels(path: str | Path) -> dict[str, str]:
    """A `labels.tsv` (file name, tab, text per line) as {file name: text}."""
    labels: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise ValueError(f"{path}:{n}: expected 'file name<TAB>text', got {row!r}")
            labels[row[0].strip()] = row[1]
    return labels


def load_folder(folder: str | Path, writer_id: str | None = None, lower: bool = False) -> WordDataset:
    """A folder of one writer's word images plus `labels.tsv` (file name, tab, text)."""
    folder = Path(folder)
    labels_path = folder / "labels.tsv"
    if not labels_path.exists():
        raise FileNotFoundError(f"{folder} has no labels.tsv (file name, tab, text per line)")
    labels = read_labels(labels_path)
    if not labels:
        raise ValueError(f"{labels_path} lists no images")
    samples = []
    for name, text in labels.items():
        path = folder / name
        if not path.exists():
            raise FileNotFoundError(f"{labels_path} names {name}, which is not in {folder}")
        samples.append(WordSample(load_word_image(path), text.lower() if lower else text, writer_id or folder.name))
    return WordDataset(samples)


def load_writer_folders(root: str | Path, lower: bool = False) -> WordDataset:
    """Every sub-folder of `root` that holds a `labels.tsv`, one writer each (named by folder)."""
    folders = sorted(p for p in Path(root).iterdir() if (p / "labels.tsv").exists())
    if not folders:
        raise FileNotFoundError(f"no writer folders with labels.tsv under {root}")
    out = WordDataset()
    for folder in folders:
        out = out + load_folder(folder, lower=lower)
    return out


def load_iam(root: str | Path, lower: bool = False, limit: int | None = None,
             progress: Progress | None = None) -> WordDataset:
    """The IAM Handwriting Database words: `root/words.txt` and `root/words/a01/a01-000u/*.png`.

    Lines of words.txt: `id ok|err graylevel x y w h tag text...`; comment lines (#) and words
    whose segmentation is marked `err` are skipped. The writer of each form comes from
    `root/forms.txt` when present (else the form id stands for its writer).
    """
    root = Path(root)
    words_txt = root / "words.txt"
    if not words_txt.exists():
        raise FileNotFoundError(f"{root} has no words.txt (IAM Handwriting Database layout expected)")
    writer_of = _iam_form_writers(root / "forms.txt")
    entries = []
    for n, line in enumerate(words_txt.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(" ")
        if len(parts) < 9:
            raise ValueError(f"{words_txt}:{n}: expected at least 9 fields, got {line!r}")
        if parts[1] != "ok":
            continue
        word_id, text = parts[0], " ".join(parts[8:])
        form = "-".join(word_id.split("-")[:2])
        path = root / "words" / word_id.split("-")[0] / form / f"{word_id}.png"
        entries.append((path, text.lower() if lower else text, writer_of.get(form, form)))
        if limit is not None and len(entries) >= limit:
            break
    samples = []
    for i, (path, text, writer) in enumerate(entries):
        if not path.exists():
            raise FileNotFoundError(f"words.txt lists {path.name}, but {path} does not exist")
        samples.append(WordSample(load_word_image(path), text, writer))
        report(progress, i + 1, len(entries), "loading IAM words")
    return WordDataset(samples)


def _iam_form_writers(forms_txt: Path) -> dict[str, str]:
    if not forms_txt.exists():
        return {}
    out = {}
    for line in forms_txt.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            parts = line.split()
            out[parts[0]] = parts[1]
    return out


# ---------------------------------------------------------------- batching

def width_batches(widths: Sequence[int], batch_size: int, shuffle: bool = True,
                  rng: np.random.Generator | None = None) -> Iterator[list[int]]:
    """Index batches of similar image width: sort by width, cut into batches, shuffle batches."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    rng = rng or np.random.default_rng(0)
    order = np.argsort(np.asarray(widths) + (rng.uniform(0, 1, len(widths)) if shuffle else 0), kind="stable")
    batches = [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if shuffle:
        rng.shuffle(batches)
    yield from batches


def padding_ratio(widths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """Padded pixels per real pixel when each batch is padded to its widest image."""
    real = sum(widths[i] for b in batches for i in b)
    return sum(len(b) * max(widths[i] for i in b) for b in batches) / real - 1


def pad_batch(images: Sequence[np.ndarray], value: float = 0.0, multiple: int = 4) -> np.ndarray:
    """Stack equal-height 2-D images into (N, H, W) float32, padding on the right with `value`."""
    width = max(im.shape[1] for im in images)
    width = -(-width // multiple) * multiple
    out = np.full((len(images), images[0].shape[0], width), value, dtype=np.float32)
    for i, im in enumerate(images):
        out[i, :, :im.shape[1]] = im
    return out
