"""A built wheel carries the shipped generators and runs the default transfer outside the repo."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_paints_at_its_defaults(tmp_path: Path) -> None:
    # with setuptools at hand, build without fetching it again
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("setuptools") else []
    dist, source = tmp_path / "dist", tmp_path / "source"  # a copy: building writes build/
    shutil.copytree(
        ROOT, source, ignore=shutil.ignore_patterns(".*", "runs", "build", "*.egg-info")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", dist, source],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("artstyle-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for model in ("impressionism", "vangogh"):
        for suffix in (".safetensors", ".json", ".md"):
            assert f"artstyle/weights/{model}{suffix}" in names
    for page in ("index.html", "studio.js", "studio.css"):  # the studio's page
        assert f"artstyle/studio/page/{page}" in names

    # a fresh venv holding only the wheel; its dependencies come from this environment's
    # site-packages through a .pth file (which does not run this checkout's editable hook)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    zipfile.ZipFile(wheel).extractall(site)
    Path(site, "outer_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    env = {k: v for k, v in os.environ.items() if k != "ARTSTYLE_WEIGHTS"}
    work = tmp_path / "elsewhere"
    work.mkdir()
    code = (
        "import artstyle, sys; from artstyle.cli import main; "
        "assert artstyle.__file__.startswith(sys.argv[1]), artstyle.__file__; "
        "sys.argv = ['artstyle', 'transfer', '--size', '32', '--steps', '1', "
        "'--num-styles', '2', '--device', 'cpu', '-o', 'out']; main()"
    )
    run = subprocess.run(
        [python, "-c", code, site], cwd=work, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    (painted,) = (work / "out").glob("*_stylized.png")
    assert max(Image.open(painted).size) == 32
