"""Exported generators: fp16 safetensors plus a model card (JSON and Markdown) beside it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from torch import nn

from artstyle import atomic
from artstyle.config import TrainConfig
from artstyle.gan import checkpoint

KIND = "artstyle-generator"


def export_generator(
    generator: nn.Module, config: TrainConfig, path: str | Path, card: dict[str, Any]
) -> Path:
    """Write `generator` as fp16 safetensors at `path` and its card as `.json` and `.md`.

    fp16 halves the file (a width-64 generator is ~7 MB) with no visible change in the images;
    the card's sha256 is that of the written file.
    """
    path = Path(path)
    tensors = {
        f"g.{k}": v.half() if v.is_floating_point() else v
        for k, v in generator.state_dict().items()
    }
    checkpoint.save(path, tensors, {"kind": KIND, "config": config.flat()})
    write_card(path, {**card, "hyperparameters": config.flat()})
    return path


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def card_path(weights: str | Path) -> Path:
    """The JSON card that belongs to a weights file."""
    return Path(weights).with_suffix(".json")


def read_card(weights: str | Path) -> dict[str, Any]:
    """The card beside `weights`, or an empty dict if there is none."""
    path = card_path(weights)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def data_description(folder: str | Path, images: int) -> str:
    """How a card names the paintings it was trained or measured on: the folder's name and
    how many images it gave, never a path (a card travels; the machine's folders do not)."""
    return f"{Path(folder).resolve().name} ({images} images)"


def portable(path: str | Path) -> str:
    """A path as a card may keep it: as given when relative (a shipped name, `runs/monet`), else
    relative to the current folder, so no card holds an absolute path of its machine."""
    text = str(path)
    return os.path.relpath(text) if os.path.isabs(text) else text


def write_card(weights: str | Path, card: dict[str, Any]) -> None:
    """Write (or update) the JSON and Markdown cards of `weights`, stamping size and sha256."""
    weights = Path(weights)
    card = {
        "name": weights.stem,
        **card,
        "file": weights.name,
        "bytes": weights.stat().st_size,
        "sha256": sha256(weights),
    }
    atomic.write_text(card_path(weights), json.dumps(card, indent=2) + "\n")
    atomic.write_text(weights.with_suffix(".md"), card_markdown(card))


def card_markdown(card: dict[str, Any]) -> str:
    """A human-readable model card."""
    lines = [f"# Generator `{card['name']}`", ""]
    if card.get("description"):
        lines += [str(card["description"]), ""]
    lines += ["| fact | value |", "| --- | --- |"]
    for key, value in card.items():
        if key not in ("name", "description", "hyperparameters", "notes", "baseline"):
            lines.append(f"| {key} | {value} |")
    if baseline := card.get("baseline"):
        lines += ["", "## Against a baseline", "", "Measured on the same samples and paintings:"]
        lines += ["", "| | this model | baseline |", "| --- | --- | --- |"]
        for key in (
            "style_gap_ratio", "style_gap_ratio_gatys", "inception_kid_x1000", "vgg_kid",
            "memorisation_ratio", "iterations", "style_size",
        ):  # fmt: skip
            lines.append(f"| {key} | {card.get(key, '?')} | {baseline.get(key, '?')} |")
        for key, (mine, theirs) in baseline.get("differences", {}).items():
            lines.append(f"| {key} | {_cell(mine)} | {_cell(theirs)} |")
        lines.append(f"| weights | {card.get('file')} | {baseline.get('source')} |")
    lines += ["", "## Hyperparameters", "", "| setting | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in card.get("hyperparameters", {}).items()]
    if card.get("notes"):
        lines += ["", "## Notes", "", str(card["notes"])]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> Any:
    """A setting for a Markdown table: unset ones ("" or None) read "none"."""
    return "none" if value in ("", None) else value
