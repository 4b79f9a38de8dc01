"""Media in the browser: a player whose playback position is synced with Python both ways, and a
download link.

The browser fetches the file over HTTP from padl's Jupyter server extension
(`padl_lib.media_server`), with range requests: playback starts at once, and a seek fetches
only what it shows, however long the lecture. Where the server lacks the extension, the file
reaches the browser streamed through the kernel in chunks (`send_file`), not as one synced
value: the kernel never holds a whole lecture video in memory, and no message grows with it."""
from __future__ import annotations

import mimetypes
from pathlib import Path

import anywidget
import traitlets

from padl_lib.media_server import publish

CHUNK_BYTES = 4 << 20
__all__ = ["MediaPlayer", "DownloadLink", "send_file", "CHUNK_BYTES"]

# showFile(model, onFile) calls onFile(src, name) with the file's address on padl's media server
# (the synced `url`, relative to the Jupyter server's base URL) once a HEAD request finds it there;
# otherwise it asks the kernel to stream the file and calls onFile with a blob URL of the copy;
# without a file, onFile("", "").
# It returns the view's clean-up.
_SHOW_FILE_JS = """
function showFile(model, onFile) {
  let parts = null, meta = null, streamed = null;
  model.on("msg:custom", (msg, buffers) => {
    if (msg.event === "file-begin") { parts = []; meta = msg; }
    else if (msg.event === "file-chunk" && parts) parts.push(buffers[0]);
    else if (msg.event === "file-end" && parts) {
      if (streamed) URL.revokeObjectURL(streamed);
      streamed = URL.createObjectURL(new Blob(parts, { type: meta.mime }));
      parts = null;
      onFile(streamed, meta.name);
    }
  });
  const fallBack = () => model.send({ event: "want-file" });
  const baseUrl = () => {
    const config = document.getElementById("jupyter-config-data");
    try { return config ? JSON.parse(config.textContent).baseUrl : null; } catch (e) { return null; }
  };
  const show = () => {
    if (!model.get("name")) { onFile("", ""); return; }  // no file (yet, or no longer)
    const url = model.get("url"), base = baseUrl();
    if (!url || !base) { fallBack(); return; }
    const src = new URL(url, new URL(base, window.location.href)).href;
    const current = () => model.get("url") === url;  // not overtaken by a later file
    fetch(src, { method: "HEAD" })
      .then((r) => { if (current()) r.ok ? onFile(src, model.get("name")) : fallBack(); })
      .catch(() => { if (current()) fallBack(); });
  };
  model.on("change:url", show);
  model.on("change:name", () => { if (!model.get("name")) show(); });  // cleared where `url` was "" already
  show();
  return () => { if (streamed) URL.revokeObjectURL(streamed); };  // frees a streamed copy
}
"""

_PLAYER_ESM = _SHOW_FILE_JS + """
function render({ model, el }) {
  const video = document.createElement("video");
  video.controls = true;
  video.classList.add("padl-media");
  video.style.width = "100%";
  video.style.maxHeight = "420px";
  const seek = () => {
    const t = model.get("seek_to");
    if (t >= 0 && Math.abs(video.currentTime - t) > 0.02) video.currentTime = t;
  };
  const stopAt = () => {
    const end = model.get("stop_at");
    if (end > 0 && video.currentTime >= end) { video.pause(); model.set("stop_at", -1); model.save_changes(); }
  };
  let loading = true, playWhenLoaded = false;  // a play request waits for the file it was made for
  const play = () => { seek(); video.play().catch(() => {}); };
  const cleanUp = showFile(model, (src) => {
    if (src) video.src = src;
    else if (video.hasAttribute("src")) { video.removeAttribute("src"); video.load(); }
    loading = false;
    if (playWhenLoaded) { playWhenLoaded = false; play(); }
  });
  model.on("change:url", () => { loading = true; });
  model.on("change:seek_to", seek);
  model.on("change:play_request", () => { if (loading) playWhenLoaded = true; else play(); });
  video.addEventListener("timeupdate", () => {
    stopAt();
    model.set("current_time", video.currentTime);
    model.save_changes();
  });
  video.addEventListener("loadedmetadata", () => {
    model.set("duration", video.duration);
    model.save_changes();
    seek();
  });
  el.appendChild(video);
  return cleanUp;
}
export default { render };
"""

_DOWNLOAD_ESM = _SHOW_FILE_JS + """
function render({ model, el }) {
  const a = document.createElement("a");
  a.classList.add("padl-download"); a.textContent = "";
  const cleanUp = showFile(model, (src, name) => {
    if (src) { a.href = src; a.download = name; a.textContent = "Download " + name; }
    else { a.removeAttribute("href"); a.removeAttribute("download"); a.textContent = ""; }
  });
  el.appendChild(a);
  return cleanUp;
}
export default { render };
"""


def send_file(widget: anywidget.AnyWidget, path: Path) -> None:
    """Stream the file at `path` to the widget's views: a begin message (name, MIME type, size),
    chunks of CHUNK_BYTES, an end message."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    widget.send({"event": "file-begin", "name": path.name, "mime": mime, "size": path.stat().st_size})
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            widget.send({"event": "file-chunk"}, [chunk])
    widget.send({"event": "file-end"})


class _FileWidget(anywidget.AnyWidget):
    """A widget showing one file: served over HTTP when padl's media server runs, else streamed
    with `send_file` to every view that asks."""

    url = traitlets.Unicode("").tag(sync=True)  # on padl's media server, relative to the base URL
    name = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path: Path | None = None
        self.on_msg(self._on_message)

    def load(self, path: str | Path) -> None:
        """Show the file at `path`."""
        self.path = Path(path)
        self.name = self.path.name
        try:
            self.url = publish(self.path)
        except OSError:  # no writable work folder to link it from: stream it
            self.url = ""
            send_file(self, self.path)

    def clear(self) -> None:
        """Show no file."""
        self.path = None
        with self.hold_sync():
            self.name, self.url = "", ""

    def _on_message(self, _widget, content: dict, _buffers: list) -> None:
        if content.get("event") == "want-file" and self.path is not None:
            send_file(self, self.path)


class MediaPlayer(_FileWidget):
    """Plays a video or audio file; `seek(t)` jumps, `current_time` follows playback."""

    _esm = _PLAYER_ESM
    seek_to = traitlets.Float(-1.0).tag(sync=True)
    stop_at = traitlets.Float(-1.0).tag(sync=True)
    play_request = traitlets.Int(0).tag(sync=True)
    current_time = traitlets.Float(0.0).tag(sync=True)
    duration = traitlets.Float(0.0).tag(sync=True)

    def seek(self, seconds: float) -> None:
        """Move the playhead to `seconds`."""
        self.seek_to = -1.0  # re-trigger even when seeking to the same place twice
        self.seek_to = float(seconds)

    def play(self, start: float, end: float | None = None) -> None:
        """Play from `start`, pausing at `end` when given (a preview of a span)."""
        self.seek(start)
        self.stop_at = float(end) if end is not None else -1.0
        self.play_request += 1


class DownloadLink(_FileWidget):
    """A link that saves the file in the browser ("Download NAME")."""

    _esm = _DOWNLOAD_ESM
