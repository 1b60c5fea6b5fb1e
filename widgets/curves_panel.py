"""LossCurvesPanel: the curves of one run, live or finished, given any handle or directory.

>>> LossCurvesPanel(handle)            # follows a run training in this kernel
>>> LossCurvesPanel("runs/2024…-lora")  # live if that run trains here, else from events.jsonl

Shows training loss (raw + smoothed), validation loss, validation metric and learning
rate (:class:`~widgets.live_figure.LiveCurvesFigure`), a log-scale toggle, and an
overfitting flag with suggestions (:func:`workbench.diagnostics.detect_overfitting`).

Thread ownership: while a pump feeds the panel, only the pump writes ``image``,
``overfitting`` and ``caption``. The log-scale toggle (a main-thread callback) redraws
itself only when no pump is live; otherwise it marks the frame dirty for the pump. A lock
makes that decision and the pump's final frame mutually exclusive, so no toggle is lost.
"""

from __future__ import annotations

import html as _html
import threading
from typing import Any

import ipywidgets as w

from widgets import html
from widgets.live import RunState
from widgets.live_figure import LiveCurvesFigure
from widgets.pump import RunPump
from widgets.registry import resolve
from workbench.diagnostics import detect_overfitting, flag_sentence


class LossCurvesPanel(w.VBox):
    """Curves of one run. ``curve_points()`` is the number of training-loss points drawn.

    Parameters
    ----------
    source
        A RunHandle, a run directory, a ``workbench.runs.Run`` or a list of events.
    max_points
        Training-loss points kept for drawing (bucket averages beyond that).
    """

    def __init__(self, source: Any = None, *, max_points: int = 2000) -> None:
        self.max_points = max_points
        self.figure = LiveCurvesFigure()
        self.image = w.Image(format="png", layout=w.Layout(width="100%", max_width="900px"))
        self.log_scale = w.Checkbox(value=False, description="log-scale loss", indent=False)
        self.overfitting = w.HTML()
        self.caption = w.HTML()
        self.pump: RunPump | None = None  # the pump this panel started itself, if any
        self._feeder: RunPump | None = None  # the pump feeding this panel (own or a panel's)
        self._live = False
        self._dirty = False
        self._state = RunState(max_points)
        self._lock = threading.Lock()
        self.log_scale.observe(self._on_log_scale, names="value")
        super().__init__([self.caption, self.log_scale, self.image, self.overfitting])
        self._draw(self._state)
        if source is not None:
            self.show(source)

    # -- what tests and notebooks read -----------------------------------------
    def curve_points(self) -> int:
        """Training-loss points in the current frame (≤ ``max_points``)."""
        return self.figure.points

    @property
    def state(self) -> RunState:
        return self._state

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
            self.follow(RunPump(view.handle, [self], self.max_points).start(), own=True)
            return
        self.release()
        state = RunState(self.max_points)
        state.consume(view.events)
        state.status = view.status
        state.error = str(view.summary.get("error") or view.message or "")
        state.overfitting = detect_overfitting(view.events, view.config)
        where = f"{view.run_dir} · " if view.run_dir else ""
        self.update(state, final=True, draw=True, where=where)

    def follow(self, pump: RunPump, own: bool = False) -> None:
        """Let ``pump`` feed this panel (call before ``pump.start()`` or with own=True)."""
        self.release()
        with self._lock:
            self._feeder, self._live = pump, True
            self._state = pump.state
        if own:
            self.pump = pump

    def release(self) -> None:
        """Stop being fed by the current pump (stopping it if this panel started it)."""
        feeder, own = self._feeder, self.pump
        if feeder is not None:
            if feeder is own:
                feeder.stop()
            else:
                feeder.detach(self)
        with self._lock:
            self._feeder, self.pump, self._live = None, None, False

    # -- the view protocol (called by the pump) --------------------------------
    def live_widgets(self) -> list[w.Widget]:
        return [self.image, self.overfitting, self.caption]

    def update(self, state: RunState, final: bool, draw: bool, where: str = "") -> None:
        with self._lock:
            self._state = state
            if draw or self._dirty:
                self._draw(state)
            self.overfitting.value = overfitting_html(state.overfitting)
            text = f"{where}{state.status} · step {state.step}/{state.total_steps or '?'}"
            self.caption.value = html.note(text) + (html.error(state.error) if state.error else "")
            if final:
                self._live = False

    # -- internals -------------------------------------------------------------
    def _draw(self, state: RunState) -> None:
        self._dirty = False
        self.figure.update(state, log_scale=self.log_scale.value)
        self.image.value = self.figure.png()

    def _on_log_scale(self, change: Any) -> None:
        with self._lock:
            if self._live and self._feeder is not None:
                self._dirty = True  # the pump owns the image: it redraws on its next tick
                self._feeder.wake()
                return
            self._draw(self._state)


def overfitting_html(flag: dict[str, Any] | None) -> str:
    """The overfitting warning with its suggestions (escaped), or empty."""
    if not flag:
        return ""
    items = "".join(f"<li>{_html.escape(s)}</li>" for s in flag["suggestions"])
    sentence = _html.escape(flag_sentence(flag).removeprefix("Overfitting"))
    return f"<div style='color:#b26a00'><b>⚠ Overfitting</b>{sentence} Try:<ul>{items}</ul></div>"
