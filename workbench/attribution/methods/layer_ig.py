"""Layer Integrated Gradients on the embeddings block (Sundararajan et al., 2017).

Integrates the gradient of the target logit along the straight line from the baseline's
embedding output to the input's (word + position + type embeddings, after their LayerNorm),
then sums over the hidden dimension: one score per token. The scores add up to
``logit(x) - logit(baseline)`` up to the reported convergence delta. Special tokens and
positions are identical in input and baseline, so they get exactly zero.
"""

from __future__ import annotations

import torch

from workbench.attribution.base import Attribution, AttributionMethod, Request, token_scores


class LayerIntegratedGradients(AttributionMethod):
    name = "layer-ig"
    summary = "Integrated gradients on the embedding layer's output; scores sum to the logit gap."
    complete = True
    delta_kind = "completeness"

    def attribute(self, request: Request) -> Attribution:
        return self.integrate(request, self._run)

    def _run(self, request: Request, n_steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        from captum.attr import LayerIntegratedGradients as CaptumLIG

        model, enc = request.model, request.enc
        lig = CaptumLIG(model.forward_ids, model.embeddings_block)
        attr, delta = lig.attribute(
            enc.input_ids.to(model.device),
            baselines=enc.baseline_ids.to(model.device),
            target=request.targets,
            additional_forward_args=model.forward_args(enc),
            n_steps=n_steps,
            internal_batch_size=request.options.internal_batch_size,
            return_convergence_delta=True,
        )
        return token_scores(attr), delta  # (batch, tokens), (batch,)
