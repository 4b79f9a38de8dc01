"""Write a clean notebook from a plain-text outline (for authoring padl's notebooks).

    python tools/mknb.py OUT.ipynb < outline.txt

The outline is split into cells by lines `%% md` and `%% code` (optionally followed by
tags: `%% code raises-exception`).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from nbtool import NOTEBOOK_METADATA  # noqa: E402


def parse(outline: str) -> list[dict]:
    cells, kind, tags, lines = [], None, [], []

    def flush():
        if kind is not None:
            source = "\n".join(lines).strip("\n")
            cell = {"cell_type": "markdown" if kind == "md" else "code", "metadata": {"tags": tags} if tags else {},
                    "source": source.splitlines(keepends=True)}
            if kind == "code":
                cell.update(execution_count=None, outputs=[])
            cells.append(cell)

    for line in outline.splitlines():
        if line.startswith("%% "):
            flush()
            kind, *tags = line[3:].split()
            lines = []
        else:
            lines.append(line)
    flush()
    return cells


def main() -> None:
    nb = {"cells": parse(sys.stdin.read()), "metadata": NOTEBOOK_METADATA, "nbformat": 4, "nbformat_minor": 4}
    Path(sys.argv[1]).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
