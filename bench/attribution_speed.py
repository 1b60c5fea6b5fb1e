"""How long does one explanation take, against the cost of the passes it cannot avoid?

``python bench/attribution_speed.py [--threads N] [--repeats R] [--model DIR]`` loads the
packaged minilm-l6 as a 3-class classifier (fresh, seeded head; or the classifier in DIR, e.g.
a run's ``model/``), builds a 64-token text, and times:

* ``reference``: 50 copies of the text as one batch, forward + backward to the embeddings —
  the work integrated gradients with 50 steps has to do at least;
* ``layer-ig`` with exactly 50 steps (no adaptation, no trust measures);
* ``layer-ig`` as ``explain`` runs it by default (adaptive steps), with and without trust.

Prints one line per measurement (best of ``--repeats``) and the ratio to the reference.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import torch


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from workbench.attribution import Options, explain
    from workbench.models import packaged_model_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", help="A classifier folder (default: minilm-l6, fresh head).")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    folder = args.model or packaged_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3).eval()
    sentence = "the service was slow but the food was really wonderful and we will come back"
    text = " ".join([sentence] * 8)
    ids = tokenizer(text, truncation=True, max_length=64, return_tensors="pt")
    text = tokenizer.decode(ids["input_ids"][0, 1:-1])  # exactly 64 tokens with [CLS]/[SEP]
    assert len(tokenizer(text)["input_ids"]) == 64

    def reference() -> None:
        batch = {k: v.expand(50, -1) for k, v in ids.items()}
        embeds = model.get_input_embeddings()(batch["input_ids"]).detach().requires_grad_()
        logits = model(inputs_embeds=embeds, attention_mask=batch["attention_mask"]).logits
        torch.autograd.grad(logits[:, 0].sum(), embeds)

    fixed = Options(n_steps=50, adaptive=False)
    rows = [
        ("reference: 50-row forward+backward", lambda: reference()),
        (
            "layer-ig, 50 steps, no trust",
            lambda: explain(model, tokenizer, text, trust=False, options=fixed),
        ),
        ("layer-ig, adaptive, no trust", lambda: explain(model, tokenizer, text, trust=False)),
        ("layer-ig, adaptive, with trust", lambda: explain(model, tokenizer, text)),
    ]
    explain(model, tokenizer, "warm up", trust=False)  # imports captum, first-call costs
    base = None
    print(f"minilm-l6, 64 tokens, {args.threads} thread(s), best of {args.repeats}")
    for name, fn in rows:
        seconds, result = best_of(args.repeats, fn)
        base = base or seconds
        steps = f"  n_steps={result.n_steps} delta={result.delta:+.2e}" if result else ""
        print(f"{name:<36} {seconds:7.2f} s  x{seconds / base:4.2f}{steps}")


if __name__ == "__main__":
    main()
