"""What ``workbench train|eval|predict|explain`` print for image runs.

:mod:`workbench.cli` asks the run's task first (``Task.run_command``,
``Task.summary_lines``); for an image run these functions answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from workbench.errors import UserError


def summary_lines(summary: dict[str, Any], run_dir: Path | None) -> list[str]:
    """Where the files of a finished image run are, and its most confused class pair."""
    lines = []
    confusion = summary.get("confusion_matrix")
    labels = summary.get("labels") or []
    if confusion and labels:
        pair = most_confused(confusion, labels)
        if pair is not None:
            true, predicted, count = pair
            lines.append(f"most confused: {count} test images of {true!r} taken for {predicted!r}")
    if run_dir is not None:
        lines.append(f"test predictions: {Path(run_dir) / 'test_predictions.jsonl'}")
        lines.append(f"model: {Path(run_dir) / 'model'} (predict: workbench predict --run "
                     f"{run_dir} --image FILE)")  # fmt: skip
    return lines


def most_confused(confusion: list[list[int]], labels: list[str]) -> tuple[str, str, int] | None:
    """``(true, predicted, count)`` of the largest off-diagonal cell; None when none is > 0."""
    best: tuple[str, str, int] | None = None
    for i, row in enumerate(confusion):
        for j, count in enumerate(row):
            if i != j and count and (best is None or count > best[2]):
                best = (labels[i], labels[j], int(count))
    return best


def eval_command(run: Any, args: Any) -> int:
    from workbench.tasks.image_classification.runs import evaluate_run

    metrics = evaluate_run(run)
    if args.json:
        print(json.dumps(metrics, indent=2, default=str))
        return 0
    print(f"run {run.path} — test split of {metrics['examples']} images")
    print(f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}")
    print(f"{'class':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, m in metrics["per_class"].items():
        print(
            f"{name:<16}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}"
            f"{m['support']:>9}"
        )
    return 0


def predict_command(run: Any, args: Any) -> int:
    images = list(getattr(args, "image", None) or [])
    if getattr(args, "file", None):
        images += _lines(Path(args.file))
    if not images:
        raise UserError("nothing to predict: give --image FILE (repeatable) or --file LIST")
    missing = [p for p in images if not Path(p).expanduser().is_file()]
    if missing:
        raise UserError(f"image file not found: {missing[0]}")
    preds = run.predict(images)
    if args.json:
        print(json.dumps(preds, indent=2))
    else:
        for p in preds:
            print(f"{p['label']}\t{p['confidence']:.3f}\t{p['image']}")
    return 0


def _lines(path: Path) -> list[str]:
    """Image paths listed in a text file, one per line (relative to the file's folder)."""
    if not path.is_file():
        raise UserError(f"file not found: {path}")
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            p = Path(line.strip()).expanduser()
            out.append(str(p if p.is_absolute() else path.parent / p))
    return out


def explain_command(run: Any, args: Any) -> int:
    from workbench.tasks.image_classification.explain import explain_image, get_pixel_method
    from workbench.tasks.image_classification.render import overlay_png

    image = getattr(args, "image", None)
    image = image[0] if isinstance(image, list) and image else image
    if not image:
        raise UserError("nothing to explain: give --image FILE")
    method = "integrated-gradients" if args.method in (None, "layer-ig") else args.method
    get_pixel_method(method)  # fail fast, before loading the model
    if not Path(image).expanduser().is_file():
        raise UserError(f"image file not found: {image}")
    for flag in ("json", "png", "html"):
        folder = Path(getattr(args, flag, None) or ".").expanduser().parent
        if not folder.is_dir():
            raise UserError(f"--{flag}: folder {folder} does not exist")
    model, _ = run.load_model()
    e = explain_image(
        model, str(Path(image).expanduser()), method, target=args.target, trust=not args.no_trust
    )
    print(
        f"prediction: {e.predicted} ({e.probs[e.predicted]:.3f})   "
        + "  ".join(
            f"{name} {p:.3f}" for name, p in sorted(e.probs.items(), key=lambda kv: -kv[1])[:5]
        )
    )
    print(f"method: {e.method} — {e.explains}")
    if e.delta is not None:
        print(f"delta: {e.delta:+.4f} (logit gap to the {e.baseline} baseline {e.gap:+.4f})")
    for line in trust_lines(e.trust):
        print(line)
    for note in e.notes:
        print(f"note: {note}")
    if args.png:
        path = Path(args.png).expanduser()
        path.write_bytes(overlay_png(e))
        print(f"png: {path}")
    if args.json:
        path = Path(args.json).expanduser()
        path.write_text(json.dumps(e.to_dict()), encoding="utf-8")
        print(f"json: {path}")
    return 0


def trust_lines(trust: dict[str, Any]) -> list[str]:
    """The trust measures of an image explanation in plain words."""
    if not trust:
        return []
    d, i = trust["deletion"], trust["insertion"]
    lines = [
        f"deletion AUC {d['auc']:.3f} (random pixels {d['random_auc']:.3f}; lower is better)",
        f"insertion AUC {i['auc']:.3f} (random pixels {i['random_auc']:.3f}; higher is better)",
    ]
    rnd = trust.get("randomization")
    if rnd:
        lines.append(
            f"randomization check: rank correlation with a fully random model "
            f"{_fmt(rnd['all'])} (control {_fmt(rnd['control']['spearman'])}); near 0 is good"
        )
    return lines


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


COMMANDS = {"eval": eval_command, "predict": predict_command, "explain": explain_command}
