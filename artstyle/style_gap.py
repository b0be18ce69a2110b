"""The style-statistics gap: how far a generated style batch is from its paintings, as the style
stage sees them.

The style-transfer stage sees a style batch only through the mean of its Gram matrices at the style
layers. So the figure that decides how a learned style paints is the relative (Frobenius) error
between the mean Gram of `n` generated images, prepared exactly as `StylePipeline` prepares its
batch, and the mean Gram of all the training paintings, prepared as `--styles` would prepare them
with the same settings. Its floor is the same figure for a random `n` of the paintings themselves:
what a perfect generator would reach with `n` samples.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from artstyle.config import PipelineConfig
from artstyle.errors import ArtstyleError
from artstyle.gan import StyleGenerator
from artstyle.nst import StyleTransfer
from artstyle.pipeline import StylePipeline


@dataclass(frozen=True)
class StyleGap:
    """Per style layer: the generated batch's error and the floor (a real batch of the same n)."""

    layers: tuple[str, ...]
    generated: tuple[float, ...]
    floor: tuple[float, ...]
    n: int
    style_size: int | None

    @property
    def mean(self) -> float:
        """The generated batch's error, averaged over the layers."""
        return sum(self.generated) / len(self.generated)

    @property
    def floor_mean(self) -> float:
        """The floor, averaged over the layers."""
        return sum(self.floor) / len(self.floor)

    @property
    def ratio(self) -> float:
        """How many times the floor the generated batch is (1 = as good as real paintings)."""
        return self.mean / max(self.floor_mean, 1e-12)

    def card_fields(self) -> dict[str, Any]:
        """What a model card keeps."""
        return {
            "style_gap": round(self.mean, 4),
            "style_gap_floor": round(self.floor_mean, 4),
            "style_gap_ratio": round(self.ratio, 2),
            "style_gap_per_layer": {
                layer: [round(g, 4), round(f, 4)]
                for layer, g, f in zip(self.layers, self.generated, self.floor)
            },
            "style_gap_samples": self.n,
            "style_size": self.style_size,
        }


def relative_errors(
    grams: Sequence[torch.Tensor], reference: Sequence[torch.Tensor]
) -> list[float]:
    """||G - R||_F / ||R||_F per layer."""
    return [float((g - r).norm() / r.norm().clamp_min(1e-30)) for g, r in zip(grams, reference)]


def mean_grams(transfer: StyleTransfer) -> list[torch.Tensor]:
    """The batch-mean Gram matrix of each style layer of a style-transfer stage."""
    return [t.mean.cpu() for t in transfer.targets]


def style_gaps(
    generator: StyleGenerator,
    paintings: Sequence[str | Path],
    n: int = 64,
    seeds: Sequence[int] = (0,),
    config: PipelineConfig | None = None,
) -> list[StyleGap]:
    """The gap of `n` samples of `generator` from `paintings` and its floor, once per sample
    seed; the paintings' reference is computed once."""
    if len(paintings) < n:
        raise ArtstyleError(
            f"the style gap's floor needs at least {n} paintings (a random {n} of them); "
            f"got {len(paintings)}: lower -n"
        )
    reference: list[torch.Tensor] = []
    gaps = []
    for seed in seeds:
        pipe = StylePipeline(generator, config, num_styles=n, seed=seed)
        reference = reference or mean_grams(StyleTransfer(list(paintings), pipe.config))
        subset = random.Random(seed).sample(list(paintings), n)
        real = mean_grams(StyleTransfer(subset, pipe.config))
        gaps.append(
            StyleGap(
                layers=pipe.transfer.net.layers[: len(reference)],
                generated=tuple(relative_errors(mean_grams(pipe.transfer), reference)),
                floor=tuple(relative_errors(real, reference)),
                n=n,
                style_size=pipe.config.targets.style_size,
            )
        )
    return gaps


def style_gap(
    generator: StyleGenerator,
    paintings: Sequence[str | Path],
    n: int = 64,
    seed: int = 0,
    config: PipelineConfig | None = None,
) -> StyleGap:
    """The gap of `n` samples (seed `seed`) of `generator` from `paintings`, and its floor."""
    return style_gaps(generator, paintings, n, [seed], config)[0]
