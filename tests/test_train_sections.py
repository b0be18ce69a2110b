"""Training settings in sections (issue #29): a training term's setting is written once, in its
term's section, and from there reaches flat names, `--set`, `--config`, `artstyle config show
train` and what a resume or retune may change; the train command is generated from the model;
stored runs and cards from before sections still load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field
from rich.console import Console
from synthetic import settings_cli
from typer.testing import CliRunner

from artstyle.cli import app
from artstyle.cli import gan as cli_gan
from artstyle.cli.config import print_settings
from artstyle.cli.settings import Flag
from artstyle.config import (
    RECIPES,
    LeCamSettings,
    TrainConfig,
    stored_train_config,
    train_recipe,
)
from artstyle.errors import ArtstyleError
from artstyle.gan import train as training
from artstyle.gan.terms import TERMS
from artstyle.gan.terms.lecam import LeCam
from artstyle.settings import by_flat_name, parse_set, settings_of, settle, shown

WEIGHTS = Path(__file__).resolve().parents[1] / "artstyle" / "weights"

# --- a term's setting added by touching one section --------------------------------------------


class _LeCamPlus(LeCamSettings):
    warmup: int = Field(
        0, ge=0, description="steps before LeCam counts", json_schema_extra={"flat": "lecam_warmup"}
    )
    heads: int = Field(
        1,
        ge=1,
        description="a knob that shapes the term's networks",
        json_schema_extra={"flat": "lecam_heads", "architecture": True},
    )


class _Wider(TrainConfig):
    lecam: _LeCamPlus = Field(default_factory=_LeCamPlus)


def _shown(model: type[Any]) -> str:
    out = Console(width=200, record=True, file=None, force_terminal=False)
    with out.capture() as captured:
        print_settings(model, "train", out)
    return captured.get()


def test_a_new_term_setting_flows_from_its_section_everywhere() -> None:
    # flat name, path and section all load it, and the term reads it from its section
    assert _Wider(lecam_warmup=5).lecam.warmup == 5
    made = _Wider.model_validate({"lecam.warmup": 2, "lecam": {"weight": 0.1}})
    assert (made.lecam.warmup, made.lecam.weight) == (2, 0.1)
    assert LeCam.settings(made) is made.lecam and LeCam.active(made)
    # --set reads it; precedence (recipe, file, options) holds for it
    assert parse_set(_Wider, "lecam.warmup=3") == ("lecam.warmup", "3")
    settled = settle(_Wider, recipe={"lecam_warmup": 1}, file={"lecam": {"warmup": 2}})
    assert settled.lecam.warmup == 2
    # config show lists it in its term's section, with its default and description
    text = _shown(_Wider)
    assert "lecam.warmup" in text and "steps before LeCam counts" in text
    assert "lecam.heads" in text and "(fixed for a run)" in text
    # a retune may change it; what shapes the networks (its tag) no resume changes
    assert "lecam_warmup" not in training.architecture(_Wider)
    assert "lecam_heads" in training.architecture(_Wider)
    stored = _Wider(lecam_weight=0.1)
    retuned = training._changes(stored, _Wider(lecam_warmup=4, epochs=9), retune=True)
    assert retuned == {"lecam_warmup": 4, "epochs": 9}
    # without --retune only the resumable sections (run, settle) apply
    assert training._changes(stored, _Wider(lecam_warmup=4, epochs=9), retune=False) == {
        "epochs": 9
    }
    with pytest.raises(ArtstyleError, match="lecam_heads: a resumed run keeps its networks"):
        training._changes(stored, _Wider(lecam_heads=2), retune=True)
    # stored flat, read back as it was
    assert _Wider.model_validate(stored.flat()) == stored


def test_a_new_term_setting_reaches_a_generated_train_command() -> None:
    cli, seen = settings_cli(_Wider, [Flag("run.epochs")], "train", recipes=RECIPES)
    result = CliRunner().invoke(cli, ["--set", "lecam.warmup=7", "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert (seen["settings"].lecam.warmup, seen["settings"].run.epochs) == (7, 2)
    old = CliRunner().invoke(cli, ["--lecam-warmup", "7"])
    assert "--lecam-warmup is now --set lecam.warmup=VALUE" in str(old.exception)


# --- the sections and what follows from them ----------------------------------------------------


def test_resumable_and_architecture_follow_from_the_sections() -> None:
    """The same sets the lists of names held before sections."""
    assert {
        "iterations", "epochs", "sample_every", "checkpoint_every", "eval_every", "device",
        "sync_bn", "settle_steps", "settle_lr", "settle_grid_weight",
    } == training.RESUMABLE  # fmt: skip
    assert training.architecture() == {
        "arch", "image_size", "width", "z_dim", "noise_dim", "g_norm", "g_upsample",
        "g_layout_convs", "g_pixel_noise", "g_position", "d_slope", "crop", "whole_weight",
        "whole_discriminator",
    }  # fmt: skip
    for term in TERMS.values():  # each term's settings are one section, named as the term
        assert term.section == term.name and term.section in TrainConfig.model_fields


def test_flat_names_are_the_old_field_names() -> None:
    old = json.loads((WEIGHTS / "vangogh.json").read_text())["hyperparameters"]
    flat = by_flat_name(TrainConfig)
    assert set(old) <= set(flat) and len(flat) == len(settings_of(TrainConfig))
    cfg = TrainConfig(epochs=3, whole_weight=0)
    assert (cfg.run.epochs, cfg.whole_view.weight, cfg.whole_view_weight) == (3, 0, 0)
    assert cfg.model_copy(update={"epochs": 4}).run.epochs == 4


@pytest.mark.parametrize("card", ["vangogh", "impressionism"])
def test_shipped_cards_and_their_baselines_load(card: str) -> None:
    for folder in (WEIGHTS, WEIGHTS.parents[1] / "weights" / "baselines"):
        path = folder / f"{card}.json"
        if not path.exists():
            continue
        old = json.loads(path.read_text())["hyperparameters"]
        cfg = stored_train_config(old)
        assert {k: cfg.flat()[k] for k in old} == old  # every stored value, as it was
        assert stored_train_config(cfg.flat()) == cfg == stored_train_config(cfg.model_dump())


def test_files_keep_flat_settings(tmp_path: Path) -> None:
    """config.json, checkpoints and cards keep the flat form every version reads."""
    cfg = train_recipe("ast-gan", epochs=2)
    flat = cfg.flat()
    assert flat["arch"] == "dcgan" and flat["epochs"] == 2 and "networks" not in flat
    assert TrainConfig.model_validate(flat) == cfg


@pytest.mark.parametrize("setting", settings_of(TrainConfig), ids=lambda s: s.path)
def test_every_train_setting_goes_through_set_and_config_show(setting: Any) -> None:
    path, value = parse_set(TrainConfig, f"{setting.path}={shown(setting.default)}")
    base = {"settle.steps": 0} if setting.path == "gram.weight" else {}
    made = settle(TrainConfig, options={**base, path: value})
    section, _, name = setting.path.rpartition(".")
    assert getattr(getattr(made, section), name) == setting.default
    assert setting.path in _shown(TrainConfig)


def test_recipes_go_through_the_one_rule_of_precedence() -> None:
    assert train_recipe("ast-gan") == settle(TrainConfig, recipe=RECIPES["ast-gan"])
    made = train_recipe("ast-gan", epochs=3, **{"optim.batch_size": 16})
    assert (made.networks.arch, made.run.epochs, made.optim.batch_size) == ("dcgan", 3, 16)
    with pytest.raises(ArtstyleError, match="unknown recipe 'stylegan'; known: artstyle"):
        train_recipe("stylegan")


# --- the generated train command ----------------------------------------------------------------


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `artstyle train` would train with (nothing is trained)."""
    seen: dict[str, Any] = {}

    def fake(data: Path, out: Path, config: TrainConfig, **kwargs: Any) -> None:
        seen.update(config=config, **kwargs)

    monkeypatch.setattr(cli_gan, "_train", fake)
    return seen


def _train(*args: str) -> Any:
    return CliRunner().invoke(app, ["train", "paintings", "-o", "run", *args])


def test_train_flags_set_and_config_file(trained: dict[str, Any], tmp_path: Path) -> None:
    toml = tmp_path / "train.toml"
    toml.write_text("epochs = 7\n[optim]\nbatch_size = 32\n[lecam]\nweight = 0.1\n")
    result = _train("--recipe", "ast-gan", "--config", str(toml), "--epochs", "9",
                    "--set", "lecam.decay=0.9", "--lr", "1e-3", "--resume")  # fmt: skip
    assert result.exit_code == 0, result.output
    cfg = trained["config"]
    assert (cfg.networks.arch, cfg.run.epochs, cfg.optim.batch_size) == ("dcgan", 9, 32)
    assert (cfg.lecam.weight, cfg.lecam.decay) == (0.1, 0.9)
    assert (cfg.optim.lr_g, cfg.optim.lr_d) == (1e-3, 1e-3) and trained["resume"]
    # --lr-d beside --lr wins for D; 0 turns the Gram loss off
    assert _train("--lr", "1e-3", "--lr-d", "5e-4").exit_code == 0
    assert (trained["config"].optim.lr_g, trained["config"].optim.lr_d) == (1e-3, 5e-4)
    assert _train("--gram-weight", "0", "--settle-steps", "0").exit_code == 0
    assert trained["config"].gram.weight is None


def test_flags_shipped_docs_and_cards_use_keep_working(trained: dict[str, Any]) -> None:
    args = ["--whole-weight", "3", "--whole-diffaugment", "color", "--gram-scale", "sample",
            "--gram-batch", "4", "--sample-every", "5", "--checkpoint-every", "5",
            "--eval-every", "25", "--batch-size", "64", "--arch", "texture", "--width", "8",
            "--crop", "patch", "--precision", "fp32", "--seed", "1", "--device", "cpu",
            "--retune"]  # fmt: skip
    result = _train(*args)
    assert result.exit_code == 0, result.output
    cfg = trained["config"]
    assert (cfg.whole_view.weight, cfg.gram.batch, cfg.run.sample_every) == (3, 4, 5)
    assert (cfg.networks.width, cfg.optim.precision, cfg.optim.seed) == (8, "fp32", 1)


@pytest.mark.parametrize(
    ("flag", "line"),
    [
        (["--anneal", "0.1"], "--anneal is now --set optim.anneal=VALUE"),
        (["--no-flip"], "--no-flip is now --set data.flip=false"),
        (["--lecam-weight", "0.2"], "--lecam-weight is now --set lecam.weight=VALUE"),
        (["--settle-lr=1e-4"], "--settle-lr is now --set settle.lr=VALUE"),
    ],
)
def test_removed_flags_name_their_new_spelling(flag: list[str], line: str) -> None:
    result = _train(*flag)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and line in lines[0], result.output


def test_train_help_shows_the_curated_flags_and_where_the_rest_are() -> None:
    shown_help = CliRunner().invoke(app, ["train", "--help"], terminal_width=200).output
    for flag in ("--epochs", "--lr", "--whole-weight", "--recipe", "--resume", "--set"):
        assert flag in shown_help
    for flag in ("--gram-scale", "--anneal-lr", "--lecam-weight", "--sample-every"):
        assert flag not in shown_help
    assert "artstyle config show train" in shown_help
    sections = CliRunner().invoke(app, ["config", "show", "train"], terminal_width=200).stdout
    for name in ("networks", "data", "optim", "gram", "whole_view", "lecam", "settle", "run"):
        assert f"\n{name}: " in "\n" + sections, name
    assert "run: How long the run goes" in sections and "(may change on --resume)" in sections
