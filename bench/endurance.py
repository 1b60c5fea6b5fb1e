"""Endurance: a long run with the live Train panel attached — memory, plot data, responsiveness.

Trains a tiny BERT (2 layers, hidden 32, built from a config: no download) for ``--steps``
optimizer steps (default 5,000) on generated 3-class data, the way the notebook does: a
``TrainPanel``, **Train** clicked, the run in its worker thread and the panel's pump sending
the live curve's new points to its ``LiveChart``. No front end is connected; widget
updates are serialized as in a kernel and go nowhere. While it runs, this script measures:

* **process memory**: RSS sampled every 0.5 s; growth is taken from the first training step
  (imports, model and data loaded) and, as the steadier figure, from 10 % of the steps on
  (allocator and caches warmed up). Goal: ≤ 50 MB over the run.
* **plot data**: training-loss points in the live figure and in the pump's state (bounded
  by ``max_points`` via bucket averaging), and the figure's artist count (constant: lines
  are moved with ``set_data``, never re-plotted). The event history itself grows by one
  small dict per step — it is the run's record — and is reported.
* **responsiveness** of the main thread (where the kernel would run a cell): every 50 ms a
  1 ms task is scheduled; its lateness (time past the planned start) and its duration are
  recorded — p50, p95, max.

Run: ``.venv/bin/python bench/endurance.py [--steps 5000] [--json FILE]``; the test suite
runs a 300-step version and asserts boundedness, not timing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCH = 8
TRAIN_ROWS = 400  # 50 steps per epoch at batch 8: 5,000 steps fit in the 100-epoch limit


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc; psutil-free)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def tiny_model(folder: Path) -> str:
    """A tiny randomly initialized BERT classifier saved in HF format (``workbench.toy``)."""
    from workbench.toy import save_tiny_bert

    return str(save_tiny_bert(folder))


def toy_frame(n_per_class: int, seed: int = 0) -> Any:
    """Learnable 3-class texts (``workbench.toy.toy_frame``, as the tests use)."""
    from workbench.toy import toy_frame as frame

    return frame(n_per_class, seed)


class Sampler(threading.Thread):
    """RSS and the run's step every ``period`` seconds."""

    def __init__(self, handle: Any, period: float = 0.5) -> None:
        super().__init__(daemon=True, name="endurance-sampler")
        self.handle, self.period = handle, period
        self.samples: list[tuple[float, int, float]] = []  # (time, step, rss MB)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            steps = [e for e in self.handle.history[-50:] if e["type"] == "step"]
            self.samples.append((time.time(), steps[-1]["step"] if steps else 0, rss_mb()))
            self.done.wait(self.period)


def main_thread_latency(until: Any, period: float = 0.05) -> dict[str, list[float]]:
    """What a notebook cell would feel: a 1 ms task planned every ``period`` seconds."""
    late, took = [], []
    planned = time.perf_counter() + period
    while not until():
        time.sleep(max(0.0, planned - time.perf_counter()))
        start = time.perf_counter()
        late.append(start - planned)
        sum(i * i for i in range(20_000))  # ≈ 1 ms of Python, holding the GIL like a cell
        took.append(time.perf_counter() - start)
        planned = max(planned + period, time.perf_counter())
    return {"late": late, "took": took}


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "max_ms": 0.0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def lines(panel: Any) -> int:
    """Points the live chart holds over all its series: bounded by ``max_points`` each."""
    chart = panel.curves.chart
    return sum(chart.points(s) for s in chart.snapshot())


def growth(samples: list[tuple[float, int, float]], from_step: int) -> float | None:
    after = [rss for _, step, rss in samples if step >= from_step]
    return round(after[-1] - after[0], 1) if len(after) >= 2 else None


def run(steps: int, max_points: int, model: str | None, workdir: Path) -> dict[str, Any]:
    """Train ``steps`` steps with the live panel attached; return the measurements."""
    from transformers.utils import logging as hf_logging

    from widgets import TrainPanel
    from workbench import TrainConfig

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = model or tiny_model(workdir / "tiny-bert")
    steps_per_epoch = TRAIN_ROWS // BATCH
    cfg = TrainConfig().replace(
        model=model,
        dataset="frame",
        max_train_samples=TRAIN_ROWS,
        max_eval_samples=64,
        val_fraction=0.1,
        test_fraction=0.1,
        epochs=steps / steps_per_epoch,
        batch_size=BATCH,
        lr=1e-3,
        max_length=32,
        eval_every=max(1, steps // 20),
        device="cpu",
        out=str(workdir / "run"),
        runs_dir=str(workdir / "runs"),
    )
    panel = TrainPanel(cfg, data=toy_frame(200), max_points=max_points)
    artists_before = lines(panel)
    started = time.time()
    rss_start = rss_mb()
    panel.train_button.click()
    handle = panel.handle
    if handle is None:
        raise RuntimeError(f"Train did not start a run: {panel.form.error.value}")
    sampler = Sampler(handle)
    sampler.start()
    latency = main_thread_latency(
        lambda: handle.done and not (panel.pump is not None and panel.pump.alive)
    )
    sampler.done.set()
    sampler.join()
    summary = handle.summary or {}
    pump_state = panel.pump.state if panel.pump is not None else panel.curves.state
    total = int(summary.get("total_steps") or steps)
    step_rss = [(s, r) for _, s, r in sampler.samples if s > 0]
    return {
        "steps": summary.get("steps"),
        "total_steps": total,
        "status": handle.status,
        "wall_seconds": round(time.time() - started, 1),
        "train_samples_per_second": summary.get("train_samples_per_second"),
        "rss_mb": {
            "before_train": round(rss_start, 1),
            "first_step": round(step_rss[0][1], 1) if step_rss else None,
            "end": round(sampler.samples[-1][2], 1),
            "peak": round(max(r for _, _, r in sampler.samples), 1),
            "growth_from_first_step": growth(sampler.samples, 1),
            "growth_from_10pct": growth(sampler.samples, max(1, total // 10)),
            "samples": len(sampler.samples),
        },
        "plot": {
            "max_points": max_points,
            "figure_loss_points": panel.curves.curve_points(),
            "pump_loss_points": len(pump_state.loss.xs),
            "pump_lr_points": len(pump_state.lr.xs),
            "raw_points_seen": pump_state.loss.count,
            "chart_points_before": artists_before,
            "chart_points_after": lines(panel),
            "history_events": len(handle.history),
            "pump_errors": panel.pump.errors if panel.pump is not None else [],
        },
        "main_thread": {
            "tasks": len(latency["late"]),
            "lateness": percentiles(latency["late"]),
            "duration": percentiles(latency["took"]),
        },
        "rss_series": [(round(t - started, 1), s, round(r, 1)) for t, s, r in sampler.samples],
    }


START, END = "<!-- endurance:start -->", "<!-- endurance:end -->"


def section(r: dict[str, Any], when: str, load: str) -> str:
    """The Markdown block for docs/benchmarks.md (kept there when bench/run.py rewrites it)."""
    rss, p, m = r["rss_mb"], r["plot"], r["main_thread"]
    met = "met" if (rss["growth_from_first_step"] or 0) <= 50 else "**not met**"
    return "\n".join(
        [
            START,
            f"## Endurance: {r['steps']:,} steps with the live panel attached",
            "",
            f"_Written by `bench/endurance.py` on {when} (load average {load}); "
            f"{r['steps']:,} steps of a tiny BERT (2 layers, hidden 32), batch {BATCH}, "
            "with the Train panel's pump feeding the live chart (no browser attached); "
            f"{r['wall_seconds']:,.0f} s._",
            "",
            "| measure | value |",
            "|---|--:|",
            f"| RSS at step 1 → end (MB) | {rss['first_step']} → {rss['end']} |",
            f"| RSS growth from step 1 (MB; goal ≤ 50, {met}) | {rss['growth_from_first_step']} |",
            f"| RSS growth from 10 % of the steps (MB) | {rss['growth_from_10pct']} |",
            f"| peak RSS (MB) | {rss['peak']} |",
            f"| loss points drawn / steps seen (max_points {p['max_points']}) | "
            f"{p['figure_loss_points']} / {p['raw_points_seen']:,} |",
            f"| points held by the live chart (all series), start → end | "
            f"{p['chart_points_before']} → {p['chart_points_after']} |",
            f"| events in the run's history (one per step + evals/checkpoints) | "
            f"{p['history_events']:,} |",
            f"| main-thread 1 ms task every 50 ms: ran | {m['tasks']:,} times |",
            f"| … started late by p50 / p95 / max (ms) | {m['lateness']['p50_ms']} / "
            f"{m['lateness']['p95_ms']} / {m['lateness']['max_ms']} |",
            f"| … took p50 / p95 (ms) | {m['duration']['p50_ms']} / {m['duration']['p95_ms']} |",
            "",
            "Lateness is what a notebook cell run during training would wait for the GIL and the",
            "CPU; on this shared 2-core machine it mostly measures the other jobs. Re-run with",
            "`.venv/bin/python bench/endurance.py --report docs/benchmarks.md`.",
            END,
        ]
    )


def write_section(path: Path, block: str) -> None:
    """Replace the endurance block of ``path`` (or append it)."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--max-points", type=int, default=2000)
    ap.add_argument("--model", help="A model directory (default: build a tiny BERT).")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: a tiny model gains nothing from more, and the pump "
        "and the main thread keep a core).",
    )
    ap.add_argument("--json", default="bench/results/endurance.json", help="Write results here.")
    ap.add_argument("--report", help="Also write the summary as a section of this Markdown file.")
    ap.add_argument("--from-json", help="Only write --report from an earlier --json result.")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.from_json:
        result = json.loads(Path(args.from_json).read_text())
    else:
        with tempfile.TemporaryDirectory(prefix="wb-endurance-") as tmp:
            result = run(args.steps, args.max_points, args.model, Path(tmp))
        result["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        result["load_average"] = " / ".join(f"{x:.1f}" for x in os.getloadavg())
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1))
    if args.report:
        when = result.get("finished", "?")
        write_section(Path(args.report), section(result, when, result.get("load_average", "?")))
    r, p, m = result["rss_mb"], result["plot"], result["main_thread"]
    print(f"{result['steps']} steps, {result['status']}, {result['wall_seconds']} s")
    print(
        f"RSS: {r['first_step']} MB at step 1 -> {r['end']} MB at the end (peak {r['peak']}); "
        f"growth {r['growth_from_first_step']} MB from step 1, "
        f"{r['growth_from_10pct']} MB from 10 % of the steps (goal <= 50 MB)"
    )
    print(
        f"plot: {p['figure_loss_points']} loss points drawn for {p['raw_points_seen']} steps "
        f"(max {p['max_points']}); chart points {p['chart_points_before']} -> "
        f"{p['chart_points_after']}; history {p['history_events']} events"
    )
    print(
        f"main thread: {m['tasks']} tasks; lateness p50 {m['lateness']['p50_ms']} ms, "
        f"p95 {m['lateness']['p95_ms']} ms, max {m['lateness']['max_ms']} ms; "
        f"1 ms task took p50 {m['duration']['p50_ms']} ms, p95 {m['duration']['p95_ms']} ms"
    )


if __name__ == "__main__":
    main()
