"""Notebook hygiene for padl: strip outputs and stray metadata before committing.

    python tools/nbtool.py strip notebooks/*.ipynb   # clean in place
    python tools/nbtool.py check notebooks/*.ipynb   # exit 1 listing every problem

Outputs are kept only in cells that nbval checks (tag `nbval-check-output`); metadata is
limited to the kernelspec and language name, and to `tags` on cells.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

CHECKED_TAG = "nbval-check-output"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
NOTEBOOK_METADATA = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}


def _checked(cell: dict) -> bool:
    return CHECKED_TAG in cell.get("metadata", {}).get("tags", []) or "# NBVAL_CHECK_OUTPUT" in "".join(cell.get("source", ""))


def problems(path: Path) -> list[str]:
    """Every hygiene problem of the notebook at `path`."""
    nb = json.loads(path.read_text())
    found = []
    if nb.get("metadata") != NOTEBOOK_METADATA:
        found.append(f"{path.name}: notebook metadata must be exactly {NOTEBOOK_METADATA}")
    for i, cell in enumerate(nb["cells"]):
        extra = set(cell.get("metadata", {})) - {"tags"}
        if extra:
            found.append(f"{path.name} cell {i}: stray cell metadata {sorted(extra)}")
        if cell["cell_type"] == "code" and not _checked(cell):
            if cell.get("outputs") or cell.get("execution_count") is not None:
                found.append(f"{path.name} cell {i}: outputs committed that nbval does not check")
    return found


def strip(path: Path) -> None:
    """Remove unchecked outputs and stray metadata from the notebook at `path`, in place."""
    nb = json.loads(path.read_text())
    nb["metadata"] = NOTEBOOK_METADATA
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags")
        cell["metadata"] = {"tags": tags} if tags else {}
        cell.pop("id", None)
        if cell["cell_type"] == "code" and not _checked(cell):
            cell["outputs"] = []
            cell["execution_count"] = None
    nb["nbformat"], nb["nbformat_minor"] = 4, 4
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in {"strip", "check"}:
        print(__doc__)
        return 2
    paths = [Path(p) for p in argv[1:]]
    if argv[0] == "strip":
        for path in paths:
            strip(path)
        return 0
    found = [p for path in paths for p in problems(path)]
    print("\n".join(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
