"""``workbench explain``: which words (pixels, prompt words) drove a finished run's output."""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli.common import (
    generates,
    open_run,
    owns,
    task_of,
)
from workbench.errors import UserError


def add_parser(sub: Any) -> None:
    """``workbench explain``: word attributions of one prediction of a finished run."""
    from workbench.attribution import ATTRIBUTION_METHODS

    p = sub.add_parser("explain", help="Which words drove a finished run's prediction.")
    p.add_argument("--run", required=True, metavar="DIR", help="A run directory with model/.")
    p.add_argument("--text", help="The text to explain (text-classification runs).")
    p.add_argument("--image", help="image-classification runs: the image file to explain.")
    p.add_argument("--prompt", help="causal-lm runs: the prompt whose answer is explained.")
    p.add_argument(
        "--answer",
        help="causal-lm runs: the answer to attribute (default: the model's greedy answer).",
    )
    p.add_argument(
        "--method",
        default="layer-ig",
        help=f"Attribution method: {', '.join(ATTRIBUTION_METHODS)}. Default: layer-ig.",
    )
    p.add_argument(
        "--target", help="Class label (or index) to explain. Default: the predicted class."
    )
    p.add_argument("--html", metavar="OUT", help="Write a self-contained HTML view here.")
    p.add_argument("--json", metavar="OUT", help="Write the explanation as JSON here.")
    p.add_argument(
        "--png",
        metavar="OUT",
        help="Write a bar chart of word scores here (image runs: image, heatmap and overlay).",
    )
    p.add_argument("--top", type=int, default=10, help="Words listed. Default: 10.")
    p.add_argument("--no-trust", action="store_true", help="Skip the trust measures.")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workbench.attribution import explain, get_attribution_method
    from workbench.attribution.engine import resolve_target
    from workbench.attribution.html import plain_words, save_html

    if args.prompt is not None or generates(args.run):
        from workbench.cli.causal_lm import explain_lm_run

        return explain_lm_run(args)
    if getattr(args, "image", None) or owns(args.run, "explain"):
        run = open_run(args.run)  # e.g. an image run: its task explains an image
        own = task_of(run.config).run_command("explain", run, args)
        if own is None:
            raise UserError(
                f"run {run.path} is a {run.config.model.task} run: explain a text with --text"
            )
        return int(own)
    if args.text is None:
        raise UserError("nothing to explain: give --text TEXT")
    get_attribution_method(args.method)  # fail fast, before loading a model
    if not args.text.strip():
        raise UserError("nothing to explain: --text is empty")
    for flag in ("json", "html", "png"):
        folder = Path(getattr(args, flag) or ".").expanduser().parent
        if not folder.is_dir():
            raise UserError(f"--{flag}: folder {folder} does not exist")
    run = open_run(args.run)
    model, tokenizer = run.load_model()
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    resolve_target(labels, args.target, 0)  # unknown label: error listing the allowed ones
    e = explain(
        model,
        tokenizer,
        args.text,
        method=args.method,
        target=args.target,
        trust=not args.no_trust,
        max_length=run.config.model.max_length,
    )
    best = e.predicted["label"]
    print(
        f"prediction: {best} ({e.probs[best]:.3f})   "
        + "  ".join(f"{name} {p:.3f}" for name, p in e.probs.items())
    )
    print(f"method: {e.method} — {e.explains}")
    print(f"top words ({'signed' if e.signed else 'magnitude'}):")
    for word, score in e.top_words(args.top):
        print(f"  {score:+9.4f}  {word}")
    for line in plain_words(e):
        print(line)
    for note in e.notes:
        print(f"note: {note}")
    for flag, write in (("json", _write_json), ("html", save_html), ("png", _write_png)):
        if getattr(args, flag):
            path = Path(getattr(args, flag)).expanduser()
            write(e, path)
            print(f"{flag}: {path}")
    return 0


def _write_json(e: Any, path: Any) -> None:
    import json

    path.write_text(json.dumps(e.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")


def _write_png(e: Any, path: Any) -> None:
    from workbench.attribution.plot import save_png

    save_png(e, path)
