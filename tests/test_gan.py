"""The GAN stage on tiny widths and a few made-up paintings: shapes, steps, schedules, resume."""

from __future__ import annotations

import json
import math
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from PIL import Image
from synthetic import moving_parameters, synthetic_paintings, write_paintings
from typer.testing import CliRunner

from artstyle.backbone import gram
from artstyle.cli import app
from artstyle.config import PipelineConfig, TrainConfig
from artstyle.errors import ArtstyleError
from artstyle.gan import checkpoint, losses, run_files
from artstyle.gan import train as training
from artstyle.gan.augment import diff_augment
from artstyle.gan.data import load_paintings
from artstyle.gan.export import export_generator, sha256
from artstyle.gan.generator import StyleGenerator, weights_dir
from artstyle.gan.gram_match import GramMatch
from artstyle.gan.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    build_discriminator,
    build_generator,
)
from artstyle.gan.settle import settle
from artstyle.gan.terms import TERMS
from artstyle.images import signed_to_unit, to_pil
from artstyle.nst.transfer import StyleTransfer
from artstyle.style_gap import mean_grams, relative_errors

TINY = {"width": 4, "batch_size": 8, "sample_every": 1, "checkpoint_every": 1, "settle_steps": 0}


@pytest.fixture(scope="module")
def paintings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 made-up paintings plus one corrupt and one empty file."""
    folder = tmp_path_factory.mktemp("paintings")
    write_paintings(folder, 16, size=128)
    (folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    (folder / "sub").mkdir()
    (folder / "sub" / "empty.png").write_bytes(b"")
    return folder


@pytest.mark.parametrize("size", [64, 128])
def test_shapes(size: int) -> None:
    g = DCGANGenerator(z_dim=100, width=8, image_size=size)
    d = DCGANDiscriminator(width=8, image_size=size)
    images = g(torch.randn(3, 100))
    assert images.shape == (3, 3, size, size)
    assert images.abs().max() <= 1
    assert d(images).shape == (3,)
    assert len(d.features(images)) == {64: 4, 128: 5}[size]


def test_width_128_is_the_1024_filter_design() -> None:
    d = DCGANDiscriminator(width=128, image_size=64)
    widths = [m.out_channels for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert widths == [128, 256, 512, 1024, 1]


def test_mlp_arch_shapes() -> None:
    cfg = TrainConfig(arch="mlp")
    images = build_generator(cfg)(torch.randn(2, 100))
    assert images.shape == (2, 3, 64, 64)
    assert build_discriminator(cfg)(images).shape == (2,)


def test_bad_files_skipped_and_counted(paintings: Path) -> None:
    seen: list[str] = []
    data = load_paintings(paintings, 64, "center", on_skip=lambda e: seen.append(str(e)))
    assert len(data) == 16
    assert len(data.skipped) == 2
    assert any("broken.jpg" in s for s in seen) and any("empty.png" in s for s in seen)
    assert data.images.dtype == torch.uint8 and data.images.shape[1:] == (3, 64, 64)


def test_patch_crop_gives_fresh_patches(paintings: Path) -> None:
    data = load_paintings(paintings, 64, "patch")
    assert data.images.shape[-1] == 128
    a, b = data.batch(torch.arange(8)), data.batch(torch.arange(8))
    assert a.shape == (8, 3, 64, 64) and a.min() >= -1 and a.max() <= 1
    assert not torch.equal(a, b)


def test_patches_come_from_paintings_fitted_by_their_long_side(tmp_path: Path) -> None:
    """Wide and tall paintings are read at the style stage's scale (long side 2 x the patch),
    and no patch reaches into the padding of the frame that holds them."""
    for name, size in {"wide": (300, 200), "tall": (150, 240), "strip": (400, 100)}.items():
        Image.new("RGB", size, (200, 150, 100)).save(tmp_path / f"{name}.png")
    data = load_paintings(tmp_path, 32, "patch")
    assert data.sizes is not None
    assert sorted(map(tuple, data.sizes.tolist())) == [(32, 64), (43, 64), (64, 40)]
    patches = data.batch(torch.arange(3).repeat(20), flip=True)
    assert patches.shape == (60, 3, 32, 32)
    assert torch.allclose(patches[:, 0], torch.tensor(200 / 255 * 2 - 1), atol=0.01)


def test_gram_target_is_what_the_style_stage_reads(tmp_path: Path) -> None:
    """The Gram loss pulls towards the paintings as `--styles` prepares them at the sample size
    (the style gap's reference), not towards a differently resampled copy."""
    files = []
    for i, image in enumerate(synthetic_paintings(3, 160, seed=2)):
        files.append(tmp_path / f"p{i}.png")
        to_pil(image[:, : 100 + 20 * i]).save(files[-1])
    data = load_paintings(tmp_path, 32, "patch")
    targets = GramMatch(data.paintings(), torch.device("cpu")).targets
    reference = mean_grams(StyleTransfer(files, PipelineConfig(style_size=64)))
    assert max(relative_errors(targets, reference)) < 0.01


def test_too_few_images_is_a_clear_error(paintings: Path) -> None:
    with pytest.raises(ArtstyleError, match="at least 128"):
        load_paintings(paintings, min_images=128)


def test_label_smoothing_schedule() -> None:
    cfg = TrainConfig(epochs=10)
    labels = [training.real_label_at(cfg, e, 10) for e in range(10)]
    assert labels == [0.85] * 5 + [0.95] * 5


def test_learning_rates_anneal_for_the_last_epochs(paintings: Path) -> None:
    cfg = TrainConfig(**TINY, epochs=5, anneal=0.4, anneal_lr=0.25, lr_g=4e-4, lr_d=2e-4)
    run = _run(cfg, paintings)
    rates = []
    for epoch in range(5):
        run.epoch = epoch
        run.train_step(torch.arange(8))
        rates.append((run.opt_g.param_groups[0]["lr"], run.opt_d.param_groups[0]["lr"]))
    assert rates == [(4e-4, 2e-4)] * 3 + [(1e-4, 5e-5)] * 2


def _run(cfg: TrainConfig, paintings: Path) -> training.Run:
    return training.Run(cfg, load_paintings(paintings, 64, cfg.data.crop), Path("unused"))


def _off(run: training.Run) -> set[str]:
    """The log fields of the terms the run's settings leave off: NaN in every step."""
    return {f for name, term in TERMS.items() if name not in run.terms for f in term.log_fields}


def test_one_step_updates_both_networks(paintings: Path) -> None:
    cfg = TrainConfig(**TINY)
    run = _run(cfg, paintings)
    g0 = [p.clone() for p in moving_parameters(run.g)]
    d0 = [p.clone() for p in run.d.parameters()]
    stats = run.train_step(torch.arange(8))
    assert all(torch.isfinite(torch.tensor(v)) for k, v in stats.items() if k not in _off(run))
    assert all(not torch.equal(a, b) for a, b in zip(g0, moving_parameters(run.g)))
    assert all(not torch.equal(a, b) for a, b in zip(d0, run.d.parameters()))


@pytest.mark.parametrize("loss", ["hinge", "wgan-gp"])
def test_other_losses_step(loss: str, paintings: Path) -> None:
    # with the whole view on, so its discriminator is exercised under each loss too
    run = _run(TrainConfig(**TINY, loss=loss, whole_weight=1.0), paintings)  # type: ignore[arg-type]
    stats = run.train_step(torch.arange(8))
    assert "whole_view" in run.terms
    assert all(torch.isfinite(torch.tensor(v)) for k, v in stats.items() if k not in _off(run))


def test_conditional_backprop_skips_below_threshold_only(paintings: Path) -> None:
    # BCE losses start near 1.4 (D) and 0.7 (G): a threshold of 100 always skips, 0 never does.
    run = _run(TrainConfig(**TINY, d_threshold=100.0, g_threshold=0.0), paintings)
    d0 = [p.clone() for p in run.d.parameters()]
    g0 = [p.clone() for p in moving_parameters(run.g)]
    stats = run.train_step(torch.arange(8))
    assert stats["skipped_d"] == 1 and stats["skipped_g"] == 0
    assert all(torch.equal(a, b) for a, b in zip(d0, run.d.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(g0, moving_parameters(run.g)))
    assert run.skipped_d == 1 and run.skipped_g == 0


def test_diffaugment_keeps_shape_and_passes_gradients() -> None:
    x = torch.rand(4, 3, 32, 32, requires_grad=True)
    y = diff_augment(x * 2 - 1, "color,translation,cutout")
    assert y.shape == x.shape
    y.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert not torch.equal(y, x * 2 - 1)
    assert torch.equal(diff_augment(x, ""), x)


def test_unknown_diffaugment_policy_rejected() -> None:
    with pytest.raises(ValueError, match="unknown DiffAugment policy"):
        TrainConfig(diffaugment="color,zoom")


def _same_tensors(a: Path, b: Path) -> bool:
    ta, _ = checkpoint.load(a)
    tb, _ = checkpoint.load(b)
    return ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_interrupted_then_resumed_equals_uninterrupted(
    precision: str, paintings: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = TrainConfig(
        **TINY, epochs=2, diffaugment="color,translation,cutout", ema=0.9, crop="patch", flip=True,
        arch="texture", gram_weight=1.0, gram_batch=4, whole_weight=1.0,
        precision=precision,  # type: ignore[arg-type]
    )  # fmt: skip
    training.train(paintings, tmp_path / "full", cfg, progress=False)

    original = training.Run.train_step

    def interrupt_at_step_3(self: training.Run, index: torch.Tensor) -> dict[str, float]:
        stats = original(self, index)
        if self.step == 2:  # the step being run is the 3rd: mid-epoch (2 batches per epoch)
            signal.raise_signal(signal.SIGINT)
        return stats

    monkeypatch.setattr(training.Run, "train_step", interrupt_at_step_3)
    with pytest.raises(training.TrainingInterrupted, match="--resume"):
        training.train(paintings, tmp_path / "cut", cfg, progress=False)
    monkeypatch.setattr(training.Run, "train_step", original)
    assert checkpoint.load(tmp_path / "cut" / run_files.CHECKPOINT)[1]["step"] == 3

    training.train(paintings, tmp_path / "cut", resume=True, progress=False)
    assert _same_tensors(
        tmp_path / "full" / "generator.safetensors", tmp_path / "cut" / "generator.safetensors"
    )
    assert _same_tensors(
        tmp_path / "full" / run_files.CHECKPOINT, tmp_path / "cut" / run_files.CHECKPOINT
    )
    rows = (tmp_path / "cut" / "log.csv").read_text().splitlines()
    assert len(rows) == 1 + 4  # header + every step exactly once


def test_retune_goes_on_with_new_learning_settings(paintings: Path, tmp_path: Path) -> None:
    """A fine-tune: the run goes on from its networks with other learning settings, which the
    checkpoint and the card record; without --retune they are ignored; the architecture stays."""
    cfg = TrainConfig(
        **TINY, epochs=1, arch="texture", crop="patch", gram_weight=1.0, gram_scale="patch"
    )
    run_dir = tmp_path / "run"
    training.train(paintings, run_dir, cfg, progress=False)
    later = TrainConfig(epochs=2, lr_g=1e-4)
    training.train(paintings, run_dir, later, resume=True, progress=False)
    meta = checkpoint.load(run_dir / run_files.CHECKPOINT)[1]
    assert meta["config"]["lr_g"] == 2e-4 and meta["retunes"] == []  # only epochs applied

    fine = TrainConfig(epochs=3, gram_scale="sample", gram_weight=2.0, lr_g=1e-4, gram_batch=2)
    run = training.train(paintings, run_dir, fine, resume=True, retune=True, progress=False)
    meta = checkpoint.load(run_dir / run_files.CHECKPOINT)[1]
    assert meta["step"] == 3 * 2
    settings = {"gram_scale": "sample", "gram_weight": 2.0, "lr_g": 1e-4, "gram_batch": 2}
    assert meta["retunes"] == [{"epoch": 2, "settings": settings}]
    assert {k: meta["config"][k] for k in settings} == settings
    card = StyleGenerator.from_pretrained(run.generator_path, device="cpu").card
    assert card["retunes"] == meta["retunes"]

    with pytest.raises(ArtstyleError, match="add --resume"):
        training.train(paintings, tmp_path / "new", fine, retune=True)
    with pytest.raises(ArtstyleError, match="width: a resumed run keeps its networks"):
        training.train(paintings, run_dir, TrainConfig(epochs=4, width=8), resume=True, retune=True)


def test_gram_loss_on_whole_samples_sees_the_style_stages_size(paintings: Path) -> None:
    cfg = TrainConfig(**TINY, arch="texture", crop="patch", gram_batch=3, gram_scale="sample")

    def seen(run: training.Run) -> torch.Tensor:
        batch = run._batch(torch.arange(8))
        batch.fake = torch.zeros(8, 3, 64, 64)
        return batch.samples()

    assert seen(_run(cfg, paintings)).shape == (3, 3, 128, 128) and cfg.sample_size == 128
    patch_run = _run(cfg.model_copy(update={"gram_scale": "patch"}), paintings)
    assert seen(patch_run).shape == (3, 3, 64, 64)


def _gram_error(net: torch.nn.Module, match: GramMatch, size: int) -> float:
    """Relative error of the mean Gram of 16 fresh samples of `net` (averaged over layers)."""
    gen = torch.Generator().manual_seed(5)
    with torch.no_grad():
        x = net(torch.randn(16, 100, generator=gen), net.make_noise(16, size, gen))
        grams = [gram(f, match.net.unit).mean(0) for f in match.net(signed_to_unit(x))]
    return sum(relative_errors(grams, match.targets)) / len(grams)


def test_settling_pulls_a_copy_towards_the_paintings_statistics(paintings: Path) -> None:
    cfg = TrainConfig(
        **{**TINY, "settle_steps": 120}, settle_lr=3e-4, gram_batch=2, gram_layers="ast-gan"
    )
    run = _run(cfg, paintings)
    before = {k: v.clone() for k, v in run.sampler.state_dict().items()}
    settled = settle(run.sampler, run.gram, cfg, run.device)  # type: ignore[arg-type]
    assert all(torch.equal(v, run.sampler.state_dict()[k]) for k, v in before.items())
    assert run.gram is not None and run.gram.running is None  # the run's own state untouched
    start = _gram_error(run.sampler, run.gram, cfg.sample_size)
    end = _gram_error(settled, run.gram, cfg.sample_size)
    assert end < 0.8 * start, (start, end)


def test_training_exports_the_settled_generator(paintings: Path, tmp_path: Path) -> None:
    """The card records the settling; resuming a finished run with other settling settings
    re-exports it, and with none exports the run's own EMA copy."""
    cfg = TrainConfig(**{**TINY, "settle_steps": 3}, epochs=1, gram_batch=2)
    run_dir = tmp_path / "run"
    result = training.train(paintings, run_dir, cfg, progress=False)
    card = StyleGenerator.from_pretrained(result.generator_path, device="cpu").card
    assert card["settle_steps"] == 3 and card["training_seconds"] >= card["settle_seconds"] > 0
    settled = checkpoint.load(result.generator_path)[0]
    training.train(paintings, run_dir, TrainConfig(settle_steps=0), resume=True, progress=False)
    plain = checkpoint.load(result.generator_path)[0]
    ema = checkpoint.load(run_dir / run_files.CHECKPOINT)[0]
    assert all(torch.equal(v, ema["ema." + k[2:]].half()) for k, v in plain.items())
    assert any(not torch.equal(v, settled[k]) for k, v in plain.items())
    assert "settle_steps" not in StyleGenerator.from_pretrained(run_dir, device="cpu").card


def test_settle_makes_a_new_file_from_an_exported_generator(
    paintings: Path, tmp_path: Path
) -> None:
    """`artstyle settle` writes a settled copy beside a source it leaves alone, keeping how it
    was trained but not the source's measured figures; it refuses to overwrite the source and
    says at once, before settling, when the output cannot be written."""
    cfg = TrainConfig(width=4, gram_batch=2, gram_layers="ast-gan", settle_grid_weight=0)
    source = tmp_path / "gen.safetensors"
    export_generator(build_generator(cfg), cfg, source, {"data": "x (16 images)", "style_gap": 1})
    before = source.read_bytes()
    out = tmp_path / "settled" / "gen.safetensors"
    args = ["settle", str(source), str(paintings), "--settle-steps", "2"]
    result = CliRunner().invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "broken.jpg" in result.output and source.read_bytes() == before
    settled = StyleGenerator.from_pretrained(out, device="cpu")
    anew = settled.card["settled_anew"]
    assert (anew["steps"], anew["grid_weight"], anew["source_sha256"]) == (2, 5.0, sha256(source))
    assert settled.card["data"] == "x (16 images)" and "style_gap" not in settled.card
    assert settled.config.settle.grid_weight == 5 and settled.config.networks.width == 4
    new, old = checkpoint.load(out)[0], checkpoint.load(source)[0]
    assert any(not torch.equal(v, old[k]) for k, v in new.items())
    same = CliRunner().invoke(app, [*args, "-o", str(source)])
    assert same.exit_code == 2 and "is the generator being settled" in same.output
    blocked = CliRunner().invoke(app, [*args, "-o", str(source / "x.safetensors")])
    assert blocked.exit_code == 2 and "cannot write" in blocked.output
    assert "settling" not in blocked.output  # no bar before the inputs are checked
    bad = CliRunner().invoke(app, [*args, "--settle-lr", "0", "-o", str(out)])
    assert bad.exit_code == 2 and "bad settle settings: lr" in bad.output
    assert source.read_bytes() == before


def test_a_run_lasts_its_iterations_in_whole_epochs(paintings: Path, tmp_path: Path) -> None:
    """Without `epochs` a run is `iterations` steps long whatever the collection's size, made
    up to whole epochs; resuming with more iterations goes on to the new length."""
    assert TrainConfig().for_paintings(600).run.epochs == 170  # 9 batches of 64 an epoch
    assert TrainConfig().for_paintings(311).run.epochs == 383  # 4 an epoch: 1532 steps
    assert TrainConfig(epochs=5).for_paintings(311).run.epochs == 5
    run_dir = tmp_path / "run"
    training.train(paintings, run_dir, TrainConfig(**TINY, iterations=3), progress=False)
    meta = checkpoint.load(run_dir / run_files.CHECKPOINT)[1]
    assert (meta["step"], meta["config"]["epochs"]) == (4, 2)  # 16 paintings: 2 steps an epoch
    run = training.train(paintings, run_dir, TrainConfig(iterations=6), resume=True, progress=False)
    assert StyleGenerator.from_pretrained(run.generator_path, device="cpu").card["iterations"] == 6


def test_existing_run_is_not_overwritten(paintings: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(**TINY, epochs=1)
    training.train(paintings, tmp_path / "run", cfg, progress=False)
    with pytest.raises(ArtstyleError, match="--resume"):
        training.train(paintings, tmp_path / "run", cfg, progress=False)


def test_export_round_trip(paintings: Path, tmp_path: Path) -> None:
    cfg = TrainConfig(**TINY, epochs=1)
    result = training.train(paintings, tmp_path / "run", cfg, progress=False)
    gen = StyleGenerator.from_pretrained(result.generator_path, device="cpu")
    assert gen.card["images"] == 16 and len(gen.card["sha256"]) == 64
    assert gen.card["data"] == f"{paintings.name} (16 images)"  # no path of this machine
    tensors, _ = checkpoint.load(result.generator_path)
    assert all(
        v.dtype == torch.float16
        for k, v in tensors.items()
        if "running" not in k and v.is_floating_point()
    )
    samples = gen.sample(5, seed=3)
    assert gen.sample_size == 128  # the default texture generator: 64-px patches at 2x scale
    assert samples.shape == (5, 3, 128, 128) and samples.min() >= 0 and samples.max() <= 1
    assert torch.equal(samples, gen.sample(5, seed=3))
    assert not torch.equal(samples, gen.sample(5, seed=4))
    # the run folder and the training checkpoint load too, and agree with the fp16 export
    from_run = StyleGenerator.from_pretrained(tmp_path / "run", device="cpu").sample(5, seed=3)
    assert torch.allclose(from_run, samples, atol=2e-2)


def test_corrupt_weights_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(ArtstyleError, match=r"bad\.safetensors"):
        StyleGenerator.from_pretrained(bad)
    with pytest.raises(ArtstyleError, match="no such weights file"):
        StyleGenerator.from_pretrained(tmp_path / "missing.safetensors")


def test_weights_of_other_networks_are_one_clear_error_naming_the_file(tmp_path: Path) -> None:
    # a file whose settings describe other networks than its tensors (another version's)
    made = TrainConfig(**TINY)
    claims = TrainConfig(**TINY, g_layout_convs=1)
    out = export_generator(build_generator(made), claims, tmp_path / "old.safetensors", {})
    with pytest.raises(ArtstyleError, match=r"old\.safetensors: weights do not fit") as err:
        StyleGenerator.from_pretrained(out, device="cpu")
    assert "missing" in str(err.value) and "another version" in str(err.value)


def test_a_new_loss_is_registered_without_touching_the_loop(
    paintings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @dataclass(frozen=True)
    class LeastSquares(losses.GanLoss):
        """LSGAN (Mao et al. 2017)."""

        def d(self, real: torch.Tensor, fake: torch.Tensor, real_label: float) -> torch.Tensor:
            return ((real - real_label) ** 2).mean() + (fake**2).mean()

        def g(self, fake: torch.Tensor) -> torch.Tensor:
            return ((fake - 1) ** 2).mean()

    monkeypatch.setitem(losses.LOSSES, "lsgan", LeastSquares("lsgan"))
    run = _run(TrainConfig(**TINY, loss="lsgan"), paintings)
    stats = run.train_step(torch.arange(8))
    real, fake = stats["d_real"], stats["d_fake"]
    assert stats["loss_d"] > 0 and all(map(math.isfinite, (real, fake, stats["loss_g"])))
    with pytest.raises(ArtstyleError, match=r"unknown GAN loss 'nope'.*lsgan"):
        _run(TrainConfig(**TINY, loss="nope"), paintings)


def test_shipped_cards_name_no_absolute_path() -> None:
    """A card travels with its weights; the folders of the machine that measured it do not."""
    for card in weights_dir().glob("*.json"):
        values = json.loads(card.read_text(encoding="utf-8"))
        paths = [v for v in values.values() if isinstance(v, str) and v.startswith("/")]
        assert paths == [], card.name
