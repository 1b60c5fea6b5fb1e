"""DataPanel: pick the data, preview it, clean it, and see what training will get.

The source is a built-in dataset or a file path (the generated ``dataset`` control), or a
DataFrame / ``datasets.Dataset`` passed in. **Load data** reads and prepares it in a
worker thread (the built-in set takes seconds) while a status line says what it is doing.
It prepares the data for the form's ``task`` exactly as training does, through
:func:`workbench.training.session.prepare_task_data`: same task, same cache slot and key,
so the next **Train** does not prepare it again.

What is shown follows the task: the task's
:meth:`~workbench.tasks.base.Task.data_view` says what to show and
:meth:`~workbench.tasks.base.Task.data_fields` which settings apply; this panel escapes and
lays it out.

* **text-classification**: the first raw rows (``Task.raw_preview``: their columns fill the
  text/label column pickers), cleaning toggles with what each step removed and changed, the
  split sizes and a class-balance bar chart.
* **causal-lm**: the first prompt → response pairs (long ones shortened), the engine's
  summary, the cleaning report, the split sizes in pairs and prompt/response lengths in
  words and characters; no class-balance chart. The column pickers are hidden, and so are
  the cleaning toggles that user pair files ignore. A derived built-in
  (``tweets-sentiment-instruct``) is cleaned like the classification set it comes from, so
  its cleaning toggles stay.
* **image-classification**: a grid of the first training images of every class, the
  summary, what reading dropped (missing labels, unreadable files), the split sizes and the
  class balance; image/label column pickers only for a CSV/Parquet table of image paths.

Switching the task clears what was loaded for the other task (**Load data** again).
Every string from a dataset is escaped (datasets are untrusted); bad files or columns
show the engine's message in red.

Thread ownership: while loading, only the worker writes the output views (status,
preview, summary, cleaning report, splits, lengths, balance chart, message, the button,
which views are visible, and the column pickers' suggestion lists — the pickers' values
stay with the user). Widget callbacks on the main thread write the form controls'
visibility and the built-in picker, and clear the views after a task switch only when no
load is running (a load in flight finishes showing what it loaded, and its status line
says the task has changed).
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from widgets.form.form import ConfigForm
from widgets.render import html
from widgets.render.charts import class_balance_plot, png
from widgets.render.images import png_image
from workbench.data import list_datasets, read_source
from workbench.tasks import get_task
from workbench.tasks.base import CLEANING_FIELDS as _CLEANING
from workbench.tasks.base import SOURCE_FIELDS as _SOURCE
from workbench.tasks.base import SPLIT_FIELDS as _SPLITS
from workbench.tasks.base import DataView
from workbench.training.session import prepare_task_data

SOURCE_FIELDS = list(_SOURCE)
CLEANING_FIELDS = list(_CLEANING)
SPLIT_FIELDS = list(_SPLITS)
#: Name the text, image and label columns of a table file; the raw rows fill their pickers.
COLUMN_FIELDS = {"text_column", "image_column", "label_column"}
LOAD_AGAIN = "Change the data settings above (or the file), then click Load data again."


class DataPanel(w.VBox):
    """Data source, preview, cleaning report and split sizes; class balance or pair lengths.

    ``data`` is the task's prepared data after **Load data** (None before, and after a
    task switch): :class:`~workbench.data.PreparedData`,
    :class:`~workbench.tasks.causal_lm.data.InstructData` or an image task's ``ImageData``; what
    is shown of it is the task's :meth:`~workbench.tasks.base.Task.data_view`.
    ``source()`` is what training should read (the DataFrame passed in, or None for
    ``config.data.dataset``).
    """

    def __init__(self, config: Any = None, *, data: Any = None, form: ConfigForm | None = None):
        self.form = form or ConfigForm(config)
        self.frame = data
        self.data: Any = None
        self.columns: list[str] = []
        self.use_frame = w.Checkbox(
            value=data is not None,
            description=f"use the {type(data).__name__} passed in",
            indent=False,
            layout=w.Layout(display="" if data is not None else "none"),
        )
        self.use_frame.observe(lambda _: self._show_controls(), names="value")
        builtins = [(f"{d['name']} ({d['rows']:,} rows)", d["name"]) for d in list_datasets()]
        self.builtin = w.Dropdown(
            options=[("(file path below)", "")] + builtins,
            description="built-in",
            style={"description_width": "170px"},
            layout=w.Layout(width="480px"),
        )
        self._sync_builtin()
        self.builtin.observe(self._on_builtin, names="value")
        self.load_button = w.Button(description="Load data", icon="table")
        self.load_button.on_click(lambda _: self.load())
        self.status = w.Label("not loaded yet")
        self.preview = w.HTML()
        self.examples_image = png_image(max_width="640px")  # images: a grid per class
        self.summary = w.HTML()  # the engine's multi-line summary (pairs, images)
        self.cleaning = w.HTML()
        self.splits = w.HTML()
        self.lengths = w.HTML()  # causal-lm: prompt/response length statistics
        self.balance_image = png_image(max_width="520px")  # hidden while empty
        self.message = w.HTML()
        self._thread: threading.Thread | None = None
        self.form.on_change(self._changed)
        super().__init__(
            [
                self.use_frame,
                self.builtin,
                self.form.box("data", SOURCE_FIELDS),
                w.HBox([self.load_button, self.status]),
                self.message,
                self.preview,
                self.examples_image,
                self.summary,
                w.HTML("<b>Cleaning</b>"),
                self.form.box("data", CLEANING_FIELDS),
                self.cleaning,
                w.HTML("<b>Splits</b>"),
                self.form.box("data", SPLIT_FIELDS),
                self.splits,
                self.lengths,
                self.balance_image,
            ]
        )
        self._show_controls()
        self._clear()

    def source(self) -> Any:
        """The DataFrame/Dataset passed in when ticked, else None (read ``dataset``)."""
        return self.frame if self.frame is not None and self.use_frame.value else None

    @property
    def labels(self) -> list[str] | None:
        """Class names (answer classes of a derived causal-lm set, often none), or None."""
        return list(self.data.labels) if self.data is not None else None

    @property
    def loading(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def fields_shown(self) -> list[str]:
        """Names of the data settings whose controls are visible."""
        names = SOURCE_FIELDS + CLEANING_FIELDS + SPLIT_FIELDS
        return [n for n in names if self.form.controls[n].widget.layout.display != "none"]

    def load(self) -> threading.Thread | None:
        """Read and prepare the data in a worker thread; returns it (``.join()`` to wait)."""
        if self.loading:
            return self._thread  # one load at a time: its widgets have one writer
        config, problem = self.form.check()
        if config is None:
            self.message.value = html.error(
                f"{problem or 'invalid settings'}\nFix that setting, then click Load data again."
            )
            return None
        self._thread = threading.Thread(
            target=self._load, args=(config, self.source()), daemon=True, name="workbench-data"
        )
        self._thread.start()
        return self._thread

    # -- the worker ------------------------------------------------------------
    def _load(self, config: Any, frame: Any) -> None:
        task = config.model.task
        self.load_button.disabled = True
        self._clear()
        try:
            if get_task(task).raw_preview:  # the raw rows first: they fill the column pickers
                self.status.value = "reading…"
                self._preview_rows(config, frame)
            self.status.value = "reading, cleaning and splitting…"
            data = prepare_task_data(config, frame)
            self._present(get_task(task).data_view(data))
            self.data = data
            now = self._task()
            changed = "" if now == task else f" for {task}; the task is now {now}: load again"
            self.status.value = f"loaded {data.source}{changed}"
        except Exception as err:  # DataError & co.: the message says what to change
            self.status.value = "failed"
            self.message.value = html.error(f"{html.failure(err)}\n{LOAD_AGAIN}")
        finally:
            self.load_button.disabled = False

    def _preview_rows(self, config: Any, frame: Any) -> None:
        raw, description = read_source(frame if frame is not None else config.data.dataset)
        self.columns = [str(c) for c in raw.columns]
        for name in sorted(COLUMN_FIELDS):
            self.form.controls[name].input.options = self.columns
        self.preview.value = html.note(
            f"{description}: {len(raw):,} rows; first rows:"
        ) + html.frame_table(raw)

    def _present(self, view: DataView) -> None:
        """Show what the task says of its prepared data (every string escaped here)."""
        if view.note or view.rows:
            table = html.table(view.rows, view.columns or None) if view.rows else ""
            self.preview.value = html.note(view.note) + table
        self.examples_image.value = view.pictures[0] if view.pictures else b""
        _fill(self.summary, html.pre(view.summary) if view.summary else "")
        self.cleaning.value = (
            html.table(view.cleaning, ["step", "removed", "changed", "rows left"])
            if view.cleaning
            else ""
        )
        self.splits.value = html.table([view.splits]) if view.splits else ""
        _fill(
            self.lengths,
            html.note(view.lengths_note)
            + html.table(view.lengths, ["length of", "min", "median", "90%", "max"])
            if view.lengths
            else "",
        )
        if view.balance:
            fig, _ = class_balance_plot(view.balance, view.labels)
            self.balance_image.value = png(fig)

    def _clear(self) -> None:
        """Forget the loaded data and empty the views (the summary, the lengths and the
        pictures hide while empty)."""
        self.data = None
        for view in (self.message, self.preview, self.cleaning, self.splits):
            view.value = ""
        _fill(self.summary, "")
        _fill(self.lengths, "")
        self.examples_image.value = b""
        self.balance_image.value = b""

    # -- callbacks (main thread) -----------------------------------------------
    def _task(self) -> str:
        return str(self.form.controls["task"].get() or "text-classification")

    def _changed(self, name: str) -> None:
        if name in ("task", "dataset"):
            self._show_controls()
        if name == "dataset":
            self._sync_builtin()
        if name == "task" and not self.loading:
            self._clear()
            self.status.value = f"not loaded for {self._task()} yet"

    def _show_controls(self) -> None:
        """Show the data settings the chosen task and source read; hide the others."""
        task, dataset = self._task(), self.form.controls["dataset"].get()
        applies = applicable_fields(task, None if self.source() is not None else dataset)
        for name in SOURCE_FIELDS + CLEANING_FIELDS + SPLIT_FIELDS:
            control = self.form.controls[name]
            shown = name in applies and not control.locked  # a lesson hid it
            control.widget.layout.display = "" if shown else "none"

    def _sync_builtin(self) -> None:
        dataset = self.form.controls["dataset"].get()
        names = {value for _, value in self.builtin.options}
        self.builtin.value = dataset if dataset in names else ""

    def _on_builtin(self, change: Any) -> None:
        if change["new"]:
            self.form.set("dataset", change["new"])


def _fill(view: w.HTML, value: str) -> None:
    """Set an HTML view that only some tasks fill; hidden while empty (an empty HTML widget
    still takes a line in the panel)."""
    view.value = value
    view.layout.display = "" if value else "none"


def applicable_fields(task: str, dataset: Any) -> set[str]:
    """The data settings that preparing ``dataset`` (None: a table passed in) for ``task``
    reads: the task says (:meth:`~workbench.tasks.base.Task.data_fields`)."""
    return get_task(task).data_fields(dataset)
