"""``workbench export``: deployable copies of a finished run, checked against the run.

    workbench export --run runs/DIR --format onnx   # onnx/model.onnx, then the check
    workbench export --run runs/DIR                 # check model/ and adapter/ as they are

The check loads every exported artifact in a fresh process (``model/`` with
``transformers.pipeline``, ``adapter/`` with peft's ``AutoPeftModel…``, ``onnx/`` with
ONNX Runtime), runs it on a seeded sample of the test split and compares it with what the
evaluated model predicted at test time; the verdict goes to ``<run>/export_report.json``
(:mod:`workbench.deploy.parity`). Exit code 1 when an artifact disagrees beyond its
tolerance, so a deployment script stops there.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from workbench.cli.common import open_run, print_json

#: Exit code when the check finds an artifact that does not match the evaluated model.
DISAGREES = 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="Export a finished run for serving (ONNX) and check every export against it.",
        description=(
            "Export a finished run for serving (--format onnx: <run>/onnx/model.onnx), then "
            "check every exported artifact (model/, adapter/, onnx/) in a fresh process "
            "against the predictions the evaluated model made on the test split; the verdict "
            "goes to <run>/export_report.json. Exit code 1 when an artifact disagrees beyond "
            "its tolerance."
        ),
    )
    p.add_argument("--run", required=True, metavar="DIR", help="A finished run directory.")
    p.add_argument(
        "--format",
        choices=("onnx",),
        help="Also write this format: onnx = <run>/onnx/model.onnx with the tokenizer files "
        "(text-classification runs). Default: none, only the check.",
    )
    p.add_argument(
        "--opset",
        type=int,
        help="ONNX opset to target. Default: the exporter's (20 with torch 2.13).",
    )
    p.add_argument(
        "--sample",
        type=int,
        default=256,
        help="Test examples the check compares (a seeded sample; all if fewer). Default: 256.",
    )
    p.add_argument(
        "--no-check", action="store_true", help="Export only; write no export_report.json."
    )
    p.add_argument("--json", action="store_true", help="Print the report as JSON.")


def run(args: argparse.Namespace) -> int:
    from workbench.deploy import check_export, report_findings, summary_lines

    run_ = open_run(args.run)
    if args.sample < 1:
        from workbench.errors import UserError

        raise UserError(f"--sample must be at least 1, got {args.sample}")
    if args.format == "onnx":
        from workbench.deploy import export_onnx

        path = export_onnx(run_.path, opset=args.opset)
        if not args.json:
            print(f"onnx: {path} ({onnx_line(path.parent)})")
    if args.no_check:
        return 0
    report = check_export(run_.path, sample=args.sample)
    if args.json:
        print_json(report)
    else:
        for line in summary_lines(report):
            print(line)
    findings = report_findings(report)
    if not args.json:
        from workbench.coach import describe

        for finding in findings:
            print("\n".join(describe(finding)))
    return DISAGREES if report.get("passed") is False else 0


def onnx_line(folder: Path) -> str:
    """``opset 18, inputs input_ids/attention_mask (batch, sequence) …`` from export.json."""
    import json

    info_file = folder / "export.json"
    if not info_file.is_file():
        return "written"
    info = json.loads(info_file.read_text(encoding="utf-8"))
    inputs = "/".join(info.get("inputs", {}))
    diff = info.get("probe_max_abs_logit_diff")
    probe = f"; its logits within {diff:.1e} of PyTorch's" if isinstance(diff, float) else ""
    return f"opset {info.get('opset')}, {inputs} with dynamic batch and sequence axes{probe}"
