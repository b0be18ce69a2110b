"""The two stages joined, with the shipped default generator, from Python and from the shell."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from skimage import data
from typer.testing import CliRunner

from artstyle import StylePipeline, stylize_result
from artstyle.cli import app
from artstyle.gan.generator import shipped_models
from artstyle.images import to_tensor

FAST = ["--steps", "3", "--size", "48", "--num-styles", "4", "--device", "cpu"]

pytestmark = pytest.mark.skipif(
    "impressionism" not in shipped_models(), reason="needs weights/impressionism.safetensors"
)


@pytest.fixture(scope="module")
def pipe() -> StylePipeline:
    return StylePipeline.from_pretrained("impressionism", num_styles=8, steps=25, size=96)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Two real photos every install has (scikit-image's), one in a subfolder."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(data.coffee()).save(folder / "a.jpg")
    Image.fromarray(data.chelsea()).save(folder / "sub" / "b.jpg")
    return folder


def _mean_rgb(images: torch.Tensor) -> torch.Tensor:
    return images.float().mean(dim=(0, 2, 3))


def test_default_style_moves_colours_toward_the_generated_batch(pipe: StylePipeline) -> None:
    photo = Image.fromarray(data.coffee()).resize((96, 96))
    result = pipe(photo)
    assert result.image.size == (96, 96)
    side = pipe.generator.sample_size
    assert result.styles.shape == (8, 3, side, side)
    before = to_tensor(photo)
    target = _mean_rgb(result.styles)
    moved = (_mean_rgb(result.tensor) - target).norm()
    assert moved < 0.8 * (_mean_rgb(before) - target).norm()
    assert result.history[-1]["style"] < result.history[0]["style"]


def test_same_seed_same_style_batch() -> None:
    a = StylePipeline.from_pretrained("impressionism", num_styles=4, seed=7).styles
    b = StylePipeline.from_pretrained("impressionism", num_styles=4, seed=7).styles
    c = StylePipeline.from_pretrained("impressionism", num_styles=4, seed=8).styles
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_stylize_keeps_the_photo_size() -> None:
    photo = Image.fromarray(data.chelsea()).resize((60, 40))
    result = stylize_result(photo, num_styles=2, steps=2, size=60)
    assert result.image.size == (60, 40)


def _transfer(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["transfer", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_folder_run_mirrors_skips_and_reports_bad_files(photos: Path, tmp_path: Path) -> None:
    (photos / "sub" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    out = tmp_path / "out"
    code, _, stderr = _transfer(photos, "-o", out, "--save-styles", *FAST)
    assert code == 1
    assert "broken.jpg" in stderr and "2 painted, 1 failed" in stderr
    assert (out / "a_stylized.png").is_file() and (out / "sub" / "b_stylized.png").is_file()
    assert (out / "styles.png").is_file()
    first = (out / "a_stylized.png").stat().st_mtime_ns

    (photos / "sub" / "broken.jpg").unlink()
    code, _, stderr = _transfer(photos, "-o", out, *FAST)
    assert code == 0, stderr
    assert "2 skipped" in stderr
    assert (out / "a_stylized.png").stat().st_mtime_ns == first


def test_interrupted_folder_run_leaves_no_partial_output(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from artstyle.nst import transfer

    calls = {"n": 0}
    original = transfer.StyleTransfer.run_batch

    def stop_during_second_photo(self: transfer.StyleTransfer, *a: object, **k: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(transfer.StyleTransfer, "run_batch", stop_during_second_photo)
    out = tmp_path / "out"
    code, _, stderr = _transfer(photos, "-o", out, *FAST)
    assert code == 130 and "run again to continue" in stderr
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["a_stylized.png"]  # the finished one, nothing half-written


def test_missing_or_corrupt_model_is_one_clear_line(tmp_path: Path, photos: Path) -> None:
    code, _, stderr = _transfer(photos, "--model", "nosuchmodel", *FAST)
    assert code == 2 and "unknown model 'nosuchmodel'" in stderr
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    code, _, stderr = _transfer(photos, "--model", bad, *FAST)
    assert code == 2 and "bad.safetensors" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_no_photo_paints_the_bundled_example(tmp_path: Path) -> None:
    code, stdout, stderr = _transfer("-o", tmp_path, *FAST)
    assert code == 0, stderr
    assert stdout.strip() == str(tmp_path / "example_stylized.png")
    assert Image.open(tmp_path / "example_stylized.png").size == (48, 48)
