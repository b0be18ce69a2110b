"""Where frames come from and where the painted video goes: a video file (decoded frame by frame
with PyAV) or a folder of numbered frames; the painted frames encoded into a video whose audio
packets are copied from the source, not re-encoded.

Frames are streamed, one at a time, so memory does not grow with the length of a clip. Any
failure of the decoder or the muxer is one `ArtstyleError` naming the file.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from PIL import Image

from artstyle.atomic import atomic_path
from artstyle.errors import ArtstyleError, OutputError
from artstyle.images import IMAGE_SUFFIXES, read_image
from artstyle.video.extra import require

#: Container -> (FFmpeg muxer, video encoder) of the outputs this module writes.
_WRITERS: dict[str, tuple[str, str]] = {
    ".mp4": ("mp4", "libx264"),
    ".m4v": ("mp4", "libx264"),
    ".mov": ("mov", "libx264"),
    ".mkv": ("matroska", "libx264"),
    ".webm": ("webm", "libvpx-vp9"),
    ".avi": ("avi", "mpeg4"),
}

#: Suffixes read as videos (any container FFmpeg reads works; these say "video" to the CLI).
VIDEO_SUFFIXES = frozenset(_WRITERS) | {".mpg", ".mpeg", ".ts", ".m2ts", ".wmv", ".flv", ".3gp"}

#: Encoder options: libx264 at a quality that keeps brush strokes (CRF 18, near lossless).
_ENCODER_OPTIONS = {"libx264": {"crf": "18", "preset": "medium"}}


def is_video(path: Path) -> bool:
    """Whether `path` names a video file (by its suffix; the decoder says whether it is one)."""
    return path.suffix.lower() in VIDEO_SUFFIXES and not path.is_dir()


@dataclass(frozen=True)
class Clip:
    """A video file or a folder of frames: what the frame loop reads."""

    path: Path
    fps: Fraction | None  # None for a folder of frames
    count: int | None  # frames, when the container says
    audio: bool
    files: Sequence[Path] = ()  # the frames of a folder, in order

    @property
    def is_folder(self) -> bool:
        return self.fps is None

    def frames(self) -> Iterator[tuple[str, Image.Image]]:
        """(name of the painted frame's file, picture) for each frame, in order."""
        if self.is_folder:
            for file in self.files:
                yield f"{file.stem}.png", read_image(file)
            return
        for index, frame in enumerate(_decode(self.path)):
            yield f"{index:06d}.png", frame


def open_clip(path: str | Path) -> Clip:
    """A video file or a folder of frames, checked: one error line if it cannot be read."""
    path = Path(path)
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
            key=_natural,
        )
        if not files:
            raise ArtstyleError(f"{path}: no frames (images) in this folder")
        return Clip(path, None, len(files), False, files)
    if not path.is_file():
        raise ArtstyleError(f"{path}: no such file or folder")
    if path.stat().st_size == 0:
        raise ArtstyleError(f"{path}: empty file (zero bytes), not a video")
    with _reading(path) as container:
        if not container.streams.video:
            raise ArtstyleError(f"{path}: no video stream in this file")
        stream = container.streams.video[0]
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not fps:
            raise ArtstyleError(f"{path}: the video stream has no frame rate")
        return Clip(path, Fraction(fps), stream.frames or None, bool(container.streams.audio))


def _natural(path: Path) -> list[Any]:
    """Sort key reading runs of digits as numbers: frame_2 before frame_10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.name)]


@contextlib.contextmanager
def _reading(path: Path) -> Iterator[Any]:
    """`av.open` for reading, its errors (a text file, a truncated or corrupt file) turned into
    one `ArtstyleError` naming the file."""
    av = require("av")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise _read_error(path, exc) from None
    try:
        yield container
    finally:
        container.close()


def _read_error(path: Path, exc: BaseException) -> ArtstyleError:
    reason = getattr(exc, "strerror", None) or str(exc)
    return ArtstyleError(f"{path}: not a readable video ({reason})")


def _decode(path: Path) -> Iterator[Image.Image]:
    """The frames of the first video stream as RGB pictures, one at a time."""
    with _reading(path) as container:
        av = require("av")
        try:
            for frame in container.decode(video=0):
                yield frame.to_image()
        except (av.error.FFmpegError, ValueError) as exc:
            raise _read_error(path, exc) from None


def encode(frames: Sequence[Path], clip: Clip, out: Path) -> Path:
    """Write `frames` (PNG files, in order) as the video `out` at the clip's frame rate, with
    the clip's audio packets copied; atomically, so a killed run leaves no partial video."""
    if clip.fps is None:
        raise ArtstyleError("a folder of frames is painted into a folder of frames")
    writer = _WRITERS.get(out.suffix.lower())
    if writer is None:
        known = ", ".join(sorted(_WRITERS))
        raise OutputError(f"{out}: cannot write a {out.suffix!r} video (use one of {known})")
    av = require("av")
    muxer, codec = writer
    with atomic_path(out) as tmp:
        try:
            with av.open(str(tmp), "w", format=muxer) as dst, _reading(clip.path) as src:
                _write(av, dst, src, codec, frames, clip.fps)
        except av.error.FFmpegError as exc:
            raise OutputError(f"{out}: cannot write the video ({exc})") from None
    return out


def _write(av: Any, dst: Any, src: Any, codec: str, frames: Sequence[Path], fps: Fraction) -> None:
    """Encode the frames into `dst` and copy `src`'s first audio stream, interleaved by time
    (audio packets up to each video packet's time go first), so the muxer buffers little."""
    width, height = Image.open(frames[0]).size
    video = dst.add_stream(codec, rate=fps)
    video.width, video.height = width, height
    video.pix_fmt = "yuv420p"
    video.options = _ENCODER_OPTIONS.get(codec, {})
    audio_in = src.streams.audio[0] if src.streams.audio else None
    audio = _AudioCopy(dst, audio_in)

    def mux(packets: Any) -> None:
        for packet in packets:
            if packet.pts is not None:
                audio.until(packet.pts * packet.time_base)
            dst.mux(packet)

    for index, path in enumerate(frames):
        with Image.open(path) as image:
            frame = av.VideoFrame.from_image(image.convert("RGB"))
        frame.pts = index
        frame.time_base = 1 / fps
        mux(video.encode(frame))
    mux(video.encode())
    audio.until(None)


class _AudioCopy:
    """The source's audio packets remuxed into `dst` as they are (no decoding)."""

    def __init__(self, dst: Any, stream: Any) -> None:
        self.dst = dst
        self.stream = stream
        self.out = None if stream is None else dst.add_stream_from_template(stream)
        self.packets = iter(()) if stream is None else _audio_packets(stream)
        self.start = 0 if stream is None or stream.start_time is None else stream.start_time
        self.waiting: Any = None

    def until(self, time: Fraction | None) -> None:
        """Mux the packets that start before `time` (all of them for None)."""
        while True:
            packet = self.waiting or next(self.packets, None)
            if packet is None:
                return
            if time is not None and (packet.pts - self.start) * packet.time_base > time:
                self.waiting = packet
                return
            self.waiting = None
            packet.stream = self.out
            self.dst.mux(packet)


def _audio_packets(stream: Any) -> Iterator[Any]:
    """The audio stream's packets that carry data (demuxing ends with empty flush packets)."""
    for packet in stream.container.demux(stream):
        if packet.dts is not None and packet.pts is not None:
            yield packet
