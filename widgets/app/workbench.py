"""Workbench: the whole fine-tuning flow in one notebook cell.

>>> from widgets import Workbench
>>> wb = Workbench()  # Data · Model · Hyperparameters · Train · Evaluate · Explain · Runs · Sweep
>>> wb                        # (last expression of the cell: displays it)

All panels share one :class:`~widgets.form.form.ConfigForm`, so every setting has exactly one
control and ``wb.config()`` is the TrainConfig they describe. Re-running the cell shows
the run this kernel started last (live if it still trains); ``attach=`` shows any run
handle or run directory instead, and ``attach=None`` starts blank.

``wb.report()`` returns a plain PNG + table report of the current run that survives any
notebook export.

Evaluate and Explain follow the Train tab: when a run starts there (or is attached) they
show it, and when it ends they show its results and select its model — unless the user has
opened another run in them since; a new run takes them over again. The Train tab's status
label is the signal: it changes when a run starts, pauses, resumes or ends, whichever
thread writes it (the pump, or a click for a run that ended at once), so the hand-over runs
in one worker (``follow_job``) and never holds up the pump.

The Sweep tab (:mod:`widgets.sweep.sweep_panel`) searches around the form's settings: every
trial is a run of its own, which **Open in Evaluate** / **Open in Explain** show in those
tabs and **Use these settings** copies into the form.

Lesson mode (:mod:`widgets.app.lesson`): ``Workbench(lesson=Lesson(fixed=..., editable=...,
tabs=...))`` fixes settings and hides their controls and tabs; ``wb.state()`` is the whole
workbench (settings, lesson, open tab) as one copyable string, and
``Workbench.from_state(text)`` restores it.
"""

from __future__ import annotations

import html as _html
import threading
from pathlib import Path
from typing import Any

import ipywidgets as w

from widgets.app import registry
from widgets.app.lesson import (
    Lesson,
    StateError,
    config_from_state,
    decode_state,
    encode_state,
    lesson_from_state,
)
from widgets.explain.attribution_view import AttributionView
from widgets.explain.explain_tab import ExplainTab
from widgets.form.form import ConfigForm
from widgets.live.background import LatestJob
from widgets.panels.data_panel import DataPanel
from widgets.panels.evaluate_panel import EvaluatePanel
from widgets.panels.hyperparameters_panel import HyperparametersPanel
from widgets.panels.model_panel import ModelPanel
from widgets.panels.runs_panel import RunsPanel
from widgets.panels.train_panel import TrainPanel
from widgets.render import html
from widgets.render.report import RunReport, report
from widgets.sweep.sweep_panel import SweepPanel
from workbench.config import ConfigError, TrainConfig
from workbench.runs import RunHandle

TITLES = ("Data", "Model", "Hyperparameters", "Train", "Evaluate", "Explain", "Runs", "Sweep")
MODEL_TAB, TRAIN_TAB, EVALUATE_TAB, EXPLAIN_TAB, RUNS_TAB, SWEEP_TAB = 1, 3, 4, 5, 6, 7
#: Train-tab statuses after which Evaluate and Explain have something new to show.
FOLLOWED_STATUSES = ("running", "completed", "stopped", "failed")


class Workbench(w.VBox):
    """Data, model, hyperparameters, training, evaluation and run comparison as tabs.

    Parameters
    ----------
    config
        Initial settings (default ``TrainConfig()``: the offline demo).
    data
        A pandas DataFrame or ``datasets.Dataset`` to train on instead of ``dataset``.
    attach
        ``"latest"`` (default): the run this kernel started last, if any; a RunHandle or
        run directory: that run (its settings fill the controls); None: start blank.
    runs_dir
        Folder the Runs tab lists (default: the config's ``runs_dir``).
    lr_find_steps, max_points
        Steps of the LR range test; loss points kept for drawing.
    lesson
        A :class:`~widgets.app.lesson.Lesson`: settings it fixes are used and hidden, and only
        its tabs are shown.
    """

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        data: Any = None,
        attach: Any = "latest",
        runs_dir: str | Path | None = None,
        lr_find_steps: int = 100,
        max_points: int = 2000,
        lesson: Lesson | None = None,
    ) -> None:
        config = config or TrainConfig()
        self.lesson = lesson
        self.titles = _chosen_tabs(lesson)
        if isinstance(attach, str) and attach == "latest":
            attach = registry.latest()
        view, problem = None, ""
        if attach is not None:
            try:
                view = registry.resolve(attach)
                config = view.config or config
            except (ValueError, TypeError, OSError) as err:
                problem = str(err)
        self.form = ConfigForm(config, lesson=lesson)
        self.data_panel = DataPanel(form=self.form, data=data)
        self.model_panel = ModelPanel(form=self.form, num_labels=self._num_labels, count_now=False)
        self.hyperparameters_panel = HyperparametersPanel(
            form=self.form, data=self.data_panel.source, lr_find_steps=lr_find_steps
        )
        self.train_panel = TrainPanel(
            form=self.form, data=self.data_panel.source, max_points=max_points
        )
        self.evaluate_panel = EvaluatePanel(on_explain=self._open_in_explain, form=self.form)
        self.explain_view = AttributionView()  # words of a text classifier
        self.explain_tab = ExplainTab(self.explain_view)  # … or the pixels of an image one
        self.runs_panel = RunsPanel(runs_dir or config.run.runs_dir, max_points=max_points)
        self.sweep_panel = SweepPanel(
            form=self.form,
            data=self.data_panel.source,
            on_open=self._open_trial,
            max_points=max_points,
        )
        panels = {
            "Data": self.data_panel,
            "Model": self.model_panel,
            "Hyperparameters": self.hyperparameters_panel,
            "Train": self.train_panel,
            "Evaluate": self.evaluate_panel,
            "Explain": self.explain_tab,
            "Runs": self.runs_panel,
            "Sweep": self.sweep_panel,
        }
        self.tab = w.Tab(children=[panels[t] for t in self.titles], titles=self.titles)
        self.tab.observe(self._on_tab, names="selected_index")
        self.form.on_change(self._on_setting)
        self._followed: Any = None  # the Train tab's run last handed to Evaluate/Explain
        self._followed_live = False  # … and whether it was still training then
        self._follow_lock = threading.Lock()  # the follow job vs a tab click (main thread)
        self.follow_job = LatestJob("workbench-follow")
        self.train_panel.status_label.observe(self._on_run_status, names="value")
        if problem:
            problem += (
                "\nGive the folder of a run (the Runs tab lists them), or attach=None to "
                "start blank."
            )
        header = w.HTML(html.error(problem) if problem else "")
        self.lesson_note = w.HTML(_lesson_html(lesson, self.form.config()) if lesson else "")
        super().__init__([self.lesson_note, header, self.tab])
        if view is not None:
            self.train_panel.attach(view)
            if "Train" in self.titles:
                self.select("Train")

    # -- what notebooks and tests use ------------------------------------------
    def config(self) -> TrainConfig:
        """The TrainConfig the controls describe (raises ConfigError when invalid)."""
        return self.form.config()

    @property
    def handle(self) -> RunHandle | None:
        """The run the Train tab follows (None before the first Train, or for a directory)."""
        return self.train_panel.handle

    def train(self) -> RunHandle | None:
        """Same as clicking **Train**."""
        return self.train_panel.train()

    def current_run(self) -> Any:
        """The run shown: the live/finished handle, else the attached run directory."""
        if self.train_panel.handle is not None:
            return self.train_panel.handle
        return self.train_panel.run_dir

    def select(self, title: str) -> None:
        """Open the tab called ``title`` (one of the tabs shown)."""
        if title not in self.titles:
            raise ValueError(f"no tab {title!r} here; tabs: {', '.join(self.titles)}")
        self.tab.selected_index = self.titles.index(title)

    def state(self) -> str:
        """The whole workbench — settings, lesson, open tab — as one copyable string.

        Restore it with :meth:`from_state`. It holds settings, not data: a DataFrame passed
        as ``data=`` must be passed again. Raises ConfigError while the settings are invalid.
        """
        self.form.config()  # an invalid combination cannot be restored: say so now
        index = self.tab.selected_index
        return encode_state(
            {
                "config": self.form.values(),
                "lesson": self.lesson.to_dict() if self.lesson is not None else None,
                "tab": self.titles[index] if index is not None else None,
            }
        )

    @classmethod
    def from_state(cls, text: str, **kwargs: Any) -> Workbench:
        """A workbench restored from :meth:`state`'s string (``StateError`` when damaged).

        ``kwargs`` go to the constructor (e.g. ``data=``); no run is attached.
        """
        payload = decode_state(text)
        config, lesson = config_from_state(payload), lesson_from_state(payload)
        try:
            wb = cls(config, lesson=lesson, attach=None, **kwargs)
        except ConfigError as err:
            raise StateError(f"the state string holds a lesson that does not fit: {err}") from None
        if payload.get("tab") in wb.titles:
            wb.select(payload["tab"])
        return wb

    def report(self) -> RunReport:
        """A plain PNG + metrics report of the current run (survives notebook export)."""
        run = self.current_run()
        if run is None:
            return RunReport("no run yet", b"", {}, "no run yet: click Train first")
        return report(run)

    # -- callbacks (main thread) -----------------------------------------------
    def _num_labels(self) -> int | None:
        labels = self.data_panel.labels
        return len(labels) if labels else None

    def _on_tab(self, change: Any) -> None:
        title = self.titles[change["new"]] if change["new"] is not None else None
        if title == "Model" and self.model_panel.counts is None:
            self.model_panel.refresh_counts()
        elif title in ("Evaluate", "Explain"):
            self.follow_train()
        elif title == "Runs":
            self.runs_panel.refresh()

    def _on_run_status(self, change: Any) -> None:
        """The Train tab's status changed (pump thread, or main thread for a finished run)."""
        if change["new"] in FOLLOWED_STATUSES:
            self.follow_job.submit(self.follow_train)

    def follow_train(self) -> None:
        """Show the Train tab's run in Evaluate and Explain.

        A run they have not been given yet is shown in both. A run they were given while it
        trained is shown again once it has ended, in whichever of the two still shows it:
        a run the user opened there meanwhile stays. Otherwise nothing changes, so a view
        computed in Explain is not thrown away by opening the tab again.
        """
        run = self.current_run()
        if run is None:
            return
        live = isinstance(run, RunHandle) and not run.done
        with self._follow_lock:
            new = run is not self._followed
            ended = not new and self._followed_live and not live
            if not (new or ended):
                return
            self._followed, self._followed_live = run, live
            if new or self.evaluate_panel.source is run:
                self.evaluate_panel.show(run)
            if new or self.explain_tab.source is run:
                self.explain_tab.show(run)

    def _open_in_explain(self, row: dict[str, Any], run: Any) -> None:
        """An **Explain** click in Evaluate: that example, explained in the Explain tab."""
        self.explain_tab.open_example(row, run)
        if "Explain" in self.titles:
            self.select("Explain")

    def _open_trial(self, run_dir: Path, tab: str) -> None:
        """A sweep trial picked in the Sweep tab, shown in Evaluate or Explain (opening
        the tab must not bring the Train tab's run back over it)."""
        run = self.current_run()
        with self._follow_lock:
            self._followed = run
            self._followed_live = isinstance(run, RunHandle) and not run.done
        if tab == "Explain":
            self.explain_tab.show(run_dir)
        else:
            self.evaluate_panel.show(run_dir)
        if tab in self.titles:
            self.select(tab)

    def _on_setting(self, name: str) -> None:
        if name == "runs_dir":
            self.runs_panel.runs_dir = self.form.controls["runs_dir"].get()


def _chosen_tabs(lesson: Lesson | None) -> tuple[str, ...]:
    """The tab titles to show, in the usual order; ConfigError for an unknown one."""
    if lesson is None or lesson.tabs is None:
        return TITLES
    unknown = [t for t in lesson.tabs if t not in TITLES]
    if unknown or not lesson.tabs:
        raise ConfigError(
            f"lesson tabs must be some of {', '.join(TITLES)}; got {list(lesson.tabs)}"
        )
    return tuple(t for t in TITLES if t in lesson.tabs)


def _lesson_html(lesson: Lesson, config: TrainConfig) -> str:
    """Title, goal and the fixed settings of a lesson, escaped."""
    flat = config.flat()
    fixed = ", ".join(f"{name} = {html.plain(flat[name])}" for name in lesson.fixed)
    parts = [
        f"<h3>{_html.escape(lesson.title)}</h3>" if lesson.title else "",
        f"<p>{_html.escape(lesson.goal)}</p>" if lesson.goal else "",
        html.note(f"fixed by this lesson: {fixed}") if fixed else "",
    ]
    return "".join(parts)
