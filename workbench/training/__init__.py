"""The training engine: ``train(config)`` returns a :class:`RunHandle` (worker thread)."""

from workbench.training.control import Control
from workbench.training.run import STATUSES, RunHandle, train

__all__ = ["STATUSES", "Control", "RunHandle", "train"]
