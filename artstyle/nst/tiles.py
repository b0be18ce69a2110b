"""Painting outputs too large to evaluate whole: the same loss, evaluated tile by tile.

One evaluation of the loss over a whole S x S image keeps VGG's activations for the backward pass,
about `BYTES_PER_PIXEL` per output pixel: 2048 px needs 10-20 GB, 4096 px far more than a laptop
has. Above what fits, each evaluation runs over overlapping tiles instead, and still computes the
loss of the *whole* image and its exact gradient:

1. without gradients, every tile (with a margin as wide as the network's receptive field, so its
   inner features equal the whole image's) adds its inner part to the image's Gram sums and
   content error: the whole image's Gram matrices and loss;
2. with gradients, every tile again, back-propagating the whole-image loss's derivative with
   respect to its own inner features (the style loss is a function of the Gram matrices, which are
   sums over positions, so each tile's share of the gradient is exact); the gradients of the tiles
   add up to the whole image's.

The optimiser then steps the whole image as usual (with an L-BFGS history sized to the memory), so
there is no tile in the result: no seam, no border, nothing to blend. The cost is about 1.5 whole
evaluations (one extra forward pass) and the memory of one tile.

With regions (`nst.regions`) each tile reads its crop of the region map at every style layer, and
the sums are kept per region (weighted by its channel) with each region's mass, so the guided
loss and its gradient are exact too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from artstyle.backbone import VGGFeatures, product_sum
from artstyle.memory import available_memory
from artstyle.nst.losses import GramTarget, style_term

#: Peak memory of one whole-image evaluation per output pixel (activations kept for the backward
#: pass, gradients): measured 11-19 GB at 2048 px with L-BFGS (DESIGN.md), about 3 KB per pixel.
BYTES_PER_PIXEL = 3000
#: Shares of the available memory: a whole-image evaluation, one tile's, L-BFGS's history.
WHOLE_SHARE, TILE_SHARE, HISTORY_SHARE = 0.4, 0.1, 0.15
#: Tiles are not made larger than this side even with memory to spare (they would gain nothing).
MAX_TILE = 1024


def tile_side(height: int, width: int, tile_size: int | None, device: torch.device) -> int | None:
    """The tile side for an output of `height` x `width`, or None to evaluate it whole.

    `tile_size` None: tiles only when a whole-image evaluation would not fit the memory budget,
    the largest that fit a tile's budget (at most `MAX_TILE`); 0: never; a side: tiles of that
    side when the image is larger.
    """
    if tile_size == 0:
        return None
    if tile_size is None:
        free = available_memory(device)
        if height * width * BYTES_PER_PIXEL <= WHOLE_SHARE * free:
            return None
        fits = int((TILE_SHARE * free / BYTES_PER_PIXEL) ** 0.5)
        tile_size = max(128, min(MAX_TILE, fits) // 64 * 64)
    return tile_size if max(height, width) > tile_size else None


def photos_that_fit(pixels: int, device: torch.device) -> int:
    """Photos of `pixels` whose evaluations fit the whole-image share of a GPU's free memory as
    one batch (at least one); one on the CPU, where a single photo already uses every core."""
    if device.type != "cuda":
        return 1
    return max(1, int(WHOLE_SHARE * available_memory(device) // (pixels * BYTES_PER_PIXEL)))


def lbfgs_history(pixels: int, device: torch.device, most: int = 50) -> int:
    """L-BFGS history pairs that fit `HISTORY_SHARE` of the free memory (2 x 3 x 4 bytes per
    pixel each), between 3 and `most`: 50 at 512 px, fewer for very large outputs."""
    fits = HISTORY_SHARE * available_memory(device) / (24 * pixels)
    return int(min(most, max(3, fits)))


def receptive_margin(net: VGGFeatures) -> tuple[int, int]:
    """(margin, stride): the context in pixels a tile needs around its inner part for the inner
    features to equal the whole image's, a multiple of the network's total stride."""
    radius, jump = 0, 1
    for module in net.net:
        if isinstance(module, nn.Conv2d):
            radius += jump * (module.kernel_size[0] // 2)
        elif isinstance(module, nn.MaxPool2d):
            radius += jump
            jump *= 2
    return math.ceil(radius / jump) * jump, jump


@dataclass(frozen=True)
class Span:
    """One tile along one axis: the pixels it reads (crop) and the pixels it answers for."""

    crop: slice
    inner: slice

    def rows(self, stride: int, extent: int) -> slice:
        """The inner part in a feature map of `stride` (of `extent` rows) computed on the crop."""
        start = (self.inner.start - self.crop.start) // stride
        stop = (self.inner.stop - self.crop.start) // stride
        last = self.inner.stop >= self.crop.stop  # the image's own end: every row left
        return slice(start, extent if last else stop)

    def grid(self, stride: int, extent: int) -> slice:
        """The inner part in the whole image's grid of `stride` (of `extent` rows)."""
        last = self.inner.stop >= self.crop.stop
        return slice(self.inner.start // stride, extent if last else self.inner.stop // stride)


def spans(extent: int, side: int, margin: int, stride: int) -> list[Span]:
    """Inner parts of about `side` (multiples of `stride`) covering 0..extent, each read with
    `margin` of context where the image has it."""
    side = max(stride, side // stride * stride)
    out = []
    for start in range(0, extent, side):
        stop = extent if start + side >= extent else start + side
        out.append(
            Span(slice(max(0, start - margin), min(extent, stop + margin)), slice(start, stop))
        )
        if stop == extent:
            break
    return out


def layer_strides(net: VGGFeatures) -> list[int]:
    """The stride (input pixels per feature pixel) of each layer `net` returns, in its order."""
    stride, strides = 1, {}
    for i, module in enumerate(net.net):
        if isinstance(module, nn.MaxPool2d):
            stride *= 2
        strides[i] = stride
    return [strides[i] for i in net.taps]


#: Each region's style targets (None: no style there) and the weight on its loss.
RegionTargets = Sequence[tuple[Sequence[GramTarget] | None, float]]


class TiledObjective:
    """The style-transfer loss of a whole image, evaluated tile by tile (see the module's doc).

    Called like the whole-image objective, one image (1, 3, H, W) -> {"total", "content",
    "style"} (each of shape (1,)), where "total"
    carries the exact gradient of the whole image's loss (`total.backward()` fills `image.grad`).
    """

    def __init__(
        self,
        net: VGGFeatures,
        num_style_layers: int,
        styles: RegionTargets,
        content: torch.Tensor,
        side: int,
        weights: tuple[float, float],
        masks: Sequence[torch.Tensor] | None = None,
    ) -> None:
        """`styles`: one (targets, weight) per region, one region without `masks` (the whole
        image), else `masks` holds the region channels at each style layer's grid (1, K, h, w);
        `content`: the photo at the output's size; `weights`: (content, style)."""
        self.net, self.split, self.styles, self.weights = net, num_style_layers, styles, weights
        self.masks = masks
        self.strides = layer_strides(net)
        margin, stride = receptive_margin(net)
        h, w = content.shape[-2:]
        self.tiles = [
            (r, c) for r in spans(h, side, margin, stride) for c in spans(w, side, margin, stride)
        ]
        # the photo's content features, inner parts only, in half precision (at 4096 px the
        # seed's content layer is 128 x 2048 x 2048: 1 GB instead of 2)
        self.content_targets: list[list[torch.Tensor]] = []
        with torch.no_grad():
            for index in range(len(self.tiles)):
                inner = self._inner_features(self._crop(content, index), index)[num_style_layers:]
                self.content_targets.append([f.half() for f in inner])

    def _crop(self, image: torch.Tensor, index: int) -> torch.Tensor:
        rows, cols = self.tiles[index]
        return image[..., rows.crop, cols.crop]

    def _inner_features(self, crop: torch.Tensor, index: int) -> list[torch.Tensor]:
        """The features of tile `index`'s inner part, computed on its crop (with its margin)."""
        rows, cols = self.tiles[index]
        return [
            f[..., rows.rows(s, f.shape[-2]), cols.rows(s, f.shape[-1])]
            for f, s in zip(self.net(crop), self.strides)
        ]

    def _region_weights(self, index: int, layer: int, features: torch.Tensor) -> torch.Tensor:
        """Tile `index`'s inner part of the region channels at style `layer` (K, positions);
        one region of weight 1 without regions."""
        rows, cols = self.tiles[index]
        if self.masks is None:
            return features.new_ones(1, features.shape[-2] * features.shape[-1])
        m, stride = self.masks[layer][0], self.strides[layer]
        part = m[:, rows.grid(stride, m.shape[-2]), cols.grid(stride, m.shape[-1])]
        return part.flatten(1)

    def _terms(
        self, crop: torch.Tensor, index: int
    ) -> tuple[list[list[torch.Tensor]], list[torch.Tensor], list[torch.Tensor], list[int]]:
        """Tile `index`'s share: per style layer and region the sum of w f f^T over its
        positions (w the region's channel; 1 without regions) and the region's mass (sum of w),
        per content layer the sum of squared errors (in the backbone's feature unit), and the
        number of values each layer sums over (positions, or elements for content layers)."""
        unit2 = self.net.unit**2
        features = self._inner_features(crop, index)
        grams, masses, counts = [], [], []
        for layer, f in enumerate(features[: self.split]):
            flat = f.permute(0, 2, 3, 1).reshape(-1, f.shape[1])  # product_sum: sums in fp32
            weights = self._region_weights(index, layer, f)
            layer_grams = []
            for k, (targets, _) in enumerate(self.styles):
                x = flat if self.masks is None else flat * weights[k, :, None].sqrt()
                layer_grams.append(
                    product_sum(x) / unit2 if targets is not None else flat.new_zeros(())
                )
            grams.append(layer_grams)
            masses.append(weights.sum(1))
            counts.append(flat.shape[0])
        errors = []
        for f, t in zip(features[self.split :], self.content_targets[index]):
            errors.append((f - t.float()).pow(2).sum() / unit2)
            counts.append(f.numel())
        return grams, masses, errors, counts

    def __call__(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        content_weight, style_weight = self.weights
        # pass 1: the whole image's Gram sums and content error, tile by tile
        with torch.no_grad():
            grams, masses, errors, counts = self._terms(self._crop(image, 0), 0)
            for i in range(1, len(self.tiles)):
                more = self._terms(self._crop(image, i), i)
                grams = [[a + b for a, b in zip(g, h)] for g, h in zip(grams, more[0])]
                masses = [a + b for a, b in zip(masses, more[1])]
                errors = [a + b for a, b in zip(errors, more[2])]
                counts = [a + b for a, b in zip(counts, more[3])]
        content_norm = counts[self.split :]
        style = image.new_zeros(())
        slopes = []  # d style / d (each region's weighted sum of f f^T at the layer)
        for layer, (layer_grams, mass, positions) in enumerate(zip(grams, masses, counts)):
            layer_slopes = []
            for k, (g, (targets, region_weight)) in enumerate(zip(layer_grams, self.styles)):
                if targets is None:
                    layer_slopes.append(g)  # a zero: no style in this region
                    continue
                target = targets[layer]
                norm = target.mean.shape[0] * mass[k].clamp_min(1e-8)  # C x the region's mass
                weight = target.weight * region_weight * mass[k] / positions
                diff = g / norm - target.mean
                style = style + style_term(g / norm, target, weight)
                layer_slopes.append(weight * 2 * diff / diff.numel() / norm)
            slopes.append(layer_slopes)
        content = image.new_zeros(())
        for e, n in zip(errors, content_norm):
            content = content + e / n
        # pass 2: each tile's share of the gradient of the whole image's loss
        grad = torch.zeros_like(image)
        for i, (rows, cols) in enumerate(self.tiles):
            crop = self._crop(image, i).detach().requires_grad_(True)
            tile_grams, _, tile_errors, _ = self._terms(crop, i)
            share = image.new_zeros(())
            for layer_slopes, layer_grams in zip(slopes, tile_grams):
                for slope, tile_gram in zip(layer_slopes, layer_grams):
                    share = share + style_weight * (slope * tile_gram).sum()
            for e, n in zip(tile_errors, content_norm):
                share = share + content_weight * e / n
            share.backward()
            assert crop.grad is not None
            grad[..., rows.crop, cols.crop] += crop.grad
        value = content_weight * content + style_weight * style
        # a scalar whose value is the loss and whose gradient with respect to `image` is `grad`
        total = value + (image * grad).sum() - (image.detach() * grad).sum()
        terms = {"total": total, "content": content, "style": style}
        return {k: v.reshape(1) for k, v in terms.items()}  # one image, one value each
