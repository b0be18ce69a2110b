"""GAN losses as small objects registered by name: adding one is one `register` call here (or in
your own code, before training), never an edit of the training loop.

A loss gets D's raw outputs (logits or critic scores) for real and fake images. The training step
asks it for D's loss, G's loss, what to log as D(x), and whether it needs a gradient penalty (and
so a discriminator without BatchNorm, whose per-batch statistics the per-sample penalty breaks).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from artstyle.gan.registry import Registry


@dataclass(frozen=True)
class GanLoss:
    """One adversarial objective. Subclass and `register` it to add another."""

    name: str
    #: WGAN-GP style: the caller adds `gp_weight * gradient_penalty`, and D has no BatchNorm
    gradient_penalty: bool = False

    def d(self, real: torch.Tensor, fake: torch.Tensor, real_label: float) -> torch.Tensor:
        """D's loss on its outputs for real and fake images (`real_label`: label smoothing)."""
        raise NotImplementedError

    def g(self, fake: torch.Tensor) -> torch.Tensor:
        """G's loss on D's outputs for fake images."""
        return -fake.mean()

    def score(self, outputs: torch.Tensor) -> float:
        """D(x) as logged: the raw critic score unless the loss reads outputs as logits."""
        return float(outputs.detach().mean())


@dataclass(frozen=True)
class BCE(GanLoss):
    """The DCGAN's: binary cross-entropy on logits, non-saturating for G."""

    def d(self, real: torch.Tensor, fake: torch.Tensor, real_label: float) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(
            real, torch.full_like(real, real_label)
        ) + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))

    def g(self, fake: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))

    def score(self, outputs: torch.Tensor) -> float:
        return float(torch.sigmoid(outputs.detach()).mean())


@dataclass(frozen=True)
class Hinge(GanLoss):
    """The hinge loss of SAGAN / BigGAN."""

    def d(self, real: torch.Tensor, fake: torch.Tensor, real_label: float) -> torch.Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


@dataclass(frozen=True)
class Wasserstein(GanLoss):
    """WGAN-GP's critic loss; the gradient penalty is added by the training step."""

    def d(self, real: torch.Tensor, fake: torch.Tensor, real_label: float) -> torch.Tensor:
        return fake.mean() - real.mean()


#: The losses `TrainConfig(loss=NAME)` / `--set optim.loss=NAME` can name.
LOSSES: Registry[GanLoss] = Registry("GAN loss")
register, get_loss = LOSSES.register, LOSSES.find


for _loss in (BCE("bce"), Hinge("hinge"), Wasserstein("wgan-gp", gradient_penalty=True)):
    register(_loss)
