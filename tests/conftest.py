"""Shared fixtures: the real data in ../shared/data (tests that need it skip when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """`../shared/data` beside the repository; skip with the reason when it is not there."""
    if not (DATA / "paintings").is_dir():
        pytest.skip(f"needs the shared data set at {DATA} (not present on this machine)")
    return DATA
