"""Figures and tables of text-based editing (called by `padl_lib.video.figures`, used by notebooks 11-12).

Report names: figures `video_edit_timeline`, `video_cut_snapping`, `video_transition_frames`;
tables `video_render_speed`, `video_lip_sync`, `video_edit_roundtrip`.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from padl_lib.video.acoustics import frame_energy_db
from padl_lib.video.edit import EditList
from padl_lib.video.media import SAMPLE_RATE
from padl_lib.video.transcript import Transcript

KEPT, CUT = "#2a9d8f", "#e76f51"
WEBCAM = (slice(70, 290), slice(100, 440))  # the speaker's inset in the 1280x720 screencast
__all__ = ["timeline_figure", "cut_figure", "frames_figure", "decoded_frames", "make_figures"]


def timeline_figure(transcript: Transcript, edits: EditList, audio: np.ndarray):
    """Waveform with the source words, the kept spans (green) and what was cut (red), then the output."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 4.2), gridspec_kw={"height_ratios": [3, 1]})
    t = np.arange(len(audio)) / SAMPLE_RATE
    top.plot(t, audio, color="#999", lw=0.4)
    top.axvspan(0, len(audio) / SAMPLE_RATE, color=CUT, alpha=0.15, lw=0, label="cut")
    for n, span in enumerate(edits.spans):
        top.axvspan(span.start, span.end, color=KEPT, alpha=0.35, lw=0, label=None if n else "kept")
    kept = edits.kept_items()
    for i, w in enumerate(transcript.words):
        if w.kind != "pause":
            top.text((w.start + w.end) / 2, 1.02, w.text, rotation=90, ha="center", va="bottom", fontsize=6,
                     color="black" if i in kept else CUT, transform=top.get_xaxis_transform())
    top.set_xlim(0, len(audio) / SAMPLE_RATE)
    top.set_ylabel("source")
    top.set_yticks([])
    top.legend(loc="lower right", fontsize=7)
    offset = 0.0
    for n, span in enumerate(edits.spans):
        bottom.barh(0, span.duration, left=offset, color=KEPT if n % 2 else "#8ecae6", edgecolor="white")
        if span.duration > 1.5:
            bottom.text(offset + span.duration / 2, 0, f"{span.start:.1f}–{span.end:.1f} s", ha="center",
                        va="center", fontsize=7)
        offset += span.duration
    bottom.set_xlim(0, len(audio) / SAMPLE_RATE)
    bottom.set_yticks([])
    bottom.set_ylabel("output")
    bottom.set_xlabel("seconds")
    fig.tight_layout()
    return fig


def cut_figure(transcript: Transcript, edits: EditList, audio: np.ndarray, span_index: int = 0, around: float = 0.5):
    """Zoom on the end of span `span_index`: energy, word edges and the chosen cut point."""
    cut = edits.spans[span_index].end
    energy = frame_energy_db(audio)
    frames = np.arange(len(energy)) / 100 + 0.005
    fig, ax = plt.subplots(figsize=(7, 2.8))
    near = (frames > cut - around) & (frames < cut + around)
    ax.plot(frames[near], energy[near], color="#264653", lw=1)
    for w in transcript.words:
        if w.kind != "pause" and w.end > cut - around and w.start < cut + around:
            ax.axvspan(max(w.start, cut - around), min(w.end, cut + around), color="#ccc", alpha=0.5, lw=0)
            ax.text(min(max((w.start + w.end) / 2, cut - around), cut + around), ax.get_ylim()[1], w.text,
                    ha="center", va="top", fontsize=8)
    ax.axvline(cut, color=CUT, lw=1.5, label="cut point")
    ax.set_xlabel("seconds")
    ax.set_ylabel("energy (dB)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def frames_figure(rows: dict[str, list[np.ndarray]]):
    """A grid of video frames: one row per label (e.g. cut, dissolve, morph)."""
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(rows), n, figsize=(1.6 * n, 1.1 * len(rows)), squeeze=False)
    for r, (label, frames) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(frames):
                ax.imshow(frames[c])
        axes[r][0].set_title(label, fontsize=8, loc="left")
    fig.tight_layout()
    return fig


def decoded_frames(path: Path, first: int, count: int, crop: tuple[slice, slice] | None = None) -> list[np.ndarray]:
    """Decoded RGB frames first..first+count-1 of a video, optionally cropped (rows, columns)."""
    import av

    with av.open(str(path)) as container:
        out = []
        for i, frame in enumerate(container.decode(video=0)):
            if i >= first + count:
                break
            if i >= first:
                image = frame.to_ndarray(format="rgb24")
                out.append(image[crop] if crop else image)
        return out


def make_figures(out) -> None:
    """Write this part's figures and tables (`out` is a `padl_lib.figures.ReportOutput`)."""
    import tempfile

    from padl_lib.video.edit import edit_list
    from padl_lib.video.media import load_audio
    from padl_lib.video.pipeline import transcribe
    from padl_lib.video.render import frame_grid, render, snap_spans, span_frame_counts
    from padl_lib.video.render_bench import SCREENCAST_SPANS, deleting_edit, render_benchmark, roundtrip_check
    from padl_lib.video.samples import SCREENCAST, sample
    from padl_lib.video.sync_check import SYNC_SPANS, sync_benchmark

    lecture = sample("librivox").path
    transcript, audio = transcribe(lecture), load_audio(lecture)
    edits = edit_list(transcript, deleting_edit(transcript.text()), audio=audio)
    out.figure(timeline_figure(transcript, edits, audio), "video_edit_timeline")
    out.figure(cut_figure(transcript, edits, audio, span_index=1), "video_cut_snapping")

    spans = snap_spans(SCREENCAST_SPANS[:2], frame_grid(SCREENCAST))
    cut = span_frame_counts(spans, frame_grid(SCREENCAST))[0]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("none", "dissolve", "morph"):
            path = render(SCREENCAST, spans, Path(tmp) / f"{kind}.mp4", transition=kind).path
            rows["plain cut" if kind == "none" else kind] = decoded_frames(path, cut - 4, 8, crop=WEBCAM)
    out.figure(frames_figure(rows), "video_transition_frames")

    r = render_benchmark()
    out.table("video_render_speed", ["Renderer", "Seconds (median)", "ffmpeg / this", "Frames"],
              [["padl smart render", f"{r['padl_s']:.2f}", f"{r['ratio']:.2f}", r["padl_frames"]],
               ["padl, every frame re-encoded", f"{r['reencode_s']:.2f}", f"{r['reencode_ratio']:.2f}",
                r["reencode_frames"]],
               ["ffmpeg select + x264 ultrafast", f"{r['ffmpeg_s']:.2f}", "1.00", r["ffmpeg_frames"]]],
              caption=f"{r['size']} screencast, {r['cuts']} cuts, {r['kept_s']:.1f} s kept "
                      f"({r['expected_frames']} frames), median of {r['repeats']}; {r['strategy']}")
    out.table("video_lip_sync", ["Source", "Worst beep to flash (ms)"],
              [[name, f"{ms:.0f}"] for name, ms in sync_benchmark().items()],
              caption=f"{len(SYNC_SPANS)} cuts, reordered; 25 fps, half a frame is 20 ms")
    rt = roundtrip_check()
    out.table("video_edit_roundtrip", ["Measure", "Count"],
              [["kept words", rt["kept_words"]], ["kept words not heard", len(rt["missing"])],
               ["deleted words", rt["deleted_words"]], ["deleted words heard", len(rt["deleted_heard"])],
               ["control, same spans spliced sample-exact: kept words not heard", len(rt["splice"]["missing"])]],
              caption="edit by text, render, transcribe the output again (LibriVox lecture)")
