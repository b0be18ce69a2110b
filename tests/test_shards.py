"""Sharded folder runs: N independent workers split a folder, each photo exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from synthetic import synthetic_paintings, write_paintings
from typer.testing import CliRunner

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
    painter = StyleTransfer(synthetic_paintings(2, size=32), size=32, steps=1, coarse_size=None)
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
            "--size", "32", "--steps", "1", "--coarse-size", "0", "--device", "cpu"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--shard", "1/2"])
    assert result.exit_code in (0, 1), result.stderr
    bad = CliRunner().invoke(app, [*args, "--shard", "3/2"])
    assert bad.exit_code == 2 and "K must be between 1 and N" in bad.stderr
    with pytest.raises(ArtstyleError, match="expected K/N"):
        Shard.parse("half")
