"""Does every exported copy of a run compute what the evaluated model computed?

The test metrics in ``summary.json`` describe the model that was in memory at test time;
its outputs are in ``test_predictions.jsonl`` (class probabilities per test example, in the
order of ``summary.json`` ``labels``). :func:`check_export` loads each artifact the run left
— ``model/`` with ``transformers.pipeline``, ``adapter/`` with peft's
``AutoPeftModelForSequenceClassification``, ``onnx/model.onnx`` with ONNX Runtime — in a
**fresh process** (as a deployment would: nothing of the training process leaks in), runs
it on a seeded sample of the test texts and compares, per artifact:

* **label agreement**: share of examples where the artifact predicts the evaluated label;
* **max |Δ log p|**: the largest difference between the artifact's log-softmax and the
  reference's ``log(probs)``. Log-softmax is the logits with their shift removed, so this
  is the shift-invariant logit difference. Classes the reference gives p <= 1e-6 are left
  out of it: their log is large, sensitive and decides nothing; a tail class that the
  artifact makes big is still caught by **max |Δ p|**, checked over all classes.

The verdict lands in ``<run>/export_report.json``; :func:`report_findings` turns what did
not pass into coach findings (``workbench.coach`` shape), so a disagreement never passes
silently.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

REPORT_FILE = "export_report.json"
PREDICTIONS_FILE = "test_predictions.jsonl"
CHECK_NAME = "export-parity"
#: Python module the fresh process runs (``python -m``).
WORKER = "workbench.deploy.worker"
#: Input fields of test_predictions.jsonl rows, in the order tried: a text classifier's
#: rows carry the text, an image classifier's a reference to the image.
INPUT_KEYS = ("text", "image")
#: Probabilities below this are clipped before the log (fp32 softmax underflows near 1e-38).
EPSILON = 1e-30


@dataclass(frozen=True)
class Tolerance:
    """How close an artifact must come to the evaluated model to pass.

    ``max_abs_logit_diff`` bounds both max |Δ log p| (over classes the reference gives more
    than ``min_reference_prob``) and max |Δ p| (over all classes); ``min_agreement`` is the
    share of sampled examples whose predicted label must match.
    """

    max_abs_logit_diff: float
    min_agreement: float = 0.99
    min_reference_prob: float = 1e-6


#: fp32 against fp32: batch padding and summation order move log-probabilities by ~1e-6
#: (merged LoRA: ~1e-6 too; tests/test_export.py); a wrong head, stale weights or a swapped
#: label map move them by 1e-2 and more. Agreement below 1 is allowed for near-ties only:
#: with |Δ log p| <= 1e-3 two labels can swap only where their probabilities are that close.
PYTORCH_TOLERANCE = Tolerance(1e-3)
#: ONNX Runtime fuses and reorders ops (attention, layer norm): measured 1e-7 to 3e-6 on MiniLM and
#: the tiny test BERT, allowed 1e-2 to leave room for other architectures and ORT versions.
ONNX_TOLERANCE = Tolerance(1e-2)
#: The run tested under bf16/fp16 autocast (a GPU run): its reference probabilities carry
#: that rounding, while the artifacts run in fp32 on CPU. Not measured here (no GPU).
MIXED_PRECISION_TOLERANCE = Tolerance(5e-2, min_agreement=0.97)

DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "model": PYTORCH_TOLERANCE,
    "adapter": PYTORCH_TOLERANCE,
    "onnx": ONNX_TOLERANCE,
}
LOADERS = {
    "model": "transformers.pipeline('text-classification', model=<run>/model)",
    "adapter": "peft.AutoPeftModelForSequenceClassification.from_pretrained(<run>/adapter)",
    "onnx": "onnxruntime.InferenceSession(<run>/onnx/model.onnx)",
    "image-model": "workbench.load_run(<run>).predict(test images)",
}


def check_export(
    run_dir: str | Path,
    *,
    sample: int = 256,
    seed: int = 0,
    tolerances: Mapping[str, Tolerance | float] | None = None,
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Compare every exported artifact of a run with its evaluated model; write the report.

    Parameters
    ----------
    run_dir:
        A finished run (``test_predictions.jsonl`` and ``model/`` present).
    sample:
        Test examples to compare: all of them when the test split has no more, else a
        seeded random sample of this size (``seed``), the same on every call.
    tolerances:
        Per artifact (``model``, ``adapter``, ``onnx``): a :class:`Tolerance`, or a float
        for its ``max_abs_logit_diff``; unnamed artifacts keep :data:`DEFAULT_TOLERANCES`.
    timeout:
        Seconds the fresh process may take before the check fails.

    Returns
    -------
    The report also written to ``<run>/export_report.json``: ``passed`` is True when every
    artifact passed, False when one did not, None when nothing could be checked
    (``reason`` says why).
    """
    from workbench import load_run

    started = _now()
    clock = time.perf_counter()
    run = load_run(run_dir)
    report: dict[str, Any] = {
        "run": str(run.path),
        "task": run.config.model.task,
        "started": started,
        "reference": f"{PREDICTIONS_FILE} (the evaluated in-memory model at test time)",
        "versions": _versions(),
    }
    plan = _plan(run, sample, seed, tolerances)
    if isinstance(plan, str):
        report.update(checked=False, passed=None, reason=f"not checked: {plan}", artifacts={})
    else:
        outputs = _run_worker(plan["job"], timeout)
        report.update(checked=True, **plan["facts"])
        report["artifacts"] = {
            name: _judge(name, outputs.get(name), plan, tol)
            for name, tol in plan["tolerances"].items()
        }
        report["passed"] = all(a["passed"] for a in report["artifacts"].values())
    report.update(finished=_now(), seconds=round(time.perf_counter() - clock, 2))
    _write_json(run.path / REPORT_FILE, report)
    return report


def read_report(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's ``export_report.json``; None when the check has not run."""
    path = Path(run_dir) / REPORT_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


# ------------------------------------------------------------------------------- planning
def _plan(
    run: Any, sample: int, seed: int, overrides: Mapping[str, Tolerance | float] | None
) -> dict[str, Any] | str:
    """What the fresh process must do, or why nothing can be checked."""
    from workbench.tasks import get_task

    task = run.config.model.task
    if get_task(task).generates:
        return (
            f"{task} runs are judged by generated text, not class probabilities; "
            f"{PREDICTIONS_FILE} holds no per-class scores to compare an export with"
        )
    rows = _read_rows(run.path / PREDICTIONS_FILE)
    if not rows:
        return f"the run has no {PREDICTIONS_FILE} (it was not tested: killed or failed early)"
    labels = [str(x) for x in run.summary.get("labels") or []]
    if not labels or any(len(r.get("probs", [])) != len(labels) for r in rows):
        return f"summary.json labels do not match the class probabilities in {PREDICTIONS_FILE}"
    # what the test rows name is what the artifacts are fed: texts, or image references
    mode = next((key for key in INPUT_KEYS if all(key in r for r in rows)), None)
    if mode is None:
        return f"{PREDICTIONS_FILE} rows name no input ({' or '.join(INPUT_KEYS)}) to feed"
    chosen = _sample(len(rows), sample, seed)
    artifacts = _artifacts(run, mode)
    precision = str(run.env.get("mixed_precision") or "no")
    tolerances = _tolerances(artifacts, precision, overrides)
    job = {
        "mode": mode,
        "run": str(run.path),
        "labels": labels,
        "inputs": [rows[i][mode] for i in chosen],
        "max_length": int(run.config.model.max_length),
        "artifacts": {name: str(path) for name, path in artifacts.items()},
    }
    facts = {
        "examples": len(chosen),
        "test_examples": len(rows),
        "sample": {"size": sample, "seed": seed, "indices": chosen},
        "labels": labels,
        "mixed_precision": precision,
    }
    return {"job": job, "facts": facts, "tolerances": tolerances, "rows": [rows[i] for i in chosen]}


def _artifacts(run: Any, mode: str) -> dict[str, Path]:
    """The exports of ``run`` to check, by name: ``model`` always (an absent one fails);
    for text classifiers also ``adapter`` (adapter methods, or when present) and ``onnx``
    (when exported). An image run's ``model/`` is the task's own format: checked alone."""
    from workbench.methods import get_method

    found = {"model": run.path / "model"}
    if mode != "text":
        return found
    adapter = run.path / "adapter"
    if adapter.is_dir() or get_method(run.config.model.method).uses_peft:
        found["adapter"] = adapter
    onnx = run.path / "onnx"
    if onnx.is_dir():
        found["onnx"] = onnx
    return found


def _tolerances(
    artifacts: Mapping[str, Path], precision: str, overrides: Mapping[str, Tolerance | float] | None
) -> dict[str, Tolerance]:
    out = {}
    for name in artifacts:
        tol = DEFAULT_TOLERANCES.get(name, PYTORCH_TOLERANCE)
        if precision in ("bf16", "fp16"):
            tol = MIXED_PRECISION_TOLERANCE
        given = (overrides or {}).get(name)
        if isinstance(given, (int, float)):
            tol = Tolerance(float(given), tol.min_agreement, tol.min_reference_prob)
        elif given is not None:
            tol = given
        out[name] = tol
    return out


def _sample(n: int, size: int, seed: int) -> list[int]:
    """Indices of the examples to compare: all when ``n <= size``, else a seeded sample
    (sorted, so the report lists them in file order)."""
    if size <= 0:
        raise ValueError(f"sample must be a positive number of examples; got {size}")
    if n <= size:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), size))


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# --------------------------------------------------------------------------- fresh process
def _run_worker(job: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Outputs of every artifact, by name, from ``python -m workbench.deploy.worker`` in a
    new interpreter; a crash or a timeout becomes an error entry for each artifact."""
    with tempfile.TemporaryDirectory(prefix="export-check-") as tmp:
        job_file, out_file = Path(tmp) / "job.json", Path(tmp) / "out.json"
        job_file.write_text(json.dumps(job), encoding="utf-8")
        command = [sys.executable, "-m", WORKER, str(job_file), str(out_file)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
            problem = None if done.returncode == 0 else _last_line(done.stderr)
        except subprocess.TimeoutExpired:
            problem = f"the check process took more than {timeout:g} s and was stopped"
        if problem is None and out_file.is_file():
            outputs = json.loads(out_file.read_text(encoding="utf-8"))
            return outputs if isinstance(outputs, dict) else {}
    problem = problem or "the check process wrote no output"
    return {name: {"loaded": False, "error": problem} for name in job["artifacts"]}


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return f"the check process failed: {lines[-1] if lines else 'no message'}"


# ------------------------------------------------------------------------------ comparing
def _judge(name: str, got: dict[str, Any] | None, plan: dict[str, Any], tol: Tolerance) -> dict:
    """One artifact's report entry."""
    loader = LOADERS["image-model" if plan["job"]["mode"] == "image" else name]
    entry: dict[str, Any] = {
        "path": plan["job"]["artifacts"][name],
        "loader": loader,
        "loaded": bool(got and got.get("loaded")),
        "error": None,
        "tolerance": asdict(tol),
    }
    if not entry["loaded"]:
        entry.update(error=(got or {}).get("error") or "no output", passed=False)
        return entry
    assert got is not None
    try:
        entry.update(compare(plan["rows"], plan["facts"]["labels"], got, tol))
    except ValueError as err:
        entry.update(error=str(err), passed=False)
    return entry


def compare(
    rows: list[dict[str, Any]], labels: list[str], got: Mapping[str, Any], tol: Tolerance
) -> dict[str, Any]:
    """Agreement and largest differences between reference rows and an artifact's output.

    ``rows`` are ``test_predictions.jsonl`` records (``probs`` in ``labels`` order,
    ``predicted``); ``got`` has the artifact's ``labels`` (its own class order) and
    ``log_probs`` (one row per example, in that order). Classes are matched by name, so an
    artifact whose label map was swapped disagrees instead of passing.
    """
    own = [str(x) for x in got["labels"]]
    if sorted(own) != sorted(labels):
        raise ValueError(f"the artifact's classes {own} are not the run's classes {labels}")
    order = [own.index(label) for label in labels]  # artifact column of each run class
    log_diff = prob_diff = 0.0
    agree, worst = 0, 0
    for i, (row, theirs) in enumerate(zip(rows, got["log_probs"], strict=True)):
        mine = [theirs[j] for j in order]
        predicted = labels[max(range(len(mine)), key=mine.__getitem__)]
        agree += predicted == row["predicted"]
        for p, lp in zip(row["probs"], mine, strict=True):
            prob_diff = max(prob_diff, abs(p - math.exp(lp)))
            if p > tol.min_reference_prob:
                d = abs(math.log(max(p, EPSILON)) - lp)
                if d > log_diff:
                    log_diff, worst = d, i
    n = len(rows)
    agreement = agree / n if n else 1.0
    return {
        "examples": n,
        "agreement": agreement,
        "disagreements": n - agree,
        "max_abs_logit_diff": log_diff,
        "max_abs_prob_diff": prob_diff,
        "worst_example": worst,
        "passed": agreement >= tol.min_agreement
        and log_diff <= tol.max_abs_logit_diff
        and prob_diff <= tol.max_abs_logit_diff,
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """The check as a few lines of text (the CLI prints them; so does lesson 6): what was
    compared, one line per artifact, and the verdict with the report's path."""
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


# ------------------------------------------------------------------------------- findings
def report_findings(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Coach findings (``workbench.coach.Finding.to_dict()`` shape) for what a report says
    is wrong: a ``warning`` per artifact that failed, an ``info`` when
    nothing could be checked; ``[]`` for a clean pass."""
    if not report.get("checked"):
        reason = str(report.get("reason", "")).removeprefix("not checked: ")
        return [
            _finding(
                "info",
                f"export not checked: {reason}",
                "Without a check, nothing shows that the exported files give the evaluated "
                "model's predictions.",
                "Check the export by hand on a few test examples before deploying it.",
            )
        ]
    found = []
    for name, entry in report.get("artifacts", {}).items():
        if not entry.get("passed"):
            found.append(_failed(name, entry, report))
    return found


def _failed(name: str, entry: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, Any]:
    folder = Path(entry.get("path", name)).name
    tol = entry.get("tolerance", {})
    if not entry.get("loaded") or "agreement" not in entry:
        message = f"{folder}/ could not be checked: {entry.get('error')}"
    else:
        message = (
            f"{folder}/ disagrees with the evaluated model: agreement "
            f"{entry['agreement']:.1%} on {entry['examples']} test examples (needs "
            f"{tol.get('min_agreement', 0):.0%}), max |Δ log p| {entry['max_abs_logit_diff']:.3g}"
            f" and max |Δ p| {entry['max_abs_prob_diff']:.3g} (allowed "
            f"{tol.get('max_abs_logit_diff', 0):g})"
        )
    model_failed = not (report.get("artifacts", {}).get("model") or {}).get("passed", True)
    fix = {
        "onnx": "onnx/ is made from model/, which fails the check too: fix model/ first "
        "(train the run again), then export ONNX again."
        if model_failed
        else "Export it again (export_onnx / `workbench export --format onnx`) and "
        "re-check; do not serve this file until the check passes.",
        "adapter": "Train the run again, or deploy model/ (adapters merged) instead; do not "
        "use this adapter until the check passes.",
    }.get(
        name,
        "Compare model/config.json id2label with summary.json labels and the weights with "
        "the run's checkpoint; train again if model/ was changed. Do not deploy it until the "
        "check passes.",
    )
    return _finding(
        "warning",
        message,
        "The test metrics in summary.json describe the model evaluated in memory; an export "
        "that computes something else does not have those metrics.",
        fix,
    )


def _finding(severity: str, message: str, why: str, fix: str) -> dict[str, Any]:
    return {
        "check": CHECK_NAME,
        "severity": severity,
        "message": message,
        "why": why,
        "fix": fix,
        "changes": {},
        "stage": "export",
    }


# ---------------------------------------------------------------------------------- files
def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in ("torch", "transformers", "peft", "onnxruntime", "onnx"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write aside, then rename: a reader never sees half a report."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
