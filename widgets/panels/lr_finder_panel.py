"""LRFinderPanel: the learning-rate range test behind a **Find LR** button.

:func:`workbench.lr_find.find_lr` trains a fresh copy of the model for ``steps`` steps
with an exponentially growing rate, in a worker thread (progress shown), then the panel
plots loss against learning rate and offers the suggestion: **Use suggested LR** sets the
form's lr slider (so the next **Train**, or the live run, uses it).

Thread ownership: while the test runs, only its worker writes ``progress``, ``status``,
``message``, ``plot``, ``suggestion`` and the buttons' enabled state; its progress
updates are throttled to 4 Hz like the training pump.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from widgets.form.form import ConfigForm
from widgets.live.pump import INTERVAL
from widgets.render import html
from widgets.render.charts import lr_finder_plot, png
from widgets.render.images import png_image
from workbench.lr_find import LRFinderResult, find_lr
from workbench.training.control import Control


class LRFinderPanel(w.VBox):
    """**Find LR** → loss-vs-LR plot → **Use suggested LR**.

    Parameters
    ----------
    form
        The form whose settings the test uses and whose lr slider it sets.
    data
        DataFrame to test on, or a callable returning one (None: ``config.data.dataset``).
    steps
        Steps of the range test (100 as fastai; tests use fewer).
    """

    def __init__(self, form: ConfigForm, *, data: Any = None, steps: int = 100) -> None:
        self.form = form
        self._data: Any | Callable[[], Any] = data
        self.steps = steps
        self.result: LRFinderResult | None = None
        self.control = Control()
        self.find_button = w.Button(description="Find LR", icon="search")
        self.cancel_button = w.Button(description="Cancel LR test", disabled=True)
        self.use_button = w.Button(description="Use suggested LR", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=steps, layout=w.Layout(width="300px"))
        self.status = w.Label("")
        self.message = w.HTML()
        self.suggestion = w.Label("")
        self.plot = png_image(max_width="520px")  # hidden while empty
        self._thread: threading.Thread | None = None
        self.find_button.on_click(lambda _: self.find())
        self.cancel_button.on_click(lambda _: self.control.stop())
        self.use_button.on_click(lambda _: self.use_suggestion())
        super().__init__(
            [
                w.HBox([self.find_button, self.cancel_button, self.progress, self.status]),
                self.message,
                self.plot,
                w.HBox([self.suggestion, self.use_button]),
            ]
        )

    def find(self) -> threading.Thread | None:
        """Start the range test in a worker thread; returns it (``.join()`` to wait)."""
        if self._thread is not None and self._thread.is_alive():
            return self._thread
        config, problem = self.form.check()
        if config is None:
            self.message.value = failure_html(problem or "invalid settings")
            return None
        data = self._data() if callable(self._data) else self._data
        self.control = Control()
        self._thread = threading.Thread(
            target=self._work, args=(config, data), daemon=True, name="workbench-lr-find"
        )
        self._thread.start()
        return self._thread

    def use_suggestion(self) -> None:
        """Set the lr slider to the suggested rate (main thread: a click)."""
        if self.result is not None and self.result.suggestion is not None:
            self.form.set("lr", self.result.suggestion)

    # -- the worker ------------------------------------------------------------
    def _work(self, config: Any, data: Any) -> None:
        self.find_button.disabled = True
        self.cancel_button.disabled = False
        self.use_button.disabled = True
        self.message.value = ""
        self.progress.max = self.steps
        self.progress.value = 0
        self.status.value = "preparing…"
        last = [0.0]

        def on_step(i: int, lr: float, loss: float) -> None:
            now = time.monotonic()
            if now - last[0] >= INTERVAL or i >= self.steps:
                last[0] = now
                self.progress.value = min(i, self.steps)
                self.status.value = f"step {i}/{self.steps} · lr {lr:.1e} · loss {loss:.3g}"

        try:
            result = find_lr(
                config, data=data, num_steps=self.steps, on_step=on_step, control=self.control
            )
            self.result = result
            fig, _ = lr_finder_plot(result.lrs, result.losses, result.smoothed, result.suggestion)
            self.plot.value = png(fig)
            self.progress.value = len(result.lrs)
            self.status.value = f"done: {len(result.lrs)} steps"
            if result.suggestion is None:
                self.suggestion.value = (
                    "no clear suggestion: the loss never fell steadily. Read a rate off the "
                    "plot where the loss falls fastest, or click Find LR with more steps"
                )
            else:
                self.suggestion.value = f"suggested lr: {result.suggestion:.2e}"
                self.use_button.disabled = False
        except Exception as err:  # ConfigError, DataError, ModelError…: shown, not raised
            self.status.value = "failed"
            self.message.value = failure_html(err)
        finally:
            self.find_button.disabled = False
            self.cancel_button.disabled = True


def failure_html(problem: str | BaseException) -> str:
    """Why the range test did not run (a ``str``: the settings problem) or failed (the
    exception), with what to do next; escaped."""
    if isinstance(problem, str):
        return html.error(f"{problem}\nFix that setting, then click Find LR again.")
    return html.error(
        f"{html.failure(problem)}\nFix the setting it names (Data, Model or Hyperparameters), "
        "then click Find LR again."
    )
