"""Peak memory of painting large outputs, whole and in tiles.

Each row is a fresh process painting Kodak 13 with 16 van Gogh paintings at one size, either
whole (`tile_size=0`) or in tiles of `--tile` px (the defaults choose tiles from the free
memory only when whole would not fit; here every size is also run tiled, to compare),
reporting its peak resident memory (ru_maxrss), its wall time and, for tiled runs, a seam figure:
the mean absolute difference between neighbouring pixels across the tile borders over the same
figure across all pixel lines, beside the same figure on the lines midway between the borders
(what the picture's content alone gives: a seam shows as a border figure above the midway one).
The peak is reached in the first evaluation at full size, so each run paints its 512-px base
pass with 10 evaluations and makes only `--steps` at each doubling above it; a whole 4096-px run
is not started where it cannot fit (its need is estimated). Each size and mode runs once per
`--precision` (bf16 keeps activations in half the bytes; `artstyle.precision`).

    .venv/bin/python benchmarks/memory.py [--sizes 1024 2048 4096] [--steps 3] [--tile 512]
        [--precision fp32 bf16]
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def child(size: int, tile: int | None, steps: int, save: str | None, precision: str) -> None:
    """Paint in this process and print what was measured as JSON."""
    import random

    from artstyle import StyleTransfer
    from artstyle.device import keep_freed_memory
    from artstyle.nst import tiles

    keep_freed_memory()  # as the CLI does
    files = sorted((SHARED / "paintings" / "vangogh").iterdir())
    styles = random.Random(0).sample(files, 16)
    photo = SHARED / "photos" / "photo_0013.jpg"
    transfer = StyleTransfer(
        styles, size=size, steps=10, refine_steps=steps, tile_size=tile, precision=precision
    )
    start = time.perf_counter()
    result = transfer.run(photo)
    seconds = time.perf_counter() - start
    h, w = result.tensor.shape[-2:]
    side = tiles.tile_side(h, w, tile, torch.device("cpu"))
    seam = control = None
    if side is not None:
        margin, stride = tiles.receptive_margin(transfer.net)
        rows = [s.inner.start for s in tiles.spans(h, side, margin, stride)[1:]]
        cols = [s.inner.start for s in tiles.spans(w, side, margin, stride)[1:]]
        seam = seam_ratio(result.tensor, rows, cols)
        # the same figure on the lines midway between the borders: what content alone gives
        control = seam_ratio(result.tensor, midways(rows, h), midways(cols, w))
    if save:
        result.image.save(save)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"peak": peak, "seconds": seconds, "tile": side, "seam": seam,
                      "control": control}))  # fmt: skip


def midways(borders: list[int], length: int) -> list[int]:
    """The lines halfway between consecutive borders (and the image's edges)."""
    edges = [0, *borders, length]
    return [(a + b) // 2 for a, b in itertools.pairwise(edges) if 0 < (a + b) // 2 < length]


def seam_ratio(image: torch.Tensor, rows: list[int], cols: list[int]) -> float:
    """Mean |difference| of neighbouring pixels across the given border lines / across all."""
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean(dim=(0, 1, 2))
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean(dim=(0, 1, 3))
    border = [float(dx[c - 1]) for c in cols] + [float(dy[r - 1]) for r in rows]
    everywhere = (float(dx.sum()) + float(dy.sum())) / (len(dx) + len(dy))
    return sum(border) / len(border) / everywhere if border else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    parser.add_argument("--steps", type=int, default=3, help="evaluations at each doubling")
    parser.add_argument("--tile", type=int, default=512, help="tile side of the tiled runs")
    parser.add_argument("--save", type=Path, help="folder for the tiled results")
    parser.add_argument(
        "--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16", "fp16"]
    )
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        size, tile, steps, save, precision = args.child
        child(int(size), int(tile), int(steps), save or None, precision)
        return

    from artstyle.memory import available_memory
    from artstyle.nst.tiles import BYTES_PER_PIXEL, WHOLE_SHARE

    free = available_memory(torch.device("cpu"))
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    table = Table(
        title=f"Kodak 13, 16 van Gogh paintings, 10 evaluations at 512, {args.steps} per doubling"
    )
    columns = ("size", "mode", "precision", "tile", "peak RSS GiB", "wall s", "seam ratio",
               "midway lines")  # fmt: skip
    for col in columns:
        table.add_column(col, justify="right")
    for size, mode, precision in itertools.product(args.sizes, ("whole", "tiled"), args.precision):
        estimate = size * size * BYTES_PER_PIXEL
        if mode == "whole" and estimate > 0.9 * free:
            need = f"~{estimate / 2**30:.0f} (fp32 estimate: not run, {free / 2**30:.0f} GiB free)"
            table.add_row(str(size), mode, precision, "-", need, "-", "-", "-")
            continue
        name = f"tiled_{size}_{precision}.png"
        save = str(args.save / name) if args.save and mode == "tiled" else ""
        tile = "0" if mode == "whole" else str(args.tile)
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(size), tile, str(args.steps), save,
             precision],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        r = json.loads(out.stdout.strip().splitlines()[-1])
        table.add_row(
            str(size), mode, precision, str(r["tile"] or "-"), f"{r['peak'] / 2**30:.2f}",
            f"{r['seconds']:.0f}", "-" if r["seam"] is None else f"{r['seam']:.2f}",
            "-" if r["control"] is None else f"{r['control']:.2f}",
        )  # fmt: skip
        Console().print(f"{size} {mode} {precision}: {r}")
    Console().print(table)
    print(f"whole-image evaluations are chosen while they need at most {WHOLE_SHARE:.0%} of "
          f"the free memory ({free / 2**30:.1f} GiB now)")  # fmt: skip


if __name__ == "__main__":
    main()
