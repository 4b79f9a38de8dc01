"""The BNN benchmark: a quick real run through the CLI checks the JSON's shape and names
(no timing asserts: timings belong to the machine, not to the test)."""
import json
import subprocess
import sys

import pytest

from padl_lib.bnn import bench

NAMES = {"conv3x3_64_56", "conv3x3_128_28", "conv3x3_256_14", "conv3x3_512_7", "birealnet18"}


def test_quick_cli_run_writes_the_documented_json(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "padl_lib.bnn.bench", "--quick", "--threads", "1",
                           "--engines", "padl,torch,mxnet", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text())
    assert data["threads"] == 1
    assert {(r["name"], r["engine"]) for r in data["results"]} == {(n, e) for n in NAMES for e in ("padl", "torch", "mxnet")}
    for r in data["results"]:
        assert set(r) == {"name", "engine", "median_ms"}
        assert isinstance(r["median_ms"], float) and r["median_ms"] > 0
    assert [(r["name"], r["engine"]) for r in data["cpu_results"]] == [(r["name"], r["engine"]) for r in data["results"]]
    assert data["sizes"]["binary_weight_fp32_bytes"] == 32 * data["sizes"]["binary_weight_bytes"]
    assert "birealnet18: padl vs torch" in proc.stdout  # the goals summary


@pytest.mark.skipif(bench.lce_python() is None, reason="no .lce-venv (make lce)")
def test_lce_runner_times_a_layer_in_its_own_venv():
    results = bench._lce_results(1, 3, 1, [("conv3x3_256_14", 256, 14)], [])
    assert [(r["name"], r["engine"]) for r in results] == [("conv3x3_256_14", "lce")]
    assert results[0]["median_ms"] > 0 and results[0]["cpu_ms"] > 0


def test_unknown_engine_and_bad_threads_are_refused():
    with pytest.raises(ValueError, match="tensorrt"):
        next(bench.iter_bench(engines=["padl", "tensorrt"]))
    with pytest.raises(ValueError, match="threads"):
        next(bench.iter_bench(threads=0))


def test_goal_rows_compute_speedups_against_the_named_baselines():
    results = [{"name": n, "engine": e, "median_ms": ms} for n, e, ms in [
        ("conv3x3_256_14", "padl", 0.1), ("conv3x3_256_14", "torch", 1.0), ("conv3x3_64_56", "padl", 0.5),
        ("conv3x3_64_56", "torch", 2.0), ("birealnet18", "padl", 10.0), ("birealnet18", "torch", 40.0)]]
    rows = {r["goal"]: r for r in bench.goal_rows({"results": results, "sizes": {"binary_weight_ratio": 32.0}})}
    assert rows["conv3x3_256_14: padl vs torch"]["measured"] == pytest.approx(10.0)
    assert rows["conv3x3_256_14: padl vs torch"]["met"]
    assert not rows["conv3x3_64_56: padl vs torch"]["met"]
    assert rows["conv3x3_64_56: padl vs lce"]["measured"] is None
    assert rows["binary weights smaller than fp32"]["met"]
