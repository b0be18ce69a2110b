"""The frame loop: paint a clip frame by frame, each frame kept on disk as it is finished.

The first frame is painted as a photo (`steps` evaluations from the frame). Each later frame
starts from the previous painted frame warped onto it by the optical flow, and adds the temporal
loss towards that warped frame where the flow is reliable (`VideoConfig.temporal_weight`), so
it needs fewer evaluations (`frame_steps`) and lands near the frame before it instead of in
another local minimum (Ruder et al. 2016).

Painted frames are PNG files in a work folder (`painted.mp4.frames/` beside a video output; the
output folder itself for a folder of frames), written atomically: a stopped run (Ctrl-C, kill -9)
starts again at the first frame that is not there, from the last painted frame on disk. Only two
frames are held at a time, so memory stays flat over any length of clip. The video is encoded
from the work folder at the end, also atomically.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from artstyle import atomic
from artstyle.config import TransferConfig, VideoConfig, with_overrides
from artstyle.errors import ArtstyleError
from artstyle.images import fit_longest, read_image, refuse_overwrite, to_tensor, write_image
from artstyle.nst import StyleTransfer, TemporalAnchor
from artstyle.settings import by_path, given_settings, nest
from artstyle.video import flow
from artstyle.video.clip import encode, open_clip

#: The settings a work folder's frames were painted with, beside them.
SETTINGS_FILE = "artstyle-video.json"


@dataclass
class FrameOutcome:
    """One frame painted by this run: its file, time, evaluations and final losses."""

    index: int
    path: Path
    seconds: float
    steps: int
    losses: dict[str, float]


@dataclass
class VideoResult:
    """A painted clip: the output (a video, or the folder of painted frames), the work folder,
    how many frames it has, those found already painted, and those painted by this run."""

    output: Path
    frames_dir: Path
    count: int = 0
    kept: int = 0
    painted: list[FrameOutcome] = field(default_factory=list)


#: Called after each frame: (frames done, frames in the clip if known, this run's outcome or
#: None for a frame found already painted).
FrameCallback = Callable[[int, int | None, FrameOutcome | None], None]


def frames_dir_of(source: Path, out: Path) -> Path:
    """Where the painted frames of `source` are kept: the output folder for a folder of
    frames, else `OUT.frames/` beside the video."""
    return out if source.is_dir() else out.with_name(out.name + ".frames")


def paint_video(
    painter: StyleTransfer,
    source: str | Path,
    out: str | Path,
    config: VideoConfig | None = None,
    on_frame: FrameCallback | None = None,
    **overrides: Any,
) -> VideoResult:
    """Paint the video (or folder of frames) `source` into `out` (a video file, or a folder of
    frames for a folder) with `painter`'s style; resumes where a stopped run left off.

    Frames are painted at `painter.config.schedule.size` (longest side; even sides, as video
    encoders need). `overrides` are `VideoConfig` settings: `paint_video(p, "a.mp4", "b.mp4",
    temporal_weight=0)`.
    """
    cfg = with_overrides(VideoConfig, config, overrides)
    source, out = Path(source), Path(out)
    clip = open_clip(source)
    refuse_overwrite(out, [source])
    result = VideoResult(out, frames_dir_of(source, out))
    _claim(result.frames_dir, painter, cfg)
    names: list[str] = []
    previous: tuple[np.ndarray, Path] | None = None  # the last frame (grey) and its painting
    shape: tuple[int, int] | None = None
    for name, image in clip.frames():
        shape = shape or _painted_size(image.size, painter)
        frame = np.asarray(image.resize(shape, Image.Resampling.LANCZOS), dtype=np.uint8)
        path = result.frames_dir / name
        outcome = None
        if path.exists():
            result.kept += 1
        else:
            outcome = _paint_frame(painter, cfg, frame, previous)
            write_image(outcome.image, path, protect=[source, *clip.files])
            result.painted.append(FrameOutcome(len(names), path, *outcome.stats))
        names.append(name)
        previous = (flow.gray(frame), path)
        if on_frame is not None:
            on_frame(len(names), clip.count, result.painted[-1] if outcome else None)
    if not names:
        raise ArtstyleError(f"{source}: no video frames in this file")
    result.count = len(names)
    if not clip.is_folder:
        encode([result.frames_dir / n for n in names], clip, out)
    return result


def _painted_size(size: tuple[int, int], painter: StyleTransfer) -> tuple[int, int]:
    """(width, height) frames are painted at: the longest side `size`, both sides even."""
    width, height = fit_longest(size, painter.config.schedule.size, painter.net.min_side)
    return max(2, width - width % 2), max(2, height - height % 2)


@dataclass
class _Painted:
    image: Image.Image
    stats: tuple[float, int, dict[str, float]]  # seconds, evaluations, losses


def _paint_frame(
    painter: StyleTransfer,
    cfg: VideoConfig,
    frame: np.ndarray,
    previous: tuple[np.ndarray, Path] | None,
) -> _Painted:
    """Paint one frame: from itself when it is the first, else from the previous painting
    warped by the flow, with the temporal loss. Its seconds include the flow."""
    begin = time.perf_counter()
    tensor = to_tensor(Image.fromarray(frame))
    if previous is None:
        steps, start, anchor = painter.config.schedule.steps, tensor, None
    else:
        last_gray, last_path = previous
        current = flow.gray(frame)
        backward = flow.flow(current, last_gray)
        mask = flow.reliable(backward, flow.flow(last_gray, current))
        last = np.asarray(read_image(last_path), dtype=np.float32) / 255
        if last.shape[:2] != frame.shape[:2]:
            raise ArtstyleError(f"{last_path}: painted at another size; remove the frames")
        warped = _tensor(flow.warp(last, backward))
        start, steps = warped, cfg.frame_steps
        anchor = TemporalAnchor(warped, _tensor(mask[..., None]), cfg.temporal_weight)
    result = painter.run_frame(tensor, start, steps, anchor)
    seconds = time.perf_counter() - begin
    return _Painted(result.image, (seconds, len(result.history), result.losses))


def _tensor(picture: np.ndarray) -> torch.Tensor:
    """(H, W, C) float 0..1 -> (1, C, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(picture, np.float32)).permute(2, 0, 1).unsqueeze(0)


def _claim(folder: Path, painter: StyleTransfer, cfg: VideoConfig) -> None:
    """Record the settings in the work folder, or check that its frames were painted with
    these: resuming with other settings would mix two looks in one clip."""
    settings = {"transfer": _comparable(painter.config), "video": cfg.model_dump()}
    path = folder / SETTINGS_FILE
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            stored["transfer"] = _stored(stored["transfer"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            stored = None
        if stored != settings:
            raise ArtstyleError(
                f"{folder}: its frames were painted with other settings; remove the folder to "
                "paint the clip again, or paint into another output"
            )
        return
    atomic.write_text(path, json.dumps(settings, indent=1, sort_keys=True))


def _comparable(config: TransferConfig) -> dict[str, Any]:
    """The settings a clip's frames depend on (all but the device), as JSON."""
    settings = config.model_dump(mode="json")
    settings["machine"].pop("device", None)
    return settings


def _stored(transfer: dict[str, Any]) -> dict[str, Any] | None:
    """The transfer settings a work folder records (flat if written before the settings had
    sections), comparable with `_comparable`'s; None unless it names every one of them (a
    setting added since may not have been what its default does now)."""
    given = nest(TransferConfig, transfer)
    named = {path for path, setting in given_settings(TransferConfig, given) if setting}
    if named != set(by_path(TransferConfig)) - {"machine.device"}:
        return None
    return _comparable(TransferConfig.model_validate(given))
