"""What LoRA and IA3 share: wrapping a classifier with a ``peft`` adapter.

``peft`` picks sensible target modules per architecture when none are named; the
classification head is always kept fully trainable (``modules_to_save``) because it
starts from random weights.
"""

from __future__ import annotations

import warnings
from typing import Any

from torch import nn

from workbench.config import ConfigError, ModelConfig

# peft calls a transformers API deprecated in transformers 5; the warning is theirs, not the
# user's, and from a training thread it would land in a random notebook cell.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def target_modules(cfg: ModelConfig) -> list[str] | None:
    """User-named target modules, or ``None`` to let peft choose per architecture."""
    names = [n.strip() for n in cfg.target_modules.split(",") if n.strip()]
    return names or None


def peft_task_type(cfg: ModelConfig) -> Any:
    """peft's task type: a causal LM keeps its LM head; a classifier its trainable head.

    With no target modules named, peft picks its defaults for the architecture (Llama:
    ``q_proj``/``v_proj`` for LoRA; ``k_proj``/``v_proj``/``down_proj`` for IA3).
    """
    from peft import TaskType

    return TaskType.CAUSAL_LM if cfg.task == "causal-lm" else TaskType.SEQ_CLS


def wrap(model: nn.Module, peft_config: Any) -> nn.Module:
    """Wrap ``model`` with ``peft_config``; explain unknown target modules."""
    from peft import get_peft_model

    try:
        return get_peft_model(model, peft_config)
    except ValueError as err:
        names = sorted(
            {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)}
        )
        raise ConfigError(
            f"target_modules {peft_config.target_modules!r} do not fit this model ({err}); "
            f"its linear layers are named: {', '.join(names)}"
        ) from None
