"""Training images: a folder decoded once into memory as uint8 tensors, then cropped per batch.

A few thousand 64x64 paintings are a few tens of MB, so a CPU epoch is spent training, not
decoding JPEGs. Bad files are skipped with one line each and counted, never fatal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from artstyle.config import CropMode
from artstyle.errors import ArtstyleError, ImageReadError
from artstyle.images import (
    find_images,
    fit_longest,
    read_image,
    resample,
    to_tensor,
    unit_to_signed,
)


def _prepare(img: Image.Image, crop: CropMode, size: int) -> torch.Tensor:
    """A painting as uint8 (3, h, w), resampled as the style stage resamples a style image.

    Centre crops: the short side resized to `size`, the centre `size` x `size` kept (Ast-GAN).
    Patches: the long side resized to 2 x `size`, the scale the style stage reads a painting at
    (its style size is the generator's sample size, 2 x `size`), the short side at least `size`
    so that a patch fits (a long strip is then cropped to 2 x `size`)."""
    if crop == "center":
        scale = size / min(img.size)
        width, height = max(size, round(img.width * scale)), max(size, round(img.height * scale))
        crop_h = crop_w = size
    else:
        width, height = fit_longest(img.size, 2 * size, size)
        crop_h, crop_w = min(height, 2 * size), min(width, 2 * size)
    x = resample(to_tensor(img), height, width)[0]
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    x = x[:, top : top + crop_h, left : left + crop_w]
    return x.mul(255).round().to(torch.uint8)


@dataclass
class PaintingSet:
    """Decoded training images and what was skipped while reading them.

    `images` is (N, 3, S, S) uint8 for centre crops. In patch mode, where a fresh random S x S
    patch is cut at every step (Beyers & Loane), it is (N, 3, 2S, 2S) at most: each painting,
    prepared by `_prepare`, fills the top-left `sizes[i]` = (height, width) of its frame.
    """

    images: torch.Tensor
    files: list[Path]
    image_size: int
    crop: CropMode
    skipped: list[ImageReadError] = field(default_factory=list)
    #: (N, 2) height and width of each painting inside its frame; None: the whole frame
    sizes: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    def _sizes(self) -> torch.Tensor:
        if self.sizes is not None:
            return self.sizes
        return torch.tensor(self.images.shape[-2:]).expand(len(self), 2)

    def paintings(self) -> list[torch.Tensor]:
        """Each painting as (3, h, w) uint8, without its frame's padding."""
        return [img[:, :h, :w] for img, (h, w) in zip(self.images, self._sizes().tolist())]

    def batch(self, index: torch.Tensor, flip: bool = False) -> torch.Tensor:
        """The images at `index` as float -1..1, cropped (patch mode) and flipped as configured.

        Randomness comes from torch's global generator, so a seeded run is reproducible.
        """
        x = self.images[index]
        s = self.image_size
        if self.crop == "patch":
            room = self._sizes()[index] - s + 1  # how many patch positions each side offers
            corners = (torch.rand(room.shape) * room).long().tolist()
            x = torch.stack([img[:, t : t + s, lf : lf + s] for img, (t, lf) in zip(x, corners)])
        return training_batch(x, flip)


def training_batch(x: torch.Tensor, flip: bool) -> torch.Tensor:
    """uint8 images as float -1..1, each flipped left-right with probability 1/2 if `flip`
    (randomness from torch's global generator)."""
    if flip:
        mask = torch.rand(x.shape[0]) < 0.5
        x = torch.where(mask.view(-1, 1, 1, 1), x.flip(3), x)
    return unit_to_signed(x.float().div_(255))


def load_paintings(
    folder: str | Path,
    image_size: int = 64,
    crop: CropMode = "center",
    on_skip: Callable[[ImageReadError], None] | None = None,
    min_images: int = 1,
) -> PaintingSet:
    """Decode every image under `folder` once (prepared by `_prepare`); a clear error if fewer
    than `min_images` load."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtstyleError(f"{folder}: not a folder of images")
    files = find_images([folder])
    arrays, kept, skipped = [], [], []
    for path in files:
        try:
            img = read_image(path)
        except ImageReadError as exc:
            skipped.append(exc)
            if on_skip:
                on_skip(exc)
            continue
        arrays.append(_prepare(img, crop, image_size))
        kept.append(path)
    if len(kept) < min_images:
        raise ArtstyleError(
            f"{folder}: {len(kept)} usable images ({len(skipped)} unreadable) but at least "
            f"{min_images} are needed (one batch); add images or lower --batch-size"
        )
    sizes = torch.tensor([a.shape[1:] for a in arrays])
    images = torch.zeros(len(arrays), 3, *sizes.max(0).values.tolist(), dtype=torch.uint8)
    for frame, painting in zip(images, arrays):
        frame[:, : painting.shape[1], : painting.shape[2]] = painting
    return PaintingSet(images, kept, image_size, crop, skipped, sizes)
