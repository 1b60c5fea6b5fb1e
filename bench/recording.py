"""What one arm-run measures, recorded the same way whatever does the training.

Every arm feeds a :class:`StepRecorder`: the shape of each batch its collator formed
(through :class:`RecordingCollator`), and for each optimizer step the wall-clock time at
which it ended and its loss. :meth:`StepRecorder.result` turns that into the numbers the
report compares, with one definition for all arms:

* **throughput** counts steps 2..N over the wall-clock time from the end of step 1 to the
  end of step N. Everything the loop does in between counts — data loading, collation,
  forward, backward, clipping, optimizer and scheduler, logging and callbacks — so an
  engine cannot look faster by leaving its own bookkeeping out. Step 1 is left out because
  it carries one-off costs (first allocation, building the sampler and data iterator),
  which "time to first loss" reports instead. Nothing evaluates or saves inside the window.
* **real tokens/s, median step** divides each step's real tokens by that step's own time
  and takes the median over steps 2..N: a short burst of load from other processes moves
  it far less than the window figure, and it stays comparable across different batches.
* **real tokens** are non-pad tokens (attention-mask ones); **padding waste** is the share
  of computed token positions (batch × padded width) that are padding, over all N steps.
* **MFU** (CUDA only) is the useful training FLOPs of steps 2..N — the convention of
  ``workbench.training.flops``, on real tokens — over the same window, divided by the
  device's dense peak for the precision the matmuls ran in; **peak GPU memory** is
  ``torch.cuda.max_memory_allocated`` at the end of the arm-run.
* **time to first loss** runs from the moment ``run.py`` launched the process (interpreter
  start, imports, data preparation, tokenization and model loading included) to the moment
  step 1's loss was known.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BatchShape:
    """One collated batch: examples, non-pad tokens, and computed positions (n × width).

    ``fingerprint`` (the sum of the real token ids) tells whether two arms trained on the
    same batches, whatever order the rows were padded in.
    """

    examples: int  # examples, not rows: a packed row holds several
    real_tokens: int
    padded_tokens: int
    fingerprint: int
    lengths: list[int]  # real tokens of each example: the attention term of the FLOPs


@dataclass
class StepRecorder:
    """Batches formed and steps finished by one arm-run, with wall-clock stamps."""

    launched_at: float  # time.time() when run.py started this process
    batches: list[BatchShape] = field(default_factory=list)
    step_ends: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    first_loss_at: float | None = None
    reported_samples_per_s: float | None = None  # the arm's own number, for comparison
    notes: dict[str, Any] = field(default_factory=dict)
    flops: Any = None  # a workbench.training.flops.FlopsModel of the trained model
    peak_flops: float | None = None  # the device's dense peak FLOP/s; None: no MFU

    def batch(self, input_ids: Any, attention_mask: Any, position_ids: Any = None) -> None:
        """Record a collated batch from its (batch, tokens) ids and attention mask.

        Packed rows (``position_ids`` restarting at 0 for each example) count as the
        examples they hold, so samples/s means examples/s in every arm, and each example's
        own length enters the attention FLOPs.
        """
        n, width = attention_mask.shape
        real, total = int(attention_mask.sum()), int(n * width)
        if position_ids is None:
            lengths = [int(x) for x in attention_mask.sum(dim=1).tolist()]
        else:
            lengths = [
                k
                for pos, mask in zip(position_ids.tolist(), attention_mask.tolist(), strict=True)
                for k in example_lengths([p for p, m in zip(pos, mask, strict=True) if m])
            ]
        fingerprint = int((input_ids * attention_mask).sum())
        self.batches.append(BatchShape(len(lengths), real, total, fingerprint, lengths))

    def measure_flops(self, model: Any, device: str, precision: str) -> None:
        """Count ``model``'s training FLOPs and look the device's peak up (CUDA only)."""
        from workbench.training.flops import device_peak, flops_model

        self.flops = flops_model(model)
        self.peak_flops = device_peak(device, precision)

    def step_end(self, at: float | None = None) -> None:
        self.step_ends.append(time.time() if at is None else at)

    def loss(self, value: float, at: float | None = None) -> None:
        if self.first_loss_at is None:
            self.first_loss_at = time.time() if at is None else at
        self.losses.append(float(value))

    def result(self, steps: int, last: int, timed_from: int = 1) -> dict[str, Any]:
        """The arm-run's numbers; checks that exactly ``steps`` steps were recorded.

        Throughput counts the steps after the first ``timed_from``: the window runs from
        the end of step ``timed_from`` to the end of step ``steps``.
        """
        if len(self.step_ends) != steps or len(self.losses) != steps:
            raise RuntimeError(
                f"expected {steps} steps, recorded {len(self.step_ends)} step ends and "
                f"{len(self.losses)} losses"
            )
        if len(self.batches) < steps:
            raise RuntimeError(f"expected {steps} batches, the collator saw {len(self.batches)}")
        if not 1 <= timed_from < steps:
            raise ValueError(f"timed_from must be in [1, {steps - 1}]; got {timed_from}")
        trained = self.batches[:steps]  # later collations (look-ahead, evaluation) not trained
        window = self.step_ends[-1] - self.step_ends[timed_from - 1]
        timed = trained[timed_from:]
        real = sum(b.real_tokens for b in trained)
        padded = sum(b.padded_tokens for b in trained)
        assert self.first_loss_at is not None
        seconds = [b - a for a, b in zip(self.step_ends, self.step_ends[1:], strict=False)]
        per_step = [
            b.real_tokens / t
            for b, t in zip(timed, seconds[timed_from - 1 :], strict=True)
            if t > 0
        ]
        useful = sum(self.flops.step(b.lengths) for b in timed) if self.flops else None
        return {
            "steps": steps,
            "samples_per_s": sum(b.examples for b in timed) / window if window else None,
            "tokens_per_s": sum(b.real_tokens for b in timed) / window if window else None,
            "padding_waste": 1.0 - real / padded if padded else 0.0,
            "tokens_per_s_median_step": statistics.median(per_step) if per_step else None,
            "seconds_per_step": window / len(timed),
            "timed_from": timed_from,
            "time_to_first_loss_s": self.first_loss_at - self.launched_at,
            "final_loss": statistics.fmean(self.losses[-last:]),
            "losses": self.losses,
            "step_seconds": seconds,  # steps 2..N: end of the step minus end of the one before
            "step_real_tokens": [b.real_tokens for b in trained],
            "step_examples": [b.examples for b in trained],
            "batch_fingerprints": [b.fingerprint for b in trained],
            "peak_rss_mb": peak_rss_mb(),
            **process_counters(),
            "peak_gpu_mb": peak_gpu_mb(),
            "tflops_per_s": useful / window / 1e12 if useful and window else None,
            "mfu": useful / window / self.peak_flops
            if useful and window and self.peak_flops
            else None,
            "reported_samples_per_s": self.reported_samples_per_s,
            "notes": self.notes,
        }


class RecordingCollator:
    """Wraps a collate function returning ``input_ids``/``attention_mask``; records each batch."""

    def __init__(self, collate: Callable[[list[Any]], Any], recorder: StepRecorder) -> None:
        self.collate = collate
        self.recorder = recorder

    def __call__(self, examples: list[Any]) -> Any:
        batch = self.collate(examples)
        self.recorder.batch(batch["input_ids"], batch["attention_mask"], batch.get("position_ids"))
        return batch


def example_lengths(positions: list[int]) -> list[int]:
    """Lengths of the examples in one packed row, from its positions restarting at 0."""
    starts = [i for i, p in enumerate(positions) if p == 0]
    return [b - a for a, b in zip(starts, [*starts[1:], len(positions)], strict=True)]


def peak_gpu_mb() -> float | None:
    """Peak CUDA memory allocated by tensors in this process, in MiB; None without CUDA."""
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return None
    return torch.cuda.max_memory_allocated() / 2**20


def process_counters() -> dict[str, int]:
    """Page faults and context switches of this process so far (all threads): a run
    that faults pages in again every step, or loses its cores often, shows here."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "minor_page_faults": usage.ru_minflt,
        "voluntary_switches": usage.ru_nvcsw,
        "involuntary_switches": usage.ru_nivcsw,
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
