"""`python -m padl_lib.video.bench`: transcription quality and speed on real, shipped speech.

Measures, in one run:

- **WER** of the transcript's words on the five LibriVox sentences of Debian's
  `pocketsphinx-testdata` against their reference `transcription` (both sides put into spoken
  form by `spoken.spoken_sequence`, then scored by jiwer);
- **word-boundary error** against a constructed timing reference (`timing_reference`): no
  shipped recording has word times, so real recorded utterances (the five LibriVox sentences
  and pocketsphinx's `goforward`, `numbers`, `something` recordings, three other speakers), each
  scaled to the same noise floor as if recorded in one room, are trimmed to their sound, and
  concatenated in a shuffled order with inserted room tone of known, random length (0.4-1.2 s).
  Each utterance's first-word onset and last-word offset then lie at known times. The
  transcript's items are assigned to the utterance whose span (extended to the middle of the
  surrounding gaps) contains their midpoint; errors are |predicted - reference|;
- **every word aligned**: the share of transcript words with a real alignment (confidence > 0,
  positive duration) and no utterance left without words;
- **every word aligned in other voices**: six short lecture passages (written for padl, with
  numbers, dates, fillers and technical words) spoken by espeak-ng in six English voices and
  speeds, transcribed; the share of words with a real alignment, and the WER against the text
  (`synthesized_voices`; robotic voices, so the WER is context, not a goal); the same passages
  aligned as scripts give word onsets inside sentences, against the onsets espeak-ng reports as it
  speaks (`espeak`): the only reference padl has for boundaries in connected speech;
- **boundaries in noise**: the timing signal again with steady noise 20 dB under the speech
  (`with_noise`), scored on the clean signal's reference (faint sound that the noise masks
  still counts, so this is strict);
- **real-time factor** of `transcribe` (recognition + alignment) on the timing signal, with the
  model already loaded; loading time is shown separately;
- extra sections registered by other modules (`SECTIONS`, e.g. video-edit's render timing).

Whisper's own word times are scored on the same reference for comparison.
"""
from __future__ import annotations

import argparse
import importlib
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jiwer
import numpy as np

from padl_lib import set_threads
from padl_lib.settings import cache_dir, quick
from padl_lib.video import acoustics
from padl_lib.video.espeak import Synthesized, synthesize
from padl_lib.video.media import SAMPLE_RATE, load_audio, write_wav
from padl_lib.video.samples import librivox_sentences
from padl_lib.video.spoken import spoken_sequence
from padl_lib.video.transcript import Word

POCKETSPHINX_DATA = Path("/usr/share/pocketsphinx/test/data")
OTHER_SPEAKERS = ("goforward.raw", "numbers.raw", "something.raw")
ONSET_MARGIN_DB = 6.0  # an utterance's sound lies above its noise floor + this (dB): cut there
REFERENCE_MARGINS_DB = (6.0, 10.0)  # reference edges: the cut itself, and a stricter notion of sound
MIN_SOUND_FRAMES = 10  # ... for runs of at least 100 ms
GOALS = {"wer": 0.08, "mean_ms": 30.0, "within_50": 0.95, "rtf": 0.3}
NOISE_SNR_DB = 20.0  # the timing signal again with steady noise at this level under the speech
# "module:function" sections run after the built-in ones, each returning rows (metric, value, goal);
# modules that do not exist (yet) are skipped with a note.
SECTIONS = ["padl_lib.video.render:benchmark", "padl_lib.video.disfluency_bench:benchmark_rows"]
# (voice, words per minute, text) for `synthesized_voices`; the texts were written for padl
VOICE_PASSAGES = [
    ("en-us", 150, "Welcome back. Last week we covered convolutional networks. Today, in lecture 7, we look at "
                   "recurrent networks, which process sequences one step at a time. The LSTM was introduced in "
                   "1997 by Hochreiter and Schmidhuber."),
    ("en-gb", 170, "Okay, so, let's start with the homework. About 85 percent of you passed, which is great. The "
                   "deadline for assignment 3 is March 14th, at 11:59 pm. Please submit a PDF, not a Word file."),
    ("en-us+f3", 140, "The learning rate is set to 0.001, and the batch size is 256. We train for 90 epochs on "
                      "ImageNet, which has 1.2 million images in 1000 classes. On 8 GPUs this takes roughly two days."),
    ("en-gb-x-rp", 160, "Uh, let me just, um, switch to the other slide. Right. So the attention weights are "
                        "computed with a softmax over the dot products, divided by the square root of the "
                        "dimension d."),
    ("en-us+m7", 185, "Binary neural networks replace 32-bit floating point weights with single bits. The XNOR "
                      "and popcount operations then compute a dot product 58 times faster on a CPU, at some cost "
                      "in accuracy."),
    ("en-029", 145, "My office hours are on Tuesdays from 2 to 4. If you have questions about the exam, which counts "
                    "for 60% of the grade, send an email to the teaching assistants first."),
]
__all__ = ["word_error_rate", "timing_reference", "with_noise", "boundary_errors", "run", "synthesized_voices",
           "onset_errors", "main"]


@dataclass(frozen=True)
class Utterance:
    """A real recording and, where shipped, its reference text."""

    name: str
    audio: np.ndarray
    text: str | None = None


def normalize(text: str) -> str:
    """The spoken form used for scoring: lower case, no punctuation, numbers as words."""
    return " ".join(spoken_sequence(text))


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """Corpus WER (jiwer) of hypotheses against references, both in spoken form."""
    return float(jiwer.wer([normalize(r) for r in references], [normalize(h) for h in hypotheses]))


def _noise_floor_db(audio: np.ndarray) -> float:
    """A recording's noise floor: the 10th percentile of its 10 ms frame energies (dB)."""
    return float(np.percentile(acoustics.frame_energy_db(audio), 10))


def _utterances() -> list[Utterance]:
    """The real recordings, each scaled so that its noise floor matches the LibriVox median,
    as if all were recorded in one room (their signal-to-noise ratios are unchanged)."""
    found = [Utterance(p.stem[-4:], load_audio(p), text) for p, text in librivox_sentences()]
    for name in OTHER_SPEAKERS:
        path = POCKETSPHINX_DATA / name
        if path.is_file():
            found.append(Utterance(path.stem, np.fromfile(path, "<i2").astype(np.float32) / 32768))
    target = float(np.median([_noise_floor_db(u.audio) for u in found[:len(librivox_sentences())]]))
    return [Utterance(u.name, u.audio * np.float32(10 ** ((target - _noise_floor_db(u.audio)) / 20)), u.text)
            for u in found]


def _sound_span(audio: np.ndarray, margin_db: float = ONSET_MARGIN_DB) -> tuple[int, int]:
    """[first, last) sample of an utterance's sound: from the first to the last 10 ms frame of the
    runs of at least MIN_SOUND_FRAMES frames above the utterance's noise floor (10th percentile
    of its frame energies) + `margin_db` (runs exclude isolated clicks and short breath noise)."""
    energy = acoustics.frame_energy_db(audio)
    loud = energy > _noise_floor_db(audio) + margin_db
    starts = np.flatnonzero(np.convolve(loud, np.ones(MIN_SOUND_FRAMES), mode="valid") == MIN_SOUND_FRAMES)
    first, last = int(starts[0]), int(starts[-1]) + MIN_SOUND_FRAMES
    return first * acoustics.HOP, last * acoustics.HOP


def _room_tone(audio: np.ndarray, seconds: float, rng: np.random.Generator) -> np.ndarray:
    """`seconds` of an utterance's own background: its quietest 100 ms, tiled with random phase."""
    energy = acoustics.frame_energy_db(audio)
    smooth = np.convolve(energy, np.ones(10), mode="valid")
    start = int(np.argmin(smooth)) * acoustics.HOP
    quiet = audio[start:start + 10 * acoustics.HOP]
    reps = int(np.ceil(seconds * SAMPLE_RATE / len(quiet))) + 1
    tiled = np.concatenate([quiet[::rng.choice([-1, 1])] for _ in range(reps)])
    return tiled[: int(round(seconds * SAMPLE_RATE))]


def with_noise(audio: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """`audio` with steady noise added (white noise low-passed by an 8-sample moving average, a
    fan's or projector's hiss) at `snr_db` below the speech's level (the RMS of its samples above
    1 % of full scale)."""
    noise = np.convolve(np.random.default_rng(seed).standard_normal(len(audio)), np.ones(8) / 8, mode="same")
    speech_rms = float(np.sqrt(np.mean(audio[np.abs(audio) > 0.01] ** 2)))
    noise *= speech_rms / float(np.sqrt(np.mean(noise ** 2))) / 10 ** (snr_db / 20)
    return (audio + noise).astype(np.float32)


def timing_reference(seed: int = 0, margin_db: float = ONSET_MARGIN_DB, sets: int = 1
                     ) -> tuple[Path, list[tuple[float, float]], list[str | None]]:
    """Build (and cache) the timing test signal of `sets` shuffled rounds of the utterances:
    returns its wav path, each utterance's (onset, offset) in seconds, and each utterance's
    reference text (None if not shipped). The utterances are cut at their ONSET_MARGIN_DB
    edges, which are the reference; a larger `margin_db` gives the (later onset, earlier
    offset) edges of a stricter notion of sound inside the same signal."""
    rng = np.random.default_rng(seed)
    utterances = _utterances()
    pieces, spans, texts, t = [], [], [], 0.0
    for k in np.concatenate([rng.permutation(len(utterances)) for _ in range(sets)]):
        utt = utterances[k]
        gap = _room_tone(utt.audio, float(rng.uniform(0.4, 1.2)), rng)
        a, b = _sound_span(utt.audio)
        a_m, b_m = _sound_span(utt.audio, margin_db)
        pieces += [gap, utt.audio[a:b]]
        t += len(gap) / SAMPLE_RATE
        spans.append((t + (a_m - a) / SAMPLE_RATE, t + (b_m - a) / SAMPLE_RATE))
        texts.append(utt.text)
        t += (b - a) / SAMPLE_RATE
    pieces.append(_room_tone(utt.audio, 0.6, rng))
    signal = np.concatenate(pieces)
    path = cache_dir() / "video" / f"timing_reference_{seed}_{sets}.wav"
    write_wav(path, signal)
    return path, spans, texts


def boundary_errors(items: list[Word], spans: list[tuple[float, float]], duration: float) -> dict:
    """Onset/offset errors (ms) of the spoken items of each reference span, and missing spans."""
    edges = [0.0] + [(spans[k][1] + spans[k + 1][0]) / 2 for k in range(len(spans) - 1)] + [duration]
    errors, missing = [], 0
    spoken = [w for w in items if w.kind != "pause"]
    for k, (onset, offset) in enumerate(spans):
        mine = [w for w in spoken if edges[k] <= (w.start + w.end) / 2 < edges[k + 1]]
        if not mine:
            missing += 1
            continue
        errors += [abs(mine[0].start - onset) * 1000, abs(max(w.end for w in mine) - offset) * 1000]
    errors = np.array(errors)
    return {"boundaries": len(errors), "mean_ms": float(errors.mean()) if len(errors) else float("nan"),
            "within_50": float(np.mean(errors <= 50)) if len(errors) else 0.0, "missing_spans": missing,
            "errors_ms": errors.round(1).tolist()}


def is_aligned(word: Word) -> bool:
    """Whether a word or filler has a real alignment (confidence > 0 and positive duration)."""
    return word.confidence > 0 and word.end > word.start


def aligned_share(items: list[Word]) -> float:
    """Share of words and fillers with a real alignment (`is_aligned`)."""
    spoken = [w for w in items if w.kind != "pause"]
    return float(np.mean([is_aligned(w) for w in spoken])) if spoken else 0.0


def run(model: str | None = None, seed: int = 0, threads: int | None = None, sets: int | None = None) -> dict:
    """Every measurement of this module; returns a dict of the numbers (see the module doc).
    `sets`: rounds of the eight utterances in the timing signal (default 1 in quick mode, else 5)."""
    sets = sets or (1 if quick() else 5)
    from padl_lib.video.asr import load_model, recognize
    from padl_lib.video.align import align
    from padl_lib.video.pipeline import asr_tokens, transcribe

    threads = set_threads(threads)
    t0 = time.perf_counter()
    load_model(model, threads)
    load_seconds = time.perf_counter() - t0
    sentences = librivox_sentences()
    hyps = [" ".join(w.text for w in transcribe(p, model).words if w.kind == "word") for p, _ in sentences]
    path, _, _ = timing_reference(seed, sets=sets)
    references = {margin: timing_reference(seed, margin, sets)[1] for margin in REFERENCE_MARGINS_DB}
    audio = load_audio(path)
    duration = len(audio) / SAMPLE_RATE
    load_before = os.getloadavg()[0]
    t0, cpu0 = time.perf_counter(), time.process_time()
    transcript = transcribe(path, model)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
    noisy = write_wav(cache_dir() / "video" / f"timing_reference_{seed}_{sets}_snr{NOISE_SNR_DB:.0f}.wav",
                      with_noise(audio, NOISE_SNR_DB, seed))
    noisy_words = transcribe(noisy, model).words
    tokens = asr_tokens(recognize(audio, model)[0])
    systems = {"padl": transcript.words, "raw": align(audio, tokens, fillers=False, refine=False),
               "whisper": [Word(t.text, t.start, max(t.start, t.end)) for t in tokens]}
    return {
        "threads": threads, "model_load_s": load_seconds,
        "wer": word_error_rate([t for _, t in sentences], hyps), "hypotheses": hyps,
        "reference_words": sum(len(normalize(t).split()) for _, t in sentences),
        "timing": {(name, margin): boundary_errors(items, spans, duration)
                   for name, items in systems.items() for margin, spans in references.items()},
        "timing_noisy": boundary_errors(noisy_words, references[REFERENCE_MARGINS_DB[0]], duration),
        "aligned_share": aligned_share(transcript.words),
        "signal_s": duration, "transcribe_s": seconds, "rtf": seconds / duration, "cpu_s": cpu_seconds,
        "load_average": (load_before, os.getloadavg()[0]), "cores": len(os.sched_getaffinity(0)),
        "transcript_text": transcript.text(),
    }


def onset_errors(speech: Synthesized, words: list[Word]) -> list[float]:
    """Signed errors (ms) of the aligned onsets of a script's `words` (its tokens aligned as
    written, pauses and fillers left out) against the synthesizer's word onsets, for every
    token but the first (whose onset is the start of the signal, silence included)."""
    errors, k = [], 0
    spoken = [w for w in words if w.kind == "word"]
    for token, onset in zip(speech.text.split(), speech.onsets):
        if k < len(spoken) and spoken[k].text == token:
            if onset is not None and k > 0:
                errors.append((spoken[k].start - onset) * 1000)
            k += 1
    return errors


def synthesized_voices(model: str | None = None) -> dict:
    """Transcribe each of VOICE_PASSAGES spoken by espeak-ng: words aligned (share, and the words
    that were not) and the WER against the written passage; and the passages aligned as scripts,
    their word onsets against the synthesizer's (`onset_errors`, words inside sentences)."""
    from padl_lib.video.pipeline import transcribe

    words, hyps, unaligned, onsets = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="padl-voices-") as tmp:
        for k, (voice, speed, text) in enumerate(VOICE_PASSAGES):
            speech = synthesize(text, voice, speed)
            path = speech.write(Path(tmp) / f"voice{k}.wav")
            items = transcribe(path, model).words
            spoken = [w for w in items if w.kind != "pause"]
            words += spoken
            unaligned += [f"{w.text} ({voice})" for w in spoken if not is_aligned(w)]
            hyps.append(" ".join(w.text for w in items if w.kind == "word"))
            onsets += onset_errors(speech, transcribe(path, script=text, fillers=False).words)
    errors = np.abs(onsets)
    return {"aligned_share": aligned_share(words), "words": len(words), "unaligned": unaligned,
            "wer": word_error_rate([text for _, _, text in VOICE_PASSAGES], hyps), "voices": len(VOICE_PASSAGES),
            "onsets": len(errors), "onset_mean_ms": float(errors.mean()),
            "onset_within_50": float(np.mean(errors <= 50)), "onset_errors_ms": np.round(onsets, 1).tolist()}


def _extra_sections() -> list[tuple[str, object, str]]:
    rows: list[tuple[str, object, str]] = []
    for spec in SECTIONS:
        module_name, func_name = spec.split(":")
        try:
            func: Callable[[], list[tuple[str, object, str]]] = getattr(importlib.import_module(module_name), func_name)
        except (ImportError, AttributeError):
            rows.append((f"({spec} not available yet)", "", ""))
            continue
        rows += func()
    return rows


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="Transcription quality and speed on shipped real speech.")
    parser.add_argument("--model", default=None, help="faster-whisper model (default: bundled tiny.en)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the timing signal's order and gaps")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: all usable)")
    parser.add_argument("--sets", type=int, default=None, help="rounds of the utterances in the timing signal "
                        "(default 5, 1 with PADL_QUICK=1)")
    parser.add_argument("--no-extra", action="store_true", help="skip sections of other modules (render timing)")
    args = parser.parse_args(argv)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        r = run(args.model, args.seed, args.threads, args.sets)
        voices = synthesized_voices(args.model)
    timing = r["timing"]
    rows = [("WER, LibriVox sentences", f"{r['wer']:.1%} of {r['reference_words']} words", f"<= {GOALS['wer']:.0%}")]
    for margin in REFERENCE_MARGINS_DB:
        t = timing["padl", margin]
        rows += [
            (f"boundary mean error, reference at +{margin:.0f} dB", f"{t['mean_ms']:.1f} ms over {t['boundaries']}",
             f"<= {GOALS['mean_ms']:.0f} ms"),
            (f"boundaries within 50 ms, reference at +{margin:.0f} dB", f"{t['within_50']:.0%}",
             f">= {GOALS['within_50']:.0%}"),
            ("  forced alignment alone (no energy edges)", f"{timing['raw', margin]['mean_ms']:.1f} ms, "
             f"{timing['raw', margin]['within_50']:.0%} within 50 ms", "(ablation)"),
            ("  whisper's own word times", f"{timing['whisper', margin]['mean_ms']:.1f} ms, "
             f"{timing['whisper', margin]['within_50']:.0%} within 50 ms", "(baseline)"),
        ]
    noisy = r["timing_noisy"]
    rows += [
        (f"boundaries with steady noise {NOISE_SNR_DB:.0f} dB under the speech (clean +6 dB reference)",
         f"{noisy['mean_ms']:.1f} ms mean, {noisy['within_50']:.0%} within 50 ms", "(robustness)"),
        ("utterances without words", f"{timing['padl', REFERENCE_MARGINS_DB[0]]['missing_spans']}", "0"),
        ("words aligned", f"{r['aligned_share']:.1%}", "100%"),
        (f"words aligned, {voices['voices']} espeak-ng voices", f"{voices['aligned_share']:.1%} of {voices['words']}"
         + (f", not: {', '.join(voices['unaligned'])}" if voices["unaligned"] else ""), "100%"),
        ("  WER of those passages (robotic voices)", f"{voices['wer']:.1%}", "(context)"),
        ("  word onsets inside sentences, passages aligned as scripts, vs espeak-ng's word events",
         f"{voices['onset_mean_ms']:.1f} ms mean, {voices['onset_within_50']:.0%} within 50 ms, "
         f"{voices['onsets']} words", "(no goal: synthetic)"),
        (f"real-time factor ({r['threads']} threads)", f"{r['rtf']:.3f} ({r['transcribe_s']:.1f} s for "
         f"{r['signal_s']:.1f} s)", f"<= {GOALS['rtf']}"),
        ("CPU time per second of speech (all threads)", f"{r['cpu_s'] / r['signal_s']:.3f}",
         "(context: busy-machine-proof)"),
        ("machine load (1-min average) before/after", f"{r['load_average'][0]:.1f} / {r['load_average'][1]:.1f} "
         f"on {r['cores']} cores", "(context)"),
        ("model load", f"{r['model_load_s']:.1f} s", ""),
    ] + ([] if args.no_extra else _extra_sections())
    width = max(len(m) for m, _, _ in rows)
    for metric, value, goal in rows:
        print(f"{metric:<{width}}  {value!s:<36} {goal}")
    for margin in REFERENCE_MARGINS_DB:
        print(f"boundary errors (ms), reference at +{margin:.0f} dB:", timing["padl", margin]["errors_ms"])
    print(f"{len(caught)} warning(s) from the pipeline:", *sorted({str(w.message) for w in caught}), sep="\n  ")
    return r


if __name__ == "__main__":
    main()
