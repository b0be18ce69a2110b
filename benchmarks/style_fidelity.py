"""Style fidelity: does a generated style batch paint a photo as well as real paintings do?

For each photo, at the default transfer settings: (a) paint it with a shipped model's generated
batch (`num_styles` samples), (b) paint it with a random batch of as many of the model's training
paintings (`--styles`). Both outputs, and the unpainted photo, are scored on one objective: the
style loss against the mean Gram of *all* the training paintings, at the output size. Then

    fidelity = (loss(photo) - loss(a)) / (loss(photo) - loss(b))

1 means the generated batch moved the photo as far towards the painter's style as real paintings
did; 0 means it did nothing. (c) paints it with *all* the paintings as `--styles` (exactly the
objective's targets): a learned style that paints worse than simply pointing at the folder says
so in the "generated / all" column. Each layer preset paints and judges on its own layers. The
style images of (b), (c) and of the objective are prepared at the model's scale (the style size
the pipeline uses for its samples), so all batches are judged alike.

    .venv/bin/python benchmarks/style_fidelity.py vangogh [--photos 1 13 23] [--data DIR]
        [--layers ast-gan|gatys|both] [--update-card]   # write the figures into the card
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
from artstyle.gan import read_card, write_card
from artstyle.images import find_images

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


PRESETS = ("ast-gan", "gatys")


def fidelities(
    model: str, paintings: list[Path], photos: list[int], seed: int, layers: str, console: Console
) -> dict[str, dict[str, float]]:
    """Per photo: the generated batch's fidelity and that of all the paintings as `--styles`,
    painted and judged on one layer preset."""
    pipe = StylePipeline.from_pretrained(model, seed=seed, layers=layers)
    cfg: PipelineConfig = pipe.config  # the defaults, with the model's style size
    real = random.Random(seed).sample(paintings, cfg.targets.num_styles)
    console.print(
        f"{model}, {layers} layers: {cfg.targets.num_styles} styles at style size "
        f"{cfg.targets.style_size}; "
        f"objective: all {len(paintings)} paintings"
    )
    judge = StyleTransfer(paintings, cfg)
    # all the paintings as --styles paint with exactly the objective's targets
    painters = {"generated": pipe.transfer, "real": StyleTransfer(real, cfg), "all": judge}

    table = Table(title=f"style fidelity of {model}, {layers} layers (style loss vs all)")
    for col in ("photo", "unpainted", "generated", f"{len(real)} real", "all paintings"):
        table.add_column(col, justify="right")
    for col in ("fidelity", "all's fidelity", "generated / all", "seconds"):
        table.add_column(col, justify="right")
    result: dict[str, dict[str, float]] = {"generated": {}, "all": {}}
    for number in photos:
        photo = SHARED / "photos" / f"photo_{number:04d}.jpg"
        start = time.perf_counter()
        outputs = {name: painter(photo) for name, painter in painters.items()}
        seconds = time.perf_counter() - start
        loss = {name: judge.score(photo, image)["style"] for name, image in outputs.items()}
        base = judge.score(photo, photo)["style"]
        gained = {name: base - value for name, value in loss.items()}
        fidelity = gained["generated"] / gained["real"]
        of_all = gained["all"] / gained["real"]
        result["generated"][photo.name] = round(fidelity, 3)
        result["all"][photo.name] = round(of_all, 3)
        table.add_row(
            photo.name,
            *(f"{v:.4g}" for v in (base, loss["generated"], loss["real"], loss["all"])),
            f"{fidelity:.2f}",
            f"{of_all:.2f}",
            f"{fidelity / of_all:.2f}",
            f"{seconds:.0f}",
        )
    for label, pick in (("overall (mean)", statistics.mean), ("worst", min)):
        gen, everything = pick(result["generated"].values()), pick(result["all"].values())
        table.add_row(label, "", "", "", "", f"{gen:.2f}", f"{everything:.2f}", "", "")
    console.print(table)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="shipped model name, generator file or run folder")
    parser.add_argument("--data", type=Path, help="its training paintings [default: shared]")
    parser.add_argument("--photos", type=int, nargs="+", default=[1, 13, 23], help="Kodak numbers")
    parser.add_argument("--seed", type=int, default=0, help="seed of both style batches")
    parser.add_argument(
        "--layers", choices=[*PRESETS, "both"], default="both", help="layer preset(s)"
    )
    parser.add_argument("--update-card", action="store_true", help="write into the model card")
    args = parser.parse_args()
    data = args.data or SHARED / "paintings" / Path(args.model).stem
    paintings = find_images([data])
    console = Console()
    presets = PRESETS if args.layers == "both" else (args.layers,)
    found = {
        preset: fidelities(args.model, paintings, args.photos, args.seed, preset, console)
        for preset in presets
    }
    if args.update_card:
        source = StylePipeline.from_pretrained(args.model).generator.source
        photos = " ".join(map(str, args.photos))
        command = (
            f"python benchmarks/style_fidelity.py {args.model} --photos {photos} --seed {args.seed}"
            f" --layers {args.layers}"
        )
        if args.data:
            command += f" --data {args.data.name}"
        card = {**read_card(source), "fidelity_command": command}
        for preset, figures in found.items():
            suffix = "" if preset == "ast-gan" else f"_{preset}"
            card[f"style_fidelity{suffix}"] = figures["generated"]
            card[f"style_fidelity_all_paintings{suffix}"] = figures["all"]
        write_card(source, card)
        console.print(f"updated the card of {source}")


if __name__ == "__main__":
    main()
