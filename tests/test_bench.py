"""Smoke test of the throughput benchmark harness (``bench/run.py --quick``).

Speed is not asserted here (speed targets live in ``bench/``); this checks that every arm
runs in its own process, measures something, and lands as a row of numbers in the report.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARMS = ("A", "B", "C", "D", "A-random", "B-random")
NUMBER = re.compile(r"^\d+(\.\d+)?( %)?$")


@pytest.mark.slow
def test_quick_benchmark_reports_a_row_of_numbers_per_arm(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    assert done.stdout.strip().startswith(text.strip()[:80]), "the report is also printed"
    results = text.split("## Results", 1)[1].split("\n## ", 1)[0]
    rows = {
        cells[0]: cells
        for line in results.splitlines()
        if line.startswith("| ")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    col = {name: i for i, name in enumerate(rows["Arm"])}  # the header row, by column name
    waste, final = col["Padding waste"], col["Final loss"]
    for arm in ARMS:
        assert arm in rows, f"no row for arm {arm}"
        # samples/s, real tokens/s, ..., padding waste, peak RSS, time to first loss, final loss
        measured = rows[arm][3 : final + 1]
        assert all(NUMBER.match(c) for c in measured), f"{arm}: {measured}"
        samples_per_s, tokens_per_s = float(measured[0]), float(measured[1])
        assert samples_per_s > 0 and tokens_per_s > samples_per_s  # texts have >1 token
    # B and D train on the same batches from the same seed: the same padding waste, and
    # final losses apart by no more than dropout masks drawn in a different order would make.
    assert rows["B"][waste] == rows["D"][waste]
    assert abs(float(rows["B"][final]) - float(rows["D"][final])) <= 0.02 * float(rows["D"][final])
    assert "B / A at equal padding" in text
    assert "C / B, live widget attached vs headless" in text  # arm C ran in the same rounds
    # B and C run the same engine on the same batches; only the live panel differs
    assert rows["C"][waste] == rows["B"][waste] and rows["C"][final] == rows["B"][final]
