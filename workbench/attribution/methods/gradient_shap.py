"""GradientSHAP: expected gradients over random baselines and random points on the path.

Lundberg & Lee (2017), as in captum: each of ``shap_samples`` draws picks a baseline (the pad
or the mask baseline), a point at random between it and the input (plus a little Gaussian
noise on the input), and multiplies the gradient there by ``input - baseline``. The average
approximates SHAP values; its convergence delta is a sampled estimate of how far the scores are
from adding up to the expected logit gap, so it is reported but does not drive more samples.
"""

from __future__ import annotations

import torch

from workbench.attribution.base import Attribution, AttributionMethod, Request, token_scores
from workbench.attribution.inputs import baseline_token_id
from workbench.attribution.model import ExplainedModel

NOISE = 0.05  # input noise, as a share of the embedding table's standard deviation


class GradientShap(AttributionMethod):
    name = "gradient-shap"
    summary = "Expected gradients over pad/mask baselines and random path points (sampled)."

    def check(self, model: ExplainedModel) -> None:
        model.require_inputs_embeds(self.name)

    def attribute(self, request: Request) -> Attribution:
        from captum.attr import GradientShap as CaptumGradientShap

        model, enc, opts = request.model, request.enc, request.options
        refs = [model.embed(enc.baseline_ids)]
        if model.tokenizer is not None and model.tokenizer.mask_token_id is not None:
            mask_id = baseline_token_id(model.tokenizer, "mask")
            refs.append(model.embed(torch.where(enc.special, enc.input_ids, mask_id)))
        weight = getattr(model.word_embeddings, "weight", None)
        std = float(weight.detach().float().std()) if isinstance(weight, torch.Tensor) else 0.0
        deltas, rows = [], []
        with torch.random.fork_rng(devices=[]):  # sample reproducibly, leave the caller's RNG
            torch.manual_seed(opts.seed)
            for i in range(len(request.targets)):  # captum draws baselines for a whole batch
                one = enc.select([i])
                attr, delta = CaptumGradientShap(model.forward_embeds).attribute(
                    model.embed(one.input_ids),
                    baselines=torch.cat([r[i : i + 1] for r in refs]),
                    n_samples=opts.shap_samples,
                    stdevs=NOISE * std,
                    target=request.targets[i],
                    additional_forward_args=model.forward_args(one),
                    return_convergence_delta=True,
                )
                rows.append(token_scores(attr).detach().float().cpu()[0])
                deltas.append(float(delta.float().mean()))
        n = len(request.targets)
        return Attribution(torch.stack(rows), list(deltas), [None] * n)
