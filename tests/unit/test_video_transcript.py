"""The transcript model: editable text, versioned JSON tied to the media, subtitles."""
import json
import shutil
from pathlib import Path

import pysubs2
import pytest

from padl_lib.video.transcript import (FORMAT_VERSION, _two_lines, Transcript, TranscriptError, Word, default_path,
                                       parse_pause_token)
from padl_lib.video.media import sha256_file

LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"


@pytest.fixture
def media(tmp_path):
    path = tmp_path / "lecture.wav"
    shutil.copy(LIBRIVOX, path)
    return path


@pytest.fixture
def transcript(media):
    words = [Word("He", 0.10, 0.30), Word("um", 0.30, 0.62, "filler", 0.8), Word("", 0.62, 1.84, "pause"),
             Word("was", 1.84, 2.00), Word("not.", 2.00, 2.40), Word("An", 2.60, 2.70), Word("ill", 2.70, 2.90)]
    return Transcript(words, media, sha256_file(media), model="tiny.en", aligner="pocketsphinx")


def test_text_shows_words_fillers_and_editable_pauses(transcript):
    assert transcript.text() == "He um [pause 1.2s] was not. An ill"
    assert parse_pause_token("[pause 1.2s]") == pytest.approx(1.2)
    assert parse_pause_token("[pause 0.3s]") == pytest.approx(0.3)
    assert parse_pause_token("pause") is None
    typed = ["[pause 1,5s]", "[Pause 1.5]", "[pause 1500ms]", "[pause 1.5 sec]", "[PAUSE 1.5 Seconds]"]
    assert [parse_pause_token(t) for t in typed] == [pytest.approx(1.5)] * len(typed)
    assert [parse_pause_token(t) for t in ["[pause]", "[pause 1.5x]", "[pause 1.5.2s]", "[pause -1s]"]] == [None] * 4
    assert [w.text for w in transcript.spoken()] == ["He", "um", "was", "not.", "An", "ill"]
    assert transcript.index_at(1.0) == 2


def test_bad_items_are_rejected():
    with pytest.raises(TranscriptError, match="kind"):
        Word("x", 0, 1, "cough")
    with pytest.raises(TranscriptError, match="times"):
        Word("x", 2, 1)


def test_json_round_trip_next_to_media(transcript, media):
    path = transcript.save()
    assert path == default_path(media) and path.parent == media.parent
    doc = json.loads(path.read_text())
    assert doc["version"] == FORMAT_VERSION and doc["media"] == "lecture.wav"
    assert doc["words"][1] == {"text": "um", "start": 0.30, "end": 0.62, "kind": "filler", "confidence": 0.8}
    assert " ".join(w["text"] for w in doc["words"]) == transcript.text()  # a pause's text is its token
    loaded = Transcript.load(path)
    assert loaded.words == transcript.words and loaded.media == media and loaded.model == "tiny.en"


def test_load_refuses_changed_media(transcript, media):
    path = transcript.save()
    media.write_bytes(media.read_bytes()[:-100])
    with pytest.raises(TranscriptError, match="does not match"):
        Transcript.load(path)
    assert Transcript.load(path, verify=False).words == transcript.words


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(version=99), "version 99"),
    (lambda d: d.pop("format"), "not a padl transcript"),
    (lambda d: d["words"][0].pop("start"), "malformed"),
    (lambda d: d["words"].reverse(), "time order"),
    (lambda d: d["words"].__setitem__(1, "so"), "item 2 is not an object"),
    (lambda d: d["words"][0].update(text=None), "item 1 needs its text as a string, not None"),
    (lambda d: d["words"][0].update(text="then again"), "item 1 must be one word, not 'then again'"),
    (lambda d: d["words"][1].update(end=float("inf")), "item 2 needs finite numbers"),
    (lambda d: d["words"][0].update(start=-0.5), r"item 1 \('He'\): bad times"),
    (lambda d: d.update(extra=[1]), '"extra" must be an object'),
    (lambda d: d["words"][0].update(end=5.0), r"item 1 \('He', 0.10-5.00 s\) overlaps item 2 \('um' from 0.30 s\)"),
])
def test_load_names_the_problem(transcript, tmp_path, mutate, message):
    doc = transcript.to_dict(relative_to=tmp_path)
    mutate(doc)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(TranscriptError, match=message):
        Transcript.load(path)
    path.write_text("{not json")
    with pytest.raises(TranscriptError, match="not valid JSON"):
        Transcript.load(path)


def test_save_never_overwrites_the_media(transcript, media):
    before = media.read_bytes()
    with pytest.raises(ValueError, match="source"):
        transcript.save(media)
    assert media.read_bytes() == before


def test_subtitles_group_words_into_cues(transcript, tmp_path):
    # a cue under 0.8 s stays up into the silence after it, until the next (here: over the filler)
    assert transcript.cues() == [(0.10, pytest.approx(0.90), "He"), (1.84, 2.60, "was not."), (2.60, 2.90, "An ill")]
    srt = transcript.save_subtitles(tmp_path / "t.srt")
    vtt = transcript.save_subtitles(tmp_path / "t.vtt")
    assert [e.text for e in pysubs2.load(str(srt))] == ["He", "was not.", "An ill"]
    assert vtt.read_text().startswith("WEBVTT")
    assert pysubs2.load(str(vtt))[1].start == 1840
    with pytest.raises(ValueError, match=".srt or .vtt"):
        transcript.save_subtitles(tmp_path / "t.txt")


def test_a_title_abbreviation_ends_no_cue_and_a_quoted_sentence_end_does():
    said = "And, Mr. John Dashwood left. Dr. Smith said “Fine.” Then (quietly!) he left…".split()
    words = [Word(t, 0.3 * i, 0.3 * i + 0.25) for i, t in enumerate(said)]
    assert [text for _, _, text in Transcript(words, Path("x.mp4"), "0" * 64).cues()] == \
        ["And, Mr. John Dashwood left.", "Dr. Smith said “Fine.”", "Then (quietly!)", "he left…"]


def test_long_cues_are_split_by_length():
    words = [Word(f"word{i}", i * 0.3, i * 0.3 + 0.25) for i in range(40)]
    cues = Transcript(words, "x.wav", "0").cues(max_chars=42)
    assert len(cues) > 1 and all(len(text) <= 42 for _, _, text in cues)
    assert " ".join(text for _, _, text in cues).split() == [w.text for w in words]


def _timed(text: str, seconds_per_word: float = 0.3) -> Transcript:
    return Transcript([Word(t, seconds_per_word * i, seconds_per_word * i + 0.25) for i, t in enumerate(text.split())],
                      Path("x.mp4"), "0" * 64)


def test_a_long_sentence_is_split_into_even_cues_at_a_clause():
    """Before, cues were filled to 84 characters and the rest left over: "than he was." alone for
    0.8 s, "Had he married ... he" with the clause split after "he"."""
    said = "Had he married a more amiable woman, he might have been made still more respectable than he was."
    assert [text for _, _, text in _timed(said).cues()] == [
        "Had he married a more amiable woman,", "he might have been made still more respectable than he was."]
    said = "And Mr. John Dashwood had then leisure to consider how much there might be prudently in his power."
    assert [text for _, _, text in _timed(said).cues()] == [
        "And Mr. John Dashwood had then leisure to consider", "how much there might be prudently in his power."]
    slow = [text for _, _, text in _timed(said, seconds_per_word=0.8).cues()]  # 14 s: three cues of 6 s at most
    assert len(slow) == 3 and " ".join(slow) == said and max(map(len, slow)) - min(map(len, slow)) < 15


def test_cue_lines_break_between_phrases():
    assert _two_lines("there might be prudently in his power to do for them.") == \
        r"there might be prudently\Nin his power to do for them."
    assert _two_lines("Unless to be rather cold-hearted and rather selfish is to be ill-disposed.") == \
        r"Unless to be rather cold-hearted\Nand rather selfish is to be ill-disposed."
    url = "https://example.org/a-very-long-address-of-the-lecture-notes"
    assert _two_lines(url) == url
