"""Grapheme-to-phoneme for words outside the aligner's dictionary, via espeak-ng.

espeak-ng (a Debian package, see binder/apt.txt) spells any English word in its own ASCII
phoneme mnemonics (``-x``); `ESPEAK_TO_ARPABET` maps them to the CMU/ARPAbet phones of
pocketsphinx's acoustic model (stress marks dropped: the model has none).
"""
from __future__ import annotations

import functools
import shutil
import subprocess

ESPEAK_TO_ARPABET = {
    # consonants
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "f": "F", "v": "V", "T": "TH", "D": "DH",
    "s": "S", "z": "Z", "S": "SH", "Z": "ZH", "h": "HH", "m": "M", "n": "N", "N": "NG", "l": "L", "r": "R",
    "j": "Y", "w": "W", "tS": "CH", "dZ": "JH", "x": "K", "t#": "T", "t2": "T", "d#": "D", "r-": "R",
    "n-": "AH N", "m-": "AH M", "l-": "AH L", "@L": "AH L", "?": "T", "C": "HH", "W": "W",
    # vowels and diphthongs
    "a": "AE", "a#": "AH", "a2": "AE", "A:": "AA", "A@": "AA R", "A": "AA", "aI": "AY", "aI@": "AY ER",
    "aI3": "AY ER", "aU": "AW", "aU@": "AW ER", "e": "EH", "E": "EH", "e@": "EH R", "eI": "EY",
    "i": "IY", "i:": "IY", "I": "IH", "I2": "IH", "I#": "IH", "i@": "IY AH", "i@3": "IH R",
    "0": "AA", "O": "AO", "O:": "AO", "O@": "AO R", "o@": "AO R", "OI": "OY", "oU": "OW", "o": "OW",
    "u:": "UW", "u": "UW", "U": "UH", "U@": "UH R", "V": "AH", "@": "AH", "@2": "AH", "@5": "AH",
    "3": "ER", "3:": "ER", "@r": "ER",
}
_IGNORED = set("',%=_:;|") | {" "}
__all__ = ["ESPEAK_TO_ARPABET", "G2PError", "espeak_phonemes", "arpabet", "to_arpabet"]


class G2PError(RuntimeError):
    """espeak-ng is missing or could not spell a word."""


def espeak_phonemes(word: str, voice: str = "en-us") -> str:
    """espeak-ng's phoneme mnemonics of `word` (e.g. "dashwood" -> "d'aSwUd")."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise G2PError("espeak-ng is not installed (apt-get install espeak-ng); it spells words "
                       "outside the aligner's dictionary")
    done = subprocess.run([exe, "-q", "-x", "-v", voice, "--", word], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise G2PError(f"espeak-ng failed on {word!r}: {done.stderr.strip()}")
    return " ".join(done.stdout.split())


def to_arpabet(mnemonics: str) -> list[str]:
    """Map espeak mnemonics to ARPAbet phones by longest match (stress and separators dropped)."""
    longest = max(len(k) for k in ESPEAK_TO_ARPABET)
    phones: list[str] = []
    i = 0
    while i < len(mnemonics):
        if mnemonics[i] in _IGNORED:
            i += 1
            continue
        for size in range(longest, 0, -1):
            piece = mnemonics[i:i + size]
            if piece in ESPEAK_TO_ARPABET:
                phones += ESPEAK_TO_ARPABET[piece].split()
                i += size
                break
        else:  # an espeak symbol without an English phone (length marks, rare accents)
            i += 1
    return phones


@functools.lru_cache(maxsize=4096)
def arpabet(word: str) -> tuple[str, ...]:
    """ARPAbet phones of an English word spelled by espeak-ng."""
    phones = to_arpabet(espeak_phonemes(word))
    if not phones:
        raise G2PError(f"espeak-ng gave no phones for {word!r}")
    return tuple(phones)
