"""Style fidelity: does a generated style batch paint a photo as well as real paintings do?

For each photo, at the default transfer settings: (a) paint it with a shipped model's generated
batch (of the pipeline's default size, or `--num-styles`), (b) paint it with a random batch of 16
of the model's training paintings (`--styles`). Both outputs, and the unpainted photo, are scored
on one objective: the style loss against the mean Gram of *all* the training paintings, at the
output size. Then

    fidelity = (loss(photo) - loss(a)) / (loss(photo) - loss(b))

1 means the generated batch moved the photo as far towards the painter's style as real paintings
did; 0 means it did nothing. (c) paints it with *all* the paintings as `--styles` (exactly the
objective's targets): a learned style that paints worse than simply pointing at the folder says
so in the "generated / all" column. Each layer preset paints and judges on its own layers. The
style images of (b), (c) and of the objective are prepared at the model's scale (the style size
the pipeline uses for its samples), so all batches are judged alike.

    .venv/bin/python benchmarks/style_fidelity.py vangogh [--photos 1 13 23] [--data DIR]
        [--seed 0] [--seeds 4] [--num-styles N] [--layers ast-gan|gatys|both] [--update-card]

Every figure is the mean over `--seeds` sample seeds, with the range; a seed draws both the
generated batch and the random real one. `--update-card` writes the means and the per-seed
figures into the model card.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from artstyle import PipelineConfig, StylePipeline, StyleTransfer
from artstyle.config import NUM_STYLES
from artstyle.gan import read_card, write_card
from artstyle.images import find_images

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


PRESETS = ("ast-gan", "gatys")
#: the real batch that defines fidelity 1, whatever size the generated batch has
REAL = 16


def fidelities(
    model: str,
    paintings: list[Path],
    photos: list[int],
    seeds: range,
    layers: str,
    console: Console,
    num_styles: int,
) -> dict[str, dict[str, list[float]]]:
    """Per photo, one figure per sample seed: the generated batch's fidelity, that of all the
    paintings as `--styles`, and their ratio, painted and judged on one layer preset. A seed
    draws both the generated batch and the random real one."""
    first = StylePipeline.from_pretrained(model, layers=layers, num_styles=num_styles)
    cfg: PipelineConfig = first.config  # the defaults, with the model's style size
    pipes = {seed: StylePipeline(first.generator, cfg, seed=seed) for seed in seeds}
    console.print(
        f"{model}, {layers} layers: {cfg.targets.num_styles} generated styles against {REAL} real, "
        f"at style size {cfg.targets.style_size}, sample seeds {seeds.start}-{seeds.stop - 1}; "
        f"objective: all {len(paintings)} paintings"
    )
    # all the paintings as --styles paint with exactly the objective's targets; the transfer
    # starts from the photo, so their output does not depend on the seed
    judge = StyleTransfer(paintings, cfg)

    table = Table(title=f"style fidelity of {model}, {layers} layers (mean and range over seeds)")
    for col in ("photo", "fidelity", "all's fidelity", "generated / all", "seconds"):
        table.add_column(col, justify="right")
    result: dict[str, dict[str, list[float]]] = {"generated": {}, "all": {}, "vs all": {}}
    for number in photos:
        photo = SHARED / "photos" / f"photo_{number:04d}.jpg"
        start = time.perf_counter()
        base = judge.score(photo, photo)["style"]  # how far the photo itself is from them
        of_all = _gain(judge, photo, base, judge)
        figures: dict[str, list[float]] = {name: [] for name in result}
        for seed in seeds:
            real = StyleTransfer(random.Random(seed).sample(paintings, REAL), cfg)
            of_real = _gain(judge, photo, base, real)
            of_generated = _gain(judge, photo, base, pipes[seed].transfer)
            figures["generated"].append(round(of_generated / of_real, 3))
            figures["all"].append(round(of_all / of_real, 3))
            figures["vs all"].append(round(of_generated / of_all, 3))
        for name, values in figures.items():
            result[name][photo.name] = values
        seconds = time.perf_counter() - start
        table.add_row(photo.name, *(_spread(v) for v in figures.values()), f"{seconds:.0f}")
    for label, pick in (("overall (mean)", statistics.mean), ("worst", min)):
        means = (pick(map(statistics.mean, per.values())) for per in result.values())
        table.add_row(label, *(f"{value:.3f}" for value in means), "")
    console.print(table)
    return result


def _gain(judge: StyleTransfer, photo: Path, base: float, painter: StyleTransfer) -> float:
    """How far `painter` moves the photo (whose own style loss is `base`) towards all the
    paintings, on the judge's style loss."""
    return base - judge.score(photo, painter(photo))["style"]


def _spread(values: list[float]) -> str:
    return f"{_mean(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def _mean(values: list[float]) -> float:
    return round(statistics.mean(values), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="shipped model name, generator file or run folder")
    parser.add_argument("--data", type=Path, help="its training paintings [default: shared]")
    parser.add_argument("--photos", type=int, nargs="+", default=[1, 13, 23], help="Kodak numbers")
    parser.add_argument("--seed", type=int, default=0, help="first sample seed")
    parser.add_argument(
        "--seeds", type=int, default=4, help="sample seeds averaged over (seed, seed+1, ...)"
    )
    parser.add_argument(
        "--num-styles", type=int, default=NUM_STYLES, help="size of the generated batch"
    )
    parser.add_argument(
        "--layers", choices=[*PRESETS, "both"], default="both", help="layer preset(s)"
    )
    parser.add_argument("--update-card", action="store_true", help="write into the model card")
    args = parser.parse_args()
    data = args.data or SHARED / "paintings" / Path(args.model).stem
    paintings = find_images([data])
    console = Console()
    presets = PRESETS if args.layers == "both" else (args.layers,)
    seeds = range(args.seed, args.seed + args.seeds)
    found = {
        preset: fidelities(
            args.model, paintings, args.photos, seeds, preset, console, args.num_styles
        )
        for preset in presets
    }
    if args.update_card:
        source = StylePipeline.from_pretrained(args.model).generator.source
        photos = " ".join(map(str, args.photos))
        command = (
            f"python benchmarks/style_fidelity.py {args.model} --photos {photos} --seed {args.seed}"
            f" --seeds {args.seeds} --layers {args.layers}"
        )
        if args.data:
            command += f" --data {args.data.name}"
        command += f" --num-styles {args.num_styles}"
        card = {**read_card(source), "fidelity_command": command, "fidelity_seeds": list(seeds)}
        for preset, figures in found.items():
            suffix = "" if preset == "ast-gan" else f"_{preset}"
            for name, key in (
                ("generated", "style_fidelity"),
                ("all", "style_fidelity_all_paintings"),
                ("vs all", "style_fidelity_vs_all"),
            ):
                per_photo = figures[name]
                card[f"{key}{suffix}"] = {k: _mean(v) for k, v in per_photo.items()}
                card[f"{key}{suffix}_seeds"] = per_photo
        write_card(source, card)
        console.print(f"updated the card of {source}")


if __name__ == "__main__":
    main()
