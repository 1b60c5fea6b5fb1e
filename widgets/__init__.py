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
live view carries events to the widgets at ≤ 4 Hz (see :mod:`widgets.pump`).
"""

from widgets.attribution_view import AttributionView
from widgets.coach_panel import FindingsView
from widgets.controls import FieldControl, control_for
from widgets.curves_panel import LossCurvesPanel
from widgets.data_panel import DataPanel
from widgets.evaluate_panel import EvaluatePanel
from widgets.explain_tab import ExplainTab
from widgets.form import EXCLUDED, ConfigForm
from widgets.hyperparameters_panel import HyperparametersPanel
from widgets.image_explain_view import ImageExplainView
from widgets.lr_finder_panel import LRFinderPanel
from widgets.model_panel import ModelPanel
from widgets.pump import RunPump
from widgets.report import EvaluationReport, RunReport, evaluation_report, report
from widgets.runs_panel import RunsPanel
from widgets.sweep_panel import SweepPanel
from widgets.train_panel import TrainPanel
from widgets.workbench import Workbench

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
