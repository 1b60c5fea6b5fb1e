"""Pictures of images and heatmaps as arrays and PNG bytes — pure functions, no UI.

Widgets (the Data preview grid, the Evaluate misclassified grid, the Explain heatmaps),
reports and the CLI all draw with these: each takes data and returns an ``(h, w, 3)``
uint8 array or the PNG bytes of one (``ipywidgets.Image(value=png)`` shows them as they
are). Colours come from matplotlib's colormaps (``matplotlib.colormaps``; ``pyplot`` is
never imported), pixels are put together and encoded with PIL.

Heatmap colours: signed scores on a diverging map centred on zero (red: for the class,
blue: against), a magnitude (saliency) on a sequential one; both scaled by the 99th
percentile of ``|score|`` so one extreme pixel does not wash the rest out.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

SIGNED_CMAP = "RdBu_r"
MAGNITUDE_CMAP = "inferno"


def png_bytes(image: np.ndarray) -> bytes:
    """``(h, w, 3)`` uint8 → PNG file bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement: small images (28 px) stay sharp on screen."""
    return image.repeat(scale, axis=0).repeat(scale, axis=1) if scale > 1 else image


def heatmap_colors(scores: np.ndarray, signed: bool) -> np.ndarray:
    """Per-pixel scores ``(h, w)`` → colours ``(h, w, 3)`` uint8 (see the module doc)."""
    import matplotlib

    values = np.asarray(scores, dtype=np.float64)
    scale = float(np.percentile(np.abs(values), 99)) or float(np.abs(values).max()) or 1.0
    if signed:
        unit = np.clip(values / scale, -1, 1) * 0.5 + 0.5  # 0.5 = zero = white
        cmap = matplotlib.colormaps[SIGNED_CMAP]
    else:
        unit = np.clip(np.abs(values) / scale, 0, 1)
        cmap = matplotlib.colormaps[MAGNITUDE_CMAP]
    rgba = cmap(unit)  # (h, w, 4) floats in [0, 1]
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def overlay(image: np.ndarray, scores: np.ndarray, signed: bool, alpha: float = 0.6) -> np.ndarray:
    """The heatmap blended over a greyed copy of the image: where the model looked.

    Blending weight grows with ``|score|``, so unimportant pixels show the image itself.
    """
    grey = image.astype(np.float64).mean(axis=2, keepdims=True).repeat(3, axis=2)
    colors = heatmap_colors(scores, signed).astype(np.float64)
    values = np.abs(np.asarray(scores, dtype=np.float64))
    strength = np.clip(values / (np.percentile(values, 99) or values.max() or 1.0), 0, 1)
    weight = alpha * strength[..., None]
    return ((1 - weight) * grey + weight * colors).round().astype(np.uint8)


def explanation_panels(explanation: Any, scale: int = 4) -> np.ndarray:
    """Image | heatmap | overlay side by side for one :class:`ImageExplanation`."""
    e = explanation
    parts = [e.image, heatmap_colors(e.scores, e.signed), overlay(e.image, e.scores, e.signed)]
    gap = np.full((e.image.shape[0], 2, 3), 255, dtype=np.uint8)
    row = np.concatenate([parts[0], gap, parts[1], gap, parts[2]], axis=1)
    return upscale(row, scale)


def overlay_png(explanation: Any, scale: int = 4, panels: bool = True) -> bytes:
    """PNG of an explanation: the three panels, or only the overlay."""
    e = explanation
    image = (
        explanation_panels(e, scale)
        if panels
        else upscale(overlay(e.image, e.scores, e.signed), scale)
    )
    return png_bytes(image)


def grid(
    images: list[np.ndarray],
    columns: int = 8,
    size: int = 56,
    captions: list[str] | None = None,
    pad: int = 4,
) -> np.ndarray:
    """Images (any sizes) resized to ``size`` and laid out ``columns`` wide on white, each
    with an optional caption under it (PIL's default font; ``"\n"`` starts another line,
    each line cut to what fits under the tile: about ``size / 6`` characters)."""
    from PIL import Image, ImageDraw

    n = max(1, len(images))
    rows = (n + columns - 1) // columns
    lines = max((str(c).count("\n") + 1 for c in captions or []), default=0)
    text_h = 12 * lines
    cell_w, cell_h = size + pad, size + pad + text_h
    sheet = Image.new("RGB", (columns * cell_w + pad, rows * cell_h + pad), "white")
    draw = ImageDraw.Draw(sheet)
    for i, image in enumerate(images):
        tile = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).resize(
            (size, size),
            Image.Resampling.NEAREST if image.shape[0] <= size else Image.Resampling.BILINEAR,
        )
        x, y = pad + (i % columns) * cell_w, pad + (i // columns) * cell_h
        sheet.paste(tile, (x, y))
        if captions:  # one line per "\n", each cut to what fits under the tile
            for k, line in enumerate(str(captions[i]).split("\n")):
                draw.text((x, y + size + 1 + 12 * k), line[: max(4, size // 6)], fill="black")
    return np.asarray(sheet)


def grid_png(images: list[np.ndarray], **options: Any) -> bytes:
    """PNG of :func:`grid`."""
    return png_bytes(grid(images, **options))
