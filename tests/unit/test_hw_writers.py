"""Font writers: the fonts, the splits, the words, and how a word is rendered."""
import numpy as np
import pytest
from PIL import Image

from padl_lib.handwriting import writers as W


def test_writers_use_exactly_the_listed_fonts_and_split_deterministically():
    everyone = W.all_writers()
    assert len(everyone) == len(W.FONTS) == 22
    assert all(w.font_path.exists() for w in everyone)
    train, held = W.train_writers(), W.heldout_writers()
    assert len(train) >= 16 and len(held) >= 4
    assert {w.writer_id for w in held} == set(W.HELDOUT_FONTS)
    assert not {w.font_path for w in train} & {w.font_path for w in held}
    assert W.get_writer("kristi").split == "heldout"
    with pytest.raises(KeyError, match="unknown writer"):
        W.get_writer("nobody")


def test_each_writer_has_its_own_style():
    styles = [w.style for w in W.all_writers()]
    assert len({round(s.slant, 4) for s in styles}) == len(styles)
    assert W.get_writer("dkg").style == W.get_writer("dkg").style


def test_train_and_test_words_are_disjoint_lowercase_words():
    train, test = W.word_list("train"), W.word_list("test")
    assert len(train) > 20_000 and len(test) > 2_000
    assert not set(train) & set(test)
    assert all(w.isalpha() and w.islower() and w.isascii() for w in train[:2000] + test[:2000])
    with pytest.raises(ValueError, match="split"):
        W.word_list("validation")


def test_render_is_height_32_dark_ink_on_light_paper_and_deterministic():
    writer = W.get_writer("purisa")
    image = writer.render("Hello", seed=3)
    assert image.dtype == np.float32 and image.shape[0] == W.HEIGHT and image.shape[1] > 40
    assert 0.0 <= image.min() and image.max() <= 1.0
    assert np.median(image) > 0.6 and image.min() < 0.4  # mostly paper, some dark ink
    np.testing.assert_array_equal(image, writer.render("hello", seed=3))  # labels are lower-cased
    assert not np.array_equal(image, writer.render("hello", seed=4))  # per-word variation
    assert writer.render("hellohello", seed=3).shape[1] > image.shape[1] * 1.5


def _fixed_size(image):
    return np.asarray(Image.fromarray(image, mode="F").resize((96, 32)))


def test_same_word_by_two_writers_differs_more_than_two_renderings_by_one():
    a, b = W.get_writer("dancingscript"), W.get_writer("humor_sans")
    first = _fixed_size(a.render("window", 1))
    same = np.abs(first - _fixed_size(a.render("window", 2))).mean()
    other = np.abs(first - _fixed_size(b.render("window", 1))).mean()
    assert other > same


def test_empty_word_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        W.get_writer("dkg").render("  ")
