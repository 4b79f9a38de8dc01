"""The study: does few-shot style generation help a recognizer read unseen writers?

For every held-out font writer, K of its words (K = 15, and the harder K = 5 where the samples
do not show every letter) are all we know about it. Conditions, each scored by CER on the
writer's test words (words never seen in training):

* `none`: the shipped recognizer, no fine-tuning;
* `random_style`: fine-tuned on the real samples plus words generated in a *random training
  writer's* style (is it the style that helps, or just more data?);
* `real_only`: fine-tuned on the K real samples alone;
* `gan_only`: the K real samples plus words from the GAN's synthesis path alone (no letters
  copied from the samples): what the style vector by itself is worth;
* `generated`: the method, the K real samples plus words generated in the writer's style;
* `oracle`: the K real samples plus the same words rendered in the writer's exact style
  (a perfect generator).

Also measured: the Fréchet distance per writer between generated and real words on the
recognizer's features (Inception is not available offline), the writer-closeness check
(generated words' feature centroid is nearest to their own writer's among all writers; also for
the synthesis path alone), the
CER of generated words under a recognizer trained on all writers, and the seen writers' CER
before and after adaptation.
"""
from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import linalg

from padl_lib.handwriting.adapt import (AdaptConfig, adapt, generate_words, generation_texts, letter_coverage,
                                        replay_set, tuning_data)
from padl_lib.handwriting.datasets import WordDataset, WordSample, render_dataset
from padl_lib.handwriting.generator import HandwritingGAN
from padl_lib.handwriting.recognizer import Recognizer, cer
from padl_lib.handwriting.train import fine_tune, train_recognizer
from padl_lib.handwriting.writers import FontWriter, all_writers, get_writer, heldout_writers, train_writers, word_list
from padl_lib.progress import Progress, report

CONDITIONS = ("none", "random_style", "real_only", "gan_only", "generated", "oracle")


@dataclass
class ExperimentConfig:
    """Size of the study; `quick()` is the tiny setting for tests and quick mode."""

    n_writers: int | None = None          # None: every held-out writer
    sample_counts: tuple[int, ...] = (15, 5)
    conditions: tuple[str, ...] = CONDITIONS                          # with the most samples
    few_conditions: tuple[str, ...] = ("none", "real_only", "gan_only", "generated")  # with fewer samples
    test_words: int = 200                 # per writer, for CER
    feature_words: int = 60               # per writer, for Fréchet distance and closeness
    seen_words: int = 10                  # per training writer, for the seen-writer CER
    all_writer_steps: int = 150           # fine-tuning of the all-writers reference recognizer
    independent_reader_words: int = 0     # per writer; > 0 also trains a reader from scratch (see independent_reader)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    seed: int = 0
    jobs: int = 1                         # worker processes for the fine-tunings

    @classmethod
    def quick(cls) -> "ExperimentConfig":
        return cls(n_writers=1, sample_counts=(5,), few_conditions=CONDITIONS, test_words=6, feature_words=6,
                   seen_words=1, all_writer_steps=2, adapt=AdaptConfig.quick())


def writer_words(writer: FontWriter, texts: Sequence[str], seed: int) -> WordDataset:
    """`texts` in `writer`'s hand (seeds differ per word, so every image varies)."""
    return WordDataset([WordSample(writer.render(t, seed=seed * 100_003 + i), t, writer.writer_id)
                        for i, t in enumerate(texts)])


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets (the FID formula)."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Fréchet distance needs at least 2 feature vectors per set")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr sqrt(A B) = sum of sqrt of the eigenvalues of A^1/2 B A^1/2 (symmetric, so eigh is exact and fast)
    vals, vecs = linalg.eigh(cov_a)
    root_a = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    trace_covmean = np.sqrt(np.clip(linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_covmean)


def nearest_writer(features: np.ndarray, centroids: dict[str, np.ndarray]) -> tuple[str, dict[str, float]]:
    """The writer whose real-word feature centroid is closest to the centroid of `features`."""
    centre = features.mean(0)
    dist = {w: float(np.linalg.norm(centre - c)) for w, c in centroids.items()}
    return min(dist, key=dist.get), dist


def all_writer_recognizer(recognizer: Recognizer, steps: int, seed: int = 0) -> Recognizer:
    """The shipped recognizer fine-tuned on train words of every writer (held-out ones too): the
    reference reader of generated words (it knows every target hand, so its errors are the GAN's)."""
    per_writer = max(2, steps // 4)
    data = render_dataset(list(all_writers()), word_list("train"), per_writer, seed=seed + 11)
    return fine_tune(recognizer, data, steps=steps, lr=3e-4, seed=seed)


def run_experiment(config: ExperimentConfig | None = None, recognizer: Recognizer | None = None,
                   gan: HandwritingGAN | None = None, progress: Progress | None = None) -> dict:
    """Run the study; returns a JSON-ready dict of per-writer and mean results and goal checks.

    The (sample count, writer, condition) cells are independent and deterministic; with
    `config.jobs` > 1 they run in that many worker processes.
    """
    config = config or ExperimentConfig()
    bad = (set(config.conditions) | set(config.few_conditions)) - set(CONDITIONS)
    if bad:
        raise ValueError(f"unknown conditions {sorted(bad)}; choose from {CONDITIONS}")
    start = time.monotonic()
    recognizer = recognizer or Recognizer.load()
    gan = gan or HandwritingGAN.load()
    targets = [w.writer_id for w in heldout_writers()[: config.n_writers]]
    full = max(config.sample_counts)
    cells = [(k, w, c) for k in config.sample_counts for w in targets
             for c in (config.conditions if k == full else config.few_conditions)]
    total = len(cells) + 1
    rows: dict[tuple[int, str], dict] = {}
    seen_after: list[float] = []
    for n, (k, writer_id, condition, value, seen) in enumerate(
            _run_cells(cells, config, recognizer, gan), 1):
        row = rows.setdefault((k, writer_id), {"coverage": letter_coverage(_samples(config, k, writer_id).texts)})
        row[condition] = value
        if seen is not None:
            seen_after.append(seen)
        report(progress, n, total, f"{k} samples, {writer_id}: {condition}")
    settings = {}
    for k in config.sample_counts:
        per_writer = {w: rows[(k, w)] for w in targets}
        conds = ["coverage", *(config.conditions if k == full else config.few_conditions)]
        settings[str(k)] = {"per_writer": per_writer,
                            "mean": {c: float(np.mean([r[c] for r in per_writer.values()])) for c in conds}}
    seen = _seen_words(config)
    seen_before = cer(seen.texts, recognizer.read([s.image for s in seen]))
    reference = all_writer_recognizer(recognizer, config.all_writer_steps, config.seed)
    feature_texts = random.Random(f"{config.seed}:features").sample(word_list("test"), config.feature_words)
    quality = generation_quality({w: _samples(config, full, w) for w in targets}, feature_texts, recognizer, gan,
                                 reference, config.seed)
    if config.independent_reader_words:
        reader = independent_reader(config.independent_reader_words, config.seed)
        quality["independent_reader"] = independent_reading(reader, {w: _samples(config, full, w) for w in targets},
                                                            feature_texts, recognizer, gan, config.seed)
    report(progress, total, total, "generation quality")
    result = {"config": asdict(config), "seconds": round(time.monotonic() - start, 1), "writers": targets,
              "settings": settings,
              "seen_cer": {"before": seen_before, "after_mean": float(np.mean(seen_after)) if seen_after else None},
              **quality}
    result["goals"] = goal_checks(result)
    return result


def _samples(config: ExperimentConfig, k: int, writer_id: str) -> WordDataset:
    """The k labelled samples the study gives of a held-out writer (fixed per seed, k and writer)."""
    texts = random.Random(f"{config.seed}:{k}:{writer_id}").sample(word_list("train"), k)
    return writer_words(get_writer(writer_id), texts, seed=config.seed + 1)


def _test_words(config: ExperimentConfig, writer_id: str) -> WordDataset:
    texts = random.Random(f"{config.seed}:test").sample(word_list("test"), config.test_words)
    return writer_words(get_writer(writer_id), texts, seed=config.seed + 2)


def _seen_words(config: ExperimentConfig) -> WordDataset:
    return render_dataset(train_writers(), word_list("test"), config.seen_words, seed=config.seed + 5)


def _run_cells(cells: list[tuple[int, str, str]], config: ExperimentConfig, recognizer: Recognizer,
               gan: HandwritingGAN):
    """Yield (k, writer, condition, CER, seen-writer CER or None) per cell, inline or in worker processes."""
    if config.jobs <= 1:
        for cell in cells:
            yield _run_cell(cell, config, recognizer, gan)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from padl_lib import set_threads

    with ProcessPoolExecutor(config.jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=set_threads, initargs=(1,)) as pool:
        futures = [pool.submit(_run_cell, cell, config, recognizer, gan) for cell in cells]
        for future in as_completed(futures):
            yield future.result()


def _run_cell(cell: tuple[int, str, str], config: ExperimentConfig, recognizer: Recognizer,
              gan: HandwritingGAN) -> tuple[int, str, str, float, float | None]:
    """One condition for one writer and sample count: its test CER (and seen-writer CER for the method)."""
    k, writer_id, condition = cell
    samples, test = _samples(config, k, writer_id), _test_words(config, writer_id)
    model = _condition_model(condition, samples, writer_id, recognizer, gan, config, k)
    value = cer(test.texts, model.read([s.image for s in test]))
    seen = None
    if condition == "generated" and k == max(config.sample_counts):
        data = _seen_words(config)
        seen = cer(data.texts, model.read([s.image for s in data]))
    return k, writer_id, condition, value, seen


def _condition_model(condition: str, samples: WordDataset, writer_id: str, recognizer: Recognizer,
                     gan: HandwritingGAN, config: ExperimentConfig, k: int) -> Recognizer:
    """The recognizer one condition of the study reads the writer's test words with."""
    cfg = config.adapt
    replay = replay_set(cfg.replay_per_writer)
    if condition == "none":
        return recognizer
    if condition == "real_only":
        return adapt(samples, recognizer, real_only=True, config=cfg, replay=replay)
    if condition == "generated":
        return adapt(samples, recognizer, gan, config=cfg, replay=replay)
    if condition == "gan_only":
        return adapt(samples, recognizer, gan, config=replace(cfg, copy_letters=False), replay=replay)
    if condition == "random_style":
        stranger = random.Random(f"{config.seed}:{k}:{writer_id}:stranger").choice(train_writers())
        style = writer_words(stranger, [s.text for s in samples], seed=config.seed + 3)
        return adapt(samples, recognizer, gan, style_samples=style, config=cfg, replay=replay)
    # oracle: the same words the GAN would write, rendered in the writer's exact style
    exact = writer_words(get_writer(writer_id), generation_texts(cfg.generated, cfg.seed), seed=config.seed + 4)
    return fine_tune(recognizer, tuning_data(samples, exact, cfg.real_repeats), steps=cfg.steps,
                     batch_size=cfg.batch_size, lr=cfg.lr, replay=replay, replay_share=cfg.replay_share, seed=cfg.seed)


def written_words(samples: WordDataset, texts: Sequence[str], writer_id: str, recognizer: Recognizer,
                  gan: HandwritingGAN, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """`texts` as generated from `samples` (copy path), by the synthesis path alone, and in the
    writer's real hand."""
    pairs = [(s.image, s.text) for s in samples]
    return {"generated": [s.image for s in generate_words(gan, gan.style(pairs, recognizer), texts, writer_id,
                                                          seed=seed + 7)],
            "synthesis_only": [s.image for s in generate_words(gan, gan.style(pairs), texts, writer_id, seed=seed + 7)],
            "real": [s.image for s in writer_words(get_writer(writer_id), texts, seed=seed + 6)]}


def independent_reader(per_writer: int, seed: int = 0, progress: Progress | None = None) -> Recognizer:
    """A recognizer trained from scratch on train words of every writer: it shares no weights with the
    shipped recognizer that aligns letters and picks drafts (about 8 CPU-minutes at 900 words)."""
    data = render_dataset(list(all_writers()), word_list("train"), per_writer, seed=seed + 21)
    return train_recognizer(data, epochs=6, seed=seed + 3, progress=progress)


def independent_reading(reader: Recognizer, style_samples: dict[str, WordDataset], texts: list[str],
                        recognizer: Recognizer, gan: HandwritingGAN, seed: int = 0) -> dict[str, float]:
    """CER of `reader` on generated, synthesis-only and real words of the target writers."""
    sets = [written_words(samples, texts, w, recognizer, gan, seed) for w, samples in style_samples.items()]
    return {kind: cer(texts * len(sets), [h for words in sets for h in reader.read(words[kind])])
            for kind in ("generated", "synthesis_only", "real")}


def generation_quality(style_samples: dict[str, WordDataset], texts: list[str], recognizer: Recognizer,
                       gan: HandwritingGAN, reference: Recognizer | None = None, seed: int = 0) -> dict:
    """Per target writer (id -> its style samples): Fréchet distance of generated vs real words on
    `recognizer`'s features, the writer-closeness check against every font writer, and the CER of
    generated words read by `reference` (a recognizer trained on all writers) and by `recognizer`."""
    if len(texts) < 4:
        raise ValueError("need at least 4 texts to compare feature distributions")
    centroids, real_feats = {}, {}
    for writer in all_writers():
        real = writer_words(writer, texts, seed=seed + 6)
        real_feats[writer.writer_id] = recognizer.features([s.image for s in real])
        centroids[writer.writer_id] = real_feats[writer.writer_id].mean(0)
    per_writer, gen_refs, gen_hyps, ship_hyps = {}, [], [], []
    for writer_id, samples in style_samples.items():
        words = written_words(samples, texts, writer_id, recognizer, gan, seed)
        images = words["generated"]
        feats = recognizer.features(images)
        nearest, dist = nearest_writer(feats, centroids)
        nearest_synthesized, _ = nearest_writer(recognizer.features(words["synthesis_only"]), centroids)
        half = len(texts) // 2
        per_writer[writer_id] = {
            "frechet_generated": frechet_distance(feats, real_feats[writer_id]),
            "frechet_real_halves": frechet_distance(real_feats[writer_id][:half], real_feats[writer_id][half:]),
            "frechet_nearest_other": min(frechet_distance(feats, f) for w, f in real_feats.items() if w != writer_id),
            "nearest_writer": nearest, "closest": nearest == writer_id,
            "distance_own": dist[writer_id], "distance_next": min(d for w, d in dist.items() if w != writer_id),
            "closest_synthesis_only": nearest_synthesized == writer_id,
        }
        gen_refs += texts
        gen_hyps += reference.read(images) if reference is not None else []
        ship_hyps += recognizer.read(images)
    rate = (lambda key: float(np.mean([r[key] for r in per_writer.values()])) if per_writer else None)
    return {"generation": per_writer, "closeness_rate": rate("closest"),
            "closeness_rate_synthesis_only": rate("closest_synthesis_only"),
            "generated_cer_all_writers": cer(gen_refs, gen_hyps) if gen_hyps else None,
            "generated_cer_shipped": cer(gen_refs, ship_hyps) if gen_refs else None}


def relative_gain(before: float, after: float) -> float:
    """How much smaller `after` is than `before`, relative (0.25 = 25 % fewer errors)."""
    return float((before - after) / before) if before > 0 else 0.0


def goal_checks(result: dict) -> dict:
    """The topic's goals, measured against their thresholds."""
    goals: dict[str, dict] = {}
    for k, setting in result["settings"].items():
        mean = setting["mean"]
        if {"none", "generated"} <= mean.keys():
            gain = relative_gain(mean["none"], mean["generated"])
            goals[f"adaptation_gain_{k}"] = {"value": gain, "target": 0.25, "met": gain >= 0.25}
        if {"real_only", "generated"} <= mean.keys():
            gain = relative_gain(mean["real_only"], mean["generated"])
            goals[f"beats_real_only_{k}"] = {"value": gain, "target": 0.10, "met": gain >= 0.10}
    if result.get("closeness_rate") is not None:
        goals["closeness"] = {"value": result["closeness_rate"], "target": 0.75,
                              "met": result["closeness_rate"] >= 0.75}
    if result.get("generated_cer_all_writers") is not None:
        value = result["generated_cer_all_writers"]
        goals["generated_cer"] = {"value": value, "target": 0.15, "met": value <= 0.15}
    seen = result["seen_cer"]
    if seen["after_mean"] is not None:
        rise = seen["after_mean"] - seen["before"]
        goals["seen_cer_rise"] = {"value": rise, "target": 0.01, "met": rise <= 0.01}
    return goals


def add_experiment_command(sub: argparse._SubParsersAction) -> None:
    """Register `python -m padl_lib.handwriting experiment` on an argparse subparsers object."""
    p = sub.add_parser("experiment", help="the adaptation study on the held-out font writers, with controls")
    p.add_argument("--quick", action="store_true", help="tiny version (one writer, few steps)")
    p.add_argument("--json", type=Path, default=None, help="write the full results here")
    p.add_argument("--jobs", type=int, default=1, help="worker processes for the fine-tunings")
    p.add_argument("--seed", type=int, default=0, help="draws samples, test words and fine-tuning order")
    p.add_argument("--independent-reader", action="store_true",
                   help="also read generated words with a recognizer trained from scratch (~8 CPU-minutes more)")
    p.set_defaults(run=_run_experiment)


def _run_experiment(args: argparse.Namespace) -> None:
    from padl_lib.io import write_json_atomic
    from padl_lib.progress import tqdm_progress

    config = ExperimentConfig.quick() if args.quick else ExperimentConfig()
    config.jobs = args.jobs
    config.seed = config.adapt.seed = args.seed
    config.independent_reader_words = 900 if args.independent_reader else 0
    result = run_experiment(config, progress=tqdm_progress("run"))
    if args.json:
        write_json_atomic(args.json, result)
    print(summary_text(result))


def summary_text(result: dict) -> str:
    """A short plain-text summary of a study result."""
    lines = [f"held-out writers: {', '.join(result['writers'])} ({result['seconds']} s)"]
    for k, setting in result["settings"].items():
        means = ", ".join(f"{c} {v:.3f}" for c, v in setting["mean"].items() if c != "coverage")
        lines.append(f"{k} samples (letter coverage {setting['mean']['coverage']:.2f}): mean CER {means}")
    if "independent_reader" in result:
        lines.append("reader trained from scratch, CER: " + ", ".join(
            f"{kind.replace('_', ' ')} words {value:.3f}" for kind, value in result["independent_reader"].items()))
    for name, goal in result["goals"].items():
        lines.append(f"goal {name}: {goal['value']:.3f} (target {goal['target']}) {'met' if goal['met'] else 'NOT met'}")
    return "\n".join(lines)
