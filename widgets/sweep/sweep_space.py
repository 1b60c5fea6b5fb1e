"""The search-space editor of the Sweep tab: which settings vary, and over what.

Every setting a sweep can vary (:func:`workbench.sweeps.sweepable_fields`) is offered in
one dropdown, generated from the config metadata like the Hyperparameters tab's controls;
**Add** puts a row under it. A numeric setting's row is a range — low, high, and a log
box ticked where the field's metadata says log scale (the learning rate) — or, switched to
*values*, a list; a choice setting's row (method, scheduler, true/false) lists its allowed
values to pick from; ``model`` takes names separated by commas. A new range starts around
the setting's current value in the form (half to twice it), inside its allowed range.

:meth:`SpaceEditor.space` is the ``{setting: range or list}`` mapping the engine checks
(:func:`workbench.sweeps.parse_space`); what it refuses is shown by the panel in red.
Only the kernel's main thread (widget callbacks) touches these widgets.
"""

from __future__ import annotations

import math
import re
from typing import Any

import ipywidgets as w

from workbench.sweeps.space import sweepable_fields

#: Rows shown at first: the two settings most sweeps start with.
DEFAULT_ROWS = ("lr", "weight_decay")
NUMBER = re.compile(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?")
ROW_WIDTH = "140px"


class SpaceRow(w.HBox):
    """One varying setting: a range (low/high/log) or a list of values."""

    def __init__(self, field: Any, tp: Any, current: Any = None) -> None:
        self.name, self.field, self.type = field.name, field, tp
        meta = field.metadata
        self.numeric = tp in (int, float)
        label = w.Label(field.name.replace("_", " "), layout=w.Layout(width="150px"))
        label.tooltip = meta.get("help", "")
        self.remove_button = w.Button(icon="times", tooltip="Do not vary this setting")
        self.remove_button.layout.width = "36px"
        self.mode_choice = w.Dropdown(
            options=["range", "values"], value="range", layout=w.Layout(width="90px")
        )
        box = w.FloatText if tp is float else w.IntText
        low, high = default_range(field, tp, current)
        self.low_input = box(value=low, description="low", layout=w.Layout(width=ROW_WIDTH))
        self.high_input = box(value=high, description="high", layout=w.Layout(width=ROW_WIDTH))
        for c in (self.low_input, self.high_input):
            c.style.description_width = "32px"
        self.log_box = w.Checkbox(value=bool(meta.get("log")), description="log", indent=False)
        self.log_box.layout.width = "60px"
        self.values_input: w.Widget = self._values_widget(field, tp, current)
        self.mode_choice.observe(lambda _: self._show_mode(), names="value")
        if self.numeric:
            children = [
                label,
                self.mode_choice,
                self.low_input,
                self.high_input,
                self.log_box,
                self.values_input,
            ]
        else:
            children = [label, self.values_input]
        super().__init__([*children, self.remove_button])
        self._show_mode()

    def spec(self) -> Any:
        """This row as the engine reads it: ``{low, high, log}`` or a list of values."""
        if self.numeric and self.mode_choice.value == "range":
            return {
                "low": self.low_input.value,
                "high": self.high_input.value,
                "log": self.log_box.value,
            }
        if isinstance(self.values_input, w.SelectMultiple):
            return list(self.values_input.value)
        text = str(self.values_input.value)
        if self.numeric:
            cast = int if self.type is int else float
            return [cast(float(v)) for v in NUMBER.findall(text)]
        return [v.strip() for v in text.split(",") if v.strip()]

    def _values_widget(self, field: Any, tp: Any, current: Any) -> w.Widget:
        meta = field.metadata
        if "choices" in meta or tp is bool:
            options = list(meta.get("choices", (True, False)))
            return w.SelectMultiple(
                options=[(str(o).lower() if tp is bool else str(o), o) for o in options],
                value=tuple(options),
                rows=min(6, len(options)),
                layout=w.Layout(width="260px"),
            )
        if self.numeric:
            low, high = default_range(field, tp, current)
            text = ", ".join(f"{v:g}" for v in (low, high))
            return w.Text(value=text, placeholder="values, separated by commas")
        return w.Text(value=str(current or ""), placeholder="names, separated by commas")

    def _show_mode(self) -> None:
        if not self.numeric:
            return
        ranged = self.mode_choice.value == "range"
        for c in (self.low_input, self.high_input, self.log_box):
            c.layout.display = "" if ranged else "none"
        self.values_input.layout.display = "none" if ranged else ""


def default_range(field: Any, tp: Any, current: Any) -> tuple[float, float]:
    """A first range for a setting: its metadata's "typical" range if it has one, else half
    to twice its current value, else the bottom tenth of its allowed range."""
    meta = field.metadata
    lo, hi = meta.get("min"), meta.get("max")
    typical = [float(x) for x in NUMBER.findall(str(meta.get("typical", "")))]
    if len(typical) == 2:
        low, high = typical
    elif isinstance(current, (int, float)) and not isinstance(current, bool) and current > 0:
        low, high = current / 2, current * 2
    else:
        base = lo if lo is not None else 0.0
        span = (hi - base) / 10 if hi is not None and math.isfinite(hi - base) else 1.0
        low, high = base, base + span
    if lo is not None:
        low = max(low, lo)
    if hi is not None:
        high = min(high, hi)
    if meta.get("log") or meta.get("min_exclusive"):
        low = max(low, 1e-6)
    if tp is int:
        low, high = math.ceil(low), max(math.floor(high), math.ceil(low) + 1)
    return low, high


class SpaceEditor(w.VBox):
    """Rows of varying settings, a dropdown of the others and **Add**.

    Parameters
    ----------
    current
        Zero-argument callable giving the form's flat settings (new ranges start there).
    """

    def __init__(self, current: Any = None) -> None:
        self._current = current or (lambda: {})
        self.fields = {f.name: (f, tp) for _, f, tp in sweepable_fields()}
        self.rows: dict[str, SpaceRow] = {}
        self.picker = w.Dropdown(description="vary", layout=w.Layout(width="320px"))
        self.picker.style.description_width = "40px"
        self.add_button = w.Button(description="Add", icon="plus")
        self.add_button.on_click(lambda _: self.add(self.picker.value))
        self.box = w.VBox()
        super().__init__([self.box, w.HBox([self.picker, self.add_button])])
        for name in DEFAULT_ROWS:
            self.add(name)

    def add(self, name: str | None) -> SpaceRow | None:
        """Vary setting ``name`` (a new row, or the one it already has)."""
        if not name:
            return None
        if name in self.rows:
            return self.rows[name]
        field, tp = self.fields[name]
        row = SpaceRow(field, tp, self._current().get(name))
        row.remove_button.on_click(lambda _: self.remove(name))
        self.rows[name] = row
        self._layout()
        return row

    def remove(self, name: str) -> None:
        self.rows.pop(name, None)
        self._layout()

    def space(self) -> dict[str, Any]:
        """``{setting: {low, high, log} or [values]}`` for the engine to check."""
        return {name: row.spec() for name, row in self.rows.items()}

    def _layout(self) -> None:
        self.box.children = list(self.rows.values())
        left = [n for n in self.fields if n not in self.rows]
        self.picker.options = left
        self.picker.value = left[0] if left else None
