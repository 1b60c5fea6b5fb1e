"""``workbench check``: the coach's pre-flight findings for a config, without training."""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli.common import (
    add_config_flags,
    config_from_args,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="Run the coach's pre-flight checks on these settings without training.",
        description=(
            "Prepare the data and read the tokenizer as 'train' would, then report what the "
            "coach sees before step 1: data lost in cleaning, too few steps, small held-out "
            "splits, imbalance, truncation, leakage, label noise, memory. Exit code 2 when a "
            "finding is an error, else 0. Takes the same flags as 'train'."
        ),
    )
    p.add_argument("--config", help="YAML file with settings (e.g. a run's config.yaml).")
    add_config_flags(p)


def run(args: argparse.Namespace) -> int:
    """The coach's pre-flight findings for these settings; exit 2 on an error finding."""
    from workbench.coach import describe, raise_errors
    from workbench.coach.base import planned_steps
    from workbench.training.checkup import check_settings
    from workbench.training.session import prepare_task_data

    config = config_from_args(args).resolved()
    findings, checks = check_settings(config)
    data = prepare_task_data(config)  # cached: check_settings prepared it
    per_epoch, total = planned_steps(config, len(data.train))
    sizes = " · ".join(f"{len(getattr(data, s)):,} {s}" for s in ("train", "val", "test"))
    print(f"plan: {sizes} rows; {per_epoch} steps per epoch, {total} steps in all")
    for finding in findings:
        print("\n".join(describe(finding)))
    if not findings:
        print(f"no findings: nothing to flag for these settings ({checks} checks ran)")
    raise_errors(findings)
    return 0
