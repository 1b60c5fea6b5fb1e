"""One control per setting, generated from the config dataclass metadata.

:func:`control_for` is the single place that maps a ``dataclasses.Field`` and its type
to a widget (CONVENTIONS rule 2: nobody hand-writes a form):

=================================  ==========================================
field                              widget
=================================  ==========================================
``choices`` in metadata            ``Dropdown``
``bool``                           ``Checkbox``
``log=True``                       ``FloatLogSlider`` (the learning rate)
``float`` with min/max             ``FloatSlider`` with the field's step
``int`` with min/max               ``IntSlider``; ``BoundedIntText`` when the
                                   range has more than ``MAX_SLIDER_POSITIONS``
``str | None``                     ``Combobox`` (a Text that accepts empty)
``str``                            ``Text``
``tuple[str, ...]``                ``Textarea``, one text per line
``tuple[str, ...]`` with choices   ``TagsInput`` of the allowed names
other ``X | None``                 the control plus a checkbox ("auto",
                                   "model default", …) that means None
=================================  ==========================================

The field's help text becomes the tooltip. Moving a control whose "auto" box is ticked
unticks it: the user picked a value.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from workbench.config import SECTIONS

MAX_SLIDER_POSITIONS = 2000
LOG_FLOOR = 1e-7  # lower end of a log slider whose minimum is 0 (exclusive)
DESCRIPTION_STYLE = {"description_width": "170px"}
WIDTH = "480px"


class FieldControl:
    """A generated control for one setting: ``get()``/``set()`` in config terms.

    ``input`` is the value widget, ``auto`` the optional "None" checkbox, ``widget`` what
    a panel displays (the two side by side).
    """

    def __init__(self, section: str, field: dataclasses.Field[Any], tp: Any) -> None:
        self.section, self.field, self.type = section, field, tp
        self.name = field.name
        self.meta = field.metadata
        self.optional = _allows_none(section, field)
        self.input = _input_widget(field, tp, self.optional)
        self.auto: w.Checkbox | None = None
        if self.optional and not isinstance(self.input, w.Combobox):
            self.auto = w.Checkbox(
                value=True,
                description=_auto_label(self.meta.get("help", "")),
                indent=False,
                layout=w.Layout(width="150px"),
                tooltip="Leave empty: " + self.meta.get("help", ""),
            )
            self.auto.observe(self._on_auto, names="value")
            self.input.observe(self._on_input, names="value")
            self.widget: w.Widget = w.HBox([self.input, self.auto])
        else:
            self.widget = self.input
        self.locked = False  # hidden and fixed by a lesson (see lock())
        self._setting = False
        self.set(field.default)

    # -- config-side values --------------------------------------------------
    def get(self) -> Any:
        """The value the config gets: None when "auto" is ticked or a Combobox is empty."""
        if self.auto is not None and self.auto.value:
            return None
        value = self.input.value
        if isinstance(self.input, w.Combobox):
            return value.strip() or None
        if isinstance(self.input, w.Textarea):
            return tuple(line.strip() for line in value.splitlines() if line.strip())
        if isinstance(self.input, w.TagsInput):
            return tuple(value)
        return value

    def set(self, value: Any) -> None:
        """Show ``value`` (None ticks the "auto" box and keeps the control's last value)."""
        self._setting = True
        try:
            if isinstance(self.input, w.Combobox):
                self.input.value = "" if value is None else str(value)
            elif isinstance(self.input, w.Textarea):
                self.input.value = "\n".join(str(v) for v in value or ())
            elif isinstance(self.input, w.TagsInput):
                self.input.value = [str(v) for v in value or ()]
            elif value is None:
                if self.auto is not None:
                    self.auto.value = True
            else:
                if self.auto is not None:
                    self.auto.value = False
                self.input.value = value
        finally:
            self._setting = False

    def show_default(self, value: Any) -> None:
        """Display what "auto" resolves to (e.g. the method's default lr) without choosing it."""
        if self.auto is not None and self.auto.value:
            self._setting = True
            try:
                self.input.value = value
            finally:
                self._setting = False

    def lock(self) -> None:
        """Hide and disable the control: a lesson fixed its value (widgets.app.lesson)."""
        self.locked = True
        self.widget.layout.display = "none"
        self.input.disabled = True
        if self.auto is not None:
            self.auto.disabled = True

    def observe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(name)`` whenever the user changes this setting."""

        def fire(change: Any) -> None:
            if not self._setting:
                callback(self.name)

        self.input.observe(fire, names="value")
        if self.auto is not None:
            self.auto.observe(fire, names="value")

    # -- internals -------------------------------------------------------------
    def _on_auto(self, change: Any) -> None:
        self.input.disabled = bool(change["new"])

    def _on_input(self, change: Any) -> None:
        if not self._setting and self.auto is not None and self.auto.value:
            self.auto.value = False  # moving the slider means "this value, not auto"


def control_for(section: str, field: dataclasses.Field[Any], tp: Any) -> FieldControl:
    """The generated control for one config field (see the module docstring's table)."""
    return FieldControl(section, field, tp)


def _input_widget(field: dataclasses.Field[Any], tp: Any, optional: bool) -> w.Widget:
    meta = field.metadata
    common: dict[str, Any] = {
        "description": field.name.replace("_", " "),
        "tooltip": meta.get("help", ""),
        "style": DESCRIPTION_STYLE,
        "layout": w.Layout(width=WIDTH),
    }
    lo, hi = meta.get("min"), meta.get("max")
    start = field.default if field.default is not None else (lo if lo is not None else 0)
    if typing.get_origin(tp) is tuple and "choices" in meta:  # a list of known names
        return w.TagsInput(
            value=list(field.default or ()),  # type: ignore[call-overload]  # a tuple default
            allowed_tags=[c for c in meta["choices"] if c != "none"],
            allow_duplicates=False,
            **common,
        )
    if "choices" in meta:
        return w.Dropdown(options=list(meta["choices"]), value=field.default, **common)
    if tp is bool:
        return w.Checkbox(value=bool(field.default), **common)
    if meta.get("log"):
        low = lo if lo is not None and lo > 0 else LOG_FLOOR
        hi = hi if hi is not None else 1.0
        return w.FloatLogSlider(
            value=field.default or math.sqrt(low * hi),
            base=10,
            min=math.log10(low),
            max=math.log10(hi),
            step=0.05,
            readout_format=".1e",
            continuous_update=False,
            **common,
        )
    if tp is float and lo is not None and hi is not None:
        step = meta.get("step", (hi - lo) / 100)
        return w.FloatSlider(
            value=start,
            min=lo,
            max=hi,
            step=step,
            readout_format=_float_format(step, lo),
            continuous_update=False,
            **common,
        )
    if tp is int and lo is not None and hi is not None:
        step = meta.get("step", 1)
        if (hi - lo) / step > MAX_SLIDER_POSITIONS:
            return w.BoundedIntText(value=start, min=lo, max=hi, step=step, **common)
        return w.IntSlider(
            value=start, min=lo, max=hi, step=step, continuous_update=False, **common
        )
    if typing.get_origin(tp) is tuple:  # a list of texts, one per line
        return w.Textarea(
            value="\n".join(field.default or ()),  # type: ignore[arg-type]  # a tuple default
            rows=3,
            placeholder="one text per line",
            continuous_update=False,
            **common,
        )
    if tp is int:
        return w.IntText(value=start, **common)
    if tp is float:
        return w.FloatText(value=start, **common)
    if optional:
        return w.Combobox(
            value=field.default or "",
            options=[],
            ensure_option=False,
            placeholder="auto",
            continuous_update=False,
            **common,
        )
    return w.Text(value=str(field.default), continuous_update=False, **common)


def _allows_none(section: str, field: dataclasses.Field[Any]) -> bool:
    """True for ``X | None`` fields (``all_fields`` hands over the type with None removed)."""
    hint = typing.get_type_hints(SECTIONS[section])[field.name]
    return type(None) in typing.get_args(hint)


def _auto_label(help_text: str) -> str:
    """Name the "None" checkbox after what None means in the field's help text."""
    text = help_text.lower()
    if "empty for all" in text:
        return "all"
    if "model's own" in text:
        return "model default"
    if "method's default" in text:
        return "method default"
    return "auto"


def _float_format(step: float, start: float) -> str:
    """Enough decimals to show every slider position (``start + k * step``) exactly."""

    def decimals(x: float) -> int:
        text = f"{x:.10f}".rstrip("0")
        return len(text.split(".")[1]) if "." in text else 0

    return f".{max(decimals(step), decimals(start))}f"
