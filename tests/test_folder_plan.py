"""Output planning for many photos: mirrored folders, no collisions, resumable skips."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from artstyle.errors import OutputError
from artstyle.folder import plan


def _photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), "red").save(path)
    return path


def test_folder_structure_is_mirrored(tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "a.jpg")
    _photo(tmp_path / "in" / "trips" / "b.PNG")
    loose = _photo(tmp_path / "c.jpg")
    result = plan([tmp_path / "in", loose], tmp_path / "out")
    outputs = [j.output.relative_to(tmp_path / "out").as_posix() for j in result.jobs]
    assert outputs == ["a_stylized.png", "trips/b_stylized.png", "c_stylized.png"]
    assert not result.failed


def test_colliding_names_get_numbered(tmp_path: Path) -> None:
    a = _photo(tmp_path / "x" / "same.jpg")
    b = _photo(tmp_path / "y" / "same.png")
    outputs = [j.output.name for j in plan([a, b], tmp_path / "out").jobs]
    assert outputs == ["same_stylized.png", "same-2_stylized.png"]


def test_finished_outputs_are_skipped_unless_overwrite(tmp_path: Path) -> None:
    _photo(tmp_path / "in" / "a.jpg")
    _photo(tmp_path / "in" / "b.jpg")
    result = plan([tmp_path / "in"], tmp_path / "out")
    _photo(result.jobs[0].output)
    assert [j.photo.name for j in result.pending()] == ["b.jpg"]
    assert len(result.pending(overwrite=True)) == 2


def test_missing_and_empty_inputs_are_failures_not_crashes(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    good = _photo(tmp_path / "ok.jpg")
    result = plan([tmp_path / "missing.jpg", tmp_path / "empty", good], tmp_path / "out")
    assert [j.photo for j in result.jobs] == [good]
    messages = [str(e) for e in result.failed]
    assert "missing.jpg" in messages[0] and "empty" in messages[1]


def test_single_file_output(tmp_path: Path) -> None:
    a = _photo(tmp_path / "a.jpg")
    assert plan([a], tmp_path / "painted.jpg").jobs[0].output == tmp_path / "painted.jpg"
    with pytest.raises(OutputError, match="exactly one photo"):
        plan([a, _photo(tmp_path / "b.jpg")], tmp_path / "painted.jpg")
