"""Which AdamW implementation makes a CPU training step fastest? Interleaved, in one process.

    python bench/adamw_check.py [--pairs 8] [--batch-size 32]

Trains MiniLM-L6 on length-grouped tweet batches and alternates, step by step, between
AdamW implementations over the same parameters (the single-tensor for-loop that torch
picks on CPU, ``foreach``, and ``fused``), timing the optimizer step and the whole step
(forward, backward, clipping, optimizer). Alternating at step granularity inside one
process keeps the comparison fair on a machine shared with other jobs, where separate
arm-runs minutes apart see different load. Prints medians per implementation.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F


def main() -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from workbench.models import packaged_model_dir
    from workbench.training.batching import GroupedBatchSampler, PadCollator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8, help="steps per implementation")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    folder = packaged_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=3).train()
    words = ("the", "flight", "was", "late", "again", "but", "crew", "kind", "seat", "fine")
    rng = torch.Generator().manual_seed(0)  # synthetic tweets of 5..40 words: no data prep
    texts = [
        " ".join(words[int(i) % len(words)] for i in torch.randint(0, 99, (int(n),), generator=rng))
        for n in torch.randint(5, 40, (args.batch_size * 20,), generator=rng)
    ]
    ids = tokenizer(texts, truncation=True, max_length=128)["input_ids"]
    collate = PadCollator(tokenizer.pad_token_id or 0)
    batches = GroupedBatchSampler([len(x) for x in ids], args.batch_size, 42).batches()
    params = [p for p in model.parameters() if p.requires_grad]
    kinds = {"for-loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
    optimizers = {k: torch.optim.AdamW(params, lr=1e-5, **kw) for k, kw in kinds.items()}
    step_s: dict[str, list[float]] = {k: [] for k in kinds}
    opt_s: dict[str, list[float]] = {k: [] for k in kinds}
    for i in range(args.pairs + 1):  # round 0 allocates optimizer state: not timed
        for kind, opt in optimizers.items():
            batch = collate([{"input_ids": ids[j], "labels": 0} for j in batches[i % len(batches)]])
            start = time.perf_counter()
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
            F.cross_entropy(logits.logits, batch["labels"]).backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            before_opt = time.perf_counter()
            opt.step()
            opt.zero_grad(set_to_none=True)
            end = time.perf_counter()
            if i:
                step_s[kind].append(end - start)
                opt_s[kind].append(end - before_opt)
    print(f"{args.pairs} interleaved steps each, batch {args.batch_size}, MiniLM-L6, CPU")
    base = statistics.median(step_s["for-loop"])
    for kind in kinds:
        step, opt = statistics.median(step_s[kind]), statistics.median(opt_s[kind])
        print(
            f"{kind:>9}: step {step * 1000:7.0f} ms ({base / step:.2f}x the for-loop's speed), "
            f"optimizer {opt * 1000:6.0f} ms"
        )


if __name__ == "__main__":
    main()
