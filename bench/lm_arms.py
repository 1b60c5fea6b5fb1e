"""The causal-LM arms: instruction tuning with LoRA, the Hugging Face Trainer against the engine.

``python bench/run.py --workload smollm2`` (``make bench-lm``) runs them. Both arms train
the same model with the same LoRA adapter (the engine's ``lora`` method applied to the
freshly loaded model: same rank, alpha, dropout and target modules), on the same token ids
and labels (the engine's ``encode_pairs``: chat template, prompt tokens labelled -100, so
the loss is taken on the response tokens only), with the same optimizer settings and
number of steps as the classification arms (see ``arms.py``).

* **A-lm** — ``transformers.Trainer``: ``DataCollatorForSeq2Seq`` (dynamic padding, labels
  padded with -100), length-grouped sampling; the model computes its own loss (logits at
  every position, upcast to fp32, shifted cross-entropy).
* **B-lm** — ``workbench.train`` with ``task="causal-lm"``, ``method="lora"``, its default
  batching (length-grouped, no packing): logits only where a response token is predicted.
* **B-lm-packed** — the same with ``packing=True``: short examples share rows of
  ``max_length`` tokens, positions restarting per example.
* **B-lm-full-logits** (what-if) — B-lm with the forward pass the engine had before: logits
  at every position, as the Trainer computes them.
"""

from __future__ import annotations

import tempfile
from typing import Any

from arm_kit import (
    arm,
    autocast_precision,
    describe_adamw,
    record_engine_run,
    step_stamps,
    trainer_arguments,
)
from recording import RecordingCollator, StepRecorder
from settings import BenchSettings


def engine_config(s: BenchSettings, grouped: bool = True, packing: bool = False) -> Any:
    """The engine's configuration for this workload (also where A-lm takes its LoRA from)."""
    import workbench

    return workbench.TrainConfig().replace(
        task=s.task,
        model=s.model,
        method=s.method,
        dataset=s.dataset,
        max_train_samples=s.train_samples,
        max_eval_samples=s.eval_samples,
        lr=s.lr,
        epochs=s.epochs,
        batch_size=s.batch_size,
        max_length=s.max_length,
        packing=packing,
        seed=s.seed,
        warmup_fraction=s.warmup_fraction,
        scheduler="linear",
        weight_decay=s.weight_decay,
        max_grad_norm=s.max_grad_norm,
        batching="length-grouped" if grouped else "random",
        device=s.device,
        precision="auto",
        compile=s.compile,
        save_checkpoints=False,
    )


@arm("A-lm", "HF Trainer, causal LM + LoRA, length-grouped", "length-grouped")
def hf_trainer_lm(s: BenchSettings, rec: StepRecorder, grouped: bool) -> None:
    """``transformers.Trainer`` on the engine's token ids and labels, with the engine's LoRA."""
    import datasets
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        Trainer,
    )

    from workbench.methods import get_method
    from workbench.tasks import get_task
    from workbench.tasks.causal_lm.batching import IGNORE, encode_pairs

    cfg = engine_config(s, grouped)
    data = get_task(s.task).prepare_data(cfg)
    tokenizer = AutoTokenizer.from_pretrained(s.model)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    enc = encode_pairs(tokenizer, data.train, s.max_length)
    train_set = datasets.Dataset.from_dict({"input_ids": enc.input_ids, "labels": enc.labels})
    torch.manual_seed(s.seed)
    model = AutoModelForCausalLM.from_pretrained(s.model, dtype=torch.float32)
    model = get_method(s.method).apply(model, cfg.model)
    with tempfile.TemporaryDirectory() as out:
        args = trainer_arguments(s, out, grouped)
        collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=IGNORE)
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=train_set,
            data_collator=RecordingCollator(collator, rec),
            processing_class=tokenizer,
            callbacks=[step_stamps(s, rec)],
        )
        metrics = trainer.train().metrics
    rec.reported_samples_per_s = metrics.get("train_samples_per_second")
    rec.notes["optimizer"] = describe_adamw(trainer.optimizer)
    rec.measure_flops(model, s.device, autocast_precision(s))


@arm("B-lm", "Workbench engine, causal LM + LoRA, length-grouped", "length-grouped")
@arm(
    "B-lm-packed",
    "Workbench engine, causal LM + LoRA, packed rows",
    "packed, length-grouped",
    grouped=True,
    packing=True,
)
@arm(
    "B-lm-full-logits",
    "Workbench engine, causal LM + LoRA, logits at every position (what-if)",
    "length-grouped",
    full_logits=True,
)
def engine_lm(
    s: BenchSettings,
    rec: StepRecorder,
    grouped: bool,
    packing: bool = False,
    full_logits: bool = False,
) -> None:
    """``workbench.train(cfg, block=True)`` on the causal-LM task, headless."""
    import workbench
    from workbench.tasks.causal_lm import task as causal_lm
    from workbench.training.session import EngineParts

    parts = EngineParts(collator=lambda collate: RecordingCollator(collate, rec))
    if full_logits:  # the model is never told which logits to keep: it computes all of them
        causal_lm.keeps_logits = lambda model: False
    cfg = engine_config(s, grouped, packing)
    if packing:  # fewer rows than examples: plan the epochs that give exactly s.steps steps
        cfg = cfg.replace(epochs=s.epochs_over(packed_rows(s, cfg)))
    with tempfile.TemporaryDirectory() as runs:
        cfg = cfg.replace(runs_dir=runs)
        handle = workbench.train(cfg, block=True, parts=parts)
    record_engine_run(handle, s, rec)


def packed_rows(s: BenchSettings, cfg: Any) -> int:
    """How many packed training rows the engine will form for ``cfg`` (same data, same
    tokenizer, same packing), counted before it trains."""
    from transformers import AutoTokenizer

    from workbench.tasks import get_task
    from workbench.tasks.causal_lm.batching import encode_pairs, pack

    data = get_task(s.task).prepare_data(cfg)
    tokenizer = AutoTokenizer.from_pretrained(s.model)
    return len(pack(encode_pairs(tokenizer, data.train, s.max_length), s.max_length))
