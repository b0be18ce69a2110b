"""The "look inside" views on a tiny trained run: sizes, files, exact endpoints, the report."""

from __future__ import annotations

import base64
import io
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image
from synthetic import synthetic_paintings, write_paintings
from typer.testing import CliRunner

from artstyle import explore
from artstyle.cli import app
from artstyle.config import TrainConfig, train_recipe
from artstyle.errors import ArtstyleError
from artstyle.folder import paint_folder
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.models import build_generator
from artstyle.gan.train import train
from artstyle.images import write_image
from artstyle.nst.transfer import StyleTransfer

TILE = 64 + 2  # a 64-px DCGAN sample plus the 2-px gap of `image_grid`


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-epoch run of a width-4 DCGAN (the ast-gan recipe) on 16 real paintings,
    with an eval.csv; the texture generator's views are tested on their own below."""
    folder = tmp_path_factory.mktemp("paintings")
    write_paintings(folder, 16)
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    config = train_recipe("ast-gan", width=4, batch_size=8, epochs=2, eval_every=1)
    train(folder, run_dir, config, progress=False)  # writes eval.csv with the real writer
    return run_dir


@pytest.fixture(scope="module")
def gen(run: Path) -> StyleGenerator:
    return StyleGenerator.from_pretrained(run, device="cpu")


def _figure_size(fig: Figure, dpi: int = 100) -> tuple[int, int]:
    w, h = fig.get_size_inches() * dpi
    return round(w), round(h)


def test_sample_grid_has_the_expected_size_and_is_written(
    gen: StyleGenerator, tmp_path: Path
) -> None:
    grid = explore.sample_grid(gen, 10, seed=3, cols=4)
    assert grid.size == (4 * TILE + 2, 3 * TILE + 2)
    path = explore.save(grid, tmp_path / "grid.png")
    assert Image.open(path).size == grid.size
    assert explore.sample_grid(gen, 4, cols=2, scale=2).size == (2 * (128 + 2) + 2,) * 2


@pytest.mark.parametrize("mode", ["lerp", "slerp"])
def test_interpolation_endpoints_equal_the_endpoint_samples(
    gen: StyleGenerator, mode: explore.Interpolation
) -> None:
    z0, z1 = torch.randn(2, 100)
    path = explore.interpolate(z0, z1, 7, mode)
    assert path.shape == (7, 100)
    assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    rows = [5, 0, 9]
    frames = explore.interpolation_frames(gen, rows, 6, seed=1, count=12, mode=mode)
    assert frames.shape == (3, 6, 3, 64, 64)
    samples = gen.sample(12, seed=1)
    for r, start in enumerate(rows):
        torch.testing.assert_close(frames[r, 0], samples[start], atol=1e-6, rtol=0)
        torch.testing.assert_close(frames[r, -1], samples[rows[(r + 1) % 3]], atol=1e-6, rtol=0)


def test_texture_walk_ends_at_the_decoded_latents() -> None:
    config = TrainConfig(width=4)
    torch.manual_seed(0)
    texture = StyleGenerator(build_generator(config), config, {}, Path("tiny"))
    frames = explore.interpolation_frames(texture, [0, 1], 4, seed=2, count=3)
    assert frames.shape == (2, 4, 3, 128, 128)
    ends = texture.decode(texture.latents(3, seed=2)[[0, 1]])
    torch.testing.assert_close(frames[0, 0], ends[0], atol=1e-6, rtol=0)
    torch.testing.assert_close(frames[0, -1], ends[1], atol=1e-6, rtol=0)


def test_slerp_keeps_the_norm_of_orthogonal_endpoints() -> None:
    z0, z1 = torch.zeros(4), torch.zeros(4)
    z0[0], z1[1] = 2.0, 2.0
    norms = explore.interpolate(z0, z1, 5, "slerp").norm(dim=1)
    torch.testing.assert_close(norms, torch.full((5,), 2.0))
    assert explore.interpolate(z0, z1, 5, "lerp").norm(dim=1)[2] < 1.5


def test_interpolation_grid_and_gif(gen: StyleGenerator, tmp_path: Path) -> None:
    grid = explore.interpolation_grid(gen, [1, 2, 3], 5)
    assert grid.size == (5 * TILE + 2, 3 * TILE + 2)
    frames = explore.interpolation_gif(gen, [1, 2, 3], 5, size=96)
    assert len(frames) == 3 * 4 and frames[0].size == (96, 96)
    path = explore.save(frames, tmp_path / "walk.gif", fps=20)
    with Image.open(path) as gif:
        assert gif.n_frames == 12
    with pytest.raises(ArtstyleError, match=r"as \.gif"):
        explore.save(frames, tmp_path / "walk.png")


def test_arithmetic_with_a_equal_b_gives_g_of_c(gen: StyleGenerator, tmp_path: Path) -> None:
    z = gen.latents(16, seed=2)
    out = explore.arithmetic_latents(z, [3, 4], [3, 4], [[5], [6]])
    assert torch.equal(out, z[[5, 6]])
    averaged = explore.arithmetic_latents(z, [1], [2], [[7, 8]])
    torch.testing.assert_close(averaged[0], z[1] - z[2] + (z[7] + z[8]) / 2)
    fig = explore.arithmetic_figure(gen, [1, 2, 3], [4], [[5], [6, 7]], seed=2, count=16)
    size = _figure_size(fig)
    path = explore.save(fig, tmp_path / "arithmetic.png")
    assert Image.open(path).size == size


def test_bad_indices_are_one_line_errors(gen: StyleGenerator) -> None:
    with pytest.raises(ArtstyleError, match=r"index 64 is out of range.*\(0\.\.63\)") as err:
        explore.interpolation_grid(gen, [0, 64], 4)
    assert "\n" not in str(err.value)
    with pytest.raises(ArtstyleError, match="at least 2 samples"):
        explore.interpolation_grid(gen, [3], 4)
    with pytest.raises(ArtstyleError, match="no sample indices"):
        explore.arithmetic_latents(gen.latents(4), [], [1], [[2]])


def test_activation_maps_have_one_panel_per_layer(
    run: Path, gen: StyleGenerator, paintings: list[Path], tmp_path: Path
) -> None:
    d = explore.load_discriminator(run)
    maps = explore.layer_activations(d, gen.sample(1)[0])
    assert [m.shape[0] for m in maps] == [4, 8, 16, 32]
    painting = paintings[0]
    fig = explore.activation_figure(d, painting, top=16, rule="deconvnet", layer=2, channel=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert [t.split(":")[0] for t in titles if t.startswith("conv")] == [
        "conv1", "conv2", "conv3", "conv4",
    ]  # fmt: skip
    assert "deconvnet: conv2 unit 3" in titles
    size = _figure_size(fig)
    assert Image.open(explore.save(fig, tmp_path / "act.png")).size == size
    grad = explore.reconstruct(d, painting, layer=4)
    assert grad.shape == (3, 64, 64) and grad.abs().sum() > 0
    with pytest.raises(ArtstyleError, match="layer 5 is out of range"):
        explore.reconstruct(d, painting, layer=5)
    with pytest.raises(ArtstyleError, match="channel 99 is out of range"):
        explore.reconstruct(d, painting, layer=1, channel=99)
    with pytest.raises(ArtstyleError, match="holds no discriminator"):
        explore.load_discriminator(run / "generator.safetensors")


def test_curves_compare_runs_and_plot_eval(run: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "tiny", tmp_path / "b" / "tiny"
    for dst in (a, b):
        dst.mkdir(parents=True)
        shutil.copy(run / "log.csv", dst / "log.csv")
    assert len(explore.plot_runs([a]).axes) == 4
    shutil.copy(run / "eval.csv", b / "eval.csv")
    fig = explore.plot_runs([a, b])
    assert len(fig.axes) == 6
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert str(a) + " D" in labels and str(b) + " G" in labels
    with pytest.raises(ArtstyleError, match=r"no log\.csv"):
        explore.plot_runs([tmp_path])


def test_progress_gif_beside_the_loss_curve(tmp_path: Path) -> None:
    # the snapshots and the loss CSV come from the real folder writer
    photo = tmp_path / "cat.png"
    write_image(synthetic_paintings(1, size=60, seed=7)[0], photo)
    painter = StyleTransfer(synthetic_paintings(2, size=40), size=48, steps=30)
    out = tmp_path / "out"
    result = paint_folder(painter, [photo], out, save_every=10)
    assert len(result.painted) == 1
    files, steps = explore.find_intermediates(out / "cat_stylized.png")
    assert steps == [10, 20, 30] and files[0].name == "cat_stylized_step0010.png"
    assert explore.find_intermediates(out) == (files, steps)
    frames = explore.progress_frames(
        files, steps, explore.read_history(out / "cat_stylized_losses.csv"), size=100
    )
    assert len(frames) == 3 and frames[0].size == (100 + 150, 100)
    assert frames[0].tobytes() != frames[1].tobytes()  # the step marker moves
    assert explore.progress_frames(files, steps, size=100)[0].size == (100, 100)
    result = CliRunner().invoke(
        app,
        [
            "explore",
            "progress",
            str(out / "cat_stylized.png"),
            "--size",
            "100",
            "-o",
            str(tmp_path / "p.gif"),
        ],
    )
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "p.gif") as gif:
        assert gif.n_frames == 3 and gif.size == (250, 100)
    with pytest.raises(ArtstyleError, match="no intermediate images"):
        explore.find_intermediates(tmp_path)


class _Images(HTMLParser):
    """Collects the id of each <figure> and the src of the <img> inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self._current = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "figure":
            self._current = attr["id"] or ""
        elif tag == "img" and self._current:
            self.figures[self._current] = attr["src"] or ""


def test_report_embeds_every_figure_and_parses(run: Path, tmp_path: Path) -> None:
    odd = shutil.copytree(run, tmp_path / "run <b>&")  # names reach the page escaped
    result = CliRunner().invoke(app, ["report", str(odd), "-o", str(tmp_path / "report.html")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    parser = _Images()
    parser.feed(text)
    parser.close()
    assert set(parser.figures) == {
        "samples",
        "curves",
        "interpolation",
        "arithmetic",
        "activations",
    }
    for src in parser.figures.values():
        mime, data = src.split(",", 1)
        assert mime == "data:image/png;base64"
        Image.open(io.BytesIO(base64.b64decode(data))).verify()
    assert "<script" not in text and "http" not in text
    assert "run &lt;b&gt;&amp;" in text and "<b>&" not in text and "Model card" in text


def test_cli_views_write_files_and_bad_input_is_one_line(run: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    gif = str(tmp_path / "w.gif")
    commands = {
        "grid.png": ["explore", "grid", str(run), "-n", "8"],
        "interp.png": ["explore", "interpolate", str(run), "--rows", "0,3", "--gif", gif],
        "arith.png": ["explore", "arithmetic", str(run), "--a", "1,2", "--b", "3", "--c", "4"],
        "act.png": ["explore", "activations", str(run), "--sample", "2", "--layer", "1"],
        "curves.png": ["explore", "curves", str(run), str(run)],
    }
    for name, args in commands.items():
        result = runner.invoke(app, [*args, "-o", str(tmp_path / name)])
        assert result.exit_code == 0, (args, result.output)
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "w.gif").exists()
    bad = runner.invoke(
        app, ["explore", "grid", str(tmp_path / "nope"), "-o", str(tmp_path / "x.png")]
    )
    assert bad.exit_code == 2 and "error:" in bad.output
    bad = runner.invoke(
        app, ["explore", "arithmetic", str(run), "--a", "1,x", "--b", "2", "--c", "3"]
    )
    assert bad.exit_code == 2 and "--a: '1,x' is not a list of sample indices" in bad.output
    bad = runner.invoke(app, ["explore", "interpolate", str(run), "--rows", "0,99"])
    assert bad.exit_code == 2 and "index 99 is out of range" in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*.tmp"))
