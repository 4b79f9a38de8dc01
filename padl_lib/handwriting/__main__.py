"""CLI of the handwriting topic.

    python -m padl_lib.handwriting recognize [--model PATH] [--beam N] DIR -o PRED.tsv
    python -m padl_lib.handwriting train [--per-writer N] [--epochs N] -o MODEL.pt
    python -m padl_lib.handwriting evaluate [--model PATH] [--per-writer N]

To add a subcommand (hw-gan: `adapt`, `experiment`): write `_add_<name>(sub)` that calls
`sub.add_parser(...)`, adds its arguments and `set_defaults(run=<function taking args>)`,
and append it to `SUBCOMMANDS`. A `run` function raises ValueError/OSError for bad input;
`main` turns those into a one-line error and exit status 2.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from padl_lib.progress import tqdm_progress


def _recognize(args: argparse.Namespace) -> None:
    from padl_lib.handwriting.datasets import image_files, load_word_image
    from padl_lib.handwriting.recognizer import Recognizer
    from padl_lib.io import write_text_atomic

    files = image_files(args.dir)
    if not files:
        raise ValueError(f"{args.dir} holds no word images (looked for .png, .jpg, .tif, .bmp, ...)")
    images = [load_word_image(path) for path in files]
    recognizer = Recognizer.load(args.model)
    texts = recognizer.read(images, beam=args.beam)
    lines = "".join(f"{path.name}\t{text}\n" for path, text in zip(files, texts))
    write_text_atomic(args.output, lines)
    print(f"read {len(files)} word images -> {args.output}")


def _train(args: argparse.Namespace) -> None:
    from padl_lib import set_threads
    from padl_lib.handwriting.train import train_recognizer, training_set

    set_threads(args.threads)
    data = training_set(args.per_writer, seed=args.seed, progress=tqdm_progress("word"))
    recognizer = train_recognizer(data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                                  progress=tqdm_progress("batch"))
    recognizer.save(args.output)
    print(f"trained in {recognizer.info['train_seconds']} s -> {args.output}")


def _evaluate(args: argparse.Namespace) -> None:
    from padl_lib.handwriting.recognizer import Recognizer
    from padl_lib.handwriting.train import evaluate, test_sets

    recognizer = Recognizer.load(args.model)
    for name, data in test_sets(args.per_writer).items():
        scores = evaluate(recognizer, data, beam=args.beam)
        print(f"{name:7s} writers, test words: CER {scores['cer']:.4f}  WER {scores['wer']:.4f}  (n={scores['n']})")


def _add_recognize(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("recognize", help="read every word image in a folder")
    p.add_argument("dir", type=Path, help="folder of word images (dark ink on light paper)")
    p.add_argument("-o", "--output", type=Path, required=True, help="PRED.tsv to write: file name<TAB>text")
    p.add_argument("--model", type=Path, default=None, help="recognizer checkpoint (default: the shipped one)")
    p.add_argument("--beam", type=int, default=0, help="beam width for CTC prefix beam search (default: greedy)")
    p.set_defaults(run=_recognize)


def _add_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a recognizer on the font writers' train words")
    p.add_argument("-o", "--output", type=Path, required=True, help="checkpoint to write")
    p.add_argument("--per-writer", type=int, default=1200, help="words per train writer")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    p.set_defaults(run=_train)


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="CER/WER on seen and unseen font writers (test words)")
    p.add_argument("--model", type=Path, default=None, help="recognizer checkpoint (default: the shipped one)")
    p.add_argument("--per-writer", type=int, default=100)
    p.add_argument("--beam", type=int, default=0)
    p.set_defaults(run=_evaluate)


SUBCOMMANDS = [_add_recognize, _add_train, _add_evaluate]

# hw-gan's subcommands (few-shot style GAN, adaptation, the study)
from padl_lib.handwriting.adapt import add_adapt_command  # noqa: E402
from padl_lib.handwriting.experiment import add_experiment_command  # noqa: E402
from padl_lib.handwriting.gan_train import add_train_gan_command  # noqa: E402

SUBCOMMANDS += [add_train_gan_command, add_adapt_command, add_experiment_command]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m padl_lib.handwriting", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
