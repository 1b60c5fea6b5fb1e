"""``workbench train``: fine-tune, follow the run with a progress bar, print the result."""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Any

from workbench.cli.common import (
    add_config_flags,
    config_from_args,
    task_of,
)
from workbench.cli.console import abandon, follow, is_main_process, print_findings
from workbench.errors import USER_ERRORS


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="Fine-tune a model (flags override --config).",
        description=(
            "Fine-tune a model (flags override --config). Ctrl-C works like the Stop button: "
            "training stops after the current step, then the best checkpoint is tested and "
            "exported like a completed run's (status stopped, exit code 0; --resume DIR "
            "continues it). A second Ctrl-C aborts at once (exit code 130), leaving the run "
            "directory resumable from its last checkpoint."
        ),
    )
    p.add_argument("--config", help="YAML file with settings (e.g. a run's config.yaml).")
    p.add_argument(
        "--resume", metavar="DIR", help="Continue a stopped or interrupted run directory."
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="Default offline fine-tune plus the TF-IDF baseline on the same split.",
    )
    p.add_argument("--quiet", action="store_true", help="No progress bar.")
    add_config_flags(p)


def run(args: argparse.Namespace) -> int:
    from workbench.runs import train

    handle = train(resume=args.resume) if args.resume else train(config_from_args(args))
    try:
        follow(handle, args.quiet)
        handle.wait()
    except KeyboardInterrupt:  # the second Ctrl-C
        return abandon(handle)
    if handle.error is not None:
        if isinstance(handle.error, USER_ERRORS):
            raise handle.error
        message = handle.summary.get("error") if handle.summary else str(handle.error)
        if not isinstance(handle.error, RuntimeError) or "loss became" not in str(handle.error):
            traceback.print_exception(handle.error, file=sys.stderr)
        print(f"error: run failed: {message}", file=sys.stderr)
        if handle.run_dir:
            print(f"run directory: {handle.run_dir}", file=sys.stderr)
        return 1
    if not is_main_process():
        return 0
    summary = handle.summary or {}
    print(f"run directory: {handle.run_dir}")
    print(f"status: {summary.get('status')}")
    if summary.get("status") == "stopped":
        print(f"resume with: workbench train --resume {handle.run_dir}")
    if summary.get("test_macro_f1") is not None:
        print(
            f"test macro-F1 {summary['test_macro_f1']:.4f}  "
            f"test accuracy {summary['test_accuracy']:.4f}  "
            f"({summary['trainable_parameters']:,} of {summary['total_parameters']:,} "
            f"parameters trained, {summary['train_samples_per_second']} samples/s)"
        )
    if summary.get("test_perplexity") is not None:  # a causal-LM run
        from workbench.cli.causal_lm import print_lm_summary

        print_lm_summary(summary, handle.run_dir)
    for line in task_of(handle.config).summary_lines(summary, handle.run_dir):
        print(line)
    print_findings(
        summary,
        handle.run_dir / "config.yaml" if handle.run_dir else None,
        fixed_out=handle.config.run.out is not None,
    )
    done = handle.session is not None and summary.get("status") == "completed"
    if args.demo and done and task_of(handle.config).tfidf_baseline:
        demo_baseline(handle, summary)
    return 0


def demo_baseline(handle: Any, summary: dict[str, Any]) -> None:
    """Print the fine-tune next to TF-IDF + logistic regression on the same split."""
    from workbench.baseline import tfidf_baseline
    from workbench.runs.directory import write_json

    base = tfidf_baseline(handle.session.data, handle.config.optim.seed)
    summary["baseline_tfidf"] = base
    write_json(handle.run_dir / "summary.json", summary)
    print()
    print(f"{'held-out test':<34}{'macro-F1':>10}{'accuracy':>10}")
    print(
        f"{'fine-tuned ' + handle.config.model.model:<34}"
        f"{summary['test_macro_f1']:>10.4f}{summary['test_accuracy']:>10.4f}"
    )
    print(
        f"{'TF-IDF + logistic regression':<34}"
        f"{base['test_macro_f1']:>10.4f}{base['test_accuracy']:>10.4f}"
    )
    print(f"loss curves: {handle.run_dir / 'loss_curves.png'}")
