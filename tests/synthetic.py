"""Images the tests make themselves, so they run without ../shared."""

from __future__ import annotations

from pathlib import Path

import torch

from artstyle.images import to_pil


def synthetic_paintings(n: int, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Striped, blotchy 'paintings' with a per-image palette: structure for VGG to see."""
    gen = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    images = []
    for _ in range(n):
        freq, angle = torch.rand(2, generator=gen) * torch.tensor([0.6, 3.14])
        stripes = torch.sin(freq * (xs * torch.cos(angle) + ys * torch.sin(angle)))
        palette = torch.rand(3, 1, 1, generator=gen)
        blotch = torch.rand(1, 1, size // 8, size // 8, generator=gen)
        blotch = torch.nn.functional.interpolate(blotch, size=size, mode="bilinear")[0]
        images.append((palette * (0.5 + 0.3 * stripes) + 0.3 * blotch).clamp(0, 1))
    return torch.stack(images)


def write_paintings(folder: Path, n: int, size: int = 96, seed: int = 0) -> list[Path]:
    """`n` synthetic paintings as JPEG files `painting_NN.jpg` in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(synthetic_paintings(n, size, seed)):
        path = folder / f"painting_{i:02d}.jpg"
        to_pil(image).save(path, quality=92)
        paths.append(path)
    return paths
