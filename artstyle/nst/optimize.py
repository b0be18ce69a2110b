"""The optimisation loop: L-BFGS or Adam over the pixels, one callback per loss evaluation.

A "step" is one evaluation of the loss and its gradient (one forward and backward pass), for both
optimisers, so that `steps` means the same cost whichever is used. L-BFGS's line search may try
points worse than the last one, so the result is the lowest-loss image evaluated, not the last.

torch's L-BFGS makes its first step lr / |g|_1 long: on a 512-px image about a millionth of a level
per value, and its line search then spends about five evaluations growing it (the reference
curves in `benchmarks/reference/` sit flat for their first five evaluations). L-BFGS optimises the
image in units chosen so that this first step moves each value by `first_step` on average; the
steps after it do not depend on the units (quasi-Newton steps scale with them).

The images of a batch (N, 3, H, W) are independent problems optimised as one: the loss terms are
per image (shape (N,)), their sum is minimised, and each image keeps its own best and history.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

Optimizer = Literal["lbfgs", "adam"]

#: Called after each step with (step starting at 1, losses, current image (1, 3, H, W) in 0..1).
Callback = Callable[[int, dict[str, float], torch.Tensor], None]

#: The same for a batch: (step, each image's losses, current images (N, 3, H, W) in 0..1).
BatchCallback = Callable[[int, list[dict[str, float]], torch.Tensor], None]

#: Maps the images being optimised to named loss terms, one value per image (shape (N,));
#: "total" is the one minimised (summed over the images).
LossFn = Callable[[torch.Tensor], dict[str, torch.Tensor]]

DEFAULT_LR: dict[str, float] = {"lbfgs": 1.0, "adam": 0.02}

#: L-BFGS's first step, as the mean change of a value (0..1 scale).
FIRST_STEP = 0.01


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
) -> tuple[torch.Tensor, list[list[dict[str, float]]]]:
    """Minimise `loss_fn` from `init` (N, 3, H, W) for `steps` evaluations; return each image's
    best version (N, 3, H, W) and its loss history.

    `view` turns the optimised tensor into the pictures the callback sees (e.g. colour restored);
    `history_size` is L-BFGS's (each pair costs 2 copies of the batch); `first_step` its first
    step's mean change per value.
    """
    units = first_step * init.numel() if optimizer == "lbfgs" else 1.0
    # the optimised tensor is the image in `units`; NCHW, as L-BFGS needs
    param = (init.detach() / units).contiguous().requires_grad_(True)
    best = _Best.of(init)
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    done = 0

    def evaluate() -> torch.Tensor:
        nonlocal done
        image = param * units
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
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            [param],
            lr=lr,
            max_iter=steps,
            max_eval=steps,
            tolerance_grad=0.0,
            tolerance_change=0.0,
            history_size=history_size,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            if done >= steps:
                raise _Done
            opt.zero_grad(set_to_none=False)
            return evaluate()

        with contextlib.suppress(_Done):
            opt.step(closure)  # type: ignore[arg-type]
    elif optimizer == "adam":
        opt = torch.optim.Adam([param], lr=lr)
        for _ in range(steps):
            opt.zero_grad(set_to_none=False)
            evaluate()
            opt.step()
            with torch.no_grad():
                param.clamp_(0, 1)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}: use lbfgs or adam")
    return best.image.clamp_(0, 1), best.history
