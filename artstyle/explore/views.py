"""Writing views, and the indexed sample grid every other view refers to."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image

from artstyle.atomic import atomic_path
from artstyle.errors import ArtstyleError, OutputError
from artstyle.gan import StyleGenerator
from artstyle.images import (
    image_grid,
    write_image,
)

View = Image.Image | list[Image.Image] | Figure


# --- writing -----------------------------------------------------------------------------------


def save(view: View, path: str | Path, *, fps: float = 10, dpi: int = 100) -> Path:
    """Write a view atomically: frames as an animated GIF, a figure or image by its suffix."""
    path = Path(path)
    if isinstance(view, list):
        if path.suffix.lower() != ".gif":
            raise OutputError(f"{path}: an animation is written as .gif")
        with atomic_path(path) as tmp:
            _write_gif(view, tmp, fps)
    elif isinstance(view, Figure):
        if path.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise OutputError(f"{path}: a figure is written as .png, .svg or .pdf")
        with atomic_path(path) as tmp:
            view.savefig(tmp, format=path.suffix.lower()[1:], dpi=dpi)
    else:
        write_image(view, path)
    return path


def _write_gif(frames: Sequence[Image.Image], target: str | Path | io.BytesIO, fps: float) -> None:
    """An endlessly looping GIF; each frame gets its own palette (Pillow's adaptive default)."""
    if not frames:
        raise ArtstyleError("no frames to animate")
    duration = max(20, round(1000 / fps))
    frames[0].save(
        target,
        format="GIF",
        save_all=True,
        append_images=list(frames[1:]),
        duration=duration,
        loop=0,
        optimize=False,
    )


def to_png(view: View, *, dpi: int = 100) -> tuple[bytes, str]:
    """The bytes and MIME type of a view, for embedding (a figure is closed afterwards)."""
    buf = io.BytesIO()
    if isinstance(view, list):
        _write_gif(view, buf, fps=10)
        return buf.getvalue(), "image/gif"
    if isinstance(view, Figure):
        view.savefig(buf, format="png", dpi=dpi)
    else:
        view.save(buf, format="PNG")
    return buf.getvalue(), "image/png"


# --- picking samples ---------------------------------------------------------------------------


def pick(z: torch.Tensor, indices: Sequence[int]) -> torch.Tensor:
    """Rows `indices` of the latents `z`; an index outside the grid is a one-line error."""
    if not indices:
        raise ArtstyleError("no sample indices given")
    bad = [i for i in indices if not 0 <= i < len(z)]
    if bad:
        raise ArtstyleError(
            f"sample index {bad[0]} is out of range: the grid has {len(z)} samples "
            f"(0..{len(z) - 1}); raise --count or pick from `artstyle explore grid`"
        )
    return z[list(indices)]


def sample_grid(
    gen: StyleGenerator,
    count: int = 64,
    seed: int = 0,
    *,
    cols: int = 8,
    scale: int = 1,
    labels: bool = True,
) -> Image.Image:
    """`count` samples with their indices in a corner: the numbers the other views take."""
    if count < 1:
        raise ArtstyleError("--count must be at least 1")
    images = gen.sample(count, seed)
    return image_grid(
        images, cols, labels=[str(i) for i in range(count)] if labels else None, scale=scale
    )


def show(ax: Axes, image: torch.Tensor | np.ndarray, title: str, **kwargs: Any) -> None:
    """One panel: an image (tensor 3xHxW in 0..1 or an array) with a small title, no ticks."""
    if isinstance(image, torch.Tensor):
        image = image.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    ax.imshow(image, interpolation="nearest", **kwargs)
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()
