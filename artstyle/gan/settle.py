"""Gram settling: the finished generator's mean style statistics pulled onto the paintings'.

After the adversarial epochs the generator's samples still miss the paintings' mean Gram
matrices by about twice what a random batch of the paintings misses them by; most of it is a
bias that the adversarial game keeps jittering around (docs/gan.md, "v5"). Settling fine-tunes a
*copy* of the sampling generator on the Gram loss, at a small learning rate, and keeps an
average of its weights (each step is noisy: one small batch of fresh samples). A grid penalty
beside it (`gan.grid`) smooths the 2 x 2 blocks of the last nearest doubling, which a Gram
matrix, averaging over positions, cannot see. The run's own state is left alone, so a run
resumed for more epochs settles again at its new end. `settle_generator` settles an exported
generator anew (a shipped one, or one whose run folder is gone) with today's settling settings.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from artstyle import atomic
from artstyle.config import SettleSettings, TrainConfig
from artstyle.device import seeded_rng
from artstyle.errors import ArtstyleError, ImageReadError
from artstyle.gan.data import load_paintings
from artstyle.gan.export import data_description, export_generator, sha256
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.gram_match import GramMatch, matched_layers
from artstyle.gan.grid import grid_loss
from artstyle.gan.models import get_arch
from artstyle.precision import autocast, grad_scaler, resolve_dtype, scaled_step
from artstyle.settings import flatten

#: Decay of the average of the settling weights: about the last 30 steps.
AVERAGE_DECAY = 0.97


def settle(
    net: nn.Module,
    gram: GramMatch,
    config: TrainConfig,
    device: torch.device,
    on_step: Callable[[int, float], bool] | None = None,
) -> nn.Module:
    """A settled copy of `net`: `config.settle.steps` Adam steps of the Gram loss plus
    `config.settle.grid_weight` times the grid penalty (`gan.grid`) on `config.gram.batch` fresh
    samples of the style stage's size, at `config.settle.lr`, returned as the average of its
    weights over the steps.

    `on_step(step, running_error)` is told after each step; returning True stops early (the
    average so far is returned). Reproducible from `config.optim.seed`. Runs in
    `config.optim.precision`, as training does.
    """
    live = copy.deepcopy(net).eval().requires_grad_(True)  # as it samples: no batch statistics
    average = copy.deepcopy(net).eval().requires_grad_(False)
    matcher = copy.copy(gram)
    matcher.running = None  # its own running mean, starting from this generator's samples
    opt = torch.optim.Adam(
        live.parameters(), lr=config.settle.lr, betas=(config.optim.beta1, 0.999)
    )
    dtype = resolve_dtype(config.optim.precision, device)
    scaler = grad_scaler(device, dtype)
    latents = torch.Generator().manual_seed(config.optim.seed)
    arch = get_arch(config.networks.arch)
    with seeded_rng(config.optim.seed, device):
        for step in range(1, config.settle.steps + 1):
            z = torch.randn(config.gram.batch, config.networks.z_dim, generator=latents).to(device)
            with autocast(device, dtype):
                samples = arch.generate(live, z, config.sample_size, latents)
                loss, error = matcher.loss(samples)
                if config.settle.grid_weight:
                    loss = loss + config.settle.grid_weight * grid_loss(samples)
            scaled_step(scaler, opt, loss)
            with torch.no_grad():
                for p_avg, p in zip(average.parameters(), live.parameters()):
                    p_avg.lerp_(p, 1 - AVERAGE_DECAY)
            if on_step is not None and on_step(step, error):
                break
    return average


#: What a settled-anew generator's card keeps of its source's: how it was trained. Measured
#: figures are dropped, as they belong to the source's weights (measure again: `evaluate`).
TRAINING_RECORD = (
    "data", "images", "epochs", "iterations", "training_seconds", "settle_steps",
    "settle_seconds", "machine", "precision", "skipped_d", "skipped_g", "retunes",
    "description", "command", "training_seconds_note",
)  # fmt: skip


def settle_generator(
    model: str | Path,
    data_dir: str | Path,
    out: str | Path,
    settings: SettleSettings | None = None,
    device: str = "auto",
    on_step: Callable[[int, float], bool] | None = None,
    on_skip: Callable[[ImageReadError], None] | None = None,
) -> Path:
    """Settle the generator `model` (a shipped name, a generator file or a run folder) anew on
    the paintings under `data_dir` with `settings` (today's defaults unless given), and export
    the settled copy to `out` with its source's training record and `settled_anew` on its card.

    The source keeps its own settings but for the `settle` section; its run is not needed, so
    this is how a generator trained before a settling change gets it. `out` may not be the
    source file.
    """
    generator = StyleGenerator.from_pretrained(model, device)
    out = Path(out)
    if out.suffix != ".safetensors":
        raise ArtstyleError(f"{out}: the settled generator is written as NAME.safetensors")
    if out.resolve() == generator.source.resolve():
        raise ArtstyleError(f"{out}: is the generator being settled; choose another file")
    atomic.check_writable(out)
    settings = settings or SettleSettings()
    if not settings.steps:
        raise ArtstyleError("settling anew needs at least one step (--settle-steps)")
    config = TrainConfig.model_validate(
        {**generator.config.flat(), **flatten(SettleSettings, settings)}
    )
    data = load_paintings(data_dir, config.networks.image_size, config.data.crop, on_skip=on_skip)
    gram = GramMatch(data.paintings(), generator.device, matched_layers(config.gram.layers))
    start = time.perf_counter()
    settled = settle(generator.net, gram, config, generator.device, on_step)
    card = {k: generator.card[k] for k in TRAINING_RECORD if k in generator.card}
    card["settled_anew"] = {
        "source_sha256": sha256(generator.source),
        "data": data_description(data_dir, len(data)),
        **settings.model_dump(),
        "seconds": round(time.perf_counter() - start, 1),
    }
    return export_generator(settled, config, out, card)
