"""The editing session: autosaved next to the media, undo/redo, one-click edits, resume."""
import json
import shutil

import pytest
from test_video_edit import make_transcript

from padl_lib.video.media import sha256_file
from padl_lib.video.project import Project, ProjectError, project_path
from padl_lib.video.samples import SCREENCAST


@pytest.fixture
def transcript(tmp_path):
    media = tmp_path / "lecture.mp4"
    shutil.copyfile(SCREENCAST, media)
    t = make_transcript()
    t.media, t.checksum = media, sha256_file(media)
    return t


def test_new_project_lives_next_to_the_media_and_autosaves(transcript):
    project = Project.open(transcript)
    assert project.path == transcript.media.with_name("lecture.padlproj.json")
    assert project.path.is_file() and project.text == transcript.text()
    project.edit("he was not an ill disposed young man")
    saved = json.loads(project.path.read_text())
    assert saved["text"] == "he was not an ill disposed young man"
    assert Project.load(project.path).undo_stack == [transcript.text()]


def test_history_is_saved_as_changes_and_older_project_files_still_open(transcript):
    project = Project.open(transcript)
    long_text = " ".join([project.text] * 200)  # a lecture-length text
    project.edit(long_text)
    for n in range(40):  # small edits: each history entry is saved as what changed
        project.edit(project.text.replace(" he ", " He ", 1) if n % 2 else project.text.replace(" He ", " he ", 1))
    project.undo()
    project.undo()
    saved = json.loads(project.path.read_text())
    assert len(json.dumps(saved["undo"] + saved["redo"])) < 0.1 * len(long_text) * 40
    resumed = Project.load(project.path)
    assert (resumed.text, resumed.undo_stack, resumed.redo_stack) == (project.text, project.undo_stack,
                                                                       project.redo_stack)
    saved.update(version=1, undo=project.undo_stack, redo=project.redo_stack)  # as padl wrote it before
    project.path.write_text(json.dumps(saved))
    assert Project.load(project.path).undo_stack == project.undo_stack
    saved.update(version=2, undo=[[10**6, 0, "x"]], redo=[])
    project.path.write_text(json.dumps(saved))
    with pytest.raises(ProjectError, match="history entry does not fit"):
        Project.load(project.path)


def test_undo_redo_and_one_click_edits(transcript):
    project = Project.open(transcript)
    original = project.text
    assert project.remove_fillers() and "um" not in project.text.split()
    assert project.shorten_pauses(0.3) and "[pause 0.3s]" in project.text
    assert not project.remove_fillers()  # nothing left to remove: no new history entry
    assert project.undo() and "[pause 1.2s]" in project.text
    assert project.undo() and project.text == original
    assert not project.undo()
    assert project.redo() and "um" not in project.text.split()
    project.edit("he was")
    assert not project.redo()  # a new edit clears the redo history
    assert project.edit_list().duration < 1.0


def test_session_resumes_from_the_project_file(transcript):
    project = Project.open(transcript)
    project.edit("he might even have been made amiable himself")
    project.undo()
    project.redo()
    resumed = Project.open(make_transcript_like(transcript))
    assert resumed.text == "he might even have been made amiable himself"
    assert resumed.undo_stack == project.undo_stack
    assert resumed.undo() and resumed.text == transcript.text()


def make_transcript_like(transcript):
    t = make_transcript()
    t.media, t.checksum = transcript.media, transcript.checksum
    return t


def test_changed_media_or_broken_files_are_clear_errors(transcript):
    project = Project.open(transcript)
    with open(transcript.media, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ProjectError, match="does not match"):
        Project.load(project.path)
    doc = json.loads(project.path.read_text())
    project.path.write_text(json.dumps({**doc, "text": None}))
    with pytest.raises(ProjectError, match='"text" must be a string, not None'):  # it opened as the text "None"
        Project.load(project.path, verify=False)
    project.path.write_text("{not json")
    with pytest.raises(ProjectError, match="not valid JSON"):
        Project.load(project.path)
    project.path.write_text(json.dumps({"format": "padl-video-project", "version": 99}))
    with pytest.raises(ProjectError, match="version 99"):
        Project.load(project.path)


def test_every_session_of_a_changing_media_file_is_kept(transcript):
    """The media changes twice, then is transcribed again: every earlier session stays on disk
    (the second change overwrote the first's; a new transcript was ignored)."""
    from dataclasses import replace

    Project.open(transcript).edit("he was not an ill disposed young man")
    with pytest.warns(UserWarning, match="kept as lecture.old.padlproj.json"):
        Project.open(replace(transcript, checksum="1" * 64)).edit("he might")
    with pytest.warns(UserWarning, match="kept as lecture.old-2.padlproj.json"):
        latest = Project.open(replace(transcript, checksum="2" * 64))
    folder = transcript.media.parent
    first = Project.load(folder / "lecture.old.padlproj.json", verify=False)
    assert first.text == "he was not an ill disposed young man"
    assert Project.load(folder / "lecture.old-2.padlproj.json", verify=False).text == "he might"
    assert latest.text == transcript.text() and not latest.undo_stack
    retranscribed = replace(transcript, checksum="2" * 64, words=transcript.words[:-1])
    with pytest.warns(UserWarning, match="was transcribed again .* kept as lecture.old-3.padlproj.json"):
        assert Project.open(retranscribed).transcript.words == retranscribed.words


def test_a_session_never_overwrites_what_another_session_saved(transcript):
    """Two tabs of the app on one lecture: the second to save is refused, not the first's edits lost."""
    first, second = Project.open(transcript), Project.load(project_path(transcript.media), verify=False)
    first.edit("he was not an ill disposed young man")
    with pytest.raises(ProjectError, match=r"saved by another editing session .* \(nothing was overwritten\)"):
        second.edit("he might")
    assert second.text == transcript.text() and not second.undo_stack  # the refused edit is not half made
    assert Project.load(first.path).text == "he was not an ill disposed young man"
    again = Project.load(first.path)  # opened again, it continues from there
    assert again.edit("he might") and first.path.is_file()
    with pytest.raises(ProjectError, match="cannot be saved"):
        again.edit("he \ud800 might")  # a lone surrogate: saving failed, and every later edit with it
    assert again.text == "he might" and again.edit("he was")


def test_an_unreadable_session_is_kept_aside_and_a_new_one_starts(transcript):
    project = Project.open(transcript)
    project.edit("he was not an ill disposed young man")
    saved = project.path.read_bytes()
    project.path.write_bytes(saved[:len(saved) // 2])  # cut short
    with pytest.warns(UserWarning, match="cannot be read .* kept as lecture.old.padlproj.json"):
        fresh = Project.open(transcript)
    assert fresh.text == transcript.text() and fresh.path.is_file()
    assert project.path.with_name("lecture.old.padlproj.json").read_bytes() == saved[:len(saved) // 2]
    doc = json.loads(fresh.path.read_text())
    for broken, message in [({"undo": 5}, '"undo" must be a list, not 5'), ({"undo": [[1, 2]]}, r"\[1, 2\]")]:
        fresh.path.write_text(json.dumps({**doc, **broken}))
        with pytest.raises(ProjectError, match=message):
            Project.load(fresh.path)
    fresh.path.write_text(json.dumps({k: v for k, v in doc.items() if k != "text"}))
    with pytest.raises(ProjectError, match="malformed project: it has no 'text'"):
        Project.load(fresh.path)


def test_recordings_of_one_name_keep_transcripts_and_sessions_apart(transcript):
    """lecture.mp4 and lecture.wav in one folder: the second gets lecture.wav.transcript.json
    and lecture.wav.padlproj.json instead of taking over the first's files."""
    from dataclasses import replace

    from padl_lib.video.transcript import default_path

    other = transcript.media.with_name("lecture.wav")
    other.write_bytes(b"RIFF another recording")
    assert transcript.save() == transcript.media.with_name("lecture.transcript.json")
    first = Project.open(transcript)
    first.edit("he was not an ill disposed young man")
    assert default_path(other) == other.with_name("lecture.wav.transcript.json")
    assert default_path(transcript.media) == transcript.media.with_name("lecture.transcript.json")
    second = Project.open(replace(transcript, media=other, checksum=sha256_file(other)))
    assert second.path == other.with_name("lecture.wav.padlproj.json")
    assert Project.open(transcript).text == "he was not an ill disposed young man"


def test_system_media_keep_their_project_in_the_work_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    path = project_path(SCREENCAST)
    assert path.parent == tmp_path / "work" / "projects"
    assert path.name.startswith("movie-hello-") and path.name.endswith(".padlproj.json")


def test_built_samples_in_the_cache_keep_their_project_in_the_work_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("PADL_CACHE", str(tmp_path / "cache"))
    media = tmp_path / "cache" / "video" / "lecture.mp4"
    media.parent.mkdir(parents=True)
    media.write_bytes(b"")
    assert project_path(media).parent == tmp_path / "work" / "projects"


def test_filler_removal_also_drops_what_the_transcript_marks_as_fillers(transcript):
    from padl_lib.video.transcript import Word

    words = list(transcript.words)
    words[4] = Word("uh-huh", words[4].start, words[4].end, "filler")  # not a usual spelling
    transcript.words = words
    project = Project.open(transcript)
    assert project.remove_fillers() and "uh-huh" not in project.text.split()


def test_the_items_one_click_filler_removal_cuts_are_known_before_the_click(tmp_path):
    from padl_lib.video.transcript import Word

    t = make_transcript("he was not an um ill disposed young man PAUSE he mi- he might even have bee- been made")
    t.words = t.words[:5] + [Word("uh-huh", t.words[5].start, t.words[5].end, "filler")] + t.words[6:]
    project = Project.open(t, path=tmp_path / "lecture.padlproj.json")
    assert [t.words[i].text for i in project.disfluencies()] == ["um", "uh-huh", "mi-", "he", "bee-"]
    project.remove_fillers()
    assert set(project.edit_list().kept_items()).isdisjoint(project.disfluencies())


def test_the_items_one_click_repeat_removal_cuts_are_known_before_the_click(tmp_path):
    t = make_transcript("he was not an an ill disposed young man PAUSE he might he might even have had had been made")
    project = Project.open(t, path=tmp_path / "lecture.padlproj.json")
    # one "an" and one "he might" are cut (which saying, the alignment chooses: here the second); "had had" stays
    assert project.repeats() == [4, 12, 13]
    assert project.remove_repeats() and not project.remove_repeats()  # nothing left: no new history entry
    kept = project.edit_list().kept_items()
    assert set(kept).isdisjoint(project.repeats()) and {3, 10, 11, 16, 17} <= kept
    fluent = Project.open(make_transcript("he was not an ill disposed man"), path=tmp_path / "fluent.padlproj.json")
    assert fluent.repeats() == [] and fluent.disfluencies() == []
