"""Photos painted together as one batch (the GPU path), tested on the CPU: each photo stays its
own problem, batches group photos of one size, and a failing batch costs no photo."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from synthetic import synthetic_paintings
from typer.testing import CliRunner

from artstyle.cli import app
from artstyle.errors import ArtstyleError
from artstyle.folder import Job, batches, paint_folder
from artstyle.images import upright_size, write_image
from artstyle.nst import tiles
from artstyle.nst.transfer import StyleTransfer


@pytest.fixture(scope="module")
def painter(paintings: list[Path]) -> StyleTransfer:
    # fp32: a batch equals each photo alone to 1e-4 only where no bf16 rounding differs between
    # the batched and the single convolutions (`auto` picks bf16 on a CPU with it)
    return StyleTransfer(
        paintings[:3], style_size=64, size=48, steps=8, device="cpu", precision="fp32"
    )


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    """Three 80 x 60 photos, one 60 x 80 and one 70 x 70."""
    images = synthetic_paintings(5, size=96, seed=11)
    sizes = [(80, 60), (80, 60), (60, 80), (80, 60), (70, 70)]
    paths = []
    for i, (image, size) in enumerate(zip(images, sizes)):
        path = tmp_path / "photos" / f"p{i}.png"
        write_image(image, path)
        Image.open(path).resize(size).save(path)
        paths.append(path)
    return paths


def test_adam_batch_equals_each_photo_alone(painter: StyleTransfer, photos: list[Path]) -> None:
    """Adam steps every pixel on its own gradient, so a batch must give exactly the images
    (and losses) of separate runs: the batch's loss couples nothing."""
    same = [photos[0], photos[1], photos[3]]
    together = painter.run_batch(same, optimizer="adam")
    for photo, result in zip(same, together, strict=True):
        alone = painter.run(photo, optimizer="adam")
        torch.testing.assert_close(result.tensor, alone.tensor, atol=1e-4, rtol=0)
        assert result.history[-1]["total"] == pytest.approx(alone.history[-1]["total"], rel=1e-4)


def test_lbfgs_batch_paints_each_photo_about_as_well(
    painter: StyleTransfer, photos: list[Path]
) -> None:
    """L-BFGS shares its line search across the batch, so results differ from separate runs,
    but each photo must end about as low on the one objective."""
    same = [photos[0], photos[1]]
    for photo, result in zip(same, painter.run_batch(same), strict=True):
        start = painter.score(photo, photo)["total"]
        alone = painter.score(photo, painter.run(photo).image)["total"]
        batched = painter.score(photo, result.image)["total"]
        assert batched < 0.8 * start
        assert batched < 1.25 * alone
        assert result.image.size == (48, 36)


def test_photos_of_different_sizes_are_refused_as_one_batch(
    painter: StyleTransfer, photos: list[Path]
) -> None:
    with pytest.raises(ArtstyleError, match="same size"):
        painter.run_batch([photos[0], photos[2]])


def test_batches_group_photos_of_one_size(
    paintings: list[Path], photos: list[Path], tmp_path: Path
) -> None:
    broken = tmp_path / "photos" / "broken.png"
    broken.write_bytes(b"not a png")
    jobs = [Job(p, tmp_path / "out" / p.name) for p in [*photos, broken]]
    cpu = StyleTransfer(paintings[:2], style_size=64, size=48, device="cpu")
    assert [len(g) for g in batches(cpu, jobs)] == [1] * 6  # one at a time on the CPU
    two = StyleTransfer(paintings[:2], style_size=64, size=48, photo_batch=2, device="cpu")
    groups = [[job.photo.name for job in group] for group in batches(two, jobs)]
    assert groups == [["p0.png", "p1.png"], ["p2.png"], ["p3.png"], ["p4.png"], ["broken.png"]]


def test_gpu_batch_size_follows_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    cuda = torch.device("cuda")
    monkeypatch.setattr(tiles, "available_memory", lambda device: 40 * 2**30)
    fit = int(tiles.WHOLE_SHARE * 40 * 2**30 // (512 * 384 * tiles.BYTES_PER_PIXEL))
    assert fit > 1 and tiles.photos_that_fit(512 * 384, cuda) == fit
    assert tiles.photos_that_fit(4096 * 4096, cuda) == 1
    assert tiles.photos_that_fit(512 * 384, torch.device("cpu")) == 1


def test_a_failing_batch_is_painted_again_photo_by_photo(
    paintings: list[Path], photos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One photo that fails only inside a batch (say, no memory left for all of them) costs the
    batch nothing: it is painted again one by one, and only a photo that fails alone fails."""
    original = StyleTransfer.run_batch
    sizes: list[int] = []

    def fussy(self: StyleTransfer, photos: list[Path], callback: object = None) -> object:
        sizes.append(len(photos))
        if len(photos) > 1 or photos[0].name == "p1.png":
            raise RuntimeError("CUDA out of memory")
        return original(self, photos, callback)  # type: ignore[arg-type]

    monkeypatch.setattr(StyleTransfer, "run_batch", fussy)
    batched = StyleTransfer(paintings[:2], style_size=64, size=48, steps=1, photo_batch=3)
    result = paint_folder(batched, [photos[0], photos[1], photos[3]], tmp_path / "out")
    assert sizes == [3, 1, 1, 1]
    assert [o.photo.name for o in result.painted] == ["p0.png", "p3.png"]
    assert [o.photo.name for o in result.failed] == ["p1.png"]
    assert "RuntimeError: CUDA out of memory" in result.failed[0].error


def test_cli_paints_a_folder_in_batches(
    paintings: list[Path], photos: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["transfer", str(photos[0].parent), "-s", str(paintings[0]), "-o", str(out)]
    fast = ["--steps", "2", "--size", "48", "--photo-batch", "3", "--device", "cpu"]
    result = CliRunner().invoke(app, args + fast)
    assert result.exit_code == 0, result.stderr
    assert "5 painted, 0 failed" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"p{i}_stylized.png" for i in range(5)]
    assert Image.open(out / "p2_stylized.png").size == (36, 48)


def test_upright_size_reads_the_exif_turn(tmp_path: Path) -> None:
    path = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    Image.new("RGB", (40, 30)).save(path, exif=exif)
    assert upright_size(path) == (30, 40)
    (tmp_path / "junk.jpg").write_bytes(b"junk")
    assert upright_size(tmp_path / "junk.jpg") is None
