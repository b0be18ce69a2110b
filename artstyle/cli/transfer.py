"""`artstyle transfer PHOTO... --styles PATH...`: paint photos with the style of a batch of images."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import click
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperCommand

from artstyle.cli.app import EXIT_SOME_FAILED, app, console, error_line
from artstyle.config import TransferConfig
from artstyle.errors import ArtstyleError, OutputError
from artstyle.images import find_images, write_image
from artstyle.pipeline import StyleTransfer

_DEFAULTS = TransferConfig()
_STYLE_FLAGS = ("--styles", "-s")
_HELP = """Paint photos with the style of a batch of style images (Gatys style transfer).

PHOTO may be files or folders (searched recursively). `--styles` takes files or folders; all the
images in them together form the style batch (their Gram matrices are averaged). Results go to
OUT/<name>_stylized.png, so inputs are never overwritten.

Example: artstyle transfer photo.jpg --styles paintings/vangogh --steps 100 --size 512
"""


class _GreedyStylesCommand(TyperCommand):
    """Lets `--styles a.jpg b/ c.png` take several paths, as the usage line promises."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spread_option(args, _STYLE_FLAGS))


def spread_option(args: Sequence[str], flags: Sequence[str]) -> list[str]:
    """Rewrite `--flag a b c` as `--flag a --flag b --flag c`, up to the next option or `--`."""
    out: list[str] = []
    greedy = first = False
    for i, arg in enumerate(args):
        if arg == "--":
            return out + list(args[i:])
        if arg in flags:
            greedy = first = True
        elif greedy and not arg.startswith("-"):
            if not first:
                out.append(flags[0])
            first = False
        else:
            greedy = False
        out.append(arg)
    return out


@dataclass
class _Outcome:
    photo: Path
    output: Path | None = None
    seconds: float = 0.0
    losses: dict[str, float] | None = None
    error: str = ""


def output_paths(photos: Sequence[Path], out: Path) -> list[Path]:
    """`out/<stem>_stylized.png` per photo (`-2`, `-3`... for repeated names); `out` itself when it
    names an image file and there is one photo."""
    if out.suffix:
        if len(photos) != 1:
            raise OutputError(f"{out}: a file name as output needs exactly one photo")
        return [out]
    seen: Counter[str] = Counter()
    paths = []
    for photo in photos:
        seen[photo.stem] += 1
        tag = "" if seen[photo.stem] == 1 else f"-{seen[photo.stem]}"
        paths.append(out / f"{photo.stem}{tag}_stylized.png")
    return paths


def _collect_photos(args: Sequence[Path], failed: list[_Outcome]) -> list[Path]:
    """Photo files from files and folders; a missing path or an empty folder is a failed input."""
    photos: list[Path] = []
    for arg in args:
        try:
            found = find_images([arg])
        except ArtstyleError as exc:
            failed.append(_Outcome(arg, error=str(exc)))
            continue
        if not found:
            failed.append(_Outcome(arg, error=f"{arg}: no images in this folder"))
        photos.extend(found)
    return photos


@app.command("transfer", cls=_GreedyStylesCommand, help=_HELP)
def transfer_command(
    photos: list[Path] = typer.Argument(..., help="photos, or folders of photos"),
    styles: list[Path] = typer.Option(
        ..., *_STYLE_FLAGS, help="style images or folders (several allowed): the style batch"
    ),
    out: Path = typer.Option(
        Path("artstyle-output"), "-o", "--out", help="output folder (or file, for one photo)"
    ),
    style_weight: float = typer.Option(_DEFAULTS.style_weight, help="weight of the style loss"),
    content_weight: float = typer.Option(_DEFAULTS.content_weight, help="weight of the content"),
    steps: int = typer.Option(_DEFAULTS.steps, help="optimisation steps (loss evaluations)"),
    size: int = typer.Option(_DEFAULTS.size, help="longest side of the output in pixels"),
    style_size: int = typer.Option(
        _DEFAULTS.style_size or 0, help="longest side of the style images (0: as they are)"
    ),
    optimizer: Literal["lbfgs", "adam"] = typer.Option(_DEFAULTS.optimizer, help="lbfgs or adam"),
    layers: Literal["seed", "gatys"] = typer.Option(_DEFAULTS.layers, help="layer preset"),
    init: Literal["content", "noise"] = typer.Option(_DEFAULTS.init, help="start image"),
    preserve_color: bool = typer.Option(False, help="transfer luminance only (keep colours)"),
    save_every: int = typer.Option(0, help="also save the image every K steps (0: never)"),
    seed: int = typer.Option(_DEFAULTS.seed, help="random seed"),
    device: str = typer.Option(_DEFAULTS.device, help="auto, cpu or cuda"),
) -> None:
    failed: list[_Outcome] = []
    photo_files = _collect_photos(photos, failed)
    style_files = find_images(styles)
    if not style_files:
        raise ArtstyleError("no style images found in " + ", ".join(map(str, styles)))
    if not photo_files and failed:
        raise ArtstyleError("; ".join(f.error for f in failed))
    targets = output_paths(photo_files, out)
    settings: dict[str, Any] = {
        "style_weight": style_weight,
        "content_weight": content_weight,
        "steps": steps,
        "size": size,
        "style_size": style_size or None,
        "optimizer": optimizer,
        "layers": layers,
        "init": init,
        "preserve_color": preserve_color,
        "seed": seed,
        "device": device,
    }
    with console.status(f"computing the style targets of {len(style_files)} images"):
        painter = StyleTransfer(style_files, **settings)
    protect = [*photo_files, *style_files]
    done = [_paint(painter, p, t, protect, save_every) for p, t in zip(photo_files, targets)]
    _summary(done + failed)
    if failed or any(d.error for d in done):
        raise typer.Exit(EXIT_SOME_FAILED)


def _paint(
    painter: StyleTransfer, photo: Path, target: Path, protect: list[Path], save_every: int
) -> _Outcome:
    """Paint one photo with a progress bar; an input or output problem is reported, not raised."""
    start = time.perf_counter()
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[losses]}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(photo.name, total=painter.config.steps, losses="")

            def on_step(step: int, losses: dict[str, float], image: Any) -> None:
                shown = f"content {losses['content']:.3g}  style {losses['style']:.3g}"
                progress.update(task, completed=step, losses=shown)
                if save_every and step % save_every == 0:
                    snapshot = target.with_name(f"{target.stem}_step{step:04d}{target.suffix}")
                    write_image(image, snapshot, protect=protect)

            result = painter.run(photo, on_step)
        write_image(result.image, target, protect=protect)
    except ArtstyleError as exc:
        error_line(str(exc))
        return _Outcome(photo, error=str(exc))
    typer.echo(str(target))
    return _Outcome(photo, target, time.perf_counter() - start, result.losses)


def _summary(outcomes: list[_Outcome]) -> None:
    table = Table(title="style transfer", title_justify="left")
    for column in ("photo", "output", "seconds", "content", "style"):
        table.add_column(column)
    for o in outcomes:
        if o.error:
            table.add_row(str(o.photo), f"[red]failed: {o.error}[/]", "", "", "")
        else:
            assert o.losses is not None
            row = (f"{o.seconds:.1f}", f"{o.losses['content']:.3g}", f"{o.losses['style']:.3g}")
            table.add_row(str(o.photo), str(o.output), *row)
    console.print(table)
    ok = sum(not o.error for o in outcomes)
    console.print(f"{ok} painted, {len(outcomes) - ok} failed")
