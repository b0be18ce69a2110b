"""`artstyle evaluate`: every figure of a trained generator against its paintings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from artstyle.cli.app import app, console, skipped_line
from artstyle.config import TrainConfig
from artstyle.errors import ArtstyleError
from artstyle.evaluation import DEFAULT_SEEDS, Evaluator, Measures
from artstyle.gan import (
    CHECKPOINT,
    GRID_PERIOD,
    INCEPTION_KID_SIZE,
    SUBSETS,
    PaintingSet,
    StyleGenerator,
    card_path,
    data_description,
    load_paintings,
    portable,
    read_card,
    write_card,
)
from artstyle.settings import settings_of


@app.command("evaluate")
def evaluate_command(
    model: str = typer.Argument(..., help="shipped name, generator file, or run folder"),
    data: Path = typer.Argument(..., help="folder of paintings to compare with (the training set)"),
    n: int = typer.Option(
        64, "-n", min=2, help="generated samples (the style gap's floor uses as many paintings)"
    ),
    seed: int = typer.Option(0, help="first seed of the samples and of the KID subsets"),
    seeds: int = typer.Option(
        DEFAULT_SEEDS,
        min=1,
        help="sample seeds every figure is averaged over (seed, seed+1, ...): one draw of 64 "
        "samples swings Inception KID by about 25",
    ),
    baseline: str | None = typer.Option(
        None,
        help="a generator trained another way (e.g. without DiffAugment), measured beside MODEL "
        "on the same samples and paintings",
    ),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
    update_card: bool = typer.Option(
        False, "--update-card", help="write the results into the model card beside the weights"
    ),
) -> None:
    """Measure a generator against a folder of paintings: style gap, Inception KID, VGG-KID and a
    memorisation check.

    The style gap is what the style stage consumes: the relative error of the generated batch's
    mean Gram matrices (per style layer) from the paintings', as a multiple of the floor a random
    batch of as many real paintings reaches, on both layer presets (ast-gan: the shallow default;
    gatys: relu1_1..relu5_1, shapes and strokes). Every figure is the mean over --seeds sample
    seeds, with the range. Inception KID (x1000) uses the standard FID Inception-v3
    (pip install 'artstyle[metrics]'). VGG-KID is KID on this project's VGG19 features: compare it
    only with other VGG-KIDs on the same folder. The memorisation ratio is about 1 for novel
    samples, well below 1 for copied paintings. Grid contrast is about 1 for images without a
    grid; a generator's 2 x 2 pixel blocks or outlines stepped along its noise cells raise it.

    Examples:

      artstyle evaluate runs/monet paintings/monet -n 500 --update-card

      artstyle evaluate runs/monet paintings/monet --baseline runs/monet_plain --update-card
    """
    gens = [StyleGenerator.from_pretrained(name, device) for name in [model, baseline] if name]
    if update_card and gens[0].source.name == CHECKPOINT:
        raise ArtstyleError(
            f"{gens[0].source} is a training checkpoint, which has no model card; evaluate the "
            "run's generator.safetensors (written when training finishes) to update a card"
        )
    paintings = _paintings(data, gens[0].config.networks.image_size)
    results = _measure(gens, paintings, device, n, range(seed, seed + seeds))
    Console().print(_table(gens, results, paintings, data, n, range(seed, seed + seeds)))
    if update_card:
        command = f"artstyle evaluate {portable(model)} {portable(data)} -n {n} --seed {seed}"
        command += f" --seeds {seeds}" + (f" --baseline {portable(baseline)}" if baseline else "")
        _update_card(gens, results, data_description(data, len(paintings)), command)


def _paintings(data: Path, size: int) -> PaintingSet:
    """The paintings as the generator sees them (centre crops); unreadable ones are skipped."""
    return load_paintings(data, size, "center", on_skip=skipped_line, min_images=2)


def _measure(
    gens: list[StyleGenerator], paintings: PaintingSet, device: str, n: int, seeds: range
) -> list[Measures]:
    """Every figure of every generator against the same paintings (their features once)."""
    evaluator = Evaluator(paintings, device)
    results = []
    for gen in gens:
        source = escape(str(gen.source))
        with console.status(f"measuring {source} ({n} samples, {len(paintings)} paintings)"):
            results.append(evaluator(gen, n=n, seeds=seeds))
    if evaluator.inception_problem:
        console.print(
            f"[yellow]no Inception KID:[/] {escape(evaluator.inception_problem)}", highlight=False
        )
    return results


def _table(
    gens: list[StyleGenerator],
    results: list[Measures],
    paintings: PaintingSet,
    data: Path,
    n: int,
    seeds: range,
) -> Table:
    """One column per generator, one row per measure, and how to read it."""
    table = Table(title=f"generators vs {escape(str(data))}", title_justify="left")
    table.add_column("measure")
    for gen in gens:
        table.add_column(escape(str(gen.source)), justify="right", overflow="fold")
    table.add_column("reading")
    _gap_rows(table, results, n)
    table.add_row(
        "Inception KID x1000",
        *(r.inception_kid.text(1) if r.inception_kid else "-" for r in results),
        f"FID Inception-v3 at {INCEPTION_KID_SIZE} px; lower is better",
    )
    table.add_row(
        "VGG-KID",
        *(r.vgg_kid.text(4) for r in results),
        "this project's VGG19 features; not Inception KID",
    )
    table.add_row(
        "memorisation ratio",
        *(r.memorisation.text(2) for r in results),
        "~1 novel like the paintings; << 1 copies them",
    )
    table.add_row(
        "grid contrast",
        *(r.grid.text(2) for r in results),
        f"edges on a {GRID_PERIOD}-px grid: 1 none (the paintings: "
        f"{results[0].paintings_grid:.2f}); 2 x 2 blocks, stepped outlines raise it",
    )
    _closest_row(table, results, paintings)
    table.add_row(
        "iterations", *(str(g.card.get("iterations", "?")) for g in gens), "training steps"
    )
    table.add_row(
        "samples / paintings",
        *(f"{r.vgg[0].generated} / {r.vgg[0].reference}" for r in results),
        f"sample seeds {seeds[0]}-{seeds[-1]}; KID over {SUBSETS} subsets of "
        f"{results[0].vgg[0].subset_size}",
    )
    return table


def _gap_rows(table: Table, results: list[Measures], n: int) -> None:
    """The style gap on each layer preset, then per layer."""
    for preset, first in results[0].gaps.items():
        table.add_row(
            f"style gap, {preset} layers",
            *(
                f"{r.gaps[preset].ratio:.2f}x floor ({r.gaps[preset].gap.text()} vs "
                f"{r.gaps[preset].floor.text()})"
                for r in results
            ),
            f"mean-Gram error / that of {n} real paintings (1 = as good)",
        )
        for layer, (_, floor) in first.per_layer().items():
            table.add_row(
                f"  {layer}",
                *(f"{r.gaps[preset].per_layer()[layer][0]:.3f}" for r in results),
                f"floor {floor:.3f}",
            )


def _closest_row(table: Table, results: list[Measures], paintings: PaintingSet) -> None:
    """Each generator's sample closest to a painting (first seed), and that painting."""
    closest = [int(r.vgg[0].distances.argmin()) for r in results]
    table.add_row(
        "closest sample",
        *(
            f"{float(r.vgg[0].distances[i]):.3f}: sample {i} ~ "
            f"{escape(paintings.files[int(r.vgg[0].nearest[i])].name)}"
            for r, i in zip(results, closest)
        ),
        "distance to the nearest painting",
    )


def _update_card(
    gens: list[StyleGenerator], results: list[Measures], eval_data: str, command: str
) -> None:
    """Write the model's figures (and its baseline's) into the card beside its weights."""
    card = {**read_card(gens[0].source), **results[0].card_fields()}
    card["eval_data"] = eval_data
    card["eval_command"] = command
    if len(gens) > 1:
        card["baseline"] = baseline_fields(gens[0], gens[1], results[1])
    write_card(gens[0].source, card)
    console.print(f"updated {escape(str(card_path(gens[0].source)))} and its .md")


def baseline_fields(
    model: StyleGenerator, baseline: StyleGenerator, result: Measures
) -> dict[str, Any]:
    """What a card keeps of a baseline: its scores, its training length, how it was trained
    differently (setting: [this model's value, the baseline's])."""
    mine = model.config.flat()
    theirs = baseline.config.flat()
    # how long it ran and what it recorded (the `run` section) is not recipe; the length is
    # `iterations`
    ignored = {s.flat for s in settings_of(TrainConfig) if s.path.split(".")[0] == "run"}
    return {
        "source": portable(baseline.source),
        "iterations": baseline.card.get("iterations"),
        **result.card_fields(),
        "differences": {
            k: [mine[k], theirs[k]] for k in mine if k not in ignored and mine[k] != theirs[k]
        },
    }
