"""End-to-end behaviour of `StyleTransfer` / `stylize` on small images from ../shared/data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data
from synthetic import synthetic_paintings, write_paintings

from artstyle import StyleTransfer, stylize, stylize_result
from artstyle.backbone import gram
from artstyle.errors import ArtstyleError
from artstyle.images import read_image, to_tensor
from artstyle.nst import transfer as nst_transfer
from artstyle.nst.color import luminance

SMALL = {"size": 64, "style_size": 64, "device": "cpu"}


@pytest.fixture(scope="module")
def painter(paintings: list[Path]) -> StyleTransfer:
    return StyleTransfer(paintings[:4], steps=12, **SMALL)


def _gram_distance(image: torch.Tensor, painter: StyleTransfer) -> float:
    """Distance of the image's Grams to the batch-mean targets (the part steps can lower)."""
    with torch.no_grad():
        feats = painter.net(image)[: len(painter.targets)]
        unit = painter.net.unit
        return sum(
            float((gram(f, unit)[0] - t.mean).pow(2).mean())
            for f, t in zip(feats, painter.targets, strict=True)
        )


def test_lbfgs_lowers_loss_and_moves_towards_style(painter: StyleTransfer, photo: Path) -> None:
    result = painter.run(photo)
    first = result.history[0]
    assert len(result.history) == 12
    assert result.losses["total"] < 0.7 * first["total"]
    start = to_tensor(Image.open(photo).convert("RGB").resize((64, 64), Image.Resampling.LANCZOS))
    assert _gram_distance(result.tensor, painter) < 0.7 * _gram_distance(start, painter)
    other = to_tensor(Image.fromarray(data.astronaut()).resize((64, 64)))
    # still nearer its photo than another photo is
    assert 0 < result.losses["content"] < painter.score(photo, other)["content"]
    assert result.image.size == (64, 64)
    assert float(result.tensor.min()) >= 0 and float(result.tensor.max()) <= 1


def test_pyramid_paints_further_in_the_same_steps(painter: StyleTransfer, photo: Path) -> None:
    """The default pyramid against bare pixels (the classic method), 12 steps each, on the
    evaluator's loss of the saved pictures."""
    default = painter.score(photo, painter.run(photo).image)["total"]
    bare = painter.score(photo, painter.run(photo, pyramid=0, bounded=False).image)["total"]
    assert default < 0.95 * bare


def test_adam_from_noise_lowers_loss_and_is_reproducible(
    paintings: list[Path], photo: Path
) -> None:
    painter = StyleTransfer(paintings[:2], steps=6, optimizer="adam", init="noise", **SMALL)
    a, b = painter.run(photo), painter.run(photo)
    assert a.losses["total"] < a.history[0]["total"]
    torch.testing.assert_close(a.tensor, b.tensor)
    other = StyleTransfer(paintings[:2], steps=6, optimizer="adam", init="noise", seed=1, **SMALL)
    assert not torch.equal(other.run(photo).tensor, a.tensor)


def test_callback_sees_every_step(painter: StyleTransfer, photo: Path) -> None:
    seen: list[tuple[int, set[str], tuple[int, ...]]] = []
    painter.run(photo, lambda step, losses, image: seen.append((step, set(losses), image.shape)))
    assert [s[0] for s in seen] == list(range(1, 13))
    assert seen[0][1] == {"total", "content", "style"}
    assert seen[0][2] == (1, 3, 64, 64)


def test_a_base_pass_starts_the_full_size_pass_closer_to_the_optimum(
    paintings: list[Path], photo: Path
) -> None:
    single = StyleTransfer(paintings[:4], **{**SMALL, "steps": 4}).run(photo)
    seen: list[tuple[int, tuple[int, ...]]] = []
    settings = {**SMALL, "steps": 8, "base_size": 32, "refine_steps": 4}
    two = StyleTransfer(paintings[:4], **settings).run(
        photo, lambda step, losses, image: seen.append((step, tuple(image.shape[-2:])))
    )
    assert [step for step, _ in seen] == list(range(1, 13))  # numbered across both passes
    assert {shape for _, shape in seen[:8]} == {(32, 32)} and seen[-1][1] == (64, 64)
    assert two.final_start == 8 and len(two.history) == 12
    assert two.image.size == (64, 64)
    # same full-size steps; the upsampled base result is already far along
    assert two.history[8]["style"] < 0.85 * single.history[0]["style"]
    assert two.losses["total"] < single.losses["total"]
    assert two.losses == min(two.history[8:], key=lambda h: h["total"])


def test_score_puts_a_result_on_the_objective_it_was_optimised_for(
    painter: StyleTransfer, photo: Path
) -> None:
    result = painter.run(photo)
    scored = painter.score(photo, result.tensor)
    assert scored["total"] == pytest.approx(result.losses["total"], rel=0.02)
    unpainted = painter.score(photo, photo)
    assert unpainted["content"] < 1e-6 * result.losses["content"]
    assert unpainted["style"] > 1.5 * result.losses["style"]


def test_preserve_color_keeps_the_photos_chrominance(paintings: list[Path], photo: Path) -> None:
    result = stylize_result(photo, paintings[:2], steps=4, preserve_color=True, **SMALL)
    original = to_tensor(read_image(photo).resize((64, 64), Image.Resampling.LANCZOS))
    # chrominance = image minus its luminance; equal up to clamping and 8-bit rounding
    delta = (result.tensor - luminance(result.tensor)) - (original - luminance(original))
    assert float(delta.abs().mean()) < 0.02


def test_inputs_may_be_paths_pil_arrays_or_a_tensor_batch(paintings: list[Path]) -> None:
    pils = [read_image(p) for p in paintings[:3]]
    from_paths = StyleTransfer(paintings[:3], **SMALL).targets
    from_arrays = StyleTransfer([np.asarray(p) for p in pils], **SMALL).targets
    batch = torch.cat([to_tensor(p) for p in pils])
    from_tensor = StyleTransfer(batch, **SMALL).targets
    for a, b, c in zip(from_paths, from_arrays, from_tensor, strict=True):
        torch.testing.assert_close(a.mean, b.mean)
        torch.testing.assert_close(a.mean, c.mean, rtol=1e-4, atol=1e-6)


def test_stylize_returns_a_picture_with_the_longest_side_asked_for(
    paintings: list[Path],
) -> None:
    photo = Image.new("RGB", (90, 60), (200, 120, 40))
    out = stylize(photo, paintings[:1], steps=2, size=48, style_size=32, device="cpu")
    assert isinstance(out, Image.Image) and out.size == (48, 32)


def test_mixed_style_sizes_and_native_style_size(paintings: list[Path]) -> None:
    styles = [Image.new("RGB", (40, 30), "red"), Image.new("RGB", (20, 20), "blue")]
    painter = StyleTransfer(styles, style_size=None, steps=1, size=32, device="cpu")
    assert painter.num_styles == 2


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"style_layers": ["conv_99"]}, "unknown VGG19 layer"),
        ({"layer_weights": [1.0, 2.0]}, "2 layer weights given for 5 style layers"),
        ({"style_blend": [1.0]}, "style_blend needs 2"),
        ({"steps": 0}, "steps"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"colour": True}, "colour"),
    ],
)
def test_bad_settings_are_one_line_errors(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ArtstyleError, match=message):
        StyleTransfer(torch.rand(2, 3, 16, 16), device="cpu", **settings)


def test_no_styles_is_an_error() -> None:
    with pytest.raises(ArtstyleError, match="no style images"):
        StyleTransfer([])


def test_compiled_loss_equals_the_eager_one(paintings: list[Path]) -> None:
    """`compile=True` changes the speed, not the loss or its gradient; a second photo of the
    same size reuses the compiled function. In fp32: in bf16 the compiled graph rounds its
    intermediates elsewhere than the eager one (losses 0.3 % apart on this test)."""
    st = StyleTransfer(paintings[:2], style_size=48, device="cpu", tv_weight=0.1, precision="fp32")
    gen = torch.Generator().manual_seed(0)
    photo = torch.rand(2, 3, 40, 40, generator=gen)
    image = (photo + 0.1 * torch.randn(photo.shape, generator=gen)).clamp(0, 1)
    results = []
    for compiled in (False, True, True):
        cfg = st.config.per_photo(compile=compiled)
        x = image.clone().requires_grad_(True)
        losses = st._objective(cfg, photo)(x)
        losses["total"].sum().backward()
        results.append((losses, x.grad))
    first = st._compiled
    assert first is not None and st._compiled_terms() is first
    (eager, grad), *compiled_runs = results
    for losses, compiled_grad in compiled_runs:
        for key in ("total", "content", "style", "tv"):
            torch.testing.assert_close(losses[key], eager[key], rtol=1e-4, atol=0)
        torch.testing.assert_close(compiled_grad, grad, rtol=1e-3, atol=1e-6)


def test_style_targets_do_not_depend_on_how_the_styles_are_chunked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Style images go through the network in chunks of a fixed number of pixels (so that large
    style images do not run out of memory); the targets are the same however they are cut."""
    settings = {"size": 32, "style_size": None, "device": "cpu"}
    for styles in (synthetic_paintings(5, size=48), write_paintings(tmp_path, 5, size=48)):
        whole = StyleTransfer(styles, **settings).targets
        with monkeypatch.context() as patch:
            patch.setattr(nst_transfer, "_STYLE_PIXELS", 2 * 48 * 48)  # two images a chunk
            chunked = StyleTransfer(styles, **settings).targets
        for a, b in zip(whole, chunked, strict=True):
            torch.testing.assert_close(a.mean, b.mean)
            assert a.spread == pytest.approx(b.spread, rel=1e-4)
