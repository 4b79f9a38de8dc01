"""The transcript model: timed words, fillers and pauses of one media file.

A `Transcript` is a list of `Word` items in time order. Each item has a `kind`:

- ``"word"``: a spoken word as written by the ASR or script (punctuation kept, e.g. ``"Hello,"``);
- ``"filler"``: a hesitation such as ``"um"`` or ``"uh"`` (always lower case, no punctuation);
- ``"pause"``: a silence between speech of at least `MIN_PAUSE` seconds; its text in memory is
  empty, in the JSON file it is its token (below), so the items' texts joined by spaces are the
  editable text.

The plain text the user edits (`Transcript.text()`, or `python -m padl_lib.video text T.json`)
is every item's `token`, separated by single spaces. Words and fillers appear as their text; a
pause appears as the token ``[pause 1.2s]`` (duration in seconds, one decimal). Editing contract
for the edit parser:

- delete a token to cut that word, filler or pause;
- change the number of a pause token to shorten it (``[pause 1.2s]`` -> ``[pause 0.3s]``);
- `parse_pause_token(token)` returns the requested seconds of a pause token (None for others),
  and `PAUSE_TOKEN` is the regular expression it uses.

Files: `save()` writes versioned JSON next to the media (default ``<media stem>.transcript.json``,
or ``<media name>.transcript.json`` beside another recording of that stem; atomically);
`load()` checks the format, its version and the media's SHA-256 checksum.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pysubs2

from padl_lib.io import atomic_path
from padl_lib.video.media import MediaError, sha256_file

FORMAT = "padl-transcript"
FORMAT_VERSION = 1
KINDS = ("word", "filler", "pause")
CLOSING_QUOTES = "\"'”’»)"  # a sentence may end inside them: 'man.”'
OVERLAP = 0.001  # s two items may overlap (rounding) before a transcript counts as malformed
MIN_PAUSE = 0.3
MIN_CUE = 0.8  # s a subtitle stays up at least, where the silence after it allows (a reader's glance)
# words whose full stop ends no sentence: a subtitle cue runs on after them
ABBREVIATIONS = frozenset("mr. mrs. ms. dr. prof. st. vs. e.g. i.e. cf. fig. eq. approx.".split())
# words a subtitle should not end a line on: they open the phrase that follows
_PHRASE_OPENERS = ABBREVIATIONS | frozenset(
    "a an the to of in on at by for from with into about as and or but nor if how than my your his her its our "
    "their this these those very more most".split())
# as written ("[pause 1.2s]"), and as typed: any case and spacing, "[pause .5s]", "[pause 1,2 s]",
# "[Pause 1.2]" (seconds), "[pause 800ms]", "[pause 2 sec]"
PAUSE_TOKEN = re.compile(r"\[\s*pause\s+(\d+(?:[.,]\d*)?|[.,]\d+)\s*(ms|s|secs?|seconds?)?\s*\]", re.IGNORECASE)
__all__ = ["Word", "Transcript", "TranscriptError", "parse_pause_token", "default_path", "beside_media",
           "is_transcript_file", "read_json", "check_format", "FORMAT_VERSION", "KINDS", "PAUSE_TOKEN"]


class TranscriptError(ValueError):
    """A transcript file is malformed, of another version, or belongs to other media."""


def read_json(path: Path, what: str, error: type[Exception]) -> object:
    """The JSON document at `path`; a missing or unreadable file raises `error` naming `what`."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8-sig"))  # a BOM, as Windows editors write
    except FileNotFoundError as exc:
        raise error(f"{what} file not found: {path}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path} is not valid JSON: {exc}") from exc


def check_format(doc: object, fmt: str, version: int, what: str, error: type[Exception]) -> None:
    """Raise `error` unless `doc` is a JSON object of format `fmt` and version `version`."""
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise error(f"not a padl {what} (expected \"format\": \"{fmt}\")")
    if doc.get("version") != version:
        raise error(f"{what} format version {doc.get('version')!r} is not supported "
                    f"(this padl reads version {version}); create it again")


def is_transcript_file(path: str | os.PathLike) -> bool:
    """Whether `path` holds a padl transcript (of any version): one that may be written over."""
    try:
        doc = read_json(Path(path), "transcript", TranscriptError)
    except (TranscriptError, OSError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def parse_pause_token(token: str) -> float | None:
    """Seconds requested by a pause token like ``[pause 1.2s]`` (seconds unless it says ms; a
    decimal comma is read as a point); None if `token` is not one."""
    match = PAUSE_TOKEN.fullmatch(token.strip())
    if not match:
        return None
    number = float(match.group(1).replace(",", "."))
    return number / 1000 if (match.group(2) or "").lower() == "ms" else number


def _word_from_json(n: int, item: object) -> "Word":
    """Item `n` (1-based) of a transcript file's "words"; TranscriptError naming it if malformed."""
    def bad(problem: str) -> TranscriptError:
        return TranscriptError(f"malformed transcript: item {n} {problem}")

    if not isinstance(item, dict):
        raise bad("is not an object")
    kind = item.get("kind", "word")
    text = "" if kind == "pause" else item.get("text")
    if not isinstance(text, str):
        raise bad(f"needs its text as a string, not {text!r}")
    if kind != "pause" and (len(text.split()) != 1 or parse_pause_token(text) is not None):
        raise bad(f"must be one word, not {text!r}")
    times = [item.get(key) for key in ("start", "end", "confidence")]
    times[2] = 1.0 if times[2] is None else times[2]
    if not all(isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) for t in times):
        raise bad("needs finite numbers for start, end (seconds) and confidence")
    try:
        return Word(text=text, start=float(times[0]), end=float(times[1]), kind=str(kind), confidence=float(times[2]))
    except TranscriptError as exc:
        raise bad(f"({text or 'a pause'!r}): {exc}") from exc


def beside_media(media: str | os.PathLike, suffix: str, stored_media: Callable[[dict], object]) -> Path:
    """The file ``<folder>/<stem><suffix>`` that belongs to `media`, or ``<folder>/<name><suffix>``
    if the first already belongs to another recording of the same stem (lecture.mp4 and
    lecture.wav): `stored_media` reads the recording's path, relative to the file's folder, from
    such a file's JSON."""
    media = Path(media)
    plain = media.with_name(media.stem + suffix)
    try:
        other = stored_media(json.loads(plain.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):  # none yet, or not ours: nobody else's either
        return plain
    if isinstance(other, str) and (plain.parent / other).resolve() != media.resolve():
        return media.with_name(media.name + suffix)
    return plain


def default_path(media: str | os.PathLike) -> Path:
    """Where a media file's transcript lives by default: ``<folder>/<stem>.transcript.json``
    (``<name>.transcript.json`` if that is another recording's, see `beside_media`)."""
    return beside_media(media, ".transcript.json", lambda doc: doc["media"])


@dataclass(frozen=True)
class Word:
    """One timed item of a transcript (times in seconds from the start of the media)."""

    text: str
    start: float
    end: float
    kind: str = "word"
    confidence: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TranscriptError(f"unknown kind {self.kind!r} (expected one of {KINDS})")
        if not (0 <= self.start <= self.end):
            raise TranscriptError(f"bad times for {self.text!r}: start {self.start}, end {self.end}")
        if self.kind != "pause" and not self.text.strip():
            raise TranscriptError(f"a {self.kind} needs text (at {self.start:.2f} s)")

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def token(self) -> str:
        """How this item appears in the editable text."""
        return f"[pause {self.duration:.1f}s]" if self.kind == "pause" else self.text


@dataclass
class Transcript:
    """Timed words of one media file, with where they came from."""

    words: list[Word]
    media: Path
    checksum: str
    language: str = "en"
    model: str = ""
    aligner: str = ""
    version: int = FORMAT_VERSION
    extra: dict = field(default_factory=dict)

    def text(self) -> str:
        """The editable plain text: every item's token, separated by spaces."""
        return " ".join(w.token for w in self.words)

    def spoken(self) -> list[Word]:
        """Words and fillers (everything but pauses)."""
        return [w for w in self.words if w.kind != "pause"]

    def index_at(self, seconds: float) -> int | None:
        """Index of the item playing at `seconds` (None outside every item)."""
        for i, w in enumerate(self.words):
            if w.start <= seconds < w.end:
                return i
        return None

    # --- JSON -------------------------------------------------------------------------------
    def to_dict(self, relative_to: Path | None = None) -> dict:
        """The JSON document; the media path is stored relative to `relative_to` when inside it."""
        media = Path(self.media)
        if relative_to is not None:
            try:
                media = Path(os.path.relpath(media.resolve(), Path(relative_to).resolve()))
            except ValueError:  # another drive
                media = media.resolve()
        return {"format": FORMAT, "version": self.version, "media": str(media), "checksum": self.checksum,
                "language": self.language, "model": self.model, "aligner": self.aligner, "extra": self.extra,
                "words": [{**asdict(w), "text": w.token} for w in self.words]}

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the transcript as JSON (default: next to the media) atomically; return the path."""
        path = Path(path) if path is not None else default_path(self.media)
        with atomic_path(path, protect=(self.media,)) as tmp:
            tmp.write_text(json.dumps(self.to_dict(relative_to=path.parent), indent=1, ensure_ascii=False) + "\n",
                           encoding="utf-8")
        return path

    @classmethod
    def from_dict(cls, doc: dict, base: Path = Path(".")) -> "Transcript":
        """Build a transcript from its JSON document (media paths resolved against `base`)."""
        check_format(doc, FORMAT, FORMAT_VERSION, "transcript", TranscriptError)
        items, extra = doc.get("words"), doc.get("extra") or {}
        if not isinstance(items, list) or not isinstance(doc.get("media"), str) or \
                not isinstance(doc.get("checksum"), str) or not isinstance(extra, dict):
            raise TranscriptError('malformed transcript: it needs "words" (a list), "media" and "checksum" '
                                  '(strings), and "extra" must be an object')
        words = [_word_from_json(n, item) for n, item in enumerate(items, start=1)]
        if any(b.start < a.start for a, b in zip(words, words[1:])):
            raise TranscriptError("malformed transcript: items are not in time order")
        for n, (a, b) in enumerate(zip(words, words[1:]), start=1):
            if b.start < a.end - OVERLAP:  # a render would play the later one's sound with the earlier
                raise TranscriptError(f"malformed transcript: item {n} ({a.text or 'a pause'!r}, {a.start:.2f}-"
                                      f"{a.end:.2f} s) overlaps item {n + 1} ({b.text or 'a pause'!r} from "
                                      f"{b.start:.2f} s)")
        media = Path(doc["media"])
        return cls(words=words, media=media if media.is_absolute() else base / media, checksum=doc["checksum"],
                   language=str(doc.get("language", "en")), model=str(doc.get("model", "")),
                   aligner=str(doc.get("aligner", "")), extra=dict(extra))

    @classmethod
    def load(cls, path: str | os.PathLike, media: str | os.PathLike | None = None,
             verify: bool = True) -> "Transcript":
        """Read a transcript file; with `verify`, check that `media` (default: the stored path) matches."""
        path = Path(path)
        doc = read_json(path, "transcript", TranscriptError)
        try:
            transcript = cls.from_dict(doc, base=path.parent)
        except TranscriptError as exc:
            raise TranscriptError(f"{path}: {exc}") from exc
        if media is not None:
            transcript.media = Path(media)
        if verify:
            transcript.verify_media()
        return transcript

    @property
    def audio_track(self) -> int:
        """The audio track (0-based) the transcript was made from (`pipeline.transcribe`)."""
        return int(self.extra.get("audio_track", 0))

    def verify_media(self) -> None:
        """Raise TranscriptError unless the media file exists and has the recorded checksum."""
        try:
            actual = sha256_file(self.media)
        except MediaError as exc:
            raise TranscriptError(f"the transcript's media is missing: {exc}") from exc
        if actual != self.checksum:
            raise TranscriptError(f"{self.media} does not match this transcript (checksum {actual[:12]}… "
                                  f"instead of {self.checksum[:12]}…): the media changed or is another file")

    # --- subtitles ----------------------------------------------------------------------------
    def cues(self, max_chars: int = 84, max_seconds: float = 6.0, max_gap: float = 0.8,
             fillers: bool = False) -> list[tuple[float, float, str]]:
        """Readable subtitle cues (start, end, text): one a sentence, where a gap of `max_gap` or
        more also ends one; a sentence too long for one cue (`max_chars`, `max_seconds`) is split
        into as few cues as fit, at a comma where that keeps them even, else into even lengths. A
        cue shorter than `MIN_CUE` stays up into the silence after it, until the next cue."""
        cues = [(piece[0].start, piece[-1].end, " ".join(w.text for w in piece))
                for run in self._sentences(max_gap, fillers) for piece in _split_evenly(run, max_chars, max_seconds)]
        limits = [start for start, _, _ in cues[1:]] + [self.words[-1].end if self.words else 0.0]
        return [(start, max(end, min(start + MIN_CUE, limit)), text) for (start, end, text), limit in zip(cues, limits)]

    def _sentences(self, max_gap: float, fillers: bool) -> list[list[Word]]:
        """The said items (fillers if asked) in runs ended by a sentence end or a gap of `max_gap`."""
        runs: list[list[Word]] = [[]]
        for w in self.words:
            if w.kind == "pause" or (w.kind == "filler" and not fillers):
                if w.kind == "pause" and w.duration >= max_gap and runs[-1]:
                    runs.append([])
                continue
            if runs[-1] and w.start - runs[-1][-1].end >= max_gap:
                runs.append([])
            runs[-1].append(w)
            if w.text.rstrip(CLOSING_QUOTES).endswith((".", "?", "!", "…")) and w.text.lower() not in ABBREVIATIONS:
                runs.append([])
        return [run for run in runs if run]

    def subtitles(self, **cue_options) -> pysubs2.SSAFile:
        """The cues as a pysubs2 subtitle file (two lines at most per cue)."""
        subs = pysubs2.SSAFile()
        for start, end, text in self.cues(**cue_options):
            subs.append(pysubs2.SSAEvent(start=round(start * 1000), end=round(end * 1000), text=_two_lines(text)))
        return subs

    def save_subtitles(self, path: str | os.PathLike, **cue_options) -> Path:
        """Write .srt or .vtt (chosen by the suffix) atomically; return the path."""
        path = Path(path)
        fmt = {".srt": "srt", ".vtt": "vtt"}.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(f"subtitle format of {path.name!r} unknown: use a .srt or .vtt file name")
        with atomic_path(path, protect=(self.media,)) as tmp:
            self.subtitles(**cue_options).save(str(tmp), format_=fmt)
        return path


def _split_evenly(run: list[Word], max_chars: int, max_seconds: float) -> list[list[Word]]:
    """`run` in the fewest pieces of at most `max_chars` and `max_seconds` (a single word may
    exceed them), and of those the split with the least sum of squared lengths plus a penalty for
    each break not after a comma, semicolon, colon or dash, and another after an article,
    preposition or conjunction: even cues, at clauses where they can be."""
    ends = [0, *itertools.accumulate(len(w.text) + 1 for w in run)]  # run[i:j] has ends[j] - ends[i] - 1 chars
    penalty = (max_chars / 4) ** 2
    best: list[tuple[int, float, int]] = [(0, 0.0, 0)]  # best[j]: (pieces, cost, start of the last) of run[:j]
    for j in range(1, len(run) + 1):
        options = []
        for i in range(j - 1, -1, -1):
            chars = ends[j] - ends[i] - 1
            if i < j - 1 and (chars > max_chars or run[j - 1].end - run[i].start > max_seconds):
                break
            pieces, cost, _ = best[i]
            flaws = _break_flaws(run[i - 1].text) if i else 0  # a run's start is no break
            options.append((pieces + 1, cost + chars ** 2 + penalty * flaws, i))
        best.append(min(options))
    pieces, j = [], len(run)
    while j:
        i = best[j][2]
        pieces.append(run[i:j])
        j = i
    return pieces[::-1]


def _break_flaws(word: str) -> int:
    """How badly a subtitle breaks after `word`: 0 after a clause (a comma, semicolon, colon or
    dash), 2 inside a phrase ("the | model", "how | much"), else 1."""
    if word.rstrip(CLOSING_QUOTES).endswith((",", ";", ":", "\u2013", "\u2014")):
        return 0
    return 2 if word.lower() in _PHRASE_OPENERS else 1


def _two_lines(text: str, width: int = 42) -> str:
    """Break a long cue into two lines (pysubs2's \\N line break) of at most `width` where it can,
    at a clause if one fits, else between phrases, then as even as they can be."""
    if len(text) <= width:
        return text
    words = text.split()
    if len(words) < 2:
        return text
    lines = [(" ".join(words[:i]), " ".join(words[i:]), _break_flaws(words[i - 1])) for i in range(1, len(words))]
    fitting = [line for line in lines if max(len(line[0]), len(line[1])) <= width] or lines
    first, second, _ = min(fitting, key=lambda line: (line[2], abs(len(line[0]) - len(line[1]))))
    return first + r"\N" + second
