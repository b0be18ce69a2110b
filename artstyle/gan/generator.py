"""A trained generator ready to sample: load by shipped name or path, get tensors or PIL images."""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import nn

from artstyle.config import TrainConfig
from artstyle.device import resolve_device, seeded_rng
from artstyle.errors import ArtstyleError
from artstyle.gan import checkpoint, run_files
from artstyle.gan.export import KIND, read_card
from artstyle.gan.models import build_generator, get_arch
from artstyle.images import signed_to_unit, to_pil


def weights_dir() -> Path:
    """Where shipped generators live: $ARTSTYLE_WEIGHTS, else the package's `weights/` data
    (installed with the package, editable or not)."""
    if "ARTSTYLE_WEIGHTS" in os.environ:
        return Path(os.environ["ARTSTYLE_WEIGHTS"])
    return Path(str(importlib.resources.files("artstyle").joinpath("weights")))


def shipped_models() -> list[str]:
    """Names of the shipped generators, sorted."""
    return sorted(p.stem for p in weights_dir().glob("*.safetensors"))


def resolve_model(model: str | Path) -> Path:
    """A shipped name, a generator file, a run folder or a checkpoint -> the file to load."""
    path = Path(model)
    if path.is_dir():
        for name in (run_files.GENERATOR, run_files.CHECKPOINT):
            if (path / name).exists():
                return path / name
        raise ArtstyleError(f"{path}: no generator.safetensors or checkpoint.safetensors in it")
    if path.suffix == ".safetensors" or path.exists():
        if not path.exists():
            raise ArtstyleError(f"{path}: no such weights file")
        return path
    shipped = weights_dir() / f"{model}.safetensors"
    if shipped.exists():
        return shipped
    names = ", ".join(shipped_models()) or "none installed"
    raise ArtstyleError(f"unknown model {str(model)!r}: give a path or a shipped name ({names})")


class StyleGenerator:
    """A generator network with its config and card; samples images in 0..1."""

    def __init__(
        self, net: nn.Module, config: TrainConfig, card: dict[str, Any], source: Path
    ) -> None:
        self.net = net.eval().requires_grad_(False)
        self.config = config
        self.card = card
        self.source = source
        self.arch = get_arch(config.networks.arch)

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    @classmethod
    def from_pretrained(cls, model: str | Path, device: str = "auto") -> StyleGenerator:
        """Load a shipped name, an exported generator, a run folder or a training checkpoint."""
        path = resolve_model(model)

        def sampler(meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> str:
            if meta.get("kind") != KIND and any(k.startswith("ema.") for k in tensors):
                return "ema"  # a training checkpoint: sample from the EMA copy
            return "g"

        with seeded_rng(0, torch.device("cpu")):  # its initial weights: off other threads' draws
            net, config, _ = checkpoint.load_network(
                path, build_generator, sampler, "not an artstyle generator (no generator settings)"
            )
        net = net.to(resolve_device(device))
        return cls(net, config, read_card(path), path)

    def latents(self, n: int, seed: int = 0) -> torch.Tensor:
        """`n` latent vectors z ~ N(0, 1), the same for the same seed on any device."""
        gen = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.config.networks.z_dim, generator=gen).to(self.device)

    @property
    def sample_size(self) -> int:
        """Side of the images `sample` and `decode` make (the card's scale)."""
        return self.config.sample_size

    def noise(self, n: int, seed: int = 0) -> torch.Tensor | None:
        """Local noise for `n` texture samples at `sample_size` (None for other archs)."""
        noise = self.arch.noise(self.net, n, self.sample_size, torch.Generator().manual_seed(seed))
        return None if noise is None else noise.to(self.device)

    @torch.inference_mode()
    def decode(
        self, z: torch.Tensor, noise: torch.Tensor | None = None, seed: int = 0
    ) -> torch.Tensor:
        """Images (N, 3, S, S) in 0..1 for latents `z`.

        A texture generator without `noise` uses one fixed noise map for every image, so images
        differ only by z (what latent walks and arithmetic need); its per-pixel noise comes from
        `seed`.
        """
        z = z.to(self.device)
        with seeded_rng(seed, self.device):
            noise = self.noise(1) if noise is None else noise.to(self.device)
            x = self.net(z) if noise is None else self.net(z, noise)
        return signed_to_unit(x)

    def sample(self, n: int = 16, seed: int = 0) -> torch.Tensor:
        """`n` new images (N, 3, S, S) in 0..1, reproducible by `seed`."""
        return self.decode(self.latents(n, seed), self.noise(n, seed + 1), seed + 2)

    def images(self, n: int = 16, seed: int = 0) -> list[Image.Image]:
        """`n` new images as PIL images."""
        return [to_pil(img) for img in self.sample(n, seed)]
