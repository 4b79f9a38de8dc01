"""The transcript editor app (notebooks/19_app_transcript_editor.ipynb): edit a lecture video by its text.

Load a bundled sample or an upload, transcribe it (with progress), click a word to seek the
player, edit the text, remove fillers, repeats or long pauses with one click, undo/redo, preview
the edit around the selected word, render it with a progress bar and download the result.
The session is a `Project`: every change is autosaved and resumes when the media is loaded again.
"""
from __future__ import annotations

import html
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anywidget
import ipywidgets as W
import traitlets

from padl_lib.settings import work_dir
from padl_lib.video.edit import EditError, EditList, rough_cuts
from padl_lib.video.media import load_audio, sha256_file
from padl_lib.video.project import Project, ProjectError, media_digest, project_path
from padl_lib.video.render import recording_length, render
from padl_lib.video.samples import SAMPLES, sample
from padl_lib.widgets import AppShell, DownloadLink, LargeFileUpload, MediaPlayer, ProgressBar

PREVIEW_SECONDS = 2.0
T = TypeVar("T")
__all__ = ["TranscriptView", "TranscriptEditor", "transcript_editor"]

_VIEW_ESM = """
function render({ model, el }) {
  const box = document.createElement("div");  // scrolls; ipywidgets' layout owns el's own style
  box.classList.add("padl-transcript");
  box.style.lineHeight = "1.9"; box.style.maxHeight = "220px"; box.style.overflowY = "auto";
  box.style.border = "1px solid #ddd"; box.style.borderRadius = "6px"; box.style.padding = "6px";
  el.appendChild(box);
  let spans = [], kept = new Set();
  const hints = [  // what a one-click button would cut, underlined while it is kept
    { trait: "disfluent", items: new Set(), color: "#d08000",
      title: "a filler or false start: Remove fillers cuts it" },
    { trait: "repeated", items: new Set(), color: "#3070d0", title: "said again right after: Remove repeats cuts it" },
  ];
  const marked = { selected: -1, current: -1 };
  const paint = (i) => {  // one word's look; a long lecture has 10,000+ words, so never redraw all
    const span = spans[i];
    if (!span) return;
    const cut = !kept.has(i);
    span.classList.toggle("padl-cut", cut);
    span.style.textDecoration = cut ? "line-through" : "";
    span.style.color = cut ? "#bbb" : span.textContent.startsWith("[") ? "#888" : "";
    span.style.background = i === marked.selected ? "#ffe08a" : i === marked.current ? "#d8ecff" : "";
    const hint = cut ? undefined : hints.find((h) => h.items.has(i));
    hints.forEach((h) => span.classList.toggle("padl-" + h.trait, h === hint));
    span.style.borderBottom = hint ? "2px dotted " + hint.color : "";
    span.title = hint ? hint.title : "";
  };
  const repaint = () => spans.forEach((_, i) => paint(i));
  const draw = () => {
    const words = document.createDocumentFragment();
    spans = model.get("tokens").map((text, i) => {
      const span = document.createElement("span");
      span.textContent = text; span.dataset.index = i; span.className = "padl-word";
      span.style.cursor = "pointer"; span.style.padding = "1px 2px"; span.style.borderRadius = "3px";
      words.append(span, " ");
      return span;
    });
    box.replaceChildren(words);
    repaint();
  };
  const follow = (i) => {  // keep the word being played in view
    const span = spans[i];
    if (!span) return;
    const word = span.getBoundingClientRect(), view = box.getBoundingClientRect();
    if (word.top < view.top || word.bottom > view.bottom) box.scrollTop += word.top - view.top - view.height / 3;
  };
  const mark = (key) => {
    const before = marked[key];
    marked[key] = model.get(key);
    paint(before); paint(marked[key]);
    if (key === "current") follow(marked[key]);
  };
  box.addEventListener("click", (event) => {
    const index = event.target.dataset ? event.target.dataset.index : undefined;
    if (index !== undefined) {
      model.set("selected", Number(index)); model.save_changes();
      model.send({ clicked: Number(index) });  // every click seeks, also on the word already selected
    }
  });
  model.on("change:tokens", draw);
  model.on("change:kept", () => { kept = new Set(model.get("kept")); repaint(); });
  hints.forEach((h) => model.on("change:" + h.trait, () => { h.items = new Set(model.get(h.trait)); repaint(); }));
  model.on("change:selected", () => mark("selected"));
  model.on("change:current", () => mark("current"));
  kept = new Set(model.get("kept"));
  hints.forEach((h) => { h.items = new Set(model.get(h.trait)); });
  marked.selected = model.get("selected"); marked.current = model.get("current");
  draw();
}
export default { render };
"""

class TranscriptView(anywidget.AnyWidget):
    """Transcript items as clickable words; cut items struck through; kept fillers and false starts
    (`disfluent`) and words said again (`repeated`) underlined; `selected` follows clicks."""

    _esm = _VIEW_ESM
    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    kept = traitlets.List(traitlets.Int()).tag(sync=True)
    disfluent = traitlets.List(traitlets.Int()).tag(sync=True)
    repeated = traitlets.List(traitlets.Int()).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    current = traitlets.Int(-1).tag(sync=True)


def _button(description: str, icon: str = "", tooltip: str = "") -> W.Button:
    button = W.Button(description=description, icon=icon, tooltip=tooltip or description,
                      layout=W.Layout(width="auto"))
    button.add_class("padl-" + description.lower().replace(" ", "-"))
    return button


class TranscriptEditor:
    """The app: widgets plus the callbacks that drive the video library."""

    def __init__(self) -> None:
        self.project: Project | None = None
        self.audio = None
        self.edits: EditList | None = None
        self.choice = W.Dropdown(options=[(SAMPLES[k][0], k) for k in SAMPLES] + [("My upload", "upload")],
                                 description="Lecture", style={"description_width": "initial"})
        self.about = W.HTML()
        self.upload = LargeFileUpload(accept="video/*,audio/*", description="Upload")
        self.load_button = _button("Load", "folder-open", "load and transcribe the chosen lecture")
        self.progress = ProgressBar()
        self.player = MediaPlayer()
        self.result_player = MediaPlayer()
        self.view = TranscriptView()
        self.text = W.Textarea(layout=W.Layout(width="100%", height="120px"), continuous_update=True)
        self.text.add_class("padl-edit-text")
        self.apply_button = _button("Apply edit", "check")
        self.fillers_button = _button("Remove fillers", "eraser", "'um', 'uh' and false starts ('bee- been')")
        self.repeats_button = _button("Remove repeats", "clone", "words said again right after ('the the'); "
                                      "'had had' stays")
        self.pauses_button = _button("Shorten pauses", "compress", "every longer pause to the length beside")
        self.pause_seconds = W.BoundedFloatText(value=0.3, min=0.0, max=10.0, step=0.1, description="to (s)",
                                                style={"description_width": "initial"}, layout=W.Layout(width="110px"))
        self.undo_button, self.redo_button = _button("Undo", "undo"), _button("Redo", "repeat")
        self.reset_button = _button("Reset", "refresh", "back to the full transcript")
        self.preview_button = _button("Preview", "play", "play the edit around the selected word")
        self.render_button = _button("Render", "film")
        self.transition = W.Dropdown(options=["none", "dissolve", "morph"], value="none", description="Jump cuts",
                                     layout=W.Layout(width="200px"))
        self.summary = W.HTML()
        self.summary.add_class("padl-edit-summary")
        self.download = DownloadLink()
        controls = [self.apply_button, self.fillers_button, self.repeats_button, self.pauses_button, self.pause_seconds,
                    self.undo_button, self.redo_button, self.reset_button, self.preview_button, self.transition,
                    self.render_button]
        body = [W.HBox([self.choice, self.upload, self.load_button]), self.about, self.progress,
                W.HBox([W.VBox([W.HTML("<b>Source</b>"), self.player], layout=W.Layout(width="50%")),
                        W.VBox([W.HTML("<b>Edited</b>"), self.result_player], layout=W.Layout(width="50%"))]),
                W.HTML("<b>Transcript</b> (click a word to seek)"), self.view,
                W.HTML("<b>Your edit</b> (delete, move or copy words; shorten <code>[pause]</code> tokens)"),
                self.text, W.HBox(controls, layout=W.Layout(flex_flow="row wrap")), self.summary, self.download]
        self.shell = AppShell("Transcript editor",
                              "Edit a lecture recording by editing its transcript: what you delete from the text "
                              "is cut from the video, seamlessly.", body)
        self._wire()
        self._describe()

    # --- wiring -----------------------------------------------------------------------------
    def _wire(self) -> None:
        self.choice.observe(lambda _: self._describe(), "value")
        self.upload.observe(self._on_upload, "saved")
        self.load_button.on_click(self._guard(self.load, needs_project=False))
        self.view.on_msg(self._on_click)
        self.text.observe(self._offer_history, "value")
        self.player.observe(self._on_time, "current_time")
        self.apply_button.on_click(self._guard(lambda: self._change(self.project.edit(self.text.value))))
        self.fillers_button.on_click(self._guard(lambda: self._one_click(self.project.remove_fillers,
                                                                          "No fillers left to remove.")))
        self.repeats_button.on_click(self._guard(lambda: self._one_click(self.project.remove_repeats,
                                                                          "No words said again left to remove.")))
        self.pauses_button.on_click(self._guard(self._shorten_pauses))
        self.undo_button.on_click(self._guard(self._undo))
        self.redo_button.on_click(self._guard(self._redo))
        self.reset_button.on_click(self._guard(lambda: self._change(self.project.reset())
                                               or self.shell.status.set("Already the full transcript.")))
        self.preview_button.on_click(self._guard(self.preview))
        self.render_button.on_click(self._guard(self.render))

    def _guard(self, action, needs_project: bool = True):
        def run(*_):
            try:
                if needs_project and self.project is None:
                    raise ValueError("load a lecture first")
                action()
            except Exception as exc:  # noqa: BLE001 - the app shows every failure to the user
                self.shell.status.error(exc)
        return run

    def _describe(self) -> None:
        key = self.choice.value
        if key == "upload":
            self.about.value = "<i>Your own recording: any audio or video file FFmpeg reads.</i>"
        else:
            title, description, license_ = SAMPLES[key]
            self.about.value = f"<i>{html.escape(description)} License: {html.escape(license_)}.</i>"

    def _on_upload(self, change) -> None:
        if change["new"] is not None:
            self.choice.value = "upload"
            self.shell.status.set(f"Uploaded {change['new'].name}: press Load to transcribe it.", "ok")

    # --- actions ----------------------------------------------------------------------------
    def _media(self) -> Path:
        if self.choice.value == "upload":
            if self.upload.saved is None:
                raise ValueError("choose a file with the Upload button first, and wait until it has arrived")
            return self.upload.saved
        return sample(self.choice.value, progress=self.progress).path

    def load(self) -> None:
        """Load the chosen lecture: resume its project or transcribe it. A lecture that fails to
        load (unreadable, no speech) leaves the one loaded before as it was."""
        media = self._media()
        self.shell.status.set(f"Loading {media.name} …")
        path = project_path(media)
        try:
            saved = Project.load(path, verify=False) if path.is_file() else None
        except ProjectError:  # unreadable: Project.open below keeps it aside, with a warning
            saved = None
        notes: list[str] = []
        if saved is not None and saved.transcript.checksum == sha256_file(media):
            project = saved
        else:  # new media, or the file changed since: Project.open keeps an older session aside
            from padl_lib.video.pipeline import transcribe

            self.shell.status.set(f"Transcribing {media.name} …")
            self.progress(0, 1, "transcribing")  # not the last action's full bar while the audio is read
            transcript, notes = _noted(lambda: transcribe(media, progress=self.progress))
            if not transcript.spoken():
                raise ValueError(f"no speech was found in {media.name}: is it the right file, and is the speech "
                                 f"English (the bundled recognizer knows English only)?")
            project, opening = _noted(lambda: Project.open(transcript, path))
            notes += opening
        audio, sound = _noted(lambda: load_audio(media, track=project.transcript.audio_track))
        notes = list(dict.fromkeys(notes + sound))  # a damaged recording: also when a session resumes
        project.use_sound(audio, recording_length(media, audio))
        self.project, self.audio = project, audio
        self.player.load(media)
        self.result_player.clear()  # the last lecture's edits are off offer (`_change` clears the download)
        self.view.tokens = [w.token for w in project.transcript.words]
        self.view.disfluent, self.view.repeated = project.disfluencies(), project.repeats()
        self.view.selected = -1
        self._change(True)
        words = len(project.transcript.spoken())
        ready = f"Transcript ready: {words} words of {media.name}."
        self.shell.status.set(" Note: ".join([ready, *notes]), "warn" if notes else "ok")

    def _undo(self) -> None:
        """Undo typing not yet applied, else the last edit."""
        if self.text.value != self.project.text:
            self.text.value = self.project.text
            self.shell.status.set("Typed changes undone.")
        elif not self._change(self.project.undo()):
            self.shell.status.set("Nothing to undo.")

    def _redo(self) -> None:
        """Redo the last undone edit. Typed text not yet applied stays as it is: applying it first
        (a new edit) would end the history there is to redo."""
        if self.text.value != self.project.text:
            self.shell.status.set("Your typed changes are not applied: apply them (a new edit ends what there is to "
                                  "redo) or undo them, then press Redo.", "warn")
        elif not self._change(self.project.redo()):
            self.shell.status.set("Nothing to redo.")

    def _one_click(self, edit, unchanged: str) -> None:
        """Apply typed text, then a one-click edit; say so when it found nothing to change."""
        self._sync()
        changed = edit()
        self._change(changed)
        if not changed:
            self.shell.status.set(unchanged)

    def _shorten_pauses(self) -> None:
        seconds = self.pause_seconds.value
        self._one_click(lambda: self.project.shorten_pauses(seconds), f"No pause longer than {seconds:g} s left.")

    def _sync(self) -> None:
        """Take typed but not yet applied text into the project first."""
        self.project.edit(self.text.value)

    def _change(self, changed: bool) -> bool:
        """Show the project's current text and its cut list; return `changed`."""
        self.text.value = self.project.text
        self._offer_history()
        try:
            self.edits = self.project.edit_list()
        except EditError:  # a session saved by an older padl, or a hand-edited project file
            self.edits = None
            self.view.kept = list(range(len(self.project.transcript.words)))
            self.summary.value = ("<span style='color:#b00020'>This text cannot be cut from the recording (see the "
                                  "message above): correct it and apply it, or Undo, or Reset.</span>")
            raise
        self.view.kept = sorted(self.edits.kept_items())
        source = self.edits.source_duration
        rough = rough_cuts(self.edits, self.audio)
        warning = (f" <span style='color:#b35c00'>{len(rough)} cut(s) in sound rather than silence, at "
                   f"{', '.join(f'{t:.1f}' for t in rough)} s of the output: preview them.</span>" if rough else "")
        self.summary.value = (f"Edit: <b class='padl-edit-seconds'>{self.edits.duration:.2f}</b> s of {source:.2f} s, "
                              f"{len(self.edits.spans) - 1} cut(s); {len(self.project.undo_stack)} undo step(s)."
                              + warning)
        if changed:
            self.download.clear()  # a render of the text before this edit: render again to download
            self.shell.status.set(f"Edit applied: {self.edits.duration:.2f} s.")
        return changed

    def _offer_history(self, _change=None) -> None:
        """Enable Undo while there is an edit or typed text not yet applied to undo, Redo while
        there is an undone edit."""
        if self.project is not None:
            self.undo_button.disabled = not self.project.undo_stack and self.text.value == self.project.text
            self.redo_button.disabled = not self.project.redo_stack

    def _on_click(self, _view, message: dict, _buffers) -> None:
        """A click on a word (sent on every click: clicking the selected word again seeks again)."""
        index = message.get("clicked", -1) if isinstance(message, dict) else -1
        if self.project is not None and 0 <= index < len(self.project.transcript.words):
            self.player.seek(self.project.transcript.words[index].start)

    def _on_time(self, change) -> None:
        if self.project is not None:
            index = self.project.transcript.index_at(change["new"])
            self.view.current = -1 if index is None else index

    def _output(self, name: str) -> Path:
        """A render of the loaded lecture: one file per recording (two uploads may share a name)."""
        media = self.project.media
        return work_dir() / "renders" / f"{media.stem}-{media_digest(media)}-{name}.mp4"

    def preview(self) -> None:
        """Render and play a few seconds of the edit around the selected word."""
        self._sync()
        self._change(False)
        index = self.view.selected
        at = self.edits.item_time(self.project.transcript, index) if index >= 0 else 0.0
        if at is None:
            raise ValueError("the selected word is cut from the edit; select a kept word to preview")
        spans = self.edits.source_spans(max(0.0, at - PREVIEW_SECONDS), at + PREVIEW_SECONDS)
        self.progress(0, 1, "render")
        result, notes = _noted(lambda: render(self.project.media, spans, self._output("preview"),
                                              transition=self.transition.value, draft=True,
                                              audio_track=self.project.transcript.audio_track, progress=self.progress))
        self.result_player.load(result.path)
        self.result_player.play(0.0)
        where = "around the selected word" if index >= 0 else "from the start (select a word to preview around it)"
        self.shell.status.set(" Note: ".join([f"Preview: {result.duration:.2f} s {where}.", *notes]),
                              "warn" if notes else "ok")

    def render(self) -> None:
        """Render the whole edit into the work folder and offer it for download."""
        self._sync()
        self._change(False)
        self.shell.status.set("Rendering …")
        self.progress(0, 1, "render")  # not the last action's full bar while the sound is decoded
        output = self._output("edited")
        result, notes = _noted(lambda: render(self.project.media, self.edits.source_spans(), output,
                                              transition=self.transition.value,
                                              audio_track=self.project.transcript.audio_track, progress=self.progress))
        self.result_player.load(result.path)
        self.download.load(result.path)
        self.shell.status.set(" Note: ".join([f"Rendered {result.duration:.2f} s to {result.path}", *notes]),
                              "warn" if notes else "ok")


def _noted(action: Callable[[], T]) -> tuple[T, list[str]]:
    """`action()`, and the warnings it gave, once each: what the CLI prints, the user sees here."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = action()
    return result, list(dict.fromkeys(str(w.message) for w in caught))


def transcript_editor() -> AppShell:
    """Build the app and return its shell (the notebook's last cell displays it)."""
    return TranscriptEditor().shell
