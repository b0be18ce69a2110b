"""`artstyle evaluate`: VGG-KID and the memorisation check of a trained generator."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from artstyle.cli.app import app, console
from artstyle.errors import ArtstyleError, ImageReadError
from artstyle.gan.data import load_paintings
from artstyle.gan.export import card_path, read_card, write_card
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.metrics import SUBSETS, evaluate
from artstyle.gan.train import CHECKPOINT


@app.command("evaluate")
def evaluate_command(
    model: str = typer.Argument(..., help="shipped name, generator file, or run folder"),
    data: Path = typer.Argument(..., help="folder of paintings to compare with (the training set)"),
    n: int = typer.Option(500, "-n", min=2, help="number of generated samples"),
    seed: int = typer.Option(0, help="seed of the samples and of the KID subsets"),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
    update_card: bool = typer.Option(
        False, "--update-card", help="write the results into the model card beside the weights"
    ),
) -> None:
    """Measure a generator against a folder of paintings: VGG-KID and a memorisation check.

    VGG-KID is KID on this project's VGG19 features, not on Inception's.
    Compare it only with other VGG-KIDs on the same folder, never with published KID numbers.
    The memorisation ratio is about 1 for novel samples, well below 1 for copied paintings.

    Example: artstyle evaluate runs/monet paintings/monet -n 500 --update-card
    """
    gen = StyleGenerator.from_pretrained(model, device)
    if update_card and gen.source.name == CHECKPOINT:
        raise ArtstyleError(
            f"{gen.source} is a training checkpoint, which has no model card; evaluate the "
            "run's generator.safetensors (written when training finishes) to update a card"
        )

    def skipped(exc: ImageReadError) -> None:
        console.print(f"[yellow]skipped[/] {exc}", highlight=False)

    paintings = load_paintings(data, gen.config.image_size, "center", on_skip=skipped, min_images=2)
    with console.status(f"VGG19 features of {len(paintings)} paintings and {n} samples..."):
        result = evaluate(gen, paintings, n=n, seed=seed)

    closest = int(result.distances.argmin())
    table = Table(title=f"{gen.source} vs {data}", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("reading")
    table.add_row(
        "VGG-KID",
        f"{result.vgg_kid:.4f} ± {result.vgg_kid_std:.4f}",
        "lower is better, ~0 = same distribution; not Inception KID",
    )
    table.add_row(
        "memorisation ratio",
        f"{result.memorisation_ratio:.2f}",
        "~1 novel like the paintings; << 1 copies them",
    )
    table.add_row(
        "closest sample",
        f"{float(result.distances[closest]):.3f}",
        f"sample {closest} ~ {paintings.files[int(result.nearest[closest])].name}",
    )
    table.add_row("samples / paintings", f"{result.generated} / {result.reference}", f"seed {seed}")
    table.add_row("KID subsets", f"{SUBSETS} x {result.subset_size}", "mean ± std over subsets")
    Console().print(table)

    if update_card:
        card = {**read_card(gen.source), **result.card_fields(), "eval_data": str(data.resolve())}
        write_card(gen.source, card)
        console.print(f"updated {card_path(gen.source)} and its .md")
