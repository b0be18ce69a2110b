"""One source for settings: frozen configs and per-call settings, as diffusers pipelines take."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from pydantic import ValidationError
from synthetic import synthetic_paintings
from typer.testing import CliRunner

from artstyle.cli import app
from artstyle.config import PER_PHOTO, TransferConfig
from artstyle.errors import ArtstyleError
from artstyle.images import write_image
from artstyle.nst.transfer import StyleTransfer
from artstyle.settings import by_flat_name


@pytest.fixture(scope="module")
def transfer() -> StyleTransfer:
    return StyleTransfer(synthetic_paintings(2, size=48), size=32, steps=2)


def test_a_config_cannot_be_changed_after_it_is_made(transfer: StyleTransfer) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        transfer.config.schedule.steps = 50  # type: ignore[misc]


def test_per_call_settings_apply_to_that_call_only(transfer: StyleTransfer) -> None:
    photo = synthetic_paintings(1, size=64, seed=9)[0]
    result = transfer.run(photo, steps=3, size=40)
    assert len(result.history) == 3 and max(result.image.size) == 40
    again = transfer.run(photo)
    assert len(again.history) == 2 and max(again.image.size) == 32


def test_settings_the_targets_depend_on_are_refused_per_call(transfer: StyleTransfer) -> None:
    photo = synthetic_paintings(1, size=64, seed=9)[0]
    with pytest.raises(ArtstyleError, match="style_size: the style targets depend on it"):
        transfer.run(photo, style_size=64)
    with pytest.raises(ArtstyleError, match="steps"):
        transfer.run(photo, steps=0)  # out of range: one line naming the setting


def test_a_check_over_several_settings_reads_as_one_clean_line() -> None:
    result = CliRunner().invoke(
        app, ["train", "no-such-folder", "-o", "unused", "--whole-weight", "3", "--crop", "center"]
    )
    assert result.exit_code != 0
    assert "bad train settings: Value error, whole_weight needs whole samples" in result.output


def test_per_photo_settings_are_real_fields() -> None:
    assert set(by_flat_name(TransferConfig)) >= PER_PHOTO


def test_importing_artstyle_has_no_side_effects() -> None:
    code = (
        "import sys, artstyle; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'; "
        "assert 'artstyle.explore' not in sys.modules; "
        "artstyle.explore; import matplotlib; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_transfer_setting_is_reachable_from_the_cli(tmp_path: Path) -> None:
    styles = [tmp_path / "s1.png", tmp_path / "s2.png"]
    for path, image in zip(styles, synthetic_paintings(2, size=48)):
        write_image(image, path)
    photo = tmp_path / "photo.png"
    write_image(synthetic_paintings(1, size=64, seed=4)[0], photo)
    settings = tmp_path / "settings.toml"
    settings.write_text(
        "[schedule]\nsteps = 1\nsize = 40\nbase_size = 16\nrefine_steps = 1\n"
        '[machine]\ndevice = "cpu"\n'
    )
    args = [
        "transfer", str(photo), "-s", *map(str, styles), "-o", str(tmp_path / "out"),
        "--config", str(settings), "--size", "32", "--layers", "gatys",
        "--set", "targets.style_layers=relu1_1, relu2_1", "--set", "targets.content_layers=relu2_1",
        "--set", "targets.style_blend=1,0", "--set", "weights.tv=0.1",
        "--set", "schedule.lr=0.5", "--set", "schedule.optimizer=adam", "--pyramid", "2",
        "--unbounded", "--set", "targets.backbone=caffe", "--set", "schedule.base_size=none",
        "--set", "targets.layer_weights=1,2",
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    painted = Image.open(tmp_path / "out" / "photo_stylized.png")
    assert max(painted.size) == 32  # the option beats the file's size; base 0 is one pass

    bad = CliRunner().invoke(app, [*args[:-2], "--set", "targets.layer_weights=1,heavy"])
    assert bad.exit_code == 2
    assert "targets.layer_weights.1: Input should be a valid number" in bad.stderr
    assert "Traceback" not in bad.stderr
