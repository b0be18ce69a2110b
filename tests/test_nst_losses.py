"""The batch style loss equals the seed's naive per-image formula, at a cost that ignores m."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from artstyle import StyleTransfer
from artstyle.backbone import PRESETS, VGGFeatures, product_sum
from artstyle.nst import losses
from artstyle.nst.losses import content_loss, gram_targets, style_loss, tv_loss

UNIT = 57.63


def _naive_gram(f: torch.Tensor) -> torch.Tensor:
    c, h, w = f.shape
    flat = f.reshape(c, h * w) / UNIT
    return flat @ flat.t() / (c * h * w)


def _naive_style_loss(
    out: list[torch.Tensor], styles: list[list[torch.Tensor]], blend: torch.Tensor
) -> torch.Tensor:
    """The seed's formula: per layer, the (blended) mean over style images of MSE(G_i, G(X))."""
    w = blend / blend.sum()
    total = torch.zeros(())
    for layer, f in enumerate(out):
        g = _naive_gram(f[0])
        total = total + sum(
            wi * F.mse_loss(_naive_gram(s[layer][0]), g) for wi, s in zip(w, styles, strict=True)
        )
    return total


@pytest.fixture(scope="module")
def net() -> VGGFeatures:
    return VGGFeatures(PRESETS["ast-gan"].style)


@pytest.mark.parametrize("m", [1, 3, 8])
@pytest.mark.parametrize("blended", [False, True])
def test_batch_loss_and_gradient_equal_naive(net: VGGFeatures, m: int, blended: bool) -> None:
    g = torch.Generator().manual_seed(m)
    styles = torch.rand(m, 3, 40, 48, generator=g)
    blend = torch.rand(m, generator=g) + 0.1 if blended else torch.ones(m)
    with torch.no_grad():
        style_features = [net(s.unsqueeze(0)) for s in styles]
        targets = gram_targets(
            [(net(styles[:2]), blend[:2]), (net(styles[2:]), blend[2:])][: 1 if m == 1 else 2],
            [1.0] * 5,
            UNIT,
        )
    x1 = torch.rand(1, 3, 32, 36, generator=g, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)
    (ours,) = style_loss(net(x1), targets, UNIT)  # one image, one loss
    naive = _naive_style_loss(net(x2), style_features, blend)
    ours.backward()
    naive.backward()
    torch.testing.assert_close(ours, naive, rtol=1e-4, atol=0)
    assert x1.grad is not None and x2.grad is not None
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-4, atol=1e-4 * float(x2.grad.abs().max()))


def test_layer_weights_scale_their_layer(net: VGGFeatures) -> None:
    styles = torch.rand(2, 3, 32, 32)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        feats, out = net(styles), net(x)
        plain = gram_targets([(feats, torch.ones(2))], [1.0] * 5, UNIT)
        double_first = gram_targets([(feats, torch.ones(2))], [2.0, 1, 1, 1, 1], UNIT)
        first_only = gram_targets([(feats, torch.ones(2))], [1.0, 0, 0, 0, 0], UNIT)
    extra = style_loss(out, double_first, UNIT) - style_loss(out, plain, UNIT)
    torch.testing.assert_close(extra, style_loss(out, first_only, UNIT))


def test_gram_work_per_step_does_not_grow_with_m(
    monkeypatch: pytest.MonkeyPatch, photo: object
) -> None:
    """Count Gram computations during the optimisation only (targets are made beforehand)."""
    calls = {"n": 0}
    real_gram = losses.gram

    def counting_gram(features: torch.Tensor, unit: float = 1.0) -> torch.Tensor:
        calls["n"] += 1
        return real_gram(features, unit)

    counts = {}
    for m in (1, 8):
        painter = StyleTransfer(torch.rand(m, 3, 32, 32), size=32, steps=3, device="cpu")
        monkeypatch.setattr(losses, "gram", counting_gram)
        calls["n"] = 0
        painter.run(photo)
        monkeypatch.setattr(losses, "gram", real_gram)
        counts[m] = calls["n"]
    assert counts[1] == counts[8] == 3 * len(PRESETS["ast-gan"].style)


def test_spread_is_zero_for_one_image_and_positive_for_many(net: VGGFeatures) -> None:
    with torch.no_grad():
        one = gram_targets([(net(torch.rand(1, 3, 32, 32)), torch.ones(1))], [1.0] * 5, UNIT)
        two = gram_targets([(net(torch.rand(2, 3, 32, 32)), torch.ones(2))], [1.0] * 5, UNIT)
    assert all(t.spread == 0 for t in one)
    assert all(t.spread > 0 for t in two)


def test_empty_or_zero_weight_batch_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        gram_targets([], [1.0], UNIT)
    with pytest.raises(ValueError, match="sum to zero"):
        gram_targets([([torch.rand(2, 4, 3, 3)], torch.zeros(2))], [1.0], UNIT)


def test_content_and_tv_losses() -> None:
    f = torch.rand(1, 8, 5, 5)
    assert float(content_loss(f, f)) == 0
    assert float(content_loss(f + 2.0, f, unit=2.0)) == pytest.approx(1.0)
    assert float(tv_loss(torch.full((1, 3, 8, 8), 0.3))) == 0
    stripes = torch.zeros(1, 3, 8, 8)
    stripes[..., ::2] = 1.0
    assert float(tv_loss(stripes)) == pytest.approx(1.0)


def test_losses_of_a_batch_are_each_images_own(net: VGGFeatures) -> None:
    """Photos painted as one batch are separate problems: each image's losses are what it
    would have alone, whatever its neighbours are."""
    images, photos = torch.rand(3, 3, 32, 32), torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        targets = gram_targets([(net(torch.rand(2, 3, 32, 32)), torch.ones(2))], [1.0] * 5, UNIT)
        batch, alone = net(images), [net(images[i : i + 1]) for i in range(3)]
        content = net(photos)
        for i in range(3):
            torch.testing.assert_close(
                style_loss(batch, targets, UNIT)[i], style_loss(alone[i], targets, UNIT)[0]
            )
            torch.testing.assert_close(
                content_loss(batch[-1], content[-1], UNIT)[i],
                content_loss(alone[i][-1], content[-1][i : i + 1], UNIT)[0],
            )
            torch.testing.assert_close(tv_loss(images)[i], tv_loss(images[i : i + 1])[0])


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_hand_written_gradients_equal_autograds(dtype: torch.dtype) -> None:
    """`product_sum` and the content loss carry backward passes of their own (for speed). On
    channels_last features in each precision they give autograd's plain formulas' values; in
    fp32 `product_sum`'s gradient equals autograd's to within rounding (to the bit for a
    symmetric upstream gradient with MKL's AVX-512 kernels, not with its AVX2 ones, which sum
    the two layouts in different orders); in bf16 (its product in bf16) to within bf16's
    rounding of fp32 sums. The content loss's gradient equals autograd's to the bit in both."""
    gen = torch.Generator().manual_seed(0)
    f = torch.randn(2, 8, 6, 5, generator=gen).to(dtype)
    f = f.contiguous(memory_format=torch.channels_last)
    target = torch.randn(2, 8, 6, 5, generator=gen).to(dtype)
    flat = f.permute(0, 2, 3, 1).reshape(2, 30, 8)
    skew = torch.randn(2, 8, 8, generator=gen)

    def grads(fn: object, upstream: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = flat.detach().requires_grad_(True)
        value = fn(x)  # type: ignore[operator]
        (value * upstream).sum().backward()
        assert x.grad is not None
        return value.detach(), x.grad

    plain = lambda x: x.float().mT @ x.float()  # noqa: E731
    for upstream in (skew + skew.mT, skew):  # a Gram loss's upstream gradient is symmetric
        own = grads(product_sum, upstream)
        assert own[0].dtype == torch.float32 and own[1].dtype == dtype
        assert torch.equal(own[0], plain(flat))
        # against fp32 sums (autograd's own adds two bf16-rounded halves), as a whole
        x32 = flat.detach().float().requires_grad_(True)
        (plain(x32) * upstream).sum().backward()
        assert x32.grad is not None
        error = (own[1].float() - x32.grad).norm() / x32.grad.norm()
        assert error < (1e-6 if dtype == torch.float32 else 2**-7)

    x_own, x_plain = f.detach().requires_grad_(True), f.detach().requires_grad_(True)
    loss = content_loss(x_own, target, UNIT)
    reference_loss = (x_plain.float() - target.float()).pow(2).mean((1, 2, 3)) / UNIT**2
    weights = torch.tensor([0.3, 2.0])
    (loss * weights).sum().backward()
    (reference_loss * weights).sum().backward()
    assert torch.equal(loss.detach(), reference_loss.detach())
    assert x_own.grad is not None and x_plain.grad is not None
    assert torch.equal(x_own.grad, x_plain.grad)
    assert x_own.grad.is_contiguous(memory_format=torch.channels_last)
