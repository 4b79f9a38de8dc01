"""Cross-compile padl's BNN kernels with their test driver for aarch64 (Debian's
aarch64-linux-gnu-g++, static, so `qemu-aarch64` runs it without a sysroot).

Usage: python tests/arm/cross_build.py OUTPUT   (also used by `make kernels-arm` and tests/arm)
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
KERNELS = REPO / "padl_lib" / "bnn" / "kernels"
DRIVER = Path(__file__).resolve().parent / "kernel_driver.cpp"
COMPILER = "aarch64-linux-gnu-g++"


def sources() -> list[Path]:
    """The kernel sources (without the Python bindings) and the driver."""
    return sorted(p for p in KERNELS.glob("*.cpp") if p.name != "bindings.cpp") + [DRIVER]


def source_hash() -> str:
    """A digest of every file the driver is built from (for caching builds)."""
    digest = hashlib.sha256()
    for path in [*sources(), *sorted(KERNELS.glob("*.h"))]:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def build_driver(output: Path) -> Path:
    """Compile the aarch64 driver to `output`; raise RuntimeError with the compiler's message."""
    if shutil.which(COMPILER) is None:
        raise RuntimeError(f"{COMPILER} not found (Debian package g++-aarch64-linux-gnu)")
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".part")
    cmd = [COMPILER, "-O2", "-std=c++17", "-fopenmp", "-ffp-contract=off", "-static", f"-I{KERNELS}",
           *map(str, sources()), "-o", str(tmp)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"aarch64 build failed:\n{result.stderr[-4000:]}")
    tmp.replace(output)
    return output


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(build_driver(Path(sys.argv[1])))
