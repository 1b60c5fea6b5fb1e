"""``workbench eval``: a finished run's test metrics, recomputed from its exported model."""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli.common import (
    open_run,
    print_json,
    task_of,
)
from workbench.errors import UserError


def add_parser(sub: Any) -> None:
    p = sub.add_parser("eval", help="Test metrics of a finished run.")
    p.add_argument("--run", required=True, metavar="DIR")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--compare-with",
        metavar="DIR",
        help="causal-lm runs: a classifier run on the same split, compared example by example.",
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from workbench.data import prepare_data
    from workbench.tasks import classification_metrics

    run = open_run(args.run)
    own = task_of(run.config).run_command("eval", run, args)
    if own is not None:  # a task with its own evaluation (image-classification)
        return int(own)
    if task_of(run.config).generates:  # perplexity and answers instead of labels
        from workbench.cli.causal_lm import eval_lm_run

        return eval_lm_run(run, args.json, args.compare_with)
    if args.compare_with:
        raise UserError("--compare-with needs a causal-lm run as --run (the classifier goes there)")
    data = prepare_data(run.config.data, run.config.optim.seed)
    preds = run.predict(data.test.texts)
    labels = run.summary.get("labels") or data.labels
    if list(labels) != list(data.labels):
        unseen = [name for name in data.labels if name not in labels]
        if unseen:
            raise UserError(
                f"the test data of {run.path} has labels the model never trained on: "
                f"{', '.join(map(repr, unseen))}; it knows {', '.join(map(repr, labels))}. "
                "Evaluate on data with those labels only, or train a new run on this data"
            )
        raise UserError(f"the run's labels {labels} differ from its data's {data.labels}")
    probs = torch.tensor([[p["probs"][name] for name in labels] for p in preds])
    metrics = classification_metrics(
        probs.clamp_min(1e-12).log(), torch.tensor(data.test.labels), list(labels)
    )
    if args.json:
        print_json(metrics)
        return 0
    print(f"run {run.path} — test split of {len(data.test)} examples")
    print(f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}")
    print(f"{'class':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, m in metrics["per_class"].items():
        print(
            f"{name:<16}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}"
            f"{m['support']:>9}"
        )
    return 0
