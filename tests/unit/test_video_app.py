"""The transcript editor's session logic, without a browser: resume, and a changed media file."""
import shutil

import numpy as np
import pytest
import warnings

from padl_lib.video.app import TranscriptEditor
from padl_lib.video.media import SAMPLE_RATE, load_audio, write_wav
from padl_lib.video.project import project_path

LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-{}.wav"


def loaded_app(media) -> TranscriptEditor:
    """The app with `media` uploaded and loaded."""
    app = TranscriptEditor()
    app.upload.saved, app.choice.value = media, "upload"
    app.load()
    return app


def two_lectures(tmp_path):
    """Two LibriVox sentences copied into `tmp_path` as uploads: talk.wav and other.wav."""
    media, other = tmp_path / "talk.wav", tmp_path / "other.wav"
    shutil.copy(LIBRIVOX.format("0930"), media)
    shutil.copy(LIBRIVOX.format("0880"), other)
    return media, other


def test_the_app_resumes_a_session_and_starts_anew_when_the_file_changed(tmp_path, monkeypatch):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "talk.wav"
    shutil.copy(LIBRIVOX.format("0880"), media)
    app = loaded_app(media)
    assert app.view.disfluent == app.project.disfluencies() and app.view.repeated == app.project.repeats()
    edited = " ".join(app.project.text.split()[1:])
    app.project.edit(edited)

    again = loaded_app(media)
    assert again.project.text == edited and again.project.undo_stack  # resumed

    shutil.copy(LIBRIVOX.format("0930"), media)  # another recording under the same name
    again.load()
    assert again.project.text == again.project.transcript.text() and not again.project.undo_stack
    old = project_path(media).with_name("talk.old.padlproj.json")
    assert old.is_file()  # the earlier session is kept aside, not lost


def test_the_app_shows_what_transcription_and_rendering_warn_about(tmp_path, monkeypatch):
    """What the CLI prints as warnings (e.g. whisper doubting speech in another language, tested
    in test_video_asr_align; corrupt packets passed over in a render) the app shows in its status
    line; a render's were not shown."""
    from padl_lib.video import app as app_module, pipeline

    def doubting(media, **kwargs):
        warnings.warn("whisper is unsure of this transcript (mean token log-probability -1.20)", UserWarning)
        return transcribe(media, **kwargs)

    transcribe = pipeline.transcribe
    monkeypatch.setattr(pipeline, "transcribe", doubting)
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "talk.wav"
    shutil.copy(LIBRIVOX.format("0930"), media)
    app = loaded_app(media)
    status = app.shell.status.text
    assert status.startswith("Transcript ready") and "unsure of this transcript" in status
    assert "#b35c00" in app.shell.status.value  # shown as a warning

    def damaged(*args, **kwargs):
        warnings.warn("talk.wav: 2 of 90 audio packets are corrupt near 1.2 s and were passed over", UserWarning)
        return render(*args, **kwargs)

    render = app_module.render
    monkeypatch.setattr(app_module, "render", damaged)
    app.render_button.click()
    status = app.shell.status.text
    assert status.startswith("Rendered") and "2 of 90 audio packets are corrupt" in status
    assert "#b35c00" in app.shell.status.value


def test_one_click_edits_say_when_there_is_nothing_to_change(tmp_path, monkeypatch):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "talk.wav"  # two sentences, 1 s apart: no filler, one pause
    write_wav(media, np.concatenate([load_audio(LIBRIVOX.format("0880")), np.zeros(SAMPLE_RATE, np.float32),
                                     load_audio(LIBRIVOX.format("0930"))]))
    app = loaded_app(media)
    app.fillers_button.click()
    assert app.shell.status.text == "No fillers left to remove." and not app.project.undo_stack
    app.pauses_button.click()
    assert app.shell.status.text.startswith("Edit applied") and len(app.project.undo_stack) == 1
    app.pauses_button.click()
    assert app.shell.status.text == "No pause longer than 0.3 s left." and len(app.project.undo_stack) == 1
    app.pause_seconds.value = 0.5  # longer than what is left: nothing to do
    app.pauses_button.click()
    assert app.shell.status.text == "No pause longer than 0.5 s left." and len(app.project.undo_stack) == 1
    app.pause_seconds.value = 0.1
    app.pauses_button.click()
    assert "[pause 0.1s]" in app.project.text and len(app.project.undo_stack) == 2
    app.repeats_button.click()
    assert app.shell.status.text == "No words said again left to remove." and len(app.project.undo_stack) == 2
    words = app.project.text.split()
    app.text.value = " ".join(words[:3] + words[:3] + words[3:])  # typed: the first three words copied again
    app.repeats_button.click()
    assert app.project.text.split() == words and app.shell.status.text.startswith("Edit applied")


def test_a_text_that_cannot_be_cut_is_refused_and_the_session_stays_as_it_was(tmp_path, monkeypatch):
    """It was saved, put in the history and autosaved; reopened, the lecture showed an error."""
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "talk.wav"
    shutil.copy(LIBRIVOX.format("0930"), media)
    app = loaded_app(media)
    before = app.project.text
    for typed in (before + " blockchain", "   "):
        app.text.value = typed
        app.apply_button.click()
        assert app.shell.status.text.startswith("Error") and app.project.text == before
        assert not app.project.undo_stack and app.text.value == typed  # kept to correct
    app.undo_button.click()  # undoes the typing
    assert app.text.value == before and app.shell.status.text == "Typed changes undone."
    app.undo_button.click()
    assert app.shell.status.text == "Nothing to undo."
    again = loaded_app(media)
    assert again.project.text == before and again.shell.status.text.startswith("Transcript ready")


def test_a_lecture_that_fails_to_load_leaves_the_loaded_one_alone(tmp_path, monkeypatch):
    import subprocess

    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media, silence, corrupt = tmp_path / "talk.wav", tmp_path / "silence.wav", tmp_path / "broken.mp4"
    shutil.copy(LIBRIVOX.format("0930"), media)
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "3", str(silence)],
                   check=True)
    corrupt.write_bytes(bytes(range(256)) * 100)
    app = loaded_app(media)
    loaded, summary, source = app.project, app.summary.value, app.player.path
    for other, message in [(silence, "no speech was found in silence.wav"), (corrupt, "not a media file")]:
        app.upload.saved = other
        app.load_button.click()
        assert message in app.shell.status.text
        assert app.project is loaded and app.summary.value == summary and app.player.path == source


def test_picture_that_runs_on_after_the_sound_is_kept(tmp_path, monkeypatch):
    """A screencast whose microphone stopped 3 s before the recording: the unedited text rendered
    only as much as there was sound."""
    import subprocess

    from padl_lib.video.media import probe

    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "screen.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=6",
                    "-i", LIBRIVOX.format("0930"), "-c:v", "libx264", "-c:a", "aac", str(media)], check=True)
    app = loaded_app(media)
    assert app.edits.duration == pytest.approx(6.0, abs=0.05)
    app.render_button.click()
    assert app.shell.status.text.startswith("Rendered")
    assert probe(app.download.path).duration == pytest.approx(6.0, abs=0.05)


def test_undo_is_offered_for_typed_text_before_any_edit(tmp_path, monkeypatch):
    """The button stayed disabled until an edit was applied: in the browser, typing (or a
    refused edit) in a fresh session could not be undone."""
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "talk.wav"
    shutil.copy(LIBRIVOX.format("0930"), media)
    app = loaded_app(media)
    assert app.undo_button.disabled and app.redo_button.disabled
    app.text.value = app.project.text + " blockchain"
    app.apply_button.click()
    assert app.shell.status.text.startswith("Error") and not app.undo_button.disabled
    app.undo_button.click()
    assert app.shell.status.text == "Typed changes undone." and app.undo_button.disabled


def test_a_recording_with_a_very_long_name_uploads_loads_and_renders(tmp_path, monkeypatch):
    """A 250-character name: its upload's .part file was over the file system's 255 bytes, so
    the upload stopped (in the browser it waited for ever)."""
    from pathlib import Path

    from padl_lib.widgets import save_upload

    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = save_upload("Lecture 7 " + "x" * 240 + ".wav", Path(LIBRIVOX.format("0930")).read_bytes())
    assert media.name.startswith("Lecture_7_xxx") and media.suffix == ".wav"
    app = loaded_app(media)
    app.render_button.click()
    assert app.shell.status.text.startswith("Rendered")


def test_the_progress_bar_starts_empty_for_each_transcription_and_render(tmp_path, monkeypatch):
    """It showed the last action's full bar until the new one first reported (a 10-minute
    recording: 1 s into a render, 5 s into a transcription; longer for a longer lecture)."""
    from padl_lib.video import app as app_module, pipeline

    seen = []

    def spy(function):
        def run(*args, **kwargs):
            seen.append((function.__name__, kwargs["progress"].value, kwargs["progress"].description))
            return function(*args, **kwargs)
        return run

    monkeypatch.setattr(app_module, "render", spy(app_module.render))
    monkeypatch.setattr(pipeline, "transcribe", spy(pipeline.transcribe))
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media, other = two_lectures(tmp_path)
    app = loaded_app(media)
    app.preview_button.click()
    app.render_button.click()
    app.upload.saved = other
    app.load_button.click()
    assert app.shell.status.text.startswith("Transcript ready: ") and app.progress.value == app.progress.max
    assert seen == [("transcribe", 0, "transcribing"), ("render", 0, "render"), ("render", 0, "render"),
                    ("transcribe", 0, "transcribing")]


def test_redo_with_typed_text_keeps_both(tmp_path, monkeypatch):
    """Redo applied the typed text first, a new edit that emptied the history to redo: nothing
    was redone, the undone edit was lost, and the status line kept an older edit's length."""
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "talk.wav"
    shutil.copy(LIBRIVOX.format("0880"), media)
    app = loaded_app(media)
    full = app.project.text
    edited = " ".join(full.split()[1:])
    app.text.value = edited
    app.apply_button.click()
    app.undo_button.click()
    typed = " ".join(full.split()[:-1])
    app.text.value = typed
    app.redo_button.click()
    assert app.shell.status.text.startswith("Your typed changes are not applied")
    assert app.text.value == typed and app.project.text == full and app.project.redo_stack == [edited]
    app.undo_button.click()  # the typing
    app.redo_button.click()
    assert app.project.text == app.text.value == edited and app.shell.status.text.startswith("Edit applied")
    app.redo_button.click()
    assert app.shell.status.text == "Nothing to redo."


def test_loading_another_lecture_takes_the_last_ones_render_off_offer(tmp_path, monkeypatch):
    """The edited player and the download link kept the lecture loaded before's render."""
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media, other = two_lectures(tmp_path)
    app = loaded_app(media)
    app.render_button.click()
    assert app.download.name.startswith("talk-") and app.result_player.name == app.download.name
    app.upload.saved = other
    app.load_button.click()
    assert app.shell.status.text.startswith("Transcript ready")
    for widget in (app.download, app.result_player):
        assert widget.path is None and widget.name == "" and widget.url == ""


def test_an_edit_takes_the_render_of_the_text_before_it_off_offer(tmp_path, monkeypatch):
    """After a render and a further edit, the download link offered the earlier render, whose
    length no longer matched the text."""
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media, _ = two_lectures(tmp_path)
    app = loaded_app(media)
    app.render_button.click()
    assert app.download.name.startswith("talk-")
    app.text.value = " ".join(app.project.text.split()[1:])
    app.apply_button.click()
    assert app.shell.status.text.startswith("Edit applied") and app.download.path is None and app.download.name == ""
    app.render_button.click()
    assert app.download.name.startswith("talk-")
