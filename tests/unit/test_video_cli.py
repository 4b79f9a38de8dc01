"""The `python -m padl_lib.video transcribe` command, including its errors for bad input."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from padl_lib.video.__main__ import main
from padl_lib.video.transcript import Transcript, Word

SCREENCAST = "/usr/share/forensics-samples/original-files/movie2/movie-hello.mp4"
LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"


def test_transcribe_video_writes_transcript_and_subtitles(tmp_path):
    media = tmp_path / "lecture.mp4"
    shutil.copy(SCREENCAST, media)
    done = subprocess.run([sys.executable, "-m", "padl_lib.video", "transcribe", str(media),
                           "-o", str(tmp_path / "T.json"), "--srt", str(tmp_path / "T.srt"),
                           "--vtt", str(tmp_path / "T.vtt")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "words" in done.stdout
    doc = json.loads((tmp_path / "T.json").read_text())
    assert doc["media"] == "lecture.mp4" and {w["kind"] for w in doc["words"]} >= {"word", "pause"}
    assert Transcript.load(tmp_path / "T.json").media == media
    assert "-->" in (tmp_path / "T.srt").read_text() and (tmp_path / "T.vtt").read_text().startswith("WEBVTT")


@pytest.fixture
def transcript_of_sentence(tmp_path) -> tuple:
    """A LibriVox sentence transcribed from its script: (transcript path, Transcript)."""
    media = tmp_path / "sentence.wav"
    shutil.copy(LIBRIVOX, media)
    script = tmp_path / "script.txt"
    script.write_text("He was not an ill-disposed young man.\n")
    assert main(["transcribe", str(media), "--script", str(script)]) == 0
    path = tmp_path / "sentence.transcript.json"
    return path, Transcript.load(path)


def test_transcribe_with_script_and_default_output(transcript_of_sentence):
    _, t = transcript_of_sentence  # written to <media stem>.transcript.json beside the media
    assert t.model == "script" and [w.text for w in t.spoken()] == "He was not an ill-disposed young man.".split()


def test_text_command_gives_the_text_to_edit(tmp_path, capsys, transcript_of_sentence):
    path, transcript = transcript_of_sentence
    capsys.readouterr()
    assert main(["text", str(path)]) == 0
    assert capsys.readouterr().out == transcript.text() + "\n"
    assert main(["text", str(path), "-o", str(tmp_path / "EDITED.txt")]) == 0
    assert (tmp_path / "EDITED.txt").read_text() == transcript.text() + "\n"
    assert main(["text", str(path), "-o", str(path)]) == 2 and "refusing to overwrite" in capsys.readouterr().err
    (tmp_path / "EDITED.txt").write_text("He was young.\n")  # the user's edits are kept
    assert main(["text", str(path), "-o", str(tmp_path / "EDITED.txt")]) == 2
    assert "may hold your edits" in capsys.readouterr().err
    assert (tmp_path / "EDITED.txt").read_text() == "He was young.\n"
    assert main(["text", str(path), "-o", str(tmp_path / "EDITED.txt"), "--force"]) == 0
    assert (tmp_path / "EDITED.txt").read_text() == transcript.text() + "\n"
    (tmp_path / "folder.txt").mkdir()
    assert main(["text", str(path), "-o", str(tmp_path / "folder.txt"), "--force"]) == 2
    assert "folder.txt is a folder: give a file name" in capsys.readouterr().err
    recording = transcript.media.read_bytes()
    assert main(["text", str(path), "-o", str(transcript.media), "--force"]) == 2  # not even with --force
    assert "refusing to overwrite" in capsys.readouterr().err and transcript.media.read_bytes() == recording


def test_text_command_removes_fillers_and_shortens_pauses(tmp_path, capsys):
    words = [Word("So", 0.0, 0.3), Word("um", 0.4, 0.7, "filler"), Word("", 0.7, 2.0, "pause"),
             Word("today", 2.0, 2.5), Word("uh-huh", 2.5, 2.8, "filler")]  # a filler by the transcript's word
    path = Transcript(words, tmp_path / "lecture.wav", checksum="0" * 64).save(tmp_path / "T.json")
    capsys.readouterr()
    assert main(["text", str(path)]) == 0 and capsys.readouterr().out == "So um [pause 1.3s] today uh-huh\n"
    assert main(["text", str(path), "--remove-fillers", "--shorten-pauses", "0.3"]) == 0
    assert capsys.readouterr().out == "So [pause 0.3s] today\n"
    assert main(["text", str(path), "--shorten-pauses", "0"]) == 0
    assert capsys.readouterr().out == "So um today uh-huh\n"


def test_text_command_removes_words_said_again(tmp_path, capsys):
    words = [Word("the", 0.0, 0.2), Word("the", 0.3, 0.5), Word("", 0.5, 1.0, "pause"), Word("er", 1.0, 1.2, "filler"),
             Word("the", 1.2, 1.4), Word("end.", 1.4, 1.8)]
    path = Transcript(words, tmp_path / "lecture.wav", checksum="0" * 64).save(tmp_path / "T.json")
    capsys.readouterr()
    assert main(["text", str(path), "--remove-repeats"]) == 0 and capsys.readouterr().out == "the end.\n"


def _silent_video(path):
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(5):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")))
        out.mux(stream.encode(None))


@pytest.mark.parametrize("case, message", [
    ("no_audio", "no audio track"),
    ("corrupt", "corrupt"),
    ("missing", "not found"),
    ("empty_script", "script is empty"),
    ("missing_script", "script file not found"),
    ("bad_model", "could not load the faster-whisper model"),
])
def test_bad_input_gets_a_clear_error(tmp_path, capsys, case, message):
    media = tmp_path / "in.mp4"
    args = ["transcribe", str(media), "-o", str(tmp_path / "T.json")]
    if case == "no_audio":
        _silent_video(media)
    elif case == "corrupt":
        media.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    elif case == "bad_model":
        shutil.copy(LIBRIVOX, media)
        (tmp_path / "not-a-model").mkdir()
        args += ["--model", str(tmp_path / "not-a-model")]
    elif case in ("empty_script", "missing_script"):
        shutil.copy(LIBRIVOX, media)
        script = tmp_path / "script.txt"
        if case == "empty_script":
            script.write_text("  \n")
        args += ["--script", str(script)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not (tmp_path / "T.json").exists()


def test_transcript_is_never_written_over_the_media(tmp_path, capsys):
    media = tmp_path / "sentence.wav"
    shutil.copy(LIBRIVOX, media)
    before = media.read_bytes()
    assert main(["transcribe", str(media), "-o", str(media)]) == 2
    assert "source" in capsys.readouterr().err and media.read_bytes() == before


def test_existing_or_misnamed_subtitles_are_refused_before_the_work(tmp_path, capsys):
    media = tmp_path / "sentence.wav"
    shutil.copy(LIBRIVOX, media)
    mine = tmp_path / "mine.srt"
    mine.write_text("1\n00:00:00,000 --> 00:00:01,000\nmy own words\n")
    assert main(["transcribe", str(media), "--srt", str(mine)]) == 2
    assert "mine.srt exists and may hold your own changes" in capsys.readouterr().err
    assert main(["transcribe", str(media), "--vtt", str(tmp_path / "subs.txt")]) == 2
    assert "need a .vtt name" in capsys.readouterr().err
    assert not (tmp_path / "sentence.transcript.json").exists()  # nothing was transcribed


def test_a_transcript_that_cannot_be_written_is_refused_before_the_work(tmp_path, capsys, monkeypatch):
    """Media in a read-only folder: writing the transcript beside it fails, so say so at once
    (after transcribing, it was a traceback)."""
    import os

    from padl_lib.video import pipeline

    media = tmp_path / "lectures" / "sentence.wav"
    media.parent.mkdir()
    shutil.copy(LIBRIVOX, media)
    writable = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != media.parent and writable(path, mode))
    monkeypatch.setattr(pipeline, "transcribe", lambda *args, **kwargs: pytest.fail("transcribed in vain"))
    assert main(["transcribe", str(media)]) == 2
    assert "is read-only to you; choose a place with -o" in capsys.readouterr().err


def test_subtitles_that_cannot_be_written_are_refused_before_the_work(tmp_path, capsys, monkeypatch):
    """--srt into a read-only folder failed after transcribing, with the transcript written and
    the error naming a hidden temporary file."""
    import os

    from padl_lib.video import pipeline

    media, shared = tmp_path / "sentence.wav", tmp_path / "shared"
    shutil.copy(LIBRIVOX, media)
    shared.mkdir()
    writable = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != shared and writable(path, mode))
    monkeypatch.setattr(pipeline, "transcribe", lambda *args, **kwargs: pytest.fail("transcribed in vain"))
    for option in ("--srt", "--vtt"):
        target = shared / "new" / f"sentence{option.replace('--', '.')}"
        assert main(["transcribe", str(media), "-o", str(tmp_path / "T.json"), option, str(target)]) == 2
        assert capsys.readouterr().err == (f"error: cannot write subtitles {target}: {shared} is read-only to you; "
                                           f"choose a place with {option}\n")
    assert not (tmp_path / "T.json").exists()


def test_transcribe_replaces_a_transcript_but_no_other_file(tmp_path, capsys, transcript_of_sentence):
    path, _ = transcript_of_sentence
    media, script = path.parent / "sentence.wav", path.parent / "script.txt"
    assert main(["transcribe", str(media), "--script", str(script), "-o", str(path)]) == 0  # again: replaced
    edited = tmp_path / "EDITED.txt"
    edited.write_text("He was not an ill-disposed man.\n")
    assert main(["transcribe", str(media), "--script", str(script), "-o", str(edited)]) == 2
    assert "exists and is not a transcript" in capsys.readouterr().err
    assert edited.read_text() == "He was not an ill-disposed man.\n"


def test_transcribing_a_recording_without_speech_says_so(tmp_path, capsys):
    from padl_lib.video.media import write_wav

    media = write_wav(tmp_path / "room.wav", np.random.default_rng(0).normal(0, 1e-3, 3 * 16000).astype(np.float32))
    assert main(["transcribe", str(media), "-o", str(tmp_path / "T.json")]) == 0
    assert "no speech was recognized in" in capsys.readouterr().err
    assert not Transcript.load(tmp_path / "T.json").spoken()


def test_a_transcripts_text_with_a_word_corrected_is_a_script(tmp_path, capsys, transcript_of_sentence):
    """Correcting a misheard word: `text`, correct it, `transcribe --script`. The text's pause
    tokens were aligned as words ("[pause", "0.7s]"), and a note in brackets would be too."""
    path, transcript = transcript_of_sentence
    corrected = tmp_path / "corrected.txt"
    corrected.write_text("[pause 0.4s] [reads] " + transcript.text().replace("ill-disposed", "ill disposed") + "\n")
    assert main(["transcribe", str(transcript.media), "--script", str(corrected), "-o", str(tmp_path / "C.json")]) == 0
    words = [w.text for w in Transcript.load(tmp_path / "C.json").spoken()]
    assert words == "He was not an ill disposed young man.".split()
