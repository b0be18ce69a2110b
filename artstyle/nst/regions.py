"""Regions painted with different styles (Gatys et al. 2017, "Controlling Perceptual Factors in
Neural Style Transfer", spatial control with guided Gram matrices).

A region map gives every pixel a weight for each region (soft channels summing to one). At each
style layer the map is averaged down to the layer's grid, and each region has its own Gram matrix
of the features weighted by its channel, normalised by the region's mass, compared with *that
region's* batch-mean Gram target. The content loss stays on the whole photo.

Two choices differ from the paper, each so that a region behaves like a whole photo painted with
its style: features are weighted by the channel (the paper multiplies them by it, which weights
the Gram by its square), so the regions' Grams add up exactly to the whole image's; and each
region's loss is weighted by its share of the layer's positions, so every pixel is pulled
towards its style as hard as in a whole-photo painting (one region covering everything is the
ordinary loss). A region may also keep the photo: it has no style target, and the result is
blended with the photo by its channel, so where it is 1 the photo comes back unchanged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageColor

from artstyle.errors import ArtstyleError
from artstyle.images import DEFAULT_MAX_PIXELS, read_image, to_rgb
from artstyle.nst.losses import GramTarget

#: A map pixel farther than this (RGB distance, 0..255) from every named colour is unknown.
COLOUR_TOLERANCE = 40.0
#: Unknown pixels tolerated as antialiased edges (assigned to their nearest named colour).
UNKNOWN_SHARE = 0.01
#: The word a region's style takes to keep the photo there.
KEEP = "photo"

#: Pillow modes a mask or map may have: one channel (any bit depth), palette or RGB.
_MAP_MODES = frozenset({"1", "L", "I", "I;16", "I;16B", "I;16L", "I;16N", "F", "RGB", "P"})


@dataclass(frozen=True)
class RegionStyle:
    """One region's style: its Gram targets (None: keep the photo) and a weight on its loss."""

    name: str
    targets: tuple[GramTarget, ...] | None
    weight: float = 1.0


@dataclass(frozen=True)
class Regions:
    """A soft region map (K, H, W) at its own size, one `RegionStyle` per channel."""

    masks: torch.Tensor
    styles: tuple[RegionStyle, ...]

    def __post_init__(self) -> None:
        if self.masks.dim() != 3 or self.masks.shape[0] != len(self.styles):
            raise ArtstyleError(f"{len(self.styles)} region styles for masks {self.masks.shape}")
        if all(s.targets is None for s in self.styles):
            raise ArtstyleError("every region keeps the photo: give at least one region a style")

    def at(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        """The map resized to `height` x `width` (1, K, H, W): averaged over areas when it
        shrinks, bilinear when it grows, so edges stay soft and the channels sum to one."""
        masks = self.masks.to(device, torch.float32).unsqueeze(0)
        return resize_masks(masks, height, width)

    def painted(self, masks: torch.Tensor) -> torch.Tensor | None:
        """How much of each pixel is painted (1, 1, H, W), from masks at that size; None when no
        region keeps the photo."""
        keep = [k for k, s in enumerate(self.styles) if s.targets is None]
        if not keep:
            return None
        return 1 - masks[:, keep].sum(1, keepdim=True).clamp(0, 1)


def resize_masks(masks: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Soft masks (N, K, h, w) at `height` x `width`: area averages down, bilinear up."""
    if masks.shape[-2:] == (height, width):
        return masks
    if height <= masks.shape[-2] and width <= masks.shape[-1]:
        return F.adaptive_avg_pool2d(masks, (height, width))
    return F.interpolate(masks, size=(height, width), mode="bilinear", align_corners=False)


def layer_masks(masks: torch.Tensor, strides: Sequence[int]) -> list[torch.Tensor]:
    """The masks (N, K, H, W) of an image averaged down to the grid of each layer of `strides`
    (VGG's feature map at stride s is floor(H / s) x floor(W / s))."""
    height, width = masks.shape[-2:]
    return [resize_masks(masks, height // s, width // s) for s in strides]


def blend(image: torch.Tensor, photo: torch.Tensor, painted: torch.Tensor | None) -> torch.Tensor:
    """`image` where painted, `photo` where kept (soft in between)."""
    return image if painted is None else torch.lerp(photo, image, painted)


# --- reading maps ------------------------------------------------------------------------------


def _read(path: str | Path, max_pixels: int) -> Image.Image:
    return read_image(path, max_pixels=max_pixels, keep_mode=True)


def _channels(image: Image.Image) -> str:
    return f"{len(image.getbands())} ({image.mode})"


def read_mask(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> torch.Tensor:
    """A greyscale mask file as (H, W) in 0..1: white painted, black kept, grey blends.

    One channel (any bit depth), or RGB whose pixels are all grey; anything else is one line."""
    image = _read(path, max_pixels)
    if image.mode not in _MAP_MODES or "transparency" in image.info:
        raise ArtstyleError(
            f"{path}: a mask has one channel (greyscale), this one has {_channels(image)}; "
            "save it as greyscale without transparency"
        )
    rgb = np.asarray(to_rgb(image), dtype=np.int16)
    if (np.abs(rgb - rgb[..., :1]) > 2).any():
        raise ArtstyleError(
            f"{path}: a mask is greyscale (white painted, black kept, grey blends), and this one "
            "has colours; use --regions for a map of coloured regions"
        )
    return torch.from_numpy(rgb[..., 0].astype(np.float32) / 255)


def parse_colour(text: str) -> tuple[int, int, int]:
    """A colour as `#rrggbb`, `rrggbb`, `#rgb` or a CSS name (red, white, ...) -> RGB."""
    spec = text.strip()
    candidates = [spec, f"#{spec}"] if not spec.startswith("#") else [spec]
    for candidate in candidates:
        try:
            rgb = ImageColor.getrgb(candidate)
        except ValueError:
            continue
        return rgb[0], rgb[1], rgb[2]
    raise ArtstyleError(f"{text!r} is not a colour: use #rrggbb or a name such as red or white")


def read_colour_map(
    path: str | Path,
    colours: Sequence[tuple[int, int, int]],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> torch.Tensor:
    """A colour map file as one-hot masks (K, H, W), one channel per colour of `colours`.

    Each pixel takes its nearest named colour; pixels far from all of them (`COLOUR_TOLERANCE`)
    are allowed as antialiased edges up to `UNKNOWN_SHARE` of the map, beyond that the file is
    refused with one line naming the colours nobody named."""
    if not colours:
        raise ArtstyleError(f"{path}: no region styles given (--region-style COLOUR=STYLE)")
    if len(set(colours)) != len(colours):
        raise ArtstyleError(f"{path}: the same colour is named twice")
    image = _read(path, max_pixels)
    if image.mode not in _MAP_MODES or "transparency" in image.info:
        raise ArtstyleError(
            f"{path}: a region map has 3 channels (RGB) or 1 (grey), this one has "
            f"{_channels(image)}; save it without transparency"
        )
    rgb = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32).copy())
    named = torch.tensor(colours, dtype=torch.float32)
    distance = torch.cdist(rgb.reshape(-1, 3), named)  # (H*W, K)
    nearest, index = distance.min(1)
    unknown = nearest > COLOUR_TOLERANCE
    if float(unknown.float().mean()) > UNKNOWN_SHARE:
        counts = Counter(map(tuple, rgb.reshape(-1, 3)[unknown].int().tolist()))
        common = ", ".join(f"#{r:02x}{g:02x}{b:02x}" for (r, g, b), _ in counts.most_common(3))
        share = float(unknown.float().mean())
        raise ArtstyleError(
            f"{path}: {share:.0%} of the map has colours no region style names ({common}); "
            "name them with --region-style COLOUR=STYLE (or photo to keep them)"
        )
    onehot = F.one_hot(index, len(colours)).T.float()
    return onehot.reshape(len(colours), image.height, image.width)


def from_mask(
    mask: torch.Tensor,
    targets: Sequence[GramTarget],
    rest: Sequence[GramTarget] | None = None,
    names: tuple[str, str] = ("white", "black"),
) -> Regions:
    """Regions of a greyscale mask (H, W): white painted with `targets`, black keeps the photo
    or, given `rest`, is painted with those targets (grey blends)."""
    painted = mask.clamp(0, 1)
    return Regions(
        torch.stack([painted, 1 - painted]),
        (
            RegionStyle(names[0], tuple(targets)),
            RegionStyle(names[1], None if rest is None else tuple(rest)),
        ),
    )


def region_styles(
    styles: Mapping[str, tuple[Sequence[GramTarget] | None, float]],
) -> tuple[RegionStyle, ...]:
    """One `RegionStyle` per entry: name -> (targets (None: keep the photo), weight)."""
    return tuple(
        RegionStyle(name, None if t is None else tuple(t), weight)
        for name, (t, weight) in styles.items()
    )


def from_colour_map(
    path: str | Path,
    styles: Mapping[str, tuple[Sequence[GramTarget] | None, float]],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Regions:
    """Regions of a colour map: `styles` maps each colour (as `parse_colour` reads it) to its
    targets (None: keep the photo) and a weight."""
    colours = [parse_colour(c) for c in styles]
    return Regions(read_colour_map(path, colours, max_pixels=max_pixels), region_styles(styles))
