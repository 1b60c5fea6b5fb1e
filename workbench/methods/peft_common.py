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
from workbench.methods.base import anatomy_of

# peft calls a transformers API deprecated in transformers 5; the warning is theirs, not the
# user's, and from a training thread it would land in a random notebook cell.
warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def target_modules(cfg: ModelConfig) -> list[str] | None:
    """User-named target modules, or ``None`` to let peft choose per architecture."""
    names = [n.strip() for n in cfg.target_modules.split(",") if n.strip()]
    return names or None


def peft_task_type(model: nn.Module) -> Any:
    """peft's task type: a causal LM keeps its LM head; a classifier its trainable head.

    Read from the model itself (a transformers ``…ForCausalLM`` class generates), so a
    method needs no knowledge of tasks. With no target modules named, peft picks its
    defaults for the architecture (Llama: ``q_proj``/``v_proj`` for LoRA;
    ``k_proj``/``v_proj``/``down_proj`` for IA3).
    """
    from peft import TaskType
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    generates = type(model).__name__ in set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    return TaskType.CAUSAL_LM if generates else TaskType.SEQ_CLS


def peft_options(model: nn.Module, cfg: ModelConfig) -> dict[str, Any]:
    """``task_type``, ``target_modules`` and ``modules_to_save`` for a peft config.

    A transformers model gets peft's task type (which keeps its head trainable) and peft's
    per-architecture default targets. A model that declares an
    :class:`~workbench.methods.base.Anatomy` (a CNN) is no transformers model: no task type
    (peft then calls its forward unchanged), its declared default targets, and its head
    saved and trained in full.
    """
    anatomy = anatomy_of(model)
    if anatomy is None:
        return {"task_type": peft_task_type(model), "target_modules": target_modules(cfg)}
    return {
        "task_type": None,
        "target_modules": target_modules(cfg) or list(anatomy.adapter_targets),
        "modules_to_save": list(anatomy.head),
    }


def wrap(model: nn.Module, peft_config: Any) -> nn.Module:
    """Wrap ``model`` with ``peft_config``; explain unknown target modules."""
    from peft import get_peft_model

    try:
        return get_peft_model(model, peft_config)
    except ValueError as err:
        kinds = (nn.Linear, nn.Conv2d)
        names = sorted(
            {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, kinds)}
        )
        convs = any(isinstance(m, nn.Conv2d) for m in model.modules())
        raise ConfigError(
            f"target_modules {peft_config.target_modules!r} do not fit this model ({err}); "
            f"its linear{' and convolution' if convs else ''} layers are named: "
            f"{', '.join(names)}"
        ) from None
