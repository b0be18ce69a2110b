"""The texture generator's doublings computed at the coarse resolution: the same function."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from artstyle.config import TrainConfig
from artstyle.gan.doubling import DoublingSequential, doubled_conv, fusable
from artstyle.gan.models import build_generator


@pytest.mark.parametrize(
    ("shape", "out_ch", "bias"), [((2, 5, 4, 6), 7, False), ((1, 3, 1, 3), 2, True)]
)
def test_doubled_conv_is_the_convolution_of_the_nearest_doubling(
    shape: tuple[int, int, int, int], out_ch: int, bias: bool
) -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(shape[1], out_ch, 3, 1, 1, bias=bias, padding_mode="replicate").double()
    x = torch.randn(*shape, dtype=torch.double, requires_grad=True)
    plain = conv(nn.Upsample(scale_factor=2, mode="nearest")(x))
    fused = doubled_conv(x, conv)
    assert fused.shape == plain.shape == (shape[0], out_ch, 2 * shape[2], 2 * shape[3])
    assert torch.allclose(fused, plain, atol=1e-12)
    # and so are the gradients the generator learns from, for the input and every weight
    probe = torch.randn_like(plain)
    grads = [
        torch.autograd.grad((y * probe).sum(), [x, *conv.parameters()]) for y in (plain, fused)
    ]
    for g_plain, g_fused in zip(*grads):
        assert torch.allclose(g_fused, g_plain, atol=1e-12)


def test_only_what_it_computes_exactly_is_fused() -> None:
    double = nn.Upsample(scale_factor=2, mode="nearest")
    conv = nn.Conv2d(3, 3, 3, 1, 1, padding_mode="replicate")
    assert fusable(double, conv)
    assert not fusable(nn.Upsample(scale_factor=2, mode="bilinear"), conv)
    assert not fusable(nn.Upsample(scale_factor=3, mode="nearest"), conv)
    assert not fusable(double, nn.Conv2d(3, 3, 3, 1, 1))  # zero padding
    assert not fusable(double, nn.Conv2d(3, 3, 5, 1, 2, padding_mode="replicate"))
    assert not fusable(double, nn.Conv2d(3, 3, 3, 2, 1, padding_mode="replicate"))
    # a hook on either module sees it run as a plain layer
    conv.register_forward_pre_hook(lambda module, args: None)
    assert not fusable(double, conv)


@pytest.mark.parametrize("upsample", ["nearest", "coarse-bilinear"])
def test_texture_generator_paints_what_its_plain_layers_paint(upsample: str) -> None:
    torch.manual_seed(0)
    g = build_generator(TrainConfig(width=4, g_upsample=upsample)).double().eval()
    assert isinstance(g.net, DoublingSequential)
    for p in g.parameters():  # pixel noise and residual gains start at zero: wake them up
        p.data.normal_(0, 0.3)
    z = torch.randn(2, 100, dtype=torch.double)
    noise = g.make_noise(2, 96).double()  # 6 x 6 cells: a window, and not the training size
    with torch.no_grad():
        torch.manual_seed(1)  # the same pixel noise and window for both
        fused = g(z, noise)
        g.net.forward = lambda x: nn.Sequential.forward(g.net, x)
        torch.manual_seed(1)
        plain = g(z, noise)
    assert fused.shape == (2, 3, 96, 96)
    assert torch.allclose(fused, plain, atol=1e-10)
