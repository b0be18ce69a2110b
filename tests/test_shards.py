"""Sharded folder runs: N independent workers split a folder, each photo exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import torch
from PIL import Image
from synthetic import synthetic_paintings, write_paintings
from typer.testing import CliRunner

from artstyle import tensorfile
from artstyle.cli import app
from artstyle.errors import ArtstyleError
from artstyle.folder import Shard, paint_folder, prepare
from artstyle.nst.transfer import StyleTransfer


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    photos = tmp_path / "photos"
    write_paintings(photos, 11, size=40)
    write_paintings(photos / "sub", 4, size=40, seed=3)
    (photos / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return photos


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_cover_every_photo_exactly_once(folder: Path, tmp_path: Path, count: int) -> None:
    out = tmp_path / "out"
    seen = Counter(
        job.photo
        for k in range(1, count + 1)
        for job in prepare([folder], out, shard=Shard(k, count)).pending
    )
    everything = {job.photo for job in prepare([folder], out).pending}
    assert set(seen) == everything and set(seen.values()) == {1}
    assert len(everything) == 16


def test_a_bad_file_is_reported_by_exactly_one_shard(folder: Path, tmp_path: Path) -> None:
    painter = StyleTransfer(synthetic_paintings(2, size=32), size=32, steps=1)
    out = tmp_path / "out"
    results = [paint_folder(painter, [folder], out, shard=Shard(k, 3)) for k in (1, 2, 3)]
    failures = [o.photo.name for r in results for o in r.failed]
    assert failures == ["broken.jpg"]
    assert sum(len(r.painted) for r in results) == 15
    assert len(list(out.rglob("*_stylized.png"))) == 15  # the same outputs as one unsharded run
    again = paint_folder(painter, [folder], out, shard=Shard(2, 3))  # each shard resumes alone
    assert not again.painted and again.skipped == len(results[1].painted)


def test_shard_option(folder: Path, tmp_path: Path) -> None:
    style = tmp_path / "style.png"
    Image.new("RGB", (32, 32), (200, 120, 40)).save(style)
    args = ["transfer", str(folder), "-s", str(style), "-o", str(tmp_path / "out"),
            "--size", "32", "--steps", "1", "--device", "cpu"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--shard", "1/2"])
    assert result.exit_code in (0, 1), result.stderr
    bad = CliRunner().invoke(app, [*args, "--shard", "3/2"])
    assert bad.exit_code == 2 and "K must be between 1 and N" in bad.stderr
    with pytest.raises(ArtstyleError, match="expected K/N"):
        Shard.parse("half")


def test_saved_targets_paint_exactly_like_the_styles(tmp_path: Path) -> None:
    photo = synthetic_paintings(1, size=48, seed=9)[0]
    painter = StyleTransfer(synthetic_paintings(3, size=40), size=32, steps=2)
    path = painter.save_targets(tmp_path / "targets.safetensors")
    again = StyleTransfer.from_targets(path, size=32, steps=2)
    assert torch.equal(painter.run(photo).tensor, again.run(photo).tensor)
    with pytest.raises(ArtstyleError, match="computed with other layers"):
        StyleTransfer.from_targets(path, layers="gatys")
    with pytest.raises(ArtstyleError, match="not an artstyle style-targets file"):
        StyleTransfer.from_targets(_checkpoint_like(tmp_path))


def _checkpoint_like(folder: Path) -> Path:
    path = folder / "other.safetensors"
    tensorfile.save(path, {"x": torch.zeros(1)}, {"kind": "something else"})
    return path


def test_targets_options_share_one_style_between_shards(folder: Path, tmp_path: Path) -> None:
    style = tmp_path / "style.png"
    Image.new("RGB", (32, 32), (200, 120, 40)).save(style)
    common = ["--size", "32", "--steps", "1", "--device", "cpu"]
    targets = tmp_path / "t.safetensors"
    first = CliRunner().invoke(
        app, ["transfer", str(folder / "sub"), "-s", str(style), "-o", str(tmp_path / "a"),
              "--save-targets", str(targets), *common],
    )  # fmt: skip
    assert first.exit_code == 0, first.stderr
    second = CliRunner().invoke(
        app, ["transfer", str(folder / "sub"), "--targets", str(targets),
              "-o", str(tmp_path / "b"), *common],
    )  # fmt: skip
    assert second.exit_code == 0, second.stderr
    for a in (tmp_path / "a").glob("*.png"):
        assert Image.open(a).tobytes() == Image.open(tmp_path / "b" / a.name).tobytes()
