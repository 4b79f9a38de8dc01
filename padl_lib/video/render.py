"""Render an edit list: frame-exact cuts, short audio fades at every cut, optional hidden transitions.

One pass through PyAV. Audio is decoded once (to a scratch file, `render_audio`), cut
sample-exactly at the edit's own times (a cut between two words in connected speech must not
move a frame into a deleted word) with raised-cosine fades at every cut (`fade` seconds,
5-20 ms) and encoded to AAC as the video is written. The video samples the edited timeline
at its frame rate (`sync_spans`, `FrameClock`): every output frame shows the source frame on
screen at its centre, so lip sync stays within half a frame without drift, also for variable
frame rate recordings and video tracks that start after their audio. Video takes one of two ways:

- *smart render* (default, H.264 sources with closed GOPs, MP4/MOV output): whole GOPs
  inside the kept spans are stream-copied and only the frames at span edges re-encoded
  (`padl_lib.video.smart`);
- *re-encode*: the kept frames are decoded (seeking to the keyframe before each span instead of
  decoding cut material) and encoded with libx264 `ultrafast`; used for other sources and when
  a transition is asked for.

Hidden transitions at jump cuts (Berthouzoz et al. 2012) replace the frames around a cut by an
interpolation between the last frame before and the first frame after them: a cross-dissolve,
or a morph that warps both frames along their optical flow (OpenCV Farneback). Audio is not
touched by transitions, so the output length equals the edit's. `render_bench` measures the
speed against a plain `ffmpeg -preset ultrafast` re-encode of the kept material.
"""
from __future__ import annotations

import contextlib
import functools
import heapq
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from padl_lib.io import atomic_path
from padl_lib.progress import Progress, report
from padl_lib.video.media import (SAMPLE_RATE, Damage, MediaError, _open, audio_stream, packet_end, probe,
                                  seek_keyframe, track_offset, video_stream)
from padl_lib.video.render_audio import cut_blocks, decode_track, encode_blocks
from padl_lib.video.smart import index_video, tag_colours, write_smart_video, x264_options

TRANSITIONS = ("none", "dissolve", "morph")
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".m4a": "mp4",
              ".wav": "wav", ".mp3": "mp3", ".flac": "flac", ".ogg": "ogg"}
AUDIO_ONLY = {".m4a", ".wav", ".mp3", ".flac", ".ogg"}
RENDER_COMMENT = "rendered by padl"  # the container comment of every render
TIME_BASE = Fraction(1, 90_000)  # output video timestamps (the MPEG clock)
LONGEST_SLOT = 0.042  # s: output frames start on a grid at least this fine (24 fps); see `slot_rate`
UNTAGGED = (0, 2)  # FFmpeg's AVCOL_SPC_RGB and _UNSPECIFIED: YUV<->RGB then uses swscale's default (BT.601)
LIMITED_RANGE, FULL_RANGE = 1, 2  # FFmpeg's AVCOL_RANGE_MPEG (luma 16-235, as output) and _JPEG (0-255)
END_SLACK = 0.1  # s a span may end after the media (its tracks' ends differ by a frame or an audio block)
SMART = {".mp4", ".m4v", ".mov"}  # containers that carry an avcC with several parameter sets
AUDIO_CODECS = {".wav": "pcm_s16le", ".mp3": "libmp3lame", ".flac": "flac", ".ogg": "libopus", ".webm": "libopus"}
# lossy audio is asked for this rate per channel (encoders lower it to what they can code at a low
# sample rate). Their defaults: MP3 24 kbps for 16 kHz speech (coding noise 12 dB under the voice;
# 26 dB at this rate), AAC ~64 kbps per channel (17 dB under a 44.1 kHz voice; 25 dB at this rate)
LOSSY_BIT_RATE_PER_CHANNEL = 128_000
# video encoder and its options by output suffix (default: x264 ultrafast); `crf` is added to the options
VIDEO_ENCODERS = {".webm": ("libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "b:v": "0"})}
X264 = ("libx264", {"preset": "ultrafast"})
SQUARE_PIXELS = {".webm"}  # outputs whose pixels are square
__all__ = ["RenderResult", "FrameClock", "render", "written_by_render", "video_start", "recording_length",
           "frame_grid", "frame_rate", "slot_rate", "slot_seconds", "snap_spans", "sync_spans", "span_frame_counts",
           "transition_windows", "frame_ranges", "TRANSITIONS"]


@dataclass(frozen=True)
class RenderResult:
    """What was written: the output path, its length, frames, the frame-snapped spans, and how."""

    path: Path
    duration: float
    frames: int
    spans: list[tuple[float, float]]
    strategy: str = ""


# --- timing -----------------------------------------------------------------------------------
def _origin(container) -> float:
    """Media time zero (the first audio sample, as in `load_audio`) in container seconds."""
    stream = container.streams.audio[0] if container.streams.audio else video_stream(container)
    return float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0


def _packet_length(media: str | os.PathLike) -> float:
    """How long `media` lasts in media seconds by the end of its last audio or video packet: what
    a container that does not say (streamed WebM) or only estimates (raw AAC, VBR MP3 without a
    header) really holds. Reads the packets, decodes nothing."""
    with _open(media) as container:
        streams = [s for s in (*container.streams.audio[:1], video_stream(container)) if s is not None]
        end = max((packet_end(p) for p in container.demux(*streams) if p.pts is not None), default=0.0)
        return end - _origin(container)


def video_start(media: str | os.PathLike) -> float:
    """Where the video's first frame is shown, in media seconds (below 0 for video that starts
    before the audio)."""
    with _open(media) as container:
        stream = video_stream(container)
        if stream is None:
            raise MediaError(f"{media} has no video stream")
        first = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        return first - _origin(container)


def recording_length(media: str | os.PathLike, audio: np.ndarray) -> float:
    """How long `media` lasts in media seconds: its 16 kHz `audio`, or its picture where that
    runs on after the sound (a screencast whose microphone stopped first)."""
    sound = len(audio) / SAMPLE_RATE
    return max(sound, float(frame_grid(media)[-1])) if probe(media).has_video else sound


def frame_grid(media: str | os.PathLike) -> np.ndarray:
    """Start times of every video frame in media seconds, plus the end of the last frame.

    Read from the packets (no decoding; kept for the last few files, by size and modification
    time, since an app renders previews of one recording again and again); frame 0 is taken to
    start at 0 so that a cut at the very beginning keeps the first frame.
    """
    path = Path(media)
    stat = path.stat() if path.is_file() else None
    version = (stat.st_size, stat.st_mtime_ns) if stat else (-1, -1)
    return _frame_grid(str(path.resolve()), *version).copy()


@functools.lru_cache(maxsize=8)
def _frame_grid(media: str, size: int, mtime_ns: int) -> np.ndarray:
    with _open(media) as container:
        stream = video_stream(container)
        if stream is None:
            raise MediaError(f"{media} has no video stream")
        origin, tb = _origin(container), float(stream.time_base)
        stamps, last_duration = [], 0.0
        for packet in container.demux(stream):
            if packet.pts is not None and not packet.is_discard:  # discarded: cut by an edit list
                stamps.append(packet.pts * tb - origin)
                last_duration = (packet.duration or 0) * tb
    if not stamps:
        raise MediaError(f"{media}: the video stream holds no frames")
    stamps.sort()
    if not last_duration:
        last_duration = (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1)
    grid = np.array(stamps + [stamps[-1] + last_duration])
    grid[0] = min(grid[0], 0.0)
    return grid


def frame_rate(grid: np.ndarray) -> Fraction:
    """The nominal frame rate of a frame grid (from the median frame duration, e.g. 30 or 30000/1001)."""
    return Fraction(1 / float(np.median(np.diff(grid)))).limit_denominator(1001)


def snap_spans(spans: Sequence[tuple[float, float]], grid: np.ndarray) -> list[tuple[float, float]]:
    """Move every span edge to the nearest frame boundary; drop spans that become empty."""
    def nearest(t: float) -> float:
        return float(grid[np.argmin(np.abs(grid - t))])

    snapped = [(nearest(a), nearest(b)) for a, b in spans]
    return [(a, b) for a, b in snapped if b > a]


def slot_rate(grid: np.ndarray) -> Fraction:
    """The output's slots per second: the nominal frame rate, times the number of slots each frame
    is split into where it lasts longer than LONGEST_SLOT (slow or held video, e.g. a screen
    recording that only writes a frame when the screen changes), so that frames stay within half
    a slot of their audio."""
    rate = frame_rate(grid)
    return rate * max(1, math.ceil(1 / (float(rate) * LONGEST_SLOT)))


def slot_seconds(grid: np.ndarray) -> float:
    """The output's frame slot (s): see `slot_rate`."""
    return 1 / float(slot_rate(grid))


def _on_screen(a: float, b: float, offset: float, grid: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """The source frames shown for audio span (a, b) placed at output second `offset`, and the
    output slot (of `step` seconds) each starts in.

    The output samples the edited timeline at slot centres: a frame is shown from the first
    slot whose centre falls while it is on screen (its source interval clipped to the span),
    so it is never more than half a slot off its audio. Frames at the span's ends that no centre
    falls on are left out; one inside the span (a variable frame rate burst) is kept, placed
    evenly between its neighbours' slots."""
    first = max(0, int(np.searchsorted(grid, a, side="right")) - 1)
    index = np.arange(first, min(int(np.searchsorted(grid, b, side="left")), len(grid) - 1))  # frames near (a, b)
    lo, hi = np.maximum(grid[index], a), np.minimum(grid[index + 1], b)
    index, lo, hi = index[hi > lo], lo[hi > lo], hi[hi > lo]
    # in slots, rounded so that an edge on a slot centre (word times in ms meet 1/30 s slots
    # there often) counts for the frame that starts on it, whatever the float error
    x0, x1 = np.round((offset + lo - a) / step, 6), np.round((offset + hi - a) / step, 6)
    slot = np.ceil(x0 - 0.5)
    centred = np.flatnonzero(slot + 0.5 < x1)
    if not len(centred):
        return index[:0], slot[:0]
    index, slot = index[centred[0]:centred[-1] + 1], slot[centred[0]:centred[-1] + 1]
    if len(centred) < len(index):  # a frame without a centre of its own, between its neighbours
        slot = np.interp(np.arange(len(index)), centred - centred[0], slot[centred - centred[0]])
    return index, slot


def sync_spans(spans: Sequence[tuple[float, float]], grid: np.ndarray
               ) -> tuple[list[tuple[tuple[float, float], tuple[float, float]]], "FrameClock"]:
    """(audio span, video span) pairs for exact `spans`, and the clock of their frames: the
    audio keeps the exact times; the video span holds the frames shown while it plays
    (`_on_screen`: each frame that is on screen at an output frame's centre), so a frame held
    long (a variable frame rate recording's still screen, the first frame of a video track that
    starts after its audio) counts by its visible part. Spans that show no frame are dropped
    from both; ValueError if none is left."""
    step = slot_seconds(grid)
    pairs, slots, offset = [], [], 0.0
    for a, b in spans:
        index, starts = _on_screen(a, b, offset, grid, step)
        if len(index):
            pairs.append(((a, b), (float(grid[index[0]]), float(grid[index[-1] + 1]))))
            slots.extend(starts)
            offset += b - a
    if not pairs:
        raise ValueError("every span is shorter than a video frame")
    end = max(slots[-1] + 1, round(offset / step))
    return pairs, FrameClock(np.array(slots + [end]) * step, step)


# --- video ------------------------------------------------------------------------------------
def _span_frames(container, stream, spans: Sequence[tuple[float, float]], origin: float, grid: np.ndarray,
                 damage: Damage) -> Iterator[av.VideoFrame]:
    """Decoded frames inside each span in turn, one a frame of the `grid` there: where the decoder
    refused a corrupt packet (`damage`), the frame before stands in for the lost one (at a span's
    start, the first one after it). Seeks only for jumps back or far ahead."""
    tb = float(stream.time_base)
    eps = tb / 2  # span edges are frame times: a frame one tick away (a near-duplicate stamp) is another
    starts, slot_eps = grid[:-1], edge_tolerance(grid)
    decoder, carry, carry_t = None, None, 0.0  # carry: the first decoded frame past the last span
    for a, b in spans:
        if decoder is None or carry is None or a < carry_t - eps or a > carry_t + 2.0:
            seek_keyframe(container, stream, int((a + origin) / tb))
            decoder, carry = damage.frames(container, stream), None
        slots = starts[(starts >= a - slot_eps) & (starts < b - slot_eps)]
        shown, held, lost = 0, None, 0  # slots filled; the last frame shown; slots lost before the first
        while True:
            frame, carry = (carry, None) if carry is not None else (next(decoder, None), None)
            if frame is None:
                break
            t = frame.pts * tb - origin
            if t >= b - eps:
                carry, carry_t = frame, t
                break
            if t >= a - eps:
                # the slots before the one this frame starts in were lost (frame 0 may start after its slot)
                while shown + lost + 1 < len(slots) and slots[shown + lost + 1] <= t + slot_eps:
                    if held is None:
                        lost += 1
                    else:
                        yield held
                        shown += 1
                for _ in range(lost + 1):
                    yield frame
                shown, held, lost = shown + lost + 1, frame, 0
        for _ in range(len(slots) - shown if held is not None else 0):  # lost at the span's end
            yield held


def span_frame_counts(spans: Sequence[tuple[float, float]], grid: np.ndarray) -> list[int]:
    """How many frames of the grid start inside each span."""
    starts, eps = grid[:-1], edge_tolerance(grid)
    return [int(np.count_nonzero((starts >= a - eps) & (starts < b - eps))) for a, b in spans]


def edge_tolerance(grid: np.ndarray) -> float:
    """How far (s) a span edge may lie from a frame time and still be taken for it: 0.1 ms, or
    less where two frames are stamped closer (a capture's near-duplicate stamps)."""
    gaps = np.diff(grid)
    return float(min(1e-4, gaps[gaps > 0].min(initial=1.0) / 2))


def _blend(first: np.ndarray, last: np.ndarray, alpha: float) -> np.ndarray:
    return (first.astype(np.float32) * (1 - alpha) + last.astype(np.float32) * alpha).astype(np.uint8)


def _morph(first: np.ndarray, last: np.ndarray, alphas: Sequence[float]) -> list[np.ndarray]:
    """Frames warped along the optical flow between `first` and `last` (Farneback, half size)."""
    import cv2

    h, w = first.shape[:2]
    small = [cv2.cvtColor(cv2.resize(im, (w // 2, h // 2)), cv2.COLOR_RGB2GRAY) for im in (first, last)]
    flow = cv2.calcOpticalFlowFarneback(small[0], small[1], None, 0.5, 3, 21, 3, 5, 1.1, 0)
    flow = cv2.resize(flow, (w, h)) * 2
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    frames = []
    for alpha in alphas:
        from_first = cv2.remap(first, gx - alpha * flow[..., 0], gy - alpha * flow[..., 1], cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
        from_last = cv2.remap(last, gx + (1 - alpha) * flow[..., 0], gy + (1 - alpha) * flow[..., 1],
                              cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        frames.append(_blend(from_first, from_last, alpha))
    return frames


def _interpolate(first: np.ndarray, last: np.ndarray, kind: str, n: int) -> list[np.ndarray]:
    """`n` frames between `first` and `last`: a cross-dissolve or an optical-flow morph."""
    alphas = [(i + 1) / (n + 1) for i in range(n)]
    return _morph(first, last, alphas) if kind == "morph" else [_blend(first, last, a) for a in alphas]


@dataclass(frozen=True)
class FrameClock:
    """Output times of the rendered frames (made by `sync_spans`), in sync with the audio: each
    frame starts at its output slot (`_on_screen`, `slot_seconds`: the nominal frame grid for
    most video), within half a slot of its audio and without drift however many cuts there are;
    variable frame rate recordings and video tracks that start after their audio included. The
    video lasts as long as the audio. `ticks(i)` is frame i's time in `TIME_BASE` units
    (extrapolated by one slot outside the frames)."""

    times: np.ndarray  # output seconds of every frame, then the end of the last one
    step: float  # one slot (s)

    def seconds(self, i: int) -> float:
        last = len(self.times) - 1
        if i < 0:
            return float(self.times[0]) + i * self.step
        return float(self.times[i]) if i <= last else float(self.times[last]) + (i - last) * self.step

    def ticks(self, i: int) -> int:
        return round(self.seconds(i) / TIME_BASE)


def transition_windows(counts: Sequence[int], half: int) -> list[tuple[int, int]]:
    """Output frame ranges [start, end) around each cut that a transition replaces.

    A window needs one untouched frame on each side; cuts too close to each other or to the
    ends keep a plain cut.
    """
    windows: list[tuple[int, int]] = []
    cut, total = 0, sum(counts)
    for n in counts[:-1]:
        cut += n
        start, end = cut - half, cut + half
        if half > 0 and start >= 1 and end < total and (not windows or start - 1 > windows[-1][1]):
            windows.append((start, end))
    return windows


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    """The frame as RGB, read with its own matrix and range (the transitions blend in RGB)."""
    return frame.to_ndarray(format="rgb24", src_color_range=frame.color_range)


def _with_transitions(frames: Iterator[av.VideoFrame], kind: str, windows: list[tuple[int, int]],
                      ) -> Iterator[av.VideoFrame | np.ndarray]:
    """Replace the frames of each window by interpolations (RGB arrays) between its neighbours."""
    pending = list(windows)
    before = None
    for i, frame in enumerate(frames):
        if pending and i == pending[0][0] - 1:
            before = _rgb(frame)
        if pending and pending[0][0] <= i < pending[0][1]:
            continue
        if pending and i == pending[0][1]:
            after = _rgb(frame)
            start, end = pending.pop(0)
            yield from _interpolate(before, after, kind, end - start)
        yield frame


def _video_stream(output, source_stream, rate: Fraction, crf: int, suffix: str):
    ctx = source_stream.codec_context
    codec, options = VIDEO_ENCODERS.get(suffix, X264)
    stream = output.add_stream(codec, rate=rate)
    width, sar = ctx.width, ctx.sample_aspect_ratio
    # an anamorphic recording's pixels are not square (PAL 16:9 stores 720x576, shown as 1024x576);
    # H.264 keeps that shape, VP9 has no field for it and WebM's is not reachable: square pixels there
    if suffix in SQUARE_PIXELS and sar and sar != 1:
        width, sar = round(width * sar), None
    stream.width, stream.height = width - width % 2, ctx.height - ctx.height % 2
    if sar:
        stream.codec_context.sample_aspect_ratio = sar
    stream.pix_fmt = "yuv420p"
    # frames keep their matrix and transfer when reformatted (BT.601 SD, BT.709 HD, BT.2020 HDR) and
    # are converted to limited range (`_write_reencoded`): the output says so
    tag_colours(stream.codec_context, ctx, LIMITED_RANGE)
    # an interlaced source (DV, broadcast TV) keeps its fields; VP9 codes only whole frames
    stream.options = {**options, "crf": str(crf), **(x264_options(ctx.field_order) if codec == X264[0] else {})}
    stream.codec_context.time_base = Fraction(1, 1) / rate
    stream.time_base = TIME_BASE
    return stream


def _keeping_orientation(frames: Iterator, stream) -> Iterator:
    """`frames`, after giving `stream` the display matrix of the first (a phone's portrait video is
    stored sideways, with a matrix that turns it upright)."""
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        return
    matrix = next((bytes(d) for d in getattr(first, "side_data", ()) if d.type.name == "DISPLAYMATRIX"), None)
    if matrix is not None:
        stream.set_display_matrix(list(np.frombuffer(matrix, dtype="<i4")))
    yield first
    yield from frames


# --- render -----------------------------------------------------------------------------------
def _write_reencoded(source, video_in, out, spans, grid, origin, clock: FrameClock, crf, transition,
                     transition_seconds, on_frame, suffix: str, damage: Damage) -> int:
    """Decode the spans (passing over corrupt packets: `damage`), apply transitions, encode (x264
    ultrafast; VP9 realtime for .webm); return the frame count."""
    # the stream's declared rate (H.264's timing info) is its slots', on which the frames lie
    video_out = _video_stream(out, video_in, slot_rate(grid), crf, suffix)
    half = int(round(transition_seconds * frame_rate(grid) / 2)) if transition != "none" else 0
    frames = _with_transitions(_span_frames(source, video_in, spans, origin, grid, damage), transition,
                               transition_windows(span_frame_counts(spans, grid), half))

    def mux(packets) -> None:
        for packet in packets:  # encoder timestamps count frames; give them the frames' own times
            shown, decoded = packet.pts, packet.dts
            packet.pts, packet.dts = clock.ticks(shown), clock.ticks(decoded)
            packet.duration, packet.time_base = clock.ticks(shown + 1) - clock.ticks(shown), TIME_BASE
            out.mux(packet)

    frames = _keeping_orientation(frames, video_out)
    # transition frames (RGB) go back to YUV with the source's matrix, as `_rgb` read them
    tagged = video_in.codec_context.colorspace
    matrix = {} if tagged in UNTAGGED else {"dst_colorspace": tagged}
    count = 0
    for frame in frames:
        if isinstance(frame, np.ndarray):
            frame = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv420p", **matrix)
        full = {"src_color_range": FULL_RANGE, "dst_color_range": LIMITED_RANGE} \
            if frame.color_range == FULL_RANGE else {}  # else untouched: no conversion pass
        frame = frame.reformat(width=video_out.width, height=video_out.height, format="yuv420p", **full)
        frame.pts, frame.time_base = count, video_out.codec_context.time_base
        mux(video_out.encode(frame))
        count += 1
        on_frame(count)
    mux(video_out.encode(None))
    return count


def _why_reencode(index, smart: bool, transition: str, suffix: str) -> str:
    if not smart:
        return "smart render off"
    if transition != "none":
        return f"{transition} transitions"
    if suffix not in SMART:
        return f"{suffix} output"
    return index.blocker or "frame index mismatch"


def frame_ranges(spans: Sequence[tuple[float, float]], grid: np.ndarray) -> list[tuple[int, int]]:
    """Source frame index ranges [first, end) of frame-snapped spans."""
    starts, eps = grid[:-1], edge_tolerance(grid)
    return [(int(np.searchsorted(starts, a - eps)), int(np.searchsorted(starts, b - eps))) for a, b in spans]


def render(media: str | os.PathLike, spans: Sequence[tuple[float, float]], output: str | os.PathLike, *,
           fade: float = 0.01, transition: str = "none", transition_seconds: float = 0.2, crf: int = 23,
           smart: bool = True, draft: bool = False, audio_track: int = 0,
           progress: Progress | None = None) -> RenderResult:
    """Write the kept `spans` (media seconds, in output order) of `media` to `output`.

    Audio is cut at the spans' exact times, video on frames in sync with it (`sync_spans`); every
    cut gets a `fade`-second audio fade (5-20 ms);
    `transition` ("none", "dissolve", "morph") hides jump cuts over `transition_seconds`.
    With `smart` (and no transition), whole GOPs inside the spans of an H.264 source are copied
    and only the span edges re-encoded (`padl_lib.video.smart`); otherwise every frame is
    re-encoded. The output's container follows its suffix (.mp4, .mov, .mkv with H.264 and AAC;
    .webm with VP9 and Opus; audio-only: .m4a, .wav, .mp3, .flac, .ogg with Opus). The source is never
    overwritten and the output appears atomically.
    `draft` (previews of a few seconds) trades exactness for speed: every frame is re-encoded (no
    GOP index), and audio late in the recording is decoded from a seek also where the container's
    timestamps may then be a few ms off (Matroska, WebM, MPEG-TS, audio files, AVI: `decode_track`).
    `audio_track` (0-based) is the transcript's track: an audio file or a preview keeps its sound, a
    video keeps every audio track (OBS records the microphone and the desktop's sound on tracks
    of their own), each cut alike.
    """
    media, output = Path(media), Path(output)
    if transition not in TRANSITIONS:
        raise ValueError(f"unknown transition {transition!r}: choose one of {', '.join(TRANSITIONS)}")
    if not 0.005 <= fade <= 0.02:
        raise ValueError(f"fade must be 5-20 ms, not {fade * 1000:.1f} ms")
    suffix = output.suffix.lower()
    if suffix not in CONTAINERS:
        raise ValueError(f"unsupported output type {output.suffix!r}: use one of {', '.join(CONTAINERS)}")
    spans = [(float(a), float(b)) for a, b in spans]
    if not spans or any(b <= a for a, b in spans):  # a start may be < 0: video that begins before the audio
        raise ValueError("render needs at least one span, each with end > start")
    length = probe(media).duration
    if any(b > length + END_SLACK for _, b in spans):  # the container's figure may be missing or an estimate
        length = _packet_length(media)
    beyond = [(a, b) for a, b in spans if b > length + END_SLACK]
    if beyond:
        raise ValueError(f"span {beyond[0][0]:.2f}-{beyond[0][1]:.2f} s ends after {media.name}, which lasts "
                         f"{length:.2f} s")
    with _open(media) as source:
        video_in = video_stream(source) if suffix not in AUDIO_ONLY else None
        audio_in = audio_stream(source, audio_track) if source.streams.audio else None
        if video_in is None and audio_in is None:
            raise MediaError(f"{media} has nothing to render for a {suffix} file (no audio track)")
        origin = _origin(source)
        audio_spans = spans
        if video_in is not None:
            grid = frame_grid(media)
            grid[-1] = max(grid[-1], max(b for _, b in spans))  # the last frame stays while the audio goes on
            pairs, clock = sync_spans(spans, grid)
            audio_spans, spans = [a for a, _ in pairs], [v for _, v in pairs]
        duration = sum(b - a for a, b in audio_spans)
        with atomic_path(output, protect=(media,)) as tmp, av.open(str(tmp), "w", format=CONTAINERS[suffix]) as out, \
                contextlib.ExitStack() as scratch:  # decoded audio, and the containers of further tracks
            out.metadata["comment"] = RENDER_COMMENT  # `written_by_render`: a later render may replace it
            audio_packets: Iterator[av.Packet] = iter(())
            if audio_in is not None:
                tracks = [audio_track] if draft or suffix in AUDIO_ONLY else list(range(len(source.streams.audio)))
                audio_packets = _audio_packets(source, out, tracks, audio_spans, fade, exact=not draft,
                                               suffix=suffix, scratch=scratch, folder=output.parent)
            if video_in is None:
                for packet in audio_packets:
                    out.mux(packet)
                report(progress, 1, 1, "render")
                return RenderResult(output, duration, 0, spans, "audio only")
            total = len(clock.times) - 1
            video_in.thread_type = "AUTO"
            next_audio = [next(audio_packets, None)]

            def mux_audio_until(seconds: float) -> None:  # interleave: audio up to the video written so far
                while next_audio[0] is not None and next_audio[0].pts * next_audio[0].time_base <= seconds:
                    out.mux(next_audio[0])
                    next_audio[0] = next(audio_packets, None)

            def on_frame(count: int) -> None:
                mux_audio_until(clock.seconds(count))
                if count % 10 == 0:
                    report(progress, count, total, "render")

            smart = smart and not draft
            damage = Damage("video", origin)
            index = index_video(source, video_in) if smart and transition == "none" and suffix in SMART else None
            if index is not None and index.blocker is None and len(index.pts) == len(grid) - 1:
                def decode(first: int, end: int) -> Iterator[av.VideoFrame]:
                    return _span_frames(source, video_in, [(grid[first], grid[end])], origin, grid, damage)

                count, copied = write_smart_video(source, video_in, out, index, frame_ranges(spans, grid), decode,
                                                  frame_rate(grid), crf, clock.ticks, TIME_BASE, on_frame)
                strategy = f"smart: {copied} of {count} frames copied"
            else:
                count = _write_reencoded(source, video_in, out, spans, grid, origin, clock, crf, transition,
                                         transition_seconds, on_frame, suffix, damage)
                strategy = f"re-encoded ({'draft' if draft else _why_reencode(index, smart, transition, suffix)})"
            mux_audio_until(float("inf"))
            damage.check(media.name)
            report(progress, total, total, "render")
    return RenderResult(output, duration, count, spans, strategy)


def _audio_packets(source, out, tracks: list[int], spans: Sequence[tuple[float, float]], fade: float, *,
                   exact: bool, suffix: str, scratch: contextlib.ExitStack, folder: Path) -> Iterator[av.Packet]:
    """Encoded packets of each audio track in `tracks`, cut at `spans` (media seconds) with fades,
    in time order. Each track is decoded to a scratch file in `folder` (the first from `source`,
    the others from containers of their own, opened in `scratch`); one that starts after the
    first track is shifted to play in sync with it. Each gets an output stream with its title and
    language."""
    encoded = []
    for n, track in enumerate(tracks):
        container = source if n == 0 else scratch.enter_context(_open(source.name))
        offset = track_offset(container, track)
        own = [(a - offset, b - offset) for a, b in spans]  # on the track's own clock
        file = scratch.enter_context(tempfile.TemporaryFile(dir=folder, prefix=".padl-audio-"))
        codec = AUDIO_CODECS.get(suffix, "aac")
        rate = encoder_rate(codec, container.streams.audio[track].codec_context.sample_rate)
        samples, rate, layout, first = decode_track(container, file, rate,
                                                    since=max(0.0, min(a for a, _ in own) - 1.0),
                                                    until=max(b for _, b in own) + 1.0, exact=exact, track=track)
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if not stream.codec_context.codec.lossless:
            stream.bit_rate = LOSSY_BIT_RATE_PER_CHANNEL * stream.codec_context.channels
        stream.metadata.update(_track_names(container.streams.audio[track].metadata))
        kept = [(a - first / rate, b - first / rate) for a, b in own]  # times in `samples`
        encoded.append(encode_blocks(stream, cut_blocks(samples, rate, kept, fade), layout))
    return heapq.merge(*encoded, key=lambda packet: packet.pts * packet.time_base)


def encoder_rate(codec: str, rate: int) -> int:
    """`rate` if the audio encoder `codec` takes it, else the lowest rate above it that the encoder
    takes (its highest if none is): MP3 stops at 48 kHz, AAC at 96 kHz, Opus encodes 8-48 kHz."""
    rates = av.codec.Codec(codec, "w").audio_rates
    if not rates or rate in rates:
        return rate
    return min((r for r in rates if r >= rate), default=max(rates))


def _track_names(tags: dict[str, str]) -> dict[str, str]:
    """A track's title and language from its tags (MP4 and MOV read a title back as "name")."""
    names = {"title": tags.get("title") or tags.get("name"), "language": tags.get("language")}
    return {key: value for key, value in names.items() if value}


def written_by_render(path: str | os.PathLike) -> bool:
    """Whether `path` is a file `render` wrote (its container's comment says so)."""
    try:
        with av.open(str(path)) as container:  # Matroska says COMMENT; Ogg keeps it on the stream
            tags = [container.metadata, *(stream.metadata for stream in container.streams)]
            return any({k.lower(): v for k, v in t.items()}.get("comment") == RENDER_COMMENT for t in tags)
    except (av.error.FFmpegError, OSError):
        return False


def benchmark() -> list[tuple[str, object, str]]:
    """Render speed and edit round trip rows for `python -m padl_lib.video.bench` (see `render_bench`)."""
    from padl_lib.video.render_bench import benchmark_rows

    return benchmark_rows()
