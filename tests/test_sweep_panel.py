"""The Sweep tab through its Python state (layer 1 of NOTEBOOK_FACTS.md's testing): start a
sweep of the tiny model, watch its trials reach the live chart, pause and resume it, then
open a trial in Evaluate and copy its settings into the form with **Use these settings**.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from widgets import Workbench
from widgets.sweep.sweep_panel import SweepPanel
from widgets.sweep.sweep_view import FADED, sort_trials


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture()
def wb(tiny_config: Any, toy_data: Any, tmp_path: Path) -> Workbench:
    return Workbench(tiny_config.replace(epochs=2.0), data=toy_data, attach=None)


def test_a_sweep_runs_live_in_the_tab_and_its_trials_open_and_fill_the_form(
    wb: Workbench, tmp_path: Path
) -> None:
    panel = wb.sweep_panel
    assert "Sweep" in wb.titles and panel.status_label.value == "idle"
    panel.space.remove("weight_decay")
    lr = panel.space.rows["lr"]
    lr.mode_choice.value = "values"
    lr.values_input.value = "0.01, 0.003, 1e-7"
    panel.trials.value = 3
    panel.sampler.value = "grid"  # each of the three values once
    panel.pruner.value = "none"
    panel.start_button.click()
    assert panel.start_job.wait_idle(120)
    handle = panel.handle
    assert handle is not None, panel.message.value
    assert Path(handle.folder).parent == tmp_path / "sweeps"  # beside the form's runs folder
    # The first trial's first evaluation reaches the chart while the sweep still runs ...
    wait_for(lambda: panel.chart.points("t0") >= 1, 300, "trial 0's first point")
    assert not handle.done
    assert panel.status_label.value == "running"
    # ... and Pause pauses the run in progress at its next step; Resume goes on.
    panel.pause_button.click()
    wait_for(lambda: panel.status_label.value == "paused", 10, "status paused")
    assert panel.pause_button.description == "Resume"
    wait_for(lambda: handle.current is None or handle.current.control.paused, 10, "run paused")
    panel.pause_button.click()
    wait_for(lambda: panel.status_label.value == "running", 10, "status running")
    handle.wait(600)
    panel.pump.thread.join(30)
    assert panel.status_label.value == "completed", panel.message.value
    trials = panel.pump.trials
    assert [t.state for t in trials] == ["complete"] * 3
    # every trial's curve (two evaluations each) on one chart, the best drawn thick
    series = {s["id"]: s for s in panel.chart.series}
    assert sorted(series) == ["t0", "t1", "t2"]
    assert all(panel.chart.points(sid) == 2 for sid in series)
    best = handle.best
    assert series[f"t{best.number}"]["width"] == 3.5
    assert panel.chart.data  # flushed: a saved notebook keeps the curves
    # each trial's score and the best so far
    assert panel.best_chart.points("score") == 3 and panel.best_chart.points("best") == 3
    # the table, by score: the best first; the trial picker follows it
    ordered = sort_trials(trials, "maximize", by_score=True)
    assert ordered[0].number == best.number
    first_row = panel.table.value.split("<tbody>")[1].split("</tr>")[0]
    assert first_row.startswith(f"<tr><td>★</td><td>{best.number}</td>"), first_row
    assert [n for _, n in panel.trial_picker.options] == [t.number for t in ordered]
    assert panel.trial_picker.value == best.number
    # importances and slices after three finished trials
    assert panel.analysis.value[:4] == b"\x89PNG" and "lr" in panel.analysis_note.value
    # a trial opens in Evaluate, and its settings go into the form
    other = next(t for t in trials if t.number != best.number)
    panel.trial_picker.value = other.number
    panel.evaluate_button.click()
    assert wb.titles[wb.tab.selected_index] == "Evaluate"
    assert Path(wb.evaluate_panel.source) == other.run_dir
    assert wb.config().optim.lr != pytest.approx(other.params["lr"])
    panel.use_button.click()
    assert wb.config().optim.lr == pytest.approx(other.params["lr"])
    assert wb.form.controls["epochs"].get() == 2.0  # the whole config, not only the varied
    # a sweep started from Python shows in a panel of its own (a lesson does this)
    shown = SweepPanel()
    shown.show(handle)
    shown.pump.thread.join(30)
    assert shown.table.value == panel.table.value and shown.status_label.value == "completed"
    assert sorted(s["id"] for s in shown.chart.series) == ["t0", "t1", "t2"]


def test_a_bad_space_is_shown_in_red_and_nothing_starts(wb: Workbench, tmp_path: Path) -> None:
    panel = wb.sweep_panel
    lr = panel.space.rows["lr"]
    lr.low_input.value = 0.0  # log scale: the engine refuses a range that touches 0
    panel.start_button.click()
    assert panel.start_job.wait_idle(120)
    assert panel.handle is None
    assert "color:#c62828" in panel.message.value
    assert "log-scale range must stay above 0" in panel.message.value
    assert not panel.start_button.disabled
    assert not (tmp_path / "sweeps").exists()


def test_pruned_trials_are_drawn_faded() -> None:
    from widgets.sweep.sweep_view import trial_series
    from workbench.sweeps import TrialRecord

    pruned = TrialRecord(3, "pruned", None, {"lr": 1e-7}, None, [[1.0, 0.2]])
    live = TrialRecord(4, "running", None, {"lr": 1e-2}, None, [[1.0, 0.6]])
    assert trial_series(pruned, best=4)["color"] == FADED
    assert trial_series(pruned, best=4)["alpha"] < 0.5
    assert trial_series(live, best=4)["width"] > trial_series(pruned, best=4)["width"]
