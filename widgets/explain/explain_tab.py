"""ExplainTab: the Explain view that fits the run shown, word attributions or pixel heatmaps.

A task says which view explains its runs (``Task.explain_view``: ``"text"`` for a text
classifier's words, ``"image"`` for an image classifier's pixels; a task with none gets the
text view, whose message says what explains such runs instead). The tab holds one view of
each kind, built when first needed, and shows the one the current run asks for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from widgets.app.registry import resolve
from widgets.explain.attribution_view import AttributionView
from widgets.explain.image_explain_view import ImageExplainView
from workbench.tasks import TASKS

#: How each kind of Explain view is built (a new kind: one line here, one task attribute).
VIEWS: dict[str, Callable[[], Any]] = {"text": AttributionView, "image": ImageExplainView}


class ExplainTab(w.VBox):
    """One Explain view at a time: the kind the shown run's task asks for."""

    def __init__(self, text_view: AttributionView | None = None) -> None:
        self.views: dict[str, Any] = {"text": text_view or AttributionView()}
        self.kind = "text"
        super().__init__([self.views["text"]])

    @property
    def view(self) -> Any:
        """The view shown now."""
        return self.views[self.kind]

    @property
    def source(self) -> Any:
        return self.view.source

    def show(self, run: Any) -> None:
        """Show ``run`` in the view its task explains with."""
        self._switch(kind_of(run)).show(run)

    def open_example(self, row: dict[str, Any], run: Any) -> None:
        """Explain one test example of ``run`` (an **Explain** click in Evaluate)."""
        view = self._switch(kind_of(run))
        if isinstance(view, AttributionView):
            view.open_example(str(row.get("text", "")), run=run)
        else:
            view.open_example(row, run=run)

    def _switch(self, kind: str) -> Any:
        if kind not in VIEWS:
            kind = "text"
        if kind not in self.views:
            self.views[kind] = VIEWS[kind]()
        if kind != self.kind:
            self.kind = kind
            self.children = (self.views[kind],)
        return self.views[kind]


def kind_of(run: Any) -> str:
    """The Explain view a run's task asks for (``"text"`` when it cannot be told)."""
    try:
        config = resolve(run).config
    except (ValueError, TypeError, OSError):
        return "text"  # the text view says what is wrong with the source
    task = TASKS.get(getattr(getattr(config, "model", None), "task", "") or "")
    return (task.explain_view if task is not None else "") or "text"
