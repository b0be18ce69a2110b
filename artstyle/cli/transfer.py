"""`artstyle transfer`: paint photos (or whole folders) with a learned or a given style."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import typer
from rich.markup import escape
from rich.progress import (
    Progress,
    TaskID,
)
from rich.table import Table

from artstyle.cli.app import EXIT_SOME_FAILED, app, console, error_line, field_help, task_progress
from artstyle.cli.settings import Flag, SettingsCommand, with_settings
from artstyle.cli.video import is_clip, paint_clip
from artstyle.config import PipelineConfig, RegionsConfig, VideoConfig, read_toml
from artstyle.errors import ArtstyleError
from artstyle.folder import (
    FolderWork,
    Job,
    PhotoOutcome,
    Shard,
    StepCallback,
    paint_folder,
    prepare,
)
from artstyle.images import find_images, image_grid, refuse_overwrite, write_image
from artstyle.nst import StyleTransfer, read_mask
from artstyle.pipeline import StylePipeline, example_photo, masked_transfer, regional_transfer

_DEFAULTS = PipelineConfig()
_STYLE_FLAGS = ("--styles", "-s")
_HELP = "\n\n".join(
    [
        "Paint photos with a style: by default the style a shipped GAN learned "
        f"(`--model {_DEFAULTS.targets.model}`), which generates a batch of "
        f"{_DEFAULTS.targets.num_styles} style "
        "images whose Gram matrices are averaged; or your own style images with `--styles`.",
        "PHOTO may be files or folders (searched recursively; the structure is mirrored under "
        "OUT). With no PHOTO, a bundled example photo is painted. Results go to "
        "OUT/NAME_stylized.png, so inputs are never overwritten; finished outputs are skipped, "
        "so a stopped folder run continues where it left off (`--overwrite` redoes them).",
        "A video (clip.mp4, any container FFmpeg reads) is painted frame by frame, steady from "
        "one frame to the next, into `-o painted.mp4` with its frame rate and audio (default "
        "OUT/NAME_stylized.mp4); with `--frames` a folder of numbered frames is painted into "
        "the folder OUT. Needs the video extra; resumable (docs/video.md).",
        "Settings: the common ones have flags below; every setting is `--set section.field=value` "
        "or a `--config` file, and `artstyle config show transfer` lists them all with their "
        "defaults.",
        "Exit 0: all painted; 1: some inputs failed (the rest are done); 2: usage error.",
        "Examples:\n\n"
        "  artstyle transfer photo.jpg --style-weight 5e4\n\n"
        "  artstyle transfer photos/ -o painted/ --model vangogh --num-styles 16 --seed 7\n\n"
        "  artstyle transfer photo.jpg --styles paintings/ --steps 100 --size 512\n\n"
        "  artstyle transfer clip.mp4 -o painted.mp4 --size 384\n\n"
        "  artstyle transfer photo.jpg --mask sky.png --model vangogh\n\n"
        "  artstyle transfer photo.jpg --regions map.png --region-style '#ff0000=vangogh' "
        "--region-style '#0000ff=impressionism' --region-style black=photo",
    ]
)


class _TransferCommand(SettingsCommand):
    """Lets `--styles a.jpg b/ c.png` take several paths, as the usage line promises; a flag of
    a setting that has none any more is one line naming its `--set`."""

    settings_model = PipelineConfig
    settings_name = "transfer"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
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


#: The settings `artstyle transfer` has flags for; every other one is `--set section.field=...`.
FLAGS = (
    Flag("weights.style"),
    Flag("weights.content"),
    Flag("schedule.steps"),
    Flag("schedule.size"),
    Flag(
        "targets.style_size",
        zero_is_none=True,
        help=escape(
            "longest side of the style images, 0: as they are [default: a generated batch at "
            f"its generator's scale, style files at {_DEFAULTS.targets.style_size}]"
        ),
    ),
    Flag("targets.preserve_color"),
    Flag("targets.model", ("--model", "-m")),
    Flag("targets.num_styles"),
    Flag("targets.seed"),
    Flag("machine.device"),
    Flag("machine.precision"),
    # spelled so in shipped docs: they keep working, unlisted
    Flag("compute.photo_batch", hidden=True),
    Flag("compute.compile", hidden=True),
    Flag("compute.tile_size", hidden=True),
    Flag("schedule.pyramid", hidden=True),
    Flag("schedule.bounded", ("--bounded/--unbounded",), hidden=True),
    Flag("targets.layers", hidden=True),
)


@app.command("transfer", cls=_TransferCommand, help=_HELP)
@with_settings(PipelineConfig, FLAGS, "transfer")
def transfer_command(
    photos: list[Path] | None = typer.Argument(
        None, help="photos, or folders of photos \\[default: a bundled example photo]"
    ),
    styles: list[Path] | None = typer.Option(
        None, *_STYLE_FLAGS, help="your own style images or folders, instead of a generator"
    ),
    save_styles: bool = typer.Option(False, help="also write the style batch as a grid"),
    mask: Path | None = typer.Option(
        None,
        help="greyscale image: paint where it is white, keep the photo where black, blend grey "
        "(resized to the photo)",
    ),
    regions: Path | None = typer.Option(
        None,
        help="colour map whose colours take their own styles (--region-style), or a TOML file "
        "(map = 'map.png' and a [styles] table of colour = style)",
    ),
    region_style: list[str] | None = typer.Option(
        None,
        help="COLOUR=STYLE, repeated: a colour of the --regions map (#rrggbb or a name) and its "
        "style (a shipped model, generator, run folder, style images, or photo to keep it)",
    ),
    out: Path = typer.Option(
        Path("artstyle-output"), "-o", "--out", help="output folder (or file, for one photo)"
    ),
    overwrite: bool = typer.Option(False, help="redo photos whose output already exists"),
    style_file: Path | None = typer.Option(
        None, help="paint with the style a style file records (model, latents, picks)"
    ),
    save_style: Path | None = typer.Option(
        None, help="also write the generated style batch to a style file (.json) for --style-file"
    ),
    save_targets: Path | None = typer.Option(
        None, help="also write the style targets to this file (.safetensors), for --targets"
    ),
    targets: Path | None = typer.Option(
        None, help="paint with targets --save-targets wrote (every shard the same style)"
    ),
    shard: str | None = typer.Option(
        None,
        help="K/N: paint only shard K of N (a fixed split by file; run N of these anywhere, "
        "e.g. a Slurm array, into the same OUT)",
    ),
    save_every: int = typer.Option(
        0, help="also save the image every K steps, and the losses as CSV (0: never)"
    ),
    temporal_weight: float | None = typer.Option(
        None, help=field_help(VideoConfig, "temporal_weight")
    ),
    frame_steps: int | None = typer.Option(None, help=field_help(VideoConfig, "frame_steps")),
    frames: bool = typer.Option(
        False, "--frames", help="PHOTO is a folder of numbered frames: paint it as one video"
    ),
    *,
    settings: PipelineConfig,  # settled by `with_settings` from the flags, --set and --config
) -> None:
    inputs = list(photos or []) or [_example(out)]
    style_files = find_images(styles) if styles else []
    if styles and not style_files:
        raise ArtstyleError("no style images found in " + ", ".join(map(str, styles)))
    spec = _region_spec(regions, region_style or []) if regions else None
    if region_style and spec is None:
        raise ArtstyleError("--region-style names colours of a --regions map; give --regions")
    _check_styles(spec, style_file, styles, targets, mask, save_targets)
    if is_clip(inputs, frames):
        video = {"temporal_weight": temporal_weight, "frame_steps": frame_steps}
        _paint_video(
            inputs[0],
            out,
            video,
            lambda: _painter(settings, style_files, targets, style_file)[0],
            protect=[*style_files, *([style_file] if style_file else [])],
            folder_only=shard is not None or overwrite,
            guided=bool(mask or spec),
        )
        return
    mask_values = read_mask(mask) if mask else None  # a bad mask stops here, before any work
    guides = [p for p in (mask, spec and spec.map, style_file) if p]
    work = prepare(
        inputs,
        out,
        overwrite=overwrite,
        protect=[*style_files, *guides],
        shard=Shard.parse(shard) if shard else None,
    )
    _tell_plan(work, out)
    painter, batch, pipe = _stage(settings, style_files, targets, style_file, spec, mask_values)
    _save_extras(painter, pipe, batch, work, out, save_style, save_targets, save_styles)
    _paint(painter, work, out, save_every)


def _example(out: Path) -> Path:
    """The bundled example photo, written beside the outputs the first time."""
    path = out.parent / "example.png" if out.suffix else out / "example.png"
    if not path.exists():
        write_image(example_photo(), path)
    return path


def _check_styles(
    spec: RegionsConfig | None,
    style_file: Path | None,
    styles: list[Path] | None,
    targets: Path | None,
    mask: Path | None,
    save_targets: Path | None,
) -> None:
    """One error for options that name the style twice."""
    if style_file and (styles or targets or spec):
        raise ArtstyleError("--style-file is the style: leave out --styles/--targets/--regions")
    if spec is not None and save_targets:
        raise ArtstyleError("--save-targets holds one style; regions have one each")
    if spec is not None and (mask or styles or targets):
        raise ArtstyleError(
            "--regions gives each region its style: leave out --mask/--styles/--targets"
        )


def _paint_video(
    clip: Path,
    out: Path,
    video: dict[str, Any],
    painter: Callable[[], StyleTransfer],
    *,
    protect: list[Path],
    folder_only: bool,
    guided: bool,
) -> None:
    """Paint a clip (or a folder of frames) whole, steady from frame to frame; `folder_only`:
    --shard or --overwrite was given, `guided`: --mask or --regions."""
    clip_settings = VideoConfig.model_validate({k: v for k, v in video.items() if v is not None})
    if folder_only:
        raise ArtstyleError(
            "--shard and --overwrite are for folders of photos; a video resumes from its "
            "work folder (OUT.frames/): remove it to paint the clip again"
        )
    if guided:
        raise ArtstyleError("--mask and --regions paint photos; a video is painted whole")
    paint_clip(painter, clip, out, clip_settings, protect=protect)


def _tell_plan(work: FolderWork, out: Path) -> None:
    """Inputs that failed before painting, and how many photos are already painted."""
    for failure in work.failed:
        error_line(failure.error)
    if work.done:
        console.print(
            f"{work.done} photo(s) already painted in {escape(str(out))} (use --overwrite to redo)"
        )


def _stage(
    settings: PipelineConfig,
    style_files: list[Path],
    targets: Path | None,
    style_file: Path | None,
    spec: RegionsConfig | None,
    mask_values: torch.Tensor | None,
) -> tuple[StyleTransfer, torch.Tensor | None, StylePipeline | None]:
    """The painter of the run (each region with its style, or masked), its style batch and the
    pipeline that generated it (None where nothing was generated)."""
    if spec is not None:
        with console.status(f"computing the styles of {len(spec.styles)} regions"):
            return regional_transfer(spec, settings), None, None
    painter, batch, pipe = _painter(settings, style_files, targets, style_file)
    if mask_values is not None:
        painter = masked_transfer(painter, mask_values)
    return painter, batch, pipe


def _save_extras(
    painter: StyleTransfer,
    pipe: StylePipeline | None,
    batch: torch.Tensor | None,
    work: FolderWork,
    out: Path,
    save_style: Path | None,
    save_targets: Path | None,
    save_styles: bool,
) -> None:
    """The style file, the style targets and the style batch's grid, where asked for."""
    if save_style is not None:
        if pipe is None:
            raise ArtstyleError("--save-style records a generated batch: leave out --styles")
        refuse_overwrite(save_style, work.protect)
        console.print(f"style file: {pipe.save_style(save_style)}")
    if save_targets is not None:
        refuse_overwrite(save_targets, work.protect)
        console.print(f"style targets: {escape(str(painter.save_targets(save_targets)))}")
    if save_styles and batch is not None:
        grid = out.parent / f"{out.stem}_styles.png" if out.suffix else out / "styles.png"
        write_image(image_grid(batch.cpu()), grid, protect=work.protect)
        console.print(f"style batch: {escape(str(grid))}")


def _paint(painter: StyleTransfer, work: FolderWork, out: Path, save_every: int) -> None:
    """Paint the planned photos under a progress bar per batch, then the summary and exit code."""
    try:
        with task_progress("losses") as progress:
            overall = progress.add_task("photos", total=len(work.pending), losses="")
            total = sum(steps for _, steps in painter.config.passes())

            @contextmanager
            def batch_bar(group: list[Job]) -> Iterator[StepCallback]:
                task = progress.add_task(_names_of(group), total=total, losses="")
                yield _show_step(progress, task, group[0])
                progress.remove_task(task)

            def told(outcome: PhotoOutcome) -> None:
                if outcome.error:
                    error_line(outcome.error)
                else:
                    typer.echo(str(outcome.output))
                progress.advance(overall)

            result = paint_folder(
                painter, work, out, save_every=save_every, on_batch=batch_bar, on_photo=told
            )
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]: finished outputs are kept; run again to continue")
        raise typer.Exit(130) from None
    _summary(result.outcomes, result.skipped)
    if result.failed:
        raise typer.Exit(EXIT_SOME_FAILED)


def _names_of(group: list[Job]) -> str:
    """The progress line's name of a batch: its first photo, and how many more."""
    more = f" + {len(group) - 1} more" if len(group) > 1 else ""
    return escape(group[0].photo.name + more)


def _show_step(progress: Progress, task: TaskID, shown: Job) -> StepCallback:
    """A step callback that moves the batch's progress bar and shows one photo's losses."""

    def show(job: Job, step: int, losses: dict[str, float]) -> None:
        if job is shown:
            text = f"content {losses['content']:.3g}  style {losses['style']:.3g}"
            progress.update(task, completed=step, losses=text)

    return show


def _region_spec(path: Path, pairs: list[str]) -> RegionsConfig:
    """The regions of `--regions` (a map image, or a TOML file naming one) with the styles of
    `--region-style COLOUR=STYLE` on top; paths in a TOML file are relative to it."""
    given: dict[str, Any] = {}
    for pair in pairs:
        colour, _, style = pair.partition("=")
        if not colour.strip() or not style.strip():
            raise ArtstyleError(f"--region-style {pair!r}: expected COLOUR=STYLE, e.g. red=vangogh")
        given[colour.strip()] = {"style": style.strip()}
    if path.suffix.lower() != ".toml":
        return RegionsConfig.model_validate({"map": path, "styles": given})
    spec = RegionsConfig.model_validate(read_toml(path))
    styles = {}
    for colour, region in spec.styles.items():
        beside = path.parent / region.style
        styles[colour] = (
            region.model_copy(update={"style": str(beside)}) if beside.exists() else region
        )
    return RegionsConfig.model_validate(
        {"map": path.parent / spec.map, "styles": {**styles, **given}}
    )


def _painter(
    settings: PipelineConfig, style_files: list[Path], targets: Path | None, style_file: Path | None
) -> tuple[StyleTransfer, torch.Tensor | None, StylePipeline | None]:
    """The style-transfer stage with its targets computed once for the whole run (or read), the
    style batch and the pipeline that generated it (None for given style images or targets)."""
    if targets is not None:
        if style_files:
            raise ArtstyleError("give --styles or --targets, not both")
        return StyleTransfer.from_targets(targets, settings), None, None
    if style_files:
        with console.status(f"computing the style targets of {len(style_files)} images"):
            return StyleTransfer(style_files, settings), None, None
    model = settings.targets.model
    with console.status(f"generating the style batch of {style_file or model}"):
        if style_file is not None:
            pipe = StylePipeline.from_style_file(style_file, settings)
        else:
            pipe = StylePipeline.from_pretrained(model, settings)
        return pipe.transfer, pipe.styles, pipe


def _summary(outcomes: list[PhotoOutcome], skipped: int) -> None:
    table = Table(title="style transfer", title_justify="left")
    for column in ("photo", "output", "seconds", "content", "style"):
        table.add_column(column, overflow="fold")
    for o in outcomes:
        if o.error:
            table.add_row(escape(str(o.photo)), f"[red]failed: {escape(o.error)}[/]", "", "", "")
        elif o.losses is not None:
            row = (f"{o.seconds:.1f}", f"{o.losses['content']:.3g}", f"{o.losses['style']:.3g}")
            table.add_row(escape(str(o.photo)), escape(str(o.output)), *row)
    console.print(table)
    ok = sum(not o.error for o in outcomes)
    tail = f", {skipped} skipped (already done)" if skipped else ""
    console.print(f"{ok} painted, {len(outcomes) - ok} failed{tail}")
