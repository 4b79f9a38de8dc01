"""Synthetic speech with known word onsets, from espeak-ng (Debian's libespeak-ng, via ctypes).

While it speaks, the synthesizer reports where each word of the text begins in its output (its
WORD events). That is a timing reference for words inside connected speech, which no recording
padl ships has: the benchmark's real-speech reference knows only the edges of utterances.
The onset is where the word's first phone begins, the closure of a stop consonant included.

The library carries state from one utterance to the next: the same text comes out up to ~2 %
longer or shorter, and its word onsets move by tens of ms, depending on what was spoken before.
So each call speaks in a fresh process (`python -m padl_lib.video.espeak`, ~0.3 s), and the same
text always gives the same samples.
"""
from __future__ import annotations

import ctypes
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from padl_lib.video.media import write_wav

SYNCHRONOUS = 2  # espeak_AUDIO_OUTPUT: synthesize into the callback, return when done
EVENT_WORD, EVENT_END_OF_LIST = 1, 0
PARAMETER_RATE = 1  # espeak_PARAMETER: words per minute
POSITION_CHARACTER = 1
__all__ = ["Synthesized", "synthesize"]


class _Event(ctypes.Structure):
    """espeak_EVENT of speak_lib.h."""

    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint), ("text_position", ctypes.c_int),
                ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


class _Voice(ctypes.Structure):
    """espeak_VOICE of speak_lib.h: what to look for when a name is not a voice's own."""

    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p), ("identifier", ctypes.c_char_p),
                ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte), ("variant", ctypes.c_ubyte),
                ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int), ("spare", ctypes.c_void_p)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


@dataclass(frozen=True)
class Synthesized:
    """Speech (float32 mono at `rate` Hz) and the onset (s) of each whitespace-separated token of
    its text (None where the synthesizer reported no word)."""

    text: str
    audio: np.ndarray
    rate: int
    onsets: tuple[float | None, ...]

    def write(self, path: str | os.PathLike) -> Path:
        """Save as 16-bit WAV."""
        return write_wav(path, self.audio, self.rate)


class _Engine:
    """The espeak-ng library, initialized once, collecting samples and word events per call."""

    def __init__(self) -> None:
        try:
            self.lib = ctypes.CDLL("libespeak-ng.so.1")
        except OSError as exc:
            raise RuntimeError("libespeak-ng is missing: install Debian's espeak-ng package") from exc
        self.rate = self.lib.espeak_Initialize(SYNCHRONOUS, 0, None, 0)
        if self.rate <= 0:
            raise RuntimeError("espeak-ng could not be initialized (is espeak-ng-data installed?)")
        self.samples: list[np.ndarray] = []
        self.words: list[tuple[int, int]] = []  # (character position, 1-based; sample)
        self.callback = _CALLBACK(self._collect)  # kept referenced: the library calls it
        self.lib.espeak_SetSynthCallback(self.callback)

    def _collect(self, wav, count: int, events) -> int:
        if count > 0:
            self.samples.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        k = 0
        while events[k].type != EVENT_END_OF_LIST:
            if events[k].type == EVENT_WORD:
                self.words.append((events[k].text_position, events[k].sample))
            k += 1
        return 0

    def speak(self, text: str, voice: str, words_per_minute: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
        # a voice's name ("en-us+f3"), else a language ("en-gb"), as the espeak-ng command reads -v
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0 and \
                self.lib.espeak_SetVoiceByProperties(ctypes.byref(_Voice(languages=voice.encode()))) != 0:
            raise ValueError(f"espeak-ng has no voice or language {voice!r}")
        self.lib.espeak_SetParameter(PARAMETER_RATE, words_per_minute, 0)
        self.samples, self.words = [], []
        data = text.encode("utf-8")
        self.lib.espeak_Synth(data, len(data) + 1, 0, POSITION_CHARACTER, 0, 0, None, None)
        self.lib.espeak_Synchronize()
        audio = np.concatenate(self.samples) if self.samples else np.zeros(0, np.int16)
        return audio.astype(np.float32) / 32768, self.words


_ERRORS = {"ValueError": ValueError, "RuntimeError": RuntimeError}


def _speak_here(request: dict) -> bytes:
    """Speak `request` with a newly initialized library; the samples and word events as .npz bytes."""
    engine = _Engine()
    audio, words = engine.speak(request["text"], request["voice"], request["words_per_minute"])
    out = io.BytesIO()
    np.savez(out, audio=audio, rate=engine.rate, words=np.array(words, dtype=np.int64).reshape(-1, 2))
    return out.getvalue()


def _speak_in_fresh_process(text: str, voice: str, words_per_minute: int) -> tuple[np.ndarray, int, np.ndarray]:
    request = json.dumps({"text": text, "voice": voice, "words_per_minute": words_per_minute})
    here = str(Path(__file__).resolve().parents[2])  # padl_lib's folder, importable however the caller found it
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "padl_lib.video.espeak"], input=request.encode(),
                          capture_output=True, timeout=300, env=env)
    if done.returncode != 0:
        kind, _, message = done.stderr.decode(errors="replace").strip().rpartition("\n")[2].partition(": ")
        raise _ERRORS.get(kind, RuntimeError)(message or f"espeak-ng failed (exit status {done.returncode})")
    with np.load(io.BytesIO(done.stdout)) as result:
        return result["audio"], int(result["rate"]), result["words"]


def synthesize(text: str, voice: str = "en-us", words_per_minute: int = 150) -> Synthesized:
    """`text` spoken by espeak-ng in `voice`, with the onset of each of its tokens.

    The same arguments always give the same speech (see the module's docstring)."""
    audio, rate, words = _speak_in_fresh_process(text, voice, words_per_minute)
    onsets, pos = [], 0
    for token in text.split():  # event positions count characters from 1
        pos = text.index(token, pos)
        inside = [sample for position, sample in words if pos <= position - 1 < pos + len(token)]
        onsets.append(float(inside[0]) / rate if inside else None)
        pos += len(token)
    return Synthesized(text, audio, rate, tuple(onsets))


if __name__ == "__main__":  # the speaking process: a JSON request on stdin, .npz bytes on stdout
    try:
        sys.stdout.buffer.write(_speak_here(json.loads(sys.stdin.read())))
    except (ValueError, RuntimeError) as exc:
        sys.exit(f"{type(exc).__name__}: {exc}")
