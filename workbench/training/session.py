"""Everything a run needs before its first step, built from a config.

``build_session`` prepares the data, loads and adapts the model, builds the optimizer,
the schedule and the data loaders, and hands them to Accelerate for device placement,
mixed precision, gradient accumulation and multi-process sharding.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader

from workbench.cache import cached, file_stamp, recording, source_stamp
from workbench.coach import Finding, preflight, raise_errors
from workbench.config import ConfigError, TrainConfig
from workbench.data.samplers import GroupedBatchSampler, SortedBatchSampler, padding_waste
from workbench.methods import count_parameters
from workbench.regularization import Regularizer, build_regularizers
from workbench.regularization.l2sp import anchored_parameters, attach_l2sp, l2sp_group
from workbench.schedules import lr_lambda
from workbench.tasks import Task, get_task
from workbench.training.faults import enable_gradient_checkpointing


@dataclass
class Progress:
    """Where the loop is; saved in every checkpoint so ``--resume`` continues exactly."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    samples: int = 0
    tokens: int = 0
    train_seconds: float = 0.0
    best_value: float | None = None
    best_step: int | None = None
    bad_evals: int = 0
    peak_lr: float = 0.0
    evaluated_step: int = -1  # the latest evaluation's step: a resumed run must not repeat it


@dataclass
class Session:
    """The prepared pieces of one run."""

    config: TrainConfig
    task: Task
    data: Any  # the task's prepared data: PreparedData, InstructData …
    accelerator: Any
    model: torch.nn.Module
    tokenizer: Any
    optimizer: Any
    scheduler: torch.optim.lr_scheduler.LambdaLR
    sampler: GroupedBatchSampler
    train_loader: Any
    val_loader: Any
    test_loader: Any
    encoded: dict[str, Any]  # the task's encoded splits, each with ``lengths``
    regularizers: list[Regularizer]
    steps_per_epoch: int
    total_steps: int
    trainable_parameters: int
    total_parameters: int
    progress: Progress = field(default_factory=Progress)


def make_accelerator(cfg: TrainConfig) -> Any:
    """An ``Accelerator`` for the device/precision/accumulation settings."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    device, precision = cfg.optim.device, cfg.optim.precision
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda was requested but no CUDA GPU is visible; use auto or cpu")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(
            "device mps was requested but Apple MPS is not available; use auto or cpu"
        )
    mixed = resolve_precision(device, precision)
    # One Accelerator per run: forget the precision a previous run in this process chose.
    AcceleratorState._reset_state(reset_partial_state=False)
    return Accelerator(
        cpu=device == "cpu",
        mixed_precision=mixed,
        gradient_accumulation_steps=cfg.optim.grad_accum,
        step_scheduler_with_optimizer=False,
    )


def resolve_precision(device: str, precision: str) -> str:
    """Accelerate's ``mixed_precision`` (``no``, ``bf16``, ``fp16``) for the two settings.

    ``auto`` picks bf16 autocast on a CUDA GPU with native bf16 (compute capability ≥ 8:
    same exponent range as fp32, so no loss scaling), fp16 autocast on older GPUs
    (Accelerate adds the gradient scaler), and fp32 on CPU and MPS: a CPU without bf16
    instructions runs bf16 matmuls slower than fp32. Autocast keeps fp32 master weights
    and optimizer state either way.
    """
    on_gpu = device in ("auto", "cuda") and torch.cuda.is_available()
    if precision == "auto":
        if not on_gpu:
            return "no"
        return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
    mixed = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}[precision]
    if mixed == "fp16" and not on_gpu:
        raise ConfigError("precision fp16 needs a CUDA GPU; use fp32 or bf16 on CPU")
    return mixed


def apply_attention(model: torch.nn.Module, attention: str) -> str:
    """Switch the model to the ``attention`` kernel (``auto`` keeps transformers' choice).

    Returns the implementation in use (``sdpa``, ``eager``, ...). SDPA dispatches to
    FlashAttention / memory-efficient kernels on CUDA and a fused kernel on CPU.
    """
    get_base = getattr(model, "get_base_model", None)  # peft wraps the transformers model
    base: Any = get_base() if callable(get_base) else model
    if attention != "auto":
        try:
            base.set_attn_implementation(attention)
        except (ValueError, ImportError, AttributeError) as err:
            raise ConfigError(
                f"attention {attention} is not available for {type(base).__name__} ({err}); "
                "use auto or eager"
            ) from None
    config = getattr(base, "config", None)
    return str(getattr(config, "_attn_implementation", None) or "unknown")


def fused_adamw(device: torch.device | str | None) -> bool | None:
    """True where the fused AdamW measured faster: one kernel over all parameters instead
    of a handful per tensor (on CUDA, hundreds of launches fewer per step). None leaves
    the choice to torch (foreach on CUDA, the single-tensor loop on CPU)."""
    return True if str(device or "cpu").split(":")[0] in FUSED_ADAMW_DEVICES else None


# CPU too: in an interleaved run on MiniLM-L6 (bench/adamw_check.py) the fused optimizer
# step took 0.8 s against 7.6 s for torch's CPU default, the single-tensor for-loop (on a
# loaded 2-core machine: the ratio is what counts). docs/benchmarks.md has the numbers.
FUSED_ADAMW_DEVICES = ("cuda", "cpu")


def build_optimizer(
    model: torch.nn.Module, cfg: TrainConfig, device: torch.device | str | None = None
) -> torch.optim.AdamW:
    """AdamW with decoupled weight decay on weight matrices only (not biases/LayerNorm).

    With L2-SP on, the pretrained weights it anchors form a third group without weight
    decay (decay would pull them towards zero, L2-SP towards their pretrained values) and
    are pulled back after every step (:mod:`workbench.regularization.l2sp`); the new head
    keeps its weight decay. ``device`` is where the parameters will live once Accelerate has
    placed them (they may still be on the CPU here); it picks the implementation
    (:func:`fused_adamw`).
    """
    anchored = [p for _, p in anchored_parameters(model)] if cfg.regularization.l2sp else []
    skip = {id(p) for p in anchored}
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        if not p.requires_grad or id(p) in skip:
            continue
        (no_decay if p.ndim < 2 or "LayerNorm" in name or "layer_norm" in name else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": cfg.regularization.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if anchored:
        groups.append(l2sp_group(anchored, cfg))
    assert cfg.optim.lr is not None
    optimizer = torch.optim.AdamW(groups, lr=cfg.optim.lr, fused=fused_adamw(device))
    if anchored:
        attach_l2sp(optimizer, anchored)  # anchors: the weights now, before any resume
    return optimizer


def prepare_task_data(cfg: TrainConfig, source: Any = None) -> Any:
    """The data ``cfg.model.task`` trains on: ``PreparedData``, ``InstructData`` …

    Cached in the task's slot under (data settings, seed, what was read), so the Data
    panel's **Load data** and every later **Train** with the same data settings prepare it
    once. What was read is a file's stamp (path, mtime, size) or, for a DataFrame/Dataset
    ``source``, a fingerprint of its contents: a table edited in place misses. A source
    without a fingerprint is prepared every time.
    """
    task = get_task(cfg.model.task)
    if source is None:
        key: Any = (cfg.data, cfg.optim.seed, file_stamp(cfg.data.dataset))
    else:
        stamp = source_stamp(source)
        if stamp is None:
            return task.prepare_data(cfg, source)
        key = (cfg.data, cfg.optim.seed, stamp)
    return cached(task.data_slot, key, lambda: task.prepare_data(cfg, source))


def load_inputs(
    cfg: TrainConfig, task: Task, source: Any, regularizers: list[Regularizer], note: Any
) -> tuple[Any, torch.nn.Module, Any, dict[str, bool]]:
    """``(data, adapted model, tokenizer, reused)``: the slow part of a cold start.

    ``reused`` says whether the prepared data and the pristine weights came from this
    kernel's cache (:mod:`workbench.cache`) rather than from disk; a status event tells the
    user which, and how long it took.
    """
    started = time.perf_counter()
    note("status", status="running", message="preparing data")
    with recording() as seen:
        data = prepare_task_data(cfg, source)
    reused = {"data": bool(seen) and all(seen.values())}
    data_s = time.perf_counter() - started
    note("status", status="running", message=f"loading model {cfg.model.model}")
    torch.manual_seed(cfg.optim.seed)  # the new head's initialization
    with recording() as seen:
        model, tokenizer = task.load_model(cfg, data, regularizers)
    reused["model"] = bool(seen) and all(seen.values())
    seconds = (data_s, time.perf_counter() - started - data_s)
    note("status", status="running", message=reuse_message(reused, seconds, data, cfg))
    return data, model, tokenizer, reused


def reuse_message(
    reused: dict[str, bool], seconds: tuple[float, float], data: Any, cfg: TrainConfig
) -> str:
    """``reused prepared data (512 training rows) and model weights from this kernel — 0.2 s``,
    or what was loaded instead, with the time each part took."""
    rows = f"{len(data.train):,} training rows"
    total = sum(seconds)
    if reused["data"] and reused["model"]:
        return f"reused prepared data ({rows}) and model weights from this kernel — {total:.1f} s"
    data_part = (
        f"reused prepared data ({rows}) from this kernel"
        if reused["data"]
        else f"prepared data ({rows}) in {seconds[0]:.1f} s"
    )
    model_part = (
        f"reused model weights from this kernel ({seconds[1]:.1f} s)"
        if reused["model"]
        else f"loaded model {cfg.model.model} in {seconds[1]:.1f} s"
    )
    return f"{data_part}; {model_part}"


def run_preflight(
    cfg: TrainConfig,
    data: Any,
    model: torch.nn.Module,
    tokenizer: Any,
    device: str,
    steps: tuple[int, int],
) -> list[Finding]:
    """The coach's pre-flight checks with everything the session knows: token lengths
    before truncation, the model's size and shape, the device, the planned steps."""
    trainable, total = count_parameters(model)
    config = getattr(model, "config", None)
    positions = getattr(config, "max_position_embeddings", None)
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and limit < 1_000_000:  # "no limit" is stored as 1e30
        positions = min(positions or limit, limit)
    return preflight(
        cfg,
        data,
        lengths=get_task(cfg.model.task).input_lengths(tokenizer, data),
        max_positions=positions,
        parameters=total,
        trainable=trainable,
        hidden_size=getattr(config, "hidden_size", None),
        num_layers=getattr(config, "num_hidden_layers", None),
        device=device,
        steps_per_epoch=steps[0],
        total_steps=steps[1],
    )


@dataclass(frozen=True)
class EngineParts:
    """Stand-ins for parts :func:`build_session` makes, passed in through
    ``train(..., parts=EngineParts(...))``: each wraps what the engine built and returns
    what the run uses instead. For measuring the engine without editing it (the benchmark
    records every batch it forms and tries another AdamW over the same parameter groups).

    ``collator(collate)``: the task's collate function → the one the loaders use.
    ``optimizer(optimizer, config)``: the optimizer built for the model → the one stepped.
    """

    collator: Callable[[Any], Any] | None = None
    optimizer: Callable[[torch.optim.Optimizer, TrainConfig], torch.optim.Optimizer] | None = None


def build_session(
    cfg: TrainConfig, source: Any = None, log: Any = None, parts: EngineParts | None = None
) -> Session:
    """Prepare data, model, optimizer, schedule and loaders for ``cfg`` (already resolved)."""
    parts = parts or EngineParts()
    note = log.emit if log is not None else (lambda *a, **k: None)
    task = get_task(cfg.model.task)
    accelerator = make_accelerator(cfg)
    regularizers = build_regularizers(cfg)
    data, model, tokenizer, reused = load_inputs(cfg, task, source, regularizers, note)
    attention = apply_attention(model, cfg.optim.attention)
    if cfg.optim.gradient_checkpointing:
        enable_gradient_checkpointing(model)
    if cfg.optim.compile:
        # In place: parameter names, checkpoints and export stay as they are. dynamic=True:
        # length-grouped batches come in many widths; one graph with a symbolic width
        # instead of a recompilation for each new width.
        model.compile(dynamic=True)
    if accelerator.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(accelerator.device)  # this run's peak, not the kernel's
    # Re-seed: a cache hit skips the head's random init, and training must not depend on it.
    torch.manual_seed(cfg.optim.seed)
    trainable, total = count_parameters(model)
    encoded = task.encode(tokenizer, data, cfg)
    collate = task.collator(tokenizer)
    if parts.collator is not None:
        collate = parts.collator(collate)
    sampler = GroupedBatchSampler(
        encoded["train"].lengths,
        cfg.optim.batch_size,
        cfg.optim.seed,
        group_by_length=cfg.optim.batching == "length-grouped",
    )
    # A private generator: DataLoader draws a base seed from it at every new iterator, which
    # would otherwise consume the global RNG and shift dropout masks after a resume.
    train_loader = DataLoader(
        encoded["train"],
        batch_sampler=sampler,
        collate_fn=collate,
        generator=torch.Generator().manual_seed(cfg.optim.seed),
    )
    eval_loaders = [
        DataLoader(
            encoded[s],
            batch_sampler=SortedBatchSampler(encoded[s].lengths, cfg.optim.batch_size * 2),
            collate_fn=collate,
        )
        for s in ("val", "test")
    ]
    optimizer: torch.optim.Optimizer = build_optimizer(model, cfg, accelerator.device)
    if parts.optimizer is not None:
        optimizer = parts.optimizer(optimizer, cfg)
    model, optimizer, train_loader, val_loader, test_loader = accelerator.prepare(
        model, optimizer, train_loader, *eval_loaders
    )
    for reg in regularizers:
        reg.on_model_ready(accelerator.unwrap_model(model), cfg)
    steps_per_epoch = max(1, math.ceil(len(train_loader) / cfg.optim.grad_accum))
    total_steps = max(1, math.ceil(cfg.optim.epochs * steps_per_epoch))
    findings = run_preflight(
        cfg,
        data,
        accelerator.unwrap_model(model),
        tokenizer,
        str(accelerator.device),
        (steps_per_epoch, total_steps),
    )
    note("findings", stage="preflight", findings=[f.to_dict() for f in findings])
    raise_errors(findings)  # before the first step: nothing trained, nothing to resume
    warmup = int(cfg.optim.warmup_fraction * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer.optimizer if hasattr(optimizer, "optimizer") else optimizer,
        lr_lambda(cfg.optim.scheduler, warmup, total_steps),
    )
    note(
        "setup",
        total_steps=total_steps,
        steps_per_epoch=steps_per_epoch,
        trainable_parameters=trainable,
        total_parameters=total,
        labels=data.labels,
        train_size=len(data.train),
        val_size=len(data.val),
        test_size=len(data.test),
        device=str(accelerator.device),
        mixed_precision=accelerator.mixed_precision,
        attention=attention,
        compiled=cfg.optim.compile,
        num_processes=accelerator.num_processes,
        cleaning=data.cleaning,
        padding_waste=padding_waste(sampler.batches(), encoded["train"].lengths),
        regularizers=[r.describe(cfg) for r in regularizers],
        reused=reused,
    )
    return Session(
        cfg,
        task,
        data,
        accelerator,
        model,
        tokenizer,
        optimizer,
        scheduler,
        sampler,
        train_loader,
        val_loader,
        test_loader,
        encoded,
        regularizers,
        steps_per_epoch,
        total_steps,
        trainable,
        total,
        Progress(peak_lr=cfg.optim.lr or 0.0),
    )
