"""`transcribe`: media file -> Transcript (ASR text or a user's script, then forced alignment)."""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from padl_lib.progress import Progress
from padl_lib.video import acoustics
from padl_lib.video.align import ALIGNER, Token, align, script_deviations, tokens_with_hints
from padl_lib.video.asr import ANNOTATION, DEFAULT_MODEL, AsrSegment, recognize
from padl_lib.video.media import SAMPLE_RATE, load_audio, probe, sha256_file
from padl_lib.video.spoken import EDGE_PUNCTUATION, spoken_words
from padl_lib.video.transcript import Transcript, Word

LONG_SCRIPT_SECONDS = 60.0  # longer scripted recordings get rough word times from ASR first
# prefixes of hyphenated words whose second part may begin with the prefix's letters ("re-read")
COMPOUND_PREFIXES = frozenset({"re", "co", "de", "pre", "un"})
__all__ = ["transcribe", "asr_tokens", "LONG_SCRIPT_SECONDS"]


def asr_tokens(segments: list[AsrSegment]) -> list[Token]:
    """Recognized words as tokens to align. Left out: sound annotations such as "[Music]", and
    whisper's zero-length echo of the word that follows ("amiable amiable"). A stumble whisper
    wrote as one word ("self-selfish") becomes two tokens, so an edit can cut the false start."""
    words = [w for seg in segments if not ANNOTATION.match(seg.text) for w in seg.words]
    kept = [w for k, w in enumerate(words) if not (w.end <= w.start and k + 1 < len(words)
                                                     and spoken_words(w.text) == spoken_words(words[k + 1].text))]
    return [token for w in kept for token in _split_stumble(Token(w.text, w.start, w.end, w.probability))]


def _split_stumble(token: Token) -> list[Token]:
    """A recognized token (with times) written as a false start joined to the word it begins
    ("self-selfish", "th-the") as the two tokens "self-" and "selfish", its rough time shared by
    their letters; else itself. Compounds with a prefix ("re-read", "co-counsel") stay whole."""
    head, dash, tail = token.text.lstrip(EDGE_PUNCTUATION).partition("-")
    if not (dash and head.isalpha() and len(tail) > len(head) and tail.lower().startswith(head.lower())
            and head.lower() not in COMPOUND_PREFIXES):
        return [token]
    lead = len(token.text) - len(token.text.lstrip(EDGE_PUNCTUATION))
    fragment = token.text[:lead + len(head)] + "-"
    at = token.start + (token.end - token.start) * len(head) / (len(head) + sum(map(str.isalpha, tail)))
    return [replace(token, text=fragment, end=at), replace(token, text=tail, start=at)]


# what a script may hold besides the words said: pause tokens ("[pause 0.7s]", as `text` writes
# them: a transcript's text, its words corrected, is a script) and notes ("[laughs]", "[slide 3]");
# brackets inside a word are said ("x[0]")
UNSPOKEN = re.compile(r"(?<!\S)\[[^\]]*\](?!\w)")


def _script_tokens(script: str, audio: np.ndarray, model: str | None, progress: Progress | None,
                   loud: np.ndarray) -> list[Token]:
    words = UNSPOKEN.sub(" ", script).split()
    if not words:
        raise ValueError("the script is empty: give the text that is spoken in the recording")
    if len(audio) / SAMPLE_RATE <= LONG_SCRIPT_SECONDS:
        return [Token(w) for w in words]
    segments, _ = recognize(audio, model, progress=progress, loud=loud)
    heard = asr_tokens(segments)
    for deviation in script_deviations(words, heard):
        warnings.warn(f"the script and the recording differ: {deviation}. The script's words are aligned as "
                      f"written; check the script there", stacklevel=3)
    return tokens_with_hints(words, heard)


def transcribe(media: str | os.PathLike, model: str | None = None, script: str | None = None,
               progress: Progress | None = None, fillers: bool = True, audio_track: int | None = None) -> Transcript:
    """Transcribe a media file with word timings.

    `model`: a faster-whisper model (default: the bundled tiny.en). `script`: the spoken text,
    if known; then ASR is skipped (or, for recordings over a minute, only used for rough times)
    and the script's words are aligned as written. `fillers`: detect "uh"/"um" in gaps.
    `audio_track` (0-based): the track with the speech; by default the first, or, when it holds
    no speech, the first of the others that does (with a warning). The transcript keeps it
    (`Transcript.audio_track`), and renders of its edits keep that track's sound.
    """
    media = Path(media)
    tracks = probe(media).audio_tracks
    candidates = [audio_track] if audio_track is not None else list(range(max(tracks, 1)))
    found = None
    for track in candidates:
        result = _words_of_track(media, track, model, script, progress, fillers)
        found = found or result  # the first track's, if no track holds speech
        if any(w.kind == "word" for w in result[1]):
            found = result
            break
    track, words, language, source, seconds = found
    if audio_track is None and track:
        warnings.warn(f"no speech in the first audio track of {media.name}; transcribed track {track + 1} of "
                      f"{tracks}, whose sound renders keep", stacklevel=2)
    extra = {"duration": round(seconds, 3), **({"audio_track": track} if track else {})}
    return Transcript(words=words, media=media, checksum=sha256_file(media), language=language, model=source,
                      aligner=ALIGNER, extra=extra)


def _words_of_track(media: Path, track: int, model: str | None, script: str | None, progress: Progress | None,
                    fillers: bool) -> tuple[int, list[Word], str, str, float]:
    """(track, its aligned items, language, text source, seconds of audio) of one audio track."""
    audio = load_audio(media, track=track)
    loud = acoustics.sound_frames(audio)  # read by both the recognizer and the aligner
    if script is not None:
        tokens, language, source = _script_tokens(script, audio, model, progress, loud), "en", "script"
    else:
        segments, language = recognize(audio, model, progress=progress, loud=loud)
        if language != "en":
            raise ValueError(f"{media.name}: the speech is in {language!r}; padl's aligner knows English only")
        tokens, source = asr_tokens(segments), model or DEFAULT_MODEL
    words = align(audio, tokens, progress=progress, fillers=fillers, script=script is not None, loud=loud)
    return track, words, language, source, len(audio) / SAMPLE_RATE
