"""Painting many photos: where each result goes, and a run that no single photo can stop.

A folder given as input is mirrored under the output folder (`photos/trips/a.jpg` ->
`out/trips/a_stylized.png`), loose files go straight into it, and names that would collide get
`-2`, `-3`... Outputs are written atomically, so one that exists is complete: a second run skips
it, which makes a killed folder run resumable. A photo that fails, for whatever reason, is
reported and the run goes on; only Ctrl-C (KeyboardInterrupt) stops it.

    from artstyle import StyleTransfer, paint_folder
    result = paint_folder(StyleTransfer(["a.jpg", "b.jpg"]), ["photos/"], "painted/")
    print(result.painted, [o.error for o in result.failed])
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch

from artstyle import atomic
from artstyle.errors import ArtstyleError, ImageReadError, OutputError
from artstyle.images import (
    IMAGE_SUFFIXES,
    find_images,
    refuse_overwrite,
    upright_size,
    write_image,
)
from artstyle.nst import StyleTransfer, TransferResult

#: Added to the photo's name so that an output never has an input's name.
OUTPUT_TAG = "_stylized"


@dataclass(frozen=True)
class Job:
    """One photo and the file its painting is written to."""

    photo: Path
    output: Path


#: `<output stem>_stepNNNN<suffix>`: the snapshots `save_every` writes beside an output.
SNAPSHOT_NAME = re.compile(r"^(?P<stem>.+)_step(?P<step>\d+)$")


def snapshot_path(output: Path, step: int) -> Path:
    """Where the image at `step` of the painting bound for `output` is kept."""
    return output.with_name(f"{output.stem}_step{step:04d}{output.suffix}")


def losses_path(output: Path) -> Path:
    """Where the loss history of the painting `output` is kept (CSV, one row per step)."""
    return output.with_name(f"{output.stem}_losses.csv")


@dataclass
class Plan:
    """The jobs of a run, plus inputs that could not even be listed (missing, empty folder)."""

    jobs: list[Job]
    failed: list[ImageReadError]

    def pending(self, overwrite: bool = False) -> list[Job]:
        """Jobs whose output does not exist yet (all of them with `overwrite`)."""
        return self.jobs if overwrite else [j for j in self.jobs if not j.output.exists()]


@dataclass
class PhotoOutcome:
    """What became of one photo: its output and losses, or the one-line reason it failed."""

    photo: Path
    output: Path | None = None
    seconds: float = 0.0
    losses: dict[str, float] | None = None
    error: str = ""


@dataclass
class FolderWork:
    """A planned folder run: photos to paint, how many are already done, and inputs that
    failed before painting (unreadable listings, outputs that would overwrite an input)."""

    pending: list[Job]
    done: int
    failed: list[PhotoOutcome]
    protect: list[Path] = field(default_factory=list)


@dataclass
class FolderResult:
    """Every photo's outcome, and how many were skipped as already painted."""

    outcomes: list[PhotoOutcome]
    skipped: int

    @property
    def painted(self) -> list[PhotoOutcome]:
        return [o for o in self.outcomes if not o.error]

    @property
    def failed(self) -> list[PhotoOutcome]:
        return [o for o in self.outcomes if o.error]


def plan(inputs: Sequence[str | Path], out: str | Path, suffix: str = ".png") -> Plan:
    """Map photos (files or folders, recursively) to output paths under `out`.

    `out` may name a single image file (its suffix is an image suffix) when there is one photo.
    """
    out = Path(out)
    found: list[tuple[Path, Path]] = []  # (photo, path relative to the output folder)
    failed: list[ImageReadError] = []
    for raw in inputs:
        path = Path(raw)
        try:
            photos = find_images([path])
        except ImageReadError as exc:
            failed.append(exc)
            continue
        if path.is_dir():
            if not photos:
                failed.append(ImageReadError(path, "no images in this folder"))
            found += [(p, p.relative_to(path).parent / p.stem) for p in photos]
        else:
            found += [(p, Path(p.stem)) for p in photos]

    if out.suffix.lower() in IMAGE_SUFFIXES:
        if len(found) != 1:
            raise OutputError(f"{out}: a file name as output needs exactly one photo")
        return Plan([Job(found[0][0], out)], failed)

    seen: Counter[Path] = Counter()
    jobs = []
    for photo, rel in found:
        seen[rel] += 1
        tag = "" if seen[rel] == 1 else f"-{seen[rel]}"
        jobs.append(Job(photo, out / rel.parent / f"{rel.name}{tag}{OUTPUT_TAG}{suffix}"))
    return Plan(jobs, failed)


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`: a fixed share of a folder run's photos, so `count`
    machines split a collection with no coordination (a Slurm array, N shells)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`"K/N"` -> Shard(K, N); one clear error otherwise."""
        try:
            k, n = (int(part) for part in text.split("/"))
        except ValueError:
            raise ArtstyleError(f"--shard {text!r}: expected K/N, e.g. 2/8") from None
        if not 1 <= k <= n:
            raise ArtstyleError(f"--shard {text!r}: K must be between 1 and N")
        return cls(k, n)

    def owns(self, job: Job, out: Path) -> bool:
        """Whether this shard paints `job`: decided by a stable hash of the output's path
        under `out`, so the split is the same on every machine and survives added photos."""
        key = job.output.relative_to(out).as_posix()  # `plan` puts every output under `out`
        return zlib.crc32(key.encode()) % self.count == self.index - 1


def prepare(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    overwrite: bool = False,
    protect: Sequence[str | Path] = (),
    shard: Shard | None = None,
) -> FolderWork:
    """Plan a folder run: the jobs still to do (this shard's share only, with `shard`);
    `protect` (e.g. the style images) and every photo are never overwritten. Inputs that cannot
    be listed are reported by shard 1 only, so each problem is reported once."""
    work = plan(inputs, out)
    guarded = [j.photo for j in work.jobs] + [Path(p) for p in protect]
    if shard is not None:
        work.jobs = [j for j in work.jobs if shard.owns(j, Path(out))]
        if shard.index != 1:
            work.failed = []
    failed = [PhotoOutcome(e.path, error=str(e)) for e in work.failed]
    jobs = []
    for job in work.jobs:
        try:
            refuse_overwrite(job.output, guarded)
            jobs.append(job)
        except OutputError as exc:
            failed.append(PhotoOutcome(job.photo, error=str(exc)))
    if not jobs and shard is None:
        raise ArtstyleError("nothing to paint: " + "; ".join(o.error for o in failed))
    work.jobs = jobs
    pending = work.pending(overwrite)
    return FolderWork(pending, len(jobs) - len(pending), failed, guarded)


#: Called after every step of a photo: (job, step, losses).
StepCallback = Callable[[Job, int, dict[str, float]], None]


def batches(painter: StyleTransfer, jobs: Sequence[Job]) -> list[list[Job]]:
    """The jobs in the groups painted together: photos painted at the same sizes, at most
    `painter.photos_per_batch` of them (one at a time on the CPU), in the order of each group's
    first photo. A photo whose header cannot be read goes alone; painting it names the problem."""
    groups: dict[tuple[tuple[int, int], ...], list[Job]] = {}
    out: list[list[Job]] = []
    for job in jobs:
        size = upright_size(job.photo)
        most = 1 if size is None else painter.photos_per_batch(size)
        if size is None or most == 1:
            out.append([job])
            continue
        key = painter.pass_shapes(size)
        group = groups.get(key)
        if group is None or len(group) >= most:
            group = groups[key] = []
            out.append(group)
        group.append(job)
    return out


def paint_batch(
    painter: StyleTransfer,
    jobs: Sequence[Job],
    *,
    protect: Sequence[Path] = (),
    save_every: int = 0,
    on_step: StepCallback | None = None,
) -> list[PhotoOutcome]:
    """Paint photos of one size as one batch (one photo is a batch of one) to their outputs.

    Any failure comes back as one line for the photo it concerns, never raised. A batch that
    fails as a whole (a bad photo, no memory left) is painted again one photo at a time, so the
    cause is named and the other photos are painted."""

    def step(number: int, losses: list[dict[str, float]], images: torch.Tensor) -> None:
        for index, job in enumerate(jobs):
            if on_step is not None:
                on_step(job, number, losses[index])
            if save_every and number % save_every == 0:
                path = snapshot_path(job.output, number)
                write_image(images[index : index + 1], path, protect=protect)

    try:
        results = painter.run_batch([job.photo for job in jobs], step)
    except Exception as exc:  # any failure: one photo must not stop the folder
        if len(jobs) > 1:
            return [
                outcome
                for job in jobs
                for outcome in paint_batch(
                    painter, [job], protect=protect, save_every=save_every, on_step=on_step
                )
            ]
        return [PhotoOutcome(jobs[0].photo, error=_message(jobs[0].photo, exc))]
    return [
        _keep(job, result, protect, save_every, len(jobs)) for job, result in zip(jobs, results)
    ]


def _keep(
    job: Job, result: TransferResult, protect: Sequence[Path], save_every: int, share: int
) -> PhotoOutcome:
    """Write one painted photo (and its losses with `save_every`); its share of the batch's
    time is its time."""
    try:
        write_image(result.image, job.output, protect=protect)
        if save_every:
            write_losses(losses_path(job.output), result.history)
    except Exception as exc:  # an unwritable output costs this photo only
        return PhotoOutcome(job.photo, error=_message(job.photo, exc))
    return PhotoOutcome(job.photo, job.output, result.seconds / share, result.losses)


#: Called before each batch is painted, with its jobs: a context that is open while the batch is
#: painted and gives the batch's step callback (e.g. a progress bar that lives as long as it).
BatchHook = Callable[[list[Job]], AbstractContextManager[StepCallback | None]]


def paint_folder(
    painter: StyleTransfer,
    inputs: Sequence[str | Path] | FolderWork,
    out: str | Path,
    *,
    overwrite: bool = False,
    save_every: int = 0,
    shard: Shard | None = None,
    protect: Sequence[str | Path] = (),
    on_step: StepCallback | None = None,
    on_photo: Callable[[PhotoOutcome], None] | None = None,
    on_batch: BatchHook | None = None,
) -> FolderResult:
    """Paint photos and folders of photos into `out` (see the module notes); resumable,
    shardable across machines (`shard`), and in batches of equal-sized photos on a GPU.

    `protect` names files never to overwrite besides the photos (style images, masks).
    `inputs` may be the `FolderWork` that `prepare` planned (so that its problems can be told
    before the painter is made); it is then painted as planned. `on_batch`, if given, gives each
    batch's step callback in place of `on_step`; `on_photo` hears each outcome as it comes."""
    work = (
        inputs
        if isinstance(inputs, FolderWork)
        else prepare(inputs, out, overwrite=overwrite, protect=protect, shard=shard)
    )
    outcomes = list(work.failed)
    for group in batches(painter, work.pending):
        with on_batch(group) if on_batch is not None else nullcontext(on_step) as step:
            for outcome in paint_batch(
                painter, group, protect=work.protect, save_every=save_every, on_step=step
            ):
                outcomes.append(outcome)
                if on_photo is not None:
                    on_photo(outcome)
    return FolderResult(outcomes, work.done)


def _message(photo: Path, exc: Exception) -> str:
    """One line for a failure: the library's own message, or the unexpected error's first."""
    return str(exc) if isinstance(exc, ArtstyleError) else _unexpected(photo, exc)


def _unexpected(photo: Path, exc: Exception) -> str:
    """One line for a failure nobody planned for, naming the photo."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{photo}: {type(exc).__name__}: {first}"


def write_losses(path: Path, history: list[dict[str, float]]) -> None:
    """The loss history as CSV (step, then one column per loss term), for `explore progress`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, ["step", *history[0]])
    writer.writeheader()
    writer.writerows({"step": i, **h} for i, h in enumerate(history, start=1))
    atomic.write_text(path, buffer.getvalue())
