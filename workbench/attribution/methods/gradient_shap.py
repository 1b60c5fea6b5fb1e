"""GradientSHAP: expected gradients over random baselines and random points on the path.

Lundberg & Lee (2017), as in captum: each of ``shap_samples`` draws picks a baseline (the pad
or the mask baseline), a point at random between it and the input (plus a little Gaussian
noise on the input), and multiplies the gradient there by ``input - baseline``. The average
approximates SHAP values. The method is *not complete*: the scores do not add up to the logit
gap against the pad baseline, and no number of samples makes them.

Its delta is what captum returns per sample ``s``: ``sum(attr_s) − (f(x_s) − f(b_s))``, the
error of that one-point estimate of its own gap (noisy input ``x_s``, drawn baseline ``b_s``).
Their signed mean lets errors of opposite sign cancel, so the explanation reports the **mean
absolute per-sample error** instead (``delta_kind = "expected-gradients"``): how rough each
sample is, not a completeness gap. It does not drive more samples.

Captum draws the baselines and path points from NumPy's global generator (and the noise from
torch's), so both are seeded here and restored afterwards: the same call gives the same scores.
"""

from __future__ import annotations

import numpy as np
import torch

from workbench.attribution.base import Attribution, AttributionMethod, Request, token_scores
from workbench.attribution.inputs import baseline_token_id
from workbench.attribution.model import ExplainedModel

NOISE = 0.05  # input noise, as a share of the embedding table's standard deviation


class GradientShap(AttributionMethod):
    name = "gradient-shap"
    summary = "Expected gradients over pad/mask baselines and random path points (sampled)."
    delta_kind = "expected-gradients"

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
        numpy_state = np.random.get_state()  # captum samples with NumPy's global generator
        try:
            np.random.seed(opts.seed)
            with torch.random.fork_rng(devices=[]):  # reproducible; the caller's RNG stays
                torch.manual_seed(opts.seed)
                for i in range(len(request.targets)):  # captum draws baselines per batch
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
                    # (shap_samples,): one error per sample; |·| first so signs cannot cancel
                    deltas.append(float(delta.float().abs().mean()))
        finally:
            np.random.set_state(numpy_state)
        n = len(request.targets)
        return Attribution(torch.stack(rows), list(deltas), [None] * n)
