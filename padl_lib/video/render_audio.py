"""The audio side of a render, streamed: decode, cut sample-exactly, fade at every cut, encode.

Memory stays small however long the recording: the decoded track goes to a scratch file
(memory-mapped, float32 at the output's rate), and the kept spans are read from it, faded and
encoded block by block as the video is written. Before, an hour of 48 kHz stereo took 1.4 GB
of memory, and the cut copy as much again.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from padl_lib.video.media import Damage, MediaError, audio_stream, placed_samples

BLOCK_SECONDS = 5.0  # audio handed to the encoder at a time
INTEGER_SAMPLES = {"s16": np.int16, "s32": np.int32}  # encoders' integer sample formats (libmp3lame: s32p)
EXACT_SEEK_FORMATS = {"mov", "mp4"}  # their sample tables make timestamps after a seek exact
# timestamps after a seek may be a few ms off: Matroska's are in ms, Vorbis and Opus decoders add
# their own offsets (measured after seeks: AAC, AC3, FLAC, MP3, PCM 0.05-0.5 ms; Opus 1 ms; Vorbis 2.6-3.4 ms);
# in audio files and AVI, seeks 55 minutes in landed on the sample (WAV, MP3 CBR and VBR, FLAC, Ogg
# Vorbis and Opus, AC3, AVI with PCM or MP3)
DRAFT_SEEK_FORMATS = EXACT_SEEK_FORMATS | {"matroska", "webm", "mpegts", "wav", "mp3", "flac", "ogg", "ac3", "avi"}
SEEK_MARGIN = 2.0  # s decoded and dropped after a seek while the decoder rebuilds its state (AAC, Opus pre-roll)
__all__ = ["decode_track", "apply_fades", "cut_blocks", "encode_blocks"]


def decode_track(container, scratch: BinaryIO, rate: int | None = None, since: float = 0.0,
                 until: float | None = None, exact: bool = True, track: int = 0) -> tuple[np.ndarray, int, str, int]:
    """Audio track `track` as float32 (channels, samples), memory-mapped from the open binary
    file `scratch`; its rate (`rate` if given, else the track's own), layout (mono, or stereo
    for two channels or more) and the track sample the array starts at (times here are the
    track's own, from its first sample). Only the samples from `since` seconds on are kept, and
    decoding stops once `until` seconds are decoded (a preview late in a long lecture needs
    neither the hour before it nor after it); where the container seeks sample-exactly (MP4,
    MOV), decoding starts shortly before `since`, as `ffmpeg -ss` does. (AAC's noise
    substitution draws its noise at random, so such bands then decode to other noise of the same
    spectrum.) Without `exact`, decoding also starts from a seek in Matroska, WebM, MPEG-TS,
    audio files and AVI, where the samples may lie a few ms off (DRAFT_SEEK_FORMATS)."""
    stream = audio_stream(container, track, together=False)
    rate = rate or stream.codec_context.sample_rate
    channels = 1 if stream.codec_context.channels == 1 else 2
    layout = "mono" if channels == 1 else "stereo"
    first, limit = int(since * rate), None if until is None else int(until * rate)
    damage = Damage("audio", float((stream.start_time or 0) * stream.time_base))
    try:
        if not _seek_near(container, stream, since, EXACT_SEEK_FORMATS if exact else DRAFT_SEEK_FORMATS):
            count = _decode(container, stream, scratch, rate, layout, first, limit, False, damage)
        elif not (count := _decode(container, stream, scratch, rate, layout, first, limit, True, damage)):
            scratch.seek(0)  # the seek landed too late (or past the end): from the start, freshly opened
            scratch.truncate()
            damage = Damage("audio", damage.origin)
            with av.open(container.name) as again:
                count = _decode(again, audio_stream(again, track, together=False), scratch, rate, layout, first, limit,
                                False, damage)
    except av.error.FFmpegError as exc:
        raise MediaError(f"the audio track is corrupt: {exc}") from exc
    damage.check(Path(container.name).name)
    if not count:
        raise MediaError("the audio track holds no samples")
    first = min(first, count)
    scratch.flush()
    samples = np.memmap(scratch, dtype=np.float32, mode="r", shape=(count - first, channels)) if count > first \
        else np.zeros((0, channels), np.float32)
    return samples.T, rate, layout, first


def _seek_near(container, stream, since: float, formats: set[str]) -> bool:
    """Seek the audio SEEK_MARGIN s before `since` if the container is one of `formats`; say
    whether it did."""
    if since <= 2 * SEEK_MARGIN or not set(container.format.name.split(",")) & formats:
        return False
    container.seek((stream.start_time or 0) + int((since - SEEK_MARGIN) / stream.time_base), stream=stream,
                   backward=True)
    return True


def _decode(container, stream, scratch: BinaryIO, rate: int, layout: str, first: int, limit: int | None,
            seeked: bool, damage: Damage) -> int | None:
    """Decode (from where the container stands) into `scratch`, keeping samples from track sample
    `first` on, passing over corrupt packets (`damage`); return the track sample decoding
    reached, or None if a seek landed after `first`."""
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
    frames, origin, count = damage.frames(container, stream), None, 0
    if seeked:  # the track sample the first frame starts at
        origin = float((stream.start_time or 0) * stream.time_base)
        frame = next(frames, None)
        at = None if frame is None or frame.time is None else round((frame.time - origin) * rate)
        if at is None or at > first - int(SEEK_MARGIN / 2 * rate):
            return None
        frames, count = itertools.chain([frame], frames), at
    for samples in placed_samples(frames, resampler, origin, at=count):
        count += _append(scratch, samples, skip=first - count)
        if limit is not None and count >= limit:
            return count
    return count


def _append(scratch: BinaryIO, samples: np.ndarray, skip: int = 0) -> int:
    """Write `samples` (channels, n) but the first `skip`, interleaved, to `scratch`; return n."""
    if skip < samples.shape[1]:
        scratch.write(np.ascontiguousarray(samples[:, max(0, skip):].T, dtype=np.float32).tobytes())
    return samples.shape[1]


def _ramp(n: int) -> np.ndarray:
    """A raised-cosine fade-in of n samples."""
    return (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n, endpoint=False))).astype(np.float32)


def _fade_block(block: np.ndarray, offset: int, length: int, ramp: np.ndarray, fade_in: bool,
                fade_out: bool) -> None:
    """Fade, in place, the samples [offset, offset + block width) of a piece of `length` samples:
    in over its first and out over its last len(ramp) samples."""
    m, width = len(ramp), block.shape[1]
    if fade_in and offset < m:
        k = min(m - offset, width)
        block[:, :k] *= ramp[offset:offset + k]
    if fade_out and offset + width > length - m:
        first = max(length - m, offset)
        block[:, first - offset:] *= ramp[::-1][first - (length - m):offset + width - (length - m)]


def apply_fades(pieces: list[np.ndarray], rate: int, fade: float, fade_first: bool = True,
                fade_last: bool = True) -> np.ndarray:
    """Join audio pieces (channels, samples) with a raised-cosine fade out/in of `fade` s at every cut."""
    n = int(round(fade * rate))
    out = []
    for k, piece in enumerate(pieces):
        piece = piece.copy()
        m = min(n, piece.shape[1] // 2)
        if m:
            _fade_block(piece, 0, piece.shape[1], _ramp(n)[:m], k > 0 or fade_first, k < len(pieces) - 1 or fade_last)
        out.append(piece)
    return np.concatenate(out, axis=1) if out else np.zeros((1, 0), np.float32)


def cut_blocks(audio: np.ndarray, rate: int, spans: Sequence[tuple[float, float]], fade: float
               ) -> Iterator[np.ndarray]:
    """The audio of `spans` joined with fades, as blocks (channels, samples) of at most
    BLOCK_SECONDS; samples outside the track are silence."""
    total, n, block = audio.shape[1], int(round(fade * rate)), int(BLOCK_SECONDS * rate)
    for k, (a, b) in enumerate(spans):
        i, j = int(round(a * rate)), int(round(b * rate))
        ramp = _ramp(n)[:min(n, max(0, j - i) // 2)]
        fade_in = k > 0 or i > 0  # no fade at the very start or end of the recording
        fade_out = k < len(spans) - 1 or j < total
        for s in range(i, j, block):
            e = min(s + block, j)
            piece = np.zeros((audio.shape[0], e - s), np.float32)
            lo, hi = max(s, 0), min(e, total)
            if hi > lo:
                piece[:, lo - s:hi - s] = audio[:, lo:hi]
            if len(ramp):
                _fade_block(piece, s - i, j - i, ramp, fade_in, fade_out)
            yield piece


def encode_blocks(stream, blocks: Iterable[np.ndarray], layout: str) -> Iterator[av.Packet]:
    """Encode audio blocks (channels, samples) with `stream`'s encoder, frame by frame."""
    size = stream.codec_context.frame_size or 1024
    fmt = stream.codec_context.format.name
    rate = stream.codec_context.sample_rate
    pending, pos = np.zeros((1 if layout == "mono" else 2, 0), np.float32), 0
    for block in itertools.chain(blocks, [None]):
        pending = pending if block is None else np.concatenate([pending, block], axis=1)
        while pending.shape[1] >= size or (block is None and pending.shape[1]):
            chunk, pending = pending[:, :size], pending[:, size:]
            yield from stream.encode(_frame(chunk, fmt, layout, rate, pos))
            pos += chunk.shape[1]
    yield from stream.encode(None)


def _frame(chunk: np.ndarray, fmt: str, layout: str, rate: int, pts: int) -> av.AudioFrame:
    """Samples (channels, n) in [-1, 1] as a frame in the encoder's sample format."""
    sample = fmt.removesuffix("p")
    if sample in INTEGER_SAMPLES:
        kind = INTEGER_SAMPLES[sample]
        chunk = (np.clip(chunk, -1, 1) * np.iinfo(kind).max).astype(kind)
    elif sample == "dbl":
        chunk = chunk.astype(np.float64)
    chunk = np.ascontiguousarray(chunk if fmt.endswith("p") else chunk.T.reshape(1, -1))
    frame = av.AudioFrame.from_ndarray(chunk, format=fmt, layout=layout)
    frame.sample_rate = rate
    frame.pts, frame.time_base = pts, Fraction(1, rate)
    return frame
