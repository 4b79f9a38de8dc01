"""Font writers: Debian handwriting fonts that stand in for people, and the words they write.

Each `FontWriter` is one font face plus its own consistent style (slant, stroke width, letter
spacing, ink, paper, noise, how shaky the hand is). `FontWriter.render(word, seed)` writes one
word with realistic per-word variation on top of that style: per-letter jitter, baseline wobble,
elastic distortion and stroke-width variation. The result is deterministic given the seed.

Image convention used by the whole topic: a float32 array of height 32 (variable width) with
values in [0, 1], **dark ink (≈0) on light paper (≈1)**, as a scan looks.

Splits are fixed by name (see `HELDOUT_FONTS`): 17 train writers, 5 held-out writers.
Words come from Debian's `wamerican`; a word belongs to the test words when the CRC32 of its
text is divisible by 10, so test words are never seen in training whatever the list order.
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

HEIGHT = 32
WORDS_FILE = Path("/usr/share/dict/american-english")
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))

# writer id -> font file (relative to the Debian font folders); one face per design.
FONTS: dict[str, str] = {
    "sj_delphine": "sjfonts/Delphine.ttf",
    "sj_stevehand": "sjfonts/SteveHand.ttf",
    "kristi": "kristi/Kristi.ttf",
    "dkg": "fifthhorseman/dkg.ttf",
    "breip": "breip/Breip.ttf",
    "bwht_build": "bwht/BecauseWeBuild-Regular.otf",
    "bwht_connect": "bwht/BecauseWeConnect-Regular.otf",
    "bwht_create": "bwht/BecauseWeCreate-Regular.otf",
    "bwht_learn": "bwht/BecauseWeLearn-Regular.otf",
    "bwht_mentor": "bwht/BecauseWeMentor-Regular.otf",
    "bwht_organize": "bwht/BecauseWeOrganize-Regular.otf",
    "femkeklaver": "femkeklaver/femkeklaver.ttf",
    "rufscript": "rufscript/Rufscript010.ttf",
    "dancingscript": "dancingscript/DancingScript-Regular.otf",
    "kaushanscript": "kaushanscript/KaushanScript-Regular.otf",
    "ecolier_court": "ecolier-court/Ecolier-court.ttf",
    "comic_neue": "comic-neue/ComicNeue-Regular.otf",
    "tomsontalks": "tomsontalks/TomsonTalks.ttf",
    "purisa": "tlwg/Purisa.ttf",
    "leckerli_one": "leckerli-one/LeckerliOne-Regular.ttf",
    "klee_one": "klee/KleeOne-Regular.ttf",
    "humor_sans": "humor-sans/Humor-Sans.ttf",
}
# Held out from all training: the unseen writers of the study (chosen to span print and script).
HELDOUT_FONTS = ("bwht_learn", "comic_neue", "kristi", "rufscript", "klee_one")


@dataclass(frozen=True)
class WriterStyle:
    """A writer's consistent habits; per-word variation is drawn around them."""

    slant: float  # horizontal shear (x shift per unit height); >0 leans right
    stroke: float  # stroke-width change in render pixels (<0 thinner, >0 bolder)
    spacing: float  # extra gap between letters, fraction of the font size
    ink: float  # ink darkness 0..1
    paper: float  # paper brightness 0..1
    noise: float  # std of sensor noise
    jitter: float  # per-letter vertical jitter, fraction of the font size
    wobble: float  # baseline wobble amplitude, fraction of the font size
    elastic: float  # elastic distortion amplitude in render pixels

    @classmethod
    def random(cls, rng: np.random.Generator) -> WriterStyle:
        """A plausible style drawn from `rng`."""
        return cls(
            slant=float(rng.uniform(-0.15, 0.35)),
            stroke=float(rng.uniform(-0.4, 2.5)),
            spacing=float(rng.uniform(-0.03, 0.12)),
            ink=float(rng.uniform(0.65, 0.95)),
            paper=float(rng.uniform(0.85, 1.0)),
            noise=float(rng.uniform(0.01, 0.06)),
            jitter=float(rng.uniform(0.01, 0.05)),
            wobble=float(rng.uniform(0.01, 0.05)),
            elastic=float(rng.uniform(1.0, 3.0)),
        )


RENDER_SIZE = 64  # font size of the high-resolution render, downscaled to HEIGHT


@dataclass(frozen=True)
class FontWriter:
    """One synthetic writer: a font face with its own style."""

    writer_id: str
    font_path: Path
    style: WriterStyle
    split: str  # "train" or "heldout"

    def render(self, word: str, seed: int = 0) -> np.ndarray:
        """Write `word` (lower-cased) as a float32 image of height 32, ink dark on light paper."""
        return render_word(self, word, seed)


def _writer_seed(writer_id: str) -> int:
    return zlib.crc32(writer_id.encode())


def _find_font(relative: str) -> Path:
    for folder in FONT_DIRS:
        path = folder / relative
        if path.exists():
            return path
    raise FileNotFoundError(f"handwriting font {relative} is missing; install the fonts in binder/apt.txt")


@lru_cache(maxsize=1)
def all_writers() -> tuple[FontWriter, ...]:
    """Every font writer, in a fixed order (train writers first)."""
    writers = [FontWriter(wid, _find_font(rel), WriterStyle.random(np.random.default_rng(_writer_seed(wid))),
                          "heldout" if wid in HELDOUT_FONTS else "train") for wid, rel in FONTS.items()]
    return tuple(sorted(writers, key=lambda w: (w.split != "train", w.writer_id)))


def train_writers() -> list[FontWriter]:
    """The writers the recognizer (and the GAN) may train on."""
    return [w for w in all_writers() if w.split == "train"]


def heldout_writers() -> list[FontWriter]:
    """The unseen writers, never used in training."""
    return [w for w in all_writers() if w.split == "heldout"]


def get_writer(writer_id: str) -> FontWriter:
    """The font writer called `writer_id`."""
    for writer in all_writers():
        if writer.writer_id == writer_id:
            return writer
    raise KeyError(f"unknown writer {writer_id!r}; known: {', '.join(w.writer_id for w in all_writers())}")


# ---------------------------------------------------------------- words

def is_test_word(word: str) -> bool:
    """True for the held-out test words (CRC32 of the text divisible by 10)."""
    return zlib.crc32(word.encode()) % 10 == 0


@lru_cache(maxsize=4)
def word_list(split: str = "train", min_len: int = 2, max_len: int = 12) -> tuple[str, ...]:
    """Lower-case a–z words of wamerican: `split` is "train", "test" or "all"."""
    if split not in {"train", "test", "all"}:
        raise ValueError(f"split must be 'train', 'test' or 'all', not {split!r}")
    if not WORDS_FILE.exists():
        raise FileNotFoundError(f"{WORDS_FILE} is missing; install Debian's wamerican")
    pattern = re.compile(rf"[a-z]{{{min_len},{max_len}}}")
    words = sorted({w.lower() for w in WORDS_FILE.read_text(encoding="utf-8").split() if pattern.fullmatch(w.lower())})
    if split == "all":
        return tuple(words)
    return tuple(w for w in words if is_test_word(w) == (split == "test"))


# ---------------------------------------------------------------- rendering

@lru_cache(maxsize=64)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def _draw_letters(font: ImageFont.FreeTypeFont, word: str, style: WriterStyle, rng: np.random.Generator) -> np.ndarray:
    """Letters one by one with per-letter jitter and spacing; ink as 1 on a 0 canvas."""
    size = RENDER_SIZE
    advances = [font.getlength(ch) for ch in word]
    gaps = [size * (style.spacing + rng.normal(0, 0.02)) for _ in word]
    width = int(sum(advances) + sum(max(g, 0) for g in gaps) + 2 * size)
    canvas = Image.new("L", (width, 2 * size), 0)
    draw = ImageDraw.Draw(canvas)
    x = size / 2
    bold = max(0, int(round(style.stroke + rng.normal(0, 0.5))))
    for ch, adv, gap in zip(word, advances, gaps):
        dy = rng.normal(0, style.jitter) * size
        draw.text((x, size / 2 + dy), ch, font=font, fill=255, stroke_width=bold, stroke_fill=255)
        x += adv + gap
    return np.asarray(canvas, dtype=np.float32) / 255.0


def _thin(ink: np.ndarray, amount: float) -> np.ndarray:
    """Erode strokes by `amount` pixels (fractional via blending)."""
    whole, frac = int(amount), amount - int(amount)
    out = ink
    for _ in range(whole):
        out = ndimage.grey_erosion(out, size=(3, 3))
    if frac > 0:
        out = (1 - frac) * out + frac * ndimage.grey_erosion(out, size=(3, 3))
    return out


def _warp(ink: np.ndarray, style: WriterStyle, rng: np.random.Generator) -> np.ndarray:
    """Slant, baseline wobble and elastic distortion in one resampling."""
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    slant = style.slant + rng.normal(0, 0.05)
    size = RENDER_SIZE
    period = rng.uniform(1.5, 4.0) * size
    wobble = style.wobble * size * np.sin(2 * np.pi * xx / period + rng.uniform(0, 2 * np.pi))
    field = [_smooth_field(rng, h, w, cell=size // 2) for _ in range(2)]
    scale = style.elastic
    src_y = yy + wobble + scale * field[0] * rng.uniform(0.5, 1.5)
    src_x = xx + slant * (yy - h / 2) + scale * field[1] * rng.uniform(0.5, 1.5)
    return ndimage.map_coordinates(ink, [src_y, src_x], order=1, mode="constant", cval=0.0)


def _smooth_field(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Unit-scale random displacement, smooth over about `cell` pixels (bilinear on a coarse grid)."""
    coarse = rng.normal(0, 1, (h // cell + 2, w // cell + 2)).astype(np.float32)
    rows = np.linspace(0, coarse.shape[0] - 1.001, h)
    cols = np.linspace(0, coarse.shape[1] - 1.001, w)
    return ndimage.map_coordinates(coarse, np.meshgrid(rows, cols, indexing="ij"), order=1)


def _crop(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rows, cols = np.nonzero(ink > 0.2)
    if rows.size == 0:
        raise ValueError("the font drew nothing for this word")
    m = RENDER_SIZE // 16
    top, bottom = rows.min() - rng.integers(1, 3 * m), rows.max() + rng.integers(1, 3 * m)
    left, right = cols.min() - rng.integers(1, 3 * m), cols.max() + rng.integers(1, 3 * m)
    padded = np.pad(ink, 3 * m)
    return padded[top + 3 * m:bottom + 3 * m, left + 3 * m:right + 3 * m]


def to_height(image: np.ndarray, height: int = HEIGHT) -> np.ndarray:
    """Resize a 2-D float image to `height` rows keeping its aspect ratio (≥ 1 column)."""
    h, w = image.shape
    width = max(1, int(round(w * height / h)))
    pil = Image.fromarray(np.asarray(image, dtype=np.float32), mode="F")
    return np.asarray(pil.resize((width, height), Image.BILINEAR, reducing_gap=2.0), dtype=np.float32)


def render_word(writer: FontWriter, word: str, seed: int = 0) -> np.ndarray:
    """`writer`'s hand writing `word` (lower-cased); float32, height 32, dark ink on light paper."""
    word = word.strip().lower()
    if not word:
        raise ValueError("cannot render an empty word")
    style = writer.style
    rng = np.random.default_rng([_writer_seed(writer.writer_id), seed, zlib.crc32(word.encode())])
    font = _font(writer.font_path, int(RENDER_SIZE * rng.uniform(0.93, 1.07)))
    ink = _draw_letters(font, word, style, rng)
    thinning = -(style.stroke + rng.normal(0, 0.4))
    if thinning > 0:
        ink = _thin(ink, min(thinning, 1.5))
    ink = _crop(_warp(ink, style, rng), rng)
    ink = ndimage.gaussian_filter(to_height(ink), sigma=rng.uniform(0.3, 0.7))
    ink_level = np.clip(style.ink + rng.normal(0, 0.04), 0.4, 1.0)
    paper = np.clip(style.paper + rng.normal(0, 0.02), 0.7, 1.0)
    image = paper - np.clip(ink, 0, 1) * ink_level * paper
    image = image + rng.normal(0, style.noise, image.shape)
    return np.clip(image, 0, 1).astype(np.float32)
