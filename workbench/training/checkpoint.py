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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from workbench.errors import StorageError
from workbench.training.rng import load_rng_states, save_rng_states


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Copies (on CPU) of the parameters that train, and of the running statistics that
    train with them (see :func:`trained_buffers`)."""
    tensors: list[tuple[str, torch.Tensor]] = [
        (n, p) for n, p in model.named_parameters() if p.requires_grad
    ]
    tensors += trained_buffers(model)
    return {n: t.detach().to("cpu", copy=True).contiguous() for n, t in tensors}


def trained_buffers(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Running mean/variance (and batch count) of the batch-norm layers whose weights train.

    They change with training but are no parameters: a checkpoint without them would put a
    CNN's best weights back next to the statistics of its last step (transformers have none).
    """
    out: list[tuple[str, torch.Tensor]] = []
    for prefix, module in model.named_modules():
        norm = isinstance(module, nn.modules.batchnorm._BatchNorm)
        if norm and any(p.requires_grad for p in module.parameters(recurse=False)):
            out += [(f"{prefix}.{n}", b) for n, b in module.named_buffers(recurse=False)]
    return out


def load_trainable(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    params = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    missing = [n for n in state if n not in params]
    if missing:
        raise ValueError(f"checkpoint does not fit this model: unknown parameters {missing[:3]}")
    with torch.no_grad():
        for name, tensor in state.items():
            params[name].copy_(tensor.to(params[name].device))


def _atomic_dir(target: Path) -> Path:
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def _commit_dir(tmp: Path, target: Path) -> None:
    """Swap ``tmp`` in for ``target``: the old one stays until the new one is complete."""
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        if old.exists() and not target.exists():
            os.replace(old, target)  # put the previous checkpoint back
        raise
    if old.exists():
        shutil.rmtree(old)


def write_dir(target: Path, write: Callable[[Path], None]) -> None:
    """Fill a fresh temp folder with ``write(tmp)``, then swap it in for ``target``.

    A kill mid-way leaves the previous ``target`` (or none), never half a folder that
    looks complete: used for the exported ``model/`` and ``adapter/``.
    """
    tmp = _atomic_dir(target)
    try:
        write(tmp)
        _commit_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def recover_checkpoint(folder: Path) -> None:
    """After a kill between the two renames of :func:`_commit_dir` only ``<kind>.old`` is
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
        tmp = _atomic_dir(folder)
        save_file(weights, str(tmp / "trainable.safetensors"))
        if optimizer is not None:
            torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        if scheduler is not None:
            torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
        if rng_states:
            save_rng_states(tmp, rng_states)
        (tmp / "state.json").write_text(json.dumps(state, indent=1), encoding="utf-8")
        _commit_dir(tmp, folder)
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
