"""The whole configuration as generated controls, and the TrainConfig they describe.

:class:`ConfigForm` builds one :class:`~widgets.form.controls.FieldControl` per config field
(``workbench.config.all_fields()``), except the few listed in :data:`EXCLUDED`. Panels
show slices of it (the Data panel the ``data`` section, …); the Workbench shares one form
across all panels so every control appears once and ``config()`` sees them all.

Invalid combinations are explained, not raised: after every change the form rebuilds the
config and shows a :class:`~workbench.config.ConfigError` message in red in ``error``.
Only the kernel's main thread (widget callbacks) writes these controls and messages.

With a :class:`~widgets.app.lesson.Lesson`, the lesson's fixed values are set first and the
controls it hides are locked (hidden, disabled, never changed by ``set_config``), so
``config()`` always carries the lesson's values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from widgets.app.lesson import Lesson
from widgets.form.controls import FieldControl, control_for
from widgets.render import html
from workbench.config import TrainConfig, all_fields
from workbench.methods import METHODS

#: Fields with no control, each with its reason.
EXCLUDED = {
    # A fixed run directory would make the second Train click fail ("already exists"):
    # every click writes a fresh runs/<timestamp>-<model>-<method>; runs_dir picks the folder.
    "out",
}


class ConfigForm:
    """Generated controls for every setting; ``config()`` is the TrainConfig they describe.

    Parameters
    ----------
    config
        Initial values (default ``TrainConfig()``).
    lesson
        Fix some settings and hide their controls (see :mod:`widgets.app.lesson`).
    """

    def __init__(self, config: TrainConfig | None = None, lesson: Lesson | None = None) -> None:
        self.controls: dict[str, FieldControl] = {}
        for section, field, tp in all_fields():
            if field.name in EXCLUDED:
                continue
            control = control_for(section, field, tp)
            control.observe(self._changed)
            self.controls[field.name] = control
        self.error = w.HTML()  # why the current combination is invalid (red), or empty
        self.notice = w.HTML()  # feedback on the last action ("restart needed", ...)
        self._listeners: list[Callable[[str], None]] = []
        self.lesson = lesson
        config = config or TrainConfig()
        self.set_config(lesson.apply(config) if lesson is not None else config)
        if lesson is not None:
            for name in lesson.hidden(self.controls):
                self.controls[name].lock()

    @property
    def hidden(self) -> list[str]:
        """Settings whose controls a lesson hid (their values are fixed), in form order."""
        return [name for name, control in self.controls.items() if control.locked]

    # -- reading ---------------------------------------------------------------
    def values(self) -> dict[str, dict[str, Any]]:
        """Nested ``{section: {field: value}}``; excluded fields keep their defaults."""
        nested = TrainConfig().to_dict()
        for control in self.controls.values():
            nested[control.section][control.name] = control.get()
        return nested

    def config(self) -> TrainConfig:
        """The TrainConfig the controls describe; raises ConfigError when invalid."""
        return TrainConfig.from_dict(self.values())

    def check(self) -> tuple[TrainConfig | None, str | None]:
        """``(config, None)`` when valid, else ``(None, the ConfigError message)``."""
        try:
            return self.config(), None
        except (ValueError, TypeError) as err:  # ConfigError is a ValueError
            return None, str(err)

    # -- writing -------------------------------------------------------------
    def set_config(self, config: TrainConfig) -> None:
        """Show ``config`` in the controls (no change callbacks fire); a lesson's hidden
        controls keep their fixed values."""
        flat = config.flat()
        for name, control in self.controls.items():
            if not control.locked:
                control.set(flat[name])
        self._show_method_default()
        self._validate()

    def set(self, name: str, value: Any) -> None:
        """Set one setting as a user would (change callbacks fire)."""
        control = self.controls[name]
        if control.locked:
            raise ValueError(
                f"{name} is fixed by this lesson; settings you can change: "
                + ", ".join(n for n, c in self.controls.items() if not c.locked)
            )
        if value is None:
            if control.auto is not None:
                control.auto.value = True
            else:
                control.input.value = ""
            return
        if control.auto is not None:
            control.auto.value = False
        if isinstance(control.input, w.Textarea) and not isinstance(value, str):
            value = "\n".join(value)  # a list of texts: one per line
        control.input.value = value

    def say(self, message: str, is_error: bool = False) -> None:
        self.notice.value = html.error(message) if is_error else html.note(message)

    def on_change(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(field_name)`` after the user changes a setting."""
        self._listeners.append(callback)

    # -- layout --------------------------------------------------------------
    def box(self, section: str, names: list[str] | None = None) -> w.VBox:
        """The controls of one section (or just ``names``), in declaration order."""
        chosen = [
            c
            for c in self.controls.values()
            if c.section == section and (names is None or c.name in names)
        ]
        return w.VBox([c.widget for c in chosen])

    # -- internals -------------------------------------------------------------
    def _changed(self, name: str) -> None:
        if name == "method":
            self._show_method_default()
        switched = self._follow_implied_task(name) if name in ("model", "dataset") else None
        self._validate()
        for callback in self._listeners:
            callback(name)
        if switched:
            self.say(switched)

    def _follow_implied_task(self, name: str) -> str | None:
        """Switch the task control to the one the new model or dataset implies (SmolLM2:
        causal-lm) and return the notice saying so; ``None`` when nothing changed.

        Only the changed control's own signal counts: picking SmolLM2 while the data is
        still ``tweets-sentiment`` means "instruction-tune SmolLM2", and the task switch
        lets the model panel swap in that task's dataset. The nested ``task`` change
        cannot loop: afterwards the model and dataset imply the task the control holds.
        """
        from workbench.tasks.inference import dataset_implies, model_implies

        task = self.controls["task"]
        value = self.controls[name].get()
        implied = model_implies(value) if name == "model" else dataset_implies(value)
        if task.locked or implied is None or implied.task == task.get():
            return None
        self.set("task", implied.task)
        return f"task → {implied.task}: implied by {implied.reason}"

    def _validate(self) -> None:
        _, message = self.check()
        self.error.value = html.error(message) if message else ""

    def _show_method_default(self) -> None:
        method = METHODS.get(self.controls["method"].get())
        if method is not None:
            self.controls["lr"].show_default(method.default_lr)
