"""Committed notebooks carry no unchecked outputs and no stray metadata (nbval runs them)."""
import subprocess
import sys

from padl_lib.settings import REPO_ROOT


def test_notebooks_are_clean():
    notebooks = sorted(str(p) for p in (REPO_ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    result = subprocess.run([sys.executable, "tools/nbtool.py", "check", *notebooks], cwd=REPO_ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, f"run `python tools/nbtool.py strip notebooks/*.ipynb`:\n{result.stdout}"
