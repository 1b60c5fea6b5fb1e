"""``workbench predict``: labels (or a causal LM's answers) from a finished run's model."""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli.common import (
    open_run,
    owns,
    print_json,
    task_of,
)
from workbench.errors import UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("predict", help="Predict labels with a finished run's model.")
    p.add_argument("--run", required=True, metavar="DIR")
    p.add_argument("--text", action="append", default=[], help="A text (repeatable).")
    p.add_argument(
        "--file", help="A text file, one text per line (image runs: one image path per line)."
    )
    p.add_argument(
        "--image",
        action="append",
        default=[],
        help="image-classification runs: an image file (repeatable).",
    )
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    if getattr(args, "image", None) or owns(args.run, "predict"):
        run = open_run(args.run)  # e.g. an image run: its task reads the image files
        own = task_of(run.config).run_command("predict", run, args)
        if own is None:
            raise UserError(
                f"run {run.path} is a {run.config.model.task} run: it reads texts, not images "
                "(use --text or --file)"
            )
        return int(own)
    texts = list(args.text)
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise UserError(f"file not found: {path}")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as err:
            raise UserError(
                f"--file {path} is not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset "
                f"{err.start}); save it as UTF-8, one text per line"
            ) from None
        texts += [line for line in lines if line.strip()]
    if not texts:
        raise UserError("nothing to predict: give --text TEXT (repeatable) or --file FILE")
    run = open_run(args.run)
    if task_of(run.config).generates:  # an answer per prompt instead of a label
        from workbench.cli.causal_lm import predict_lm_run

        return predict_lm_run(run, texts, args.json)
    preds = run.predict(texts)
    if args.json:
        print_json(preds)
    else:
        for p in preds:
            print(f"{p['label']}\t{p['confidence']:.3f}\t{p['text']}")
    return 0
