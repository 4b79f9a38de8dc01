"""File upload that can only ever write inside padl's work folder."""
from __future__ import annotations

import re
from pathlib import Path

import ipywidgets as W

from padl_lib.io import write_bytes_atomic
from padl_lib.settings import work_dir

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def save_upload(name: str, content: bytes, folder: str = "uploads") -> Path:
    """Save uploaded bytes under work_dir()/folder with a sanitized file name.

    Directory parts and odd characters of `name` are dropped, so an upload can never
    escape the work folder or overwrite anything outside it.
    """
    base = _SAFE.sub("_", Path(name.replace("\\", "/")).name).lstrip(".") or "upload"
    target_dir = (work_dir() / folder).resolve()
    target = (target_dir / base).resolve()
    if target.parent != target_dir:
        raise ValueError(f"invalid upload name {name!r}")
    return write_bytes_atomic(target, bytes(content))


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
