"""The GAN v1 recipe's parts: recipes, architectures, Gram feature matching."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from synthetic import synthetic_paintings
from torch import nn

from artstyle.config import RECIPES, TrainConfig, stored_train_config, train_recipe
from artstyle.errors import ArtstyleError
from artstyle.gan import train as train_module
from artstyle.gan.data import PaintingSet
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.gram_match import GramMatch
from artstyle.gan.models import PixelNoise, Residual, build_discriminator, build_generator
from artstyle.gan.terms import whole_view
from artstyle.gan.terms.whole_view import WholeView, whole_paintings
from artstyle.gan.train import Run


def test_default_settings_are_the_recommended_recipe() -> None:
    assert RECIPES["artstyle"] == {}
    assert train_recipe("artstyle") == TrainConfig()


def test_texture_generator_normalises_without_batch_statistics() -> None:
    torch.manual_seed(0)
    z = torch.randn(4, 100)
    for norm, independent in (("pixel", True), ("batch", False)):
        g = build_generator(TrainConfig(width=4, g_norm=norm)).train()  # as in training
        noise = g.make_noise(4, 128)  # the whole canvas: no random window of it
        with torch.no_grad():
            alone, in_batch = g(z[:1], noise[:1]), g(z, noise)[:1]
        # pixel noise starts at zero weight, so only the normalisation can tell them apart
        assert torch.allclose(alone, in_batch, atol=1e-5) == independent, norm


def test_texture_generator_upsamples_as_configured() -> None:
    torch.manual_seed(0)
    z = torch.randn(2, 100)
    samples = {}
    expected = {
        "nearest": ["nearest"] * 4,
        "bilinear": ["bilinear"] * 4,
        "coarse-bilinear": ["bilinear", "bilinear", "nearest", "nearest"],
    }
    for mode, modes in expected.items():
        torch.manual_seed(1)  # the same weights for all
        g = build_generator(TrainConfig(width=4, g_upsample=mode)).eval()
        assert [m.mode for m in g.modules() if isinstance(m, torch.nn.Upsample)] == modes
        with torch.no_grad():
            samples[mode] = g(z, g.make_noise(2, 128, torch.Generator().manual_seed(0)))
    assert not torch.allclose(samples["nearest"], samples["bilinear"])
    assert not torch.allclose(samples["nearest"], samples["coarse-bilinear"])
    assert not torch.allclose(samples["bilinear"], samples["coarse-bilinear"])


def test_layout_convolutions_widen_what_one_cell_reaches() -> None:
    """A change to one cell's noise reaches one more cell on each side per layout convolution."""
    reach = {}
    for convs in (0, 2):
        torch.manual_seed(0)
        g = build_generator(TrainConfig(width=4, g_layout_convs=convs)).eval()
        blocks = [m for m in g.modules() if isinstance(m, Residual)]
        assert len(blocks) == convs and not any(b.gain.any() for b in blocks)  # identity at first
        for block in blocks:  # opened, as training opens them
            nn.init.ones_(block.gain)
        noise = g.make_noise(1, 160, torch.Generator().manual_seed(0))  # 10 x 10 cells of 16 px
        moved = noise.clone()
        moved[..., 5, 5] += 3
        z = torch.randn(1, 100)
        with torch.no_grad():
            changed = (g(z, noise) - g(z, moved)).abs().amax(dim=(0, 1, 2)) > 0
        columns = changed.nonzero().flatten()
        reach[convs] = int(columns.max() - columns.min() + 1)
    # 3 cells, and 8 + 4 + 2 + 1 px on each side from the convolutions after each doubling
    assert reach == {0: 3 * 16 + 2 * 15, 2: 7 * 16 + 2 * 15}


def test_position_input_lets_the_generator_compose_the_style_stages_sample() -> None:
    """Without it the same noise in every cell paints the same everywhere; with it the sample
    can differ from top to bottom, and a training patch is a window at a random place."""
    rows = {}
    for position in (False, True):
        torch.manual_seed(0)
        g = build_generator(TrainConfig(width=4, g_position=position)).eval()
        assert g.canvas == (8 if position else 0)  # 128-px samples of 16-px cells
        z = torch.randn(1, 100)
        same = torch.randn(1, g.noise_dim, 1, 1).expand(-1, -1, 8, 8)  # every cell alike
        with torch.no_grad():
            sample = g(z, same)
            rows[position] = sample.mean(dim=(1, 3)).squeeze(0)  # (128,) mean of each row
            if position:
                assert torch.equal(sample, g(z, same))  # the whole canvas: no randomness
                patches = [g(z, same[..., :4, :4]) for _ in range(8)]
                assert any(not torch.equal(patches[0], p) for p in patches[1:])
    assert torch.allclose(rows[False], rows[False][0], atol=1e-6)
    assert (rows[True][:16].mean() - rows[True][-16:].mean()).abs() > 1e-4


def test_pixel_noise_varies_the_last_convolutions_input_pixel_by_pixel() -> None:
    seen = {}
    for pixel_noise in (False, True):
        g = build_generator(TrainConfig(width=4, g_pixel_noise=pixel_noise)).eval()
        for m in g.modules():
            if isinstance(m, PixelNoise):
                torch.nn.init.ones_(m.weight)
        last = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        last.register_forward_pre_hook(lambda _, args, p=pixel_noise: seen.update({p: args[0]}))
        with torch.no_grad():
            g(torch.randn(1, 100), g.make_noise(1, 64))
    # nearest doubling repeats each pixel; only the new noise tells the two of a pair apart
    pairs = {p: torch.equal(x[..., 0::2], x[..., 1::2]) for p, x in seen.items()}
    assert pairs == {False: True, True: False}


def test_files_from_before_g_norm_load_with_batchnorm() -> None:
    old = TrainConfig().flat()
    del old["g_norm"]
    assert stored_train_config(old).networks.g_norm == "batch"
    assert stored_train_config({**old, "g_norm": "pixel"}).networks.g_norm == "pixel"
    del old["anneal"], old["gram_scale"], old["settle_steps"]  # older runs go on as they were
    assert (stored_train_config(old).optim.anneal, TrainConfig().optim.anneal) == (0, 0.2)
    assert (stored_train_config(old).settle.steps, TrainConfig().settle.steps) == (0, 900)
    assert (stored_train_config(old).gram.scale, TrainConfig().gram.scale) == ("patch", "sample")
    del old["settle_grid_weight"]  # settled on the Gram loss alone
    assert (stored_train_config(old).settle.grid_weight, TrainConfig().settle.grid_weight) == (0, 5)
    del old["g_layout_convs"]  # built without layout convolutions (shipped v1-v12)
    layout = stored_train_config(old).networks.g_layout_convs
    assert (layout, TrainConfig().networks.g_layout_convs) == (0, 2)
    del old["g_position"]  # painted without knowing where (shipped v1-v13)
    position = stored_train_config(old).networks.g_position
    assert (position, TrainConfig().networks.g_position) == (False, True)
    shipped = StyleGenerator.from_pretrained("vangogh", device="cpu")  # a texture model
    assert shipped.sample(2).shape[-1] == shipped.sample_size


def test_ast_gan_recipe_is_the_seeds_dcgan() -> None:
    cfg = train_recipe("ast-gan")
    net, data, optim = cfg.networks, cfg.data, cfg.optim
    assert (net.arch, net.image_size, data.crop, data.flip) == ("dcgan", 64, "center", False)
    assert (optim.batch_size, cfg.run.epochs, optim.lr_g, optim.beta1) == (128, 300, 2e-4, 0.5)
    assert (optim.ema, cfg.gram.weight, data.diffaugment, optim.loss) == (None, None, "", "bce")
    assert (cfg.optim.anneal, cfg.settle.steps) == (0, 0)
    assert (cfg.optim.real_label, cfg.optim.real_label_late) == (0.85, 0.95)
    assert cfg.sample_size == 64


def test_recipe_overrides_win_and_unknown_recipe_is_one_line() -> None:
    assert train_recipe("ast-gan", batch_size=16).optim.batch_size == 16
    with pytest.raises(ArtstyleError, match=r"unknown recipe 'stylegan'.*ast-gan"):
        train_recipe("stylegan")


@pytest.mark.parametrize("arch", ["texture", "dcgan", "mlp"])
@pytest.mark.parametrize("size", [64, 128])
def test_generator_shapes_for_every_architecture(arch: str, size: int) -> None:
    cfg = TrainConfig(arch=arch, image_size=size, width=4)  # type: ignore[arg-type]
    images = build_generator(cfg)(torch.randn(2, cfg.networks.z_dim))
    assert images.shape == (2, 3, size, size) and images.abs().max() <= 1
    assert build_discriminator(cfg)(images).shape == (2,)


def test_texture_generator_paints_any_multiple_of_16_without_a_frame() -> None:
    z = torch.randn(2, 100)
    for position in (True, False):  # with it 5 x 5 cells are a window of the 8 x 8 canvas
        g = build_generator(TrainConfig(arch="texture", width=4, g_position=position)).eval()
        assert g(z, torch.randn(2, 16, 8, 8)).shape == (2, 3, 128, 128)
        flat = g(z[:1], torch.zeros(1, 16, 5, 5))
        assert flat.shape == (1, 3, 80, 80)
    # without position a constant noise map and z give a constant image: no layer knows where
    # the border is
    assert torch.allclose(flat, flat[..., :1, :1].expand_as(flat), atol=1e-6)


def test_gram_match_target_is_the_paintings_mean_gram() -> None:
    images = (synthetic_paintings(8, size=64) * 255).round().to(torch.uint8)
    match = GramMatch(images, torch.device("cpu"))
    real = images.float().div(127.5).sub(1)
    _, error = match.loss(real)  # the whole set: its mean Gram is the target
    assert error < 1e-4
    noise = torch.rand_like(real) * 2 - 1
    fresh = GramMatch(images, torch.device("cpu"))
    _, noise_error = fresh.loss(noise)
    assert noise_error > 0.3


def test_gram_match_gradient_moves_samples_towards_the_paintings() -> None:
    images = (synthetic_paintings(8, size=64) * 255).round().to(torch.uint8)
    match = GramMatch(images, torch.device("cpu"), decay=0.0)  # no memory: plain batch mean
    fake = (torch.rand(4, 3, 64, 64) * 2 - 1).requires_grad_(True)
    errors = []
    for _ in range(5):
        loss, error = match.loss(fake)
        errors.append(error)
        (grad,) = torch.autograd.grad(loss, fake)
        with torch.no_grad():
            fake -= 0.5 * grad / grad.abs().max()
    assert errors[-1] < errors[0]


def test_gram_weight_adds_the_loss_to_the_step() -> None:
    images = (synthetic_paintings(8, size=128) * 255).round().to(torch.uint8)
    data = PaintingSet(images, [Path(f"{i}.png") for i in range(8)], 64, "patch")
    base = {"arch": "texture", "crop": "patch", "width": 4, "batch_size": 8}
    on = Run(TrainConfig(**base, gram_weight=1.0, gram_batch=4), data, Path("unused"))
    stats = on.train_step(torch.arange(8))
    assert 0 < stats["gram_error"] < 10
    off = Run(TrainConfig(**base, gram_weight=None, settle_steps=0), data, Path("unused"))
    assert off.gram is None and math.isnan(off.train_step(torch.arange(8))["gram_error"])


def test_gram_layers_choose_what_the_gram_loss_matches() -> None:
    images = (synthetic_paintings(8, size=128) * 255).round().to(torch.uint8)
    data = PaintingSet(images, [Path(f"{i}.png") for i in range(8)], 64, "patch")
    base = {"arch": "texture", "crop": "patch", "width": 4, "batch_size": 8, "gram_batch": 4}
    both = Run(TrainConfig(**base, gram_layers="both"), data, Path("unused"))
    assert both.gram is not None
    assert both.gram.net.layers[-1] == "relu5_1" and len(both.gram.targets) == 10
    assert 0 < both.train_step(torch.arange(8))["gram_error"] < 10
    shallow = Run(TrainConfig(**base, gram_layers="ast-gan"), data, Path("unused"))
    assert shallow.gram is not None and len(shallow.gram.targets) == 5
    shallow.gram.load_state(both.gram.state())  # ten running means fit no five layers
    assert shallow.gram.running is None


def test_whole_view_sees_each_paintings_centre_square_shrunk() -> None:
    """A portrait painting (128 x 96 inside its 128 x 128 frame): the whole view keeps its centre
    96 x 96 square and nothing of the frame's padding or of the cut-off top and bottom."""
    images = torch.zeros(1, 3, 128, 128, dtype=torch.uint8)
    images[0, 0] = 255  # red everywhere: the strips above and below the centre square
    images[0, :, 16:112, :96] = torch.tensor([0, 255, 0], dtype=torch.uint8).view(3, 1, 1)
    images[0, :, :, 96:] = torch.tensor([0, 0, 255], dtype=torch.uint8).view(3, 1, 1)  # padding
    data = PaintingSet(images, [Path("p.png")], 64, "patch", sizes=torch.tensor([[128, 96]]))
    wholes = whole_paintings(data, data.image_size)
    assert wholes.shape == (1, 3, 64, 64)
    assert (wholes[0, 1] == 255).all() and (wholes[0, 0] == 0).all() and (wholes[0, 2] == 0).all()


def test_whole_view_discriminator_learns_beside_the_main_one() -> None:
    images = (synthetic_paintings(8, size=128) * 255).round().to(torch.uint8)
    data = PaintingSet(images, [Path(f"{i}.png") for i in range(8)], 64, "patch")
    cfg = TrainConfig(arch="texture", width=4, batch_size=8, gram_batch=4, whole_weight=1.0)
    run = Run(cfg, data, Path("unused"))
    dw = run.terms["whole_view"]
    assert isinstance(dw, WholeView)
    before = [p.detach().clone() for p in dw.net.parameters()]
    stats = run.train_step(torch.arange(8))
    assert 0 < stats["whole_fake"] < 1
    assert any(not torch.equal(a, b) for a, b in zip(before, dw.net.parameters()))
    assert math.isnan(Run(cfg.model_copy(update={"whole_weight": 0.0}), data, Path("u"))
                      .train_step(torch.arange(8))["whole_fake"])  # fmt: skip
    with pytest.raises(ValueError, match="whole_weight needs whole samples"):
        TrainConfig(whole_weight=1.0, crop="center")


def test_whole_view_is_augmented_by_its_own_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """`whole_diffaugment` reaches the whole-view discriminator only; the patches keep theirs."""
    images = (synthetic_paintings(8, size=128) * 255).round().to(torch.uint8)
    data = PaintingSet(images, [Path(f"{i}.png") for i in range(8)], 64, "patch")
    seen: list[tuple[int, str]] = []

    def record(x: torch.Tensor, policy: str) -> torch.Tensor:
        seen.append((x.shape[0], policy))
        return x

    monkeypatch.setattr(train_module, "diff_augment", record)
    monkeypatch.setattr(whole_view, "diff_augment", record)
    cfg = TrainConfig(arch="texture", width=4, batch_size=8, gram_batch=4, whole_weight=1.0,
                      whole_diffaugment="translation")  # fmt: skip
    Run(cfg, data, Path("unused")).train_step(torch.arange(8))
    assert sorted(set(seen)) == [(4, "translation"), (8, "")]  # 4 whole views, 8 patches
    assert seen.count((4, "translation")) == 3  # D's fake and real, then G's
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        TrainConfig(whole_diffaugment="translation,blur")
    old = cfg.flat() | {"diffaugment": "cutout"}
    del old["whole_diffaugment"]  # runs from before it: the whole view shared the patches' policy
    assert stored_train_config(old).whole_view.diffaugment == "cutout"


def test_settling_needs_the_gram_loss() -> None:
    with pytest.raises(ValueError, match="settle_steps needs the Gram loss"):
        TrainConfig(gram_weight=None)
    assert TrainConfig(gram_weight=None, settle_steps=0).settle.steps == 0
