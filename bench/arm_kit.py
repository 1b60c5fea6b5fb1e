"""What every arm shares: the registry, the offline environment, precision and optimizer notes.

Arms register here with :func:`arm` — the classification arms in ``arms.py``, the
causal-LM arms in ``lm_arms.py`` — so ``run.py`` sees one table of arms, whichever module
defines them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recording import StepRecorder
from settings import BenchSettings

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "MPLBACKEND": "Agg",
}

ArmFunction = Callable[..., None]


@dataclass(frozen=True)
class Arm:
    """A registered arm: its name, the report's description, and the function to run."""

    name: str
    label: str
    batching: str  # "length-grouped" or "random"
    run: ArmFunction
    options: dict[str, Any]


ARMS: dict[str, Arm] = {}


def arm(name: str, label: str, batching: str, **options: Any) -> Callable[[ArmFunction], Any]:
    """Register ``fn`` as arm ``name``; ``options`` are passed to it as keyword arguments."""

    def register(fn: ArmFunction) -> ArmFunction:
        ARMS[name] = Arm(
            name, label, batching, fn, {"grouped": batching == "length-grouped", **options}
        )
        return fn

    return register


def autocast_precision(s: BenchSettings) -> str:
    """What the matmuls run in: fp32 on CPU; bf16 on CUDA (fp16 on GPUs without bf16)."""
    import torch

    if s.device != "cuda":
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"


def describe_adamw(optimizer: Any) -> str:
    """Which AdamW implementation ``optimizer`` runs (unwrapping Accelerate's wrapper).

    With neither ``fused`` nor ``foreach`` set, torch picks foreach only when every
    parameter is on a GPU; on CPU it runs the single-tensor for-loop.
    """
    inner = getattr(optimizer, "optimizer", optimizer)
    options = inner.defaults
    if options.get("fused"):
        kind = "fused"
    elif options.get("foreach"):
        kind = "foreach"
    elif options.get("foreach") is None and all(
        p.is_cuda for g in inner.param_groups for p in g["params"]
    ):
        kind = "foreach (torch's GPU default)"
    else:
        kind = "single-tensor for-loop (torch's CPU default)"
    return f"{type(inner).__name__}, {kind}"


# -- what the Trainer arms share ------------------------------------------------------------------
def trainer_arguments(s: BenchSettings, out: str, grouped: bool, **extra: Any) -> Any:
    """``TrainingArguments`` of every Trainer arm: ``s``'s steps, rate, schedule, clipping,
    precision and seed; a loss logged every step; no evaluation, no saving."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=out,
        max_steps=s.steps,
        per_device_train_batch_size=s.batch_size,
        learning_rate=s.lr,
        weight_decay=s.weight_decay,
        warmup_steps=s.warmup_steps,
        lr_scheduler_type="linear",
        max_grad_norm=s.max_grad_norm,
        train_sampling_strategy="group_by_length" if grouped else "random",
        logging_strategy="steps",
        logging_steps=1,  # a loss per step, as the engine emits one
        eval_strategy="no",
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=s.device == "cpu",
        bf16=autocast_precision(s) == "bf16",
        fp16=autocast_precision(s) == "fp16",
        torch_compile=s.compile,
        seed=s.seed,
        **extra,
    )


def step_stamps(s: BenchSettings, rec: StepRecorder) -> Any:
    """A ``TrainerCallback`` stamping each step's end and loss into ``rec``."""
    import torch
    from transformers import TrainerCallback

    class StepStamps(TrainerCallback):  # type: ignore[misc]  # transformers is untyped here
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if s.device == "cuda":
                torch.cuda.synchronize()  # stamp when the GPU is done, as B's .item() does
            rec.step_end()

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                rec.loss(logs["loss"])

    return StepStamps()


# -- what the engine arms share -------------------------------------------------------------------
def record_engine_run(handle: Any, s: BenchSettings, rec: StepRecorder) -> None:
    """Feed ``rec`` the steps of a finished ``workbench.train`` run: the time and loss of
    each step event, the engine's own samples/s, its optimizer and its FLOPs."""
    if handle.error is not None:
        raise RuntimeError(f"the engine run failed: {handle.error}") from handle.error
    for event in handle.history:
        if event["type"] == "step":
            rec.step_end(event["time"])
            rec.loss(event["loss"], event["time"])
    summary = handle.summary or {}
    rec.reported_samples_per_s = summary.get("train_samples_per_second")
    if handle.session is not None:
        rec.notes["optimizer"] = describe_adamw(handle.session.optimizer)
        model = handle.session.accelerator.unwrap_model(handle.session.model)
        rec.measure_flops(model, s.device, autocast_precision(s))
