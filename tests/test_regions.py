"""Regions painted with different styles: guided Gram losses, masks and maps, on made-up images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from artstyle.errors import ArtstyleError
from artstyle.nst import regions
from artstyle.nst.losses import region_style_loss, style_loss
from artstyle.nst.transfer import StyleTransfer

SIZE = 96


def stripes(vertical: bool, size: int = 64, period: int = 8) -> torch.Tensor:
    """Black and white stripes (1, 3, size, size): vertical ones change along x only."""
    line = (torch.arange(size) // (period // 2) % 2).float()
    grid = line.expand(size, size) if vertical else line[:, None].expand(size, size)
    return grid.expand(1, 3, size, size).clone()


def two_flat_regions() -> torch.Tensor:
    """A photo of two flat greys, left and right (1, 3, SIZE, SIZE)."""
    photo = torch.full((1, 3, SIZE, SIZE), 0.35)
    photo[..., SIZE // 2 :] = 0.65
    return photo


def half_map(path: Path, left: str = "#ff0000", right: str = "#0000ff", size: int = 48) -> Path:
    """A colour map, `left` colour on the left half, `right` on the right (written as PNG)."""
    rgb = np.zeros((size, size, 3), np.uint8)
    rgb[:, : size // 2] = regions.parse_colour(left)
    rgb[:, size // 2 :] = regions.parse_colour(right)
    Image.fromarray(rgb).save(path)
    return path


def direction(image: torch.Tensor) -> float:
    """Mean |d/dx| over mean |d/dy|: above 1 for vertical stripes, below for horizontal ones."""
    dx = (image[..., :, 1:] - image[..., :, :-1]).abs().mean()
    dy = (image[..., 1:, :] - image[..., :-1, :]).abs().mean()
    return float(dx / dy)


@pytest.fixture(scope="module")
def styles() -> tuple[StyleTransfer, StyleTransfer]:
    """Style transfers of vertical and of horizontal stripes."""
    # fp32: tiled and whole evaluations agree to float rounding, not bf16's
    settings = {"style_size": 64, "size": SIZE, "device": "cpu", "style_weight": 5e5}
    settings["precision"] = "fp32"
    return (
        StyleTransfer(stripes(vertical=True), **settings),
        StyleTransfer(stripes(vertical=False), **settings),
    )


def test_one_region_covering_everything_is_the_ordinary_loss(
    styles: tuple[StyleTransfer, StyleTransfer],
) -> None:
    st = styles[0]
    torch.manual_seed(0)
    features = st.net(torch.rand(2, 3, 40, 56))[: st._num_style_layers]
    masks = [torch.ones(1, 1, *f.shape[-2:]) for f in features]
    total, each = region_style_loss(features, masks, [(st.targets, 1.0)], st.net.unit)
    plain = style_loss(features, st.targets, st.net.unit)
    torch.testing.assert_close(total, plain)
    torch.testing.assert_close(each[:, 0], plain)


def test_each_region_takes_its_own_style(
    styles: tuple[StyleTransfer, StyleTransfer], tmp_path: Path
) -> None:
    vertical, horizontal = styles
    spec = {"red": (vertical.targets, 1.0), "blue": (horizontal.targets, 1.0)}
    painter = vertical.with_regions(regions.from_colour_map(half_map(tmp_path / "m.png"), spec))
    result = painter.run(two_flat_regions(), steps=30)
    left, right = result.tensor[..., : SIZE // 2 - 8], result.tensor[..., SIZE // 2 + 8 :]
    assert direction(left) > 2 and direction(right) < 0.5  # vertical left, horizontal right
    # the guided loss fell from the photo's, region by region
    before, after = (
        painter.score(two_flat_regions(), x) for x in (two_flat_regions(), result.tensor)
    )
    assert after["style"] < 0.5 * before["style"]


def test_black_in_a_mask_keeps_the_photo(styles: tuple[StyleTransfer, StyleTransfer]) -> None:
    vertical = styles[0]
    mask = torch.zeros(SIZE, SIZE)
    mask[:, SIZE // 2 :] = 1  # paint the right half; a soft edge would blend
    photo = two_flat_regions()
    result = vertical.with_regions(regions.from_mask(mask, vertical.targets)).run(photo, steps=12)
    kept, painted = (result.tensor - photo).abs()[..., : SIZE // 2], result.tensor[..., SIZE // 2 :]
    assert float(kept.max()) <= 1 / 255
    assert direction(painted) > 2


def test_regions_in_tiles_give_the_whole_images_loss_and_gradient(
    styles: tuple[StyleTransfer, StyleTransfer],
) -> None:
    vertical, horizontal = styles
    masks = torch.zeros(3, 60, 80)
    masks[0, :, :30], masks[1, :, 30:60], masks[2, :, 60:] = 1, 1, 1
    soft = regions.resize_masks(masks[None], 30, 40)[0]  # soft edges
    spec = (
        regions.RegionStyle("a", tuple(vertical.targets)),
        regions.RegionStyle("b", tuple(horizontal.targets), 2.0),
        regions.RegionStyle("keep", None),
    )
    painter = vertical.with_regions(regions.Regions(soft, spec))
    torch.manual_seed(0)
    photo = torch.rand(1, 3, 150, 190)
    image = (photo + 0.2 * torch.randn_like(photo)).clamp(0, 1)
    results = []
    for side in (None, 64):
        x = image.clone().requires_grad_(True)
        losses = painter._guided_objective(painter.config, photo, side)(x)
        losses["total"].backward()
        results.append((losses, x.grad))
    (a, grad_a), (b, grad_b) = results
    for key in ("total", "content", "style"):
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=0)
    assert grad_a is not None and grad_b is not None
    torch.testing.assert_close(grad_b, grad_a, rtol=1e-3, atol=1e-3 * float(grad_a.abs().max()))
    kept = grad_a[..., 150:].abs().max()  # the kept region does not move
    assert float(kept) < 1e-6 * float(grad_a.abs().max())


def test_a_batch_of_photos_takes_each_photos_own_regional_loss(
    styles: tuple[StyleTransfer, StyleTransfer],
) -> None:
    vertical, horizontal = styles
    masks = torch.zeros(3, 40, 40)
    masks[0, :, :20], masks[1, :, 20:30], masks[2, :, 30:] = 1, 1, 1
    spec = regions.region_styles(
        {"a": (vertical.targets, 1.0), "b": (horizontal.targets, 0.5), "c": (None, 1.0)}
    )
    painter = vertical.with_regions(regions.Regions(masks, spec))
    torch.manual_seed(1)
    photos, images = torch.rand(2, 3, 64, 80), torch.rand(2, 3, 64, 80)
    together = painter._guided_objective(painter.config, photos, None)(images)
    for i in range(2):
        alone = painter._guided_objective(painter.config, photos[i : i + 1], None)(
            images[i : i + 1]
        )
        for key in ("total", "content", "style"):
            torch.testing.assert_close(together[key][i : i + 1], alone[key], rtol=1e-5, atol=0)


def test_a_map_of_another_size_is_resized_softly(tmp_path: Path) -> None:
    masks = regions.read_colour_map(
        half_map(tmp_path / "m.png", size=10), [(255, 0, 0), (0, 0, 255)]
    )
    assert masks.shape == (2, 10, 10)
    big = regions.resize_masks(masks[None], 40, 40)[0]
    small = regions.resize_masks(masks[None], 5, 4)[0]
    for m in (big, small):
        torch.testing.assert_close(m.sum(0), torch.ones(m.shape[1:]))
    assert 0 < float(big[0, 0, 20]) < 1  # the edge is soft, not a jump
    assert float(big[0, 0, 0]) == 1 and float(big[1, 0, -1]) == 1


def test_jpeg_noise_and_antialiased_edges_are_not_unknown_colours(tmp_path: Path) -> None:
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[:, :20] = (250, 5, 3)  # near red
    rgb[:, 20:] = (2, 4, 251)
    rgb[0, 20] = (128, 0, 128)  # one antialiased pixel
    Image.fromarray(rgb).save(tmp_path / "m.png")
    masks = regions.read_colour_map(tmp_path / "m.png", [(255, 0, 0), (0, 0, 255)])
    assert float(masks[0, :, :20].min()) == 1 and float(masks[1, :, 20:].sum()) == 40 * 20 - 1


@pytest.mark.parametrize(
    ("mode", "reader", "message"),
    [
        ("RGB", "map", r"^\S+m\.png: 50% of the map has colours no region style names \(#00ff00\)"),
        ("RGBA", "map", r"^\S+m\.png: a region map has 3 channels \(RGB\) or 1 \(grey\), this one "
         r"has 4 \(RGBA\)"),
        ("LA", "mask", r"^\S+m\.png: a mask has one channel \(greyscale\), this one has 2 \(LA\)"),
        ("RGB", "mask", r"^\S+m\.png: a mask is greyscale .* this one has colours"),
    ],
)  # fmt: skip
def test_bad_maps_are_one_line(mode: str, reader: str, message: str, tmp_path: Path) -> None:
    half_map(tmp_path / "rgb.png", "#ff0000", "#00ff00")
    Image.open(tmp_path / "rgb.png").convert(mode).save(tmp_path / "m.png")
    with pytest.raises(ArtstyleError, match=message) as caught:
        if reader == "map":
            regions.read_colour_map(tmp_path / "m.png", [(255, 0, 0)])
        else:
            regions.read_mask(tmp_path / "m.png")
    assert "\n" not in str(caught.value)


def test_greyscale_masks_of_any_depth_read_alike(tmp_path: Path) -> None:
    ramp = np.tile(np.linspace(0, 1, 16), (4, 1))
    Image.fromarray((ramp * 255).round().astype(np.uint8)).save(tmp_path / "l.png")
    Image.fromarray((ramp * 65535).round().astype(np.uint16)).save(tmp_path / "i16.png")
    Image.fromarray((ramp * 255).round().astype(np.uint8)).convert("RGB").save(tmp_path / "g.png")
    masks = [regions.read_mask(tmp_path / n) for n in ("l.png", "i16.png", "g.png")]
    for m in masks:
        assert m.shape == (4, 16)
        torch.testing.assert_close(m, masks[0], atol=1 / 255, rtol=0)
    assert float(masks[0][0, 0]) == 0 and float(masks[0][0, -1]) == 1


# --- the command line ------------------------------------------------------------------------

FAST = ["--steps", "3", "--size", "48", "--style-size", "32", "--device", "cpu"]


def _transfer(*args: str | Path) -> tuple[int, str]:
    from typer.testing import CliRunner

    from artstyle.cli import app

    result = CliRunner().invoke(app, ["transfer", *map(str, args)])
    return result.exit_code, result.stderr


def _photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray((two_flat_regions()[0].permute(1, 2, 0) * 255).byte().numpy()).save(path)
    return path


def test_cli_regions_from_flags_and_from_a_toml_file(paintings: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "styles"
    folder.mkdir()
    for p in paintings[:2]:
        (folder / p.name).write_bytes(p.read_bytes())
    half_map(tmp_path / "map.png", "red", "#00f")
    photo = _photo(tmp_path)
    code, err = _transfer(photo, "--regions", tmp_path / "map.png", "--region-style",
                          f"red={folder}", "--region-style", "#0000ff=photo",
                          "-o", tmp_path / "a.png", *FAST)  # fmt: skip
    assert code == 0, err
    painted = np.asarray(Image.open(tmp_path / "a.png"), dtype=np.int16)
    kept = np.asarray(Image.open(photo).resize((48, 48), Image.Resampling.LANCZOS), np.int16)
    assert np.abs(painted[:, 26:] - kept[:, 26:]).max() <= 1  # blue keeps the photo
    assert np.abs(painted[:, :20] - kept[:, :20]).mean() > 3  # red is painted
    (tmp_path / "regions.toml").write_text(
        'map = "map.png"\n[styles]\nred = "styles"\n"#0000ff" = { style = "photo", weight = 2 }\n'
    )
    code, err = _transfer(photo, "--regions", tmp_path / "regions.toml",
                          "-o", tmp_path / "b.png", *FAST)  # fmt: skip
    assert code == 0, err
    assert np.array_equal(np.asarray(Image.open(tmp_path / "b.png")), painted.astype(np.uint8))


def test_cli_mask_keeps_black_and_bad_guides_are_one_line(
    paintings: list[Path], tmp_path: Path
) -> None:
    photo = _photo(tmp_path)
    mask = np.zeros((20, 20), np.uint8)
    mask[:, 10:] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    code, err = _transfer(photo, "--mask", tmp_path / "mask.png", "--styles", paintings[0],
                          "-o", tmp_path / "a.png", *FAST)  # fmt: skip
    assert code == 0, err
    painted = np.asarray(Image.open(tmp_path / "a.png"), dtype=np.int16)
    kept = np.asarray(Image.open(photo).resize((48, 48), Image.Resampling.LANCZOS), np.int16)
    assert np.abs(painted[:, :20] - kept[:, :20]).max() <= 1
    half_map(tmp_path / "map.png", "red", "lime")
    cases = [
        (["--mask", tmp_path / "map.png"], "mask is greyscale"),
        (["--regions", tmp_path / "map.png", "--region-style", f"red={paintings[0]}"],
         "colours no region style names (#00ff00)"),
        (["--regions", tmp_path / "map.png", "--region-style", "red"], "expected COLOUR=STYLE"),
        (["--region-style", "red=photo"], "give --regions"),
        (["--regions", tmp_path / "map.png", "--region-style", "nocolour=photo"],
         "'nocolour' is not a colour"),
    ]  # fmt: skip
    for args, message in cases:
        code, err = _transfer(photo, *args, "-o", tmp_path / "x.png", *FAST)
        assert code == 2, err
        assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "x.png").exists()
