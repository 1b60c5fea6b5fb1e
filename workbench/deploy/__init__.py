"""Deployment: export a run's model for serving, and check every export against the run.

>>> from workbench.deploy import export_onnx, check_export, report_findings
>>> export_onnx("runs/my-run")                # runs/my-run/onnx/model.onnx (+ tokenizer, config)
>>> report = check_export("runs/my-run")      # fresh process; writes export_report.json
>>> report["passed"], report_findings(report) # True, [] — or warnings saying what differs

Nothing here imports torch, transformers, peft, onnx or onnxruntime at module level: the
ONNX packages are optional (``pip install 'finetune-workbench[onnx]'``) and the check loads
the artifacts in a separate interpreter (:mod:`workbench.deploy.worker`).
"""

from workbench.deploy.onnx import (
    ONNX_FILE,
    ONNX_FOLDER,
    export_onnx,
    onnx_exportable,
    onnx_logits,
    onnx_session,
    write_onnx,
)
from workbench.deploy.parity import (
    DEFAULT_TOLERANCES,
    ONNX_TOLERANCE,
    PYTORCH_TOLERANCE,
    REPORT_FILE,
    Tolerance,
    check_export,
    compare,
    read_report,
    report_findings,
    summary_lines,
)

__all__ = [
    "DEFAULT_TOLERANCES",
    "ONNX_FILE",
    "ONNX_FOLDER",
    "ONNX_TOLERANCE",
    "PYTORCH_TOLERANCE",
    "REPORT_FILE",
    "Tolerance",
    "check_export",
    "compare",
    "export_onnx",
    "onnx_exportable",
    "onnx_logits",
    "onnx_session",
    "read_report",
    "report_findings",
    "summary_lines",
    "write_onnx",
]
