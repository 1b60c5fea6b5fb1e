"""How long does one explanation take, against the cost of the passes it cannot avoid?

    python bench/attribution_speed.py [--repeats 7] [--trust] [--model DIR] [--out FILE]

Loads the packaged minilm-l6 as a 3-class classifier (fresh, seeded head; or the classifier
in DIR, e.g. a run's ``model/``), builds a 64-token text, and times:

* ``reference``: 50 copies of the text as one batch, forward + backward to the embeddings —
  the work integrated gradients with 50 steps has to do at least;
* ``reference-again``: the same, timed separately — an A/A pair with ``reference`` whose
  ratio shows how far identical work drifts apart under this harness;
* ``layer-ig-50``: ``explain`` with layer integrated gradients and exactly 50 steps (no
  adaptation, no trust measures);
* ``layer-ig-adaptive``: as ``explain`` runs it by default (adaptive steps), no trust;
* ``layer-ig-trust`` (with ``--trust``): the default with its trust measures.

Every repeat runs each measurement once, in an order rotated from repeat to repeat, after
one untimed warm-up of each. Ratios are taken within a repeat (the same moment's load) and
summarized by their median and range. Writes every raw timing with date, machine, load
average before and after and git revision (``bench/provenance.py``) to
``bench/results/attribution_speed-<date>.json``; ``bench/readme_numbers.py`` turns it into
the README's sentence.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from provenance import ROOT, finish, header


def rows(model: Any, tokenizer: Any, text: str, ids: Any, trust: bool) -> dict[str, Any]:
    """``{name: () -> result}``: the measurements, each a closure over the same inputs."""
    from workbench.attribution import Options, explain

    def reference() -> None:
        batch = {k: v.expand(50, -1) for k, v in ids.items()}  # (50, 64)
        embeds = model.get_input_embeddings()(batch["input_ids"]).detach().requires_grad_()
        logits = model(inputs_embeds=embeds, attention_mask=batch["attention_mask"]).logits
        torch.autograd.grad(logits[:, 0].sum(), embeds)

    fixed = Options(n_steps=50, adaptive=False)
    out: dict[str, Callable[[], Any]] = {
        "reference": reference,
        "reference-again": reference,
        "layer-ig-50": lambda: explain(model, tokenizer, text, trust=False, options=fixed),
        "layer-ig-adaptive": lambda: explain(model, tokenizer, text, trust=False),
    }
    if trust:
        out["layer-ig-trust"] = lambda: explain(model, tokenizer, text)
    return out


def measure(fns: dict[str, Callable[[], Any]], repeats: int) -> list[dict[str, Any]]:
    names = list(fns)
    for fn in fns.values():
        fn()  # warm-up: imports captum, first-call allocations
    records = []
    for k in range(repeats):
        shift = k % len(names)
        for position, name in enumerate(names[shift:] + names[:shift]):
            start = time.perf_counter()
            result = fns[name]()
            seconds = time.perf_counter() - start
            record = {"repeat": k, "name": name, "position": position, "seconds": seconds}
            if result is not None:
                record.update(n_steps=result.n_steps, delta=result.delta)
            records.append(record)
        print(f"repeat {k + 1}/{repeats} done", flush=True)
    return records


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Median seconds per measurement; per-repeat ratios to ``reference``: median and range."""
    by = {(r["repeat"], r["name"]): r["seconds"] for r in records}
    repeats = sorted({r["repeat"] for r in records})
    out = {}
    for name in dict.fromkeys(r["name"] for r in records):
        ratios = [by[(k, name)] / by[(k, "reference")] for k in repeats]
        out[name] = {
            "seconds_median": statistics.median(by[(k, name)] for k in repeats),
            "seconds_min": min(by[(k, name)] for k in repeats),
            "ratio_to_reference_median": statistics.median(ratios),
            "ratio_to_reference_range": [min(ratios), max(ratios)],
        }
    return out


def main() -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from workbench.models import packaged_model_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--trust", action="store_true", help="also time explain with trust")
    parser.add_argument("--model", help="A classifier folder (default: minilm-l6, fresh head).")
    today = dt.date.today().isoformat()
    default_out = ROOT / f"bench/results/attribution_speed-{today}.json"
    parser.add_argument("--out", type=Path, default=default_out)
    args = parser.parse_args()
    started = header(["bench/attribution_speed.py"])

    folder = args.model or packaged_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3).eval()
    sentence = "the service was slow but the food was really wonderful and we will come back"
    ids = tokenizer(" ".join([sentence] * 8), truncation=True, max_length=64, return_tensors="pt")
    text = tokenizer.decode(ids["input_ids"][0, 1:-1])  # exactly 64 tokens with [CLS]/[SEP]
    assert len(tokenizer(text)["input_ids"]) == 64

    records = measure(rows(model, tokenizer, text, ids, args.trust), args.repeats)
    summary = summarize(records)
    record = {
        **started,
        **finish(started),
        "settings": {
            "model": args.model or "packaged minilm-l6 (3-class head, seed 0)",
            "tokens": 64,
            "repeats": args.repeats,
            "torch_threads": torch.get_num_threads(),
        },
        "summary": summary,
        "runs": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(f"minilm-l6, 64 tokens, {torch.get_num_threads()} thread(s), {args.repeats} repeats")
    for name, row in summary.items():
        lo, hi = row["ratio_to_reference_range"]
        print(
            f"{name:<18} {row['seconds_median']:6.3f} s (median)  "
            f"x{row['ratio_to_reference_median']:.2f} of reference ({lo:.2f}-{hi:.2f})"
        )
    print(f"load average {record['load_average_before']} -> {record['load_average_after']}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
