"""LeCam regularisation (Tseng et al. 2021, "Regularizing Generative Adversarial Networks under
Limited Data"): D is kept from drifting far from its own recent verdicts.

Exponential moving averages of D's mean output on real and on fake images are kept (decay
`lecam_decay`), and D's loss gains `lecam_weight * (||D(x) - ema_fake||^2 + ||D(G(z)) -
ema_real||^2)` (means over the batch), on the raw outputs the adversarial loss sees. It bounds
the game's LeCam divergence and helps most where paintings are few. The averages are taken over
all ranks, so every rank keeps the same ones, and are checkpointed (`lecam_ema`). Off by default
(`lecam_weight` 0); the paper uses weights of 0.1 to 0.3 with DiffAugment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from artstyle.gan.terms.base import Batch, Term

if TYPE_CHECKING:
    from artstyle.gan.train import Run


class LeCam(Term):
    name = "lecam"
    section = "lecam"
    log_fields = ("lecam",)

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        #: the moving averages of D's mean output on real and fake images (None: no step yet)
        self.ema: tuple[float, float] | None = None

    def d_loss(self, batch: Batch) -> torch.Tensor:
        world, device = self.run.world, self.run.device
        real = world.mean(float(batch.d_real.detach().mean()), device)
        fake = world.mean(float(batch.d_fake.detach().mean()), device)
        if self.ema is None:  # start from the first verdicts, not from 0
            self.ema = (real, fake)
        keep = self.config.lecam.decay
        self.ema = (keep * self.ema[0] + (1 - keep) * real, keep * self.ema[1] + (1 - keep) * fake)
        ema_real, ema_fake = self.ema
        penalty = (batch.d_real - ema_fake).pow(2).mean() + (batch.d_fake - ema_real).pow(2).mean()
        batch.stats["lecam"] = float(penalty.detach())
        return self.config.lecam.weight * penalty

    def state(self) -> dict[str, torch.Tensor]:
        if self.ema is None:
            return {}
        return {"lecam_ema": torch.tensor(self.ema, dtype=torch.float64)}

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        # a run that turned LeCam on when resumed starts its averages afresh
        if "lecam_ema" in tensors:
            real, fake = tensors["lecam_ema"].tolist()
            self.ema = (real, fake)
