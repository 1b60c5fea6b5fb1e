"""What a live view knows about a run, folded incrementally from its events.

:class:`RunState` consumes new events as the pump drains ``handle.history`` and keeps
only what the views draw: bounded curve buffers (:class:`Downsampler`), the last step,
the setup facts, the status text, and the coach's findings (``findings`` events: the
pre-flight checks before step 1, the diagnosis when the run ends). Memory and drawing
time stay flat however long the run is: a 50k-step run keeps at most ``max_points``
points per curve.
"""

from __future__ import annotations

import math
from typing import Any


class Downsampler:
    """At most ``max_points`` bucket averages of a growing ``(x, y)`` series.

    Points are averaged in buckets of ``bucket`` raw points; when the buffer overflows,
    neighbouring buckets merge pairwise and the bucket size doubles. So memory is
    O(max_points) and every drawn point is the mean of the same number of raw points.
    """

    def __init__(self, max_points: int = 2000) -> None:
        self.max_points = max(2, max_points)
        self.bucket = 1
        self.xs: list[float] = []
        self.ys: list[float] = []
        self._sum_x = self._sum_y = 0.0
        self._n = 0
        self.count = 0  # raw points seen

    def add(self, x: float, y: float) -> None:
        self.count += 1
        self._sum_x += x
        self._sum_y += y
        self._n += 1
        if self._n < self.bucket:
            return
        self.xs.append(self._sum_x / self._n)
        self.ys.append(self._sum_y / self._n)
        self._sum_x = self._sum_y = 0.0
        self._n = 0
        if len(self.xs) >= self.max_points:
            self._halve()

    def _halve(self) -> None:
        odd = len(self.xs) % 2
        if odd:  # the last full bucket waits as a partial bucket of the doubled size
            self._sum_x, self._sum_y = self.xs.pop() * self.bucket, self.ys.pop() * self.bucket
            self._n = self.bucket
        self.xs = [(a + b) / 2 for a, b in zip(self.xs[::2], self.xs[1::2], strict=True)]
        self.ys = [(a + b) / 2 for a, b in zip(self.ys[::2], self.ys[1::2], strict=True)]
        self.bucket *= 2

    def points(self) -> tuple[list[float], list[float]]:
        """The buckets so far plus the partial one: at most ``max_points`` points."""
        if self._n:
            return self.xs + [self._sum_x / self._n], self.ys + [self._sum_y / self._n]
        return list(self.xs), list(self.ys)


class RunState:
    """Everything the live views show, updated by :meth:`consume` with new events."""

    def __init__(self, max_points: int = 2000, smoothing: float = 0.9) -> None:
        self.loss = Downsampler(max_points)
        self.smoothed = Downsampler(max_points)
        self.lr = Downsampler(max_points)
        self.val_loss = Downsampler(max_points)
        self.val_f1 = Downsampler(max_points)
        self.val_accuracy = Downsampler(max_points)
        self.lr_changes: list[float] = []
        self.setup: dict[str, Any] = {}
        self.last_step: dict[str, Any] | None = None
        self.first_step: dict[str, Any] | None = None
        self.status = "idle"
        self.message = ""
        self.error = ""
        self.summary: dict[str, Any] | None = None
        self.new_eval = False  # an eval arrived since the last check (overfitting test)
        self.overfitting: dict[str, Any] | None = None
        #: The coach's findings (dicts) by stage: "preflight", "diagnosis".
        self.findings: dict[str, list[dict[str, Any]]] = {}
        self._beta, self._avg, self._n = smoothing, 0.0, 0

    @property
    def total_steps(self) -> int:
        return int(self.setup.get("total_steps") or 0)

    @property
    def step(self) -> int:
        return int(self.last_step["step"]) if self.last_step else 0

    @property
    def all_findings(self) -> list[dict[str, Any]]:
        """Pre-flight findings, then the diagnosis (what ``summary.json`` keeps)."""
        return [*self.findings.get("preflight", []), *self.findings.get("diagnosis", [])]

    def consume(self, events: list[dict[str, Any]]) -> None:
        """Fold new events in (each event once, in order)."""
        for e in events:
            kind = e.get("type")
            if kind == "step":
                self._step(e)
            elif kind == "eval":
                self.val_loss.add(e["step"], e["val_loss"])
                if "val_macro_f1" in e:  # a causal LM measures no macro-F1
                    self.val_f1.add(e["step"], e["val_macro_f1"])
                self.val_accuracy.add(e["step"], e["val_accuracy"])
                self.new_eval = True
            elif kind == "setup":
                self.setup = e
            elif kind == "retry":  # out of memory: the run starts again from step 0
                self._restart()
            elif kind == "findings":
                self.findings[str(e.get("stage", "preflight"))] = list(e.get("findings") or [])
            elif kind == "lr_change":
                self.lr_changes.append(e["step"])
            elif kind == "status":
                self.message = str(e.get("message", ""))
            elif kind == "error":
                self.error = str(e.get("message", ""))
            elif kind == "end":
                self.status = str(e.get("status", self.status))
                self.summary = e.get("summary")
                self.message = self.status

    def _restart(self) -> None:
        """Forget the curves of an attempt that ran out of memory (a ``retry`` event)."""
        max_points = self.loss.max_points
        for name in ("loss", "smoothed", "lr", "val_loss", "val_f1", "val_accuracy"):
            setattr(self, name, Downsampler(max_points))
        self.lr_changes, self.first_step, self.last_step = [], None, None
        self.findings = {}  # the new attempt checks its own (smaller) batch again
        self._avg, self._n = 0.0, 0

    def _step(self, e: dict[str, Any]) -> None:
        loss = e.get("loss")
        if not isinstance(loss, (int, float)) or not math.isfinite(loss):
            return  # a NaN loss arrives as a string; the error event explains it
        if self.first_step is None:
            self.first_step = e
        self.last_step = e
        self._n += 1
        self._avg = self._beta * self._avg + (1 - self._beta) * loss
        self.loss.add(e["step"], loss)
        # bias-corrected EMA, as workbench.plots.smooth (fastai/TensorBoard smoothing)
        self.smoothed.add(e["step"], self._avg / (1 - self._beta**self._n))
        self.lr.add(e["step"], e["lr"])

    def eta_seconds(self) -> float | None:
        """Seconds left at the pace since the first step, from the events' own clocks."""
        first, last, total = self.first_step, self.last_step, self.total_steps
        if not first or not last or not total or last["step"] <= first["step"]:
            return None
        rate = (last["time"] - first["time"]) / (last["step"] - first["step"])
        return max(0.0, (total - last["step"]) * rate)
