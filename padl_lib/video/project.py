"""The editing session: transcript, the current edited text and its undo/redo history.

Every change is saved at once (autosave, atomically) to a project file next to the media
(``<stem>.padlproj.json``, or ``<name>.padlproj.json`` beside another recording of that stem);
media in system, read-only or cache folders (the bundled samples) keep their project in the work
folder instead. Opening the same media again resumes the session.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from padl_lib.io import atomic_path
from padl_lib.settings import cache_dir, work_dir
from padl_lib.video.edit import (EditError, EditList, edit_list, remove_fillers, remove_repeats, shorten_pauses,
                                 transcript_fillers)
from padl_lib.video.transcript import Transcript, TranscriptError, beside_media

FORMAT = "padl-video-project"
FORMAT_VERSION = 2  # 2: undo/redo entries saved as changes to their neighbours, not whole texts
READABLE_VERSIONS = (1, 2)
HISTORY_LIMIT = 200
SYSTEM_PREFIXES = ("/usr", "/opt", "/bin", "/lib", sys.prefix, sys.base_prefix)
__all__ = ["Project", "ProjectError", "project_path", "media_digest"]


class ProjectError(ValueError):
    """A project file is malformed, of another version, or belongs to other media."""


def project_path(media: str | os.PathLike) -> Path:
    """Where the project of `media` lives: beside it, or in the work folder for media in system,
    read-only or cache folders (e.g. the bundled samples)."""
    media = Path(media).resolve()
    folder = media.parent
    elsewhere = (*SYSTEM_PREFIXES, str(cache_dir().resolve()))
    if os.access(folder, os.W_OK) and not any(str(folder).startswith(p) for p in elsewhere if p):
        return beside_media(media, ".padlproj.json", lambda doc: doc["transcript"]["media"])
    return work_dir() / "projects" / f"{media.stem}-{media_digest(media)}.padlproj.json"


def media_digest(media: str | os.PathLike) -> str:
    """A short name for the recording at a path: files of the work folder made for it carry it
    (two recordings of one name keep theirs apart)."""
    return hashlib.sha256(str(Path(media).resolve()).encode()).hexdigest()[:8]


@dataclass
class Project:
    """An editing session of one media file; every change is autosaved to `path`."""

    transcript: Transcript
    text: str
    path: Path
    undo_stack: list[str] = field(default_factory=list)
    redo_stack: list[str] = field(default_factory=list)
    autosave: bool = True
    _on_disk: tuple[int, int] | None = field(default=None, repr=False, compare=False)  # the file as last read/written
    _sound: tuple[np.ndarray | None, float | None] = field(default=(None, None), repr=False, compare=False)
    _cut: tuple[str, EditList] | None = field(default=None, repr=False, compare=False)  # the last text's cut list

    @property
    def media(self) -> Path:
        return Path(self.transcript.media)

    # --- sessions ---------------------------------------------------------------------------
    @classmethod
    def open(cls, transcript: Transcript, path: str | os.PathLike | None = None) -> "Project":
        """Resume the saved session of the transcript's media, or start a new one.

        A project saved for other content of the media (the file changed), with another
        transcript of it (transcribed again, e.g. with a script) or that cannot be read (cut
        short, of a newer padl) is kept as ``<stem>.old.padlproj.json`` (``.old-2``, ``.old-3``,
        ... after further changes), with a warning, and a new session starts.
        """
        path = Path(path) if path is not None else project_path(transcript.media)
        if path.is_file():
            try:
                project = cls.load(path, verify=False)
                if project.transcript.checksum != transcript.checksum:
                    why = f"{transcript.media.name} changed since its editing session was saved"
                elif project.transcript.words != transcript.words:
                    why = f"{transcript.media.name} was transcribed again since its editing session was saved"
                else:
                    return project
            except ProjectError as exc:
                why = f"the editing session of {transcript.media.name} cannot be read ({exc})"
            aside = _set_aside_name(path)
            path.replace(aside)
            warnings.warn(f"{why}: that session is kept as {aside.name}, and a new one starts", stacklevel=2)
        project = cls(transcript=transcript, text=transcript.text(), path=path)
        project.save()
        return project

    @classmethod
    def load(cls, path: str | os.PathLike, verify: bool = True) -> "Project":
        """Read a project file (and check that its media is unchanged)."""
        path = Path(path)
        on_disk = _identity(path)  # before reading: a save in between shows as a change
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ProjectError(f"project file not found: {path}") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProjectError(f"{path} is not valid JSON: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ProjectError(f"{path} is not a padl video project")
        version = doc.get("version")
        if version not in READABLE_VERSIONS:
            raise ProjectError(f"{path}: project version {version!r} is not supported "
                               f"(this padl reads versions {', '.join(map(str, READABLE_VERSIONS))})")
        try:
            transcript = Transcript.from_dict(doc["transcript"], base=path.parent)
            text = doc["text"]
            if not isinstance(text, str):
                raise TypeError(f'"text" must be a string, not {text!r}')
            for key in ("undo", "redo"):
                if not isinstance(doc.get(key, []), list):
                    raise TypeError(f'"{key}" must be a list, not {doc[key]!r}')
            stacks = [[str(t) for t in doc.get(key, [])] if version == 1 else _history(text, doc.get(key, []))
                      for key in ("undo", "redo")]
            project = cls(transcript=transcript, text=text, path=path, undo_stack=stacks[0], redo_stack=stacks[1],
                          _on_disk=on_disk)
        except KeyError as exc:
            raise ProjectError(f"{path}: malformed project: it has no {exc}") from exc
        except (TypeError, ValueError, TranscriptError) as exc:
            raise ProjectError(f"{path}: malformed project: {exc}") from exc
        if verify:
            try:
                transcript.verify_media()
            except TranscriptError as exc:
                raise ProjectError(f"{path}: {exc}") from exc
        return project

    def save(self) -> Path:
        """Write the session atomically (never over the media); return the path."""
        doc = {"format": FORMAT, "version": FORMAT_VERSION,
               "transcript": self.transcript.to_dict(relative_to=self.path.parent),
               "text": self.text, "undo": _changes(self.text, self.undo_stack),
               "redo": _changes(self.text, self.redo_stack)}
        if self._on_disk is not None and _identity(self.path) not in (None, self._on_disk):
            raise ProjectError(f"{self.path} was saved by another editing session of {self.media.name} since this one "
                               f"last saved; open it again to continue from there (nothing was overwritten)")
        with atomic_path(self.path, protect=(self.media,)) as tmp:
            tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        self._on_disk = _identity(self.path)
        return self.path

    def _commit(self, text: str, undo: list[str], redo: list[str]) -> None:
        """Make `text` and the stacks the session's state and autosave it; a failed save
        leaves the session as it was."""
        before = self.text, self.undo_stack, self.redo_stack
        self.text, self.undo_stack, self.redo_stack = text, undo, redo
        if self.autosave:
            try:
                self.save()
            except BaseException:
                self.text, self.undo_stack, self.redo_stack = before
                raise

    # --- editing ----------------------------------------------------------------------------
    def edit(self, text: str) -> bool:
        """Make `text` the current edit (undoable); return False if nothing changed."""
        if text == self.text:
            return False
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate, pasted: it could never be saved
            raise ProjectError(f"the text holds a character that cannot be saved ({text[exc.start]!r} at "
                               f"{exc.start}); remove it") from exc
        self._cut_list(text)  # EditError, and nothing changes, if the recording holds no such cut
        self._commit(text, (self.undo_stack + [self.text])[-HISTORY_LIMIT:], [])
        return True

    def undo(self) -> bool:
        """Go back one edit; False if there is nothing to undo."""
        if not self.undo_stack:
            return False
        self._commit(self.undo_stack[-1], self.undo_stack[:-1], self.redo_stack + [self.text])
        return True

    def redo(self) -> bool:
        """Re-apply the last undone edit; False if there is nothing to redo."""
        if not self.redo_stack:
            return False
        self._commit(self.redo_stack[-1], self.undo_stack + [self.text], self.redo_stack[:-1])
        return True

    def reset(self) -> bool:
        """Back to the full transcript (undoable)."""
        return self.edit(self.transcript.text())

    def remove_fillers(self) -> bool:
        """One click: drop every filler from the current text (the usual spellings and every
        word the transcript marks as a filler), and every false start (`edit.remove_fillers`)."""
        return self.edit(remove_fillers(self.text, transcript_fillers(self.transcript)))

    def remove_repeats(self) -> bool:
        """One click: drop every word or phrase said again right after itself, keeping its last
        saying ("the the" -> "the"; `edit.remove_repeats`)."""
        return self.edit(remove_repeats(self.text, transcript_fillers(self.transcript)))

    def disfluencies(self) -> list[int]:
        """Indexes of the transcript's items that one-click filler removal cuts from the full
        text: fillers, false starts and the words said again to restart after them."""
        return self._cut_from_full_text(remove_fillers)

    def repeats(self) -> list[int]:
        """Indexes of the transcript's items that one-click repeat removal cuts from the full text."""
        return self._cut_from_full_text(remove_repeats)

    def _cut_from_full_text(self, clean: Callable[[str, frozenset[str]], str]) -> list[int]:
        full = self.transcript.text()
        cleaned = clean(full, transcript_fillers(self.transcript))
        if cleaned == full:  # the unedited text keeps every item; no need to align it
            return []
        try:
            kept = edit_list(self.transcript, cleaned).kept_items()
        except EditError:  # nothing left
            kept = set()
        return [i for i, w in enumerate(self.transcript.words) if w.kind != "pause" and i not in kept]

    def shorten_pauses(self, max_seconds: float = 0.3) -> bool:
        """One click: shorten every pause to at most `max_seconds`."""
        return self.edit(shorten_pauses(self.text, max_seconds))

    def use_sound(self, audio: np.ndarray | None, duration: float | None = None) -> None:
        """Snap cuts to the recording's 16 kHz `audio` from now on; `duration`: the recording's
        length where its picture outlasts its sound (`edit.edit_list`)."""
        self._sound, self._cut = (audio, duration), None

    def edit_list(self) -> EditList:
        """The cut list of the current text (cuts snapped to the sound given to `use_sound`)."""
        return self._cut_list(self.text)

    def _cut_list(self, text: str) -> EditList:
        if self._cut is None or self._cut[0] != text:
            audio, duration = self._sound
            self._cut = (text, edit_list(self.transcript, text, audio=audio, duration=duration))
        return self._cut[1]


# --- history on disk --------------------------------------------------------------------------
# A lecture's text is long (a 90-minute one: 80 kB) and an edit changes a little of it: each undo
# or redo entry is saved as its change to the next entry towards the current text, [head, tail,
# middle]: the entry is that text's first `head` and last `tail` characters around `middle`.
# 200 entries of a 90-minute lecture: 16.6 MB and 0.44 s per save as whole texts.

def _changes(current: str, stack: list[str]) -> list[list]:
    """The stack (oldest first) as changes, each to its successor; the last to `current`."""
    changes, newer = [], current
    for older in reversed(stack):
        changes.append(_change(newer, older))
        newer = older
    return changes[::-1]


def _history(current: str, changes: list) -> list[str]:
    """The stack of texts that `_changes` saved."""
    texts, newer = [], current
    for change in reversed(changes):
        head, tail, middle = change if isinstance(change, list) and len(change) == 3 else (None, None, None)
        if not (isinstance(head, int) and isinstance(tail, int) and 0 <= head and 0 <= tail
                and head + tail <= len(newer) and isinstance(middle, str)):
            raise ValueError(f"a history entry does not fit its text: {str(change)[:60]}")
        newer = newer[:head] + middle + newer[len(newer) - tail:]
        texts.append(newer)
    return texts[::-1]


def _identity(path: Path) -> tuple[int, int] | None:
    """(inode, modification time) of a file: every atomic save gives it a new inode."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def _set_aside_name(path: Path) -> Path:
    """A free name for an older session of the project at `path`: <stem>.old.padlproj.json,
    then .old-2, .old-3, ..."""
    stem = path.name.removesuffix(".padlproj.json")
    names = (f"{stem}.old{'' if k == 1 else f'-{k}'}.padlproj.json" for k in itertools.count(1))
    return next(path.with_name(name) for name in names if not path.with_name(name).exists())


@functools.lru_cache(maxsize=2 * HISTORY_LIMIT + 8)  # each save re-encodes the same pairs
def _change(newer: str, older: str) -> tuple[int, int, str]:
    """`older` as [head, tail, middle] over `newer` (`_history`)."""
    head = _shared_head(newer, older)
    tail = _shared_head(newer[head:][::-1], older[head:][::-1])
    return head, tail, older[head:len(older) - tail]


def _shared_head(a: str, b: str, block: int = 4096) -> int:
    """How many leading characters `a` and `b` share (compared a block at a time)."""
    n, i = min(len(a), len(b)), 0
    while i + block <= n and a[i:i + block] == b[i:i + block]:
        i += block
    while i < n and a[i] == b[i]:
        i += 1
    return i
