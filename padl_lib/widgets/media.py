"""An HTML5 media player widget whose playback position is synced with Python both ways."""
from __future__ import annotations

import mimetypes
from pathlib import Path

import anywidget
import traitlets

_ESM = """
function render({ model, el }) {
  const video = document.createElement("video");
  video.controls = true;
  video.classList.add("padl-media");
  video.style.width = "100%";
  video.style.maxHeight = "420px";
  let url = null;
  const load = () => {
    if (url) URL.revokeObjectURL(url);
    const data = model.get("value");
    if (!data || data.byteLength === 0) { video.removeAttribute("src"); return; }
    url = URL.createObjectURL(new Blob([data], { type: model.get("mime") }));
    video.src = url;
  };
  const seek = () => {
    const t = model.get("seek_to");
    if (t >= 0 && Math.abs(video.currentTime - t) > 0.02) video.currentTime = t;
  };
  const stopAt = () => {
    const end = model.get("stop_at");
    if (end > 0 && video.currentTime >= end) { video.pause(); model.set("stop_at", -1); model.save_changes(); }
  };
  model.on("change:value", load);
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
  load();
  el.appendChild(video);
  return () => { if (url) URL.revokeObjectURL(url); };
}
export default { render };
"""


class MediaPlayer(anywidget.AnyWidget):
    """Plays a video or audio file; `seek(t)` jumps, `current_time` follows playback."""

    _esm = _ESM
    value = traitlets.Bytes(b"").tag(sync=True)
    mime = traitlets.Unicode("video/mp4").tag(sync=True)
    seek_to = traitlets.Float(-1.0).tag(sync=True)
    stop_at = traitlets.Float(-1.0).tag(sync=True)
    play_request = traitlets.Int(0).tag(sync=True)
    current_time = traitlets.Float(0.0).tag(sync=True)
    duration = traitlets.Float(0.0).tag(sync=True)

    def load(self, path: str | Path) -> None:
        """Show the media file at `path`."""
        path = Path(path)
        self.mime = mimetypes.guess_type(path.name)[0] or "video/mp4"
        self.value = path.read_bytes()

    def seek(self, seconds: float) -> None:
        """Move the playhead to `seconds`."""
        self.seek_to = -1.0  # re-trigger even when seeking to the same place twice
        self.seek_to = float(seconds)

    def play(self, start: float, end: float | None = None) -> None:
        """Play from `start`, pausing at `end` when given (a preview of a span)."""
        self.seek(start)
        self.stop_at = float(end) if end is not None else -1.0
        self.play_request += 1
