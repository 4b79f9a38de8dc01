"""Written words -> the words a speaker says: numbers, abbreviations, symbols, hyphens.

The aligner needs every item in its spoken form ("1." must become "one", or the aligner has
no sound to match and swallows it into a neighbour); the WER benchmark compares spoken forms
too, so "Mr." and "mister" or "1995" and "nineteen ninety-five" count as the same words.
"""
from __future__ import annotations

import itertools
import re

import numpy as np
from num2words import num2words

ABBREVIATIONS = {
    "mr": ["mister"], "mrs": ["missus"], "ms": ["miz"], "dr": ["doctor"], "prof": ["professor"],
    "vs": ["versus"], "etc": ["et", "cetera"], "e.g": ["for", "example"], "i.e": ["that", "is"],
    "&": ["and"], "+": ["plus"], "=": ["equals"], "%": ["percent"], "@": ["at"],
}
CURRENCIES = {"$": "dollars", "€": "euros", "£": "pounds"}
SCALES = frozenset({"thousand", "million", "billion", "trillion"})  # "$4.6 million": "four point six million dollars"
_ORDINAL = re.compile(r"^(\d+)(st|nd|rd|th)$")
_NUMBER = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$|^\d+(\.\d+)?$")
_DIGIT_GROUPS = re.compile(r"^\d+([-/]\d+)+$")
_SCALED = re.compile(r"^(\d+(?:\.\d+)?)(k|m|mn|b|bn)$")  # "$4.6m": "four point six million dollars"
_SCALE_LETTERS = {"k": "thousand", "m": "million", "mn": "million", "b": "billion", "bn": "billion"}
_DECADE = re.compile(r"^'?(\d{1,3}0)s$")  # "1990s", "'90s", "20s"
_FRACTION = re.compile(r"^(\d)/(\d{1,2})$")  # "3/4": also "three quarters"
_MINUS = "-\u2212"  # a leading minus sign: "-5", "\u22125"
_CLOCK = re.compile(r"^(\d{1,2}):(\d\d)$")  # "9:05": "nine oh five"; "10:00": "ten" or "ten o'clock"
_TIMES = re.compile(r"^(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)?$")  # "3x3": "three by three"; "1.5x": "one point five times"
MAX_READINGS = 24  # combined readings of a digit-group token tried at most
EDGE_PUNCTUATION = "\"'“”‘’()[]{}<>.,;:!?…«»*_"
_FALSE_START = re.compile(r"(.*\w)-+")  # a word broken off: "bee-", "ill-dis-"
__all__ = ["spoken_words", "spoken_sequence", "number_words", "spoken_alternatives", "amount_readings",
           "false_start_stem", "EDGE_PUNCTUATION"]


def number_words(number: str) -> list[str]:
    """Spoken words of a plain number string: "1995" is a year, "3.5", "1,000" are cardinals."""
    plain = number.replace(",", "")
    if re.fullmatch(r"1[1-9]\d\d|20\d\d", plain) and "," not in number:
        text = num2words(int(plain), to="year")
    elif "." in plain:
        whole, frac = plain.split(".", 1)
        text = num2words(int(whole or 0)) + " point " + " ".join(num2words(int(d)) for d in frac)
    else:
        text = num2words(int(plain))
    return _words_of(text)


def _words_of(text: str) -> list[str]:
    return [w for w in re.split(r"[\s\-,]+", text.lower()) if w]


def false_start_stem(token: str) -> str | None:
    """What was said of a word broken off, lower case ("Bee-," -> "bee", "ill-dis-" -> "ill-dis");
    None if `token` ends in no hyphen after a letter or digit."""
    match = _FALSE_START.fullmatch(token.strip(EDGE_PUNCTUATION))
    return match.group(1).lower() if match else None


def spoken_words(token: str) -> list[str]:
    """The lower-case spoken words of one written token ("Mr." -> ["mister"], "1." -> ["one"],
    "$4.6M" -> "four point six million dollars", "1990s" -> "nineteen nineties", "C++")."""
    token = token.strip().lower().replace("’", "'")
    core = token.strip(EDGE_PUNCTUATION)
    if not core:
        return [ABBREVIATIONS[token][0]] if token in ABBREVIATIONS else []
    if core in ABBREVIATIONS or core.rstrip(".") in ABBREVIATIONS:
        return list(ABBREVIATIONS.get(core) or ABBREVIATIONS[core.rstrip(".")])
    if currency := _currency_of(core):
        return number_words(core[1:]) + [currency]
    if core[0] in CURRENCIES and (match := _SCALED.match(core[1:])):
        return number_words(match.group(1)) + [_SCALE_LETTERS[match.group(2)], CURRENCIES[core[0]]]
    if match := _DECADE.match(core):
        return _plural(number_words(match.group(1)))
    if core[0] in _MINUS and _NUMBER.match(core[1:]):
        return ["minus"] + number_words(core[1:])
    if core.endswith("++") and core[:-2].isalpha():  # "C++"
        return spoken_words(core[:-2]) + ["plus", "plus"]
    if match := _CLOCK.match(core):
        hour, minutes = match.groups()
        return number_words(hour) + ([] if minutes == "00" else _pair_words(minutes))
    if core.endswith("%") and _NUMBER.match(core[:-1]):
        return number_words(core[:-1]) + ["percent"]
    if _NUMBER.match(core):
        return number_words(core)
    if _DIGIT_GROUPS.match(core):  # "33-4-692", a phone or ID number: read digit by digit
        return [num2words(int(d)) for d in core if d.isdigit()]
    if match := _ORDINAL.match(core):
        return _words_of(num2words(int(match.group(1)), to="ordinal"))
    words: list[str] = []
    for part in re.split(r"[-–—/]+", core):
        if part and part != core:
            words += spoken_words(part)
        elif part:
            words += _letters_and_digits(part)
    return words


def _letters_and_digits(part: str) -> list[str]:
    """Split a mixed token like "mp4", "3d" or "1.5x" into letter runs and spoken numbers."""
    words: list[str] = []
    for run in re.findall(r"\d+(?:\.\d+)?|[^\W\d_](?:[^\W\d_]|')*", part):
        words += number_words(run) if run[0].isdigit() else [run.strip("'")]
    return [w for w in words if w]


def _plural(words: list[str]) -> list[str]:
    """A number's words as a decade or a plural ("nineteen ninety" -> "nineteen nineties")."""
    last = words[-1]
    return words[:-1] + [last[:-1] + "ies" if last.endswith("y") else last + "s"]


def spoken_sequence(text: str) -> list[str]:
    """All spoken words of a text, in order."""
    return [w for token in text.split() for w in spoken_words(token)]


def spoken_alternatives(token: str) -> list[list[str]]:
    """Other plausible readings of a token after `spoken_words`' first choice. A number, and
    each group of a phone or ID number ("33-4-692"), may be read digit by digit, as a cardinal,
    or in pairs ("692": "six nine two", "six hundred ninety-two", "six ninety-two"); four digits
    may also be a year. A fraction may be said as one ("3/4": "three quarters"), a minus sign as
    "negative", an "x" as "by" or "times" ("3x3", "1.5x"), a full hour with "o'clock". Every
    reading of a number with "and" ("one hundred and one") is also said without it, as
    Americans say it ("one hundred one")."""
    first = spoken_words(token)
    core = token.strip().strip(EDGE_PUNCTUATION).replace(",", "")
    readings = [first]
    if core.isdigit():
        readings += _digit_readings(core)
    elif _DIGIT_GROUPS.match(core):
        per_group = [_digit_readings(group) for group in re.split(r"[-/]", core)]
        if np.prod([len(r) for r in per_group]) <= MAX_READINGS:
            readings += [sum(combo, []) for combo in itertools.product(*per_group)]
        else:  # every group read the same way
            readings += [sum((r[min(k, len(r) - 1)] for r in per_group), []) for k in range(3)]
    if match := _FRACTION.match(core):
        readings.append(_fraction_words(int(match.group(1)), int(match.group(2))))
    if core[:1] in _MINUS and _NUMBER.match(core[1:]):
        readings.append(["negative"] + first[1:])
    if match := _TIMES.match(core):  # "x" said as "by" between two numbers, or as "times"
        before, after = number_words(match.group(1)), number_words(match.group(2)) if match.group(2) else []
        readings += [before + [word] + after for word in (["by", "times"] if after else ["times"])]
    if (match := _CLOCK.match(core)) and match.group(2) == "00":
        readings.append(first + ["o'clock"])
    if any(c.isdigit() for c in core):
        readings += [[w for w in reading if w != "and"] for reading in readings if "and" in reading]
    unique: list[list[str]] = []
    for reading in readings:
        if reading not in unique:
            unique.append(reading)
    return unique[1:]


def amount_readings(previous: str | None, token: str, following: str | None) -> list[list[str]]:
    """Readings of `token` that its neighbours call for: an amount of money before a scale word is
    said without its currency, which follows the scale ("$4.6 million": "four point six" and
    "million dollars"); [] elsewhere."""
    def core(text: str | None) -> str:
        return (text or "").strip().strip(EDGE_PUNCTUATION)

    if _currency_of(core(token)) and core(following).lower() in SCALES:
        return [spoken_words(token)[:-1]]
    if core(token).lower() in SCALES and (currency := _currency_of(core(previous))):
        return [spoken_words(token) + [currency]]
    return []


def _currency_of(core: str) -> str | None:
    """The spoken currency of an amount of money ("$4.6" -> "dollars"); None for other tokens."""
    return CURRENCIES[core[0]] if core[:1] in CURRENCIES and _NUMBER.match(core[1:]) else None


def _fraction_words(numerator: int, denominator: int) -> list[str]:
    """ "1/2": "one half", "3/4": "three quarters", "2/3": "two thirds"."""
    name = {2: "half", 4: "quarter"}.get(denominator) or _words_of(num2words(denominator, to="ordinal"))[-1]
    name = name if numerator == 1 else "halves" if name == "half" else name + "s"
    return _words_of(num2words(numerator)) + [name]


def _pair_words(pair: str) -> list[str]:
    """One or two digits said as a group: "05" as "oh five", "59" as "fifty-nine"."""
    return ["oh", num2words(int(pair[1]))] if len(pair) == 2 and pair[0] == "0" else _words_of(num2words(int(pair)))


def _digit_readings(digits: str) -> list[list[str]]:
    """Ways to say a run of digits: one by one, as a cardinal, in pairs (a leading odd digit
    alone; a pair "0d" as "oh d"), and four digits as a year; no cardinal after a leading zero."""
    readings = [[num2words(int(d)) for d in digits]]
    if digits[0] != "0" or len(digits) == 1:  # "0123" is no cardinal or year
        readings.append(_words_of(num2words(int(digits))))
    if len(digits) > 2:
        head = len(digits) % 2
        pairs = [digits[:head]] * head + [digits[k:k + 2] for k in range(head, len(digits), 2)]
        readings.append([w for pair in pairs for w in _pair_words(pair)])
    if len(digits) == 4 and digits[0] != "0":
        readings.append(_words_of(num2words(int(digits), to="year")))
    return [r for k, r in enumerate(readings) if r not in readings[:k]]
