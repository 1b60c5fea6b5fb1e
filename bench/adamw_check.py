"""Which AdamW implementation makes a CPU training step fastest? Interleaved, in one process.

    python bench/adamw_check.py [--rounds 10] [--batch-size 32] [--out FILE]

Trains MiniLM-L6 on length-grouped synthetic tweet batches and alternates, step by step,
between AdamW implementations over the same parameters: the single-tensor for-loop that
torch picks on CPU, ``foreach``, and ``fused`` — twice, as two separate optimizers
(``fused`` and ``fused-again``), an A/A pair whose ratio shows how far two identical
implementations drift apart under this harness. In each round every implementation takes
one step on the same batch, in an order rotated from round to round (so none always runs
first, right after the batch changes); round 0 allocates the optimizer states and is not
timed. For each step it times the optimizer (``opt.step()`` + ``zero_grad``) and the whole
step (forward, backward, clipping, optimizer). Alternating at step granularity inside one
process keeps the comparison fair on a shared machine, where separate runs minutes apart
see different load.

Writes every raw timing with date, machine, load average before and after, and git
revision (``bench/provenance.py``) to ``bench/results/adamw-<date>.json`` and prints the
medians; ``bench/readme_numbers.py`` turns the output into the README's and the docs'
sentences.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from provenance import ROOT, finish, header

KINDS: dict[str, dict[str, bool]] = {
    "for-loop": {"foreach": False},
    "foreach": {"foreach": True},
    "fused": {"fused": True},
    "fused-again": {"fused": True},  # A/A: the same implementation, a second optimizer
}


def batches(batch_size: int, rounds: int) -> tuple[Any, list[dict[str, Any]]]:
    """The packaged MiniLM-L6 (seeded 3-class head) and ``rounds`` padded batches."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from workbench.data.samplers import GroupedBatchSampler
    from workbench.models import packaged_model_dir
    from workbench.tasks.text_classification.batching import PadCollator

    folder = packaged_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3).train()
    words = ("the", "flight", "was", "late", "again", "but", "crew", "kind", "seat", "fine")
    rng = torch.Generator().manual_seed(0)  # synthetic tweets of 5..40 words: no data prep
    texts = [
        " ".join(words[int(i) % len(words)] for i in torch.randint(0, 99, (int(n),), generator=rng))
        for n in torch.randint(5, 40, (batch_size * 20,), generator=rng)
    ]
    ids = tokenizer(texts, truncation=True, max_length=128)["input_ids"]
    collate = PadCollator(tokenizer.pad_token_id or 0)
    order = GroupedBatchSampler([len(x) for x in ids], batch_size, 42).batches()
    made = [
        collate([{"input_ids": ids[j], "labels": 0} for j in order[i % len(order)]])
        for i in range(rounds + 1)
    ]
    return model, made


def measure(rounds: int, batch_size: int) -> list[dict[str, Any]]:
    """One record per timed step: round, implementation, position in the round, seconds."""
    model, made = batches(batch_size, rounds)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizers = {k: torch.optim.AdamW(params, lr=1e-5, **kw) for k, kw in KINDS.items()}
    names = list(KINDS)
    records = []
    for i, batch in enumerate(made):  # round 0 allocates optimizer state: not timed
        shift = i % len(names)
        for position, kind in enumerate(names[shift:] + names[:shift]):
            opt = optimizers[kind]
            start = time.perf_counter()
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            F.cross_entropy(logits.logits, batch["labels"]).backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            before_opt = time.perf_counter()
            opt.step()
            opt.zero_grad(set_to_none=True)
            end = time.perf_counter()
            if i:
                records.append(
                    {
                        "round": i,
                        "kind": kind,
                        "position": position,
                        "tokens": int(batch["attention_mask"].sum()),
                        "width": int(batch["input_ids"].shape[1]),
                        "step_s": end - start,
                        "optimizer_s": end - before_opt,
                    }
                )
        print(f"round {i}/{rounds} done", flush=True)
    return records


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians per implementation, and per-round ratios to the for-loop and to ``fused``."""
    out: dict[str, Any] = {}
    by = {(r["round"], r["kind"]): r for r in records}
    rounds = sorted({r["round"] for r in records})
    for kind in KINDS:
        mine = [r for r in records if r["kind"] == kind]
        out[kind] = {
            "step_s_median": statistics.median(r["step_s"] for r in mine),
            "optimizer_s_median": statistics.median(r["optimizer_s"] for r in mine),
            "optimizer_s_range": [
                min(r["optimizer_s"] for r in mine),
                max(r["optimizer_s"] for r in mine),
            ],
        }
    for name, num, den in (
        ("for-loop / fused", "for-loop", "fused"),
        ("foreach / fused", "foreach", "fused"),
        ("fused-again / fused (A/A)", "fused-again", "fused"),
    ):
        ratios = [by[(k, num)]["optimizer_s"] / by[(k, den)]["optimizer_s"] for k in rounds]
        steps = [by[(k, num)]["step_s"] / by[(k, den)]["step_s"] for k in rounds]
        out[name] = {
            "optimizer_ratio_median": statistics.median(ratios),
            "optimizer_ratio_range": [min(ratios), max(ratios)],
            "step_ratio_median": statistics.median(steps),
            "step_ratio_range": [min(steps), max(steps)],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="timed steps per implementation")
    parser.add_argument("--batch-size", type=int, default=32)
    today = dt.date.today().isoformat()
    parser.add_argument("--out", type=Path, default=ROOT / f"bench/results/adamw-{today}.json")
    args = parser.parse_args()
    started = header(["bench/adamw_check.py"])
    records = measure(args.rounds, args.batch_size)
    summary = summarize(records)
    record = {
        **started,
        **finish(started),
        "settings": {
            "model": "packaged minilm-l6 (3-class head, seed 0)",
            "batch_size": args.batch_size,
            "rounds": args.rounds,
            "torch_threads": torch.get_num_threads(),
        },
        "summary": summary,
        "steps": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(f"{args.rounds} interleaved steps each, batch {args.batch_size}, MiniLM-L6, CPU")
    for kind in KINDS:
        row = summary[kind]
        print(
            f"{kind:>12}: step {row['step_s_median'] * 1000:7.0f} ms, "
            f"optimizer {row['optimizer_s_median'] * 1000:6.0f} ms (median)"
        )
    for name in ("for-loop / fused", "foreach / fused", "fused-again / fused (A/A)"):
        row = summary[name]
        lo, hi = row["optimizer_ratio_range"]
        print(f"{name:>26}: optimizer {row['optimizer_ratio_median']:.2f}x ({lo:.2f}-{hi:.2f})")
    print(f"load average {record['load_average_before']} -> {record['load_average_after']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
