"""L2-SP: pull the weights back towards their *pretrained* values instead of towards zero.

Li, Grandvalet & Davoine (2018) replace the L2 penalty ``λ/2·‖w‖²`` of a fine-tune by
``α/2·‖w − w₀‖²`` on the weights that came pretrained (w₀: their values before step 1),
keeping plain L2 only on the new head, which has no meaningful starting point. It keeps a
small-data fine-tune close to what pretraining learned.

How it is applied here, and what α means
----------------------------------------
Li et al. trained with SGD, where the penalty's gradient ``α·(w − w₀)`` moves each weight
by ``lr·α·(w − w₀)`` per step. Under Adam the same gradient is added to the loss's gradient
and the sum is divided by its running RMS: the pull then depends on how large the loss's
gradients happen to be, not on α alone. Measured that way, lesson 03 (MiniLM) needed
α = 1.0 to show anything, while on the tiny test model α = 0.01 already cut the encoder's
drift by three quarters (the pull wins wherever the loss's gradient is small, at Adam's
full step size). AdamW solved the same problem for weight decay by taking it out of the
gradient (Loshchilov & Hutter, 2019); L2-SP is applied the same way, after each optimizer
step, towards w₀ instead of towards 0::

    w ← w − α · (lr_t / lr) · (w − w₀)

``lr_t / lr`` is the schedule's factor (the current rate over the configured peak), so the
pull warms up and decays with the learning rate, as AdamW's decay does, and never acts
alone while the rate is near zero at the end of a linear schedule. **α is the share of
each weight's distance from its pretrained value removed per step at the peak rate**,
whatever that rate is: 0.01 forgets a drift with a time constant of about 100 steps; 1
puts the weights back to w₀ at every peak-rate step (nothing can move). Two readings help
pick it:

- *time*: the pull undoes a drift in about ``1/α`` steps at the peak rate, so α below
  ``1/steps`` of the run barely acts;
- *distance*: Adam moves a weight by at most about ``lr`` per step, so under a steady push
  the distance from w₀ settles near ``lr/α`` (lr 5e-5 and α 0.01: 0.005, against weights
  whose typical size is a few hundredths).

In AdamW's own units this is a decoupled decay of ``α/lr`` towards w₀ (weight decay's 0.01
at lr 5e-5 removes 5e-7 of a weight per step, which is why it hardly shows in a short run).

The anchored weights get no weight decay (:func:`workbench.training.session.build_optimizer`
puts them in a param group of their own with ``weight_decay`` 0): decay would pull the same
weights towards zero, against L2-SP. The new head keeps its weight decay, as in Li et al.

Resume: the anchors are taken when the optimizer is built, from the freshly loaded
pretrained model, before ``--resume`` puts the checkpoint's weights in; they are the
pretrained weights in a resumed run too, and the pull's rate is in the optimizer's state.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from workbench.config import TrainConfig
from workbench.methods.base import head_parameter_names
from workbench.regularization.base import Regularizer

#: Param-group key holding ``α / lr`` (the pull is ``group["lr"] * group[L2SP_KEY]``).
L2SP_KEY = "l2sp_per_lr"


class L2SP(Regularizer):
    name = "L2-SP"
    summary = (
        "Pulls pretrained weights back towards their pretrained values: removes a share α "
        "of their drift per step at the peak learning rate (decoupled, like AdamW's decay)."
    )
    setting = "l2sp"

    def describe(self, cfg: TrainConfig) -> str:
        return f"{self.name}: {cfg.regularization.l2sp:g} of the drift per step, no decay there"


def anchored_parameters(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """``(name, parameter)`` of the trainable weights that came pretrained: L2-SP's targets.

    Left out: the new classification head (no meaningful start) and adapters (LoRA, IA3),
    which start at zero/one by design.
    """
    head = head_parameter_names(model)  # "classifier.weight", ... (peft adds prefixes)
    return [
        (name, p)
        for name, p in model.named_parameters()
        if p.requires_grad
        and not any(name == h or name.endswith(f".{h}") for h in head)
        and "modules_to_save" not in name  # peft's trainable copy of the new head
        and "lora_" not in name
        and "ia3_" not in name
    ]


def l2sp_group(params: list[nn.Parameter], cfg: TrainConfig) -> dict[str, Any]:
    """The optimizer param group of the anchored weights: no weight decay, the pull's rate."""
    assert cfg.optim.lr is not None
    return {"params": params, "weight_decay": 0.0, L2SP_KEY: cfg.regularization.l2sp / cfg.optim.lr}


class PullTowardsPretrained:
    """An optimizer step post-hook: ``w ← w + rate·(w₀ − w)`` with ``rate = lr_t·α/lr``.

    Registered with ``optimizer.register_step_post_hook``: it runs after every real
    optimizer step (not after a step a mixed-precision gradient scaler skipped, nor between
    accumulated micro-batches). The anchors are copies of the weights at construction.
    """

    def __init__(self, params: list[nn.Parameter]) -> None:
        self.anchors = {id(p): p.detach().clone() for p in params}

    @torch.no_grad()
    def __call__(self, optimizer: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> None:
        for group in optimizer.param_groups:
            rate = min(1.0, float(group["lr"]) * float(group.get(L2SP_KEY, 0.0)))
            if rate <= 0.0:
                continue
            for p in group["params"]:
                anchor = self.anchors[id(p)]
                if anchor.device != p.device:  # built before Accelerate moved the model
                    anchor = self.anchors[id(p)] = anchor.to(p.device)
                p.lerp_(anchor, rate)


def attach_l2sp(
    optimizer: torch.optim.Optimizer, params: list[nn.Parameter]
) -> PullTowardsPretrained:
    """Anchor ``params`` at their current values and pull them back after every step."""
    pull = PullTowardsPretrained(params)
    optimizer.register_step_post_hook(pull)
    setattr(optimizer, "l2sp_pull", pull)  # noqa: B010 - for l2sp_pull(): torch keeps hooks private
    return pull


def l2sp_pull(optimizer: Any) -> PullTowardsPretrained | None:
    """The L2-SP hook attached to ``optimizer`` (or to the one Accelerate wraps), if any."""
    inner = getattr(optimizer, "optimizer", optimizer)
    pull = getattr(inner, "l2sp_pull", None)
    return pull if isinstance(pull, PullTowardsPretrained) else None
