"""The edit algebra: edited text -> aligned source items -> spans with cut points in quiet moments."""
import re
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from padl_lib.video.acoustics import frame_energy_db
from padl_lib.video.edit import (EditError, align, edit_list, phrases, remove_fillers, remove_repeats, rough_cuts,
                                 shorten_pauses, token_key, tokenize)
from padl_lib.video.transcript import Transcript, Word

SCRIPT = "he was not an um ill disposed young man PAUSE he might even have been made amiable himself"


def make_transcript(script: str = SCRIPT, word: float = 0.3, gap: float = 0.1, pause: float = 1.2) -> Transcript:
    """Words of `word` s separated by `gap` s; PAUSE is a pause item of `pause` s; um/uh are fillers."""
    words, t = [], 0.2
    for tok in script.split():
        if tok == "PAUSE":
            words.append(Word("", t, t + pause, "pause"))
            t += pause
            continue
        words.append(Word(tok, t, t + word, "filler" if tok in ("um", "uh") else "word"))
        t += word + gap
    return Transcript(words, Path("lecture.mp4"), checksum="0" * 64)


def speech_like(transcript: Transcript, rate: int = 16_000, seed: int = 0) -> np.ndarray:
    """Loud noise during every word, faint noise elsewhere (a stand-in with known word times)."""
    rng = np.random.default_rng(seed)
    end = transcript.words[-1].end + 0.5
    audio = rng.normal(0, 0.001, int(end * rate)).astype(np.float32)
    for w in transcript.spoken():
        i, j = int(w.start * rate), int(w.end * rate)
        audio[i:j] += rng.normal(0, 0.3, j - i).astype(np.float32)
    return audio


def indices(pieces):
    return [p.index for p in pieces]


def assert_words_play_inside_their_spans(transcript: Transcript, edits) -> None:
    """Every word a span claims lies whole inside that span (else it would not be played)."""
    for span in edits.spans:
        for i in span.items:
            word = transcript.words[i]
            if word.kind == "word":
                assert span.start <= word.start and word.end <= span.end, (word, span)


def test_tokens_ignore_case_and_punctuation_and_keep_pause_tokens():
    assert tokenize("Hello, world! [pause 1.2s] it's .") == ["Hello,", "world!", "[pause 1.2s]", "it's"]
    assert token_key("Hello,") == token_key("hello") == "hello"
    assert token_key("\u201cIt\u2019s\u201d") == "it's"
    assert token_key("ill\u2011disposed") == token_key("ill\u2010disposed") == token_key("ill-disposed")
    assert token_key("young\u200b") == token_key("\ufeffyoung") == "young"  # invisible characters, pasted


def test_unchanged_text_is_one_span_of_everything():
    t = make_transcript()
    edits = edit_list(t, t.text())
    assert len(edits.spans) == 1
    assert edits.spans[0].items == tuple(range(len(t.words)))


def test_deleted_words_become_cuts_and_are_not_kept():
    t = make_transcript()
    text = t.text().replace("not an um ill disposed ", "")
    edits = edit_list(t, text)
    assert len(edits.spans) == 2
    kept_text = {t.words[i].text for i in edits.kept_items()}
    assert not kept_text & {"not", "an", "um", "ill", "disposed"}


def test_copied_word_is_taken_from_where_it_was_said_nearest():
    # "he" occurs twice; copying "amiable" after "made" in the first sentence must pick the only one,
    # and "he was" must stay on the first sentence's run (fewest cuts).
    t = make_transcript()
    pieces = align(t.words, "he was amiable")
    assert indices(pieces) == [0, 1, 16]
    # a repeated word between its neighbours is found where it was said, not elsewhere
    t2 = make_transcript("the cat sat on the mat and the dog ate")
    assert indices(align(t2.words, "the dog sat")) == [7, 8, 2]
    assert indices(align(t2.words, "sat on the mat")) == [2, 3, 4, 5]


def test_among_as_many_cuts_the_cut_falls_where_the_speaker_paused():
    # deleting a sentence that begins with the next one's first word: leaving after the deleted
    # "we" and entering before "go" is one cut too, but inside connected speech on both sides
    t = make_transcript("first point. PAUSE we stop. PAUSE we go on.", gap=0.0, pause=0.5)
    assert indices(align(t.words, "first point. [pause 0.5s] we go on.")) == [0, 1, 2, 6, 7, 8]
    assert indices(align(t.words, "first point. we go on.")) == [0, 1, 6, 7, 8]
    # fewer cuts still come first: a rough cut is not split into two smooth ones
    assert indices(align(t.words, "first we on.")) == [0, 3, 8]


def test_a_lecture_that_repeats_itself_is_cut_with_the_fewest_cuts():
    """Every word said 40 times (2,000 items): a deletion and a moved sentence still map to the
    fewest contiguous runs, each from the occurrence nearest its neighbours."""
    t = make_transcript(" PAUSE ".join([SCRIPT] * 40))
    tokens = tokenize(t.text())
    n = len(tokens) // 40  # tokens per repetition
    moved = tokens[5 * n:5 * n + 8]
    edited = tokens[:3 * n + 4] + tokens[3 * n + 9:5 * n] + tokens[5 * n + 8:6 * n] + moved + tokens[6 * n:]
    runs = np.flatnonzero(np.diff(indices(align(t.words, " ".join(edited)))) != 1)
    assert len(runs) == 4  # the deletion, and three around the moved piece
    assert indices(align(t.words, " ".join(tokens))) == list(range(len(t.words)))


def test_reordered_sentences_keep_contiguous_runs():
    t = make_transcript()
    first, second = t.text().split(" [pause 1.2s] ")
    pieces = align(t.words, second + " " + first)
    runs = sum(1 for a, b in zip(pieces, pieces[1:]) if b.index != a.index + 1) + 1
    assert runs == 2
    assert indices(pieces)[0] == 10  # the second "he"


def test_typed_pause_tokens_and_quoted_words_are_read_as_meant():
    assert tokenize("man.[pause 1.4s] [PAUSE  .5S] [pause\n1.4s]") == ["man.", "[pause 1.4s]", "[PAUSE  .5S]",
                                                                      "[pause\n1.4s]"]
    assert [token_key(t) for t in ["ok.'", "man.\u2019", "\u2018It\u2019s", "don't", "--"]] == \
        ["ok", "man", "it's", "don't", "--"]
    # a decomposed accent (as some editors save it), a ligature copied from a PDF, full-width letters
    assert [token_key(t) for t in ["cafe\u0301", "\ufb01ne", "\uff28i"]] == ["caf\u00e9", "fine", "hi"]
    t = make_transcript()
    for garbled in ["[pause 1.2x]", "[pause]"]:  # an unknown unit, no seconds
        with pytest.raises(EditError, match=re.escape(f"{garbled!r} (token 3) is not a pause token")):
            edit_list(t, f"he was {garbled} not")
    with pytest.raises(EditError, match=re.escape("'[pause' (token 3) is not a pause token")):  # its "]" lost
        edit_list(t, "he was [pause 1.2s not an ill [pause 0.5s] young man")  # was quoted up to the next "]"


def test_one_click_edits_keep_the_users_lines():
    text = "So um [pause 1.3s] today\nwe look um at networks. [pause 2.0s]\n\nUh next part.\n"
    assert remove_fillers(text) == "So [pause 1.3s] today\nwe look at networks. [pause 2.0s]\n\nnext part.\n"
    assert shorten_pauses(text, 0) == "So um today\nwe look um at networks.\n\nUh next part.\n"


def test_filler_removal_drops_false_starts_and_the_words_said_again_to_restart():
    text = "He might bee- been [pause 0.4s] made. Had he marr- he married a more,\nto be ill-dis- ill-disposed"
    assert remove_fillers(text) == "He might been [pause 0.4s] made. Had he married a more,\nto be ill-disposed"
    assert remove_fillers("th- [pause 0.5s] the might\u2011 might have bee-, have been") == \
        "[pause 0.5s] the might have been"
    kept = "first- and second-year students, well- and ill-disposed men, a T- shirt, so - so"
    assert remove_fillers(kept) == kept  # hyphens the next word does not continue


def test_repeat_removal_keeps_the_last_saying_with_the_users_lines():
    text = "So, um, so we start. The the the lecture\nis about to be [pause 0.4s] to be honest"
    assert remove_repeats(text) == "So we start. The lecture\nis about to be honest"
    assert remove_repeats("I think, I think we... we know") == "I think we know"
    assert remove_repeats("[pause 0.5s] a a [pause 0.2s] b") == "[pause 0.5s] a [pause 0.2s] b"
    kept = "He had had enough. What it is is fine. I know. I know. He said that. That was all. Set to 0.0 or 0.0 or 0.1"
    assert remove_repeats(kept) == kept  # doubled words of grammar, repeats across a sentence's end, numbers


def test_shortened_pauses_keep_what_was_asked():
    text = "he [pause 1.2s] was"
    assert [shorten_pauses(text, s) for s in (0.04, 0.25, 0.3, 1)] == \
        ["he [pause 0.04s] was", "he [pause 0.25s] was", "he [pause 0.3s] was", "he [pause 1s] was"]
    with pytest.raises(ValueError, match="must be >= 0"):
        shorten_pauses(text, float("nan"))


def test_one_click_filler_removal_and_pause_shortening():
    t = make_transcript()
    assert "um" not in tokenize(remove_fillers(t.text()))
    short = shorten_pauses(t.text(), 0.3)
    assert "[pause 0.3s]" in short and "[pause 1.2s]" not in short
    edits = edit_list(t, short)
    full = edit_list(t, t.text())
    assert full.duration - edits.duration == pytest.approx(0.9, abs=0.02)
    assert edit_list(t, shorten_pauses(t.text(), 0)).duration < edits.duration


def test_a_lengthened_pause_is_kept_whole_with_a_warning():
    t = make_transcript()
    with pytest.warns(UserWarning, match="shortened, not lengthened"):
        longer = edit_list(t, t.text().replace("[pause 1.2s]", "[pause 3.0s]"))
    assert longer.duration == pytest.approx(edit_list(t, t.text()).duration)



def test_a_sentence_moved_with_its_pause_keeps_that_pause():
    """Moving "we go on." with the long pause before it: as many cuts either way, but only the
    recorded 2.0 s pause plays as long as typed (before, the 0.3 s one after "this goes" was
    taken, with a warning that the text asks for more)."""
    t = make_transcript("we start PAUSE this goes PAUSE we go on PAUSE and stop", pause=0.3)
    t = Transcript([replace(w, end=w.start + 2.0) if i == 5 else w for i, w in enumerate(t.words)], t.media,
                   t.checksum)  # the pause before "we go on" lasts 2.0 s (items after it keep their times)
    sentences = re.split(r" (?=\[pause)", t.text())
    assert sentences[2].startswith("[pause 2.0s] we go on")
    moved = " ".join([sentences[0], sentences[2], sentences[1], sentences[3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pieces = align(t.words, moved)
    assert indices(pieces)[2:6] == [5, 6, 7, 8]
def test_the_unedited_text_keeps_the_whole_recording_and_only_cuts_move_its_edges():
    """The head before the first item and the tail after the last are theirs (they lost the
    recording's lead-in and 40 ms of its last pause); the other spans' edges are cuts."""
    t = make_transcript()
    audio = speech_like(t)
    duration = len(audio) / 16_000
    full = edit_list(t, t.text(), audio=audio)
    assert [(s.start, s.end) for s in full.spans] == [(0.0, duration)]
    cut = edit_list(t, " ".join(t.text().split()[1:-1]), audio=audio)  # first and last items deleted
    assert cut.spans[0].start > t.words[0].end - 0.05 and cut.spans[-1].end < duration


def test_a_transcript_of_another_recording_with_words_after_its_end_is_a_clear_error():
    t = make_transcript()
    with pytest.raises(EditError, match="words past the recording's end .* transcript of this recording"):
        edit_list(t, "he was", audio=speech_like(t)[:16_000 * 2])
    stretched = Transcript([*t.words[:-1], replace(t.words[-1], end=40.0)], t.media, t.checksum)
    with pytest.raises(EditError, match="'himself' at 7.80-40.00 s of 8.60 s"):  # would render to 40 s
        edit_list(stretched, "himself", audio=speech_like(t))


def test_a_moved_or_shortened_pause_plays_as_long_as_typed():
    """A pause moved between two cuts plays from its middle, in one piece; a shortened pause
    next to a cut keeps the side that touches the kept word, with no second cut in the same
    silence; a pause shorter than the margins is cut like a deleted one."""
    t = make_transcript()  # the pause: 3.8-5.0 s
    audio = speech_like(t)
    moved = edit_list(t, "he was not [pause 0.3s] young man", audio=audio)
    pause_spans = [s for s in moved.spans if s.items == (9,)]
    assert [(s.start, s.end) for s in pause_spans] == [pytest.approx((4.25, 4.55))]
    two = make_transcript("we start PAUSE this goes PAUSE we go on", pause=1.0)  # pauses 1.0-2.0, 2.8-3.8 s
    cut = edit_list(two, "we start [pause 0.3s] we go on", audio=speech_like(two))
    assert len(cut.spans) == 2 and cut.spans[0].items == (0, 1, 2)
    assert cut.spans[0].end == pytest.approx(1.3) and cut.spans[1].items[0] == 6
    shortened = edit_list(two, shorten_pauses(two.text(), 0.3), audio=speech_like(two))
    assert len(shortened.spans) == 3  # a cut inside each pause, between the words around it
    # a pause kept whole after deleted speech, then words and a shortened pause: no word is lost
    kept = edit_list(two, "[pause 1.0s] this goes [pause 0.3s] we go on", audio=speech_like(two))
    mirrored = edit_list(two, "we [pause 0.3s] this goes [pause 1.0s] on", audio=speech_like(two))
    assert_words_play_inside_their_spans(two, kept)
    assert_words_play_inside_their_spans(two, mirrored)
    assert kept.duration == pytest.approx(1.0 - 0.04 + 0.8 + 0.3 + 1.1 + 0.5, abs=0.02)  # ... + the tail
    tiny = edit_list(t, "young man [pause 0.01s] he might", audio=audio)
    deleted = edit_list(t, "young man he might", audio=audio)
    assert [(s.start, s.end) for s in tiny.spans] == [(s.start, s.end) for s in deleted.spans]


def test_every_kept_word_lies_inside_its_span_whatever_is_cut_and_shortened():
    """Random edits of a lecture with long and short pauses: pauses shortened by one click, then
    sentences deleted. Every word a span claims is played whole by that span."""
    rng = np.random.default_rng(0)
    sentences = [" ".join(["word"] * int(rng.integers(2, 6))) + "." for _ in range(30)]
    pauses = rng.choice([0.32, 0.6, 1.5], size=30)
    words, t = [], 0.2
    for sentence, pause in zip(sentences, pauses):
        for tok in sentence.split():
            words.append(Word(tok, t, t + 0.3))
            t += 0.3
        words.append(Word("", t, t + pause, "pause"))
        t += pause
    lecture = Transcript(words, Path("lecture.mp4"), checksum="0" * 64)
    tokens = tokenize(shorten_pauses(lecture.text(), 0.3))
    for _ in range(40):
        keep = list(tokens)
        for _ in range(3):
            ends = [i for i, x in enumerate(keep) if x.endswith(".")]
            k = int(rng.integers(0, len(ends) - 1))
            del keep[ends[k] + 1:ends[k + 1] + 1]
        assert_words_play_inside_their_spans(lecture, edit_list(lecture, " ".join(keep)))


def test_a_number_retyped_as_said_is_the_number():
    said = "we took 42 samples in 2019 with Mr. Li in room 101".split()
    t = Transcript([Word(w, 0.5 * n, 0.5 * n + 0.4) for n, w in enumerate(said)], Path("talk.mp4"), "0" * 64)
    for typed, spelled in [("forty two", 2), ("forty-two", 2), ("four two", 2), ("twenty nineteen", 5),
                           ("two thousand and nineteen", 5), ("two thousand nineteen", 5), ("mister", 7),
                           ("one hundred and one", 11), ("one hundred one", 11), ("one oh one", 11)]:
        pieces = align(t.words, f"we {typed} samples")
        assert [p.index for p in pieces] == [0, spelled, 3] and pieces[1].text == typed
    with pytest.raises(EditError, match="never said.*'forty' \\(token 2\\), 'three' \\(token 3\\)"):
        align(t.words, "we forty three samples")


def test_pause_tokens_need_pauses_and_words():
    t = make_transcript("he was not an ill disposed young man")
    with pytest.raises(EditError, match="has no pauses to cut one from"):
        edit_list(t, "he was [pause 0.3s] not")
    with pytest.raises(EditError, match="only pauses"):
        edit_list(make_transcript(), "[pause 0.8s] [pause 0.6s]")
    with pytest.raises(EditError, match="has no words"):
        edit_list(Transcript([], Path("talk.mp4"), "0" * 64), "he was")


def test_text_sharing_nothing_with_the_transcript_is_a_clear_error():
    t = make_transcript()
    with pytest.raises(EditError, match="shares no words"):
        edit_list(t, "completely different words")
    with pytest.raises(EditError, match=r"never said.*'banana' \(token 3\)\. Only"):
        edit_list(t, "he was banana")
    with pytest.raises(EditError, match=r"'amable,' \(token 3; did you mean 'amiable'\?\), 'hes' \(token 4\)\."):
        edit_list(t, "he was amable, hes young")  # a misspelt word gets a hint; a short one none ("he"?)
    with pytest.raises(EditError, match="empty"):
        edit_list(t, "   ")


def test_cut_points_snap_into_the_quiet_gap_with_a_margin():
    t = make_transcript()
    audio = speech_like(t)
    env = frame_energy_db(audio)
    text = t.text().replace(" an um ill", "")
    edits = edit_list(t, text, audio=audio)
    words = {w.text: w for w in t.words}
    first, second = edits.spans
    # the first span ends after "not" (+ margin) but before "an" starts; the second starts before "disposed"
    assert words["not"].end + 0.02 <= first.end < words["an"].start
    assert words["ill"].end < second.start <= words["disposed"].start - 0.02
    for cut in (first.end, second.start):
        assert env[int(cut / 0.01)] < -40  # the cut lies in silence


def test_remap_puts_kept_words_on_the_output_timeline():
    t = make_transcript()
    edits = edit_list(t, "might even have been made amiable himself he was not")
    words = edits.remap(t)
    assert [w.text for w in words if w.kind == "word"][:2] == ["might", "even"]
    assert all(0 <= w.start <= w.end <= edits.duration + 1e-9 for w in words)
    starts = [w.start for w in words]
    assert starts == sorted(starts)


def test_phrases_are_the_speech_between_pauses():
    assert phrases("[pause 0.5s] he was . [pause 1.2s] not an [pause 0.3s]") == ["he was", "not an"]


def test_cuts_inside_connected_speech_are_flagged():
    spaced = make_transcript("one two three four five", gap=0.2)
    joined = make_transcript("one two three four five", gap=0.0)  # no silence between words
    for t, rough in ((spaced, 0), (joined, 1)):
        edits = edit_list(t, "one two four five", audio=speech_like(t))
        assert len(rough_cuts(edits, speech_like(t))) == rough
