"""``workbench check``: the coach's pre-flight checks on demand, without training.

What the Hyperparameters tab's **Check settings** and ``workbench check`` run: the data is
prepared as training would prepare it (cached in the kernel, so the next **Train** reuses
it) and only the tokenizer is loaded, for the token lengths. For a catalog model the
catalog's published sizes and the method's trainable share feed the memory estimate; for
other models that check stays silent (the engine runs it with the real model before step 1).
"""

from __future__ import annotations

from typing import Any

from workbench.coach import CHECKS, Finding, preflight


def check_settings(config: Any, source: Any = None) -> tuple[list[Finding], int]:
    """``(findings, checks run)``: the pre-flight checks for ``config`` without training.

    Prepares the data as training would (cached in the kernel, so the next **Train**
    reuses it) and loads only the tokenizer, for the token lengths. For a catalog model the
    catalog's sizes and the method's trainable share feed the memory estimate; for other
    models that check stays silent. Raises the engine's errors (ConfigError, DataError,
    ModelError) for the caller to show.
    """
    from workbench.methods import get_method
    from workbench.models.catalog import find_entry
    from workbench.tasks import get_task
    from workbench.training.session import prepare_task_data

    data = prepare_task_data(config, source)
    m = config.model
    # the tokenizer's lengths and position limit (a text task); nothing for images
    facts: dict[str, Any] = get_task(m.task).preflight_inputs(config, data)
    facts["device"] = check_device(config)
    entry = find_entry(m.model)
    if entry is not None:
        share = get_method(m.method).trainable_fraction_estimate()
        facts.update(
            parameters=entry.parameters,
            trainable=int(entry.parameters * share),
            hidden_size=entry.hidden_size,
            num_layers=entry.num_layers,
        )
    checks = sum(1 for c in CHECKS.values() if c.stage == "preflight")
    return preflight(config, data, **facts), checks


def check_device(config: Any) -> str:
    """Where the run would train, for the memory check: ``cuda`` when the config allows it
    and a GPU is there, else ``cpu``."""
    import torch

    wanted = config.optim.device
    if wanted in ("auto", "cuda") and torch.cuda.is_available():
        return "cuda"
    return "cpu"
