"""Running out of memory mid-run: recognise it, say what to change, and optionally retry.

An out-of-memory error is not a bug to report with a traceback: it means this model, batch
and text length do not fit this device. The run fails with concrete advice (a smaller
batch with more accumulation, shorter texts, LoRA, gradient checkpointing), or — when the
user opted in with ``oom_retries`` — starts again from scratch with half the batch size and
twice the gradient accumulation, so the effective batch, the number of optimizer steps and
the schedule stay the same. A retry is an event (``type: retry``) in the run's history.
"""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path

import torch

from workbench.config import TrainConfig

#: The CPU allocator's message when ``malloc`` fails (there is no CPU OutOfMemoryError).
_CPU_OOM = "can't allocate memory"
MAX_GRAD_ACCUM = 256  # the config's upper bound for grad_accum


def is_out_of_memory(err: BaseException) -> bool:
    """True for CUDA/MPS out-of-memory errors and failed CPU allocations."""
    if isinstance(err, torch.OutOfMemoryError):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and (
        _CPU_OOM in text or "MPS backend out of memory" in text
    )


def oom_advice(cfg: TrainConfig) -> str:
    """What to change so the run fits, with this run's own numbers."""
    o, m = cfg.optim, cfg.model
    half = max(1, o.batch_size // 2)
    parts = [
        f"lower batch_size (now {o.batch_size}; try {half} with grad_accum "
        f"{min(o.grad_accum * 2, MAX_GRAD_ACCUM)} for the same effective batch)",
        f"lower max_length (now {m.max_length} tokens)",
    ]
    if m.method != "lora":
        parts.append("use method lora (trains ~1% of the weights: far less optimizer memory)")
    if not o.gradient_checkpointing:
        parts.append(
            "turn on gradient_checkpointing (recomputes activations in the backward pass: far "
            "less memory, about a third slower)"
        )
    if o.oom_retries == 0:
        parts.append("or set oom_retries to retry automatically with half the batch size")
    return "; ".join(parts)


def oom_message(cfg: TrainConfig, err: BaseException) -> str:
    """One line: what happened (first line of the library's message) and what to change."""
    first = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
    return f"out of memory at batch_size {cfg.optim.batch_size}: {first}. To fit: {oom_advice(cfg)}"


def retry_config(cfg: TrainConfig, retries_done: int) -> TrainConfig | None:
    """The config of the next attempt, or None when no retry is allowed or possible."""
    o = cfg.optim
    if retries_done >= o.oom_retries or o.batch_size <= 1:
        return None
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return None  # the other processes are waiting in a collective: all must fail together
    return cfg.replace(
        batch_size=o.batch_size // 2, grad_accum=min(o.grad_accum * 2, MAX_GRAD_ACCUM)
    )


def free_memory() -> None:
    """Give the failed attempt's tensors back before the next one allocates."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def reset_for_retry(run_dir: Path | None) -> None:
    """Forget the failed attempt on disk: its checkpoints belong to another batch size, and
    ``config.yaml`` is rewritten with the new one when the next attempt starts."""
    if run_dir is None:
        return
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    (run_dir / "config.yaml").unlink(missing_ok=True)


def enable_gradient_checkpointing(model: torch.nn.Module) -> None:
    """Recompute activations layer by layer in the backward pass (``gradient_checkpointing``).

    Non-reentrant checkpointing: it works when the embeddings are frozen (LoRA, IA3, head-only)
    without forcing gradients onto the inputs, and it replays dropout with the same RNG state,
    so the gradients equal those of a run without it.
    """
    # transformers 5 calls it activation checkpointing; the old name is a deprecated alias
    enable = getattr(model, "activation_checkpointing_enable", None)
    kwargs_name = "activation_checkpointing_kwargs"
    if enable is None:
        enable = getattr(model, "gradient_checkpointing_enable", None)
        kwargs_name = "gradient_checkpointing_kwargs"
    base = getattr(model, "base_model", model)
    supported = getattr(base, "supports_gradient_checkpointing", True)
    if enable is None or not supported:
        from workbench.config import ConfigError

        raise ConfigError(
            f"gradient_checkpointing is not supported by {type(model).__name__}; turn it off "
            "and lower batch_size or max_length instead"
        )
    enable(**{kwargs_name: {"use_reentrant": False}})
