"""Regions painted with different styles, measured against whole-photo paintings (one run).

A Kodak photo is painted four ways at the defaults (512 px, 26 evaluations): whole with the
shipped `vangogh` model, whole with `impressionism`, in two regions (left half van Gogh, right
half impressionism: `nst.regions`), and with a mask (van Gogh on the right half, the left half
kept). It prints:

- per region, its style loss against its own style's targets (the guided Gram loss of that
  region alone) in the regional painting, beside the same figure for the whole-photo painting
  with that style over the same pixels, and the whole painting's own style loss (`score`);
  the target: the regional painting within 10 % of the whole one;
- the masked painting's mean absolute difference from the photo where the mask is black
  (target: under 1/255), as saved (8 bits) and before rounding;
- a seam figure where the regions meet (mean |difference| of neighbouring pixels across the
  border column over the same across all columns, as `benchmarks/memory.py` does for tiles),
  beside the lines midway inside each region and a naive cut of the two whole paintings.

    .venv/bin/python benchmarks/regions.py [--photo 13] [--data ../shared/data] [--figures docs/img]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from memory import seam_ratio  # benchmarks/memory.py: a script's folder is on the path
from PIL import Image
from rich.console import Console
from rich.table import Table

from artstyle.images import image_grid, resize_longest, to_pil, to_tensor
from artstyle.nst import regions
from artstyle.pipeline import StylePipeline

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
STYLES = ("vangogh", "impressionism")


def halves(size: int) -> torch.Tensor:
    """Two hard regions (2, size, size): the left half and the right half."""
    masks = torch.zeros(2, size, size)
    masks[0, :, : size // 2] = 1
    masks[1, :, size // 2 :] = 1
    return masks


def crop(image: torch.Tensor, col: int, side: int = 96) -> Image.Image:
    """A `side` square around the middle of column `col`, enlarged 2x (nearest)."""
    h = image.shape[-2]
    part = image[..., h // 2 - side // 2 : h // 2 + side // 2, col - side // 2 : col + side // 2]
    return to_pil(part).resize((2 * side, 2 * side), Image.Resampling.NEAREST)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photo", type=int, default=13, help="Kodak photo number")
    parser.add_argument("--data", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--figures", type=Path, help="folder for the figures (docs/img)")
    args = parser.parse_args()
    console = Console(width=150)

    photo_path = args.data / "photos" / f"photo_{args.photo:04d}.jpg"
    pipes = [StylePipeline.from_pretrained(name) for name in STYLES]
    transfers = [p.transfer for p in pipes]
    size = transfers[0].config.schedule.size
    photo = to_tensor(resize_longest(Image.open(photo_path).convert("RGB"), size))
    height, width = photo.shape[-2:]
    masks = halves(size)
    spec = {name: (t.targets, 1.0) for name, t in zip(STYLES, transfers, strict=True)}
    painter = transfers[0].with_regions(regions.Regions(masks, regions.region_styles(spec)))
    masked = transfers[0].with_regions(regions.from_mask(masks[1], transfers[0].targets))

    results = {}
    for name, t in [*zip(STYLES, transfers, strict=True), ("regions", painter), ("mask", masked)]:
        results[name] = t.run(photo)
        console.print(f"{name}: {results[name].seconds:.0f} s")

    table = Table(title=f"Kodak {args.photo}, {size} px, defaults: each region's style loss")
    for col in ("region", "style", "photo", "whole painting, same pixels", "regional painting",
                "regional / whole", "whole painting's own (score)"):  # fmt: skip
        table.add_column(col, justify="right")
    photo_losses = painter.region_losses(photo)
    for side, (name, t) in zip(("left", "right"), zip(STYLES, transfers, strict=True), strict=True):
        whole = painter.region_losses(results[name].tensor)[name]
        regional = painter.region_losses(results["regions"].tensor)[name]
        own = t.score(photo, results[name].tensor)["style"]
        table.add_row(side, name, f"{photo_losses[name]:.3e}", f"{whole:.3e}", f"{regional:.3e}",
                      f"{regional / whole:.3f}", f"{own:.3e}")  # fmt: skip
    console.print(table)

    kept = slice(0, width // 2)
    saved = to_tensor(results["mask"].image)
    for label, image in (("as saved (8 bit)", saved), ("before rounding", results["mask"].tensor)):
        diff = (image - photo)[..., kept].abs().mean() * 255
        console.print(f"mask, black half: mean |painted - photo| = {float(diff):.4f}/255 {label}")
    changed = (saved - photo)[..., width // 2 :].abs().mean() * 255
    console.print(f"mask, white half: mean |painted - photo| = {float(changed):.1f}/255")

    border = width // 2
    cut = torch.cat(
        [results[STYLES[0]].tensor[..., :border], results[STYLES[1]].tensor[..., border:]], -1
    )
    seams = Table(title="seam where the regions meet (1: like any other column)")
    for col in ("picture", "border column", "midway in the left", "midway in the right"):
        seams.add_column(col, justify="right")
    for label, image in (("regional painting", results["regions"].tensor), ("naive cut", cut),
                         ("photo", photo)):  # fmt: skip
        figures = [seam_ratio(image, [], [c]) for c in (border, border // 2, border * 3 // 2)]
        seams.add_row(label, *(f"{f:.2f}" for f in figures))
    console.print(seams)

    if args.figures:
        args.figures.mkdir(parents=True, exist_ok=True)
        row = [to_pil(photo), results["regions"].image, results["mask"].image]
        labels = ["photo", "left vangogh, right impressionism", "vangogh right, photo left"]
        grid = image_grid([im.resize((384, 384 * height // width)) for im in row], 3,
                          labels=labels, scale=1)  # fmt: skip
        grid.save(args.figures / "regions.jpg", quality=88)
        crops = [crop(results["regions"].tensor, border), crop(cut, border)]
        image_grid(crops, 2).save(args.figures / "regions_seam.png")
        console.print(f"figures: {args.figures / 'regions.jpg'}, regions_seam.png")


if __name__ == "__main__":
    main()
