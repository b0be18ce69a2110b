"""Every script in examples/ runs, at a tiny size, on images made here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image
from synthetic import synthetic_paintings

from artstyle.images import write_image

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TINY = ["--size", "32", "--steps", "1"]


def _run(args: list[str], cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _images(folder: Path, n: int, seed: int) -> list[Path]:
    paths = [folder / f"img_{i}.png" for i in range(n)]
    for path, image in zip(paths, synthetic_paintings(n, size=48, seed=seed)):
        write_image(image, path)
    return paths


def test_every_example_is_tested() -> None:
    tested = {"stylize_one_photo.py", "learned_style.py", "pipeline_loop.py", "folder.sh"}
    assert {p.name for p in EXAMPLES.iterdir() if p.suffix in (".py", ".sh")} == tested


def test_stylize_one_photo(tmp_path: Path) -> None:
    photo, *styles = _images(tmp_path, 3, seed=1)
    script = str(EXAMPLES / "stylize_one_photo.py")
    _run([sys.executable, script, str(photo), *map(str, styles), "-o", "o.png", *TINY], tmp_path)
    assert max(Image.open(tmp_path / "o.png").size) == 32


def test_learned_style(tmp_path: Path) -> None:
    (photo,) = _images(tmp_path, 1, seed=2)
    script = str(EXAMPLES / "learned_style.py")
    _run([sys.executable, script, str(photo), "--num-styles", "2", "-o", "o.png", *TINY], tmp_path)
    assert max(Image.open(tmp_path / "o.png").size) == 32


def test_pipeline_loop(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    _images(tmp_path / "photos", 2, seed=3)
    _run(
        [sys.executable, str(EXAMPLES / "pipeline_loop.py"), "photos", "-o", "out", *TINY], tmp_path
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "img_0.png", "img_1.png", "styles.png",
    ]  # fmt: skip


def test_folder_script(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    _images(tmp_path / "photos", 2, seed=4)
    extra = [*TINY, "--num-styles", "2", "--device", "cpu"]
    _run(["bash", str(EXAMPLES / "folder.sh"), "photos", "out", *extra], tmp_path)
    assert len(list((tmp_path / "out").glob("*_stylized.png"))) == 2
