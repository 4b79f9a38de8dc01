"""Where padl keeps things and how hard it works: quick mode, data, cache and work folders."""
from __future__ import annotations

import os
import random
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def quick() -> bool:
    """True in quick mode (PADL_QUICK=1, set by `make test`): small data, few steps."""
    return os.environ.get("PADL_QUICK", "0").lower() not in {"", "0", "false", "no"}


def _folder(env: str, default: Path) -> Path:
    path = Path(os.environ.get(env, default)).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Re-creatable intermediate results (trained quick models, decoded audio): $PADL_CACHE."""
    return _folder("PADL_CACHE", Path.home() / ".cache" / "padl")


def work_dir() -> Path:
    """The folder apps may write to (uploads, renders): $PADL_WORK, default ./work."""
    return _folder("PADL_WORK", REPO_ROOT / "work")


def data_dir() -> Path:
    """Small data committed with padl (checkpoints, sample media)."""
    return Path(__file__).resolve().parent / "data"


def seed_everything(seed: int = 0) -> None:
    """Fix Python's, numpy's and torch's random seeds for reproducible runs."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
