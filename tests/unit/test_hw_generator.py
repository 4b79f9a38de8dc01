"""The few-shot style GAN: shapes, any text length, style from few samples, save/load, training."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from padl_lib.handwriting.datasets import render_dataset
from padl_lib.handwriting.gan_train import (GanTrainConfig, group_by_writer, ink_map, recognizer_ctc, sample_batch,
                                            train_gan)
from padl_lib.handwriting.generator import GanConfig, HandwritingGAN, encode_texts, pad_images
from padl_lib.handwriting.recognizer import Recognizer, to_ink
from padl_lib.handwriting.writers import get_writer, train_writers, word_list

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(scope="module")
def gan() -> HandwritingGAN:
    torch.manual_seed(0)
    return HandwritingGAN(GanConfig(alphabet=ALPHABET, n_writers=3))


def _samples(writer_id: str, texts: list[str]) -> list[tuple[np.ndarray, str]]:
    writer = get_writer(writer_id)
    return [(writer.render(t, seed=i), t) for i, t in enumerate(texts)]


def test_writes_any_length_at_the_writers_width(gan):
    samples = _samples(train_writers()[0].writer_id, ["hello", "world", "ink", "paper", "pen"])
    style = gan.style(samples)
    per_char = sum(im.shape[1] for im, _ in samples) / sum(len(t) for _, t in samples)
    images = gan.write(["a", "word", "extraordinarily"], style, seed=1)
    assert [im.shape[0] for im in images] == [32, 32, 32]
    for image, text in zip(images[1:], ["word", "extraordinarily"]):
        assert image.shape[1] == pytest.approx(per_char * len(text), abs=1)
    assert all(im.dtype == np.float32 and 0 <= im.min() and im.max() <= 1 for im in images)


def test_style_depends_on_the_writer_and_works_with_few_samples(gan):
    a = gan.style(_samples(train_writers()[0].writer_id, ["one", "two", "three"]))
    b = gan.style(_samples(train_writers()[5].writer_id, ["one", "two", "three"]))
    assert a.vector.shape == (1, gan.config.style_dim)
    assert not torch.allclose(a.vector, b.vector)
    single = gan.style(_samples(train_writers()[0].writer_id, ["one"]))
    assert torch.isfinite(single.vector).all()


def test_same_seed_same_image_and_save_load_roundtrip(gan, tmp_path):
    style = gan.style(_samples(train_writers()[1].writer_id, ["abc", "defg"]))
    first = gan.write(["quick"], style, seed=3)[0]
    assert np.array_equal(first, gan.write(["quick"], style, seed=3)[0])
    loaded = HandwritingGAN.load(gan.save(tmp_path / "gan.pt"))
    assert np.allclose(first, loaded.write(["quick"], loaded.style(_samples(train_writers()[1].writer_id,
                                                                              ["abc", "defg"])), seed=3)[0])


def test_bad_input_is_refused_with_a_clear_error(gan, tmp_path):
    with pytest.raises(ValueError, match="cannot write characters"):
        encode_texts(["hello!"], ALPHABET)
    with pytest.raises(ValueError, match="empty"):
        encode_texts([""], ALPHABET)
    with pytest.raises(ValueError, match="32 px high"):
        pad_images([np.ones((20, 40), np.float32)])
    with pytest.raises(ValueError, match="at least one"):
        gan.style([])
    with pytest.raises(FileNotFoundError, match="no GAN checkpoint"):
        HandwritingGAN.load(tmp_path / "missing.pt")


def test_ink_map_is_the_recognizers_to_ink():
    image = get_writer(train_writers()[2].writer_id).render("handwriting", seed=0)
    batch, widths = pad_images([image, image[:, :30]])
    ours = ink_map(batch, widths)[0, 0].numpy()
    assert np.allclose(ours, to_ink(image), atol=2e-3)


def test_ctc_loss_reaches_the_generator_pixels():
    recognizer = Recognizer.new()
    loss_fn = recognizer_ctc(recognizer)
    images = torch.full((2, 1, 32, 64), 0.9, requires_grad=True)
    with torch.no_grad():
        images[:, :, 10:20, 8:56] = 0.1
    loss = loss_fn(images, torch.tensor([64, 48]), ["ab", "cde"])
    loss.backward()
    assert torch.isfinite(loss) and images.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in recognizer.model.parameters())


def test_batches_hold_one_writer_per_row():
    data = render_dataset(train_writers()[:2], word_list("train"), 6, seed=0)
    writers, groups = group_by_writer(data)
    import random

    images, widths, counts, texts, real, real_widths, ids = sample_batch(groups, 4, (2, 4), random.Random(0))
    assert images.shape[:3] == (4, 4, 1) and counts.min() >= 2 and counts.max() <= 4
    assert real.shape[0] == 4 and len(texts) == 4 and set(ids.tolist()) <= {0, 1}
    for row, wi in enumerate(ids.tolist()):
        assert texts[row] in {t for _, t in groups[wi]}


def test_a_few_training_steps_bring_generated_words_closer_to_real_ones():
    data = render_dataset(train_writers()[:2], word_list("train"), 6, seed=0)
    log: list[dict] = []
    config = GanTrainConfig(steps=25, batch=4, min_samples=2, max_samples=3, lr=1e-3)
    gan = train_gan(data, ALPHABET, ctc_loss=None, config=config, log=log)
    first, last = np.mean([r["l1"] for r in log[:5]]), np.mean([r["l1"] for r in log[-5:]])
    assert last < 0.8 * first
    assert not gan.training
