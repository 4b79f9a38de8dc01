"""The transcript editor's session logic, without a browser: resume, and a changed media file."""
import shutil
import warnings

from padl_lib.video.app import TranscriptEditor
from padl_lib.video.project import project_path

LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-{}.wav"


def test_the_app_resumes_a_session_and_starts_anew_when_the_file_changed(tmp_path, monkeypatch):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "talk.wav"
    shutil.copy(LIBRIVOX.format("0880"), media)
    app = TranscriptEditor()
    app.upload.saved, app.choice.value = media, "upload"
    app.load()
    edited = " ".join(app.project.text.split()[1:])
    app.project.edit(edited)

    again = TranscriptEditor()
    again.upload.saved, again.choice.value = media, "upload"
    again.load()
    assert again.project.text == edited and again.project.undo_stack  # resumed

    shutil.copy(LIBRIVOX.format("0930"), media)  # another recording under the same name
    again.load()
    assert again.project.text == again.project.transcript.text() and not again.project.undo_stack
    old = project_path(media).with_name("talk.old.padlproj.json")
    assert old.is_file()  # the earlier session is kept aside, not lost


def test_the_app_shows_what_transcription_warns_about(tmp_path, monkeypatch):
    """What the CLI prints as warnings (e.g. whisper doubting speech in another language, tested
    in test_video_asr_align) the app shows in its status line."""
    from padl_lib.video import pipeline

    def doubting(media, **kwargs):
        warnings.warn("whisper is unsure of this transcript (mean token log-probability -1.20)", UserWarning)
        return transcribe(media, **kwargs)

    transcribe = pipeline.transcribe
    monkeypatch.setattr(pipeline, "transcribe", doubting)
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "talk.wav"
    shutil.copy(LIBRIVOX.format("0930"), media)
    app = TranscriptEditor()
    app.upload.saved, app.choice.value = media, "upload"
    app.load()
    status = app.shell.status.text
    assert status.startswith("Transcript ready") and "unsure of this transcript" in status
    assert "#b35c00" in app.shell.status.value  # shown as a warning


def test_one_click_edits_say_when_there_is_nothing_to_change(tmp_path, monkeypatch):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "talk.wav"
    shutil.copy(LIBRIVOX.format("0930"), media)  # one sentence: no filler
    app = TranscriptEditor()
    app.upload.saved, app.choice.value = media, "upload"
    app.load()
    app.fillers_button.click()
    assert app.shell.status.text == "No fillers left to remove." and not app.project.undo_stack
    app.pauses_button.click()
    assert app.shell.status.text.startswith("Edit applied") and len(app.project.undo_stack) == 1
    app.pauses_button.click()
    assert app.shell.status.text == "No pause longer than 0.3 s left." and len(app.project.undo_stack) == 1
