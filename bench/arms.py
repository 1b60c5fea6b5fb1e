"""The arms of the throughput benchmark, one function each, and the one-arm-run entry point.

``python bench/arms.py ARM --settings JSON --launched-at T`` trains one arm in a fresh
process (so peak RSS is that arm's alone) and prints one line ``BENCH_RESULT {json}``.

An arm is a function ``(settings, recorder, **options) -> None`` registered with
:func:`arm`; stacking the decorator registers variants of one function under several
names. It must feed the recorder every collated batch (wrap its collator in
:class:`~recording.RecordingCollator`), and each optimizer step's end time and loss. To add
an arm (say, the engine with the live widget attached), write one more decorated function.

Every arm trains the same model (seeded head), on the same cleaned training texts
(``workbench.data.prepare_data``), with AdamW (weight decay on weights, not on biases or
LayerNorm), linear warmup and decay, gradient clipping, for exactly ``settings.steps``
optimizer steps, on ``settings.device``: fp32 on CPU; on CUDA bf16 autocast (fp16 on a GPU
without bf16), fused AdamW and SDPA attention in every arm, ``torch.compile`` in every arm
when ``settings.compile``. Nothing evaluates or saves during those steps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import lm_arms  # noqa: F401 - registers the causal-LM arms (A-lm, B-lm, ...)
from arm_kit import (
    ARMS,
    OFFLINE_ENV,
    arm,
    autocast_precision,
    describe_adamw,
    record_engine_run,
    step_stamps,
    trainer_arguments,
)
from recording import RecordingCollator, StepRecorder
from settings import BenchSettings

__all__ = ["ARMS", "OFFLINE_ENV", "run_arm"]


# -- shared preparation -------------------------------------------------------------------------
def prepare(s: BenchSettings) -> Any:
    """Cleaned, split data exactly as the engine prepares it (same texts in every arm)."""
    from workbench.config import DataConfig
    from workbench.data import prepare_data

    cfg = DataConfig(
        dataset=s.dataset, max_train_samples=s.train_samples, max_eval_samples=s.eval_samples
    )
    return prepare_data(cfg, s.seed)


def load_model(s: BenchSettings, labels: list[str]) -> Any:
    """The classifier with a fresh head, seeded as the engine seeds it before loading."""
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(s.seed)
    return AutoModelForSequenceClassification.from_pretrained(
        s.model,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )


# -- A: the Hugging Face Trainer ----------------------------------------------------------------
@arm("A", "HF Trainer, length-grouped", "length-grouped")
@arm("A-random", "HF Trainer, random batches", "random")
@arm("A-foreach", "HF Trainer, random, foreach AdamW (what-if)", "random", optim="adamw_torch")
def hf_trainer(
    s: BenchSettings, rec: StepRecorder, grouped: bool, optim: str | None = None
) -> None:
    """``transformers.Trainer`` tuned: dynamic padding, optional length-grouped sampling.

    ``optim`` overrides the Trainer's default optimizer (``adamw_torch_fused`` on torch ≥ 2.8).
    """
    import datasets
    from transformers import (
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
    )

    data = prepare(s)
    tokenizer = AutoTokenizer.from_pretrained(s.model)
    enc = tokenizer(data.train.texts, truncation=True, max_length=s.max_length)
    train_set = datasets.Dataset.from_dict(
        {
            "input_ids": enc["input_ids"],
            "attention_mask": enc["attention_mask"],
            "labels": data.train.labels,
        }
    )
    model = load_model(s, data.labels)
    with tempfile.TemporaryDirectory() as out:
        args = trainer_arguments(s, out, grouped, **({"optim": optim} if optim else {}))
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=train_set,
            data_collator=RecordingCollator(DataCollatorWithPadding(tokenizer), rec),
            processing_class=tokenizer,
            callbacks=[step_stamps(s, rec)],
        )
        metrics = trainer.train().metrics
    rec.reported_samples_per_s = metrics.get("train_samples_per_second")
    rec.notes["optimizer"] = describe_adamw(trainer.optimizer)
    rec.measure_flops(model, s.device, autocast_precision(s))


# -- B: the workbench engine ---------------------------------------------------------------------
@arm("B", "Workbench engine, length-grouped", "length-grouped")
@arm("B-again", "Workbench engine, length-grouped: B again (A/A)", "length-grouped")
@arm("B-random", "Workbench engine, random batches", "random")
@arm("C", "Workbench engine + live widget, length-grouped", "length-grouped", widget=True)
@arm("B-fused", "Workbench engine, random, fused AdamW (what-if)", "random", adamw="fused")
@arm("B-loop", "Workbench engine, random, for-loop AdamW (what-if)", "random", adamw="loop")
def workbench_engine(
    s: BenchSettings,
    rec: StepRecorder,
    grouped: bool,
    adamw: str | None = None,
    widget: bool = False,
) -> None:
    """``workbench.train(cfg, block=True)``, headless; step times and losses from its events.

    ``widget``: train through the notebook's ``TrainPanel`` instead (arm C): Train clicked,
    the run in its worker thread, the panel's throttled pump drawing the live curve — the
    code of ``bench/widget_overhead.py``. ``adamw`` swaps in a fused (``"fused"``) or
    single-tensor for-loop (``"loop"``) AdamW, same groups and rate, to measure that engine
    choice without editing the engine.
    """
    import workbench
    from workbench.training.session import EngineParts

    # Record the batches the engine forms; optionally another AdamW over the same groups.
    parts = EngineParts(
        collator=lambda collate: RecordingCollator(collate, rec),
        optimizer=_adamw_variant(adamw == "fused") if adamw is not None else None,
    )
    with tempfile.TemporaryDirectory() as runs:
        cfg = workbench.TrainConfig().replace(
            model=s.model,
            dataset=s.dataset,
            max_train_samples=s.train_samples,
            max_eval_samples=s.eval_samples,
            lr=s.lr,
            epochs=s.epochs,
            batch_size=s.batch_size,
            max_length=s.max_length,
            seed=s.seed,
            warmup_fraction=s.warmup_fraction,
            scheduler="linear",
            weight_decay=s.weight_decay,
            max_grad_norm=s.max_grad_norm,
            batching="length-grouped" if grouped else "random",
            device=s.device,
            precision="auto",  # fp32 on CPU, bf16 autocast on a CUDA GPU with bf16
            compile=s.compile,
            save_checkpoints=False,
            runs_dir=runs,
        )
        if widget:
            from widget_overhead import train_in_panel

            handle, panel, _ = train_in_panel(cfg, parts)
            rec.notes["frames"] = panel.curves.curve_points()
        else:
            handle = workbench.train(cfg, block=True, parts=parts)
    record_engine_run(handle, s, rec)


def _adamw_variant(fused: bool) -> Callable[..., Any]:
    """An ``EngineParts.optimizer``: a fused (or for-loop) AdamW over the groups and rate of
    the optimizer the engine built."""
    import torch

    def build_variant(optimizer: Any, cfg: Any) -> Any:
        groups = [
            {"params": g["params"], "weight_decay": g["weight_decay"]}
            for g in optimizer.param_groups
        ]
        kind = {"fused": True} if fused else {"foreach": False}
        return torch.optim.AdamW(groups, lr=cfg.optim.lr, **kind)  # type: ignore[arg-type]

    return build_variant


# -- D: a bare PyTorch loop, the floor ---------------------------------------------------------
@arm("D", "Bare PyTorch loop, length-grouped", "length-grouped")
def bare_pytorch(s: BenchSettings, rec: StepRecorder, grouped: bool) -> None:
    """The least a training loop can do: the same batches as arm B, nothing else.

    Uses the engine's sampler (so its batches are B's, step for step) and the engine's
    schedule function; everything else is plain PyTorch. With the same seed its losses
    should match B's, which checks the engine's numerics as well as its speed.
    """
    import torch
    import torch.nn.functional as F
    from transformers import AutoTokenizer

    from workbench.data.samplers import GroupedBatchSampler
    from workbench.training.session import fused_adamw, lr_lambda

    data = prepare(s)
    tokenizer = AutoTokenizer.from_pretrained(s.model)
    ids = tokenizer(data.train.texts, truncation=True, max_length=s.max_length)["input_ids"]
    labels = data.train.labels
    model = load_model(s, data.labels)
    # The engine re-seeds after loading its model; doing the same gives D the engine's
    # dropout masks, so its losses can be compared with B's step for step.
    torch.manual_seed(s.seed)
    device = torch.device(s.device)
    model.to(device)
    precision = autocast_precision(s)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    scaler = torch.amp.GradScaler("cuda", enabled=precision == "fp16")
    sampler = GroupedBatchSampler([len(x) for x in ids], s.batch_size, s.seed, grouped)
    batches: list[list[int]] = []
    while len(batches) < s.steps:  # epoch after epoch, as the engine's loader goes on
        sampler.set_epoch(len(batches) // len(sampler))
        batches += sampler.batches()
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "LayerNorm" not in n]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2 or "LayerNorm" in n]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": s.weight_decay},
            {"params": no_decay, "weight_decay": 0},
        ],
        lr=s.lr,
        fused=fused_adamw(device),  # the engine's choice of implementation
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda("linear", s.warmup_steps, s.steps))
    pad_id = tokenizer.pad_token_id or 0
    forward = torch.compile(model, dynamic=True) if s.compile else model
    model.train()
    for rows in batches[: s.steps]:
        width = max(len(ids[i]) for i in rows)
        input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)  # (batch, tokens)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            input_ids[r, : len(ids[i])] = torch.tensor(ids[i])
            mask[r, : len(ids[i])] = 1
        rec.batch(input_ids, mask)
        target = torch.tensor([labels[i] for i in rows])
        input_ids, mask, target = input_ids.to(device), mask.to(device), target.to(device)
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            logits = forward(input_ids=input_ids, attention_mask=mask).logits
        loss = F.cross_entropy(logits.float(), target)
        scaler.scale(loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(params, s.max_grad_norm)
        scaler.step(opt)
        scaler.update()
        sched.step()
        opt.zero_grad(set_to_none=True)
        rec.loss(loss.item())
        rec.step_end()
    rec.notes["optimizer"] = describe_adamw(opt)
    rec.measure_flops(model, s.device, precision)


# -- one arm-run per process -----------------------------------------------------------------------
def run_arm(name: str, s: BenchSettings, launched_at: float) -> dict[str, Any]:
    """Train arm ``name`` once in this process and return its measurements."""
    import torch

    rec = StepRecorder(launched_at=launched_at)
    entry = ARMS[name]
    entry.run(s, rec, **entry.options)
    result = rec.result(s.steps, s.last_losses, s.timed_from)
    result.update(arm=name, torch_threads=torch.get_num_threads(), wall_s=time.time() - launched_at)
    return result


def warm_up(s: BenchSettings) -> None:
    """Import what the arms import and read the model and data files once, untimed, so
    the first timed arm-run of a benchmark starts from the page cache the later ones see."""
    import datasets  # noqa: F401 - imported for its side effect on the page cache
    import transformers
    from transformers import AutoTokenizer, Trainer  # noqa: F401 - same

    import workbench  # noqa: F401 - same
    from workbench.training import session  # noqa: F401 - same

    if s.task != "causal-lm":
        import widgets  # noqa: F401 - arm C trains through the notebook panel

        data = prepare(s)
        load_model(s, data.labels)
    else:
        transformers.AutoModelForCausalLM.from_pretrained(s.model)
    AutoTokenizer.from_pretrained(s.model)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arm", nargs="?", choices=sorted(ARMS))
    parser.add_argument("--settings", required=True, help="BenchSettings as JSON")
    parser.add_argument("--launched-at", type=float, default=None, help="time.time() at launch")
    parser.add_argument("--warm-up", action="store_true", help="import and read files only")
    args = parser.parse_args(argv)
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    if args.warm_up:
        warm_up(BenchSettings.from_json(args.settings))
        return
    if args.arm is None:
        parser.error("an arm is required (or --warm-up)")
    launched = args.launched_at if args.launched_at is not None else time.time()
    result = run_arm(args.arm, BenchSettings.from_json(args.settings), launched)
    sys.stdout.write("BENCH_RESULT " + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
