"""padl — Practical Applications of Deep Learning: the seminar's small, tested library.

Topics live in subpackages (`padl_lib.video`, `padl_lib.bnn`, `padl_lib.handwriting`);
this module holds the version and the one place that sets the frameworks' thread counts.
"""
from __future__ import annotations

import os
from types import ModuleType

__version__ = "0.1.0"
__all__ = ["__version__", "default_threads", "set_threads", "import_mxnet"]


def default_threads() -> int:
    """Threads padl uses unless told otherwise: $PADL_THREADS, else every usable core."""
    env = os.environ.get("PADL_THREADS")
    return int(env) if env else len(os.sched_getaffinity(0))


def set_threads(n: int | None = None) -> int:
    """Set torch's (and mxnet's, when loaded) intra-op thread count; return the count."""
    n = n or default_threads()
    import torch

    torch.set_num_threads(n)
    os.environ["OMP_NUM_THREADS"] = str(n)  # read by mxnet's engine at import
    return n


def import_mxnet() -> ModuleType:
    """Import mxnet without its side effect of dropping torch to a single thread."""
    import torch

    threads = torch.get_num_threads()
    import mxnet

    torch.set_num_threads(threads)
    return mxnet
