"""TrainPanel: Train / Pause-Resume / Stop, status, progress, device, and the live curves.

**Train** validates the form, calls ``workbench.train(config, data=...)`` (which returns at
once: the run lives in the engine's worker thread) and starts one
:class:`~widgets.live.pump.RunPump` that feeds this panel and its
:class:`~widgets.panels.curves_panel.LossCurvesPanel`. The kernel stays free: clicks only set
flags on the run's control object (CONVENTIONS rule 5).

The coach's findings (:class:`~widgets.panels.coach_panel.FindingsView`) appear below the
status: the pre-flight checks as soon as the run has made them (before step 1), the
diagnosis when it ends, each fix with **Apply**, and after the run **Apply & re-run**. A
run the pre-flight stopped (an ``error`` finding) shows its message in red like any
failed run, with the finding and its fix below.

Thread ownership: the pump writes the live widgets (``status_label``, ``progress``,
``progress_text``, ``device_label``, ``message``, ``findings`` and the buttons' state)
while a run lasts; click callbacks only call the handle and write the form (its controls
and ``notice``). So **Pause** flips to **Resume** on the pump's next tick, which a click
brings forward (``pump.wake()``).

Changing a setting during a run: the learning rate (``restart=False`` in its metadata)
goes to ``handle.set_lr`` and applies at the next step; anything else says it takes
effect on the next run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from widgets.app import registry
from widgets.form.form import ConfigForm
from widgets.live.pump import RunPump
from widgets.live.state import RunState
from widgets.panels.coach_panel import FindingsView
from widgets.panels.curves_panel import LossCurvesPanel
from widgets.render import html
from workbench.methods import METHODS
from workbench.runs import RunHandle, train

#: Settings that a running loop accepts, by name (their metadata says ``restart=False``).
LIVE_SETTERS: dict[str, Callable[[RunHandle, Any], None]] = {
    "lr": lambda handle, value: handle.set_lr(value),
}
BAR_STYLES = {"completed": "success", "failed": "danger", "stopped": "warning"}


class TrainPanel(w.VBox):
    """Start, watch and steer a run.

    Parameters
    ----------
    config
        Initial settings when no ``form`` is given.
    data
        A DataFrame / ``datasets.Dataset`` to train on, or a zero-argument callable that
        returns one (or None to use ``config.data.dataset``).
    form
        A shared :class:`~widgets.form.form.ConfigForm` (the Workbench passes its own).
    attach
        A RunHandle or run directory to show at once (live if it trains in this kernel).
    """

    def __init__(
        self,
        config: Any = None,
        *,
        data: Any = None,
        form: ConfigForm | None = None,
        attach: Any = None,
        max_points: int = 2000,
        train_options: dict[str, Any] | None = None,
    ) -> None:
        self.form = form or ConfigForm(config)
        self._data = data
        # more keyword arguments for workbench.train: callbacks=[TrainerCallback …], parts=
        self.train_options = dict(train_options or {})
        self.max_points = max_points
        self.handle: RunHandle | None = None
        self.run_dir: Path | None = None  # the attached run directory (a finished run)
        self.pump: RunPump | None = None
        self.train_button = w.Button(description="Train", button_style="success", icon="play")
        self.pause_button = w.Button(description="Pause", disabled=True, icon="pause")
        self.stop_button = w.Button(description="Stop", button_style="danger", disabled=True)
        self.evaluate_button = w.Button(description="Evaluate now", disabled=True)
        self.status_label = w.Label("idle")
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="420px"))
        self.progress_text = w.Label("")
        self.device_label = w.Label("")
        self.message = w.HTML()
        self.findings = FindingsView(self.form, rerun=self.train)
        self._findings_shown: tuple[list[dict[str, Any]], bool] = ([], False)
        self.curves = LossCurvesPanel(max_points=max_points)
        self.curves.caption.layout.display = "none"  # this panel shows status itself
        self.train_button.on_click(lambda _: self.train())
        self.pause_button.on_click(lambda _: self._pause_or_resume())
        self.stop_button.on_click(lambda _: self._stop())
        self.evaluate_button.on_click(lambda _: self._evaluate_now())
        self.form.on_change(self._setting_changed)
        buttons = [self.train_button, self.pause_button, self.stop_button, self.evaluate_button]
        super().__init__(
            [
                w.HBox(buttons),
                w.HBox([w.Label("status:"), self.status_label, self.progress]),
                self.progress_text,
                self.device_label,
                self.message,
                self.findings,
                self.form.error,
                self.form.notice,
                self.curves,
                w.HTML("<b>Run options</b>"),
                self.form.box("run"),
            ]
        )
        if attach is not None:
            self.attach(attach)

    # -- state tests and notebooks read ----------------------------------------
    @property
    def live(self) -> bool:
        """True while a run this panel follows is still going."""
        return self.handle is not None and not self.handle.done

    def source(self) -> Any:
        """What ``train(data=...)`` gets: the DataFrame given, or None (config.data.dataset)."""
        return self._data() if callable(self._data) else self._data

    # -- actions ---------------------------------------------------------------
    def train(self) -> RunHandle | None:
        """What **Train** does; returns the new handle, or None with the reason shown."""
        if self.live:
            self.form.say("a run is still going: Stop it before starting another", True)
            return None
        config, problem = self.form.check()
        if config is None:
            self.form.say(problem or "invalid settings", True)
            return None
        try:
            handle = train(config, data=self.source(), **self.train_options)
        except Exception as err:  # shown in the panel, never a traceback in the output
            self.form.say(f"{type(err).__name__}: {err}", True)
            return None
        registry.register(handle)
        self.attach(handle)
        self.form.say(f"training started (peak lr {handle.config.optim.lr:g})")
        return handle

    def attach(self, source: Any) -> None:
        """Show a run: follow it live if it trains in this kernel, else show how it ended."""
        if self.pump is not None:
            self.pump.stop()
            self.pump = None
        try:
            view = registry.resolve(source)
        except (ValueError, TypeError, OSError) as err:
            self.form.say(str(err), True)
            return
        self.handle, self.run_dir = view.handle, view.run_dir
        # A run that already ended (even one that failed within a second of Train) is drawn
        # here, once; only a live run needs a pump.
        if view.live and view.handle is not None:
            pump = RunPump(view.handle, [self, self.curves], self.max_points)
            self.curves.follow(pump)
            self.pump = pump.start()
            return
        state = RunState(self.max_points)
        state.consume(view.events)
        state.status = view.status
        state.error = str(view.summary.get("error") or view.message or "")
        self.update(state, final=True, draw=True)
        self.curves.show(view)

    def _pause_or_resume(self) -> None:
        if not self.live or self.handle is None:
            self.form.say("no run is going")
            return
        if self.handle.status == "paused":
            self.handle.resume()
        else:
            self.handle.pause()
        if self.pump is not None:
            self.pump.wake()

    def _stop(self) -> None:
        if self.live and self.handle is not None:
            self.handle.stop()
            if self.pump is not None:
                self.pump.wake()

    def _evaluate_now(self) -> None:
        if self.live and self.handle is not None:
            self.handle.evaluate_now()
            self.form.say("evaluating at the next step")

    def _setting_changed(self, name: str) -> None:
        if not self.live or self.handle is None:
            return
        control = self.form.controls[name]
        if control.meta.get("restart", True) is False and name in LIVE_SETTERS:
            value = control.get()
            if value is None and name == "lr":
                method = METHODS.get(self.form.controls["method"].get())
                value = method.default_lr if method else None
            if value is not None:
                LIVE_SETTERS[name](self.handle, value)
                self.form.say(f"{name} → {value:g}: applied from the next step")
                return
        self.form.say(f"{name} takes effect on the next run (restart needed)")

    # -- the view protocol (called by the pump) --------------------------------
    def live_widgets(self) -> list[w.Widget]:
        return [
            self.status_label,
            self.progress,
            self.progress_text,
            self.device_label,
            self.message,
            self.findings,
            self.train_button,
            self.pause_button,
            self.stop_button,
            self.evaluate_button,
        ]

    def update(self, state: RunState, final: bool, draw: bool) -> None:
        status = state.status
        self.status_label.value = status
        self.progress.max = max(state.total_steps, state.step, 1)
        self.progress.value = state.step
        self.progress.bar_style = BAR_STYLES.get(status, "") if final else ""
        self.progress_text.value = progress_text(state)
        self.device_label.value = device_text(state)
        if state.error:
            self.message.value = html.error(state.error)
        else:
            self.message.value = html.note(state.message) if state.message else ""
        going = status in ("running", "paused") and not final
        self.train_button.disabled = going
        self.pause_button.disabled = not going
        self.pause_button.description = "Resume" if status == "paused" and going else "Pause"
        self.pause_button.icon = "play" if status == "paused" and going else "pause"
        self.stop_button.disabled = not going
        self.evaluate_button.disabled = not going
        self._show_findings(state, ended=final)

    def _show_findings(self, state: RunState, ended: bool) -> None:
        """Rebuild the findings view only when they changed (the pump ticks at 5 Hz);
        **Apply & re-run** is offered once the run has ended."""
        shown = (state.all_findings, ended)
        if shown != self._findings_shown:
            self._findings_shown = shown
            self.findings.show(shown[0], rerun=ended)


def progress_text(state: RunState) -> str:
    """``epoch 1.50/3 · step 12/24 · ETA 0:42 · 85.1 samples/s``."""
    last, total = state.last_step, state.total_steps
    if last is None:
        return f"step 0/{total}" if total else ""
    per_epoch = state.setup.get("steps_per_epoch") or 0
    epochs = f"/{total / per_epoch:g}" if per_epoch else ""
    parts = [f"epoch {last['epoch']:.2f}{epochs}", f"step {last['step']}/{total or '?'}"]
    eta = state.eta_seconds()
    if eta is not None and last["step"] < total and state.status in ("running", "paused"):
        parts.append(f"ETA {int(eta // 60)}:{int(eta % 60):02d}")
    parts.append(f"{last.get('samples_per_s', 0):.1f} samples/s")
    return " · ".join(parts)


def device_text(state: RunState) -> str:
    """``device cpu · memory 812 MB`` or ``device cuda:0 · GPU memory 1,204 MB``."""
    device = str(state.setup.get("device") or "")
    if not device:
        return ""
    text = f"device {device}"
    if state.last_step is not None and state.last_step.get("memory_mb") is not None:
        kind = "GPU memory" if device.startswith("cuda") else "memory (process RSS)"
        text += f" · {kind} {state.last_step['memory_mb']:,.0f} MB"
    return text
