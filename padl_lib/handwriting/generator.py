"""A few-shot, style-conditioned handwriting GAN (ScrabbleGAN / GANwriting family).

* `StyleEncoder` reads a handful of one writer's word images (5–15) and pools them into one
  style vector; it also measures the writer's width per character from the samples' labels.
* `Generator` writes any text: every character gets its own learned filter block, the blocks
  are tiled along the width (so words of any length can be written), then upsampled by
  style-modulated (AdaIN) convolutions to a 32-px-high image, finally stretched to the
  writer's character width.
* `Discriminator` judges real/fake per image patch and, with a second head, which training
  writer wrote an image (the writer-classification loss).

Few-shot writing has two content paths per character. The *synthesis* path is the generator
above: it can write any letter, but a pooled style vector learned from 17 training writers
cannot carry the letter shapes of a new hand. The *copy* path (`glyphs`) is hard attention
over the samples: given a recognizer, `style()` also cuts the writer's own letters out of the
samples (located by CTC alignment), and `write()` sets each word from them, taking only the
letters the samples do not show from the synthesis path, and keeps the most readable of
several such drafts.

Images are float arrays, 32 px high, 1 = paper and 0 = ink (the recognizer's convention).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from padl_lib.handwriting.glyphs import GlyphBank, compose_readable
from padl_lib.handwriting.recognizer import Recognizer
from padl_lib.io import atomic_path
from padl_lib.settings import data_dir

HEIGHT = 32
CHAR_WIDTH = 16  # pixels per character as generated, before stretching to the writer's width
GAN_CHECKPOINT = "handwriting/style_gan.pt"


@dataclass
class GanConfig:
    """Sizes of the three networks (small: the GAN trains on CPU)."""

    alphabet: str
    n_writers: int
    style_dim: int = 64
    noise_dim: int = 16
    embed_dim: int = 32
    channels: int = 64
    encoder_channels: int = 16


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.LeakyReLU(0.2))


def masked_width_mean(features: torch.Tensor, widths: torch.Tensor, scale: int) -> torch.Tensor:
    """Mean of (N, C, W') features over the first ceil(width/scale) columns of each row."""
    cols = torch.arange(features.shape[-1], device=features.device)
    valid = cols[None, :] < torch.ceil(widths.float() / scale)[:, None]
    valid = valid.to(features.dtype)[:, None, :]
    return (features * valid).sum(-1) / valid.sum(-1).clamp_min(1)


class StyleEncoder(nn.Module):
    """Pool K word images of one writer into a style vector."""

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        c = config.encoder_channels
        self.trunk = nn.Sequential(
            nn.Conv2d(1, c, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.MaxPool2d(2),  # 8 x W/4
            _conv_block(c, 2 * c), nn.MaxPool2d(2),                                         # 4 x W/8
            _conv_block(2 * c, 4 * c),
        )
        self.head = nn.Sequential(nn.Linear(8 * c, config.style_dim), nn.LeakyReLU(0.2),
                                  nn.Linear(config.style_dim, config.style_dim))

    def forward(self, images: torch.Tensor, widths: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """images: (B, K, 1, 32, W) padded with paper; widths: (B, K); counts: (B,) samples used."""
        b, k = images.shape[:2]
        feats = self.trunk(1 - images.flatten(0, 1))                 # ink as signal
        mean = masked_width_mean(feats.mean(2), widths.flatten(), 8)  # (B*K, C)
        peak = feats.amax(2).amax(-1)                                 # stroke contrast
        per_image = torch.cat([mean, peak], 1).view(b, k, -1)
        used = (torch.arange(k, device=images.device)[None] < counts[:, None]).to(per_image.dtype)
        pooled = (per_image * used[..., None]).sum(1) / used.sum(1, keepdim=True).clamp_min(1)
        return self.head(pooled)


class AdaIN(nn.Module):
    """Instance norm whose scale and shift come from the style vector."""

    def __init__(self, channels: int, style_dim: int) -> None:
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels)
        self.affine = nn.Linear(style_dim, 2 * channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.affine(style).chunk(2, 1)
        return self.norm(x) * (1 + gamma[..., None, None]) + beta[..., None, None]


class UpBlock(nn.Module):
    """2x nearest upsampling, two style-modulated 3x3 convolutions, per-pixel noise."""

    def __init__(self, c_in: int, c_out: int, style_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.ada1 = AdaIN(c_out, style_dim)
        self.ada2 = AdaIN(c_out, style_dim)
        self.noise = nn.Parameter(torch.zeros(1, c_out, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.conv1(x)
        x = x + self.noise * torch.randn_like(x[:, :1])
        x = F.leaky_relu(self.ada1(x, style), 0.2)
        return F.leaky_relu(self.ada2(self.conv2(x), style), 0.2)


class Generator(nn.Module):
    """Character filters tiled along the width, upsampled under the style to 32 px high."""

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        c = config.channels
        self.channels = c
        cond = config.style_dim + config.noise_dim
        self.embed = nn.Embedding(len(config.alphabet) + 1, config.embed_dim, padding_idx=0)
        self.char_filter = nn.Linear(config.embed_dim + cond, c * 4 * 2)   # one 4 x 2 block per char
        self.blocks = nn.ModuleList([UpBlock(c, c // 2, cond), UpBlock(c // 2, c // 4, cond),
                                     UpBlock(c // 4, c // 8, cond)])
        self.to_image = nn.Conv2d(c // 8, 1, 3, padding=1)

    def forward(self, codes: torch.Tensor, style: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """codes: (B, L) symbol ids (0 = padding). Returns (B, 1, 32, 16 L) images in [0, 1]."""
        b, length = codes.shape
        cond = torch.cat([style, noise], 1)
        emb = torch.cat([self.embed(codes), cond[:, None].expand(b, length, -1)], 2)
        blocks = self.char_filter(emb).view(b, length, self.channels, 4, 2)
        x = blocks.permute(0, 2, 3, 1, 4).reshape(b, self.channels, 4, 2 * length)
        for block in self.blocks:
            x = block(x, cond)
        return (torch.tanh(self.to_image(x)) + 1) / 2


class Discriminator(nn.Module):
    """Patch real/fake scores and a writer-classification head on a shared trunk."""

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        c = config.encoder_channels
        self.trunk = nn.Sequential(
            _conv_block(1, c), nn.AvgPool2d(2),
            _conv_block(c, 2 * c), nn.AvgPool2d(2),
            _conv_block(2 * c, 4 * c), nn.AvgPool2d(2),   # 4 x W/8
        )
        self.patch = nn.Conv2d(4 * c, 1, (4, 1))            # one score per 8-px column
        self.writer = nn.Linear(4 * c, config.n_writers)

    def forward(self, images: torch.Tensor, widths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (mean patch score per image, writer logits)."""
        feats = self.trunk(1 - images)
        score = masked_width_mean(self.patch(feats)[:, :, 0], widths, 8)[:, 0]
        logits = self.writer(masked_width_mean(feats.mean(2), widths, 8))
        return score, logits


def encode_texts(texts: Sequence[str], alphabet: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Symbol ids (B, Lmax) padded with 0 and the lengths; raise on characters outside `alphabet`."""
    index = {ch: i + 1 for i, ch in enumerate(alphabet)}
    bad = sorted({ch for text in texts for ch in text if ch not in index})
    if bad:
        raise ValueError(f"cannot write characters {''.join(bad)!r}: the GAN knows only {alphabet!r}")
    if any(not text for text in texts):
        raise ValueError("cannot write an empty text")
    lengths = torch.tensor([len(t) for t in texts])
    codes = torch.zeros(len(texts), int(lengths.max()), dtype=torch.long)
    for row, text in enumerate(texts):
        codes[row, : len(text)] = torch.tensor([index[ch] for ch in text])
    return codes, lengths


def pad_images(images: Sequence[np.ndarray | torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack (32, W_i) images into (N, 1, 32, Wmax) padded with paper (1.0) and their widths."""
    tensors = [torch.as_tensor(np.asarray(im, dtype=np.float32)) for im in images]
    for t in tensors:
        if t.ndim != 2 or t.shape[0] != HEIGHT:
            raise ValueError(f"word images must be {HEIGHT} px high 2-D arrays, got shape {tuple(t.shape)}")
    widths = torch.tensor([t.shape[1] for t in tensors])
    batch = torch.ones(len(tensors), 1, HEIGHT, int(widths.max()))
    for i, t in enumerate(tensors):
        batch[i, 0, :, : t.shape[1]] = t
    return batch, widths


def stretch_to_widths(images: torch.Tensor, lengths: torch.Tensor, char_width: torch.Tensor
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Crop each generated word to its text length and stretch it to `char_width` px per character."""
    widths = torch.clamp((lengths.float() * char_width).round().long(), min=8)
    out = torch.ones(images.shape[0], 1, HEIGHT, int(widths.max()), device=images.device)
    for i in range(images.shape[0]):
        crop = images[i: i + 1, :, :, : CHAR_WIDTH * int(lengths[i])]
        out[i, :, :, : int(widths[i])] = F.interpolate(crop, size=(HEIGHT, int(widths[i])),
                                                       mode="bilinear", align_corners=False)[0]
    return out, widths


class HandwritingGAN(nn.Module):
    """The three networks plus the few-shot API: `style(samples)` then `write(texts, style)`."""

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        self.config = config
        self.encoder = StyleEncoder(config)
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)

    def encode_style(self, images: torch.Tensor, widths: torch.Tensor, counts: torch.Tensor,
                     char_width: torch.Tensor) -> "WriterStyle":
        """Batched style of B writers from padded (B, K, 1, 32, W) samples."""
        return WriterStyle(self.encoder(images, widths, counts), char_width)

    def generate(self, texts: Sequence[str], style: "WriterStyle", noise: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable batch: one text per style row; returns padded images and widths."""
        codes, lengths = encode_texts(texts, self.config.alphabet)
        if noise is None:
            noise = torch.randn(len(texts), self.config.noise_dim)
        raw = self.generator(codes, style.vector, noise)
        return stretch_to_widths(raw, lengths, style.char_width)

    @torch.no_grad()
    def style(self, samples: Sequence[tuple[np.ndarray, str]], recognizer: Recognizer | None = None
              ) -> "WriterStyle":
        """The style of one writer from labelled samples [(image, text), ...] (5–15 work well).

        With a `recognizer`, the writer's own letters are cut from the samples too (the copy path)."""
        if not samples:
            raise ValueError("need at least one labelled sample of the writer's hand")
        images, widths = pad_images([im for im, _ in samples])
        char_width = torch.tensor([float(widths.sum()) / sum(max(len(t), 1) for _, t in samples)])
        self.eval()
        style = self.encode_style(images[None], widths[None], torch.tensor([len(samples)]), char_width)
        if recognizer is not None:
            style.glyphs = GlyphBank.from_samples(samples, recognizer)
        return style

    @torch.no_grad()
    def write(self, texts: Sequence[str], style: "WriterStyle", seed: int | None = None,
              batch_size: int = 64) -> list[np.ndarray]:
        """Write every text in one writer's style; returns (32, W) float arrays (1 = paper).

        With the style's `glyphs`, words are set from the writer's own letters (see module doc)."""
        self.eval()
        out: list[np.ndarray] = []
        with torch.random.fork_rng(enabled=seed is not None):  # a seed fixes style and per-pixel noise alike
            if seed is not None:
                torch.manual_seed(seed)
            for start in range(0, len(texts), batch_size):
                chunk = list(texts[start: start + batch_size])
                noise = torch.randn(len(chunk), self.config.noise_dim)
                images, widths = self.generate(chunk, style.repeat(len(chunk)), noise)
                out += [images[i, 0, :, : int(w)].numpy().copy() for i, w in enumerate(widths)]
        if style.glyphs is None:
            return out
        return compose_readable(texts, style.glyphs, out, np.random.default_rng(seed))

    def save(self, path: str | Path) -> Path:
        """Save config and weights (the discriminator too, so training can continue) atomically."""
        with atomic_path(path) as tmp:
            torch.save({"config": asdict(self.config), "state": self.state_dict()}, tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "HandwritingGAN":
        """Load a saved GAN (the shipped checkpoint by default)."""
        path = Path(path) if path is not None else data_dir() / GAN_CHECKPOINT
        if not path.exists():
            raise FileNotFoundError(f"no GAN checkpoint at {path}; train one with padl_lib.handwriting.gan_train")
        blob = torch.load(path, map_location="cpu", weights_only=True)
        gan = cls(GanConfig(**blob["config"]))
        gan.load_state_dict(blob["state"])
        return gan.eval()


@dataclass
class WriterStyle:
    """A writer's style vector(s) (B, S), width per character (B,) and, for the copy path, letters."""

    vector: torch.Tensor
    char_width: torch.Tensor
    glyphs: GlyphBank | None = None

    def repeat(self, n: int) -> "WriterStyle":
        """The first writer's style repeated for n texts."""
        return WriterStyle(self.vector[:1].expand(n, -1), self.char_width[:1].expand(n), self.glyphs)
