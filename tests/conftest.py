"""Shared fixtures. Most tests use images made here (`synthetic.py`), so a fresh clone without
../shared runs them; the few that need real paintings ask for `data_dir`, which skips, saying
where it looked, when the project's data set is not beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from skimage import data
from synthetic import write_paintings

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """../shared/data, or a skip that says where it was looked for."""
    if not (DATA / "photos").is_dir() or not (DATA / "paintings").is_dir():
        pytest.skip(f"the shared data set is not at {DATA} (it lies beside the repository)")
    return DATA


@pytest.fixture(scope="session")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real photo every install has: scikit-image's cat `chelsea`, cropped square (300x300)."""
    path = tmp_path_factory.mktemp("photo") / "chelsea.jpg"
    Image.fromarray(data.chelsea()[:, 75:375]).save(path, quality=92)
    return path


@pytest.fixture(scope="session")
def paintings(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Eight made-up paintings (96x96 JPEG), a small style batch."""
    return write_paintings(tmp_path_factory.mktemp("styles"), 8, seed=1)


@pytest.fixture(scope="session")
def painting_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of 16 made-up paintings (64x64 JPEG) to train a tiny GAN on."""
    return _training_folder(tmp_path_factory, 64)


@pytest.fixture(scope="session")
def large_painting_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same at 128x128, larger than a 64-px patch: for what sees whole paintings."""
    return _training_folder(tmp_path_factory, 128)


def _training_folder(tmp_path_factory: pytest.TempPathFactory, size: int) -> Path:
    folder = tmp_path_factory.mktemp(f"paintings_{size}")
    write_paintings(folder, 16, size=size)
    return folder
