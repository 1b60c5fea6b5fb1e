"""Attribution: which words made the model say what it said — and can that be trusted?

>>> from workbench.attribution import explain, ATTRIBUTION_METHODS
>>> e = explain(model, tokenizer, "what a wonderful day", method="layer-ig")
>>> e.explains, e.top_words(3), e.delta, e.trust["comprehensiveness"]
>>> from workbench.attribution.html import save_html; save_html(e, "explanation.html")

Methods (one file each under ``methods/``, one registry): layer-ig, integrated-gradients,
saliency, input-x-gradient, gradient-shap, deeplift (models without attention only), occlusion,
lime, kernel-shap. Scores explain the target class's *logit*. Rendering lives in
:mod:`workbench.attribution.html` (escaped, self-contained HTML) and
:mod:`workbench.attribution.plot` (matplotlib PNG through the Agg canvas).

Captum is imported lazily inside the methods: importing it loads IPython and pyplot, and the
engine must stay headless (CONVENTIONS rule 1).
"""

from workbench.attribution.base import AttributionError, AttributionMethod, Options
from workbench.attribution.engine import explain, explain_many
from workbench.attribution.explanation import Explanation
from workbench.attribution.methods import ATTRIBUTION_METHODS, get_attribution_method

__all__ = [
    "ATTRIBUTION_METHODS",
    "AttributionError",
    "AttributionMethod",
    "Explanation",
    "Options",
    "explain",
    "explain_many",
    "get_attribution_method",
]
