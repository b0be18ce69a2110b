"""Regenerate the comparison figures and galleries of docs/ (each figure takes minutes on 2 cores).

.venv/bin/python docs/make_figures.py                 # all figures
.venv/bin/python docs/make_figures.py gallery scales  # only these
.venv/bin/python docs/make_figures.py samples_vs_paintings \
    --model v8_vangogh=runs/vangogh:vangogh              # a run of yours beside its paintings
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from artstyle import StylePipeline, StyleTransfer
from artstyle.gan import StyleGenerator
from artstyle.images import find_images, read_image, resize_longest, to_pil

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "img"
TILE = 256
STEPS = 50
#: Kodak photos of the gallery: architecture, water, landscape, farm, close-up colour.
GALLERY_PHOTOS = ("01", "13", "23")
#: Single pass against a smaller base pass and a refinement, all at the 512-px output but the
#: first.
SCALES = {
    "384 px x 40": {"size": 384, "steps": 40, "base_size": None},
    "512 px x 26 (default)": {"size": 512, "steps": 26, "base_size": None},
    "512 px x 40": {"size": 512, "steps": 40, "base_size": None},
    "256x40 + 512x10": {"size": 512, "steps": 40, "base_size": 256, "refine_steps": 10},
    "256x40 + 512x20": {"size": 512, "steps": 40, "base_size": 256, "refine_steps": 20},
}


def _strip(
    tiles: list[tuple[Image.Image, str]], path: Path | None, tile: int = TILE
) -> Image.Image:
    """Tiles side by side with a caption under each; saved to `path` (if given) and returned."""
    sheet = Image.new("RGB", (tile * len(tiles), tile + 18), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (image, caption) in enumerate(tiles):
        sheet.paste(resize_longest(image, tile), (i * tile, 0))
        draw.text((i * tile + 4, tile + 3), caption, fill="black")
    if path is not None:
        sheet.save(path, quality=90)
        print(path, flush=True)
    return sheet


def _photo(number: str) -> Path:
    return DATA / "photos" / f"photo_00{number}.jpg"


def style_weights() -> None:
    """Classic path: style weight 5e3 / 5e4 / 5e5 with 16 real paintings as the batch."""
    for number, collection in (("03", "vangogh"), ("21", "impressionism")):
        styles = find_images([DATA / "paintings" / collection])[:16]
        tiles = [(resize_longest(read_image(_photo(number)), TILE), "photo")]
        for weight in (5e3, 5e4, 5e5):
            painter = StyleTransfer(styles, style_weight=weight, size=TILE, steps=STEPS)
            tiles.append((painter(_photo(number)), f"style_weight {weight:.0e}"))
        _strip(tiles, OUT / f"style_weight_photo_00{number}.png")


def style_sizes() -> None:
    """64x64 crops stand in for GAN outputs; output at 256 px (style sizes scale with it)."""
    styles = find_images([DATA / "paintings" / "vangogh"])[:16]
    small = [read_image(p).resize((64, 64), Image.Resampling.LANCZOS) for p in styles]
    mosaic = Image.new("RGB", (TILE, TILE))
    for i, s in enumerate(small[:16]):
        mosaic.paste(s, ((i % 4) * 64, (i // 4) * 64))
    tiles = [(mosaic, "64x64 style batch")]
    for size in (None, 128, 256):
        painter = StyleTransfer(small, style_size=size, size=TILE, steps=STEPS)
        tiles.append((painter(_photo("03")), f"style_size {size or 'native 64'}"))
    _strip(tiles, OUT / "style_size_photo_0003.png")


def scales(number: str = "21") -> None:
    """Time and full-size objective of one pass against base + refinement, impressionism model.

    Every result is scored by the 512-px single-pass objective (the same targets and weights), so
    the numbers say how far each got towards the same optimum.
    """
    photo = _photo(number)
    judge = StylePipeline.from_pretrained("impressionism", size=512, steps=1, base_size=None)
    tiles = [(read_image(photo), "photo")]
    print("| passes | seconds | total | content | style |\n| --- | --- | --- | --- | --- |")
    for name, settings in SCALES.items():
        pipe = StylePipeline.from_pretrained("impressionism", **settings)
        pipe.transfer  # noqa: B018 (the style targets, outside the timing)
        start = time.perf_counter()
        result = pipe(photo)
        seconds = time.perf_counter() - start
        losses = judge.transfer.score(photo, result.tensor)
        print(
            f"| {name} | {seconds:.0f} | {losses['total']:.3g} | {losses['content']:.3g} "
            f"| {losses['style']:.3g} |",
            flush=True,
        )
        tiles.append((result.image, f"{name}: {seconds:.0f} s"))
    _strip(tiles, OUT / f"scales_photo_00{number}.jpg", tile=384)


def gallery(models: tuple[str, ...] = ("impressionism", "vangogh")) -> None:
    """Each shipped model at the default settings on the gallery photos: photo, result, styles."""
    for model in models:
        pipe = StylePipeline.from_pretrained(model)
        rows = []
        for number in GALLERY_PHOTOS:
            start = time.perf_counter()
            result = pipe(_photo(number))
            caption = f"{model}, {time.perf_counter() - start:.0f} s"
            print(f"{model} Kodak {number}: {caption}", flush=True)
            row = _strip(
                [(read_image(_photo(number)), f"Kodak {number}"), (result.image, caption),
                 (result.style_grid(), "generated style batch")],
                None, tile=384,
            )  # fmt: skip
            rows.append(row)
        sheet = Image.new("RGB", (rows[0].width, sum(r.height for r in rows)), "white")
        for i, row in enumerate(rows):
            sheet.paste(row, (0, i * row.height))
        sheet.save(OUT / f"gallery_{model}.jpg", quality=88)
        print(OUT / f"gallery_{model}.jpg", flush=True)


def _grid(images: list[Image.Image], side: int, columns: int = 4) -> Image.Image:
    sheet = Image.new("RGB", (side * columns, side * (len(images) // columns)), "white")
    for i, image in enumerate(images):
        row, column = divmod(i, columns)
        sheet.paste(
            image.resize((side, side), Image.Resampling.LANCZOS), (column * side, row * side)
        )
    return sheet


#: The generators `samples_vs_paintings` shows: figure name -> (model, its collection).
SHIPPED = {"impressionism": ("impressionism", "impressionism"), "vangogh": ("vangogh", "vangogh")}


def _painting_crops(collection: str, side: int, n: int) -> list[Image.Image]:
    """`n` random squares of a collection's paintings, each resized to `side` px on its short
    side first: the paintings at the scale a generator of that sample size learns them."""
    rng = random.Random(0)
    crops = []
    for path in rng.sample(find_images([DATA / "paintings" / collection]), n):
        painting = read_image(path)
        scale = side / min(painting.size)
        size = (max(side, round(painting.width * scale)), max(side, round(painting.height * scale)))
        painting = painting.resize(size, Image.Resampling.LANCZOS)
        left = rng.randrange(painting.width - side + 1)
        top = rng.randrange(painting.height - side + 1)
        crops.append(painting.crop((left, top, left + side, top + side)))
    return crops


def samples_vs_paintings(models: dict[str, tuple[str, str]] = SHIPPED) -> None:
    """Each model's 16 samples beside 16 random crops of its paintings at the same scale (the
    paintings' short side at the sample size, a random square of it): does a sample look like
    a piece of one of the painter's pictures? `models`: figure name -> (shipped name, generator
    file or run folder; the folder of its paintings under data/paintings)."""
    for name, (model, collection) in models.items():
        pipe = StylePipeline.from_pretrained(model, num_styles=16)
        side = pipe.generator.sample_size
        samples = [to_pil(image) for image in pipe.styles]
        _strip(
            [(_grid(samples, side), f"{name}: 16 samples (seed 0), {side} px"),
             (_grid(_painting_crops(collection, side, 16), side),
              "16 random paintings at that scale (a square)")],
            OUT / f"samples_vs_paintings_{name}.jpg", tile=4 * side,
        )  # fmt: skip


def _enlarged_centre(image: Image.Image, side: int = 32, scale: int = 4) -> Image.Image:
    """The centre `side` px of a square image, each pixel repeated `scale` x `scale` times."""
    c = (image.width - side) // 2
    crop = image.crop((c, c, c + side, c + side))
    return crop.resize((side * scale, side * scale), Image.Resampling.NEAREST)


def details(models: dict[str, tuple[str, str]] = SHIPPED) -> None:
    """Each model's pixels enlarged 4x (nearest): the centre 32 px of 4 samples beside the same
    of 4 paintings at the same scale, where 2 x 2 blocks and stepped outlines show."""
    for name, (model, collection) in models.items():
        generator = StyleGenerator.from_pretrained(model)
        samples = [_enlarged_centre(to_pil(image)) for image in generator.sample(4)]
        crops = _painting_crops(collection, generator.sample_size, 4)
        crops = [_enlarged_centre(crop) for crop in crops]
        _strip(
            [(_grid(samples, 128, 2), f"{name}: 4 samples, centre 32 px, 4x"),
             (_grid(crops, 128, 2), "4 paintings at that scale, 4x")],
            OUT / f"details_{name}.png", tile=256,
        )  # fmt: skip


FIGURES = {"style_weights": style_weights, "style_sizes": style_sizes, "scales": scales,
           "gallery": gallery, "samples_vs_paintings": samples_vs_paintings,
           "details": details}  # fmt: skip
#: The figures of a model, which `--model` replaces the shipped ones in.
MODEL_FIGURES = {"samples_vs_paintings": samples_vs_paintings, "details": details}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("figures", nargs="*", choices=[*FIGURES, []], default=list(FIGURES))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--model", action="append", metavar="NAME=MODEL:COLLECTION",
        help="samples_vs_paintings and details of this model instead of the shipped ones "
        "(repeatable)",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = {}
    for spec in args.model or ():
        label, _, rest = spec.partition("=")
        model, _, collection = rest.rpartition(":")
        models[label] = (model, collection)
    for name in args.figures:
        if name in MODEL_FIGURES and models:
            MODEL_FIGURES[name](models)
        else:
            FIGURES[name]()


if __name__ == "__main__":
    main()
