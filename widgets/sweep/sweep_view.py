"""What the Sweep tab shows while a sweep runs, and the one thread that updates it.

:func:`trials_chart` is a :class:`~widgets.live.live_chart.LiveChart` with one panel: the
objective at every evaluation, one line per trial (x: epochs trained). Its series list
grows as trials start; a pruned or failed trial's line turns grey, faded and dashed, the
best trial's line thick. :func:`best_chart` shows each finished trial's score and the best
so far against the trial number.

:class:`SweepPump` reads the sweep's trials from its storage (so trials of other worker
processes and machines appear too) every ``interval`` seconds and updates the panel: new
curve points (only those, a few bytes each), series styles, the best chart, the trials
table, the trial picker, status and buttons, and — each time another trial finishes, from
the third on — the importances and slices. It is the only thread that writes those widgets
while the sweep lasts (NOTEBOOK_FACTS.md), ticks once more when the sweep ends, and stops.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from widgets.live.live_chart import LiveChart
from widgets.live.training_chart import TAB10
from widgets.render import html
from widgets.render.charts import png
from widgets.sweep.sweep_charts import sweep_analysis_plot

INTERVAL = 0.5  # seconds between reads of the study: trials take seconds to minutes
ANALYSIS_AFTER = 3  # finished trials before importances mean anything
FADED = "#9e9e9e"
SCORED = ("val_macro_f1", "val_accuracy")  # in [0, 1]: a still y axis


def trials_chart(max_points: int = 2000, objective: str = "val_macro_f1") -> LiveChart:
    """An empty chart for every trial's validation curve."""
    return LiveChart(
        _panels(objective),
        [],
        max_points=max_points,
        exact_tail=max_points // 2,
        x_label="epoch",
        empty_text="no trial yet: pick the settings to vary and click Start sweep",
        height=260,
    )


def best_chart(objective: str = "val_macro_f1") -> LiveChart:
    """An empty chart of each finished trial's score and the best so far."""
    return LiveChart(
        [{"id": "best", "title": f"{objective}: each finished trial, and the best so far"}],
        [
            {
                "id": "score",
                "panel": "best",
                "label": "trial",
                "color": "#1f77b4",
                "alpha": 0.45,
                "points": True,
            },
            {
                "id": "best",
                "panel": "best",
                "label": "best so far",
                "color": "#d62728",
                "width": 2.5,
            },
        ],
        x_label="trial",
        empty_text="the first finished trial appears here",
        height=200,
    )


def _panels(objective: str) -> list[dict[str, Any]]:
    panel: dict[str, Any] = {"id": "metric", "title": f"Validation {objective}, every trial"}
    if objective in SCORED:
        panel["y_range"] = [0, 1.02]
    return [panel]


def trial_series(trial: Any, best: int | None) -> dict[str, Any]:
    """How one trial's line is drawn: its own colour; grey and faded once pruned or
    failed; thick when it is the best so far."""
    n = trial.number
    s: dict[str, Any] = {
        "id": f"t{n}",
        "panel": "metric",
        "label": f"#{n}",
        "color": TAB10[n % len(TAB10)],
        "width": 1.5,
        "alpha": 0.85,
        "points": True,
    }
    if trial.state in ("pruned", "failed"):
        s.update(color=FADED, alpha=0.35, dash=[4, 3], label=f"#{n} {trial.state}")
    if n == best:
        s.update(width=3.5, alpha=1.0, label=f"#{n} best")
    return s


class SweepPump:
    """Follow a sweep and update a :class:`~widgets.sweep.sweep_panel.SweepPanel` until it ends."""

    def __init__(self, panel: Any, handle: Any, interval: float = INTERVAL) -> None:
        self.panel, self.handle, self.interval = panel, handle, interval
        self.spec = handle.spec
        self.trials: list[Any] = []
        self.errors: list[str] = []  # a failed update: kept here, never printed
        self._sent: dict[int, int] = {}  # trial number -> curve points on the chart
        self._series: list[dict[str, Any]] = []
        self._table_key: Any = None
        self._best_key: Any = None
        self._analysed = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="workbench-sweep-pump")
        self._reset_charts()

    def start(self) -> SweepPump:
        self.thread.start()
        return self

    def wake(self) -> None:
        self._table_key = None  # a click (sort order) or control: redraw the table too
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout)

    def _reset_charts(self) -> None:
        p, objective = self.panel, self.spec.objective
        epochs = [self.spec.config.optim.epochs]
        for param in self.spec.space.params:
            if param.name == "epochs":
                epochs += [float(v) for v in (param.choices or (param.high,)) if v is not None]
        p.chart.panels = _panels(objective)
        p.chart.series = []
        p.chart.clear(x_max=max(epochs))
        p.best_chart.panels = [
            {"id": "best", "title": f"{objective}: each finished trial, and the best so far"}
        ]
        p.best_chart.set_data({}, x_max=max(1, self.spec.trials - 1))

    # -- the thread ----------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            done = self.handle.done  # before reading: the last trial is in the study then
            self._tick(final=done)
            if done:
                return
            self._wake.wait(self.interval)
            self._wake.clear()

    def _tick(self, final: bool) -> None:
        try:
            trials = self.handle.trials
        except Exception as err:  # the storage went away: say so, keep going
            self.errors.append(f"reading trials: {type(err).__name__}: {err}")
            trials = self.trials
        self.trials = trials
        best = self.handle.best
        for step in (
            lambda: self._curves(trials, best, final),
            lambda: self._best(trials),
            lambda: self._table(trials, best),
            lambda: self._status(trials, best, final),
            lambda: self._analysis(trials),
        ):
            try:
                step()
            except Exception as err:  # one broken view must not stop the others
                self.errors.append(f"{type(err).__name__}: {err}")

    # -- the views -----------------------------------------------------------------
    def _curves(self, trials: list[Any], best: Any, final: bool) -> None:
        chart = self.panel.chart
        number = best.number if best is not None else None
        series = [trial_series(t, number) for t in trials if t.curve or t.state == "running"]
        if series != self._series:
            self._series = series
            chart.series = series  # the browser re-lays its lines, keeping the points
        points = {}
        for t in trials:
            sent = self._sent.get(t.number, 0)
            if len(t.curve) > sent:
                points[f"t{t.number}"] = [tuple(p) for p in t.curve[sent:]]
                self._sent[t.number] = len(t.curve)
        if points:
            chart.append(points)
        if final:
            chart.flush()  # a reload or a saved notebook shows every curve

    def _best(self, trials: list[Any]) -> None:
        done = [t for t in trials if t.state == "complete" and t.value is not None]
        key = [(t.number, t.value) for t in done]
        if key == self._best_key:
            return
        self._best_key = key
        xs, ys, bests = [], [], []
        top: float | None = None
        for t in done:
            top = t.value if self.spec.better(t.value, top) else top
            xs.append(float(t.number))
            ys.append(float(t.value))
            bests.append(float(top if top is not None else t.value))
        x_max = max([self.spec.trials - 1, *(t.number for t in trials)], default=1)
        self.panel.best_chart.set_data({"score": (xs, ys), "best": (xs, bests)}, x_max=x_max)

    def _table(self, trials: list[Any], best: Any) -> None:
        by_score = self.panel.sort.value == "score"
        ordered = sort_trials(trials, self.spec.direction, by_score)
        key = (by_score, [(t.number, t.state, t.value, t.seconds) for t in ordered])
        if key == self._table_key:
            return
        self._table_key = key
        objective, names = self.spec.objective, self.spec.space.names
        rows = []
        for t in ordered:
            mark = "★" if best is not None and t.number == best.number else ""
            rows.append({"": mark, **t.row(objective), "error": t.error[:80]})
        columns = ["", "trial", objective, "state", "seconds", *names]
        if any(t.error for t in trials):
            columns.append("error")
        self.panel.table.value = html.table(rows, columns) if rows else ""
        picker = self.panel.trial_picker
        chosen = picker.value
        picker.options = [(trial_label(t, objective), t.number) for t in ordered]
        numbers = [t.number for t in ordered]
        if chosen in numbers:
            picker.value = chosen
        elif best is not None:
            picker.value = best.number

    def _status(self, trials: list[Any], best: Any, final: bool) -> None:
        p, h = self.panel, self.handle
        status = h.status
        with p.pause_button.hold_sync():
            p.pause_button.description = "Resume" if status == "paused" else "Pause"
            p.pause_button.icon = "play" if status == "paused" else "pause"
            p.pause_button.disabled = h.done
        p.stop_button.disabled = h.done
        p.start_button.disabled = not h.done
        states = [t.state for t in trials]
        finished = sum(s in ("complete", "pruned", "failed") for s in states)
        text = f"{finished} of {self.spec.trials} trials"
        if states.count("pruned"):
            text += f" ({states.count('pruned')} pruned)"
        if best is not None:
            text += f" · best {self.spec.objective} {best.value:.4f} (trial {best.number})"
        p.progress.value = text
        p.status_label.value = status
        if final and h.error is not None:
            p.message.value = html.error(f"sweep failed: {html.failure(h.error)}")
        elif final:
            p.message.value = html.note(f"sweep folder: {h.folder} ({status})")

    def _analysis(self, trials: list[Any]) -> None:
        finished = [t for t in trials if t.state == "complete"]
        if len(finished) < ANALYSIS_AFTER or len(finished) == self._analysed:
            return
        self._analysed = len(finished)
        importances = self.handle.importances()
        fig, _ = sweep_analysis_plot(
            trials, importances, self.spec.space.names, self.spec.objective
        )
        p = self.panel
        with contextlib.ExitStack() as stack:
            stack.enter_context(p.analysis.hold_sync())
            p.analysis.value = png(fig, dpi=72)
            p.analysis.layout.display = ""
        shares = ", ".join(f"{k} {v:.2f}" for k, v in importances.items())
        p.analysis_note.value = html.note(
            f"after {len(finished)} finished trials — importance: {shares or 'not yet'}"
        )


def sort_trials(trials: list[Any], direction: str, by_score: bool) -> list[Any]:
    """By score (best first, unscored last, by number among themselves) or by number."""
    if not by_score:
        return sorted(trials, key=lambda t: t.number)
    sign = -1.0 if direction == "maximize" else 1.0
    return sorted(
        trials,
        key=lambda t: (t.value is None, sign * (t.value or 0.0), t.number),
    )


def trial_label(trial: Any, objective: str) -> str:
    score = f"{trial.value:.4f}" if trial.value is not None else "—"
    return f"#{trial.number} · {objective} {score} · {trial.state}"
