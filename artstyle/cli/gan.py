"""`artstyle train | settle | sample | models`: the GAN stage from the shell."""

from __future__ import annotations

import functools
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from artstyle import train
from artstyle.cli.app import (
    EXIT_USAGE,
    app,
    console,
    error_line,
    field_help,
    skipped_line,
    task_progress,
)
from artstyle.cli.settings import Flag, SettingsCommand, with_settings
from artstyle.config import RECIPES, SettleSettings, TrainConfig
from artstyle.gan import (
    StyleGenerator,
    TrainingInterrupted,
    read_card,
    settle_generator,
    shipped_models,
    weights_dir,
    world_from_env,
)
from artstyle.images import image_grid, write_image

_TRAIN_HELP = """Train a GAN on a folder of paintings (searched recursively).

With no options it runs the recommended recipe (docs/gan.md): a texture generator that learns
64-px patches of the paintings at twice that scale, with Gram feature matching, flips and an
EMA copy, then settles the EMA copy's style statistics on the paintings' (`--settle-steps`)
and smooths away its 2 x 2 pixel blocks, so its 128-px samples paint like the collection.
`--recipe ast-gan` is the seed's plain DCGAN. Settings apply in this order: the recipe, then
`--config FILE.toml`, then options.

Settings: the common ones have flags below; every setting is `--set section.field=value` or a
`--config` file, and `artstyle config show train` lists them all with their defaults.

Ctrl-C saves a checkpoint; `--resume` continues exactly (also to settle a finished run anew:
`--resume --settle-steps 500`; a generator file without its run: `artstyle settle`). Under
torchrun the same command trains on several processes or GPUs (`--batch-size` is the global
batch; docs/distributed.md).

Examples:
  artstyle train paintings/monet -o runs/monet

  torchrun --nproc-per-node 4 -m artstyle train paintings/monet -o runs/monet

  artstyle train paintings/monet -o runs/monet_dcgan --recipe ast-gan

  artstyle train paintings/monet -o runs/monet_lecam --set lecam.weight=0.1
"""

_DEFAULTS = TrainConfig()

#: The settings `artstyle train` has flags for; every other one is `--set section.field=...`.
FLAGS = (
    Flag("run.iterations"),
    Flag("run.epochs"),
    Flag("optim.batch_size"),
    Flag(
        "optim.lr_g",
        ("--lr",),
        also=("optim.lr_d",),
        help=escape(f"Adam learning rate of G and D [default: {_DEFAULTS.optim.lr_g}]"),
    ),
    Flag(
        "gram.weight",
        zero_is_none=True,
        help=escape(f"weight of Gram feature matching, 0: off [default: {_DEFAULTS.gram.weight}]"),
    ),
    Flag("whole_view.weight"),
    Flag("whole_view.diffaugment"),
    Flag("settle.steps"),
    Flag("run.eval_every"),
    Flag("optim.seed"),
    Flag("run.device"),
    Flag("optim.precision"),
    # spelled so in shipped docs and model cards: they keep working, unlisted
    Flag("optim.lr_d", hidden=True),
    Flag("gram.batch", hidden=True),
    Flag("gram.scale", hidden=True),
    Flag("run.sample_every", hidden=True),
    Flag("run.checkpoint_every", hidden=True),
    Flag("run.sync_bn", hidden=True),
    Flag("networks.arch", hidden=True),
    Flag("networks.width", hidden=True),
    Flag("data.crop", hidden=True),
)


class _TrainCommand(SettingsCommand):
    """A flag of a setting that has none any more is one line naming its `--set`."""

    settings_model = TrainConfig
    settings_name = "train"


@app.command("train", cls=_TrainCommand, help=_TRAIN_HELP)
@with_settings(TrainConfig, FLAGS, "train", recipes=RECIPES, example="lecam.weight=0.1")
def train_command(
    data: Path = typer.Argument(..., help="folder of training images (recursive)"),
    out: Path = typer.Option(..., "-o", "--out", help="run folder for logs, samples, checkpoints"),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out"),
    retune: bool = typer.Option(
        False,
        "--retune",
        help="with --resume: go on with the learning settings given here (a fine-tune; the "
        "architecture stays), recorded in the checkpoint and the card",
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="live progress bar"),
    *,
    settings: TrainConfig,
) -> None:
    _train(data, out, settings, resume=resume, retune=retune, progress=progress)


def _train(
    data: Path, out: Path, config: TrainConfig, *, resume: bool, retune: bool, progress: bool
) -> None:
    """Train, saying what happens on rank 0 only (under torchrun), and print the generator."""
    main = world_from_env().is_main
    say = console if main else Console(quiet=True)

    try:
        result = train(
            data,
            out,
            config,
            resume=resume,
            retune=retune,
            console=say,
            on_skip=functools.partial(skipped_line, say=say),
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


@app.command("settle")
def settle_command(
    model: str = typer.Argument(..., help="shipped name, generator file, or run folder"),
    data: Path = typer.Argument(..., help="the folder of paintings it was trained on"),
    out: Path = typer.Option(..., "-o", "--out", help="the settled generator: NAME.safetensors"),
    steps: int | None = typer.Option(
        None, "--settle-steps", help=field_help(SettleSettings, "steps")
    ),
    grid_weight: float | None = typer.Option(
        None, "--settle-grid-weight", help=field_help(SettleSettings, "grid_weight")
    ),
    lr: float | None = typer.Option(None, "--settle-lr", help=field_help(SettleSettings, "lr")),
    device: str = typer.Option("auto", help="auto, cpu or cuda"),
) -> None:
    """Settle a trained generator anew with today's settling, into a new file with its card.

    For a generator whose run folder is gone (or a shipped one): a run you still have settles
    anew with `artstyle train DATA -o RUN --resume`. The source file is left as it is; the new
    card keeps how it was trained and records the settling (measure it again with `artstyle
    evaluate`). Ctrl-C stops it without writing anything.

    Example: artstyle settle impressionism paintings/impressionism -o impressionism.safetensors
    """
    given = {"steps": steps, "grid_weight": grid_weight, "lr": lr}
    settings = SettleSettings(**{k: v for k, v in given.items() if v is not None})

    bar = task_progress("error")  # shown from the first step: input errors come before it
    task = bar.add_task("settling", total=settings.steps, error="")

    def on_step(step: int, error: float) -> bool:
        bar.start()
        bar.update(task, completed=step, error=f"Gram error {error:.3f}")
        return False

    try:
        path = settle_generator(model, data, out, settings, device, on_step, skipped_line)
    except KeyboardInterrupt:
        error_line("interrupted: nothing was written")
        raise typer.Exit(130) from None
    finally:
        bar.stop()
    typer.echo(path)


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
