"""Tiled evaluation of large outputs: the same loss and gradient as the whole image, in tiles."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artstyle import StyleTransfer
from artstyle.nst import tiles
from artstyle.nst.transfer import StyleTransfer as _ST


@pytest.mark.parametrize(("extent", "side"), [(512, 128), (300, 160), (100, 256), (257, 64)])
def test_spans_cover_every_pixel_once_with_aligned_margins(extent: int, side: int) -> None:
    covered = torch.zeros(extent, dtype=torch.int32)
    for span in tiles.spans(extent, side, margin=16, stride=4):
        covered[span.inner] += 1
        assert span.inner.start % 4 == 0 and span.crop.start % 4 == 0
        assert span.crop.start == max(0, span.inner.start - 16)
        assert span.crop.stop == min(extent, span.inner.stop + 16)
    assert bool((covered == 1).all())


def test_tiling_is_chosen_by_memory_or_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = torch.device("cpu")
    assert tiles.tile_side(4096, 4096, 0, cpu) is None  # never
    assert tiles.tile_side(4096, 4096, 512, cpu) == 512
    assert tiles.tile_side(400, 300, 512, cpu) is None  # smaller than one tile
    monkeypatch.setattr(tiles, "available_memory", lambda device: 24 * 2**30)
    assert tiles.tile_side(1024, 1024, None, cpu) is None
    side = tiles.tile_side(4096, 4096, None, cpu)
    assert side is not None and 128 <= side <= tiles.MAX_TILE
    assert tiles.lbfgs_history(512 * 512, cpu) == 50
    assert 3 <= tiles.lbfgs_history(4096 * 4096, cpu) < 50
    monkeypatch.setattr(tiles, "available_memory", lambda device: 2**30)
    small = tiles.tile_side(4096, 4096, None, cpu)
    assert small is not None and small < side


@pytest.mark.parametrize("layers", ["ast-gan", "gatys"])
def test_tiled_loss_and_gradient_equal_the_whole_images(layers: str, paintings: list[Path]) -> None:
    # in fp32: the tiling is exact; in bf16 each path's gradient carries its own bf16 rounding
    # (the losses agree to 1e-5, the gradients differ as bf16 and fp32 gradients do)
    st = StyleTransfer(paintings[:3], style_size=64, layers=layers, device="cpu", precision="fp32")
    torch.manual_seed(0)
    photo = torch.rand(1, 3, 150, 190)
    image = (photo + 0.2 * torch.randn_like(photo)).clamp(0, 1)
    whole = st._objective(st.config, photo)
    tiled = st._tiled_objective(st.config, photo, side=64)
    assert len(tiled.tiles) > 4  # type: ignore[attr-defined]
    results = []
    for objective in (whole, tiled):
        x = image.clone().requires_grad_(True)
        losses = objective(x)
        losses["total"].backward()
        results.append((losses, x.grad))
    (a, grad_a), (b, grad_b) = results
    for key in ("total", "content", "style"):
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=0)
    torch.testing.assert_close(grad_b, grad_a, rtol=1e-3, atol=1e-3 * float(grad_a.abs().max()))


def test_a_tiled_run_paints_like_a_whole_one(paintings: list[Path], photo: Path) -> None:
    st = StyleTransfer(paintings[:4], style_size=64, size=160, device="cpu")
    seen: list[int] = []
    tiled = st.run(photo, lambda step, losses, image: seen.append(step), steps=8, tile_size=64)
    whole = st.run(photo, steps=8, tile_size=0)
    assert tiled.image.size == whole.image.size == (160, 160)
    assert seen == list(range(1, 9))
    # the same objective and gradient (test above); L-BFGS's line search amplifies rounding, so
    # the two runs drift apart, but they get as far
    best_tiled, best_whole = (min(h["total"] for h in r.history) for r in (tiled, whole))
    assert best_tiled < 1.1 * best_whole
    assert st.score(photo, tiled.image)["total"] < 0.9 * st.score(photo, photo)["total"]


def test_tv_weight_with_tiles_is_one_clear_error(paintings: list[Path], photo: Path) -> None:
    st = _ST(paintings[:2], style_size=64, size=96, device="cpu", tv_weight=1.0)
    with pytest.raises(Exception, match="tv_weight is not available for tiled"):
        st.run(photo, steps=1, tile_size=64)
