"""Real-time classification with a BNN engine on a stream of real test images (the digits test
split, or any NCHW float32 frames): one frame at a time, frames per second as it goes."""
from __future__ import annotations

import io
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

__all__ = ["Frame", "FpsMeter", "classify_stream", "digit_png"]


@dataclass
class Frame:
    """One classified frame: the image, its true label (or None), the prediction, the engine's
    latency and the rolling frames per second of the whole loop."""
    index: int
    image: np.ndarray
    label: int | None
    predicted: int
    latency_ms: float
    fps: float


class FpsMeter:
    """Frames per second over the last `window` frames."""

    def __init__(self, window: int = 30) -> None:
        self.stamps: deque[float] = deque(maxlen=window)

    def tick(self) -> float:
        self.stamps.append(time.perf_counter())
        if len(self.stamps) < 2:
            return 0.0
        return (len(self.stamps) - 1) / (self.stamps[-1] - self.stamps[0])


def classify_stream(engine: Callable[[np.ndarray], np.ndarray], images: np.ndarray,
                    labels: np.ndarray | None = None, frames: int | None = None) -> Iterator[Frame]:
    """Classify `images` (N, C, H, W) one by one with `engine` (cycling when `frames` > N)."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be a non-empty NCHW batch, got shape {images.shape}")
    frames = len(images) if frames is None else frames
    meter = FpsMeter()
    for i in range(frames):
        image = images[i % len(images)][None]
        start = time.perf_counter()
        logits = engine(image)
        latency = (time.perf_counter() - start) * 1e3
        label = None if labels is None else int(labels[i % len(images)])
        yield Frame(i, image[0], label, int(np.argmax(logits)), latency, meter.tick())


def digit_png(image: np.ndarray, scale: int = 16) -> bytes:
    """A (1, H, W) or (H, W) image in [-1, 1] as a nearest-neighbour upscaled grey PNG."""
    from PIL import Image

    pixels = np.clip((np.squeeze(image) + 1) * 127.5, 0, 255).astype(np.uint8)
    picture = Image.fromarray(255 - pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale),
                                                   Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
