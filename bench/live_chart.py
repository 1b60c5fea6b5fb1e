"""Live chart in a real browser: latency of the curve, and what the view costs training.

Run: ``.venv/bin/python bench/live_chart.py [--rounds 3] [--samples 512] [--epochs 2]``.

JupyterLab on 127.0.0.1 + Debian's Chromium (Playwright), one kernel, one notebook with a
Workbench displayed. In that kernel, runs alternate between two arms, interleaved:

* ``live``: ``wb.train_panel.train()`` — what the **Train** button does — with the
  Workbench on screen, the pump sending points and the browser drawing them;
* ``headless``: ``workbench.train(config)`` with no view attached.

For each live run the page's draw log (``window.__workbenchChartLog``: wall-clock ms and
the last step drawn, one entry per draw) is matched against the run's ``events.jsonl``
(each step event's ``time``): the first training-loss point's latency after the engine
emitted step 1, and for every step how long until a draw showed it (the chart's lag). The
machine's one clock serves both sides. Throughput is the summary's samples/s; live over
headless medians is the ratio, and the spread between headless runs (A/A) is printed
beside it. Train → step 1 is measured from the run's first event to its first step
event; the first run of the kernel is cold (data and model loaded), the rest warm.

Writes ``bench/results/live_chart-<date>.json`` (raw, with machine, load and git
revision), screenshots of the chart mid-run and at the end in ``bench/results/``, and
prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from jupyter_lab import (  # noqa: E402 - after the path tweak
    CHROMIUM,
    CHROMIUM_ARGS,
    open_notebook,
    run_cell,
    running_lab,
    wait_until,
)

SETUP = """\
from widgets import Workbench
from workbench import TrainConfig, train

config = TrainConfig().replace(
    max_train_samples={samples}, max_eval_samples=64, epochs={epochs}, batch_size=32,
    eval_every={eval_every}, device="cpu", save_checkpoints=False, runs_dir="runs",
)
wb = Workbench(config, attach=None)
wb"""
LIVE = "h = wb.train_panel.train()"
HEADLESS = "h = train(wb.config())"


def notebook(samples: int, epochs: float, eval_every: int) -> dict[str, Any]:
    cells = [SETUP.format(samples=samples, epochs=epochs, eval_every=eval_every), LIVE, HEADLESS]
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": c,
                "outputs": [],
                "execution_count": None,
            }
            for c in cells
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def finished_runs(root: Path) -> dict[Path, dict[str, Any]]:
    out = {}
    for path in (root / "runs").glob("*/summary.json"):
        try:
            summary = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # being written
        if summary.get("status") in ("completed", "stopped", "failed"):
            out[path.parent] = summary
    return out


def events_of(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def lags(events: list[dict[str, Any]], draws: list[dict[str, Any]]) -> dict[str, Any]:
    """Per step: seconds from the engine's step event to the first draw showing that step."""
    steps = [e for e in events if e["type"] == "step"]
    out: list[float] = []
    for e in steps:
        shown = [d["t"] / 1000 for d in draws if d.get("x") is not None and d["x"] >= e["step"]]
        if shown:
            out.append(min(shown) - e["time"])
    first = out[0] if out else None
    during = out[:-1] if len(out) > 1 else out  # the last step is followed by the test
    return {
        "steps": len(steps),
        "steps_seen": len(out),
        "first_point_s": first,
        "max_lag_s": max(during) if during else None,
        "median_lag_s": statistics.median(out) if out else None,
        "draws": len(draws),
        "draws_before_end": sum(1 for d in draws if d["t"] / 1000 <= steps[-1]["time"])
        if steps
        else 0,
    }


def start_to_step1(events: list[dict[str, Any]]) -> float | None:
    steps = [e for e in events if e["type"] == "step"]
    return steps[0]["time"] - events[0]["time"] if steps and events else None


def machine() -> dict[str, Any]:
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    )
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "uname": " ".join(platform.uname()),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "git_revision": rev,
        "git_dirty": dirty,
        "chromium": subprocess.run(
            [str(CHROMIUM), "--version"], capture_output=True, text=True
        ).stdout.strip(),
    }


def one_run(page: Any, root: Path, cell: int, live: bool, shots: Path | None) -> dict[str, Any]:
    before = set(finished_runs(root))
    if live:
        page.evaluate("window.__workbenchChartLog = []")
    run_cell(page, cell)
    mid_shot = False
    deadline = time.monotonic() + 900

    def done() -> dict[Path, dict[str, Any]] | None:
        new = {p: s for p, s in finished_runs(root).items() if p not in before}
        return new or None

    while not (new := done()):
        if time.monotonic() > deadline:
            raise AssertionError("run did not finish in 15 minutes")
        if live and shots is not None and not mid_shot:
            points = page.evaluate(
                "() => { const e = document.querySelector('.wb-chart');"
                " return e ? Number(e.dataset.points || 0) : 0 }"
            )
            if points >= 6:
                chart = page.locator(".wb-chart").first
                chart.scroll_into_view_if_needed()
                chart.screenshot(path=str(shots / "live_chart_midrun.png"))
                mid_shot = True
        time.sleep(0.2)
    run_dir, summary = next(iter(new.items()))
    events = events_of(run_dir)
    result: dict[str, Any] = {
        "arm": "live" if live else "headless",
        "run": run_dir.name,
        "status": summary["status"],
        "samples_per_s": summary.get("train_samples_per_second"),
        "train_to_step1_s": start_to_step1(events),
        "reused": next((e.get("reused") for e in events if e["type"] == "setup"), None),
    }
    if live:
        time.sleep(1.0)  # the last tick and draw
        draws = page.evaluate("window.__workbenchChartLog || []")
        result.update(lags(events, draws))
        if shots is not None:
            chart = page.locator(".wb-chart").first
            chart.scroll_into_view_if_needed()
            chart.screenshot(path=str(shots / "live_chart_end.png"))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="live+headless pairs (interleaved)")
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--eval-every", type=int, default=4)
    ap.add_argument("--out", default=None, help="JSON file (default bench/results/...)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    results_dir = ROOT / "bench" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else results_dir / f"live_chart-{stamp}.json"
    info = machine()
    info["load_before"] = os.getloadavg()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root, home = Path(tmp) / "root", Path(tmp) / "home"
        root.mkdir()
        home.mkdir()
        nb = notebook(args.samples, args.epochs, args.eval_every)
        (root / "live.ipynb").write_text(json.dumps(nb))
        with running_lab(root, home) as lab, sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.set_default_timeout(120_000)
            open_notebook(page, lab["base"], "live.ipynb")
            run_cell(page, 0)
            page.get_by_role("tab", name="Train", exact=True).click()
            wait_until(lambda: page.locator(".wb-chart").count() > 0, 120, "the chart")
            # A cold live run first (data and model loaded, thread pools warmed): it gives the
            # cold Train → step 1 and a latency sample, and stays out of the throughput ratio.
            r = one_run(page, root, 1, True, results_dir)
            r.update(order=0, warmup=True)
            runs.append(r)
            print(json.dumps(r), flush=True)
            # then rounds of live/headless pairs, the order alternating (AB BA AB …)
            for i in range(args.rounds):
                for live in (True, False) if i % 2 == 0 else (False, True):
                    r = one_run(page, root, 1 if live else 2, live, None)
                    r.update(order=len(runs), warmup=False)
                    runs.append(r)
                    print(json.dumps(r), flush=True)
            browser.close()
    info["load_after"] = os.getloadavg()
    report = {"machine": info, "settings": vars(args), "runs": runs, "summary": summarize(runs)}
    out.write_text(json.dumps(report, indent=2))
    print(table(report))
    print(f"raw: {out}")


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    live_all = [r for r in runs if r["arm"] == "live"]
    live = [r for r in live_all if not r.get("warmup")]
    head = [r for r in runs if r["arm"] == "headless"]
    lv = [r["samples_per_s"] for r in live if r["samples_per_s"]]
    hv = [r["samples_per_s"] for r in head if r["samples_per_s"]]
    warm = [r["train_to_step1_s"] for r in runs[1:] if r["train_to_step1_s"] is not None]
    return {
        "first_point_s": [r.get("first_point_s") for r in live_all],
        "max_lag_s": [r.get("max_lag_s") for r in live_all],
        "draws": [r.get("draws") for r in live_all],
        "draws_before_end": [r.get("draws_before_end") for r in live_all],
        "live_over_headless": statistics.median(lv) / statistics.median(hv) if lv and hv else None,
        "headless_aa_spread": (max(hv) / min(hv) - 1) if len(hv) > 1 else None,
        "live_aa_spread": (max(lv) / min(lv) - 1) if len(lv) > 1 else None,
        "cold_train_to_step1_s": runs[0]["train_to_step1_s"] if runs else None,
        "warm_train_to_step1_s": warm,
    }


def table(report: dict[str, Any]) -> str:
    s = report["summary"]

    def f(xs: list[Any], fmt: str = "{:.2f}") -> str:
        return ", ".join("–" if x is None else fmt.format(x) for x in xs)

    rows = [
        ("first loss point drawn after the engine's step 1 (s)", f(s["first_point_s"])),
        ("max lag of the chart behind the engine while training (s)", f(s["max_lag_s"])),
        ("chart draws per live run (before the last step)", f(s["draws_before_end"], "{}")),
        (
            "throughput, live view / headless (median samples/s)",
            f"{s['live_over_headless']:.3f}" if s["live_over_headless"] else "–",
        ),
        (
            "A/A spread: headless runs / live runs",
            f"{f([s['headless_aa_spread']], '{:.1%}')} / {f([s['live_aa_spread']], '{:.1%}')}",
        ),
        ("Train → step 1, cold: first run in the kernel (s)", f([s["cold_train_to_step1_s"]])),
        ("Train → step 1, warm (s)", f(s["warm_train_to_step1_s"])),
    ]
    m = report["machine"]
    dirty = " (dirty)" if m["git_dirty"] else ""
    head = (
        f"{m['date']} · {m['cpus']} CPUs · load {m['load_before'][0]:.2f} → "
        f"{m['load_after'][0]:.2f} · rev {m['git_revision'][:10]}{dirty}"
    )
    lines = [head, "", "| measure | value |", "|---|--:|"]
    lines += [f"| {a} | {b} |" for a, b in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
