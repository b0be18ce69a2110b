"""Latent walks and vector arithmetic (Radford et al.; Beyers & Loane fig. 4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from PIL import Image

from artstyle.errors import ArtstyleError
from artstyle.explore.views import pick, show
from artstyle.figures import figure
from artstyle.gan import StyleGenerator
from artstyle.images import (
    image_grid,
    to_pil,
)

Interpolation = Literal["slerp", "lerp"]


# --- latent interpolation ----------------------------------------------------------------------


def interpolate(
    z0: torch.Tensor, z1: torch.Tensor, steps: int, mode: Interpolation = "slerp"
) -> torch.Tensor:
    """`steps` latents from `z0` to `z1` (both included, exactly), linear or spherical.

    Spherical interpolation keeps the norm typical of N(0, I) samples on the way; a straight line
    passes through lower-norm points the generator rarely saw (White 2016).
    """
    if steps < 2:
        raise ArtstyleError("an interpolation needs at least 2 steps")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]
    path = (1 - t) * z0 + t * z1
    if mode == "slerp":
        cos = F.cosine_similarity(z0, z1, dim=0).clamp(-1, 1)
        omega = torch.arccos(cos)
        if torch.sin(omega) > 1e-6:  # nearly parallel vectors: the straight line is the arc
            path = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    elif mode != "lerp":
        raise ArtstyleError(f"unknown interpolation {mode!r}: use slerp or lerp")
    path[0], path[-1] = z0, z1
    return path


def walk_latents(starts: torch.Tensor, steps: int, mode: Interpolation = "slerp") -> torch.Tensor:
    """(R, steps, D): row r walks from start r to start r+1, the last row back to the first."""
    if len(starts) < 2:
        raise ArtstyleError("an interpolation grid needs at least 2 samples to walk between")
    return torch.stack(
        [interpolate(z, starts[(r + 1) % len(starts)], steps, mode) for r, z in enumerate(starts)]
    )


def interpolation_frames(
    gen: StyleGenerator,
    rows: Sequence[int],
    steps: int = 8,
    *,
    seed: int = 0,
    count: int = 64,
    mode: Interpolation = "slerp",
) -> torch.Tensor:
    """Images (R, steps, 3, S, S) of the walk between the latents `rows` (Beyers & Loane fig. 4);
    a texture generator decodes the whole walk on one fixed noise map, so only z changes."""
    walk = walk_latents(pick(gen.latents(count, seed), rows), steps, mode)
    return gen.decode(walk.flatten(0, 1)).unflatten(0, walk.shape[:2])


def interpolation_grid(
    gen: StyleGenerator,
    rows: Sequence[int],
    steps: int = 8,
    *,
    seed: int = 0,
    count: int = 64,
    mode: Interpolation = "slerp",
    scale: int = 1,
) -> Image.Image:
    """One row per walk; the first and last tile of each row carry their sample index."""
    frames = interpolation_frames(gen, rows, steps, seed=seed, count=count, mode=mode)
    labels = []
    for r, start in enumerate(rows):
        labels += [str(start)] + [""] * (steps - 2) + [str(rows[(r + 1) % len(rows)])]
    return image_grid(frames.flatten(0, 1), steps, labels=labels, scale=scale)


def interpolation_gif(
    gen: StyleGenerator,
    rows: Sequence[int],
    steps: int = 16,
    *,
    seed: int = 0,
    count: int = 64,
    mode: Interpolation = "slerp",
    size: int = 256,
) -> list[Image.Image]:
    """Frames of the closed walk through `rows` and back to the first, upscaled to `size` px
    (nearest neighbour: crisp pixels, and a GIF about half the size of a smooth resize)."""
    frames = interpolation_frames(gen, rows, steps, seed=seed, count=count, mode=mode)
    loop = frames[:, :-1].flatten(0, 1)  # a row's last frame is the next row's first
    return [to_pil(f).resize((size, size), Image.Resampling.NEAREST) for f in loop]


# --- vector arithmetic -------------------------------------------------------------------------


def arithmetic_latents(
    z: torch.Tensor, a: Sequence[int], b: Sequence[int], cs: Sequence[Sequence[int]]
) -> torch.Tensor:
    """(len(cs), D): mean(z_a) - mean(z_b) + mean(z_c) for each concept c (Radford et al.)."""
    if not cs:
        raise ArtstyleError("vector arithmetic needs at least one c")
    offset = pick(z, a).mean(0) - pick(z, b).mean(0)
    return torch.stack([offset + pick(z, c).mean(0) for c in cs])


def _concept_name(indices: Sequence[int]) -> str:
    return "+".join(map(str, indices)) if len(indices) <= 3 else f"{len(indices)} samples"


def arithmetic_figure(
    gen: StyleGenerator,
    a: Sequence[int],
    b: Sequence[int],
    cs: Sequence[Sequence[int]],
    *,
    seed: int = 0,
    count: int = 64,
) -> Figure:
    """G(a - b + c): rows A and B show each concept's samples and their average, then one row per
    c reads A - B + C = result."""
    z = gen.latents(count, seed)
    results = gen.decode(arithmetic_latents(z, a, b, cs))
    concepts = {"A": a, "B": b}
    mean = {k: gen.decode(pick(z, idx).mean(0, keepdim=True))[0] for k, idx in concepts.items()}
    cols = max(len(a) + 1, len(b) + 1, 4)
    fig = figure(figsize=(1.3 * cols, 1.45 * (2 + len(cs))))
    axes = fig.subplots(2 + len(cs), cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for row, (name, idx) in enumerate(concepts.items()):
        for col, image in enumerate(gen.decode(pick(z, idx))):
            show(axes[row, col], image, f"{name}: #{idx[col]}")
        show(axes[row, len(idx)], mean[name], f"{name} = mean")
    for row, (c, result) in enumerate(zip(cs, results), start=2):
        c_image = gen.decode(pick(z, c).mean(0, keepdim=True))[0]
        show(axes[row, 0], mean["A"], "A")
        show(axes[row, 1], mean["B"], "- B")
        show(axes[row, 2], c_image, f"+ C (#{_concept_name(c)})")
        show(axes[row, 3], result, "= A - B + C")
    return fig
