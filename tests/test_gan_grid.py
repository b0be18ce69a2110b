"""The pixel grid a generator paints on: its profile, contrast and penalty, in training and
settling."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from synthetic import synthetic_paintings

from artstyle.config import TrainConfig
from artstyle.errors import ArtstyleError
from artstyle.gan import train as training
from artstyle.gan.data import load_paintings
from artstyle.gan.gram_match import GramMatch
from artstyle.gan.grid import grid_contrast, grid_loss, phase_profile
from artstyle.gan.models import build_generator
from artstyle.gan.settle import settle

#: the texture arch, small and without the Gram loss's VGG19 or the whole view
TEXTURE = {
    "width": 4, "batch_size": 8, "gram_weight": None, "whole_weight": 0, "settle_steps": 0,
    "precision": "fp32",
}  # fmt: skip


def _blocks(n: int = 32) -> torch.Tensor:
    """Paintings at half size, their pixels repeated 2 x 2: nearest doubling's blocks."""
    return torch.nn.functional.interpolate(synthetic_paintings(n, 64), scale_factor=2.0)


def test_grid_contrast_is_one_without_a_grid_and_high_for_blocks_and_cells() -> None:
    smooth = synthetic_paintings(32, 128)
    cells = smooth.clone()
    cells[..., 16::32, :] *= 0.8  # a darker band on every second 16-px cell, rows and columns
    cells[..., 16::32] *= 0.8
    uint8 = (smooth * 255).round().to(torch.uint8)
    assert grid_contrast(smooth) < 1.3  # stripes of 32 paintings: no phase favoured
    assert grid_contrast(uint8) == pytest.approx(grid_contrast(smooth), rel=0.02)
    assert grid_contrast(_blocks()) > 10  # nearest doubling: no step inside a pair
    assert grid_contrast(cells) > 2
    with pytest.raises(ArtstyleError, match="at least 17 px"):
        grid_contrast(smooth[..., :16, :16])


def test_grid_loss_flattens_the_profile_of_blocks() -> None:
    """Descending the loss undoes 2 x 2 blocks; the range of the images does not matter."""
    blocks = _blocks(8)
    assert grid_loss(blocks * 2 - 1) == pytest.approx(float(grid_loss(blocks)), rel=1e-4)
    assert float(grid_loss(synthetic_paintings(8, 128))) < 0.01 < float(grid_loss(blocks))
    image = blocks.clone().requires_grad_(True)
    opt = torch.optim.Adam([image], lr=0.01)
    for _ in range(100):
        opt.zero_grad()
        grid_loss(image).backward()
        opt.step()
    assert grid_contrast(image.detach()) < 1.3 < 10 < grid_contrast(blocks)
    assert phase_profile(image.detach()).shape == (2, 16)


def test_the_grid_term_joins_gs_loss_and_logs_the_patches_contrast(
    painting_folder: Path,
) -> None:
    data = load_paintings(painting_folder, 64, "patch")
    off = training.Run(TrainConfig(**TEXTURE), data, Path("unused")).train_step(torch.arange(8))
    run = training.Run(TrainConfig(**TEXTURE, grid_weight=5), data, Path("unused"))
    on = run.train_step(torch.arange(8))
    assert math.isnan(off["grid_contrast"]) and on["grid_contrast"] > 1
    assert "grid" in run.terms and TrainConfig().grid.weight == 0


def test_settling_adds_the_grid_penalty_where_it_is_set(painting_folder: Path) -> None:
    data = load_paintings(painting_folder, 64, "patch")
    net = build_generator(TrainConfig(width=4))
    gram = GramMatch(data.paintings(), torch.device("cpu"), ("conv1_1",))
    settled = {}
    for weight in (0, 1000):
        cfg = TrainConfig(
            width=4, gram_batch=2, settle_steps=3, precision="fp32", settle_grid_weight=weight
        )
        settled[weight] = settle(net, gram, cfg, torch.device("cpu")).state_dict()
    assert any(not torch.equal(settled[0][k], settled[1000][k]) for k in settled[0])
