"""LiveChart: training curves drawn by the browser from data, fed a few points at a time.

Why this and not a PNG (NOTEBOOK_FACTS.md, "Drawing the live curve"): a matplotlib frame
costs the kernel 50–100 ms, so the pump had to ration frames and a 16-step run showed its
curve once, at the end. Here the kernel only keeps the series and sends the new points
(a custom comm message of a few bytes per step); the browser draws with uPlot, which
redraws a few thousand points in about a millisecond. That gives a curve that moves with
every step, a hover read-out, drag-zoom, shift-drag pan, double-click reset, a log-y
toggle, EMA smoothing and a "last N steps" window, at almost no cost to training.

Why anywidget + uPlot: anywidget ships its JupyterLab extension prebuilt in its wheel and
runs the same ES module in JupyterLab, Notebook 7 and VS Code, with no iframe and no
server; uPlot (MIT, ~50 KB) is the smallest fast line-chart library. Both bundle into one
file, ``widgets/static/live_chart.js`` (source in ``js/``, built once with esbuild and
committed), so nothing loads from a CDN at run time. bqplot was the alternative: a
heavier extension whose marks sync every point as widget state.

Data protocol: the synced traits ``data``/``markers``/``data_seq`` are a snapshot (set
for finished runs and at the end of a live run, so saved widget state holds the curve);
live points go as ``{"type": "append", "seq": n, "points": {id: [xs, ys]}}`` messages,
and a view that joins late or misses one sends ``{"type": "hello"}`` and gets a full
``reset``. Memory stays bounded on long runs: each series keeps its newest
``exact_tail`` points exactly and averages older ones pairwise whenever it exceeds
``max_points`` (:class:`SeriesBuffer`); a compaction resends that series whole.

Thread ownership: one writer per chart (the run's pump, or the main thread for finished
runs); ``_lock`` orders the sequence numbers when the main thread answers a "hello".
"""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

STATIC = Path(__file__).parent.parent / "static"


class SeriesBuffer:
    """An ``(x, y)`` series of bounded length: recent points exact, older ones averaged.

    When the buffer exceeds ``max_points``, the points before the newest ``exact_tail``
    are averaged in pairs (so a 10k-step run keeps every one of its last ``exact_tail``
    steps and a coarser picture of the rest). ``compactions`` counts those merges.
    """

    def __init__(self, max_points: int = 2000, exact_tail: int = 1000) -> None:
        self.max_points = max(4, max_points)
        self.exact_tail = max(1, min(exact_tail, self.max_points // 2))
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.count = 0  # raw points seen
        self.compactions = 0

    def __len__(self) -> int:
        return len(self.xs)

    def add(self, x: float, y: float) -> bool:
        """Append one point; True when older points were merged (the series changed)."""
        self.xs.append(float(x))
        self.ys.append(float(y))
        self.count += 1
        if len(self.xs) <= self.max_points:
            return False
        head = len(self.xs) - self.exact_tail
        head -= head % 2  # merge whole pairs; an odd one waits in the exact part
        xs, ys = self.xs[:head], self.ys[:head]
        self.xs = [(a + b) / 2 for a, b in zip(xs[::2], xs[1::2], strict=True)] + self.xs[head:]
        self.ys = [(a + b) / 2 for a, b in zip(ys[::2], ys[1::2], strict=True)] + self.ys[head:]
        self.compactions += 1
        return True

    def points(self) -> tuple[list[float], list[float]]:
        return list(self.xs), list(self.ys)


class LiveChart(anywidget.AnyWidget):
    """Line panels side by side (e.g. loss · validation metric · learning rate).

    Parameters
    ----------
    panels
        ``[{"id", "title", "log": allows log-y, "y_range": [lo, hi] or absent}]``.
    series
        ``[{"id", "panel", "label", "color", "width", "dash", "alpha", "points": draw
        markers, "smooth": id of a series to draw EMA-smoothed (computed in the browser
        with the chart's smoothing slider)}]``. The first series is the one whose point
        count ``points()`` and the browser's ``data-points`` report.
    max_points, exact_tail
        Bound per series (see :class:`SeriesBuffer`).
    """

    _esm = STATIC / "live_chart.js"
    _css = STATIC / "live_chart.css"

    panels = t.List(t.Dict()).tag(sync=True)
    series = t.List(t.Dict()).tag(sync=True)
    data = t.Dict().tag(sync=True)  # snapshot: series id -> [xs, ys]
    markers = t.List(t.Dict()).tag(sync=True)  # snapshot: {"x", "kind": "lr"|"epoch"}
    data_seq = t.Int(0).tag(sync=True)  # sequence number the snapshot is at
    x_max = t.Float(0.0).tag(sync=True)  # planned run length: the x axis stays still
    x_label = t.Unicode("optimizer step").tag(sync=True)
    smoothing = t.Float(0.6).tag(sync=True)  # EMA weight; the browser's slider sets it
    log_y = t.Bool(False).tag(sync=True)  # panels with "log": True switch to a log axis
    window = t.Int(0).tag(sync=True)  # 0: the whole run; N: follow the last N steps
    height = t.Int(220).tag(sync=True)
    empty_text = t.Unicode("no points yet").tag(sync=True)

    def __init__(
        self,
        panels: list[dict[str, Any]] | None = None,
        series: list[dict[str, Any]] | None = None,
        *,
        max_points: int = 2000,
        exact_tail: int = 1000,
        **kwargs: Any,
    ) -> None:
        super().__init__(panels=panels or [], series=series or [], **kwargs)
        self.max_points, self.exact_tail = max_points, exact_tail
        self._buffers: dict[str, SeriesBuffer] = {}
        self._markers: list[dict[str, Any]] = []
        self._seq = 0
        self._lock = threading.RLock()  # re-entered: snapshot() inside append/flush
        self.messages_sent = 0  # append/reset messages (what tests and benchmarks count)
        self.points_sent = 0
        self.on_msg(self._on_front_end)

    # -- reading ---------------------------------------------------------------------
    def points(self, series_id: str | None = None) -> int:
        """Points held for ``series_id`` (default: the first series)."""
        sid = series_id or (self.series[0]["id"] if self.series else "")
        with self._lock:
            buf = self._buffers.get(sid)
            return len(buf) if buf else 0

    def buffer(self, series_id: str) -> SeriesBuffer:
        buf = self._buffers.get(series_id)
        if buf is None:
            buf = self._buffers[series_id] = SeriesBuffer(self.max_points, self.exact_tail)
        return buf

    def snapshot(self) -> dict[str, list[list[float]]]:
        """Every series as ``{id: [xs, ys]}`` (a copy; safe while the pump appends)."""
        with self._lock:
            return {sid: [*map(list, buf.points())] for sid, buf in self._buffers.items()}

    # -- writing ---------------------------------------------------------------------
    def clear(self, x_max: float = 0.0) -> None:
        """Forget every point (a new run, or a run restarted after running out of memory)."""
        with self._lock:
            self._buffers, self._markers = {}, []
            self._seq += 1
            with self.hold_sync():
                self.data, self.markers, self.x_max = {}, [], float(x_max)
                self.data_seq = self._seq
            self._post({"type": "reset", "seq": self._seq, "data": {}, "markers": []})

    def append(
        self,
        points: dict[str, list[tuple[float, float]]],
        markers: list[dict[str, Any]] | None = None,
        x_max: float | None = None,
    ) -> None:
        """Add new points (and markers); send the browser only what is new."""
        with self._lock:
            new: dict[str, list[list[float]]] = {}
            replace: dict[str, list[list[float]]] = {}
            for sid, pts in points.items():
                buf = self.buffer(sid)
                start = len(buf)
                compacted = False
                for x, y in pts:
                    compacted = buf.add(x, y) or compacted
                if compacted:  # older points merged: resend the whole (bounded) series
                    replace[sid] = [*map(list, buf.points())]
                elif len(buf) > start:
                    new[sid] = [buf.xs[start:], buf.ys[start:]]
            self._markers.extend(markers or [])
            if not (new or replace or markers or x_max is not None):
                return
            self._seq += 1
            msg: dict[str, Any] = {"type": "append", "seq": self._seq, "points": new}
            if replace:
                msg["replace"] = replace
            if markers:
                msg["markers"] = list(markers)
            if x_max is not None:
                msg["x_max"] = float(x_max)
                self.x_max = float(x_max)  # the trait too: a page (re)load keeps the axis
            self.points_sent += sum(len(v[0]) for v in (*new.values(), *replace.values()))
            self._post(msg)

    def flush(self) -> None:
        """Copy the current series into the synced snapshot (at the end of a live run),
        so a page reload or a notebook saved with widget state shows the whole curve."""
        with self._lock, self.hold_sync():
            self.data = self.snapshot()
            self.markers = list(self._markers)
            self.data_seq = self._seq

    def set_data(
        self,
        data: dict[str, tuple[list[float], list[float]]],
        markers: list[dict[str, Any]] | None = None,
        x_max: float = 0.0,
    ) -> None:
        """Show finished series at once (a past run, an overlay of runs)."""
        with self._lock:
            self._buffers = {}
            for sid, (xs, ys) in data.items():
                buf = self.buffer(sid)
                for x, y in zip(xs, ys, strict=True):
                    buf.add(x, y)
            self._markers = list(markers or [])
            self._seq += 1
            with self.hold_sync():
                self.data = self.snapshot()
                self.markers = list(self._markers)
                self.x_max = float(x_max)
                self.data_seq = self._seq

    def static_png(self) -> bytes | None:
        """The chart as a matplotlib PNG (same series, colours, smoothing), or None if empty."""
        data = self.snapshot()
        if not any(xs for xs, _ in data.values()):
            return None
        from widgets.render.charts import chart_plot, png

        x_max = max([self.x_max, *(max(xs, default=0.0) for xs, _ in data.values())])
        fig, _ = chart_plot(self.panels, self.series, data, self.smoothing, x_max=x_max)
        return png(fig, dpi=72)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, plus a PNG for viewers that cannot run the widget (an export
        without widget state, GitHub): they fall back to the next type they can show."""
        return with_static_png(super()._repr_mimebundle_(**kwargs), self.static_png)

    # -- internals -------------------------------------------------------------------
    def _post(self, msg: dict[str, Any]) -> None:
        self.messages_sent += 1
        if self.comm is not None:  # a chart never displayed has no comm to send on
            self.send(msg)

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "hello":
            with self._lock:
                self._post(
                    {
                        "type": "reset",
                        "seq": self._seq,
                        "data": self.snapshot(),
                        "markers": list(self._markers),
                        "x_max": self.x_max,
                    }
                )


def with_static_png(bundle: Any, render: Any) -> Any:
    """``bundle`` with an ``image/png`` from ``render()`` added (when it draws something)."""
    if isinstance(bundle, dict):
        picture = render()
        if picture:
            bundle["image/png"] = base64.b64encode(picture).decode("ascii")
    return bundle
