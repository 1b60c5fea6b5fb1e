"""The small base every adaptation method builds on.

An adaptation method decides *which* parameters of a pretrained classifier train:
all of them (full), only the head (linear probe), the top layers (freeze), only biases
(BitFit), or small added modules (LoRA, IA3 through ``peft``). Each method is one file
that registers itself in :mod:`workbench.methods` (CONVENTIONS rule 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from torch import nn

if TYPE_CHECKING:
    from workbench.config import ModelConfig, TrainConfig


class AdaptationMethod:
    """Base class: subclasses set ``name``/``default_lr``/``summary`` and override ``apply``."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    #: Peak learning rate that learns out of the box: parameter-efficient methods and
    #: head-only probes need a far higher rate than a full fine-tune.
    default_lr: ClassVar[float] = 5e-5
    #: True when the method wraps the model with ``peft`` (adapter export, merge).
    uses_peft: ClassVar[bool] = False
    #: Config fields this method reads (the UI shows only these knobs for it).
    settings: ClassVar[tuple[str, ...]] = ()
    #: Optimizer steps it needs at ``default_lr`` to get past the majority-class score on a
    #: small, easy dataset (the coach's step check; bench/coach.py measures it).
    min_steps: ClassVar[int] = 30
    #: False when the method trains no pretrained weight (only a new head or adapters that
    #: start at zero/one): then L2-SP, which pulls pretrained weights back, has nothing to act on.
    trains_pretrained: ClassVar[bool] = True

    def validate(self, config: TrainConfig) -> None:
        """Raise ``ConfigError`` for settings this method cannot honour.

        Subclasses that override it call ``super().validate(config)``.
        """
        from workbench.config import ConfigError

        if config.regularization.l2sp and not self.trains_pretrained:
            raise ConfigError(
                f"l2sp={config.regularization.l2sp:g} has no effect with method {self.name}: "
                "it pulls pretrained weights back towards their start, and this method trains "
                "none (only a new head or adapters); set l2sp to 0, or use method full, "
                "freeze or bitfit"
            )

    def apply(self, model: nn.Module, cfg: ModelConfig) -> nn.Module:
        """Return the model with exactly this method's parameters trainable."""
        raise NotImplementedError

    def trainable_fraction_estimate(self) -> float:
        """Rough share of parameters that train, for memory estimates before loading."""
        return 1.0


@dataclass(frozen=True)
class Anatomy:
    """Where the methods find the parts they act on in a model that is not a transformers
    classifier (a CNN): the model declares it as its ``anatomy`` attribute, so the methods
    stay generic and the model-specific knowledge lives with the model's task.

    Module names are relative to the model (``"classifier"``, ``"backbone._blocks"``).
    """

    #: Modules of the new task head: they train under every method (peft: modules_to_save).
    head: tuple[str, ...]
    #: The input side, frozen by ``freeze`` together with the bottom layers (a CNN's stem).
    stem: tuple[str, ...]
    #: The ``nn.ModuleList`` of blocks, bottom first (``freeze_layers`` counts these).
    layers: str
    #: Default target modules of LoRA (names as peft matches them).
    adapter_targets: tuple[str, ...]


def anatomy_of(model: nn.Module) -> Anatomy | None:
    """The model's declared :class:`Anatomy`, looking through a peft wrapper; None for a
    transformers model (the methods find its parts by their usual names)."""
    get_base = getattr(model, "get_base_model", None)
    base: Any = get_base() if callable(get_base) else model
    found = getattr(base, "anatomy", None)
    return found if isinstance(found, Anatomy) else None


def classifier_head(model: nn.Module) -> nn.Module:
    """The task head of a sequence classifier (``classifier``, ``score`` or ``pre_classifier``)."""
    for name in ("classifier", "score", "logits_proj"):
        head = getattr(model, name, None)
        if isinstance(head, nn.Module):
            return head
    raise ValueError(f"cannot find the classification head of {type(model).__name__}")


def head_parameter_names(model: nn.Module) -> set[str]:
    """Names of parameters in the head (including ``pre_classifier`` where present)."""
    anatomy = anatomy_of(model)
    if anatomy is not None:
        return {f"{h}.{n}" for h in anatomy.head for n, _ in _named_in(model, h)}
    names = {f"classifier.{n}" for n, _ in _named(model, "classifier")}
    names |= {f"score.{n}" for n, _ in _named(model, "score")}
    names |= {f"pre_classifier.{n}" for n, _ in _named(model, "pre_classifier")}
    return names


def _named(model: nn.Module, attr: str) -> list[tuple[str, nn.Parameter]]:
    sub = getattr(model, attr, None)
    return list(sub.named_parameters()) if isinstance(sub, nn.Module) else []


def _named_in(model: nn.Module, path: str) -> list[tuple[str, nn.Parameter]]:
    try:
        return list(model.get_submodule(path).named_parameters())
    except AttributeError:
        return []


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    """The stack of transformer blocks: the first ModuleList as long as the layer count
    (a model with an :class:`Anatomy`: its declared ``layers``)."""
    anatomy = anatomy_of(model)
    if anatomy is not None:
        layers = model.get_submodule(anatomy.layers)
        assert isinstance(layers, nn.ModuleList)
        return layers
    n_layers = getattr(model.config, "num_hidden_layers", None) or getattr(
        model.config, "n_layers", None
    )
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) == n_layers:
            return module
    raise ValueError(f"cannot find the {n_layers} encoder layers of {type(model).__name__}")


def set_trainable(model: nn.Module, predicate: object) -> None:
    """Freeze every parameter, then unfreeze those whose name satisfies ``predicate``."""
    assert callable(predicate)
    for name, param in model.named_parameters():
        param.requires_grad_(bool(predicate(name)))


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    total = trainable = 0
    for p in model.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total
