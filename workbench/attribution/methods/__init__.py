"""Attribution methods: one registry, one file per method (CONVENTIONS rule 3).

Adding a method = one file with an :class:`~workbench.attribution.base.AttributionMethod`
subclass, one entry in ``ATTRIBUTION_METHODS`` below, and nothing else: the conformance test in
``tests/test_attribution.py`` runs every registered method through the same checks.
Captum is imported inside each method's ``attribute`` (it loads IPython and pyplot on import).
"""

from __future__ import annotations

from workbench.attribution.base import AttributionError, AttributionMethod
from workbench.attribution.methods.deeplift import DeepLift
from workbench.attribution.methods.gradient_shap import GradientShap
from workbench.attribution.methods.input_x_gradient import InputXGradient
from workbench.attribution.methods.integrated_gradients import IntegratedGradients
from workbench.attribution.methods.kernel_shap import KernelShap
from workbench.attribution.methods.layer_ig import LayerIntegratedGradients
from workbench.attribution.methods.lime import Lime
from workbench.attribution.methods.occlusion import Occlusion
from workbench.attribution.methods.saliency import Saliency

ATTRIBUTION_METHODS: dict[str, AttributionMethod] = {
    m.name: m
    for m in (
        LayerIntegratedGradients(),
        IntegratedGradients(),
        Saliency(),
        InputXGradient(),
        GradientShap(),
        DeepLift(),
        Occlusion(),
        Lime(),
        KernelShap(),
    )
}


def get_attribution_method(name: str) -> AttributionMethod:
    """The registered method called ``name``; a fix-it error listing the others."""
    try:
        return ATTRIBUTION_METHODS[name]
    except KeyError:
        raise AttributionError(
            f"unknown attribution method {name!r}; choose one of {', '.join(ATTRIBUTION_METHODS)}"
        ) from None


__all__ = ["ATTRIBUTION_METHODS", "get_attribution_method"]
