"""RunsPanel: the runs on disk side by side.

A table of every run in ``runs_dir`` (:func:`workbench.runs.runs_table`); select two or
more to overlay their curves on one interactive chart (one colour per run; the same
:class:`~widgets.live.live_chart.LiveChart` the Train tab draws on) and list the settings in
which they differ (:func:`workbench.runs.config_differences`). It reads only run
directories, so it shows runs from other processes and other machines too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as w

from widgets.live.live_chart import LiveChart
from widgets.live.training_chart import show_overlay
from widgets.render import html
from workbench.runs import Run, config_differences, list_runs, runs_table


class RunsPanel(w.VBox):
    """Runs table, multi-select, overlay plot and config differences.

    ``runs`` are the loaded runs, ``compared`` the names drawn in the overlay, and
    ``differences`` the ``{setting: [value per run]}`` of the last comparison.
    """

    def __init__(self, runs_dir: str | Path = "runs", *, max_points: int = 2000) -> None:
        self.runs_dir = runs_dir
        self.max_points = max_points
        self.runs: list[Run] = []
        self.compared: list[str] = []
        self.differences: dict[str, list[Any]] = {}
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.table = w.HTML()
        self.selector = w.SelectMultiple(
            options=[],
            rows=6,
            description="compare",
            tooltip="Select two or more runs (Ctrl/Shift-click) to overlay their curves",
            layout=w.Layout(width="520px"),
        )
        self.selector.observe(lambda change: self.compare(list(change["new"])), names="value")
        self.message = w.HTML()
        self.overlay = LiveChart(max_points=max_points, exact_tail=max_points // 2)
        self.overlay.empty_text = "select two or more runs to overlay their curves"
        self.overlay.layout.display = "none"  # shown once there is something to compare
        self.differences_html = w.HTML()
        super().__init__(
            [
                w.HBox([self.refresh_button, self.message]),
                self.table,
                self.selector,
                self.overlay,
                self.differences_html,
            ]
        )
        self.refresh()

    def refresh(self) -> None:
        """Re-read ``runs_dir``; keeps the selection of runs that still exist."""
        self.runs = list_runs(self.runs_dir)
        names = [r.name for r in self.runs]
        self.table.value = (
            html.table(runs_table(self.runs))
            if self.runs
            else html.note(f"no runs in {self.runs_dir} yet")
        )
        keep = tuple(n for n in self.selector.value if n in names)
        self.selector.options = names
        self.selector.value = keep

    def compare(self, names: list[str]) -> None:
        """Overlay the curves of ``names`` and list the settings that differ."""
        chosen = [r for r in self.runs if r.name in names]
        if len(chosen) < 2:
            self.compared, self.differences = [], {}
            show_overlay(self.overlay, {})
            self.overlay.layout.display = "none"
            self.differences_html.value = ""
            self.message.value = html.note("select two or more runs to compare them")
            return
        show_overlay(self.overlay, {r.name: r.events for r in chosen})
        self.overlay.layout.display = ""
        self.compared = [r.name for r in chosen]
        self.differences = config_differences(chosen)
        rows = [
            {"setting": key, **{r.name: v for r, v in zip(chosen, values, strict=True)}}
            for key, values in self.differences.items()
        ]
        self.differences_html.value = (
            "<b>Settings that differ</b>" + html.table(rows, ["setting", *self.compared])
            if rows
            else html.note("these runs have identical settings")
        )
        self.message.value = html.note(f"comparing {len(chosen)} runs")
