"""PNG views that stay hidden while they hold no picture.

An ``ipywidgets.Image`` whose value is empty renders in the browser as a broken-image icon.
:func:`png_image` makes an Image that is hidden (``layout.display = "none"``) while its
value is empty and shown as soon as PNG bytes are assigned, so a panel can clear or fill it
with ``image.value = b""`` / ``image.value = png(fig)`` and never show a broken icon.

The visibility follows the value through a trait observer, so it is written by whichever
thread writes the value (NOTEBOOK_FACTS.md: one writer per widget stays one writer).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w


def png_image(max_width: str | None = None) -> w.Image:
    """A PNG ``Image`` that is hidden while its value is empty.

    Parameters
    ----------
    max_width
        CSS ``max-width`` of the picture, e.g. ``"520px"``.
    """
    image = w.Image(format="png", layout=w.Layout(max_width=max_width, display="none"))
    image.observe(_follow_value, names="value")
    return image


def _follow_value(change: dict[str, Any]) -> None:
    change["owner"].layout.display = "" if len(change["new"] or b"") else "none"
