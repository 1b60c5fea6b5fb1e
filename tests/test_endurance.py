"""The short version of ``bench/endurance.py``: a few hundred steps with the live panel attached.

Asserts boundedness, never timing (speed targets live in ``bench/``): the plotted loss stays
within ``max_points`` however many steps arrive, the figure keeps the same line artists
(moved with ``set_data``, not re-plotted), the pump never hit an error, the main thread kept
running its small tasks throughout, and the process memory did not run away. The 5,000-step
numbers are in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STEPS = 300
MAX_POINTS = 64  # far fewer than the steps, so the downsampling has to work


@pytest.mark.slow
def test_a_long_run_with_the_live_panel_stays_bounded(tiny_bert_dir: str, tmp_path: Path) -> None:
    out = tmp_path / "endurance.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "endurance.py"),
            "--steps",
            str(STEPS),
            "--max-points",
            str(MAX_POINTS),
            "--model",
            tiny_bert_dir,
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    r = json.loads(out.read_text())
    assert r["status"] == "completed" and r["steps"] == r["total_steps"] == STEPS
    plot = r["plot"]
    assert plot["raw_points_seen"] == STEPS  # every step reached the pump ...
    assert MAX_POINTS // 2 <= plot["pump_loss_points"] <= MAX_POINTS  # ... bounded, not dropped
    assert plot["figure_loss_points"] <= MAX_POINTS
    assert plot["pump_lr_points"] <= MAX_POINTS
    # the chart holds at most MAX_POINTS per series (7 series), whatever the run length
    assert plot["chart_points_before"] == 0 < plot["chart_points_after"] <= 7 * MAX_POINTS
    assert plot["pump_errors"] == []
    # the history is the run's record: one event per step plus a bounded number of others
    assert STEPS < plot["history_events"] < STEPS + 120
    # the main thread ran its 1 ms task all along (a blocked kernel would run none)
    assert r["main_thread"]["tasks"] >= 20
    # memory: a generous bound for 300 steps on a loaded machine; the 50 MB goal over 5,000
    # steps is measured by the benchmark itself
    rss = r["rss_mb"]
    assert rss["growth_from_10pct"] is not None and rss["growth_from_10pct"] < 150
