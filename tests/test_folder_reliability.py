"""A folder run that no single photo can stop: odd shapes, crashes, full or unwritable disks.

Images are made here, so a fresh clone without ../shared runs these tests.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from PIL import Image
from synthetic import synthetic_paintings
from typer.testing import CliRunner

from artstyle import atomic
from artstyle.cli import app
from artstyle.folder import paint_folder
from artstyle.images import write_image
from artstyle.nst.transfer import StyleTransfer

FAST = ["--steps", "1", "--size", "64", "--device", "cpu"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two ordinary photos, a 2000 x 64 panorama and a 3 x 900 sliver."""
    photos = tmp_path / "photos"
    images = synthetic_paintings(4, size=96, seed=3)
    write_image(images[0], photos / "a.png")
    write_image(images[1], photos / "b.png")
    Image.fromarray((images[2].permute(1, 2, 0).numpy() * 255).astype("uint8")).resize(
        (2000, 64)
    ).save(photos / "panorama.png")
    Image.new("RGB", (3, 900), (200, 40, 40)).save(photos / "sliver.png")
    return photos


@pytest.fixture
def style(tmp_path: Path) -> Path:
    path = tmp_path / "style.png"
    write_image(synthetic_paintings(1, size=64, seed=5)[0], path)
    return path


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["transfer", *map(str, args)])
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stderr


def test_any_shape_is_painted(folder: Path, style: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stderr = _run(folder, "-s", style, "-o", out, *FAST)
    assert code == 0, stderr
    assert "4 painted, 0 failed" in stderr
    panorama = Image.open(out / "panorama_stylized.png")
    assert panorama.height >= 16 and panorama.width > panorama.height  # short side made usable
    assert Image.open(out / "a_stylized.png").size == (64, 64)


def test_an_unexpected_crash_fails_one_photo_only(
    folder: Path, style: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = StyleTransfer.run_batch

    def crash_on_b(self: StyleTransfer, photos: list[object], callback: object = None) -> object:
        if any(str(photo).endswith("b.png") for photo in photos):
            raise RuntimeError("something deep inside torch\nwith a second line")
        return original(self, photos, callback)  # type: ignore[arg-type]

    monkeypatch.setattr(StyleTransfer, "run_batch", crash_on_b)
    code, stderr = _run(folder, "-s", style, "-o", tmp_path / "out", *FAST)
    assert code == 1
    assert "b.png: RuntimeError: something deep inside torch" in stderr
    assert "second line" not in stderr
    assert "3 painted, 1 failed" in stderr


def test_full_disk_is_one_line_per_output_and_leaves_no_partial_file(
    folder: Path, style: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    out = tmp_path / "out"
    code, stderr = _run(folder, "-s", style, "-o", out, *FAST)
    assert code == 1
    assert "a_stylized.png: cannot write (No space left on device)" in stderr
    assert "0 painted, 4 failed" in stderr
    assert list(out.iterdir()) == []  # no output, no temp file


def test_unwritable_output_folder_is_one_line(folder: Path, style: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "out"
    blocker.write_text("a file where the output folder should be")
    code, stderr = _run(folder / "a.png", folder / "b.png", "-s", style, "-o", blocker, *FAST)
    assert code == 1
    assert "cannot write" in stderr and "out" in stderr
    assert blocker.read_text() == "a file where the output folder should be"


def test_paint_folder_from_python_reports_and_resumes(folder: Path, tmp_path: Path) -> None:
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    painter = StyleTransfer(synthetic_paintings(2, size=48), size=32, steps=1)
    seen: list[str] = []
    out = tmp_path / "out"
    first = paint_folder(painter, [folder], out, on_photo=lambda o: seen.append(o.photo.name))
    assert len(first.painted) == 4 and len(seen) == 5
    assert [o.photo.name for o in first.failed] == ["broken.jpg"]
    assert "broken.jpg" in first.failed[0].error
    again = paint_folder(painter, [folder], out)
    assert again.skipped == 4 and not again.painted
