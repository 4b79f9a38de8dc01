"""Figures and tables of the video topic (`make figures`; notebooks 10 and 13 show them too).

Report names: figures `video_alignment` (waveform, energy and aligned words of a LibriVox
sentence), `video_boundary_errors` (boundary errors of padl, the aligner alone and whisper's
own times); table `video_asr_quality` (the benchmark against its goals). The editing part's
figures and tables come from `figures_edit`.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from padl_lib.video import acoustics
from padl_lib.video.asr import AsrSegment
from padl_lib.video.media import SAMPLE_RATE
from padl_lib.video.transcript import Transcript, Word

COLORS = {"word": "#264653", "filler": "#e76f51", "pause": "#e9c46a"}
SYSTEMS = {"padl": "padl (alignment + energy edges)", "raw": "forced alignment alone",
           "whisper": "whisper's word times"}
SHORT_NAMES = {"padl": "padl", "raw": "aligner alone", "whisper": "whisper's times"}  # table rows
__all__ = ["alignment_figure", "boundary_error_figure", "whisper_words", "quality_rows", "make_figures"]


def whisper_words(segments: list[AsrSegment]) -> list[Word]:
    """Whisper's own word times (from `asr.recognize`'s segments) as words, for `alignment_figure`'s `compare`."""
    from padl_lib.video.pipeline import asr_tokens

    return [Word(t.text, t.start, max(t.start, t.end)) for t in asr_tokens(segments)]


def alignment_figure(transcript: Transcript, audio: np.ndarray, start: float = 0.0, end: float | None = None,
                     compare: list[Word] | None = None):
    """Waveform and frame energy with the transcript's items (words dark, fillers red, pauses
    yellow); `compare` (e.g. whisper's own word times) is drawn as thin lines above."""
    end = len(audio) / SAMPLE_RATE if end is None else end
    fig, (wave_ax, energy_ax) = plt.subplots(2, 1, figsize=(10, 4), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
    wave_ax.plot(np.arange(a, b) / SAMPLE_RATE, audio[a:b], color="#aaa", lw=0.4)
    for w in transcript.words:
        if w.end < start or w.start > end:
            continue
        wave_ax.axvspan(w.start, w.end, color=COLORS[w.kind], alpha=0.25 if w.kind == "pause" else 0.12, lw=0)
        wave_ax.axvline(w.start, color=COLORS[w.kind], lw=0.8)
        if w.kind != "pause":
            wave_ax.text((w.start + w.end) / 2, 0.98, w.text, rotation=90, ha="center", va="top", fontsize=7,
                         color=COLORS[w.kind], transform=wave_ax.get_xaxis_transform())
    for w in compare or []:
        if start <= w.start <= end:
            wave_ax.plot([w.start, w.start], [0.0, 0.12], color="#8338ec", lw=1.2,
                         transform=wave_ax.get_xaxis_transform())
    wave_ax.set_yticks([])
    wave_ax.set_title("aligned words (shaded) and pauses"
                      + (", whisper's word starts (purple ticks)" if compare else ""), fontsize=9)
    energy = acoustics.frame_energy_db(audio)
    frames = np.arange(len(energy)) / 100
    keep = (frames >= start) & (frames <= end)
    energy_ax.plot(frames[keep], energy[keep], color="#264653", lw=0.8, label="energy")
    energy_ax.plot(frames[keep], acoustics.speech_threshold_db(energy)[keep], color="#e76f51", lw=0.8, ls="--",
                   label="sound threshold")
    energy_ax.set_ylabel("dB")
    energy_ax.set_xlabel("time (s)")
    energy_ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def boundary_error_figure(results: dict):
    """Boundary errors (ms, log scale) per system and reference definition, from `bench.run`."""
    margins = sorted({m for _, m in results["timing"]})
    fig, axes = plt.subplots(1, len(margins), figsize=(10, 3.2), sharey=True)
    for ax, margin in zip(np.atleast_1d(axes), margins):
        for row, (name, label) in enumerate(SYSTEMS.items()):
            errors = np.maximum(results["timing"][name, margin]["errors_ms"], 0.5)
            ax.scatter(errors, np.full(len(errors), row) + np.linspace(-0.15, 0.15, len(errors)), s=14, alpha=0.8)
        ax.axvline(50, color="#e76f51", ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yticks(range(len(SYSTEMS)), SYSTEMS.values(), fontsize=8)
        ax.set_xlabel("boundary error (ms)")
        ax.set_title(f"reference edge at noise floor + {margin:.0f} dB", fontsize=9)
    fig.tight_layout()
    return fig


def quality_rows(results: dict, voices: dict | None = None) -> list[list[object]]:
    """Rows (measure, value, goal) of the benchmark for the report's table (`voices`: the result
    of `bench.synthesized_voices`, if measured). Boundary rows name the reference's margin over
    the noise floor (+6 or +10 dB); "padl" is the alignment with energy edges."""
    from padl_lib.video.bench import GOALS, NOISE_SNR_DB, REFERENCE_MARGINS_DB

    def boundaries(t: dict) -> str:
        return f"{t['mean_ms']:.0f} ms mean, {t['within_50']:.0%} within 50 ms"

    rows = [["WER, LibriVox sentences", f"{results['wer']:.1%}", f"<= {GOALS['wer']:.0%}"]]
    order = list(SYSTEMS)
    for (name, margin), t in sorted(results["timing"].items(), key=lambda kv: (kv[0][1], order.index(kv[0][0]))):
        rows.append([f"boundaries, {SHORT_NAMES[name]}, +{margin:.0f} dB ref.", boundaries(t),
                     f"<= {GOALS['mean_ms']:.0f} ms, >= {GOALS['within_50']:.0%}" if name == "padl" else ""])
    rows += [[f"boundaries, padl, +{REFERENCE_MARGINS_DB[0]:.0f} dB ref., {NOISE_SNR_DB:.0f} dB SNR",
              boundaries(results["timing_noisy"]), "(robustness)"],
             ["words aligned", f"{results['aligned_share']:.0%}", "100%"]]
    if voices is not None:
        rows += [[f"words aligned, {voices['voices']} espeak-ng voices",
                  f"{voices['aligned_share']:.0%} of {voices['words']}", "100%"],
                 ["onsets inside sentences, same voices", f"{voices['onset_mean_ms']:.0f} ms mean, "
                  f"{voices['onset_within_50']:.0%} within 50 ms", "(context)"]]
    rows += [[f"real-time factor, {results['threads']} threads", f"{results['rtf']:.2f}", f"<= {GOALS['rtf']}"]]
    return rows


def make_figures(out) -> None:
    """Write the topic's figures and tables (`out` is a `padl_lib.figures.ReportOutput`)."""
    from padl_lib.video import figures_edit
    from padl_lib.video.asr import recognize
    from padl_lib.video.bench import run, synthesized_voices
    from padl_lib.video.samples import librivox_sentences
    from padl_lib.video.media import load_audio
    from padl_lib.video.pipeline import transcribe

    path = librivox_sentences()[3][0]
    audio = load_audio(path)
    out.figure(alignment_figure(transcribe(path), audio, compare=whisper_words(recognize(audio)[0])), "video_alignment")
    results = run()
    out.figure(boundary_error_figure(results), "video_boundary_errors")
    out.table("video_asr_quality", ["measure", "value", "goal"], quality_rows(results, synthesized_voices()),
              caption="python -m padl_lib.video.bench (tiny.en int8, pocketsphinx)")
    figures_edit.make_figures(out)
