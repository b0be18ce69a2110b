"""Painting a video with temporal coherence (Ruder, Dosovitskiy and Brox 2016): each frame after
the first starts from the previous painted frame warped by the optical flow and is kept close to
it by a temporal loss wherever the flow is reliable.

    from artstyle import StylePipeline
    StylePipeline.from_pretrained().video("clip.mp4", "painted.mp4")

Decoding and encoding use PyAV and the flow OpenCV's DIS, both in the `video` extra
(`pip install 'artstyle[video]'`); they are imported on first use, so this package imports
without them. `clip` reads videos and folders of frames and writes the painted video, `flow`
holds the optical flow and its reliability, `paint` the resumable frame loop.
"""

from __future__ import annotations

from artstyle.video.clip import VIDEO_SUFFIXES, is_video
from artstyle.video.paint import FrameOutcome, VideoResult, paint_video

__all__ = ["VIDEO_SUFFIXES", "FrameOutcome", "VideoResult", "is_video", "paint_video"]
