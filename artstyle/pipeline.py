"""The two stages joined: a trained generator emits a style batch, style transfer paints with it.

    pipe = StylePipeline.from_pretrained("impressionism", num_styles=16, seed=0)
    for photo in photos:
        pipe(photo).image.save(...)

The generator, the VGG19 backbone, the style batch and its Gram targets are made once per
pipeline; each call runs only the per-photo optimisation.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from artstyle.config import PipelineConfig, VideoConfig, with_overrides
from artstyle.gan.generator import StyleGenerator
from artstyle.images import ImageSource, image_grid
from artstyle.nst.optimize import Callback
from artstyle.nst.transfer import StyleSource, StyleTransfer, TransferResult
from artstyle.video.paint import FrameCallback, VideoResult, paint_video

__all__ = [
    "PipelineResult",
    "StylePipeline",
    "StyleTransfer",
    "TransferResult",
    "example_photo",
    "stylize",
    "stylize_result",
    "stylize_video",
]


@dataclass
class PipelineResult(TransferResult):
    """A painted photo, its loss history, and the generated style batch that painted it."""

    styles: torch.Tensor  # (m, 3, s, s) in 0..1

    def style_grid(self, nrow: int = 8) -> Image.Image:
        """The style batch as one picture."""
        return image_grid(self.styles, nrow)


class StylePipeline:
    """Paint photos with the style a trained generator learned, in the manner of diffusers."""

    def __init__(
        self, generator: StyleGenerator, config: PipelineConfig | None = None, **overrides: Any
    ) -> None:
        self.generator = generator
        cfg = with_overrides(PipelineConfig, config, overrides)
        if "style_size" not in cfg.model_fields_set:
            # the samples are used at the scale they were learned at (the card's sample size)
            cfg = with_overrides(PipelineConfig, cfg, {"style_size": generator.sample_size})
        self.config = cfg

    @classmethod
    def from_pretrained(
        cls,
        model: str | Path | None = None,
        config: PipelineConfig | None = None,
        **overrides: Any,
    ) -> StylePipeline:
        """Load a shipped generator by name (default: the config's `model`), file or run folder."""
        if model is not None:
            overrides = {**overrides, "model": str(model)}
        cfg = with_overrides(PipelineConfig, config, overrides)
        generator = StyleGenerator.from_pretrained(cfg.model, cfg.device)
        return cls(generator, cfg)

    @functools.cached_property
    def styles(self) -> torch.Tensor:
        """The style batch: `num_styles` generated images, the same for the same `seed`."""
        return self.generator.sample(self.config.num_styles, self.config.seed)

    @functools.cached_property
    def transfer(self) -> StyleTransfer:
        """The style-transfer stage with the batch's Gram targets, computed on first use."""
        return StyleTransfer(self.styles, self.config)

    def __call__(
        self, photo: ImageSource, callback: Callback | None = None, **settings: Any
    ) -> PipelineResult:
        """Paint one photo; `callback(step, losses, image)` is called after every step.

        `settings` change this call only, as diffusers pipelines take theirs:
        `pipe(photo, steps=100, size=1024)`; those the style targets depend on are refused.
        """
        result = self.transfer.run(photo, callback, **settings)
        return PipelineResult(**vars(result), styles=self.styles.cpu())

    def video(
        self,
        source: str | Path,
        out: str | Path,
        config: VideoConfig | None = None,
        on_frame: FrameCallback | None = None,
        **settings: Any,
    ) -> VideoResult:
        """Paint a video (or a folder of frames) into `out`, steady from frame to frame;
        resumable (`artstyle.video.paint_video`). `settings` are `VideoConfig`'s:
        `pipe.video("clip.mp4", "painted.mp4", temporal_weight=0)`."""
        return paint_video(self.transfer, source, out, config, on_frame, **settings)


def example_photo() -> Image.Image:
    """A photo every install has: scikit-image's astronaut (NASA, public domain), 512 x 512."""
    from skimage import data

    return Image.fromarray(data.astronaut())


def stylize_result(
    photo: ImageSource,
    styles: StyleSource | None = None,
    config: PipelineConfig | None = None,
    callback: Callback | None = None,
    **overrides: Any,
) -> TransferResult:
    """Paint `photo`; the picture, its loss history and (for a generated batch) the styles.

    Without `styles` the style batch comes from the generator `model` (a shipped name, default
    "impressionism"); with `styles` (paths, images or a tensor batch) those images are the batch.
    """
    if styles is None:
        return StylePipeline.from_pretrained(config=config, **overrides)(photo, callback)
    return StyleTransfer(styles, config, **overrides).run(photo, callback)


def stylize(
    photo: ImageSource,
    styles: StyleSource | None = None,
    config: PipelineConfig | None = None,
    callback: Callback | None = None,
    **overrides: Any,
) -> Image.Image:
    """Paint `photo` with a learned style (default) or with `styles`; returns the picture.

    `stylize("photo.jpg")`, `stylize("photo.jpg", model="vangogh", num_styles=32, seed=7)`,
    `stylize("photo.jpg", styles=["a.jpg", "b.jpg"], style_weight=5e4)`.
    """
    return stylize_result(photo, styles, config, callback, **overrides).image


def stylize_video(
    source: str | Path,
    out: str | Path,
    styles: StyleSource | None = None,
    config: PipelineConfig | None = None,
    on_frame: FrameCallback | None = None,
    **overrides: Any,
) -> VideoResult:
    """Paint the video `source` into `out` with a learned style (default) or with `styles`.

    `overrides` may be any `PipelineConfig` or `VideoConfig` setting:
    `stylize_video("clip.mp4", "painted.mp4", size=256, temporal_weight=1e3)`.
    """
    video = {k: v for k, v in overrides.items() if k in VideoConfig.model_fields}
    rest = {k: v for k, v in overrides.items() if k not in video}
    if styles is None:
        painter = StylePipeline.from_pretrained(config=config, **rest).transfer
    else:
        painter = StyleTransfer(styles, config, **rest)
    return paint_video(painter, source, out, on_frame=on_frame, **video)
