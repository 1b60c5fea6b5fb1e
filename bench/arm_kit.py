"""What every arm shares: the registry, the offline environment, precision and optimizer notes.

Arms register here with :func:`arm` — the classification arms in ``arms.py``, the
causal-LM arms in ``lm_arms.py`` — so ``run.py`` sees one table of arms, whichever module
defines them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
