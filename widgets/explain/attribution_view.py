"""AttributionView: which words drove a prediction, how far to trust that, and how it changed.

>>> from widgets import AttributionView
>>> view = AttributionView("runs/20250101-…")     # a run directory, RunHandle or Run
>>> view                                            # pick an example, press Compute
>>> AttributionView(model=model, tokenizer=tok)     # any classifier, typed texts

Modes:

* **single** – one method on one text: the prediction with class probabilities, the word
  heatmap (diverging colours, legend with its scale), the convergence delta and the trust
  measures in plain words (:mod:`workbench.attribution.html`).
* **compare methods** – several methods on one text, side by side on one colour scale, with
  their agreement (Spearman ρ of the word scores).
* **compare models** – one method on one text with two models (the run vs its last checkpoint,
  or vs another run in the same folder, e.g. full fine-tune vs LoRA), on one scale.
* **pinned** – the pinned examples of the run (``run.pinned_texts``): a slider scrubs through
  the steps at which they were explained during training; the chosen step is shown beside the
  first one, on one scale across all steps, with their rank agreement.

Whatever is shown can be exported as a self-contained HTML page or a PNG (matplotlib on Agg),
and :meth:`AttributionView.snapshot` returns it as a static output for the notebook itself: the
live view is gone from a saved, exported or shared copy, the snapshot stays.

Threads (NOTEBOOK_FACTS.md): attributions run in one :class:`~widgets.live.background.LatestJob`
worker so the kernel stays free; that worker alone writes the result widgets (``status``,
``message``, ``output``, ``info``). Callbacks on the kernel's main thread only read controls,
submit jobs, and write the export line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as w

from widgets.explain.attribution_export import Shown, write_view
from widgets.explain.attribution_sources import (
    PICKS,
    ModelChoices,
    example_label,
    model_choices,
    pick_examples,
    read_predictions,
)
from widgets.live.background import LatestJob
from widgets.render import html
from workbench.attribution import ATTRIBUTION_METHODS, Explanation, explain
from workbench.attribution.compare import agreement, shared_scale
from workbench.attribution.html import comparison_html, esc, explanation_html, panel_scales
from workbench.training.pinned import PinnedRecord, read_pinned

MODES = ("single", "compare methods", "compare models", "pinned")
PREDICTED = "predicted"
DEFAULT_COMPARE = ("layer-ig", "saliency", "occlusion")
LAYOUT = w.Layout(width="480px")
STYLE = {"description_width": "110px"}
COMPUTE_AGAIN = "Pick another example, method or model, then press Compute again."


@dataclass(frozen=True)
class Snapshot:
    """A static copy of what an :class:`AttributionView` showed: escaped HTML (no widgets, no
    scripts) for notebooks and exported pages, and a short plain-text summary."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


class AttributionView(w.VBox):
    """Explain predictions of a run or model, compare explanations, export them.

    Parameters
    ----------
    run
        A RunHandle, run directory or ``workbench.runs.Run`` (its test predictions give the
        examples; its model, checkpoint and sibling runs give the models).
    model, tokenizer, max_length
        A classifier to explain instead of (or besides) a run's.
    max_examples, seed
        Examples listed per pick; seed of the random pick.
    """

    def __init__(
        self,
        run: Any = None,
        *,
        model: Any = None,
        tokenizer: Any = None,
        max_length: int = 128,
        max_examples: int = 50,
        seed: int = 0,
    ) -> None:
        self.max_examples, self.seed = max_examples, seed
        self._model, self._tokenizer, self._max_length = model, tokenizer, max_length
        self.choices = ModelChoices()
        self.rows: list[dict[str, Any]] = []  # test predictions of the run
        self.pinned: list[PinnedRecord] = []
        self.shown: Shown | None = None
        self._picked_rows: list[dict[str, Any]] = []  # the rows the example dropdown lists
        self.job = LatestJob("workbench-explain")
        self._build_controls()
        self.show(run)

    # -- building ----------------------------------------------------------------
    def _build_controls(self) -> None:
        def dd(description: str, options: Any, **kw: Any) -> w.Dropdown:
            return w.Dropdown(
                description=description, options=options, layout=LAYOUT, style=STYLE, **kw
            )

        self.mode = w.ToggleButtons(options=MODES, value="single", description="view")
        self.pick = dd("examples", PICKS, value="misclassified")
        self.example = dd("example", [])
        self.text = w.Textarea(
            description="text", placeholder="type a text to explain", layout=LAYOUT, style=STYLE
        )
        self.method = dd("method", list(ATTRIBUTION_METHODS), value="layer-ig")
        self.methods = w.SelectMultiple(
            description="methods",
            options=list(ATTRIBUTION_METHODS),
            value=DEFAULT_COMPARE,
            rows=5,
            layout=LAYOUT,
            style=STYLE,
        )
        self.target = dd("target class", [PREDICTED], value=PREDICTED)
        self.model_choice = dd("model", [])
        self.other_model = dd("compare with", [])
        self.trust = w.Checkbox(value=True, description="trust measures", indent=False)
        self.pinned_example = dd("pinned text", [])
        self.step_slider = w.SelectionSlider(
            description="step", options=[("—", -1)], continuous_update=False, layout=LAYOUT
        )
        self.compute_button = w.Button(description="Compute", button_style="primary")
        self.status = w.Label("idle")
        self.message = w.HTML()
        self.info = w.HTML()
        self.output = w.HTML()
        self.export_path = w.Text(description="export to", layout=LAYOUT, style=STYLE)
        self.export_html_button = w.Button(description="Export HTML")
        self.export_png_button = w.Button(description="Export PNG")
        self.export_message = w.HTML()
        self.pick.observe(lambda _: self._fill_examples(), names="value")
        self.example.observe(self._on_example, names="value")
        self.mode.observe(lambda _: self._on_mode(), names="value")
        self.pinned_example.observe(lambda _: self._on_pinned_example(), names="value")
        self.step_slider.observe(lambda _: self._submit_pinned(), names="value")
        self.compute_button.on_click(lambda _: self.compute())
        self.export_html_button.on_click(lambda _: self.export("html"))
        self.export_png_button.on_click(lambda _: self.export("png"))
        self._pick_box = w.VBox([self.pick, self.example, self.text])
        self._method_box = w.VBox([self.method])
        self._methods_box = w.VBox([self.methods])
        self._other_box = w.VBox([self.other_model])
        self._pinned_box = w.VBox([self.pinned_example, self.step_slider])
        self._compute_box = w.VBox(
            [self.target, self.model_choice, self.trust, w.HBox([self.compute_button, self.status])]
        )
        super().__init__(
            [
                self.mode,
                self._pick_box,
                self._method_box,
                self._methods_box,
                self._other_box,
                self._pinned_box,
                self._compute_box,
                self.message,
                self.info,
                self.output,
                w.HBox([self.export_path, self.export_html_button, self.export_png_button]),
                self.export_message,
            ]
        )

    # -- what notebooks, the Workbench and tests call ---------------------------
    def show(self, run: Any) -> None:
        """Explain with ``run``'s model and examples (a RunHandle, run directory or Run)."""
        self.source = run
        try:
            self.choices = model_choices(run, self._model, self._tokenizer, self._max_length)
            problem = self.choices.problem
        except (ValueError, TypeError, OSError) as err:  # RunError is a ValueError
            self.choices, problem = ModelChoices(), str(err)
        run_dir = self.choices.run_dir
        self.rows = read_predictions(run_dir)
        self.pinned = read_pinned(run_dir) if run_dir else []
        names = self.choices.names
        self.model_choice.options = names
        self.model_choice.value = self.choices.default  # this run's own model, never another
        self.other_model.options = names[1:] or names
        self.other_model.value = self.other_model.options[0] if names else None
        self.target.options = [PREDICTED, *self.choices.labels]
        self.target.value = PREDICTED
        texts = sorted({(r.example, r.text) for r in self.pinned})
        self.pinned_example.options = [(f"{i + 1}: {t[:60]}", i) for i, t in texts]
        self.pinned_example.value = texts[0][0] if texts else None
        self._fill_steps()
        self._fill_examples()
        self.export_path.value = str(self._default_export())
        self.export_path.placeholder = "a file path (.html / .png added)"
        self._on_mode()
        if problem and self.choices.waiting:  # not an error: the run's model comes later
            self.job.submit(lambda: self._reset(html.note(problem), "waiting for the run"))
        elif problem:
            self.job.submit(lambda: self._reset(html.error(problem), "failed"))
        elif self.mode.value != "pinned":  # (pinned mode has just submitted its own view)
            note = html.note(self.choices.note) if self.choices.note else ""
            self.job.submit(lambda: self._reset(note, "idle"))

    def open_example(self, text: str, run: Any = None, compute: bool = True) -> None:
        """Show ``text`` (e.g. a misclassified row of Evaluate) in single mode, and explain it."""
        if run is not None and run is not self.source:
            self.show(run)
        self.mode.value = "single"
        if self.pick.value != "misclassified":
            self.pick.value = "misclassified"
        match = [i for i, row in enumerate(self._picked_rows) if row.get("text") == text]
        if match:
            self.example.value = match[0]
        else:
            self.pick.value = "typed text"
        self.text.value = text
        if compute:
            self.compute()

    def compute(self) -> None:
        """Compute what the mode asks for, in the worker thread (the kernel stays free)."""
        mode = self.mode.value
        if mode == "pinned":
            self._submit_pinned()
            return
        request = {
            "mode": mode,
            "text": self.text.value,
            "method": self.method.value,
            "methods": list(self.methods.value),
            "target": None if self.target.value == PREDICTED else self.target.value,
            "model": self.model_choice.value,
            "other": self.other_model.value,
            "trust": self.trust.value,
        }
        self.job.submit(lambda: self._compute(request))

    def wait(self, timeout: float = 120.0) -> bool:
        """Block until the worker is idle (for scripts and tests)."""
        return self.job.wait_idle(timeout)

    def snapshot(self) -> Snapshot:
        """What the view shows now, as a static output (call it after :meth:`wait`).

        The result displays as the same heatmap, legend, prediction and trust lines as the
        view (plain escaped HTML), so a saved or shared copy of the notebook still shows it.
        """
        shown = self.shown
        if shown is None:
            message = "The attribution view has computed nothing yet: press Compute, then wait."
            return Snapshot(html.note(message), message)
        head = (
            f'<p style="font-size:.9em;color:#555;margin:.2em 0"><b>Static copy</b> of the '
            f"attribution view: {esc(shown.title)}</p>"
        )
        lines = [f"Attribution view: {shown.title}"]
        for title, e in zip(shown.titles, shown.explanations, strict=True):
            top = ", ".join(f"{word} {score:+.3g}" for word, score in e.top_words(5))
            lines.append(
                f"{title}: {e.method} explains {e.target['label']!r} "
                f"(predicted {e.predicted['label']!r}); top words: {top}"
            )
        return Snapshot(head + self.info.value + self.output.value, "\n".join(lines))

    def export(self, kind: str, path: str | Path | None = None) -> Path | None:
        """Write what is shown as ``kind`` (``html`` or ``png``); return the file's path."""
        shown = self.shown
        if shown is None:
            self.export_message.value = html.error("nothing to export yet: press Compute first")
            return None
        target = Path(path or self.export_path.value or self._default_export()).expanduser()
        target = target.with_suffix(f".{kind}")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_view(shown, kind, target)
        except (OSError, ValueError) as err:
            self.export_message.value = html.error(
                f"could not export to {target}: {err}\nType a writable path under 'export to' "
                "and export again."
            )
            return None
        self.export_message.value = html.note(f"wrote {target}")
        return target

    # -- the worker's jobs -------------------------------------------------------
    def _compute(self, request: dict[str, Any]) -> None:
        self._say("", "computing…")
        self.compute_button.disabled = True
        tick = time.perf_counter()
        try:
            shown = self._explain(request)
        except Exception as err:  # shown as a message: the view must survive any input
            self.compute_button.disabled = False
            hint = "" if isinstance(err, ValueError) else f"\n{COMPUTE_AGAIN}"
            self._say(html.error(f"{type(err).__name__}: {err}{hint}"), "failed")
            return
        self._present(shown)
        self.compute_button.disabled = False
        self._say("", f"done in {time.perf_counter() - tick:.1f} s")

    def _explain(self, r: dict[str, Any]) -> Shown:
        text = str(r["text"])
        if not text.strip():
            raise ValueError("no text to explain: pick an example or type a text")
        if not r["model"]:
            raise ValueError(
                self.choices.problem or "no model to explain with: pick one under 'model'"
            )

        def run(model_name: str, method: str, trust: bool) -> Explanation:
            model, tokenizer, length = self.choices.load(model_name)
            return explain(
                model, tokenizer, text, method, r["target"], trust=trust, max_length=length
            )

        if r["mode"] == "single":
            e = run(r["model"], r["method"], r["trust"])
            return Shown([e], [r["model"]], shared_scale([e]), f"{e.method}: {r['model']}")
        if r["mode"] == "compare methods":
            if not r["methods"]:
                raise ValueError("pick at least one method to compare")
            exps = [run(r["model"], m, r["trust"]) for m in r["methods"]]
            # one scale per unit: saliency (a gradient size) is not in logits like the rest
            scale = panel_scales(exps)[0]
            return Shown(exps, list(r["methods"]), scale, "methods compared")
        names = [r["model"], r["other"]]
        if not r["other"] or r["other"] == r["model"]:
            raise ValueError(
                "pick a second model to compare with (another run in the same folder, or the "
                "last checkpoint)"
            )
        exps = [run(n, r["method"], r["trust"]) for n in names]
        return Shown(exps, names, shared_scale(exps), f"{r['method']}: models compared")

    def _present(self, shown: Shown) -> None:
        self.shown = shown
        if len(shown.explanations) == 1:
            self.output.value = explanation_html(shown.explanations[0])
        else:
            self.output.value = comparison_html(shown.explanations, shown.titles, shown.scale)
        self.info.value = self._example_info(shown.explanations[0].text)

    def _show_pinned(self, example: int, step: int) -> None:
        records = [r for r in self.pinned if r.example == example]
        chosen = [r for r in records if r.step == step]
        if not chosen:
            self._say(html.note("nothing stored at this step: pick another step"), "idle")
            return
        record = chosen[-1]
        scale = shared_scale([r.explanation for r in records])  # one scale across all steps
        first = records[0]
        rho = agreement(first.explanation, record.explanation)
        drift = "n/a" if rho is None else f"{rho:+.2f}"
        e = record.explanation
        if record is first:
            self.shown = Shown([e], [f"step {step}"], scale, f"pinned example at step {step}")
            self.output.value = explanation_html(e, scale=scale)
        else:  # where it started beside where it is now, on the scale of all steps
            titles = [f"step {first.step} ({first.kind})", f"step {step}"]
            pair = [first.explanation, e]
            self.shown = Shown(pair, titles, scale, f"pinned example: step {first.step} vs {step}")
            self.output.value = comparison_html(pair, titles, scale)
        self.info.value = html.note(
            f"step {step} ({record.kind}{', best so far' if record.best else ''}) of "
            f"{len(records)} stored · one colour scale for all steps (±{scale:.3g}) · "
            f"rank agreement with step {first.step}: ρ = {drift} · explained in "
            f"{record.seconds:.1f} s"
        )
        self._say("", f"step {step}")

    def _reset(self, message: str, status: str) -> None:
        """Forget the previous run's view (another run is shown now)."""
        self.shown = None
        self.output.value = self.info.value = ""
        self._say(message, status)

    def _say(self, message: str, status: str) -> None:
        self.message.value = message
        self.status.value = status

    # -- callbacks (main thread) ----------------------------------------------
    def _fill_examples(self) -> None:
        rows = pick_examples(self.rows, self.pick.value, self.max_examples, self.seed)
        self._picked_rows = rows
        self.example.options = [(example_label(r), i) for i, r in enumerate(rows)]
        self.example.disabled = not rows
        if rows:
            self.example.value = 0
            self.text.value = str(rows[0]["text"])

    def _on_example(self, change: Any) -> None:
        index = change["new"]
        rows = self._picked_rows
        if index is not None and 0 <= index < len(rows):
            self.text.value = str(rows[index]["text"])

    def _fill_steps(self) -> None:
        example = self.pinned_example.value
        steps = [r for r in self.pinned if r.example == example]
        options = [(f"{r.step}{' ★' if r.best else ''}", r.step) for r in steps] or [("—", -1)]
        self.step_slider.options = options
        self.step_slider.value = options[-1][1]

    def _on_pinned_example(self) -> None:
        self._fill_steps()
        self._submit_pinned()  # the steps may be the same as before: the slider stays quiet

    def _submit_pinned(self) -> None:
        if self.mode.value != "pinned":
            return
        example, step = self.pinned_example.value, self.step_slider.value
        if example is None:
            self.job.submit(
                lambda: self._say(
                    html.note(
                        "this run has no pinned examples: pin texts before training "
                        "(run.pinned_texts, or --pin TEXT)"
                    ),
                    "idle",
                )
            )
            return
        self.job.submit(lambda: self._show_pinned(example, step))

    def _on_mode(self) -> None:
        mode = self.mode.value
        visible = {
            self._pick_box: mode != "pinned",
            self._method_box: mode in ("single", "compare models"),
            self._methods_box: mode == "compare methods",
            self._other_box: mode == "compare models",
            self._pinned_box: mode == "pinned",
            self._compute_box: mode != "pinned",
        }
        for box, show in visible.items():
            box.layout.display = None if show else "none"
        if mode == "pinned":
            self._submit_pinned()

    def _example_info(self, text: str) -> str:
        row = next((r for r in self.rows if r.get("text") == text), None)
        if row is None:
            return ""
        return html.note(
            f"true label: {row.get('label')} · predicted: {row.get('predicted')} "
            f"({float(row.get('confidence') or 0):.1%})"
        )

    def _default_export(self) -> Path:
        folder = self.choices.run_dir / "attributions" if self.choices.run_dir else Path(".")
        return folder / "explanation"
