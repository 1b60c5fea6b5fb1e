"""LossCurvesPanel: the curves of one run, live or finished, given any handle or directory.

>>> LossCurvesPanel(handle)            # follows a run training in this kernel
>>> LossCurvesPanel("runs/2024…-lora")  # live if that run trains here, else from events.jsonl

Shows training loss (raw + smoothed), validation loss, validation metric, learning rate
and gradient norm on a :class:`~widgets.live.live_chart.LiveChart` drawn by the browser (hover
read-out, zoom, pan, log-y, smoothing, a "last N steps" window), and an overfitting flag
with suggestions (:func:`workbench.diagnostics.detect_overfitting`). Static pictures of
the same curves — ``wb.report()``, ``loss_curves.png`` in the run directory — stay with
matplotlib (:mod:`workbench.plots`), for copies that must survive any export.

Thread ownership: while a pump feeds the panel, only the pump writes ``chart``,
``overfitting`` and ``caption``; the chart's display options (smoothing, log-y, window)
are the browser's own and need no redraw from the kernel.
"""

from __future__ import annotations

import html as _html
import threading
from typing import Any

import ipywidgets as w

from widgets.app.registry import resolve
from widgets.live.live_chart import with_static_png
from widgets.live.pump import RunPump
from widgets.live.state import RunState
from widgets.live.training_chart import ChartFeed, show_events, training_chart
from widgets.render import html
from workbench.diagnostics import detect_overfitting, flag_sentence


class LossCurvesPanel(w.VBox):
    """Curves of one run. ``curve_points()`` is the number of training-loss points held.

    Parameters
    ----------
    source
        A RunHandle, a run directory, a ``workbench.runs.Run`` or a list of events.
    max_points
        Points kept per curve (the newest half exact, older ones averaged in pairs).
    """

    def __init__(self, source: Any = None, *, max_points: int = 2000) -> None:
        self.max_points = max_points
        self.chart = training_chart(max_points)
        self.feed = ChartFeed(self.chart)
        self.overfitting = w.HTML()
        self.caption = w.HTML()
        self.pump: RunPump | None = None  # the pump this panel started itself, if any
        self._feeder: RunPump | None = None  # the pump feeding this panel (own or a panel's)
        self._state = RunState(max_points)
        self._replay: list[dict[str, Any]] | None = None  # set by follow(): drawn by the pump
        self._lock = threading.Lock()
        super().__init__([self.caption, self.chart, self.overfitting])
        if source is not None:
            self.show(source)

    # -- what tests and notebooks read -----------------------------------------
    def curve_points(self) -> int:
        """Training-loss points the chart holds (≤ ``max_points``)."""
        return self.chart.points("loss")

    @property
    def state(self) -> RunState:
        return self._state

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The panel, plus a PNG of its chart for viewers that cannot run widgets."""
        return with_static_png(super()._repr_mimebundle_(**kwargs), self.chart.static_png)

    # -- choosing the run ------------------------------------------------------
    def show(self, source: Any) -> None:
        """Show a run: live through a pump if it trains in this kernel, else its events."""
        try:
            view = resolve(source)
        except (ValueError, TypeError, OSError) as err:  # RunError is a ValueError
            self.release()
            self.caption.value = html.error(str(err))
            return
        if view.live and view.handle is not None:
            self.follow(RunPump(view.handle, [], self.max_points), own=True)
            assert self.pump is not None
            self.pump.start()
            return
        self.release()
        state = RunState(self.max_points)
        state.consume(view.events)
        state.status = view.status
        state.error = str(view.summary.get("error") or view.message or "")
        state.overfitting = detect_overfitting(view.events, view.config)
        show_events(self.chart, view.events)
        where = f"{view.run_dir} · " if view.run_dir else ""
        self.update(state, final=True, draw=True, where=where)

    def follow(self, pump: RunPump, own: bool = False) -> None:
        """Let ``pump`` feed this panel from the start of its run (before or after
        ``pump.start()``: the events it already drained are replayed on its next tick, by
        the pump's thread, so the chart keeps a single writer)."""
        self.release()
        with self._lock:
            self._feeder = pump
            self._state = pump.state
            self._replay = []
        if own:
            self.pump = pump
        replay = self._replay
        pump.attach(self, replay=replay.extend)
        pump.wake()

    def release(self) -> None:
        """Stop being fed by the current pump (stopping it if this panel started it)."""
        feeder, own = self._feeder, self.pump
        if feeder is not None:
            if feeder is own:
                feeder.stop()
            else:
                feeder.detach(self)
        with self._lock:
            self._feeder, self.pump, self._replay = None, None, None

    # -- the view protocol (called by the pump) --------------------------------
    def live_widgets(self) -> list[w.Widget]:
        return [self.chart, self.overfitting, self.caption]

    def consume_events(self, events: list[dict[str, Any]]) -> None:
        """New events since the last tick: their points go to the browser."""
        self._replay_if_due()
        self.feed.feed(events)

    def _replay_if_due(self) -> None:
        """A newly followed run: clear the chart and draw what happened before (pump thread)."""
        if self._replay is not None:
            events, self._replay = self._replay, None
            self.feed.restart(events)

    def update(self, state: RunState, final: bool, draw: bool, where: str = "") -> None:
        self._replay_if_due()
        with self._lock:
            self._state = state
            self.overfitting.value = overfitting_html(state.overfitting)
            text = f"{where}{state.status} · step {state.step}/{state.total_steps or '?'}"
            self.caption.value = html.note(text) + (html.error(state.error) if state.error else "")
            if final and self._feeder is not None:
                self.chart.flush()  # the finished curve into the synced (saved) state


def overfitting_html(flag: dict[str, Any] | None) -> str:
    """The overfitting warning with its suggestions (escaped), or empty."""
    if not flag:
        return ""
    items = "".join(f"<li>{_html.escape(s)}</li>" for s in flag["suggestions"])
    sentence = _html.escape(flag_sentence(flag).removeprefix("Overfitting"))
    return f"<div style='color:#b26a00'><b>⚠ Overfitting</b>{sentence} Try:<ul>{items}</ul></div>"
