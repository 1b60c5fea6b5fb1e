"""ModelPanel: which pretrained model, which adaptation method, and what that trains.

The catalog table shows each curated model's offline availability, parameter count and
estimated peak training memory for the chosen method, batch size and length
(:func:`workbench.models.listing.describe_catalog`). The method picker shows only that
method's knobs, and the trainable-parameter count the choice implies, computed by
:func:`workbench.tasks.trainable_parameters` in a worker thread (it loads the
model: seconds) while the panel says "computing…".

Thread ownership: the :class:`~widgets.live.background.LatestJob` worker alone writes
``trainable``; everything else is written by widget callbacks on the main thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from widgets.form.form import ConfigForm
from widgets.live.background import LatestJob
from widgets.render import html
from workbench.methods import METHODS
from workbench.models.listing import describe_catalog
from workbench.tasks import trainable_parameters

#: Every method-specific knob: hidden unless the chosen method declares it in ``settings``.
KNOBS = tuple(dict.fromkeys(k for m in METHODS.values() for k in m.settings))
#: Changing these changes which parameters train.
COUNT_INPUTS = {"model", "method", "freeze_layers", "lora_r", "target_modules", "trust_remote_code"}


def method_settings(name: str) -> tuple[str, ...]:
    """The config fields method ``name`` reads (its knobs)."""
    method = METHODS.get(name)
    return method.settings if method is not None else ()


class ModelPanel(w.VBox):
    """Model catalog, method picker with its knobs, and the trainable-parameter count.

    Parameters
    ----------
    num_labels
        Classes of the task (an int, or a callable returning one or None; default 3).
    count_now
        Start counting trainable parameters at once (the Workbench waits until the Model
        tab is opened: counting loads the model).
    """

    def __init__(
        self,
        config: Any = None,
        *,
        form: ConfigForm | None = None,
        num_labels: int | Callable[[], int | None] | None = None,
        count_now: bool = True,
    ) -> None:
        self.form = form or ConfigForm(config)
        self._num_labels = num_labels
        self.rows = describe_catalog()
        self.catalog = w.HTML()
        self.pick = w.Dropdown(
            options=self._pick_options(),
            description="catalog",
            style={"description_width": "170px"},
            layout=w.Layout(width="480px"),
        )
        self.pick.observe(self._on_pick, names="value")
        self.method_summary = w.HTML()
        self.trainable = w.HTML()
        self.counts: tuple[int, int] | None = None  # (trainable, total) once computed
        self.probe = LatestJob("workbench-param-count")
        self.form.on_change(self._changed)
        super().__init__(
            [
                self.catalog,
                self.pick,
                self.form.box("model", ["task", "model", "method"]),
                self.method_summary,
                self.form.box("model", list(KNOBS)),
                self.trainable,
                self.form.box(
                    "model", ["max_length", "packing", "pretrained", "trust_remote_code"]
                ),
            ]
        )
        self._show_method()
        if count_now:
            self.refresh_counts()

    def knobs_shown(self) -> list[str]:
        """Names of the method knobs currently visible."""
        return [k for k in KNOBS if self.form.controls[k].widget.layout.display != "none"]

    def refresh_counts(self) -> None:
        """Recompute the trainable-parameter count in the worker thread."""
        config, problem = self.form.check()
        labels = self._num_labels() if callable(self._num_labels) else self._num_labels
        self.probe.submit(lambda: self._count(config, problem, labels or 3))

    # -- callbacks (main thread) -----------------------------------------------
    def _changed(self, name: str) -> None:
        if name == "task":
            self._switch_task()
        if name in ("method", "batch_size", "max_length", "task"):
            self._show_method()
        if name in COUNT_INPUTS:
            self.refresh_counts()

    def _task(self) -> str:
        return str(self.form.controls["task"].get() or "text-classification")

    def _pick_options(self) -> list[tuple[str, str]]:
        """The catalog models made for the selected task."""
        task = self._task()
        return [("(name, hub id or folder below)", "")] + [
            (f"{r['name']}{'' if r['available'] else ' (not on disk)'}", r["name"])
            for r in self.rows
            if r["task"] == task
        ]

    def _switch_task(self) -> None:
        """A new task offers its own models; a catalog model or built-in dataset made for
        the other task is swapped for this task's first one (a folder or file stays)."""
        from workbench.data.sources import builtin_names, dataset_task
        from workbench.models.catalog import find_entry

        task = self._task()
        self.pick.options = self._pick_options()
        entry = find_entry(str(self.form.controls["model"].get() or ""))
        fits = [r for r in self.rows if r["task"] == task]
        if entry is not None and entry.task != task and fits:
            self.form.set("model", fits[0]["name"])
        dataset = self.form.controls["dataset"].get()
        own = builtin_names(task)
        if dataset_task(dataset) not in (None, task) and own:
            self.form.set("dataset", own[0])

    def _on_pick(self, change: Any) -> None:
        if change["new"]:
            self.form.set("model", change["new"])

    def _show_method(self) -> None:
        name = self.form.controls["method"].get()
        wanted = method_settings(name)
        for knob in KNOBS:
            shown = knob in wanted and not self.form.controls[knob].locked  # a lesson hid it
            self.form.controls[knob].widget.layout.display = "" if shown else "none"
        method = METHODS.get(name)
        self.method_summary.value = html.note(method.summary if method else "")
        self.catalog.value = self._catalog_table(name)

    def _catalog_table(self, method: str) -> str:
        batch = self.form.controls["batch_size"].get() or 32
        length = self.form.controls["max_length"].get() or 128
        rows = describe_catalog(batch, length) if (batch, length) != (32, 128) else self.rows
        return catalog_html([r for r in rows if r["task"] == self._task()], method, batch, length)

    # -- the worker ------------------------------------------------------------
    def _count(self, config: Any, problem: str | None, num_labels: int) -> None:
        if config is None:
            self.trainable.value = trainable_html(problem or "invalid settings")
            return
        self.trainable.value = html.note("trainable parameters: computing…")
        try:
            counts = trainable_parameters(config, num_labels)
        except Exception as err:  # ModelError & co.: shown, not raised
            if not self.probe.pending:
                self.trainable.value = trainable_html(err)
            return
        if self.probe.pending:
            return  # a newer choice is queued; its answer replaces this one
        self.counts = counts
        self.trainable.value = trainable_html(counts, config.model.method, config.model.model)


def catalog_html(rows: list[dict[str, Any]], method: str, batch: int, length: int) -> str:
    """The catalog table (rows of :func:`describe_catalog`) with the memory ``method`` needs
    at ``batch`` × ``length`` tokens; every name and description escaped."""
    table = [
        {
            "model": r["name"],
            "available offline": "yes" if r["available"] else "no (not in the HF cache)",
            "parameters": f"{r['parameters'] / 1e6:.1f}M",
            f"memory to train ({method})": f"{r['memory_bytes'].get(method, 0) / 2**30:.1f} GB",
            "about": r["description"],
        }
        for r in rows
    ]
    note = html.note(f"memory: estimated peak, fp32, batch {batch}, {length} tokens")
    return html.table(table) + note


def trainable_html(
    counts: tuple[int, int] | BaseException | str, method: str = "", model: str = ""
) -> str:
    """What the panel says about the trainable-parameter count, escaped: ``(trainable,
    total)`` for ``method`` on ``model``; a ``str``: the settings problem that stops the
    count; an exception: why counting (loading the model) failed."""
    if isinstance(counts, str):
        return html.error(f"cannot count parameters until the settings are valid: {counts}")
    if isinstance(counts, BaseException):
        return html.error(
            f"{html.failure(counts)}\nPick another model or method above (the catalog says "
            "which models are on disk)."
        )
    trainable, total = counts
    share = trainable / total if total else 0.0
    return html.note(
        f"trainable parameters: {trainable:,} of {total:,} ({share:.2%}) with {method} on {model}",
        color="#1b5e20",
    )
