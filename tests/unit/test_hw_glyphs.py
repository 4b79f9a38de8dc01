"""The GAN's copy path: CTC forced alignment, letters cut from samples, words set from them."""
from __future__ import annotations

import numpy as np
import pytest

from padl_lib.handwriting.generator import HandwritingGAN
from padl_lib.handwriting.glyphs import GlyphBank, compose, compose_readable, core_band, forced_align, letter_cuts
from padl_lib.handwriting.recognizer import Recognizer, cer, to_ink
from padl_lib.handwriting.writers import get_writer, heldout_writers


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    return Recognizer.load()


def _log_probs(path: list[int], classes: int = 5, sure: float = 0.9) -> np.ndarray:
    """Log-probabilities that put `sure` on the given class per step."""
    probs = np.full((len(path), classes), (1 - sure) / (classes - 1))
    probs[np.arange(len(path)), path] = sure
    return np.log(probs)


def test_forced_align_finds_each_label_and_separates_repeats():
    # blank a a blank a b b blank: labels "a a b" must take steps {1,2}, {4}, {5,6}
    spans = forced_align(_log_probs([0, 1, 1, 0, 1, 2, 2, 0]), [1, 1, 2])
    assert spans == [(1, 2), (4, 4), (5, 6)]
    # the label sequence is forced even where the scores disagree
    assert len(forced_align(_log_probs([0, 3, 3, 0]), [1, 2])) == 2
    with pytest.raises(ValueError, match="cannot hold"):
        forced_align(_log_probs([1, 1]), [1, 1])


def test_core_band_and_cuts_follow_the_ink():
    ink = np.zeros((32, 40), np.float32)
    ink[12:22, 2:12] = 1   # an x-height letter
    ink[4:22, 20:24] = 1   # an ascender: tall but thin, so it does not set the core
    ink[12:22, 28:38] = 1
    assert core_band(ink) == (12.0, 22.0)
    cuts = letter_cuts(ink, [(1, 2), (4, 5), (7, 8)])
    assert cuts[0] == 0 and cuts[-1] == 40
    assert all(ink[:, c].sum() == 0 for c in cuts[1:-1])


def test_bank_holds_the_writers_letters_and_composed_words_read_like_real_ones(recognizer):
    writer = heldout_writers()[0]
    words = ["garden", "market", "silver", "plot", "wave", "jump", "quiz", "fox", "hybrid"]
    samples = [(writer.render(w, seed=i), w) for i, w in enumerate(words)]
    bank = GlyphBank.from_samples(samples, recognizer)
    assert set(bank.letters) == set("".join(words))
    texts = ["dragon", "sixty", "bright", "quiet", "planet", "mother", "window", "faster"]
    rng = np.random.default_rng(0)
    images = [compose(t, bank, None, rng) for t in texts]
    assert all(im.shape[0] == 32 and im.dtype == np.float32 and 0 <= im.min() <= im.max() <= 1 for im in images)
    real = [writer.render(t, seed=50 + i) for i, t in enumerate(texts)]  # an unseen writer: both are misread a bit
    assert cer(texts, recognizer.read(images)) <= cer(texts, recognizer.read(real)) + 0.1


def test_missing_letters_need_the_synthesis_path(recognizer):
    writer = get_writer(heldout_writers()[1].writer_id)
    bank = GlyphBank.from_samples([(writer.render("ant", seed=0), "ant")], recognizer)
    with pytest.raises(ValueError, match="no 'z'"):
        compose("zant", bank, None, np.random.default_rng(0))
    fallback = np.ones((32, 64), np.float32)
    fallback[10:20, 4:12] = 0.1
    image = compose("zant", bank, fallback, np.random.default_rng(0))
    assert image.shape[0] == 32 and to_ink(image)[:, : image.shape[1] // 4].max() > 0.5  # the synthesized z


def test_gan_writes_with_the_copy_path_when_given_a_recognizer(recognizer):
    gan = HandwritingGAN.load()
    writer = heldout_writers()[2]
    samples = [(writer.render(w, seed=i), w) for i, w in enumerate(["lantern", "bridge", "copy", "whisk"])]
    plain, copied = gan.style(samples), gan.style(samples, recognizer)
    assert plain.glyphs is None and copied.glyphs is not None
    first = gan.write(["brown", "fizz"], copied, seed=2)
    assert [im.shape[0] for im in first] == [32, 32]
    assert all(np.array_equal(a, b) for a, b in zip(first, gan.write(["brown", "fizz"], copied, seed=2)))
    # a seed fixes the trained generator's per-pixel noise too; without one, words vary
    assert np.array_equal(gan.write(["brown"], plain, seed=5)[0], gan.write(["brown"], plain, seed=5)[0])
    assert not np.array_equal(gan.write(["brown"], plain)[0], gan.write(["brown"], plain)[0])


def test_text_costs_prefer_the_true_text_and_readable_drafts_win(recognizer):
    writer = heldout_writers()[3]
    image = get_writer("comic_neue").render("garden", seed=0)
    right, wrong = recognizer.text_costs([image, image], ["garden", "pillow"])
    assert right < wrong
    with pytest.raises(ValueError, match="2 images but 1 texts"):
        recognizer.text_costs([image, image], ["garden"])
    words = ["lantern", "bridge", "copy", "whisk", "grove", "dance"]
    bank = GlyphBank.from_samples([(writer.render(w, seed=i), w) for i, w in enumerate(words)], recognizer)
    best = compose_readable(["gown"], bank, [None], np.random.default_rng(4), candidates=6)[0]
    first = compose_readable(["gown"], bank, [None], np.random.default_rng(4), candidates=1)[0]
    costs = recognizer.text_costs([best, first], ["gown", "gown"])
    assert costs[0] <= costs[1]
