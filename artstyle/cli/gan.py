"""`artstyle train | sample | models`: the GAN stage from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from artstyle.cli.app import EXIT_USAGE, app, console, error_line
from artstyle.config import CropMode, GanLoss, TrainConfig
from artstyle.errors import ImageReadError
from artstyle.gan.export import read_card
from artstyle.gan.generator import StyleGenerator, shipped_models, weights_dir
from artstyle.gan.train import TrainingInterrupted, train
from artstyle.images import image_grid, write_image

_TRAIN_HELP = """Train a DCGAN on a folder of paintings (searched recursively).

Defaults follow Ast-GAN: Adam 2e-4 / beta1 0.5, batch 128, LeakyReLU 0.3 in D, real labels
0.85 raised to 0.95 half-way. For a few hundred paintings add `--diffaugment
color,translation,cutout`. Ctrl-C saves a checkpoint; `--resume` continues exactly.

Example:
  artstyle train paintings/monet -o runs/monet --diffaugment color,translation,cutout
"""


@app.command("train", help=_TRAIN_HELP)
def train_command(
    data: Path = typer.Argument(..., help="folder of training images (recursive)"),
    out: Path = typer.Option(..., "-o", "--out", help="run folder for logs, samples, checkpoints"),
    config_file: Path | None = typer.Option(None, "--config", help="TOML file of TrainConfig"),
    epochs: int | None = typer.Option(None, help="epochs [default: 300]"),
    batch_size: int | None = typer.Option(None, help="batch size [default: 128]"),
    lr: float | None = typer.Option(None, help="Adam learning rate of G and D [default: 2e-4]"),
    lr_d: float | None = typer.Option(None, help="separate learning rate for D"),
    loss: GanLoss | None = typer.Option(None, help="bce, hinge or wgan-gp [default: bce]"),
    diffaugment: str | None = typer.Option(
        None, help="DiffAugment policy, e.g. color,translation,cutout [default: none]"
    ),
    crop: CropMode | None = typer.Option(None, help="center crop or random patch"),
    flip: bool | None = typer.Option(None, "--flip/--no-flip", help="random horizontal flips"),
    width: int | None = typer.Option(None, help="base width of G and D [default: 64]"),
    image_size: int | None = typer.Option(None, help="64 or 128 [default: 64]"),
    arch: str | None = typer.Option(None, help="dcgan or mlp (vanilla GAN)"),
    ema: float | None = typer.Option(None, help="EMA decay of G for sampling, e.g. 0.999"),
    g_threshold: float | None = typer.Option(None, help="skip G's update while its loss < this"),
    d_threshold: float | None = typer.Option(None, help="skip D's update while its loss < this"),
    sample_every: int | None = typer.Option(None, help="epochs between sample grids"),
    checkpoint_every: int | None = typer.Option(None, help="epochs between checkpoints"),
    eval_every: int | None = typer.Option(
        None, help="epochs between VGG-KID evaluations, logged to eval.csv [default: none]"
    ),
    seed: int | None = typer.Option(None, help="random seed [default: 0]"),
    device: str | None = typer.Option(None, help="auto, cpu or cuda"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="live progress bar"),
) -> None:
    given: dict[str, Any] = {
        "epochs": epochs, "batch_size": batch_size, "lr_d": lr_d, "loss": loss,
        "diffaugment": diffaugment, "crop": crop, "flip": flip, "width": width,
        "image_size": image_size, "arch": arch, "ema": ema, "g_threshold": g_threshold,
        "d_threshold": d_threshold, "sample_every": sample_every,
        "checkpoint_every": checkpoint_every, "eval_every": eval_every, "seed": seed,
        "device": device,
    }  # fmt: skip
    overrides = {k: v for k, v in given.items() if v is not None}
    if lr is not None:
        overrides = {"lr_g": lr, "lr_d": lr, **overrides}
    config = (
        TrainConfig.from_toml(config_file, **overrides)
        if config_file
        else TrainConfig.model_validate(overrides)
    )

    def skipped(exc: ImageReadError) -> None:
        console.print(f"[yellow]skipped[/] {exc}", highlight=False)

    try:
        result = train(
            data, out, config, resume=resume, console=console, on_skip=skipped, progress=progress
        )
    except TrainingInterrupted as exc:
        console.print(f"[yellow]interrupted:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    console.print(
        f"done: {result.steps} iterations in {result.seconds / 60:.1f} min "
        f"(D skipped {result.skipped_d}, G skipped {result.skipped_g})"
    )
    typer.echo(result.generator_path)


@app.command("sample")
def sample_command(
    model: str = typer.Argument(..., help="shipped name, generator file, or run folder"),
    n: int = typer.Option(64, "-n", help="number of images"),
    out: Path = typer.Option(..., "-o", "--out", help="grid.png, or a folder/ for one file each"),
    seed: int = typer.Option(0, help="random seed; the same seed gives the same images"),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
) -> None:
    """Generate new images from a trained generator: a grid, or one file each in a folder.

    Example: artstyle sample impressionism -n 64 -o grid.png
    """
    gen = StyleGenerator.from_pretrained(model, device)
    images = gen.sample(n, seed).cpu()
    if out.suffix:
        path = write_image(image_grid(images), out)
        typer.echo(path)
        return
    for i, img in enumerate(images):
        write_image(img, out / f"sample_{i:04d}.png")
    typer.echo(out)


@app.command("models")
def models_command() -> None:
    """List the shipped generators with the key facts of their model cards."""
    names = shipped_models()
    if not names:
        error_line(f"no shipped generators in {weights_dir()}")
        raise typer.Exit(EXIT_USAGE)
    table = Table(
        "name", "data", "images", "iterations", "VGG-KID", "baseline VGG-KID", "memorisation", "MB",
        caption="VGG-KID: lower is better; baseline: the same data and iterations without "
        "DiffAugment (see the card, weights/NAME.md)",
    )  # fmt: skip
    for name in names:
        card = read_card(weights_dir() / f"{name}.safetensors")
        table.add_row(
            name,
            Path(str(card.get("data", "?"))).name,
            str(card.get("images", "?")),
            str(card.get("iterations", "?")),
            str(card.get("vgg_kid", "?")),
            str(card.get("baseline", {}).get("vgg_kid", "-")),
            str(card.get("memorisation_ratio", "?")),
            f"{card.get('bytes', 0) / 1e6:.1f}",
        )
    console.print(table)
