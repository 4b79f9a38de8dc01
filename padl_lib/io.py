"""Safe file output shared by all topics: atomic writes that never clobber a source."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, protect: tuple[str | os.PathLike, ...] = ()) -> Iterator[Path]:
    """Yield a temporary path beside `dest`; on success it replaces `dest` in one step.

    `protect` lists source files that `dest` must not be (so a user's media or edits are
    never overwritten). On error the temporary file is removed and `dest` is untouched.
    """
    dest = Path(dest)
    if dest.is_dir():
        raise ValueError(f"{dest} is a folder: give a file name")
    for source in protect:
        if Path(source).exists() and dest.exists() and dest.resolve() == Path(source).resolve():
            raise ValueError(f"refusing to overwrite the source file {source}; choose another output path")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = part_file(dest)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        tmp_path.unlink(missing_ok=True)


def part_file(dest: str | os.PathLike) -> Path:
    """A new, empty, hidden `.part` file beside `dest` (whose folder must exist), with the
    permissions of an ordinary new file, to be renamed to its final name when complete."""
    dest = Path(dest)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=dest.suffix + ".part", dir=dest.parent)
    except OSError as exc:  # a read-only folder: name the file asked for, not a hidden temporary one
        raise OSError(exc.errno, exc.strerror, str(dest)) from exc
    os.close(fd)
    path = Path(tmp)
    path.chmod(0o666 & ~_umask())  # mkstemp's 0600 would make outputs private
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes_atomic(dest: str | os.PathLike, data: bytes) -> Path:
    """Write bytes to `dest` atomically; return the path."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
    return Path(dest)


def write_text_atomic(dest: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text to `dest` atomically; return the path."""
    return write_bytes_atomic(dest, text.encode("utf-8"))


def write_json_atomic(dest: str | os.PathLike, obj: object) -> Path:
    """Write `obj` as indented JSON to `dest` atomically; return the path."""
    return write_text_atomic(dest, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
