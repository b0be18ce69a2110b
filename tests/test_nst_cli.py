"""`artstyle transfer` through typer's test runner, and once as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from synthetic import write_paintings
from typer.testing import CliRunner

from artstyle.cli import app
from artstyle.cli.transfer import spread_option

FAST = ["--steps", "2", "--size", "32", "--style-size", "32", "--device", "cpu"]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder of two made-up photos."""
    folder = tmp_path / "photos"
    for name, path in zip(("photo_0003", "photo_0021"), write_paintings(folder, 2, size=80)):
        path.rename(folder / f"{name}.jpg")
    return folder


def _run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["transfer", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_folder_of_photos(photos: Path, paintings: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = _run(photos, "--styles", *paintings[:2], "-o", out, *FAST)
    assert code == 0, stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == ["photo_0003_stylized.png", "photo_0021_stylized.png"]
    assert stdout.split() == [str(out / n) for n in written]
    assert Image.open(out / written[0]).size == (32, 32)
    assert "2 painted, 0 failed" in stderr


def test_one_bad_file_fails_alone_with_exit_1(
    photos: Path, paintings: list[Path], tmp_path: Path
) -> None:
    (photos / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    out = tmp_path / "out"
    code, _, stderr = _run(photos, "--styles", paintings[0], "-o", out, *FAST)
    assert code == 1
    assert "broken.jpg" in stderr
    assert len(list(out.glob("*_stylized.png"))) == 2
    assert "2 painted, 1 failed" in stderr


def test_missing_photo_is_a_failed_input(
    photos: Path, paintings: list[Path], tmp_path: Path
) -> None:
    code, _, stderr = _run(
        photos / "photo_0003.jpg",
        tmp_path / "nope.jpg",
        "-s",
        paintings[0],
        "-o",
        tmp_path / "out",
        *FAST,
    )
    assert code == 1
    assert "nope.jpg" in stderr


def test_output_equal_to_input_is_refused(photos: Path, paintings: list[Path]) -> None:
    photo = photos / "photo_0003.jpg"
    before = photo.read_bytes()
    code, _, stderr = _run(photo, "--styles", paintings[0], "-o", photo, *FAST)
    assert code == 2  # the only photo cannot be done: nothing to paint
    assert "refusing to overwrite an input" in stderr
    assert photo.read_bytes() == before


def test_usage_errors_exit_2(photos: Path, paintings: list[Path], tmp_path: Path) -> None:
    assert _run(photos, "--styles", tmp_path / "none")[0] == 2
    assert _run(photos, "--styles", paintings[0], "--set", "schedule.optimizer=sgd")[0] == 2
    code, _, stderr = _run(tmp_path / "missing.jpg", "--styles", paintings[0])
    assert code == 2 and "missing.jpg" in stderr


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (["transfer", "--set", "schedule.base_size=5", "-o", "out"], "base_size"),
        (["transfer", "--steps", "0", "-o", "out"], "steps"),
        (["train", "paintings", "-o", "run", "--epochs", "0"], "epochs"),
    ],
)
def test_out_of_range_settings_are_one_line_not_a_traceback(
    command: list[str], field: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: bad ") and field in lines[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "run").exists()


def test_styles_take_several_paths_and_save_every(
    photos: Path, paintings: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    photo = photos / "photo_0003.jpg"
    code, _, stderr = _run("-o", out, "--styles", *paintings[:3], "--save-every", "1", *FAST, photo)
    assert code == 0, stderr
    written = {p.name for p in out.iterdir()}
    assert {
        "photo_0003_stylized.png",
        "photo_0003_stylized_step0001.png",
        "photo_0003_stylized_step0002.png",
    } <= written


def test_spread_option() -> None:
    flags = ("--styles", "-s")
    assert spread_option(["p", "--styles", "a", "b", "--steps", "3", "q"], flags) == [
        "p",
        "--styles",
        "a",
        "--styles",
        "b",
        "--steps",
        "3",
        "q",
    ]
    assert spread_option(["-s", "a", "--", "b"], flags) == ["-s", "a", "--", "b"]
    assert spread_option(["--styles=a", "b"], flags) == ["--styles=a", "b"]


def test_real_subprocess(photos: Path, paintings: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "sub"
    cmd = [
        sys.executable,
        "-m",
        "artstyle",
        "transfer",
        str(photos / "photo_0021.jpg"),
        "--styles",
        str(paintings[0]),
        "-o",
        str(out),
        *FAST,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / "photo_0021_stylized.png")
    assert (out / "photo_0021_stylized.png").is_file()
