"""Media in the browser: a player whose playback position is synced with Python both ways, and a
download link. Files reach the browser streamed in chunks (`send_file`), not as one synced
value: the kernel never holds a whole lecture video in memory, and no message grows with it."""
from __future__ import annotations

import mimetypes
from pathlib import Path

import anywidget
import traitlets

CHUNK_BYTES = 4 << 20
__all__ = ["MediaPlayer", "DownloadLink", "send_file", "CHUNK_BYTES"]

# receiveFile(model, onFile): collects a file that `send_file` streams and calls onFile(blob URL,
# {name, mime, size}) when it is complete; asks the kernel for the current file when a view opens.
_RECEIVE_FILE_JS = """
function receiveFile(model, onFile) {
  let parts = null, meta = null;
  model.on("msg:custom", (msg, buffers) => {
    if (msg.event === "file-begin") { parts = []; meta = msg; }
    else if (msg.event === "file-chunk" && parts) parts.push(buffers[0]);
    else if (msg.event === "file-end" && parts) {
      onFile(URL.createObjectURL(new Blob(parts, { type: meta.mime })), meta);
      parts = null;
    }
  });
  model.send({ event: "want-file" });
}
"""

_PLAYER_ESM = _RECEIVE_FILE_JS + """
function render({ model, el }) {
  const video = document.createElement("video");
  video.controls = true;
  video.classList.add("padl-media");
  video.style.width = "100%";
  video.style.maxHeight = "420px";
  let url = null;
  const seek = () => {
    const t = model.get("seek_to");
    if (t >= 0 && Math.abs(video.currentTime - t) > 0.02) video.currentTime = t;
  };
  const stopAt = () => {
    const end = model.get("stop_at");
    if (end > 0 && video.currentTime >= end) { video.pause(); model.set("stop_at", -1); model.save_changes(); }
  };
  receiveFile(model, (blobUrl) => { if (url) URL.revokeObjectURL(url); url = blobUrl; video.src = url; });
  model.on("change:seek_to", seek);
  model.on("change:play_request", () => { seek(); video.play().catch(() => {}); });
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
  return () => { if (url) URL.revokeObjectURL(url); };
}
export default { render };
"""

_DOWNLOAD_ESM = _RECEIVE_FILE_JS + """
function render({ model, el }) {
  const a = document.createElement("a");
  a.classList.add("padl-download"); a.textContent = "";
  let url = null;
  receiveFile(model, (blobUrl, meta) => {
    if (url) URL.revokeObjectURL(url);
    url = blobUrl; a.href = url; a.download = meta.name; a.textContent = "Download " + meta.name;
  });
  el.appendChild(a);
  return () => { if (url) URL.revokeObjectURL(url); };
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
    """A widget showing one file, sent with `send_file` now and to every view that opens later."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path: Path | None = None
        self.on_msg(self._on_message)

    def load(self, path: str | Path) -> None:
        """Show the file at `path`."""
        self.path = Path(path)
        send_file(self, self.path)

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
