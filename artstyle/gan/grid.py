"""The pixel grid a generator paints on, measured and penalised through one profile.

The texture generator's noise cells are 16 px and each of its doublings repeats pixels, so it can
print a grid: 2 x 2 blocks, or edges stepped at 2, 4, 8 and 16 px. `phase_profile` is the mean
luminance step between neighbouring pixels at each phase of a `GRID_PERIOD`-px grid, across
columns and across rows. A painting has no grid, so its profile is flat (64 paintings: within
6 %). `grid_contrast` reads it as one figure (largest phase over smallest; 1 = no grid), and
`grid_loss` is a generator loss that flattens it.

Neither the adversarial game nor Gram matching stops the grid: a Gram matrix averages over
positions, so it cannot tell the phase of an edge, and a periodic weave is the generator's
cheapest way to supply the fine grain the paintings' Gram matrices ask for (docs/gan.md, "Grid
contrast").
"""

from __future__ import annotations

import torch

from artstyle.errors import ArtstyleError

#: Period (px) of the grid a generator paints on: the texture generator's noise cells, whose
#: doublings step edges at 2, 4, 8 and 16 px (the DCGAN's 4 x 4 start at 64 px alike).
GRID_PERIOD = 16

_LUMA = (0.299, 0.587, 0.114)


def phase_profile(images: torch.Tensor, period: int = GRID_PERIOD) -> torch.Tensor:
    """(2, period): the mean absolute luminance step at each phase, across columns (row 0) and
    across rows (row 1), each divided by its mean. Any value range (uint8, 0..1, -1..1);
    differentiable for float images. The step between pixel j and j+1 lies on phase
    (j + 1) % period."""
    x = images.float()
    luma = torch.einsum("nchw,c->nhw", x, x.new_tensor(_LUMA))
    if min(luma.shape[-2:]) <= period:
        raise ArtstyleError(f"a grid's profile needs images of at least {period + 1} px")
    rows = []
    for steps in (luma.diff(dim=2).abs().mean(dim=(0, 1)), luma.diff(dim=1).abs().mean(dim=(0, 2))):
        phase = torch.arange(1, len(steps) + 1, device=steps.device) % period
        totals = steps.new_zeros(period).index_add(0, phase, steps)
        counts = steps.new_zeros(period).index_add(0, phase, torch.ones_like(steps))
        profile = totals / counts
        rows.append(profile / profile.mean().clamp_min(1e-12))
    return torch.stack(rows)


def grid_contrast(images: torch.Tensor, period: int = GRID_PERIOD) -> float:
    """The strongest phase's step over the weakest's, columns and rows together: 1 for images
    without a grid (paintings: about 1.05), higher the more a grid shows."""
    profile = phase_profile(images, period).mean(dim=0)
    return float(profile.max() / profile.min().clamp_min(1e-12))


def grid_loss(images: torch.Tensor, period: int = GRID_PERIOD) -> torch.Tensor:
    """The mean squared departure of the profile from flat: 0 without a grid; about 0.1 for
    v10's impressionism samples (2 x 2 blocks), 0.001 or less for the paintings."""
    return (phase_profile(images, period) - 1).pow(2).mean()
