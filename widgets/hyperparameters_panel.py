"""HyperparametersPanel: optimizer and regularization settings, and the LR range test.

Every control here is generated from the config dataclass metadata by
:func:`widgets.controls.control_for` (sliders, dropdowns, log slider for the learning
rate, help text as tooltips); none is written by hand. An invalid combination shows the
engine's :class:`~workbench.config.ConfigError` message in red (``form.error``) instead of
raising. The learning rate is the one setting a running loop accepts: moving it during a
run goes to ``handle.set_lr`` (see :class:`~widgets.train_panel.TrainPanel`), other
settings say they need a restart (``form.notice``).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from widgets.form import ConfigForm
from widgets.lr_finder_panel import LRFinderPanel


class HyperparametersPanel(w.VBox):
    """Optimizer + regularization controls, validation message, and **Find LR**.

    Parameters
    ----------
    config
        Initial settings when no ``form`` is given.
    form
        A shared :class:`~widgets.form.ConfigForm`.
    data
        DataFrame for the LR range test, or a callable returning one.
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
        self.lr_finder = LRFinderPanel(self.form, data=data, steps=lr_find_steps)
        super().__init__(
            [
                w.HTML("<b>Optimization</b>"),
                self.form.box("optim"),
                w.HTML("<b>Regularization</b>"),
                self.form.box("regularization"),
                self.form.error,
                self.form.notice,
                w.HTML("<b>Learning-rate range test</b>"),
                self.lr_finder,
            ]
        )

    @property
    def lr(self) -> Any:
        """The learning-rate control (a FloatLogSlider) — handy in notebooks and tests."""
        return self.form.controls["lr"].input
