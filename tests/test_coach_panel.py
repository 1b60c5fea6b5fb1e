"""The coach in the notebook UI: findings shown where the user looks, and one-click fixes.

Widget-state tests (no browser): a constructed finding's **Apply** sets exactly its
controls; a real run on the tiny BERT with too few optimizer steps shows the pre-flight
warning in the Train tab and **Apply & re-run** trains again with the fix; **Check
settings** in the Hyperparameters tab finds the same problem without training; the
Evaluate tab shows a finished run's findings, with **Apply** in the Workbench.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import toy_frame

from widgets import EvaluatePanel, HyperparametersPanel, TrainPanel, Workbench
from widgets.app.lesson import Lesson
from widgets.form.form import ConfigForm
from widgets.live.state import RunState
from widgets.panels.coach_panel import FindingsView
from workbench import TrainConfig
from workbench.coach import Finding

SCRIPT = "<script>alert(1)</script>"
STEPS = Finding(
    "steps",
    "warning",
    f"only 6 optimizer steps {SCRIPT}",
    "too few updates leave the model where it started",
    fix="train for 60 steps",
    changes={"batch_size": 8, "epochs": 5.0},
)
CHANCE = Finding(
    "chance",
    "error",
    "test accuracy 0.33 is at the majority-class baseline 0.33",
    "the model learned nothing",
    fix="train longer at a higher rate",
    changes={"epochs": 10.0, "lr": 1e-3},
    stage="diagnosis",
)


def wait_until(predicate: Callable[[], bool], timeout: float = 120.0, what: str = "") -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")


@pytest.fixture()
def few_steps(tiny_bert_dir: str, tmp_path: Path) -> TrainConfig:
    """LoRA at batch 32 on 48 training rows: 2 steps per epoch, 6 in all (LoRA needs ~60)."""
    return TrainConfig().replace(
        model=tiny_bert_dir,
        dataset="toy",
        method="lora",
        max_train_samples=None,
        max_eval_samples=None,
        epochs=3.0,
        batch_size=32,
        lr=1e-2,
        max_length=32,
        device="cpu",
        runs_dir=str(tmp_path / "runs"),
    )


def small_frame() -> Any:
    return toy_frame(n_per_class=20)  # 60 rows: 48 train, 6 validation, 6 test


# --------------------------------------------------------------------- the view itself
def test_apply_sets_exactly_the_findings_controls_and_says_what_changed() -> None:
    form = ConfigForm(TrainConfig().replace(batch_size=32, epochs=3.0))
    before = form.config().flat()
    view = FindingsView(form)
    assert view.layout.display == "none" and view.children == ()  # nothing: no placeholder
    view.show([STEPS, CHANCE.to_dict()])  # findings or their dicts (events, summary.json)
    assert view.layout.display != "none"
    # most severe first; every string escaped
    assert [f.check for f in view.findings] == ["chance", "steps"]
    text = " ".join(c.value for c in view.children if hasattr(c, "value"))
    assert SCRIPT not in text and "&lt;script&gt;" in text
    assert "#c62828" in view.children[0].value  # the error is red
    assert len(view.apply_buttons) == 2 and view.apply_all_button in view.footer.children

    view.apply_buttons[1].click()  # the steps finding's Apply
    after = form.config().flat()
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"batch_size", "epochs"}
    assert (after["batch_size"], after["epochs"]) == (8, 5.0)
    assert "batch_size 32 → 8" in form.notice.value and "epochs 3 → 5" in form.notice.value

    view.apply_all_button.click()  # the error's epochs wins over the warning's
    after = form.config().flat()
    assert (after["batch_size"], after["epochs"], after["lr"]) == (8, 10.0, 1e-3)
    view.show([])
    assert view.layout.display == "none"


def test_a_setting_fixed_by_the_lesson_is_not_changed_and_the_notice_says_so() -> None:
    form = ConfigForm(lesson=Lesson(fixed={"epochs": 3.0}))
    view = FindingsView(form)
    view.show([STEPS])
    view.apply_buttons[0].click()
    flat = form.config().flat()
    assert (flat["batch_size"], flat["epochs"]) == (8, 3.0)
    assert "epochs (fixed by this lesson)" in form.notice.value


def test_without_a_form_findings_show_without_buttons() -> None:
    view = FindingsView()
    view.show([STEPS, CHANCE])
    assert view.apply_buttons == [] and len(view.children) == 2


# --------------------------------------------------------------------- Train tab
def test_train_tab_shows_the_preflight_warning_and_apply_and_rerun_trains_with_the_fix(
    few_steps: TrainConfig,
) -> None:
    tp = TrainPanel(few_steps, data=small_frame())
    tp.train_button.click()
    first = tp.handle
    assert first is not None
    wait_until(lambda: first.done and tp.pump is not None and not tp.pump.alive, what="run 1")
    assert first.status == "completed", tp.message.value
    checks = [f.check for f in tp.findings.findings]
    assert "steps" in checks, checks
    steps = next(f for f in tp.findings.findings if f.check == "steps")
    assert steps.changes.get("batch_size") == 8
    assert tp.findings.layout.display != "none"
    assert tp.pump.errors == []
    assert tp.findings.rerun_button in tp.findings.footer.children  # offered after the run
    # the pump's later ticks do not rebuild the view when nothing changed
    shown = tp.findings.children
    tp.update(tp.pump.state, final=True, draw=True)
    assert tp.findings.children == shown and all(
        a is b for a, b in zip(tp.findings.children, shown, strict=True)
    )

    expected = tp.findings._all_changes()
    tp.findings.rerun_button.click()
    second = tp.handle
    try:
        assert second is not None and second is not first
        flat = second.config.flat()
        assert {k: flat[k] for k in expected} == expected
        assert flat["batch_size"] == 8
        assert "batch_size 32 → 8" in tp.form.notice.value
    finally:
        if second is not None and second is not first:
            second.stop()
            wait_until(lambda: second.done and not tp.pump.alive, what="run 2 stopped")


def test_preflight_findings_show_before_the_first_step_without_rerun(
    few_steps: TrainConfig,
) -> None:
    """What the pump shows on a tick that drained up to the pre-flight event."""
    events = [
        {"type": "status", "status": "running", "message": "loading model"},
        {"type": "findings", "stage": "preflight", "findings": [STEPS.to_dict()]},
    ]
    tp = TrainPanel(few_steps)
    state = RunState()
    state.consume(events)
    state.status = "running"
    tp.update(state, final=False, draw=True)
    assert [f.check for f in tp.findings.findings] == ["steps"]
    assert len(tp.findings.apply_buttons) == 1
    assert tp.findings.rerun_button not in tp.findings.footer.children  # not while running


# --------------------------------------------------------------------- Hyperparameters tab
def test_check_settings_finds_too_few_steps_and_apply_fixes_them(few_steps: TrainConfig) -> None:
    panel = HyperparametersPanel(few_steps, data=small_frame())
    assert panel.findings.layout.display == "none"
    panel.check_button.click()
    assert panel.check_job.wait_idle(120)
    assert panel.check_message.value == "", panel.check_message.value
    checks = [f.check for f in panel.findings.findings]
    assert "steps" in checks, checks
    i = [f.check for f in panel.findings.findings if f.changes].index("steps")
    panel.findings.apply_buttons[i].click()
    assert panel.form.config().optim.batch_size == 8
    assert "batch_size 32 → 8" in panel.form.notice.value


def test_check_settings_shows_a_bad_setting_in_red_and_a_clean_result_as_a_note(
    few_steps: TrainConfig,
) -> None:
    panel = HyperparametersPanel(
        few_steps.replace(text_column="no_such_column"), data=small_frame()
    )
    panel.check_button.click()
    assert panel.check_job.wait_idle(120)
    assert "no_such_column" in panel.check_message.value
    assert "#c62828" in panel.check_message.value and "Traceback" not in panel.check_message.value
    assert panel.findings.layout.display == "none"

    # the default demo (packaged model, built-in data) raises no false alarm
    panel = HyperparametersPanel(TrainConfig())
    panel.check_button.click()
    assert panel.check_job.wait_idle(120)
    assert panel.findings.findings == []
    assert "no findings: nothing to flag" in panel.check_message.value
    assert "checks ran" in panel.check_message.value


# --------------------------------------------------------------------- Evaluate tab
def write_run(root: Path, findings: list[dict[str, Any]]) -> Path:
    """A finished run directory whose summary carries the coach's findings."""
    path = root / "run-with-findings"
    path.mkdir(parents=True)
    TrainConfig().replace(batch_size=32, epochs=3.0, runs_dir=str(root)).save(path / "config.yaml")
    labels = ["negative", "positive"]
    summary = {
        "status": "completed",
        "test_accuracy": 0.5,
        "test_macro_f1": 0.33,
        "labels": labels,
        "steps": 6,
        "test_per_class": {x: {"precision": 0.5, "recall": 1.0, "f1": 0.66} for x in labels},
        "confusion_matrix": [[2, 0], [2, 0]],
        "findings": findings,
    }
    events = [
        {"type": "findings", "time": 0.0, "stage": "preflight", "findings": findings[:1]},
        {"type": "setup", "time": 0.0, "total_steps": 6, "steps_per_epoch": 2, "device": "cpu"},
        {"type": "findings", "time": 1.0, "stage": "diagnosis", "findings": findings[1:]},
        {"type": "end", "time": 1.0, "status": "completed", "summary": summary},
    ]
    (path / "summary.json").write_text(json.dumps(summary))
    (path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_evaluate_shows_a_finished_runs_findings_and_the_workbench_wires_apply(
    tmp_path: Path,
) -> None:
    run = write_run(tmp_path / "runs", [STEPS.to_dict(), CHANCE.to_dict()])
    alone = EvaluatePanel(run)
    assert {f.check for f in alone.findings.findings} == {"steps", "chance"}
    assert alone.findings.layout.display != "none" and alone.findings.apply_buttons == []

    wb = Workbench(attach=run)
    # the Train tab shows them too, from events.jsonl, with Apply & re-run
    assert {f.check for f in wb.train_panel.findings.findings} == {"steps", "chance"}
    assert wb.train_panel.findings.rerun_button in wb.train_panel.findings.footer.children
    wb.select("Evaluate")
    ev = wb.evaluate_panel
    assert ev.source is not None and len(ev.findings.apply_buttons) == 2
    assert wb.form.notice in ev.children  # what Apply changed is said in this tab
    i = [f.check for f in ev.findings.findings].index("steps")
    ev.findings.apply_buttons[i].click()
    assert wb.config().optim.batch_size == 8
    assert "batch_size 32 → 8" in wb.form.notice.value

    later = EvaluatePanel()
    assert later.findings.layout.display == "none"  # no run yet: nothing, no placeholder
    later.show(run)
    assert len(later.findings.findings) == 2 and later.findings.layout.display != "none"


def test_a_run_the_preflight_stopped_shows_its_error_and_the_fix(few_steps: TrainConfig) -> None:
    memory = Finding(
        "memory",
        "error",
        "training needs about 90.0 GiB on cpu (batch 32, 32 tokens); 4.0 GiB free",
        "out of memory ends the run",
        fix="halve the batch",
        changes={"batch_size": 16, "grad_accum": 2},
    )
    message = memory.line().removeprefix("error: ")
    events = [
        {"type": "findings", "stage": "preflight", "findings": [memory.to_dict()]},
        {"type": "error", "message": message, "kind": "CoachError"},
        {"type": "end", "status": "failed", "summary": {"status": "failed", "error": message}},
    ]
    tp = TrainPanel(few_steps)
    tp.attach(events)
    assert tp.status_label.value == "failed"
    assert "90.0 GiB" in tp.message.value and "#c62828" in tp.message.value
    assert [f.check for f in tp.findings.findings] == ["memory"]
    tp.findings.apply_buttons[0].click()
    assert (tp.form.config().optim.batch_size, tp.form.config().optim.grad_accum) == (16, 2)


def test_the_shareable_report_carries_the_findings_as_plain_html() -> None:
    """``wb.report()`` is what survives export: its HTML lists the coach's findings."""
    from widgets.render.report import RunReport

    finding = Finding("chance", "warning", "test accuracy 0.333 <b>at chance</b>", "why", "fix")
    page = RunReport(
        "run", b"", {"status": "completed"}, findings=[finding.to_dict()]
    )._repr_html_()
    assert "test accuracy 0.333 &lt;b&gt;at chance&lt;/b&gt;" in page
    assert "<b>at chance</b>" not in page
