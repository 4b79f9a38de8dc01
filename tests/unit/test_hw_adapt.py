"""Few-shot adaptation: the data it tunes on, the CLI, and that tuning really moves the reader."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from padl_lib.handwriting.__main__ import main
from padl_lib.handwriting.adapt import AdaptConfig, adapt, generation_texts, letter_coverage, tuning_data
from padl_lib.handwriting.datasets import WordDataset, WordSample
from padl_lib.handwriting.experiment import writer_words
from padl_lib.handwriting.generator import GanConfig, HandwritingGAN
from padl_lib.handwriting.recognizer import Recognizer, cer
from padl_lib.handwriting.writers import heldout_writers, is_test_word, word_list

TINY = AdaptConfig(generated=6, steps=2, batch_size=4, replay_per_writer=1)


@pytest.fixture(scope="module")
def samples() -> WordDataset:
    return writer_words(heldout_writers()[0], ["garden", "quiet", "moving"], seed=0)


def _tiny_gan() -> HandwritingGAN:
    torch.manual_seed(0)
    return HandwritingGAN(GanConfig(alphabet="abcdefghijklmnopqrstuvwxyz", n_writers=2))


def test_tuning_data_keeps_real_samples_weighted_among_generated(samples):
    generated = WordDataset([WordSample(np.ones((32, 40), np.float32), "word", "generated")] * 10)
    data = tuning_data(samples, generated, repeats=4)
    assert len(data) == 4 * len(samples) + 10
    assert data.texts.count("garden") == 4
    assert len(tuning_data(samples, None, repeats=2)) == 2 * len(samples)


def test_generated_texts_are_training_words_and_coverage_counts_letters():
    texts = generation_texts(50, seed=1)
    assert len(set(texts)) == 50 and not any(is_test_word(t) for t in texts)
    assert texts == generation_texts(50, seed=1)
    assert letter_coverage(["abc"]) == pytest.approx(3 / 26)


def test_adapt_returns_a_tuned_copy_and_leaves_the_original(samples):
    base = Recognizer.new()
    before = {k: v.clone() for k, v in base.model.state_dict().items()}
    tuned = adapt(samples, base, _tiny_gan(), config=TINY)
    assert all(torch.equal(v, base.model.state_dict()[k]) for k, v in before.items())
    changed = [k for k, v in tuned.model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert changed
    assert tuned.info["generated"] == 6 and tuned.info["adapted_on"] == 3
    control = adapt(samples, base, gan=None, real_only=True, config=TINY)
    assert control.info["generated"] == 0 and control.info["real_only"]


def test_adapt_refuses_unusable_samples():
    base = Recognizer.new()
    with pytest.raises(ValueError, match="no labelled samples"):
        adapt(WordDataset(), base, real_only=True, config=TINY)
    bad = WordDataset([WordSample(np.ones((32, 40), np.float32), "na\u00efve", "x")])
    with pytest.raises(ValueError, match="not in the charset"):
        adapt(bad, base, real_only=True, config=TINY)


def _write_folder(folder, data: WordDataset) -> None:
    folder.mkdir()
    lines = []
    for i, sample in enumerate(data):
        Image.fromarray(np.round(sample.image * 255).astype(np.uint8)).save(folder / f"w{i}.png")
        lines.append(f"w{i}.png\t{sample.text.upper()}")
    (folder / "labels.tsv").write_text("\n".join(lines) + "\n")


def test_cli_adapt_writes_a_loadable_model_and_never_overwrites_its_input(tmp_path, samples):
    _write_folder(tmp_path / "writer", samples)
    base = Recognizer.new().save(tmp_path / "base.pt")
    out = tmp_path / "adapted.pt"
    assert main(["adapt", "--samples", str(tmp_path / "writer"), "--out-model", str(out), "--real-only",
                 "--model", str(base)]) == 0
    assert Recognizer.load(out).info["adapted_on"] == len(samples)
    assert main(["adapt", "--samples", str(tmp_path / "writer"), "--out-model", str(base), "--real-only",
                 "--model", str(base)]) == 2
    assert main(["adapt", "--samples", str(tmp_path), "--out-model", str(out), "--real-only"]) == 2


def test_real_only_adaptation_teaches_the_shipped_recognizer_the_writers_words():
    writer = heldout_writers()[2]
    texts = [w for w in word_list("train")[::997]][:15]
    data = writer_words(writer, texts, seed=0)
    base = Recognizer.load()
    before = cer(data.texts, base.read([s.image for s in data]))
    tuned = adapt(data, base, real_only=True, config=AdaptConfig(steps=40, batch_size=8, replay_per_writer=2))
    after = cer(data.texts, tuned.read([s.image for s in data]))
    assert after < before
