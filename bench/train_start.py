"""How long from clicking **Train** to the first loss point, cold and warm? One process.

    python bench/train_start.py [--warm 3] [--samples 512] [--out bench/results/...]

Times ``train()`` → the first ``step`` event, the way the Train button starts a run, in one
Python process (one kernel): a cold run (nothing loaded yet), then warm runs that change only
what leaves the prepared data and the pristine weights valid (learning rate, method,
regularization strength), interleaved so that a slow moment of a shared machine does not
land on one variant; then one run that changes a data setting and one that changes the
model (dropout), which must miss the cache; then the same with a pandas DataFrame passed as
``data=`` (what ``Workbench(data=frame)`` hands to the engine). Each run is stopped right
after its first step.

Where the time went comes from the run's own events: ``status`` events mark preparing the
data, loading the model and the moment both are ready; ``setup`` ends the session build
(tokenization, loaders, Accelerate); the first ``step`` closes it. Writes the raw numbers to
``bench/results/train_start-<date>.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: start: thread and Accelerator; data/model: preparing and loading (or reusing) them;
#: session: tokenizing, loaders, Accelerate; run_start: run directory and start files;
#: step1: the first step's own compute (from its samples_per_s).
PHASES = ("start", "data", "model", "session", "run_start", "step1")


def time_to_first_step(cfg: Any, data: Any = None) -> dict[str, Any]:
    """Start a run, wait for its first step, stop it; return the timings and what was reused."""
    from workbench import train

    started = time.time()  # events carry time.time()
    handle = train(cfg, data=data)
    while not any(e["type"] == "step" for e in handle.history):
        if handle.done:
            raise RuntimeError(f"run ended before step 1: {handle.history[-1]}")
        time.sleep(0.005)
    events = list(handle.history)
    handle.stop()
    handle.wait()
    seconds = first(events, "step")["time"] - started
    return {
        "seconds": seconds,
        **breakdown(events, started, cfg.optim.batch_size * cfg.optim.grad_accum),
    }


def first(events: list[dict[str, Any]], kind: str, message: str | None = None) -> dict[str, Any]:
    return next(
        e
        for e in events
        if e["type"] == kind and (message is None or e.get("message", "").startswith(message))
    )


def breakdown(events: list[dict[str, Any]], started: float, batch_size: int) -> dict[str, Any]:
    """Seconds per phase, from the status/setup/step events of one run."""
    setup_at = events.index(first(events, "setup"))
    setup = events[setup_at]
    statuses = [e for e in events[:setup_at] if e["type"] == "status"]
    step = first(events, "step")
    compute = batch_size / step["samples_per_s"]
    marks = [
        started,
        first(events, "status", "preparing data")["time"],
        first(events, "status", "loading model")["time"],
        statuses[-1]["time"],  # "reused … / prepared … loaded …": data and model are ready
        setup["time"],
        step["time"] - compute,
        step["time"],
    ]
    return {
        "phases": {
            name: round(b - a, 3) for name, a, b in zip(PHASES, marks[:-1], marks[1:], strict=True)
        },
        "reused": setup.get("reused"),
        "message": statuses[-1]["message"],
    }


def machine() -> dict[str, Any]:
    import torch

    def run(*cmd: str) -> str:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()

    dirty = run("git", "status", "--porcelain", "--", "workbench", "bench/train_start.py")
    return {
        "uname": run("uname", "-a"),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "git_revision": run("git", "rev-parse", "HEAD"),
        "engine_files_modified": dirty.splitlines(),
    }


def plan(warm: int, samples: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(phase, label, config changes) in the order they run."""
    variants = [
        ("lr", {"lr": 3e-5}),
        ("method", {"method": "lora"}),
        ("reg", {"weight_decay": 0.1}),
    ]
    steps: list[tuple[str, str, dict[str, Any]]] = [("builtin", "cold", {})]
    steps += [
        ("builtin", f"warm:{variants[i % 3][0]}", variants[i % 3][1]) for i in range(warm * 3)
    ]
    # Cumulative, so that each misses only its own slot (a slot holds one entry).
    steps += [("builtin", "miss:model", {"dropout": 0.2})]
    steps += [("builtin", "miss:data", {"dropout": 0.2, "max_train_samples": samples // 2})]
    steps += [("frame", "frame:first", {})]
    steps += [
        ("frame", f"frame:warm:{variants[i % 3][0]}", variants[i % 3][1]) for i in range(warm)
    ]
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm", type=int, default=3, help="warm runs per variant")
    parser.add_argument("--samples", type=int, default=512, help="max_train_samples")
    parser.add_argument("--out", default=None, help="JSON file (default bench/results/…)")
    args = parser.parse_args()
    load_before = os.getloadavg()
    from workbench import TrainConfig
    from workbench.data import read_source

    runs_dir = tempfile.mkdtemp(prefix="train-start-")
    base = TrainConfig().replace(
        max_train_samples=args.samples,
        max_eval_samples=200,  # the stop at step 1 tests the model: keep that short
        epochs=1.0,
        device="cpu",
        save_checkpoints=False,
        runs_dir=runs_dir,
    )
    frame = read_source(base.data.dataset)[0]
    results = []
    for phase, label, changes in plan(args.warm, args.samples):
        cfg = base.replace(**changes)
        result = time_to_first_step(cfg, data=frame if phase == "frame" else None)
        results.append({"label": label, "source": phase, "changes": changes, **result})
        print(f"{label:<22} {result['seconds']:6.2f} s  {result['message']}", flush=True)
    report = {
        "benchmark": "train_start",
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "config": {"max_train_samples": args.samples, "max_eval_samples": 200, "epochs": 1.0},
        "runs": results,
        "summary": summarize(results),
    }
    day = dt.date.today().isoformat()
    out = Path(args.out or ROOT / "bench" / "results" / f"train_start-{day}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(results))
    print()
    for name, row in report["summary"].items():
        print(
            f"{name:<12} n={row['n']}  step 1 median {row['median_s']:.2f} s (max "
            f"{row['max_s']:.2f}); ready before step 1: median {row['median_ready_s']:.2f} s"
        )
    print(f"\nload average before {load_before}, after {report['load_average_after']}")
    print(f"wrote {out}")


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per group (cold, warm, frame:warm …): median and max seconds to step 1, and the same
    without the first step's own compute (``ready``: what caching can shorten; the step's
    compute swings with the machine's load)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        name = r["label"].rsplit(":", 1)[0] if "warm" in r["label"] else r["label"]
        groups.setdefault(name, []).append(r)
    out = {}
    for name, runs in groups.items():
        total = [r["seconds"] for r in runs]
        ready = [r["seconds"] - r["phases"]["step1"] for r in runs]
        out[name] = {
            "n": len(runs),
            "median_s": round(statistics.median(total), 3),
            "max_s": round(max(total), 3),
            "median_ready_s": round(statistics.median(ready), 3),
            "max_ready_s": round(max(ready), 3),
        }
    return out


def table(results: list[dict[str, Any]]) -> str:
    head = ["run", "step 1 (s)", *PHASES, "reused data", "reused model"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        reused = r["reused"] or {}
        cells = [
            r["label"],
            f"{r['seconds']:.2f}",
            *(f"{r['phases'][p]:.2f}" for p in PHASES),
            str(reused.get("data")),
            str(reused.get("model")),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
