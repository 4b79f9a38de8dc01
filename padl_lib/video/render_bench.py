"""Render speed and edit fidelity, measured side by side in one run.

- `render_benchmark`: padl's cut-only render of a 720p recording (smart render, and with
  smart render off) against the plain `ffmpeg -preset ultrafast` re-encode of the same kept
  material (ffmpeg's `select`/`aselect` filters keep the spans, x264 ultrafast and AAC encode
  them), alternating the three, several times; reports median wall times, ratios and the
  outputs' frame counts.
- `roundtrip_check`: transcribe a lecture, delete words and a sentence, shorten pauses, render,
  transcribe the output again: every kept word must be heard and no deleted word.
- lip sync after cuts on hard sources (`padl_lib.video.sync_check`).

`python -m padl_lib.video.bench` shows all three (through `render.benchmark`); so does
`python -m padl_lib.video.render_bench` alone.
"""
from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import av
import jiwer
import numpy as np

from padl_lib.settings import quick
from padl_lib.video.edit import EditList, edit_list, phrases
from padl_lib.video.media import SAMPLE_RATE, load_audio, probe, write_wav
from padl_lib.video.render import LOSSY_BIT_RATE_PER_CHANNEL, frame_grid, render, snap_spans, span_frame_counts
from padl_lib.video.spoken import spoken_sequence
from padl_lib.video.sync_check import SYNC_SPANS, sync_benchmark
from padl_lib.video.transcript import Transcript

# a cut-only edit of the 8.3 s screencast: three cuts, 72 % kept
SCREENCAST_SPANS = [(0.0, 2.1), (2.9, 4.6), (5.5, 6.3), (6.6, 8.3)]
__all__ = ["render_benchmark", "roundtrip_check", "roundtrip_battery", "deleting_edit", "render_attributable",
           "ffmpeg_baseline", "benchmark_rows"]


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def ffmpeg_baseline(media: Path, spans: Sequence[tuple[float, float]], output: Path) -> None:
    """The plain way: one ffmpeg call that keeps `spans` (in source order) and re-encodes ultrafast
    (the audio at padl's rate)."""
    keep = "+".join(f"between(t,{a:.6f},{b - 1e-4:.6f})" for a, b in spans)
    audio_rate = LOSSY_BIT_RATE_PER_CHANNEL * min(2, probe(media).audio_channels)  # padl mixes surround to stereo
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(media),
                    "-vf", f"select='{keep}',setpts=N/FRAME_RATE/TB",
                    "-af", f"aselect='{keep}',asetpts=N/SR/TB",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-b:a", str(audio_rate), str(output)],
                   check=True)


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def render_benchmark(media: str | Path | None = None, spans: Sequence[tuple[float, float]] | None = None,
                     repeats: int | None = None) -> dict:
    """Median seconds of padl's render and of the ffmpeg baseline on the same kept spans (720p screencast)."""
    from padl_lib.video.samples import SCREENCAST

    media = Path(media or SCREENCAST)
    grid = frame_grid(media)
    spans = snap_spans(spans or SCREENCAST_SPANS, grid)
    repeats = repeats or (2 if quick() else 5)
    times: dict[str, list[float]] = {"smart": [], "reencode": [], "ffmpeg": []}
    with tempfile.TemporaryDirectory(prefix="padl-render-bench-") as tmp:
        outs = {name: Path(tmp) / f"{name}.mp4" for name in times}
        runs = {"smart": lambda: render(media, spans, outs["smart"]),
                "reencode": lambda: render(media, spans, outs["reencode"], smart=False),
                "ffmpeg": lambda: ffmpeg_baseline(media, spans, outs["ffmpeg"])}
        for _ in range(repeats):  # alternate, so that load from other processes hits all alike
            for name, run in runs.items():
                times[name].append(_timed(run))
        strategy = render(media, spans, outs["smart"]).strategy
        info = probe(media)
        median = {name: statistics.median(t) for name, t in times.items()}
        return {"media": media.name, "size": f"{info.width}x{info.height}", "kept_s": sum(b - a for a, b in spans),
                "source_s": info.duration, "cuts": len(spans) - 1, "repeats": repeats, "strategy": strategy,
                "padl_s": median["smart"], "reencode_s": median["reencode"], "ffmpeg_s": median["ffmpeg"],
                "ratio": median["ffmpeg"] / median["smart"], "reencode_ratio": median["ffmpeg"] / median["reencode"],
                "padl_frames": _frames(outs["smart"]), "reencode_frames": _frames(outs["reencode"]),
                "ffmpeg_frames": _frames(outs["ffmpeg"]), "expected_frames": sum(span_frame_counts(spans, grid))}


def deleting_edit(text: str) -> str:
    """A fixed editorial pass: split the text at its pauses into phrases, drop the third phrase
    and the 2nd-4th words of every second phrase, and shorten the pauses to 0.3 s."""
    parts = phrases(text)
    kept = []
    for n, phrase in enumerate(parts):
        words = phrase.split()
        if n == 2 and len(parts) > 3:
            continue
        kept.append(" ".join(words[:1] + words[4:] if n % 2 == 1 and len(words) > 6 else words))
    return _with_short_pauses(kept)


def _with_short_pauses(parts: Sequence[str]) -> str:
    """Phrases joined by 0.3 s pauses, as the editorial passes leave them."""
    return " [pause 0.3s] ".join(parts)


def _drop_in_phrases(which: int) -> Callable[[str], str]:
    """An edit that drops word `which` (0: first, -1: last) of every phrase of two or more words."""
    def edit(text: str) -> str:
        kept = []
        for phrase in phrases(text):
            words = phrase.split()
            if len(words) > 1:
                del words[which]
            kept.append(" ".join(words))
        return _with_short_pauses(kept)
    return edit


def _reverse_phrases(text: str) -> str:
    """An edit that plays the phrases in reverse order."""
    return _with_short_pauses(list(reversed(phrases(text))))


# further editorial passes for `roundtrip_battery`, beside the default `deleting_edit`
OTHER_EDITS: dict[str, Callable[[str], str]] = {"first word of each phrase deleted": _drop_in_phrases(0),
                                                "last word of each phrase deleted": _drop_in_phrases(-1),
                                                "phrases reversed": _reverse_phrases}


def _spoken(words: Sequence[str]) -> list[str]:
    return spoken_sequence(" ".join(words))


def _heard_diff(expected: list[str], heard: list[str], deleted: set[str]) -> dict[str, list[str]]:
    """Kept words not heard, deleted words heard and other extra words (all in spoken form)."""
    got = _spoken(heard)
    missing, extra = [], []
    for chunk in jiwer.process_words(" ".join(expected), " ".join(got)).alignments[0]:
        if chunk.type in ("delete", "substitute"):
            missing += expected[chunk.ref_start_idx:chunk.ref_end_idx]
        if chunk.type in ("insert", "substitute"):
            extra += got[chunk.hyp_start_idx:chunk.hyp_end_idx]
    return {"missing": missing, "deleted_heard": [w for w in extra if w in deleted],
            "other_extra": [w for w in extra if w not in deleted]}


def roundtrip_check(media: str | Path | None = None, edit: Callable[[str], str] | None = None,
                    transcript: Transcript | None = None) -> dict:
    """Edit by text (`edit`: transcript text -> edited text, default the fixed editorial pass
    `deleting_edit`), render, transcribe the output: kept words missing and deleted words heard.

    The control `splice` transcribes the same kept spans joined sample-exact (no fades, no
    encoding): words missed there too are the recognizer's (lost context), not the render's.
    `transcript`: the media's transcript, if already made."""
    from padl_lib.video.pipeline import transcribe
    from padl_lib.video.samples import sample

    media = Path(media or sample("librivox").path)
    transcript = transcript or transcribe(media)
    text = (edit or deleting_edit)(transcript.text())
    audio = load_audio(media)
    edits: EditList = edit_list(transcript, text, audio=audio)
    kept_items = [i for s in edits.spans for i in s.items if transcript.words[i].kind == "word"]
    deleted = [w.text for i, w in enumerate(transcript.words) if w.kind == "word" and i not in set(kept_items)]
    spans = [(s.start, s.end) for s in edits.spans]
    with tempfile.TemporaryDirectory(prefix="padl-roundtrip-") as tmp:
        output = render(media, spans, Path(tmp) / "edited.mp4").path
        heard = [w.text for w in transcribe(output).words if w.kind == "word"]
        splice = write_wav(Path(tmp) / "splice.wav", np.concatenate(
            [audio[round(a * SAMPLE_RATE):round(b * SAMPLE_RATE)] for a, b in spans]))
        heard_splice = [w.text for w in transcribe(splice).words if w.kind == "word"]
    expected = _spoken([transcript.words[i].text for i in dict.fromkeys(kept_items)])
    deleted_spoken = set(_spoken(deleted))
    return {"media": media.name, "kept_words": len(expected), "deleted_words": len(_spoken(deleted)),
            **_heard_diff(expected, heard, deleted_spoken),
            "splice": _heard_diff(expected, heard_splice, deleted_spoken),
            "edited_text": text, "heard_text": " ".join(heard)}


def render_attributable(result: dict) -> list[str]:
    """Kept words missed in the rendered edit but heard in the sample-exact splice of the same spans."""
    return list((Counter(result["missing"]) - Counter(result["splice"]["missing"])).elements())


def roundtrip_battery(media: str | Path | None = None, transcript: Transcript | None = None) -> dict[str, dict]:
    """`roundtrip_check` for each of `OTHER_EDITS` (the media transcribed once)."""
    from padl_lib.video.pipeline import transcribe
    from padl_lib.video.samples import sample

    media = Path(media or sample("librivox").path)
    transcript = transcript or transcribe(media)
    return {name: roundtrip_check(media, edit, transcript) for name, edit in OTHER_EDITS.items()}


def benchmark_rows() -> list[tuple[str, object, str]]:
    """Rows (metric, value, goal) for `python -m padl_lib.video.bench`."""
    from padl_lib.video.pipeline import transcribe
    from padl_lib.video.samples import sample

    r = render_benchmark()
    lecture = sample("librivox").path
    transcript = transcribe(lecture)
    rt = roundtrip_check(lecture, transcript=transcript)
    sync = sync_benchmark()
    return [
        (f"render {r['size']} cut-only ({r['cuts']} cuts, {r['kept_s']:.1f} of {r['source_s']:.1f} s), median of "
         f"{r['repeats']}", f"padl {r['padl_s']:.2f} s ({r['strategy']}), padl re-encoding all "
         f"{r['reencode_s']:.2f} s, ffmpeg ultrafast {r['ffmpeg_s']:.2f} s", ""),
        ("render speed: ffmpeg time / padl time", f"{r['ratio']:.2f}x (re-encoding all: {r['reencode_ratio']:.2f}x)",
         ">= 1.0x"),
        ("rendered frames: padl / re-encode / ffmpeg / kept spans", f"{r['padl_frames']} / {r['reencode_frames']} / "
         f"{r['ffmpeg_frames']} / {r['expected_frames']}", "padl = kept"),
        (f"lip sync after {len(SYNC_SPANS)} cuts, flash vs beep: worst of {len(sync)} sources (25 fps)",
         f"{max(sync.values()):.0f} ms ({', '.join(f'{n} {ms:.0f}' for n, ms in sync.items())})",
         "<= half a frame, 20 ms"),
        (f"edit round trip ({rt['media']}): kept words not heard", f"{len(rt['missing'])} of {rt['kept_words']} "
         f"{rt['missing'] or ''}", "0"),
        ("edit round trip: deleted words heard", f"{len(rt['deleted_heard'])} of {rt['deleted_words']} "
         f"{rt['deleted_heard'] or ''}", "0"),
        ("  control: same spans spliced sample-exact, kept words not heard / deleted heard",
         f"{len(rt['splice']['missing'])} {rt['splice']['missing'] or ''} / {len(rt['splice']['deleted_heard'])} "
         f"{rt['splice']['deleted_heard'] or ''}", "(recognizer)"),
        *[(f"  other edit, {name}: kept not heard (not heard in the splice either) / deleted heard",
           f"{len(r['missing'])} of {r['kept_words']} ({len(r['missing']) - len(render_attributable(r))}) / "
           f"{len(r['deleted_heard'])} of {r['deleted_words']} {r['deleted_heard'] or ''}", "")
          for name, r in roundtrip_battery(lecture, transcript).items()],
    ]


if __name__ == "__main__":
    for metric, value, goal in benchmark_rows():
        print(f"{metric:<72} {value!s:<60} {goal}")
