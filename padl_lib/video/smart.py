"""Smart render of H.264: stream-copy whole GOPs inside kept spans, re-encode only the span edges.

A kept span rarely starts or ends on a keyframe. Its frames from the first keyframe inside it up
to the last keyframe inside it form whole GOPs that are copied unchanged (no decoding, no
quality loss); the few frames before and after are decoded and re-encoded with x264, each piece
starting with its own IDR frame. Copied and re-encoded pieces live in one MP4 track: x264 is told
to number its parameter sets differently (`sps-id`), and the track's `avcC` box carries both the
source's and x264's SPS/PPS, so every slice finds its own parameter set (ISO/IEC 14496-15).

Used when the source is H.264 in an `avcC` container, 8-bit 4:2:0, with closed GOPs (IDR
keyframes, no frame decoded after a keyframe is shown before it); B-frames are fine: copied
packets keep their decode order, and every packet's decode time is its output position minus
the source's reorder delay. Otherwise `render` re-encodes everything.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from padl_lib.video.media import seek_keyframe

NAL_IDR, NAL_SPS, NAL_PPS = 5, 7, 8
_START_CODE = re.compile(b"\x00\x00\x01")
FIELD_ORDERS = {"tt": 2, "bb": 3, "tb": 4, "bt": 5}  # FFmpeg's AVFieldOrder of interlaced video (coded, shown)
__all__ = ["AvcConfig", "VideoIndex", "index_video", "plan_pieces", "write_smart_video", "tag_colours", "x264_options"]


# --- H.264 bitstream bits -----------------------------------------------------------------------
def nal_type(nal: bytes) -> int:
    return nal[0] & 0x1F


def split_length_prefixed(data: bytes, size: int) -> list[bytes]:
    """NAL units of an AVCC packet (each prefixed by its `size`-byte length)."""
    nals, pos = [], 0
    while pos + size <= len(data):
        n = int.from_bytes(data[pos:pos + size], "big")
        nals.append(data[pos + size:pos + size + n])
        pos += size + n
    return nals


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units of an Annex B byte stream (start codes 00 00 01 / 00 00 00 01)."""
    starts = [m.end() for m in _START_CODE.finditer(data)]
    ends = [s - 3 for s in starts[1:]] + [len(data)]
    return [data[s:e].rstrip(b"\x00") if e < len(data) else data[s:e] for s, e in zip(starts, ends)]


def _exp_golomb(data: bytes, bit: int) -> tuple[int, int]:
    """Read one unsigned Exp-Golomb number at `bit`; return it and the next bit position."""
    zeros = 0
    while not (data[(bit + zeros) // 8] >> (7 - (bit + zeros) % 8)) & 1:
        zeros += 1
    bit += zeros + 1
    value = 0
    for _ in range(zeros):
        value = (value << 1) | ((data[bit // 8] >> (7 - bit % 8)) & 1)
        bit += 1
    return (1 << zeros) - 1 + value, bit


def parameter_set_id(nal: bytes) -> int:
    """seq_parameter_set_id of an SPS, pic_parameter_set_id of a PPS."""
    if nal_type(nal) == NAL_SPS:
        return _exp_golomb(nal, 32)[0]  # after the NAL header, profile, constraint flags, level
    return _exp_golomb(nal, 8)[0]


@dataclass
class AvcConfig:
    """An `avcC` record (AVCDecoderConfigurationRecord): parameter sets and NAL length size."""

    header: bytes  # configurationVersion, profile, compatibility, level
    length_size: int
    sps: list[bytes]
    pps: list[bytes]
    tail: bytes  # the High-profile extension (chroma format, bit depths, SPS extensions)

    @classmethod
    def parse(cls, data: bytes | None) -> "AvcConfig | None":
        """The record, or None if `data` is not one (e.g. Annex B extradata)."""
        if not data or len(data) < 7 or data[0] != 1:
            return None
        pos, sets = 6, []
        for count in (data[5] & 0x1F, None):
            if count is None:
                count, pos = data[pos], pos + 1
            group = []
            for _ in range(count):
                n = int.from_bytes(data[pos:pos + 2], "big")
                group.append(bytes(data[pos + 2:pos + 2 + n]))
                pos += 2 + n
            sets.append(group)
        return cls(bytes(data[:4]), (data[4] & 3) + 1, sets[0], sets[1], bytes(data[pos:]))

    def to_bytes(self) -> bytes:
        out = bytearray(self.header) + bytes([0xFC | (self.length_size - 1), 0xE0 | len(self.sps)])
        for nal in self.sps:
            out += len(nal).to_bytes(2, "big") + nal
        out.append(len(self.pps))
        for nal in self.pps:
            out += len(nal).to_bytes(2, "big") + nal
        return bytes(out + self.tail)

    def free_id(self) -> int:
        """A parameter-set id that neither the SPS nor the PPS of this record uses (x264 gives both the same)."""
        used = {parameter_set_id(n) for n in self.sps + self.pps}
        return next(i for i in range(32) if i not in used)


# --- can we copy, and what -------------------------------------------------------------------
@dataclass(frozen=True)
class VideoIndex:
    """Every frame's container pts (display order), the IDR keyframes (display indices), the
    reorder delay of B-frames (frames), and why copying is impossible (None if it is possible)."""

    pts: list[int]
    keyframes: list[int]
    delay: int
    blocker: str | None


def index_video(container, stream) -> VideoIndex:
    """Scan the packets (no decoding): frame timestamps, IDR keyframes, and whether GOPs can be copied."""
    ctx = stream.codec_context
    config = AvcConfig.parse(ctx.extradata)
    blocker = None
    if ctx.name != "h264" or config is None:
        blocker = "not H.264 in an avcC container"
    elif ctx.pix_fmt != "yuv420p" or ctx.width % 2 or ctx.height % 2:
        blocker = f"pixel format {ctx.pix_fmt} {ctx.width}x{ctx.height} (needs even-sized yuv420p)"
    if blocker is not None:
        return VideoIndex([], [], 0, blocker)
    decoded, keys = [], []  # pts in decode order; decode indices of keyframes
    known_sps = {n.rstrip(b"\0") for n in config.sps}  # an SPS repeated in the packets is fine; another is not
    try:
        container.seek(0, stream=stream, backward=True)
    except av.error.FFmpegError as exc:  # a file without an index, or cut short
        return VideoIndex([], [], 0, f"the file cannot seek ({exc.strerror or exc})")
    for packet in container.demux(stream):
        if packet.pts is None or packet.is_discard:
            continue
        if packet.is_keyframe:
            nals = split_length_prefixed(bytes(packet), config.length_size) if blocker is None else []
            if blocker is None and not any(nal_type(n) == NAL_IDR for n in nals):
                blocker = "keyframes are not IDR frames (open GOPs)"
            elif any(nal_type(n) == NAL_SPS and n.rstrip(b"\0") not in known_sps for n in nals):
                blocker = "its parameter sets change mid-stream (pieces of another picture size joined?)"
            keys.append(len(decoded))
        decoded.append(packet.pts)
    shown = sorted(decoded)
    rank = {p: r for r, p in enumerate(shown)}
    delay = max((i - rank[p] for i, p in enumerate(decoded)), default=0)
    if blocker is None and any(rank[decoded[k]] != k for k in keys):
        blocker = "frames decoded after a keyframe are shown before it (open GOPs)"
    return VideoIndex(shown, [rank[decoded[k]] for k in keys], max(0, delay), blocker)


@dataclass(frozen=True)
class Piece:
    """Output frames [first, end) of the source, copied as packets or re-encoded."""

    copy: bool
    first: int
    end: int


def plan_pieces(ranges: Sequence[tuple[int, int]], keyframes: Sequence[int], total: int) -> list[Piece]:
    """Split each source frame range [f0, f1) into re-encoded edges and copied whole GOPs."""
    keys = np.asarray(sorted(keyframes))
    pieces = []
    for f0, f1 in ranges:
        inside = keys[(keys >= f0) & (keys <= f1)]
        first = int(inside[0]) if len(inside) else f1
        last = f1 if f1 == total else (int(inside[-1]) if len(inside) else f0)
        if first < last:
            pieces += [Piece(False, f0, first), Piece(True, first, last), Piece(False, last, f1)]
        else:
            pieces.append(Piece(False, f0, f1))
    return [p for p in pieces if p.end > p.first]


# --- writing ------------------------------------------------------------------------------------
def tag_colours(encoder, decoder, color_range: int | None = None) -> None:
    """Give `encoder` the colour tags of `decoder` (matrix, primaries, transfer; and its range
    unless `color_range` says otherwise), so players show re-encoded frames as the source's."""
    for tag in ("colorspace", "color_primaries", "color_trc"):
        setattr(encoder, tag, getattr(decoder, tag))
    encoder.color_range = decoder.color_range if color_range is None else color_range


def x264_options(field_order: int, *params: str) -> dict[str, str]:
    """x264 options with `params` (x264-params entries such as "sps-id=1") and, for an interlaced
    source of FFmpeg `field_order`, those that code its fields in their order (encoded as
    progressive frames, its combing showed unfiltered)."""
    first = {FIELD_ORDERS["tt"]: "tff", FIELD_ORDERS["bt"]: "tff", FIELD_ORDERS["bb"]: "bff",
             FIELD_ORDERS["tb"]: "bff"}.get(field_order)
    params = (*params, f"{first}=1") if first else params
    return ({"x264-params": ":".join(params)} if params else {}) | ({"flags": "+ildct+ilme"} if first else {})


def _encoder(width: int, height: int, rate: Fraction, crf: int, ps_id: int, colours) -> av.CodecContext:
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base, ctx.framerate = 1 / rate, rate
    tag_colours(ctx, colours)  # in the SPS, like the copied GOPs' own
    ctx.options = {"preset": "ultrafast", "crf": str(crf), **x264_options(colours.field_order, f"sps-id={ps_id}")}
    return ctx


def _x264_parameter_sets(width: int, height: int, rate: Fraction, crf: int, ps_id: int,
                         colours) -> tuple[bytes, bytes]:
    """x264's SPS and PPS for these settings (they do not depend on the picture); `colours`:
    the source's decoder, whose colour tags the SPS carries."""
    ctx = _encoder(width, height, rate, crf, ps_id, colours)
    frame = av.VideoFrame(width, height, "yuv420p")
    frame.pts = 0
    data = b"".join(bytes(p) for p in ctx.encode(frame) + ctx.encode(None))
    nals = split_annexb(data)
    return (next(n for n in nals if nal_type(n) == NAL_SPS), next(n for n in nals if nal_type(n) == NAL_PPS))


def write_smart_video(container, stream, output, index: VideoIndex, ranges: Sequence[tuple[int, int]],
                      decode: Callable[[int, int], Iterator[av.VideoFrame]], rate: Fraction, crf: int,
                      ticks: Callable[[int], int], time_base: Fraction,
                      on_frame: Callable[[int], None]) -> tuple[int, int]:
    """Write the source frame `ranges` [first, end) of `stream` as a new track of `output`.

    `decode(first, end)` yields the decoded source frames first..end-1; `ticks(i)` is the time of
    output frame i in `time_base` units; `on_frame(n)` runs after each output frame (audio
    interleaving, progress). Returns (frames written, frames copied).
    """
    config = AvcConfig.parse(stream.codec_context.extradata)
    ps_id = config.free_id()
    width, height = stream.codec_context.width, stream.codec_context.height
    sps, pps = _x264_parameter_sets(width, height, rate, crf, ps_id, stream.codec_context)
    merged = AvcConfig(config.header[:3] + bytes([max(config.header[3], sps[3])]), config.length_size,
                       config.sps + [sps], config.pps + [pps], config.tail)
    video_out = output.add_stream_from_template(stream)
    video_out.codec_context.extradata = merged.to_bytes()
    video_out.time_base = time_base
    tb = Fraction(1, 1) / rate
    count = copied = 0

    def mux(data: bytes, key: bool, shown_at: int) -> None:
        """Write one access unit: decoded as the `count`-th, shown as output frame `shown_at`."""
        nonlocal count
        packet = av.Packet(data)
        packet.pts, packet.dts = ticks(shown_at), ticks(count - index.delay)
        packet.duration, packet.time_base = ticks(shown_at + 1) - ticks(shown_at), time_base
        packet.is_keyframe = key
        packet.stream = video_out
        output.mux(packet)
        count += 1
        on_frame(count)

    pts = index.pts
    rank = {p: r for r, p in enumerate(pts)}
    for piece in plan_pieces(ranges, index.keyframes, len(pts)):
        base = count  # output frame of the piece's first frame
        if piece.copy:
            end = pts[piece.end] if piece.end < len(pts) else None
            seek_keyframe(container, stream, pts[piece.first])
            for packet in container.demux(stream):
                if packet.pts is None or packet.is_discard or packet.pts < pts[piece.first]:
                    continue
                if end is not None and packet.pts >= end:
                    break
                mux(bytes(packet), packet.is_keyframe, base + rank[packet.pts] - piece.first)
                copied += 1
            continue
        encoder = _encoder(width, height, rate, crf, ps_id, stream.codec_context)  # starts with an IDR frame
        for n, frame in enumerate(decode(piece.first, piece.end)):
            frame = frame.reformat(format="yuv420p")
            frame.pts, frame.time_base = n, tb
            for packet in encoder.encode(frame):
                mux(_to_avcc(bytes(packet), config.length_size), packet.is_keyframe, base + packet.pts)
        for packet in encoder.encode(None):
            mux(_to_avcc(bytes(packet), config.length_size), packet.is_keyframe, base + packet.pts)
    return count, copied


def _to_avcc(data: bytes, length_size: int) -> bytes:
    """An Annex B access unit as length-prefixed NAL units, without its SPS/PPS (they are in avcC)."""
    return b"".join(len(n).to_bytes(length_size, "big") + n for n in split_annexb(data)
                    if nal_type(n) not in (NAL_SPS, NAL_PPS))
