"""Describe the catalog for ``workbench models`` and the Model panel."""

from __future__ import annotations

from typing import Any

from workbench.models.catalog import CATALOG, entry_location, estimate_training_memory


def describe_catalog(batch_size: int = 32, seq_len: int = 128) -> list[dict[str, Any]]:
    """One row per catalog model: availability, size, training-memory estimate per method."""
    from workbench.methods import METHODS

    rows = []
    for entry in CATALOG:
        where = entry_location(entry)
        memory = {
            name: estimate_training_memory(
                entry.parameters,
                int(entry.parameters * method.trainable_fraction_estimate()),
                entry.hidden_size,
                entry.num_layers,
                batch_size,
                seq_len,
            )
            for name, method in METHODS.items()
        }
        rows.append(
            {
                "name": entry.name,
                "hub_id": entry.hub_id,
                "task": entry.task,
                "available": where is not None,
                "location": str(where) if where else None,
                "parameters": entry.parameters,
                "description": entry.description,
                "memory_bytes": memory,
            }
        )
    return rows


def format_catalog(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`describe_catalog` rows."""
    methods = list(rows[0]["memory_bytes"]) if rows else []
    width = max([18, *(len(r["name"]) + 2 for r in rows)])
    head = f"{'model':<{width}}{'available':<11}{'params':>8}  " + "".join(
        f"{m:>10}" for m in methods
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        mem = "".join(f"{r['memory_bytes'][m] / 2**30:>9.1f}G" for m in methods)
        avail = "yes" if r["available"] else "no"
        lines.append(f"{r['name']:<{width}}{avail:<11}{r['parameters'] / 1e6:>7.1f}M  {mem}")
    lines.append(
        "memory: estimated peak training memory (fp32, batch 32, 128 tokens). "
        "Unavailable models are not in the local Hugging Face cache; any hub id or "
        "local directory also works with --model."
    )
    return "\n".join(lines)
