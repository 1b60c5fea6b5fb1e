"""Training-throughput benchmark: the Workbench engine against the Hugging Face Trainer.

``make bench`` runs this file. It trains every arm (``bench/arms.py``) for the same number
of optimizer steps on the same model, data and hyperparameters, each arm-run in a fresh
process, interleaving the arms (A B B-again C D A-random B-random) so slow phases of a
shared machine hit every arm alike, and repeats the round. It prints a Markdown report,
writes it to ``docs/benchmarks.md``, and writes the raw measurements with date, machine,
load average and git revision to ``bench/results/bench-<date>.json``; ``--render`` turns
such a file back into the report without measuring again.

What keeps identical work measuring alike (arm C once ran 1.10× arm B on the same engine
and batches, faster than the bare loop D, under a fixed order):

* **order**: every repeat runs the arms in a fresh seeded random order (``--order``), so no
  arm always runs first, last, or right after the same neighbour;
* **warm-up**: before the first repeat one untimed process imports everything the arms
  import and reads the model and data files, so the first timed arm-run does not pay for a
  cold page cache the others never see;
* **steady state**: throughput counts only the steps after the first ``timed_from``
  (settings), the same steps in every arm;
* **A/A**: arm ``B-again`` is arm B run a second time in the same repeat; the spread of
  B-again / B is printed next to every ratio — a ratio inside it is not a measured
  difference.

    python bench/run.py                  # the real comparison (~15 min on 2 idle cores)
    python bench/run.py --quick --out /tmp/bench.md   # smoke test: tiny model, 1 repeat
    python bench/run.py --arms A-random,B-random,B-loop --out /tmp/what-if.md
    python bench/run.py --device cuda --workload bert-base --steps 200 --out docs/bench-gpu.md
    python bench/run.py --workload smollm2   # causal LM + LoRA (make bench-lm)
    python bench/run.py --render bench/results/bench-2026-12-05.json --out docs/benchmarks.md

On CUDA every arm trains with bf16 autocast, fused AdamW and SDPA attention (``--compile``
adds torch.compile to every arm), and the report adds peak GPU memory and MFU columns.

Other jobs on the machine stretch the run and blur absolute numbers; the interleaved,
paired ratios hold up better, and the A/A spread says how much better.

This is a benchmark, not a test: it asserts nothing about speed. The report states whether
the issue's goals were met.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from arms import ARMS, OFFLINE_ENV
from provenance import finish, header
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
RESULTS = HERE / "results"
DEFAULT_ORDER = ("A", "B", "B-again", "C", "D", "A-random", "B-random")
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


def plan_rounds(order: list[str], repeats: int, how: str, seed: int) -> list[list[str]]:
    """The run order of every repeat.

    ``shuffle`` (default): a seeded random permutation per repeat, so that no arm always
    runs in the same place or after the same neighbour; ``rotate``: the order shifted by
    about ``len(order) / repeats`` places per repeat; ``fixed``: the same order every
    repeat (how the harness ran before: kept to reproduce that bias).
    """
    if how == "fixed":
        return [list(order) for _ in range(repeats)]
    if how == "rotate":
        shifts = [k * len(order) // repeats for k in range(repeats)]
        return [order[k:] + order[:k] for k in shifts]
    rng = random.Random(seed)
    return [rng.sample(order, len(order)) for _ in range(repeats)]


def warm_up(s: BenchSettings, timeout: float) -> float:
    """One untimed process that imports what the arms import and reads the model and data
    files, so the first timed arm-run starts from the same warm page cache as the others.
    Returns its wall time."""
    started = time.time()
    env = {**os.environ, **OFFLINE_ENV}
    command = [sys.executable, str(HERE / "arms.py"), "--warm-up", "--settings", s.to_json()]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-30:])
        raise SystemExit(f"warm-up failed (exit {done.returncode}):\n{tail}")
    return time.time() - started


def cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine so far, in clock ticks (``/proc/stat``)."""
    with open("/proc/stat", encoding="ascii") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def others_share(seconds: float = 2.0) -> float:
    """Share of the machine's CPU busy over ``seconds`` while no arm-run of ours runs:
    what other processes take."""
    busy0, total0 = cpu_jiffies()
    time.sleep(seconds)
    busy1, total1 = cpu_jiffies()
    return (busy1 - busy0) / max(total1 - total0, 1)


def wait_for_quiet(limit_s: float, threshold: float = 0.2) -> float:
    """Wait (up to ``limit_s``) until other processes use under ``threshold`` of the CPUs;
    returns the seconds waited."""
    started = time.time()
    while others_share() > threshold and time.time() - started < limit_s:
        time.sleep(min(10.0, max(limit_s - (time.time() - started), 0.0)))
    return time.time() - started


def launch_watched(name: str, s: BenchSettings, timeout: float) -> dict[str, Any]:
    """:func:`launch`, plus the share of the machine's CPU that *other* processes used
    while the arm-run ran: all busy CPU time minus the arm-run's own (its rusage)."""
    tick = os.sysconf("SC_CLK_TCK")
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0, total0 = cpu_jiffies()
    result = launch(name, s, timeout)
    busy1, total1 = cpu_jiffies()
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    own = (own1.ru_utime + own1.ru_stime) - (own0.ru_utime + own0.ru_stime)
    others = max((busy1 - busy0) / tick - own, 0.0) / max((total1 - total0) / tick, 1e-9)
    result["others_cpu_share"] = others
    return result


def run_rounds(
    s: BenchSettings, rounds: list[list[str]], timeout: float, quiet_wait_s: float = 0.0
) -> list[dict[str, Any]]:
    """Every repeat's arms in that repeat's order; progress goes to stderr. Before each
    arm-run, wait up to ``quiet_wait_s`` for other processes to leave the CPUs."""
    results = []
    for repeat, order in enumerate(rounds):
        for position, name in enumerate(order):
            waited = wait_for_quiet(quiet_wait_s) if quiet_wait_s else 0.0
            load = os.getloadavg()[0]
            result = launch_watched(name, s, timeout)
            result.update(repeat=repeat, position=position, load_before=load, waited_s=waited)
            results.append(result)
            print(
                f"[bench] round {repeat + 1}/{len(rounds)} #{position + 1} {name:>8}: "
                f"{result['samples_per_s']:.1f} samples/s, "
                f"first loss after {result['time_to_first_loss_s']:.1f} s, "
                f"process {result['wall_s']:.1f} s, load before {load:.2f}, other processes "
                f"{100 * result['others_cpu_share']:.0f} % of the CPUs"
                + (f", waited {waited:.0f} s for them" if waited > 1 else ""),
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
    parser.add_argument("--repeats", type=int, default=None, help="rounds (4; --quick: 1)")
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
    parser.add_argument(
        "--order",
        choices=("shuffle", "rotate", "fixed"),
        default="shuffle",
        help="arm order per repeat: a seeded random permutation (default), rotated, or the "
        "same every repeat",
    )
    parser.add_argument(
        "--no-warm-up", action="store_true", help="skip the untimed warm-up process"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="raw results (default bench/results/bench[-lm][-gpu]-<date>.json; --quick: none)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        help="measure nothing: rewrite the report from this raw results file",
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per arm-run")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0.0,
        help="before each arm-run, wait up to this many seconds for other processes to use "
        "under 20 %% of the CPUs (default 0: do not wait)",
    )
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


def settings_for(args: argparse.Namespace, work: Path) -> BenchSettings:
    if args.quick:
        quick = quick_lm_settings if args.workload == "smollm2" else quick_settings
        s = quick(work)
    elif args.workload == "bert-base":
        s = bert_base_settings(work)
    elif args.workload == "smollm2":
        s = lm_settings()
    else:
        s = full_settings()
    s = dataclasses.replace(s, device=pick_device(args.device), compile=args.compile)
    if args.steps is not None:
        s = dataclasses.replace(s, steps=args.steps)
    if args.batch_size is not None:
        s = dataclasses.replace(s, batch_size=args.batch_size)
    return s


def gpu_name(device: str) -> dict[str, str]:
    import torch

    return {"gpu": torch.cuda.get_device_name()} if device == "cuda" else {}


def measure(args: argparse.Namespace, order: list[str]) -> dict[str, Any]:
    """Warm up, run every repeat; the raw record (``bench/provenance.py`` header included)."""
    started = header(["bench"])
    with tempfile.TemporaryDirectory(prefix="bench-") as work:
        s = settings_for(args, Path(work))
        repeats = args.repeats or (1 if args.quick else 4)
        rounds = plan_rounds(order, repeats, args.order, s.seed)
        warm_s = None if args.no_warm_up else warm_up(s, args.timeout)
        results = run_rounds(s, rounds, args.timeout, args.quiet_wait)
    return {
        **started,
        **finish(started),
        "arguments": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine_text": {**describe_machine(), **gpu_name(s.device)},
        "settings": dataclasses.asdict(s),
        "order": args.order,
        "rounds": rounds,
        "warm_up_s": warm_s,
        "labels": {name: [ARMS[name].label, ARMS[name].batching] for name in order},
        "results": results,
    }


def report_of(record: dict[str, Any]) -> str:
    """The Markdown report of a raw record (fresh or read back from ``bench/results/``)."""
    s = BenchSettings(**record["settings"])
    machine = dict(record["machine_text"])
    before, after = record["load_average_before"], record["load_average_after"]
    machine["load"] = (
        "{:.2f} / {:.2f} / {:.2f} before the run, {:.2f} / {:.2f} / {:.2f} after it".format(
            *before, *after
        )
    )
    machine["revision"] = record["git_revision"][:7] + (
        " + uncommitted changes" if record.get("files_modified") else ""
    )
    if record.get("raw"):
        machine["raw"] = record["raw"]
    labels = {name: (label, batching) for name, (label, batching) in record["labels"].items()}
    return render(s, record["results"], labels, machine, record["rounds"], record["wall_s"])


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.render is not None:
        record = json.loads(args.render.read_text(encoding="utf-8"))
        write_report(report_of(record), args.out, record["settings"], quick=False)
        return
    default_order = LM_ORDER if args.workload == "smollm2" else DEFAULT_ORDER
    order = [a.strip() for a in (args.arms or ",".join(default_order)).split(",") if a.strip()]
    unknown = [a for a in order if a not in ARMS]
    if unknown:
        raise SystemExit(f"unknown arm(s) {', '.join(unknown)}; known: {', '.join(sorted(ARMS))}")
    record = measure(args, order)
    raw = args.json
    if raw is None and not args.quick:
        s = record["settings"]
        kind = ("-lm" if s["task"] == "causal-lm" else "") + (
            "" if s["device"] == "cpu" else "-gpu"
        )
        raw = RESULTS / f"bench{kind}-{dt.date.today().isoformat()}.json"
    if raw is not None:
        record["raw"] = os.path.relpath(raw, HERE.parent)
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps(record, indent=1), encoding="utf-8")
        print(f"[bench] raw results: {raw}", file=sys.stderr)
    write_report(report_of(record), args.out, record["settings"], quick=args.quick)


def write_report(text: str, out: Path | None, s: dict[str, Any], quick: bool) -> None:
    """Print the report and write it to ``out`` (default: ``docs/benchmarks[-lm][-gpu].md``),
    keeping the sections other scripts own in that file."""
    print(text)
    name = "benchmarks-lm" if s["task"] == "causal-lm" else "benchmarks"
    default_out = DEFAULT_OUT.with_name(f"{name}{'' if s['device'] == 'cpu' else '-gpu'}.md")
    out = out if out is not None else (None if quick else default_out)
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.is_file():  # sections other scripts own (bench/endurance.py) survive a re-run
        kept = [m.group(0) for m in OWN_SECTION.finditer(out.read_text(encoding="utf-8"))]
        text = "\n\n".join([text.rstrip("\n"), *kept]) + "\n"
    out.write_text(text, encoding="utf-8")
    print(f"[bench] wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
