"""padl's BNN command line.

    python -m padl_lib.bnn train [--epochs 30] [--out PT]     # default: work/digits_bnn.pt
    python -m padl_lib.bnn convert {digits,birealnet18,quicknet} OUT.bnn [--checkpoint PT] [--size 224]
    python -m padl_lib.bnn convert MODEL.pt OUT.bnn --shape C,H,W   # a whole torch module saved with torch.save
    python -m padl_lib.bnn evaluate MODEL.bnn            # accuracy on the digits test split
    python -m padl_lib.bnn bench [--quick] [--threads N] [--json PATH] [--engines ...]
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _train(args: argparse.Namespace) -> None:
    from padl_lib.bnn.train import save_checkpoint, train_digits_bnn
    from padl_lib.progress import tqdm_progress

    model, history = train_digits_bnn(epochs=args.epochs, seed=args.seed, progress=tqdm_progress("epoch"))
    path = save_checkpoint(model, args.out)
    print(f"test accuracy {history.test_accuracy[-1]:.4f} after {args.epochs} epochs; saved {path}")


ZOO = ("digits", "birealnet18", "quicknet")


def _parse_shape(text: str) -> tuple[int, int, int]:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"--shape must be C,H,W (three positive integers), got {text!r}")
    return shape  # type: ignore[return-value]


def _torch_model(name: str, args: argparse.Namespace):
    """The model to convert and its input shape (C, H, W)."""
    import torch

    from padl_lib.bnn import models
    from padl_lib.settings import seed_everything

    if name == "digits":
        return models.load_digits_bnn(args.checkpoint or models.DIGITS_CHECKPOINT), (1, 8, 8)
    if name in ZOO:
        seed_everything(0)
        return {"birealnet18": models.birealnet18, "quicknet": models.quicknet}[name]().eval(), \
            (3, args.size, args.size)
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(f"{name} is neither a zoo model ({', '.join(ZOO)}) nor a file")
    if args.shape is None:
        raise ValueError(f"converting {path} needs its input shape: --shape C,H,W")
    model = torch.load(path, map_location="cpu", weights_only=False)  # a module pickled by the user
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"{path} holds a {type(model).__name__}, not a torch module saved with torch.save(model)")
    return model.eval(), args.shape


def _convert(args: argparse.Namespace) -> None:
    from padl_lib.bnn import convert

    if Path(args.model).exists() and Path(args.out).resolve() == Path(args.model).resolve():
        raise ValueError(f"refusing to overwrite the source model {args.model}; choose another output path")
    model, shape = _torch_model(args.model, args)
    example = np.random.default_rng(0).standard_normal((1, *shape), dtype=np.float32)
    engine = convert(model, example)
    path = engine.save(args.out)
    sizes = engine.sizes()
    print(f"{args.model}: {engine}; binary weights {sizes['binary_weight_bytes']:,} B packed "
          f"(fp32 {sizes['binary_weight_fp32_bytes']:,} B), float params {sizes['float_param_bytes']:,} B; saved {path}")


def _evaluate(args: argparse.Namespace) -> None:
    from padl_lib.bnn import load
    from padl_lib.bnn.train import load_digits

    engine = load(args.engine)
    data = load_digits()
    predictions = engine(data.x_test.numpy()).argmax(1)
    accuracy = float((predictions == data.y_test.numpy()).mean())
    print(f"{args.engine}: digits test accuracy {accuracy:.4f} on {len(predictions)} images")


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        from padl_lib.bnn.bench import main as bench_main

        bench_main(argv[1:])
        return
    from padl_lib.settings import work_dir

    parser = argparse.ArgumentParser(prog="python -m padl_lib.bnn", description="padl's binary neural networks")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train the digits BNN (scikit-learn's bundled 8x8 digits)")
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--out", type=Path, default=None,
                       help="where to save the state dict (default: digits_bnn.pt in the work folder; "
                            "padl_lib/data/bnn/digits_bnn.pt replaces the shipped checkpoint)")
    convert = sub.add_parser("convert", help="convert a zoo model or a saved torch module to a packed engine file")
    convert.add_argument("model", help=f"one of {', '.join(ZOO)}, or a .pt file of torch.save(model)")
    convert.add_argument("out", type=Path)
    convert.add_argument("--checkpoint", type=Path, help="digits: a state dict saved by `train`")
    convert.add_argument("--size", type=int, default=224, help="input size of the ImageNet-shaped models")
    convert.add_argument("--shape", type=_parse_shape, help="C,H,W of a saved module's input")
    evaluate = sub.add_parser("evaluate", help="digits test accuracy of a saved engine")
    evaluate.add_argument("engine", type=Path)
    sub.add_parser("bench", help="the benchmark (see python -m padl_lib.bnn.bench --help)")
    args = parser.parse_args(argv)
    if args.command == "train" and args.out is None:
        args.out = work_dir() / "digits_bnn.pt"
    try:
        {"train": _train, "convert": _convert, "evaluate": _evaluate}[args.command](args)
    except (ValueError, FileNotFoundError) as exc:
        parser.exit(2, f"error: {exc}\n")


if __name__ == "__main__":
    main()
