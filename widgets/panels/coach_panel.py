"""FindingsView: the coach's findings with one-click remedies (**Apply**, **Apply & re-run**).

A finding (:class:`workbench.coach.Finding`, or its ``to_dict()`` form from an event or
``summary.json``) says what the coach saw, with its numbers, why it matters and the fix.
When the fix is a setting (``changes``, e.g. ``{"batch_size": 8, "epochs": 10.0}``), an
**Apply** button sets exactly those controls on the shared
:class:`~widgets.form.form.ConfigForm`, as if the user had moved them, and the form's notice
says what changed: ``applied: batch_size 32 → 8, epochs 3 → 10``. A control a lesson fixed
is left alone and the notice says so. **Apply all** merges every finding's changes (the
most severe finding wins where two touch the same setting); **Apply & re-run** (after a
run, when a ``rerun`` callback is given) applies them and trains again.

The view is hidden while it has nothing to show. It holds one HTML per finding, one
button per finding with changes, and one row of shared buttons. Thread ownership: whoever
owns the panel that contains it calls :meth:`FindingsView.show` (the Train tab's pump, the
Hyperparameters tab's check worker, the Evaluate panel under its lock); the buttons' clicks
run on the kernel's main thread and write only the form's controls and notice.

The Hyperparameters tab's **Check settings** runs the pre-flight checks on demand with
:func:`workbench.training.checkup.check_settings` (no model weights loaded) and shows the
result here.
"""

from __future__ import annotations

import html as _html
from collections.abc import Callable, Iterable
from typing import Any

import ipywidgets as w
from traitlets import TraitError

from widgets.form.form import ConfigForm
from widgets.render import html
from workbench.coach import ORDER, Finding, combined_changes

#: Colour (text and left border) and background of each severity.
SEVERITY_STYLE = {
    "error": ("#c62828", "#fdecea"),
    "warning": ("#a15c00", "#fff8e1"),
    "info": ("#37608a", "#f1f5f9"),
}
SEVERITY_LABEL = {"error": "error", "warning": "warning", "info": "note"}
STAGE_LABEL = {
    "preflight": "before training",
    "diagnosis": "after training",
    "export": "export check",
}


def as_findings(items: Iterable[Finding | dict[str, Any]]) -> list[Finding]:
    """Findings from findings or their dicts, most severe first (stable: earlier stays first)."""
    found = [f if isinstance(f, Finding) else Finding.from_dict(f) for f in items]
    return sorted(found, key=lambda f: ORDER[f.severity])


class FindingsView(w.VBox):
    """A list of findings, severity-styled, with **Apply** buttons when a form is given.

    Parameters
    ----------
    form
        The form whose controls **Apply** sets; None shows findings without buttons.
    rerun
        Called after **Apply & re-run** applied the changes (the Train tab's ``train``);
        it returns the new run, or None when it could not start one (it says why).
    """

    def __init__(
        self, form: ConfigForm | None = None, rerun: Callable[[], Any] | None = None
    ) -> None:
        self.form = form
        self.rerun = rerun
        self.findings: list[Finding] = []
        self.apply_buttons: list[w.Button] = []  # one per finding with changes, same order
        self.apply_all_button = w.Button(description="Apply all", icon="check")
        self.rerun_button = w.Button(
            description="Apply & re-run", icon="repeat", button_style="primary"
        )
        self.apply_all_button.on_click(lambda _: self.apply(self._all_changes()))
        self.rerun_button.on_click(lambda _: self.apply_and_rerun())
        self.footer = w.HBox()
        super().__init__(layout=w.Layout(display="none"))

    def show(self, findings: Iterable[Finding | dict[str, Any]], rerun: bool = False) -> None:
        """Show ``findings`` (hidden when there are none); ``rerun`` offers **Apply & re-run**."""
        self.findings = as_findings(findings)
        self.apply_buttons = []
        children: list[w.Widget] = []
        for finding in self.findings:
            children.append(w.HTML(finding_html(finding)))
            if finding.changes and self.form is not None:
                button = w.Button(
                    description="Apply",
                    icon="check",
                    tooltip="set " + changes_text(finding.changes),
                    layout=w.Layout(width="auto", align_self="flex-start", margin="0 0 6px 12px"),
                )
                button.on_click(lambda _, c=finding.changes: self.apply(c))
                self.apply_buttons.append(button)
                children.append(button)
        shared = []
        if self.form is not None and len(self.apply_buttons) >= 2:
            shared.append(self.apply_all_button)
        if self.form is not None and self.apply_buttons and rerun and self.rerun is not None:
            shared.append(self.rerun_button)
        self.footer.children = shared
        self.children = [*children, self.footer] if shared else children
        self.layout.display = "" if self.findings else "none"

    # -- clicks (main thread) ----------------------------------------------------
    def apply(self, changes: dict[str, Any], then: str = "click Train to use them") -> str:
        """Set ``changes`` on the form's controls as a user would; say and return what
        changed. Controls a lesson fixed keep their values (the message names them)."""
        if self.form is None:
            return ""
        message = apply_changes(self.form, changes)
        if message.startswith("applied"):
            message += f" — {then}" if then else ""
        self.form.say(message)
        return message

    def apply_and_rerun(self) -> Any:
        """**Apply & re-run**: every finding's changes, then ``rerun()``; returns its run."""
        if self.form is None or self.rerun is None:
            return None
        message = self.apply(self._all_changes(), then="")
        handle = self.rerun()
        if handle is not None:  # else rerun() said why it could not start; keep that
            self.form.say(f"{message}; training again with them")
        return handle

    def _all_changes(self) -> dict[str, Any]:
        return combined_changes(self.findings)


def apply_changes(form: ConfigForm, changes: dict[str, Any]) -> str:
    """Set each setting in ``changes`` on ``form`` and describe it:
    ``applied: batch_size 32 → 8, epochs 3 → 10; not changed: lr (fixed by this lesson)``."""
    done, skipped = [], []
    for name, value in changes.items():
        control = form.controls.get(name)
        if control is None:
            skipped.append(f"{name} (no control for it here)")
            continue
        if control.locked:
            skipped.append(f"{name} (fixed by this lesson)")
            continue
        before = control.get()
        try:
            form.set(name, value)
        except (ValueError, TypeError, TraitError) as err:  # e.g. a choice this form lacks
            skipped.append(f"{name} ({err})")
            continue
        done.append(f"{name} {html.plain(before)} → {html.plain(control.get())}")
    parts = []
    if done:
        parts.append("applied: " + ", ".join(done))
    if skipped:
        parts.append(("not changed: " if done else "nothing applied: ") + ", ".join(skipped))
    return "; ".join(parts) or "nothing to apply"


def changes_text(changes: dict[str, Any]) -> str:
    """``batch_size 8, epochs 10`` (not escaped)."""
    return ", ".join(f"{name} {html.plain(value)}" for name, value in changes.items())


def finding_html(finding: Finding) -> str:
    """One finding as a severity-coloured block; every string in it is escaped."""
    color, background = SEVERITY_STYLE[finding.severity]
    esc = _html.escape
    label = SEVERITY_LABEL[finding.severity]
    stage = STAGE_LABEL.get(finding.stage, finding.stage)
    fix = esc(finding.fix)
    if finding.changes:
        settings = esc(changes_text(finding.changes))
        fix += f"{' ' if fix else ''}<span style='color:#555'>(sets {settings})</span>"
    lines = [
        f"<span style='color:{color};font-weight:600'>{esc(label)}</span> "
        f"<b>{esc(finding.message)}</b> "
        f"<span style='color:#888;font-size:11px'>· {esc(stage)}</span>",
        f"<div style='color:#444'>why: {esc(finding.why)}</div>" if finding.why else "",
        f"<div>fix: {fix}</div>" if fix else "",
    ]
    return (
        f"<div style='border-left:4px solid {color};background:{background};"
        f"padding:4px 8px;margin:4px 0 2px 0;font-size:13px;line-height:1.4'>"
        f"{''.join(lines)}</div>"
    )
