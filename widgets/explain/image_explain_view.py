"""ImageExplainView: which pixels drove an image classifier's prediction, and how far to trust it.

>>> from widgets import ImageExplainView
>>> ImageExplainView("runs/20250101-…")   # an image-classification run: pick a test image

The Explain tab of the Workbench shows this view for the runs of a task whose
``Task.explain_view`` is ``"image"``. Pick a test image (the misclassified ones first, most
confident mistake on top) or upload one, a method (integrated gradients, saliency,
occlusion, GradientSHAP), the class to explain and the baseline, then **Compute**: the
image as the model read it, the heatmap and the overlay side by side, the class
probabilities, the method's convergence delta where it has one, and the trust measures in
plain words: the deletion and insertion curves against random orders of the same squares,
and, ticked, the randomization check (the heatmap of a model whose weights were replaced,
layer by layer from the top, should not look like this one).

Everything is computed by :func:`workbench.tasks.image_classification.explain_image` in one
:class:`~widgets.live.background.LatestJob` worker, so the kernel stays free; that worker alone
writes the result widgets (``status``, ``message``, ``prediction``, ``picture``,
``trust``). Callbacks on the main thread only read controls and submit jobs. Labels and
file names are untrusted and escaped.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np

from widgets.app.registry import resolve
from widgets.live.background import LatestJob
from widgets.render import html
from widgets.render.images import png_image
from workbench.tasks.image_classification import (
    PIXEL_METHODS,
    explain_image,
    image_of,
    overlay_png,
    read_predictions,
)

PREDICTED = "predicted"
UPLOADED = "uploaded"
LAYOUT = w.Layout(width="480px")
STYLE = {"description_width": "110px"}
COMPUTE_AGAIN = "Pick another image, method or class, then press Compute again."
NO_RUN = (
    "no image run to explain yet: train an image-classification run (Model tab: task), or "
    "give ImageExplainView a run directory (the Runs tab lists them)"
)


class ImageExplainView(w.VBox):
    """Pixel attributions of an image-classification run's predictions.

    Parameters
    ----------
    run
        A RunHandle, run directory or ``workbench.runs.Run`` of an image-classification run.
    max_examples
        Test images listed (mistakes first).
    """

    def __init__(self, run: Any = None, *, max_examples: int = 60) -> None:
        self.max_examples = max_examples
        self.source: Any = None
        self.rows: list[dict[str, Any]] = []  # the test predictions listed, in order
        self.labels: list[str] = []
        self.explanation: Any = None  # the last ImageExplanation shown
        self._loader: Any = None  # () -> model, for the run shown
        self._model: Any = None
        self._uploaded: np.ndarray | None = None
        self._opened: Any = None  # the source the worker last opened
        self.job = LatestJob("workbench-explain-image")
        self.example = w.Dropdown(description="test image", layout=LAYOUT, style=STYLE)
        self.upload = w.FileUpload(accept="image/*", multiple=False, description="Upload image")
        self.upload.observe(self._on_upload, names="value")
        self.method = w.Dropdown(
            description="method",
            options=[(f"{name} — {m.summary}"[:70], name) for name, m in PIXEL_METHODS.items()],
            value="integrated-gradients",
            layout=LAYOUT,
            style=STYLE,
        )
        self.target = w.Dropdown(
            description="explain class", options=[PREDICTED], layout=LAYOUT, style=STYLE
        )
        self.baseline = w.ToggleButtons(
            options=["black", "blur"],
            description="baseline",
            tooltips=["a black image", "a blurred copy of the image"],
            style={"description_width": "110px", "button_width": "70px"},
        )
        self.sanity = w.Checkbox(
            value=False,
            description="randomization check (a few seconds more)",
            indent=False,
            layout=w.Layout(width="480px"),
        )
        self.compute_button = w.Button(description="Compute", icon="eye", button_style="primary")
        self.compute_button.on_click(lambda _: self.compute())
        self.status = w.Label("")
        self.message = w.HTML(html.note(NO_RUN))
        self.prediction = w.HTML()
        self.picture = png_image(max_width="720px")  # hidden while empty
        self.caption = w.HTML()
        self.trust = w.HTML()
        super().__init__(
            [
                self.message,
                w.HBox([self.example, self.upload]),
                self.method,
                self.target,
                self.baseline,
                self.sanity,
                w.HBox([self.compute_button, self.status]),
                self.prediction,
                self.picture,
                self.caption,
                self.trust,
            ]
        )
        if run is not None:
            self.show(run)

    # -- what is shown -------------------------------------------------------------
    def show(self, source: Any) -> None:
        """Show a run: its test images to pick from (a live run: wait for it to end)."""
        self.source = source
        self.job.submit(self._sync)

    def open_example(self, row: dict[str, Any], run: Any = None) -> None:
        """Explain one ``test_predictions.jsonl`` row (an **Explain** click in Evaluate)."""
        if run is not None:
            self.source = run
        settings = {**self._settings(), "example": None}  # None: the row picked below

        def job() -> None:
            self._sync()
            self._pick(row)
            self._compute(**settings)

        self.job.submit(job)

    def wait(self, timeout: float = 120.0) -> bool:
        """Block until the worker is idle (tests, lessons); True when it is."""
        return self.job.wait_idle(timeout)

    def compute(self) -> None:
        """Explain the chosen image with the chosen settings (in the worker)."""
        settings = self._settings()

        def job() -> None:
            self._sync()  # a run shown just before is opened first (one job runs: the newest)
            self._compute(**settings)

        self.job.submit(job)

    def _settings(self) -> dict[str, Any]:
        return {
            "example": self.example.value,
            "method": self.method.value,
            "target": self.target.value,
            "baseline": self.baseline.value,
            "sanity": self.sanity.value,
        }

    # -- the worker ----------------------------------------------------------------
    def _sync(self) -> None:
        """Open the run shown, unless it is open already."""
        source = self.source
        if source is not None and source is not self._opened:
            self._opened = source
            self._open(source)

    def _open(self, source: Any) -> None:
        self._clear()
        self._model, self._loader, self.rows = None, None, []
        try:
            view = resolve(source)
        except (ValueError, TypeError, OSError) as err:
            self._opened = None  # open it again next time: it may exist by then
            self.message.value = html.error(f"{err}\n{NO_RUN}")
            return
        if view.live:
            self._opened = None  # open it again once it has ended
            self.message.value = html.note(
                "still training: explanations come when the run ends "
                "(click Stop in the Train tab to end it now)"
            )
            return
        summary = view.summary or {}
        self.labels = [str(x) for x in summary.get("labels") or []]
        session = getattr(view.handle, "session", None) if view.handle is not None else None
        if session is not None and view.status in ("completed", "stopped"):
            live = session.accelerator.unwrap_model(session.model)
            self._loader = lambda: live
        elif view.run_dir is not None and (view.run_dir / "model").is_dir():
            from workbench.runs import load_run

            run = load_run(view.run_dir)
            self._loader = lambda: run.load_model()[0]
        else:
            self.message.value = html.error(
                f"this run has no exported model to explain (status {view.status}): "
                "finish it, or click Train for a new run (Train tab)"
            )
            return
        rows = read_predictions(view.run_dir) if view.run_dir else []
        wrong = sorted(
            (r for r in rows if r["label"] != r["predicted"]), key=lambda r: -r["confidence"]
        )
        right = [r for r in rows if r["label"] == r["predicted"]]
        self.rows = (wrong + right)[: self.max_examples]
        self.example.options = [(example_label(r), i) for i, r in enumerate(self.rows)]
        self.example.value = 0 if self.rows else None  # the most confident mistake
        self.target.options = [PREDICTED, *self.labels]
        self.target.value = PREDICTED
        where = f" · {view.run_dir}" if view.run_dir else ""
        self.message.value = html.note(
            f"{view.status}{where}: {len(wrong):,} of {len(rows):,} test images misclassified "
            "(listed first). Pick one, or upload your own, and press Compute."
        )

    def _pick(self, row: dict[str, Any]) -> None:
        for i, r in enumerate(self.rows):
            if r.get("index") == row.get("index") and r.get("image") == row.get("image"):
                self.example.value = i
                return

    def _compute(self, example: Any, method: str, target: str, baseline: str, sanity: bool) -> None:
        if self._loader is None:
            return  # the message says why
        # an Explain click picks the row in this worker just before: read the control now
        example = self.example.value if example is None else example
        if self._uploaded is not None and example == UPLOADED:
            image, name = self._uploaded, "the uploaded image"
        elif isinstance(example, int) and 0 <= example < len(self.rows):
            row = self.rows[example]
            image, name = image_of(str(row["image"])), f"test image #{row.get('index')}"
        else:
            self.message.value = html.note("pick a test image (or upload one) first")
            return
        self.compute_button.disabled = True
        self.status.value = f"explaining {name} with {method}…"
        try:
            if self._model is None:
                self._model = self._loader()
            e = explain_image(
                self._model,
                image,
                method,
                target=None if target == PREDICTED else target,
                trust=True if sanity else "faithfulness",
                baseline=baseline,
            )
            self.explanation = e
            self.picture.value = overlay_png(e)
            self.caption.value = html.note(
                f"left: the image as the model read it; middle: {e.explains}; right: the "
                "heatmap over the image. "
                + (
                    "Red raises the class's logit, blue lowers it."
                    if e.signed
                    else "Brighter: the logit is more sensitive to that pixel."
                )
            )
            self.prediction.value = prediction_html(e, name)
            self.trust.value = trust_html(e)
            self.status.value = f"done in {e.seconds:.1f} s"
        except Exception as err:  # shown in the view: the kernel must never see it
            self.status.value = "failed"
            self.message.value = html.error(f"{html.failure(err)}\n{COMPUTE_AGAIN}")
        finally:
            self.compute_button.disabled = False

    def _clear(self) -> None:
        self.explanation = None
        for view in (self.prediction, self.caption, self.trust):
            view.value = ""
        self.picture.value = b""
        self.status.value = ""

    # -- callbacks (main thread) -------------------------------------------------------
    def _on_upload(self, change: Any) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        try:
            from PIL import Image

            with Image.open(io.BytesIO(bytes(item["content"]))) as img:
                self._uploaded = np.asarray(img.convert("RGB"))
        except Exception as err:  # not an image: say so in the view
            self.message.value = html.error(
                f"{Path(str(item.get('name', 'the file'))).name} is not an image PIL can read "
                f"({type(err).__name__}); upload a PNG or JPEG"
            )
            return
        name = str(item.get("name", "image"))
        options = [o for o in self.example.options if o[1] != UPLOADED]
        self.example.options = [(f"uploaded: {name}"[:60], UPLOADED), *options]
        self.example.value = UPLOADED


def example_label(row: dict[str, Any]) -> str:
    """One test image in the picker: its number, label, prediction and confidence."""
    mark = "✗" if row["label"] != row["predicted"] else "✓"
    return (
        f"{mark} #{row.get('index')}: {row['label']} → {row['predicted']} "
        f"({float(row['confidence']):.0%})"
    )


def prediction_html(e: Any, name: str) -> str:
    """The predicted class and the top probabilities (escaped)."""
    top = sorted(e.probs.items(), key=lambda kv: -kv[1])[:5]
    head = html.note(
        f"{name}: predicted {e.predicted} ({e.probs[e.predicted]:.1%}); explaining class "
        f"{e.target} with {e.method}"
    )
    rows = [{"class": label, "probability": f"{p:.1%}"} for label, p in top]
    return head + html.table(rows, ["class", "probability"])


def trust_html(e: Any) -> str:
    """Convergence delta, the deletion/insertion curves against random orders and the
    randomization check, in plain words (escaped)."""
    lines = []
    if e.delta is not None:
        lines.append(
            f"convergence delta {e.delta:+.4f} against the logit gap to the {e.baseline} "
            f"baseline {e.gap:+.4f} (the scores add up to the gap, up to delta)"
        )
    t = e.trust or {}
    rows = []
    if "deletion" in t:
        d, i = t["deletion"], t["insertion"]
        rows += [
            {
                "check": "deletion: the class's probability as the top squares are removed",
                "this heatmap": round(d["auc"], 3),
                "random order": round(d["random_auc"], 3),
                "better when": "lower",
                "passed": "yes" if d["auc"] < d["random_auc"] else "no",
            },
            {
                "check": "insertion: the probability as the top squares are put back",
                "this heatmap": round(i["auc"], 3),
                "random order": round(i["random_auc"], 3),
                "better when": "higher",
                "passed": "yes" if i["auc"] > i["random_auc"] else "no",
            },
        ]
    out = "".join(html.note(line) for line in lines + list(e.notes))
    if rows:
        out += "<b>Can this heatmap be trusted?</b>" + html.table(rows)
    rnd = t.get("randomization")
    if rnd:
        out += randomization_html(rnd)
    return out


def randomization_html(rnd: dict[str, Any]) -> str:
    """The cascading randomization check (Adebayo et al. 2018): the rank correlation of
    this heatmap with the heatmaps of copies whose weights were re-drawn from the top
    down, with the unrandomized control (escaped)."""
    points = [{"stage": "control (nothing random)", "randomized": 0.0, **rnd["control"]}]
    rows = [
        {
            "randomized down to": p["stage"],
            "weights random": f"{float(p['randomized']):.0%}",
            "ρ of scores": p.get("spearman"),
            "ρ of |scores|": p.get("spearman_abs"),
        }
        for p in points + list(rnd["stages"])
    ]
    verdict = (
        "Randomization check: low ρ with every weight random is good; near the control's 1 "
        "would mean the heatmap does not depend on what the model learned."
    )
    return html.note(verdict) + html.table(rows)
