"""The small base every attribution method builds on (CONVENTIONS rule 3).

An attribution method answers: how much did each token move the *logit* of the target class?
It receives a :class:`Request` (an encoded batch with baselines, the target class of each
example and the logit gap between input and baseline) and returns an :class:`Attribution`:
one score per token, plus the convergence delta and step count where the method has them.
Merging tokens into words, trust measures and rendering happen elsewhere, once for all methods.

Integrated-gradients methods share :meth:`AttributionMethod.integrate`: it raises ``n_steps``
(50 → 100 → 200 → 400) for the examples whose completeness error ``|delta|`` is still above
5% of ``|logit(x) − logit(baseline)|`` — the check Sundararajan et al. (2017) recommend.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import torch

from workbench.errors import UserError

if TYPE_CHECKING:
    from workbench.attribution.inputs import Encoded
    from workbench.attribution.model import ExplainedModel


#: Smallest |delta| ever asked for: float32 sums of a few hundred token scores carry about
#: this much rounding, so a tighter target would only burn steps.
FLOOR = 1e-5


class AttributionError(UserError):
    """An explanation cannot be made as asked (method, target, model or text); says why."""


@dataclass(frozen=True)
class Options:
    """How hard each method works. Defaults suit CPU and a few dozen words."""

    n_steps: int = 50  # first try of integrated-gradients methods
    max_steps: int = 400  # cap of the adaptive doubling
    tolerance: float = 0.05  # |delta| allowed, as a share of |logit(x) - logit(baseline)|
    internal_batch_size: int = 64  # rows per forward/backward inside IG (bounds memory)
    n_samples: int = 200  # LIME / KernelSHAP perturbations
    shap_samples: int = 20  # GradientSHAP random points
    perturbations_per_eval: int = 16  # perturbed inputs per forward (occlusion, LIME, SHAP)
    seed: int = 0
    adaptive: bool = True  # False: run exactly n_steps (the randomization check does)
    #: sanity check's cascade: "layers" (head, each layer, embeddings: layers + 2
    #: attributions) or "coarse" (head, top half, all: 3); see attribution.sanity
    cascade: str = "layers"

    def __post_init__(self) -> None:
        if self.cascade not in ("layers", "coarse"):
            raise AttributionError(
                f"cascade must be 'layers' or 'coarse'; got {self.cascade!r} ('coarse' costs "
                "3 attributions instead of one per layer)"
            )


@dataclass
class Request:
    """What a method is asked to explain: a batch, its targets, its logit gaps."""

    model: ExplainedModel
    enc: Encoded
    targets: list[int]
    gaps: torch.Tensor  # (batch,) logit(x) - logit(baseline) of each target
    options: Options = field(default_factory=Options)

    def select(self, rows: list[int]) -> Request:
        return Request(
            self.model,
            self.enc.select(rows),
            [self.targets[i] for i in rows],
            self.gaps[rows],
            self.options,
        )


@dataclass
class Attribution:
    """Per-token scores of a batch: ``scores`` is ``(batch, tokens)``."""

    scores: torch.Tensor
    delta: list[float | None]
    n_steps: list[int | None]
    notes: dict[int, list[str]] = field(default_factory=dict)  # row -> notes for that example


class AttributionMethod:
    """Base class: subclasses set the class attributes and implement :meth:`attribute`."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    #: False for magnitudes (saliency): scores say "how much", not "for or against".
    signed: ClassVar[bool] = True
    #: True when the scores should add up to logit(x) - logit(baseline) (reports a delta).
    complete: ClassVar[bool] = False
    #: What the reported delta measures (None: no delta). "completeness": integrated
    #: gradients' sum(scores) - (logit(x) - logit(baseline)); "summation-to-delta": the same
    #: sum for DeepLIFT's rules; "expected-gradients": GradientSHAP's mean |error| of its
    #: one-point samples, each against its own gap (the method is not complete).
    delta_kind: ClassVar[str | None] = None

    def check(self, model: ExplainedModel) -> None:
        """Raise :class:`AttributionError` when this method cannot explain ``model``."""

    def attribute(self, request: Request) -> Attribution:
        raise NotImplementedError

    # -- shared by integrated-gradients methods -----------------------------------
    def integrate(
        self,
        request: Request,
        run: Callable[[Request, int], tuple[torch.Tensor, torch.Tensor]],
    ) -> Attribution:
        """Call ``run(request, n_steps) -> (scores, delta)`` with more steps until it converges.

        Only the examples that miss the tolerance are re-run, so a batch costs little more
        than its hardest example.
        """
        opts = request.options
        n = len(request.targets)
        scores = torch.zeros(request.enc.input_ids.shape, dtype=torch.float32)
        deltas: list[float | None] = [None] * n
        used: list[int | None] = [None] * n
        todo, steps = list(range(n)), opts.n_steps
        while todo:
            sub = request.select(todo) if len(todo) < n else request
            got, delta = run(sub, steps)
            allowed = opts.tolerance * sub.gaps.abs() + FLOOR
            final = steps >= opts.max_steps or not opts.adaptive
            still = []
            for j, row in enumerate(todo):
                if final or abs(float(delta[j])) <= float(allowed[j]):
                    scores[row] = got[j].detach().float().cpu()
                    deltas[row], used[row] = float(delta[j]), steps
                else:
                    still.append(row)
            todo, steps = still, min(steps * 2, opts.max_steps)
        notes: dict[int, list[str]] = {}
        for i in range(n):
            missed = abs(deltas[i] or 0.0) > opts.tolerance * abs(float(request.gaps[i])) + FLOOR
            if opts.adaptive and used[i] == opts.max_steps and missed:
                notes[i] = [
                    f"did not converge within {opts.max_steps} steps: the scores miss "
                    f"logit(x) - logit(baseline) by more than {opts.tolerance:.0%} (see delta)"
                ]
        return Attribution(scores, deltas, used, notes)


def token_scores(attr: torch.Tensor) -> torch.Tensor:
    """Sum an embedding-level attribution ``(batch, tokens, hidden)`` to ``(batch, tokens)``."""
    return attr.sum(-1) if attr.dim() == 3 else attr
