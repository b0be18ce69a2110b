"""A style transfer's progress: its snapshots and loss history, as frames and a curve."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageOps

from artstyle.errors import ArtstyleError
from artstyle.figures import figure
from artstyle.folder import SNAPSHOT_NAME
from artstyle.images import (
    ImageSource,
    find_images,
    label_font,
    load_image,
)

# --- style-transfer progress -------------------------------------------------------------------


def find_intermediates(path: str | Path) -> tuple[list[Path], list[int]]:
    """The `<stem>_stepNNNN` images `artstyle transfer --save-every` wrote, sorted by step.

    `path` is the final image (`out/photo_stylized.png`) or a folder holding one such series.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if not folder.is_dir():
        raise ArtstyleError(f"{path}: no such file or folder")
    series: dict[str, list[tuple[int, Path]]] = {}
    for file in find_images([folder]):
        match = SNAPSHOT_NAME.match(file.stem)
        if match and file.parent == folder:
            series.setdefault(match["stem"], []).append((int(match["step"]), file))
    if not path.is_dir():
        series = {k: v for k, v in series.items() if k == path.stem}
    if not series:
        raise ArtstyleError(
            f"{path}: no intermediate images (<name>_stepNNNN); "
            "run `artstyle transfer` with --save-every"
        )
    if len(series) > 1:
        raise ArtstyleError(
            f"{folder}: holds several series ({', '.join(sorted(series))}); give the final image"
        )
    found = sorted(next(iter(series.values())))
    return [p for _, p in found], [s for s, _ in found]


def read_history(path: str | Path) -> list[dict[str, float]]:
    """A loss history CSV (one row per step; a header naming the loss terms, `step` optional)."""
    path = Path(path)
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        history = [{k: float(v) for k, v in row.items() if k != "step"} for row in rows]
    except (OSError, ValueError) as exc:
        raise ArtstyleError(f"{path}: cannot read the loss history ({exc})") from None
    if not history:
        raise ArtstyleError(f"{path}: the loss history is empty")
    return history


def loss_curve(history: Sequence[Mapping[str, float]]) -> Figure:
    """Each loss term per step; a log scale when all are positive (style starts orders higher)."""
    fig = figure(figsize=(5, 3.2))
    ax = fig.subplots()
    steps = np.arange(1, len(history) + 1)
    for key in history[0]:
        ax.plot(steps, [h[key] for h in history], label=key, lw=1.2)
    if all(v > 0 for h in history for v in h.values()):
        ax.set_yscale("log")
    ax.set_xlabel("step (loss evaluation)")
    ax.set_title("style-transfer losses", fontsize=10)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def progress_frames(
    images: Sequence[ImageSource],
    steps: Sequence[int],
    history: Sequence[Mapping[str, float]] | None = None,
    *,
    size: int = 320,
) -> list[Image.Image]:
    """GIF frames: each intermediate image (longest side `size`) with its step, beside the loss
    curve with a line at that step when `history` is given."""
    if len(images) != len(steps):
        raise ArtstyleError(f"{len(images)} images but {len(steps)} step numbers")
    curve = None
    if history:
        fig = loss_curve(history)
        fig.set_size_inches(size * 1.5 / 100, size / 100)
        fig.canvas.draw()
        ax = fig.axes[0]
        to_x = [ax.transData.transform((s, 1))[0] for s in steps]
        y0, y1 = ax.bbox.y0, ax.bbox.y1
        curve = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())  # type: ignore[attr-defined]
    frames = []
    font = label_font(max(10, size // 20))
    for k, (source, step) in enumerate(zip(images, steps)):
        picture = ImageOps.contain(load_image(source), (size, size), Image.Resampling.LANCZOS)
        width, height = picture.size
        if curve is not None:
            width, height = width + curve.width, max(height, curve.height)
        frame = Image.new("RGB", (width, height), "white")
        frame.paste(picture, (0, 0))
        draw = ImageDraw.Draw(frame)
        draw.text(
            (4, 2), f"step {step}", fill="white", font=font, stroke_width=2, stroke_fill="black"
        )
        if curve is not None:
            frame.paste(curve, (picture.width, 0))
            x = picture.width + to_x[k]
            draw.line((x, curve.height - y1, x, curve.height - y0), fill=(220, 30, 30), width=2)
        frames.append(frame)
    return frames
