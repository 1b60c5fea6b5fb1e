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
    from workbench.deploy import check_export, report_findings

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
        for line in report_lines(report):
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


def report_lines(report: dict[str, Any]) -> list[str]:
    """The check as a short table: one line per artifact, then the report's path."""
    if not report.get("checked"):
        return [f"export check: {report.get('reason', 'not checked')}"]
    first: dict[str, Any] = next(iter(report.get("artifacts", {}).values()), {})
    lines = [
        f"export check: {first.get('examples', '?')} test examples in a fresh process, "
        "against the evaluated model's test predictions"
    ]
    for name, entry in report.get("artifacts", {}).items():
        tol = entry.get("tolerance", {}).get("max_abs_logit_diff")
        if "agreement" in entry:
            verdict = "ok" if entry.get("passed") else "FAILED"
            lines.append(
                f"  {name + '/':<9} agreement {entry['agreement']:6.1%}  "
                f"max |Δ log p| {entry['max_abs_logit_diff']:.1e}  "
                f"max |Δ p| {entry['max_abs_prob_diff']:.1e}  (allowed {tol:g})  {verdict}"
            )
        else:
            lines.append(f"  {name + '/':<9} FAILED: could not load it (see the warning below)")
    verdict = {True: "passed", False: "FAILED", None: "not checked"}[report.get("passed")]
    lines.append(f"export check {verdict} (report: {Path(report['run']) / 'export_report.json'})")
    return lines
