"""`artstyle transfer clip.mp4`: the video branch of the transfer command, a progress bar over
the frames around `artstyle.video.paint_video`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import (
    Progress,
)

from artstyle.cli.app import console, task_progress
from artstyle.config import VideoConfig
from artstyle.errors import ArtstyleError
from artstyle.images import refuse_overwrite
from artstyle.nst import StyleTransfer
from artstyle.video import FrameOutcome, is_video, paint_video
from artstyle.video.clip import open_clip
from artstyle.video.paint import frames_dir_of


def is_clip(inputs: Sequence[Path], frames: bool) -> bool:
    """Whether the command paints a video: one video file, or one folder with `--frames`."""
    clips = [p for p in inputs if is_video(p) or frames]
    if clips and len(inputs) > 1:
        raise ArtstyleError("paint one video (or --frames folder) at a time")
    if frames and clips and not clips[0].is_dir():
        raise ArtstyleError(f"{clips[0]}: --frames needs a folder of numbered frames")
    return bool(clips)


def output_of(source: Path, out: Path) -> Path:
    """Where the painted clip goes: `out` if it names a video (or, for frames, a folder), else
    `out/NAME_stylized.mp4` (the folder of a folder of frames: `out` itself)."""
    if source.is_dir() or out.suffix:
        return out
    suffix = source.suffix.lower() if source.suffix.lower() in (".mkv", ".mov") else ".mp4"
    return out / f"{source.stem}_stylized{suffix}"


def paint_clip(
    make_painter: Callable[[], StyleTransfer],
    source: Path,
    out: Path,
    settings: VideoConfig,
    protect: Sequence[Path] = (),
) -> None:
    """Paint `source` with a progress bar over its frames; Ctrl-C keeps the painted frames.
    The clip is checked before the painter (and its style targets) is made: a bad file costs
    one line, not a minute of setting up."""
    target = output_of(source, out)
    refuse_overwrite(target, [source, *protect])
    open_clip(source)
    painter = make_painter()
    progress = task_progress("info")  # started by the first frame: a bad input stays one line
    task = progress.add_task(escape(source.name), total=None, info="")

    def advance(done: int, total: int | None, outcome: FrameOutcome | None) -> None:
        progress.start()
        info = "" if outcome is None else f"{outcome.seconds:.1f} s, {outcome.steps} evals"
        progress.update(task, completed=done, total=total, info=info)

    try:
        result = paint_video(painter, source, target, settings, advance)
    except KeyboardInterrupt:
        _stop(progress)
        console.print(
            f"[yellow]interrupted[/]: painted frames are kept in "
            f"{escape(str(frames_dir_of(source, target)))}; run again to continue"
        )
        raise typer.Exit(130) from None
    finally:
        _stop(progress)
    painted = result.painted
    mean = sum(o.seconds for o in painted[1:]) / max(1, len(painted) - 1)
    tail = f", {result.kept} already painted" if result.kept else ""
    console.print(
        f"{result.count} frames: {len(painted)} painted{tail}"
        + (f"; {mean:.1f} s a frame after the first" if len(painted) > 1 else "")
    )
    typer.echo(str(result.output))


def _stop(progress: Progress) -> None:
    if progress.live.is_started:
        progress.stop()
