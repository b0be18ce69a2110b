"""Settings as pydantic models, shared by the Python API and the CLI (one source of defaults)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    field_validator,
    model_validator,
)

from artstyle.errors import ArtstyleError
from artstyle.settings import (
    Section,
    Sectioned,
    explicit,
    flatten,
    given_settings,
    nest,
    per_photo_names,
    settle,
)

C = TypeVar("C", bound=BaseModel)


def with_overrides(cls: type[C], config: BaseModel | None, overrides: dict[str, Any]) -> C:
    """A `cls` made of the explicitly set settings of `config` that `cls` has (a
    `PipelineConfig`'s own settings are the pipeline's) with `overrides` on top (flat names,
    dotted paths or sections, see `artstyle.settings.nest`); bad values are one error line."""
    return settle(cls, recipe=None if config is None else explicit(config, cls), options=overrides)


class _Config(BaseModel):
    """Strict base: unknown keys are errors, and settings are frozen once made, so a setting
    changed after the work that depends on it has started cannot be silently ignored: make a
    new config (`config.model_copy(update=...)`) or pass per-call settings instead."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML settings file as a dict; one clear error if it cannot be read."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ArtstyleError(f"{path}: cannot read config ({exc})") from None


# --- stage 2: style transfer ------------------------------------------------------------------


#: Upper bounds of the settings that size the work, so a typo (or a hostile web page, see
#: `artstyle.studio`) cannot ask for days of painting or more memory than any machine has: an
#: 8192-px output already holds about 0.8 GB per copy of the image, and each generated style
#: image takes about 13 MB while its batch is made (256 images: 3.4 GB).
MAX_SIZE, MAX_STEPS, MAX_STYLES, MAX_SEED = 8192, 10_000, 256, 2**32 - 1

#: Images in a generated style batch. The transfer matches the batch's mean Gram matrices, so a
#: larger batch estimates the generator's style more steadily at no cost per step (about 3.5 s
#: once for 64 against 16 on 2 CPU threads): 64 samples paint 1.4 to 5.7 points closer to all the
#: paintings than 16 do, and vary less from seed to seed (docs/pipeline.md).
NUM_STYLES = 64
#: The most images of one batch the studio shows (an 8 x 8 grid), so the most a steered batch
#: holds.
SHOWN_STYLES = 64

#: Number formats the networks may run in (`artstyle.precision` resolves `auto`).
Precision = Literal["auto", "fp32", "bf16", "fp16"]

#: Layer presets of `artstyle.backbone.PRESETS`; `seed` is the old name of `ast-gan`.
LayerPresetName = Literal["ast-gan", "gatys"]


class StyleTargets(Section):
    """What the style targets depend on, and the networks that compute them: fixed when a
    `StyleTransfer` (or `StylePipeline`) is made, so its targets are computed once."""

    layers: LayerPresetName = Field(
        "ast-gan", description="layer preset: ast-gan (the seed's conv1_1..conv3_1) or gatys"
    )
    style_layers: list[str] | None = Field(None, description="style layers (None: the preset's)")
    content_layers: list[str] | None = Field(None, description="content layers (None: preset's)")
    layer_weights: list[float] | None = Field(
        None, description="one weight per style layer (None: 1 each)"
    )
    style_size: int | None = Field(
        128,
        ge=16,
        le=MAX_SIZE,
        description="longest side the style images are resized to (None: as they are); "
        "a generated batch follows its generator's scale unless this is set",
    )
    style_blend: list[NonNegativeFloat] | None = Field(
        None, description="one weight per style image (None: equal), normalised to sum to 1"
    )
    backbone: Literal["caffe", "torchvision"] = Field(
        "caffe", description="caffe (Gatys' weights, shipped) or torchvision (hub cache only)"
    )
    preserve_color: bool = Field(
        False,
        description="transfer luminance only, keep photo colours",
        json_schema_extra={"studio": True},
    )
    seed: int = Field(
        0, ge=0, le=MAX_SEED, description="seed of noise init (and of a generated style batch)"
    )

    @field_validator("layers", mode="before")
    @classmethod
    def _preset_alias(cls, value: object) -> object:
        return "ast-gan" if value == "seed" else value


class Machine(Section):
    """Where and in which number format the networks run: fixed when they are built."""

    device: str = Field("auto", description="auto, cpu or cuda")
    precision: Precision = Field(
        "auto",
        description="number format the VGG19 runs in while painting: auto (bf16 where the CPU "
        "has AVX512-BF16 or AMX, or the GPU supports it; fp32 elsewhere), fp32, bf16 or fp16; "
        "the Gram matrices, losses, optimiser and image stay fp32",
    )


class LossWeights(Section):
    """How much each loss counts (per photo)."""

    per_photo: ClassVar[bool] = True

    style: float = Field(
        5e4,
        ge=0,
        description="weight b of the style loss",
        json_schema_extra={"flat": "style_weight", "studio": True},
    )
    content: float = Field(
        1.0,
        ge=0,
        description="weight a of the content loss",
        json_schema_extra={"flat": "content_weight"},
    )
    tv: float | None = Field(
        None,
        gt=0,
        description="weight of the total-variation loss (None: off)",
        json_schema_extra={"flat": "tv_weight"},
    )


class Schedule(Section):
    """The optimisation of each photo: its sizes, steps, optimiser and start (per photo)."""

    per_photo: ClassVar[bool] = True

    steps: int = Field(
        26,
        ge=1,
        le=MAX_STEPS,
        description="loss evaluations (forward + backward passes) at `size`, or at `base_size` "
        "for a larger output",
        json_schema_extra={"studio": True},
    )
    size: int = Field(
        512,
        ge=16,
        le=MAX_SIZE,
        description="longest side of the output in pixels",
        json_schema_extra={"studio": True},
    )
    base_size: int | None = Field(
        512,
        ge=16,
        le=MAX_SIZE,
        description="an output larger than this is painted at this size first, then refined "
        "at each doubling up to `size` (None: always paint at `size` from the photo)",
    )
    refine_steps: int = Field(
        5, ge=1, le=MAX_STEPS, description="steps at each size above `base_size`"
    )
    optimizer: Literal["lbfgs", "adam"] = Field("lbfgs", description="lbfgs or adam")
    lr: float | None = Field(None, gt=0, description="step size (None: 1 for lbfgs, 0.02 adam)")
    init: Literal["content", "noise"] = Field("content", description="start from photo or noise")
    pyramid: int = Field(
        5,
        ge=0,
        le=12,
        description="optimise the change to the image through this many pyramid levels, so broad "
        "areas change as fast as fine detail (0: bare pixels, the classic method)",
    )
    bounded: bool = Field(
        True,
        description="take the loss on the picture clamped to 0..1, the one saved (off: the "
        "optimised image is unbounded and clamped only at the end, the classic method)",
    )

    def passes(self) -> list[tuple[int, int]]:
        """(longest side, steps) of each optimisation pass: `steps` from the photo at `size`,
        or, for an output above `base_size`, at `base_size` and then `refine_steps` at each
        doubling (the last at `size`), so that most evaluations are cheap ones."""
        if self.base_size is None or self.size <= self.base_size:
            return [(self.size, self.steps)]
        passes = [(self.base_size, self.steps)]
        side = self.base_size
        while side < self.size:
            side = min(2 * side, self.size)
            passes.append((side, self.refine_steps))
        return passes


class Compute(Section):
    """How the work is laid out on the machine: batches, tiles, compiling (per photo). The
    picture does not depend on them beyond rounding."""

    per_photo: ClassVar[bool] = True

    photo_batch: int | None = Field(
        None,
        ge=1,
        description="photos of one size painted together as one batch (None: as many as fit "
        "on a GPU, one on the CPU, where a batch is no faster)",
    )
    tile_size: int | None = Field(
        None,
        ge=0,
        description="paint an output too large for memory in overlapping tiles of this side "
        "(None: tile only when needed, sized from the free memory; 0: never)",
    )
    compile: bool = Field(
        False,
        description="compile the loss with torch.compile: 1.05-1.2x faster per step on a CPU "
        "after 25-45 s of compiling per output size (a few s once cached), so it pays over a "
        "folder of photos of one size or long runs, not for one photo at the defaults",
    )


class TransferConfig(_Config, Sectioned):
    """Settings of one Gatys style transfer (owned by the style-transfer stage), in sections:
    `targets` and `machine` are fixed when the style targets are computed; `weights`,
    `schedule` and `compute` may change from one photo to the next (`per_photo`).

    Flat names still work wherever settings are given (`TransferConfig(style_weight=1e5)`,
    `run(photo, steps=100)`, flat TOML files); `artstyle config show transfer` lists them all.
    Defaults: the seed's weights and layers, L-BFGS from the photo; see docs/style_transfer.md.
    """

    targets: StyleTargets = Field(default_factory=StyleTargets)
    machine: Machine = Field(default_factory=Machine)
    weights: LossWeights = Field(default_factory=LossWeights)
    schedule: Schedule = Field(default_factory=Schedule)
    compute: Compute = Field(default_factory=Compute)

    def per_photo(self, **settings: Any) -> TransferConfig:
        """This config with `settings` that may change from one photo to the next (those of
        the per-photo sections, by flat name, path or section); any other setting changes the
        style targets and is refused with one line."""
        given = nest(type(self), settings)
        fixed = sorted(
            setting.flat if setting else path
            for path, setting in given_settings(type(self), given)
            if not (setting and setting.per_photo)
        )
        if fixed:
            allowed = ", ".join(sorted(per_photo_names(type(self))))
            raise ArtstyleError(
                f"{', '.join(fixed)}: the style targets depend on it and are computed once; make "
                f"a new StyleTransfer or StylePipeline with it (per call: {allowed})"
            )
        return with_overrides(type(self), self, given)

    def passes(self) -> list[tuple[int, int]]:
        """(longest side, steps) of each optimisation pass (`Schedule.passes`)."""
        return self.schedule.passes()


class PipelineTargets(StyleTargets):
    """What the style targets depend on, and the networks that compute them, for a generated
    style batch: also its generator and size (fixed when a `StylePipeline` is made)."""

    model: str = Field(
        "impressionism", description="generator of the style batch: shipped name, file or run"
    )
    num_styles: int = Field(
        NUM_STYLES, ge=1, le=MAX_STYLES, description="size of the generated style batch"
    )


class PipelineConfig(TransferConfig):
    """A style transfer whose style batch a trained generator makes (`StylePipeline`)."""

    targets: PipelineTargets = Field(default_factory=PipelineTargets)


#: Flat names of the settings a call may change (`StyleTransfer.run(photo, steps=100)`): those of
#: the per-photo sections, on which the style targets do not depend.
PER_PHOTO = per_photo_names(TransferConfig)


class VideoConfig(_Config):
    """How a video is painted frame after frame (`artstyle.video`; docs/video.md): the first
    frame as a photo (`steps`), each later one from the previous painted frame warped by the
    optical flow, kept close to it by the temporal loss (Ruder et al. 2016)."""

    temporal_weight: float = Field(
        1e5,
        ge=0,
        description="weight of the temporal loss: squared distance to the previous painted "
        "frame warped onto this one, where the flow is reliable (0: warm start only); the "
        "largest of a sweep that kept the style loss within 1 % of frames painted alone",
    )
    frame_steps: int = Field(10, ge=1, description="loss evaluations of each frame after the first")


class RegionStyleConfig(_Config):
    """One region of a region map: its style and the weight of its style loss."""

    style: str = Field(
        description="a shipped model, a generator file or run folder, style images (files or a "
        "folder), or `photo` to keep the photo there"
    )
    weight: float = Field(1.0, gt=0, description="multiplies the region's style loss")


class RegionsConfig(_Config):
    """A region map and the style of each of its colours (a TOML file for `--regions`)."""

    map: Path = Field(description="the map image, relative to the TOML file")
    styles: dict[str, RegionStyleConfig] = Field(
        description="colour (#rrggbb or a name) -> its style, as a table or a plain string"
    )

    @field_validator("styles", mode="before")
    @classmethod
    def _plain_strings(cls, value: object) -> object:
        if isinstance(value, dict):
            return {k: {"style": v} if isinstance(v, str) else v for k, v in value.items()}
        return value


class SteeringConfig(_Config):
    """Drawing a new style batch near picked samples (`gan.steering`), as the studio offers it."""

    num_styles: int = Field(
        NUM_STYLES, ge=1, le=SHOWN_STYLES, description="images in the new batch"
    )
    spread: float = Field(
        0.5,
        ge=0,
        le=1,
        description="how far from the picks: 0 repeats them, 1 is a fresh batch",
    )
    seed: int = Field(0, ge=0, lt=2**32, description="seed of the new latents and noise")


# --- stage 1: the GAN ---------------------------------------------------------------------------

#: DiffAugment's policies (Zhao et al. 2020), implemented in `artstyle.gan.augment`.
DiffAugmentPolicy = Literal["color", "translation", "cutout"]
CropMode = Literal["center", "patch"]


class TrainSection(Section):
    """A section of `TrainConfig`: what a resumed run may do with it follows from its flags
    (`resumable`, `architecture`); the others change on `--resume` only with `--retune`."""

    @classmethod
    def note(cls) -> str:
        if cls.resumable:
            return "may change on --resume"
        if cls.architecture:
            return "fixed for a run"
        return "changes on --resume with --retune"


def _flat(name: str, **extra: Any) -> dict[str, Any]:
    """A field's tags: its flat name (and any others)."""
    return {"flat": name, **extra}


class Networks(TrainSection):
    """The generator's and discriminator's design."""

    architecture: ClassVar[bool] = True

    arch: str = Field(
        "texture",
        description="a registered architecture (artstyle.gan.models): texture (fully "
        "convolutional, resize-convs), dcgan, or mlp (vanilla GAN)",
    )
    image_size: Literal[64, 128] = Field(64, description="side of the generated images")
    width: int = Field(64, ge=4, description="base width; 128 gives the 1024-filter design")
    z_dim: int = Field(100, ge=1, description="length of the latent vector z ~ N(0, 1)")
    noise_dim: int = Field(16, ge=1, description="texture arch: local noise channels per cell")
    g_norm: Literal["pixel", "batch"] = Field(
        "pixel",
        description="texture arch: normalisation in G, pixelwise (no batch statistics, so a "
        "sample is made as in training) or BatchNorm (v1)",
    )
    g_upsample: Literal["nearest", "bilinear", "coarse-bilinear"] = Field(
        "nearest",
        description="texture arch: how G doubles its grids before each convolution; nearest "
        "repeats pixels, so a cell's edges stay axis-aligned unless later layers smooth them; "
        "coarse-bilinear interpolates the coarser half of the doublings (the shapes' outlines) "
        "and repeats pixels in the finer half (the strokes' sharp edges)",
    )
    g_layout_convs: int = Field(
        2,
        ge=0,
        le=4,
        description="texture arch: extra residual 3x3 convolutions on the noise-cell grid "
        "before the first doubling; each lets one cell's noise reach one more cell on every "
        "side (two: 142 px, more than the 128-px sample the deep style layers read; none: "
        "78 px, v12's design, 10 % faster in all)",
    )
    g_pixel_noise: bool = Field(
        False,
        description="texture arch: per-pixel noise at the image's own resolution, before the "
        "last convolution; without it the finest noise is at half resolution, repeated over "
        "2 x 2 pixels by the last doubling",
    )
    g_position: bool = Field(
        True,
        description="texture arch: each noise cell's place in the style stage's sample as two "
        "more inputs, so G can compose it (sky above, ground below: what the deepest style "
        "layer reads); a training patch is a window at a random place, and a sample of another "
        "size stretches the composition over it (off: v13's design, a texture of cells)",
    )
    d_slope: float = Field(0.3, ge=0, lt=1, description="LeakyReLU slope in D (Ast-GAN: 0.3)")

    @field_validator("arch")
    @classmethod
    def _registered_arch(cls, value: str) -> str:
        from artstyle.gan import get_arch  # the GAN's registry, loaded only for its settings

        try:
            get_arch(value)
        except ArtstyleError as exc:  # pydantic reports a ValueError as the setting's problem
            raise ValueError(str(exc)) from None
        return value


class TrainData(TrainSection):
    """What the networks learn from: how the paintings are cut, and how they are augmented."""

    crop: CropMode = Field(
        "patch",
        description="center crop (Ast-GAN) or random patch (B&L)",
        json_schema_extra={"architecture": True},
    )
    flip: bool = Field(True, description="random horizontal flips")
    diffaugment: str = Field(
        "", description="DiffAugment policy, e.g. 'color,translation,cutout'; empty for none"
    )


class Optimisation(TrainSection):
    """How G and D learn: batch, Adam, annealing, the adversarial loss and its labels, the EMA
    copy, the number format and the seed."""

    batch_size: int = Field(64, ge=2, description="the global batch (under torchrun too)")
    lr_g: float = Field(2e-4, gt=0, description="Adam learning rate of G")
    lr_d: float = Field(2e-4, gt=0, description="Adam learning rate of D")
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam's beta1")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam's beta2")
    anneal: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="fraction of the epochs, at the end, trained at anneal_lr x the learning "
        "rates: G stops jittering around the paintings' statistics and settles on them",
    )
    anneal_lr: float = Field(0.25, gt=0, le=1, description="learning-rate factor while annealing")
    loss: str = Field(
        "bce", description="a registered GAN loss (artstyle.gan.losses): bce, hinge, wgan-gp"
    )
    real_label: float = Field(0.85, gt=0, le=1, description="one-sided smoothing, first part")
    real_label_late: float = Field(0.95, gt=0, le=1, description="smoothing after the switch")
    label_switch: float = Field(0.5, ge=0, le=1, description="fraction of epochs before switch")
    g_threshold: float | None = Field(
        None, ge=0, description="conditional backprop: skip G's update while its loss is below"
    )
    d_threshold: float | None = Field(
        None, ge=0, description="conditional backprop: skip D's update while its loss is below"
    )
    ema: float | None = Field(
        0.999,
        gt=0,
        lt=1,
        description="decay of an EMA copy of G used for sampling; it warms up as "
        "(1 + step) / (10 + step) until it reaches this (after 9000 steps for 0.999)",
    )
    precision: Precision = Field(
        "auto",
        description="number format of the forward passes (G, D, the Gram loss's VGG19): auto "
        "(bf16 where the CPU has AVX512-BF16 or AMX, or the GPU supports it; fp32 elsewhere), "
        "fp32, bf16 or fp16 (with loss scaling); weights, optimisers, EMA and losses stay fp32",
    )
    seed: int = Field(0, description="the run's random seed")


# Training terms (`artstyle.gan.terms`): one section each, named as the term, its weight first
# (a weight set and not 0 turns the term on).


class GradientPenaltySettings(TrainSection):
    """WGAN-GP's gradient penalty on D (term `gradient_penalty`): on for a loss that asks for
    it (wgan-gp)."""

    weight: float = Field(
        10.0,
        ge=0,
        description="gradient-penalty weight for wgan-gp",
        json_schema_extra=_flat("gp_weight"),
    )


class GramSettings(TrainSection):
    """Gram feature matching (term `gram`): G is pulled towards the paintings' mean Gram
    matrices."""

    weight: float | None = Field(
        20.0,
        gt=0,
        description="weight of Gram feature matching: pulls the samples' mean Gram matrices at "
        "the style layers towards the paintings' (None: off)",
        json_schema_extra=_flat("gram_weight"),
    )
    batch: int = Field(
        8,
        ge=1,
        description="samples per step the Gram loss looks at",
        json_schema_extra=_flat("gram_batch"),
    )
    layers: Literal["ast-gan", "gatys", "both"] = Field(
        "both",
        description="layer preset whose Gram matrices the Gram loss and settling match: the "
        "style stage's shallow default, Gatys' relu1_1..relu5_1 (shapes and strokes), or both",
        json_schema_extra=_flat("gram_layers"),
    )
    scale: Literal["patch", "sample"] = Field(
        "sample",
        description="texture arch: the Gram loss looks at the training patches, or at extra "
        "whole samples of the size the style stage uses (sample_size)",
        json_schema_extra=_flat("gram_scale"),
    )


class WholeViewSettings(TrainSection):
    """A second discriminator that judges whole samples beside whole paintings (term
    `whole_view`)."""

    weight: float | None = Field(
        None,
        ge=0,
        description="weight of the whole view; None: 1 where the design has whole samples "
        "larger than its patches (texture arch, crop 'patch', gram.scale 'sample'), else off; "
        "0: off",
        json_schema_extra=_flat("whole_weight", architecture=True),
    )
    discriminator: Literal["dcgan", "projected"] = Field(
        "projected",
        description="the whole view's judge: projected (small heads on the frozen ImageNet "
        "features of EfficientNet-lite0, at sample_size: the scale the style stage reads) or "
        "dcgan (from scratch, on samples and paintings shrunk to image_size)",
        json_schema_extra=_flat("whole_discriminator", architecture=True),
    )
    diffaugment: str = Field(
        "color,translation,cutout",
        description="DiffAugment policy for the whole-view discriminator only (it sees each "
        "whole painting far more often than the patch discriminator sees any one patch)",
        json_schema_extra=_flat("whole_diffaugment"),
    )


class LeCamSettings(TrainSection):
    """LeCam regularisation of D (term `lecam`; Tseng et al. 2021)."""

    weight: float = Field(
        0.0,
        ge=0,
        description="weight of LeCam regularisation: D's outputs are pulled towards moving "
        "averages of its outputs on the other kind of image, which keeps it from overfitting "
        "few paintings (the paper: 0.1-0.3; 0: off)",
        json_schema_extra=_flat("lecam_weight"),
    )
    decay: float = Field(
        0.99,
        ge=0,
        lt=1,
        description="decay of LeCam's moving averages of D's outputs",
        json_schema_extra=_flat("lecam_decay"),
    )


class GridSettings(TrainSection):
    """The grid penalty on G (term `grid`; `gan.grid`)."""

    weight: float = Field(
        0.0,
        ge=0,
        description="weight of the grid penalty in training: G's edges are kept as strong at "
        "every phase of its 16-px cell grid as at any other, as the paintings' are; a grid "
        "(2 x 2 blocks, cell-aligned steps) is texture the style stage would copy, and nothing "
        "else in the objective sees its phase (0: off; settling has its own, "
        "`settle.grid_weight`)",
        json_schema_extra=_flat("grid_weight"),
    )


class SettleSettings(TrainSection):
    """Gram settling of the exported copy after the last epoch (`gan.settle`): it changes only
    what gets exported, so a resumed run may change it."""

    resumable: ClassVar[bool] = True

    steps: int = Field(
        900,
        ge=0,
        description="steps in which a copy of the sampling generator is fine-tuned on the Gram "
        "loss (and the grid penalty), its weights averaged; the settled copy is what gets "
        "exported (0: off; needs gram.weight)",
        json_schema_extra=_flat("settle_steps"),
    )
    lr: float = Field(
        2e-5,
        gt=0,
        description="Adam learning rate of Gram settling",
        json_schema_extra=_flat("settle_lr"),
    )
    grid_weight: float = Field(
        5.0,
        ge=0,
        description="weight of the grid penalty (`gan.grid`) beside the Gram loss in settling: "
        "it smooths away the 2 x 2 blocks the generator's last nearest doubling leaves, which "
        "the Gram loss cannot see (0: off)",
        json_schema_extra=_flat("settle_grid_weight"),
    )


class RunSettings(TrainSection):
    """How long the run goes, where it runs and what it records: a resumed run may change
    them and stays the same run."""

    resumable: ClassVar[bool] = True

    iterations: int = Field(
        1530,
        ge=1,
        description="the run's length in training steps, made up to whole epochs, so that a "
        "small collection trains as long as a large one (unless `epochs` is given)",
    )
    epochs: int | None = Field(
        None, ge=1, description="passes over the paintings (None: as many as `iterations` take)"
    )
    device: str = Field("auto", description="auto, cpu or cuda")
    sync_bn: bool = Field(
        False, description="under torchrun on CUDA: BatchNorm statistics over all GPUs' batches"
    )
    sample_every: int = Field(10, ge=1, description="epochs between fixed-z sample grids")
    checkpoint_every: int = Field(10, ge=1, description="epochs between checkpoints")
    eval_every: int | None = Field(None, ge=1, description="epochs between VGG-KID evaluations")


class TrainConfig(_Config, Sectioned):
    """Settings of one GAN training run, in sections: `networks` (fixed for a run), `data`,
    `optim`, one section per training term (`gradient_penalty`, `gram`, `whole_view`,
    `lecam`, `grid`), `settle` and `run` (these two may change on `--resume`; the others only with
    `--retune`, and never `networks`, `data.crop` or the whole view's weight and judge).

    Flat names still work wherever settings are given (`TrainConfig(epochs=3,
    whole_weight=0)`, flat TOML files, the config.json and checkpoints of earlier runs);
    `artstyle config show train` lists them all, and `flat()` is the form files keep.

    The defaults are the recommended recipe (docs/gan.md): a texture generator with pixelwise
    normalisation that knows where in its 128-px sample it paints, learning 64-px patches of the
    paintings as windows of that sample, with Gram feature matching on whole samples at the size
    the style stage uses, flips, an EMA copy and learning rates annealed for the last fifth, the
    exported copy settled on the Gram loss (`gan.settle`); Ast-GAN's optimiser, loss and label
    smoothing. Sized to finish in about an hour on two CPU cores for a few hundred paintings
    (1530 iterations whatever their number; docs/gan.md has the times).
    `train_recipe("ast-gan")` gives the seed's DCGAN.
    """

    networks: Networks = Field(default_factory=Networks)
    data: TrainData = Field(default_factory=TrainData)
    optim: Optimisation = Field(default_factory=Optimisation)
    gradient_penalty: GradientPenaltySettings = Field(default_factory=GradientPenaltySettings)
    gram: GramSettings = Field(default_factory=GramSettings)
    whole_view: WholeViewSettings = Field(default_factory=WholeViewSettings)
    lecam: LeCamSettings = Field(default_factory=LeCamSettings)
    grid: GridSettings = Field(default_factory=GridSettings)
    settle: SettleSettings = Field(default_factory=SettleSettings)
    run: RunSettings = Field(default_factory=RunSettings)

    def for_paintings(self, count: int) -> TrainConfig:
        """These settings with the run's length as a number of epochs: `run.epochs`, or as many
        whole epochs of `count` paintings as `run.iterations` steps take."""
        if self.run.epochs is not None:
            return self
        per_epoch = max(count // self.optim.batch_size, 1)
        epochs = -(-self.run.iterations // per_epoch)
        return self.model_copy(update={"run": self.run.model_copy(update={"epochs": epochs})})

    def flat(self) -> dict[str, Any]:
        """Every setting by flat name, as JSON values: what config.json, checkpoints and model
        cards keep, readable by this version and by those from before sections."""
        return flatten(type(self), self)

    @property
    def sample_size(self) -> int:
        """Side of the samples the style stage uses, as the architecture says: a texture
        generator trained on patches paints a whole painting's worth at the scale the patches
        were cut at (2x the patch); the others their training size."""
        from artstyle.gan import get_arch  # the GAN's registry, loaded only for its settings

        return get_arch(self.networks.arch).sample_size(self)

    @property
    def whole_samples(self) -> bool:
        """Whether the design paints whole samples larger than the patches it learns from, the
        ones the whole view judges."""
        return self.sample_size > self.networks.image_size and self.gram.scale == "sample"

    @property
    def whole_view_weight(self) -> float:
        """The whole view's weight: `whole_view.weight`, or 1 where it is None and the design
        has whole samples."""
        if self.whole_view.weight is None:
            return 1.0 if self.whole_samples else 0.0
        return self.whole_view.weight

    @property
    def whole_size(self) -> int:
        """Side at which the whole view compares samples and paintings."""
        if self.whole_view.discriminator == "projected":
            return self.sample_size
        return self.networks.image_size

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        for policy in (self.data.diffaugment, self.whole_view.diffaugment):
            unknown = set(filter(None, policy.split(","))) - set(get_args(DiffAugmentPolicy))
            if unknown:
                raise ValueError(
                    f"unknown DiffAugment policy {sorted(unknown)}; "
                    f"known: {sorted(get_args(DiffAugmentPolicy))}"
                )
        if self.settle.steps and self.gram.weight is None:
            raise ValueError("settle_steps needs the Gram loss (gram_weight); set it to 0")
        if self.whole_view.weight and not self.whole_samples:
            raise ValueError(
                "whole_weight needs whole samples larger than the patches: the texture arch, "
                "crop 'patch' and gram_scale 'sample'"
            )
        return self


#: Named training recipes: the settings each one changes from `TrainConfig`'s defaults, which are
#: the recommended recipe (docs/gan.md says how it was chosen). Flat names, paths or sections.
RECIPES: dict[str, dict[str, Any]] = {
    "artstyle": {},
    # the seed's DCGAN (Ast-GAN): 64-px centre crops, transposed convs, no stabilisers
    "ast-gan": {
        "networks.arch": "dcgan",
        "data.crop": "center",
        "data.flip": False,
        "data.diffaugment": "",
        "optim.ema": None,
        "optim.anneal": 0.0,
        "optim.batch_size": 128,
        "gram.weight": None,
        "settle.steps": 0,
        "run.epochs": 300,
    },
}


def stored_train_config(settings: Mapping[str, Any]) -> TrainConfig:
    """The settings a training file stores (flat, as every version wrote them, or sectioned),
    read with the meaning they had when it was written:
    texture generators from before `g_norm` existed used BatchNorm (the shipped v1 models), and
    runs from before `anneal` existed kept their learning rates to the end, those from before
    `gram_scale` existed matched the Gram matrices of their patches, and those from before
    `settle_steps` existed were exported unsettled, the whole view augmented as the patches
    were until `whole_diffaugment` existed, runs from before `precision` existed ran fp32
    (so they resume exactly as they were), those from before `settle_grid_weight` existed
    settled on the Gram loss alone, those from before `g_layout_convs` existed had none, and
    those from before `g_position` existed did not know where in a sample they painted."""
    given = flatten(TrainConfig, settings)
    old: dict[str, Any] = {
        "anneal": 0.0, "gram_scale": "patch", "settle_steps": 0, "precision": "fp32",
        "whole_weight": 0.0, "whole_discriminator": "dcgan", "gram_layers": "ast-gan",
        "settle_grid_weight": 0.0, "g_layout_convs": 0, "g_position": False,
    }  # fmt: skip
    if given.get("arch") == "texture" and "g_norm" not in given:
        old["g_norm"] = "batch"
    old["whole_diffaugment"] = given.get("diffaugment", "")
    missing = {k: v for k, v in old.items() if k not in given}
    return TrainConfig.model_validate({**missing, **settings})


def train_recipe(name: str, **overrides: Any) -> TrainConfig:
    """The settings of recipe `name` (see `RECIPES`), with `overrides` on top (flat names,
    paths or sections), by the one rule of precedence (`settings.settle`)."""
    if name not in RECIPES:
        raise ArtstyleError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}")
    return settle(TrainConfig, recipe=RECIPES[name], options=overrides)
