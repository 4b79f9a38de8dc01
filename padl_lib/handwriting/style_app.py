"""The Voilà app "handwriting style picker": pick a writer, or give your own hand (uploaded word
images, or words drawn with the mouse or a pen on a canvas); type any text and see it written in
that style; run a quick adaptation and compare the recognizer's reading before and after."""
from __future__ import annotations

import base64
import io
import random

import ipywidgets as W
import numpy as np
from PIL import Image

from padl_lib.handwriting.adapt import AdaptConfig, adapt
from padl_lib.handwriting.datasets import WordDataset, WordSample, load_word_image
from padl_lib.handwriting.experiment import writer_words
from padl_lib.handwriting.generator import HandwritingGAN
from padl_lib.handwriting.recognizer import Recognizer
from padl_lib.handwriting.writers import all_writers, get_writer, to_height, word_list
from padl_lib.settings import quick
from padl_lib.widgets import AppShell, ProgressBar, UploadToWorkFolder

__all__ = ["style_picker_app", "canvas_to_word_image", "strokes_to_rgba", "png_data_url"]

OWN_HAND = "my own hand (upload or draw)"
INTRO = ("A GAN reads a handful of a writer's words and writes <b>any text</b> in that hand, reusing the "
         "letters it finds in the samples and synthesizing the others. Pick one of "
         "the font writers (the held-out ones were never seen in training), or give your own hand: upload "
         "word images or write words on the canvas with the mouse or a pen. Then type a text to see it "
         "written, and adapt the recognizer to the hand with generated words: its readings before and "
         "after are shown side by side.")


def canvas_to_word_image(rgba: np.ndarray) -> np.ndarray:
    """A canvas drawing (H, W, 4 uint8, dark strokes on white) cropped to its ink, 32 px high."""
    grey = np.asarray(rgba, dtype=np.float32)[..., :3].mean(-1) / 255.0
    if rgba.shape[-1] == 4:  # transparent pixels are paper
        alpha = np.asarray(rgba, dtype=np.float32)[..., 3] / 255.0
        grey = 1 - alpha * (1 - grey)
    rows, cols = np.nonzero(grey < 0.5)
    if rows.size == 0:
        raise ValueError("the canvas is empty: write a word on it first")
    pad = 6
    top, bottom = max(rows.min() - pad, 0), min(rows.max() + pad + 1, grey.shape[0])
    left, right = max(cols.min() - pad, 0), min(cols.max() + pad + 1, grey.shape[1])
    return np.clip(to_height(grey[top:bottom, left:right]), 0, 1)


def strokes_to_rgba(strokes: list[list[tuple[float, float]]], width: int, height: int, pen: int = 4) -> np.ndarray:
    """Draw pen strokes (lists of canvas points) dark on white, as an (H, W, 4) uint8 image."""
    from PIL import ImageDraw

    image = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        if len(stroke) == 1:
            (x, y), r = stroke[0], pen / 2
            draw.ellipse((x - r, y - r, x + r, y + r), fill=(17, 17, 17, 255))
        else:
            draw.line(stroke, fill=(17, 17, 17, 255), width=pen, joint="curve")
    return np.asarray(image)


def png_data_url(image: np.ndarray) -> str:
    """A (H, W) float image in [0, 1] as a PNG data URL for HTML."""
    buf = io.BytesIO()
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _img(image: np.ndarray, height: int = 32) -> str:
    return f"<img src='{png_data_url(image)}' style='height:{height}px;image-rendering:pixelated'>"


class _DrawingPad:
    """An ipycanvas canvas that shows and records mouse/pen strokes, plus its word label and buttons."""

    WIDTH, HEIGHT, PEN = 420, 110, 4

    def __init__(self, on_add) -> None:
        from ipycanvas import Canvas

        self.canvas = Canvas(width=self.WIDTH, height=self.HEIGHT,
                             layout=W.Layout(width=f"{self.WIDTH}px", height=f"{self.HEIGHT}px", border="1px solid #888"))
        self.canvas.add_class("padl-hw-canvas")
        self.strokes: list[list[tuple[float, float]]] = []
        self._drawing = False
        self.canvas.on_client_ready(self._paint_paper)
        self.canvas.on_mouse_down(self._down)
        self.canvas.on_mouse_move(self._move)
        self.canvas.on_mouse_up(self._up)
        self.canvas.on_mouse_out(self._up)
        self.label = W.Text(placeholder="the word you wrote", description="word")
        self.label.add_class("padl-hw-canvas-label")
        add = W.Button(description="Add drawn word", icon="plus")
        add.add_class("padl-hw-canvas-add")
        add.on_click(lambda _: on_add())
        clear = W.Button(description="Clear", icon="eraser")
        clear.on_click(lambda _: self.clear())
        self.widget = W.VBox([self.canvas, W.HBox([self.label, add, clear])])

    def _paint_paper(self) -> None:
        self.canvas.fill_style = "white"
        self.canvas.fill_rect(0, 0, self.WIDTH, self.HEIGHT)
        self.canvas.line_width, self.canvas.line_cap, self.canvas.stroke_style = self.PEN, "round", "#111"

    def clear(self) -> None:
        self.strokes = []
        self._paint_paper()

    def _down(self, x: float, y: float) -> None:
        self._drawing = True
        self.strokes.append([(x, y)])

    def _move(self, x: float, y: float) -> None:
        if self._drawing:
            self.canvas.stroke_line(*self.strokes[-1][-1], x, y)
            self.strokes[-1].append((x, y))

    def _up(self, x: float, y: float) -> None:
        self._drawing = False

    def word_image(self) -> np.ndarray:
        """The recorded strokes rasterized (dark on white) and cropped to a 32-px-high word."""
        return canvas_to_word_image(strokes_to_rgba(self.strokes, self.WIDTH, self.HEIGHT, self.PEN))


class StylePicker:
    """The app's state and widgets: the chosen hand's samples, the GAN, the recognizer."""

    def __init__(self) -> None:
        self.gan = HandwritingGAN.load()
        self.recognizer = Recognizer.load()
        self.adapted: Recognizer | None = None
        self.own = WordDataset()
        self.n_samples = 15
        names = [f"{w.writer_id} ({'seen' if w.split == 'train' else 'unseen'})" for w in all_writers()]
        self.writer = W.Dropdown(options=[OWN_HAND, *names], value=names[-1], description="writer")
        self.writer.add_class("padl-hw-writer")
        self.writer.observe(lambda _: self.show_samples(), "value")
        self.upload = UploadToWorkFolder(accept="image/*", multiple=True, folder="handwriting")
        self.upload_labels = W.Text(placeholder="labels of the uploaded words, in file order, space-separated",
                                    layout=W.Layout(width="420px"))
        add_upload = W.Button(description="Add uploads", icon="upload")
        add_upload.on_click(lambda _: self._guard(self.add_uploads))
        self.pad = _DrawingPad(lambda: self._guard(self.add_drawing))
        self.samples = W.HTML()
        self.samples.add_class("padl-hw-samples")
        self.text = W.Text(value="handwriting", description="text")
        self.text.add_class("padl-hw-text")
        self.copy_letters = W.Checkbox(value=True, description="reuse the hand's own letters", indent=False)
        write = W.Button(description="Write it", button_style="primary", icon="pencil")
        write.add_class("padl-hw-write")
        write.on_click(lambda _: self._guard(self.write))
        self.generated = W.HTML()
        self.generated.add_class("padl-hw-generated")
        adapt_button = W.Button(description="Adapt recognizer", button_style="warning", icon="cogs")
        adapt_button.add_class("padl-hw-adapt")
        adapt_button.on_click(lambda _: self._guard(self.adapt))
        self.progress = ProgressBar("adaptation")
        self.readings = W.HTML()
        self.readings.add_class("padl-hw-readings")
        own = W.Accordion([W.VBox([W.HTML("<b>Upload word images</b>"), W.HBox([self.upload, self.upload_labels,
                                                                                  add_upload]),
                                   W.HTML("<b>…or write words with the mouse or a pen</b>"), self.pad.widget])])
        own.set_title(0, "your own hand")
        own.selected_index = 0
        self.shell = AppShell("Handwriting style picker", INTRO, [
            self.writer, own, self.samples, W.HBox([self.text, self.copy_letters, write]), self.generated,
            W.HBox([adapt_button]), self.progress, self.readings])
        self.status = self.shell.status
        self.show_samples()

    def _guard(self, action) -> None:
        try:
            action()
        except Exception as exc:  # shown to the user, the app stays usable
            self.status.error(exc)

    # ---------------------------------------------------------------- the hand
    def writer_id(self) -> str | None:
        return None if self.writer.value == OWN_HAND else self.writer.value.split(" ")[0]

    def style_samples(self) -> WordDataset:
        """The chosen hand's labelled samples: 15 train words of a font writer, or the user's own."""
        writer_id = self.writer_id()
        if writer_id is None:
            if len(self.own) == 0:
                raise ValueError("add a few words of your hand first (upload or draw them)")
            return self.own
        texts = random.Random(writer_id).sample(word_list("train"), self.n_samples)
        return writer_words(get_writer(writer_id), texts, seed=1)

    def show_samples(self) -> None:
        try:
            samples = self.style_samples()
        except ValueError as exc:
            self.samples.value = f"<i>{exc}</i>"
            return
        cells = "".join(f"<span title='{s.text}' style='margin:2px'>{_img(s.image, 24)}</span>" for s in samples)
        self.samples.value = f"<div><b>{len(samples)} samples of this hand:</b><br>{cells}</div>"
        self.adapted = None
        self.readings.value = ""

    def add_uploads(self) -> None:
        paths = self.upload.save()
        labels = self.upload_labels.value.split()
        if not paths:
            raise ValueError("choose word images to upload first")
        if len(labels) != len(paths):
            raise ValueError(f"{len(paths)} images but {len(labels)} labels: give one label per image")
        for path, text in zip(paths, labels):
            self.own = self.own + WordDataset([WordSample(load_word_image(path), text.lower(), "own")])
        self._use_own(f"Added {len(paths)} uploaded word(s).")

    def add_drawing(self) -> None:
        text = self.pad.label.value.strip().lower()
        if not text:
            raise ValueError("type the word you wrote on the canvas")
        self.own = self.own + WordDataset([WordSample(self.pad.word_image(), text, "own")])
        self.pad.clear()
        self.pad.label.value = ""
        self._use_own(f"Added the drawn word '{text}' ({len(self.own)} sample(s) of your hand).")

    def _use_own(self, message: str) -> None:
        self.writer.value = OWN_HAND
        self.show_samples()
        self.status.set(message, level="ok")

    # ---------------------------------------------------------------- writing and adapting
    def write(self) -> None:
        words = self.text.value.lower().split()
        if not words:
            raise ValueError("type a text to write")
        samples = self.style_samples()
        style = self.gan.style([(s.image, s.text) for s in samples],
                               self.recognizer if self.copy_letters.value else None)
        images = self.gan.write(words, style, seed=0)
        self.generated.value = "<div>" + " ".join(_img(im, 40) for im in images) + "</div>"
        message = f"Wrote {len(words)} word(s) in the style of {len(samples)} samples."
        if style.glyphs is not None:
            synthesized = sorted(set("".join(words)) - set(style.glyphs.letters))
            message += (f" Letters not in the samples, synthesized: {', '.join(synthesized)}." if synthesized
                        else " Every letter is the hand's own.")
        self.status.set(message, level="ok")

    def adapt(self) -> None:
        samples = self.style_samples()
        probe = self.probe_words(samples)
        before = self.recognizer.read([s.image for s in probe])
        self.status.set(f"Adapting the recognizer to {len(samples)} samples...")
        config = AdaptConfig(generated=40, steps=12, batch_size=8, replay_per_writer=2) if quick() else \
            AdaptConfig(generated=200, steps=120)
        self.adapted = adapt(samples, self.recognizer, self.gan, config=config, progress=self.progress)
        after = self.adapted.read([s.image for s in probe])
        rows = "".join(f"<tr><td>{_img(s.image)}</td><td>{s.text}</td><td>{b}</td><td>{a}</td></tr>"
                       for s, b, a in zip(probe, before, after))
        self.readings.value = ("<table><tr><th>word</th><th>truth</th><th>before</th><th>after</th></tr>"
                               f"{rows}</table>")
        right = sum(b == s.text for s, b in zip(probe, before)), sum(a == s.text for s, a in zip(probe, after))
        self.status.set(f"Adapted: {right[0]} of {len(probe)} words read right before, {right[1]} after.",
                        level="ok")

    def probe_words(self, samples: WordDataset) -> WordDataset:
        """Words to compare readings on: unseen test words for a font writer, else the samples."""
        writer_id = self.writer_id()
        if writer_id is None:
            return samples
        texts = random.Random(0).sample(word_list("test"), 6)
        return writer_words(get_writer(writer_id), texts, seed=2)


def style_picker_app() -> AppShell:
    """Build the app; its last expression in the notebook displays it."""
    return StylePicker().shell
