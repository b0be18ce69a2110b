"""Where each photo's result goes when many photos are painted at once.

A folder given as input is mirrored under the output folder (`photos/trips/a.jpg` ->
`out/trips/a_stylized.png`), loose files go straight into it, and names that would collide get
`-2`, `-3`... Outputs are written atomically, so one that exists is complete: a second run skips
it, which makes a killed folder run resumable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from artstyle.errors import ImageReadError, OutputError
from artstyle.images import IMAGE_SUFFIXES, find_images

#: Added to the photo's name so that an output never has an input's name.
OUTPUT_TAG = "_stylized"


@dataclass(frozen=True)
class Job:
    """One photo and the file its painting is written to."""

    photo: Path
    output: Path


@dataclass
class Plan:
    """The jobs of a run, plus inputs that could not even be listed (missing, empty folder)."""

    jobs: list[Job]
    failed: list[ImageReadError]

    def pending(self, overwrite: bool = False) -> list[Job]:
        """Jobs whose output does not exist yet (all of them with `overwrite`)."""
        return self.jobs if overwrite else [j for j in self.jobs if not j.output.exists()]


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
