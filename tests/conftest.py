"""Shared fixtures: the project's data set lives beside the repository in ../shared/data."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """../shared/data, or a skip that says where it was looked for."""
    if not (DATA / "photos").is_dir() or not (DATA / "paintings").is_dir():
        pytest.skip(f"the shared data set is not at {DATA} (it lies beside the repository)")
    return DATA


@pytest.fixture(scope="session")
def photo(data_dir: Path) -> Path:
    """One Kodak photo (500x500)."""
    return data_dir / "photos" / "photo_0003.jpg"


@pytest.fixture(scope="session")
def paintings(data_dir: Path) -> list[Path]:
    """Eight Van Gogh paintings (256x256), a small style batch."""
    return sorted((data_dir / "paintings" / "vangogh").glob("*.jpg"))[:8]
