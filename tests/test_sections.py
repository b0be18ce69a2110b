"""Settings in sections (issue #29): a setting is written once, in its section, and from there
reaches `--set`, `artstyle config show`, per-photo handling and the studio; flat names from
before still load; one rule of precedence; one line for every mistake."""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from pydantic import Field
from rich.console import Console
from synthetic import settings_cli
from typer.testing import CliRunner

from artstyle.cli import app
from artstyle.cli.config import print_settings
from artstyle.cli.settings import Flag
from artstyle.config import (
    PER_PHOTO,
    PipelineConfig,
    PipelineTargets,
    Schedule,
    TransferConfig,
    VideoConfig,
    read_toml,
)
from artstyle.errors import ArtstyleError
from artstyle.settings import (
    Section,
    by_flat_name,
    parse_set,
    per_photo_names,
    settings_of,
    settle,
    shown,
)
from artstyle.studio.jobs import PAGE_SETTINGS, page_settings
from artstyle.video import paint as video_paint

# --- a setting added by touching one section ---------------------------------------------------


class _LongerSchedule(Schedule):
    momentum: float = Field(0.5, ge=0, le=1, description="a new per-photo knob")


class _RicherTargets(PipelineTargets):
    grain: int = Field(
        3, ge=0, description="a new knob the targets depend on", json_schema_extra={"studio": True}
    )


class _Lighting(Section):
    """A whole new per-photo section."""

    per_photo: ClassVar[bool] = True

    glow: float = Field(0.0, ge=0, description="how much it glows")


class _Wider(PipelineConfig):
    schedule: _LongerSchedule = Field(default_factory=_LongerSchedule)
    targets: _RicherTargets = Field(default_factory=_RicherTargets)
    lighting: _Lighting = Field(default_factory=_Lighting)


def test_a_new_setting_flows_from_its_section_everywhere() -> None:
    # flat name, path and section all load it
    assert _Wider(momentum=0.7).schedule.momentum == 0.7
    assert _Wider.model_validate({"schedule.momentum": 0.2, "glow": 1}).lighting.glow == 1
    # --set reads it by its field's type; precedence holds for it
    assert parse_set(_Wider, "schedule.momentum=0.25") == ("schedule.momentum", "0.25")
    given = dict([parse_set(_Wider, "targets.grain=2")])
    made = settle(_Wider, file={"momentum": 0.1}, options=given)
    assert made.schedule.momentum == 0.1 and made.targets.grain == 2
    # per photo follows from the section: a new per-photo field or section may change per call,
    # a new targets field may not
    cfg = _Wider()
    assert cfg.per_photo(momentum=0.9, glow=2.0).schedule.momentum == 0.9
    assert {"momentum", "glow"} <= per_photo_names(_Wider)
    assert "grain" not in per_photo_names(_Wider)
    with pytest.raises(ArtstyleError, match="grain: the style targets depend on it"):
        cfg.per_photo(grain=1)
    # config show lists it with its default and description, in its section
    text = _shown(_Wider)
    assert "schedule.momentum" in text and "a new per-photo knob" in text
    assert "lighting: A whole new per-photo section." in text and "lighting.glow" in text
    # the studio offers what its field says
    assert page_settings(_Wider) == (*PAGE_SETTINGS, "grain")


def test_a_new_setting_reaches_a_generated_command() -> None:
    cli, seen = settings_cli(_Wider, [Flag("schedule.steps"), Flag("lighting.glow")], "wider")
    result = CliRunner().invoke(
        cli, ["--glow", "0.5", "--set", "schedule.momentum=0.3", "--set", "targets.grain=7"]
    )
    assert result.exit_code == 0, result.output
    made = seen["settings"]
    assert (made.lighting.glow, made.schedule.momentum, made.targets.grain) == (0.5, 0.3, 7)
    assert "--glow" in CliRunner().invoke(cli, ["--help"]).output
    removed = CliRunner().invoke(cli, ["--momentum", "0.3"])
    assert removed.exit_code != 0
    assert "--momentum is now --set schedule.momentum=VALUE" in str(removed.exception)


@pytest.mark.parametrize("setting", settings_of(PipelineConfig), ids=lambda s: s.path)
def test_every_transfer_setting_goes_through_set_and_config_show(setting: Any) -> None:
    """Each default, written as `config show` prints it, reads back through `--set` as itself;
    its flat name loads it too."""
    path, value = parse_set(PipelineConfig, f"{setting.path}={shown(setting.default)}")
    made = settle(PipelineConfig, options={path: value})
    section, _, name = setting.path.rpartition(".")
    assert getattr(getattr(made, section), name) == setting.default
    assert setting.path in made.model_fields_set or section in made.model_fields_set
    assert setting.path in _shown(PipelineConfig)
    by_flat = PipelineConfig.model_validate({setting.flat: setting.default})
    assert getattr(getattr(by_flat, section), name) == setting.default


def test_flat_names_are_unique_and_per_photo_is_the_per_photo_sections() -> None:
    assert len(by_flat_name(PipelineConfig)) == len(settings_of(PipelineConfig))
    sections = ("weights", "schedule", "compute")
    assert {s.flat for s in settings_of(TransferConfig) if s.path.split(".")[0] in sections} == (
        PER_PHOTO
    )


def _shown(model: type[Any]) -> str:
    buffer = io.StringIO()
    print_settings(model, "test", Console(file=buffer, width=300))
    return buffer.getvalue()


# --- what was written before sections still loads ----------------------------------------------


def test_flat_python_toml_and_studio_settings_load(tmp_path: Path) -> None:
    cfg = TransferConfig(style_weight=1e5, steps=3, layers="seed", device="cpu", tile_size=0)
    assert (cfg.weights.style, cfg.schedule.steps, cfg.targets.layers) == (1e5, 3, "ast-gan")
    assert (cfg.machine.device, cfg.compute.tile_size) == ("cpu", 0)
    pipe = PipelineConfig(model="vangogh", num_styles=4, seed=2)
    assert (pipe.targets.model, pipe.targets.num_styles, pipe.targets.seed) == ("vangogh", 4, 2)
    old = tmp_path / "old.toml"
    old.write_text('style_weight = 2e4\nsize = 256\nbase_size = 128\nbackbone = "caffe"\n')
    from_file = settle(PipelineConfig, file=read_toml(old))
    assert from_file.weights.style == 2e4 and from_file.passes() == [(128, 26), (256, 5)]
    page = {"style_weight": 1e5, "size": 64, "steps": 6, "preserve_color": True}  # a request
    assert set(page) == set(PAGE_SETTINGS)
    studio = settle(PipelineConfig, options=page)
    assert studio.targets.preserve_color and studio.schedule.size == 64


def test_a_video_folder_painted_before_sections_resumes(tmp_path: Path) -> None:
    cfg = TransferConfig(size=64, steps=3, device="cpu")
    painter = SimpleNamespace(config=cfg)
    flat = {s.flat: _at(cfg, s.path) for s in settings_of(TransferConfig) if s.flat != "device"}
    stored = {"transfer": flat, "video": VideoConfig().model_dump()}
    (tmp_path / video_paint.SETTINGS_FILE).write_text(json.dumps(stored))
    video_paint._claim(tmp_path, painter, VideoConfig())  # type: ignore[arg-type]
    other = SimpleNamespace(config=cfg.per_photo(steps=4))
    with pytest.raises(ArtstyleError, match="painted with other settings"):
        video_paint._claim(tmp_path, other, VideoConfig())  # type: ignore[arg-type]
    # a folder from before a setting existed is not taken for one painted with its default
    del flat["pyramid"]
    (tmp_path / video_paint.SETTINGS_FILE).write_text(json.dumps(stored))
    with pytest.raises(ArtstyleError, match="painted with other settings"):
        video_paint._claim(tmp_path, painter, VideoConfig())  # type: ignore[arg-type]
    (tmp_path / video_paint.SETTINGS_FILE).unlink()  # a new folder records the sections
    video_paint._claim(tmp_path, painter, VideoConfig())  # type: ignore[arg-type]
    video_paint._claim(tmp_path, painter, VideoConfig())  # type: ignore[arg-type]
    written = json.loads((tmp_path / video_paint.SETTINGS_FILE).read_text())
    assert written["transfer"]["schedule"]["steps"] == 3


def test_targets_files_record_the_settings_they_always_did() -> None:
    """A targets file stores the `targets` section but the seed: the flat names of before."""
    from artstyle.nst.transfer import StyleTransfer

    recorded = StyleTransfer._target_settings(TransferConfig(style_size=64))
    assert set(recorded) == {"layers", "style_layers", "content_layers", "layer_weights",
                             "style_size", "style_blend", "backbone", "preserve_color"}  # fmt: skip
    assert recorded["style_size"] == 64


def _at(cfg: Any, path: str) -> Any:
    for name in path.split("."):
        cfg = getattr(cfg, name)
    return cfg


# --- precedence -------------------------------------------------------------------------------


def test_recipe_then_file_then_options_setting_by_setting() -> None:
    made = settle(
        TransferConfig,
        recipe={"steps": 1, "size": 40, "style_weight": 2.0, "seed": 5},
        file={"schedule": {"steps": 2, "size": 48}, "weights.content": 3.0},
        options={"schedule.steps": 3, "style_weight": 4.0},
    )
    assert made.schedule.steps == 3  # options beat the file and the recipe
    assert made.schedule.size == 48  # the file beats the recipe
    assert made.targets.seed == 5  # the recipe beats the defaults
    assert (made.weights.style, made.weights.content) == (4.0, 3.0)
    assert made.schedule.optimizer == "lbfgs"  # untouched: the default


def test_options_beat_the_config_file_on_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "settings.toml"
    config.write_text("[schedule]\nsteps = 0\n")
    result = CliRunner().invoke(app, ["transfer", "--config", str(config), "--steps", "0"])
    assert "schedule.steps" in result.stderr  # the file's value is read ...
    config.write_text("[schedule]\nsteps = 5\nsize = 9\n")
    result = CliRunner().invoke(app, ["transfer", "--config", str(config), "--size", "8"])
    lines = result.stderr.strip().splitlines()  # ... and the option wins over it
    assert result.exit_code == 2 and len(lines) == 1 and "schedule.size" in lines[0]
    assert "greater than or equal to 16" in lines[0]


# --- one line for every mistake --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("weights.styl=3", "unknown setting 'weights.styl'; did you mean weights.style"),
        ("tile_size=0", "unknown setting 'tile_size'; did you mean compute.tile_size?"),
        ("schedule.stepz=3", "did you mean schedule.steps"),
        ("nothing-like-it=1", "unknown setting 'nothing-like-it' (`artstyle config show"),
        ("weights.style", "expected SECTION.FIELD=VALUE"),
    ],
)
def test_set_mistakes_name_the_close_settings(text: str, message: str) -> None:
    with pytest.raises(ArtstyleError) as caught:
        parse_set(PipelineConfig, text, "transfer")
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--set", "weights.stile=1"], "unknown setting 'weights.stile'; did you mean weights.st"),
        (["--set", "weights.style=heavy"], "weights.style: Input should be a valid number"),
        (["--set", "schedule.optimizer=sgd"], "schedule.optimizer: Input should be 'lbfgs'"),
        (["--tv-weight", "0.1"], "--tv-weight is now --set weights.tv=VALUE"),
        (["--base-size=0"], "--base-size is now --set schedule.base_size=VALUE"),
        (["--no-preserve-color", "--init", "noise"], "--init is now --set schedule.init=VALUE"),
        (["--style-layers", "relu1_1"], "--style-layers is now --set targets.style_layers=VALUE"),
    ],
)
def test_command_line_mistakes_are_one_line(args: list[str], line: str) -> None:
    result = CliRunner().invoke(app, ["transfer", "-o", "unused", *args])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert line in lines[0] and "Traceback" not in result.output


def test_flags_shipped_docs_use_keep_working_unlisted() -> None:
    """`--photo-batch`, `--compile`, `--tile-size`, `--pyramid`, `--unbounded`, `--layers` and
    `--style-size 0` are read (a bad --steps is then the only complaint)."""
    args = ["--photo-batch", "2", "--compile", "--tile-size", "0", "--pyramid", "0",
            "--unbounded", "--layers", "gatys", "--style-size", "0", "--steps", "0"]  # fmt: skip
    result = CliRunner().invoke(app, ["transfer", "-o", "unused", *args])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "schedule.steps" in lines[0], lines
    shown_help = CliRunner().invoke(app, ["transfer", "--help"]).output
    assert "--tile-size" not in shown_help and "--style-weight" in shown_help
    assert "artstyle config show transfer" in shown_help


def test_config_show_prints_every_setting_of_each_command() -> None:
    result = CliRunner().invoke(app, ["config", "show", "transfer"])
    assert result.exit_code == 0
    for setting in settings_of(PipelineConfig):
        assert setting.path in result.stdout
    train = CliRunner().invoke(app, ["config", "show", "train"])
    assert train.exit_code == 0 and "gram.weight" in train.stdout
    unknown = CliRunner().invoke(app, ["config", "show", "paint"])
    assert unknown.exit_code == 2 and "known: train, transfer" in unknown.stderr
