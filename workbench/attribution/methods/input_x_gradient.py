"""Input × Gradient: word embedding times the target logit's gradient (Shrikumar et al., 2016).

One backward pass; signed. It is a first-order Taylor estimate of each token's contribution
measured against an all-zero embedding (not against the pad baseline), so the scores do not
add up to the logit gap; use ``layer-ig`` when they must.
"""

from __future__ import annotations

from workbench.attribution.base import Attribution, AttributionMethod, Request, token_scores
from workbench.attribution.model import ExplainedModel


class InputXGradient(AttributionMethod):
    name = "input-x-gradient"
    summary = "Embedding × gradient (one backward pass); signed, first-order."

    def check(self, model: ExplainedModel) -> None:
        model.require_inputs_embeds(self.name)

    def attribute(self, request: Request) -> Attribution:
        from captum.attr import InputXGradient as CaptumIxG

        model, enc = request.model, request.enc
        attr = CaptumIxG(model.forward_embeds).attribute(
            model.embed(enc.input_ids).requires_grad_(),  # (batch, tokens, hidden)
            target=request.targets,
            additional_forward_args=model.forward_args(enc),
        )
        n = len(request.targets)
        return Attribution(token_scores(attr).detach().float().cpu(), [None] * n, [None] * n)
