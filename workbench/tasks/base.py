"""What a task is: what it loads, how it batches, what it evaluates.

Text classification is the first task; a causal-LM task registers beside it later.
The training loop only talks to a task through this interface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch

if TYPE_CHECKING:
    from workbench.config import TrainConfig
    from workbench.data import PreparedData
    from workbench.regularization import Regularizer


class Task:
    """Base class for a fine-tuning task."""

    name: ClassVar[str] = ""

    def load_model(
        self, cfg: TrainConfig, data: PreparedData, regularizers: list[Regularizer]
    ) -> tuple[torch.nn.Module, Any]:
        """Return ``(adapted model, tokenizer)``."""
        raise NotImplementedError

    def loss(self, outputs: Any, batch: dict[str, torch.Tensor], **options: Any) -> torch.Tensor:
        raise NotImplementedError

    def metrics(
        self, logits: torch.Tensor, labels: torch.Tensor, label_names: list[str]
    ) -> dict[str, Any]:
        raise NotImplementedError
