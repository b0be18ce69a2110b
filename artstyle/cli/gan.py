"""`artstyle train | sample | models`: the GAN stage from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from artstyle import train
from artstyle.cli.app import EXIT_USAGE, app, console, error_line, field_help
from artstyle.config import RECIPES, CropMode, TrainConfig, read_toml, train_recipe
from artstyle.errors import ImageReadError
from artstyle.gan import (
    StyleGenerator,
    TrainingInterrupted,
    read_card,
    shipped_models,
    weights_dir,
    world_from_env,
)
from artstyle.images import image_grid, write_image

_TRAIN_HELP = """Train a GAN on a folder of paintings (searched recursively).

With no options it runs the recommended recipe (docs/gan.md): a texture generator that learns
64-px patches of the paintings at twice that scale, with Gram feature matching, flips and an
EMA copy, then settles the EMA copy's style statistics on the paintings' (`--settle-steps`),
so its 128-px samples paint like the collection. `--recipe ast-gan` is the seed's
plain DCGAN. Settings apply in this order: the recipe, then `--config FILE.toml`, then options.
Ctrl-C saves a checkpoint; `--resume` continues exactly (also to settle a finished run anew:
`--resume --settle-steps 500`). Under torchrun the same command trains
on several processes or GPUs (`--batch-size` is the global batch; docs/distributed.md).

Examples:
  artstyle train paintings/monet -o runs/monet

  torchrun --nproc-per-node 4 -m artstyle train paintings/monet -o runs/monet

  artstyle train paintings/monet -o runs/monet_dcgan --recipe ast-gan
"""


def _about(field: str, text: str = "") -> str:
    return field_help(TrainConfig, field, text)


@app.command("train", help=_TRAIN_HELP)
def train_command(
    data: Path = typer.Argument(..., help="folder of training images (recursive)"),
    out: Path = typer.Option(..., "-o", "--out", help="run folder for logs, samples, checkpoints"),
    recipe: str = typer.Option(
        "artstyle", help=f"starting point for the settings: {' or '.join(RECIPES)}"
    ),
    config_file: Path | None = typer.Option(None, "--config", help="TOML file of TrainConfig"),
    epochs: int | None = typer.Option(None, help=_about("epochs", "epochs")),
    batch_size: int | None = typer.Option(None, help=_about("batch_size", "batch size")),
    lr: float | None = typer.Option(None, help=_about("lr_g", "Adam learning rate of G and D")),
    lr_d: float | None = typer.Option(None, help="separate learning rate for D"),
    anneal: float | None = typer.Option(None, help=_about("anneal")),
    anneal_lr: float | None = typer.Option(None, help=_about("anneal_lr")),
    loss: str | None = typer.Option(None, help=_about("loss")),
    diffaugment: str | None = typer.Option(None, help=_about("diffaugment")),
    crop: CropMode | None = typer.Option(None, help=_about("crop")),
    flip: bool | None = typer.Option(None, "--flip/--no-flip", help=_about("flip")),
    width: int | None = typer.Option(None, help=_about("width")),
    image_size: int | None = typer.Option(None, help=_about("image_size", "64 or 128")),
    arch: str | None = typer.Option(None, help=_about("arch")),
    g_norm: str | None = typer.Option(None, help=_about("g_norm")),
    ema: float | None = typer.Option(None, help=_about("ema")),
    gram_weight: float | None = typer.Option(None, help=_about("gram_weight")),
    gram_scale: str | None = typer.Option(None, help=_about("gram_scale")),
    gram_batch: int | None = typer.Option(None, help=_about("gram_batch")),
    gram_layers: str | None = typer.Option(None, help=_about("gram_layers")),
    whole_weight: float | None = typer.Option(None, help=_about("whole_weight")),
    whole_diffaugment: str | None = typer.Option(None, help=_about("whole_diffaugment")),
    whole_discriminator: str | None = typer.Option(None, help=_about("whole_discriminator")),
    lecam_weight: float | None = typer.Option(None, help=_about("lecam_weight")),
    settle_steps: int | None = typer.Option(None, help=_about("settle_steps")),
    settle_lr: float | None = typer.Option(None, help=_about("settle_lr")),
    g_threshold: float | None = typer.Option(None, help="skip G's update while its loss < this"),
    d_threshold: float | None = typer.Option(None, help="skip D's update while its loss < this"),
    sample_every: int | None = typer.Option(None, help=_about("sample_every")),
    checkpoint_every: int | None = typer.Option(None, help=_about("checkpoint_every")),
    eval_every: int | None = typer.Option(None, help=_about("eval_every")),
    seed: int | None = typer.Option(None, help=_about("seed", "random seed")),
    device: str | None = typer.Option(None, help=_about("device", "auto, cpu or cuda")),
    precision: str | None = typer.Option(None, help=_about("precision")),
    sync_bn: bool | None = typer.Option(None, "--sync-bn/--no-sync-bn", help=_about("sync_bn")),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out"),
    retune: bool = typer.Option(
        False,
        "--retune",
        help="with --resume: go on with the learning settings given here (a fine-tune; the "
        "architecture stays), recorded in the checkpoint and the card",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="live progress bar"),
) -> None:
    given: dict[str, Any] = {
        "epochs": epochs, "batch_size": batch_size, "lr_d": lr_d, "loss": loss,
        "anneal": anneal, "anneal_lr": anneal_lr,
        "diffaugment": diffaugment, "crop": crop, "flip": flip, "width": width,
        "image_size": image_size, "arch": arch, "g_norm": g_norm, "ema": ema,
        "gram_weight": gram_weight, "gram_scale": gram_scale, "gram_batch": gram_batch,
        "gram_layers": gram_layers,
        "whole_weight": whole_weight, "whole_diffaugment": whole_diffaugment,
        "whole_discriminator": whole_discriminator,
        "lecam_weight": lecam_weight,
        "settle_steps": settle_steps, "settle_lr": settle_lr,
        "g_threshold": g_threshold, "d_threshold": d_threshold, "sample_every": sample_every,
        "checkpoint_every": checkpoint_every, "eval_every": eval_every, "seed": seed,
        "device": device, "precision": precision, "sync_bn": sync_bn,
    }  # fmt: skip
    config = _train_config(recipe, config_file, lr, given)
    _train(data, out, config, resume=resume, retune=retune, progress=progress)


def _train(
    data: Path, out: Path, config: TrainConfig, *, resume: bool, retune: bool, progress: bool
) -> None:
    """Train, saying what happens on rank 0 only (under torchrun), and print the generator."""
    main = world_from_env().is_main
    say = console if main else Console(quiet=True)

    def skipped(exc: ImageReadError) -> None:
        say.print(f"[yellow]skipped[/] {escape(str(exc))}", highlight=False)

    try:
        result = train(
            data,
            out,
            config,
            resume=resume,
            retune=retune,
            console=say,
            on_skip=skipped,
            progress=progress,
        )
    except TrainingInterrupted as exc:
        say.print(f"[yellow]interrupted:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(130) from None
    say.print(
        f"done: {result.steps} iterations in {result.seconds / 60:.1f} min "
        f"(D skipped {result.skipped_d}, G skipped {result.skipped_g})"
    )
    if main:
        typer.echo(result.generator_path)


def _train_config(
    recipe: str, config_file: Path | None, lr: float | None, given: dict[str, Any]
) -> TrainConfig:
    """The recipe, then the TOML file, then the options given (`--lr` sets both rates unless
    `--lr-d` is given too)."""
    overrides = {k: v for k, v in given.items() if v is not None}
    if lr is not None:
        overrides = {"lr_g": lr, "lr_d": lr, **overrides}
    from_file = read_toml(config_file) if config_file else {}
    return train_recipe(recipe, **{**from_file, **overrides})


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
        "name", "data", "images", "iterations", "scale", "style gap (x floor)",
        "Inception KID", "VGG-KID", "memorisation", "MB",
        caption="style gap: mean-Gram error of 64 samples, x the floor of 64 real paintings "
        "(1 = as good as the paintings); lower KIDs are better; full cards: NAME.md",
    )  # fmt: skip
    for name in names:
        card = read_card(weights_dir() / f"{name}.safetensors")
        gap = card.get("style_gap")
        table.add_row(
            escape(name),
            escape(Path(str(card.get("data", "?"))).name),
            str(card.get("images", "?")),
            str(card.get("iterations", "?")),
            f"{card.get('style_size') or card.get('hyperparameters', {}).get('image_size')} px",
            f"{gap} ({card.get('style_gap_ratio')}x)" if gap is not None else "-",
            str(card.get("inception_kid_x1000", "-")),
            str(card.get("vgg_kid", "?")),
            str(card.get("memorisation_ratio", "?")),
            f"{card.get('bytes', 0) / 1e6:.1f}",
        )
    console.print(table)
