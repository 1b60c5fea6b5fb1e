"""Trained weights in and out of a model, and folders written whole or not at all.

Below the engine: a task's export (``model/``, ``adapter/``) and a run's checkpoints both
write through :func:`write_dir`, so a kill mid-way never leaves half a folder that looks
complete; :func:`trainable_state` / :func:`load_trainable` move only what trains.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn


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


def atomic_dir(target: Path) -> Path:
    tmp = target.with_name(target.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    return tmp


def commit_dir(tmp: Path, target: Path) -> None:
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


def write_dir(target: Path, write: Callable[[Path], object]) -> None:
    """Fill a fresh temp folder with ``write(tmp)``, then swap it in for ``target``.

    A kill mid-way leaves the previous ``target`` (or none), never half a folder that
    looks complete: used for the exported ``model/`` and ``adapter/``.
    """
    tmp = atomic_dir(target)
    try:
        write(tmp)
        commit_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
