"""Gram feature matching as a training term (`gram_weight`; the loss itself: `gan.gram_match`).

G's loss gains `gram_weight` times the Gram loss of the step's whole samples (`Batch.samples`);
the running mean of their Gram matrices is checkpointed (`gram_running.*`), the targets are
recomputed from the paintings. Settling (`gan.settle`) reuses the same `GramMatch`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from artstyle.gan.gram_match import GramMatch, matched_layers
from artstyle.gan.terms.base import Batch, Term

if TYPE_CHECKING:
    from artstyle.gan.train import Run


class GramMatching(Term):
    name = "gram"
    section = "gram"
    log_fields = ("gram_error",)

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        layers = matched_layers(self.config.gram.layers)
        self.match = GramMatch(run.data.paintings(), run.device, layers)
        self.weight = float(self.config.gram.weight or 0)

    def g_loss(self, batch: Batch) -> torch.Tensor:
        samples = batch.samples()
        with self.run.amp():  # the Gram matrices and the loss are summed in fp32
            loss, batch.stats["gram_error"] = self.match.loss(samples)
        return self.weight * loss

    def state(self) -> dict[str, torch.Tensor]:
        return self.match.state()

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.match.load_state(tensors)
