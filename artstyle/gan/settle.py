"""Gram settling: the finished generator's mean style statistics pulled onto the paintings'.

After the adversarial epochs the generator's samples still miss the paintings' mean Gram
matrices by about twice what a random batch of the paintings misses them by; most of it is a
bias that the adversarial game keeps jittering around (docs/gan.md, "v5"). Settling fine-tunes a
*copy* of the sampling generator on the Gram loss alone, at a small learning rate, and keeps an
average of its weights (each step is noisy: one small batch of fresh samples). The run's own
state is left alone, so a run resumed for more epochs settles again at its new end.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

from artstyle.config import TrainConfig
from artstyle.device import seeded_rng
from artstyle.gan.gram_match import GramMatch
from artstyle.gan.grid import grid_loss
from artstyle.gan.models import get_arch
from artstyle.precision import autocast, grad_scaler, resolve_dtype, scaled_step

#: Decay of the average of the settling weights: about the last 30 steps.
AVERAGE_DECAY = 0.97


def settle(
    net: nn.Module,
    gram: GramMatch,
    config: TrainConfig,
    device: torch.device,
    on_step: Callable[[int, float], bool] | None = None,
) -> nn.Module:
    """A settled copy of `net`: `config.settle.steps` Adam steps of the Gram loss (plus the
    grid penalty where `config.grid.weight` is set) on `config.gram.batch` fresh samples of the
    style stage's size, at `config.settle.lr`, returned as the average of its weights over the
    steps.

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
                if config.grid.weight:
                    loss = loss + config.grid.weight * grid_loss(samples)
            scaled_step(scaler, opt, loss)
            with torch.no_grad():
                for p_avg, p in zip(average.parameters(), live.parameters()):
                    p_avg.lerp_(p, 1 - AVERAGE_DECAY)
            if on_step is not None and on_step(step, error):
                break
    return average
