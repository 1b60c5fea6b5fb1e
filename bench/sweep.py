"""Sweep benchmark (issue 19, part 5): what a small sweep finds, and what pruning saves.

    python bench/sweep.py [--trials 12] [--train 1000] [--out bench/results/sweep-<date>.json]
    python bench/sweep.py --quick --out /tmp/sweep-quick.json   # a 3-trial smoke run

The default task — minilm-l6 on tweets-sentiment, full fine-tune — on 1,000 training tweets
(500 validation, 500 test: the same seeded split for every run), one epoch, evaluated every
8 steps (4 evaluations: the points where a pruner can stop a trial). Three arms, run one
after the other in one process:

``default``   the default settings (the method's default learning rate …), one run;
``pruned``    a TPE sweep (seed 42) of ``--trials`` trials with the median pruner over the
              learning rate, weight decay, warmup and label smoothing;
``unpruned``  the same settings as ``pruned`` (enqueued trial by trial, so the very same
              trials), every one trained to the end.

Reported: the best validation macro-F1 each arm found and that trial's test macro-F1, the
wall time of each sweep (pruned vs unpruned), how many trials were pruned and how many
optimizer steps that saved; and memory: the process's resident memory after every trial
(the worker collects the finished run before the next starts, and records it), plus the
CUDA allocator's where there is a GPU. The raw output, with date, machine, load and git
revision (:mod:`bench.provenance`), goes to ``bench/results/sweep-<date>.json``; the table
printed at the end is what the README shows. After every arm the record so far is written
to ``sweep-<date>.json.partial`` (``"complete": false``), so a run that is killed midway
keeps the arms it finished.

Not a test: it takes minutes to an hour on a CPU, depending on the machine and its load
(the load average before and after is in the raw output).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.provenance import describe, finish, header  # noqa: E402 - after the path is set

SPACE = {
    "lr": {"low": 1e-5, "high": 3e-4, "log": True},
    "weight_decay": {"low": 0.0, "high": 0.1},
    "warmup_fraction": {"low": 0.0, "high": 0.2},
    "label_smoothing": {"low": 0.0, "high": 0.2},
}


def base_config(train: int, quick: bool = False) -> Any:
    from workbench import TrainConfig

    return TrainConfig().replace(
        max_train_samples=train,
        max_eval_samples=48 if quick else 500,
        epochs=1.0,
        eval_every=2 if quick else 8,
        device="auto",
    )


def run_default(config: Any, folder: Path) -> dict[str, Any]:
    from workbench import train

    started = time.time()
    handle = train(config.replace(out=str(folder / "default")))
    summary = handle.wait() or {}
    evals = [e for e in handle.history if e["type"] == "eval"]
    return {
        "wall_s": round(time.time() - started, 1),
        "best_val_macro_f1": max((e["val_macro_f1"] for e in evals), default=None),
        "test_macro_f1": summary.get("test_macro_f1"),
        "lr": summary.get("lr"),
        "steps": summary.get("steps"),
    }


def run_sweep(
    config: Any, trials: int, pruner: str, folder: Path, enqueue: list[dict[str, Any]]
) -> dict[str, Any]:
    from workbench.sweeps import prepare_sweep

    handle = prepare_sweep(config, SPACE, trials=trials, pruner=pruner, out=folder)
    for params in enqueue:
        handle.study.enqueue_trial(params)
    started = time.time()
    summary = handle.start().wait() or {}
    wall = time.time() - started
    rows = []
    for t in handle.trials:
        run = _read_json(t.run_dir / "summary.json") if t.run_dir else {}
        attrs = handle.study.trials[t.number].user_attrs
        rows.append(
            {
                "number": t.number,
                "state": t.state,
                "value": t.value,
                "last_value": t.curve[-1][1] if t.curve else None,
                "params": t.params,
                "seconds": t.seconds,
                "steps": run.get("steps"),
                "total_steps": run.get("total_steps"),
                "test_macro_f1": run.get("test_macro_f1"),
                "rss_mb": attrs.get("rss_mb"),
                "gpu_mb": attrs.get("gpu_mb"),
            }
        )
    best = handle.best
    best_row = next((r for r in rows if best is not None and r["number"] == best.number), {})
    return {
        "wall_s": round(wall, 1),
        "status": summary.get("status"),
        "best_trial": best.number if best else None,
        "best_val_macro_f1": best.value if best else None,
        "best_test_macro_f1": best_row.get("test_macro_f1"),
        "best_params": best.params if best else None,
        "pruned": sum(r["state"] == "pruned" for r in rows),
        "steps": sum(r["steps"] or 0 for r in rows),
        "trials": rows,
    }


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def memory(arms: dict[str, Any]) -> dict[str, Any]:
    """RSS after each trial, in the order the trials ran (pruned sweep, then unpruned)."""
    rows = [r for arm in ("pruned", "unpruned") for r in arms.get(arm, {}).get("trials", [])]
    series = [r["rss_mb"] for r in rows if r["rss_mb"]]
    gpu = [r["gpu_mb"] for r in rows]
    return {
        "rss_mb_after_each_trial": series,
        "rss_growth_first_to_last_mb": round(series[-1] - series[0], 1) if series else None,
        "rss_growth_from_trial_3_mb": round(series[-1] - series[2], 1) if len(series) > 2 else None,
        "gpu_mb_after_each_trial": gpu if any(g is not None for g in gpu) else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def table(record: dict[str, Any]) -> str:
    """The README table (markdown), regenerated from a raw output."""
    arms = record["arms"]
    d, p, u = arms["default"], arms["pruned"], arms["unpruned"]
    n = record["trials"]
    lines = [
        "| | best val macro-F1 | its test macro-F1 | wall time | optimizer steps |",
        "|---|---:|---:|---:|---:|",
        f"| default settings (1 run) | {d['best_val_macro_f1']:.3f} | {d['test_macro_f1']:.3f} "
        f"| {d['wall_s']:.0f} s | {d['steps']} |",
        f"| sweep, {n} trials, median pruner ({p['pruned']} pruned) | "
        f"{p['best_val_macro_f1']:.3f} | {p['best_test_macro_f1']:.3f} | {p['wall_s']:.0f} s "
        f"| {p['steps']} |",
        f"| the same {n} trials, no pruning | {u['best_val_macro_f1']:.3f} | "
        f"{u['best_test_macro_f1']:.3f} | {u['wall_s']:.0f} s | {u['steps']} |",
    ]
    m = record["memory"]
    lines.append(
        f"\nResident memory after each of the {len(m['rss_mb_after_each_trial'])} trials: "
        f"{min(m['rss_mb_after_each_trial']):.0f}–{max(m['rss_mb_after_each_trial']):.0f} MB "
        f"(first → last {m['rss_growth_first_to_last_mb']:+.0f} MB). {describe(record)}."
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--train", type=int, default=1000, help="training tweets")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--render", type=Path, help="print the table of a raw output and stop")
    parser.add_argument("--quick", action="store_true", help="3 trials of 96 tweets: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.trials, args.train = 3, 96
    if args.render:
        print(table(json.loads(args.render.read_text(encoding="utf-8"))))
        return 0
    started = header(["bench/sweep.py"])
    config = base_config(args.train, args.quick)
    out = args.out or ROOT / "bench" / "results" / f"sweep-{dt.date.today().isoformat()}.json"
    partial = out.with_name(out.name + ".partial")
    arms: dict[str, Any] = {}

    def save(path: Path, complete: bool) -> dict[str, Any]:
        """The raw output so far (after every arm: a run killed midway keeps its arms)."""
        record = {
            **started,
            **finish(started),
            "complete": complete,
            "trials": args.trials,
            "quick": args.quick,
            "train_tweets": args.train,
            "space": SPACE,
            "config": config.to_dict(),
            "arms": arms,
            "memory": memory(arms),
        }
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        return record

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        folder = Path(tmp)
        arms["default"] = run_default(config, folder)
        save(partial, False)
        print(f"default: {arms['default']}", file=sys.stderr)
        arms["pruned"] = run_sweep(config, args.trials, "median", folder / "pruned", [])
        save(partial, False)
        print(f"pruned sweep: {arms['pruned']['wall_s']} s", file=sys.stderr)
        same = [t["params"] for t in arms["pruned"]["trials"]]
        arms["unpruned"] = run_sweep(config, len(same), "none", folder / "unpruned", same)
    record = save(out, True)
    partial.unlink(missing_ok=True)
    print(table(record))
    print(f"raw output: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
