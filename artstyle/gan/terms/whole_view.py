"""A second discriminator that judges whole samples the way a viewer (and Inception KID) sees them.

The main discriminator only ever sees `image_size` patches of the paintings at the scale the style
stage reads them, so nothing in the game judges how a whole `sample_size` sample hangs together:
one palette, one kind of brushwork, shapes that read at a glance. This one sees each sample
shrunk to `image_size` (the whole picture at half scale) beside the whole paintings shrunk alike,
and its verdict joins the generator's loss with weight `whole_weight`. It trains on the samples
the Gram loss draws anyway (`Batch.samples`), so it costs one small discriminator step, taken
inside G's part of the step (`WholeView.g_loss`), with the main loss and label smoothing.

With `whole_discriminator = "projected"` (the default) the judge is a discriminator on frozen
ImageNet features (`gan.projected`) and sees the whole samples at their own size, the scale the
style stage reads them at, beside the whole paintings at that size: what a pretrained network
tells apart there (composition, contours, flat colour areas, strokes) is a signal from the first
step instead of something a from-scratch discriminator must first discover on a few hundred
paintings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from artstyle.gan import checkpoint
from artstyle.gan.augment import diff_augment
from artstyle.gan.data import PaintingSet, training_batch
from artstyle.gan.models import build_discriminator, init_weights
from artstyle.gan.projected import ProjectedDiscriminator
from artstyle.gan.terms.base import Batch, Term
from artstyle.images import resample
from artstyle.precision import scaled_step

if TYPE_CHECKING:
    from artstyle.config import TrainConfig
    from artstyle.gan.train import Run


def whole_paintings(data: PaintingSet, size: int) -> torch.Tensor:
    """Each painting's centre square at side `size`: (N, 3, size, size) uint8."""
    out = []
    for img in data.paintings():
        h, w = img.shape[1:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = img[None, :, top : top + side, left : left + side].float().div(255)
        out.append(resample(square, size, size)[0].mul(255).round().to(torch.uint8))
    return torch.stack(out)


def shrink(samples: torch.Tensor, size: int) -> torch.Tensor:
    """Samples (-1..1) brought to `size` px by area averaging: differentiable and alias-free."""
    return F.interpolate(samples, size=(size, size), mode="area")


class WholeView(Term):
    """The whole-view discriminator `dw` with its optimiser (checkpoint: `dw.*`, `opt_dw.*`)."""

    name = "whole_view"
    section = "whole_view"
    log_fields = ("whole_fake",)

    @classmethod
    def active(cls, config: TrainConfig) -> bool:
        return config.whole_view_weight > 0

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self.net = run.place(self._build())
        self.dw = run.world.wrap(self.net, run.device, self.config.run.sync_bn)
        self.opt = run.adam(self.dw, self.config.optim.lr_d)
        self.wholes = whole_paintings(run.data, self.config.whole_size)

    def _build(self) -> torch.nn.Module:
        cfg = self.config
        if cfg.whole_view.discriminator == "dcgan":
            return build_discriminator(cfg)
        d = ProjectedDiscriminator(cfg.whole_size, cfg.networks.d_slope, cfg.optim.seed + 1)
        d.apply(init_weights)  # the heads; the frozen features are not submodules
        return d

    def draw(self, batch: Batch, index: torch.Tensor, mine: slice) -> None:
        """The batch's whole paintings, flipped as the patches are, as many as the samples
        they are compared with."""
        wholes = training_batch(self.wholes[index], self.config.data.flip)[mine][
            : self.run.n_samples()
        ]
        batch.inputs[self.name] = wholes.to(self.run.device, memory_format=self.run.memory_format)

    def g_loss(self, batch: Batch) -> torch.Tensor:
        run, cfg, loss, policy = (
            self.run,
            self.config,
            self.run.loss,
            self.config.whole_view.diffaugment,
        )
        view = shrink(batch.samples(), cfg.whole_size)
        self.dw.requires_grad_(True)
        with run.amp():
            dw_fake = self.dw(diff_augment(view.detach(), policy)).float()
            dw_real = self.dw(diff_augment(batch.inputs[self.name], policy)).float()
        scaled_step(run.scaler, self.opt, loss.d(dw_real, dw_fake, batch.label))
        self.net.requires_grad_(False)
        with run.amp():
            dw_gen = self.net(diff_augment(view, policy)).float()
        batch.stats["whole_fake"] = loss.score(dw_fake)
        return cfg.whole_view_weight * loss.g(dw_gen)

    def state(self) -> dict[str, torch.Tensor]:
        return {
            **checkpoint.module_tensors(self.net, "dw"),
            **checkpoint.optimizer_tensors(self.opt, "opt_dw"),
        }

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        checkpoint.load_module(self.net, tensors, "dw")
        checkpoint.load_optimizer(self.opt, tensors, "opt_dw")
