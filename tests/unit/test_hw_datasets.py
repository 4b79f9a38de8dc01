"""Datasets: rendered font-writer sets, IAM and per-writer folder loaders, width-bucketed batches."""
import numpy as np
import pytest
from PIL import Image

from padl_lib.handwriting import datasets as D
from padl_lib.handwriting.writers import get_writer, train_writers, word_list


def _save_word(path, word, writer="dkg", seed=0, scale=2, mode="L"):
    """A word image file as a scan would be: larger than 32 px, 8-bit."""
    img = get_writer(writer).render(word, seed)
    pil = Image.fromarray((img * 255).astype(np.uint8)).resize((img.shape[1] * scale, 32 * scale))
    pil.convert(mode).save(path)


def test_render_dataset_is_deterministic_and_labelled():
    writers = train_writers()[:3]
    data = D.render_dataset(writers, word_list("train"), per_writer=4, seed=5)
    again = D.render_dataset(writers, word_list("train"), per_writer=4, seed=5)
    assert len(data) == 12 and data.texts == again.texts
    np.testing.assert_array_equal(data[7].image, again[7].image)
    sample = data[0]
    assert sample.image.dtype == np.float32 and sample.image.shape[0] == 32
    assert sample.writer_id == writers[0].writer_id and sample.text in word_list("train")
    assert len(data.by_writer(writers[1].writer_id)) == 4
    assert len(data[2:5]) == 3 and len(data + again) == 24


def test_width_batches_cover_everything_once_and_pad_far_less_than_random_batches():
    rng = np.random.default_rng(0)
    widths = rng.integers(20, 300, 1000).tolist()
    batches = list(D.width_batches(widths, 32, rng=np.random.default_rng(1)))
    assert sorted(i for b in batches for i in b) == list(range(1000))

    random_batches = [list(range(i, min(i + 32, 1000))) for i in range(0, 1000, 32)]
    assert D.padding_ratio(widths, random_batches) > 0.5
    assert D.padding_ratio(widths, batches) < 0.05


def test_pad_batch_pads_on_the_right():
    batch = D.pad_batch([np.ones((32, 5)), np.ones((32, 9))], value=0.0, multiple=4)
    assert batch.shape == (2, 32, 12)
    assert batch[0, :, 5:].max() == 0 and batch[1, :, :9].min() == 1


def test_load_word_image_normalizes_any_format_to_height_32(tmp_path):
    _save_word(tmp_path / "a.png", "apple", scale=3)
    _save_word(tmp_path / "b.jpg", "apple", mode="RGB")
    rgba = Image.new("RGBA", (80, 40), (0, 0, 0, 0))
    rgba.paste((0, 0, 0, 255), (10, 10, 60, 30))
    rgba.save(tmp_path / "c.png")
    deep = (np.asarray(Image.open(tmp_path / "a.png"), dtype=np.uint16) * 257).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "d.png")  # 16-bit grey
    Image.open(tmp_path / "a.png").convert("CMYK").save(tmp_path / "e.tif")
    for name in ["a.png", "b.jpg", "c.png", "d.png", "e.tif"]:
        img = D.load_word_image(tmp_path / name)
        assert img.shape[0] == 32 and img.dtype == np.float32 and 0 <= img.min() <= img.max() <= 1
    np.testing.assert_allclose(D.load_word_image(tmp_path / "d.png"), D.load_word_image(tmp_path / "a.png"), atol=0.02)
    transparent = D.load_word_image(tmp_path / "c.png")
    assert transparent[0, 0] > 0.9 and transparent[16, 30] < 0.1  # transparent = paper, not ink
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="bad.png"):
        D.load_word_image(tmp_path / "bad.png")


def test_scans_are_cropped_to_the_word():
    word = get_writer("purisa").render("margin", 0)
    page = np.full((200, 600), float(np.median(word)), dtype=np.float32)
    page[80:112, 200:200 + word.shape[1]] = word
    cropped = D.crop_to_ink(page)
    assert cropped.shape[0] < 40 and cropped.shape[1] < word.shape[1] + 10
    blank = np.ones((50, 80), dtype=np.float32)
    assert D.crop_to_ink(blank) is blank


def test_load_folder_reads_labels_tsv(tmp_path):
    writer = tmp_path / "anna"
    writer.mkdir()
    for k, word in enumerate(["cat", "house", "river"]):
        _save_word(writer / f"w{k}.png", word, seed=k)
    (writer / "labels.tsv").write_text("w0.png\tcat\nw1.png\tHouse\n\nw2.png\triver\n")
    data = D.load_folder(writer)
    assert data.texts == ["cat", "House", "river"] and set(data.writer_ids) == {"anna"}
    assert D.load_folder(writer, lower=True).texts[1] == "house"
    assert len(D.load_writer_folders(tmp_path)) == 3
    (writer / "labels.tsv").write_text("w0.png\tcat\nmissing.png\tdog\n")
    with pytest.raises(FileNotFoundError, match="missing.png"):
        D.load_folder(writer)
    (writer / "labels.tsv").write_text("w0.png cat\n")
    with pytest.raises(ValueError, match="labels.tsv:1"):
        D.load_folder(writer)
    (writer / "labels.tsv").unlink()
    with pytest.raises(FileNotFoundError, match="labels.tsv"):
        D.load_folder(writer)


def test_load_iam_follows_the_words_txt_layout(tmp_path):
    lines = ["#--- words.txt ---", "# format: a01-000u-00-00 ok 154 1 408 768 27 51 AT A",
             "a01-000u-00-00 ok 154 408 768 27 51 AT A",
             "a01-000u-00-01 err 154 507 766 213 48 NN MOVE",
             "a01-000u-00-02 ok 154 796 764 70 50 TO to",
             "b02-010-03-04 ok 170 1 2 3 4 NN stop it"]
    (tmp_path / "words.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "forms.txt").write_text("# comment\na01-000u 000 2 prt 7 5 52 36\n")
    for word_id, word in [("a01-000u-00-00", "a"), ("a01-000u-00-02", "to"), ("b02-010-03-04", "stop")]:
        folder = tmp_path / "words" / word_id.split("-")[0] / "-".join(word_id.split("-")[:2])
        folder.mkdir(parents=True, exist_ok=True)
        _save_word(folder / f"{word_id}.png", word)
    data = D.load_iam(tmp_path)
    assert data.texts == ["A", "to", "stop it"]  # the err segmentation is skipped
    assert data.writer_ids == ["000", "000", "b02-010"]  # writer from forms.txt, else the form
    assert D.load_iam(tmp_path, lower=True, limit=1).texts == ["a"]
    (tmp_path / "words" / "a01" / "a01-000u" / "a01-000u-00-02.png").unlink()
    with pytest.raises(FileNotFoundError, match="a01-000u-00-02.png"):
        D.load_iam(tmp_path)
    with pytest.raises(FileNotFoundError, match="words.txt"):
        D.load_iam(tmp_path / "words")
