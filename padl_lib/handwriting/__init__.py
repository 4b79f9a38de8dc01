"""Handwriting synthesis for OCR: font writers, a CRNN+CTC recognizer, few-shot style adaptation.

Public API (images: float32, height 32, dark ink on light paper):
- writers: `all_writers()`, `train_writers()`, `heldout_writers()`, `get_writer(id)`,
  `word_list("train"|"test")`; `FontWriter.render(word, seed)`.
- data: `WordSample`, `WordDataset`, `render_dataset`, `load_folder`, `load_iam`, `load_word_image`.
- recognizer: `Recognizer.load(path=None)` (None: the shipped checkpoint), `.read(images)`,
  `.features(images)`, `recognize(images or paths)`, `cer`, `wer`, `evaluate`, `fine_tune`,
  `train_recognizer`.

hw-gan: append your exports (`adapt`, the generator) at the end of this file.
"""
from __future__ import annotations

from padl_lib.handwriting.datasets import (WordDataset, WordSample, load_folder, load_iam, load_word_image,
                                           load_writer_folders, render_dataset)
from padl_lib.handwriting.recognizer import Charset, Recognizer, cer, recognize, wer
from padl_lib.handwriting.train import evaluate, fine_tune, train_recognizer
from padl_lib.handwriting.writers import (FontWriter, WriterStyle, all_writers, get_writer, heldout_writers,
                                          train_writers, word_list)

__all__ = ["FontWriter", "WriterStyle", "all_writers", "get_writer", "heldout_writers", "train_writers",
           "word_list", "WordDataset", "WordSample", "load_folder", "load_iam", "load_word_image",
           "load_writer_folders", "render_dataset", "Charset", "Recognizer", "cer", "recognize", "wer", "evaluate",
           "fine_tune", "train_recognizer"]

# hw-gan: few-shot style GAN and writer adaptation
from padl_lib.handwriting.adapt import adapt, adapt_folder  # noqa: E402
from padl_lib.handwriting.generator import HandwritingGAN  # noqa: E402

__all__ += ["adapt", "adapt_folder", "HandwritingGAN"]
