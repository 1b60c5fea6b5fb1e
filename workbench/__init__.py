"""Finetune Workbench engine: fine-tune and understand a pretrained model, headless.

>>> from workbench import TrainConfig, train
>>> run = train(TrainConfig().replace(method="lora", epochs=1))   # returns at once
>>> run.status, run.history[-1]                                     # watch it
>>> run.wait()                                                      # or block for the summary

The engine never imports a UI library (ipywidgets, IPython, matplotlib.pyplot).
"""

from workbench.config import (
    ConfigError,
    DataConfig,
    ModelConfig,
    OptimConfig,
    RegularizationConfig,
    RunConfig,
    TrainConfig,
)
from workbench.errors import DataError, ModelError, RunError, UserError
from workbench.runs import Run, RunHandle, list_runs, load_run, train

__all__ = [
    "ConfigError",
    "DataConfig",
    "DataError",
    "ModelConfig",
    "ModelError",
    "OptimConfig",
    "RegularizationConfig",
    "Run",
    "RunConfig",
    "RunError",
    "RunHandle",
    "TrainConfig",
    "UserError",
    "list_runs",
    "load_run",
    "train",
]
