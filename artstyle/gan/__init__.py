"""Stage 1: a DCGAN that learns a painting style from a folder and emits batches of new images.

What other modules and users need is exported here; the submodules are the implementation.
Training itself is `artstyle.train` (the name `artstyle.gan.train` is its module's):

    from artstyle import train
    from artstyle.gan import StyleGenerator
    result = train("paintings/", "runs/mine")
    styles = StyleGenerator.from_pretrained(result.generator_path).sample(16)

Where things are: `train` (the run and its loop; the step reads top to bottom), `models` (the
networks, and the architectures registered by name), `losses` (the adversarial losses, registered
by name), `terms` (what the objective adds beside the adversarial game: the gradient penalty,
Gram matching, the whole-view discriminator, LeCam; registered by name), `observers` (what
watches a run: log, grids, evaluation, checkpoints, progress), `settle` (and
`settle_generator`: an exported generator settled anew), `export`, `generator`.

Adding a training term: write one file `gan/terms/NAME.py` with a `Term` subclass (its settings,
networks and optimiser, checkpoint entries, log fields, and what it adds to D's or G's loss),
add it to the registration tuple at the end of `gan/terms/__init__.py`, and give `TrainConfig`
a section of its settings (default off): flat names, `--set`, `artstyle config show train` and
resuming follow from it; `gan/terms/__init__.py` says each step, `gan/terms/lecam.py` is a short
example. No line of the training loop changes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from artstyle.gan.checkpoint import load_network
from artstyle.gan.data import PaintingSet, load_paintings
from artstyle.gan.distributed import World, world_from_env
from artstyle.gan.export import card_path, data_description, portable, read_card, write_card
from artstyle.gan.generator import StyleGenerator, resolve_model, shipped_models, weights_dir
from artstyle.gan.grid import GRID_PERIOD, grid_contrast
from artstyle.gan.inception import KID_SIZE as INCEPTION_KID_SIZE
from artstyle.gan.inception import inception_features, inception_kid
from artstyle.gan.metrics import SUBSETS, GeneratorScore, Reference, evaluate
from artstyle.gan.models import (
    ARCHS,
    Arch,
    DCGANDiscriminator,
    build_discriminator,
    build_generator,
    get_arch,
)
from artstyle.gan.run_files import CHECKPOINT, GENERATOR, REPORT
from artstyle.gan.settle import settle_generator
from artstyle.gan.steering import StyleBatch, between, load_style, more_like, save_style
from artstyle.gan.train import RESUMABLE, TrainingInterrupted, TrainResult

if TYPE_CHECKING:
    from artstyle.gan.curves import plot_runs, read_log

#: Plotting, imported on first use so that `import artstyle.gan` touches no matplotlib.
_LAZY = {"plot_runs": "artstyle.gan.curves", "read_log": "artstyle.gan.curves"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'artstyle.gan' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = [
    "ARCHS",
    "CHECKPOINT",
    "GENERATOR",
    "GRID_PERIOD",
    "INCEPTION_KID_SIZE",
    "REPORT",
    "RESUMABLE",
    "SUBSETS",
    "Arch",
    "DCGANDiscriminator",
    "GeneratorScore",
    "PaintingSet",
    "Reference",
    "StyleBatch",
    "StyleGenerator",
    "TrainResult",
    "TrainingInterrupted",
    "World",
    "between",
    "build_discriminator",
    "build_generator",
    "card_path",
    "data_description",
    "evaluate",
    "get_arch",
    "grid_contrast",
    "inception_features",
    "inception_kid",
    "load_network",
    "load_paintings",
    "load_style",
    "more_like",
    "plot_runs",
    "portable",
    "read_card",
    "read_log",
    "resolve_model",
    "save_style",
    "settle_generator",
    "shipped_models",
    "weights_dir",
    "world_from_env",
    "write_card",
]
