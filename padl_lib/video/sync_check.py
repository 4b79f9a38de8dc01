"""Lip sync after cuts, measured: test recordings that flash a white frame and beep at the same
instants, rendered with cuts; the error is each beep's distance to its flash in the output.

The recordings cover the sources where keeping sync is hard: a video track that starts after its
audio (or the reverse), MPEG-TS timestamps that start at 1.4 s, variable frame rate video,
frames held 0.36 s (a screen recording that writes a frame only when the screen changes). They
are made with the `ffmpeg` command (lavfi sources), so nothing is shipped.
"""
from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from padl_lib.video.media import SAMPLE_RATE, load_audio

FLASH_EVERY = 0.72  # s (18 frames at 25 fps): a white frame and a beep at every multiple
SECONDS = 6.0
SYNC_SPANS = [(0.3, 1.6), (4.5, 5.5), (2.3, 3.7)]  # edges between flashes, reordered
__all__ = ["SyncSource", "SYNC_SOURCES", "FLASH_EVERY", "SYNC_SPANS", "make_sync_video", "flash_and_beep_times",
           "sync_errors", "sync_benchmark"]


@dataclass(frozen=True)
class SyncSource:
    """A flash-and-beep recording: container (by file name), where each track starts, and
    extra ffmpeg output options."""

    name: str
    audio_from: float = 0.0
    video_from: float = 0.0
    options: tuple[str, ...] = ()


VFR = ("-vf", "select='eq(mod(n,2),0)+gte(mod(n,36),18)'", "-fps_mode", "vfr")  # 25 and 12.5 fps
HELD = ("-vf", "select='not(mod(n,9))'", "-fps_mode", "vfr")  # a frame every 0.36 s
# a capture that stamps every sixth frame 1/90000 s after the one before (a near-duplicate), then
# holds it for two frame times
JITTER = ("-vf", "settb=1/90000,setpts='if(eq(mod(N,6),5),PREV_OUTPTS+1,PTS)'", "-fps_mode", "passthrough",
          "-enc_time_base:v", "1/90000", "-video_track_timescale", "90000")
SYNC_SOURCES = [SyncSource("plain.mp4"), SyncSource("late-audio.mkv", audio_from=0.5),
                SyncSource("late-video.mp4", video_from=0.32), SyncSource("late-video.mkv", video_from=0.32),
                SyncSource("offset.ts"), SyncSource("vfr.mp4", options=VFR), SyncSource("held.mp4", options=HELD),
                SyncSource("held-late-audio.mkv", audio_from=0.5, options=HELD),
                SyncSource("jitter.mp4", options=JITTER)]


def make_sync_video(folder: str | Path, source: SyncSource, seconds: float = SECONDS) -> Path:
    """Write `source` into `folder`: `seconds` at 25 fps of ffmpeg's testsrc2 with one white frame
    and a 40 ms 1 kHz beep at the same time every 0.72 s, each track starting where `source` says."""
    flash = f"lt(mod(t+{source.video_from}\\,{FLASH_EVERY})\\,0.04)"
    video = (f"testsrc2=size=320x240:rate=25:duration={seconds - source.video_from},"
             f"drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='{flash}'")
    audio = (f"aevalsrc='if(lt(mod(t+{source.audio_from},{FLASH_EVERY}),0.04),0.5*sin(2*PI*1000*t),0)':"
             f"s=48000:d={seconds - source.audio_from}")
    path = Path(folder) / source.name
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-itsoffset", str(source.video_from), "-f", "lavfi", "-i", video,
                    "-itsoffset", str(source.audio_from), "-f", "lavfi", "-i", audio, "-c:v", "libx264", "-g", "25",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", *source.options, str(path)], check=True)
    return path


def flash_and_beep_times(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Seconds of the white frames and of the beeps' onsets in a rendered file (from its start)."""
    with av.open(str(path)) as container:
        flashes = [f.time for f in container.decode(video=0) if f.to_ndarray(format="gray").mean() > 200]
    loud = np.abs(load_audio(path)) > 0.1
    quiet_before = ~np.convolve(loud, np.ones(SAMPLE_RATE // 100), "full")[:len(loud) - 1].astype(bool)
    onsets = np.flatnonzero(loud[1:] & quiet_before) + 1
    return np.array(flashes), onsets / SAMPLE_RATE


def sync_errors(path: str | Path) -> np.ndarray:
    """For every beep in a rendered file, the distance (s) to the nearest white frame's start."""
    flashes, beeps = flash_and_beep_times(path)
    if not len(flashes) or not len(beeps):
        raise ValueError(f"{path}: no flash or no beep found")
    return np.array([np.min(np.abs(flashes - t)) for t in beeps])


def sync_benchmark() -> dict[str, float]:
    """The largest sync error (ms) after rendering `SYNC_SPANS` of each source (smart render on)."""
    from padl_lib.video.render import render

    with tempfile.TemporaryDirectory(prefix="padl-sync-") as tmp:
        return {source.name: 1000 * float(sync_errors(render(make_sync_video(tmp, source), SYNC_SPANS,
                                                             Path(tmp) / f"out-{source.name}.mp4").path).max())
                for source in SYNC_SOURCES}
