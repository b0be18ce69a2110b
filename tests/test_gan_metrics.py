"""VGG-KID and the memorisation check: the estimator, real paintings, training-time logging, CLI."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
from pathlib import Path

import pytest
import torch
from synthetic import write_paintings
from typer.testing import CliRunner

from artstyle.cli import app
from artstyle.config import train_recipe
from artstyle.gan import metrics
from artstyle.gan.data import PaintingSet, load_paintings
from artstyle.gan.export import sha256
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.train import train

HALF = 32  # paintings per half: enough for a stable KID, cheap on one CPU thread


@pytest.fixture(scope="module")
def real_features(data_dir: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """VGG features of two disjoint halves of the impressionism paintings."""
    files = sorted((data_dir / "paintings" / "impressionism").glob("*.jpg"))
    images = load_paintings(files[0].parent, 64).images
    picked = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(0))]
    features = metrics.vgg_features(picked[: 2 * HALF])
    return features[:HALF], features[HALF:]


@pytest.fixture(scope="module")
def paintings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("paintings")
    write_paintings(folder, 16)
    return folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, paintings: Path) -> Path:
    """A tiny trained run with its exported generator and model card."""
    run = tmp_path_factory.mktemp("run")
    # a DCGAN: deterministic given z, so in-training and CLI evaluations see the same images
    config = train_recipe("ast-gan", width=4, batch_size=8, epochs=1)
    train(paintings, run, config, progress=False)
    return run


def reference_of(features: torch.Tensor) -> metrics.Reference:
    return metrics.Reference(features, metrics.nearest(features, features, exclude_self=True)[0])


def test_mmd2_is_the_unbiased_estimator() -> None:
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(4, 3, generator=gen), torch.randn(5, 3, generator=gen) + 0.5

    def k(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a.double() @ b.double() / 3 + 1) ** 3)

    def within(s: torch.Tensor) -> float:
        pairs = list(itertools.permutations(range(len(s)), 2))
        return sum(k(s[i], s[j]) for i, j in pairs) / len(pairs)

    cross = sum(k(a, b) for a in x for b in y) / (len(x) * len(y))
    naive = within(x) + within(y) - 2 * cross
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(naive, rel=1e-9)
    # one subset of everything is the same number, whatever order the subset is drawn in
    mean, std, size = metrics.kid(x, y[:4], subsets=1)
    assert (mean, std, size) == (pytest.approx(metrics.mmd2_unbiased(x, y[:4]), rel=1e-9), 0.0, 4)


def test_kid_of_one_distribution_is_zero_on_average() -> None:
    """Unbiased: averaged over many draws, samples of one Gaussian give ~0 (the biased form > 0)."""
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(400, 8, generator=gen), torch.randn(400, 8, generator=gen)
    mean, std, size = metrics.kid(x, y, subsets=200, subset_size=20)
    assert size == 20 and abs(mean) < 3 * std / 200**0.5 + 1e-3
    assert metrics.kid(x, y + 1, subsets=20, subset_size=20)[0] > 10 * std


def test_features_are_o1_and_uint8_equals_float() -> None:
    images = torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8)
    features = metrics.vgg_features(images)
    assert features.shape == (3, 1024) and features.dtype == torch.float32
    assert 0.01 < float(features.pow(2).mean().sqrt()) < 100
    torch.testing.assert_close(metrics.vgg_features(images.float() / 255), features)


def test_vgg_kid_small_for_real_halves_large_for_noise_and_flat(
    real_features: tuple[torch.Tensor, torch.Tensor],
) -> None:
    a, b = real_features
    gen = torch.Generator().manual_seed(2)
    noise = metrics.vgg_features(torch.rand(HALF, 3, 64, 64, generator=gen))
    flat = metrics.vgg_features(torch.rand(HALF, 3, 1, 1, generator=gen).expand(-1, -1, 64, 64))
    halves = metrics.kid(a, b)[0]  # one subset of 32: the full halves, so no std to compare
    assert abs(halves) < 0.1  # measured: about -0.01; a young generator scores ~4.7
    for fake in (noise, flat):
        value, std, _ = metrics.kid(fake, torch.cat([a, b]))
        assert value > 2.0 and value > 3 * std


def test_memorisation_ratio_copies_vs_held_out(
    real_features: tuple[torch.Tensor, torch.Tensor],
) -> None:
    a, b = real_features
    reference = reference_of(a)
    copies = metrics.compare(a, reference)
    assert copies.memorisation_ratio == 0.0 and copies.distances.abs().max() == 0
    assert torch.equal(copies.nearest, torch.arange(HALF))
    held_out = metrics.compare(b, reference)
    assert 0.7 < held_out.memorisation_ratio < 2.0
    assert held_out.distances.shape == (HALF,) and (held_out.distances > 0).all()


def test_run_evaluator_logs_without_touching_rng(run_dir: Path, paintings: Path) -> None:
    gen = StyleGenerator.from_pretrained(run_dir / "checkpoint.safetensors", "cpu")
    data = load_paintings(paintings, 64)
    net = gen.net.train()
    evaluator = metrics.RunEvaluator(data, run_dir, gen.config.networks.z_dim, n=8)
    rng = torch.get_rng_state()
    first = evaluator(net, epoch=1, step=2)
    assert torch.equal(torch.get_rng_state(), rng) and net.training
    # the same numbers as `artstyle evaluate RUN DATA -n 8` on the same weights
    net.eval()
    assert metrics.evaluate(gen, paintings, n=8).vgg_kid == pytest.approx(first.vgg_kid, rel=1e-4)
    evaluator(net, epoch=2, step=4)
    evaluator(net, epoch=2, step=4)  # a resumed run repeating an epoch replaces its row
    with (run_dir / "eval.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["2", "4"] and list(rows[0]) == metrics.EVAL_FIELDS
    assert float(rows[0]["vgg_kid"]) == pytest.approx(first.vgg_kid, rel=1e-5)


def test_reference_of_patch_mode_uses_centre_crops() -> None:
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.uint8).view(2, 3, 8, 8)
    data = PaintingSet(images, [Path("a"), Path("b")], image_size=4, crop="patch")
    assert torch.equal(metrics.reference_images(data), images[:, :, 2:6, 2:6])


def test_cli_evaluate_updates_the_card(run_dir: Path, paintings: Path) -> None:
    weights = run_dir / "generator.safetensors"
    before = json.loads(weights.with_suffix(".json").read_text())
    args = ["evaluate", str(run_dir), str(paintings), "-n", "16", "--seeds", "2", "--update-card"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "VGG-KID" in result.output and "memorisation" in result.output
    assert "ast-gan" in result.output and "gatys" in result.output  # both layer presets
    assert "grid contrast" in result.output
    card = json.loads(weights.with_suffix(".json").read_text())
    assert {"vgg_kid", "memorisation_ratio", "style_gap_ratio", "style_gap_ratio_gatys"} <= set(
        card
    )
    assert card["eval_samples"] == 16 and card["eval_seeds"] == [0, 1] and card["vgg_kid"] > 0
    assert len(card["grid_contrast_seeds"]) == 2 and card["grid_contrast_paintings"] >= 1
    # every figure is the mean over the sample seeds, each seed's value kept beside it
    per_seed = card["memorisation_ratio_seeds"]
    assert card["memorisation_ratio"] == pytest.approx(sum(per_seed) / 2, abs=1e-3)
    gaps = card["style_gap_ratio_gatys_seeds"]
    assert len(gaps) == 2 and gaps[0] != gaps[1]  # two draws of samples, two figures
    assert list(card["style_gap_per_layer_gatys"]) == [
        "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"
    ]  # fmt: skip
    assert (
        card["images"] == before["images"] and card["hyperparameters"] == before["hyperparameters"]
    )
    assert card["sha256"] == sha256(weights)
    assert "vgg_kid" in weights.with_suffix(".md").read_text()


def test_cli_refuses_to_update_a_checkpoint_card(run_dir: Path, paintings: Path) -> None:
    args = ["evaluate", str(run_dir / "checkpoint.safetensors"), str(paintings), "--update-card"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "training checkpoint" in result.output


def test_cli_evaluate_measures_a_baseline_beside_the_model(
    run_dir: Path, paintings: Path, tmp_path: Path
) -> None:
    model = shutil.copytree(run_dir, tmp_path / "model")
    baseline = tmp_path / "baseline"
    config = train_recipe("ast-gan", width=4, batch_size=8, epochs=1, diffaugment="color", seed=1)
    train(paintings, baseline, config, progress=False)
    args = ["evaluate", str(model), str(paintings), "-n", "16", "--seeds", "1"]
    args += ["--baseline", str(baseline)]
    result = CliRunner().invoke(app, [*args, "--update-card"])
    assert result.exit_code == 0, result.output
    card = json.loads((model / "generator.json").read_text())
    expected = metrics.evaluate(StyleGenerator.from_pretrained(str(baseline)), paintings, n=16)
    assert card["baseline"]["vgg_kid"] == pytest.approx(expected.vgg_kid, rel=1e-3)
    assert card["baseline"]["vgg_kid"] != card["vgg_kid"]
    assert card["baseline"]["iterations"] == 2
    assert card["baseline"]["differences"] == {"diffaugment": ["", "color"], "seed": [0, 1]}
    markdown = (model / "generator.md").read_text()
    assert "## Against a baseline" in markdown and "| diffaugment | none | color |" in markdown
