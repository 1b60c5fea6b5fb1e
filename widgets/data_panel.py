"""DataPanel: pick the data, preview it, clean it, see the balance and the splits.

The source is a built-in dataset or a file path (the generated ``dataset`` control), or a
DataFrame / ``datasets.Dataset`` passed in. **Load data** reads and prepares it in a
worker thread (the built-in set takes seconds) while a status line says what it is doing;
the result is the engine's :class:`~workbench.data.PreparedData`, cached under the same
key training uses, so the next **Train** does not prepare it again.

Shown: the first rows (escaped HTML: datasets are untrusted), text/label column pickers
(their suggestions are the file's columns), cleaning toggles with what each step removed
and changed, a class-balance bar chart and the split sizes. Bad files or columns show the
engine's message in red.

Thread ownership: while loading, only the worker writes the output widgets (status,
preview, cleaning, splits, balance chart, message, the button, and the column pickers'
suggestion lists — the pickers' values stay with the user).
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets as w

from widgets import html
from widgets.charts import class_balance_plot, png
from widgets.form import ConfigForm
from workbench.cache import cached, file_stamp
from workbench.data import PreparedData, list_datasets, prepare_data, read_source

SOURCE_FIELDS = ["dataset", "text_column", "label_column"]
CLEANING_FIELDS = [
    "strip_urls",
    "replace_mentions",
    "fix_unicode",
    "drop_empty",
    "drop_duplicates",
    "min_confidence",
]
SPLIT_FIELDS = ["val_fraction", "test_fraction", "max_train_samples", "max_eval_samples"]


class DataPanel(w.VBox):
    """Data source, preview, cleaning report, class balance and split sizes.

    ``data`` is the PreparedData after **Load data** (None before); ``source()`` is what
    training should read (the DataFrame passed in, or None for ``config.data.dataset``).
    """

    def __init__(self, config: Any = None, *, data: Any = None, form: ConfigForm | None = None):
        self.form = form or ConfigForm(config)
        self.frame = data
        self.data: PreparedData | None = None
        self.columns: list[str] = []
        self.use_frame = w.Checkbox(
            value=data is not None,
            description=f"use the {type(data).__name__} passed in",
            indent=False,
            layout=w.Layout(display="" if data is not None else "none"),
        )
        builtins = [(f"{d['name']} ({d['rows']:,} rows)", d["name"]) for d in list_datasets()]
        self.builtin = w.Dropdown(
            options=[("(file path below)", "")] + builtins,
            description="built-in",
            style={"description_width": "170px"},
            layout=w.Layout(width="480px"),
        )
        if self.form.controls["dataset"].get() in {name for _, name in builtins}:
            self.builtin.value = self.form.controls["dataset"].get()
        self.builtin.observe(self._on_builtin, names="value")
        self.load_button = w.Button(description="Load data", icon="table")
        self.load_button.on_click(lambda _: self.load())
        self.status = w.Label("not loaded yet")
        self.preview = w.HTML()
        self.cleaning = w.HTML()
        self.splits = w.HTML()
        self.balance_image = w.Image(format="png", layout=w.Layout(max_width="520px"))
        self.message = w.HTML()
        self._thread: threading.Thread | None = None
        super().__init__(
            [
                self.use_frame,
                self.builtin,
                self.form.box("data", SOURCE_FIELDS),
                w.HBox([self.load_button, self.status]),
                self.message,
                self.preview,
                w.HTML("<b>Cleaning</b>"),
                self.form.box("data", CLEANING_FIELDS),
                self.cleaning,
                w.HTML("<b>Splits</b>"),
                self.form.box("data", SPLIT_FIELDS),
                self.splits,
                self.balance_image,
            ]
        )

    def source(self) -> Any:
        """The DataFrame/Dataset passed in when ticked, else None (read ``dataset``)."""
        return self.frame if self.frame is not None and self.use_frame.value else None

    @property
    def labels(self) -> list[str] | None:
        return list(self.data.labels) if self.data is not None else None

    def load(self) -> threading.Thread | None:
        """Read and prepare the data in a worker thread; returns it (``.join()`` to wait)."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread  # one load at a time: its widgets have one writer
        config, problem = self.form.check()
        if config is None:
            self.message.value = html.error(problem or "invalid settings")
            return None
        self._thread = threading.Thread(
            target=self._load, args=(config, self.source()), daemon=True, name="workbench-data"
        )
        self._thread.start()
        return self._thread

    # -- the worker ------------------------------------------------------------
    def _load(self, config: Any, frame: Any) -> None:
        self.load_button.disabled = True
        self.message.value = ""
        try:
            spec = frame if frame is not None else config.data.dataset
            self.status.value = "reading…"
            raw, description = read_source(spec)
            self.columns = [str(c) for c in raw.columns]
            for name in ("text_column", "label_column"):
                self.form.controls[name].input.options = self.columns
            self.preview.value = html.note(
                f"{description}: {len(raw):,} rows; first rows:"
            ) + html.frame_table(raw)
            self.status.value = "cleaning and splitting…"
            self.data = prepare(config, frame)
            self._show(self.data)
            self.status.value = f"loaded {description}"
        except Exception as err:  # DataError & co.: the message says what to change
            self.status.value = "failed"
            self.message.value = html.error(str(err))
        finally:
            self.load_button.disabled = False

    def _show(self, data: PreparedData) -> None:
        rows = [
            {
                "step": s["step"],
                "removed": s["removed"],
                "changed": s["changed"],
                "rows left": s["rows_after"],
            }
            for s in data.cleaning
        ]
        self.cleaning.value = html.table(rows, ["step", "removed", "changed", "rows left"])
        sizes = {"train": len(data.train), "val": len(data.val), "test": len(data.test)}
        self.splits.value = html.table(
            [
                {
                    **sizes,
                    "classes": len(data.labels),
                    "text column": data.text_column,
                    "label column": data.label_column,
                }
            ]
        )
        fig, _ = class_balance_plot(data.balance, list(data.labels))
        self.balance_image.value = png(fig)

    def _on_builtin(self, change: Any) -> None:
        if change["new"]:
            self.form.set("dataset", change["new"])


def prepare(config: Any, frame: Any = None) -> PreparedData:
    """Prepare the data as training will, sharing its cache for built-ins and files.

    The key is the one ``workbench.training.session.build_session`` uses, so a
    **Train** right after **Load data** finds the prepared data in the cache. A DataFrame
    is never cached (it may change under us), as in the engine.
    """
    if frame is not None:
        return prepare_data(config.data, config.optim.seed, frame)
    key = (config.data, config.optim.seed, file_stamp(config.data.dataset))
    return cached("data", key, lambda: prepare_data(config.data, config.optim.seed))
