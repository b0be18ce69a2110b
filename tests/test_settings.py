"""One source for settings: frozen configs and per-call settings, as diffusers pipelines take."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import ValidationError
from synthetic import synthetic_paintings

from artstyle.config import PER_PHOTO, TransferConfig
from artstyle.errors import ArtstyleError
from artstyle.nst.transfer import StyleTransfer


@pytest.fixture(scope="module")
def transfer() -> StyleTransfer:
    return StyleTransfer(synthetic_paintings(2, size=48), size=32, steps=2, coarse_size=None)


def test_a_config_cannot_be_changed_after_it_is_made(transfer: StyleTransfer) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        transfer.config.steps = 50  # type: ignore[misc]


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


def test_per_photo_settings_are_real_fields() -> None:
    assert set(TransferConfig.model_fields) >= PER_PHOTO


def test_importing_artstyle_has_no_side_effects() -> None:
    code = (
        "import sys, artstyle; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'; "
        "assert 'artstyle.explore' not in sys.modules; "
        "artstyle.explore; import matplotlib; "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
