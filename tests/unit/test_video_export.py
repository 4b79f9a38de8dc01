"""Exports for editors (CMX 3600 EDL, FCPXML via OpenTimelineIO) and subtitles of the edited video."""
import codecs
import subprocess
from fractions import Fraction
from pathlib import Path
from xml.etree import ElementTree

import opentimelineio as otio
import pysubs2
import pytest
from test_video_edit import make_transcript, speech_like

from padl_lib.video.edit import edit_list
from padl_lib.video.export import (FCPXML_RATES, edited_transcript, start_timecode, timeline, timeline_rate,
                                   write_subtitles, write_timeline)
from padl_lib.video.media import sha256_file, write_wav
from padl_lib.video.samples import SCREENCAST

RATE = 30  # the screencast's frame rate
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0930.wav")


@pytest.fixture
def edit():
    transcript = make_transcript()
    transcript.media, transcript.checksum = SCREENCAST, sha256_file(SCREENCAST)
    return transcript, edit_list(transcript, "he was amiable himself he might")


def source_ranges(tl):
    return [(c.source_range.start_time.to_seconds(), c.source_range.duration.to_seconds())
            for c in tl.tracks[0].find_clips()]


def test_timeline_has_one_clip_per_span_in_output_order(edit):
    _, edits = edit
    tl = timeline(edits, SCREENCAST)
    assert [t.kind for t in tl.tracks] == ["Video", "Audio"]
    ranges = source_ranges(tl)
    assert len(ranges) == len(edits.spans) == 3
    for (start, duration), span in zip(ranges, edits.spans):
        assert start == pytest.approx(span.start, abs=1 / RATE)
        assert duration == pytest.approx(span.duration, abs=1 / RATE)


@pytest.mark.parametrize("suffix", [".edl", ".fcpxml", ".otio"])
def test_written_timelines_read_back_with_the_same_cuts(edit, tmp_path, suffix):
    _, edits = edit
    path = write_timeline(edits, SCREENCAST, tmp_path / f"cut{suffix}")
    back = otio.adapters.read_from_file(str(path), **({"rate": RATE} if suffix == ".edl" else {}))
    flat = lambda ranges: [x for r in ranges for x in r]  # noqa: E731
    assert flat(source_ranges(back)) == pytest.approx(flat(source_ranges(timeline(edits, SCREENCAST))))
    assert SCREENCAST.as_uri() in path.read_text()


def fcpxml_cuts(path: Path) -> tuple[list[tuple[Fraction, Fraction]], list[Fraction]]:
    """(start, duration) of the spine's clips, and every time in the file (OTIO's FCPXML reader
    takes NTSC rates for whole ones: 29.97 as 29)."""
    root = ElementTree.parse(path).getroot()
    seconds = lambda value: Fraction(value.removesuffix("s"))  # noqa: E731
    cuts = [(seconds(c.get("start", "0s")), seconds(c.get("duration"))) for c in root.find(".//spine")]
    times = [seconds(e.get(k)) for e in root.iter() for k in ("offset", "start", "duration") if k in e.attrib]
    return cuts, times


@pytest.mark.parametrize("suffix", [".edl", ".fcpxml"])
@pytest.mark.parametrize("rate", ["30000/1001", "24000/1001", "15", "12.5"])
def test_timelines_at_rates_timecode_lacks_keep_their_cuts(tmp_path, rate, suffix):
    """NTSC cameras (29.97, 23.976) and slow screen recordings (15, 12.5 fps): the FCPXML writer
    failed on all four and EDL timecode on the last two. They get the format's rate of which
    theirs is a divisor; every cut and every time stays on a frame of the video."""
    media = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=160x120:rate={rate}:duration=9",
                    "-f", "lavfi", "-i", "sine=duration=9", "-c:v", "libx264", "-c:a", "aac", str(media)], check=True)
    transcript = make_transcript()
    transcript.media, transcript.checksum = media, sha256_file(media)
    edits = edit_list(transcript, "he was amiable himself he might")
    written = write_timeline(edits, media, tmp_path / f"cut{suffix}")
    own = Fraction(rate)
    if suffix == ".fcpxml":
        cuts, times = fcpxml_cuts(written)
        assert all((t * own).denominator == 1 for t in times)
        for clip in ElementTree.parse(written).getroot().find(".//spine"):  # its sound starts where it does
            assert [c.get("offset") for c in clip.findall("clip[@lane]")] == [clip.get("start", "0s")]
    else:
        timeline_rate = float(own) * (2 if own.denominator == 1 or own == Fraction(25, 2) else 1)
        back = otio.adapters.read_from_file(str(written), rate=timeline_rate)
        cuts = [(Fraction(s).limit_denominator(100_000), Fraction(d).limit_denominator(100_000))
                for s, d in source_ranges(back)]
    assert len(cuts) == len(edits.spans)
    for (start, duration), span in zip(cuts, edits.spans):
        assert float(start) == pytest.approx(span.start, abs=0.5 / float(own)) and (start * own).denominator == 1
        assert float(duration) == pytest.approx(span.duration, abs=1 / float(own)) and (duration * own).denominator == 1


def test_timelines_count_from_the_first_video_frame_and_take_any_file_name(tmp_path):
    """Audio that starts 1.5 s after the video (padl's time 0): an editor's source time 1.5 s is
    padl's 0, so the exported cuts lie 1.5 s later. A quote in the file name broke FCPXML."""
    media = tmp_path / "Bob's \"late\" talk.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=12",
                    "-f", "lavfi", "-i", "sine=duration=9", "-c:v", "libx264", "-c:a", "aac", str(media)], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(media), "-itsoffset", "1.5", "-i", str(media), "-map", "0:v",
                    "-map", "1:a", "-c", "copy", str(tmp_path / "late.mp4")], check=True)
    late = tmp_path / "late.mp4"
    transcript = make_transcript()
    transcript.media, transcript.checksum = late, sha256_file(late)
    edits = edit_list(transcript, "he was amiable himself he might")
    for (start, duration), span in zip(source_ranges(timeline(edits, late)), edits.spans):
        assert start == pytest.approx(span.start + 1.5, abs=0.05) and duration == pytest.approx(span.duration, abs=0.05)
    transcript.media, transcript.checksum = media, sha256_file(media)
    edits = edit_list(transcript, "he was amiable")
    assert len(fcpxml_cuts(write_timeline(edits, media, tmp_path / "cut.fcpxml"))[0]) == len(edits.spans)


@pytest.mark.parametrize("rate, timecode, first", [(25, "01:00:00:00", "01:00:00:00"), ("30000/1001", "10:00:00;00",
                                                                                          "10:00:00;00")])
def test_edl_source_times_count_from_the_start_timecode(tmp_path, rate, timecode, first):
    """A camera's file starting at 01:00:00:00: an editor matches EDL source times against that
    timecode, so the cuts are given on it."""
    media = tmp_path / "camera.mov"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=160x120:rate={rate}:duration=12",
                    "-f", "lavfi", "-i", "sine=duration=12", "-c:v", "libx264", "-c:a", "aac", "-timecode", timecode,
                    str(media)], check=True)
    assert start_timecode(media) == timecode
    transcript = make_transcript()
    edits = edit_list(transcript, "he was amiable himself he might")
    plain = source_ranges(timeline(edits, SCREENCAST))
    coded = timeline(edits, media, adapter="cmx_3600")
    offset = otio.opentime.from_timecode(first, float(Fraction(rate))).to_seconds()
    for (start, duration), (start0, duration0) in zip(source_ranges(coded), plain):
        assert start - offset == pytest.approx(start0, abs=0.05) and duration == pytest.approx(duration0, abs=0.05)
    events = [line.split() for line in write_timeline(edits, media, tmp_path / "cut.edl").read_text().splitlines()
              if line[:3].isdigit()]
    assert events[0][4].startswith(first[:6]) and events[0][4] >= first  # source in, on the file's timecode


def test_a_rate_no_timeline_fits_asks_for_otio():
    with pytest.raises(ValueError, match="120 fps video does not fit: export an .otio"):
        timeline_rate(Fraction(120), FCPXML_RATES)
    assert timeline_rate(Fraction(2999, 100), FCPXML_RATES) == 30  # a variable frame rate phone video
    assert timeline_rate(Fraction(120), None) == 120


def test_edl_is_cmx_3600(edit, tmp_path):
    _, edits = edit
    lines = write_timeline(edits, SCREENCAST, tmp_path / "cut.edl").read_text().splitlines()
    events = [line for line in lines if line[:3].isdigit()]
    assert lines[0].startswith("TITLE:") and len(events) == 3
    assert events[0].split()[:4] == ["001", "MOVIEHEL", "B", "C"]  # B: video and its sound
    back = otio.adapters.read_from_file(str(tmp_path / "cut.edl"), rate=RATE)
    assert [(t.kind, len(t)) for t in back.tracks] == [("Video", 3), ("Audio", 3)]


def test_an_audio_recording_exports_an_audio_edl_and_refuses_fcpxml(tmp_path):
    transcript = make_transcript()
    transcript.media, transcript.checksum = LIBRIVOX, sha256_file(LIBRIVOX)
    edits = edit_list(transcript, "he was amiable himself he might")
    events = [line for line in write_timeline(edits, LIBRIVOX, tmp_path / "cut.edl").read_text().splitlines()
              if line[:3].isdigit()]
    assert events and all(line.split()[2] == "A" for line in events)
    with pytest.raises(ValueError, match="has no video: FCPXML export needs a video track"):
        write_timeline(edits, LIBRIVOX, tmp_path / "cut.fcpxml")


def test_subtitles_follow_the_edited_timeline(edit, tmp_path):
    transcript, edits = edit
    for suffix in (".srt", ".vtt"):
        subs = pysubs2.load(str(write_subtitles(transcript, edits, tmp_path / f"edit{suffix}")))
        text = " ".join(e.plaintext.replace("\n", " ") for e in subs)
        assert text.split() == ["he", "was", "amiable", "himself", "he", "might"]
        assert subs[-1].end / 1000 <= edits.duration + 1e-3
    words = edited_transcript(transcript, edits).words
    assert words[2].text == "amiable" and words[2].start < 1.5 < transcript.words[16].start


def test_subtitles_spell_the_words_as_the_edited_text_does(edit):
    """Case and punctuation the user changed (the match ignores them) show in the subtitles."""
    transcript, _ = edit
    edits = edit_list(transcript, "He was NOT amiable himself! He might")
    assert [w.text for w in edited_transcript(transcript, edits).spoken()] == \
        ["He", "was", "NOT", "amiable", "himself!", "He", "might"]


def test_unknown_formats_are_refused(edit, tmp_path):
    _, edits = edit
    with pytest.raises(ValueError, match="unknown timeline format"):
        write_timeline(edits, SCREENCAST, tmp_path / "cut.xml")


def test_command_line_render_and_export(edit, tmp_path, capsys):
    from padl_lib.video.__main__ import main
    from padl_lib.video.cli_edit import load_edit
    from padl_lib.video.media import probe

    transcript, _ = edit
    t_json = transcript.save(tmp_path / "lecture.transcript.json")
    edited = tmp_path / "edited.txt"
    edited.write_text("he was amiable himself he might\n", encoding="utf-8")
    assert main(["export", str(t_json), str(edited), "--edl", str(tmp_path / "e.edl"),
                 "--fcpxml", str(tmp_path / "e.fcpxml"), "--srt", str(tmp_path / "e.srt")]) == 0
    assert all((tmp_path / f"e.{s}").is_file() for s in ("edl", "fcpxml", "srt"))
    (tmp_path / "e.srt").write_text("my own subtitles", encoding="utf-8")  # hand-corrected since
    assert main(["export", str(t_json), str(edited), "--srt", str(tmp_path / "e.srt")]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert (tmp_path / "e.srt").read_text(encoding="utf-8") == "my own subtitles"
    assert main(["export", str(t_json), str(edited), "--srt", str(tmp_path / "e.srt"), "--force"]) == 0
    assert (tmp_path / "e.srt").read_text(encoding="utf-8") != "my own subtitles"
    out = tmp_path / "out.mp4"
    assert main(["render", str(SCREENCAST), str(t_json), str(edited), "-o", str(out)]) == 0
    _, snapped = load_edit(t_json, edited)  # cuts snapped to the real audio, as the command does
    assert abs(probe(out).duration - snapped.duration) <= 1 / RATE
    edited.write_text("quantum computing explained", encoding="utf-8")
    assert main(["render", str(SCREENCAST), str(t_json), str(edited), "-o", str(tmp_path / "bad.mp4")]) == 2
    assert "shares no words" in capsys.readouterr().err
    assert not (tmp_path / "bad.mp4").exists()
    before = edited.read_bytes()
    assert main(["export", str(t_json), str(edited), "--srt", str(edited)]) == 2
    assert main(["render", str(SCREENCAST), str(t_json), str(edited), "-o", str(t_json)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err and edited.read_bytes() == before


def sound_recording(tmp_path: Path) -> tuple[Path, Path]:
    """A WAV of the test transcript's words (speech-like noise) and its transcript file."""
    transcript = make_transcript()
    media = write_wav(tmp_path / "talk.wav", speech_like(transcript), 16_000)
    transcript.media, transcript.checksum = media, sha256_file(media)
    return media, transcript.save(tmp_path / "talk.transcript.json")


def test_command_line_export_writes_nothing_when_one_timeline_cannot_be_made(tmp_path, capsys):
    """An audio recording has no FCPXML: its EDL, asked for with it, is not written either."""
    from padl_lib.video.__main__ import main

    _, t_json = sound_recording(tmp_path)
    edited = tmp_path / "edited.txt"
    edited.write_text("he was amiable himself he might\n", encoding="utf-8")
    assert main(["export", str(t_json), str(edited), "--edl", str(tmp_path / "e.edl"),
                 "--fcpxml", str(tmp_path / "e.fcpxml")]) == 2
    assert "FCPXML export needs a video track" in capsys.readouterr().err and not (tmp_path / "e.edl").exists()
    assert main(["export", str(t_json), str(tmp_path), "--edl", str(tmp_path / "e.edl")]) == 2  # a folder as the text
    assert capsys.readouterr().err == f"error: {tmp_path} is a folder: give the edited text file\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_edited_text_saved_by_windows_notepad_is_read(tmp_path, capsys, encoding):
    """Notepad saves "Unicode" as UTF-16 with a byte-order mark (CRLF lines): it was refused as not UTF-8."""
    from padl_lib.video.__main__ import main

    _, t_json = sound_recording(tmp_path)
    edited = tmp_path / "edited.txt"
    text = "he was amiable\r\nhimself he might\r\n"
    edited.write_bytes((codecs.BOM_UTF16_BE if encoding == "utf-16-be" else b"") + text.encode(encoding))
    assert main(["export", str(t_json), str(edited), "--srt", str(tmp_path / "e.srt")]) == 0, capsys.readouterr().err
    assert [e.text for e in pysubs2.load(str(tmp_path / "e.srt"))] == [" ".join(text.split())]
    edited.write_bytes("he was amiable café".encode("latin-1"))  # no mark: UTF-8 or a clear error
    assert main(["export", str(t_json), str(edited), "--srt", str(tmp_path / "e.srt"), "--force"]) == 2
    assert "is not UTF-8 text (unexpected end of data at byte 18): save it as UTF-8" in capsys.readouterr().err


def test_render_replaces_its_own_output_but_not_a_file_it_did_not_write(edit, tmp_path, capsys):
    from padl_lib.video.__main__ import main

    transcript, _ = edit
    t_json = transcript.save(tmp_path / "lecture.transcript.json")
    edited = tmp_path / "edited.txt"
    edited.write_text("he was amiable himself he might\n", encoding="utf-8")
    render = ["render", str(SCREENCAST), str(t_json), str(edited), "-o"]
    assert main([*render, str(tmp_path / "out.mp4")]) == 0 and main([*render, str(tmp_path / "out.mp4")]) == 0
    recording = tmp_path / "take2.mp4"  # another recording of the user's
    recording.write_bytes(Path(SCREENCAST).read_bytes())
    assert main([*render, str(recording)]) == 2
    assert "is not a render of padl's" in capsys.readouterr().err
    assert recording.read_bytes() == Path(SCREENCAST).read_bytes()
    assert main([*render, str(recording), "--force"]) == 0


def test_render_of_a_sound_recording_reports_its_length_and_no_frames(tmp_path, capsys):
    from padl_lib.video.__main__ import main

    media, t_json = sound_recording(tmp_path)
    edited = tmp_path / "edited.txt"
    edited.write_text("he was amiable himself\n", encoding="utf-8")
    assert main(["render", str(media), str(t_json), str(edited), "-o", str(tmp_path / "out.m4a")]) == 0
    assert capsys.readouterr().out.rstrip().endswith("2 span(s), audio only")
