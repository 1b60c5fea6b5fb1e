"""Workbench: the whole fine-tuning flow in one notebook cell.

>>> from widgets import Workbench
>>> wb = Workbench()          # Data · Model · Hyperparameters · Train · Evaluate · Runs
>>> wb                        # (last expression of the cell: displays it)

All panels share one :class:`~widgets.form.ConfigForm`, so every setting has exactly one
control and ``wb.config()`` is the TrainConfig they describe. Re-running the cell shows
the run this kernel started last (live if it still trains); ``attach=`` shows any run
handle or run directory instead, and ``attach=None`` starts blank.

``wb.report()`` returns a plain PNG + table report of the current run that survives any
notebook export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as w

from widgets import html, registry
from widgets.data_panel import DataPanel
from widgets.evaluate_panel import EvaluatePanel
from widgets.form import ConfigForm
from widgets.hyperparameters_panel import HyperparametersPanel
from widgets.model_panel import ModelPanel
from widgets.report import RunReport, report
from widgets.runs_panel import RunsPanel
from widgets.train_panel import TrainPanel
from workbench.config import TrainConfig
from workbench.training import RunHandle

TITLES = ("Data", "Model", "Hyperparameters", "Train", "Evaluate", "Runs")
MODEL_TAB, TRAIN_TAB, EVALUATE_TAB, RUNS_TAB = 1, 3, 4, 5


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
    ) -> None:
        config = config or TrainConfig()
        if isinstance(attach, str) and attach == "latest":
            attach = registry.latest()
        view, problem = None, ""
        if attach is not None:
            try:
                view = registry.resolve(attach)
                config = view.config or config
            except (ValueError, TypeError, OSError) as err:
                problem = str(err)
        self.form = ConfigForm(config)
        self.data_panel = DataPanel(form=self.form, data=data)
        self.model_panel = ModelPanel(form=self.form, num_labels=self._num_labels, count_now=False)
        self.hyperparameters_panel = HyperparametersPanel(
            form=self.form, data=self.data_panel.source, lr_find_steps=lr_find_steps
        )
        self.train_panel = TrainPanel(
            form=self.form, data=self.data_panel.source, max_points=max_points
        )
        self.evaluate_panel = EvaluatePanel()
        self.runs_panel = RunsPanel(runs_dir or config.run.runs_dir, max_points=max_points)
        self.tab = w.Tab(
            children=[
                self.data_panel,
                self.model_panel,
                self.hyperparameters_panel,
                self.train_panel,
                self.evaluate_panel,
                self.runs_panel,
            ],
            titles=TITLES,
        )
        self.tab.observe(self._on_tab, names="selected_index")
        self.form.on_change(self._on_setting)
        header = w.HTML(html.error(problem) if problem else "")
        super().__init__([header, self.tab])
        if view is not None:
            self.train_panel.attach(view)
            self.tab.selected_index = TRAIN_TAB

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
        if change["new"] == MODEL_TAB and self.model_panel.counts is None:
            self.model_panel.refresh_counts()
        elif change["new"] == EVALUATE_TAB:
            run = self.current_run()
            if run is not None:
                self.evaluate_panel.show(run)
        elif change["new"] == RUNS_TAB:
            self.runs_panel.refresh()

    def _on_setting(self, name: str) -> None:
        if name == "runs_dir":
            self.runs_panel.runs_dir = self.form.controls["runs_dir"].get()
