"""HyperparametersPanel: optimizer and regularization settings, the coach's pre-flight
checks on demand, and the LR range test.

Every control here is generated from the config dataclass metadata by
:func:`widgets.form.controls.control_for` (sliders, dropdowns, log slider for the learning
rate, help text as tooltips); none is written by hand. An invalid combination shows the
engine's :class:`~workbench.config.ConfigError` message in red (``form.error``) instead of
raising. The learning rate is the one setting a running loop accepts: moving it during a
run goes to ``handle.set_lr`` (see :class:`~widgets.panels.train_panel.TrainPanel`), other
settings say they need a restart (``form.notice``).

**Check settings** runs the coach's pre-flight checks (:mod:`workbench.coach`) for the
current settings without training: it prepares the data as training would (cached, so the
next **Train** reuses it) and loads only the tokenizer, then shows the findings with
**Apply** buttons (:class:`~widgets.panels.coach_panel.FindingsView`), or says that nothing was
flagged. A bad setting or data file is shown as the engine's message in red.

Thread ownership: the check runs in one background worker
(:class:`~widgets.live.background.LatestJob`), the only thread that writes ``check_status``,
``check_message``, ``findings`` and the **Check settings** button's state; the click only
reads the form and hands the worker a job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from widgets.form.form import ConfigForm
from widgets.live.background import LatestJob
from widgets.panels.coach_panel import FindingsView
from widgets.panels.lr_finder_panel import LRFinderPanel
from widgets.render import html
from workbench.config import ConfigError, TrainConfig
from workbench.training.checkup import check_settings


class HyperparametersPanel(w.VBox):
    """Optimizer + regularization controls, validation message, **Check settings** and
    **Find LR**.

    Parameters
    ----------
    config
        Initial settings when no ``form`` is given.
    form
        A shared :class:`~widgets.form.form.ConfigForm`.
    data
        DataFrame for the checks and the LR range test, or a callable returning one.
    lr_find_steps
        Steps of the LR range test.
    """

    def __init__(
        self,
        config: Any = None,
        *,
        form: ConfigForm | None = None,
        data: Any = None,
        lr_find_steps: int = 100,
    ) -> None:
        self.form = form or ConfigForm(config)
        self._data: Any | Callable[[], Any] = data
        self.lr_finder = LRFinderPanel(self.form, data=data, steps=lr_find_steps)
        self.check_button = w.Button(description="Check settings", icon="stethoscope")
        self.check_button.on_click(lambda _: self.check())
        self.check_status = w.Label("")
        self.check_message = w.HTML()  # the error in red, or "no findings …"
        self.findings = FindingsView(self.form)
        self.check_job = LatestJob("workbench-coach-check")
        super().__init__(
            [
                w.HTML("<b>Optimization</b>"),
                self.form.box("optim"),
                w.HTML("<b>Regularization</b>"),
                self.form.box("regularization"),
                self.form.error,
                self.form.notice,
                w.HTML("<b>Pre-flight checks</b>"),
                w.HBox([self.check_button, self.check_status]),
                self.check_message,
                self.findings,
                w.HTML("<b>Learning-rate range test</b>"),
                self.lr_finder,
            ]
        )

    @property
    def lr(self) -> Any:
        """The learning-rate control (a FloatLogSlider) — handy in notebooks and tests."""
        return self.form.controls["lr"].input

    def check(self) -> None:
        """What **Check settings** does: the pre-flight checks for the settings shown, in
        the background (``check_job.wait_idle()`` waits for them)."""
        config, problem = self.form.check()
        source = self._data() if callable(self._data) else self._data
        self.check_job.submit(lambda: self._check(config, problem, source))

    # -- the worker ------------------------------------------------------------
    def _check(self, config: TrainConfig | None, problem: str | None, source: Any) -> None:
        self.check_button.disabled = True
        self.check_status.value = "checking (preparing data, loading the tokenizer)…"
        self.check_message.value = ""
        try:
            if config is None:
                raise ConfigError(problem or "invalid settings")
            findings, checks = check_settings(config, source)
        except Exception as err:  # ConfigError, DataError, ModelError…: shown, not raised
            self.findings.show([])
            self.check_status.value = "check failed"
            self.check_message.value = html.error(
                f"{html.failure(err)}\nFix the setting it names, then click Check settings again."
            )
            return
        finally:
            self.check_button.disabled = False
        self.findings.show(findings)
        self.check_status.value = ""
        if not findings:
            self.check_message.value = html.note(
                f"no findings: nothing to flag for these settings ({checks} checks ran)"
            )
