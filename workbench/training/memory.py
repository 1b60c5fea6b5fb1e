"""Memory in use, cheap enough to read every step: GPU allocator or process RSS."""

from __future__ import annotations

import os
import resource

import torch


def memory_in_use(device: torch.device | str) -> dict[str, float | str]:
    """``{"kind": "cuda"|"rss", "mb": current, "peak_mb": peak}``."""
    if str(device).startswith("cuda") and torch.cuda.is_available():
        return {
            "kind": "cuda",
            "mb": torch.cuda.memory_allocated() / 2**20,
            "peak_mb": torch.cuda.max_memory_allocated() / 2**20,
        }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        now = pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        now = peak
    return {"kind": "rss", "mb": round(now, 1), "peak_mb": round(peak, 1)}


def step_memory(device: torch.device | str) -> dict[str, float]:
    """What a step event reports: ``memory_mb`` always, ``peak_memory_mb`` on CUDA (the
    allocator's high-water mark since the run started: what decides out-of-memory)."""
    memory = memory_in_use(device)
    fields = {"memory_mb": float(memory["mb"])}
    if memory["kind"] == "cuda":
        fields["peak_memory_mb"] = round(float(memory["peak_mb"]), 1)
    return fields


def peak_gpu_memory_mb(device: torch.device | str) -> float | None:
    """Peak CUDA memory allocated by tensors during the run, in MiB; None off CUDA."""
    if not str(device).startswith("cuda") or not torch.cuda.is_available():
        return None
    return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
