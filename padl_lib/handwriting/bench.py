"""Recognizer benchmark: bucketed vs unbucketed batches, greedy vs beam decoding, seen vs unseen CER.

    python -m padl_lib.handwriting.bench [--quick] [--json PATH]

Timings are measured side by side in one run and reported as ratios.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from padl_lib.handwriting.datasets import WordDataset, padding_ratio, width_batches
from padl_lib.handwriting.recognizer import Recognizer, cer
from padl_lib.handwriting.train import train_step, evaluate, test_sets, training_set
from padl_lib.io import write_json_atomic
from padl_lib.settings import quick


def bench_batching(data: WordDataset, batch_size: int = 32, batches: int = 8, seed: int = 0) -> dict[str, float]:
    """Training seconds per sample with width-bucketed batches vs batches in random order."""
    rng = np.random.default_rng(seed)
    bucketed = list(width_batches(data.widths, batch_size, rng=rng))[:batches]
    order = rng.permutation(len(data)).tolist()
    unbucketed = [order[i:i + batch_size] for i in range(0, len(order), batch_size)][:batches]
    out = {}
    for name, plan in (("bucketed", bucketed), ("unbucketed", unbucketed)):
        rec = Recognizer.new(seed=seed)
        rec.model.train()
        optimizer = torch.optim.AdamW(rec.model.parameters(), lr=1e-3)
        train_step(rec.model, rec.charset, optimizer, data, plan[0])  # warm-up
        start = time.perf_counter()
        for idx in plan:
            train_step(rec.model, rec.charset, optimizer, data, idx)
        seconds = time.perf_counter() - start
        out[f"{name}_ms_per_sample"] = 1000 * seconds / sum(len(b) for b in plan)
        out[f"{name}_padding"] = padding_ratio(data.widths, plan)
    out["speedup"] = out["unbucketed_ms_per_sample"] / out["bucketed_ms_per_sample"]
    return out


def bench_decoding(recognizer: Recognizer, data: WordDataset, beam: int = 8) -> dict[str, float]:
    """Time and CER of greedy vs prefix beam search decoding on the same log-probabilities."""
    from padl_lib.handwriting.recognizer import beam_decode, greedy_decode

    images = [s.image for s in data]
    start = time.perf_counter()
    log_probs = recognizer.log_probs(images)
    network = time.perf_counter() - start
    out: dict[str, float] = {"network_ms_per_word": 1000 * network / len(images)}
    for name, decode in (("greedy", lambda lp: greedy_decode(lp, recognizer.charset)),
                         (f"beam{beam}", lambda lp: beam_decode(lp, recognizer.charset, beam))):
        start = time.perf_counter()
        texts = [decode(lp) for lp in log_probs]
        out[f"{name}_ms_per_word"] = 1000 * (time.perf_counter() - start) / len(images)
        out[f"{name}_cer"] = cer(data.texts, texts)
    return out


def run(recognizer: Recognizer | None = None, per_writer: int | None = None) -> dict[str, dict]:
    """All three benchmarks; `per_writer` test words per writer (quick mode: fewer)."""
    recognizer = recognizer or Recognizer.load()
    per_writer = per_writer or (10 if quick() else 100)
    sets = test_sets(per_writer)
    accuracy = {name: evaluate(recognizer, data) for name, data in sets.items()}
    return {"accuracy": accuracy,
            "decoding": bench_decoding(recognizer, sets["seen"]),
            "batching": bench_batching(training_set(20 if quick() else 60, seed=3), batches=4 if quick() else 12)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="recognizer checkpoint (default: the shipped one)")
    parser.add_argument("--per-writer", type=int, default=None, help="test words per writer")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args(argv)
    results = run(Recognizer.load(args.model), args.per_writer)
    for section, values in results.items():
        for key, value in values.items():
            text = f"{value:.4g}" if isinstance(value, float) else (
                ", ".join(f"{k} {v:.4g}" for k, v in value.items()) if isinstance(value, dict) else str(value))
            print(f"{section:9s} {key:26s} {text}")
    if args.json:
        write_json_atomic(args.json, results)


if __name__ == "__main__":
    main()
