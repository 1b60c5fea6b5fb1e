"""Sweeps: search hyperparameters with Optuna, every trial an ordinary run.

>>> from workbench import TrainConfig
>>> from workbench.sweeps import sweep
>>> s = sweep(TrainConfig().replace(epochs=1),
...           {"lr": {"low": 1e-5, "high": 1e-3}, "weight_decay": {"low": 0.0, "high": 0.1}},
...           trials=12, pruner="median")        # returns at once
>>> s.trials[-1], s.best                          # watch it (every worker's trials)
>>> s.wait()                                      # or block for the summary

* :mod:`~workbench.sweeps.space` — the search space, checked against the config metadata.
* :mod:`~workbench.sweeps.spec` — the whole definition (objective, sampler, pruner, budget).
* :mod:`~workbench.sweeps.storage` — where the study lives (journal file or database URL).
* :mod:`~workbench.sweeps.worker` — the trial loop: ask, train, report, prune, tell.
* :mod:`~workbench.sweeps.handle` — the :class:`SweepHandle` a sweep is watched through.
* :mod:`~workbench.sweeps.start` — ``sweep()``: new, resumed and joined sweeps.

A sweep folder holds ``sweep.yaml`` (the definition), ``study.journal`` (the Optuna study,
unless a database URL was given), ``trials/trial-NNNN/`` (one run directory per trial) and
``summary.json`` (written when a worker ends).
"""

from workbench.sweeps.handle import SweepHandle, TrialRecord, param_importances
from workbench.sweeps.space import Param, SearchSpace, parse_space, sweepable_fields
from workbench.sweeps.spec import SweepSpec, make_spec
from workbench.sweeps.start import prepare_sweep, read_folder, sweep

__all__ = [
    "Param",
    "SearchSpace",
    "SweepHandle",
    "SweepSpec",
    "TrialRecord",
    "make_spec",
    "param_importances",
    "parse_space",
    "prepare_sweep",
    "read_folder",
    "sweep",
    "sweepable_fields",
]
