"""SweepPanel: the Sweep tab — vary settings, watch every trial live, keep the best.

Pick the settings that vary and their ranges (:class:`~widgets.sweep.sweep_space.SpaceEditor`,
generated from the config metadata), the budget (trials, minutes), the objective, the
sampler and the pruner, and click **Start sweep**: the base settings are the form's (the
other tabs'), and ``workbench.sweeps.sweep`` runs the trials in its worker thread, each an
ordinary run in ``<sweep folder>/trials/trial-NNNN``. The kernel stays free.

While it runs, :class:`~widgets.sweep.sweep_view.SweepPump` (one thread) shows every trial's
validation curve on one :class:`~widgets.live.live_chart.LiveChart` (pruned trials faded, the
best drawn thick), each trial's score and the best so far on a second chart, the trials
table (settings, score, state, duration; sorted by score or by number), and — once three
trials have finished — the parameter importances and a slice per setting.

Pick a trial: **Open in Evaluate** / **Open in Explain** show its run in those tabs (the
Workbench passes ``on_open``), **Use these settings** copies its complete config into the
form (so **Train** retrains it). **Pause** / **Stop** steer the sweep: a paused sweep
pauses its runs at their next step and starts no trial; Stop stops the trial in progress
(tested and exported) and leaves the sweep resumable
(``workbench sweep --resume FOLDER``). A bad space or setting shows the engine's message
in red, and nothing starts.

Thread ownership: the start job (:class:`~widgets.live.background.LatestJob`) prepares the
sweep (Optuna is imported then, not at the click) and hands it to a new pump; from then
on the pump alone writes the live widgets (charts, table, trial picker, status, buttons,
analysis). Clicks only call the handle or write the form.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from widgets.form.form import ConfigForm
from widgets.live.background import LatestJob
from widgets.live.live_chart import LiveChart
from widgets.render import html
from widgets.sweep.sweep_space import SpaceEditor
from widgets.sweep.sweep_view import SweepPump, best_chart, trials_chart
from workbench.config import ConfigError
from workbench.sweeps.spec import PRUNERS, SAMPLERS
from workbench.tasks import get_task

LABEL_STYLE = {"description_width": "90px"}


class SweepPanel(w.VBox):
    """Settings to vary, budget, objective, sampler, pruner; live trials, table, analysis.

    Parameters
    ----------
    config
        Base settings when no ``form`` is given.
    form
        A shared :class:`~widgets.form.form.ConfigForm` (the Workbench passes its own).
    data
        A DataFrame / ``datasets.Dataset`` or a callable returning one (or None).
    on_open
        ``on_open(run_dir, tab)`` with tab ``"Evaluate"`` or ``"Explain"``.
    sweeps_dir
        Folder of new sweeps (default: ``sweeps/`` beside the form's runs folder).
    """

    def __init__(
        self,
        config: Any = None,
        *,
        form: ConfigForm | None = None,
        data: Any = None,
        on_open: Callable[[Path, str], None] | None = None,
        sweeps_dir: str | Path | None = None,
        max_points: int = 2000,
    ) -> None:
        self.form = form or ConfigForm(config)
        self._data = data
        self.on_open = on_open
        self.sweeps_dir = sweeps_dir
        self.max_points = max_points
        self.handle: Any = None
        self.pump: SweepPump | None = None
        self.space = SpaceEditor(lambda: self._flat())
        self.trials = w.BoundedIntText(12, min=1, max=1000, description="trials")
        self.minutes = w.BoundedFloatText(0.0, min=0.0, max=10_000.0, description="minutes")
        self.minutes.tooltip = "Start no trial after this many minutes (0: no limit)"
        self.objective = w.Dropdown(description="objective")
        self.sampler = w.Dropdown(options=list(SAMPLERS), value="tpe", description="sampler")
        self.pruner = w.Dropdown(options=list(PRUNERS), value="median", description="pruner")
        for c in (self.trials, self.minutes, self.objective, self.sampler, self.pruner):
            c.style = LABEL_STYLE
            c.layout.width = "260px"
        self.start_button = w.Button(description="Start sweep", icon="play", button_style="primary")
        self.pause_button = w.Button(description="Pause", icon="pause", disabled=True)
        self.stop_button = w.Button(description="Stop", icon="stop", disabled=True)
        self.start_button.on_click(lambda _: self.start())
        self.pause_button.on_click(lambda _: self._pause_or_resume())
        self.stop_button.on_click(lambda _: self.stop())
        self.status_label = w.Label("idle")
        self.progress = w.Label("")
        self.message = w.HTML()  # the engine's message in red, or where the sweep is
        self.chart: LiveChart = trials_chart(max_points=max_points)
        self.best_chart: LiveChart = best_chart()
        self.sort = w.Dropdown(
            options=[("score", "score"), ("trial number", "number")], description="sort by"
        )
        self.sort.observe(lambda _: self._wake(), names="value")
        self.table = w.HTML()
        self.trial_picker = w.Dropdown(options=[], description="trial")
        self.trial_picker.layout.width = "360px"
        self.evaluate_button = w.Button(description="Open in Evaluate", icon="table")
        self.explain_button = w.Button(description="Open in Explain", icon="search")
        self.use_button = w.Button(description="Use these settings", icon="copy")
        for b in (self.evaluate_button, self.explain_button, self.use_button):
            b.layout.width = "170px"
        self.evaluate_button.on_click(lambda _: self.open_trial("Evaluate"))
        self.explain_button.on_click(lambda _: self.open_trial("Explain"))
        self.use_button.on_click(lambda _: self.use_settings())
        self.trial_message = w.HTML()
        self.analysis = w.Image(format="png")
        self.analysis.layout.display = "none"
        self.analysis_note = w.HTML(html.note("importances appear after 3 finished trials"))
        self.start_job = LatestJob("workbench-sweep-start")
        self._refresh_objectives()
        self.form.on_change(lambda name: self._refresh_objectives() if name == "task" else None)
        super().__init__(
            [
                w.HTML("<b>Settings to vary</b> (the other settings come from the other tabs)"),
                self.space,
                w.HTML("<b>Budget and search</b>"),
                w.HBox([w.VBox([self.trials, self.minutes]), w.VBox([self.objective])]),
                w.HBox([self.sampler, self.pruner]),
                w.HBox([self.start_button, self.pause_button, self.stop_button]),
                w.HBox([w.Label("status:"), self.status_label, self.progress]),
                self.message,
                self.chart,
                self.best_chart,
                w.HBox([self.sort]),
                self.table,
                w.HBox([self.trial_picker, self.evaluate_button, self.explain_button]),
                w.HBox([self.use_button, self.trial_message]),
                w.HTML("<b>What matters</b>"),
                self.analysis_note,
                self.analysis,
            ]
        )

    # -- what notebooks and tests use ------------------------------------------------
    def start(self) -> None:
        """What **Start sweep** does: check, prepare and start in the background
        (``start_job.wait_idle()`` waits until the sweep runs or was refused)."""
        if self.handle is not None and not self.handle.done:
            self.message.value = html.error("a sweep is running: stop it first")
            return
        config, problem = self.form.check()
        space = self.space.space()
        source = self._data() if callable(self._data) else self._data
        options = {
            "trials": int(self.trials.value),
            "minutes": float(self.minutes.value) or None,
            "objective": self.objective.value,
            "sampler": self.sampler.value,
            "pruner": self.pruner.value,
        }
        self.start_button.disabled = True
        self.start_job.submit(lambda: self._start(config, problem, space, source, options))

    def show(self, handle: Any) -> None:
        """Follow a sweep started elsewhere (``workbench.sweeps.sweep``, live or finished):
        its trials, charts and table appear here as if **Start sweep** had started it."""
        if self.pump is not None:
            self.pump.stop()
        self.handle = handle
        self.message.value = html.note(f"sweep folder: {handle.folder}")
        self.pump = SweepPump(self, handle).start()

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
            self._wake()

    def selected(self) -> Any:
        """The trial picked in the trial list (a TrialRecord), or None."""
        number = self.trial_picker.value
        if self.pump is None or number is None:
            return None
        return next((t for t in self.pump.trials if t.number == number), None)

    def open_trial(self, tab: str) -> None:
        """Show the picked trial's run in the Evaluate or Explain tab."""
        trial = self.selected()
        if trial is None or trial.run_dir is None:
            self.trial_message.value = html.note("pick a trial first")
            return
        if self.on_open is None:
            self.trial_message.value = html.note(f"its run: {trial.run_dir}")
            return
        self.on_open(trial.run_dir, tab)

    def use_settings(self) -> None:
        """Copy the picked trial's complete settings into the form (the other tabs)."""
        trial = self.selected()
        if trial is None or self.handle is None:
            self.trial_message.value = html.note("pick a trial first")
            return
        try:
            config = self.handle.trial_config(trial.number)
        except Exception as err:  # a trial whose run never started has only its params
            self.trial_message.value = html.error(html.failure(err))
            return
        self.form.set_config(config)
        chosen = ", ".join(f"{k} = {html.plain(v)}" for k, v in trial.params.items())
        self.trial_message.value = html.note(
            f"trial {trial.number}'s settings are in the form: {chosen}"
        )

    # -- internals ---------------------------------------------------------------------
    def _start(
        self,
        config: Any,
        problem: str | None,
        space: dict[str, Any],
        source: Any,
        options: dict[str, Any],
    ) -> None:
        """The start job: prepare the sweep (every check), start it and its pump."""
        from workbench.sweeps import prepare_sweep

        self.message.value = html.note("checking the settings and the search space …")
        try:
            if config is None:
                raise ConfigError(problem or "invalid settings")
            handle = prepare_sweep(
                config, space, data=source, sweeps_dir=self.sweeps_dir, **options
            )
        except Exception as err:  # ConfigError, UserError …: shown in red, nothing started
            self.message.value = html.error(html.failure(err))
            self.start_button.disabled = False
            return
        if self.pump is not None:
            self.pump.stop()
        self.handle = handle.start()
        self.message.value = html.note(f"sweep folder: {handle.folder}")
        self.pump = SweepPump(self, handle).start()

    def _pause_or_resume(self) -> None:
        if self.handle is None:
            return
        if self.handle.status == "paused":
            self.handle.resume()
        else:
            self.handle.pause()
        self._wake()

    def _wake(self) -> None:
        if self.pump is not None:
            self.pump.wake()

    def _flat(self) -> dict[str, Any]:
        config, _ = self.form.check()
        return config.flat() if config is not None else {}

    def _refresh_objectives(self) -> None:
        values = {c.name: c.get() for c in self.form.controls.values()}
        try:
            metrics = list(get_task(values.get("task") or "text-classification").eval_metrics)
        except Exception:  # an unknown task: the form shows that error
            metrics = ["val_loss"]
        preferred = "val_macro_f1" if "val_macro_f1" in metrics else metrics[0]
        current = self.objective.value
        self.objective.options = metrics
        self.objective.value = current if current in metrics else preferred
