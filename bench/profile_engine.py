"""Where an engine arm-run spends its time: py-spy samples, summed per phase and loop line.

    python bench/profile_engine.py [--arm B] [--steps 20] [--raw stacks.txt]
    python bench/profile_engine.py --from-raw stacks.txt      # summarize a recorded profile

Runs one arm-run (``bench/arms.py``) under ``py-spy record`` (sampling, so the run is not
slowed down the way a tracing profiler would slow it), then sums the samples of the
training thread by phase (setup steps of ``build_session``, the loop, the end of the run)
and, inside the loop ``fit``, by the source line of ``workbench/training/loop.py`` that
was executing, so forward, backward, optimizer, clipping, event emission, the ``.item()``
syncs and data loading each get their share. ``--raw`` keeps the folded stacks (the input
of flamegraph.pl and https://www.speedscope.app).
"""

from __future__ import annotations

import argparse
import dataclasses
import linecache
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from arms import OFFLINE_ENV
from settings import full_settings

HERE = Path(__file__).resolve().parent
PY_SPY = Path(sys.executable).with_name("py-spy")
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]+):(?P<line>\d+)\)$")
LOOP_FILE = "workbench/training/loop.py"
# Phases outside the loop, recognised by a function on the stack (first match wins).
PHASES = (
    ("setup: prepare_data (read, clean, split)", "prepare_data"),
    ("setup: load model and tokenizer", "load_model"),
    ("setup: tokenize (encode)", "encode"),
    ("setup: accelerator.prepare", "prepare"),
    ("setup: other build_session", "build_session"),
    ("run directory and start files", "write_start_files"),
    ("end: final evaluation", "evaluate"),
    ("end: export model", "export_model"),
    ("end: loss-curve PNG", "save_curves"),
    ("end: other finish_run", "finish_run"),
)


def record(arm: str, steps: int, raw: Path, rate: int) -> None:
    settings = dataclasses.replace(full_settings(), steps=steps)
    command = [str(PY_SPY), "record", "-r", str(rate), "--format", "raw", "-o", str(raw)]
    command += ["--", sys.executable, str(HERE / "arms.py"), arm]
    command += ["--settings", settings.to_json(), "--launched-at", repr(time.time())]
    subprocess.run(command, env={**os.environ, **OFFLINE_ENV}, check=True, capture_output=True)


def classify(stack: str) -> str:
    """The phase of one folded stack, or ``loop: <source line>`` inside ``fit``."""
    frames = [FRAME.match(f) for f in stack.split(";")]
    loop_lines = [
        int(m["line"]) for m in frames if m and m["file"].endswith(LOOP_FILE) and m["func"] == "fit"
    ]
    if loop_lines:
        path = next(m["file"] for m in frames if m and m["file"].endswith(LOOP_FILE))
        source = linecache.getline(_resolve(path), loop_lines[-1]).strip()
        return f"loop: L{loop_lines[-1]} `{source[:70]}`"
    funcs = [m["func"].split(".")[-1] for m in frames if m]
    for name, func in PHASES:
        if func in funcs:
            return name
    return "imports and process start" if "<module>" in funcs else "other (main thread, misc.)"


def _resolve(path: str) -> str:
    candidate = HERE.parent / path
    return str(candidate) if candidate.is_file() else path


def summarize(raw: Path) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, n = line.rpartition(" ")
        if stack:
            counts[classify(stack)] += int(n)
    return counts.most_common()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arm", default="B")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rate", type=int, default=50, help="samples per second")
    parser.add_argument("--raw", type=Path, default=None, help="keep the folded stacks here")
    parser.add_argument("--from-raw", type=Path, default=None, help="summarize, do not record")
    args = parser.parse_args(argv)
    if args.from_raw is not None:
        rows = summarize(args.from_raw)
    else:
        with tempfile.TemporaryDirectory() as work:
            raw = args.raw or Path(work) / "profile.txt"
            record(args.arm, args.steps, raw, args.rate)
            rows = summarize(raw)
    total = sum(n for _, n in rows)
    loop = sum(n for name, n in rows if name.startswith("loop:"))
    print(f"| Where ({args.arm}, {args.steps} steps) | Samples | Share of run | Share of loop |")
    print("|---|--:|--:|--:|")
    for name, n in rows:
        in_loop = f"{100 * n / loop:.1f} %" if name.startswith("loop:") and loop else ""
        print(f"| {name} | {n} | {100 * n / total:.1f} % | {in_loop} |")


if __name__ == "__main__":
    main()
