"""Checkpoints that survive a kill: every file goes to a temp name, then ``os.replace``.

``last/`` holds what resume needs (trainable weights, optimizer, scheduler, the RNG state
of every process, loop position); ``best/`` holds the trainable weights of the best
evaluation. Only trainable parameters are saved: the frozen rest is reloaded from the
pretrained model.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from workbench.errors import StorageError
from workbench.models.weights import atomic_dir, commit_dir
from workbench.training.rng import load_rng_states, save_rng_states


def recover_checkpoint(folder: Path) -> None:
    """After a kill between the two renames of :func:`commit_dir` only ``<kind>.old`` is
    left: that is the previous complete checkpoint, so it becomes ``<kind>`` again."""
    old = folder.with_name(folder.name + ".old")
    if not folder.exists() and (old / "state.json").is_file():
        os.replace(old, folder)


def save_checkpoint(
    folder: Path,
    weights: dict[str, torch.Tensor],
    state: dict[str, Any],
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    rng_states: list[dict[str, Any]] | None = None,
) -> None:
    """Write a complete checkpoint folder atomically.

    ``rng_states`` holds one random-number state per process, in rank order
    (:func:`workbench.training.rng.gather_rng_states`); each goes to ``rng_<rank>.pt``.

    Raises :class:`~workbench.errors.StorageError` when a write fails (disk full, no
    permission): the half-written copy is removed and the previous checkpoint is untouched.
    """
    tmp = folder.with_name(folder.name + ".tmp")
    try:
        tmp = atomic_dir(folder)
        save_file(weights, str(tmp / "trainable.safetensors"))
        if optimizer is not None:
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        if scheduler is not None:
            torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        if rng_states:
            save_rng_states(tmp, rng_states)
        (tmp / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
        commit_dir(tmp, folder)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        kept = "the previous checkpoint is kept" if folder.exists() else "no earlier one exists"
        raise StorageError(
            f"could not write checkpoint {folder}: {err.strerror or err}; {kept}. Free disk "
            f"space (or fix permissions), then continue with --resume {folder.parent.parent}"
        ) from None


def load_checkpoint(folder: Path) -> dict[str, Any]:
    """Read a checkpoint folder; tensors via safetensors or ``torch.load(weights_only=True)``.

    ``rng`` (where saved) is the list of per-process random-number states, in rank order.
    """
    out: dict[str, Any] = {
        "weights": load_file(str(folder / "trainable.safetensors")),
        "state": json.loads((folder / "state.json").read_text(encoding="utf-8")),
    }
    for name in ("optimizer", "scheduler"):
        path = folder / f"{name}.pt"
        if path.is_file():
            out[name] = torch.load(path, weights_only=True, map_location="cpu")
    rng = load_rng_states(folder)
    if rng:
        out["rng"] = rng
    return out
