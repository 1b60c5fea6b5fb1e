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
