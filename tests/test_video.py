"""Painting a video: a tiny clip made here with PyAV (a square moving over a gradient, with a
tone as its audio track), painted at 64 px with few evaluations."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synthetic import synthetic_paintings
from typer.testing import CliRunner

from artstyle import ArtstyleError, StyleTransfer
from artstyle.cli import app
from artstyle.video import paint_video

av = pytest.importorskip("av", reason="the video extra (artstyle[video]) is not installed")
pytest.importorskip("cv2", reason="the video extra (artstyle[video]) is not installed")

SIZE, COUNT, FPS, STEP = 64, 5, 12, 4  # frame side, frames, frame rate, px the square moves
STEPS = 20  # evaluations of the first frame
SQUARE = (20, 40)  # its rows; columns 8 + STEP * t ... + 20


def _frame(t: int) -> np.ndarray:
    """Frame t: a still background and a square STEP * t px to the right, both textured, as
    filmed things are (a flat square would leave the optical flow nothing to follow inside)."""
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    image[..., 0] = 90 + 50 * np.sin(xs / 3.0) * np.cos(ys / 5.0)
    image[..., 2] = np.linspace(0, 255, SIZE, dtype=np.uint8)[None]
    spots = np.random.default_rng(0).random((10, 10)).repeat(2, 0).repeat(2, 1)
    image[SQUARE[0] : SQUARE[1], 8 + STEP * t : 28 + STEP * t] = spots[..., None] * [230, 200, 30]
    return image


def write_clip(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS)
        video.width = video.height = SIZE
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("aac", rate=8000)
        for t in range(COUNT):
            frame = av.VideoFrame.from_ndarray(_frame(t), format="rgb24")
            frame.pts = t
            out.mux(video.encode(frame))
        out.mux(video.encode())
        samples = 8000 * COUNT // FPS
        tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 8000)
        for start in range(0, samples, 1024):
            chunk = tone[None, start : start + 1024].astype(np.float32)
            piece = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            piece.sample_rate, piece.pts = 8000, start
            out.mux(audio.encode(piece))
        out.mux(audio.encode())
    return path


def describe(path: Path) -> dict[str, object]:
    """What a video file holds (read while it is open: PyAV's streams die with it)."""
    with av.open(str(path)) as clip:
        video = clip.streams.video[0]
        found: dict[str, object] = {
            "fps": video.guessed_rate,
            "size": (video.width, video.height),
            "audio": [(s.codec.name, s.sample_rate) for s in clip.streams.audio],
            "audio_packets": [
                (p.pts, bytes(p)) for p in clip.demux(audio=0) if p.dts is not None and p.size
            ],
        }
    with av.open(str(path)) as clip:
        times = [frame.time for frame in clip.decode(video=0)]
    return {**found, "frames": len(times), "times": times}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4")


@pytest.fixture(scope="module")
def painter() -> StyleTransfer:
    """A painter whose first frame ends near its minimum, as the defaults do on photos (the
    synthetic styles' loss is ten times a real batch's, hence the lower style weight)."""
    styles = synthetic_paintings(2, 64)
    return StyleTransfer(
        styles, size=SIZE, style_size=64, steps=STEPS, style_weight=4e3, device="cpu"
    )


def test_frames_rate_size_and_audio_survive(
    clip: Path, painter: StyleTransfer, tmp_path: Path
) -> None:
    out = tmp_path / "painted.mp4"
    result = paint_video(painter, clip, out, frame_steps=3)
    assert result.output == out and result.count == COUNT and result.kept == 0
    assert [o.steps for o in result.painted] == [STEPS] + [3] * (COUNT - 1)
    source, painted = describe(clip), describe(out)
    assert painted["frames"] == COUNT
    assert painted["fps"] == Fraction(FPS)
    assert painted["times"] == pytest.approx([t / FPS for t in range(COUNT)])
    assert painted["size"] == (SIZE, SIZE)
    assert painted["audio"] == [("aac", 8000)]
    assert painted["audio_packets"] == source["audio_packets"]  # copied, not re-encoded
    assert sorted(p.name for p in result.frames_dir.glob("*.png")) == [
        f"{i:06d}.png" for i in range(COUNT)
    ]


def test_a_stopped_run_resumes_at_the_first_missing_frame(
    clip: Path, painter: StyleTransfer, tmp_path: Path
) -> None:
    out = tmp_path / "painted.mp4"

    def stop_after_three(done: int, total: int | None, outcome: object) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        paint_video(painter, clip, out, on_frame=stop_after_three, frame_steps=3)
    assert not out.exists()  # the video is written only at the end
    again = paint_video(painter, clip, out, frame_steps=3)
    assert again.kept == 3
    assert [o.index for o in again.painted] == list(range(3, COUNT))
    assert describe(out)["frames"] == COUNT


def test_other_settings_do_not_mix_into_a_work_folder(
    clip: Path, painter: StyleTransfer, tmp_path: Path
) -> None:
    out = tmp_path / "painted.mp4"
    paint_video(painter, clip, out, frame_steps=2)
    with pytest.raises(ArtstyleError, match="painted with other settings"):
        paint_video(painter, clip, out, frame_steps=3)


def _warping_error(frames: list[np.ndarray]) -> float:
    """Lai et al. (2018) with the clip's true flow: the square moved STEP px right, the
    background stood still; pixels the square covered or uncovered are left out."""
    errors = []
    for t in range(1, len(frames)):
        now, before = frames[t].astype(np.float64) / 255, frames[t - 1].astype(np.float64) / 255
        warped = before.copy()
        rows, left = slice(*SQUARE), 8 + STEP * t
        warped[rows, left : left + 20] = before[rows, left - STEP : left + 20 - STEP]
        visible = np.ones((SIZE, SIZE), bool)
        visible[SQUARE[0] - 1 : SQUARE[1] + 1, left - STEP - 1 : left + 21] = False
        visible[rows, left + 1 : left + 19] = True  # inside the square, seen in both
        errors.append(np.square(now - warped).mean(-1)[visible].mean())
    return float(np.mean(errors))


def test_the_temporal_term_steadies_the_frames(
    clip: Path, painter: StyleTransfer, tmp_path: Path
) -> None:
    frames = [np.asarray(Image.fromarray(_frame(t))) for t in range(COUNT)]
    independent = [np.asarray(painter.run(Image.fromarray(f)).image) for f in frames]
    result = paint_video(painter, clip, tmp_path / "painted.mp4")
    temporal = [np.asarray(Image.open(o.path)) for o in result.painted]
    assert _warping_error(temporal) < 0.5 * _warping_error(independent)


def _one_line(*args: str | Path) -> str:
    result = CliRunner().invoke(app, ["transfer", *map(str, args)])
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    return lines[0]


@pytest.mark.parametrize("kind", ["text", "truncated", "empty"])
def test_a_file_that_is_not_a_video_is_one_line(clip: Path, tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "bad.mp4"
    content = {"text": b"not a video, just words\n", "truncated": clip.read_bytes()[:1500]}
    bad.write_bytes(content.get(kind, b""))
    line = _one_line(bad, "-o", tmp_path / "out.mp4", "--device", "cpu")
    assert str(bad) in line


def test_without_the_extra_the_install_is_named(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "av", None)  # import av now fails
    line = _one_line(clip, "-o", tmp_path / "out.mp4", "--device", "cpu")
    assert "pip install 'artstyle[video]'" in line


def test_a_folder_of_frames_gives_a_folder_of_painted_frames(
    painter: StyleTransfer, tmp_path: Path
) -> None:
    source = tmp_path / "frames"
    source.mkdir()
    for t, number in enumerate((1, 2, 10)):  # numbered without padding: frame_10 comes last
        Image.fromarray(_frame(t)).save(source / f"frame_{number}.jpg")
    result = paint_video(painter, source, tmp_path / "painted", frame_steps=2)
    assert [o.path.name for o in result.painted] == ["frame_1.png", "frame_2.png", "frame_10.png"]
    assert [o.steps for o in result.painted] == [STEPS, 2, 2]


def test_the_command_paints_a_clip_and_a_folder_of_frames(
    clip: Path, paintings: list[Path], tmp_path: Path
) -> None:
    fast = ["--styles", str(paintings[0]), "--size", "64", "--style-size", "64", "--steps", "3"]
    fast += ["--frame-steps", "2", "--device", "cpu"]
    result = CliRunner().invoke(app, ["transfer", str(clip), "-o", str(tmp_path), *fast])
    assert result.exit_code == 0, result.stderr
    out = tmp_path / "clip_stylized.mp4"
    assert result.stdout.split() == [str(out)]
    assert describe(out)["frames"] == COUNT
    frames = tmp_path / "frames"
    frames.mkdir()
    for t in range(2):
        Image.fromarray(_frame(t)).save(frames / f"{t:03d}.png")
    painted = tmp_path / "painted"
    result = CliRunner().invoke(
        app, ["transfer", str(frames), "--frames", "-o", str(painted), *fast]
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in painted.glob("*.png")) == ["000.png", "001.png"]


def test_flow_warps_a_shifted_frame_back_and_masks_what_came_into_view() -> None:
    from artstyle.video import flow

    texture = np.random.default_rng(1).random((12, 16)).repeat(6, 0).repeat(6, 1)
    before, now = texture[:, 6:86], texture[:, 3:83]  # the camera moved 3 px left
    a, b = (flow.gray(np.repeat(x[..., None], 3, -1)) for x in (before, now))
    backward = flow.flow(b, a)
    mask = flow.reliable(backward, flow.flow(a, b))
    assert mask[:, :3].max() == 0  # the strip that came into view has no past
    inside = mask[6:-6, 8:-6] > 0
    assert inside.mean() > 0.9
    warped = flow.warp(before.astype(np.float32), backward)
    assert np.abs(warped - now)[6:-6, 8:-6][inside].mean() < 0.02
