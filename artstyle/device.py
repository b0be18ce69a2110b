"""Device choice in one place: `auto` picks CUDA when present, else the CPU."""

from __future__ import annotations

from typing import Literal

import torch

from artstyle.errors import ArtstyleError

DeviceName = Literal["auto", "cpu", "cuda"]


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Turn `auto|cpu|cuda` (or `cuda:N`) into a torch device; a clear error if CUDA is absent."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ArtstyleError(
                "--device cuda was asked for, but PyTorch sees no CUDA GPU here "
                "(use --device cpu or auto)"
            )
        return torch.device(name)
    raise ArtstyleError(f"unknown device {name!r}: use auto, cpu or cuda")
