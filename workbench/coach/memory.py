"""Pre-flight: estimated training memory against the memory there is.

The estimate (:func:`workbench.models.catalog.estimate_training_memory`): fp32 weights,
gradients and AdamW moments of the trainable ones, and the activations of a batch at the
longest length it will see. It is an upper bound (frozen layers keep fewer activations);
an error only when it exceeds the device's whole memory, a warning when it exceeds what is
free now.
"""

from __future__ import annotations

from workbench.coach.base import Check, Finding, PreflightFacts


def device_memory(device: str) -> tuple[int, int] | None:
    """``(free, total)`` bytes of the device, None when unknown."""
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            free, total = torch.cuda.mem_get_info(torch.device(device))
            return int(free), int(total)
        return None
    try:
        import psutil  # type: ignore[import-untyped]  # no stubs installed; optional

        vm = psutil.virtual_memory()
        return int(vm.available), int(vm.total)
    except ImportError:  # psutil comes with Jupyter; headless installs may lack it
        return None


class MemoryFit(Check):
    name = "memory"
    summary = "Estimated training memory against the device's memory."

    def run(self, facts: PreflightFacts) -> list[Finding]:
        from workbench.models.catalog import estimate_training_memory

        if None in (facts.parameters, facts.trainable, facts.hidden_size, facts.num_layers):
            return []
        memory = device_memory(facts.device)
        if memory is None:
            return []
        free, total = memory
        o, m = facts.config.optim, facts.config.model
        longest = min(m.max_length, max(facts.lengths)) if facts.lengths else m.max_length
        need = estimate_training_memory(
            int(facts.parameters or 0),
            int(facts.trainable or 0),
            int(facts.hidden_size or 0),
            int(facts.num_layers or 0),
            batch_size=o.batch_size,
            seq_len=longest,
        )
        if need <= free:
            return []
        gib = 2**30
        changes: dict[str, object] = {}
        if o.batch_size > 1:
            changes = {"batch_size": o.batch_size // 2, "grad_accum": o.grad_accum * 2}
        return [
            self.finding(
                "error" if need > 2 * total else "warning",
                f"training needs about {need / gib:.1f} GiB on {facts.device} (batch "
                f"{o.batch_size}, {longest} tokens); {free / gib:.1f} GiB free of "
                f"{total / gib:.1f} GiB",
                "out of memory ends the run, on a GPU often only after minutes",
                fix="halve the batch and accumulate twice as many (same effective batch), "
                "or turn on gradient_checkpointing, or use lora",
                changes=changes,
            )
        ]
