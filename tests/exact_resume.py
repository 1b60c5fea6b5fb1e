"""The check behind "``--resume`` continues exactly": a resumed run trains as if it had never
been interrupted, step by step after the resume point, down to its last weights.

Shared by the Stop, crash and SIGKILL resume tests. The test split's accuracy says little
(a few rows move it in coarse steps, and finish.py tests the *best* weights, which may predate
the interruption); what the resumed process itself computed does: the training loss and the
learning rate of every step after the resume point (the loss depends on the restored weights
and dropout RNG, the next steps' on the optimizer moments, the rate on the schedule), the
validation loss of every later evaluation, and the trainable weights of the last step
(``checkpoints/last``, written at the final evaluation, before the best weights are put back).

Tolerances (CPU, fp32, the same machine and thread count): the resumed run replays the same
float operations in the same order, and the measured differences are 0. The bounds leave room
for a summation-order change only: loss and validation loss within 1e-6 relative, learning
rate within 1e-9 relative, weights within 1e-6 absolute. A broken restore is far outside
them (measured with the code broken on purpose): no RNG restore moves the first resumed
step's loss by ~1e-2 relative, no optimizer restore the second one's by ~2e-2, no scheduler
restore the rate by 14 % and more; one process restoring another's RNG state moves the
two-process loss by ~1e-4.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from workbench.config import TrainConfig
from workbench.training.events import read_events

LOSS_RTOL = 1e-6
LR_RTOL = 1e-9
WEIGHT_ATOL = 1e-6


def by_step(events: list[dict[str, Any]], kind: str) -> dict[int, dict[str, Any]]:
    """The events of one type, by step; a step logged twice fails (doubled curves)."""
    found: dict[int, dict[str, Any]] = {}
    for e in events:
        if e["type"] == kind:
            assert e["step"] not in found, f"{kind} event of step {e['step']} logged twice"
            found[e["step"]] = e
    return found


def last_weights(run: Path) -> dict[str, torch.Tensor]:
    """The trainable weights after the run's last step (not the best ones it exported)."""
    return load_file(str(run / "checkpoints" / "last" / "trainable.safetensors"))


def max_weight_difference(a: Path, b: Path) -> float:
    wa, wb = last_weights(a), last_weights(b)
    assert sorted(wa) == sorted(wb) and wa
    return max(float((wa[n] - wb[n]).abs().max()) for n in wa)


def assert_resumed_exactly(
    reference: Path, resumed: Path, resume_step: int, min_steps_after: int = 4
) -> dict[str, float]:
    """Assert that run ``resumed`` (continued from step ``resume_step``) trained exactly like
    the uninterrupted run ``reference``; return the largest differences seen."""
    ref_events, res_events = (
        read_events(reference / "events.jsonl"),
        read_events(resumed / "events.jsonl"),
    )
    a, b = by_step(ref_events, "step"), by_step(res_events, "step")
    assert sorted(b) == sorted(a) == list(range(1, max(a) + 1))
    after = [s for s in sorted(a) if s > resume_step]
    assert len(after) >= min_steps_after, f"only {len(after)} steps after the resume point"
    worst = {"loss": 0.0, "lr": 0.0, "val_loss": 0.0}
    for step in after:
        for key, rtol in (("loss", LOSS_RTOL), ("lr", LR_RTOL)):
            x, y = a[step][key], b[step][key]
            worst[key] = max(worst[key], abs(x - y) / max(abs(x), 1e-12))
            assert y == pytest.approx(x, rel=rtol, abs=0), f"{key} of step {step}: {y} != {x}"
    # (a Stop before the first evaluation validates at the stop: that one is not compared)
    ea, eb = by_step(ref_events, "eval"), by_step(res_events, "eval")
    evals = [s for s in sorted(ea) if s > resume_step]
    assert [s for s in sorted(eb) if s > resume_step] == evals, "evaluated at other steps"
    for step in evals:
        x, y = ea[step]["val_loss"], eb[step]["val_loss"]
        worst["val_loss"] = max(worst["val_loss"], abs(x - y) / abs(x))
        assert y == pytest.approx(x, rel=LOSS_RTOL), f"val_loss at step {step}: {y} != {x}"
        assert eb[step]["best"] == ea[step]["best"], f"best checkpoint differs at step {step}"
    worst["weights"] = max_weight_difference(reference, resumed)
    assert worst["weights"] <= WEIGHT_ATOL, f"last weights differ by {worst['weights']:.3g}"
    # the same best checkpoint, tested on the same rows to the same numbers
    sa, sb = (json.loads((r / "summary.json").read_text()) for r in (reference, resumed))
    assert sb["status"] == "completed" and sb["best_step"] == sa["best_step"]
    assert sb["test_loss"] == pytest.approx(sa["test_loss"], rel=LOSS_RTOL)
    assert sb["test_accuracy"] == pytest.approx(sa["test_accuracy"], abs=1e-9)
    return worst


def resume_config(tiny_bert_dir: str, out: Path) -> TrainConfig:
    """Two epochs of 8 batches (60 training rows, batches of 8) with dropout on, so every
    step draws from the RNG; evaluations at 5, 8 (epoch end), 10, 15, 16; validation and
    test splits of 30 and 60 rows (0.2 and 0.4 of ``toy_frame()``'s 150)."""
    return TrainConfig().replace(
        model=tiny_bert_dir,
        dataset="toy",
        max_train_samples=None,
        max_eval_samples=None,
        val_fraction=0.2,
        test_fraction=0.4,
        epochs=2.0,
        batch_size=8,
        lr=1e-2,
        max_length=32,
        eval_every=5,
        dropout=0.1,
        attention_dropout=0.1,
        device="cpu",
        out=str(out),
        runs_dir=str(out.parent / "runs"),
    )
