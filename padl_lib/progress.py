"""One progress protocol for all long work: a callable `progress(done, total, desc)`.

Library functions accept `progress: Progress | None`; notebooks and the CLI pass
`tqdm_progress()`, apps pass a `padl_lib.widgets.ProgressBar`.
"""
from __future__ import annotations

import weakref
from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: float, total: float, desc: str = "") -> None: ...


def report(progress: Progress | None, done: float, total: float, desc: str = "") -> None:
    """Call `progress` if one was given."""
    if progress is not None:
        progress(done, total, desc)


class tqdm_progress:
    """A Progress that drives a tqdm bar (notebook-aware), re-created when `desc` changes."""

    def __init__(self, unit: str = "it") -> None:
        self.unit = unit
        self._bar = None
        self._desc = None

    def __call__(self, done: float, total: float, desc: str = "") -> None:
        from tqdm.auto import tqdm

        if self._bar is None or desc != self._desc:
            self.close()
            self._bar = tqdm(total=total, desc=desc, unit=self.unit, leave=True)
            self._desc = desc
            _OPEN.add(self)
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        _OPEN.discard(self)


_OPEN: "weakref.WeakSet[tqdm_progress]" = weakref.WeakSet()  # bars drawn and not yet closed


def close_bars() -> None:
    """Close the bars of work that stopped on an error, before its message is printed (a bar
    closed later is drawn again over that line)."""
    for progress in list(_OPEN):
        progress.close()
