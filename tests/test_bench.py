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
ARMS = ("A", "B", "B-again", "C", "D", "A-random", "B-random")
NUMBER = re.compile(r"^\d+(\.\d+)?( %)?$")


def run_quick(out: Path, *extra: str) -> tuple[str, dict[str, list[str]], dict[str, int]]:
    """Run ``bench/run.py --quick``; return the report, its result rows by arm, and the
    column index of each header."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--out", str(out), *extra],
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
    return text, rows, {name: i for i, name in enumerate(rows["Arm"])}


def check_measured(rows: dict[str, list[str]], col: dict[str, int], arms: tuple[str, ...]) -> None:
    """Every arm has a row of numbers: samples/s … final loss, more tokens than samples."""
    for arm in arms:
        assert arm in rows, f"no row for arm {arm}"
        # samples/s, real tokens/s, ..., padding waste, peak RSS, time to first loss, final loss
        measured = rows[arm][3 : col["Final loss"] + 1]
        assert all(NUMBER.match(c) for c in measured), f"{arm}: {measured}"
        samples_per_s, tokens_per_s = float(measured[0]), float(measured[1])
        assert samples_per_s > 0 and tokens_per_s > samples_per_s  # texts have >1 token


@pytest.mark.slow
def test_quick_benchmark_reports_a_row_of_numbers_per_arm(tmp_path: Path) -> None:
    raw = tmp_path / "raw.json"
    text, rows, col = run_quick(tmp_path / "bench.md", "--json", str(raw))
    waste, final = col["Padding waste"], col["Final loss"]
    check_measured(rows, col, ARMS)
    # B and D train on the same batches from the same seed: the same padding waste, and
    # final losses apart by no more than dropout masks drawn in a different order would make.
    assert rows["B"][waste] == rows["D"][waste]
    assert abs(float(rows["B"][final]) - float(rows["D"][final])) <= 0.02 * float(rows["D"][final])
    assert "B / A at equal padding" in text
    assert "C / B, live widget attached vs headless" in text  # arm C ran in the same rounds
    # B and C run the same engine on the same batches; only the live panel differs
    assert rows["C"][waste] == rows["B"][waste] and rows["C"][final] == rows["B"][final]
    # the A/A pair: B run twice in the round, the same batches and losses, its spread printed
    assert rows["B-again"][waste] == rows["B"][waste] and rows["B-again"][final] == rows["B"][final]
    assert "B-again / B, A/A" in text and "A/A spread: B-again / B" in text
    # the committed raw output regenerates the report without measuring
    again = tmp_path / "again.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--render", str(raw), "--out", str(again)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert again.read_text(encoding="utf-8") == text


LM_ARMS = ("A-lm", "B-lm", "B-lm-packed", "B-lm-full-logits")


@pytest.mark.slow
def test_quick_causal_lm_benchmark_compares_engine_and_trainer(tmp_path: Path) -> None:
    """The causal-LM arms on a tiny Llama: every arm measured; keeping only the answer
    logits changes no loss (same batches, same seed as the what-if arm with all logits);
    packing leaves less padding than padded rows."""
    text, rows, col = run_quick(
        tmp_path / "lm.md", "--workload", "smollm2", "--arms", ",".join(LM_ARMS)
    )
    check_measured(rows, col, LM_ARMS)
    waste, final = col["Padding waste"], col["Final loss"]
    assert rows["B-lm"][waste] == rows["B-lm-full-logits"][waste]
    assert abs(float(rows["B-lm"][final]) - float(rows["B-lm-full-logits"][final])) < 1e-3
    same = re.search(
        r"B-lm and B-lm-full-logits trained on the same batches; largest per-step loss "
        r"difference (\S+)\.",
        text,
    )
    assert same is not None and float(same.group(1)) < 1e-4, text
    assert float(rows["B-lm-packed"][waste].rstrip(" %")) < float(rows["B-lm"][waste].rstrip(" %"))
    assert "B-lm / A-lm, causal LM" in text and "Task: causal-LM instruction tuning" in text
