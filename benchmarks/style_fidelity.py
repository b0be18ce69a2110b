"""Style fidelity: does a generated style batch paint a photo as well as real paintings do?

For each photo, at the default transfer settings: (a) paint it with a shipped model's generated
batch (`num_styles` samples), (b) paint it with a random batch of as many of the model's training
paintings (`--styles`). Both outputs, and the unpainted photo, are scored on one objective: the
style loss against the mean Gram of *all* the training paintings, at the output size. Then

    fidelity = (loss(photo) - loss(a)) / (loss(photo) - loss(b))

1 means the generated batch moved the photo as far towards the painter's style as real paintings
did; 0 means it did nothing. The style images of (b) and of the objective are prepared at the
model's scale (the style size the pipeline uses for its samples), so both batches are judged alike.

    .venv/bin/python benchmarks/style_fidelity.py vangogh [--photos 1 13 23] [--data DIR]
        [--update-card]   # write the figures into the model card beside the weights
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from artstyle import PipelineConfig, StylePipeline, StyleTransfer
from artstyle.gan.export import read_card, write_card
from artstyle.images import find_images

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="shipped model name, generator file or run folder")
    parser.add_argument("--data", type=Path, help="its training paintings [default: shared]")
    parser.add_argument("--photos", type=int, nargs="+", default=[1, 13, 23], help="Kodak numbers")
    parser.add_argument("--seed", type=int, default=0, help="seed of both style batches")
    parser.add_argument("--update-card", action="store_true", help="write into the model card")
    args = parser.parse_args()
    data = args.data or SHARED / "paintings" / Path(args.model).stem
    paintings = find_images([data])
    console = Console()

    pipe = StylePipeline.from_pretrained(args.model, seed=args.seed)
    cfg: PipelineConfig = pipe.config  # the defaults, with the model's style size
    real = random.Random(args.seed).sample(paintings, cfg.num_styles)
    console.print(
        f"{args.model}: {cfg.num_styles} styles at style size {cfg.style_size}; "
        f"objective: all {len(paintings)} paintings of {data}"
    )
    painters = {"generated": pipe.transfer, "real": StyleTransfer(real, cfg)}
    judge = StyleTransfer(paintings, cfg)

    table = Table(title=f"style fidelity of {args.model} (style loss vs all paintings)")
    for col in ("photo", "unpainted", "generated batch", "real batch", "fidelity", "seconds"):
        table.add_column(col, justify="right")
    fidelities: dict[str, float] = {}
    for number in args.photos:
        photo = SHARED / "photos" / f"photo_{number:04d}.jpg"
        start = time.perf_counter()
        outputs = {name: painter(photo) for name, painter in painters.items()}
        seconds = time.perf_counter() - start
        loss = {name: judge.score(photo, image)["style"] for name, image in outputs.items()}
        base = judge.score(photo, photo)["style"]
        fidelity = (base - loss["generated"]) / (base - loss["real"])
        fidelities[photo.name] = round(fidelity, 3)
        table.add_row(
            photo.name,
            f"{base:.4g}",
            f"{loss['generated']:.4g}",
            f"{loss['real']:.4g}",
            f"{fidelity:.2f}",
            f"{seconds:.0f}",
        )
        console.print(f"{photo.name}: fidelity {fidelity:.2f}")
    values = list(fidelities.values())
    table.add_row("overall (mean)", "", "", "", f"{sum(values) / len(values):.2f}", "")
    table.add_row("worst", "", "", "", f"{min(values):.2f}", "")
    console.print(table)
    if args.update_card:
        source = pipe.generator.source
        photos = " ".join(map(str, args.photos))
        command = (
            f"python benchmarks/style_fidelity.py {args.model} --photos {photos} --seed {args.seed}"
        )
        if args.data:
            command += f" --data {args.data}"
        card = {**read_card(source), "style_fidelity": fidelities, "fidelity_command": command}
        write_card(source, card)
        console.print(f"updated the card of {source}")


if __name__ == "__main__":
    main()
