"""What the tests make themselves: images, so they run without ../shared, and commands; and
what several of them ask of a network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import typer
from pydantic import BaseModel

from artstyle.cli.settings import Flag, SettingsCommand, with_settings
from artstyle.images import to_pil


def synthetic_paintings(n: int, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Striped, blotchy 'paintings' with a per-image palette: structure for VGG to see."""
    gen = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    images = []
    for _ in range(n):
        freq, angle = torch.rand(2, generator=gen) * torch.tensor([0.6, 3.14])
        stripes = torch.sin(freq * (xs * torch.cos(angle) + ys * torch.sin(angle)))
        palette = torch.rand(3, 1, 1, generator=gen)
        blotch = torch.rand(1, 1, size // 8, size // 8, generator=gen)
        blotch = torch.nn.functional.interpolate(blotch, size=size, mode="bilinear")[0]
        images.append((palette * (0.5 + 0.3 * stripes) + 0.3 * blotch).clamp(0, 1))
    return torch.stack(images)


def write_paintings(folder: Path, n: int, size: int = 96, seed: int = 0) -> list[Path]:
    """`n` synthetic paintings as JPEG files `painting_NN.jpg` in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(synthetic_paintings(n, size, seed)):
        path = folder / f"painting_{i:02d}.jpg"
        to_pil(image).save(path, quality=92)
        paths.append(path)
    return paths


def settings_cli(
    model: type[BaseModel],
    flags: Sequence[Flag],
    command: str,
    recipes: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[typer.Typer, dict[str, Any]]:
    """A one-command app whose settings `with_settings` generates from `model`, as it does for
    `artstyle train` and `transfer`, beside an option of the command's own (`--name`); and
    what the last call received (`seen["settings"]`)."""
    seen: dict[str, Any] = {}
    cli = typer.Typer()

    class Command(SettingsCommand):
        settings_model = model
        settings_name = command

    @cli.command(cls=Command)
    @with_settings(model, flags, command, recipes=recipes)
    def run(name: str = typer.Option("x"), *, settings: BaseModel) -> None:
        seen["settings"] = settings

    return cli, seen


def moving_parameters(net: torch.nn.Module) -> list[torch.Tensor]:
    """The parameters one training step must move: all but the residual blocks' bodies, whose
    gradient passes through a gain that starts at zero (`models.Residual`), so they wait for it."""
    return [p for name, p in net.named_parameters() if ".body." not in name]
