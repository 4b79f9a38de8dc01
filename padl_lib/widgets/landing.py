"""The course map: every numbered notebook and app, and the landing page of `make demo`."""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path

from padl_lib.settings import REPO_ROOT

NOTEBOOKS = REPO_ROOT / "notebooks"
TOPICS = {"1": "Text-based video editing", "2": "Binary neural networks", "3": "Handwriting synthesis"}


@dataclass(frozen=True)
class NotebookInfo:
    """One notebook (an app or a lesson): its path, title and one-paragraph summary."""

    path: Path
    title: str
    summary: str

    @property
    def topic(self) -> str:
        return TOPICS.get(self.path.name[0], "padl")

    @property
    def url(self) -> str:
        """Link relative to Voilà's /voila/render/ folder."""
        return self.path.name


def read_notebook_info(path: Path) -> NotebookInfo:
    """Title (first '# ' line) and summary (the paragraph after it) of a notebook."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        lines = "".join(cell["source"]).strip().splitlines()
        if lines and lines[0].startswith("# "):
            paragraph = []
            for line in lines[1:]:
                if line.strip() or not paragraph:
                    if line.strip():
                        paragraph.append(line.strip())
                else:
                    break
            return NotebookInfo(path, lines[0][2:].strip(), " ".join(paragraph))
    raise ValueError(f"{path.name}: a padl notebook must start with a markdown '# Title' cell")


def discover_notebooks(folder: Path = NOTEBOOKS) -> list[NotebookInfo]:
    """Every numbered notebook (`NN_*.ipynb`) in `folder`, in course order."""
    return [read_notebook_info(p) for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))]


def discover_apps(folder: Path = NOTEBOOKS) -> list[NotebookInfo]:
    """Every app notebook (`NN_app_*.ipynb`) in `folder`, in course order."""
    return [info for info in discover_notebooks(folder) if info.path.name[3:].startswith("app_")]


def course_map(folder: Path = NOTEBOOKS) -> str:
    """Markdown table of the course: topic, notebook, what it covers."""
    rows = [f"| {n.topic} | `{n.path.name}` | {n.title} |" for n in discover_notebooks(folder)]
    return "| Topic | Notebook | Title |\n|---|---|---|\n" + "\n".join(rows)


def landing_page(apps: list[NotebookInfo] | None = None) -> str:
    """HTML of the landing page: one card per app, linked."""
    apps = discover_apps() if apps is None else apps
    cards = "".join(
        f'<div class="padl-app-card" style="border:1px solid #ccc;border-radius:8px;padding:12px;margin:8px 0">'
        f'<div style="color:#666;font-size:90%">{html.escape(app.topic)}</div>'
        f'<a href="{html.escape(app.url)}" style="font-size:130%;font-weight:bold">{html.escape(app.title)}</a>'
        f"<p>{html.escape(app.summary)}</p></div>"
        for app in apps
    )
    if not apps:
        cards = "<p>No apps are installed yet.</p>"
    return (
        '<div class="padl-landing padl-ready">'
        "<h1>padl — Practical Applications of Deep Learning</h1>"
        "<p>Demo apps of the seminar. Each runs live on this machine; the notebooks explain "
        "how they work (<code>make lab</code>).</p>" + cards + "</div>"
    )
