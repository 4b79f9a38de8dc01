"""Media files through PyAV (FFmpeg): probe streams, decode speech audio, checksum.

Anything FFmpeg reads works (wav, mp3, m4a, mp4, mkv, webm, ...). Problems raise
`MediaError` (or its `NoAudioError`) with a message naming the file and the problem.
"""
from __future__ import annotations

import hashlib
import os
import warnings
import wave
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from scipy.signal import butter, sosfilt, sosfilt_zi

from padl_lib.io import atomic_path

SAMPLE_RATE = 16_000  # what whisper and pocketsphinx expect
TRUNCATION_TOLERANCE = 0.9  # decoding less than this share of the declared duration is an error
TRACKS_TOGETHER = 0.02  # s apart two audio tracks may start and count as together (OBS's are some ms apart)
SEEK_BACK_S = (0.0, 1.0, 4.0, 16.0)  # how far before a target `seek_keyframe` tries before the start
# a stereo track whose mono mix (ffmpeg's: (L + R) / sqrt 2) holds this much less energy than its
# difference has one channel's polarity inverted (a mis-wired microphone): the mix cancels the voice
CANCELLED_DB = 20.0
SQRT_HALF = np.float32(np.sqrt(0.5))
DC_CUTOFF_HZ = 20.0  # decoded speech is high-passed here: a recorder's DC offset would mask its quiet sounds
FILTER_BLOCK = 1 << 20  # samples filtered at once
# decoded audio further than this from where its frames' timestamps put it is moved back there
# (half a frame at 25 fps; timestamps count milliseconds in Matroska)
TIMESTAMP_SLACK = 0.02
# timestamps that run back further than this are not overlapping sound (a few encoder frames at
# most) but a clock that starts again (files joined with `cat`); one that leaps further ahead
# than LONGEST_GAP is a clock reset too (MPEG-TS across a programme change), not lost sound
LONGEST_OVERLAP, LONGEST_GAP = 1.0, 3600.0
__all__ = ["SAMPLE_RATE", "MediaError", "NoAudioError", "MediaInfo", "Damage", "probe", "video_stream", "audio_stream",
           "track_offset", "packet_end", "load_audio", "placed_samples", "without_dc", "seek_keyframe", "write_wav",
           "sha256_file"]


class MediaError(ValueError):
    """A media file is missing, unreadable, corrupt or lacks what was asked of it."""


class NoAudioError(MediaError):
    """The media file has no audio track (e.g. a silent screen recording)."""


@dataclass(frozen=True)
class MediaInfo:
    """What `probe` learns about a media file. Video fields are None without a video stream."""

    path: Path
    duration: float
    has_audio: bool
    has_video: bool
    audio_codec: str | None = None
    audio_rate: int | None = None
    audio_channels: int | None = None
    video_codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: Fraction | None = None
    frames: int | None = None
    audio_tracks: int = 0


def _open(path: str | os.PathLike) -> av.container.InputContainer:
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"media file not found: {path}")
    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path} is not a media file FFmpeg can read (corrupt or unsupported): {exc}") from exc


def video_stream(container):
    """The container's first video stream, or None; pictures attached to audio files (an MP3's
    or M4A's cover art) and thumbnails are not video."""
    still = av.stream.Disposition.attached_pic | av.stream.Disposition.timed_thumbnails
    return next((s for s in container.streams.video if not s.disposition & still), None)


def packet_end(packet) -> float:
    """Where a demuxed packet (with a pts) ends, in container seconds."""
    return float((packet.pts + (packet.duration or 0)) * packet.time_base)


def _stream_seconds(stream) -> float:
    if stream.duration is None or stream.time_base is None:
        return 0.0
    return float(stream.duration * stream.time_base)


def probe(path: str | os.PathLike) -> MediaInfo:
    """Duration (s), streams, codecs, frame size and rate of a media file."""
    with _open(path) as container:
        audio = container.streams.audio[0] if container.streams.audio else None
        video = video_stream(container)
        if audio is None and video is None:
            raise MediaError(f"{path} has neither an audio nor a video stream")
        duration = container.duration / av.time_base if container.duration else 0.0
        duration = duration or max(_stream_seconds(s) for s in (audio, video) if s is not None)
        info = dict(path=Path(path), duration=float(duration), has_audio=audio is not None, has_video=video is not None,
                    audio_tracks=len(container.streams.audio))
        if audio is not None:
            info.update(audio_codec=audio.codec_context.name, audio_rate=audio.codec_context.sample_rate,
                        audio_channels=audio.codec_context.channels)
        if video is not None:
            fps = video.average_rate or video.guessed_rate
            info.update(video_codec=video.codec_context.name, width=video.codec_context.width,
                        height=video.codec_context.height, fps=Fraction(fps) if fps else None,
                        frames=video.frames or None)
        return MediaInfo(**info)


def audio_stream(container, track: int = 0, together: bool = True):
    """Audio track `track` (0-based) of an open container. With `together`, a track other than the
    first must start with it: media time is seconds from the first track's first sample."""
    tracks = container.streams.audio
    if not tracks:
        raise NoAudioError(f"{container.name} has no audio track; transcription needs speech")
    if not 0 <= track < len(tracks):
        raise MediaError(f"{container.name} has no audio track {track + 1}: it has {len(tracks)}")
    offset = track_offset(container, track)
    if together and abs(offset) > TRACKS_TOGETHER:
        raise MediaError(f"audio track {track + 1} of {container.name} starts {offset:+.3f} s from the first: padl "
                         f"needs the track it transcribes to start with the first")
    return tracks[track]


def track_offset(container, track: int) -> float:
    """Seconds by which audio track `track` of an open container starts after the first one."""
    first, chosen = container.streams.audio[0], container.streams.audio[track]
    starts = [float(s.start_time * s.time_base) if s.start_time is not None else 0.0 for s in (chosen, first)]
    return starts[0] - starts[1]


@dataclass
class Damage:
    """Packets of one stream that its decoder refused as corrupt. As ffmpeg does, a damaged
    stretch of a recording is passed over, not the whole recording refused: for audio,
    `placed_samples` puts silence where the refused packets were; for video, the frame before
    them is held."""

    kind: str  # "audio" or "video"
    origin: float = 0.0  # the container time of media time 0 (`load_audio`'s first sample)
    packets: int = 0
    refused: list[float] = field(default_factory=list)  # their media times (s)

    def frames(self, container, stream) -> Iterator[av.frame.Frame]:
        """`container.decode(stream)`, passing over corrupt packets."""
        for packet in container.demux(stream):
            yield from self.decode(packet)

    def decode(self, packet) -> Iterator[av.frame.Frame]:
        """The frames of `packet`, or none where its data is corrupt."""
        if packet.size:
            self.packets += 1
        try:
            yield from packet.decode()
        except av.error.FFmpegError:  # corrupt data: InvalidDataError, or EPERM from the AAC decoder
            if not packet.size:
                raise
            self.refused.append(float(packet.pts * packet.time_base) - self.origin if packet.pts is not None
                                else float("nan"))

    def check(self, name: str) -> None:
        """Warn of refused packets; MediaError where they are most of the stream's."""
        if not self.refused:
            return
        if 2 * len(self.refused) > self.packets:
            raise MediaError(f"{name}: the {self.kind} track is corrupt: {len(self.refused)} of its {self.packets} "
                             f"packets could not be decoded")
        times = [f"{t:.1f}" for t in (min(self.refused), max(self.refused)) if t == t]  # nan: no timestamps
        where = f" near {'-'.join(dict.fromkeys(times))} s" if times else ""  # a threaded decoder tells late
        lost = "silent there" if self.kind == "audio" else "the frame before them held"
        warnings.warn(f"{name}: {len(self.refused)} of {self.packets} {self.kind} packets are corrupt{where} and "
                      f"were passed over ({lost})", stacklevel=3)


def load_audio(path: str | os.PathLike, sample_rate: int = SAMPLE_RATE, track: int = 0) -> np.ndarray:
    """Decode audio track `track` (0-based; default the first) to mono float32 in [-1, 1] at
    `sample_rate` Hz, without a DC offset (`without_dc`).

    Sample 0 is the track's first sample: transcript times are seconds from it (media time)."""
    with _open(path) as container:
        stream = audio_stream(container, track)
        expected = _stream_seconds(stream)  # 0 when the container does not say (mkv, webm)
        # where the container gives no track lengths, how far its picture reaches tells a file cut
        # short from sound that stops before the picture (its packets are read anyway: interleaved)
        streams = [stream] if expected else [s for s in (stream, video_stream(container)) if s is not None]
        # stereo is decoded as it is and mixed here (`_mono`), mono or surround mixed by ffmpeg
        stereo = stream.codec_context.channels == 2
        resampler = av.AudioResampler(format="fltp", layout="stereo" if stereo else "mono", rate=sample_rate)
        reached = 0.0  # container seconds: the end of the last packet of sound or picture
        damage = Damage("audio", float((stream.start_time or 0) * stream.time_base))

        def frames() -> Iterator[av.AudioFrame]:
            nonlocal reached
            for packet in container.demux(*streams):
                if packet.pts is not None:
                    reached = max(reached, packet_end(packet))
                if packet.stream is stream:
                    yield from damage.decode(packet)
        try:
            chunks = list(placed_samples(frames(), resampler))
        except av.error.FFmpegError as exc:
            raise MediaError(f"{path}: the audio track is corrupt and could not be decoded: {exc}") from exc
        except MediaError as exc:
            raise MediaError(f"{path}: {exc}") from exc
        damage.check(Path(path).name)
        start = container.start_time / av.time_base if container.start_time else 0.0
        said = container.duration / av.time_base if container.duration else 0.0  # the file's own figure
    if not chunks:
        raise NoAudioError(f"{path}: the audio track holds no samples")
    audio = without_dc(_mono(np.concatenate(chunks, axis=1), Path(path).name), sample_rate)
    seconds = len(audio) / sample_rate
    if seconds < TRUNCATION_TOLERANCE * expected - 0.5:
        raise MediaError(f"{path} is truncated or corrupt: its audio track should last {expected:.1f} s "
                         f"but only {seconds:.1f} s could be decoded")
    if not expected and reached - start < TRUNCATION_TOLERANCE * said - 0.5:  # MKV, WebM: only the file's length
        warnings.warn(f"{Path(path).name} says it lasts {said:.1f} s, but its sound and picture end at "
                      f"{reached - start:.1f} s: is it cut short?", stacklevel=2)
    return audio


def placed_samples(frames: Iterable[av.AudioFrame], resampler: av.AudioResampler, origin: float | None = None,
                   at: int = 0) -> Iterator[np.ndarray]:
    """Decoded `frames` through `resampler` (to planar float, "fltp") as arrays (channels,
    samples), kept where the frames' timestamps put them: decoders hand out one sample after
    another, so audio would drift from its picture after packets that are missing (sound a
    recorder dropped) or overlap (AAC recordings joined by `ffmpeg -c copy` each keep their
    encoder's delay: 21 ms per join at 48 kHz). Where two frames in a row lie more than
    TIMESTAMP_SLACK off alike (one frame's stamp may stray: Vorbis in Ogg), the gap before the
    first is filled with silence or the overlap dropped; timestamps that run back beyond
    LONGEST_OVERLAP or leap ahead beyond LONGEST_GAP are a MediaError. The first frame starts at
    output sample `at`; `origin` is the time of sample 0 (default: the first frame's time less
    `at` samples)."""
    rate, channels, slack = resampler.rate, len(resampler.layout.channels), TIMESTAMP_SLACK * resampler.rate
    held: list[np.ndarray] = []  # the last frame's samples, until the next frame's stamp says where they go
    suspect, drop = None, 0  # the last frame's offset if over the slack; samples still to drop

    def release() -> Iterator[np.ndarray]:
        nonlocal drop
        for array in held:
            array, drop = array[:, drop:], max(0, drop - array.shape[1])
            if array.shape[1]:
                yield array
    for frame, arrays in _resampled(frames, resampler):
        if frame.time is not None:
            origin = frame.time - at / rate if origin is None else origin
            gap = round((frame.time - origin) * rate) - at
            if abs(gap) > slack and suspect is not None and abs(gap - suspect) <= slack:
                if not -LONGEST_OVERLAP * rate <= suspect <= LONGEST_GAP * rate:
                    jump = "run back" if gap < 0 else "leap ahead"
                    raise MediaError(f"the audio's timestamps {jump} {abs(gap) / rate:.1f} s at {at / rate:.1f} s "
                                     "(files joined with `cat`?): remux it first, `ffmpeg -i INPUT -c copy OUTPUT.mp4`")
                if suspect > 0:
                    held.insert(0, np.zeros((channels, suspect), np.float32))
                drop, at, suspect = max(0, -suspect), at + suspect, None
            else:
                suspect = gap if abs(gap) > slack else None
        yield from release()
        held = arrays
        at += sum(array.shape[1] for array in held)
    yield from release()


def _resampled(frames: Iterable[av.AudioFrame], resampler: av.AudioResampler
               ) -> Iterator[tuple[av.AudioFrame, list[np.ndarray]]]:
    """Each frame with the samples `resampler` makes of it (the last with the resampler's rest).
    Where the frames change their rate or channels (pieces recorded apart and joined), a fresh
    resampler of the same output takes over and the old one's rest goes with the frame before."""
    pending, source = None, None
    for frame in frames:
        kind = (frame.format.name, frame.layout.name, frame.sample_rate)
        if source is not None and kind != source:
            pending[1].extend(out.to_ndarray() for out in resampler.resample(None))
            resampler = av.AudioResampler(format=resampler.format.name, layout=resampler.layout.name,
                                          rate=resampler.rate)
        if pending is not None:
            yield pending
        pending, source = (frame, [out.to_ndarray() for out in resampler.resample(frame)]), kind
    if pending is not None:
        pending[1].extend(out.to_ndarray() for out in resampler.resample(None))
        yield pending


def _mono(channels: np.ndarray, name: str) -> np.ndarray:
    """One channel of decoded audio (channels x samples, float32) as ffmpeg mixes it; a stereo
    pair whose mix cancels (one channel's polarity inverted) gives its difference instead."""
    if len(channels) == 1:
        return channels[0]
    mix, difference = (channels[0] + channels[1]) * SQRT_HALF, (channels[0] - channels[1]) * SQRT_HALF
    mix_energy, difference_energy = float(np.dot(mix, mix)), float(np.dot(difference, difference))
    if difference_energy > mix_energy * 10 ** (CANCELLED_DB / 10):
        warnings.warn(f"{name}: the two stereo channels cancel when mixed to mono (one microphone's polarity is "
                      f"inverted); using their difference", stacklevel=3)
        return difference
    return mix


def without_dc(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """`audio` (float32) high-passed in place at DC_CUTOFF_HZ (2nd-order Butterworth, started
    settled on the first sample; in blocks, as an hour in float64 would take gigabytes): the DC
    offset of a cheap sound card or microphone raises every frame's energy above the quiet ends
    of words, which the aligner then cuts off or drops as silence."""
    if not len(audio):
        return audio
    sos = butter(2, DC_CUTOFF_HZ, "highpass", fs=sample_rate, output="sos")
    state = sosfilt_zi(sos) * audio[0]
    for k in range(0, len(audio), FILTER_BLOCK):
        audio[k:k + FILTER_BLOCK], state = sosfilt(sos, audio[k:k + FILTER_BLOCK], zi=state)
    return audio


def _first_packet(container, stream):
    return next((p for p in container.demux(stream) if p.pts is not None), None)


def seek_keyframe(container, stream, pts: int) -> None:
    """Seek so that demuxing or decoding `stream` starts at a keyframe shown at or before `pts`
    (in the stream's time base).

    Containers without an index (MPEG-TS, MPEG-PS) seek by bytes and may land after the target
    or between keyframes, where decoding yields nothing; then this seeks further back, at last
    to the stream's start and to time 0."""
    start = stream.start_time or 0
    targets = [max(start, pts - int(back / stream.time_base)) for back in SEEK_BACK_S] + [start, 0]
    for target in dict.fromkeys(targets):
        container.seek(target, stream=stream, backward=True, any_frame=False)
        first = _first_packet(container, stream)
        # at the stream's start the first keyframe is the earliest there is, even if B-frames put
        # it after the start (H.264 in AVI: its first keyframe shows at pts 2)
        if first is not None and first.is_keyframe and (first.pts <= max(pts, start) or target <= start):
            container.seek(target, stream=stream, backward=True, any_frame=False)
            return
    raise MediaError(f"{container.name}: cannot seek to a keyframe before {float(pts * stream.time_base):.3f} s "
                     "in its video stream")


def write_wav(path: str | os.PathLike, audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write mono float audio in [-1, 1] as 16-bit PCM WAV, atomically."""
    with atomic_path(path) as tmp, wave.open(str(tmp), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return Path(path)


def sha256_file(path: str | os.PathLike, block: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes (identifies the media a transcript belongs to)."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"media file not found: {path}")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()
