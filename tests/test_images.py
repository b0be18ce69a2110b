"""The foundation's image reading and writing, on every odd kind of file the issue lists."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from artstyle.errors import ImageReadError, OutputError
from artstyle.images import find_images, read_image, write_image


def _save(img: Image.Image, path: Path, **kw: object) -> Path:
    img.save(path, **kw)
    return path


def _gradient(mode: str, size: tuple[int, int] = (12, 8)) -> Image.Image:
    return Image.new("RGB", size, (200, 30, 90)).convert(mode)


@pytest.mark.parametrize(
    ("name", "make", "rgb"),
    [
        ("cmyk.jpg", lambda: Image.new("CMYK", (6, 4), (0, 255, 255, 0)), (255, 0, 0)),
        ("grey.png", lambda: Image.new("L", (6, 4), 128), (128, 128, 128)),
        ("grey_alpha.png", lambda: Image.new("LA", (6, 4), (0, 0)), (255, 255, 255)),
        ("rgba.png", lambda: Image.new("RGBA", (6, 4), (0, 0, 255, 0)), (255, 255, 255)),
        ("rgba_opaque.png", lambda: Image.new("RGBA", (6, 4), (0, 0, 255, 255)), (0, 0, 255)),
        ("int16.png", lambda: Image.new("I;16", (6, 4), 65535), (255, 255, 255)),
        ("int32.tif", lambda: Image.new("I", (6, 4), 32768), (128, 128, 128)),
        ("float.tif", lambda: Image.new("F", (6, 4), 0.5), (128, 128, 128)),
    ],
)
def test_modes_become_rgb(tmp_path: Path, name: str, make, rgb: tuple[int, int, int]) -> None:
    img = read_image(_save(make(), tmp_path / name))
    assert img.mode == "RGB" and img.size == (6, 4)
    assert np.abs(np.asarray(img)[0, 0].astype(int) - rgb).max() <= 2


def test_palette_with_transparency_is_composited_on_white(tmp_path: Path) -> None:
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((0, 0), 0)
    path = _save(img, tmp_path / "palette.png", transparency=0)
    arr = np.asarray(read_image(path))
    assert tuple(arr[0, 0]) == (255, 255, 255)  # transparent index -> white
    assert tuple(arr[1, 1]) == (255, 0, 0)


def test_animated_gif_gives_the_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (5, 5), c) for c in ("red", "blue", "green")]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    assert tuple(np.asarray(read_image(path))[2, 2]) == (255, 0, 0)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = Image.new("RGB", (30, 10), "white")
    img.paste((0, 0, 0), (0, 0, 5, 10))  # black stripe on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = _save(img, tmp_path / "rotated.jpg", exif=exif, quality=95)
    upright = read_image(path)
    assert upright.size == (10, 30)
    assert np.asarray(upright)[1, 5].mean() < 60  # the stripe is now at the top
    assert np.asarray(upright)[-2, 5].mean() > 200


def _one_line_error(path: Path, match: str, **kw: int) -> None:
    with pytest.raises(ImageReadError, match=match) as info:
        read_image(path, **kw)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and info.value.path == path


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.touch()
    _one_line_error(path, "empty")


def test_truncated_file(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buf, "PNG")
    path = tmp_path / "truncated.png"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    _one_line_error(path, "truncated or corrupt")


def test_text_file_is_not_an_image(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("hello, not a picture\n")
    _one_line_error(path, "not an image")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    _one_line_error(tmp_path / "nothing.png", "no such file")
    _one_line_error(tmp_path, "folder")


def test_pixel_limit_is_enforced_and_configurable(tmp_path: Path) -> None:
    path = _save(Image.new("RGB", (100, 100)), tmp_path / "big.png")
    _one_line_error(path, "over the limit of 5,000", max_pixels=5000)
    assert read_image(path, max_pixels=10_000).size == (100, 100)


def test_find_images_walks_sorted_and_case_insensitive(tmp_path: Path) -> None:
    (tmp_path / "b" / "deep").mkdir(parents=True)
    for rel in ("b/deep/z.PNG", "a.JPG", "b/c.webp", "notes.txt", ".hidden.png"):
        (tmp_path / rel).write_bytes(b"x")
    found = find_images([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a.JPG",
        "b/c.webp",
        "b/deep/z.PNG",
    ]
    assert find_images([tmp_path / "notes.txt"]) == [tmp_path / "notes.txt"]  # named: kept
    with pytest.raises(ImageReadError, match="no such file"):
        find_images([tmp_path / "gone"])


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp", ".tif"])
def test_write_in_the_suffixs_format(tmp_path: Path, suffix: str) -> None:
    path = write_image(_gradient("RGB"), tmp_path / f"out{suffix}")
    with Image.open(path) as img:
        assert (
            img.format == {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF"}[suffix]
        )
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_write_refuses_unknown_suffix_and_inputs(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="unknown output format"):
        write_image(_gradient("RGB"), tmp_path / "out.xyz")
    source = _save(_gradient("RGB"), tmp_path / "in.png")
    before = source.read_bytes()
    with pytest.raises(OutputError, match="refusing to overwrite an input"):
        write_image(_gradient("L").convert("RGB"), tmp_path / "." / "in.png", protect=[source])
    assert source.read_bytes() == before


def test_interrupted_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def dying_save(self: Image.Image, fp: object, *args: object, **kwargs: object) -> None:
        Path(str(fp)).write_bytes(b"half a pic")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        write_image(_gradient("RGB"), target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]
