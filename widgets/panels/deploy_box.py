"""DeployBox: does every exported copy of a run compute what the evaluated model computed?

Shown under a finished classification run's test results (Evaluate tab). **Check export**
loads ``model/`` (``transformers.pipeline``), ``adapter/`` (peft's ``AutoPeftModel…``) and
``onnx/model.onnx`` (ONNX Runtime) in a fresh Python process and compares them with the
evaluated model's test predictions (:mod:`workbench.deploy.parity`); **Export ONNX** writes
``onnx/`` first (text classifiers), then checks. The table says, per artifact, how often it
predicts the evaluated label and how far its log-probabilities are from the evaluated
model's; an artifact beyond its tolerance is a warning finding, never a silent pass. The
work runs in a background thread: the kernel stays free, the buttons are off meanwhile.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as w

from widgets.live.background import LatestJob
from widgets.panels.coach_panel import FindingsView
from widgets.render import html

NOT_CHECKED = (
    "export not checked yet: Check export loads {artifacts} in a fresh Python process and "
    "compares them with the evaluated model on up to {sample} test examples (about half a "
    "minute){onnx}"
)
PASSED = "#1a7f37"  # a passed check: green, apart from the grey of "not checked yet"


class DeployBox(w.VBox):
    """The export check of one run and the ONNX export, with their buttons.

    Parameters
    ----------
    sample
        Test examples the check compares (a seeded sample; all of them if fewer).
    """

    def __init__(self, sample: int = 256) -> None:
        self.sample = sample
        self.run_dir: Path | None = None
        self.report: dict[str, Any] | None = None
        self.exported = ""  # what Export ONNX wrote, said above the check's verdict
        self.check_button = w.Button(
            description="Check export",
            icon="check",
            tooltip="Load the exported files in a fresh process and compare them with the "
            "evaluated model",
        )
        self.onnx_button = w.Button(
            description="Export ONNX",
            icon="download",
            tooltip="Write onnx/model.onnx (dynamic batch and sequence) and check it",
        )
        self.status = w.HTML()
        self.table = w.HTML()
        self.findings = FindingsView()
        self.check_button.on_click(lambda _: self.start(onnx=False))
        self.onnx_button.on_click(lambda _: self.start(onnx=True))
        self._job = LatestJob("wb-deploy")
        super().__init__(
            [
                w.HTML("<b>Export check and deployment</b>"),
                w.HBox([self.check_button, self.onnx_button]),
                self.status,
                self.table,
                self.findings,
            ]
        )
        self.show(None)

    def show(self, run_dir: Path | None) -> None:
        """Show ``run_dir``'s ``export_report.json`` (or that there is none yet)."""
        from workbench.deploy import read_report
        from workbench.deploy.onnx import onnx_exportable

        if run_dir != self.run_dir:
            self.exported = ""
        self.run_dir = run_dir
        self.layout.display = None if run_dir is not None else "none"
        if run_dir is None:
            return
        self.onnx_button.disabled = not onnx_exportable(run_dir)
        self.onnx_button.tooltip = (
            "Write onnx/model.onnx (dynamic batch and sequence) and check it"
            if not self.onnx_button.disabled
            else "ONNX export covers text classifiers; this run's model/ is the export to use"
        )
        self.check_button.disabled = False
        self._show_report(read_report(run_dir))

    def start(self, onnx: bool) -> None:
        """What the buttons do: the export and/or check in the background thread."""
        if self.run_dir is None:
            return
        run_dir = self.run_dir
        self.check_button.disabled = self.onnx_button.disabled = True
        doing = "exporting onnx/model.onnx, then checking" if onnx else "checking"
        self.status.value = html.note(
            f"{doing} the exports in a fresh Python process … (the kernel stays free)"
        )
        self._job.submit(lambda: self._work(run_dir, onnx))

    def wait(self, timeout: float = 600.0) -> bool:
        """Block until the check started by a button has ended (tests, scripts)."""
        return self._job.wait_idle(timeout)

    def _work(self, run_dir: Path, onnx: bool) -> None:
        from workbench.deploy import check_export, export_onnx
        from workbench.deploy.onnx import onnx_exportable

        try:
            if onnx:
                from workbench.cli.export import onnx_line

                path = export_onnx(run_dir)
                self.exported = f"wrote {path.parent.name}/{path.name} ({onnx_line(path.parent)})"
            check_export(run_dir, sample=self.sample)  # writes export_report.json
        except Exception as err:  # shown in the box, never a traceback in the output
            if run_dir == self.run_dir:
                self.status.value = html.error(f"{type(err).__name__}: {err}")
                self.check_button.disabled = False
                self.onnx_button.disabled = not onnx_exportable(run_dir)
            return
        if run_dir == self.run_dir:  # still the run shown: its new report
            self.show(run_dir)

    def _show_report(self, report: dict[str, Any] | None) -> None:
        from workbench.deploy import report_findings

        self.report = report
        exported = html.note(self.exported) if self.exported else ""
        if report is None:
            self.status.value = exported + html.note(self._not_checked())
            self.table.value = ""
            self.findings.show([])
            return
        line = verdict_line(report)
        if report.get("passed"):
            verdict = html.note("✓ " + line, color=PASSED)
        else:
            verdict = (html.note if report.get("passed") is None else html.error)(line)
        self.status.value = exported + verdict
        rows = report_rows(report)
        # scrolls sideways in a narrow notebook instead of cutting columns off
        self.table.value = (
            f"<div style='overflow-x:auto;max-width:100%'>{html.table(rows, COLUMNS)}</div>"
            if rows
            else ""
        )
        self.findings.show(report_findings(report))

    def _not_checked(self) -> str:
        from workbench.deploy.onnx import onnx_exportable

        run = self.run_dir
        present = [f"{n}/" for n in ("model", "adapter", "onnx") if run and (run / n).is_dir()]
        onnx = (
            "; Export ONNX writes onnx/model.onnx first, then checks it too"
            if run and onnx_exportable(run) and "onnx/" not in present
            else ""
        )
        return NOT_CHECKED.format(
            artifacts=" and ".join(present) or "the run's exports", sample=self.sample, onnx=onnx
        )


COLUMNS = [
    "artifact",
    "loaded with",
    "agreement",
    "max |Δ log p|",
    "max |Δ p|",
    "allowed Δ · agreement",
    "verdict",
]
#: Short names of the loaders in the table (export_report.json keeps the full call).
SHORT_LOADERS = (
    ("AutoPeft", "peft AutoPeftModel…"),
    ("pipeline", "transformers pipeline"),
    ("onnxruntime", "onnxruntime"),
    ("load_run", "workbench load_run"),
)


def report_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One table row per checked artifact; what went wrong is in the findings below."""
    rows = []
    for name, entry in (report.get("artifacts") or {}).items():
        tol = entry.get("tolerance") or {}
        loader = str(entry.get("loader", ""))
        short = next((label for key, label in SHORT_LOADERS if key in loader), loader)
        loaded = "agreement" in entry
        delta, agree = tol.get("max_abs_logit_diff"), tol.get("min_agreement")
        allowed = [f"≤ {delta:g}" if isinstance(delta, float) else ""]
        allowed += [f"≥ {agree:.0%}"] if isinstance(agree, float) else []
        rows.append(
            {
                "artifact": f"{name}/",
                "loaded with": short,
                "agreement": f"{entry['agreement']:.1%}" if loaded else "—",
                "max |Δ log p|": f"{entry['max_abs_logit_diff']:.1e}" if loaded else "—",
                "max |Δ p|": f"{entry['max_abs_prob_diff']:.1e}" if loaded else "—",
                "allowed Δ · agreement": " · ".join(a for a in allowed if a),
                "verdict": "ok"
                if entry.get("passed")
                else ("FAILED" if loaded else "FAILED: did not load"),
            }
        )
    return rows


def verdict_line(report: dict[str, Any]) -> str:
    """``export check passed: model/, onnx/ agree with the evaluated model on 256 test
    examples (2026-12-06 10:31 UTC)``, or what failed, or why nothing was checked."""
    when = str(report.get("finished", ""))[:16].replace("T", " ") + " UTC"
    if not report.get("checked"):
        return f"{report.get('reason', 'export not checked')} ({when})"
    artifacts = report.get("artifacts") or {}
    examples = next(iter(artifacts.values()), {}).get("examples", "?")
    bad = [f"{n}/" for n, e in artifacts.items() if not e.get("passed")]
    if bad:
        verb = "does" if len(bad) == 1 else "do"
        return (
            f"export check FAILED: {', '.join(bad)} {verb} not match the evaluated model on "
            f"{examples} test examples ({when}); see the warnings below before deploying"
        )
    return (
        f"export check passed: {', '.join(f'{n}/' for n in artifacts)} agree with the "
        f"evaluated model on {examples} test examples ({when})"
    )
