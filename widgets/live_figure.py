"""The live curves: one Figure whose line artists are updated in place, rendered to PNG.

Never ``pyplot``, never ipympl (neither is thread-safe under JupyterLab ≥ 4.4 with
ipykernel 7; NOTEBOOK_FACTS.md): a plain :class:`matplotlib.figure.Figure` on a
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, built once, its artists moved
with ``set_data`` and the PNG bytes handed to an ``ipywidgets.Image``. The x axis is
fixed to the planned number of steps so the frame stays still while the curve grows.
"""

from __future__ import annotations

import io
import math
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from widgets.live import RunState


class LiveCurvesFigure:
    """Loss (raw, smoothed, validation) · validation metric · learning rate."""

    def __init__(self, width: float = 11.0, height: float = 3.2, dpi: int = 80) -> None:
        # A fixed layout, not "constrained": the solver would rerun on every frame (≈ 40 %
        # of the draw) although the frame never changes shape.
        self.fig = Figure(figsize=(width, height), dpi=dpi)
        FigureCanvasAgg(self.fig)
        self.loss_ax, self.metric_ax, self.lr_ax = self.fig.subplots(1, 3)
        self.fig.subplots_adjust(left=0.06, right=0.98, bottom=0.16, top=0.9, wspace=0.28)
        la, ma, ra = self.loss_ax, self.metric_ax, self.lr_ax
        self.raw = la.plot([], [], color="tab:blue", alpha=0.3, lw=1, label="train (raw)")[0]
        self.smooth = la.plot([], [], color="tab:blue", lw=2, label="train (smoothed)")[0]
        self.val = la.plot([], [], "o-", color="tab:orange", ms=3, label="validation")[0]
        self.f1 = ma.plot([], [], "o-", color="tab:green", ms=3, label="val macro-F1")[0]
        self.acc = ma.plot([], [], "s--", color="tab:olive", ms=3, label="val accuracy")[0]
        self.lr = ra.plot([], [], color="tab:gray", lw=1.5, label="learning rate")[0]
        # lr changes as one artist per axis: vertical segments separated by NaN, x in data
        # units and y in axes units (so they span the axis whatever its limits).
        self.marks = [
            ax.plot([], [], color="tab:red", ls=":", lw=1, label="lr change", transform=t)[0]
            for ax, t in ((la, la.get_xaxis_transform()), (ra, ra.get_xaxis_transform()))
        ]
        la.set(title="Loss", xlabel="optimizer step")
        ma.set(title="Validation metric", xlabel="optimizer step", ylim=(0, 1.02))
        ra.set(title="Learning rate", xlabel="optimizer step")
        ra.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
        for ax in (la, ma, ra):
            ax.grid(alpha=0.3)
            ax.legend(loc="upper right", fontsize=7)
        self.points = 0  # training-loss points currently drawn

    def update(self, state: RunState, log_scale: bool = False) -> None:
        """Move every artist to ``state``; keep the x range at the planned step count."""
        self.raw.set_data(*state.loss.points())
        self.smooth.set_data(*state.smoothed.points())
        self.val.set_data(*state.val_loss.points())
        self.f1.set_data(*state.val_f1.points())
        self.acc.set_data(*state.val_accuracy.points())
        self.lr.set_data(*state.lr.points())
        xs: list[float] = []
        ys: list[float] = []
        for step in state.lr_changes:
            xs += [step, step, math.nan]
            ys += [0.0, 1.0, math.nan]
        for mark in self.marks:
            mark.set_data(xs, ys)
        self.points = len(self.raw.get_xdata())
        right = max(state.total_steps, state.step, 1)
        for ax in (self.loss_ax, self.metric_ax, self.lr_ax):
            ax.set_xlim(0, right)
        self.loss_ax.set_yscale("log" if log_scale else "linear")
        for ax in (self.loss_ax, self.lr_ax):
            ax.relim()
            ax.autoscale_view(scalex=False)

    def png(self) -> bytes:
        """The current frame as PNG bytes (≈ 50 ms, ≈ 30 KiB)."""
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png")
        return buf.getvalue()

    def close(self) -> Any:
        self.fig.clear()
