"""The two stages joined: a trained generator emits a style batch, style transfer paints with it.

    pipe = StylePipeline.from_pretrained("impressionism", seed=0)
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

from artstyle.config import PipelineConfig, RegionsConfig, VideoConfig, with_overrides
from artstyle.errors import ArtstyleError
from artstyle.gan import (
    CHECKPOINT,
    GENERATOR,
    StyleBatch,
    StyleGenerator,
    load_style,
    resolve_model,
    save_style,
)
from artstyle.images import IMAGE_SUFFIXES, ImageSource, find_images, image_grid
from artstyle.nst import (
    KEEP,
    Callback,
    Regions,
    StyleSource,
    StyleTransfer,
    TransferResult,
    from_mask,
    parse_colour,
    read_colour_map,
    read_mask,
    region_styles,
)
from artstyle.video.paint import FrameCallback, VideoResult, paint_video

__all__ = [
    "PipelineResult",
    "StylePipeline",
    "StyleTransfer",
    "TransferResult",
    "example_photo",
    "masked_transfer",
    "regional_transfer",
    "style_transfer_for",
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
        self,
        generator: StyleGenerator,
        config: PipelineConfig | None = None,
        batch: StyleBatch | None = None,
        **overrides: Any,
    ) -> None:
        """`batch`: the style batch's latents and picks (`gan.steering`); default the config's
        `num_styles` samples of its `seed`."""
        self.generator = generator
        cfg = with_overrides(PipelineConfig, config, overrides)
        if "style_size" not in cfg.targets.model_fields_set:
            # the samples are used at the scale they were learned at (the card's sample size)
            cfg = with_overrides(PipelineConfig, cfg, {"style_size": generator.sample_size})
        self.config = cfg
        self.batch = batch or StyleBatch.sampled(
            generator, cfg.targets.num_styles, cfg.targets.seed
        )

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
        generator = StyleGenerator.from_pretrained(cfg.targets.model, cfg.machine.device)
        return cls(generator, cfg)

    @classmethod
    def from_style_file(
        cls, path: str | Path, config: PipelineConfig | None = None, **overrides: Any
    ) -> StylePipeline:
        """The style a style file records (`save_style`): its model and its batch, bit for bit."""
        model, batch = load_style(path)
        cfg = with_overrides(PipelineConfig, config, {**overrides, "model": model})
        return cls(StyleGenerator.from_pretrained(model, cfg.machine.device), cfg, batch)

    def save_style(self, path: str | Path) -> Path:
        """Write this pipeline's style batch to a style file (`from_style_file` reads it); the
        model is named as the config names it when that is this generator's file."""
        model = self.config.targets.model
        named = resolve_model(model).resolve() == self.generator.source.resolve()
        return save_style(path, model if named else self.generator.source, self.batch)

    @functools.cached_property
    def styles(self) -> torch.Tensor:
        """The style batch: by default `num_styles` generated images, the same for the same
        `seed`; else the picked images of `batch`."""
        return self.batch.images(self.generator)

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

    `stylize("photo.jpg")`, `stylize("photo.jpg", model="vangogh", num_styles=16, seed=7)`,
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


def style_transfer_for(
    source: str | Path, config: PipelineConfig | None = None, **overrides: Any
) -> StyleTransfer:
    """The style stage of `source`: a learned style (a shipped model's name, a generator file or
    a run folder), a style file (`.json`, `StylePipeline.save_style`) or style images (an image
    file or a folder of them)."""
    path = Path(source)
    if path.suffix.lower() == ".json":
        return StylePipeline.from_style_file(path, config, **overrides).transfer
    is_run = any((path / name).exists() for name in (GENERATOR, CHECKPOINT))
    if (path.is_dir() and not is_run) or path.suffix.lower() in IMAGE_SUFFIXES:
        files = find_images([path])
        if not files:
            raise ArtstyleError(f"{path}: no style images in it")
        return StyleTransfer(files, config, **overrides)
    return StylePipeline.from_pretrained(source, config, **overrides).transfer


def regional_transfer(
    spec: RegionsConfig, config: PipelineConfig | None = None, **overrides: Any
) -> StyleTransfer:
    """A style transfer that paints each colour of `spec`'s map with that colour's style
    (`nst.regions`); a style named by several colours is computed once. The map is read first,
    so a bad one is one error before any style is computed."""
    masks = read_colour_map(spec.map, [parse_colour(c) for c in spec.styles])
    transfers: dict[str, StyleTransfer] = {}
    for region in spec.styles.values():
        if region.style != KEEP and region.style not in transfers:
            transfers[region.style] = style_transfer_for(region.style, config, **overrides)
    if not transfers:
        raise ArtstyleError(f"{spec.map}: every region keeps the photo; give one a style")
    styles = {
        colour: (None if r.style == KEEP else transfers[r.style].targets, r.weight)
        for colour, r in spec.styles.items()
    }
    painter = next(iter(transfers.values()))
    return painter.with_regions(Regions(masks, region_styles(styles)))


def masked_transfer(painter: StyleTransfer, mask: str | Path | torch.Tensor) -> StyleTransfer:
    """`painter` painting only where the greyscale `mask` (a file, or (H, W) in 0..1) is white:
    black keeps the photo exactly, grey blends. A mask of another size than a photo is resized."""
    values = mask if isinstance(mask, torch.Tensor) else read_mask(mask)
    return painter.with_regions(from_mask(values, painter.targets))
