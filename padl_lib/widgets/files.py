"""File uploads that can only ever write inside padl's work folder."""
from __future__ import annotations

import filecmp
import os
import re
import unicodedata
from pathlib import Path
from typing import BinaryIO

import anywidget
import ipywidgets as W
import traitlets

from padl_lib.io import part_file
from padl_lib.settings import work_dir

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 150  # characters of an upload's name: files named after it (.part, -2, projects, renders) stay under 255


def upload_target(name: str, folder: str = "uploads") -> Path:
    """Where an upload called `name` goes: work_dir()/folder with a sanitized file name.

    Directory parts and odd characters of `name` are dropped (accented letters lose their
    accents: "Übung" becomes "Ubung"), so an upload can never escape the work folder or overwrite
    anything outside it. A name longer than MAX_NAME characters is shortened, keeping its suffix.
    """
    name = unicodedata.normalize("NFKD", Path(name.replace("\\", "/")).name)
    base = _SAFE.sub("_", "".join(c for c in name if not unicodedata.combining(c))).lstrip(".") or "upload"
    if len(base) > MAX_NAME:
        suffix = Path(base).suffix if len(Path(base).suffix) <= 10 else ""
        base = base[:MAX_NAME - len(suffix)] + suffix
    target_dir = (work_dir() / folder).resolve()
    target = (target_dir / base).resolve()
    if target.parent != target_dir:
        raise ValueError(f"invalid upload name {name!r}")
    target_dir.mkdir(parents=True, exist_ok=True)
    return target


def keep_upload(part: Path, target: Path) -> Path:
    """Move a finished upload (`part`, in the target's folder) into place without replacing
    another file: the same content reuses the file already there, other content of the same name
    becomes `name-2.ext`, `name-3.ext`, ... (a user's earlier upload, and the edits kept beside
    it, stay as they are)."""
    candidate, n = target, 1
    while candidate.exists():
        if filecmp.cmp(candidate, part, shallow=False):
            part.unlink()
            return candidate
        n += 1
        candidate = target.with_name(f"{target.stem}-{n}{target.suffix}")
    os.replace(part, candidate)
    return candidate


def save_upload(name: str, content: bytes, folder: str = "uploads") -> Path:
    """Save uploaded bytes under `upload_target(name, folder)` (`keep_upload` picks the name)."""
    target = upload_target(name, folder)
    part = part_file(target)
    part.write_bytes(bytes(content))
    return keep_upload(part, target)


class UploadToWorkFolder(W.FileUpload):
    """A FileUpload whose files are saved into the work folder; `saved` lists their paths."""

    def __init__(self, accept: str = "", multiple: bool = False, folder: str = "uploads", **kwargs) -> None:
        super().__init__(accept=accept, multiple=multiple, **kwargs)
        self.folder = folder
        self.saved: list[Path] = []

    def save(self) -> list[Path]:
        """Write the current uploads to disk and return their paths."""
        self.saved = [save_upload(f["name"], f["content"], self.folder) for f in self.value]
        return self.saved


_CHUNKED_ESM = """
function render({ model, el }) {
  const input = document.createElement("input");
  input.type = "file"; input.accept = model.get("accept"); input.style.display = "none";
  const button = document.createElement("button");
  button.className = "jupyter-button widget-upload padl-upload";
  const label = () => {
    const name = model.get("filename"), size = model.get("size"), got = model.get("received");
    button.textContent = !name ? model.get("description")
      : got < size ? `${name}: ${Math.floor(100 * got / size)} %` : `${name} ✓`;
  };
  let acknowledged = null;  // resolves when the kernel has written the last chunk sent
  model.on("msg:custom", (msg) => { if (msg.event === "ack" && acknowledged) acknowledged(); });
  const sendChunk = (offset, data) => new Promise((resolve) => {
    acknowledged = resolve;
    model.send({ event: "chunk", offset }, undefined, [data]);
  });
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    button.disabled = true;
    model.send({ event: "start", name: file.name, size: file.size });
    const step = model.get("chunk_bytes");
    for (let offset = 0; offset < file.size; offset += step) {
      await sendChunk(offset, await file.slice(offset, offset + step).arrayBuffer());
    }
    model.send({ event: "end" });
    button.disabled = false; input.value = "";
  });
  button.addEventListener("click", () => input.click());
  ["filename", "size", "received", "description"].forEach(k => model.on("change:" + k, label));
  label();
  el.appendChild(button); el.appendChild(input);
}
export default { render };
"""


class LargeFileUpload(anywidget.AnyWidget):
    """Upload one file of any size into the work folder, in chunks with the kernel acknowledging
    each (Jupyter's websocket refuses a message over 10 MiB, so a lecture video cannot go in
    one piece as ipywidgets' FileUpload sends it). The file appears atomically when complete;
    `saved` is its path, `received`/`size` the bytes so far and in all."""

    _esm = _CHUNKED_ESM
    accept = traitlets.Unicode("").tag(sync=True)
    description = traitlets.Unicode("Upload").tag(sync=True)
    chunk_bytes = traitlets.Int(4 << 20).tag(sync=True)
    filename = traitlets.Unicode("").tag(sync=True)
    size = traitlets.Int(0).tag(sync=True)
    received = traitlets.Int(0).tag(sync=True)
    saved = traitlets.Instance(Path, allow_none=True)

    def __init__(self, folder: str = "uploads", **kwargs) -> None:
        super().__init__(**kwargs)
        self.folder = folder
        self._part: tuple[Path, BinaryIO, Path] | None = None  # (final path, open .part file, its path)
        self.on_msg(self._on_message)

    def _on_message(self, _widget, content: dict, buffers: list) -> None:
        event = content.get("event")
        if event == "start":
            self._discard()
            target = upload_target(content["name"], self.folder)
            part = part_file(target)
            self._part = (target, part.open("wb"), part)
            self.saved, self.filename, self.size, self.received = None, target.name, int(content["size"]), 0
        elif event == "chunk" and self._part is not None:
            self._part[1].write(buffers[0])
            self.received += len(buffers[0])
            self.send({"event": "ack"})
        elif event == "end" and self._part is not None:
            target, file, part = self._part
            file.close()
            self._part = None
            self.saved = keep_upload(part, target)
            self.filename = self.saved.name

    def _discard(self) -> None:
        """Drop an unfinished upload (its .part file)."""
        if self._part is not None:
            self._part[1].close()
            self._part[2].unlink(missing_ok=True)
            self._part = None
