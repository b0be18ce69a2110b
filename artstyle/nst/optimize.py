"""The optimisation loop: L-BFGS or Adam over the pixels, one callback per loss evaluation.

A "step" is one evaluation of the loss and its gradient (one forward and backward pass), for both
optimisers, so that `steps` means the same cost whichever is used. L-BFGS's line search may try
points worse than the last one, so the result is the lowest-loss image evaluated, not the last.

torch's L-BFGS makes its first step lr / |g|_1 long: on a 512-px image about a millionth of a level
per value, and its line search then spends about five evaluations growing it (the reference
curves in `benchmarks/reference/` sit flat for their first five evaluations). L-BFGS optimises the
image in units chosen so that this first step moves each value by `first_step` on average; the
steps after it do not depend on the units (quasi-Newton steps scale with them).

What is optimised is a change to the starting image, passed through a pyramid (`pyramid`): the
change plus itself averaged down to 1/2, 1/4, ... of the size and brought back up. A gradient
step then moves broad areas (a sky's colour, the light of a wall) as far as fine detail, where on
bare pixels they crawl; L-BFGS from the photo reaches a given loss in fewer evaluations. The loss
is taken on the picture clamped to 0..1 (`bounded`), the one returned and saved, so no evaluation
is spent on values the saved picture cannot keep.

The images of a batch (N, 3, H, W) are independent problems optimised as one: the loss terms are
per image (shape (N,)), their sum is minimised, and each image keeps its own best and history.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

Optimizer = Literal["lbfgs", "adam"]

#: Called after each step with (step starting at 1, losses, current image (1, 3, H, W) in 0..1).
Callback = Callable[[int, dict[str, float], torch.Tensor], None]

#: The same for a batch: (step, each image's losses, current images (N, 3, H, W) in 0..1).
BatchCallback = Callable[[int, list[dict[str, float]], torch.Tensor], None]

#: Maps the images being optimised to named loss terms, one value per image (shape (N,));
#: "total" is the one minimised (summed over the images).
LossFn = Callable[[torch.Tensor], dict[str, torch.Tensor]]

DEFAULT_LR: dict[str, float] = {"lbfgs": 1.0, "adam": 0.02}

#: L-BFGS's first step, as the mean change of a value of the optimised change (0..1 scale).
FIRST_STEP = 0.01


def _halve(x: torch.Tensor) -> torch.Tensor:
    """Means over 2 x 2 blocks, an odd last row or column dropped (as `F.avg_pool2d(x, 2)`, whose
    backward pass keeps `x`: this one keeps nothing, which matters at 4096 px)."""
    height, width = x.shape[-2] // 2, x.shape[-1] // 2
    blocks = x[..., : 2 * height, : 2 * width].unflatten(-1, (width, 2))
    return blocks.unflatten(-3, (height, 2)).mean((-3, -1))


def pyramid(change: torch.Tensor, levels: int) -> torch.Tensor:
    """`change` (N, C, H, W) plus itself averaged over 2 x 2, 4 x 4, ... blocks (`levels`
    times, while the side allows) and upsampled back (bilinear): a preconditioner whose gain is
    levels + 1 for a constant and 1 for a one-pixel checkerboard. It is linear, so its gradient
    (its transpose) lifts broad changes of the gradient the same way."""
    scales = [change]
    for _ in range(levels):
        if min(scales[-1].shape[-2:]) < 2:
            break
        scales.append(_halve(scales[-1]))
    total = scales.pop()
    while scales:
        finer = scales.pop()
        total = finer + F.interpolate(total, size=finer.shape[-2:], mode="bilinear")
    return total


def _clamp(image: torch.Tensor) -> torch.Tensor:
    """`image.clamp(0, 1)` whose backward pass keeps a boolean mask instead of the float image."""
    inside = (image >= 0) & (image <= 1)
    return torch.where(inside, image, image.detach().clamp(0, 1))


class _Done(Exception):
    """Raised from inside L-BFGS's closure once the step budget is spent."""


@dataclass
class _Best:
    """The lowest-loss version of each image seen so far, and each image's loss history."""

    image: torch.Tensor
    loss: list[float]
    history: list[list[dict[str, float]]]

    @classmethod
    def of(cls, image: torch.Tensor) -> _Best:
        n = image.shape[0]
        return cls(image.detach().clone(), [float("inf")] * n, [[] for _ in range(n)])

    def record(self, image: torch.Tensor, rows: list[dict[str, float]]) -> None:
        for i, values in enumerate(rows):
            self.history[i].append(values)
            if values["total"] < self.loss[i]:
                self.loss[i] = values["total"]
                self.image[i] = image[i].detach()


def _rows(losses: dict[str, torch.Tensor], n: int) -> list[dict[str, float]]:
    """Per-image loss values as floats, from terms of shape (N,)."""
    columns = {k: v.detach().tolist() for k, v in losses.items()}
    return [{k: values[i] for k, values in columns.items()} for i in range(n)]


def optimize(
    init: torch.Tensor,
    loss_fn: LossFn,
    *,
    steps: int,
    optimizer: Optimizer = "lbfgs",
    lr: float | None = None,
    callback: BatchCallback | None = None,
    view: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
    history_size: int = 50,
    first_step: float = FIRST_STEP,
    levels: int = 0,
    bounded: bool = False,
) -> tuple[torch.Tensor, list[list[dict[str, float]]]]:
    """Minimise `loss_fn` from `init` (N, 3, H, W) for `steps` evaluations; return each image's
    best version (N, 3, H, W, clamped to 0..1) and its loss history.

    The image is `init + pyramid(change, levels)`, clamped to 0..1 before the loss when
    `bounded`. `view` turns it into the pictures the callback sees (e.g. colour restored);
    `history_size` is L-BFGS's (each pair costs 2 copies of the batch); `first_step` its first
    step's mean change per value of the change.
    """
    units = first_step * init.numel() if optimizer == "lbfgs" else 1.0
    init = init.detach()
    # the optimised tensor is the change in `units`; NCHW, as L-BFGS needs
    param = torch.zeros_like(init, memory_format=torch.contiguous_format, requires_grad=True)
    best = _Best.of(init)
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    done = 0

    def evaluate() -> torch.Tensor:
        nonlocal done
        image = init + pyramid(param * units, levels)
        if bounded:
            image = _clamp(image)
        losses = loss_fn(image)
        total = losses["total"].sum()
        total.backward()
        done += 1
        rows = _rows(losses, image.shape[0])
        best.record(image, rows)
        if callback is not None:
            callback(done, rows, view(image.detach().clamp(0, 1)))
        return total

    if optimizer == "lbfgs":
        _lbfgs(param, evaluate, steps, lr, history_size)
    elif optimizer == "adam":
        _adam(param, evaluate, steps, lr)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}: use lbfgs or adam")
    return best.image.clamp_(0, 1), best.history


def _lbfgs(
    param: torch.Tensor,
    evaluate: Callable[[], torch.Tensor],
    steps: int,
    lr: float,
    history_size: int,
) -> None:
    """L-BFGS with a strong Wolfe line search, stopped after exactly `steps` evaluations (its
    line search's among them); no tolerance ends it sooner."""
    opt = torch.optim.LBFGS(
        [param],
        lr=lr,
        max_iter=steps,
        max_eval=steps,
        tolerance_grad=0.0,
        tolerance_change=0.0,
        history_size=history_size,
        line_search_fn="strong_wolfe",
    )
    done = 0

    def closure() -> torch.Tensor:
        nonlocal done
        if done >= steps:
            raise _Done
        done += 1
        opt.zero_grad(set_to_none=False)
        return evaluate()

    with contextlib.suppress(_Done):
        opt.step(closure)


def _adam(param: torch.Tensor, evaluate: Callable[[], torch.Tensor], steps: int, lr: float) -> None:
    """Adam for `steps` evaluations, one a step."""
    opt = torch.optim.Adam([param], lr=lr)
    for _ in range(steps):
        opt.zero_grad(set_to_none=False)
        evaluate()
        opt.step()
