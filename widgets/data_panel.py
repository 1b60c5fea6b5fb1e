"""DataPanel: pick the data, preview it, clean it, and see what training will get.

The source is a built-in dataset or a file path (the generated ``dataset`` control), or a
DataFrame / ``datasets.Dataset`` passed in. **Load data** reads and prepares it in a
worker thread (the built-in set takes seconds) while a status line says what it is doing.
It prepares the data for the form's ``task`` exactly as training does, through
:func:`workbench.training.session.prepare_task_data`: same task, same cache slot and key,
so the next **Train** does not prepare it again.

What is shown follows the task:

* **text-classification** (:class:`~workbench.data.PreparedData`): the first raw rows,
  text/label column pickers (their suggestions are the file's columns), cleaning toggles
  with what each step removed and changed, the split sizes and a class-balance bar chart.
* **causal-lm** (:class:`~workbench.data.instruct.InstructData`): the first prompt →
  response pairs (long ones shortened), the engine's summary, the cleaning report, the
  split sizes in pairs and prompt/response lengths in words and characters (no tokenizer
  needed); no class-balance chart. The column pickers are hidden (pairs come from
  instruction/input/output, prompt/response … or chat ``messages`` columns), and so are
  the cleaning toggles that user pair files ignore (only ``drop_duplicates`` applies to
  them; empty pairs are always dropped). A derived built-in (``tweets-sentiment-instruct``)
  is cleaned like the classification set it comes from, so its cleaning toggles stay.

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
import numpy as np

from widgets import html
from widgets.charts import class_balance_plot, png
from widgets.form import ConfigForm
from widgets.images import png_image
from workbench.data import PreparedData, list_datasets, read_source
from workbench.data.instruct import InstructData, Messages, Pairs
from workbench.data.sources import builtin_dataset
from workbench.tasks import CausalLM
from workbench.training.session import prepare_task_data

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
#: Name the text and label of a classification file; prompt/response pairs never use them.
COLUMN_FIELDS = {"text_column", "label_column"}
#: The data settings ``workbench.data.instruct.read_pairs`` reads (user pair files).
PAIR_FIELDS = {"dataset", "drop_duplicates", *SPLIT_FIELDS}
CAUSAL_LM = CausalLM.name
LOAD_AGAIN = "Change the data settings above (or the file), then click Load data again."
PREVIEW_PAIRS = 5
PREVIEW_CHARS = 200


class DataPanel(w.VBox):
    """Data source, preview, cleaning report and split sizes; class balance or pair lengths.

    ``data`` is the task's prepared data after **Load data** (None before, and after a
    task switch): :class:`~workbench.data.PreparedData` or
    :class:`~workbench.data.instruct.InstructData`. ``source()`` is what training should
    read (the DataFrame passed in, or None for ``config.data.dataset``).
    """

    def __init__(self, config: Any = None, *, data: Any = None, form: ConfigForm | None = None):
        self.form = form or ConfigForm(config)
        self.frame = data
        self.data: PreparedData | InstructData | None = None
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
        self.summary = w.HTML()  # causal-lm: InstructData.summary()
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
        self._show_views(self._task())

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
        self._clear(task)
        try:
            if task != CAUSAL_LM:  # the raw rows first: they fill the column pickers
                self.status.value = "reading…"
                self._preview_rows(config, frame)
            self.status.value = "reading, cleaning and splitting…"
            data = prepare_task_data(config, frame)
            if isinstance(data, InstructData):
                self._show_pairs(data)
            else:
                self._show_classes(data)
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

    def _show_classes(self, data: PreparedData) -> None:
        self.cleaning.value = cleaning_table(data.cleaning)
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

    def _show_pairs(self, data: InstructData) -> None:
        shown = min(PREVIEW_PAIRS, len(data.train))
        self.preview.value = html.note(
            f"{data.source}: first {shown} of {len(data.train):,} training pairs "
            f"(prompt → response):"
        ) + html.table(pair_rows(data.train), ["prompt", "response"])
        self.summary.value = html.pre(data.summary())
        self.cleaning.value = cleaning_table(data.cleaning)
        self.splits.value = html.table(
            [
                {
                    "train pairs": len(data.train),
                    "val pairs": len(data.val),
                    "test pairs": len(data.test),
                    "answers": ", ".join(data.labels) if data.labels else "free text",
                }
            ]
        )
        self.lengths.value = html.note(
            "Lengths of the training pairs. max_length counts tokens of prompt and response "
            "together, and a word is often more than one token."
        ) + html.table(length_rows(data.train), ["length of", "min", "median", "90%", "max"])

    def _clear(self, task: str) -> None:
        """Forget the loaded data and empty the views; show the views ``task`` uses."""
        self.data = None
        for view in (self.message, self.preview, self.summary, self.cleaning, self.splits):
            view.value = ""
        self.lengths.value = ""
        self.balance_image.value = b""
        self._show_views(task)

    def _show_views(self, task: str) -> None:
        """Show the pair views for causal-lm only. (The class-balance chart needs no switch:
        it shows only while it holds a picture, and _clear empties it.)"""
        pairs = task == CAUSAL_LM
        self.summary.layout.display = "" if pairs else "none"
        self.lengths.layout.display = "" if pairs else "none"

    # -- callbacks (main thread) -----------------------------------------------
    def _task(self) -> str:
        return str(self.form.controls["task"].get() or "text-classification")

    def _changed(self, name: str) -> None:
        if name in ("task", "dataset"):
            self._show_controls()
        if name == "dataset":
            self._sync_builtin()
        if name == "task" and not self.loading:
            self._clear(self._task())
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


def applicable_fields(task: str, dataset: Any) -> set[str]:
    """The data settings that preparing ``dataset`` (None: a table passed in) for ``task``
    reads. A derived built-in is prepared like its classification source, with the
    source's own (auto-detected) columns."""
    every = {*SOURCE_FIELDS, *CLEANING_FIELDS, *SPLIT_FIELDS}
    if task != CAUSAL_LM:
        return every
    if dataset is not None and getattr(builtin_dataset(dataset), "derived_from", None):
        return every - COLUMN_FIELDS
    return set(PAIR_FIELDS)


def cleaning_table(steps: list[dict[str, Any]]) -> str:
    """What each cleaning step removed and changed, and the rows left, as escaped HTML."""
    rows = [
        {
            "step": s["step"],
            "removed": s["removed"],
            "changed": s["changed"],
            "rows left": s["rows_after"],
        }
        for s in steps
    ]
    return html.table(rows, ["step", "removed", "changed", "rows left"])


def prompt_text(messages: Messages) -> str:
    """A prompt as one line: the user's words, or ``[role] content`` turns for a chat."""
    if len(messages) == 1:
        return messages[0]["content"]
    return " ".join(f"[{m['role']}] {m['content']}" for m in messages)


def shorten(text: str, max_chars: int = PREVIEW_CHARS) -> str:
    return text if len(text) <= max_chars else text[:max_chars] + "…"


def pair_rows(pairs: Pairs, count: int = PREVIEW_PAIRS) -> list[dict[str, str]]:
    """The first ``count`` pairs as table rows (not escaped: :func:`html.table` does it)."""
    return [
        {"prompt": shorten(prompt_text(p)), "response": shorten(r)}
        for p, r in zip(pairs.prompts[:count], pairs.responses[:count], strict=True)
    ]


def length_rows(pairs: Pairs) -> list[dict[str, Any]]:
    """Min, median, 90th percentile and max length of prompts and responses, in words
    (whitespace-separated) and characters."""
    prompts = [" ".join(m["content"] for m in p) for p in pairs.prompts]
    rows: list[dict[str, Any]] = []
    for what, texts in (("prompt", prompts), ("response", pairs.responses)):
        if not texts:
            continue
        for unit, counts in (
            ("words", [len(t.split()) for t in texts]),
            ("characters", [len(t) for t in texts]),
        ):
            values = np.asarray(counts)
            rows.append(
                {
                    "length of": f"{what} ({unit})",
                    "min": int(values.min()),
                    "median": float(np.median(values)),
                    "90%": float(np.percentile(values, 90)),
                    "max": int(values.max()),
                }
            )
    return rows
