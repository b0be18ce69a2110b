"""The files of a training run's folder, named in one place, and the one CSV rewrite they need.

RUN/config.json           the settings and the data folder
RUN/log.csv               one row per iteration
RUN/eval.csv              one row per evaluation (with --eval-every)
RUN/samples/epoch_NNNN.png  fixed-z grids
RUN/checkpoint.safetensors  models, optimisers, RNG; what --resume reads
RUN/generator.safetensors   the exported generator (+ .md / .json card)
RUN/curves.png, RUN/report.html
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from artstyle import atomic

CONFIG = "config.json"
LOG = "log.csv"
EVAL = "eval.csv"
SAMPLES = "samples"
CHECKPOINT = "checkpoint.safetensors"
GENERATOR = "generator.safetensors"
CURVES = "curves.png"
REPORT = "report.html"


def sample_grid(run_dir: Path, epoch: int) -> Path:
    """The fixed-z grid written after `epoch`."""
    return run_dir / SAMPLES / f"epoch_{epoch:04d}.png"


def rewrite_csv(
    path: Path,
    fields: Sequence[str],
    keep: Callable[[dict[str, str]], bool],
    extra: Iterable[dict[str, Any]] = (),
) -> None:
    """Rewrite a CSV atomically with the rows `keep` accepts, then `extra`: a resumed run drops
    the rows written after the checkpoint it continues from."""
    rows: list[dict[str, Any]] = []
    if path.exists():
        with path.open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if keep(r)]
    with atomic.atomic_path(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows([*rows, *extra])
