"""The classifier as a function attribution methods can call: ids or embeddings in, logits out.

:class:`ExplainedModel` wraps a Hugging Face sequence classifier (plain or ``peft``-wrapped)
without changing it: it finds the word-embedding layer and the embeddings block, learns which
optional inputs the model's ``forward`` takes, and pins the position ids of an input so that the
baseline (pad tokens) is run at exactly the same positions. RoBERTa-style models would otherwise
renumber positions around pad tokens, and the baseline would differ from the input in more
than its words.

Captum calls ``forward_ids`` / ``forward_embeds`` with the (possibly step-expanded) main input
followed by ``additional_forward_args``; :meth:`ExplainedModel.forward_args` builds those.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from workbench.attribution.base import AttributionError
from workbench.attribution.inputs import Encoded

#: Optional model inputs passed along unchanged, in this order, after the attention mask.
EXTRA_INPUTS = ("token_type_ids", "position_ids")


class ExplainedModel:
    """A read-only view of a sequence classifier for attribution."""

    def __init__(self, model: nn.Module, tokenizer: Any = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        config = getattr(model, "config", None)
        n = int(getattr(config, "num_labels", 0) or 0)
        id2label = getattr(config, "id2label", None) or {}
        self.labels = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(n)]
        self.word_embeddings = self._word_embeddings()
        self.embeddings_block = self._embeddings_block()
        self.accepts = self._accepted_inputs()

    # -- what the model is made of ----------------------------------------------
    @property
    def base(self) -> nn.Module:
        """The underlying transformers model (``peft`` wrappers unwrapped)."""
        get_base = getattr(self.model, "get_base_model", None)
        return get_base() if callable(get_base) else self.model

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _word_embeddings(self) -> nn.Module:
        get = getattr(self.model, "get_input_embeddings", None)
        layer = get() if callable(get) else None
        if not isinstance(layer, nn.Module):
            raise AttributionError(
                f"{type(self.model).__name__} has no input embedding layer "
                "(get_input_embeddings); only token-embedding text classifiers can be explained"
            )
        return layer

    def _embeddings_block(self) -> nn.Module:
        """The module that turns ids into the first hidden states (words + positions + norm).

        The parent of the word-embedding layer when it is an embeddings block (BERT, RoBERTa,
        DistilBERT …); the word-embedding layer itself otherwise (its parent is the whole model).
        """
        for name, module in self.model.named_modules():
            if any(child is self.word_embeddings for child in module.children()):
                if name.rsplit(".", 1)[-1].endswith("embeddings"):
                    return module
                break
        return self.word_embeddings

    def _accepted_inputs(self) -> set[str]:
        forward = getattr(self.base, "forward", None)
        try:
            params = inspect.signature(forward).parameters if forward else {}
        except (TypeError, ValueError):
            params = {}
        return {p for p in ("inputs_embeds", *EXTRA_INPUTS) if p in params}

    # -- calling it -----------------------------------------------------------------------
    def _call(self, key: str, value: torch.Tensor, mask: torch.Tensor, extras: Any) -> torch.Tensor:
        kwargs: dict[str, Any] = {key: value, "attention_mask": mask}
        for name, tensor in zip(EXTRA_INPUTS, extras, strict=False):
            if tensor is not None and name in self.accepts:
                kwargs[name] = tensor
        logits = self.model(**kwargs).logits
        return logits.float()  # (batch, classes); fp32 so deltas are not rounding noise

    def forward_ids(
        self, input_ids: torch.Tensor, mask: torch.Tensor, *extras: Any
    ) -> torch.Tensor:
        """Logits ``(batch, classes)`` from token ids (captum's ``forward_func``)."""
        return self._call("input_ids", input_ids, mask, extras)

    def forward_embeds(
        self, embeds: torch.Tensor, mask: torch.Tensor, *extras: Any
    ) -> torch.Tensor:
        """Logits ``(batch, classes)`` from word embeddings ``(batch, tokens, hidden)``."""
        return self._call("inputs_embeds", embeds, mask, extras)

    def require_inputs_embeds(self, method: str) -> None:
        """Raise a clear error when the model cannot be run from embeddings."""
        if "inputs_embeds" not in self.accepts:
            raise AttributionError(
                f"{method} needs a model whose forward takes inputs_embeds, and "
                f"{type(self.base).__name__}.forward does not; use layer-ig or a perturbation "
                "method (occlusion, lime, kernel-shap)"
            )

    def forward_args(self, enc: Encoded) -> tuple[Any, ...]:
        """``(attention_mask, token_type_ids, position_ids)`` on the model's device."""
        dev = self.device
        extras = tuple(enc.extra[k].to(dev) if k in enc.extra else None for k in EXTRA_INPUTS)
        return (enc.attention_mask.to(dev), *extras)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Word embeddings of ``ids``, detached: ``(batch, tokens, hidden)``."""
        with torch.no_grad():
            return self.word_embeddings(ids.to(self.device)).detach()

    @torch.no_grad()
    def logits(self, ids: torch.Tensor, enc: Encoded) -> torch.Tensor:
        """Logits of ``ids`` run with ``enc``'s mask and extras: ``(batch, classes)``, on CPU."""
        return self.forward_ids(ids.to(self.device), *self.forward_args(enc)).cpu()

    # -- positions --------------------------------------------------------------
    def pin_positions(self, enc: Encoded) -> list[str]:
        """Store the input's own position ids in ``enc.extra`` so baselines reuse them.

        Returns notes for the explanation (empty when all is well).
        """
        seen = self.observed_positions(enc.input_ids, enc)
        if seen is None:
            return []  # no learned position table (rotary, relative …): positions follow shape
        if "position_ids" in self.accepts:
            enc.extra["position_ids"] = seen.expand_as(enc.input_ids).clone()
            return []
        base_seen = self.observed_positions(enc.baseline_ids, enc)
        if base_seen is not None and not torch.equal(seen, base_seen):
            return [
                "this model takes no position_ids and numbers the baseline's positions "
                "differently from the input's; scores also reflect that shift"
            ]
        return []

    def observed_positions(self, ids: torch.Tensor, enc: Encoded) -> torch.Tensor | None:
        """Position ids the model looks up when run on ``ids`` (None: no position table)."""
        table = self._position_table()
        if table is None:
            return None
        seen: list[torch.Tensor] = []
        with _capture_input(table, seen):
            self.logits(ids, enc)
        return seen[0].cpu() if seen else None

    def _position_table(self) -> nn.Module | None:
        for name, module in self.embeddings_block.named_modules():
            if isinstance(module, nn.Embedding) and name.endswith(
                ("position_embeddings", "wpe", "embed_positions")
            ):
                return module
        return None


@contextmanager
def _capture_input(module: nn.Module, into: list[torch.Tensor]) -> Iterator[None]:
    def hook(_module: nn.Module, args: tuple[Any, ...]) -> None:
        if args and isinstance(args[0], torch.Tensor):
            into.append(args[0].detach())

    handle = module.register_forward_pre_hook(hook)
    try:
        yield
    finally:
        handle.remove()


@contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[None]:
    """Run ``model`` in eval mode (no dropout) and restore every module's own mode after.

    Modules are restored one by one: a model may mix modes on purpose (e.g. a frozen backbone
    kept in eval while the head trains), and ``model.train()`` would lose that.
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.enable_grad():
            yield
    finally:
        for module, training in modes:
            module.training = training
