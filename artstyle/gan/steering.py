"""Steering a learned style: a style batch as latents that can be picked, drawn near, walked
between, saved to a small file and painted with again.

A generated style batch is its recipe, `StyleBatch`: the latent vectors z, the seed of the local
noise (texture generators) and the picked images. `StyleBatch.sampled(gen, n, seed)` is exactly
`gen.sample(n, seed)`; `more_like` draws new latents near picked ones, `between` walks from one to
another. The local noise of a new batch is fresh (seeded): z carries what a sample looks like,
the noise the grain of its strokes.

A style file is JSON (a few kB for 16 latents): the model as given and the SHA-256 of its weights,
the latents, the noise seed and the picks. The same file, model and machine give the same batch
bit for bit, hence the same painting.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from artstyle import atomic
from artstyle.errors import ArtstyleError
from artstyle.gan.generator import StyleGenerator, resolve_model

#: The `kind` of a style file.
STYLE_FILE_KIND = "artstyle-style"


@dataclass(frozen=True)
class StyleBatch:
    """A generated style batch as latents (N, D), the seed of its local noise, and the indices of
    the images used (None: all)."""

    z: torch.Tensor
    noise_seed: int
    picks: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.z.dim() != 2 or len(self.z) == 0:
            raise ArtstyleError(f"a style batch's latents are (N, D), got {tuple(self.z.shape)}")
        if self.picks is not None and (
            not self.picks or not all(0 <= i < len(self.z) for i in self.picks)
        ):
            raise ArtstyleError(f"picks must be 1 or more of 0..{len(self.z) - 1}: {self.picks}")

    @classmethod
    def sampled(cls, gen: StyleGenerator, n: int, seed: int = 0) -> StyleBatch:
        """The batch `gen.sample(n, seed)` makes (its latents, noise from seed + 1)."""
        return cls(gen.latents(n, seed).cpu(), seed + 1)

    def images(self, gen: StyleGenerator) -> torch.Tensor:
        """The picked images (N, 3, S, S) in 0..1; the whole batch is decoded as one, so a
        picked image is the one seen in the batch, bit for bit."""
        noise = gen.noise(len(self.z), self.noise_seed)
        images = gen.decode(self.z, noise, self.noise_seed + 1)
        return images if self.picks is None else images[list(self.picks)]

    def picked(self) -> torch.Tensor:
        """The latents of the picked images (K, D)."""
        return self.z if self.picks is None else self.z[list(self.picks)]

    def pick(self, picks: Sequence[int] | None) -> StyleBatch:
        """This batch with other picks (indices into the whole batch)."""
        return StyleBatch(self.z, self.noise_seed, None if picks is None else tuple(picks))


def more_like(latents: torch.Tensor, n: int, spread: float = 0.5, seed: int = 0) -> torch.Tensor:
    """`n` latents near `latents` (K, D): the i-th is near latent i mod K, as
    `sqrt(1 - spread^2) z + spread e` with e ~ N(0, I), so every one is again N(0, I)-distributed
    (what the generator saw); spread 0 repeats the picks, 1 is a fresh batch."""
    if not 0 <= spread <= 1:
        raise ArtstyleError(f"spread must be between 0 and 1, got {spread}")
    if n < 1 or len(latents) == 0:
        raise ArtstyleError("more_like needs at least one latent and one new sample")
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, latents.shape[1], generator=gen)
    parents = latents.detach().cpu().float()[torch.arange(n) % len(latents)]
    return math.sqrt(1 - spread**2) * parents + spread * noise


def between(a: torch.Tensor, b: torch.Tensor, n: int) -> torch.Tensor:
    """`n` latents on the spherical path from `a` to `b` (D,), both ends included."""
    from artstyle.explore.latents import interpolate  # explore pulls in matplotlib: on use only

    return interpolate(a.detach().cpu().float(), b.detach().cpu().float(), n)


def model_digest(model: str | Path) -> str:
    """SHA-256 of a model's weights file (what a style file checks before painting)."""
    digest = hashlib.sha256()
    with open(resolve_model(model), "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_style(path: str | Path, model: str | Path, batch: StyleBatch) -> Path:
    """Write a style file (JSON, atomically): the model, its weights' digest and the batch."""
    record = {
        "kind": STYLE_FILE_KIND,
        "model": str(model),
        "sha256": model_digest(model),
        "noise_seed": batch.noise_seed,
        "picks": None if batch.picks is None else list(batch.picks),
        # float32 values are exact as JSON numbers (a float64 repr round-trips)
        "latents": batch.z.float().tolist(),
    }
    atomic.write_text(path, json.dumps(record, separators=(",", ":")))
    return Path(path)


def load_style(path: str | Path) -> tuple[str, StyleBatch]:
    """(model, batch) of a style file; one line if it is not one, or if the model's weights are
    not the ones it was made with."""
    try:
        record: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        if record.get("kind") != STYLE_FILE_KIND:
            raise ValueError("not an artstyle style file")
        z = torch.tensor(record["latents"], dtype=torch.float32)
        picks = record["picks"]
        batch = StyleBatch(z, int(record["noise_seed"]), None if picks is None else tuple(picks))
        model, sha = str(record["model"]), str(record["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtstyleError(f"{path}: cannot read the style file ({exc})") from None
    if model_digest(model) != sha:
        raise ArtstyleError(
            f"{path}: model {model!r} is not the one this style was made with (its weights "
            "differ), so it would paint another style"
        )
    return model, batch
