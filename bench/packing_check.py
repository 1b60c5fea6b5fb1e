"""Can padding-free packing speed up BERT fine-tuning on the CPU? A measurement, not a test.

    python bench/packing_check.py [--batches 6] [--batch-size 32]

Takes length-grouped batches of the cleaned tweets (the engine's default batching), and for
each one times forward + backward of MiniLM-L6 three ways:

* ``padded``: (batch, longest) with an attention mask — what the engine does;
* ``flattened``: all texts concatenated into one (1, total) row with restarting
  ``position_ids`` (``DataCollatorWithFlattening``'s format) and *no* block mask: what
  BERT sees when nothing tells its attention where one text ends;
* ``block-diagonal``: the same row with a 4-D boolean mask that lets each token attend
  only within its own text (correct, but SDPA still computes all ``total²`` scores).

It checks correctness by comparing each text's [CLS] vector with the padded run's, and
prints the padding waste of the batches, so the best case for packing is on the table.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import torch


def time_it(fn: Any, repeats: int = 3) -> float:
    best = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best.append(time.perf_counter() - start)
    return min(best)


def cls_vectors(model: Any, inputs: dict[str, torch.Tensor], starts: Any) -> torch.Tensor:
    """Forward + backward; the [CLS] vector of each text: row 0 of each padded row, or the
    first token of each text in the flattened row (``starts``)."""
    hidden = model(**inputs).last_hidden_state
    cls = hidden[:, 0] if starts is None else hidden[0, starts]
    cls.sum().backward()  # the backward pass a training step adds
    return cls.detach()


def main() -> None:
    from transformers import AutoModel, AutoTokenizer

    from workbench.config import DataConfig
    from workbench.data import prepare_data
    from workbench.data.samplers import GroupedBatchSampler
    from workbench.models import packaged_model_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    folder = packaged_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, attn_implementation="sdpa").eval()  # no dropout
    data = prepare_data(DataConfig(max_train_samples=4000), 42)
    ids = tokenizer(data.train.texts, truncation=True, max_length=128)["input_ids"]
    sampler = GroupedBatchSampler([len(x) for x in ids], args.batch_size, 42)
    rows: dict[str, list[float]] = {"padded": [], "flattened": [], "block-diagonal": []}
    errors: dict[str, list[float]] = {"flattened": [], "block-diagonal": []}
    real = padded_positions = 0
    for batch in sampler.batches()[: args.batches]:
        texts = [ids[i] for i in batch]
        width = max(map(len, texts))
        real += sum(map(len, texts))
        padded_positions += width * len(texts)
        pad = torch.zeros(len(texts), width, dtype=torch.long)  # (batch, tokens)
        mask = torch.zeros_like(pad)
        for r, t in enumerate(texts):
            pad[r, : len(t)], mask[r, : len(t)] = torch.tensor(t), 1
        flat = torch.tensor([[tok for t in texts for tok in t]])  # (1, total)
        positions = torch.tensor([[p for t in texts for p in range(len(t))]])
        doc = torch.tensor([d for d, t in enumerate(texts) for _ in t])
        block = (doc[:, None] == doc[None, :])[None, None]  # (1, 1, total, total)
        starts = torch.tensor([0, *torch.tensor([len(t) for t in texts]).cumsum(0)[:-1]])

        inputs = {
            "padded": {"input_ids": pad, "attention_mask": mask},
            "flattened": {"input_ids": flat, "position_ids": positions},
            "block-diagonal": {
                "input_ids": flat,
                "position_ids": positions,
                "attention_mask": block,
            },
        }
        reference = cls_vectors(model, inputs["padded"], None)
        for kind in rows:
            at = None if kind == "padded" else starts
            given = inputs[kind]
            rows[kind].append(time_it(lambda g=given, a=at: cls_vectors(model, g, a)))
            if kind != "padded":
                error = cls_vectors(model, inputs[kind], at) - reference
                errors[kind].append(float(error.abs().max()))
    waste = 1 - real / padded_positions
    print(f"{args.batches} length-grouped batches of {args.batch_size}: padding waste {waste:.1%}")
    base = statistics.median(rows["padded"])
    for kind, times in rows.items():
        err = errors.get(kind)
        check = f"max |CLS - padded CLS| {max(err):.1e}" if err else "reference"
        median = statistics.median(times)
        print(f"{kind:>15}: {median * 1000:7.1f} ms/batch  ({median / base:.2f}x)  {check}")


if __name__ == "__main__":
    main()
