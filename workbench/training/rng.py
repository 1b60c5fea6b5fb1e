"""The random-number state of every process, saved with ``checkpoints/last`` and put back.

Dropout masks come from torch's global generator (CPU, and CUDA/MPS on a GPU). Each process
of a multi-process run draws its own masks for its own batches, so after a few steps the
processes' generators differ: one state per process is saved (``rng_<rank>.pt``, as
Accelerate's ``save_state`` writes ``random_states_<rank>.pkl``) and each process restores
its own. Python's and NumPy's generators are saved too: the loop draws nothing from them
today, but a custom task or regularizer may, and resume must stay exact then as well.

The states travel as plain tensors, ints and floats so that ``torch.load(weights_only=True)``
reads them back (a NumPy array would need an unsafe unpickler).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch


def rng_state() -> dict[str, Any]:
    """This process's generator states: torch CPU, CUDA/MPS where present, NumPy, Python."""
    kind, key, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "cpu": torch.get_rng_state(),
        # MT19937: 624 uint32 words, held as int64 so every torch version can store them
        "numpy": {
            "kind": str(kind),
            "key": torch.from_numpy(np.asarray(key, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if torch.backends.mps.is_available():
        state["mps"] = torch.mps.get_rng_state()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Put back what :func:`rng_state` returned (a checkpoint from before NumPy and Python
    states were saved has only ``cpu``/``cuda``: the rest is left as it is)."""
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if "mps" in state and torch.backends.mps.is_available():
        torch.mps.set_rng_state(state["mps"])
    if "numpy" in state:
        n = state["numpy"]
        key = n["key"].numpy().astype(np.uint32)
        np.random.set_state((n["kind"], key, n["pos"], n["has_gauss"], n["gauss"]))
    if "python" in state:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))


def gather_rng_states(accelerator: Any) -> list[dict[str, Any]]:
    """Every process's :func:`rng_state`, in rank order (a collective: all processes call it)."""
    states = [rng_state()]
    if accelerator is None or accelerator.num_processes == 1:
        return states
    from accelerate.utils import gather_object

    return list(gather_object(states))


def save_rng_states(folder: Path, states: list[dict[str, Any]]) -> None:
    """One file per process: ``rng_0.pt``, ``rng_1.pt``, …"""
    for rank, state in enumerate(states):
        torch.save(state, folder / f"rng_{rank}.pt")


def load_rng_states(folder: Path) -> list[dict[str, Any]]:
    """The per-process states of a checkpoint folder, in rank order (``rng.pt``, written by
    versions that saved the main process's state only, counts as rank 0's)."""
    files = sorted(folder.glob("rng_*.pt"), key=lambda p: int(p.stem.split("_")[1]))
    if not files and (folder / "rng.pt").is_file():
        files = [folder / "rng.pt"]
    return [torch.load(f, weights_only=True, map_location="cpu") for f in files]


def restore_rng(states: list[dict[str, Any]], rank: int) -> None:
    """Give process ``rank`` its own saved state.

    A run resumed with more processes than it was saved with cannot continue exactly (the
    batches are sharded differently); the extra processes start from rank 0's state.
    """
    if states:
        set_rng_state(states[rank] if rank < len(states) else states[0])
