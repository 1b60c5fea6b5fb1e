"""Integrated Gradients on the word embeddings (Sundararajan et al., 2017).

The input is the word-embedding matrix ``(batch, tokens, hidden)``; the baseline is the
embedding of the pad (or mask) token at every ordinary position. Unlike ``layer-ig`` the path
starts *before* position embeddings and LayerNorm, so the two can differ on real models.
Scores sum to ``logit(x) - logit(baseline)`` up to the reported convergence delta.
"""

from __future__ import annotations

import torch

from workbench.attribution.base import Attribution, AttributionMethod, Request, token_scores
from workbench.attribution.model import ExplainedModel


class IntegratedGradients(AttributionMethod):
    name = "integrated-gradients"
    summary = "Integrated gradients on the word embeddings; scores sum to the logit gap."
    complete = True
    delta_kind = "completeness"

    def check(self, model: ExplainedModel) -> None:
        model.require_inputs_embeds(self.name)

    def attribute(self, request: Request) -> Attribution:
        return self.integrate(request, self._run)

    def _run(self, request: Request, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        from captum.attr import IntegratedGradients as CaptumIG

        model, enc = request.model, request.enc
        ig = CaptumIG(model.forward_embeds)
        attr, delta = ig.attribute(
            model.embed(enc.input_ids),
            baselines=model.embed(enc.baseline_ids),
            target=request.targets,
            additional_forward_args=model.forward_args(enc),
            n_steps=n_steps,
            internal_batch_size=request.options.internal_batch_size,
            return_convergence_delta=True,
        )
        return token_scores(attr), delta
