"""Training-throughput benchmark: the Workbench engine against the Hugging Face Trainer.

``make bench`` runs this file. It trains every arm (``bench/arms.py``) for the same number
of optimizer steps on the same model, data and hyperparameters, each arm-run in a fresh
process, interleaving the arms (A B C D A-random B-random, then again) so slow phases of
a shared machine hit every arm alike, and repeats the round. It prints a Markdown report
and writes it to ``docs/benchmarks.md``.

    python bench/run.py                  # the real comparison (~14 min on 2 idle cores)
    python bench/run.py --quick --out /tmp/bench.md   # smoke test: tiny model, 1 repeat
    python bench/run.py --arms A-random,B-random,B-loop --out /tmp/what-if.md
    python bench/run.py --device cuda --workload bert-base --steps 200 --out docs/bench-gpu.md
    python bench/run.py --workload smollm2   # causal LM + LoRA (make bench-lm, ~16 min)

On CUDA every arm trains with bf16 autocast, fused AdamW and SDPA attention (``--compile``
adds torch.compile to every arm), and the report adds peak GPU memory and MFU columns.

Other jobs on the machine stretch the run (42 min at a load average of 4-6 on 2 cores)
and blur absolute numbers; the interleaved, paired ratios hold up better.

This is a benchmark, not a test: it asserts nothing about speed. The report states whether
the issue's goals were met.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from arms import ARMS, OFFLINE_ENV
from report import describe_machine, render
from settings import (
    BenchSettings,
    bert_base_settings,
    full_settings,
    lm_settings,
    quick_lm_settings,
    quick_settings,
)

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE.parent / "docs" / "benchmarks.md"
DEFAULT_ORDER = ("A", "B", "C", "D", "A-random", "B-random")
LM_ORDER = ("A-lm", "B-lm", "B-lm-packed")  # --workload smollm2
MARKER = "BENCH_RESULT "


def launch(name: str, s: BenchSettings, timeout: float) -> dict[str, Any]:
    """Run one arm in a fresh interpreter and parse the JSON line it prints."""
    env = {**os.environ, **OFFLINE_ENV}
    command = [
        sys.executable,
        str(HERE / "arms.py"),
        name,
        "--settings",
        s.to_json(),
        "--launched-at",
        repr(time.time()),
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.splitlines()[-30:])
        raise SystemExit(f"arm {name} failed (exit {done.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(lines[-1][len(MARKER) :])
    return result


def run_rounds(
    s: BenchSettings, order: list[str], repeats: int, timeout: float
) -> list[dict[str, Any]]:
    """``repeats`` rounds of every arm in ``order``; progress goes to stderr."""
    results = []
    for repeat in range(repeats):
        for name in order:
            result = launch(name, s, timeout)
            result["repeat"] = repeat
            results.append(result)
            print(
                f"[bench] round {repeat + 1}/{repeats} {name:>8}: "
                f"{result['samples_per_s']:.1f} samples/s, "
                f"first loss after {result['time_to_first_loss_s']:.1f} s, "
                f"process {result['wall_s']:.1f} s",
                file=sys.stderr,
                flush=True,
            )
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="tiny random BERT (smollm2: Llama), 1 repeat"
    )
    parser.add_argument("--out", type=Path, default=None, help=f"report path ({DEFAULT_OUT})")
    parser.add_argument("--repeats", type=int, default=None, help="rounds (3; --quick: 1)")
    parser.add_argument("--steps", type=int, default=None, help="optimizer steps per arm (20)")
    parser.add_argument(
        "--arms",
        default=None,
        help=f"comma-separated arms, in run order (default {','.join(DEFAULT_ORDER)}; "
        f"smollm2: {','.join(LM_ORDER)}); what-if arms: B-fused, B-loop, A-foreach, "
        "B-lm-full-logits",
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto", help="auto: cuda if visible"
    )
    parser.add_argument(
        "--workload",
        choices=("minilm", "bert-base", "smollm2"),
        default="minilm",
        help="packaged MiniLM-L6; a random bert-base-sized BERT (for GPUs); or causal-LM "
        "instruction tuning with LoRA on the packaged SmolLM2-135M (make bench-lm)",
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile in every arm")
    parser.add_argument("--batch-size", type=int, default=None, help="examples per step (32)")
    parser.add_argument("--json", type=Path, default=None, help="also write raw results here")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per arm-run")
    return parser.parse_args(argv)


def pick_device(choice: str) -> str:
    """``cuda`` when asked for or (``auto``) visible; checked here, not in every arm."""
    import torch

    if choice == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA GPU is visible; use --device cpu")
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


# A block another benchmark writes into the same report: <!-- name:start --> … <!-- name:end -->
OWN_SECTION = re.compile(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", re.S)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    default_order = LM_ORDER if args.workload == "smollm2" else DEFAULT_ORDER
    order = [a.strip() for a in (args.arms or ",".join(default_order)).split(",") if a.strip()]
    unknown = [a for a in order if a not in ARMS]
    if unknown:
        raise SystemExit(f"unknown arm(s) {', '.join(unknown)}; known: {', '.join(sorted(ARMS))}")
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        if args.quick:
            quick = quick_lm_settings if args.workload == "smollm2" else quick_settings
            s = quick(Path(work))
        elif args.workload == "bert-base":
            s = bert_base_settings(Path(work))
        elif args.workload == "smollm2":
            s = lm_settings()
        else:
            s = full_settings()
        s = dataclasses.replace(s, device=pick_device(args.device), compile=args.compile)
        if args.steps is not None:
            s = dataclasses.replace(s, steps=args.steps)
        if args.batch_size is not None:
            s = dataclasses.replace(s, batch_size=args.batch_size)
        repeats = args.repeats or (1 if args.quick else 3)
        results = run_rounds(s, order, repeats, args.timeout)
    labels = {name: (ARMS[name].label, ARMS[name].batching) for name in order}
    text = render(s, results, labels, describe_machine(), order, repeats, time.time() - started)
    print(text)
    name = "benchmarks-lm" if s.task == "causal-lm" else "benchmarks"
    default_out = DEFAULT_OUT.with_name(f"{name}{'' if s.device == 'cpu' else '-gpu'}.md")
    out = args.out if args.out is not None else (None if args.quick else default_out)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.is_file():  # sections other scripts own (bench/endurance.py) survive a re-run
            kept = [m.group(0) for m in OWN_SECTION.finditer(out.read_text(encoding="utf-8"))]
            text = "\n\n".join([text.rstrip("\n"), *kept]) + "\n"
        out.write_text(text, encoding="utf-8")
        print(f"[bench] wrote {out}", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
