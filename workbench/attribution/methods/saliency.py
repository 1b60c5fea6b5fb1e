"""Saliency: the size of the gradient of the target logit at each word (Simonyan et al., 2014).

One backward pass. The score of a token is the L2 norm of the logit's gradient with respect to
its word embedding: how *sensitive* the logit is to that token, not whether it pushes the class
up or down — saliency scores are magnitudes (never negative) and do not add up to anything.
"""

from __future__ import annotations

from workbench.attribution.base import Attribution, AttributionMethod, Request
from workbench.attribution.model import ExplainedModel


class Saliency(AttributionMethod):
    name = "saliency"
    summary = "Gradient size at each word (one backward pass); magnitudes, not signed."
    signed = False

    def check(self, model: ExplainedModel) -> None:
        model.require_inputs_embeds(self.name)

    def attribute(self, request: Request) -> Attribution:
        from captum.attr import Saliency as CaptumSaliency

        model, enc = request.model, request.enc
        grads = CaptumSaliency(model.forward_embeds).attribute(
            model.embed(enc.input_ids).requires_grad_(),  # (batch, tokens, hidden)
            target=request.targets,
            additional_forward_args=model.forward_args(enc),
            abs=False,
        )  # (batch, tokens, hidden)
        scores = grads.float().norm(dim=-1) * (~enc.special).to(grads.device)
        n = len(request.targets)
        return Attribution(scores.detach().cpu(), [None] * n, [None] * n)
