"""Luminance-only transfer (Gatys et al. 2016): paint the Y channel, keep the photo's colours."""

from __future__ import annotations

import torch

_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def _mix(matrix: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(image), image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """RGB (B, 3, H, W) -> its luminance Y repeated in three channels (a grey RGB image)."""
    return _mix(_RGB_TO_YIQ[:1], image).expand(-1, 3, -1, -1).contiguous()


def restore_color(painted: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """The luminance of `painted` with the chrominance (I, Q) of `photo`, as RGB in 0..1."""
    yiq = _mix(_RGB_TO_YIQ, photo)
    yiq = torch.cat([_mix(_RGB_TO_YIQ[:1], painted), yiq[:, 1:]], dim=1)
    return _mix(_YIQ_TO_RGB, yiq).clamp(0, 1)
