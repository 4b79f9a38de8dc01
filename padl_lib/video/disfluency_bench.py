"""Can a speaker's stumble be cut by typing the fluent text? Measured on real speech.

Whisper writes fluent text: a false start ("bee- been") or a word said twice is often left out,
and then an edit cannot remove it. `disfluency_check` splices such stumbles into the LibriVox
sentences (real speech, times from padl's own transcript of each sentence), transcribes each
spliced recording and edits it to the sentence's reference text, as a user would:

- a word said again ("he he"), two words said again ("have been have been");
- a false start: the first 30-60 % of a word of at least 0.25 s, then 50-150 ms of the
  recording's room tone, then the word ("bee- been");
- a restart: the word before it and such a false start ("have bee- have been").

A stumble counts as cut when the edit keeps no more than CUT_SLACK s more sound than the same
edit of the fluent sentence. Extra words in the fluent sentences' transcripts count the other
way: found where nobody stumbled. The app's one-click buttons ("Remove fillers", then "Remove
repeats") are measured on the same recordings: a stumble counts as cut by them when they keep no
more than CUT_SLACK s more sound than they keep of the fluent sentence, and only where they cut no
word the typed text keeps; such words, and those they cut from the fluent sentences, count
against them.
"""
from __future__ import annotations

import difflib
import tempfile
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from padl_lib.video.bench import _room_tone
from padl_lib.video.edit import edit_list, remove_fillers, remove_repeats, token_key, transcript_fillers
from padl_lib.video.media import SAMPLE_RATE, load_audio, write_wav
from padl_lib.video.samples import librivox_sentences
from padl_lib.video.spoken import false_start_stem, spoken_words
from padl_lib.video.transcript import Transcript

KINDS = ("word said again", "two words said again", "false start", "restart")
CUT_SLACK = 0.06  # s of extra sound an edit may keep where the stumble was cut
MIN_FRAGMENT_WORD = 0.25  # s: shorter words are not broken off in the benchmark
__all__ = ["disfluency_check", "benchmark_rows", "KINDS"]


def _extra_words(transcript: Transcript, reference: list[str]) -> list[int]:
    """Indexes (in `transcript.words`) of words none of whose spoken words the reference has, and
    of false starts ("ill-dis-"), whose first words may look like the reference's."""
    said = [(k, w) for k, w in enumerate(transcript.words) if w.kind == "word" and spoken_words(w.text)]
    spoken = [(k, word) for k, w in said if false_start_stem(w.text) is None for word in spoken_words(w.text)]
    matcher = difflib.SequenceMatcher(None, reference, [word for _, word in spoken], autojunk=False)
    matched = {spoken[b + t][0] for _, b, size in matcher.get_matching_blocks() for t in range(size)}
    return sorted({k for k, _ in said} - matched)


def _fluent_edit(transcript: Transcript, reference: list[str]) -> str:
    """The transcript's text without the words the reference does not have."""
    extra = set(_extra_words(transcript, reference))
    return " ".join(w.token for k, w in enumerate(transcript.words) if k not in extra)


def _kept_seconds(transcript: Transcript, text: str, audio: np.ndarray) -> float:
    return sum(s.end - s.start for s in edit_list(transcript, text, audio=audio).spans)


def _one_click_edit(transcript: Transcript) -> str:
    """The transcript's text after the app's "Remove fillers" and "Remove repeats"."""
    fillers = transcript_fillers(transcript)
    return remove_repeats(remove_fillers(transcript.text(), fillers), fillers)


def _words_lost(transcript: Transcript, text: str, clicked: str) -> list[str]:
    """The words the edit `text` keeps and the edit `clicked` cuts, counted as words: of words said
    twice, the two edits may keep different sayings ("young man, young man")."""
    def kept(edit: str) -> Counter[str]:
        items = edit_list(transcript, edit).kept_items()
        return Counter(token_key(transcript.words[i].text) for i in items if transcript.words[i].kind == "word")

    return list((kept(text) - kept(clicked)).elements())


def _stumble(kind: str, audio: np.ndarray, words: list, rng: np.random.Generator) -> tuple[float, np.ndarray]:
    """(where, what) to splice into `audio` for one stumble of `kind`, given its aligned words."""

    def cut(a: float, b: float) -> np.ndarray:
        return audio[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)]

    if kind in KINDS[:2]:
        back = 1 if kind == KINDS[0] else 2
        k = int(rng.integers(back - 1, len(words) - 1))
        return words[k + 1].start, cut(words[k - back + 1].start, words[k + 1].start)
    k = int(rng.choice([k for k in range(1, len(words)) if words[k].duration >= MIN_FRAGMENT_WORD]))
    word, share = words[k], rng.uniform(0.3, 0.6)
    first = words[k - 1].start if kind == "restart" else word.start
    fragment = cut(first, word.start + share * word.duration)
    return first, np.concatenate([fragment, _room_tone(audio, rng.uniform(0.05, 0.15), rng)])


def disfluency_check(seed: int = 0, per_kind: int = 2, model: str | None = None) -> dict:
    """Splice `per_kind` stumbles of each of KINDS into each LibriVox sentence, transcribe, edit to
    the reference text: per kind, how many were cut; and the extra words in the fluent sentences."""
    from padl_lib.video.pipeline import transcribe

    rng = np.random.default_rng(seed)
    cut = {kind: 0 for kind in KINDS}
    clicked = {kind: 0 for kind in KINDS}
    lost: list[str] = []  # words the typed text keeps and one click cuts
    total = {kind: 0 for kind in KINDS}
    found_in_fluent: list[str] = []
    with tempfile.TemporaryDirectory(prefix="padl-disfluency-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # whisper's dropped inventions are not what is measured here
        for path, text in librivox_sentences():
            audio = load_audio(path)
            reference = [w for token in text.split() for w in spoken_words(token)]
            fluent = transcribe(path, model)
            found_in_fluent += [fluent.words[k].text for k in _extra_words(fluent, reference)]
            words = [w for w in fluent.words if w.kind == "word" and w.confidence > 0]
            fluent_kept = _kept_seconds(fluent, _fluent_edit(fluent, reference), audio)
            fluent_clicks = _one_click_edit(fluent)
            lost += _words_lost(fluent, fluent.text(), fluent_clicks)
            fluent_clicked = _kept_seconds(fluent, fluent_clicks, audio)
            for kind in KINDS:
                for _ in range(per_kind):
                    at, inserted = _stumble(kind, audio, words, rng)
                    spliced = np.concatenate([audio[:int(at * SAMPLE_RATE)], inserted, audio[int(at * SAMPLE_RATE):]])
                    t = transcribe(write_wav(Path(tmp) / "stumble.wav", spliced), model)
                    typed, clicks = _fluent_edit(t, reference), _one_click_edit(t)
                    total[kind] += 1
                    cut[kind] += _kept_seconds(t, typed, spliced) <= fluent_kept + CUT_SLACK
                    too_many = _words_lost(t, typed, clicks)
                    lost += too_many
                    clicked[kind] += _kept_seconds(t, clicks, spliced) <= fluent_clicked + CUT_SLACK and not too_many
    return {"cut": cut, "clicked": clicked, "total": total, "found_in_fluent": found_in_fluent, "lost": lost}


def benchmark_rows() -> list[tuple[str, object, str]]:
    """Rows (metric, value, goal) for `python -m padl_lib.video.bench`."""
    r = disfluency_check()

    def count(key: str) -> str:
        per_kind = ", ".join(f"{kind} {r[key][kind]}/{r['total'][kind]}" for kind in KINDS)
        return f"{sum(r[key].values())} of {sum(r['total'].values())} ({per_kind})"

    return [("stumbles spliced into the LibriVox sentences, cut by typing the fluent text", count("cut"), "(no goal)"),
            ("  words found in the fluent sentences that their reference text does not have",
             f"{len(r['found_in_fluent'])} {r['found_in_fluent'] or ''}", "(recognizer errors count here)"),
            ("  the same stumbles cut by one click each on Remove fillers and Remove repeats", count("clicked"),
             "(no goal)"),
            ("  words those clicks cut that the typed text keeps", f"{len(r['lost'])} {r['lost'] or ''}",
             "(no goal)")]


if __name__ == "__main__":
    for metric, value, goal in benchmark_rows():
        print(f"{metric:<80} {value!s:<60} {goal}")
