"""Steering a learned style: batches as latents, more like these, between two, style files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from artstyle.cli import app
from artstyle.errors import ArtstyleError
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.steering import StyleBatch, between, load_style, more_like, save_style
from artstyle.pipeline import StylePipeline

FAST = ["--steps", "3", "--size", "48", "--num-styles", "4", "--device", "cpu"]


@pytest.fixture(scope="module")
def gen() -> StyleGenerator:
    return StyleGenerator.from_pretrained("impressionism", "cpu")


def test_a_sampled_batch_is_its_latents_bit_for_bit(gen: StyleGenerator) -> None:
    batch = StyleBatch.sampled(gen, 6, seed=3)
    assert torch.equal(batch.images(gen), gen.sample(6, 3))
    picked = batch.pick([4, 1])
    assert torch.equal(picked.images(gen), gen.sample(6, 3)[[4, 1]])
    assert torch.equal(picked.picked(), batch.z[[4, 1]])
    with pytest.raises(ArtstyleError, match="picks must be"):
        batch.pick([6])


def test_more_like_and_between_are_deterministic_and_keep_their_ends() -> None:
    picks = torch.randn(3, 100, generator=torch.Generator().manual_seed(0))
    a, b = more_like(picks, 7, 0.4, seed=5), more_like(picks, 7, 0.4, seed=5)
    assert torch.equal(a, b) and a.shape == (7, 100)
    assert not torch.equal(a, more_like(picks, 7, 0.4, seed=6))
    assert torch.equal(more_like(picks, 5, 0.0), picks[[0, 1, 2, 0, 1]])
    assert torch.equal(more_like(picks, 4, 1.0, seed=2), more_like(-picks, 4, 1.0, seed=2))
    # near each parent: a smaller spread stays closer
    near, far = ((more_like(picks, 3, s, 1) - picks).norm(dim=1).mean() for s in (0.2, 0.6))
    assert near < far
    path = between(picks[0], picks[1], 5)
    assert torch.equal(path[0], picks[0]) and torch.equal(path[-1], picks[1])
    assert torch.equal(path, between(picks[0], picks[1], 5))
    with pytest.raises(ArtstyleError, match="spread"):
        more_like(picks, 3, 1.5)


def test_a_style_file_round_trips_and_refuses_other_weights(
    gen: StyleGenerator, tmp_path: Path
) -> None:
    batch = StyleBatch(more_like(gen.latents(4, 0), 5, 0.5, seed=9), 11, (0, 3, 4))
    path = save_style(tmp_path / "style.json", "impressionism", batch)
    assert path.stat().st_size < 20_000
    model, again = load_style(path)
    assert model == "impressionism" and again.picks == (0, 3, 4) and again.noise_seed == 11
    assert torch.equal(again.z, batch.z)  # float32 values survive JSON exactly
    assert torch.equal(again.images(gen), batch.images(gen))
    record = json.loads(path.read_text())
    (tmp_path / "other.json").write_text(json.dumps({**record, "model": "vangogh"}))
    with pytest.raises(ArtstyleError, match=r"other\.json: model 'vangogh' is not the one"):
        load_style(tmp_path / "other.json")
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(ArtstyleError, match=r"^\S+junk\.json: cannot read the style file"):
        load_style(tmp_path / "junk.json")


def test_a_pipeline_paints_the_batch_of_its_style_file(tmp_path: Path) -> None:
    pipe = StylePipeline.from_pretrained("impressionism", num_styles=4, seed=2, device="cpu")
    pipe.save_style(tmp_path / "s.json")
    again = StylePipeline.from_style_file(tmp_path / "s.json", device="cpu")
    assert torch.equal(again.styles, pipe.styles)


def test_cli_paints_a_saved_style_again_bit_for_bit(photo: Path, tmp_path: Path) -> None:
    runner = CliRunner()

    def transfer(*args: str | Path) -> None:
        result = runner.invoke(app, ["transfer", str(photo), *map(str, args), *FAST])
        assert result.exit_code == 0, result.stderr

    transfer("--seed", "4", "--save-style", tmp_path / "style.json", "-o", tmp_path / "a.png")
    transfer("--style-file", tmp_path / "style.json", "-o", tmp_path / "b.png")
    transfer("--style-file", tmp_path / "style.json", "-o", tmp_path / "c.png")
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.png", "b.png", "c.png"))
    assert a == b == c
    bad = runner.invoke(app, ["transfer", str(photo), "--style-file", str(photo), *FAST])
    assert bad.exit_code == 2 and "cannot read the style file" in bad.stderr
