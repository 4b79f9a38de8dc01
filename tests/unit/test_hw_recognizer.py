"""The CRNN+CTC recognizer: charset, CTC decoding, error rates, training, checkpoints, features."""
import numpy as np
import pytest
import torch

from padl_lib.handwriting import recognizer as R
from padl_lib.handwriting.datasets import WordDataset, WordSample, render_dataset
from padl_lib.handwriting.train import evaluate, fine_tune, train_recognizer
from padl_lib.handwriting.writers import get_writer, train_writers, word_list


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_charset_round_trip_and_unknown_characters():
    cs = R.Charset()
    assert len(cs) == 27 and cs.decode(cs.encode("hello")) == "hello"
    assert R.Charset.from_texts(["ba", "c!"]).chars == "!abc"
    with pytest.raises(ValueError, match="'Q'"):
        cs.encode("Queen")


def _log_probs(rows):
    return np.log(np.asarray(rows, dtype=np.float64))


def test_greedy_decoding_merges_repeats_and_drops_blanks():
    cs = R.Charset("ab")
    # steps: a a blank a b b blank -> "aab"
    lp = _log_probs([[.1, .8, .1], [.1, .8, .1], [.8, .1, .1], [.1, .8, .1], [.1, .1, .8], [.1, .1, .8], [.9, .05, .05]])
    assert R.greedy_decode(lp, cs) == "aab"
    assert R.beam_decode(lp, cs, beam=4) == "aab"


def test_beam_search_sums_paths_that_greedy_misses():
    cs = R.Charset("a")
    lp = _log_probs([[.6, .4], [.6, .4]])  # P("") = .36, P("a") = .64
    assert R.greedy_decode(lp, cs) == ""
    assert R.beam_decode(lp, cs, beam=4) == "a"


def test_cer_and_wer():
    assert R.cer(["hello", "world"], ["hello", "world"]) == 0
    assert R.cer(["abcd"], ["abed"]) == pytest.approx(0.25)
    assert R.wer(["cat", "dog"], ["cat", "dot"]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="2 references but 1"):
        R.cer(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="empty"):
        R.wer([""], ["a"])


def test_to_ink_normalizes_contrast_and_height():
    faint = np.full((64, 100), 0.8, dtype=np.float32)
    faint[20:40, 10:90] = 0.6
    ink = R.to_ink(faint)
    assert ink.shape == (32, 50) and ink.max() == pytest.approx(1.0) and ink[0, 0] == 0.0
    with pytest.raises(ValueError, match="2-D"):
        R.to_ink(np.zeros((3, 3, 3)))


def test_model_is_about_a_million_parameters_and_reduces_width_by_four():
    rec = R.Recognizer.new()
    assert 0.7e6 < rec.parameters() < 1.5e6
    assert rec.model(torch.zeros(2, 1, 32, 64)).shape == (2, 16, 27)


def test_training_lowers_the_ctc_loss_and_checkpoints_round_trip(tmp_path):
    words = ["mix", "dog", "quay", "web"]
    writer = get_writer("purisa")
    data = WordDataset([WordSample(writer.render(w, s), w, writer.writer_id) for w in words for s in range(8)])
    rec = train_recognizer(data, epochs=4, batch_size=8, lr=5e-3, seed=0)
    assert rec.info["final_loss"] < 0.9 * rec.info["initial_loss"]
    path = rec.save(tmp_path / "tiny.pt")
    loaded = R.Recognizer.load(path)
    images = [s.image for s in data[:6]]
    np.testing.assert_allclose(np.concatenate(loaded.log_probs(images)), np.concatenate(rec.log_probs(images)), atol=0.05)
    np.testing.assert_allclose(loaded.features(images), rec.features(images), atol=0.05)


def test_fine_tune_returns_a_new_model_and_leaves_the_original():
    rec = R.Recognizer.new()
    before = {k: v.clone() for k, v in rec.model.state_dict().items()}
    data = render_dataset([get_writer("dkg")], word_list("train"), 6)
    tuned = fine_tune(rec, data, steps=3, batch_size=4, replay=render_dataset([get_writer("breip")], word_list("train"), 4))
    assert tuned is not rec and tuned.info["fine_tuned_steps"] == 3
    assert all(torch.equal(before[k], v) for k, v in rec.model.state_dict().items())
    assert any(not torch.equal(before[k], v) for k, v in tuned.model.state_dict().items())


def test_bad_checkpoint_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        R.Recognizer.load(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a padl recognizer"):
        R.Recognizer.load(tmp_path / "junk.pt")


@pytest.fixture(scope="module")
def shipped():
    return R.Recognizer.load()


def test_shipped_checkpoint_is_small_and_reads_seen_writers_unseen_words(shipped):
    assert R.shipped_checkpoint().stat().st_size < 5_000_000
    data = render_dataset(train_writers(), word_list("test"), per_writer=4, seed=11)
    assert evaluate(shipped, data)["cer"] < 0.1
    assert evaluate(shipped, data, beam=5)["cer"] < 0.1


def test_features_are_per_image_and_identify_the_writer(shipped):
    from padl_lib.handwriting.figures import writer_identification

    words = ["harbor", "pencil", "stone", "violet"]
    images = [get_writer("leckerli_one").render(w, 0) for w in words]
    feats = shipped.features(images)
    assert feats.shape == (4, shipped.model.feature_dim)
    np.testing.assert_allclose(shipped.features(images[:1]), feats[:1], atol=1e-5)
    writers = train_writers()[:8]
    assert writer_identification(shipped, writers, per_writer=8, references=5) > 3 / len(writers)


def test_recognize_reads_arrays_and_files(shipped, tmp_path):
    from PIL import Image

    image = get_writer("humor_sans").render("garden", seed=0)
    Image.fromarray((image * 255).astype(np.uint8)).resize((image.shape[1] * 2, 64)).save(tmp_path / "w.png")
    from_array, from_file = R.recognize([image, tmp_path / "w.png"], model=shipped)
    assert from_array == from_file and R.cer(["garden"], [from_file]) <= 0.2
    assert R.recognize([]) == []
