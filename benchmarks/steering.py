"""Steering a learned style: are "more like these" batches closer to the picks than a fresh batch,
and still diverse? (one run)

For each trial a fresh batch of 16 is drawn from a shipped generator and 4 of its images are
picked at random; then 16 "more like these" (`gan.steering.more_like`) at several spreads and a
second fresh batch (another seed) are drawn. Each batch is seen as the style stage sees it (VGG19
Gram matrices at the seed's style layers, at the generator's scale). Printed per spread, averaged
over the trials:

- distance to the picks: relative Frobenius error between the batch's mean Gram and the picks'
  mean Gram, averaged over the layers (what decides how the batch paints; lower is closer);
- diversity: mean pairwise distance between the batch's own images (relative Frobenius error
  between two images' Grams, averaged over layers and pairs); the target is at least half the
  fresh batch's.

It also walks `between` two picks (8 steps) and prints each step's distance to both ends.

    .venv/bin/python benchmarks/steering.py [--model vangogh] [--trials 8] [--figure docs/img/x.jpg]
"""

from __future__ import annotations

import argparse
import itertools
import random
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from rich.console import Console
from rich.table import Table

from artstyle.backbone import PRESETS, VGGFeatures, gram
from artstyle.gan import StyleBatch, StyleGenerator, between, more_like
from artstyle.images import image_grid, to_pil

SPREADS = (0.25, 0.5, 0.75)


def grams(net: VGGFeatures, images: torch.Tensor) -> list[torch.Tensor]:
    """Per style layer the Gram matrix of each image (N, C, C)."""
    with torch.no_grad():
        return [gram(f, net.unit) for f in net(images)]


def distance(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    """Relative Frobenius error of a's mean Gram from b's, averaged over layers."""
    errors = [(x.mean(0) - y.mean(0)).norm() / y.mean(0).norm() for x, y in zip(a, b)]
    return float(sum(errors) / len(errors))


def diversity(g: list[torch.Tensor]) -> float:
    """Mean relative distance between two images' Grams of one batch (pairs and layers)."""
    n = g[0].shape[0]
    values = []
    for i, j in itertools.combinations(range(n), 2):
        for layer in g:
            scale = (layer[i].norm() + layer[j].norm()) / 2
            values.append(float((layer[i] - layer[j]).norm() / scale))
    return sum(values) / len(values)


def outlined(images: torch.Tensor, picks: list[int]) -> list[Image.Image]:
    """The batch as pictures, the picked ones framed in green."""
    tiles = [to_pil(x) for x in images]
    for i in picks:
        draw = ImageDraw.Draw(tiles[i])
        draw.rectangle(
            (0, 0, tiles[i].width - 1, tiles[i].height - 1), outline=(40, 200, 80), width=4
        )
    return tiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="vangogh")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--figure", type=Path, help="write a batch and its 'more like these'")
    args = parser.parse_args()
    console = Console(width=150)
    gen = StyleGenerator.from_pretrained(args.model, "cpu")
    net = VGGFeatures(PRESETS["ast-gan"].style)

    rows: dict[str, list[tuple[float, float]]] = {}
    for trial in range(args.trials):
        fresh = StyleBatch.sampled(gen, 16, seed=100 + trial)
        picks = sorted(random.Random(trial).sample(range(16), 4))
        picked = grams(net, fresh.pick(picks).images(gen))
        batches = {"fresh batch (another seed)": StyleBatch.sampled(gen, 16, seed=200 + trial)}
        for spread in SPREADS:
            z = more_like(fresh.pick(picks).picked(), 16, spread, seed=300 + trial)
            batches[f"more like these, spread {spread}"] = StyleBatch(z, 400 + trial)
        for name, batch in batches.items():
            g = grams(net, batch.images(gen))
            rows.setdefault(name, []).append((distance(g, picked), diversity(g)))
        rows.setdefault("the picks themselves", []).append((0.0, diversity(picked)))
        if trial == 0 and args.figure:
            steered = batches["more like these, spread 0.5"].images(gen)
            tiles = outlined(fresh.images(gen), picks) + [to_pil(x) for x in steered]
            labels = ["picked" if i in picks else "" for i in range(16)]
            grid = image_grid(tiles, 8, labels=[*labels, "more like these:", *[""] * 15])
            args.figure.parent.mkdir(parents=True, exist_ok=True)
            grid.save(args.figure, quality=88)
            console.print(f"figure: {args.figure}")

    table = Table(title=f"{args.model}: 4 picks of 16, {args.trials} trials (mean)")
    for col in ("batch of 16", "distance to the picks", "diversity", "diversity / fresh"):
        table.add_column(col, justify="right")
    fresh_diversity = sum(d for _, d in rows["fresh batch (another seed)"]) / args.trials
    for name, values in rows.items():
        dist = sum(v for v, _ in values) / len(values)
        div = sum(d for _, d in values) / len(values)
        table.add_row(name, f"{dist:.3f}", f"{div:.3f}", f"{div / fresh_diversity:.2f}")
    console.print(table)

    fresh = StyleBatch.sampled(gen, 16, seed=100)
    a, b = fresh.z[0], fresh.z[1]
    path = grams(net, gen.decode(between(a, b, 8)))  # one noise map: only z changes
    ends = [[layer[k : k + 1] for layer in path] for k in (0, 7)]
    walk = Table(title="between two samples, 8 steps: distance of each step to the ends")
    for col in ("step", "to the first", "to the last"):
        walk.add_column(col, justify="right")
    for step in range(8):
        g = [layer[step : step + 1] for layer in path]
        walk.add_row(str(step), f"{distance(g, ends[0]):.3f}", f"{distance(g, ends[1]):.3f}")
    console.print(walk)


if __name__ == "__main__":
    main()
