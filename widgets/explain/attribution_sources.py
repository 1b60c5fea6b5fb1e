"""What the Explain view can explain: examples to pick from, and models to explain with.

Examples come from a run's ``test_predictions.jsonl`` (CONVENTIONS rule 8: the run directory
is enough): the misclassified ones (most confident mistakes first), the most and least
confident predictions, or a seeded random sample. Models are the run's own (the live model
of a run that finished in this kernel, or the exported ``model/``), its ``last`` checkpoint
where that fits the exported model, and the exported models of the other text-classification
runs in the same runs folder — so a full fine-tune can be set beside a LoRA run on the same
text. The run's own model comes first; a run still training offers none yet, and a run
without a model says why and what to do (``ModelChoices.problem``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import RunError
from workbench.methods import get_method
from workbench.models.loading import quiet_transformers
from workbench.runs import Run, RunHandle, list_runs, load_run
from workbench.tasks import get_task

PICKS = ("misclassified", "most confident", "least confident", "random", "typed text")

#: ``(model, tokenizer, max_length)``, loaded on demand (in the view's worker thread).
Loader = Callable[[], tuple[Any, Any, int]]


def read_predictions(run_dir: Path | None) -> list[dict[str, Any]]:
    """Rows of ``test_predictions.jsonl`` (text, label, predicted, confidence, probs)."""
    path = run_dir / "test_predictions.jsonl" if run_dir else None
    if path is None or not path.is_file():
        return []
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and isinstance(row.get("text"), str):
                rows.append(row)
    return rows


def pick_examples(
    rows: list[dict[str, Any]], pick: str, n: int = 50, seed: int = 0
) -> list[dict[str, Any]]:
    """Up to ``n`` rows for one of :data:`PICKS` (``typed text`` picks none)."""
    conf = lambda r: float(r.get("confidence") or 0.0)  # noqa: E731 - a sort key
    if pick == "misclassified":
        wrong = [r for r in rows if r.get("label") != r.get("predicted")]
        return sorted(wrong, key=conf, reverse=True)[:n]
    if pick == "most confident":
        return sorted(rows, key=conf, reverse=True)[:n]
    if pick == "least confident":
        return sorted(rows, key=conf)[:n]
    if pick == "random":
        return random.Random(seed).sample(rows, min(n, len(rows)))
    if pick == "typed text":
        return []
    raise ValueError(f"unknown pick {pick!r}; choose one of {', '.join(PICKS)}")


def example_label(row: dict[str, Any], width: int = 70) -> str:
    """A one-line dropdown label (shown as plain text by the browser, not as HTML)."""
    text = " ".join(str(row.get("text", "")).split())
    text = text if len(text) <= width else text[: width - 1] + "…"
    conf = float(row.get("confidence") or 0.0)
    return f"{row.get('label')} → {row.get('predicted')} ({conf:.0%}) · {text}"


@dataclass
class ModelChoices:
    """Named loaders of the models a view can explain with, first = the view's own run."""

    loaders: dict[str, Loader] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    run_dir: Path | None = None
    problem: str = ""  # why the run's own model cannot be explained (yet)
    note: str = ""  # e.g. which checkpoint stands in for a missing model/
    waiting: bool = False  # the run still trains: nothing is wrong, its model comes later
    _cache: dict[str, tuple[Any, Any, int]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.loaders)

    @property
    def default(self) -> str | None:
        """The model a view starts with: the run's own, or the one passed in; None when
        there is neither (another run's model is listed, never picked for the user)."""
        return next((n for n in ("this run", "model") if n in self.loaders), None)

    def load(self, name: str) -> tuple[Any, Any, int]:
        """``(model, tokenizer, max_length)`` of ``name``; loaded once."""
        if name not in self.loaders:
            raise RunError(
                f"no model {name!r} to explain with; choose one of {', '.join(self.loaders)}"
            )
        if name not in self._cache:
            with quiet_transformers():  # no load report from a worker thread (NOTEBOOK_FACTS)
                self._cache[name] = self.loaders[name]()
        return self._cache[name]


def model_choices(
    source: Any, model: Any = None, tokenizer: Any = None, max_length: int = 128
) -> ModelChoices:
    """The models a view of ``source`` (RunHandle, run directory, Run, or None) can use."""
    out = ModelChoices()
    if model is not None:
        config = getattr(model, "config", None)
        id2label = getattr(config, "id2label", None) or {}
        out.labels = [str(id2label[i]) for i in sorted(id2label)]
        out.loaders["model"] = lambda: (model, tokenizer, max_length)
    run: Run | None = None
    if isinstance(source, RunHandle):
        out.run_dir = Path(source.run_dir) if source.run_dir else None
        s = source.session
        if not source.done:  # its model is changing: nothing to explain with yet
            out.waiting = True
            out.problem = (
                "still training: explanations come when the run ends "
                "(click Stop in the Train tab to end it now)"
            )
            return out
        if s is not None and source.status in ("completed", "stopped"):
            out.labels = list(s.data.labels)
            live = s.accelerator.unwrap_model(s.model)
            out.loaders["this run"] = lambda: (live, s.tokenizer, s.config.model.max_length)
        if out.run_dir is not None and (out.run_dir / "config.yaml").is_file():
            run = load_run(out.run_dir)
    elif isinstance(source, (str, Path)):
        run = load_run(source)
    elif isinstance(source, Run):
        run = source
    task = get_task(getattr(run.config.model, "task", "text-classification")) if run else None
    if run is not None and task is not None and task.explain_view != "text":
        out.run_dir = run.path
        out.loaders.pop("this run", None)  # (a live causal LM is no classifier to explain)
        out.problem = task.explain_hint(run.path)
        return out
    if run is not None:
        _add_run(out, run, own=True)
        for other in list_runs(run.path.parent):  # the runs beside it, newest first
            same = other.path.resolve() == run.path.resolve()
            if not same and get_task(other.config.model.task).explain_view == "text":
                _add_run(out, other, own=False)
        if out.problem and out.loaders:
            out.problem += "; or pick another run's model under 'model'"
    if not out.loaders and not out.problem:
        out.problem = (
            "no run to explain yet: click Train in the Train tab, or give AttributionView a "
            "run directory (the Runs tab lists them), or a model and tokenizer"
        )
    return out


def _add_run(out: ModelChoices, run: Run, own: bool) -> None:
    """Loaders for ``run``'s exported model (and, for its own run, the last checkpoint).

    A run without ``model/`` (stopped by an older version, or killed) is offered too when
    a checkpoint can stand in for it (``run.model_note`` says which, shown with the view).
    """
    exported = (run.path / "model" / "config.json").is_file()
    if not exported and run.model_note is None:
        if own and not out.loaders:
            out.problem = no_model(run)
        return
    if not exported and own:
        out.note = run.model_note
    length = run.config.model.max_length
    if own:
        out.run_dir = run.path
        out.labels = out.labels or [str(x) for x in run.summary.get("labels") or []]
        if "this run" not in out.loaders:
            out.loaders["this run"] = lambda: (*run.load_model(), length)
        last = run.path / "checkpoints" / "last" / "state.json"
        if last.is_file() and not get_method(run.config.model.method).uses_peft:
            out.loaders["this run · last checkpoint"] = lambda: (*run.load_model("last"), length)
    else:
        out.loaders[f"run {run.name}"] = lambda: (*run.load_model(), length)


def no_model(run: Run) -> str:
    """Why ``run`` has no exported model to explain with, and what to do about it."""
    status = run.status
    if status == "failed":
        return (
            f"run {run.name} failed before its model was exported: "
            "fix what its error names (Train or Evaluate tab) and click Train again"
        )
    return (
        f"run {run.name} has no exported model (status {status}): finish it with "
        f"`workbench train --resume {run.path}`, or click Train for a new run (Train tab)"
    )
