"""A run's model rebuilt from a checkpoint, for runs that have no exported ``model/``.

Since Stop finishes a run, every stopped run exports ``model/``. Runs stopped by older
versions (and runs killed mid-training) have only ``checkpoints/``: ``best`` (the trainable
weights of the best evaluation) and ``last`` (those of the last saved step). Only trainable
parameters are in a checkpoint, so the model is rebuilt the way training built it — the
pretrained model, adapted by the run's method (LoRA adapters, frozen layers …) — and the
checkpoint's weights are put in. The frozen rest is the pretrained weights, as in training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from workbench.config import TrainConfig
from workbench.errors import RunError
from workbench.models.weights import load_trainable
from workbench.training.checkpoint import load_checkpoint


@dataclass(frozen=True)
class CheckpointChoice:
    """Which checkpoint stands in for a missing ``model/``: its name, folder and step."""

    name: str
    folder: Path
    step: int

    def note(self, run_dir: Path, status: str) -> str:
        """The sentence that tells the user which weights they are looking at."""
        what = "best evaluation" if self.name == "best" else "last saved step"
        return (
            f"run {run_dir} has no exported model/ (status {status}): using "
            f"checkpoints/{self.name} from step {self.step} ({what}) on top of the "
            f"pretrained model; `workbench train --resume {run_dir}` finishes and exports it"
        )


def has_exported_model(run_dir: Path) -> bool:
    return (run_dir / "model" / "config.json").is_file()


def pick_checkpoint(run_dir: Path, name: str | None = None) -> CheckpointChoice | None:
    """``best`` if it exists, else ``last`` (or exactly ``name``); None when there is none."""
    for kind in (name,) if name else ("best", "last"):
        folder = run_dir / "checkpoints" / kind  # read only: resume is what repairs a run
        state = folder / "state.json"
        if (folder / "trainable.safetensors").is_file() and state.is_file():
            step = int(json.loads(state.read_text(encoding="utf-8")).get("step", 0))
            return CheckpointChoice(kind, folder, step)
    return None


def run_labels(run_dir: Path, summary: dict[str, Any]) -> list[str]:
    """Class names of a run: from its summary, else from the ``setup`` event it logged."""
    from workbench.training.events import read_events

    labels = summary.get("labels")
    if not labels:
        setup = [e for e in read_events(run_dir / "events.jsonl") if e.get("type") == "setup"]
        labels = setup[-1].get("labels") if setup else None
    return [str(x) for x in labels or []]


def model_from_checkpoint(
    config: TrainConfig, choice: CheckpointChoice, labels: list[str], merge: bool
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` in eval mode: the run's adapted model with ``choice``'s weights.

    Parameters
    ----------
    config:
        The run's ``config.yaml``.
    labels:
        Class names, in the order the classifier head was built with (classification).
    merge:
        For LoRA/IA3 runs, fold the adapters into the weights and return the plain
        transformers model (what ``model/`` holds); False keeps the ``PeftModel``.
    """
    import torch

    from workbench.methods import get_method
    from workbench.models.loading import quiet_transformers
    from workbench.regularization import build_regularizers
    from workbench.tasks import get_task

    task = get_task(config.model.task)
    # The model only reads the class names from the prepared data: no need to prepare it.
    data = SimpleNamespace(labels=labels)
    torch.manual_seed(config.optim.seed)  # as training did: a random-init run's frozen part
    with quiet_transformers():
        model, tokenizer = task.load_model(config, data, build_regularizers(config))
    try:
        load_trainable(model, load_checkpoint(choice.folder)["weights"])
    except ValueError as err:
        raise RunError(f"checkpoint {choice.folder}: {err}") from None
    out: Any = model
    if merge and get_method(config.model.method).uses_peft:
        out = out.merge_and_unload()  # a PeftModel: plain transformers, as model/ holds it
    return out.eval(), tokenizer
