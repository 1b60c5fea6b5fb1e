"""Which pixels made the image model say what it said: Captum attributions as heatmaps.

>>> e = explain_image(model, "boot.png", method="integrated-gradients")
>>> e.predicted, e.scores.shape, e.delta, e.trust["deletion"]
>>> png = overlay_png(e)          # the heatmap over the image, as PNG bytes

Methods (:data:`PIXEL_METHODS`, the names the text task uses for the same ideas):

* ``integrated-gradients`` (Sundararajan et al., 2017): gradients along the straight path
  from a baseline image (black, or a blurred copy) to the image, times the pixel change.
  Complete: the scores add up to ``logit(image) − logit(baseline)`` up to the reported
  ``delta``; steps double (50 → … → ``max_steps``) until ``|delta|`` is within
  ``tolerance`` of that gap.
* ``saliency`` (Simonyan et al., 2014): ``|∂ logit / ∂ pixel|``, the largest over the three
  channels. A magnitude: how sensitive, not for or against.
* ``occlusion`` (Zeiler & Fergus, 2014): slide a baseline-coloured square over the image;
  a pixel's score is the average drop of the logit over the squares that covered it.
* ``gradient-shap`` (Lundberg & Lee, 2017): expected gradients over random points between
  baselines (black and the blurred copy) and the image, with a little input noise. Sampled,
  not complete; its delta is the mean absolute error of the one-point samples.

Scores are per pixel of the model's input (``image_size`` square): the three colour
channels are summed (saliency: their maximum). They explain the target class's *logit*.
Trust measures (:mod:`.trust`): deletion/insertion curves against random pixel orders, and
the model-randomization check.

The model is put in eval mode and gets its modes back; gradients are taken with respect
to the input only (``torch.autograd``), never accumulated into the weights' ``.grad``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from workbench.attribution.base import AttributionError, Options
from workbench.tasks.image_classification.transforms import denormalize, normalize, to_tensor

BASELINES = ("black", "blur")


@dataclass
class ImageExplanation:
    """One explained prediction: scores per pixel, the image as the model saw it, trust."""

    method: str
    target: str
    target_index: int
    predicted: str
    probs: dict[str, float]
    scores: np.ndarray  # (size, size) float32, one score per input pixel
    image: np.ndarray  # (size, size, 3) uint8: the resized image the model read
    signed: bool
    baseline: str
    gap: float  # logit(image) − logit(baseline) of the target
    delta: float | None = None
    n_steps: int | None = None
    trust: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def explains(self) -> str:
        what = "magnitude of" if not self.signed else "contribution to"
        return f"{what} the logit of class {self.target!r}, per pixel"

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("scores", "image")}
        out["scores"] = np.round(self.scores, 6).tolist()
        out["image"] = self.image.tolist()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageExplanation:
        values = dict(data)
        values["scores"] = np.asarray(values["scores"], dtype=np.float32)
        values["image"] = np.asarray(values["image"], dtype=np.uint8)
        return cls(**values)


class PixelMethod:
    """One pixel attribution method: ``attribute`` returns ``(scores (size, size), delta,
    steps)`` for a single normalised image ``x`` ``(1, 3, size, size)``."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    signed: ClassVar[bool] = True
    complete: ClassVar[bool] = False

    def attribute(
        self, forward: Any, x: torch.Tensor, baseline: torch.Tensor, target: int, opts: Options
    ) -> tuple[torch.Tensor, float | None, int | None]:
        raise NotImplementedError


class IntegratedGradients(PixelMethod):
    name = "integrated-gradients"
    summary = "Gradients along the path from a baseline image; scores sum to the logit gap."
    complete = True

    def attribute(
        self, forward: Any, x: torch.Tensor, baseline: torch.Tensor, target: int, opts: Options
    ) -> tuple[torch.Tensor, float | None, int | None]:
        from captum.attr import IntegratedGradients as CaptumIG

        with torch.no_grad():
            gap = float(forward(x)[0, target] - forward(baseline)[0, target])
        steps = opts.n_steps
        while True:
            attr, delta = CaptumIG(forward).attribute(
                x,
                baselines=baseline,
                target=target,
                n_steps=steps,
                internal_batch_size=opts.internal_batch_size,
                return_convergence_delta=True,
            )
            d = float(delta[0])
            good = abs(d) <= opts.tolerance * abs(gap) + 1e-5
            if good or not opts.adaptive or steps >= opts.max_steps:
                return attr[0].sum(0), d, steps
            steps = min(steps * 2, opts.max_steps)


class Saliency(PixelMethod):
    name = "saliency"
    summary = "|gradient| of the logit per pixel (largest over channels): sensitivity."
    signed = False

    def attribute(
        self, forward: Any, x: torch.Tensor, baseline: torch.Tensor, target: int, opts: Options
    ) -> tuple[torch.Tensor, float | None, int | None]:
        from captum.attr import Saliency as CaptumSaliency

        inputs = x.detach().clone().requires_grad_(True)  # captum warns on a leaf without grad
        attr = CaptumSaliency(forward).attribute(inputs, target=target, abs=True)
        return attr[0].amax(0), None, None


class Occlusion(PixelMethod):
    name = "occlusion"
    summary = "Cover one square at a time with the baseline; score = how much the logit drops."

    def attribute(
        self, forward: Any, x: torch.Tensor, baseline: torch.Tensor, target: int, opts: Options
    ) -> tuple[torch.Tensor, float | None, int | None]:
        from captum.attr import Occlusion as CaptumOcclusion

        size = x.shape[-1]
        window = max(2, size // 8)  # 8 px squares on a 64 px image
        stride = max(1, window // 2)
        attr = CaptumOcclusion(forward).attribute(
            x,
            sliding_window_shapes=(3, window, window),
            strides=(3, stride, stride),
            baselines=baseline,
            target=target,
            perturbations_per_eval=opts.perturbations_per_eval,
        )
        # the square spans all channels: each channel holds the same drop, summed once
        return attr[0].mean(0), None, None


class GradientShap(PixelMethod):
    name = "gradient-shap"
    summary = "Expected gradients over black/blurred baselines and random path points."

    def attribute(
        self, forward: Any, x: torch.Tensor, baseline: torch.Tensor, target: int, opts: Options
    ) -> tuple[torch.Tensor, float | None, int | None]:
        from captum.attr import GradientShap as CaptumGradientShap

        refs = torch.cat([torch.full_like(x, -1.0), blurred(x)])  # black and blurred
        numpy_state = np.random.get_state()  # captum draws baselines from NumPy's generator
        try:
            np.random.seed(opts.seed)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(opts.seed)
                attr, delta = CaptumGradientShap(forward).attribute(
                    x,
                    baselines=refs,
                    n_samples=opts.shap_samples,
                    stdevs=0.05 * 2,  # 5% of the input range [-1, 1]
                    target=target,
                    return_convergence_delta=True,
                )
        finally:
            np.random.set_state(numpy_state)
        return attr[0].sum(0), float(delta.float().abs().mean()), None


PIXEL_METHODS: dict[str, PixelMethod] = {
    m.name: m for m in (IntegratedGradients(), Saliency(), Occlusion(), GradientShap())
}


def get_pixel_method(name: str) -> PixelMethod:
    try:
        return PIXEL_METHODS[name]
    except KeyError:
        raise AttributionError(
            f"method {name!r} does not explain images; choose one of {', '.join(PIXEL_METHODS)}"
        ) from None


def blurred(x: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """A strongly blurred copy of ``x`` (down to 1/``factor`` and back up): keeps the
    colours and rough shape, removes the detail a classifier reads."""
    small = F.interpolate(x, scale_factor=1 / factor, mode="area")
    return F.interpolate(small, size=x.shape[-2:], mode="bilinear", align_corners=False)


def baseline_of(x: torch.Tensor, kind: str) -> torch.Tensor:
    """The reference image of ``kind``: ``black`` (all pixels 0) or ``blur``."""
    if kind not in BASELINES:
        raise AttributionError(f"baseline must be one of {', '.join(BASELINES)}; got {kind!r}")
    return torch.full_like(x, -1.0) if kind == "black" else blurred(x)


def logits_fn(model: torch.nn.Module) -> Any:
    """``forward(x) -> logits`` of a (possibly peft-wrapped) image classifier."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = model(x)
        return out.float()

    return forward


def explain_image(
    model: torch.nn.Module,
    image: Any,
    method: str = "integrated-gradients",
    target: int | str | None = None,
    trust: bool | str = True,
    image_size: int | None = None,
    baseline: str = "black",
    options: Options | None = None,
) -> ImageExplanation:
    """Explain one prediction of an image classifier, pixel by pixel.

    Parameters
    ----------
    model:
        An image classifier of this task (plain or peft-wrapped); its ``config`` gives the
        class names and, unless ``image_size`` is given, the input size.
    image:
        A file path, a PIL image or a ``(h, w[, 3])`` uint8 array.
    target:
        Class to explain (name or index); default the predicted class.
    trust:
        True: deletion/insertion curves against random pixel orders and the randomization
        check (one attribution per stage of the cascade); ``"faithfulness"``: the curves
        only; False: none.
    baseline:
        ``black`` or ``blur``: the reference image of integrated gradients and the patch
        occlusion paints.
    """
    from workbench.attribution.model import evaluation_mode
    from workbench.tasks.image_classification.runs import as_image
    from workbench.tasks.image_classification.trust import image_trust

    tick = time.perf_counter()
    impl = get_pixel_method(method)
    opts = options or Options()
    config = _model_config(model)
    labels = list(config.labels)
    size = image_size or config.image_size
    device = next(model.parameters()).device
    x = normalize(to_tensor(as_image(image), size))[None].to(device)  # (1, 3, size, size)
    base = baseline_of(x, baseline)
    forward = logits_fn(model)
    with evaluation_mode(model):
        with torch.no_grad():
            logits = forward(torch.cat([x, base]))
        probs = torch.softmax(logits[0], -1)
        index = _target_index(target, labels, int(probs.argmax()))
        scores, delta, steps = impl.attribute(forward, x, base, index, opts)
        heat = scores.detach().float().cpu().numpy()
        explanation = ImageExplanation(
            method=impl.name,
            target=labels[index],
            target_index=index,
            predicted=labels[int(probs.argmax())],
            probs={name: float(p) for name, p in zip(labels, probs.tolist(), strict=True)},
            scores=heat.astype(np.float32),
            image=(denormalize(x[0]).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8),
            signed=impl.signed,
            baseline=baseline,
            gap=float(logits[0, index] - logits[1, index]),
            delta=delta,
            n_steps=steps,
        )
        missed = delta is not None and abs(delta) > opts.tolerance * abs(explanation.gap) + 1e-5
        if impl.complete and missed and steps == opts.max_steps:
            explanation.notes.append(
                f"did not converge within {opts.max_steps} steps: the scores miss "
                f"logit(x) − logit(baseline) by more than {opts.tolerance:.0%} (see delta)"
            )
        if trust:
            explanation.trust = image_trust(
                model, impl, x, base, index, heat, opts, sanity=trust is True
            )
    explanation.seconds = time.perf_counter() - tick
    return explanation


def _model_config(model: torch.nn.Module) -> Any:
    get_base = getattr(model, "get_base_model", None)
    base = get_base() if callable(get_base) else model
    config = getattr(base, "config", None)
    if config is None or not hasattr(config, "labels"):
        raise AttributionError(f"{type(base).__name__} is not an image classifier of this task")
    return config


def _target_index(target: int | str | None, labels: list[str], predicted: int) -> int:
    if target is None:
        return predicted
    if isinstance(target, str) and target in labels:
        return labels.index(target)
    if isinstance(target, int) or (isinstance(target, str) and target.lstrip("-").isdigit()):
        i = int(target)
        if 0 <= i < len(labels):
            return i
    raise AttributionError(f"unknown target {target!r}; classes: {', '.join(labels)}")
