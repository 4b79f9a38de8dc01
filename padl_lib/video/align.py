"""Word timings by forced alignment with pocketsphinx, plus pauses and fillers.

`align(audio, tokens)` takes the written tokens (from ASR or a user's script, optionally with
rough times) and returns timed transcript items:

1. every token becomes spoken words (`spoken.spoken_words`: "1." -> "one"); words missing from
   pocketsphinx's CMU dictionary are spelled by espeak-ng (`g2p.arpabet`);
2. the audio is cut into chunks of about `CHUNK_SECONDS` at the quietest point between two
   hinted words, and each chunk is force-aligned (pocketsphinx's alignment search);
3. words placed where there is no sound (whisper's inventions in silence) are dropped, and word
   edges are fitted to the sound: quiet frames trimmed, contiguous sound added; an edge next to
   silence is then placed on 5 ms frames where the word's sound, however faint, rises out of
   (sinks into) the local noise floor (`_fit_silence_edges`);
4. disfluencies the text leaves out (whisper writes fluent text) are found by a search whose
   grammar lets the speaker, at every boundary, break off the next word ("marr- married") or
   say the last words again ("more more"); one counts where the sound dips at the restart. A
   second search aligns the text with only those, so fluent words keep their times, and each
   becomes a word item of its own ("marr-", "more") that an edit can cut;
5. gaps of at least `MIN_PAUSE` s become pause items; a voiced stretch inside a gap that the
   text does not explain (whisper leaves out most "um"s and "uh"s) becomes a filler item,
   labelled "uh" or "um" by a small pocketsphinx grammar, with confidence FILLER_CONFIDENCE.
"""
from __future__ import annotations

import difflib
import functools
import re
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from pocketsphinx import Decoder

from padl_lib.progress import Progress, report
from padl_lib.video import acoustics
from padl_lib.video.g2p import arpabet
from padl_lib.video.media import SAMPLE_RATE
from padl_lib.video.spoken import (EDGE_PUNCTUATION, amount_readings, false_start_stem, spoken_alternatives,
                                  spoken_words)
from padl_lib.video.transcript import MIN_PAUSE, Word

ALIGNER = "pocketsphinx 5 en-us forced alignment"
FILLERS = ("uh", "um")
FILLER_SPELLINGS = {"uh": "uh", "um": "um", "uhm": "um", "umm": "um", "er": "uh", "erm": "um", "ah": "uh",
                    "hmm": "um", "mm": "um"}
CHUNK_SECONDS = 20.0
SPLIT_FRAMES = 11  # 10 ms frames averaged when choosing where to split a chunk
MAX_EDGE_SHIFT = 0.30  # s a word edge may grow over contiguous sound into a gap (chosen on the bench)
MIN_WORD = 0.05  # s a word keeps when its quiet edges are trimmed
BRIDGE = 0.10  # s: a quieter stretch inside sound shorter than this (a stop closure) does not end it
MIN_SOUND = 0.05  # s: a burst beyond a quieter stretch must last this long to count (not a click)
INNER = 0.03  # s inside an aligned edge from which the fine edge search starts
SOUND_DB = 3.0  # dB over a gap's room tone where a word's sound begins (ends); 6 clipped faint tails in noise
DEVIATION_WORDS = 5  # spoken words in a row where a script and the recognizer differ: the speaker left the script
MIN_FILLER = 0.20  # s of voiced sound in a gap for a filler
MAX_FILLER = 1.5  # s: a longer voiced sound in a gap (music, a hum) is no "uh" but part of the pause
OTHER_VOICED = 2.0  # a gap with more other voiced sound than this times a filler's holds music, not an "uh"
# whisper's probability from which it clearly heard a word: such a word is kept where the aligner
# placed it, sound or not (in a sweep of 177 recordings, the real words dropped as soundless had
# 0.44-1.0, most over 0.75; inventions at a join or after the last word began with words of 0.0-0.29)
HEARD_WORD = 0.5
FILLER_CONFIDENCE = 0.5  # a filler found in the signal, not in the text
HINT_SLACK = 0.30  # s by which whisper's word times may miss the word's sound
HINT_REACH = 0.5  # s before and after whisper's words that their alignment searches
SPEECH_BREAK = 3.0  # s between whisper's words over which they are aligned apart
FILLER_PROBABILITY = 0.01  # of an "uh" or "um" between two words, in a search without silence
DOUBTFUL_SILENCE = 0.15  # s of loud, voiced sound under a silence of the search beside a squeezed word
PHONE_FRAMES = 3  # 10 ms frames a phone lasts at least (one per state of its HMM)
# disfluencies the text leaves out (whisper writes fluent text): at any boundary between two
# tokens the speaker may have broken off the next word ("marr- married") or said the last one or
# two words again ("more more"), each with this probability
DISFLUENCY_PROBABILITY = 1e-8
REPEATED_TOKENS = 2
# a false start is 2 to 6 of the word's first phones (a single phone was found in fluent speech)
FRAGMENT_PHONES = (2, 6)
BREAK_DB = 10.0  # how far the sound sinks where a speaker breaks off (a cut-off, a pause)
BREAK_REACH = 0.03  # s around the restart searched for that dip
MARK = "~"  # in the aligner's dictionary, a word said on a disfluency path: "more~", "married~3"
PREFIX = "^"  # in the aligner's dictionary, the first phones of a word, said as a written false start: "the^1"
JOIN = "+"  # joins the words of a token broken off inside its second word: "ill+disposed~4"
ACRONYM = re.compile(r"([A-Z]{2,6})(s?)")  # "GPU", "APIs": said letter by letter
LETTER_PHONES = {"a": "EY"}  # letters whose first dictionary reading is not the letter's name ("a": AH)
__all__ = ["ALIGNER", "Token", "Aligner", "align", "tokens_with_hints", "script_deviations", "filler_form", "spelling"]


@dataclass(frozen=True)
class Token:
    """A written token to align, with optional rough times (s) and the recognizer's confidence."""

    text: str
    start: float | None = None
    end: float | None = None
    confidence: float = 1.0

    @property
    def kind(self) -> str:
        return "filler" if filler_form(self.text) else "word"


def filler_form(text: str) -> str | None:
    """The filler ("uh" or "um") a written token stands for, else None ("Um," -> "um")."""
    return FILLER_SPELLINGS.get(text.strip(".,;:!?…-— \"'").lower())


class _Path(NamedTuple):
    """A forced-alignment search's result, in absolute seconds."""

    spans: dict[int, list[float]]  # token index -> [start, end]
    silences: list[tuple[float, float]]  # silences (and noises) the search put between words
    shortest: dict[int, float]  # token index -> the shortest duration its decoded phones allow
    stumbles: list[Stumble]  # disfluencies the text leaves out


class Stumble(NamedTuple):
    """Words said on one disfluency path of the alignment grammar: a false start or words said again."""

    boundary: int  # before which of the search's tokens (its position in the search)
    words: tuple[tuple[str, float, float], ...]  # (dictionary word such as "married~3" or "more~", start, end)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _, _ in self.words)

    @property
    def false_start(self) -> bool:
        return not self.words[0][0].endswith(MARK)

    def broke_off(self, audio: np.ndarray) -> bool:
        """Whether the sound dips BREAK_DB under the stumble's level within BREAK_REACH s of where
        the speech starts again (after a false start, before words said again)."""
        span = (self.words[0][1], self.words[-1][2])
        return _dip_db(audio, span, span[1] if self.false_start else span[0]) >= BREAK_DB


class Aligner:
    """A pocketsphinx decoder for forced alignment, with words added to its dictionary on demand."""

    def __init__(self) -> None:
        # bestpath=False: the word lattice may end in a silence after any word of the forced text
        # and then drops the words after it; the search's own backtrace ends in the final state.
        # Beams far wider than for recognition (1e-48): a forced text has few paths to follow, and
        # the narrow default loses the only one through a misheard or unusually spoken word.
        self.decoder = Decoder(lm=None, samprate=SAMPLE_RATE, loglevel="FATAL", bestpath=False,
                               beam=1e-200, pbeam=1e-200, wbeam=1e-180)
        self._filler_grammar = False
        self._spelled: set[str] = set()  # words spelled by espeak-ng, not the CMU dictionary's

    def ensure_words(self, words: list[str]) -> None:
        """Add words missing from the dictionary, spelled by espeak-ng."""
        missing = sorted({w for w in words if self.decoder.lookup_word(w) is None})
        self._spelled.update(missing)
        for i, word in enumerate(missing):
            self.decoder.add_word(word, " ".join(arpabet(word)), update=i == len(missing) - 1)

    def ensure_acronyms(self, tokens: list[Token]) -> None:
        """Give each acronym among the tokens ("GPU", "APIs") its letters said one by one as an
        alternative pronunciation of its word ("gpus(2)": JH IY P IY Y UW Z), beside the
        dictionary's or espeak-ng's, which may read it as a word ("gpus": JH IY P AH S)."""
        additions: dict[str, tuple[str, str]] = {}  # word: (its new variant, phones)
        for token in tokens:
            match = ACRONYM.fullmatch(token.text.strip(EDGE_PUNCTUATION))
            word = match.group(0).lower() if match else None
            if word is None or word in additions:
                continue
            self.ensure_words([word])
            letters = [LETTER_PHONES.get(c) or self.decoder.lookup_word(c) for c in match.group(1).lower()]
            phones = " ".join(letters + ["Z"] * bool(match.group(2)))
            readings = [self.decoder.lookup_word(word)]
            while readings[-1] is not None and readings[-1] != phones:
                readings.append(self.decoder.lookup_word(f"{word}({len(readings) + 1})"))
            if readings[-1] is None:
                additions[word] = (f"{word}({len(readings)})", phones)
        for k, (name, phones) in enumerate(additions.values()):
            self.decoder.add_word(name, phones, update=k == len(additions) - 1)

    def _decode(self, audio: np.ndarray) -> list:
        """Every segment of the best path: words, "<sil>" and pocketsphinx's fillers ("[NOISE]")."""
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes()
        self.decoder.reinit_feat()  # each stretch normalized on its own, not on what came before
        self.decoder.start_utt()
        self.decoder.process_raw(pcm, full_utt=True)
        self.decoder.end_utt()
        return [s for s in (self.decoder.seg() or []) if s.word not in ("<s>", "</s>")]

    def align_chunk(self, audio: np.ndarray, energy_db: np.ndarray, start: float, end: float,
                    tokens: list[Token], speech: np.ndarray | None = None) -> list[Word]:
        """Align `tokens` to audio[start:end] (seconds); times in the result are absolute.
        If the aligner fails (text and speech disagree somewhere), the chunk is halved at the
        quietest point between two words near its middle and each half is aligned alone. Tokens
        that still fail keep their rough hinted times with confidence 0. `speech`: 10 ms frames of
        loud, voiced sound, to check where the search put silence (`_align_once`)."""
        words = self._align_once(audio, start, end, tokens, speech)
        if words is not None:
            return words
        if len(tokens) > 1 and all(t.start is not None for t in tokens):
            middle = range(max(1, len(tokens) // 4), max(2, 3 * len(tokens) // 4 + 1))
            j, cut = best_split(tokens, middle, energy_db)
            if not start + MIN_WORD * j < cut < end - MIN_WORD * (len(tokens) - j):  # hints outside the chunk
                third = (end - start) / 3
                cut = acoustics.quietest_time(energy_db, start + third, end - third)
                j = min(max(sum((t.start + t.end) / 2 < cut for t in tokens), 1), len(tokens) - 1)
            return (self.align_chunk(audio, energy_db, start, cut, tokens[:j], speech)
                    + self.align_chunk(audio, energy_db, cut, end, tokens[j:], speech))
        warnings.warn(f"could not align {' '.join(t.text for t in tokens)!r} ({start:.2f}-{end:.2f} s); "
                      f"keeping rough times with confidence 0", stacklevel=2)
        return _rough_times(tokens, start, end)

    def _align_once(self, audio: np.ndarray, start: float, end: float, tokens: list[Token],
                    speech: np.ndarray | None = None) -> list[Word] | None:
        """One alignment attempt (None on failure). The decoder follows a grammar of the tokens in
        order, each token in any of its readings ("2019": "twenty nineteen" or "two thousand
        nineteen"), so the speaker's reading is found in the same search. Where the search put
        silence over DOUBTFUL_SILENCE s of loud, voiced sound (`speech`) beside a word it gave
        only its shortest possible duration, it squeezed the words said there into too little
        time: the words between the trustworthy silences around it are aligned again without
        optional silence (`_doubtful_stretches`). Stumbles are found by a first search that offers
        them everywhere; the ones where the speaker broke off are said by the second, which gives
        the times (`_set_grammar`)."""
        self.ensure_acronyms(tokens)
        ways = [self._fragment_readings(tokens, i) or _readings(tokens, i) for i in range(len(tokens))]
        spoken = [(i, readings) for i, readings in enumerate(ways) if readings]
        if not spoken:
            return []
        if end - start < MIN_WORD * sum(min(map(len, readings)) for _, readings in spoken):  # no room for the words
            return None
        found = self._search(audio, start, end, spoken)
        if found is None:
            return None
        forced: dict[int, list[str]] = {}
        for stumble in found.stumbles:
            if stumble.broke_off(audio):
                forced.setdefault(stumble.boundary, []).extend(stumble.names)
        found = self._search(audio, start, end, spoken, forced) or self._search(audio, start, end, spoken, {})
        if found is None:
            return None
        spans, silences, shortest, stumbles = found
        if speech is not None:
            squeezed = [(a, b) for i, (a, b) in spans.items() if b - a <= shortest[i] + 0.01]  # 1 frame slack
            for lo, hi in _doubtful_stretches(silences, squeezed, speech, start, end):
                inside = [(i, readings) for i, readings in spoken if i in spans and lo <= spans[i][0]
                          and spans[i][1] <= hi]
                again = self._search(audio, lo, hi, inside, stumbles={}, silence=False) if inside else None
                if again is not None:
                    spans.update(again.spans)
                    stumbles = [s for s in stumbles if not lo <= s.words[0][1] < hi]
        items = [_item(tok, spans[i][0], spans[i][1], tok.confidence) for i, tok in enumerate(tokens) if i in spans]
        items += [Word(self.disfluency_text(name), a, b, "word", FILLER_CONFIDENCE)
                  for stumble in stumbles for name, a, b in stumble.words]
        return sorted(items, key=lambda w: w.start)

    def _search(self, audio: np.ndarray, start: float, end: float, spoken: list[tuple[int, list[list[str]]]],
                stumbles: dict[int, list[str]] | None = None, silence: bool = True) -> _Path | None:
        """Force-align tokens (index, readings) to audio[start:end] (seconds); None if the search
        did not reach the end of the text. `stumbles`: see `_set_grammar`. `silence`: may silence
        follow a word; without it, "uh" or "um" may (so a filler the text leaves out is not
        squeezed into a word)."""
        self._set_grammar([readings for _, readings in spoken], stumbles, silence=silence)
        segs = self._decode(audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)])
        timed = [(s.word, start + s.start_frame / 100, start + (s.end_frame + 1) / 100) for s in segs]
        said = [(w, a, b) for w, a, b in timed if w != "<sil>" and not w.startswith("[")]
        words = [(w, a, b) for w, a, b in said if MARK not in w]
        owners = _owners([spelling(w) for w, _, _ in words], spoken, frozenset() if silence else frozenset(FILLERS))
        if owners is None:
            return None
        stumbles = _stumbles(said, owners, [i for i, _ in spoken])
        spans: dict[int, list[float]] = {}
        shortest: dict[int, float] = {}
        for i, (word, a, b) in zip(owners, words):
            if i >= 0:
                spans[i] = [min(spans[i][0], a), max(spans[i][1], b)] if i in spans else [a, b]
                phones = len((self.decoder.lookup_word(word) or "").split())
                shortest[i] = shortest.get(i, 0.0) + PHONE_FRAMES * phones / 100
        return _Path(spans, [(a, b) for w, a, b in timed if w == "<sil>" or w.startswith("[")], shortest, stumbles)

    def _set_grammar(self, options: list[list[list[str]]], stumbles: dict[int, list[str]] | None = None,
                     silence: bool = True) -> None:
        """Activate a forced-alignment grammar: one state per token boundary, each reading of a
        token a chain of words between its two states; silence may follow any word, or, without
        `silence`, "uh" or "um" may be said at any boundary. Stumbles (`_disfluencies`): by default
        each may be said at its boundary, a loop entered with DISFLUENCY_PROBABILITY; given as
        {boundary: dictionary words}, those words are said there, before the token.

        Loops to a token's own state give its first phone more left contexts (the last phones of
        the false starts), which moves the alignment of fluent words by a frame or three: the
        search that finds stumbles is therefore followed by one that says only the stumbles found."""
        self.ensure_words([w for readings in options for reading in readings for w in reading] + list(FILLERS))
        transitions, states = [], len(options) + 1
        if not silence:
            transitions += [(i, i, FILLER_PROBABILITY, f) for i in range(len(options) + 1) for f in FILLERS]

        def chain(here: int, there: int, words: list[str], probability: float = 1.0) -> None:
            nonlocal states
            for k, word in enumerate(words):
                step = there if k == len(words) - 1 else states
                states += step == states
                transitions.append((here, step, probability if k == 0 else 1.0, word))
                here = step

        for i, readings in enumerate(options):
            said, before = (stumbles or {}).get(i), i
            if said:
                before, states = states, states + 1
                chain(i, before, said)
            for reading in readings:
                chain(before, i + 1, reading)
        if stumbles is None:
            paths = {i: self._disfluencies(options, i) for i in range(len(options))}
            variants = {name: phones for found in paths.values() for path in found for name, phones in path
                        if self.decoder.lookup_word(name) is None}
            for k, (name, phones) in enumerate(variants.items()):
                self.decoder.add_word(name, " ".join(phones), update=k == len(variants) - 1)
            for i, found in paths.items():
                for path in found:
                    chain(i, i, [name for name, _ in path], DISFLUENCY_PROBABILITY)
        self.decoder.config["fsgusefiller"] = silence  # read when the search is made
        self.decoder.add_fsg("align", self.decoder.create_fsg("align", 0, len(options), transitions))
        self.decoder.config["fsgusefiller"] = True  # other searches (the filler labels) keep silence
        self.decoder.activate_search("align")

    def _disfluencies(self, options: list[list[list[str]]], i: int) -> list[list[tuple[str, list[str]]]]:
        """What a speaker may say before token i without the text saying it, as paths of
        (dictionary word, phones): a false start (the first FRAGMENT_PHONES phones of its first
        reading, "married~3", "ill+disposed~4"), or the last one to REPEATED_TOKENS tokens again
        ("more~"). None beside a word spelled by espeak-ng (names, acronyms): where its guess
        misses how the word was said, a disfluency fits the rest ("gp- GPUs")."""
        beside = [w for readings in options[max(0, i - REPEATED_TOKENS):i + 1] for w in readings[0]]
        if self._spelled.intersection(beside):
            return []
        phones = {w: (self.decoder.lookup_word(w) or "").split() for w in beside}
        token = options[i][0]
        said = [p for w in token for p in phones[w]]
        paths = [[(f"{JOIN.join(token)}{MARK}{count}", said[:count])]
                 for count in range(FRAGMENT_PHONES[0], min(len(said), FRAGMENT_PHONES[1] + 1))]
        for back in range(1, min(i, REPEATED_TOKENS) + 1):
            paths.append([(f"{w}{MARK}", phones[w]) for readings in options[i - back:i] for w in readings[0]])
        return paths

    def _fragment_readings(self, tokens: list[Token], i: int) -> list[list[str]] | None:
        """How a false start the text writes may be said ("th-", "self-" or "might-" before "the",
        "selfish" or "might"): the first phones of the word it begins, about as many as its share
        of the letters, one more or one less; None if token i is no such fragment. Spelled alone,
        "th-" would be the letters "tee aitch", and "might-" would have to be said whole."""
        begun = _begun_word(tokens, i)
        if begun is None:
            return None
        head, word = begun
        self.ensure_words([word])
        phones = self.decoder.lookup_word(word).split()
        if len(phones) < 2:
            return None
        share = round(len(phones) * len(head) / len(word))
        counts = range(max(1, share - 1), min(len(phones) - (head != word), share + 1) + 1)
        for k, count in enumerate(counts):
            self.decoder.add_word(f"{word}{PREFIX}{count}", " ".join(phones[:count]), update=k == len(counts) - 1)
        return [[f"{word}{PREFIX}{count}"] for count in counts]

    def disfluency_text(self, name: str) -> str:
        """How a disfluency's decoded word is written: a repeated word as itself ("more~" ->
        "more"), a false start as its token's letters in proportion to their phones ("marr-",
        "ill-dis-")."""
        word, _, count = spelling(name).partition(MARK)
        word, _, written = word.partition(PREFIX)  # a written false start said again: "selfish^3~"
        count = count or written
        if not count:
            return word
        letters, left = [], int(count)
        for part in word.split(JOIN):
            phones = len((self.decoder.lookup_word(part) or "").split()) or 1
            if left > 0:
                letters.append(part[:max(1, round(len(part) * min(left, phones) / phones))])
            left -= phones
        return "-".join(letters) + "-"

    def label_filler(self, sound: np.ndarray) -> str:
        """Which filler a short voiced sound is most like ("uh" or "um"), by a tiny grammar."""
        if not self._filler_grammar:
            options = " | ".join(FILLERS)
            self.decoder.add_jsgf_string("fillers", f"#JSGF V1.0;\ngrammar f;\npublic <f> = ( {options} );\n")
            self._filler_grammar = True
        self.decoder.activate_search("fillers")
        segs = [w for w in (spelling(s.word) for s in self._decode(sound)) if w in FILLERS]
        return segs[0] if segs else "uh"


def _stumbles(said: list[tuple[str, float, float]], owners: list[int], tokens: list[int]) -> list[Stumble]:
    """The search's stumbles: its decoded words on disfluency paths (`said`: every decoded word,
    `owners`: the token index of each other word, `tokens`: the search's token indexes in order),
    a false start alone, words said again together, each at the boundary before the next token."""
    position = {index: k for k, index in enumerate(tokens)}
    found: list[Stumble] = []
    boundary, owned = 0, iter(owners)
    for name, a, b in said:
        if MARK not in name:
            owner = next(owned)
            boundary = position[owner] + 1 if owner >= 0 else boundary
        elif (found and found[-1].boundary == boundary and name.endswith(MARK) and not found[-1].false_start
              and abs(found[-1].words[-1][2] - a) < 0.015):
            found[-1] = Stumble(boundary, found[-1].words + ((name, a, b),))
        else:
            found.append(Stumble(boundary, ((name, a, b),)))
    return found


def _dip_db(audio: np.ndarray, span: tuple[float, float], at: float) -> float:
    """How far (dB) the sound sinks under the median level of `span` (s) within BREAK_REACH s of `at`."""
    first, last = max(0.0, min(span[0], at - BREAK_REACH)), max(span[1], at + BREAK_REACH)
    energy = acoustics.frame_energy_db(audio[int(first * SAMPLE_RATE):int(last * SAMPLE_RATE)])

    def frames(a: float, b: float) -> np.ndarray:
        return energy[max(0, int((a - first) * 100)):int(np.ceil((b - first) * 100))]

    inside, near = frames(*span), frames(at - BREAK_REACH, at + BREAK_REACH + 0.01)
    return float(np.median(inside) - near.min()) if len(inside) and len(near) else 0.0


def _doubtful_stretches(silences: list[tuple[float, float]], squeezed: list[tuple[float, float]],
                        speech: np.ndarray, start: float, end: float) -> list[tuple[float, float]]:
    """Stretches of a chunk [start, end) (s) to align again: each silence of the search that
    covers DOUBTFUL_SILENCE s or more of loud, voiced sound (`speech`, 10 ms frames) next to a
    word squeezed into its shortest duration (`squeezed`: their spans), widened to the
    trustworthy silences (or chunk edges) on either side of it."""
    def doubtful(a: float, b: float) -> bool:
        beside = any(abs(e - a) < 0.015 or abs(s - b) < 0.015 for s, e in squeezed)
        return beside and int(speech[int(round(a * 100)):int(round(b * 100))].sum()) >= DOUBTFUL_SILENCE * 100

    flags = [doubtful(a, b) for a, b in silences]
    stretches: list[tuple[float, float]] = []
    for k, flag in enumerate(flags):
        if not flag:
            continue
        lo = max((silences[j][1] for j in range(k) if not flags[j]), default=start)
        hi = min((silences[j][0] for j in range(k + 1, len(silences)) if not flags[j]), default=end)
        if stretches and lo <= stretches[-1][0]:
            continue  # the same stretch as the previous doubtful silence
        stretches.append((lo, hi))
    return stretches


def _item(token: Token, start: float, end: float, confidence: float) -> Word:
    return Word(filler_form(token.text) if token.kind == "filler" else token.text, start, end, token.kind, confidence)


def spelling(decoded: str) -> str:
    """A decoded word without pocketsphinx's mark of an alternative pronunciation ("the(2)" -> "the")."""
    return decoded.split("(")[0]


def _readings(tokens: list[Token], i: int) -> list[list[str]]:
    """The ways token `i` may be spoken: a filler as itself, a number in each of its readings, an
    amount of money as its neighbours call for (`amount_readings`)."""
    token = tokens[i]
    filler = filler_form(token.text)
    if filler:
        return [[filler]]
    first = spoken_words(token.text)
    if not first:
        return []
    neighbours = [tokens[k].text if 0 <= k < len(tokens) else None for k in (i - 1, i + 1)]
    return [first] + spoken_alternatives(token.text) + amount_readings(neighbours[0], token.text, neighbours[1])


def _owners(words: list[str], options: list[tuple[int, list[list[str]]]], optional: frozenset[str] = frozenset()
            ) -> list[int] | None:
    """The token index of each decoded word, given each token's readings in order (None if the
    decoded words are not one reading of every token, i.e. the search did not finish). Words in
    `optional` may also stand between tokens, owned by none (index -1)."""
    @functools.cache
    def match(pos: int, k: int) -> list[int] | None:
        if k == len(options) and pos == len(words):
            return []
        if k < len(options):
            index, readings = options[k]
            for reading in sorted(readings, key=len, reverse=True):
                if words[pos:pos + len(reading)] == reading:
                    rest = match(pos + len(reading), k + 1)
                    if rest is not None:
                        return [index] * len(reading) + rest
        if pos < len(words) and words[pos] in optional:
            rest = match(pos + 1, k)
            return None if rest is None else [-1] + rest
        return None

    return match(0, 0)


def _rough_times(tokens: list[Token], start: float, end: float) -> list[Word]:
    """Fallback timing (confidence 0): hinted times clipped to [start, end] where known, else the
    span shared in proportion to the words' lengths."""
    if all(t.start is not None for t in tokens):
        out, t0 = [], start
        for t in tokens:
            a = min(max(t.start, t0), end)
            b = min(max(t.end, a), end)
            out.append(_item(t, a, b, 0.0))
            t0 = b
        return out
    weights = np.array([max(len(t.text), 1) for t in tokens], float)
    edges = start + (end - start) * np.concatenate([[0], np.cumsum(weights) / weights.sum()])
    return [_item(t, float(a), float(b), 0.0) for t, a, b in zip(tokens, edges[:-1], edges[1:])]


def _begun_word(tokens: list[Token], i: int) -> tuple[str, str] | None:
    """(what was said, the spoken word) of token i, a written false start ("th-", "self-",
    "might-") of the word token i + 1 begins with ("the", "selfish", "might"); None if token i is
    no such fragment."""
    head = false_start_stem(tokens[i].text)
    follow = spoken_words(tokens[i + 1].text) if i + 1 < len(tokens) else []
    if head is not None and head.isalpha() and follow and follow[0].startswith(head):
        return head, follow[0]
    return None


def best_split(tokens: list[Token], candidates, energy_db: np.ndarray, reach: float = 0.15) -> tuple[int, float]:
    """Where to split hinted tokens: the candidate index j (split before token j) whose hinted gap
    (widened by `reach` s, as whisper's times are rough) holds the quietest stretch of SPLIT_FRAMES
    frames (a pause rather than a stop consonant's closure inside a word); returns j and the time
    of that stretch's centre. Not between a written false start and its word, where a pause is
    likely, if there is another candidate: the fragment is aligned as the word's first phones."""
    best: tuple[float, int, float] | None = None
    candidates = [j for j in candidates if _begun_word(tokens, j - 1) is None] or list(candidates)
    for j in candidates:
        lo, hi = sorted((tokens[j - 1].end, tokens[j].start))
        cut = acoustics.quietest_time(energy_db, lo - reach, hi + reach, SPLIT_FRAMES)
        k = min(int(cut * 100), len(energy_db) - 1)
        stretch = energy_db[max(0, k - SPLIT_FRAMES // 2):k + SPLIT_FRAMES // 2 + 1]
        level = float(np.mean(stretch)) if len(stretch) else 0.0
        if best is None or level < best[0]:
            best = (level, j, cut)
    return best[1], best[2]


def plan_chunks(tokens: list[Token], energy_db: np.ndarray, duration: float,
                target: float = CHUNK_SECONDS) -> list[tuple[float, float, slice]]:
    """Split hinted tokens into chunks of about `target` s, cut at the quietest point between
    two words in the second half of each chunk (`best_split`). Hinted words more than
    SPEECH_BREAK s apart are aligned apart, each run within HINT_REACH s of its hinted times: the
    search may not place a word in the music or noise far before or after where it was heard."""
    if not tokens or not all(t.start is not None for t in tokens):
        return [(0.0, duration, slice(0, len(tokens)))]
    ends = np.maximum.accumulate([t.end for t in tokens])
    breaks = [i for i in range(1, len(tokens)) if tokens[i].start - ends[i - 1] > SPEECH_BREAK]
    chunks = []
    for first, stop in zip([0, *breaks], [*breaks, len(tokens)]):
        start, end = max(0.0, tokens[first].start - HINT_REACH), min(duration, ends[stop - 1] + HINT_REACH)
        chunks += _run_chunks(tokens, first, stop, start, end, energy_db, target)
    return chunks


def _run_chunks(tokens: list[Token], first: int, stop: int, t0: float, end: float, energy_db: np.ndarray,
                target: float) -> list[tuple[float, float, slice]]:
    """`plan_chunks` for the run tokens[first:stop], aligned within t0-end s."""
    if end - t0 <= 1.5 * target:
        return [(t0, end, slice(first, stop))]
    chunks = []
    for i in range(first + 1, stop):
        if tokens[i].end - t0 <= target or i == first + 1:
            continue
        later = [j for j in range(first + 1, i + 1) if tokens[j].start - t0 >= target / 2] or [i]
        j, cut = best_split(tokens, later, energy_db)
        chunks.append((t0, cut, slice(first, j)))
        first, t0 = j, cut
    chunks.append((t0, end, slice(first, stop)))
    return chunks


def _drop_silent(items: list, loud: np.ndarray, margin: float = 0.0, heard: float | None = None) -> list:
    """Words (or hinted tokens) placed where there is no sound within `margin` s: whisper's
    well-known inventions in silence ("Thank you." after a talk). They are dropped: before
    alignment by their hinted times, as the aligner would squeeze them into the speech nearby,
    and after it, where the aligner had to put a word without sound, unless whisper heard it
    (confidence `heard` or more): then it is speech too quiet for the speech threshold (noise
    10 dB under it) or the last word of a recording that ends on it."""
    def silent(item) -> bool:
        if item.start is None or (heard is not None and item.confidence >= heard):
            return False
        a = max(int((item.start - margin) * 100), 0)
        return not loud[a:max(int(np.ceil((item.end + margin) * 100)), a + 1)].any()

    kept, dropped = [], []  # dropped: runs of consecutive items, each named with its times
    for k, item in enumerate(items):
        if not silent(item):
            kept.append(item)
        elif dropped and dropped[-1][-1] is items[k - 1]:
            dropped[-1].append(item)
        else:
            dropped.append([item])
    if dropped:
        runs = ", ".join(f"{' '.join(w.text for w in run)!r} ({run[0].start:.2f}-{run[-1].end:.2f} s)"
                         for run in dropped)
        warnings.warn(f"dropped {runs}: recognized where there is no sound", stacklevel=3)
    return kept


def _stray_edge(loud: np.ndarray, head: int = 12, silence: int = 15) -> tuple[int, int] | None:
    """(start, end) frames of a silence of at least `silence` frames that begins within the first
    `head` frames of a word's span: sound before it is a neighbour's, not this word's."""
    for q in range(min(head, len(loud))):
        if not loud[q]:
            r = q
            while r < len(loud) and not loud[r]:
                r += 1
            if r - q >= silence and r < len(loud):
                return q, r
            if r - q >= silence:
                return None
    return None


def _refine_edges(words: list[Word], loud: np.ndarray) -> list[Word]:
    """Fit word edges to the signal: the aligner has no optional silence between words, so a
    pause is absorbed by a neighbour. A word that starts (ends) with a short sound followed
    (preceded) by 0.15 s of silence gives that sound up (to the previous word when they touch);
    quiet frames are trimmed from both ends of each word (keeping at least MIN_WORD s); an
    edge bordering a gap may grow over loud frames (at most MAX_EDGE_SHIFT s)."""
    n, limit, keep = len(loud), int(round(MAX_EDGE_SHIFT * 100)), int(round(MIN_WORD * 100))
    out: list[Word] = []
    for k, w in enumerate(words):
        a, b = int(round(w.start * 100)), min(int(round(w.end * 100)), n)
        head = _stray_edge(loud[a:b])
        if head is not None and out and round(out[-1].end * 100) >= a:  # the neighbour's tail
            out[-1] = Word(out[-1].text, out[-1].start, (a + head[0]) / 100, out[-1].kind, out[-1].confidence)
        if head is not None:
            a += head[1]
        tail = _stray_edge(loud[a:b][::-1])
        if tail is not None:
            b -= tail[1]
        while b - a > keep and not loud[a]:
            a += 1
        while b - a > keep and not loud[b - 1]:
            b -= 1
        lo = int(round(out[-1].end * 100)) if out else 0
        hi = min(int(round(words[k + 1].start * 100)), n) if k + 1 < len(words) else n
        grow = 0
        while a > lo and grow < limit and loud[a - 1] and a == int(round(w.start * 100)) - grow:
            a, grow = a - 1, grow + 1
        grow = 0
        while b < hi and grow < limit and loud[b] and b == int(round(w.end * 100)) + grow:
            b, grow = b + 1, grow + 1
        out.append(Word(w.text, a / 100, b / 100, w.kind, w.confidence))
    return out


def _sound_extent(levels_db: np.ndarray, floor_db: float) -> int:
    """How many of the 5 ms frames `levels_db`, read outwards from inside a word, belong to the
    word's sound: frames more than SOUND_DB above the room tone `floor_db`, in runs joined over
    quieter stretches shorter than BRIDGE s, a run after such a stretch counting only if it
    lasts MIN_SOUND s (a click does not). 0 if the first frame is quiet."""
    step, smear = acoustics.FINE_HOP / SAMPLE_RATE, (acoustics.WINDOW - acoustics.FINE_HOP) / SAMPLE_RATE
    bridge, min_run = round(BRIDGE / step), round((MIN_SOUND + smear) / step)  # windows widen a burst's run
    padded = np.concatenate([[False], levels_db > floor_db + SOUND_DB, [False]]).astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(padded) == 1), np.flatnonzero(np.diff(padded) == -1)
    extent = 0
    for a, b in zip(starts, ends):
        if (extent == 0 and a > 0) or a - extent >= bridge:
            break
        if extent == 0 or b - a >= min_run:
            extent = int(b)
    return extent


def _fit_silence_edges(words: list[Word], fine_db: np.ndarray) -> list[Word]:
    """Place the edges of words next to a gap of at least BRIDGE s on the 5 ms frame energies
    `fine_db`: from INNER s inside the edge outwards, the word's sound (`_sound_extent` over the
    gap's room tone, its median energy) runs up to the quiet that ends it, at most
    MAX_EDGE_SHIFT s and never into a neighbour. Edges between touching words stay."""
    step = acoustics.FINE_HOP / SAMPLE_RATE
    bridge, inner, limit, keep = (round(x / step) for x in (BRIDGE, INNER, MAX_EDGE_SHIFT, MIN_WORD))
    out: list[Word] = []
    for k, w in enumerate(words):
        lo = int(np.ceil(out[-1].end / step)) if out else 0
        hi = int(words[k + 1].start / step) if k + 1 < len(words) else len(fine_db)
        a, b = round(w.start / step), round(w.end / step)
        if a - lo >= bridge:
            first = min(a + inner, b - keep)
            extent = _sound_extent(fine_db[max(lo, first - limit):first + 1][::-1], float(np.median(fine_db[lo:a])))
            a = first + 1 - extent if extent else a
        if hi - b >= bridge:
            last = max(b - inner, a + keep)
            extent = _sound_extent(fine_db[last:min(hi, last + limit)], float(np.median(fine_db[b:hi])))
            b = last + extent if extent else b
        out.append(Word(w.text, a * step, max(b, a + 1) * step, w.kind, w.confidence))
    return out


def _gaps_to_items(words: list[Word], audio: np.ndarray, loud: np.ndarray, aligner: Aligner, duration: float,
                   find_fillers: bool, speech: np.ndarray | None = None) -> list[Word]:
    """Insert pause items into gaps of at least MIN_PAUSE s, and filler items for voiced sound there
    (`speech`: loud, voiced 10 ms frames, if already known)."""
    voiced = (acoustics.voiced_frames(audio) & loud if speech is None else speech) if find_fillers else None
    items: list[Word] = []
    edges = [0.0] + [t for w in words for t in (w.start, w.end)] + [duration]
    for k in range(len(words) + 1):
        gap_start, gap_end = edges[2 * k], edges[2 * k + 1]
        items += _gap_items(gap_start, gap_end, audio, voiced, aligner)
        if k < len(words):
            items.append(words[k])
    return items


def _gap_items(start: float, end: float, audio: np.ndarray, voiced: np.ndarray | None,
               aligner: Aligner) -> list[Word]:
    """Pause/filler items covering the gap [start, end): its longest voiced sound, if it lasts
    as long as a filler may and stands out in the gap (the gap's other voiced sound lasts at most
    OTHER_VOICED times as long: not one note of music), becomes one."""
    if end - start < MIN_PAUSE:
        return []
    if voiced is not None:
        a, b = int(round(start * 100)), int(round(end * 100))
        run = _longest_run(voiced[a:b])
        length = run[1] - run[0] if run is not None else 0
        if MIN_FILLER <= length / 100 <= MAX_FILLER and voiced[a:b].sum() - length <= OTHER_VOICED * length:
            f0, f1 = (a + run[0]) / 100, (a + run[1]) / 100
            sound = audio[int((f0 - 0.05) * SAMPLE_RATE) if f0 > 0.05 else 0:int((f1 + 0.05) * SAMPLE_RATE)]
            filler = Word(aligner.label_filler(sound), f0, f1, "filler", FILLER_CONFIDENCE)
            return _gap_items(start, f0, audio, None, aligner) + [filler] + _gap_items(f1, end, audio, None, aligner)
    return [Word("", start, end, "pause")]


def _longest_run(mask: np.ndarray) -> tuple[int, int] | None:
    """[first, last+1) of the longest run of True (None without any)."""
    if not mask.any():
        return None
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    starts, ends = np.flatnonzero(np.diff(padded) == 1), np.flatnonzero(np.diff(padded) == -1)
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k])


def _word_matcher(script: list[str], asr_tokens: list[Token]
                  ) -> tuple[list[tuple[int, str]], list[tuple[int, str]], difflib.SequenceMatcher]:
    """The spoken words of a script's tokens and of recognized tokens, each with its token's
    index, and a matcher of the two word sequences."""
    script_words = [(i, w) for i, t in enumerate(script) for w in spoken_words(t)]
    asr_words = [(i, w) for i, t in enumerate(asr_tokens) for w in spoken_words(t.text)]
    matcher = difflib.SequenceMatcher(None, [w for _, w in script_words], [w for _, w in asr_words], autojunk=False)
    return script_words, asr_words, matcher


def tokens_with_hints(script: list[str], asr_tokens: list[Token]) -> list[Token]:
    """Give a script's tokens rough times from recognized tokens (matched by spoken words;
    unmatched tokens interpolated between their matched neighbours)."""
    script_words, asr_words, matcher = _word_matcher(script, asr_tokens)
    times: dict[int, list[float]] = {}
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            si, ai = script_words[block.a + k][0], asr_words[block.b + k][0]
            tok = asr_tokens[ai]
            times.setdefault(si, [tok.start, tok.end])
            times[si][1] = tok.end
    known = sorted(times)
    if not known:
        return [Token(t) for t in script]
    index = np.arange(len(script))
    starts = np.interp(index, known, [times[i][0] for i in known])
    ends = np.interp(index, known, [times[i][1] for i in known])
    return [Token(t, float(s), float(max(s, e))) for t, s, e in zip(script, starts, ends)]


def script_deviations(script: list[str], asr_tokens: list[Token], min_words: int = DEVIATION_WORDS) -> list[str]:
    """Where a script and what the recognizer heard differ by `min_words` spoken words or more in
    a row (more than a recognizer's slips): each named, with its time, as the script's words not
    heard and the words heard that the script lacks."""
    script_words, asr_words, matcher = _word_matcher(script, asr_tokens)
    found = []
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal" or max(a1 - a0, b1 - b0) < min_words:
            continue
        parts = []
        if a1 > a0:
            where = asr_tokens[asr_words[b0][0]].start if b0 < len(asr_words) else \
                asr_tokens[-1].end if asr_tokens else 0.0
            parts.append(f"the script's {' '.join(script[script_words[a0][0]:script_words[a1 - 1][0] + 1])!r} "
                         f"was not heard (near {where:.1f} s)")
        if b1 > b0:
            first, last = asr_tokens[asr_words[b0][0]], asr_tokens[asr_words[b1 - 1][0]]
            parts.append(f"{' '.join(w for _, w in asr_words[b0:b1])!r} was heard ({first.start:.1f}-{last.end:.1f} s) "
                         f"but is not in the script")
        found.append("; ".join(parts))
    return found


def align(audio: np.ndarray, tokens: list[Token], progress: Progress | None = None,
          fillers: bool = True, refine: bool = True, script: bool = False, loud: np.ndarray | None = None
          ) -> list[Word]:
    """Timed words, fillers and pauses of 16 kHz `audio` for the written `tokens`
    (`refine=False` keeps the aligner's raw word edges, for comparison; `script`: the tokens are
    a user's script, so none is dropped for a hinted time in silence; `loud`: the audio's
    `acoustics.sound_frames`, if already computed)."""
    duration = len(audio) / SAMPLE_RATE
    energy = acoustics.frame_energy_db(audio)
    loud = acoustics.sound_frames(audio, energy) if loud is None else loud
    speech = acoustics.voiced_frames(audio) & loud  # loud, voiced 10 ms frames
    aligner = Aligner()
    words: list[Word] = []
    if not script:  # a recognizer's words, some perhaps invented; a script's words were all said
        tokens = _drop_silent(tokens, loud, margin=HINT_SLACK)
    chunks = plan_chunks(tokens, energy, duration)
    report(progress, 0, duration, "aligning words")
    for start, end, part in chunks:
        words += aligner.align_chunk(audio, energy, start, end, tokens[part], speech)
        report(progress, end, duration, "aligning words")
    if not chunks or chunks[-1][1] < duration:  # the speech ends before the recording
        report(progress, duration, duration, "aligning words")
    words = _drop_silent(words, loud, heard=HEARD_WORD)
    if refine:
        words = _fit_silence_edges(_refine_edges(words, loud), acoustics.fill_digital_silence(
            acoustics.frame_energy_db(audio, acoustics.FINE_HOP), acoustics.FINE_HOP))
    return _gaps_to_items(words, audio, loud, aligner, duration, fillers, speech)
