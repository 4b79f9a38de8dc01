"""The frame every padl app shares: a title, a status line, progress, and a ready marker.

Browser tests wait for the CSS class `padl-ready` (set once the app is built) and read the
status line (`padl-status`) to know that kernel-side work has finished.
"""
from __future__ import annotations

import ipywidgets as W


class StatusLine(W.HTML):
    """One line that tells the user (and the browser tests) what the app is doing."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self.add_class("padl-status")
        self.set(text)

    def set(self, text: str, level: str = "info") -> None:
        """Show `text`; level 'warn' paints it orange, 'error' red."""
        color = {"info": "inherit", "ok": "#1a7f37", "warn": "#b35c00", "error": "#cf222e"}[level]
        self.value = f'<span style="color:{color}">{_escape(text)}</span>'
        self.text = text

    def error(self, exc: BaseException | str) -> None:
        self.set(f"Error: {exc}", level="error")


class ProgressBar(W.FloatProgress):
    """A padl Progress (`progress(done, total, desc)`) shown as a widget."""

    def __init__(self, description: str = "") -> None:
        super().__init__(value=0.0, min=0.0, max=1.0, description=description,
                         layout=W.Layout(width="100%"), style={"description_width": "initial"})
        self.add_class("padl-progress")

    def __call__(self, done: float, total: float, desc: str = "") -> None:
        self.max = float(total) if total else 1.0
        self.value = float(min(done, self.max))
        if desc:
            self.description = desc


class AppShell(W.VBox):
    """Title, short explanation, the app's body and a status line; marks itself ready."""

    def __init__(self, title: str, intro: str, body: list[W.Widget]) -> None:
        self.status = StatusLine("Ready.")
        header = W.HTML(f"<h2 style='margin-bottom:0'>{_escape(title)}</h2><p>{intro}</p>")
        super().__init__([header, *body, self.status], layout=W.Layout(padding="8px", max_width="1100px"))
        self.add_class("padl-app")
        self.add_class("padl-ready")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
