"""The optimisation loop on a known problem: a quadratic whose minimum is a target image."""

from __future__ import annotations

import pytest
import torch

from artstyle.nst.optimize import FIRST_STEP, LossFn, Optimizer, optimize


def _quadratic(target: torch.Tensor) -> LossFn:
    return lambda image: {"total": (image - target).square().flatten(1).sum(1)}


@pytest.mark.parametrize("shape", [(1, 3, 16, 16), (2, 3, 64, 48)])
def test_lbfgs_first_step_has_the_set_mean_size(shape: tuple[int, ...]) -> None:
    """The first trial point moves each value by FIRST_STEP on average, whatever the image size
    (torch's own first step, 1 / |g|_1, shrinks with the number of values)."""
    init = torch.full(shape, 0.5)
    target = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    seen: list[torch.Tensor] = []
    optimize(init, _quadratic(target), steps=2, callback=lambda s, r, image: seen.append(image))
    assert (seen[1] - init).abs().mean().item() == pytest.approx(FIRST_STEP, rel=1e-4)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_each_optimizer_finds_the_minimum_and_returns_the_best(optimizer: Optimizer) -> None:
    init = torch.full((2, 3, 32, 32), 0.5)
    target = torch.rand(init.shape, generator=torch.Generator().manual_seed(1))
    steps = 12 if optimizer == "lbfgs" else 60
    lr = None if optimizer == "lbfgs" else 0.05
    best, history = optimize(init, _quadratic(target), steps=steps, optimizer=optimizer, lr=lr)
    for i in range(2):
        losses = [row["total"] for row in history[i]]
        assert 1 < len(losses) <= steps  # L-BFGS stops early once the minimum is exact
        assert min(losses) < 1e-3 * losses[0]
        assert (best[i] - target[i]).square().sum().item() == pytest.approx(
            min(losses), rel=1e-3, abs=1e-6
        )
