"""Recognition and forced alignment on real shipped speech (LibriVox sentences, the screencast)."""
import subprocess
import types
import warnings
import wave

import numpy as np
import pytest

from padl_lib.video import acoustics, asr
from padl_lib.video.align import (HEARD_WORD, Token, _doubtful_stretches, _drop_silent, align, filler_form,
                                  plan_chunks, spelling, tokens_with_hints)
from padl_lib.video.asr import mean_logprob, pieces, recognize
from padl_lib.video.bench import (VOICE_PASSAGES, _room_tone, _sound_span, boundary_errors, normalize, onset_errors,
                                  timing_reference, with_noise, word_error_rate)
from padl_lib.video.espeak import synthesize
from padl_lib.video.g2p import arpabet, to_arpabet
from padl_lib.video.media import SAMPLE_RATE, MediaError, load_audio, write_wav
from padl_lib.video.pipeline import transcribe
from padl_lib.video.samples import sample
from padl_lib.video.spoken import amount_readings, spoken_alternatives, spoken_words
from padl_lib.video.render import render
from padl_lib.video.transcript import MIN_PAUSE, Transcript, Word

LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-{}.wav"
ITALIAN = ("Benvenuti alla lezione. Oggi parliamo di reti neurali con pesi binari. Il calcolo è molto veloce, ma la "
           "precisione ne risente un po.")
SCREENCAST = "/usr/share/forensics-samples/original-files/movie2/movie-hello.mp4"
CMUDICT = {"thought": "TH AO T", "church": "CH ER CH", "measure": "M EH ZH ER", "sing": "S IH NG",
           "judge": "JH AH JH", "bathe": "B EY DH", "dashwood": "D AE SH W UH D", "ship": "SH IH P"}


@pytest.mark.parametrize("token, words", [
    ("1.", ["one"]), ("Mr.", ["mister"]), ("1995", ["nineteen", "ninety", "five"]), ("3.5", ["three", "point", "five"]),
    ("$5", ["five", "dollars"]), ("21st", ["twenty", "first"]), ("cold-hearted,", ["cold", "hearted"]),
    ("33-4-692", ["three", "three", "four", "six", "nine", "two"]), ("“Hello,”", ["hello"]), ("don't", ["don't"]),
    ("$4.6M", ["four", "point", "six", "million", "dollars"]), ("1.5x", ["one", "point", "five", "x"]),
    ("1990s,", ["nineteen", "nineties"]), ("'90s", ["nineties"]), ("-5", ["minus", "five"]),
    ("C++", ["c", "plus", "plus"]), ("9:05", ["nine", "oh", "five"]), ("10:30,", ["ten", "thirty"]),
])
def test_spoken_words(token, words):
    assert spoken_words(token) == words


def test_a_false_start_is_a_word_that_ends_in_a_hyphen():
    from padl_lib.video.spoken import false_start_stem

    assert [false_start_stem(t) for t in ("bee-", "Bee-,", "ill-dis-", "“th-", "bee--")] == \
        ["bee", "bee", "ill-dis", "th", "bee"]
    assert [false_start_stem(t) for t in ("x-ray", "-", "--", "been")] == [None] * 4


def test_numbers_have_alternative_readings():
    assert ["six", "nine", "two"] in spoken_alternatives("692.")
    assert ["six", "ninety", "two"] in spoken_alternatives("692")
    assert spoken_alternatives("hello") == [] and spoken_alternatives("R&D") == []
    assert ["one", "hundred", "one"] in spoken_alternatives("101") and ["two", "thousand", "nineteen"] in \
        spoken_alternatives("2019") and ["one", "hundred", "one", "dollars"] in spoken_alternatives("$101")
    assert spoken_alternatives("3/4") == [["three", "quarters"]] and spoken_alternatives("1/2") == [["one", "half"]]
    assert spoken_alternatives("-5") == [["negative", "five"]]
    assert spoken_alternatives("3x3") == [["three", "by", "three"], ["three", "times", "three"]]
    assert spoken_alternatives("1.5x") == [["one", "point", "five", "times"]]
    assert spoken_alternatives("10:00") == [["ten", "o'clock"]]


def test_an_amount_of_money_before_a_scale_word_is_said_with_the_currency_last():
    assert amount_readings("about", "$4.6", "million.") == [["four", "point", "six"]]
    assert amount_readings("$4.6", "million.", "Read") == [["million", "dollars"]]
    assert amount_readings("cost", "€3", "billion") == [["three"]]
    assert amount_readings("about", "$4.6", "each") == [] and amount_readings("4.6", "million", None) == []


def test_phone_numbers_are_read_group_by_group():
    assert ["thirty", "three", "four", "six", "ninety", "two"] in spoken_alternatives("33-4-692.")
    readings = spoken_alternatives("555-0123")
    assert ["five", "five", "five", "oh", "one", "twenty", "three"] in readings
    assert not any(r[-5:] == ["one", "hundred", "and", "twenty", "three"] for r in readings)  # no cardinal "0123"
    many = spoken_alternatives("12-34-56-78-90")  # 32 combinations: each group read the same way instead
    assert ["twelve", "thirty", "four", "fifty", "six", "seventy", "eight", "ninety"] in many and len(many) <= 2


def test_g2p_spells_unknown_words_in_arpabet():
    for word, phones in CMUDICT.items():
        assert " ".join(arpabet(word)) == phones
    assert arpabet("pytorch")[:3] == ("P", "AY", "T")
    assert to_arpabet("d'aSwUd") == "D AE SH W UH D".split()


def test_fillers_are_recognized_by_spelling():
    assert filler_form("Um,") == "um" and filler_form("uh...") == "uh" and filler_form("umbrella") is None
    assert Token("Uhm").kind == "filler" and Token("the").kind == "word"


@pytest.fixture(scope="module")
def sentence():
    return transcribe(LIBRIVOX.format("0930"))


def test_transcribe_librivox_sentence(sentence):
    assert normalize(" ".join(w.text for w in sentence.spoken())) == "he might even have been made amiable himself"
    words = sentence.spoken()
    assert all(w.confidence > 0 and w.end > w.start for w in words)
    assert all(a.end <= b.start for a, b in zip(sentence.words, sentence.words[1:]))
    assert words[0].start == pytest.approx(0.28, abs=0.05)  # the speech onset (energy rises at 0.27-0.28 s)
    # "himself" ends at 2.99 s (its "f" fades out by 3.0 s), 0.3 s before the recording: too short a gap for a pause
    assert 0 <= len(load_audio(LIBRIVOX.format("0930"))) / SAMPLE_RATE - sentence.words[-1].end <= MIN_PAUSE
    assert sentence.model.startswith("tiny.en") and sentence.language == "en"


def test_script_replaces_asr_and_is_aligned():
    script = ("And Mr. John Dashwood had then leisure to consider how much there might be prudently in his power to "
              "do for them.")
    t = transcribe(LIBRIVOX.format("0870"), script=script)
    assert t.model == "script"
    assert [w.text for w in t.spoken()] == script.split()
    assert all(w.confidence > 0 for w in t.spoken())
    starts = [w.start for w in t.spoken()]
    assert starts == sorted(starts) and starts[-1] < 6.7


def test_pause_between_sentences_is_found(tmp_path):
    first, second = load_audio(LIBRIVOX.format("0880")), load_audio(LIBRIVOX.format("0930"))
    signal = np.concatenate([first, _room_tone(first, 1.0, np.random.default_rng(0)), second])
    path = tmp_path / "two.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(SAMPLE_RATE)
        out.writeframes((signal * 32767).astype("<i2").tobytes())
    t = transcribe(path)
    splice = len(first) / SAMPLE_RATE
    pauses = [w for w in t.words if w.kind == "pause" and w.start < splice + 0.5 < w.end]
    assert len(pauses) == 1 and pauses[0].duration > 1.0
    assert "[pause 1." in t.text() or "[pause 1.2s]" in t.text()
    assert word_error_rate(["he was not an ill disposed young man he might even have been made amiable himself"],
                           [" ".join(w.text for w in t.words if w.kind == "word")]) <= 0.2


def test_screencast_speech_and_its_long_pause():
    t = transcribe(SCREENCAST)
    words = [w.text.lower().strip(".") for w in t.spoken()]
    assert words[:2] == ["i", "will"] and words[-1] == "done"
    longest = max((w for w in t.words if w.kind == "pause"), key=lambda w: w.duration)
    assert longest.duration > 2.5 and t.extra["duration"] == pytest.approx(8.3, abs=0.1)


def test_failed_alignment_falls_back_to_rough_times():
    audio = load_audio(LIBRIVOX.format("0880"))[: SAMPLE_RATE]  # 1 s cannot hold 30 words
    tokens = [Token(w) for w in ("extraordinary misunderstanding " * 15).split()]
    with pytest.warns(UserWarning, match="could not align"):
        words = align(audio, tokens, fillers=False)
    spoken = [w for w in words if w.kind != "pause"]
    assert len(spoken) >= 20 and all(w.confidence == 0 for w in spoken)  # those over the speech are kept
    assert [w.start for w in spoken] == sorted(w.start for w in spoken)


@pytest.fixture(scope="module")
def sentence_then_silence() -> tuple[np.ndarray, list[Token], float]:
    """A LibriVox sentence followed by 2 s of its room tone, its recognized tokens and its end (s)."""
    speech = load_audio(LIBRIVOX.format("0930"))
    audio = np.concatenate([speech, _room_tone(speech, 2.0, np.random.default_rng(0))])
    segments, _ = recognize(speech)
    return audio, [Token(w.text, w.start, w.end) for s in segments for w in s.words], len(speech) / SAMPLE_RATE


def test_words_recognized_in_silence_are_dropped(sentence_then_silence):
    audio, tokens, end = sentence_then_silence
    invented = [Token("Thank", end + 0.5, end + 0.8), Token("you.", end + 0.8, end + 1.1)]  # whisper's classic
    with pytest.warns(UserWarning, match="no sound"):
        words = align(audio, tokens + invented, fillers=False)
    spoken = [w.text for w in words if w.kind != "pause"]
    assert spoken == [t.text for t in tokens]


def test_long_room_tone_around_speech_invents_no_words(tmp_path):
    """15 s of noise before a passage made whisper write "trained in the development of the
    land. models" for "trained models"; silences are removed before decoding now."""
    text = ("Good morning everyone. Today we talk about gradient descent. Um, the idea is simple. We compute the "
            "gradient of the loss, and we take a small step in the opposite direction. In 2019, researchers "
            "trained models with 175 layers. That is all for today.")
    speech = load_audio(synthesize(text).write(tmp_path / "passage.wav"))
    noise = np.random.default_rng(0).normal(0, 0.002, 15 * SAMPLE_RATE).astype(np.float32)
    segments, _ = recognize(np.concatenate([noise, speech, noise[::-1]]))
    heard = normalize(" ".join(s.text for s in segments)).split()
    assert "development" not in heard and len(heard) <= len(normalize(text).split())


def test_script_words_are_kept_whatever_their_hinted_times(sentence_then_silence):
    """A script's words were all said: a word whose rough time lies in silence is aligned, not dropped."""
    audio, tokens, end = sentence_then_silence
    tokens = tokens[:-1] + [Token(tokens[-1].text, end + 0.5, end + 0.8)]
    with pytest.warns(UserWarning, match="no sound"):
        recognized = [w.text for w in align(audio, tokens, fillers=False) if w.kind == "word"]
    assert recognized == [t.text for t in tokens[:-1]]
    words = [w for w in align(audio, tokens, fillers=False, script=True) if w.kind == "word"]
    assert [w.text for w in words] == [t.text for t in tokens] and words[-1].end < end + 0.1


def test_long_audio_is_split_at_quiet_points():
    audio = np.concatenate([load_audio(LIBRIVOX.format(n)) for n in ("0870", "0890", "0920")])
    segments, _ = recognize(audio)
    tokens = [Token(w.text, w.start, w.end) for s in segments for w in s.words]
    energy = acoustics.frame_energy_db(audio)
    chunks = plan_chunks(tokens, energy, len(audio) / SAMPLE_RATE, target=5.0)
    assert len(chunks) >= 3
    assert sum(c[2].stop - c[2].start for c in chunks) == len(tokens)
    for start, end, part in chunks[1:]:
        assert energy[int(start * 100)] < np.percentile(energy, 50)  # cut in a quiet frame


def test_words_are_aligned_near_where_they_were_heard():
    """Hinted words 3 s or more apart are aligned apart, each run within 0.5 s of its hints: the
    first chunk used to start at 0 s, and a music intro drew "Unless" 11 s before its sound. A
    voiced sound in a gap full of other voiced sound is a note of the music, no "uh"."""
    from padl_lib.video.align import HINT_REACH

    tokens = [Token(w, 30.3 + 0.4 * k, 30.6 + 0.4 * k) for k, w in enumerate("and then we go".split())]
    tokens += [Token(w, 40.0 + 0.4 * k, 40.3 + 0.4 * k) for k, w in enumerate("after the clip".split())]
    chunks = plan_chunks(tokens, np.zeros(6000), 60.0)
    assert chunks == [(30.3 - HINT_REACH, pytest.approx(31.8 + HINT_REACH), slice(0, 4)),
                      (40.0 - HINT_REACH, pytest.approx(41.1 + HINT_REACH), slice(4, 7))]
    rng = np.random.default_rng(0)
    speech = load_audio(LIBRIVOX.format("0890"))  # "Unless to be rather cold-hearted ..." at 0.27 s
    audio = np.concatenate([_melody(12.0, rng), speech])
    tokens = [Token(w.text, w.start, w.end, w.probability) for s in recognize(audio)[0] for w in s.words]
    items = align(audio, tokens)
    assert items[0].kind == "pause" and items[0].end > 11.0 and all(w.kind != "filler" for w in items)
    assert next(w for w in items if w.text == "Unless").start > 12.0


def _melody(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Notes of 0.5 s (a pluck of four harmonics, decaying), as an intro's music."""
    t = np.arange(SAMPLE_RATE // 2) / SAMPLE_RATE
    notes = [0.1 * np.exp(-3 * t) * sum(np.sin(2 * np.pi * f * h * t) / h for h in range(1, 5))
             for f in rng.choice([220.0, 262.0, 294.0, 330.0, 392.0], int(seconds / 0.5))]
    return np.concatenate(notes).astype(np.float32)


def test_script_words_get_rough_times_from_asr():
    asr = [Token("hello", 0.0, 0.5), Token("wonderful", 0.6, 1.0), Token("world", 1.1, 1.5)]
    hinted = tokens_with_hints(["Hello", "beautiful", "world!"], asr)
    assert [t.start for t in hinted] == [0.0, pytest.approx(0.55), 1.1]


def test_a_script_the_speaker_left_is_named_where_it_differs_from_what_was_heard():
    """A sentence of the script was not said, and the speaker said one that is not in it; a
    recognizer's slip of a few words ("links are" for "the link score is") is no deviation."""
    from padl_lib.video.align import script_deviations

    script = "We start here. This sentence was never said at all. The link score is one of them. We stop.".split()
    said = "we start here the links are one of them let us write this down we stop"
    heard = [Token(w, 0.5 * k, 0.5 * k + 0.4) for k, w in enumerate(said.split())]
    assert script_deviations(script, heard) == [
        "the script's 'This sentence was never said at all.' was not heard (near 1.5 s)",
        "'let us write this down' was heard (4.5-6.9 s) but is not in the script"]
    assert script_deviations(script, heard, min_words=2)[1].startswith("the script's 'link score is' was not")
    assert script_deviations(script, []) == [f"the script's {' '.join(script)!r} was not heard (near 0.0 s)"]


def test_timing_reference_places_real_utterances_at_known_times():
    from padl_lib.video.bench import boundary_errors, timing_reference

    path, spans, texts = timing_reference(seed=3)
    audio = load_audio(path)
    energy = acoustics.frame_energy_db(audio)
    assert len(spans) == 8 and sum(t is not None for t in texts) == 5
    assert all(a < b < c for (a, b), (c, _) in zip(spans, spans[1:]))
    for (_, offset), (onset, _) in zip(spans, spans[1:]):
        assert 0.4 <= onset - offset <= 1.2 + 0.01
        gap = energy[int(offset * 100) + 2:int(onset * 100) - 2]  # room tone only
        assert gap.max() < np.percentile(energy, 60)
    exact = [Word("x", a, b) for a, b in spans]
    result = boundary_errors(exact, spans, len(audio) / SAMPLE_RATE)
    assert result["mean_ms"] < 1e-6 and result["within_50"] == 1.0 and result["missing_spans"] == 0
    late = [Word("x", a + 0.1, b) for a, b in spans[:-1]]
    result = boundary_errors(late, spans, len(audio) / SAMPLE_RATE)
    assert result["missing_spans"] == 1 and result["within_50"] == 0.5


def test_figures_draw_a_transcript(sentence):
    import matplotlib

    matplotlib.use("Agg")
    from padl_lib.video.figures import alignment_figure

    fig = alignment_figure(sentence, load_audio(LIBRIVOX.format("0930")), compare=sentence.spoken()[:3])
    assert len(fig.axes) == 2 and any(t.get_text() == "amiable" for t in fig.axes[0].texts)


def test_asr_tokens_skip_annotations_and_zero_length_echoes():
    from padl_lib.video.asr import AsrSegment, AsrWord
    from padl_lib.video.pipeline import asr_tokens

    segments = [AsrSegment(0, 1, "[Music]", (AsrWord("[Music]", 0, 1, 0.9),)),
                AsrSegment(1, 3, "made amiable amiable himself", (
                    AsrWord("made", 1.0, 1.3, 0.9), AsrWord("amiable", 1.3, 1.3, 0.2),
                    AsrWord("amiable", 1.3, 1.8, 0.9), AsrWord("himself.", 1.8, 2.4, 0.9)))]
    assert [t.text for t in asr_tokens(segments)] == ["made", "amiable", "himself."]


def test_a_stumble_whisper_writes_as_one_word_becomes_two_tokens():
    from padl_lib.video.asr import AsrSegment, AsrWord
    from padl_lib.video.pipeline import asr_tokens

    said = [("rather", 2.4, 2.8), ("self-selfish,", 2.8, 3.9), ("re-read", 4.0, 4.4), ("so-so", 4.4, 4.8),
            ("“th-the", 4.8, 5.0)]
    tokens = asr_tokens([AsrSegment(2.4, 5.0, "", tuple(AsrWord(t, a, b, 0.9) for t, a, b in said))])
    assert [t.text for t in tokens] == ["rather", "self-", "selfish,", "re-read", "so-so", "“th-", "the"]
    assert (tokens[1].start, tokens[2].end) == (2.8, 3.9) and tokens[1].end == tokens[2].start == pytest.approx(3.2)


def test_a_written_false_start_is_said_as_the_first_phones_of_its_word():
    """Spelled on its own, "th-" would be the letters "tee aitch", and "might-" the whole word."""
    from padl_lib.video.align import Aligner

    aligner = Aligner()
    tokens = [Token(t) for t in ("th-", "the", "self-", "selfish,", "might-", "might", "x-", "ray", "so-so")]
    readings = [aligner._fragment_readings(tokens, i) for i in range(len(tokens))]
    assert readings[0] == [["the^1"]] and aligner.decoder.lookup_word("the^1") == "DH"
    assert readings[2] == [["selfish^2"], ["selfish^3"], ["selfish^4"]]  # S EH L F IH SH: "self" is 4 of 7 letters
    assert readings[4] == [["might^2"], ["might^3"]]  # M AY T: broken off, or said whole
    assert readings[6] is None and readings[8] is None
    assert all(r is None for r in readings[1::2])
    assert aligner.disfluency_text("selfish^3~") == "self-"  # a written false start said again


def test_a_hyphenated_word_may_be_broken_off_in_its_second_part():
    from padl_lib.video.align import Aligner

    aligner = Aligner()
    aligner.ensure_words(["an", "ill", "disposed"])
    paths = aligner._disfluencies([[["an"]], [["ill", "disposed"]]], 1)  # IH L, D IH S P OW Z D
    assert [path[0][0] for path in paths] == [f"ill+disposed~{n}" for n in range(2, 7)] + ["an~"]
    assert paths[3] == [("ill+disposed~5", ["IH", "L", "D", "IH", "S"])]
    assert [aligner.disfluency_text(f"ill+disposed~{n}") for n in (2, 5)] == ["ill-", "ill-dis-"]


def test_a_short_voiced_sound_in_a_pause_becomes_a_filler_and_music_stays_a_pause():
    from padl_lib.video.align import Aligner, _gaps_to_items

    speech = load_audio(LIBRIVOX.format("0920"))
    vowel = speech[int(5.21 * SAMPLE_RATE):int(5.61 * SAMPLE_RATE)] * np.hanning(int(0.4 * SAMPLE_RATE))  # "was"
    tone = _room_tone(speech, 0.6, np.random.default_rng(1))
    audio = np.concatenate([tone, vowel, tone]).astype(np.float32)
    loud = acoustics.frame_energy_db(audio) > acoustics.speech_threshold_db(acoustics.frame_energy_db(audio))
    items = _gaps_to_items([], audio, loud, Aligner(), len(audio) / SAMPLE_RATE, find_fillers=True)
    assert [w.kind for w in items] == ["pause", "filler", "pause"]
    assert items[1].text in ("uh", "um") and 0.6 < items[1].start < items[1].end < 1.0
    silent = _gaps_to_items([], audio, loud, Aligner(), len(audio) / SAMPLE_RATE, find_fillers=False)
    assert [w.kind for w in silent] == ["pause"]
    t = np.arange(3 * SAMPLE_RATE) / SAMPLE_RATE
    chord = 0.05 * (np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 277 * t))  # three seconds of music: no "uh"
    audio = np.concatenate([tone, chord, tone]).astype(np.float32)
    loud = acoustics.frame_energy_db(audio) > acoustics.speech_threshold_db(acoustics.frame_energy_db(audio))
    music = _gaps_to_items([], audio, loud, Aligner(), len(audio) / SAMPLE_RATE, find_fillers=True)
    assert [w.kind for w in music] == ["pause"]


def test_numbers_are_aligned_in_the_reading_that_fits():
    from padl_lib.video.align import Aligner

    audio = np.fromfile("/usr/share/pocketsphinx/test/data/numbers.raw", "<i2").astype(np.float32) / 32768
    energy = acoustics.frame_energy_db(audio)
    tokens = [Token("33,", 0.5, 1.2), Token("4,", 1.2, 1.6), Token("692.", 1.6, 3.2)]  # said digit by digit
    words = Aligner().align_chunk(audio, energy, 0.0, len(audio) / SAMPLE_RATE, tokens)
    assert [w.text for w in words] == ["33,", "4,", "692."] and all(w.confidence > 0 for w in words)
    assert words[-1].end < 3.4  # "six nine two", not a stretched "six hundred ninety-two"


def test_a_phone_number_is_aligned_in_the_grouping_that_was_said():
    """Whisper writes "33-4-692." for a speaker who says "thirty-three"; read digit by digit,
    the aligner stretched "three three" over the pause before the number."""
    from padl_lib.video.align import Aligner

    audio = np.fromfile("/usr/share/pocketsphinx/test/data/numbers.raw", "<i2").astype(np.float32) / 32768
    aligner = Aligner()
    words = aligner._align_once(audio, 0.0, len(audio) / SAMPLE_RATE, [Token("33-4-692.")])
    said = [w for w in (spelling(s.word) for s in aligner.decoder.seg()) if w.isalpha()]
    assert [w.text for w in words] == ["33-4-692."] and said[:2] == ["thirty", "three"]


def test_every_word_of_a_long_forced_text_is_aligned(tmp_path):
    """pocketsphinx's word lattice may end in the silence after any word of a forced text and
    drop the rest ("... in the opposite" without "direction"); the aligner keeps every word, and
    a number is found in the reading the speaker used ("two thousand and nineteen")."""
    from padl_lib.video.align import Aligner

    passages = ["We compute the gradient of the loss, and we take a small step in the opposite direction.",
                "In 2019, we trained it."]
    for k, text in enumerate(passages):
        audio, aligner = load_audio(synthesize(text).write(tmp_path / f"speech{k}.wav")), Aligner()
        words = aligner._align_once(audio, 0.0, len(audio) / SAMPLE_RATE, [Token(t) for t in text.split()])
        assert words is not None and [w.text for w in words] == text.split()
        energy = acoustics.frame_energy_db(audio)
        sound_end = np.flatnonzero(energy > energy.max() - 30)[-1] / 100
        assert abs(words[-1].end - sound_end) < 0.15
    said = [spelling(s.word) for s in aligner.decoder.seg()]
    assert "thousand" in said and "twenty" not in said  # espeak reads the year as a cardinal


def _aligned_synthesis(said: str, written: str, path):
    """espeak-ng saying `said`, and an aligner's words for the tokens of `written` on it:
    (the synthesized speech, the aligner, its words)."""
    from padl_lib.video.align import Aligner

    speech = synthesize(said)
    audio, aligner = load_audio(speech.write(path)), Aligner()
    words = aligner._align_once(audio, 0.0, len(audio) / SAMPLE_RATE, [Token(t) for t in written.split()])
    return speech, aligner, words


def test_an_amount_of_money_is_aligned_with_its_currency_after_the_scale(tmp_path):
    """Whisper writes "$4.6 million" for "four point six million dollars": "million" is aligned
    over "million dollars", not squeezed after a "$4.6" that took both."""
    speech, _, words = _aligned_synthesis("It costs four point six million dollars today.",
                                          "It costs $4.6 million today.", tmp_path / "amount.wav")
    million, dollars, today = speech.onsets[5:8]
    assert abs(words[3].start - million) < 0.05 and words[2].end == words[3].start
    assert words[3].end > dollars + 0.2 and abs(words[4].start - today) < 0.05


def test_an_acronym_is_also_aligned_letter_by_letter(tmp_path):
    """espeak-ng reads "gpus" and "apis" as words ("guh-puss", "ah-peez"); written in capitals
    they are said letter by letter, which the aligner now may choose: before, "GPUs" began
    0.2 s and "the APIs" 0.3 s late."""
    text = "We trained it on eight GPUs and called the APIs today."
    speech, aligner, words = _aligned_synthesis(text, text, tmp_path / "acronyms.wav")
    assert aligner.decoder.lookup_word("gpus(2)") == "JH IY P IY Y UW Z"
    assert aligner.decoder.lookup_word("apis(2)") == "EY P IY AY Z"
    onsets = dict(zip(text.split(), speech.onsets))
    for word, slack in (("GPUs", 0.06), ("the", 0.05), ("APIs", 0.1)):
        assert abs(next(w.start for w in words if w.text == word) - onsets[word]) < slack, word


def test_written_forms_of_numbers_and_symbols_are_aligned_as_said(tmp_path):
    """Tokens as whisper writes them, said as people say them: before, "3/4" was read "three
    four", "1.5x" "one five x" and "-5" "five", and the words after them began 0.16-1.1 s off."""
    said = ("In the nineteen nineties it cost four point six million dollars. We wrote C plus plus code. Three "
            "quarters of them ran one point five x faster at minus five degrees.")
    written = "In the 1990s it cost $4.6M. We wrote C++ code. 3/4 of them ran 1.5x faster at -5 degrees."
    first_said = [0, 1, 2, 4, 5, 6, 11, 12, 13, 16, 17, 19, 20, 21, 22, 26, 27, 28, 30]  # each token's first word
    speech, _, words = _aligned_synthesis(said, written, tmp_path / "written.wav")
    assert [w.text for w in words] == written.split()
    errors = [abs(w.start - speech.onsets[k]) for w, k in zip(words, first_said) if k and speech.onsets[k] is not None]
    assert len(errors) >= 15 and max(errors) < 0.1


def test_edges_next_to_silence_follow_faint_sound_and_skip_clicks():
    """A word whose sound fades 8 dB over the room tone for 120 ms after its loud part, then a
    60 ms silence, a 30 ms click and room tone: the fitted end is where the faint tail ends;
    an onset after 40 ms of silence in front of a faint lead-in starts with the lead-in."""
    from padl_lib.video.align import _fit_silence_edges

    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(3 * SAMPLE_RATE) * 1e-3).astype(np.float32)  # room tone at -60 dB

    def add(start: float, end: float, level_db: float) -> None:
        a, b = int(start * SAMPLE_RATE), int(end * SAMPLE_RATE)
        audio[a:b] += (rng.standard_normal(b - a) * 10 ** ((level_db - 60) / 20)).astype(np.float32)

    add(0.96, 1.00, 10.0)  # a faint lead-in, part of the word
    add(1.00, 1.50, 30.0)  # the word's loud part
    add(1.50, 1.62, 10.0)  # its faint tail
    add(1.68, 1.71, 30.0)  # a click after a short silence
    fine = acoustics.frame_energy_db(audio, acoustics.FINE_HOP)
    (word,) = _fit_silence_edges([Word("word", 1.02, 1.45)], fine)
    assert word.start == pytest.approx(0.96, abs=0.015)
    assert word.end == pytest.approx(1.62, abs=0.015)


def test_segments_whisper_doubts_and_packs_impossibly_fast_count_as_invented():
    from padl_lib.video.asr import AsrSegment, AsrWord

    def segment(*words, logprob=-1.25, no_speech=0.55):
        return AsrSegment(words[0][1], words[-1][2], " ".join(w[0] for w in words),
                          tuple(AsrWord(*w) for w in words), avg_logprob=logprob, no_speech_prob=no_speech)

    sign_off = segment(("We'll", 15.12, 15.36, 0.5), *[(w, 15.36, 15.36, 0.5) for w in "see you next time.".split()])
    doubted_but_spoken = segment(*[(w, 0.5 * i, 0.5 * i + 0.4, 0.3) for i, w in enumerate(["he", "was", "not"])],
                                 logprob=-1.3)
    fast_but_sure = segment(*[(w, 0.1, 0.1, 0.9) for w in "abc"], logprob=-0.2, no_speech=0.0)
    prompt_echo = segment(("Okay,", 1.58, 2.98, 0.6), *[(w, 2.98, 2.98, 0.6) for w in "here's what I'm, like,".split()],
                          logprob=-0.65, no_speech=0.91)
    # after the last word of an abruptly ending recording (tiny.en's int8 decoding varies by CPU):
    thank_you = segment(("Thank", 26.75, 27.11, 0.0), ("you.", 27.11, 27.11, 0.97), logprob=-1.23)
    lone_you = segment(("You", 26.66, 26.82, 0.0), logprob=-1.3)
    assert all(s.likely_invented() for s in (sign_off, prompt_echo, thank_you, lone_you))
    assert not doubted_but_spoken.likely_invented() and not fast_but_sure.likely_invented()
    unsure_words = segment(("Thank", 26.75, 27.11, 0.0), ("you.", 27.11, 27.11, 0.97), logprob=-0.98)
    assert not unsure_words.likely_invented() and unsure_words.likely_invented(silent=True)
    assert not doubted_but_spoken.likely_invented(silent=True)  # its words were heard: whisper's times may be off


def test_words_whisper_heard_are_kept_where_the_speech_is_quiet(tmp_path):
    """The aligner's words in frames under the speech threshold were all dropped as inventions:
    the quieter words of speech with noise 10 dB under it ("might be as") and the last word of a
    recording that ends on it. Words whisper heard clearly are kept; whisper's inventions next to
    speech it hardly heard ("Thank" at 0.0) still go."""
    audio = load_audio(LIBRIVOX.format("0870"))  # "... in his power to do for them."
    a, b = (x / SAMPLE_RATE for x in _sound_span(audio))
    noisy = write_wav(tmp_path / "noisy.wav", with_noise(audio, 10))
    abrupt = write_wav(tmp_path / "abrupt.wav", audio[int((a + 0.05) * SAMPLE_RATE):int(b * SAMPLE_RATE)])
    for path in (noisy, abrupt):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            words = transcribe(path).spoken()
        dropped = [str(w.message) for w in caught if "no sound" in str(w.message)]
        if path == noisy:  # its quiet words are kept; whisper's faint guess at the last one ("you." for "them") may go
            assert "might be" in normalize(" ".join(w.text for w in words))
        else:
            assert not dropped
    assert normalize(words[-1].text) == "them"
    loud = np.ones(300, bool)
    loud[200:] = False  # sound for 2 s, then none
    placed = [Word("them.", 2.05, 2.2, "word", 0.98), Word("Thank", 2.3, 2.6, "word", 0.02)]  # both in silence
    with pytest.warns(UserWarning, match="dropped 'Thank'"):
        assert [w.text for w in _drop_silent(placed, loud, heard=HEARD_WORD)] == ["them."]
    placed = [Word("So", 2.3, 2.5), Word("the", 2.5, 2.6), Word("to", 1.0, 1.2), Word("But", 2.8, 2.9)]
    with pytest.warns(UserWarning) as caught:  # each stretch on its own, not 'So the But' (2.30-2.90 s)
        assert [w.text for w in _drop_silent(placed, loud)] == ["to"]
    assert str(caught[0].message) == ("dropped 'So the' (2.30-2.60 s), 'But' (2.80-2.90 s): recognized where there "
                                      "is no sound")


def test_speech_that_ends_abruptly_keeps_its_last_word_aligned(tmp_path):
    """Three sentences back to back end mid-breath: tiny.en often adds "We'll see you next time."
    there (not on every run: its multithreaded int8 decoding varies); dropping it keeps the last
    real word aligned."""
    audio = np.concatenate([load_audio(LIBRIVOX.format(n)) for n in ("0870", "0880", "0890")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = transcribe(write_wav(tmp_path / "abrupt.wav", audio)).words
    assert all("invented" in str(w.message) for w in caught), [str(w.message) for w in caught]
    words = [w for w in items if w.kind == "word"]
    assert normalize(" ".join(w.text for w in words[-3:])) == "to be ill disposed"
    assert all(w.confidence > 0 and w.end > w.start for w in words)
    assert words[-1].end > 14.9


def test_chunks_split_at_a_pause_not_at_a_stop_consonant_inside_speech():
    """A stop's closure is as quiet as a pause for a frame or two; the pause is longer."""
    from padl_lib.video.align import best_split

    energy = np.full(300, -20.0, np.float32)  # 3 s of speech at -20 dB
    energy[95:105] = -50.0  # a 100 ms pause at 1.0 s
    energy[200:202] = -55.0  # a 20 ms closure at 2.0 s, quieter still
    tokens = [Token("one", 0.2, 0.95), Token("two", 1.05, 1.95), Token("three", 2.05, 2.8)]
    j, cut = best_split(tokens, [1, 2], energy)
    assert j == 1 and 0.95 <= cut <= 1.05


def test_chunks_are_not_split_between_a_written_false_start_and_its_word():
    from padl_lib.video.align import best_split

    energy = np.full(300, -20.0, np.float32)
    energy[95:115] = -60.0  # the speaker's pause after "th-"
    energy[200:210] = -50.0  # a shorter, louder pause
    tokens = [Token("th-", 0.8, 0.95), Token("the", 1.15, 1.95), Token("point", 2.1, 2.8)]
    assert best_split(tokens, [1, 2], energy)[0] == 2
    assert best_split(tokens, [1], energy)[0] == 1  # no other choice


def _asr_segment(*words: tuple):
    """A segment of (text, start, end) words, whisper 90 % sure of each unless a fourth item says."""
    from padl_lib.video.asr import AsrSegment, AsrWord

    return AsrSegment(words[0][1], words[-1][2], " ".join(w[0] for w in words),
                      tuple(AsrWord(*w[:3], w[3] if len(w) > 3 else 0.9) for w in words))


def test_speech_whisper_skipped_is_recognized_again():
    """Whisper wrote "he" for 2.2 s of speech, and nothing for a voiced second between two
    words: both stretches are recognized again with context around them, and the words found
    between the neighbours both passes agree on are spliced in."""
    from padl_lib.video.asr import RECOVERY_CONTEXT, recover_skipped

    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(12 * SAMPLE_RATE) * 1e-3).astype(np.float32)  # room tone
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    audio[6 * SAMPLE_RATE:7 * SAMPLE_RATE] += 0.1 * np.sign(np.sin(2 * np.pi * 150 * t))  # a voiced second
    segments = [_asr_segment(("so", 0.2, 0.8), ("he", 1.2, 3.4), ("went", 3.5, 4.0)), _asr_segment(("home", 4.6, 5.2)),
                _asr_segment(("33-4-692.", 8.0, 11.0))]  # a long token of six spoken words is no stretch
    calls = []

    def again(start, end):
        calls.append((start, end))
        if start < 1:  # "went" timed earlier in the second pass
            return [_asr_segment(("so", 0.2, 0.8), ("he", 1.2, 1.6), ("said", 1.7, 2.3), ("so,", 2.4, 3.0)),
                    _asr_segment(("went", 3.1, 3.6), ("home", 4.6, 5.2))]
        return [_asr_segment(("home", 4.6, 5.2), ("[Music]", 5.3, 5.9), ("really", 6.0, 6.5), ("now", 6.5, 7.0)),
                _asr_segment(("33-4-692.", 8.0, 11.0))]

    with pytest.warns(UserWarning, match="skipped"):
        fixed = recover_skipped(segments, audio, again)
    assert [s.text for s in fixed] == ["so he said so, went", "home", "really now 33-4-692."]
    assert calls == [(0.0, 3.4 + RECOVERY_CONTEXT), (5.2 - RECOVERY_CONTEXT, 11.0)]
    quiet = audio.copy()
    quiet[6 * SAMPLE_RATE:7 * SAMPLE_RATE] = audio[:SAMPLE_RATE]
    unchanged = recover_skipped(segments, quiet, lambda a, b: [_asr_segment(("he", 1.2, 1.6))])
    assert unchanged == segments


def test_a_word_whisper_misplaced_at_the_edge_of_skipped_speech_is_replaced_too():
    """Whisper wrote "billions. The Compute the loss" for "billions. The idea does not change. We
    compute the loss", its "The" at the end of the gap it left (a synthetic lecture, flite's kal16):
    the second pass agrees on "The" there, so the next agreed word closes the words spliced in."""
    from padl_lib.video.asr import recover_skipped

    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(10 * SAMPLE_RATE) * 1e-3).astype(np.float32)
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    audio[3 * SAMPLE_RATE:5 * SAMPLE_RATE] += 0.1 * np.sign(np.sin(2 * np.pi * 150 * t))  # the skipped speech
    segments = [_asr_segment(("has", 2.0, 2.3), ("billions.", 2.3, 2.7)),
                _asr_segment(("The", 4.9, 5.4), ("Compute", 5.4, 5.8), ("the", 5.8, 6.0), ("loss,", 6.0, 6.4))]
    heard_again = [_asr_segment(("has", 2.0, 2.3), ("billions.", 2.3, 2.7), ("The", 3.0, 3.1), ("idea", 3.1, 3.5),
                                ("does", 3.5, 3.8), ("not", 3.8, 4.1), ("change.", 4.1, 4.6)),
                   _asr_segment(("We", 5.0, 5.2), ("compute", 5.4, 5.8), ("the", 5.8, 6.0), ("loss,", 6.0, 6.4))]
    with pytest.warns(UserWarning, match="skipped"):
        fixed = recover_skipped(segments, audio, lambda start, end: heard_again)
    assert " ".join(s.text for s in fixed) == "has billions. The idea does not change. We Compute the loss,"


def test_a_word_whisper_misplaced_at_the_end_of_a_recording_it_skipped_is_replaced_too():
    """Whisper stretched "have" over the recording's last seven seconds and put "been" at its
    very end (an MP3 of the LibriVox lecture); the second pass agrees on "been" right after
    "have", and no agreed word follows: the words heard to the clip's end are spliced in. Where
    the second pass hears no more, a warning names the stretch."""
    from padl_lib.video.asr import recover_skipped

    rng = np.random.default_rng(0)
    audio = (rng.standard_normal(10 * SAMPLE_RATE) * 1e-3).astype(np.float32)
    t = np.arange(6 * SAMPLE_RATE) / SAMPLE_RATE
    audio[3 * SAMPLE_RATE:9 * SAMPLE_RATE] += 0.1 * np.sign(np.sin(2 * np.pi * 150 * t))  # the skipped speech
    segments = [_asr_segment(("he", 2.0, 2.2), ("might", 2.2, 2.5), ("have", 2.5, 9.9), ("been", 9.9, 9.9))]
    heard_again = [_asr_segment(("he", 2.0, 2.2), ("might", 2.2, 2.5), ("have", 2.5, 2.7), ("been", 2.7, 2.9),
                                ("made", 3.0, 3.3), ("still", 3.3, 3.6), ("more", 3.6, 3.9), ("amiable.", 4.0, 4.6)),
                   _asr_segment(("He", 5.0, 5.2), ("was.", 5.2, 5.6))]
    with pytest.warns(UserWarning, match="skipped"):
        fixed = recover_skipped(segments, audio, lambda start, end: heard_again)
    assert " ".join(s.text for s in fixed) == "he might have been made still more amiable. He was."
    with pytest.warns(UserWarning, match="wrote only 'have' for the speech in 2.50-9.90 s, and heard no more"):
        unchanged = recover_skipped(segments, audio, lambda start, end: segments)
    assert unchanged == segments


def test_the_words_at_a_seam_of_whispers_windows_are_recognized_again():
    """A 30 s window ended inside "usually": whisper wrote "usually" and then "Finally" for its end
    (16 % sure of it). Heard again with the seam inside one window, the words between agreed
    neighbours are replaced; where the second pass agrees, or is less sure, nothing changes."""
    from padl_lib.video.asr import RECOVERY_CONTEXT, ROUGH_SECONDS, mend_seams

    segments = [_asr_segment(("it", 29.6, 29.74), ("usually", 29.74, 29.98)),
                _asr_segment(("Finally", 29.98, 30.26, 0.16), ("finds", 30.26, 30.62), ("edges", 30.62, 30.94))]
    calls = []

    def again(start, end):
        calls.append((start, end))
        return [_asr_segment(("it", 29.6, 29.74), ("usually", 29.74, 30.1), ("finds", 30.26, 30.62),
                             ("edges", 30.62, 30.94))]

    unsure = [_asr_segment(("it", 29.6, 29.74), ("you", 29.74, 29.9, 0.3), ("sully", 29.9, 30.2, 0.2),
                           ("finds", 30.26, 30.62), ("edges", 30.62, 30.94))]
    assert mend_seams(segments, 40.0, lambda start, end: unsure, [29.98]) == segments

    with pytest.warns(UserWarning, match="'it usually Finally'; recognized again: 'it usually'"):
        fixed = mend_seams(segments, 40.0, again, [29.98])
    assert [s.text for s in fixed] == ["it usually", "finds edges"]
    reach = ROUGH_SECONDS + RECOVERY_CONTEXT
    assert calls == [pytest.approx((29.98 - reach, 29.98 + reach))]
    assert mend_seams(fixed, 40.0, again, [29.98]) == fixed


def test_a_segment_running_to_the_end_of_its_window_marks_a_seam():
    """faster-whisper's segments carry their 30 s window's start (`seek`, in 10 ms frames, on the
    speech joined without its long silences): a segment ending at its window's end, followed by
    another window, is a seam (not where the window reached the end of the speech, and whisper
    then wrote something after it); its times are put back on the recording's."""
    from types import SimpleNamespace

    from padl_lib.video.asr import _on_recording

    def seg(seek, start, end):
        return SimpleNamespace(seek=seek, start=start, end=end, words=[SimpleNamespace(start=start, end=end)])

    features = SimpleNamespace(time_per_frame=0.01, nb_max_frames=3000)
    chunks = [{"start": 2 * SAMPLE_RATE, "end": 70 * SAMPLE_RATE}]  # 2 s of silence removed before the speech
    segments = [seg(0, 0.0, 12.0), seg(0, 12.5, 29.98), seg(2998, 29.98, 41.0), seg(4100, 41.0, 68.0),
                seg(6800, 68.0, 68.04)]
    marked = [(s.start, cut) for s, cut in _on_recording(segments, chunks, features, 68.0)]
    assert marked == [(2.0, False), (14.5, True), (31.98, False), (43.0, False), (70.0, False)]


def test_a_silence_over_voiced_sound_beside_a_squeezed_word_is_aligned_again(tmp_path):
    # espeak-ng's "Today, in lecture 7,": pocketsphinx's silence model once covered "in lecture"
    # (0.6 s of voiced sound) and squeezed both words into the end of "Today", 440-520 ms early
    text = "Welcome back. Last week we covered convolutional networks. Today, in lecture 7, we look at them."
    speech = synthesize(text, "en-us", 150)
    words = transcribe(speech.write(tmp_path / "lecture.wav"), script=text, fillers=False).words
    errors = dict(zip(text.split()[1:], onset_errors(speech, words)))
    assert abs(errors["in"]) < 60 and abs(errors["lecture"]) < 60 and abs(errors["7,"]) < 60


def test_doubtful_stretches_need_voiced_sound_under_the_silence_and_a_squeezed_neighbour():
    speech = np.zeros(300, bool)
    speech[120:160] = True  # 0.4 s of voiced sound inside the silence 1.0-1.8 s
    silences = [(0.0, 0.2), (1.0, 1.8), (2.5, 2.6)]
    assert _doubtful_stretches(silences, [(0.8, 1.0)], speech, 0.0, 3.0) == [(0.2, 2.5)]
    assert _doubtful_stretches(silences, [(0.3, 0.5)], speech, 0.0, 3.0) == []  # nothing squeezed beside it
    assert _doubtful_stretches(silences, [(1.8, 1.9)], np.zeros(300, bool), 0.0, 3.0) == []  # a real pause


def test_speech_in_another_language_is_flagged_as_doubtful(tmp_path):
    """The bundled model knows English only: it writes Italian speech as English words (or drops
    them all as invented); either way whisper doubts what it wrote."""
    italian = load_audio(synthesize(ITALIAN, "it").write(tmp_path / "it.wav"))
    with pytest.warns(UserWarning, match="unsure of this transcript .* another language than English"):
        recognize(italian)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # English raises no doubt
        segments, _ = recognize(load_audio(LIBRIVOX.format("0930")))
    assert mean_logprob(segments) > -0.3


def test_speech_on_a_later_audio_track_is_found_kept_and_rendered(tmp_path):
    """Recorders may write several audio tracks (the speech on the second): padl transcribes the
    first that holds speech, says so, and its renders keep that track's sound."""
    media = tmp_path / "two-tracks.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-i",
                    LIBRIVOX.format("0930"), "-t", "3", "-map", "0:a", "-map", "1:a", "-c:a", "flac", str(media)],
                   check=True)
    with pytest.warns(UserWarning, match="no speech in the first audio track of two-tracks.mkv; transcribed track 2"):
        transcript = transcribe(media)
    assert transcript.spoken() and transcript.audio_track == 1
    assert Transcript.load(transcript.save(tmp_path / "t.json")).audio_track == 1
    assert not transcribe(media, audio_track=0).spoken()  # asked for: the silent first track
    kept = render(media, [(0.0, 2.5)], tmp_path / "out.wav", audio_track=transcript.audio_track)
    assert np.abs(load_audio(kept.path)).max() > 0.1  # the speech, not the silent first track
    with pytest.raises(MediaError, match="has no audio track 3: it has 2"):
        load_audio(media, track=2)


def test_each_piece_is_heard_with_what_follows_it(monkeypatch):
    """A piece that ends abruptly drew inventions from whisper ("See you soon!" where the piece
    was cut): whisper hears PIECE_CONTEXT s more of the recording, and the words it finds there
    are left to the next piece, so none is written twice."""
    given = []

    class Whisper:  # writes a word in the middle of every second it is given
        model = types.SimpleNamespace(is_multilingual=False)
        feature_extractor = types.SimpleNamespace(time_per_frame=0.01, nb_max_frames=3000)

        def transcribe(self, audio, **options):
            seconds = len(audio) / SAMPLE_RATE
            given.append(seconds)
            words = [types.SimpleNamespace(word=f" w{k}", start=k + 0.3, end=k + 0.7, probability=0.9)
                     for k in range(int(seconds))]
            segment = types.SimpleNamespace(seek=0, start=0.0, end=seconds, text="", words=words, avg_logprob=-0.2,
                                            no_speech_prob=0.01)
            return iter([segment]), types.SimpleNamespace(language="en")

    monkeypatch.setattr(asr, "load_model", lambda *args, **kwargs: Whisper())
    monkeypatch.setattr(asr, "speech_chunks", lambda audio: [{"start": 0, "end": len(audio)}])
    monkeypatch.setattr(asr, "PIECE_SECONDS", 20.0)
    audio = np.zeros(60 * SAMPLE_RATE, np.float32)
    cuts = pieces(audio, 20.0)
    segments, _ = recognize(audio)
    assert given == pytest.approx([b - a + asr.PIECE_CONTEXT for a, b in cuts[:-1]] + [cuts[-1][1] - cuts[-1][0]],
                                  abs=1e-3)
    middles = [(w.start + w.end) / 2 for seg in segments for w in seg.words]
    expected = [a + k + 0.5 for (a, b), seconds in zip(cuts, given) for k in range(int(seconds)) if a + k + 0.5 < b]
    assert middles == pytest.approx(expected)  # each piece's own words, in order, none twice


def test_speech_whisper_answered_with_its_prompt_is_recognized_again_without_it(monkeypatch):
    """Whisper tiny sometimes answers hard speech (espeak-ng reading code) by echoing its filler
    prompt in a loop ("Okay, here's what I'm, I'm, I'm..."), which is dropped as invented; the
    stretch is recognized again without the prompt, so its speech is not lost (nor left to be
    taken for fillers)."""
    def segment(texts: list[str], start: float, end: float, sure: bool):
        step = (end - start) / len(texts)
        words = [types.SimpleNamespace(word=f" {t}", start=start + k * step, end=start + (k + 0.8) * step,
                                       probability=0.9 if sure else 0.1) for k, t in enumerate(texts)]
        return types.SimpleNamespace(seek=0, start=start, end=end, text=" ".join(texts), words=words,
                                     avg_logprob=-0.2 if sure else -0.8, no_speech_prob=0.01 if sure else 0.7)

    class Whisper:  # with the prompt: one word, then the prompt echoed, unsure; without it: every word
        model = types.SimpleNamespace(is_multilingual=False)
        feature_extractor = types.SimpleNamespace(time_per_frame=0.01, nb_max_frames=3000)

        def transcribe(self, audio, initial_prompt=None, **options):
            seconds = len(audio) / SAMPLE_RATE
            if initial_prompt:
                segments = [segment(["so"], 0.0, 0.6, True), segment(initial_prompt.split()[-4:] * 3, 0.6, seconds,
                                                                     False)]
            else:
                segments = [segment(["so"] + [f"w{k}" for k in range(int(3 * seconds))], 0.0, seconds, True)]
            return iter(segments), types.SimpleNamespace(language="en")

    monkeypatch.setattr(asr, "load_model", lambda *args, **kwargs: Whisper())
    with pytest.warns(UserWarning, match="recognized it again"):
        segments, _ = recognize(load_audio(LIBRIVOX.format("0880")))
    heard = [w.text for seg in segments for w in seg.words]
    assert len(heard) > 2 and all(t == "so" or t.startswith("w") for t in heard)


def test_a_long_recording_is_recognized_in_pieces_cut_in_pauses(monkeypatch):
    """Whisper's features for a whole hour took 4 GB at once; pieces keep memory flat. Here the
    30 s lecture is cut into 8 s pieces: the words come out as from the whole recording."""
    media = sample("librivox").path
    audio = load_audio(media)
    cuts = pieces(audio, 8.0)
    assert len(cuts) == round(len(audio) / SAMPLE_RATE / 8.0) and cuts[0][0] == 0.0
    assert all(a < b for a, b in cuts) and cuts[-1][1] == len(audio) / SAMPLE_RATE
    energy = acoustics.frame_energy_db(audio)
    sound = acoustics.speech_threshold_db(energy)
    assert all(energy[int(b * 100)] < sound[int(b * 100)] for _, b in cuts[:-1])  # in pauses
    whole = transcribe(media)
    monkeypatch.setattr(asr, "PIECE_SECONDS", 8.0)
    pieced = transcribe(media)
    text = lambda t: normalize(" ".join(w.text for w in t.spoken()))  # noqa: E731
    assert word_error_rate([text(whole)], [text(pieced)]) <= 0.03  # 2 of 70: whisper flips a word with context
    assert [round(w.start, 1) for w in pieced.spoken()][-3:] == [round(w.start, 1) for w in whole.spoken()][-3:]


def test_digital_silence_is_read_at_the_room_tone_beside_it(tmp_path):
    """A recorder's lead-in of exact zeros is no noise floor: taken for one, the room tone after
    it counted as sound and the first word began where the zeros end, 0.25 s early."""
    speech = load_audio(LIBRIVOX.format("0880"))
    energy = acoustics.frame_energy_db(speech)
    muted = energy.copy()
    muted[50:150] = -100.0  # a muted microphone in the middle
    filled = acoustics.fill_digital_silence(muted)
    assert np.all(filled[50:150] == np.percentile(np.r_[energy[40:50], energy[150:160]], 25))
    assert np.array_equal(acoustics.fill_digital_silence(np.full(50, -100.0)), np.full(50, -100.0))

    plain = transcribe(write_wav(tmp_path / "plain.wav", speech)).spoken()
    lead_in = np.concatenate([np.zeros(2 * SAMPLE_RATE, np.float32), speech])
    padded = transcribe(write_wav(tmp_path / "lead-in.wav", lead_in)).spoken()
    assert [w.text for w in padded] == [w.text for w in plain]
    assert abs(padded[0].start - 2.0 - plain[0].start) <= 0.03


def test_band_energies_add_up_to_the_frame_energy():
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(SAMPLE_RATE) * 0.1).astype(np.float32)
    full = acoustics.band_energy_db(noise, ((0, SAMPLE_RATE / 2 + 1),))[:, 0]
    assert np.allclose(full[2:-2], acoustics.frame_energy_db(noise)[2:-2], atol=1.5)  # Hann vs flat windows
    tone = np.sin(2 * np.pi * 1000 * np.arange(SAMPLE_RATE) / SAMPLE_RATE).astype(np.float32)
    bands = acoustics.band_energy_db(tone).mean(axis=0)
    assert bands.argmax() == 1 and bands[1] - np.delete(bands, 1).max() > 30  # 1 kHz lies in 500-1500 Hz


def test_speech_over_a_steady_chord_keeps_its_word_edges(tmp_path):
    """Music at the speech's level fills the low band; the words still rise over it in the
    others, so their ends are not trimmed (before: up to 0.5 s early, "selfish" lost 0.5 s)."""
    speech = LIBRIVOX.format("0890")
    audio = load_audio(speech)
    t = np.arange(len(audio)) / SAMPLE_RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6))
    level = np.sqrt(np.mean(audio[np.abs(audio) > 0.01] ** 2)) / 2 / np.sqrt(np.mean(chord ** 2))
    music = write_wav(tmp_path / "music.wav", (audio + level * chord).astype(np.float32))
    script = "unless to be rather cold-hearted and rather selfish is to be ill-disposed"
    clean, over = (transcribe(path, script=script).spoken() for path in (speech, music))
    assert [w.text for w in over] == [w.text for w in clean]
    assert max(max(abs(a.start - b.start), abs(a.end - b.end)) for a, b in zip(clean, over)) <= 0.1


def test_a_click_in_one_band_does_not_start_a_word():
    """The quick benchmark's timing signal: the room tone before one utterance repeats a 100 ms
    tile whose one click rises 2 dB over the 4-8 kHz band's threshold for a single 10 ms frame;
    the band rule took the clicks for sound and started the word 0.29 s early."""
    path, spans, _ = timing_reference(0, sets=1)
    words = transcribe(path).words
    errors = boundary_errors(words, spans, len(load_audio(path)) / SAMPLE_RATE)["errors_ms"]
    assert max(errors) <= 50, errors


def test_a_transcript_does_not_depend_on_what_was_recognized_before(tmp_path):
    """espeak-ng's Caribbean voice: whisper is unsure of a stretch and decodes it again by
    sampling, whose random state each recognition in the process moved on."""
    voice, speed, text = VOICE_PASSAGES[5]
    speech = load_audio(synthesize(text, voice, speed).write(tmp_path / "voice.wav"))
    first = [segment.text for segment in recognize(speech)[0]]
    recognize(speech)
    assert [segment.text for segment in recognize(speech)[0]] == first


@pytest.mark.parametrize("disfluency", ["false start", "repeated word"])
def test_a_disfluency_whisper_leaves_out_becomes_an_item_an_edit_can_cut(sentence, disfluency, tmp_path):
    """Real speech with a spliced-in false start ("bee- been", then a short pause) or a repeated
    word ("He he"): whisper writes the fluent sentence, the aligner finds the extra speech as an
    item of its own, and typing the fluent sentence cuts it (the edit keeps as much sound as the
    same edit of the fluent recording, or less where it cuts the first "He" and the silence
    before it)."""
    from padl_lib.video.disfluency_bench import _kept_seconds

    audio = load_audio(LIBRIVOX.format("0930"))
    words = {w.text.strip("."): w for w in sentence.spoken()}
    if disfluency == "false start":
        been = words["been"]
        at = been.start
        inserted = np.concatenate([audio[int(at * SAMPLE_RATE):int((at + 0.45 * (been.end - at)) * SAMPLE_RATE)],
                                   _room_tone(audio, 0.1, np.random.default_rng(0))])
    else:
        at = words["might"].start
        inserted = audio[int(words["He"].start * SAMPLE_RATE):int(at * SAMPLE_RATE)]
    cut = int(at * SAMPLE_RATE)
    disfluent = np.concatenate([audio[:cut], inserted, audio[cut:]])
    t = transcribe(write_wav(tmp_path / "disfluent.wav", disfluent))
    fluent = "He might even have been made amiable himself."
    said = [w.text for w in t.spoken()]
    extra = next(k for k, (a, b) in enumerate(zip(said, fluent.split())) if a != b)
    assert said[:extra] + said[extra + 1:] == fluent.split()
    assert said[extra] == ("bee-" if disfluency == "false start" else "he")
    assert at - 0.05 <= t.spoken()[extra].start and t.spoken()[extra].end <= at + len(inserted) / SAMPLE_RATE + 0.05
    assert _kept_seconds(t, fluent, disfluent) <= _kept_seconds(sentence, fluent, audio) + 0.06


def test_a_false_start_whisper_writes_joined_to_its_word_can_be_cut(tmp_path):
    """A false start of "selfish" (its first 40 %, then 0.1 s of room tone) spliced into real
    speech: whisper writes "self-selfish," as one word, which is now two items, so typing the
    fluent sentence cuts the false start."""
    from padl_lib.video.disfluency_bench import _kept_seconds

    path = LIBRIVOX.format("0890")
    audio, fluent = load_audio(path), transcribe(path)
    selfish = next(w for w in fluent.words if w.text.startswith("selfish"))
    at = int(selfish.start * SAMPLE_RATE)
    inserted = np.concatenate([audio[at:at + int(0.4 * selfish.duration * SAMPLE_RATE)],
                               _room_tone(audio, 0.1, np.random.default_rng(0))])
    disfluent = np.concatenate([audio[:at], inserted, audio[at:]])
    t = transcribe(write_wav(tmp_path / "disfluent.wav", disfluent))
    said = [w.text for w in t.spoken()]
    assert said[said.index("self-") + 1].startswith("selfish")
    text = fluent.text()
    assert _kept_seconds(t, text, disfluent) <= _kept_seconds(fluent, text, audio) + 0.06


def test_a_stumble_counts_only_where_the_speaker_broke_off():
    from padl_lib.video.align import Stumble

    rng = np.random.default_rng(0)
    steady = (rng.standard_normal(2 * SAMPLE_RATE) * 0.1).astype(np.float32)  # sound without a break
    broken = steady.copy()
    broken[int(1.2 * SAMPLE_RATE):int(1.26 * SAMPLE_RATE)] *= 0.01  # 60 ms, 40 dB down: a cut-off
    false_start = Stumble(1, (("been~2", 1.0, 1.2),))  # the break after it
    said_again = Stumble(1, (("have~", 1.26, 1.5),))  # the break before it
    assert false_start.false_start and not said_again.false_start
    assert false_start.broke_off(broken) and said_again.broke_off(broken)
    assert not false_start.broke_off(steady) and not said_again.broke_off(steady)


def test_stumbles_are_grouped_by_path_and_placed_before_the_next_token():
    from padl_lib.video.align import Stumble, _stumbles

    said = [("have", 0.0, 0.3), ("been", 0.3, 0.5), ("have~", 0.55, 0.8), ("been~", 0.8, 1.0), ("made~2", 1.0, 1.1),
            ("made", 1.2, 1.5)]
    assert _stumbles(said, [4, 5, 6], [4, 5, 6]) == [Stumble(2, (("have~", 0.55, 0.8), ("been~", 0.8, 1.0))),
                                                   Stumble(2, (("made~2", 1.0, 1.1),))]


def test_no_disfluency_is_sought_beside_a_word_espeak_spells():
    from padl_lib.video.align import Aligner

    aligner = Aligner()
    aligner.ensure_words(["on", "seven", "gpus"])
    options = [[["on"]], [["seven"]], [["gpus"]], [["this"]]]
    assert aligner._disfluencies(options, 2) == [] and aligner._disfluencies(options, 3) == []
    paths = aligner._disfluencies(options, 1)  # "seven" is S EH V AH N: false starts of 2 to 4 phones
    assert [[name for name, _ in path] for path in paths] == [["seven~2"], ["seven~3"], ["seven~4"], ["on~"]]
    assert paths[1] == [("seven~3", ["S", "EH", "V"])] and aligner.disfluency_text("seven~3") == "sev-"


def test_the_stumble_benchmark_edits_out_the_words_the_reference_lacks():
    from padl_lib.video.disfluency_bench import _extra_words, _fluent_edit

    said = [Word("He", 0.0, 0.2), Word("he", 0.3, 0.4), Word("ill-dis-", 0.4, 0.5), Word("ill-disposed", 0.5, 1.0),
            Word("", 1.0, 1.5, "pause"), Word("man.", 1.5, 1.8)]
    t = Transcript(said, SCREENCAST, "0" * 64)
    reference = ["he", "ill", "disposed", "man"]
    assert _extra_words(t, reference) == [0, 2]  # a false start never stands for the reference's words
    assert _fluent_edit(t, reference) == "he ill-disposed [pause 0.5s] man."


def test_the_stumble_benchmark_clicks_both_buttons_and_names_the_words_they_cut_too_many():
    from padl_lib.video.disfluency_bench import _one_click_edit, _words_lost

    said = [Word("He", 0.0, 0.2), Word("he", 0.3, 0.4), Word("um", 0.4, 0.6, "filler"), Word("ill-dis-", 0.6, 0.7),
            Word("ill-disposed", 0.7, 1.2), Word("had", 1.3, 1.5), Word("had", 1.5, 1.7), Word("man.", 1.7, 2.0)]
    t = Transcript(said, SCREENCAST, "0" * 64)
    assert _one_click_edit(t) == "He ill-disposed had had man."
    assert _words_lost(t, "He ill-disposed had had man.", "He ill-disposed man.") == ["had", "had"]
    assert _words_lost(t, "He ill-disposed had had man.", _one_click_edit(t)) == []
    # words said twice: one edit may keep the first saying, the other the second; none is lost
    said = [Word("He", 0.0, 0.2), Word("was", 0.2, 0.4), Word("young", 0.4, 0.6), Word("man,", 0.6, 0.8),
            Word("young", 0.9, 1.1), Word("man.", 1.1, 1.3)]
    t = Transcript(said, SCREENCAST, "0" * 64)
    assert _words_lost(t, "He young man.", "He was young man.") == []
    assert _words_lost(t, "He young man.", "He man.") == ["young"]


def test_fluent_speech_is_aligned_as_by_a_grammar_without_stumbles():
    """The search that looks for stumbles changes the alignment of fluent words (its loops give
    them other left contexts), so the words are aligned again with only the stumbles found."""
    from padl_lib.video.align import Aligner, _readings

    audio = load_audio(LIBRIVOX.format("0920"))
    tokens = [Token(w) for w in ("Had he married a more amiable woman, he might have been made still more "
                                 "respectable than he was.").split()]
    aligner, end, spoken = Aligner(), len(audio) / SAMPLE_RATE, [(i, _readings(tokens, i)) for i in range(len(tokens))]
    items = aligner._align_once(audio, 0.0, end, tokens)
    plain = aligner._search(audio, 0.0, end, spoken, stumbles={})
    assert [w.text for w in items] == [t.text for t in tokens]
    assert [(w.start, w.end) for w in items] == [tuple(plain.spans[i]) for i in range(len(tokens))]
    assert aligner._search(audio, 0.0, end, spoken).spans != plain.spans  # what the second search is for
