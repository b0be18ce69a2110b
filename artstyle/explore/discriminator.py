"""What the discriminator sees: its activations and guided-backprop reconstructions."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any, Literal

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from PIL import Image, ImageOps
from torch import nn

from artstyle.errors import ArtstyleError
from artstyle.explore.views import show
from artstyle.figures import figure
from artstyle.gan import CHECKPOINT, DCGANDiscriminator, build_discriminator, load_network
from artstyle.images import (
    ImageSource,
    load_image,
    signed_to_unit,
    unit_to_signed,
)

Rule = Literal["guided", "deconvnet"]


# --- the discriminator -------------------------------------------------------------------------


def load_discriminator(source: str | Path) -> DCGANDiscriminator:
    """D from a run folder or its `checkpoint.safetensors` (exported generators hold only G)."""
    path = Path(source)
    if path.is_dir():
        path = path / CHECKPOINT
    d, config, _ = load_network(
        path,
        build_discriminator,
        lambda meta, tensors: "d",
        "holds no discriminator (only a run's checkpoint.safetensors does; give the run folder)",
    )
    if not isinstance(d, DCGANDiscriminator):
        raise ArtstyleError(
            f"{path}: activation views need a DCGAN discriminator, not {config.networks.arch}"
        )
    return d.eval().requires_grad_(False)


def _image_size(d: DCGANDiscriminator) -> int:
    return 4 * 2 ** len(d.blocks)


def discriminator_input(image: ImageSource, size: int) -> torch.Tensor:
    """(1, 3, size, size) in -1..1: a sample tensor as it is, a picture centre-cropped to size."""
    if isinstance(image, torch.Tensor) and image.shape[-2:] == (size, size):
        x = image.detach().clone().float().reshape(1, 3, size, size)  # clone: leave inference mode
    else:
        pil = ImageOps.fit(load_image(image), (size, size), Image.Resampling.LANCZOS)
        x = torch.from_numpy(np.asarray(pil).copy()).permute(2, 0, 1)[None].float() / 255
    return unit_to_signed(x)


def _input(d: DCGANDiscriminator, image: ImageSource) -> torch.Tensor:
    return discriminator_input(image, _image_size(d)).to(next(d.parameters()).device)


def _features(d: DCGANDiscriminator, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        return [f[0].cpu() for f in d.features(x)]


def layer_activations(d: DCGANDiscriminator, image: ImageSource) -> list[torch.Tensor]:
    """The (C, h, w) output of each of D's conv blocks for one image, shallow to deep."""
    return _features(d, _input(d, image))


class _BackwardRule(torch.autograd.Function):
    """LeakyReLU forward; backward only lets positive signals through (Zeiler & Fergus).

    "deconvnet" rectifies the signal coming down; "guided" (Springenberg et al.) also applies
    the forward pass's slope mask, so it shows only what raised the unit in *this* image.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, slope: float, rule: str) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.slope, ctx.rule = slope, rule
        return F.leaky_relu(x, slope)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (x,) = ctx.saved_tensors
        grad = grad.clamp(min=0)
        if ctx.rule == "guided":
            grad = grad * torch.where(x > 0, 1.0, ctx.slope)
        return grad, None, None


class _RuleReLU(nn.Module):
    def __init__(self, slope: float, rule: Rule) -> None:
        super().__init__()
        self.slope, self.rule = slope, rule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _BackwardRule.apply(x, self.slope, self.rule)


def _with_rule(d: DCGANDiscriminator, rule: Rule) -> DCGANDiscriminator:
    """A copy of D whose LeakyReLUs back-propagate by `rule`."""
    if rule not in ("guided", "deconvnet"):
        raise ArtstyleError(f"unknown reconstruction {rule!r}: use guided or deconvnet")
    net = copy.deepcopy(d)
    for block in net.blocks:
        assert isinstance(block, nn.Sequential)
        for i, layer in enumerate(block):
            if isinstance(layer, nn.LeakyReLU):
                block[i] = _RuleReLU(layer.negative_slope, rule)
    return net


def _unit(maps: torch.Tensor, channel: int | None) -> int:
    """`channel`, checked, or the most active channel of `maps` (C, h, w)."""
    if channel is None:
        return int(maps.mean((1, 2)).argmax())
    if not 0 <= channel < len(maps):
        raise ArtstyleError(
            f"channel {channel} is out of range: this layer has {len(maps)} (0..{len(maps) - 1})"
        )
    return channel


def _check_layer(d: DCGANDiscriminator, layer: int | None) -> None:
    if layer is not None and not 1 <= layer <= len(d.blocks):
        raise ArtstyleError(f"layer {layer} is out of range: D has conv1..conv{len(d.blocks)}")


def _reconstruct(
    net: DCGANDiscriminator, x: torch.Tensor, layer: int | None, channel: int | None
) -> tuple[torch.Tensor, int | None]:
    """Gradient-like image of what drives one unit of `net` (a `_with_rule` copy); and the unit."""
    x = x.clone().requires_grad_(True)
    with torch.enable_grad():
        if layer is None:
            target = net(x).sum()
        else:
            maps = net.features(x)[layer - 1][0]
            channel = _unit(maps.detach(), channel)
            target = maps[channel].max()  # its strongest position in this image
        target.backward()
    assert x.grad is not None
    return x.grad[0].cpu(), channel


def reconstruct(
    d: DCGANDiscriminator,
    image: ImageSource,
    layer: int | None = None,
    channel: int | None = None,
    rule: Rule = "guided",
) -> torch.Tensor:
    """(3, S, S) signed map of the input pixels that drive a unit: channel `channel` (default the
    most active) of conv layer `layer` (1-based) at its strongest position, or D's score."""
    _check_layer(d, layer)
    return _reconstruct(_with_rule(d, rule), _input(d, image), layer, channel)[0]


def _signed_image(grad: torch.Tensor) -> np.ndarray:
    """Grey where nothing drives the unit, brighter/darker where raising/lowering a pixel helps."""
    scale = 3 * float(grad.std()) or 1.0
    return (grad / scale * 0.5 + 0.5).clamp(0, 1).permute(1, 2, 0).numpy()


def _mosaic(maps: torch.Tensor, top: int) -> tuple[np.ndarray, int]:
    """The `top` most active channels (by mean), each scaled to 0..1, in a square mosaic."""
    order = maps.mean((1, 2)).argsort(descending=True)[:top]
    side = math.ceil(math.sqrt(len(order)))
    h, w = maps.shape[1:]
    mosaic = np.full((side * (h + 1) - 1, side * (w + 1) - 1), np.nan)
    for k, ch in enumerate(order.tolist()):
        m = maps[ch]
        m = (m - m.min()) / (m.max() - m.min() + 1e-8)
        r, c = divmod(k, side)
        mosaic[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = m.numpy()
    return mosaic, len(order)


def activation_figure(
    d: DCGANDiscriminator,
    image: ImageSource,
    *,
    top: int = 16,
    rule: Rule = "guided",
    layer: int | None = None,
    channel: int | None = None,
) -> Figure:
    """Top row: the image, then the `top` most active feature maps of each conv layer (one panel
    per layer). Bottom row: what drives D's score, then each layer's most active unit (or
    `channel` of `layer`), reconstructed by guided backprop or deconvnet (Beyers & Loane fig. 6)."""
    _check_layer(d, layer)
    size = _image_size(d)
    x = _input(d, image)
    maps = _features(d, x)
    net = _with_rule(d, rule)
    n = len(maps)
    fig = figure(figsize=(2.2 * (n + 1), 4.8))
    axes = fig.subplots(2, n + 1, squeeze=False)
    show(axes[0, 0], signed_to_unit(x[0].cpu()), f"input ({size}x{size})")
    with torch.no_grad():
        logit = float(d(x).item())
    show(
        axes[1, 0],
        _signed_image(_reconstruct(net, x, None, None)[0]),
        f"{rule}: D's logit {logit:.2f}",
    )
    cmap = matplotlib.colormaps["magma"].with_extremes(bad="white")
    for i, fmap in enumerate(maps, start=1):
        mosaic, shown = _mosaic(fmap, top)
        title = f"conv{i}: top {shown} of {len(fmap)}, {fmap.shape[1]}x{fmap.shape[2]}"
        show(axes[0, i], mosaic, title, cmap=cmap)
        grad, unit = _reconstruct(net, x, i, channel if i == layer else None)
        show(axes[1, i], _signed_image(grad), f"{rule}: conv{i} unit {unit}")
    return fig
