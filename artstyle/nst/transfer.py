"""Paint photos with the style of a batch of images: the style-transfer stage as an object.

`StyleTransfer(styles, config)` computes the style batch's Gram targets once and can then paint
any number of photos (`artstyle.pipeline.stylize` is the one-call form). Styles may be paths, PIL
images, arrays or a (m, 3, h, w) tensor in 0..1, e.g. a batch from the GAN stage.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image

from artstyle import tensorfile
from artstyle.backbone import PRESETS, VGGFeatures
from artstyle.config import StyleTargets, TransferConfig, with_overrides
from artstyle.device import resolve_device
from artstyle.errors import ArtstyleError
from artstyle.images import (
    ImageSource,
    fit_longest,
    load_image,
    resample,
    resize_longest,
    to_pil,
    to_tensor,
)
from artstyle.nst import regions as guided
from artstyle.nst import tiles
from artstyle.nst.color import luminance, restore_color
from artstyle.nst.losses import (
    GramTarget,
    content_loss,
    gram_targets,
    region_style_loss,
    style_loss,
    temporal_loss,
    tv_loss,
)
from artstyle.nst.optimize import BatchCallback, Callback, LossFn, optimize
from artstyle.precision import resolve_dtype

StyleSource = Sequence[ImageSource] | torch.Tensor

#: The `kind` of a style-targets file.
TARGETS_KIND = "artstyle-style-targets"

#: Pixels of style images pushed through the network at once while the targets are computed
#: (16 images of 256 px: about 1.5 GB of features at the seed's layers, whatever their size).
_STYLE_PIXELS = 16 * 256 * 256


@dataclass(frozen=True)
class TemporalAnchor:
    """What keeps a video frame close to the one before it (Ruder et al. 2016): the previous
    painted frame warped onto this one, the mask (1, 1, H, W) of pixels whose flow is reliable,
    and the temporal loss's weight. Pictures are (1, 3, H, W) in 0..1 at the frame's size."""

    target: torch.Tensor
    mask: torch.Tensor
    weight: float


@dataclass
class TransferResult:
    """A painted photo with the loss history of its optimisation (one entry per step, across
    all passes; the last pass, at the output's size, starts at `history[final_start]`)."""

    image: Image.Image
    tensor: torch.Tensor  # (1, 3, H, W) in 0..1
    history: list[dict[str, float]]
    final_start: int
    seconds: float

    @property
    def losses(self) -> dict[str, float]:
        """The losses of the returned image (the lowest total of the full-size pass)."""
        return min(self.history[self.final_start :], key=lambda h: h["total"])


class StyleTransfer:
    """Gatys style transfer towards the batch-mean Gram of a set of style images.

    The targets depend only on the styles and the settings, so they are computed here, once;
    calling the object on a photo runs only the per-photo optimisation. The targets and `score`
    use the VGG19 in fp32; the optimisation runs it in `precision` (`paint_net`), with the Gram
    matrices, losses, optimiser and image in fp32.
    """

    def __init__(
        self, styles: StyleSource, config: TransferConfig | None = None, **overrides: Any
    ) -> None:
        layer_weights = self._setup(with_overrides(TransferConfig, config, overrides))
        self.num_styles = len(styles)
        if self.num_styles == 0:
            raise ArtstyleError("no style images given")
        blend = torch.tensor(self.config.targets.style_blend or [1.0] * self.num_styles)
        if len(blend) != self.num_styles or blend.sum() <= 0:
            raise ArtstyleError(
                f"style_blend needs {self.num_styles} non-negative weights with a positive sum"
            )
        split = self._num_style_layers
        with torch.no_grad():
            batches = (
                (self.net(batch)[:split], weights)
                for batch, weights in self._style_batches(styles, blend)
            )
            self.targets = gram_targets(batches, layer_weights, self.net.unit)

    def _setup(self, cfg: TransferConfig) -> list[float]:
        """The settings, device and VGG19 of this object; returns the style layers' weights."""
        self.config = cfg
        self.device = resolve_device(cfg.machine.device)
        preset = PRESETS[cfg.targets.layers]
        style_layers = list(cfg.targets.style_layers or preset.style)
        content_layers = list(cfg.targets.content_layers or preset.content)
        layer_weights = cfg.targets.layer_weights or [1.0] * len(style_layers)
        if len(layer_weights) != len(style_layers):
            raise ArtstyleError(
                f"{len(layer_weights)} layer weights given for {len(style_layers)} style layers"
            )
        layers = style_layers + content_layers
        self.net = VGGFeatures(layers, cfg.targets.backbone).to(self.device)
        dtype = resolve_dtype(cfg.machine.precision, self.device)
        self.paint_net = (
            self.net
            if dtype == torch.float32
            else VGGFeatures(layers, cfg.targets.backbone, dtype).to(self.device)
        )
        self._num_style_layers = len(style_layers)
        self._compiled: Callable[..., dict[str, torch.Tensor]] | None = None
        self.regions: guided.Regions | None = None
        return layer_weights

    def with_regions(self, regions: guided.Regions | None) -> StyleTransfer:
        """This style transfer painting each region of `regions` with its own targets (made by
        style transfers with the same layers and backbone as this one), or the whole photo
        with this one's targets again (None). The network and settings are shared."""
        if regions is not None:
            shapes = [tuple(t.mean.shape) for t in self.targets]
            for style in regions.styles:
                if (
                    style.targets is not None
                    and [tuple(t.mean.shape) for t in style.targets] != shapes
                ):
                    raise ArtstyleError(
                        f"region {style.name!r}: its style was computed with other style layers"
                    )
        painter = copy.copy(self)
        painter.regions = regions
        painter._compiled = None
        return painter

    def save_targets(self, path: str | Path) -> Path:
        """Write the style targets and the settings they depend on, so that other processes or
        machines paint with exactly this style without recomputing it (`from_targets`)."""
        tensors = {f"target.{i}": t.mean.cpu() for i, t in enumerate(self.targets)}
        meta = {
            "kind": TARGETS_KIND,
            "settings": self._target_settings(self.config),
            "spread": [t.spread for t in self.targets],
            "weight": [t.weight for t in self.targets],
            "num_styles": self.num_styles,
        }
        tensorfile.save(path, tensors, meta)
        return Path(path)

    @classmethod
    def from_targets(
        cls, path: str | Path, config: TransferConfig | None = None, **overrides: Any
    ) -> StyleTransfer:
        """A style transfer with the targets `save_targets` wrote; settings the targets depend
        on are taken from the file, and a different value given here is one error."""
        tensors, meta = tensorfile.load(path)
        if meta.get("kind") != TARGETS_KIND:
            raise ArtstyleError(f"{path}: not an artstyle style-targets file")
        cfg = with_overrides(TransferConfig, config, overrides)
        stored, given = meta["settings"], cls._target_settings(cfg)
        clash = [k for k in stored if k in cfg.targets.model_fields_set and given[k] != stored[k]]
        if clash:
            raise ArtstyleError(
                f"{path}: the targets were computed with other {', '.join(clash)}; "
                "leave those settings out or compute new targets"
            )
        self = cls.__new__(cls)
        self._setup(with_overrides(TransferConfig, cfg, {"targets": stored}))
        self.num_styles = meta["num_styles"]
        self.targets = [
            GramTarget(tensors[f"target.{i}"].to(self.device), spread, weight)
            for i, (spread, weight) in enumerate(zip(meta["spread"], meta["weight"]))
        ]
        return self

    @staticmethod
    def _target_settings(cfg: TransferConfig) -> dict[str, Any]:
        """The settings the targets' values depend on (the `targets` section but the seed,
        which only made the batch), as a targets file records them."""
        fields = set(StyleTargets.model_fields) - {"seed"}
        return cfg.targets.model_dump(mode="json", include=fields)

    def _style_batches(
        self, styles: StyleSource, blend: torch.Tensor
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(images, blend weights) batches of prepared style images, at most `_STYLE_PIXELS`
        pixels each (one image if larger); files are read one by one and batched while
        consecutive images have the same size."""
        if isinstance(styles, torch.Tensor):
            if styles.dim() != 4 or styles.shape[1] != 3:
                raise ArtstyleError(
                    f"a style batch must be (m, 3, h, w), got {tuple(styles.shape)}"
                )
            height, width = self._style_shape(*styles.shape[-2:])
            count = max(1, _STYLE_PIXELS // (height * width))
            for batch, chunk in zip(styles.split(count), blend.split(count)):
                yield self._prepare_style(batch), chunk
            return
        pending: list[torch.Tensor] = []
        weights: list[torch.Tensor] = []
        for source, weight in zip(styles, blend, strict=True):
            image = self._prepare_style(to_tensor(load_image(source)))
            full = (len(pending) + 1) * image[0, 0].numel() > _STYLE_PIXELS
            if pending and (image.shape != pending[0].shape or full):
                yield torch.cat(pending), torch.stack(weights)
                pending, weights = [], []
            pending.append(image)
            weights.append(weight)
        yield torch.cat(pending), torch.stack(weights)

    def _style_shape(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) a style image of this size is resized to (`style_size`)."""
        size = self.config.targets.style_size
        if size is None or max(height, width) == size:
            return height, width
        width, height = fit_longest((width, height), size, self.net.min_side)
        return height, width

    def _prepare_style(self, image: torch.Tensor) -> torch.Tensor:
        image = image.to(self.device, torch.float32)
        shape = self._style_shape(*image.shape[-2:])
        if shape != image.shape[-2:]:
            image = resample(image, *shape)
        return self._content(image)

    def _content(self, image: torch.Tensor) -> torch.Tensor:
        """What the loss sees of an image: its luminance with `preserve_color`, else itself."""
        return luminance(image) if self.config.targets.preserve_color else image

    def _at_size(self, image: Image.Image, size: int) -> torch.Tensor:
        """A picture as a tensor on this device, its longest side `size` (or its short side what
        the network needs, for a long strip)."""
        return to_tensor(resize_longest(image, size, self.net.min_side)).to(self.device)

    def run(
        self, photo: ImageSource, callback: Callback | None = None, **settings: Any
    ) -> TransferResult:
        """Paint one photo; `callback(step, losses, image)` is called after every step.

        `settings` change this call only, among those the style targets do not depend on
        (the per-photo sections of `TransferConfig`, by flat name or path):
        `run(photo, steps=100, size=1024)`.
        An output larger than `base_size` is painted at that size first; each pass's result,
        upsampled, starts the next at twice the size (`TransferConfig.passes`); steps are
        numbered across the passes.
        """
        each = None if callback is None else _first_only(callback)
        return self.run_batch([photo], each, **settings)[0]

    def run_batch(
        self,
        photos: Sequence[ImageSource],
        callback: BatchCallback | None = None,
        **settings: Any,
    ) -> list[TransferResult]:
        """Paint several photos as one batch: each is its own problem (its own losses, best
        image and history), but every step evaluates them all in one pass, which keeps a GPU
        busy (`photos_per_batch` says how many fit). They must share their size at every pass
        (`pass_shapes`); `callback(step, losses of each, images)` is called after every step.
        Each result's `seconds` is the whole batch's.
        """
        cfg = self.config.per_photo(**settings) if settings else self.config
        start = time.perf_counter()
        images = [load_image(photo) for photo in photos]
        if len({self.pass_shapes(img.size, cfg) for img in images}) != 1:
            raise ArtstyleError(
                "photos painted as one batch must have the same size at every pass; "
                "paint them one by one (or group them with `pass_shapes`)"
            )
        painted: torch.Tensor | None = None
        histories: list[list[dict[str, float]]] = [[] for _ in images]
        final_start = 0
        for size, steps in cfg.passes():
            original = torch.cat([self._at_size(img, size) for img in images])
            if painted is not None:
                painted = F.interpolate(painted, size=original.shape[-2:], mode="bicubic")
            final_start = len(histories[0])
            painted, pass_histories = self._paint(
                cfg, original, painted, steps, callback, final_start
            )
            for history, more in zip(histories, pass_histories, strict=True):
                history += more
        assert painted is not None
        final = self._view(painted, original, self._painted(*original.shape[-2:])).cpu()
        seconds = time.perf_counter() - start
        return [
            TransferResult(to_pil(final[i : i + 1]), final[i : i + 1], h, final_start, seconds)
            for i, h in enumerate(histories)
        ]

    def run_frame(
        self,
        frame: torch.Tensor,
        start: torch.Tensor,
        steps: int,
        anchor: TemporalAnchor | None = None,
        callback: Callback | None = None,
    ) -> TransferResult:
        """Paint one video frame (1, 3, H, W) in 0..1 at its own size in one pass of `steps`
        evaluations, starting from `start` (the frame itself, or the previous painted frame
        warped onto it), plus the temporal loss towards `anchor` when given."""
        begin = time.perf_counter()
        original = frame.to(self.device)
        each = None if callback is None else _first_only(callback)
        init = self._content(start.to(self.device))
        painted, histories = self._paint(self.config, original, init, steps, each, 0, anchor)
        final = self._view(painted, original).cpu()
        seconds = time.perf_counter() - begin
        return TransferResult(to_pil(final), final, histories[0], 0, seconds)

    def pass_shapes(
        self, size: tuple[int, int], cfg: TransferConfig | None = None
    ) -> tuple[tuple[int, int], ...]:
        """The (width, height) a photo of `size` is painted at in each pass: photos with equal
        shapes can be painted as one batch."""
        cfg = cfg or self.config
        return tuple(fit_longest(size, side, self.net.min_side) for side, _ in cfg.passes())

    def photos_per_batch(self, size: tuple[int, int], cfg: TransferConfig | None = None) -> int:
        """How many photos of `size` to paint as one batch: `photo_batch` if set, else as many
        as fit the memory on a GPU and one on the CPU (all of its cores already work on one
        photo, so a batch is no faster there), and one for an output painted in tiles."""
        cfg = cfg or self.config
        width, height = self.pass_shapes(size, cfg)[-1]
        if tiles.tile_side(height, width, cfg.compute.tile_size, self.device) is not None:
            return 1
        if cfg.compute.photo_batch is not None:
            return cfg.compute.photo_batch
        return tiles.photos_that_fit(height * width, self.device)

    def _paint(
        self,
        cfg: TransferConfig,
        original: torch.Tensor,
        init: torch.Tensor | None,
        steps: int,
        callback: BatchCallback | None,
        offset: int,
        anchor: TemporalAnchor | None = None,
    ) -> tuple[torch.Tensor, list[list[dict[str, float]]]]:
        """One optimisation pass at the size of `original` (N photos; from `init`, or the
        config's init), in tiles when a single image would not fit in memory (`nst.tiles`);
        with a temporal `anchor` (a video frame) the temporal loss is added."""
        content = self._content(original)
        start = self._init(cfg, content) if init is None else init.clamp(0, 1)
        count, _, height, width = original.shape
        side = tiles.tile_side(height, width, cfg.compute.tile_size, self.device)
        if side is not None and count > 1:
            raise ArtstyleError("an output painted in tiles is painted alone, not in a batch")
        objective = self._guided_objective(cfg, content, side)
        painted = self._painted(height, width)
        if anchor is not None:
            if side is not None:
                raise ArtstyleError("a video frame is painted whole: lower --size or --tile-size 0")
            objective = self._with_temporal(objective, anchor)

        def report(step: int, values: list[dict[str, float]], image: torch.Tensor) -> None:
            if callback is not None:
                callback(offset + step, values, image)

        return optimize(
            start,
            objective,
            steps=steps,
            optimizer=cfg.schedule.optimizer,
            lr=cfg.schedule.lr,
            history_size=tiles.lbfgs_history(count * height * width, self.device),
            levels=cfg.schedule.pyramid,
            bounded=cfg.schedule.bounded,
            callback=report,
            view=lambda image: self._view(image, original, painted),
        )

    def _with_temporal(self, objective: LossFn, anchor: TemporalAnchor) -> LossFn:
        """`objective` plus the anchor's weighted temporal loss (a "temporal" term)."""
        target = self._content(anchor.target.to(self.device))
        mask = anchor.mask.to(self.device)

        def terms(image: torch.Tensor) -> dict[str, torch.Tensor]:
            values = objective(image)
            temporal = temporal_loss(image, target, mask)
            return {**values, "total": values["total"] + anchor.weight * temporal,
                    "temporal": temporal}  # fmt: skip

        return terms

    def _layer_masks(self, height: int, width: int) -> list[torch.Tensor] | None:
        """The region map at each style layer's grid for an image of this size (None without
        regions)."""
        if self.regions is None:
            return None
        masks = self.regions.at(height, width, self.device)
        strides = tiles.layer_strides(self.net)[: self._num_style_layers]
        return guided.layer_masks(masks, strides)

    def _painted(self, height: int, width: int) -> torch.Tensor | None:
        """How much of each pixel is painted (1, 1, H, W); None where all of it is."""
        if self.regions is None:
            return None
        return self.regions.painted(self.regions.at(height, width, self.device))

    def _guided_objective(
        self,
        cfg: TransferConfig,
        content: torch.Tensor,
        side: int | None,
        net: VGGFeatures | None = None,
    ) -> LossFn:
        """The loss of each image as a painting of `content`, whole or in tiles of `side`; with
        regions, on the picture blended with the photo where a region keeps it."""
        height, width = content.shape[-2:]
        masks = self._layer_masks(height, width)
        objective = (
            self._objective(cfg, content, masks, net)
            if side is None
            else self._tiled_objective(cfg, content, side, masks)
        )
        painted = self._painted(height, width)
        if painted is None:
            return objective
        return lambda image: objective(guided.blend(image, content, painted))

    def _region_styles(self) -> list[tuple[Sequence[GramTarget] | None, float]]:
        assert self.regions is not None
        return [(s.targets, s.weight) for s in self.regions.styles]

    def _tiled_objective(
        self,
        cfg: TransferConfig,
        content: torch.Tensor,
        side: int,
        masks: list[torch.Tensor] | None = None,
    ) -> LossFn:
        """The same loss as `_objective`, evaluated in tiles of `side` (`nst.tiles`)."""
        if cfg.weights.tv:
            raise ArtstyleError("tv_weight is not available for tiled outputs; use --tile-size 0")
        weights = (cfg.weights.content, cfg.weights.style)
        styles = [(self.targets, 1.0)] if masks is None else self._region_styles()
        return tiles.TiledObjective(
            self.paint_net, self._num_style_layers, styles, content, side, weights, masks
        )

    def _objective(
        self,
        cfg: TransferConfig,
        content: torch.Tensor,
        masks: list[torch.Tensor] | None = None,
        net: VGGFeatures | None = None,
    ) -> LossFn:
        """The loss terms of each image as a painting of its photo in `content` (photos at the
        pass's size), one value per image, with the regions' style loss given their `masks` at
        each style layer, seen through `net` (by default the one that paints, which also
        computes the content targets, so the photo itself has no content loss); compiled with
        `cfg.compute.compile`."""
        net = net or self.paint_net
        with torch.no_grad():
            content_targets = net(content)[self._num_style_layers :]
        weights = (cfg.weights.content, cfg.weights.style, cfg.weights.tv)
        terms = self._compiled_terms() if cfg.compute.compile else self._terms
        return lambda image: terms(net, image, content_targets, weights, masks)

    def _compiled_terms(self) -> Callable[..., dict[str, torch.Tensor]]:
        """`_terms` compiled, once per object: torch keeps a graph per image size (and weights),
        so photos of one size after the first cost no compiling."""
        if self._compiled is None:
            self._compiled = torch.compile(self._terms)
        return self._compiled

    def _terms(
        self,
        net: VGGFeatures,
        image: torch.Tensor,
        content_targets: list[torch.Tensor],
        weights: tuple[float, float, float | None],
        masks: list[torch.Tensor] | None = None,
    ) -> dict[str, torch.Tensor]:
        content_weight, style_weight, tv_weight = weights
        unit, split = net.unit, self._num_style_layers
        features = net(image)
        c = sum(
            (content_loss(f, t, unit) for f, t in zip(features[split:], content_targets)),
            start=image.new_zeros(image.shape[0]),
        )
        if masks is None:
            s = style_loss(features[:split], self.targets, unit)
        else:
            s, _ = region_style_loss(features[:split], masks, self._region_styles(), unit)
        terms = {"content": c, "style": s}
        total = content_weight * c + style_weight * s
        if tv_weight:
            terms["tv"] = tv_loss(image)
            total = total + tv_weight * terms["tv"]
        return {"total": total, **terms}

    def score(self, photo: ImageSource, painting: ImageSource | torch.Tensor) -> dict[str, float]:
        """The loss terms of `painting` as a painting of `photo`, both resized to `size`.

        Puts results made with other settings (sizes, passes, steps, precisions) on this one
        objective, evaluated in fp32.
        """
        size = self.config.schedule.size
        original = self._at_size(load_image(photo), size)
        if isinstance(painting, torch.Tensor):
            image = painting.to(self.device)
        else:
            image = self._at_size(load_image(painting), size)
        image = resample(image, *original.shape[-2:])
        content = self._content(original)
        with torch.no_grad():
            terms = self._guided_objective(self.config, content, None, self.net)(
                self._content(image)
            )
        return {k: float(v.sum()) for k, v in terms.items()}

    def region_losses(self, painting: ImageSource | torch.Tensor) -> dict[str, float]:
        """Each styled region's style loss against its own targets (the guided Gram loss of
        that region alone, unweighted), for `painting` at its own size: how well each region
        took its style, comparable with `score`'s style loss of a whole-photo painting."""
        if self.regions is None:
            raise ArtstyleError("region_losses needs regions (with_regions)")
        image = painting if isinstance(painting, torch.Tensor) else to_tensor(load_image(painting))
        image = image.to(self.device)
        masks = self._layer_masks(*image.shape[-2:])
        assert masks is not None
        with torch.no_grad():
            features = self.net(self._content(image))[: self._num_style_layers]
            _, each = region_style_loss(features, masks, self._region_styles(), self.net.unit)
        return {
            s.name: float(each[0, k])
            for k, s in enumerate(self.regions.styles)
            if s.targets is not None
        }

    def _view(
        self, image: torch.Tensor, original: torch.Tensor, painted: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The picture shown for optimised `image`: its own colours, or the photo's restored;
        blended with the photo by `painted` where regions keep it."""
        view = restore_color(image, original) if self.config.targets.preserve_color else image
        return guided.blend(view, original, painted)

    def _init(self, cfg: TransferConfig, content: torch.Tensor) -> torch.Tensor:
        if cfg.schedule.init == "content":
            return content
        generator = torch.Generator().manual_seed(self.config.targets.seed)
        return torch.rand(content.shape, generator=generator).to(self.device)

    def __call__(
        self, photo: ImageSource, callback: Callback | None = None, **settings: Any
    ) -> Image.Image:
        """Paint one photo and return the picture (`settings` as for `run`)."""
        return self.run(photo, callback, **settings).image


def _first_only(callback: Callback) -> BatchCallback:
    """A one-photo callback as a batch callback (for a batch of one)."""

    def each(step: int, losses: list[dict[str, float]], images: torch.Tensor) -> None:
        callback(step, losses[0], images)

    return each
