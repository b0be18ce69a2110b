"""Look inside a trained GAN, as Beyers & Loane and aakashpydi did: indexed sample grids, latent
walks, vector arithmetic, what the discriminator sees, training curves, style-transfer progress.

Every view is a function that returns a PIL image, a list of GIF frames or a matplotlib Figure;
`save` writes any of them atomically. A sample is named by its index in the grid of `count`
samples drawn with `seed` (what `sample_grid` shows), so a user picks samples by number there and
passes the same numbers, seed and count to the other views.
"""

from __future__ import annotations

import copy
import csv
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from PIL import Image, ImageDraw, ImageOps
from torch import nn

from artstyle.atomic import atomic_path
from artstyle.config import TrainConfig
from artstyle.errors import ArtstyleError, OutputError
from artstyle.figures import figure
from artstyle.folder import SNAPSHOT_NAME
from artstyle.gan import checkpoint, run_files
from artstyle.gan.curves import plot_runs, read_log
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.models import DCGANDiscriminator, build_discriminator
from artstyle.images import (
    ImageSource,
    find_images,
    image_grid,
    label_font,
    load_image,
    signed_to_unit,
    to_pil,
    unit_to_signed,
    write_image,
)

__all__ = [
    "View",
    "activation_figure",
    "arithmetic_figure",
    "arithmetic_latents",
    "find_intermediates",
    "interpolate",
    "interpolation_frames",
    "interpolation_gif",
    "interpolation_grid",
    "layer_activations",
    "load_discriminator",
    "loss_curve",
    "pick",
    "plot_runs",
    "progress_frames",
    "read_history",
    "read_log",
    "reconstruct",
    "sample_grid",
    "save",
    "to_png",
    "walk_latents",
]

#: What a view returns: a picture, the frames of an animation, or a figure.
View = Image.Image | list[Image.Image] | Figure
Interpolation = Literal["slerp", "lerp"]
Rule = Literal["guided", "deconvnet"]


# --- writing -----------------------------------------------------------------------------------


def save(view: View, path: str | Path, *, fps: float = 10, dpi: int = 100) -> Path:
    """Write a view atomically: frames as an animated GIF, a figure or image by its suffix."""
    path = Path(path)
    if isinstance(view, list):
        if path.suffix.lower() != ".gif":
            raise OutputError(f"{path}: an animation is written as .gif")
        with atomic_path(path) as tmp:
            _write_gif(view, tmp, fps)
    elif isinstance(view, Figure):
        if path.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise OutputError(f"{path}: a figure is written as .png, .svg or .pdf")
        with atomic_path(path) as tmp:
            view.savefig(tmp, format=path.suffix.lower()[1:], dpi=dpi)
    else:
        write_image(view, path)
    return path


def _write_gif(frames: Sequence[Image.Image], target: str | Path | io.BytesIO, fps: float) -> None:
    """An endlessly looping GIF; each frame gets its own palette (Pillow's adaptive default)."""
    if not frames:
        raise ArtstyleError("no frames to animate")
    duration = max(20, round(1000 / fps))
    frames[0].save(
        target,
        format="GIF",
        save_all=True,
        append_images=list(frames[1:]),
        duration=duration,
        loop=0,
        optimize=False,
    )


def to_png(view: View, *, dpi: int = 100) -> tuple[bytes, str]:
    """The bytes and MIME type of a view, for embedding (a figure is closed afterwards)."""
    buf = io.BytesIO()
    if isinstance(view, list):
        _write_gif(view, buf, fps=10)
        return buf.getvalue(), "image/gif"
    if isinstance(view, Figure):
        view.savefig(buf, format="png", dpi=dpi)
    else:
        view.save(buf, format="PNG")
    return buf.getvalue(), "image/png"


# --- picking samples ---------------------------------------------------------------------------


def pick(z: torch.Tensor, indices: Sequence[int]) -> torch.Tensor:
    """Rows `indices` of the latents `z`; an index outside the grid is a one-line error."""
    if not indices:
        raise ArtstyleError("no sample indices given")
    bad = [i for i in indices if not 0 <= i < len(z)]
    if bad:
        raise ArtstyleError(
            f"sample index {bad[0]} is out of range: the grid has {len(z)} samples "
            f"(0..{len(z) - 1}); raise --count or pick from `artstyle explore grid`"
        )
    return z[list(indices)]


def sample_grid(
    gen: StyleGenerator,
    count: int = 64,
    seed: int = 0,
    *,
    cols: int = 8,
    scale: int = 1,
    labels: bool = True,
) -> Image.Image:
    """`count` samples with their indices in a corner: the numbers the other views take."""
    if count < 1:
        raise ArtstyleError("--count must be at least 1")
    images = gen.sample(count, seed)
    return image_grid(
        images, cols, labels=[str(i) for i in range(count)] if labels else None, scale=scale
    )


# --- latent interpolation ----------------------------------------------------------------------


def interpolate(
    z0: torch.Tensor, z1: torch.Tensor, steps: int, mode: Interpolation = "slerp"
) -> torch.Tensor:
    """`steps` latents from `z0` to `z1` (both included, exactly), linear or spherical.

    Spherical interpolation keeps the norm typical of N(0, I) samples on the way; a straight line
    passes through lower-norm points the generator rarely saw (White 2016).
    """
    if steps < 2:
        raise ArtstyleError("an interpolation needs at least 2 steps")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]
    path = (1 - t) * z0 + t * z1
    if mode == "slerp":
        cos = F.cosine_similarity(z0, z1, dim=0).clamp(-1, 1)
        omega = torch.arccos(cos)
        if torch.sin(omega) > 1e-6:  # nearly parallel vectors: the straight line is the arc
            path = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    elif mode != "lerp":
        raise ArtstyleError(f"unknown interpolation {mode!r}: use slerp or lerp")
    path[0], path[-1] = z0, z1
    return path


def walk_latents(starts: torch.Tensor, steps: int, mode: Interpolation = "slerp") -> torch.Tensor:
    """(R, steps, D): row r walks from start r to start r+1, the last row back to the first."""
    if len(starts) < 2:
        raise ArtstyleError("an interpolation grid needs at least 2 samples to walk between")
    return torch.stack(
        [interpolate(z, starts[(r + 1) % len(starts)], steps, mode) for r, z in enumerate(starts)]
    )


def interpolation_frames(
    gen: StyleGenerator,
    rows: Sequence[int],
    steps: int = 8,
    *,
    seed: int = 0,
    count: int = 64,
    mode: Interpolation = "slerp",
) -> torch.Tensor:
    """Images (R, steps, 3, S, S) of the walk between the latents `rows` (Beyers & Loane fig. 4);
    a texture generator decodes the whole walk on one fixed noise map, so only z changes."""
    walk = walk_latents(pick(gen.latents(count, seed), rows), steps, mode)
    return gen.decode(walk.flatten(0, 1)).unflatten(0, walk.shape[:2])


def interpolation_grid(
    gen: StyleGenerator,
    rows: Sequence[int],
    steps: int = 8,
    *,
    seed: int = 0,
    count: int = 64,
    mode: Interpolation = "slerp",
    scale: int = 1,
) -> Image.Image:
    """One row per walk; the first and last tile of each row carry their sample index."""
    frames = interpolation_frames(gen, rows, steps, seed=seed, count=count, mode=mode)
    labels = []
    for r, start in enumerate(rows):
        labels += [str(start)] + [""] * (steps - 2) + [str(rows[(r + 1) % len(rows)])]
    return image_grid(frames.flatten(0, 1), steps, labels=labels, scale=scale)


def interpolation_gif(
    gen: StyleGenerator,
    rows: Sequence[int],
    steps: int = 16,
    *,
    seed: int = 0,
    count: int = 64,
    mode: Interpolation = "slerp",
    size: int = 256,
) -> list[Image.Image]:
    """Frames of the closed walk through `rows` and back to the first, upscaled to `size` px
    (nearest neighbour: crisp pixels, and a GIF about half the size of a smooth resize)."""
    frames = interpolation_frames(gen, rows, steps, seed=seed, count=count, mode=mode)
    loop = frames[:, :-1].flatten(0, 1)  # a row's last frame is the next row's first
    return [to_pil(f).resize((size, size), Image.Resampling.NEAREST) for f in loop]


# --- vector arithmetic -------------------------------------------------------------------------


def arithmetic_latents(
    z: torch.Tensor, a: Sequence[int], b: Sequence[int], cs: Sequence[Sequence[int]]
) -> torch.Tensor:
    """(len(cs), D): mean(z_a) - mean(z_b) + mean(z_c) for each concept c (Radford et al.)."""
    if not cs:
        raise ArtstyleError("vector arithmetic needs at least one c")
    offset = pick(z, a).mean(0) - pick(z, b).mean(0)
    return torch.stack([offset + pick(z, c).mean(0) for c in cs])


def _show(ax: Axes, image: torch.Tensor | np.ndarray, title: str, **kwargs: Any) -> None:
    """One panel: an image (tensor 3xHxW in 0..1 or an array) with a small title, no ticks."""
    if isinstance(image, torch.Tensor):
        image = image.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    ax.imshow(image, interpolation="nearest", **kwargs)
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def _concept_name(indices: Sequence[int]) -> str:
    return "+".join(map(str, indices)) if len(indices) <= 3 else f"{len(indices)} samples"


def arithmetic_figure(
    gen: StyleGenerator,
    a: Sequence[int],
    b: Sequence[int],
    cs: Sequence[Sequence[int]],
    *,
    seed: int = 0,
    count: int = 64,
) -> Figure:
    """G(a - b + c): rows A and B show each concept's samples and their average, then one row per
    c reads A - B + C = result."""
    z = gen.latents(count, seed)
    results = gen.decode(arithmetic_latents(z, a, b, cs))
    concepts = {"A": a, "B": b}
    mean = {k: gen.decode(pick(z, idx).mean(0, keepdim=True))[0] for k, idx in concepts.items()}
    cols = max(len(a) + 1, len(b) + 1, 4)
    fig = figure(figsize=(1.3 * cols, 1.45 * (2 + len(cs))))
    axes = fig.subplots(2 + len(cs), cols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for row, (name, idx) in enumerate(concepts.items()):
        for col, image in enumerate(gen.decode(pick(z, idx))):
            _show(axes[row, col], image, f"{name}: #{idx[col]}")
        _show(axes[row, len(idx)], mean[name], f"{name} = mean")
    for row, (c, result) in enumerate(zip(cs, results), start=2):
        c_image = gen.decode(pick(z, c).mean(0, keepdim=True))[0]
        _show(axes[row, 0], mean["A"], "A")
        _show(axes[row, 1], mean["B"], "- B")
        _show(axes[row, 2], c_image, f"+ C (#{_concept_name(c)})")
        _show(axes[row, 3], result, "= A - B + C")
    return fig


# --- the discriminator -------------------------------------------------------------------------


def load_discriminator(source: str | Path) -> DCGANDiscriminator:
    """D from a run folder or its `checkpoint.safetensors` (exported generators hold only G)."""
    path = Path(source)
    if path.is_dir():
        path = path / run_files.CHECKPOINT
    tensors, meta = checkpoint.load(path)
    if "config" not in meta or not any(k.startswith("d.") for k in tensors):
        raise ArtstyleError(
            f"{path}: holds no discriminator (only a run's checkpoint.safetensors does; "
            "give the run folder)"
        )
    config = TrainConfig.model_validate(meta["config"])
    d = build_discriminator(config)
    if not isinstance(d, DCGANDiscriminator):
        raise ArtstyleError(
            f"{path}: activation views need a DCGAN discriminator, not {config.arch}"
        )
    checkpoint.load_module(d, {k: v.float() for k, v in tensors.items()}, "d")
    return d.eval().requires_grad_(False)


def _image_size(d: DCGANDiscriminator) -> int:
    return 4 * 2 ** len(d.blocks)


def discriminator_input(image: ImageSource, size: int) -> torch.Tensor:
    """(1, 3, size, size) in -1..1: a sample tensor as it is, a picture centre-cropped to size."""
    if isinstance(image, torch.Tensor) and image.shape[-2:] == (size, size):
        x = image.detach().clone().float().reshape(1, 3, size, size)  # clone: leave inference mode
    else:
        pil = ImageOps.fit(load_image(image), (size, size), Image.Resampling.LANCZOS)
        x = torch.from_numpy(np.asarray(pil).copy()).permute(2, 0, 1)[None].float() / 255
    return unit_to_signed(x)


def _input(d: DCGANDiscriminator, image: ImageSource) -> torch.Tensor:
    return discriminator_input(image, _image_size(d)).to(next(d.parameters()).device)


def _features(d: DCGANDiscriminator, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        return [f[0].cpu() for f in d.features(x)]


def layer_activations(d: DCGANDiscriminator, image: ImageSource) -> list[torch.Tensor]:
    """The (C, h, w) output of each of D's conv blocks for one image, shallow to deep."""
    return _features(d, _input(d, image))


class _BackwardRule(torch.autograd.Function):
    """LeakyReLU forward; backward only lets positive signals through (Zeiler & Fergus).

    "deconvnet" rectifies the signal coming down; "guided" (Springenberg et al.) also applies
    the forward pass's slope mask, so it shows only what raised the unit in *this* image.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, slope: float, rule: str) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.slope, ctx.rule = slope, rule
        return F.leaky_relu(x, slope)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (x,) = ctx.saved_tensors
        grad = grad.clamp(min=0)
        if ctx.rule == "guided":
            grad = grad * torch.where(x > 0, 1.0, ctx.slope)
        return grad, None, None


class _RuleReLU(nn.Module):
    def __init__(self, slope: float, rule: Rule) -> None:
        super().__init__()
        self.slope, self.rule = slope, rule

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _BackwardRule.apply(x, self.slope, self.rule)


def _with_rule(d: DCGANDiscriminator, rule: Rule) -> DCGANDiscriminator:
    """A copy of D whose LeakyReLUs back-propagate by `rule`."""
    if rule not in ("guided", "deconvnet"):
        raise ArtstyleError(f"unknown reconstruction {rule!r}: use guided or deconvnet")
    net = copy.deepcopy(d)
    for block in net.blocks:
        assert isinstance(block, nn.Sequential)
        for i, layer in enumerate(block):
            if isinstance(layer, nn.LeakyReLU):
                block[i] = _RuleReLU(layer.negative_slope, rule)
    return net


def _unit(maps: torch.Tensor, channel: int | None) -> int:
    """`channel`, checked, or the most active channel of `maps` (C, h, w)."""
    if channel is None:
        return int(maps.mean((1, 2)).argmax())
    if not 0 <= channel < len(maps):
        raise ArtstyleError(
            f"channel {channel} is out of range: this layer has {len(maps)} (0..{len(maps) - 1})"
        )
    return channel


def _check_layer(d: DCGANDiscriminator, layer: int | None) -> None:
    if layer is not None and not 1 <= layer <= len(d.blocks):
        raise ArtstyleError(f"layer {layer} is out of range: D has conv1..conv{len(d.blocks)}")


def _reconstruct(
    net: DCGANDiscriminator, x: torch.Tensor, layer: int | None, channel: int | None
) -> tuple[torch.Tensor, int | None]:
    """Gradient-like image of what drives one unit of `net` (a `_with_rule` copy); and the unit."""
    x = x.clone().requires_grad_(True)
    with torch.enable_grad():
        if layer is None:
            target = net(x).sum()
        else:
            maps = net.features(x)[layer - 1][0]
            channel = _unit(maps.detach(), channel)
            target = maps[channel].max()  # its strongest position in this image
        target.backward()
    assert x.grad is not None
    return x.grad[0].cpu(), channel


def reconstruct(
    d: DCGANDiscriminator,
    image: ImageSource,
    layer: int | None = None,
    channel: int | None = None,
    rule: Rule = "guided",
) -> torch.Tensor:
    """(3, S, S) signed map of the input pixels that drive a unit: channel `channel` (default the
    most active) of conv layer `layer` (1-based) at its strongest position, or D's score."""
    _check_layer(d, layer)
    return _reconstruct(_with_rule(d, rule), _input(d, image), layer, channel)[0]


def _signed_image(grad: torch.Tensor) -> np.ndarray:
    """Grey where nothing drives the unit, brighter/darker where raising/lowering a pixel helps."""
    scale = 3 * float(grad.std()) or 1.0
    return (grad / scale * 0.5 + 0.5).clamp(0, 1).permute(1, 2, 0).numpy()


def _mosaic(maps: torch.Tensor, top: int) -> tuple[np.ndarray, int]:
    """The `top` most active channels (by mean), each scaled to 0..1, in a square mosaic."""
    order = maps.mean((1, 2)).argsort(descending=True)[:top]
    side = math.ceil(math.sqrt(len(order)))
    h, w = maps.shape[1:]
    mosaic = np.full((side * (h + 1) - 1, side * (w + 1) - 1), np.nan)
    for k, ch in enumerate(order.tolist()):
        m = maps[ch]
        m = (m - m.min()) / (m.max() - m.min() + 1e-8)
        r, c = divmod(k, side)
        mosaic[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = m.numpy()
    return mosaic, len(order)


def activation_figure(
    d: DCGANDiscriminator,
    image: ImageSource,
    *,
    top: int = 16,
    rule: Rule = "guided",
    layer: int | None = None,
    channel: int | None = None,
) -> Figure:
    """Top row: the image, then the `top` most active feature maps of each conv layer (one panel
    per layer). Bottom row: what drives D's score, then each layer's most active unit (or
    `channel` of `layer`), reconstructed by guided backprop or deconvnet (Beyers & Loane fig. 6)."""
    _check_layer(d, layer)
    size = _image_size(d)
    x = _input(d, image)
    maps = _features(d, x)
    net = _with_rule(d, rule)
    n = len(maps)
    fig = figure(figsize=(2.2 * (n + 1), 4.8))
    axes = fig.subplots(2, n + 1, squeeze=False)
    _show(axes[0, 0], signed_to_unit(x[0].cpu()), f"input ({size}x{size})")
    with torch.no_grad():
        logit = float(d(x).item())
    _show(
        axes[1, 0],
        _signed_image(_reconstruct(net, x, None, None)[0]),
        f"{rule}: D's logit {logit:.2f}",
    )
    cmap = matplotlib.colormaps["magma"].with_extremes(bad="white")
    for i, fmap in enumerate(maps, start=1):
        mosaic, shown = _mosaic(fmap, top)
        title = f"conv{i}: top {shown} of {len(fmap)}, {fmap.shape[1]}x{fmap.shape[2]}"
        _show(axes[0, i], mosaic, title, cmap=cmap)
        grad, unit = _reconstruct(net, x, i, channel if i == layer else None)
        _show(axes[1, i], _signed_image(grad), f"{rule}: conv{i} unit {unit}")
    return fig


# --- style-transfer progress -------------------------------------------------------------------


def find_intermediates(path: str | Path) -> tuple[list[Path], list[int]]:
    """The `<stem>_stepNNNN` images `artstyle transfer --save-every` wrote, sorted by step.

    `path` is the final image (`out/photo_stylized.png`) or a folder holding one such series.
    """
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    if not folder.is_dir():
        raise ArtstyleError(f"{path}: no such file or folder")
    series: dict[str, list[tuple[int, Path]]] = {}
    for file in find_images([folder]):
        match = SNAPSHOT_NAME.match(file.stem)
        if match and file.parent == folder:
            series.setdefault(match["stem"], []).append((int(match["step"]), file))
    if not path.is_dir():
        series = {k: v for k, v in series.items() if k == path.stem}
    if not series:
        raise ArtstyleError(
            f"{path}: no intermediate images (<name>_stepNNNN); "
            "run `artstyle transfer` with --save-every"
        )
    if len(series) > 1:
        raise ArtstyleError(
            f"{folder}: holds several series ({', '.join(sorted(series))}); give the final image"
        )
    found = sorted(next(iter(series.values())))
    return [p for _, p in found], [s for s, _ in found]


def read_history(path: str | Path) -> list[dict[str, float]]:
    """A loss history CSV (one row per step; a header naming the loss terms, `step` optional)."""
    path = Path(path)
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        history = [{k: float(v) for k, v in row.items() if k != "step"} for row in rows]
    except (OSError, ValueError) as exc:
        raise ArtstyleError(f"{path}: cannot read the loss history ({exc})") from None
    if not history:
        raise ArtstyleError(f"{path}: the loss history is empty")
    return history


def loss_curve(history: Sequence[Mapping[str, float]]) -> Figure:
    """Each loss term per step; a log scale when all are positive (style starts orders higher)."""
    fig = figure(figsize=(5, 3.2))
    ax = fig.subplots()
    steps = np.arange(1, len(history) + 1)
    for key in history[0]:
        ax.plot(steps, [h[key] for h in history], label=key, lw=1.2)
    if all(v > 0 for h in history for v in h.values()):
        ax.set_yscale("log")
    ax.set_xlabel("step (loss evaluation)")
    ax.set_title("style-transfer losses", fontsize=10)
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    return fig


def progress_frames(
    images: Sequence[ImageSource],
    steps: Sequence[int],
    history: Sequence[Mapping[str, float]] | None = None,
    *,
    size: int = 320,
) -> list[Image.Image]:
    """GIF frames: each intermediate image (longest side `size`) with its step, beside the loss
    curve with a line at that step when `history` is given."""
    if len(images) != len(steps):
        raise ArtstyleError(f"{len(images)} images but {len(steps)} step numbers")
    curve = None
    if history:
        fig = loss_curve(history)
        fig.set_size_inches(size * 1.5 / 100, size / 100)
        fig.canvas.draw()
        ax = fig.axes[0]
        to_x = [ax.transData.transform((s, 1))[0] for s in steps]
        y0, y1 = ax.bbox.y0, ax.bbox.y1
        curve = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3].copy())  # type: ignore[attr-defined]
    frames = []
    font = label_font(max(10, size // 20))
    for k, (source, step) in enumerate(zip(images, steps)):
        picture = ImageOps.contain(load_image(source), (size, size), Image.Resampling.LANCZOS)
        width, height = picture.size
        if curve is not None:
            width, height = width + curve.width, max(height, curve.height)
        frame = Image.new("RGB", (width, height), "white")
        frame.paste(picture, (0, 0))
        draw = ImageDraw.Draw(frame)
        draw.text(
            (4, 2), f"step {step}", fill="white", font=font, stroke_width=2, stroke_fill="black"
        )
        if curve is not None:
            frame.paste(curve, (picture.width, 0))
            x = picture.width + to_x[k]
            draw.line((x, curve.height - y1, x, curve.height - y0), fill=(220, 30, 30), width=2)
        frames.append(frame)
    return frames
