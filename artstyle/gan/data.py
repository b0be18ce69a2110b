"""Training images: a folder decoded once into memory as uint8 tensors, then cropped per batch.

A few thousand 64x64 paintings are a few tens of MB, so a CPU epoch is spent training, not
decoding JPEGs. Bad files are skipped with one line each and counted, never fatal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from artstyle.config import CropMode
from artstyle.errors import ArtstyleError, ImageReadError
from artstyle.images import find_images, read_image, unit_to_signed


def _resize_short(img: Image.Image, short: int) -> Image.Image:
    """Resize so the shorter side is `short`, keeping the aspect ratio."""
    scale = short / min(img.size)
    size = (max(short, round(img.width * scale)), max(short, round(img.height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS)


def _center_crop(img: Image.Image, side: int) -> Image.Image:
    left, top = (img.width - side) // 2, (img.height - side) // 2
    return img.crop((left, top, left + side, top + side))


@dataclass
class PaintingSet:
    """Decoded training images and what was skipped while reading them.

    `images` is (N, 3, S, S) uint8 for centre crops, or (N, 3, 2S, 2S)-ish for patch mode, where a
    fresh random S x S patch is cut at every step (Beyers & Loane: resize to the smallest size
    with at least 2S x 2S pixels, aspect kept; square paintings give 2S x 2S).
    """

    images: torch.Tensor
    files: list[Path]
    image_size: int
    crop: CropMode
    skipped: list[ImageReadError] = field(default_factory=list)

    def __len__(self) -> int:
        return self.images.shape[0]

    def batch(self, index: torch.Tensor, flip: bool = False) -> torch.Tensor:
        """The images at `index` as float -1..1, cropped (patch mode) and flipped as configured.

        Randomness comes from torch's global generator, so a seeded run is reproducible.
        """
        x = self.images[index]
        s = self.image_size
        if self.crop == "patch":
            n, _, h, w = x.shape
            top = torch.randint(0, h - s + 1, (n,)).tolist()
            left = torch.randint(0, w - s + 1, (n,)).tolist()
            x = torch.stack([img[:, t : t + s, lf : lf + s] for img, t, lf in zip(x, top, left)])
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
    """Decode every image under `folder` once; a clear error if fewer than `min_images` load."""
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
        if crop == "center":
            img = _center_crop(_resize_short(img, image_size), image_size)
        else:
            img = _center_crop(_resize_short(img, 2 * image_size), 2 * image_size)
        arrays.append(np.asarray(img, dtype=np.uint8))
        kept.append(path)
    if len(kept) < min_images:
        raise ArtstyleError(
            f"{folder}: {len(kept)} usable images ({len(skipped)} unreadable) but at least "
            f"{min_images} are needed (one batch); add images or lower --batch-size"
        )
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return PaintingSet(images, kept, image_size, crop, skipped)
