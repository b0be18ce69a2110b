"""Content, batch-Gram style and total-variation losses.

Normalisation (why `style_weight=5e4, content_weight=1` is balanced): features are divided by the
backbone's feature unit (`VGGFeatures.unit`: 255 for the Caffe weights, whose input is 0..255), so
they are measured per unit of the 0..1 input whichever weights are used; a Gram matrix is
`F F^T / (C H W)` as in the PyTorch tutorial; content and style losses are mean squared errors.
The style loss is summed over its layers. In these units a style layer's Gram MSE between a photo
and a painting is ~1e-5 and the content MSE of a clearly changed photo ~0.1-1, so 5e4 puts the two
terms on the same scale (see docs/style_transfer.md for the pictures).

The batch style loss of one layer is the seed's `(1/m) sum_i MSE(G_i, G(X))`, computed as
`MSE(mean_i G_i, G(X)) + (1/m) sum_i MSE(G_i, mean_i G_i)`: the second term does not depend on X,
so it is computed once, and a step costs one Gram per layer whatever m is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from artstyle.backbone import gram, product_sum


class _MeanSquaredError(torch.autograd.Function):
    """Mean squared difference of each (C, H, W) pair (B,), in fp32 whatever their dtype.

    Autograd's own gradient of `(x - t).pow(2).mean(...)` takes several passes over the
    features, one of them a broadcasting multiply that is slow on channels_last maps, and keeps
    the fp32 difference; this one keeps nothing new, and its gradient, `2 (x - t) g / n` in
    autograd's order of operations, is the same to the bit."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, target)
        return (x.float() - target.float()).pow(2).mean((1, 2, 3))

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        x, target = ctx.saved_tensors
        difference = x.float() - target.float()
        slope = grad.view(-1, 1, 1, 1) / difference[0].numel()
        return difference.mul_(2 * slope).to(x.dtype), None


def content_loss(features: torch.Tensor, target: torch.Tensor, unit: float = 1.0) -> torch.Tensor:
    """MSE between each output's and its photo's features, in units of the 0..1 input: (B,);
    summed in fp32 whatever the features' dtype (`_MeanSquaredError`)."""
    result = _MeanSquaredError.apply(features, target)
    assert isinstance(result, torch.Tensor)
    return result / unit**2


def temporal_loss(image: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Ruder et al. (2016)'s short-term temporal loss of each image (B,): the squared distance
    to `target` (the previous painted frame warped onto this one) where `mask` (1, 1, H, W)
    trusts the flow, averaged over all values as in the paper's 1/D."""
    return (mask * (image - target).pow(2)).flatten(1).mean(1)


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels, per image (B,): smooths noise."""
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs().flatten(1).mean(1)
    return dy + (image[..., :, 1:] - image[..., :, :-1]).abs().flatten(1).mean(1)


@dataclass(frozen=True)
class GramTarget:
    """One style layer's target: the blended mean Gram and the batch's own spread around it."""

    mean: torch.Tensor  # (C, C)
    spread: float  # sum_i w_i MSE(G_i, mean): the part of the seed's loss X cannot change
    weight: float = 1.0


def gram_targets(
    batches: Iterable[tuple[Sequence[torch.Tensor], torch.Tensor]],
    layer_weights: Sequence[float],
    unit: float = 1.0,
) -> list[GramTarget]:
    """Stream over (features per layer, blend weight per image) batches into `GramTarget`s.

    Blend weights are normalised to sum to one; sums run in float64 so that the spread, a
    difference of two large sums, keeps its precision.
    """
    sums: list[torch.Tensor] = []
    squares: list[torch.Tensor] = []
    total = torch.zeros((), dtype=torch.float64)
    for features, blend in batches:
        w = blend.to(torch.float64)
        total = total + w.sum()
        for layer, f in enumerate(features):
            g = gram(f, unit).to(torch.float64)
            weighted = torch.einsum("b,bij->ij", w.to(g.device), g)
            square = (w.to(g.device) * g.pow(2).sum(dim=(1, 2))).sum()
            if layer == len(sums):
                sums.append(weighted)
                squares.append(square)
            else:
                sums[layer] = sums[layer] + weighted
                squares[layer] = squares[layer] + square
    if not sums or total <= 0:
        raise ValueError("the style batch is empty or its blend weights sum to zero")
    targets = []
    for s, sq, lw in zip(sums, squares, layer_weights, strict=True):
        mean = s / total.to(s.device)
        spread = (sq / total.to(sq.device) - mean.pow(2).sum()) / mean.numel()
        targets.append(GramTarget(mean.float(), max(float(spread), 0.0), float(lw)))
    return targets


def style_term(
    g: torch.Tensor, target: GramTarget, weight: float | torch.Tensor | None = None
) -> torch.Tensor:
    """One style layer's term of the seed's batch style loss, one value per Gram matrix of `g`
    (..., C, C): `weight * (MSE(g, target.mean) + target.spread)`. The weight is the layer's own
    unless given (regions and tiles fold a region's share into it). The one place the term is
    written: whole images, regions and tiles all call it."""
    w = target.weight if weight is None else weight
    return w * ((g - target.mean).pow(2).mean(dim=(-2, -1)) + target.spread)


def style_loss(
    features: Sequence[torch.Tensor], targets: Sequence[GramTarget], unit: float = 1.0
) -> torch.Tensor:
    """The seed's batch style loss of each image (B,), summed over layers with their weights
    (one Gram per layer and image)."""
    loss = features[0].new_zeros(features[0].shape[0], dtype=torch.float32)
    for f, target in zip(features, targets, strict=True):
        loss = loss + style_term(gram(f, unit), target)
    return loss


def region_style_loss(
    features: Sequence[torch.Tensor],
    masks: Sequence[torch.Tensor],
    styles: Sequence[tuple[Sequence[GramTarget] | None, float]],
    unit: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Guided Gram style loss (Gatys et al. 2017; `artstyle.nst.regions` says why these weights).

    `masks`: per style layer the region channels at its grid (1 or B, K, h, w), summing to one;
    `styles`: per region its targets (None: no style there) and weight. Returns the loss of each
    image (B,), each region's loss weighted by its share of the positions and its weight, and the
    unweighted loss of each region against its own targets (B, K) (0 for a region without)."""
    batch = features[0].shape[0]
    total = features[0].new_zeros(batch, dtype=torch.float32)
    each = [features[0].new_zeros(batch, dtype=torch.float32) for _ in styles]
    for layer, (f, m) in enumerate(zip(features, masks, strict=True)):
        b, c, h, w = f.shape
        flat = f.permute(0, 2, 3, 1).reshape(b, h * w, c)  # product_sum: sums in fp32
        weights = m.flatten(2)  # (1 or B, K, h*w)
        mass = weights.sum(-1)  # (1 or B, K)
        for k, (targets, region_weight) in enumerate(styles):
            if targets is None:
                continue
            target = targets[layer]
            x = flat * weights[:, k, :, None].sqrt()
            norm = c * unit**2 * mass[:, k].clamp_min(1e-8)
            g = product_sum(x) / norm[:, None, None]
            loss = style_term(g, target)
            each[k] = each[k] + loss
            total = total + region_weight * mass[:, k] / (h * w) * loss
    return total, torch.stack(each, 1)
