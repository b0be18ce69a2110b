"""The optimisation loop on a known problem: a quadratic whose minimum is a target image."""

from __future__ import annotations

import pytest
import torch

from artstyle.nst.optimize import FIRST_STEP, LossFn, Optimizer, optimize, pyramid


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
    # inside the box, with a margin Adam's last overshoots stay within
    target = 0.25 + 0.5 * torch.rand(init.shape, generator=torch.Generator().manual_seed(1))
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


def test_pyramid_lifts_broad_changes_and_leaves_the_finest_alone() -> None:
    """Gain levels + 1 on a constant, 1 on a one-pixel checkerboard (it averages to zero), and
    no more levels than the side allows."""
    constant = torch.ones(1, 3, 32, 48)
    torch.testing.assert_close(pyramid(constant, 3), 4 * constant)
    torch.testing.assert_close(pyramid(constant, 0), constant)
    rows, cols = torch.meshgrid(torch.arange(32), torch.arange(48), indexing="ij")
    checker = ((rows + cols) % 2 * 2 - 1).float().expand(1, 3, 32, 48)
    torch.testing.assert_close(pyramid(checker, 3), checker)
    tiny = torch.ones(1, 3, 4, 5)  # 4 x 5 -> 2 x 2 -> 1 x 1: two levels at most
    torch.testing.assert_close(pyramid(tiny, 10), 3 * tiny)


@pytest.mark.parametrize("bounded", [True, False])
def test_bounded_loss_is_the_loss_of_the_picture_returned(bounded: bool) -> None:
    """With the box in the loss, the best loss recorded is the clamped picture's own; without
    it, the optimiser's best lies outside 0..1 and clamping the picture costs loss."""
    init = torch.full((1, 3, 16, 16), 0.5)
    target = torch.rand(init.shape, generator=torch.Generator().manual_seed(3)) * 2 - 0.5
    loss = _quadratic(target)
    best, history = optimize(init, loss, steps=12, bounded=bounded)
    recorded = min(row["total"] for row in history[0])
    returned = float(loss(best)["total"])
    assert float(best.min()) >= 0 and float(best.max()) <= 1
    if bounded:
        assert returned == pytest.approx(recorded, rel=1e-5)
    else:
        assert returned > recorded + 1
