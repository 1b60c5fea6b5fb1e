"""Widget overhead benchmark: training throughput with the live Train panel attached vs
headless, side by side (interleaved B C B C …, medians), and the time from clicking
**Train** to the first loss point when data and model are already loaded (cached).

Run: ``.venv/bin/python bench/widget_overhead.py [--repeats 3] [--samples 320] [--out FILE]``.
The panel runs without a browser: widget updates are serialized as in a kernel but no
front end receives them; the pump still folds events and sends the chart's new points at
every tick. ``bench/live_chart.py`` measures the same with a real browser drawing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def config(tmp: Path, samples: int):  # type: ignore[no-untyped-def]
    from workbench import TrainConfig

    return TrainConfig().replace(
        max_train_samples=samples,
        max_eval_samples=64,
        epochs=2.0,
        batch_size=32,
        device="cpu",
        save_checkpoints=False,
        runs_dir=str(tmp / "runs"),
    )


def headless(cfg, out: Path) -> dict:  # type: ignore[no-untyped-def]
    from workbench import train

    t0 = time.time()
    h = train(cfg.replace(out=str(out)), block=True)
    first = next(e["time"] for e in h.history if e["type"] == "step")
    return {"samples_per_s": h.summary["train_samples_per_second"], "first_loss_s": first - t0}


def train_in_panel(cfg, parts=None):  # type: ignore[no-untyped-def]
    """Train ``cfg`` as the notebook does: a ``TrainPanel``, **Train** clicked, the run in
    its worker thread and the panel's pump sending the live curve's new points to its
    chart until the run has ended. No front end is connected: widget
    updates are serialized as in a kernel and go nowhere (the comm is simulated by having
    none). ``parts``: the engine's stand-ins (``EngineParts``), passed to ``workbench.train``.
    Returns ``(handle, panel, clicked_at)``; ``bench/arms.py`` arm C uses this too.
    """
    from widgets import TrainPanel

    panel = TrainPanel(cfg, train_options={"parts": parts} if parts else None)
    clicked = time.time()
    panel.train_button.click()  # what the user does
    h = panel.handle
    if h is None:
        raise RuntimeError(f"Train did not start a run: {panel.form.error.value}")
    h.wait()
    while panel.live or (panel.pump is not None and panel.pump.alive):
        time.sleep(0.05)
    return h, panel, clicked


def with_widget(cfg) -> dict:  # type: ignore[no-untyped-def]
    h, panel, t0 = train_in_panel(cfg)
    first = next(e["time"] for e in h.history if e["type"] == "step")
    return {
        "samples_per_s": h.summary["train_samples_per_second"],
        "first_loss_s": first - t0,
        "frames": panel.curves.curve_points(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--samples", type=int, default=320)
    ap.add_argument("--out", default="bench/results/widget_overhead.json")
    args = ap.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    tmp = Path(tempfile.mkdtemp(prefix="wb-bench-"))
    cfg = config(tmp, args.samples)
    headless(cfg.replace(epochs=0.1), tmp / "warm")  # loads data + model into the cache
    rows: dict[str, list[dict]] = {"B headless": [], "C widget": []}
    for i in range(args.repeats):
        rows["B headless"].append(headless(cfg, tmp / f"b{i}"))
        rows["C widget"].append(with_widget(cfg))
        print(i, {k: v[-1] for k, v in rows.items()}, flush=True)
    med = {
        k: {m: statistics.median(r[m] for r in v) for m in ("samples_per_s", "first_loss_s")}
        for k, v in rows.items()
    }
    ratio = med["C widget"]["samples_per_s"] / med["B headless"]["samples_per_s"]
    result = {
        "median": med,
        "C_over_B": ratio,
        "runs": rows,
        "repeats": args.repeats,
        "samples": args.samples,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print("| arm | samples/s (median) | click/start → first loss (s) |")
    print("|---|---|---|")
    for k, v in med.items():
        print(f"| {k} | {v['samples_per_s']:.2f} | {v['first_loss_s']:.2f} |")
    print(f"C/B = {ratio:.3f}")


if __name__ == "__main__":
    main()
