"""Training curves on a :class:`~widgets.live.live_chart.LiveChart`: what is drawn, from
which events.

:func:`training_chart` lays out the panels of one run — loss (training raw and smoothed,
validation), validation metric, learning rate, gradient norm — and :class:`ChartFeed`
turns engine events into chart points: ``step`` → loss, lr, grad norm; ``eval`` →
validation loss and metrics; ``lr_change`` → a red marker; ``setup`` → the planned run
length (a still x axis) and an epoch marker at every planned epoch boundary; ``retry``
(out of memory, started again) → a cleared chart. The pump hands a feed only the events
that are new since its last tick, so each step costs a message of a few bytes.

:func:`overlay_chart` puts several finished runs on one chart (one colour per run), for
the Runs tab.
"""

from __future__ import annotations

import math
from typing import Any

from widgets.live.live_chart import LiveChart

# matplotlib's tab10, so the live chart and the static PNGs (report, loss_curves.png) agree
TAB10 = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
PANELS: list[dict[str, Any]] = [
    {"id": "loss", "title": "Loss", "log": True},
    {"id": "metric", "title": "Validation metric", "y_range": [0, 1.02]},
    {"id": "lr", "title": "Learning rate"},
    {"id": "grad", "title": "Gradient norm (before clipping)", "log": True},
]
SERIES: list[dict[str, Any]] = [
    {"id": "loss", "panel": "loss", "label": "train (raw)", "color": "#1f77b4", "alpha": 0.35},
    {
        "id": "loss_smooth",
        "panel": "loss",
        "label": "train (smoothed)",
        "color": "#1f77b4",
        "width": 2,
        "smooth": "loss",
    },
    {
        "id": "val_loss",
        "panel": "loss",
        "label": "validation",
        "color": "#ff7f0e",
        "width": 2,
        "points": True,
    },
    {
        "id": "val_macro_f1",
        "panel": "metric",
        "label": "val macro-F1",
        "color": "#2ca02c",
        "width": 2,
        "points": True,
    },
    {
        "id": "val_accuracy",
        "panel": "metric",
        "label": "val accuracy",
        "color": "#bcbd22",
        "dash": [6, 4],
        "points": True,
    },
    {"id": "lr", "panel": "lr", "label": "learning rate", "color": "#7f7f7f"},
    {"id": "grad_norm", "panel": "grad", "label": "grad norm", "color": "#9467bd", "alpha": 0.8},
]
STEP_FIELDS = {"loss": "loss", "lr": "lr", "grad_norm": "grad_norm"}
EVAL_FIELDS = {
    "val_loss": "val_loss",
    "val_macro_f1": "val_macro_f1",
    "val_accuracy": "val_accuracy",
}
MAX_EPOCH_MARKERS = 10  # more lines would hide the curve


def training_chart(max_points: int = 2000, **kwargs: Any) -> LiveChart:
    """An empty chart with the panels of one training run."""
    kwargs.setdefault("empty_text", "no run yet: click Train (the curve appears at step 1)")
    return LiveChart(PANELS, SERIES, max_points=max_points, exact_tail=max_points // 2, **kwargs)


def _number(value: Any) -> float | None:
    """A finite float, or None (NaN losses arrive as strings; the error event explains)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


class ChartFeed:
    """Turns a run's events into points for ``chart``; call :meth:`feed` with new events."""

    def __init__(self, chart: LiveChart) -> None:
        self.chart = chart
        self.events_fed = 0

    def restart(self, events: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
        """Start over from ``events`` (a run shown from the start)."""
        self.chart.clear()
        self.events_fed = 0
        self.feed(list(events))

    def feed(self, events: list[dict[str, Any]]) -> None:
        """Send the points of ``events`` (new ones only) to the chart in one message."""
        points: dict[str, list[tuple[float, float]]] = {}
        markers: list[dict[str, Any]] = []
        x_max: float | None = None
        for e in events:
            kind = e.get("type")
            if kind == "retry":  # out of memory: the run starts again from step 0
                self.chart.clear()
                points, markers, x_max = {}, [], None
            elif kind == "setup":
                x_max = float(e.get("total_steps") or 0)
                markers.extend(epoch_markers(e))
            elif kind == "step":
                self._add(points, e, STEP_FIELDS)
            elif kind == "eval":
                self._add(points, e, EVAL_FIELDS)
            elif kind == "lr_change":
                markers.append({"x": float(e["step"]), "kind": "lr", "label": f"lr → {e['lr']:g}"})
        self.events_fed += len(events)
        if points or markers or x_max is not None:
            self.chart.append(points, markers, x_max)

    @staticmethod
    def _add(points: dict[str, list[tuple[float, float]]], e: dict[str, Any], fields: dict) -> None:
        step = _number(e.get("step"))
        if step is None:
            return
        for sid, key in fields.items():
            y = _number(e.get(key))
            if y is not None:
                points.setdefault(sid, []).append((step, y))


def epoch_markers(setup: dict[str, Any]) -> list[dict[str, Any]]:
    """Markers at the planned epoch boundaries inside the run; with many epochs, every
    k-th boundary only, so that at most ``MAX_EPOCH_MARKERS`` lines cross the curve."""
    per_epoch = int(setup.get("steps_per_epoch") or 0)
    total = int(setup.get("total_steps") or 0)
    if per_epoch <= 0 or total <= per_epoch:
        return []
    epochs = -(-total // per_epoch)  # the last boundary is the end of the run: not drawn
    every = -(-(epochs - 1) // MAX_EPOCH_MARKERS)
    return [
        {"x": float(k * per_epoch), "kind": "epoch", "label": f"epoch {k}"}
        for k in range(every, epochs, every)
        if k * per_epoch < total
    ]


def show_events(chart: LiveChart, events: list[dict[str, Any]]) -> None:
    """Draw a finished run's events and keep them in the synced snapshot."""
    ChartFeed(chart).restart(events)
    chart.flush()


def overlay_chart(runs: dict[str, list[dict[str, Any]]], max_points: int = 2000) -> LiveChart:
    """Several runs on one chart, one colour per run: smoothed training loss (solid),
    validation loss (dots) and validation metric."""
    chart = LiveChart(max_points=max_points, exact_tail=max_points // 2)
    chart.empty_text = "select two or more runs to overlay them"
    show_overlay(chart, runs)
    return chart


def show_overlay(chart: LiveChart, runs: dict[str, list[dict[str, Any]]]) -> None:
    """Redraw ``chart`` as an overlay of ``runs`` (``{name: events}``; empty clears it)."""
    series: list[dict[str, Any]] = []
    data: dict[str, tuple[list[float], list[float]]] = {}
    for i, (name, events) in enumerate(runs.items()):
        color = TAB10[i % len(TAB10)]
        steps = [
            e for e in events if e.get("type") == "step" and _number(e.get("loss")) is not None
        ]
        evals = [e for e in events if e.get("type") == "eval"]
        data[f"r{i}_loss"] = ([e["step"] for e in steps], [e["loss"] for e in steps])
        finite = [e for e in evals if _number(e.get("val_loss")) is not None]
        losses = [(e["step"], e["val_loss"]) for e in finite]
        data[f"r{i}_val"] = ([p[0] for p in losses], [p[1] for p in losses])
        metric = "val_macro_f1" if any("val_macro_f1" in e for e in evals) else "val_accuracy"
        pairs = [(e["step"], e[metric]) for e in evals if _number(e.get(metric)) is not None]
        data[f"r{i}_metric"] = ([p[0] for p in pairs], [p[1] for p in pairs])
        short = metric.removeprefix("val_").replace("macro_f1", "macro-F1")
        series += [
            {
                "id": f"r{i}_smooth",
                "panel": "loss",
                "label": f"{name} train",
                "color": color,
                "width": 2,
                "smooth": f"r{i}_loss",
            },
            {
                "id": f"r{i}_val",
                "panel": "loss",
                "label": f"{name} val",
                "color": color,
                "dash": [5, 4],
                "points": True,
            },
            {
                "id": f"r{i}_metric",
                "panel": "metric",
                "label": f"{name} {short}",
                "color": color,
                "points": True,
            },
        ]
    panels: list[dict[str, Any]] = [
        {"id": "loss", "title": "Loss: training (smoothed, —) and validation (--)", "log": True},
        {"id": "metric", "title": "Validation metric", "y_range": [0, 1.02]},
    ]
    x_max = max((max(xs, default=0) for xs, _ in data.values()), default=0)
    with chart.hold_sync():
        chart.panels, chart.series = panels, series
    chart.set_data(data, x_max=float(x_max))
