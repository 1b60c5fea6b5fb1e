"""Turn arm-run measurements into the Markdown report (``docs/benchmarks.md``).

Pure functions of the measurements: medians per arm over the repeats, paired ratios
(each repeat's arms ran back to back, so a ratio within one repeat shares that moment's
machine load; the report gives the median of those per-repeat ratios), the loss gaps, and
the goal checks of the issue (engine ≥ 1.0× Trainer at equal padding and ≥ 1.3× with its
default batching, final loss within 2% of the Trainer's, the live widget costing ≤ 3%,
padding waste ≤ 5%).
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from settings import BenchSettings

Result = dict[str, Any]
# Hand-written findings (profile before/after, what was tried), appended to the report of
# their workload: the classifier's, or the causal LM's (``--workload smollm2``).
FINDINGS = Path(__file__).resolve().parent / "findings.md"
FINDINGS_LM = Path(__file__).resolve().parent / "findings-lm.md"

# (title, numerator arm, denominator arm): the comparisons the report makes.
AA = ("B-again / B, A/A: the same arm twice", "B-again", "B")
RATIOS = (
    AA,
    ("B / A, both length-grouped", "B", "A"),
    ("B / A at equal padding, both random", "B-random", "A-random"),
    ("D / A, floor vs Trainer (length-grouped)", "D", "A"),
    ("B / D, engine vs floor (same batches)", "B", "D"),
    ("C / B, live widget attached vs headless", "C", "B"),
    # What-if arms, shown when they were run (``--arms ...,B-fused,A-foreach``):
    ("B-fused / B-random, engine with fused AdamW", "B-fused", "B-random"),
    ("B-fused / A-random, both fused AdamW, equal padding", "B-fused", "A-random"),
    ("B-random / B-loop, engine default vs for-loop AdamW", "B-random", "B-loop"),
    ("B-random / A-foreach, both foreach AdamW, equal padding", "B-random", "A-foreach"),
    # Causal LM + LoRA (``--workload smollm2``):
    ("B-lm / A-lm, causal LM, both length-grouped", "B-lm", "A-lm"),
    ("B-lm-packed / A-lm, engine packing vs Trainer", "B-lm-packed", "A-lm"),
    ("B-lm-packed / B-lm, packing vs padding", "B-lm-packed", "B-lm"),
    ("B-lm / B-lm-full-logits, answer logits only vs all", "B-lm", "B-lm-full-logits"),
    ("B-lm-full-logits / A-lm, both all logits", "B-lm-full-logits", "A-lm"),
)
SPEED_GOAL = 1.0  # engine throughput / Trainer throughput at equal padding
DEFAULT_BATCHING_GOAL = 1.3  # engine (its default batching) / Trainer (length-grouped)
WIDGET_GOAL = 0.97  # engine with the live widget / engine headless
WASTE_GOAL = 0.05  # padding waste of the engine's default batching
LOSS_GOAL = 0.02  # |engine final loss - Trainer final loss| / Trainer final loss


def describe_machine() -> dict[str, str]:
    """CPU model, cores, library versions and the load average, without importing torch."""
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions = ", ".join(
        f"{name} {_version(name)}" for name in ("torch", "transformers", "accelerate", "datasets")
    )
    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores ({usable} usable by this process)",
        "software": f"Python {platform.python_version()}, {versions}",
        "load": "{:.2f} / {:.2f} / {:.2f}".format(*os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def by_arm(results: Sequence[Result]) -> dict[str, list[Result]]:
    groups: dict[str, list[Result]] = {}
    for r in results:
        groups.setdefault(r["arm"], []).append(r)
    return groups


def median_of(runs: Sequence[Result], key: str) -> float | None:
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def paired_ratios(results: Sequence[Result], num: str, den: str, key: str) -> list[float]:
    """``num[key] / den[key]`` within each repeat (the same moment's machine), by repeat."""
    runs = {(r["arm"], r["repeat"]): r for r in results}
    return [
        runs[(num, k)][key] / runs[(den, k)][key]
        for (arm, k) in sorted(runs, key=lambda x: x[1])
        if arm == num and (den, k) in runs and runs[(den, k)][key]
    ]


def paired_ratio(results: Sequence[Result], num: str, den: str, key: str) -> float | None:
    """Median over repeats of ``num[key] / den[key]`` within the same repeat."""
    ratios = paired_ratios(results, num, den, key)
    return statistics.median(ratios) if ratios else None


def aa_spread(results: Sequence[Result], key: str) -> float | None:
    """The A/A spread: the largest ``|B-again / B - 1|`` over the repeats, for ``key``.

    B and B-again are the same arm (same engine, batches and seed) run twice in each
    repeat: whatever separates them is the harness and the machine, not the code. A ratio
    between other arms that stays within this spread of 1.0 is not a measured difference.
    """
    ratios = paired_ratios(results, AA[1], AA[2], key)
    return max(abs(r - 1) for r in ratios) if ratios else None


def ratio_cell(results: Sequence[Result], num: str, den: str, key: str) -> str:
    """``median× (min–max)`` of the per-repeat ratios; just the median for one repeat."""
    ratios = paired_ratios(results, num, den, key)
    if not ratios:
        return "–"
    cell = f"{statistics.median(ratios):.2f}×"
    return cell + (f" ({min(ratios):.2f}–{max(ratios):.2f})" if len(ratios) > 1 else "")


def beyond_aa(results: Sequence[Result], num: str, den: str, key: str) -> str:
    """Does the median ratio differ from 1 by more than the A/A spread (same metric)?"""
    ratio, spread = paired_ratio(results, num, den, key), aa_spread(results, key)
    if ratio is None or spread is None or (num, den) == (AA[1], AA[2]):
        return "–"
    return "yes" if abs(ratio - 1) > spread else "no"


def loss_gap(groups: dict[str, list[Result]], num: str, den: str) -> float | None:
    """Relative gap of the final training loss, ``(num - den) / den``."""
    a, b = (
        median_of(groups.get(num, []), "final_loss"),
        median_of(groups.get(den, []), "final_loss"),
    )
    return (a - b) / b if a is not None and b else None


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "–" if value is None else f"{value:{spec}}{suffix}"


def results_table(groups: dict[str, list[Result]], labels: dict[str, tuple[str, str]]) -> str:
    gpu = any(r.get("peak_gpu_mb") is not None for runs in groups.values() for r in runs)
    rows = [
        "| Arm | What | Batching | Samples/s | Real tokens/s | Real tokens/s, median step "
        "| Padding waste | Peak RSS (MiB) | Time to first loss (s) | Final loss "
        "| Self-reported samples/s | Useful TFLOP/s"
        + (" | MFU | Peak GPU memory (MiB) |" if gpu else " |"),
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|" + ("--:|--:|" if gpu else ""),
    ]
    for name, runs in groups.items():
        label, batching = labels.get(name, (name, "?"))
        waste = median_of(runs, "padding_waste")
        mfu = median_of(runs, "mfu")
        extra = (
            f" {_fmt(None if mfu is None else 100 * mfu, '.1f', ' %')} "
            f"| {_fmt(median_of(runs, 'peak_gpu_mb'), '.0f')} |"
            if gpu
            else ""
        )
        rows.append(
            f"| {name} | {label} | {batching} | {_fmt(median_of(runs, 'samples_per_s'), '.1f')} "
            f"| {_fmt(median_of(runs, 'tokens_per_s'), '.0f')} "
            f"| {_fmt(median_of(runs, 'tokens_per_s_median_step'), '.0f')} "
            f"| {_fmt(None if waste is None else 100 * waste, '.1f', ' %')} "
            f"| {_fmt(median_of(runs, 'peak_rss_mb'), '.0f')} "
            f"| {_fmt(median_of(runs, 'time_to_first_loss_s'), '.1f')} "
            f"| {_fmt(median_of(runs, 'final_loss'), '.4f')} "
            f"| {_fmt(median_of(runs, 'reported_samples_per_s'), '.1f')} "
            f"| {_fmt(median_of(runs, 'tflops_per_s'), '.3g')} |{extra}"
        )
    return "\n".join(rows)


def ratios_table(results: Sequence[Result], groups: dict[str, list[Result]]) -> str:
    spread = aa_spread(results, "tokens_per_s")
    rows = [
        "| Comparison | Samples/s | Real tokens/s | Real tokens/s, median step "
        "| Outside the A/A spread? | Final-loss gap |",
        "|---|--:|--:|--:|:-:|--:|",
    ]
    for title, num, den in RATIOS:
        if num not in groups or den not in groups:
            continue
        gap = loss_gap(groups, num, den)
        rows.append(
            f"| {title} | {ratio_cell(results, num, den, 'samples_per_s')} "
            f"| {ratio_cell(results, num, den, 'tokens_per_s')} "
            f"| {ratio_cell(results, num, den, 'tokens_per_s_median_step')} "
            f"| {beyond_aa(results, num, den, 'tokens_per_s')} "
            f"| {_fmt(None if gap is None else 100 * gap, '+.2f', ' %')} |"
        )
    if spread is None:
        rows += [
            "",
            "No A/A arm ran (add `B-again` to `--arms`): the ratios have no noise yardstick.",
        ]
    else:
        median_step = aa_spread(results, "tokens_per_s_median_step")
        rows += [
            "",
            f"A/A spread: B-again / B, the same arm run twice per repeat, is at most "
            f"{100 * spread:.1f} % from 1.0 in real tokens/s over the window"
            + (f" ({100 * median_step:.1f} % by the median step)" if median_step else "")
            + ". A ratio within that distance of 1.0 is not a measured difference "
            '("Outside the A/A spread?": no). Cells: median of the per-repeat ratios '
            "(lowest–highest repeat).",
        ]
    return "\n".join(rows)


def aa_note(results: Sequence[Result], key: str) -> str:
    spread = aa_spread(results, key)
    return "" if spread is None else f"; A/A spread ±{100 * spread:.1f} %"


def goal_lines(results: Sequence[Result], groups: dict[str, list[Result]]) -> list[str]:
    """The issue's goals, checked on the arms that measure them, each ratio with the A/A
    spread of its metric beside it."""
    lines = []
    speed = paired_ratio(results, "B-random", "A-random", "tokens_per_s")
    if speed is not None:
        met = "met" if speed >= SPEED_GOAL else "NOT met"
        lines.append(
            f"- Engine throughput ≥ {SPEED_GOAL:.1f}× Trainer at equal padding (real tokens/s, "
            f"B-random / A-random): **{met}** ({speed:.2f}×{aa_note(results, 'tokens_per_s')})."
        )
    default = paired_ratio(results, "B", "A", "tokens_per_s")
    if default is not None:
        met = "met" if default >= DEFAULT_BATCHING_GOAL else "NOT met"
        lines.append(
            f"- Engine with its default batching ≥ {DEFAULT_BATCHING_GOAL:.1f}× the Trainer "
            f"(length-grouped), real tokens/s, B / A: **{met}** "
            f"({default:.2f}×{aa_note(results, 'tokens_per_s')})."
        )
    widget = paired_ratio(results, "C", "B", "samples_per_s")
    if widget is not None:
        met = "met" if widget >= WIDGET_GOAL else "NOT met"
        lines.append(
            f"- Live widget attached ≥ {WIDGET_GOAL:.2f}× headless (samples/s, C / B): "
            f"**{met}** ({widget:.3f}×{aa_note(results, 'samples_per_s')})."
        )
    waste = median_of(groups.get("B", []), "padding_waste")
    if waste is not None:
        met = "met" if waste <= WASTE_GOAL else "NOT met"
        lines.append(
            f"- Padding waste of the engine's default batching ≤ {100 * WASTE_GOAL:.0f} % (B): "
            f"**{met}** ({100 * waste:.1f} %)."
        )
    mfu = median_of(groups.get("B", []), "mfu")
    if mfu is not None:
        lines.append(
            f"- MFU of the engine on real tokens (B): {100 * mfu:.1f} % (goal on an H100/H200: "
            "≥ 35 % for the bert-base-sized workload, ≥ 20 % for MiniLM)."
        )
    lm = paired_ratio(results, "B-lm", "A-lm", "tokens_per_s")
    if lm is not None:
        lines.append(
            f"- Causal LM + LoRA, engine / Trainer (real tokens/s, B-lm / A-lm): {lm:.2f}×"
            f"{aa_note(results, 'tokens_per_s').replace(';', ',')} "
            "(no goal set; the issue asks for the comparison)."
        )
    for num, den in (("B", "A"), ("B-random", "A-random")):
        gap = loss_gap(groups, num, den)
        if gap is not None:
            met = "met" if abs(gap) <= LOSS_GOAL else "NOT met"
            lines.append(
                f"- Final loss of {num} within {100 * LOSS_GOAL:.0f} % of {den}: **{met}** "
                f"({100 * gap:+.2f} %)."
            )
    for num, den in (("B-lm", "A-lm"), ("B-lm-packed", "A-lm")):
        gap = loss_gap(groups, num, den)
        if gap is not None:
            lines.append(
                f"- Final loss of {num} vs {den}: {100 * gap:+.2f} % — not a like-for-like "
                "check: each framework groups by length its own way (packing regroups the "
                "examples), so over a few steps the arms see different batches, and the mean "
                "loss of the last steps moves with their content. The what-if arm "
                "B-lm-full-logits trains on B-lm's batches: its line below is the check."
            )
    for num, den in (("B-random", "A-random"), ("B", "D"), ("B-lm", "B-lm-full-logits")):
        if num in groups and den in groups:
            lines.append(_same_batches_line(groups[num][0], groups[den][0]))
    return lines


def _same_batches_line(a: Result, b: Result) -> str:
    """Did two arms train on the same batches, and how far apart are their losses?"""
    same = a["batch_fingerprints"] == b["batch_fingerprints"]
    gap = max(abs(x - y) for x, y in zip(a["losses"], b["losses"], strict=True))
    return (
        f"- {a['arm']} and {b['arm']} trained on "
        f"{'the same batches' if same else 'different batches'}; largest per-step loss "
        f"difference {gap:.2e}."
    )


def per_run_table(groups: dict[str, list[Result]]) -> str:
    repeats = max(len(runs) for runs in groups.values())
    head = " | ".join(f"run {i + 1}" for i in range(repeats))
    rows = [f"| Arm | {head} |", "|---|" + "--:|" * repeats]
    for name, runs in groups.items():
        cells = " | ".join(
            f"{r['samples_per_s']:.1f} ({r['seconds_per_step']:.2f} s/step"
            + (f", #{r['position'] + 1}" if "position" in r else "")
            + (
                f", others {100 * r['others_cpu_share']:.0f} %"
                if r.get("others_cpu_share") is not None
                else ""
            )
            + ")"
            for r in sorted(runs, key=lambda r: r["repeat"])
        )
        rows.append(f"| {name} | {cells} |")
    return "\n".join(rows)


def settings_lines(s: BenchSettings, rounds: Sequence[Sequence[str]]) -> list[str]:
    task = (
        [
            "- Task: causal-LM instruction tuning; the engine's `lora` method (its defaults: "
            "rank 8, alpha 16, dropout 0.1, peft's Llama targets `q_proj`/`v_proj`) in every "
            "arm; "
            "the engine's encoding (chat template, loss on response tokens only)."
        ]
        if s.task == "causal-lm"
        else []
    )
    return [
        f"- Model: {s.model_label}; data: `{os.path.basename(s.dataset)}`, cleaned and split "
        f"as the engine does (seed {s.seed}), {s.train_samples} training examples, "
        f"max_length {s.max_length}.",
        *task,
        f"- {s.steps} optimizer steps of batch {s.batch_size}; AdamW lr {s.lr:g}, weight decay "
        f"{s.weight_decay:g} (not on biases/LayerNorm), linear schedule with {s.warmup_steps} "
        f"warmup steps, gradient clipping at {s.max_grad_norm:g}; "
        + (
            "fp32 on CPU"
            if s.device == "cpu"
            else "CUDA, bf16 autocast (fp16 without bf16), SDPA attention"
        )
        + ("; torch.compile in every arm" if s.compile else "")
        + "; dynamic padding.",
        f"- {len(rounds)} repeat(s), every arm once per repeat, one fresh process per arm-run, "
        "in this order: "
        + "; ".join(f"repeat {k + 1}: {' '.join(order)}" for k, order in enumerate(rounds))
        + ". Before the first repeat, one untimed process imports what the arms import and "
        "reads the model and data files. Tables show medians over the repeats.",
        f"- Throughput counts steps {s.timed_from + 1}..{s.steps}, the same in every arm "
        + (
            "(step 1 carries one-off costs)."
            if s.timed_from == 1
            else f"(steps 1..{s.timed_from} carry one-off costs: allocation, first shapes)."
        ),
        f"- Final loss: mean training loss of the last {s.last_losses} steps.",
    ]


def optimizer_lines(groups: dict[str, list[Result]]) -> list[str]:
    return [
        f"- Optimizer in {name}: {runs[0]['notes'].get('optimizer', '?')}."
        for name, runs in groups.items()
    ]


def render(
    s: BenchSettings,
    results: Sequence[Result],
    labels: dict[str, tuple[str, str]],
    machine: dict[str, str],
    rounds: Sequence[Sequence[str]],
    elapsed_s: float,
) -> str:
    """The whole Markdown report."""
    repeats = len(rounds)
    # arms in the order they were asked for (the first repeat's order is random)
    groups = {name: by_arm(results)[name] for name in labels if name in by_arm(results)}
    threads = sorted({r["torch_threads"] for r in results})
    parts = [
        "# Training throughput: Workbench engine vs Hugging Face Trainer"
        + (" (causal LM + LoRA)" if s.task == "causal-lm" else ""),
        "",
        f"_Generated by `bench/run.py` (`make bench{'-lm' if s.task == 'causal-lm' else ''}`) "
        f"on {machine['date']} at rev {machine.get('revision', '?')}; the run took "
        f"{elapsed_s / 60:.1f} min{waited_note(results)}. "
        f"Raw output: `{machine.get('raw', 'not kept')}`; "
        "`python bench/run.py --render RAW` regenerates this report. Do not edit by hand._",
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu']}; torch threads per arm-run: {', '.join(map(str, threads))}.",
        f"- Software: {machine['software']}.",
        f"- Load average (1/5/15 min): {machine['load']}. Other "
        "jobs may share the machine: absolute numbers move with them, paired ratios less so.",
        *others_line(results),
        gpu_line(s, machine.get("gpu")),
        "",
        "## Settings",
        "",
        *settings_lines(s, rounds),
        "",
        f"## Results (median of {repeats})",
        "",
        results_table(groups, labels),
        "",
        "## Ratios (median of the per-repeat ratios)",
        "",
        ratios_table(results, groups),
        "",
        "## Goals",
        "",
        *goal_lines(results, groups),
        "",
        "## Every run: samples/s (seconds per step, place in its repeat's order, CPU share "
        "other processes took meanwhile)",
        "",
        per_run_table(groups),
        "",
        "## How it is measured",
        "",
        method_text(s),
        "",
        *optimizer_lines(groups),
        "",
    ]
    findings = FINDINGS_LM if s.task == "causal-lm" else FINDINGS
    if findings.is_file():
        parts += [findings.read_text(encoding="utf-8").strip(), ""]
    return "\n".join(parts)


def method_text(s: BenchSettings) -> str:
    """How it is measured: the classifier arms' description, or the causal-LM arms' in its
    place; the measurement bullets are shared."""
    text = METHOD.strip()
    if s.task != "causal-lm":
        return text
    common = text.split("\n- ", 1)[1]  # everything after the classifier arms' bullet
    return METHOD_LM_ARMS.strip() + "\n- " + common


def waited_note(results: Sequence[Result]) -> str:
    waited = sum(r.get("waited_s") or 0 for r in results)
    return f", {waited / 60:.1f} min of it waiting for other processes to finish" if waited else ""


def others_line(results: Sequence[Result]) -> list[str]:
    """How much CPU other processes took during the arm-runs (the harness measures it)."""
    shares = [r["others_cpu_share"] for r in results if r.get("others_cpu_share") is not None]
    if not shares:
        return []
    waited = sum(r.get("waited_s") or 0 for r in results)
    return [
        f"- Other processes took {100 * statistics.median(shares):.0f} % of the CPUs during "
        f"the median arm-run ({100 * min(shares):.0f}–{100 * max(shares):.0f} %; all CPU "
        "time of the machine less the arm-run's own)"
        + (f"; the harness waited {waited:.0f} s in all for them to finish." if waited else ".")
    ]


def gpu_line(s: BenchSettings, name: str | None = None) -> str:
    if s.device == "cuda":
        return f"- GPU: {name or 'CUDA'} (every arm trains on it)."
    return (
        "- GPU: none. This report is CPU-only: MFU and peak GPU memory are **not measured** "
        "here (`python bench/run.py --device cuda` adds them on a CUDA machine)."
    )


METHOD_LM_ARMS = """
- **Arms (causal LM).** A-lm: `transformers.Trainer` on the engine's token ids and labels
  (chat template, prompt tokens labelled -100), `DataCollatorForSeq2Seq` (dynamic padding,
  labels padded with -100), `train_sampling_strategy="group_by_length"`, the model computing
  its own loss (logits at every position, shifted cross-entropy). B-lm:
  `workbench.train(cfg, block=True)` with `task="causal-lm"`, `method="lora"`, length-grouped
  batches; the model projects onto the vocabulary only the positions that predict an answer
  token (`logits_to_keep`). B-lm-packed: the same with `packing=True` (best-fit-decreasing
  rows of `max_length` tokens, position ids restarting per example). B-lm-full-logits
  (what-if): B-lm computing logits at every position, as before. Every arm applies the
  engine's LoRA to a freshly loaded model (same rank, alpha, dropout, targets, seed).
"""

METHOD = """
- **Arms.** A: `transformers.Trainer` with `DataCollatorWithPadding` and
  `train_sampling_strategy="group_by_length"` (A-random: the default random sampler),
  `logging_steps=1`, no evaluation, no saving. B: `workbench.train(cfg, block=True)`,
  headless, `save_checkpoints=False`, `batching="length-grouped"` (B-random: `"random"`),
  `epochs` chosen so the engine plans exactly the same number of steps. D: a bare PyTorch
  loop on the engine's own batches (same sampler, same seed), padding each batch on the fly,
  the floor any engine is measured against. C: the engine trained the way the notebook
  does it — a `widgets.TrainPanel`, **Train** clicked, the run in its worker thread, the
  panel's throttled pump rendering the live loss curve (Agg PNG frames into an `Image`
  widget) — with no front end attached (widget messages are serialized and go nowhere);
  the same code as `bench/widget_overhead.py`.
- **Samples/s and real tokens/s** count steps 2..N over the wall-clock time from the end of
  step 1 to the end of step N, stamped the same way in every arm (A: a `TrainerCallback`'s
  `on_step_end`; B: the `time` of the engine's step events; D: after `loss.item()`). All the
  loop does in between counts: data loading, collation, forward, backward, clipping,
  optimizer, scheduler, logging, callbacks and event writing. Step 1 is left out: it carries
  one-off costs (allocation, building the sampler and data iterator), reported in "time to
  first loss" instead. Nothing evaluates or saves within the window; the engine's
  end-of-run evaluation and export come after the last step.
- **Real tokens/s, median step** divides each step's real tokens by that step's own
  time and takes the median over steps 2..N. A burst of load from other processes moves it
  far less than the window figure, and it stays comparable across different batches.
- **Real tokens** are non-pad tokens; **padding waste** is the share of computed positions
  (batch × padded width) that are padding, over the N batches each arm actually formed,
  recorded by wrapping each arm's collator. **Samples** are examples: a packed row counts
  as the examples it holds (its position ids restart at 0 for each).
- **Useful TFLOP/s** is the training arithmetic of steps 2..N over the same window,
  counted on real tokens with the convention written in `workbench/training/flops.py`:
  `6·N` per token for the non-embedding parameters under full fine-tuning (`4·N` for
  frozen weights with trainable ones below, `2·N` for frozen weights with none), plus
  attention scores `12·n²·d` per layer for an example of `n` real tokens. **MFU** (CUDA
  only) divides it by the device's dense peak for the autocast precision from that
  file's table (H100 SXM / H200 bf16: 989 TFLOP/s); CPUs and GPUs missing from the table
  get no MFU. **Peak GPU memory** is `torch.cuda.max_memory_allocated()` at the end of
  the arm-run.
- **Self-reported samples/s** is each framework's own figure, shown for comparison only.
  The Trainer's `train_samples_per_second` divides `max_steps × batch` by the time from
  just before its first step (data loader, optimizer and `accelerator.prepare` already
  built) to the end of training, so step 1 and the end-of-training bookkeeping count.
  The engine's `summary["train_samples_per_second"]` divides the samples by the sum of
  per-step times that *exclude* its own event emission (the step event, `loss.item()` and
  the JSONL write), so it reads a little high. The harness's numbers above use neither.
- **Time to first loss** runs from the launch of the arm's process (interpreter start,
  imports, data preparation, tokenization, model loading, setup) until step 1's loss is
  known. **Peak RSS** is the process's `ru_maxrss` at exit, which for B includes its
  end-of-run evaluation and export.
- **Known differences that stay.** The Trainer's linear warmup starts at learning rate 0
  (its first update is a no-op), the engine's at `1/(warmup+1)` of the peak. All three use
  fused AdamW (the Trainer's default `adamw_torch_fused`; the engine picks it on CPU and
  CUDA, D follows the engine; the what-if arm B-loop measures torch's CPU default, the
  single-tensor for-loop, see the list below). The Trainer's length grouping sorts mega-batches of
  `min(n / (4·batch), 50)` batches and keeps the longest batch first, the engine's sorts
  mega-batches of 50 batches and shuffles the batch order, so their padding differs —
  which is why B-random / A-random is the equal-padding comparison (the Goals section says
  whether their batches coincide). Loss differences between arms on the same batches come
  from dropout masks: each framework reseeds and draws from the RNG in its own order.
"""


def refresh_findings(report: Path) -> None:
    """Replace the findings appended to ``report`` with the current findings file, keeping
    the measured tables and the sections other scripts own: findings written after a run
    (about that run) reach its report without measuring again."""
    text = report.read_text(encoding="utf-8")
    start = text.find("\n## Findings")
    if start < 0:
        raise SystemExit(f"{report}: no findings section to refresh")
    marker = text.find("\n<!-- ", start)
    tail = text[marker:] if marker >= 0 else "\n"
    findings = FINDINGS_LM if "(causal LM + LoRA)" in text.split("\n", 1)[0] else FINDINGS
    body = findings.read_text(encoding="utf-8").strip()
    report.write_text(text[:start] + "\n" + body + "\n" + tail, encoding="utf-8")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Re-append the hand-written findings.")
    parser.add_argument("report", type=Path, help="a report written by bench/run.py")
    refresh_findings(parser.parse_args().report)
