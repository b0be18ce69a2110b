"""One way to read, convert, find and write images for the whole project.

Reading is forgiving about *kinds* of image (EXIF rotation, CMYK, greyscale, palette, alpha,
16-bit and float modes, animations) and strict about *broken* ones: an empty, truncated, corrupt,
oversized or non-image file raises `ImageReadError`, whose message names the file and the reason.
Writing is atomic and never replaces an input.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from artstyle.atomic import atomic_path
from artstyle.errors import ArtstyleError, ImageReadError, OutputError

#: Refuse to decode images above this many pixels (a decompression bomb guard); configurable.
DEFAULT_MAX_PIXELS = 64_000_000

#: Suffixes treated as images when walking folders (compared case-insensitively).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif", ".ppm", ".pgm"}
)

#: Output formats by suffix, with the save options that suit a finished picture.
_WRITE_FORMATS: dict[str, tuple[str, dict[str, object]]] = {
    ".jpg": ("JPEG", {"quality": 95}),
    ".jpeg": ("JPEG", {"quality": 95}),
    ".png": ("PNG", {}),
    ".webp": ("WEBP", {"quality": 95}),
    ".tif": ("TIFF", {}),
    ".tiff": ("TIFF", {}),
    ".gif": ("GIF", {}),
}

ImageSource = str | Path | Image.Image | np.ndarray | torch.Tensor


def read_image(
    path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS, keep_mode: bool = False
) -> Image.Image:
    """Read `path` as an upright 8-bit RGB image, or raise `ImageReadError` naming the file;
    `keep_mode`: upright in its own mode instead (a mask's channels are part of its meaning)."""
    path = Path(path)
    if not path.exists():
        raise ImageReadError(path, "no such file")
    if path.is_dir():
        raise ImageReadError(path, "is a folder, not an image file")
    try:
        if path.stat().st_size == 0:
            raise ImageReadError(path, "empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > max_pixels:
                    raise ImageReadError(
                        path,
                        f"{img.width}x{img.height} pixels is over the limit of {max_pixels:,} "
                        "(raise max_pixels if the file is trusted)",
                    )
                img.seek(0)  # first frame of an animation
                img.load()
                upright = _upright(img)
                return upright.copy() if keep_mode else to_rgb(upright)
    except ImageReadError:
        raise
    except Image.DecompressionBombError:
        raise ImageReadError(path, f"too many pixels (over the limit of {max_pixels:,})") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file, or a format Pillow cannot read") from None
    except PermissionError:
        raise ImageReadError(path, "permission denied") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageReadError(path, f"truncated or corrupt image data ({exc})") from None


def upright_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) of the image at `path` as `read_image` returns it, from its header alone;
    None when the header cannot be read (`read_image` says why)."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            turned = img.getexif().get(0x0112) in (5, 6, 7, 8)  # EXIF orientation: a quarter turn
    except Exception:  # any unreadable header: the reader names the problem later
        return None
    return (height, width) if turned else (width, height)


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag; a broken EXIF block is ignored, not fatal."""
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # bad EXIF must never cost the user the picture
        return img


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparency is composited on white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return Image.fromarray(_to_uint8(np.asarray(img), img.mode)).convert("RGB")
    if (img.mode == "P" and "transparency" in img.info) or img.mode in ("RGBA", "LA", "PA", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def _to_uint8(values: np.ndarray, mode: str) -> np.ndarray:
    """Scale 16-bit, 32-bit integer or float greyscale pixels to 0..255."""
    arr = values.astype(np.float64)
    if mode == "F":
        scale = 1.0 if arr.max(initial=0.0) <= 1.0 else 1.0 / 255.0
    elif mode.startswith("I;16") or arr.max(initial=0.0) > 255:
        scale = 1.0 / 65535.0
    else:
        scale = 1.0 / 255.0
    return np.clip(np.rint(arr * scale * 255.0), 0, 255).astype(np.uint8)


def load_image(source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Accept a path, a PIL image, an HxW(xC) array (uint8, or float 0..1) or a 0..1 tensor."""
    if isinstance(source, (str, Path)):
        return read_image(source, max_pixels=max_pixels)
    if isinstance(source, Image.Image):
        return to_rgb(source)
    if isinstance(source, torch.Tensor):
        return to_pil(source)
    if isinstance(source, np.ndarray):
        arr = source
        if arr.dtype != np.uint8:
            arr = np.clip(np.rint(arr.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
            raise ValueError(f"an image array must be HxW, HxWx3 or HxWx4, got {source.shape}")
        return to_rgb(Image.fromarray(arr))
    raise TypeError(f"cannot use {type(source).__name__} as an image")


def to_tensor(img: Image.Image) -> torch.Tensor:
    """PIL RGB -> float tensor of shape (1, 3, H, W) in 0..1."""
    arr = np.asarray(to_rgb(img), dtype=np.uint8)
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).unsqueeze(0).contiguous().float() / 255.0


def signed_to_unit(x: torch.Tensor) -> torch.Tensor:
    """A GAN's pixels in -1..1 (its tanh) as float 0..1, the range every other part uses."""
    return x.float().add(1).div(2).clamp(0, 1)


def unit_batches(
    images: torch.Tensor, device: torch.device, size: int, batch_size: int
) -> Iterator[torch.Tensor]:
    """Images (N, 3, H, W), uint8 0..255 or float 0..1, as float 0..1 batches on `device`,
    resized (bilinear, antialiased) to `size` x `size`: what a feature network is fed."""
    for chunk in images.split(batch_size):
        x = chunk.to(device).float()
        if chunk.dtype == torch.uint8:
            x = x / 255
        if x.shape[-2:] != (size, size):
            x = torch.nn.functional.interpolate(
                x, size=(size, size), mode="bilinear", antialias=True
            )
        yield x


def unit_to_signed(x: torch.Tensor) -> torch.Tensor:
    """Pixels in 0..1 as a GAN's -1..1."""
    return x * 2 - 1


def to_pil(tensor: torch.Tensor) -> Image.Image:
    """A (3, H, W) or (1, 3, H, W) tensor in 0..1 -> PIL RGB (values are clamped)."""
    t = tensor.detach()
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {t.shape[0]}")
        t = t[0]
    arr = t.float().clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(arr, "RGB")


def resize_longest(img: Image.Image, size: int, min_side: int = 1) -> Image.Image:
    """Resize so the longest side is `size` pixels, keeping the aspect ratio; a very long strip
    is made larger instead, so that its short side is at least `min_side`."""
    new = fit_longest(img.size, size, min_side)
    return img if new == img.size else img.resize(new, Image.Resampling.LANCZOS)


def resample(image: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Float 0..1 pictures (N, 3, H, W) resized to height x width, bicubic and antialiased: the
    one resampling of the pictures whose Gram matrices matter (style images and the paintings a
    GAN learns from), so that both stages see a painting's texture alike."""
    if image.shape[-2:] == (height, width):
        return image
    x = torch.nn.functional.interpolate(image, size=(height, width), mode="bicubic", antialias=True)
    return x.clamp(0, 1)


def fit_longest(size: tuple[int, int], longest: int, min_side: int = 1) -> tuple[int, int]:
    """The (width, height) `resize_longest` gives an image of `size`."""
    width, height = size
    scale = max(longest / max(size), min_side / min(size))
    return max(1, round(width * scale)), max(1, round(height * scale))


def find_images(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (recursively, sorted) into image files.

    Files named explicitly are kept whatever their suffix, so that a bad file is reported by the
    reader rather than silently dropped; inside folders only image suffixes count.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in IMAGE_SUFFIXES
                    and not p.name.startswith(".")
                )
            )
        elif path.exists():
            found.append(path)
        else:
            raise ImageReadError(path, "no such file or folder")
    return found


def write_image(
    image: Image.Image | torch.Tensor,
    path: str | Path,
    *,
    protect: Sequence[str | Path] = (),
) -> Path:
    """Write atomically in the format the suffix names; refuse to write over any `protect` path."""
    path = Path(path)
    fmt = _WRITE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_WRITE_FORMATS))
        raise OutputError(f"{path}: unknown output format {path.suffix!r} (use one of {known})")
    refuse_overwrite(path, protect)
    pil = to_pil(image) if isinstance(image, torch.Tensor) else image
    with atomic_path(path) as tmp:
        pil.save(tmp, format=fmt[0], **fmt[1])
    return path


def refuse_overwrite(path: str | Path, protect: Sequence[str | Path]) -> None:
    """Raise `OutputError` if `path` is (or links to) one of the `protect` files."""
    target = Path(path).resolve()
    for other in protect:
        if Path(other).resolve() == target:
            raise OutputError(f"{path}: refusing to overwrite an input file")


@lru_cache(maxsize=8)
def label_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's built-in font at `size` px (no font files needed), cached per size."""
    return ImageFont.load_default(size=size)


def image_grid(
    images: torch.Tensor | Sequence[Image.Image],
    cols: int = 8,
    *,
    labels: Sequence[str] | None = None,
    scale: int = 1,
    pad: int = 2,
) -> Image.Image:
    """Tiles on white, at most `cols` a row; each label drawn small in its tile's top-left corner.

    The one grid of the project: sample grids, style batches, interpolation walks.
    """
    tiles = [to_pil(t) for t in images] if isinstance(images, torch.Tensor) else list(images)
    if not tiles:
        raise ArtstyleError("no images to show")
    cols = min(cols, len(tiles))
    w, h = tiles[0].width * scale, tiles[0].height * scale
    rows = math.ceil(len(tiles) / cols)
    canvas = Image.new("RGB", (cols * (w + pad) + pad, rows * (h + pad) + pad), "white")
    draw = ImageDraw.Draw(canvas)
    font = label_font(9 * scale)
    for i, tile in enumerate(tiles):
        x, y = pad + (i % cols) * (w + pad), pad + (i // cols) * (h + pad)
        canvas.paste(tile.resize((w, h), Image.Resampling.NEAREST), (x, y))
        if labels and labels[i]:
            box = draw.textbbox((x + 1, y), labels[i], font=font)
            draw.rectangle((box[0] - 1, box[1] - 1, box[2] + 1, box[3] + 1), fill=(0, 0, 0))
            draw.text((x + 1, y), labels[i], fill=(255, 255, 255), font=font)
    return canvas
