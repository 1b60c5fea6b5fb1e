"""The README's benchmark numbers, regenerated from committed raw outputs in ``bench/results/``.

    python bench/readme_numbers.py            # print the blocks
    python bench/readme_numbers.py --write    # and replace them in README.md, bench/findings.md

Each block sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` in the target file
and is rebuilt here from one raw output, whose date, machine, load average and git
revision it quotes:

* ``bench-table`` (README *Benchmarks*): the ratios of the latest ``bench/run.py`` run
  (``bench-<date>.json``), each with its range over the repeats and whether it lies outside
  the A/A spread (arm B run twice), and the goals it meets or misses;
* ``adamw`` (README) and ``adamw-table`` (``bench/findings.md``, appended to
  ``docs/benchmarks.md``): ``bench/adamw_check.py``'s optimizer-step timings
  (``adamw-<date>.json``);
* ``ig-cost`` (README): ``bench/attribution_speed.py``'s cost of layer integrated
  gradients against the passes it cannot avoid (``attribution_speed-<date>.json``);
* ``sweep-table`` (README *Sweeps*): ``bench/sweep.py``'s best score found by a small sweep
  against the default settings, and its wall time with and without pruning
  (``sweep-<date>.json``);
* ``image-table`` (README *Image classification*): ``bench/image_baseline.py``'s fine-tuned
  EfficientNet-Lite0 against the same model from random weights and a pixel-space logistic
  regression on one Fashion-MNIST split (``image-<date>.json``);
* ``onnx-latency`` (README *Deploy*, ``docs/onnx.md``): ``bench/onnx_latency.py``'s ONNX
  Runtime against PyTorch eager latency at batch 1 and 32, with the A/A pair
  (``onnx-latency-<date>.json``).

The newest file of each kind is used unless one is named (``--bench FILE`` …). After
``--write``, ``python bench/report.py docs/benchmarks.md`` carries the findings into the
generated report.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path
from typing import Any

from provenance import ROOT, describe
from report import AA, RATIOS, aa_spread, loss_gap, paired_ratio, paired_ratios

RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
FINDINGS = ROOT / "bench" / "findings.md"
ONNX_DOC = ROOT / "docs" / "onnx.md"
README_ROWS = {  # the comparisons the README shows, in its words
    AA[0]: "B-again / B: arm B run twice (A/A)",
    "B / A, both length-grouped": "B / A, both length-grouped",
    "B / A at equal padding, both random": "B / A at equal padding (random batches, the same)",
    "D / A, floor vs Trainer (length-grouped)": "D / A, bare PyTorch loop vs Trainer",
    "B / D, engine vs floor (same batches)": "B / D, our engine vs bare loop, same batches",
    "C / B, live widget attached vs headless": "C / B, live Train panel attached vs headless",
}


def newest(pattern: str) -> Path:
    found = sorted(RESULTS.glob(pattern))
    if not found:
        raise SystemExit(f"no raw output bench/results/{pattern}: run the benchmark first")
    return found[-1]


def load(path: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    record["path"] = str(path.relative_to(ROOT))
    return record


def cell(results: list[dict[str, Any]], num: str, den: str, key: str) -> str:
    ratios = paired_ratios(results, num, den, key)
    med = statistics.median(ratios)
    return f"{med:.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"


def bench_table(record: dict[str, Any]) -> str:
    """The README's table of ratios and goals from a ``bench/run.py`` raw output."""
    results, s = record["results"], record["settings"]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault(r["arm"], []).append(r)
    spread = aa_spread(results, "tokens_per_s")
    assert spread is not None, "the run has no A/A arm (B-again)"
    rows = [
        "| Comparison | Samples/s | Real tokens/s | Outside the A/A spread? | Final-loss gap |",
        "|---|--:|--:|:-:|--:|",
    ]
    for title, num, den in RATIOS:
        if title not in README_ROWS or num not in groups or den not in groups:
            continue
        ratio = paired_ratio(results, num, den, "tokens_per_s")
        outside = "–" if title == AA[0] else ("yes" if abs(ratio - 1) > spread else "no")
        gap = loss_gap(groups, num, den)
        rows.append(
            f"| {README_ROWS[title]} | {cell(results, num, den, 'samples_per_s')} "
            f"| {cell(results, num, den, 'tokens_per_s')} | {outside} "
            f"| {'–' if gap is None else f'{100 * gap:+.2f} %'.replace('-', '−')} |"
        )
    repeats = len(record["rounds"])
    head = (
        f"**Latest run: {describe(record)}** ({repeats} repeats, {record['wall_s'] / 60:.1f} "
        f"min; minilm-l6 on tweets, batch {s['batch_size']}, {s['steps']} steps, throughput "
        f"over steps {s['timed_from'] + 1}..{s['steps']}, fp32, every arm on fused AdamW; "
        "the arms in a new random order each repeat; medians of the per-repeat ratios, "
        f"lowest–highest repeat in brackets; raw output `{record['path']}`):"
    )
    aa = (
        f"The A/A pair — the same arm twice in every repeat — differs by up to "
        f"{100 * spread:.1f} % in real tokens/s: a ratio closer to 1.0 than that is not a "
        "measured difference."
    )
    return "\n".join([head, "", *rows, "", aa, "", *goals(record, groups, spread)])


def goals(record: dict[str, Any], groups: dict[str, Any], spread: float) -> list[str]:
    """One line per goal: met or not, with the measured value and the A/A spread."""
    results = record["results"]

    def ratio(num: str, den: str, key: str = "tokens_per_s") -> float:
        value = paired_ratio(results, num, den, key)
        assert value is not None, (num, den)
        return value

    def verdict(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    equal, default = ratio("B-random", "A-random"), ratio("B", "A")
    widget = ratio("C", "B", "samples_per_s")
    waste = statistics.median(r["padding_waste"] for r in groups["B"])
    gaps = [loss_gap(groups, "B", "A"), loss_gap(groups, "B-random", "A-random")]
    waited = sum(r.get("waited_s") or 0 for r in results)
    busy = record["wall_s"] - waited
    pm = f"A/A ±{100 * spread:.1f} %"
    return [
        f"- Engine ≥ 1.0× the Trainer at equal padding (real tokens/s): {verdict(equal >= 1.0)} "
        f"({equal:.2f}×; {pm}" + (": within the noise)." if abs(equal - 1) <= spread else ")."),
        f"- Engine with its default batching ≥ 1.3× the Trainer: {verdict(default >= 1.3)} "
        f"({default:.2f}×).",
        f"- Live Train panel ≥ 0.97× headless (samples/s): {verdict(widget >= 0.97)} "
        f"({widget:.2f}×; {pm}).",
        f"- Padding waste of our default batching ≤ 5 %: {verdict(waste <= 0.05)} "
        f"({100 * waste:.1f} %).",
        "- Final loss within 2 % of the Trainer's: "
        + verdict(all(g is not None and abs(g) <= 0.02 for g in gaps))
        + " ("
        + " and ".join(f"{100 * g:+.2f} %".replace("-", "−") for g in gaps if g is not None)
        + ").",
        f"- `make bench` within 15 min: {verdict(busy <= 15 * 60)} ({busy / 60:.1f} min"
        + (f", not counting {waited / 60:.1f} min of waiting for other jobs)." if waited else ")."),
    ]


def adamw(record: dict[str, Any]) -> tuple[str, str]:
    """(README sentence, findings table) from a ``bench/adamw_check.py`` raw output."""
    s = record["summary"]
    loop, fused = s["for-loop"], s["fused"]
    ratio, aa = s["for-loop / fused"], s["fused-again / fused (A/A)"]
    lo, hi = aa["optimizer_ratio_range"]
    rounds = record["settings"]["rounds"]
    sentence = (
        f"the optimizer step took {fused['optimizer_s_median'] * 1000:.0f} ms fused against "
        f"{loop['optimizer_s_median'] * 1000:.0f} ms for the for-loop (medians of {rounds} "
        f"interleaved steps each, {ratio['optimizer_ratio_median']:.1f}× per step; two "
        f"identical fused optimizers, the A/A pair, {aa['optimizer_ratio_median']:.2f}× "
        f"({lo:.2f}–{hi:.2f}); `bench/adamw_check.py`, {describe(record)}, raw output "
        f"`{record['path']}`)"
    )
    names = {
        "for-loop": "single-tensor for-loop (torch's CPU default; the engine before)",
        "foreach": "`foreach=True`",
        "fused": "`fused=True` (the engine now, on CPU and CUDA)",
        "fused-again": "`fused=True` again, a second optimizer (A/A)",
    }
    table = [
        f"| AdamW on CPU (MiniLM-L6, batch {record['settings']['batch_size']}, {rounds} "
        "interleaved steps each) | Step (median) | Optimizer step (median) | Optimizer step, "
        "range | Optimizer step / fused (median of the per-round ratios) |",
        "|---|--:|--:|--:|--:|",
    ]
    per_round = {
        "for-loop": s["for-loop / fused"],
        "foreach": s["foreach / fused"],
        "fused-again": s["fused-again / fused (A/A)"],
    }
    for kind, label in names.items():
        row = s[kind]
        a, b = row["optimizer_s_range"]
        vs = per_round.get(kind)
        versus = "1 (reference)" if vs is None else f"{vs['optimizer_ratio_median']:.2f}×"
        table.append(
            f"| {label} | {row['step_s_median']:.2f} s | {row['optimizer_s_median'] * 1000:.0f} ms "
            f"| {a * 1000:.0f}–{b * 1000:.0f} ms "
            f"| {versus} |"
        )
    table += ["", f"Measured {describe(record)}; raw output `{record['path']}`."]
    return sentence, "\n".join(table)


def ig_cost(record: dict[str, Any]) -> str:
    """The README's attribution sentence from a ``bench/attribution_speed.py`` raw output."""
    s = record["summary"]
    ig, aa = s["layer-ig-50"], s["reference-again"]
    a, b = ig["ratio_to_reference_range"]
    c, d = aa["ratio_to_reference_range"]
    repeats = record["settings"]["repeats"]
    return (
        f"**Attribution**: Layer Integrated Gradients with 50 steps on a 64-token text costs "
        f"{ig['ratio_to_reference_median']:.2f}× ({a:.2f}–{b:.2f}) the time of 50 batched "
        f"forward+backward passes of minilm-l6 ({ig['seconds_median']:.2f} s against "
        f"{s['reference']['seconds_median']:.2f} s, medians of {repeats} interleaved repeats; "
        f"the reference timed twice, the A/A pair, {aa['ratio_to_reference_median']:.2f}× "
        f"({c:.2f}–{d:.2f})). `bench/attribution_speed.py`, {describe(record)}; raw output "
        f"`{record['path']}`."
    )


def sweep_table(record: dict[str, Any]) -> str:
    """The README's sweep table from a ``bench/sweep.py`` raw output (its own renderer)."""
    from sweep import table

    return f"{table(record)} Raw output `{record['path']}`."


def image_table(record: dict[str, Any]) -> str:
    """The README's image quality bar from a ``bench/image_baseline.py`` raw output."""
    arms, settings = record["arms"], record["settings"]
    names = {
        "finetuned": "EfficientNet-Lite0, ImageNet weights, full fine-tune",
        "random_init": "the same model from random weights, same budget",
        "logistic_regression": "logistic regression on the raw pixels",
    }
    rows = [
        f"| {names.get(arm, arm)} | {r['test_accuracy']:.3f} | {r['test_macro_f1']:.3f} | "
        f"{r['seconds']:.0f} |"
        for arm, r in arms.items()
    ]
    lr = arms.get("logistic_regression", {})
    return "\n".join(
        [
            f"On one Fashion-MNIST split ({lr.get('train_images', settings['train']):,} "
            f"training, {lr.get('test_images', settings['eval']):,} test images, seed "
            f"{settings['seed']}), {settings['epochs']:g} epoch at {settings['image_size']} px, "
            f"batch-norm momentum {settings.get('bn_momentum', 0.1):g}:",
            "",
            "| model | test accuracy | test macro-F1 | seconds |",
            "|---|--:|--:|--:|",
            *rows,
            "",
            f"`make bench-image`, {describe(record)}; raw output `{record['path']}`.",
        ]
    )


def onnx_latency(record: dict[str, Any]) -> str:
    """The README's latency table from a ``bench/onnx_latency.py`` raw output."""
    settings = record["settings"]

    def ratio(r: dict[str, float]) -> str:
        return f"{r['median']:.2f}× ({r['min']:.2f}–{r['max']:.2f})"

    def spread(values: list[float]) -> str:
        return f"{min(values):.2f}–{max(values):.2f}×"

    aa = [r["ratio_pytorch_again"] for r in record["results"].values()]
    aa_medians = [a["median"] for a in aa]
    aa_repeats = [a["min"] for a in aa] + [a["max"] for a in aa]

    rows: list[str] = []
    batch: dict[str, list[float]] = {}
    for r in record["results"].values():
        batch.setdefault("one" if r["batch"] == 1 else "many", []).append(
            r["ratio_onnxruntime"]["median"]
        )
        ms = {k: 1000 * statistics.median(v) for k, v in r["seconds"].items()}
        rows.append(
            f"| {r['threads']} | {r['batch']} × {settings['sequence_tokens']} "
            f"| {ms['pytorch']:.1f} | {ms['onnxruntime']:.1f} | {ratio(r['ratio_onnxruntime'])} "
            f"| {ratio(r['ratio_pytorch_again'])} |"
        )
    return "\n".join(
        [
            "| threads | batch × tokens | PyTorch eager (ms) | ONNX Runtime (ms) "
            "| ORT / PyTorch | A/A: PyTorch again / PyTorch |",
            "|--:|--:|--:|--:|--:|--:|",
            *rows,
            "",
            f"One text at a time ONNX Runtime takes {spread(batch['one'])} of PyTorch's time; "
            f"at batch 32, {spread(batch['many'])}. The A/A pair (PyTorch timed twice) has "
            f"medians {spread(aa_medians)} and single repeats {spread(aa_repeats)}: a ratio "
            "inside that is no measured difference. Largest logit difference between the "
            f"two: {max(r['max_abs_logit_diff'] for r in record['results'].values()):.0e}.",
            "",
            f"{settings['model']}; medians of {settings['repeats']} interleaved repeats after "
            f"{settings['warmup']} warm-ups, lowest–highest repeat in brackets; "
            f"`bench/onnx_latency.py`, {describe(record)}; raw output `{record['path']}`.",
        ]
    )


def replace_block(path: Path, name: str, text: str) -> None:
    body = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(\n<!-- {name}:end -->)", re.S)
    if not pattern.search(body):
        raise SystemExit(f"{path.name}: no <!-- {name}:start --> … <!-- {name}:end --> block")
    path.write_text(pattern.sub(lambda m: m.group(1) + text + m.group(2), body), "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=None, help="a bench/run.py raw output")
    parser.add_argument("--adamw", type=Path, default=None)
    parser.add_argument("--ig", type=Path, default=None)
    parser.add_argument("--sweep", type=Path, default=None, help="a bench/sweep.py raw output")
    parser.add_argument("--image", type=Path, default=None, help="a bench/image_baseline.py output")
    parser.add_argument("--onnx", type=Path, default=None, help="a bench/onnx_latency.py output")
    parser.add_argument("--write", action="store_true", help="replace the blocks in place")
    args = parser.parse_args()
    bench = load(args.bench or newest("bench-2*.json"))
    sentence, table = adamw(load(args.adamw or newest("adamw-*.json")))
    ig = ig_cost(load(args.ig or newest("attribution_speed-*.json")))
    searched = load(args.sweep or newest("sweep-2*.json"))
    images = load(args.image or newest("image-2*.json"))
    latency = load(args.onnx or newest("onnx-latency-2*.json"))
    blocks = [
        (README, "bench-table", bench_table(bench)),
        (README, "adamw", f"With fused AdamW {sentence}."),
        (FINDINGS, "adamw-table", table),
        (README, "ig-cost", ig),
        (README, "sweep-table", sweep_table(searched)),
        (README, "image-table", image_table(images)),
        (README, "onnx-latency", onnx_latency(latency)),
        (ONNX_DOC, "onnx-latency", onnx_latency(latency)),
    ]
    for path, name, text in blocks:
        print(f"--- {path.name}: {name}\n{text}\n")
        if args.write:
            replace_block(path, name, text)


if __name__ == "__main__":
    main()
