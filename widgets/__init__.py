"""Notebook UI for Finetune Workbench: ipywidgets panels built on the headless engine.

>>> from widgets import Workbench
>>> Workbench()                       # the whole flow, as tabs, in one cell

Every tab is also a panel of its own: :class:`DataPanel`, :class:`ModelPanel`,
:class:`HyperparametersPanel` (with :class:`LRFinderPanel`), :class:`TrainPanel`,
:class:`LossCurvesPanel` (any run handle or run directory, live or finished),
:class:`EvaluatePanel`, :class:`AttributionView` and :class:`ImageExplainView` (the Explain
tab shows the one the run's task asks for: :class:`ExplainTab`), :class:`RunsPanel` and
:class:`SweepPanel` (hyperparameter sweeps; ``show(handle)`` follows one started in Python).
:class:`FindingsView` shows the coach's findings (``workbench.coach``) with **Apply**.
:func:`report` makes a plain PNG + table report of a run that survives notebook export.

Training never blocks the kernel: the engine trains in a worker thread and one pump per
live view carries events to the widgets at ≤ 4 Hz (see :mod:`widgets.live.pump`).
"""

from widgets.app.workbench import Workbench
from widgets.explain.attribution_view import AttributionView
from widgets.explain.explain_tab import ExplainTab
from widgets.explain.image_explain_view import ImageExplainView
from widgets.form.controls import FieldControl, control_for
from widgets.form.form import EXCLUDED, ConfigForm
from widgets.live.pump import RunPump
from widgets.panels.coach_panel import FindingsView
from widgets.panels.curves_panel import LossCurvesPanel
from widgets.panels.data_panel import DataPanel
from widgets.panels.evaluate_panel import EvaluatePanel
from widgets.panels.hyperparameters_panel import HyperparametersPanel
from widgets.panels.lr_finder_panel import LRFinderPanel
from widgets.panels.model_panel import ModelPanel
from widgets.panels.runs_panel import RunsPanel
from widgets.panels.train_panel import TrainPanel
from widgets.render.report import EvaluationReport, RunReport, evaluation_report, report
from widgets.sweep.sweep_panel import SweepPanel

__all__ = [
    "AttributionView",
    "EXCLUDED",
    "ConfigForm",
    "DataPanel",
    "EvaluatePanel",
    "ExplainTab",
    "FieldControl",
    "FindingsView",
    "HyperparametersPanel",
    "ImageExplainView",
    "LRFinderPanel",
    "LossCurvesPanel",
    "ModelPanel",
    "RunPump",
    "EvaluationReport",
    "RunReport",
    "RunsPanel",
    "SweepPanel",
    "TrainPanel",
    "Workbench",
    "control_for",
    "evaluation_report",
    "report",
]
