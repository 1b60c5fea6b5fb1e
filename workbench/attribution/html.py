"""Explanations as HTML: a word heatmap with legend, the prediction, and trust in plain words.

Every string that reaches the page — text, words, tokens, labels, method names, notes — goes
through :func:`html.escape` (with quotes), because texts and labels come from untrusted
datasets. Captum's ``visualize_text`` does not escape, so it is not used. Pages are
self-contained: inline CSS, no JavaScript, no external resources.

Signed methods (scores in logits) get diverging colours: blue pushes the target's logit up, red
pushes it down. Unsigned methods (saliency: the size of a gradient, no direction) get one hue
only (purple), light to dark, so that no colour suggests a direction they do not measure. The
intensity is ``|score| / scale``, shown in the legend. The scale is ``max |score|`` of that
explanation, or — in :func:`comparison_html`, where panels sit side by side — one scale per
unit (:func:`panel_scales`): all panels in logits share one, so equal colours mean equal
scores, and an unsigned method, whose scores are in other units, gets its own. Every section
carries its scale in a ``data-scale`` attribute.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.attribution.explanation import Explanation

POSITIVE = (33, 102, 172)  # blue (ColorBrewer RdBu end): supports the target class
NEGATIVE = (178, 24, 43)  # red: speaks against it
UNSIGNED = (84, 39, 143)  # purple (ColorBrewer Purples end): size only, no direction

STYLE = """
.wb-attr{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:60em;
 margin:0 0 1.5em 0;padding:.8em 1em;border:1px solid #ddd;border-radius:6px}
.wb-attr h3{margin:.1em 0 .4em 0;font-size:1.05em}
.wb-attr .text{line-height:2.1;font-size:1.05em;margin:.5em 0}
.wb-attr .w{padding:.15em 0;border-radius:3px}
.wb-attr .legend{display:flex;align-items:center;gap:.5em;font-size:.85em;margin:.3em 0}
.wb-attr .bar{width:14em;height:.9em;border:1px solid #ccc;border-radius:2px}
.wb-attr table{border-collapse:collapse;font-size:.9em;margin:.4em 0}
.wb-attr td,.wb-attr th{padding:.15em .6em;text-align:left}
.wb-attr .num{text-align:right;font-variant-numeric:tabular-nums}
.wb-attr .pbar{display:inline-block;height:.7em;background:#888;vertical-align:middle}
.wb-attr .muted{color:#666;font-size:.85em}
.wb-attr ul{margin:.3em 0;padding-left:1.3em}
.wb-compare{display:flex;flex-wrap:wrap;gap:.8em;align-items:flex-start}
.wb-compare>.wb-cell{flex:1 1 22em;min-width:18em}
.wb-compare .wb-attr{margin:0}
.wb-compare h4{margin:.2em 0;font-size:1em}
"""


def esc(value: object) -> str:
    """Escape anything for HTML text *and* attribute values (quotes included)."""
    return html.escape(str(value), quote=True)


def hue(score: float, signed: bool = True) -> tuple[int, int, int]:
    """The RGB colour of a score: blue up, red down; purple for unsigned (size-only) scores."""
    if not signed:
        return UNSIGNED
    return POSITIVE if score >= 0 else NEGATIVE


def colour(score: float, scale: float, signed: bool = True) -> str:
    """CSS background for a score: its :func:`hue`, alpha by size relative to ``scale``."""
    strength = min(abs(score) / scale, 1.0) if scale > 0 else 0.0
    r, g, b = hue(score, signed)
    return f"rgba({r},{g},{b},{strength:.3f})"


def unit(e: Explanation) -> str:
    """What ``e``'s scores are measured in: every signed method explains the target's logit
    (contributions to it or changes of it, in logits); an unsigned method (saliency: the size
    of a gradient) has units of its own, not comparable with logits."""
    if e.signed:
        return "logits"
    return "gradient size" if e.method == "saliency" else f"{e.method} size"


def meaning(e: Explanation) -> str:
    """What the colours of ``e`` mean, in a few words (legends and figure captions)."""
    label = e.target["label"]
    if e.signed:
        return f"red: pushes the logit of {label} down · blue: pushes it up (scores in logits)"
    what = (
        f"the size of the gradient of the logit of {label} at each word: how sensitive it is"
        if e.method == "saliency"
        else f"the size of the effect on the logit of {label}"
    )
    return f"unsigned, one hue: darker = larger; {what}, not whether it pushes up or down"


def panel_scales(explanations: Sequence[Explanation], scale: float | None = None) -> list[float]:
    """One colour scale per panel: the largest ``|score|`` over the panels in the same
    :func:`unit`, so panels in logits share one scale and an unsigned method gets its own.

    ``scale``, when given, is the scale of the first panel's unit (the panels in other units
    still get their own largest ``|score|``).
    """
    from workbench.attribution.compare import shared_scale

    by_unit: dict[str, list[Explanation]] = {}
    for e in explanations:
        by_unit.setdefault(unit(e), []).append(e)
    scales = {u: shared_scale(group) for u, group in by_unit.items()}
    if scale is not None and explanations:
        scales[unit(explanations[0])] = scale
    return [scales[unit(e)] for e in explanations]


def render_html(
    explanations: Explanation | Sequence[Explanation],
    title: str = "Explanations",
    scale: float | None = None,
) -> str:
    """A complete, self-contained HTML page for one or more explanations.

    ``scale``: one colour scale for all of them in the first one's :func:`unit` (default:
    each its own largest ``|score|``); see :func:`panel_scales`.
    """
    items = [explanations] if isinstance(explanations, Explanation) else list(explanations)
    scales = panel_scales(items, scale) if scale is not None else [None] * len(items)
    body = "\n".join(
        explanation_html(e, with_style=False, scale=s) for e, s in zip(items, scales, strict=True)
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><h2>{esc(title)}</h2>\n{body}\n</body></html>\n"
    )


def save_html(
    explanations: Explanation | Sequence[Explanation],
    path: str | Path,
    title: str = "Explanations",
    scale: float | None = None,
) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8); return the path."""
    out = Path(path)
    out.write_text(render_html(explanations, title, scale), encoding="utf-8")
    return out


def explanation_html(
    e: Explanation,
    with_style: bool = True,
    scale: float | None = None,
    shared_by: str = "all panels",
) -> str:
    """One explanation as an HTML fragment (with its own ``<style>`` unless told not to).

    ``scale``: the ``|score|`` shown at full colour (default: this explanation's largest);
    when given, the legend says it is one scale shared by ``shared_by``.
    """
    shared = shared_by if scale is not None else ""
    if scale is None:
        scale = max((abs(s) for s in e.word_scores), default=0.0)
    parts = [
        f"<style>{STYLE}</style>" if with_style else "",
        f'<section class="wb-attr" data-scale="{scale:.6g}">',
        f"<h3>{esc(e.method)}: {esc(e.explains)} (index {esc(e.target['index'])})</h3>",
        f'<div class="text">{_heatmap(e, scale)}</div>',
        _legend(e, scale, shared),
        _prediction(e),
        _top_words(e),
        f"<ul>{''.join(f'<li>{esc(line)}</li>' for line in plain_words(e))}</ul>",
        _sanity_curve(e),
        "".join(f'<p class="muted">Note: {esc(n)}</p>' for n in e.notes),
        "</section>",
    ]
    return "\n".join(p for p in parts if p)


def _sanity_curve(e: Explanation) -> str:
    rand = e.trust.get("randomization")
    return sanity_curve_html(rand) if isinstance(rand, dict) and rand.get("stages") else ""


def _heatmap(e: Explanation, scale: float) -> str:
    """The text with each word on its colour; the characters between words stay plain."""
    if not e.word_spans or any(a < 0 for a, _ in e.word_spans):
        return " ".join(
            _word(w, s, scale, e.signed) for w, s in zip(e.words, e.word_scores, strict=True)
        )
    out, pos = [], 0
    for (start, end), score in zip(e.word_spans, e.word_scores, strict=True):
        out.append(esc(e.text[pos:start]))
        out.append(_word(e.text[start:end], score, scale, e.signed))
        pos = end
    if pos < len(e.text):
        out.append(f'<span class="muted">{esc(e.text[pos:])}</span>')
    return "".join(out)


def _word(word: str, score: float, scale: float, signed: bool) -> str:
    strong = scale > 0 and abs(score) / scale > 0.6
    fg = "color:#fff;" if strong else ""
    return (
        f'<span class="w" style="background:{colour(score, scale, signed)};{fg}" '
        f'title="{esc(f"{word}: {score:+.4f}")}">{esc(word)}</span>'
    )


def _legend(e: Explanation, scale: float, shared: str = "") -> str:
    if e.signed:
        ramp = f"linear-gradient(to right,{colour(-1, 1)},rgba(255,255,255,0),{colour(1, 1)})"
        ends = (f"{-scale:+.3g}", f"{scale:+.3g}")
    else:
        ramp = f"linear-gradient(to right,rgba(255,255,255,0),{colour(1, 1, signed=False)})"
        ends = ("0", f"{scale:.3g}")
    words = meaning(e)
    if shared:
        words += f" · one scale shared by {shared}"
    return (
        f'<div class="legend"><span class="num">{esc(ends[0])}</span>'
        f'<span class="bar" style="background:{ramp}"></span>'
        f'<span class="num">{esc(ends[1])}</span><span>{esc(words)}</span></div>'
    )


def _prediction(e: Explanation) -> str:
    rows = []
    for name, p in sorted(e.probs.items(), key=lambda kv: -kv[1]):
        mark = " (predicted)" if name == e.predicted["label"] else ""
        mark += " (explained)" if name == e.target["label"] else ""
        rows.append(
            f'<tr><td>{esc(name)}{esc(mark)}</td><td class="num">{p:.1%}</td>'
            f'<td><span class="pbar" style="width:{p * 10:.2f}em"></span></td></tr>'
        )
    return f"<table><tr><th>class</th><th>probability</th><th></th></tr>{''.join(rows)}</table>"


def _top_words(e: Explanation, n: int = 8) -> str:
    cells = "".join(
        f'<tr><td>{esc(w)}</td><td class="num">{s:+.4f}</td></tr>' for w, s in e.top_words(n)
    )
    return f"<table><tr><th>top words</th><th>score</th></tr>{cells}</table>"


def plain_words(e: Explanation) -> list[str]:
    """The convergence and trust numbers of ``e`` as sentences (also used by the CLI)."""
    label = e.target["label"]
    lines = [
        f"Logit of {label}: {e.logit:.3f} for the text, {e.baseline_logit:.3f} for the baseline "
        f"(every word replaced by the {e.baseline} token); difference {e.logit_gap:.3f}.",
        delta_sentence(e),
    ]
    return lines + _trust_sentences(e.trust, label)


def delta_kind(e: Explanation) -> str | None:
    """What ``e.delta`` measures (see :class:`Explanation`); None: nothing to show.

    Explanations stored before ``delta_kind`` existed fall back on their method, but only for
    the complete methods: GradientSHAP's old delta was a signed mean that let errors cancel.
    """
    if e.delta is None:
        return None
    if e.delta_kind is not None:
        return e.delta_kind
    from workbench.attribution.methods import ATTRIBUTION_METHODS

    method = ATTRIBUTION_METHODS.get(e.method)
    return method.delta_kind if method is not None and method.complete else None


def delta_sentence(e: Explanation) -> str:
    """The convergence delta of ``e`` in words, named after what its method's delta is."""
    kind = delta_kind(e)
    if kind is None or e.delta is None:
        return "This method's scores are not meant to add up to the logit difference."
    size = abs(e.delta)
    if kind == "expected-gradients":
        return (
            f"Not complete: {e.method} averages gradients over sampled baselines (pad and mask) "
            "and noisy copies of the input, so its scores need not add up to that difference "
            f"(they sum to {sum(e.token_scores):.3f}). Expected-gradients approximation error: "
            f"each sample misses its own logit gap by {size:.4f} on average (the mean of |δ| "
            "per sample, so errors of opposite sign do not cancel)."
        )
    share = size / abs(e.logit_gap) if e.logit_gap else float("inf")
    within = f"the scores add up to that difference within {size:.4f} ({share:.1%})"
    if kind == "summation-to-delta":
        return f"Summation-to-delta (DeepLIFT's rules): {within}."
    steps = f" after {e.n_steps} integration steps" if e.n_steps else ""
    return f"Completeness: {within}{steps}."


def _trust_sentences(trust: dict[str, Any], label: str) -> list[str]:
    if "comprehensiveness" not in trust:
        return ["Trust measures were not computed."]
    k = trust["k_words"]
    lines = [
        f"Comprehensiveness: removing the top {trust['k']:.0%} of words ({k}) lowers "
        f"P({label}) by {trust['comprehensiveness']:.3f}; removing {k} random words lowers it "
        f"by {trust['random_comprehensiveness']:.3f} on average. Higher than random = faithful.",
        f"Sufficiency: keeping only those {k} words lowers P({label}) by "
        f"{trust['sufficiency']:.3f}; keeping {k} random words lowers it by "
        f"{trust['random_sufficiency']:.3f}. Lower than random = those words suffice.",
    ]
    rand = trust.get("randomization")
    if isinstance(rand, dict) and rand.get("stages"):
        lines += sanity_sentences(rand)
    elif isinstance(rand, dict) and rand:  # stored before the cascade: top and all only
        shown = {k: _rho(v) for k, v in rand.items()}
        lines.append(
            f"Sanity check: on a copy of the model with its top layers randomized, the word "
            f"ranking correlates ρ = {shown.get('top', 'n/a')} with this one; with all weights "
            f"randomized, ρ = {shown.get('all', 'n/a')}. Near 1 would mean the explanation "
            "does not depend on what the model learned."
        )
    return lines


def sanity_sentences(rand: dict[str, Any]) -> list[str]:
    """The cascading randomization check in words: the curve, then the verdict."""
    control = rand["control"]
    curve = " · ".join(
        f"{s['stage']} {_rho(s['spearman'])}/{_rho(s['spearman_abs'])}" for s in rand["stages"]
    )
    last = rand["stages"][-1]
    cost = f"{rand.get('attributions', len(rand['stages']) + 1)} extra attributions"
    if isinstance(rand.get("seconds"), (int, float)):
        cost += f", {rand['seconds']:.1f} s"
    return [
        "Sanity check (cascading randomization, Adebayo et al. 2018): the weights of a copy "
        "of the model are re-drawn at random from the top down, and after each stage the "
        "word ranking is compared with this one — ρ of the signed scores / ρ of |scores|: "
        f"control, nothing random {_rho(control['spearman'])}/"
        f"{_rho(control['spearman_abs'])} · {curve} ({cost}).",
        f"With every weight random, ρ = {_rho(last['spearman'])} (signed) and "
        f"{_rho(last['spearman_abs'])} (|scores|). Low is good; near the control's 1 would "
        "mean the explanation does not depend on what the model learned. ρ of |scores| "
        "catches what signed ρ hides: a random model that only flips signs.",
    ]


def _rho(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, (int, float)) else "n/a"


def sanity_curve_html(rand: dict[str, Any]) -> str:
    """The cascade as a table of bars, one row per stage, top of the model first.

    Plain table and inline CSS (no SVG, no script: the pages stay inert). Each ρ gets a bar
    as long as ``|ρ|`` (blue positive, red negative), so the two columns read as two curves
    falling from the control's 1 towards 0.
    """
    points = [{"stage": "control (nothing random)", "randomized": 0.0, **rand["control"]}]
    rows = "".join(
        f"<tr><td>{esc(p['stage'])}</td>"
        f'<td class="num">{float(p["randomized"]):.1%}</td>'
        f"<td>{_rho_bar(p['spearman'])}</td><td>{_rho_bar(p['spearman_abs'])}</td></tr>"
        for p in points + list(rand["stages"])
    )
    return (
        '<table class="wb-sanity"><tr><th>randomized down to</th><th>weights random</th>'
        f"<th>ρ signed</th><th>ρ |scores|</th></tr>{rows}</table>"
    )


def _rho_bar(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return '<span class="muted">n/a</span>'
    rgb = POSITIVE if value >= 0 else NEGATIVE
    return (
        f'<span class="pbar" style="width:{abs(value) * 5:.2f}em;'
        f'background:rgb({rgb[0]},{rgb[1]},{rgb[2]})"></span> '
        f'<span class="num">{value:+.2f}</span>'
    )


# ----------------------------------------------------------------------------- comparisons
def comparison_html(
    explanations: Sequence[Explanation],
    titles: Sequence[str],
    scale: float | None = None,
    with_style: bool = True,
) -> str:
    """Explanations side by side, one colour scale per unit, with their pairwise agreement.

    ``titles`` name the panels (method, checkpoint, run, step …). Panels in logits (every
    signed method) share one scale; an unsigned method (saliency) is in other units and gets
    its own (:func:`panel_scales`; ``scale``, when given, is the first panel's unit's scale).
    """
    from workbench.attribution.compare import agreement_table

    if len(titles) != len(explanations):
        raise ValueError(f"{len(explanations)} explanations but {len(titles)} titles")
    scales = panel_scales(explanations, scale)
    units = [unit(e) for e in explanations]
    mixed = len(set(units)) > 1

    def shared_by(u: str) -> str:
        if not mixed:
            return "all panels"
        names = ", ".join(t for t, v in zip(titles, units, strict=True) if v == u)
        return f"the panels in {u} ({names})"

    cells = "".join(
        f'<div class="wb-cell"><h4>{esc(t)}</h4>{explanation_html(e, False, s, shared_by(u))}</div>'
        for e, t, s, u in zip(explanations, titles, scales, units, strict=True)
    )
    rows = "".join(
        f"<tr><td>{esc(a)}</td><td>{esc(b)}</td>"
        f'<td class="num">{"n/a" if rho is None else f"{rho:+.2f}"}</td></tr>'
        for a, b, rho in agreement_table(explanations, titles)
    )
    by_size = (
        "; a pair with an unsigned method is compared by |score|"
        if not all(e.signed for e in explanations)
        else ""
    )
    agree = (
        '<section class="wb-attr"><b>Agreement</b> (Spearman rank correlation of the word '
        "scores: +1 same ranking, 0 unrelated, −1 reversed; n/a when the words differ"
        f"{by_size})"
        f"<table><tr><th>panel</th><th>panel</th><th>ρ</th></tr>{rows}</table></section>"
        if rows
        else ""
    )
    note = (
        '<section class="wb-attr"><b>Colour scales</b>, one per unit — '
        + esc(
            " · ".join(
                f"{u}: {'±' if u == 'logits' else '0–'}{s:.3g}"
                for u, s in dict(zip(units, scales, strict=True)).items()
            )
        )
        + ". Signed methods: blue raises the logit, red lowers it. Unsigned methods (purple) "
        "give a size only, in their own units: compare their ranking, not their colour "
        "strength, with the others.</section>"
        if mixed
        else ""
    )
    data = f' data-scale="{scales[0]:.6g}"' if scales and not mixed else ""
    return (
        f"<style>{STYLE}</style>" if with_style else ""
    ) + f'<div class="wb-compare"{data}>{cells}</div>{note}{agree}'


def render_comparison(
    explanations: Sequence[Explanation],
    titles: Sequence[str],
    title: str = "Comparison",
    scale: float | None = None,
) -> str:
    """A complete, self-contained HTML page of :func:`comparison_html`."""
    body = comparison_html(explanations, titles, scale, with_style=False)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><h2>{esc(title)}</h2>\n{body}\n</body></html>\n"
    )
