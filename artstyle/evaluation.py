"""Every figure of a generator against its paintings, in one call (what `artstyle evaluate` prints
and a model card keeps): the style gap on both layer presets, Inception KID, VGG-KID and the
memorisation ratio and grid contrast, each over several sample seeds.

One set of 64 samples swings Inception KID by 25 and the style gap by half its floor with the
sample seed alone (docs/gan.md), so every figure is a mean over seeds with its spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from artstyle.config import PipelineConfig
from artstyle.errors import ArtstyleError
from artstyle.gan import (
    INCEPTION_KID_SIZE,
    GeneratorScore,
    PaintingSet,
    Reference,
    StyleGenerator,
    evaluate,
    grid_contrast,
    inception_features,
    inception_kid,
)
from artstyle.gan.metrics import reference_images
from artstyle.style_gap import StyleGap, style_gaps

#: The layer presets every style gap is measured on: the style stage's default (the seed's
#: shallow conv1_1..conv3_1) and Gatys' relu1_1..relu5_1, which see shapes and strokes.
GAP_PRESETS = ("ast-gan", "gatys")

#: Sample seeds `artstyle evaluate` averages over unless told otherwise.
DEFAULT_SEEDS = 4


@dataclass(frozen=True)
class Spread:
    """A figure over sample seeds: its mean and each seed's value."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    def text(self, digits: int = 3) -> str:
        """'mean (min-max)', or the value alone for one seed."""
        low, high = min(self.values), max(self.values)
        if len(self.values) == 1:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ({low:.{digits}f}-{high:.{digits}f})"


@dataclass(frozen=True)
class PresetGap:
    """The style gap on one layer preset over sample seeds."""

    gaps: tuple[StyleGap, ...]

    @property
    def ratio(self) -> float:
        """Mean gap over mean floor: how many times a real batch's error the samples miss by."""
        return sum(g.mean for g in self.gaps) / max(sum(g.floor_mean for g in self.gaps), 1e-12)

    @property
    def gap(self) -> Spread:
        return Spread(tuple(g.mean for g in self.gaps))

    @property
    def floor(self) -> Spread:
        return Spread(tuple(g.floor_mean for g in self.gaps))

    def per_layer(self) -> dict[str, list[float]]:
        """Per layer: [generated, floor], each the mean over seeds."""
        k = len(self.gaps)
        return {
            layer: [
                round(sum(g.generated[i] for g in self.gaps) / k, 4),
                round(sum(g.floor[i] for g in self.gaps) / k, 4),
            ]
            for i, layer in enumerate(self.gaps[0].layers)
        }

    def card_fields(self, suffix: str) -> dict[str, Any]:
        return {
            f"style_gap{suffix}": round(self.gap.mean, 4),
            f"style_gap_floor{suffix}": round(self.floor.mean, 4),
            f"style_gap_ratio{suffix}": round(self.ratio, 2),
            f"style_gap_ratio{suffix}_seeds": [round(g.ratio, 2) for g in self.gaps],
            f"style_gap_per_layer{suffix}": self.per_layer(),
        }


@dataclass(frozen=True)
class Measures:
    """The figures of one generator over sample seeds `seeds`; Inception KID is None where its
    extra is not installed. `paintings_grid` is the paintings' own grid contrast."""

    seeds: tuple[int, ...]
    n: int
    gaps: dict[str, PresetGap]
    vgg: tuple[GeneratorScore, ...]
    inception_kid: Spread | None
    grid: Spread
    paintings_grid: float

    @property
    def vgg_kid(self) -> Spread:
        return Spread(tuple(e.vgg_kid for e in self.vgg))

    @property
    def memorisation(self) -> Spread:
        return Spread(tuple(e.memorisation_ratio for e in self.vgg))

    def card_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"eval_samples": self.n, "eval_seeds": list(self.seeds)}
        for preset, gap in self.gaps.items():
            fields.update(gap.card_fields("" if preset == "ast-gan" else f"_{preset}"))
        fields["style_size"] = self.gaps["ast-gan"].gaps[0].style_size
        if self.inception_kid is not None:
            fields["inception_kid_x1000"] = round(self.inception_kid.mean, 1)
            fields["inception_kid_x1000_seeds"] = [round(v, 1) for v in self.inception_kid.values]
            fields["inception_kid_size"] = INCEPTION_KID_SIZE
        fields["vgg_kid"] = round(self.vgg_kid.mean, 4)
        fields["memorisation_ratio"] = round(self.memorisation.mean, 3)
        fields["memorisation_ratio_seeds"] = [round(v, 3) for v in self.memorisation.values]
        fields["grid_contrast"] = round(self.grid.mean, 2)
        fields["grid_contrast_seeds"] = [round(v, 2) for v in self.grid.values]
        fields["grid_contrast_paintings"] = round(self.paintings_grid, 2)
        return fields


class Evaluator:
    """Scores generators against one folder of paintings; the paintings' features are computed
    once and shared by every generator scored (a model and its baseline)."""

    def __init__(self, paintings: PaintingSet, device: str = "cpu") -> None:
        self.paintings = paintings
        self.device = device
        self._vgg: Reference | None = None
        self._inception: Any = None  # features, or the ArtstyleError saying why there are none
        self.paintings_grid = grid_contrast(reference_images(paintings))

    def inception_reference(self) -> Any:
        if self._inception is None:
            try:
                self._inception = inception_features(self.paintings.images, self.device)
            except ArtstyleError as exc:
                self._inception = exc
        return self._inception

    def __call__(
        self, generator: StyleGenerator, n: int = 64, seeds: Sequence[int] = (0,)
    ) -> Measures:
        if self._vgg is None:
            self._vgg = Reference.of(self.paintings, generator.device)
        vgg = tuple(evaluate(generator, self._vgg, n=n, seed=s) for s in seeds)
        files = self.paintings.files
        gaps = {
            preset: PresetGap(tuple(style_gaps(generator, files, n, seeds, _with_layers(preset))))
            for preset in GAP_PRESETS
        }
        samples = [generator.sample(n, s) for s in seeds]
        reference = self.inception_reference()
        kid = None
        if not isinstance(reference, ArtstyleError):
            kid = Spread(
                tuple(
                    inception_kid(inception_features(x, self.device), reference, s)[0]
                    for x, s in zip(samples, seeds)
                )
            )
        grid = Spread(tuple(grid_contrast(x) for x in samples))
        return Measures(tuple(seeds), n, gaps, vgg, kid, grid, self.paintings_grid)

    @property
    def inception_problem(self) -> str | None:
        """Why Inception KID is missing, if it is."""
        ref = self._inception
        return str(ref) if isinstance(ref, ArtstyleError) else None


def _with_layers(preset: str) -> PipelineConfig:
    return PipelineConfig.model_validate({"targets": {"layers": preset}})
