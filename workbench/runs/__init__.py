"""Runs: start one, follow it, finish it, and read it back from its directory.

==================  ==========================================================
``handle``          ``train(config)`` → :class:`RunHandle`: the run in a worker thread
``directory``       the run directory: naming, environment, resume from ``last/``
``finish``          end of a run: best weights back, the task's test and export, summary
``card``            ``model/README.md`` and ``adapter/README.md`` (Hugging Face model cards)
``trackers``        TensorBoard, MLflow and trackio fed from the run's events
``callbacks``       ``transformers.TrainerCallback`` objects called from the run's events
``restore``         a model rebuilt from a checkpoint when ``model/`` is missing
``store``           :func:`load_run`, :func:`list_runs`: runs on disk, read back
==================  ==========================================================

The training step itself (session, loop, checkpoints) is :mod:`workbench.training`, below.
"""

from workbench.runs.handle import STATUSES, RunHandle, train
from workbench.runs.store import Run, config_differences, list_runs, load_run, runs_table

__all__ = [
    "STATUSES",
    "Run",
    "RunHandle",
    "config_differences",
    "list_runs",
    "load_run",
    "runs_table",
    "train",
]
