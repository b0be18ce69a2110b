"""`artstyle explore grid | interpolate | arithmetic | activations | curves | progress` and
`artstyle report`: look inside a trained GAN and a style transfer from the shell."""

from __future__ import annotations

from pathlib import Path

import typer

from artstyle import explore
from artstyle.cli.app import app
from artstyle.errors import ArtstyleError
from artstyle.folder import losses_path
from artstyle.gan import StyleGenerator
from artstyle.images import ImageSource
from artstyle.report import write_report

explore_app = typer.Typer(
    name="explore",
    help=(
        "Look inside a trained GAN (Beyers & Loane's analyses) and a style transfer.\n\n"
        "Start with `artstyle explore grid MODEL`: it numbers the samples; the other views take "
        "those numbers with the same --seed and --count."
    ),
    no_args_is_help=True,
)
app.add_typer(explore_app)

_OUT = Path("artstyle-output")
_MODEL = typer.Argument(..., help="shipped name, generator file, run folder or checkpoint")
_SEED = typer.Option(0, help="seed of the sample grid the indices refer to")
_COUNT = typer.Option(64, help="samples in the grid the indices refer to")


def indices(text: str, option: str) -> list[int]:
    """'3,7,12' -> [3, 7, 12]; anything else is a one-line error naming the option."""
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise ArtstyleError(
            f"{option}: {text!r} is not a list of sample indices like 3,7,12"
        ) from None
    return values


def _done(path: Path) -> None:
    typer.echo(str(path))


@explore_app.command("grid")
def grid_command(
    model: str = _MODEL,
    count: int = typer.Option(64, "-n", "--count", help="number of samples"),
    seed: int = typer.Option(0, help="random seed"),
    cols: int = typer.Option(8, help="columns"),
    scale: int = typer.Option(1, help="enlarge each sample this many times"),
    out: Path = typer.Option(_OUT / "grid.png", "-o", "--out", help="PNG to write"),
) -> None:
    """Samples with their index in a corner, to pick samples by number for the other views."""
    gen = StyleGenerator.from_pretrained(model)
    _done(explore.save(explore.sample_grid(gen, count, seed, cols=cols, scale=scale), out))


@explore_app.command("interpolate")
def interpolate_command(
    model: str = _MODEL,
    rows: str = typer.Option("0,1,2,3,4,5", help="sample indices each row starts at, e.g. 3,9,17"),
    steps: int = typer.Option(8, help="images per row, both ends included"),
    mode: explore.Interpolation = typer.Option("slerp", help="slerp (spherical) or lerp"),
    seed: int = _SEED,
    count: int = _COUNT,
    scale: int = typer.Option(1, help="enlarge each image this many times"),
    out: Path = typer.Option(_OUT / "interpolation.png", "-o", "--out", help="PNG to write"),
    gif: Path | None = typer.Option(None, help="also write the walk as an animated GIF here"),
    fps: float = typer.Option(12, help="GIF frames per second"),
) -> None:
    """A grid of latent walks: each row walks to the next row's start, the last to the first."""
    gen = StyleGenerator.from_pretrained(model)
    starts = indices(rows, "--rows")
    grid = explore.interpolation_grid(
        gen, starts, steps, seed=seed, count=count, mode=mode, scale=scale
    )
    _done(explore.save(grid, out))
    if gif is not None:
        frames = explore.interpolation_gif(
            gen, starts, 2 * steps, seed=seed, count=count, mode=mode
        )
        _done(explore.save(frames, gif, fps=fps))


@explore_app.command("arithmetic")
def arithmetic_command(
    model: str = _MODEL,
    a: str = typer.Option(..., "--a", help="indices of concept A, averaged, e.g. 3,7,12"),
    b: str = typer.Option(..., "--b", help="indices of concept B, averaged"),
    c: list[str] = typer.Option(..., "--c", help="indices of one C (repeat for several C)"),
    seed: int = _SEED,
    count: int = _COUNT,
    out: Path = typer.Option(_OUT / "arithmetic.png", "-o", "--out", help="PNG to write"),
) -> None:
    """G(mean z_A - mean z_B + z_C) for each C, after the inputs (Radford et al.)."""
    gen = StyleGenerator.from_pretrained(model)
    cs = [indices(each, "--c") for each in c]
    fig = explore.arithmetic_figure(
        gen, indices(a, "--a"), indices(b, "--b"), cs, seed=seed, count=count
    )
    _done(explore.save(fig, out))


@explore_app.command("activations")
def activations_command(
    run: Path = typer.Argument(..., help="run folder or its checkpoint.safetensors (holds D)"),
    image: Path | None = typer.Option(None, help="a painting or photo (default: a sample)"),
    sample: int = typer.Option(0, help="sample index to use when no --image is given"),
    seed: int = _SEED,
    count: int = _COUNT,
    top: int = typer.Option(16, help="feature maps shown per layer (the most active)"),
    rule: explore.Rule = typer.Option("guided", help="guided (backprop) or deconvnet"),
    layer: int | None = typer.Option(None, help="conv layer (1-based) of the unit to explain"),
    channel: int | None = typer.Option(None, help="channel of that unit (default: most active)"),
    out: Path = typer.Option(_OUT / "activations.png", "-o", "--out", help="PNG to write"),
) -> None:
    """D's feature maps per conv layer and what drives its units (Zeiler & Fergus)."""
    if channel is not None and layer is None:
        raise ArtstyleError("--channel needs --layer")
    d = explore.load_discriminator(run)
    picture: ImageSource
    if image is None:
        gen = StyleGenerator.from_pretrained(run)
        picture = gen.decode(explore.pick(gen.latents(count, seed), [sample]))[0]
    else:
        picture = image
    fig = explore.activation_figure(d, picture, top=top, rule=rule, layer=layer, channel=channel)
    _done(explore.save(fig, out))


@explore_app.command("curves")
def curves_command(
    runs: list[Path] = typer.Argument(..., help="run folders to compare"),
    out: Path = typer.Option(_OUT / "curves.png", "-o", "--out", help="PNG to write"),
) -> None:
    """Losses, D(x)/D(G(z)), skipped updates, s/iteration and VGG-KID of one or more runs."""
    _done(explore.save(explore.plot_runs(list(runs)), out))


@explore_app.command("progress")
def progress_command(
    result: Path = typer.Argument(..., help="final image of a transfer, or its output folder"),
    losses: Path | None = typer.Option(
        None, help="loss history CSV (default: RESULT_losses.csv beside the result, when it exists)"
    ),
    size: int = typer.Option(320, help="longest side of the image in the GIF"),
    fps: float = typer.Option(4, help="frames per second"),
    out: Path = typer.Option(_OUT / "progress.gif", "-o", "--out", help="GIF to write"),
) -> None:
    """The `artstyle transfer --save-every K` intermediates as a GIF beside the loss curve."""
    files, steps = explore.find_intermediates(result)
    if losses is None and not result.is_dir():
        default = losses_path(result)
        losses = default if default.exists() else None
    history = explore.read_history(losses) if losses is not None else None
    _done(explore.save(explore.progress_frames(files, steps, history, size=size), out, fps=fps))


@app.command("report")
def report_command(
    run: Path = typer.Argument(..., help="training run folder"),
    out: Path | None = typer.Option(
        None, "-o", "--out", help="HTML file \\[default: RUN/report.html]"
    ),
    seed: int = typer.Option(0, help="seed of the sample grid"),
    count: int = typer.Option(64, help="samples in the grid"),
) -> None:
    """One self-contained HTML page: model card, samples, curves, interpolation, arithmetic, D."""
    _done(write_report(run, out, count=count, seed=seed))
