"""The grid penalty as a training term (`grid.weight`; the profile itself: `gan.grid`).

G's loss gains `grid.weight` times `grid_loss` of the step's generated patches: their edges are
pulled towards equal strength at every phase of the 16-px cell grid, as the paintings' are.
Every patch starts on a cell, so the phases line up across the batch and 64 patches give a
steady profile. The log's `grid_contrast` is that of the step's patches (1 = no grid). Settling
(`gan.settle`) adds the same penalty to its Gram loss.
"""

from __future__ import annotations

import torch

from artstyle.gan.grid import grid_contrast, grid_loss
from artstyle.gan.terms.base import Batch, Term


class GridPenalty(Term):
    name = "grid"
    section = "grid"
    log_fields = ("grid_contrast",)

    def g_loss(self, batch: Batch) -> torch.Tensor:
        batch.stats["grid_contrast"] = grid_contrast(batch.fake.detach())
        return self.config.grid.weight * grid_loss(batch.fake)
