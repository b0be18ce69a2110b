"""A second discriminator that judges whole samples the way a viewer (and Inception KID) sees them.

The main discriminator only ever sees `image_size` patches of the paintings at the scale the style
stage reads them, so nothing in the game judges how a whole `sample_size` sample hangs together:
one palette, one kind of brushwork, shapes that read at a glance. This one sees each sample
shrunk to `image_size` (the whole picture at half scale) beside the whole paintings shrunk alike,
and its verdict joins the generator's loss with weight `whole_weight`. It trains on the samples
the Gram loss draws anyway, so it costs one small discriminator step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from artstyle.gan.data import PaintingSet
from artstyle.images import resample


def whole_paintings(data: PaintingSet) -> torch.Tensor:
    """Each painting's centre square shrunk to `image_size`: (N, 3, S, S) uint8."""
    s, out = data.image_size, []
    for img in data.paintings():
        h, w = img.shape[1:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        square = img[None, :, top : top + side, left : left + side].float().div(255)
        out.append(resample(square, s, s)[0].mul(255).round().to(torch.uint8))
    return torch.stack(out)


def shrink(samples: torch.Tensor, size: int) -> torch.Tensor:
    """Samples (-1..1) brought to `size` px by area averaging: differentiable and alias-free."""
    return F.interpolate(samples, size=(size, size), mode="area")
