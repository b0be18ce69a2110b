"""WGAN-GP's gradient penalty (Gulrajani et al. 2017): on for a loss that asks for it (`wgan-gp`).

D's loss gains `gp_weight * (||grad D(x_hat)|| - 1)^2` on random mixes `x_hat` of real and fake
images (the norm in fp32); such a loss also gets a discriminator without BatchNorm
(`gan.models`), whose batch statistics the per-sample penalty breaks.
"""

from __future__ import annotations

import torch
from torch import nn

from artstyle.config import TrainConfig
from artstyle.gan.losses import get_loss
from artstyle.gan.terms.base import Batch, Term


def gradient_penalty(d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 on random mixes of real and fake images (the norm in
    fp32)."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(d(mix).float().sum(), mix, create_graph=True)
    return ((grad.float().flatten(1).norm(dim=1) - 1) ** 2).mean()


class GradientPenalty(Term):
    name = "gradient_penalty"
    section = "gradient_penalty"

    @classmethod
    def active(cls, config: TrainConfig) -> bool:
        return get_loss(config.optim.loss).gradient_penalty

    def d_loss(self, batch: Batch) -> torch.Tensor:
        with self.run.amp():
            penalty = gradient_penalty(self.run.d, batch.real, batch.fake.detach())
        return self.config.gradient_penalty.weight * penalty
