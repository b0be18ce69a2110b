"""Regenerate the comparison figures of docs/style_transfer.md (about 10 minutes on 2 cores).

.venv/bin/python docs/make_figures.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from artstyle import StyleTransfer
from artstyle.images import find_images, read_image, resize_longest

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "img"
TILE = 256
STEPS = 50


def _strip(tiles: list[tuple[Image.Image, str]], path: Path) -> None:
    """Tiles side by side with a caption under each."""
    sheet = Image.new("RGB", (TILE * len(tiles), TILE + 18), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (tile, caption) in enumerate(tiles):
        sheet.paste(resize_longest(tile, TILE), (i * TILE, 0))
        draw.text((i * TILE + 4, TILE + 3), caption, fill="black")
    sheet.save(path)
    print(path, flush=True)


def style_weights(photo: Path, styles: list[Path]) -> None:
    tiles = [(resize_longest(read_image(photo), TILE), "photo")]
    for weight in (5e3, 5e4, 5e5):
        painter = StyleTransfer(styles, style_weight=weight, size=TILE, steps=STEPS)
        result = painter.run(photo)
        tiles.append((result.image, f"style_weight {weight:.0e}"))
    _strip(tiles, OUT / f"style_weight_{photo.stem}.png")


def style_sizes(photo: Path, styles: list[Path]) -> None:
    """64x64 crops stand in for GAN outputs; output at 256 px (style sizes scale with it)."""
    small = [read_image(p).resize((64, 64), Image.Resampling.LANCZOS) for p in styles]
    mosaic = Image.new("RGB", (TILE, TILE))
    for i, s in enumerate(small[:16]):
        mosaic.paste(s, ((i % 4) * 64, (i // 4) * 64))
    tiles = [(mosaic, "64x64 style batch")]
    for size in (None, 128, 256):
        painter = StyleTransfer(small, style_size=size, size=TILE, steps=STEPS)
        tiles.append((painter(photo), f"style_size {size or 'native 64'}"))
    _strip(tiles, OUT / f"style_size_{photo.stem}.png")


def main() -> None:
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads())
    vangogh = find_images([DATA / "paintings" / "vangogh"])[:16]
    impressionism = find_images([DATA / "paintings" / "impressionism"])[:16]
    style_weights(DATA / "photos" / "photo_0003.jpg", vangogh)
    style_weights(DATA / "photos" / "photo_0021.jpg", impressionism)
    style_sizes(DATA / "photos" / "photo_0003.jpg", vangogh)


if __name__ == "__main__":
    main()
