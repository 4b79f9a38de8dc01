"""ARM without a Pi: the kernels cross-compiled for aarch64 run under qemu-user, every ARM ISA
(neon, portable) matches the scalar reference, and the outputs equal the x86 extension's bit
for bit on the same seeded test vectors. Emulated timings mean nothing; only results count."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from padl_lib.bnn import native
from padl_lib.settings import cache_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cross_build  # noqa: E402

QEMU = "qemu-aarch64"

# (n, h, w, c, o, k, stride, pad, bit_mode): odd channel counts, both strides and paddings, 1x1 and 3x3
CASES = [
    (1, 7, 9, 3, 5, 3, 1, 1, False),
    (2, 8, 7, 70, 13, 3, 2, 1, False),
    (1, 6, 6, 130, 33, 3, 1, 0, True),
    (1, 9, 5, 64, 64, 3, 2, 0, True),
    (2, 5, 5, 200, 9, 1, 1, 0, False),
    (1, 6, 7, 65, 70, 1, 2, 0, True),
    (1, 14, 14, 256, 24, 3, 1, 1, False),
]


@pytest.fixture(scope="module")
def arm_driver() -> Path:
    if shutil.which(cross_build.COMPILER) is None or shutil.which(QEMU) is None:
        pytest.skip("needs Debian's g++-aarch64-linux-gnu and qemu-user (binder/apt.txt)")
    path = cache_dir() / "bnn-arm" / cross_build.source_hash() / "kernel_driver"
    return path if path.exists() else cross_build.build_driver(path)


def write_cases(path: Path, rng: np.random.Generator) -> list[dict]:
    cases = []
    with path.open("wb") as f:
        for n, h, w, c, o, k, s, p, bits in CASES:
            x = rng.standard_normal((n, h, w, c)).astype(np.float32)
            x[rng.random(x.shape) < 0.05] = 0.0  # sign(0) = +1 must agree everywhere
            weight = rng.standard_normal((o, k, k, c)).astype(np.float32)
            case = {"x": x, "weight": weight, "stride": (s, s), "padding": (p, p), "bits": bits}
            f.write(np.array([n, h, w, c, o, k, k, s, s, p, p, int(bits)], "<i8").tobytes())
            f.write(x.tobytes() + weight.tobytes())
            if bits:
                case["thresh"] = rng.integers(-k * k * c // 4, k * k * c // 4, o).astype(np.int32)
                case["flip"] = rng.integers(0, 256, (o + 7) // 8).astype(np.uint8)
                f.write(case["thresh"].tobytes() + case["flip"].tobytes())
            else:
                case["scale"] = rng.standard_normal(o).astype(np.float32)
                case["bias"] = rng.standard_normal(o).astype(np.float32)
                f.write(case["scale"].tobytes() + case["bias"].tobytes())
            cases.append(case)
    return cases


def x86_results(case: dict) -> bytes:
    xp = native.pack(case["x"])
    conv = native.binary_conv(case["weight"].transpose(0, 3, 1, 2), case["stride"], case["padding"])
    if case["bits"]:
        y = conv.run(xp, thresh=case["thresh"], flip=case["flip"])
    else:
        y = conv.run(xp, case["scale"], case["bias"])
    return xp.tobytes() + y.tobytes()


def test_arm_kernels_match_reference_and_x86(arm_driver, tmp_path):
    cases = write_cases(tmp_path / "cases.bin", np.random.default_rng(2024))
    out = tmp_path / "arm.bin"
    result = subprocess.run([QEMU, str(arm_driver), str(tmp_path / "cases.bin"), str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "neon" in result.stdout.splitlines()[0], result.stdout
    assert f"cases: {len(CASES)} failures: 0" in result.stdout
    assert out.read_bytes() == b"".join(x86_results(case) for case in cases)
