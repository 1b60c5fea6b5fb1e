"""The training engine: a session (data, model, optimizer, loaders), the loop, checkpoints.

A run wraps it in a worker thread: ``workbench.runs.train(config)`` returns a
:class:`~workbench.runs.RunHandle`.
"""

from workbench.training.control import Control

__all__ = ["Control"]
