"""Optical flow between frames (OpenCV's DIS), warping by it, and where it can be trusted.

Flows are (H, W, 2) float32 arrays of (dx, dy) in pixels. `flow(a, b)` maps each pixel x of `a`
to x + flow(x) in `b`, so `warp(picture_of_b, flow(a, b))` shows `b` as seen from `a`: the
previous painted frame carried onto the current one is `warp(previous, flow(current, previous))`.

`reliable` is Ruder et al. (2016)'s mask: a pixel is dropped where the forward and backward flows
disagree (it was hidden in the other frame: disocclusion), where the flow changes sharply (motion
boundaries) and where it points outside the other frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from artstyle.video.extra import require


def _cv2() -> Any:
    return require("cv2")


def gray(picture: np.ndarray) -> np.ndarray:
    """An (H, W, 3) RGB picture, uint8 or float 0..1, as the uint8 grey image DIS reads."""
    if picture.dtype != np.uint8:
        picture = np.clip(np.rint(picture * 255), 0, 255).astype(np.uint8)
    return _cv2().cvtColor(picture, _cv2().COLOR_RGB2GRAY)


def flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense flow from grey frame `a` to grey frame `b` (DIS, the "medium" preset)."""
    cv2 = _cv2()
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(a, b, None)


def _sample_points(field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    height, width = field.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs + field[..., 0], ys + field[..., 1]


def warp(picture: np.ndarray, field: np.ndarray) -> np.ndarray:
    """`picture` (H, W) or (H, W, C), float32, sampled at x + field(x) (bilinear; outside the
    frame its border is repeated: mirroring it instead was measured no better on a pan or a
    zoom and worse with occlusions, docs/video.md)."""
    cv2 = _cv2()
    xs, ys = _sample_points(field)
    return cv2.remap(
        np.ascontiguousarray(picture, dtype=np.float32),
        xs,
        ys,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def reliable(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """(H, W) float32 mask, 1 where the flow `backward` (current -> previous) can be trusted;
    `forward` is previous -> current. Thresholds as in Ruder et al. (2016), section 3.2."""
    ahead = warp(forward, backward)  # the forward flow where each pixel came from
    round_trip = np.square(backward + ahead).sum(-1)
    scale = np.square(backward).sum(-1) + np.square(ahead).sum(-1)
    disoccluded = round_trip > 0.01 * scale + 0.5
    du_y, du_x = np.gradient(backward[..., 0])
    dv_y, dv_x = np.gradient(backward[..., 1])
    gradient = du_x**2 + du_y**2 + dv_x**2 + dv_y**2
    boundary = gradient > 0.01 * np.square(backward).sum(-1) + 0.002
    return (~(disoccluded | boundary | entering(backward))).astype(np.float32)


def entering(field: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose flow `field` points outside the other frame (what a pan or
    zoom brings into view), where warping has only the border to repeat."""
    height, width = field.shape[:2]
    xs, ys = _sample_points(field)
    return (xs < 0) | (xs > width - 1) | (ys < 0) | (ys > height - 1)
