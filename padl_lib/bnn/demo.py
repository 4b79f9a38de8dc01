"""Real-time classification with a BNN engine on a stream of real images — a camera when one is
present, else the digits test split (or any NCHW float32 frames) — one frame at a time, with the
frames per second as it goes."""
from __future__ import annotations

import io
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["Frame", "FpsMeter", "classify_stream", "camera_available", "camera_frames", "camera_to_digit", "digit_png"]


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


def classify_stream(engine: Callable[[np.ndarray], np.ndarray], images: np.ndarray | Iterable[np.ndarray],
                    labels: np.ndarray | None = None, frames: int | None = None) -> Iterator[Frame]:
    """Classify images one by one with `engine`: an NCHW batch (cycled when `frames` exceeds it,
    labels optional) or a live iterable of CHW frames such as `camera_frames()` (no labels)."""
    if isinstance(images, np.ndarray):
        batch = np.asarray(images, dtype=np.float32)
        if batch.ndim != 4 or len(batch) == 0:
            raise ValueError(f"images must be a non-empty NCHW batch, got shape {batch.shape}")
        frames = len(batch) if frames is None else frames
        source = (batch[i % len(batch)] for i in range(frames))
    else:
        if labels is not None:
            raise ValueError("labels are only known for a batch of images, not for a live stream")
        source = iter(images) if frames is None else (f for _, f in zip(range(frames), images))
    meter = FpsMeter()
    for i, image in enumerate(source):
        image = np.asarray(image, dtype=np.float32)[None]
        start = time.perf_counter()
        logits = engine(image)
        latency = (time.perf_counter() - start) * 1e3
        label = None if labels is None else int(labels[i % len(labels)])
        yield Frame(i, image[0], label, int(np.argmax(logits)), latency, meter.tick())


def camera_available(device: int = 0) -> bool:
    """Whether a V4L2 camera device exists (e.g. a Pi camera or a USB webcam)."""
    return Path(f"/dev/video{device}").exists()


def camera_to_digit(bgr: np.ndarray, size: tuple[int, int] = (8, 8)) -> np.ndarray:
    """A camera frame of a digit written dark on light paper -> a (1, H, W) image in the digits'
    encoding (ink +1, paper -1): centre square crop, area downscale, contrast stretch."""
    import cv2

    if bgr.ndim != 3 or bgr.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 BGR frame, got shape {bgr.shape}")
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    h, w = gray.shape
    side = min(h, w)
    crop = gray[(h - side) // 2:(h + side) // 2, (w - side) // 2:(w + side) // 2]
    small = cv2.resize(crop, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    ink = small.max() - small
    return (ink / max(float(ink.max()), 1e-6) * 2.0 - 1.0)[None].astype(np.float32)


def camera_frames(device: int = 0, size: tuple[int, int] = (8, 8)) -> Iterator[np.ndarray]:
    """Live frames from a camera (OpenCV), converted by `camera_to_digit`."""
    import cv2

    capture = cv2.VideoCapture(device)
    if not capture.isOpened():
        raise RuntimeError(f"cannot open the camera /dev/video{device}")
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                raise RuntimeError(f"the camera /dev/video{device} stopped delivering frames")
            yield camera_to_digit(bgr, size)
    finally:
        capture.release()


def digit_png(image: np.ndarray, scale: int = 16) -> bytes:
    """A (1, H, W) or (H, W) image in [-1, 1] as a nearest-neighbour upscaled grey PNG."""
    from PIL import Image

    pixels = np.clip((np.squeeze(image) + 1) * 127.5, 0, 255).astype(np.uint8)
    picture = Image.fromarray(255 - pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale),
                                                   Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
