"""The edit algebra: the user's edited transcript text -> an edit decision list of source spans.

The user edits `Transcript.text()` like a document: deletes words, fillers and pauses,
shortens pauses (``[pause 1.2s]`` -> ``[pause 0.3s]``), moves sentences, or copies a word or
phrase from elsewhere in the recording. No new words can be typed: every token of the edited
text must have been said somewhere in the recording (a number or abbreviation may be typed as it
was said: "forty two" for the transcript's "42").

1. `align` maps every edited token to one source item by dynamic programming. The cost of a
   mapping is lexicographic: first the number of *cuts* (places where the next token does not
   continue the source right after the previous one), then the number of *rough* cut sides (a
   cut leaves or enters a word said in one breath with its source neighbour), then the number
   of *short* pauses (pause tokens given a recorded pause shorter than they ask for), then the
   total *jump distance* in source items. Fewest cuts prefers long contiguous source runs; among
   as many cuts, a cut where the speaker paused is preferred (Berthouzoz et al. 2012's cut
   suitability: "left click the | Viper" is rough, "[pause] | Then left click the Viper" smooth,
   where the recording says the repeated words twice), and a sentence moved with the pause
   before it keeps that pause; the distance breaks the remaining ties, so a copied word is taken
   from where it was said nearest to its new neighbours.
2. `edit_list` groups contiguous tokens into spans and moves every cut point off the word
   boundary into the quietest moment of the gap between the kept word and its source
   neighbour (the audio's energy envelope), keeping a margin around the kept speech. The cut
   never enters either word: where the two touch (connected speech), it lies on their boundary.
   A shortened pause is cut in its middle only between the words it was recorded between;
   next to a cut it is kept in one piece (`_runs`).
   The recording's head and tail belong to its first and last items: the unedited text renders
   the whole recording.
"""
from __future__ import annotations

import difflib
import re
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from padl_lib.video.acoustics import HOP, frame_energy_db
from padl_lib.video.media import SAMPLE_RATE
from padl_lib.video.spoken import EDGE_PUNCTUATION, false_start_stem, spoken_alternatives, spoken_words
from padl_lib.video.transcript import PAUSE_TOKEN, Transcript, Word, parse_pause_token

FILLERS = frozenset({"um", "umm", "uhm", "uh", "uhh", "er", "erm", "ah", "eh", "hm", "hmm", "mm", "mhm"})
MEANT_TWICE = frozenset({"had", "that", "is"})  # "he had had enough", "what it is is": not removed as repeats
PAUSE_KEY = "[pause]"
FRAME = HOP / SAMPLE_RATE  # seconds per energy frame (10 ms)
JOINED_GAP = 0.05  # s: words closer than this were said in one breath; a cut between them is rough
PAUSE_ROUNDING = 0.05  # s: the text writes pauses to 0.1 s
LATE_END = 0.1  # s an item may end past the recording (decoders differ by some ms in a file's length)
# a pause token, else a garbled one ("[pause 1.2x]" or, without its "]", "[pause": one token to name
# in the error), else a run of other characters up to white space or a pause token ("man.[pause 1s]")
_TOKEN = re.compile(PAUSE_TOKEN.pattern + r"|\[\s*pause\b[^\]\[\n]{0,24}\]|\[\s*pause\b|\[?(?:(?!\[\s*pause\s)\S)+",
                    re.IGNORECASE)
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")  # quotes included: "‘It’s ok.’" -> "it's", "ok"
# typed forms of the same characters: a curly apostrophe, hyphens of word processors, invisible spaces
_TYPED_FORMS = str.maketrans({"\u2019": "'", "\u2010": "-", "\u2011": "-", "\u200b": None, "\u200c": None,
                              "\u200d": None, "\u2060": None, "\ufeff": None})
_LOOKS_LIKE_PAUSE = re.compile(r"\[\s*pause\b", re.IGNORECASE)
_DIGIT = re.compile(r"\d")
_SENTENCE_END = re.compile(r"(?<!\.)[.!?][\"'\u201d\u2019)\]]*$")  # "man." and "man?'", not "the..."
__all__ = ["EditError", "Piece", "Span", "EditList", "FILLERS", "tokenize", "token_key", "phrases", "align",
           "edit_list", "rough_cuts", "remove_fillers", "remove_repeats",
           "transcript_fillers", "shorten_pauses", "CutSettings", "MEANT_TWICE"]


class EditError(ValueError):
    """The edited text cannot be cut from the recording (empty, or words that were never said)."""


# --- tokens -------------------------------------------------------------------------------------
def tokenize(text: str) -> list[str]:
    """Split edited text into tokens: pause tokens (``[pause 0.3s]``) and whitespace-separated words.

    Stray punctuation left behind by an edit ("." after deleting the sentence's last words) is no token.
    """
    return [m.group(0) for m in _TOKEN.finditer(text) if _is_token(m.group(0))]


def _is_token(chars: str) -> bool:
    return re.search(r"[\w\[]", chars) is not None


def _rewrite_tokens(text: str, change: Callable[[str], str]) -> str:
    """`text` with every token replaced by `change(token)` ("" deletes it), keeping the user's
    lines: only the spaces a deleted token leaves behind go."""
    parts, pos = [], 0
    for m in _TOKEN.finditer(text):
        if _is_token(m.group(0)):
            parts += [text[pos:m.start()], change(m.group(0))]
            pos = m.end()
    parts.append(text[pos:])
    joined = re.sub(r"[ \t]{2,}", " ", "".join(parts))
    return re.sub(r"[ \t]+(?=\n)|(?<=\n)[ \t]+", "", joined).strip(" \t")


def token_key(token: str) -> str:
    """What must agree for two tokens to be 'the same word': case, edge punctuation and the
    Unicode form are ignored (a decomposed "é" as some editors save it, the "ﬁ" ligature of text
    copied from a PDF)."""
    if parse_pause_token(token) is not None:
        return PAUSE_KEY
    key = _EDGE_PUNCT.sub("", unicodedata.normalize("NFKC", token).lower().translate(_TYPED_FORMS))
    return key or token


def _item_key(word: Word) -> str:
    return PAUSE_KEY if word.kind == "pause" else token_key(word.text)


def phrases(text: str) -> list[str]:
    """The stretches of speech of an edited text: the text split at its pause tokens."""
    parts: list[list[str]] = [[]]
    for token in tokenize(text):
        if parse_pause_token(token) is None:
            parts[-1].append(token)
        else:
            parts.append([])
    return [" ".join(p) for p in parts if p]


def transcript_fillers(transcript: Transcript) -> frozenset[str]:
    """The fillers one-click removal drops from `transcript`'s text: the usual spellings and every
    word the transcript marks as a filler."""
    return FILLERS | {token_key(w.text) for w in transcript.words if w.kind == "filler"}


def remove_fillers(text: str, fillers: frozenset[str] = FILLERS) -> str:
    """One click: the edited text without filler tokens ("um", "uh", ...) and without false
    starts, words broken off and begun again ("bee- been", "ill-dis- ill-disposed"), with the
    words said again to restart ("he marr- he married"). A word with a hyphen that the next
    word does not continue stays ("first- and second-year")."""
    tokens = tokenize(text)
    words = [(k, token_key(t)) for k, t in enumerate(tokens) if parse_pause_token(t) is None]
    broken = {words[j + back][0] for j in range(len(words)) for back in range(_restarted(tokens, words, j) or 0)}
    drop = iter([token_key(t) in fillers or k in broken for k, t in enumerate(tokens)])
    return _rewrite_tokens(text, lambda t: "" if next(drop) else t)


def _restarted(tokens: list[str], words: list[tuple[int, str]], j: int) -> int | None:
    """If words[j] (token index, key) is a word broken off ("marr-"), followed by the 0-2 words
    before it said again and then a word it begins ("he married"): how many words to drop."""
    stem = false_start_stem(tokens[words[j][0]].translate(_TYPED_FORMS))
    if stem is None:
        return None
    for again in range(min(j, 2) + 1):
        said, rest = words[j - again:j], words[j + 1:j + 2 + again]
        if (len(rest) == again + 1 and [w for _, w in rest[:again]] == [w for _, w in said]
                and rest[-1][1].startswith(stem)):
            return again + 1
    return None


def remove_repeats(text: str, fillers: frozenset[str] = FILLERS) -> str:
    """One click: the edited text without words said again right after themselves: "the the
    lecture" -> "the lecture", "to be [pause 0.4s] to be honest" -> "to be honest" (one to three
    words, with the pauses and fillers between the two sayings). A repeat across the end of a
    sentence stays ("I know. I know."), and so do the doubled words of MEANT_TWICE ("had had")
    and numbers (whisper writes digits in groups that need not be what was said twice: "0.001"
    heard as "0.0 or 0.0 or 0.1"). The text keeps the last saying, in the case of the first
    ("So, um, so we" -> "So we"); which saying the render takes is the alignment's choice
    (fewest cuts, `align`)."""
    tokens = tokenize(text)
    words = [k for k, t in enumerate(tokens) if parse_pause_token(t) is None and token_key(t) not in fillers]
    keys = [token_key(tokens[k]) for k in words]
    new = list(tokens)
    i = 0
    while i < len(words):
        n = next((n for n in (3, 2, 1) if keys[i:i + n] == keys[i + n:i + 2 * n]
                  and _droppable(keys[i:i + n], tokens[words[i + n - 1]])), 0)
        if n:
            first, again = words[i], words[i + n]
            if new[first][:1].isupper():
                new[again] = new[again][:1].upper() + new[again][1:]
            new[first:again] = [""] * (again - first)
        i += n or 1
    rewritten = iter(new)
    return _rewrite_tokens(text, lambda _: next(rewritten))


def _droppable(said: list[str], last_token: str) -> bool:
    """Whether words said again (their keys `said`, the last one written `last_token`) may go:
    not a doubled word of grammar, no number, no end of a sentence."""
    return (not (len(said) == 1 and said[0] in MEANT_TWICE) and not any(map(_DIGIT.search, said))
            and not _SENTENCE_END.search(last_token))


def shorten_pauses(text: str, max_seconds: float = 0.3) -> str:
    """One click: every pause token longer than `max_seconds` shortened to `max_seconds`."""
    if not max_seconds >= 0:  # NaN too
        raise ValueError(f"max_seconds must be >= 0, not {max_seconds}")
    keep = f"[pause {max_seconds:.2f}".rstrip("0").rstrip(".") + "s]"  # 0.3 -> [pause 0.3s], 0.25 -> [pause 0.25s]

    def shorten(token: str) -> str:
        seconds = parse_pause_token(token)
        if seconds is None or seconds <= max_seconds:
            return token
        return keep if max_seconds > 0 else ""

    return _rewrite_tokens(text, shorten)


# --- alignment ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Piece:
    """One edited token, mapped to the source item `index`; `keep` seconds of a shortened pause;
    `text`: the token as the user wrote it."""

    index: int
    keep: float | None = None
    text: str = ""


def _nearest_jumps(items: np.ndarray, dist: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each target j (ascending): the least dist[p] + |j - (items[p] + 1)| over the ascending
    `items`, and the item that gives it (ties: the earlier item left of j, then the later one right
    of it; left wins ties with right). Two sweeps over sorted positions (a 1-D distance transform)."""
    after = items + 1
    big = np.iinfo(np.int64).max // 4

    def running_min(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # value and where it was first reached
        best = np.minimum.accumulate(values)
        new = values < np.concatenate(([big], best[:-1]))
        return best, np.maximum.accumulate(np.where(new, np.arange(len(values)), 0))

    left, left_at = running_min(dist - after)  # over after <= j
    right, right_at = running_min((dist + after)[::-1])  # over after >= j, scanned from the right
    right, right_at = right[::-1], (len(items) - 1 - right_at)[::-1]
    k = np.searchsorted(after, targets, side="right") - 1
    from_left = np.where(k >= 0, left[np.maximum(k, 0)] + targets, big)
    m = np.searchsorted(after, targets, side="left")
    from_right = np.where(m < len(items), right[np.minimum(m, len(items) - 1)] - targets, big)
    use_right = from_right < from_left
    via = np.where(use_right, items[right_at[np.minimum(m, len(items) - 1)]], items[left_at[np.maximum(k, 0)]])
    return np.where(use_right, from_right, from_left), via


def _spelled_out(words: Sequence[Word], tokens: list[str], keys: list[str],
                 found: dict[str, list[int]]) -> tuple[list[str], list[str], list[int]]:
    """`tokens`, their `keys` and their places in the text (from 0), with each run of tokens that
    is not all in the transcript as written but says what one of its items writes otherwise
    ("forty two" or "four two" for "42", "mister" for "Mr.") merged into one token with that
    item's key."""
    readings: dict[tuple[str, ...], str] = {}
    for word in words:
        if word.kind == "word":
            for reading in [spoken_words(word.text), *spoken_alternatives(word.text)]:
                if reading and [_item_key(word)] != reading:
                    readings.setdefault(tuple(reading), _item_key(word))
    longest = max(map(len, readings), default=0)
    merged_tokens, merged_keys, places, n = [], [], [], 0
    while n < len(tokens):
        for length in range(min(longest, len(tokens) - n), 0, -1):
            said = tuple(w for t in tokens[n:n + length] for w in spoken_words(t))
            if said in readings and any(k not in found for k in keys[n:n + length]):
                merged_tokens.append(" ".join(tokens[n:n + length]))
                merged_keys.append(readings[said])
                places.append(n)
                n += length
                break
        else:
            merged_tokens.append(tokens[n])
            merged_keys.append(keys[n])
            places.append(n)
            n += 1
    return merged_tokens, merged_keys, places


def _short(seconds: float | None, durations: np.ndarray) -> np.ndarray:
    """1 where a pause token asking for `seconds` would get a recorded pause of one of the
    `durations` shorter than that (beyond the text's rounding to 0.1 s), else 0."""
    if seconds is None:
        return np.zeros(len(durations), dtype=np.int64)
    return (durations + PAUSE_ROUNDING < seconds).astype(np.int64)


def _did_you_mean(key: str, words: Sequence[Word], found: dict[str, list[int]]) -> str:
    """"; did you mean 'Dashwood'?" for a word of four letters or more typed close to one the
    transcript has (a letter left out, added or swapped), else "" ("dog" is no "do")."""
    if len(key) < 4:
        return ""
    close = difflib.get_close_matches(key, [k for k in found if k != PAUSE_KEY], n=1, cutoff=0.8)
    return f"; did you mean {words[found[close[0]][0]].text.strip(EDGE_PUNCTUATION)!r}?" if close else ""


def _joined(words: Sequence[Word]) -> np.ndarray:
    """1 where item i and item i + 1 are both said (word or filler) less than JOINED_GAP apart:
    a cut between them falls inside connected speech, else 0."""
    said = np.array([w.kind != "pause" for w in words], dtype=bool)
    gaps = np.array([b.start - a.end for a, b in zip(words, words[1:])])
    return (said[:-1] & said[1:] & (gaps < JOINED_GAP)).astype(np.int64)


def align(words: Sequence[Word], edited_text: str) -> list[Piece]:
    """Map every token of `edited_text` to the source item it was cut from (see the module doc)."""
    tokens = tokenize(edited_text)
    if not tokens:
        raise EditError("the edited text is empty: nothing would be left to render")
    if not words:
        raise EditError("the transcript has no words to cut from (was any speech recognized?)")
    if all(parse_pause_token(t) is not None for t in tokens):
        raise EditError("the edited text keeps only pauses: nothing would be heard")
    found: dict[str, list[int]] = {}
    for i, word in enumerate(words):
        found.setdefault(_item_key(word), []).append(i)
    keys, places = [token_key(t) for t in tokens], list(range(len(tokens)))
    if any(k not in found for k in keys):
        tokens, keys, places = _spelled_out(words, tokens, keys, found)
    missing = [(n, t) for n, t, k in zip(places, tokens, keys) if k not in found]
    if len(missing) == len(tokens):
        raise EditError("the edited text shares no words with the transcript: is it the text of another recording?")
    garbled = [(n, t) for n, t in missing if _LOOKS_LIKE_PAUSE.match(t)]
    if garbled:
        n, t = garbled[0]
        if parse_pause_token(t) is not None:
            raise EditError(f"{t} (token {n + 1}): the transcript has no pauses to cut one from")
        raise EditError(f"{t!r} (token {n + 1}) is not a pause token: write a pause as [pause 0.3s]")
    if missing:
        listed = ", ".join(f"{t!r} (token {n + 1}{_did_you_mean(token_key(t), words, found)})" for n, t in missing[:8])
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        raise EditError(f"the edited text contains words that were never said in the recording: {listed}{more}. "
                        "Only recorded words can be used; copy them from elsewhere in the transcript.")
    positions = {key: np.array(items, dtype=np.int64) for key, items in found.items()}  # ascending

    # A path's cost is (cuts, rough sides, short pauses, jump distance), compared in that order;
    # the last three are packed into one integer, `rest` = rough * rough_scale + short * scale +
    # distance. cuts[n], rest[n]: the best cost of the tokens so far with the last one -> source
    # item positions[key][n]; steps[t] = (source items of token t, the item of token t - 1 on each
    # one's best path). Starting or ending anywhere is no cut. A cut's side is rough where the item
    # it leaves (or enters) was said in one breath with its source neighbour: `joined[i]`, items i
    # and i + 1 touch. A pause token is short where its item is a recorded pause shorter than it
    # asks for: a sentence moved with the pause before it keeps that pause's length where as many
    # cuts allow it.
    scale = (len(tokens) + 1) * (len(words) + 1)  # over any path's total jump distance
    asked = [parse_pause_token(t) for t in tokens]
    rough_scale = (sum(a is not None for a in asked) + 1) * scale
    short_weight = scale
    if (2 * len(tokens) + 1) * rough_scale >= np.iinfo(np.int64).max // 4:  # at most two rough sides a token
        rough_scale, short_weight = scale, 0  # tens of thousands of pauses: their lengths are left to chance
    durations = np.array([w.duration for w in words])
    joined = np.append(_joined(words), 0)
    items = positions[keys[0]]
    cuts, rest = np.zeros(len(items), dtype=np.int64), _short(asked[0], durations[items]) * short_weight
    steps = [(items, np.full(len(items), -1))]
    for key, seconds in zip(keys[1:], asked[1:]):
        targets = positions[key]
        cheapest = cuts == cuts.min()
        leaving = rest[cheapest] + joined[items[cheapest]] * rough_scale
        jump_rest, via = _nearest_jumps(items[cheapest], leaving, targets)
        jump_rest += joined[targets - 1] * rough_scale  # joined[-1] is 0: nothing before the first item
        jump_cuts = cuts.min() + 1
        before = np.minimum(np.searchsorted(items, targets - 1), len(items) - 1)
        follows = items[before] == targets - 1  # continuing the source is no cut
        go_on = follows & ((cuts[before] < jump_cuts) | ((cuts[before] == jump_cuts) & (rest[before] < jump_rest)))
        cuts, rest = np.where(go_on, cuts[before], jump_cuts), np.where(go_on, rest[before], jump_rest)
        rest += _short(seconds, durations[targets]) * short_weight
        steps.append((targets, np.where(go_on, targets - 1, via)))
        items = targets
    j = int(items[np.lexsort((rest, cuts))[0]])  # the least cost; ties: the earliest item
    path = []
    for items, back in reversed(steps):
        path.append(j)
        j = int(back[np.searchsorted(items, j)])
    path.reverse()
    pieces = []
    for token, seconds, j in zip(tokens, asked, path):
        if _short(seconds, durations[j:j + 1])[0]:
            warnings.warn(f"{token} asks for more than the recorded {words[j].duration:.1f} s pause at "
                          f"{words[j].start:.2f} s; the whole pause is kept (pauses can be shortened, not lengthened)",
                          stacklevel=3)
        keep = None if seconds is None or seconds >= words[j].duration - PAUSE_ROUNDING else max(0.0, seconds)
        pieces.append(Piece(j, keep, token))
    return pieces


# --- spans and cut points -----------------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """A piece of the source kept in the output: [start, end) in source seconds, its items, and
    how the edited text spells each (in case or punctuation it may differ from the transcript)."""

    start: float
    end: float
    items: tuple[int, ...] = ()
    spellings: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class EditList:
    """The edit decision list: source spans in output order, and what they were cut from."""

    spans: list[Span]
    source_duration: float

    @property
    def duration(self) -> float:
        """Length of the edited output (s)."""
        return sum(s.duration for s in self.spans)

    def kept_items(self) -> set[int]:
        """Indices of the source items that appear (whole or in part) in the output."""
        return {i for s in self.spans for i in s.items}

    def output_time(self, span_index: int, source_seconds: float) -> float:
        """Where a source time inside span `span_index` plays in the output."""
        offset = sum(s.duration for s in self.spans[:span_index])
        span = self.spans[span_index]
        return offset + min(max(source_seconds, span.start), span.end) - span.start

    def source_spans(self, start: float = 0.0, end: float | None = None) -> list[tuple[float, float]]:
        """The (start, end) source spans that play in the output window [start, end) (default: all)."""
        end = self.duration if end is None else end
        spans, offset = [], 0.0
        for span in self.spans:
            a, b = max(start, offset), min(end, offset + span.duration)
            if b > a:
                spans.append((span.start + a - offset, span.start + b - offset))
            offset += span.duration
        return spans

    def item_time(self, transcript: Transcript, index: int) -> float | None:
        """Where item `index` of `transcript` starts playing in the output (None if it was cut)."""
        for n, span in enumerate(self.spans):
            if index in span.items:
                return self.output_time(n, transcript.words[index].start)
        return None

    def remap(self, transcript: Transcript) -> list[Word]:
        """The kept items on the output timeline (for subtitles of the edited video)."""
        out: list[Word] = []
        for n, span in enumerate(self.spans):
            for k, i in enumerate(span.items):
                w = transcript.words[i]
                start, end = self.output_time(n, w.start), self.output_time(n, w.end)
                typed = span.spellings[k] if k < len(span.spellings) and w.kind != "pause" else w.text
                if end > start or w.kind != "pause":
                    out.append(replace(w, text=typed or w.text, start=start, end=end))
        return out


@dataclass(frozen=True)
class CutSettings:
    """How far cut points may move: `margin` of silence kept around speech, `reach` searched."""

    margin: float = 0.04
    reach: float = 0.25
    quiet_db: float = 3.0  # frames within this of the window's minimum count as equally quiet


def _quietest(energy_db: np.ndarray | None, lo: float, hi: float, target: float, s: CutSettings) -> float:
    """The time in [lo, hi] nearest `target` among the quietest 10 ms frames of `energy_db`."""
    target = min(max(target, lo), hi)
    if energy_db is None or hi - lo < FRAME:
        return target
    k0, k1 = max(0, int(np.ceil(lo / FRAME))), min(int(hi / FRAME), len(energy_db) - 1)
    if k1 < k0:
        return target
    window = energy_db[k0:k1 + 1]
    quiet = np.flatnonzero(window <= window.min() + s.quiet_db) + k0
    centres = np.clip((quiet + 0.5) * FRAME, lo, hi)
    return float(centres[np.argmin(np.abs(centres - target))])


def _spoken_bounds(words: Sequence[Word], duration: float) -> tuple[list[float], list[float]]:
    """For each item: end of the nearest spoken item before it, start of the nearest after it."""
    before, after = [0.0] * len(words), [duration] * len(words)
    last = 0.0
    for i, w in enumerate(words):
        before[i] = last
        if w.kind != "pause":
            last = w.end
    nxt = duration
    for i in range(len(words) - 1, -1, -1):
        after[i] = nxt
        if words[i].kind != "pause":
            nxt = words[i].start
    return before, after


def _runs(words: Sequence[Word], pieces: Sequence[Piece],
          min_keep: float = 0.0) -> list[tuple[float, float, list[Piece], bool, bool]]:
    """Contiguous source runs: (start, end, pieces, start is a word edge, end is a word edge).

    A shortened pause between the words it was recorded between ends one run after its first
    half and starts the next before its last half, so the cut lies inside silence and is not
    moved. Next to a cut, it keeps only the side that touches kept speech (all of it in the
    pause's middle where a cut is on both sides): a second cut in the same silence would only
    flash a few frames of video between two jump cuts. A pause shortened to `min_keep` or less
    is cut like a deleted one (its cut points then keep their margins from the words).
    """
    runs: list[tuple[float, float, list[Piece], bool, bool]] = []
    for k, piece in enumerate(pieces):
        w = words[piece.index]
        continued = bool(runs) and runs[-1][4] and runs[-1][2][-1].index + 1 == piece.index
        if piece.keep is not None:
            if piece.keep <= min_keep:
                continue
            continues = k + 1 < len(pieces) and pieces[k + 1].index == piece.index + 1
            if continued:  # after the word it follows in the recording: keep its start (half, if both)
                s, _, run, se, _ = runs[-1]
                run.append(piece)
                runs[-1] = (s, w.start + (piece.keep / 2 if continues else piece.keep), run, se, False)
            if continues:  # before the word it precedes: keep its end
                runs.append((w.end - (piece.keep / 2 if continued else piece.keep), w.end, [piece], False, True))
            elif not continued:  # a cut on both sides: keep its middle
                middle = (w.start + w.end) / 2
                runs.append((middle - piece.keep / 2, middle + piece.keep / 2, [piece], False, False))
            continue
        if continued:
            s, _, run, se, _ = runs[-1]
            run.append(piece)  # in place: a run of a long lecture holds thousands of pieces
            runs[-1] = (s, w.end, run, se, True)
        else:
            runs.append((w.start, w.end, [piece], True, True))
    return runs


def edit_list(transcript: Transcript, edited_text: str, audio: np.ndarray | None = None,
              duration: float | None = None, settings: CutSettings = CutSettings()) -> EditList:
    """The edit decision list for `edited_text`; cut points snap to low energy in `audio` if given.

    `audio` is the recording's 16 kHz mono speech (`media.load_audio`); without it cuts sit
    `settings.margin` outside the kept words (never past the middle of a gap). `duration`
    defaults to the audio's length, else to the end of the last item.
    """
    words = transcript.words
    if duration is None:
        duration = len(audio) / SAMPLE_RATE if audio is not None else (words[-1].end if words else 0.0)
    late = [w for w in words if w.end > duration + LATE_END > LATE_END]
    if late:
        raise EditError(f"the transcript has words past the recording's end ({late[0].text or 'a pause'!r} at "
                        f"{late[0].start:.2f}-{late[0].end:.2f} s of {duration:.2f} s): is it the transcript of "
                        f"this recording?")
    envelope = frame_energy_db(audio) if audio is not None else None
    before, after = _spoken_bounds(words, duration)
    spans = []
    for start, end, run, word_start, word_end in _runs(words, align(words, edited_text), 2 * settings.margin):
        items = [piece.index for piece in run]
        first, last = words[items[0]], words[items[-1]]
        if word_start and items[0] == 0:  # the recording's head is the first item's: nothing is cut there
            start = 0.0
        elif word_start and first.kind == "pause":  # a kept pause after deleted speech: cut inside it
            start += min(settings.margin, first.end - start)
        elif word_start:
            lo = min(max(before[items[0]], start - settings.reach), start)
            target = start - settings.margin if audio is not None else max(start - settings.margin, (lo + start) / 2)
            start = _quietest(envelope, lo, start, target, settings)
        if word_end and items[-1] == len(words) - 1:  # and its tail the last item's
            end = duration
        elif word_end and last.kind == "pause":
            end -= min(settings.margin, end - last.start)
        elif word_end:
            hi = max(min(after[items[-1]], end + settings.reach), end)
            target = end + settings.margin if audio is not None else min(end + settings.margin, (end + hi) / 2)
            end = _quietest(envelope, end, hi, target, settings)
        if end > start:
            spans.append(Span(max(0.0, start), min(duration, end), tuple(items), tuple(p.text for p in run)))
    if not spans:
        raise EditError("the edited text keeps nothing of the recording (only zero-length pauses)")
    return EditList(spans, duration)


def rough_cuts(edits: EditList, audio: np.ndarray, below_speech_db: float = 20.0) -> list[float]:
    """Output times of the joins whose cut points lie inside sound rather than silence.

    A cut point less than `below_speech_db` under the recording's speech level (the 95th
    percentile of its frame energy) falls in connected speech, where traces of the neighbouring
    sounds may be heard: a rough version of the cut suitability of Berthouzoz et al. (2012),
    for an editor to flag.
    """
    energy = frame_energy_db(audio)
    if not len(energy):
        return []
    threshold = float(np.percentile(energy, 95)) - below_speech_db

    def loud(t: float) -> bool:
        return bool(energy[min(max(int(t / FRAME), 0), len(energy) - 1)] > threshold)

    joins, offset = [], 0.0
    for before, after in zip(edits.spans, edits.spans[1:]):
        offset += before.duration
        if loud(before.end - FRAME / 2) or loud(after.start + FRAME / 2):
            joins.append(offset)
    return joins
