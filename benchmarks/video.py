"""Painting a video: independent frames against the temporal method, on clips whose flow is known.

Three clips are rendered from the Kodak photos (`../shared/data/photos`) with known camera motion,
so the true flow between frames is known exactly: a slow pan, a zoom into the centre, and a pan
with a region of a second photo moving across it the other way (occlusions and disocclusions).
Each clip is painted twice with the default learned style:

- **independent**: each frame painted on its own as a photo (`StyleTransfer.run`, `steps`), what
  `artstyle transfer` does to a folder of frames;
- **temporal**: `artstyle.video.paint_video` (warm start from the previous painted frame warped
  by DIS flow, temporal loss under the reliability mask, `frame_steps` after the first).

Columns: the **warping error** of Lai et al. (2018), the mean squared difference (0..1 pixels)
between each painted frame and the previous painted frame warped by the *true* flow, over the
pixels visible in both frames, averaged over frames; the mean per-frame **style loss** against
the style targets (`StyleTransfer.score`); seconds and evaluations per frame (mean over all
frames, and after the first). The `input` rows are the warping error of the unpainted frames, the
floor set by resampling. `--weights 0,300,1000` paints the temporal method once per weight (the
sweep that chose `VideoConfig.temporal_weight`).

    python benchmarks/video.py                           # 192 px, 10 frames a clip
    python benchmarks/video.py --size 512 --frames 8     # the issue's size
    python benchmarks/video.py --weights 0,100,1000,10000 --frame-steps 10
    python benchmarks/video.py long --size 512 --frames 120   # the 5-s clip: audio, kill -9

`long` renders a 24-fps pan with an audio track as an .mp4, runs `artstyle transfer` on it as a
subprocess, kills it (-9) once `--kill-after` frames are painted, runs it again to the end and
checks the output's frame count, rate, size and audio against the source.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image
from rich.console import Console

from artstyle import StylePipeline, StyleTransfer, VideoConfig
from artstyle.images import image_grid
from artstyle.video import paint_video

#: The Kodak photos, beside the repository (`--photos` elsewhere, e.g. from a worktree).
PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"
console = Console(stderr=True)


@dataclass
class Scene:
    """A rendered clip: frames (uint8 RGB) and, for each frame after the first, the true
    backward flow (to the frame before) and the mask of pixels visible in both."""

    name: str
    frames: list[np.ndarray]
    flows: list[np.ndarray]
    visible: list[np.ndarray]


def _photo(number: int, height: int, min_width: float = 0) -> np.ndarray:
    """Kodak photo `number`, resized to `height` rows (more if needed for `min_width`
    columns), float32 0..255."""
    image = Image.open(PHOTOS / f"photo_{number:04d}.jpg").convert("RGB")
    height = max(height, int(np.ceil(min_width * image.height / image.width)))
    width = round(image.width * height / image.height)
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS), np.float32)


def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def _sample(picture: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    xs, ys = xs.astype(np.float32), ys.astype(np.float32)
    out = cv2.remap(picture, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _inside(xs: np.ndarray, ys: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    left, top, right, bottom = box
    return (xs >= left) & (xs < right) & (ys >= top) & (ys < bottom)


def _in_frame(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    height, width = xs.shape
    return (xs >= 0) & (xs <= width - 1) & (ys >= 0) & (ys <= height - 1)


def pan(width: int, height: int, count: int, speed: float, photo: int = 1) -> Scene:
    """The camera moves right by `speed` px a frame: frame t shows the photo at x + speed t."""
    picture = _photo(photo, round(height * 1.1), width + speed * count + 2)
    top = (picture.shape[0] - height) / 2
    xs, ys = _grid(height, width)
    frames = [_sample(picture, xs + speed * t, ys + top) for t in range(count)]
    flow = np.stack([np.full_like(xs, speed), np.zeros_like(ys)], -1)
    visible = _in_frame(xs + speed, ys)
    return Scene("pan", frames, [flow] * (count - 1), [visible] * (count - 1))


def zoom(width: int, height: int, count: int, rate: float, photo: int = 3) -> Scene:
    """The camera zooms into the centre: frame t shows the photo at scale rate**t."""
    picture = _photo(photo, height, width)
    centre = np.array([picture.shape[1] - 1, picture.shape[0] - 1]) / 2
    xs, ys = _grid(height, width)
    cx, cy = (width - 1) / 2, (height - 1) / 2
    frames = []
    for t in range(count):
        scale = rate**t
        frames.append(
            _sample(picture, centre[0] + scale * (xs - cx), centre[1] + scale * (ys - cy))
        )
    # x in frame t came from c + (x - c) / rate in frame t-1 (scale_t / scale_{t-1} = rate)
    back_x, back_y = cx + (xs - cx) * rate, cy + (ys - cy) * rate
    flow = np.stack([back_x - xs, back_y - ys], -1)
    visible = _in_frame(back_x, back_y)
    return Scene("zoom", frames, [flow] * (count - 1), [visible] * (count - 1))


def occlusion(width: int, height: int, count: int, speed: float) -> Scene:
    """The pan, with a region of a second photo moving left across it at 3 x the speed
    (whole pixels, so its edges stay sharp): the background is hidden and uncovered."""
    background = pan(width, height, count, speed)
    patch = _photo(23, round(height * 0.55))
    box_w, box_h = round(width * 0.35), patch.shape[0]
    step = max(1, round(3 * speed))
    top = (height - box_h) // 2
    xs, ys = _grid(height, width)

    def box(t: int) -> tuple[float, float, float, float]:
        left = width - box_w - 2 - step * t
        return left, top, left + box_w, top + box_h

    frames, flows, visible = [], [], []
    for t in range(count):
        left, _, _, _ = box(t)
        inside = _inside(xs, ys, box(t))
        frame = background.frames[t].copy()
        sampled = _sample(patch, xs - left + 20, ys - top)
        frame[inside] = sampled[inside]
        frames.append(frame)
        if t == 0:
            continue
        flow = background.flows[t - 1].copy()
        flow[inside] = (step, 0.0)
        back_x, back_y = xs + flow[..., 0], ys + flow[..., 1]
        was_patch = _inside(back_x, back_y, box(t - 1))
        seen = _in_frame(back_x, back_y) & (inside == was_patch)
        seen &= ~_inside(xs, ys, _grown(box(t), 1)) | _inside(xs, ys, _grown(box(t), -1))
        flows.append(flow)
        visible.append(seen)
    return Scene("pan+occlusion", frames, flows, visible)


def _grown(box: tuple[float, float, float, float], by: float) -> tuple[float, float, float, float]:
    left, top, right, bottom = box
    return left - by, top - by, right + by, bottom + by


def warping_error(frames: list[np.ndarray], scene: Scene) -> float:
    """Lai et al. (2018): mean over frames of the masked MSE between each frame and the one
    before it warped by the true flow (pixels 0..1)."""
    errors = []
    for t in range(1, len(frames)):
        xs, ys = _grid(*frames[t].shape[:2])
        flow = scene.flows[t - 1]
        last = frames[t - 1].astype(np.float32) / 255
        back_x, back_y = (
            (xs + flow[..., 0]).astype(np.float32),
            (ys + flow[..., 1]).astype(np.float32),
        )
        warped = cv2.remap(last, back_x, back_y, cv2.INTER_LINEAR)
        diff = np.square(frames[t].astype(np.float32) / 255 - warped).mean(-1)
        mask = scene.visible[t - 1]
        errors.append(float(diff[mask].mean()))
    return float(np.mean(errors))


@dataclass
class Painted:
    frames: list[np.ndarray]
    seconds: list[float]
    steps: list[int]


def independent(painter: StyleTransfer, scene: Scene) -> Painted:
    out = Painted([], [], [])
    for frame in scene.frames:
        result = painter.run(Image.fromarray(frame))
        out.frames.append(np.asarray(result.image))
        out.seconds.append(result.seconds)
        out.steps.append(len(result.history))
    return out


def temporal(painter: StyleTransfer, scene: Scene, weight: float, frame_steps: int) -> Painted:
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "in", Path(tmp) / "out"
        source.mkdir()
        for t, frame in enumerate(scene.frames):
            Image.fromarray(frame).save(source / f"{t:04d}.png")
        result = paint_video(
            painter, source, target, temporal_weight=weight, frame_steps=frame_steps
        )
        frames = [np.asarray(Image.open(o.path).convert("RGB")) for o in result.painted]
        return Painted(
            frames, [o.seconds for o in result.painted], [o.steps for o in result.painted]
        )


def style_loss(painter: StyleTransfer, scene: Scene, painted: Painted) -> float:
    scores = [
        painter.score(Image.fromarray(f), Image.fromarray(p))["style"]
        for f, p in zip(scene.frames, painted.frames)
    ]
    return float(np.mean(scores))


def scenes(width: int, height: int, count: int, names: list[str]) -> list[Scene]:
    """The clips named (pan, zoom, occlusion): a pan moves 1.5 px a frame at 256 px."""
    speed = 1.5 * width / 256
    makers = {
        "pan": lambda: pan(width, height, count, speed),
        "zoom": lambda: zoom(width, height, count, 0.985),
        "occlusion": lambda: occlusion(width, height, count, speed),
    }
    return [makers[name]() for name in names]


def table(args: argparse.Namespace) -> None:
    width, height = args.size, 2 * round(args.size / 3)
    painter = StylePipeline.from_pretrained(size=args.size).transfer
    weights = [float(w) for w in args.weights.split(",")]
    print(
        f"video: {args.frames} frames of {width}x{height}, steps {painter.config.schedule.steps}, "
        f"frame_steps {args.frame_steps}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}\n"
    )
    columns = (
        "clip", "method", "warping error", "x independent", "style loss", "vs independent",
        "s/frame", "s/frame after 1st", "x independent", "evals/frame after 1st",
    )  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for scene in scenes(width, height, args.frames, args.clips.split(",")):
        floor = warping_error(scene.frames, scene)
        print(f"| {scene.name} | input | {floor:.6f} |" + " |" * (len(columns) - 3))
        runs: list[tuple[str, Callable[[], Painted]]] = [
            ("independent", lambda s=scene: independent(painter, s))
        ]
        runs += [
            (f"temporal w={w:g}", lambda s=scene, w=w: temporal(painter, s, w, args.frame_steps))
            for w in weights
        ]
        base: tuple[float, float, float] | None = None
        rows: list[tuple[str, Painted]] = []
        for method, run in runs:
            painted = run()
            rows.append((method, painted))
            error = warping_error(painted.frames, scene)
            style = style_loss(painter, scene, painted)
            later = float(np.mean(painted.seconds[1:]))
            base = base or (error, style, float(np.mean(painted.seconds)))
            cells = (
                scene.name, method, f"{error:.6f}", f"{error / base[0]:.2f}", f"{style:.5g}",
                f"{style / base[1] - 1:+.1%}", f"{np.mean(painted.seconds):.2f}",
                f"{later:.2f}", f"{later / base[2]:.2f}", f"{np.mean(painted.steps[1:]):.1f}",
            )  # fmt: skip
            print("| " + " | ".join(cells) + " |", flush=True)
        if args.strip:
            _strip(scene, rows, args.strip)


def _strip(scene: Scene, rows: list[tuple[str, Painted]], folder: Path) -> None:
    """Every other frame of the clip, painted by each method: one row each (a PNG)."""
    shown = range(0, len(scene.frames), 2)
    tiles = [Image.fromarray(scene.frames[t]) for t in shown]
    labels = [f"frame {t}" for t in shown]
    for method, painted in rows:
        tiles += [Image.fromarray(painted.frames[t]) for t in shown]
        labels += [method if t == 0 else "" for t in shown]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"video_{scene.name.replace('+', '_')}.png"
    image_grid(tiles, len(shown), labels=labels).save(path)
    console.print(f"strip: {path}")


def write_clip(path: Path, scene: Scene, fps: int) -> None:
    """The scene as an H.264 .mp4 at `fps` with a 440-Hz AAC tone as long as the video."""
    rate = 16000
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.height, video.width = scene.frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        audio = out.add_stream("aac", rate=rate)
        for t, frame in enumerate(scene.frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts = t
            out.mux(video.encode(picture))
        out.mux(video.encode())
        samples = rate * len(scene.frames) // fps
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / rate)).astype(np.float32)
        for start in range(0, samples, 1024):
            chunk = av.AudioFrame.from_ndarray(
                tone[None, start : start + 1024], format="fltp", layout="mono"
            )
            chunk.sample_rate, chunk.pts = rate, start
            out.mux(audio.encode(chunk))
        out.mux(audio.encode())


def describe(path: Path) -> tuple[int, Fraction, tuple[int, int], str, float]:
    """(frames decoded, frame rate, size, audio codec, audio seconds) of a video file."""
    with av.open(str(path)) as clip:
        video, audio = clip.streams.video[0], clip.streams.audio[0]
        count = sum(1 for _ in clip.decode(video=0))
        seconds = float(audio.duration * audio.time_base)
        return count, video.average_rate, (video.width, video.height), audio.codec.name, seconds


def long_run(args: argparse.Namespace) -> None:
    """The 5-second clip: painted to the end through the CLI, killed once on the way."""
    width, height = args.size, 2 * round(args.size / 3)
    folder = Path(args.workdir)
    folder.mkdir(parents=True, exist_ok=True)
    source, target = folder / "pan.mp4", folder / "painted.mp4"
    frames_dir = target.with_name(target.name + ".frames")
    if not source.exists():
        write_clip(source, pan(width, height, args.frames, 1.0, photo=1), fps=24)
    command = [sys.executable, "-m", "artstyle", "transfer", str(source), "-o", str(target)]
    command += ["--size", str(args.size), "--frame-steps", str(args.frame_steps)]
    command += ["--temporal-weight", args.weights.split(",")[0]]
    start = time.time()
    first = subprocess.Popen(command)
    while first.poll() is None and len(list(frames_dir.glob("*.png"))) < args.kill_after:
        time.sleep(5)
    if first.poll() is None:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        console.print(f"killed (-9) after {len(list(frames_dir.glob('*.png')))} frames")
    code = subprocess.run(command).returncode
    console.print(f"second run exit {code}; {time.time() - start:.0f} s in all")
    console.print(f"source:  {describe(source)}")
    console.print(f"painted: {describe(target)}")


def main() -> None:
    global PHOTOS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", nargs="?", choices=["table", "long"], default="table")
    parser.add_argument("--size", type=int, default=192, help="frame width (height 2/3)")
    parser.add_argument("--frames", type=int, default=10)
    defaults = VideoConfig()
    parser.add_argument(
        "--weights", default=f"{defaults.temporal_weight:g}", help="temporal weights, e.g. 0,1e3"
    )
    parser.add_argument("--frame-steps", type=int, default=defaults.frame_steps)
    parser.add_argument("--kill-after", type=int, default=20, help="long: frames before kill")
    parser.add_argument("--workdir", default="/tmp/artstyle-video-long", help="long: files")
    parser.add_argument("--clips", default="pan,zoom,occlusion", help="which clips to paint")
    parser.add_argument("--strip", type=Path, help="write a strip of frames per clip here")
    parser.add_argument("--photos", type=Path, default=PHOTOS, help="the Kodak photos")
    args = parser.parse_args()
    PHOTOS = args.photos
    table(args) if args.mode == "table" else long_run(args)


if __name__ == "__main__":
    main()
