"""The study's measures (Fréchet distance, closeness, goals) and a tiny end-to-end run."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from padl_lib.handwriting.__main__ import main
from padl_lib.handwriting.experiment import (CONDITIONS, ExperimentConfig, _samples, frechet_distance, goal_checks,
                                             independent_reading, nearest_writer, relative_gain, run_experiment,
                                             summary_text)
from padl_lib.handwriting.generator import GanConfig, HandwritingGAN
from padl_lib.handwriting.recognizer import Recognizer
from padl_lib.handwriting.writers import heldout_writers


def test_frechet_distance_is_zero_for_one_set_and_grows_with_the_mean_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 4))
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    shifted = a + np.array([3.0, 0, 0, 0])
    assert frechet_distance(a, shifted) == pytest.approx(9.0, rel=1e-3)
    wider = a * 2
    assert frechet_distance(a, wider) > 1.0
    with pytest.raises(ValueError, match="at least 2"):
        frechet_distance(a[:1], a)


def test_nearest_writer_compares_feature_centroids():
    centroids = {"a": np.zeros(3), "b": np.ones(3) * 5}
    near, dist = nearest_writer(np.array([[4.0, 5, 6], [6, 5, 4]]), centroids)
    assert near == "b" and dist["b"] == pytest.approx(0.0)


def test_goal_checks_measure_relative_gains_against_the_targets():
    assert relative_gain(0.4, 0.3) == pytest.approx(0.25)
    result = {"settings": {"15": {"mean": {"none": 0.40, "real_only": 0.30, "generated": 0.25}}},
              "closeness_rate": 0.8, "generated_cer_all_writers": 0.2,
              "seen_cer": {"before": 0.03, "after_mean": 0.035}}
    goals = goal_checks(result)
    assert goals["adaptation_gain_15"]["value"] == pytest.approx(0.375) and goals["adaptation_gain_15"]["met"]
    assert goals["beats_real_only_15"]["value"] == pytest.approx(1 / 6) and goals["beats_real_only_15"]["met"]
    assert goals["closeness"]["met"] and not goals["generated_cer"]["met"] and goals["seen_cer_rise"]["met"]


def test_unknown_condition_is_refused():
    with pytest.raises(ValueError, match="unknown conditions"):
        run_experiment(ExperimentConfig(conditions=("none", "magic")), Recognizer.new(), _tiny_gan())


def _tiny_gan() -> HandwritingGAN:
    torch.manual_seed(0)
    return HandwritingGAN(GanConfig(alphabet="abcdefghijklmnopqrstuvwxyz", n_writers=2))


def test_cli_runs_the_quick_study_with_every_condition_and_writes_json(tmp_path, monkeypatch):
    import padl_lib.handwriting.experiment as experiment

    monkeypatch.setattr(experiment.Recognizer, "load", classmethod(lambda cls, path=None: Recognizer.new()))
    monkeypatch.setattr(experiment.HandwritingGAN, "load", classmethod(lambda cls, path=None: _tiny_gan()))
    out = tmp_path / "study.json"
    assert main(["experiment", "--quick", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    row = result["settings"]["5"]["per_writer"][result["writers"][0]]
    assert set(CONDITIONS) <= row.keys() and all(row[c] >= 0 for c in CONDITIONS)
    assert 0 < row["coverage"] < 1  # five words do not show every letter
    gen = result["generation"][result["writers"][0]]
    assert gen["frechet_generated"] > 0 and gen["frechet_real_halves"] >= 0
    assert {"adaptation_gain_5", "beats_real_only_5", "closeness", "generated_cer"} <= result["goals"].keys()
    assert "mean CER" in summary_text(result)


def test_independent_reading_scores_generated_synthesized_and_real_words():
    config = ExperimentConfig()
    writer_id = heldout_writers()[1].writer_id
    reader = Recognizer.load()  # any reader; the study trains one from scratch
    texts = ["garden", "silver", "planet", "mother"]
    result = independent_reading(reader, {writer_id: _samples(config, 5, writer_id)}, texts, Recognizer.load(),
                                 HandwritingGAN.load())
    assert set(result) == {"generated", "synthesis_only", "real"}
    assert all(0 <= v <= 1.5 for v in result.values())
    assert result["real"] <= 0.25  # the shipped recognizer reads this held-out writer's real words fairly well
