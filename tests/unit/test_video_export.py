"""Exports for editors (CMX 3600 EDL, FCPXML via OpenTimelineIO) and subtitles of the edited video."""
from pathlib import Path

import opentimelineio as otio
import pysubs2
import pytest
from test_video_edit import make_transcript

from padl_lib.video.edit import edit_list
from padl_lib.video.export import edited_transcript, timeline, write_subtitles, write_timeline
from padl_lib.video.media import sha256_file
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
