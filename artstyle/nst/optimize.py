"""The optimisation loop: L-BFGS or Adam over the pixels, one callback per loss evaluation.

A "step" is one evaluation of the loss and its gradient (one forward and backward pass), for both
optimisers, so that `steps` means the same cost whichever is used. L-BFGS's line search may try
points worse than the last one, so the result is the lowest-loss image evaluated, not the last.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch

Optimizer = Literal["lbfgs", "adam"]

#: Called after each step with (step starting at 1, losses, current image (1, 3, H, W) in 0..1).
Callback = Callable[[int, dict[str, float], torch.Tensor], None]

#: Maps the image being optimised to named loss terms; "total" is the one minimised.
LossFn = Callable[[torch.Tensor], dict[str, torch.Tensor]]

DEFAULT_LR: dict[str, float] = {"lbfgs": 1.0, "adam": 0.02}


class _Done(Exception):
    """Raised from inside L-BFGS's closure once the step budget is spent."""


@dataclass
class _Best:
    """The lowest-loss image seen so far and the loss history."""

    loss: float = float("inf")
    image: torch.Tensor | None = None
    history: list[dict[str, float]] = field(default_factory=list)


def optimize(
    init: torch.Tensor,
    loss_fn: LossFn,
    *,
    steps: int,
    optimizer: Optimizer = "lbfgs",
    lr: float | None = None,
    callback: Callback | None = None,
    view: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
    history_size: int = 50,
) -> tuple[torch.Tensor, list[dict[str, float]]]:
    """Minimise `loss_fn` from `init` for `steps` evaluations; return (best image, history).

    `view` turns the optimised tensor into the picture the callback sees (e.g. colour restored);
    `history_size` is L-BFGS's (each pair costs 2 copies of the image).
    """
    image = init.detach().clone().contiguous().requires_grad_(True)  # NCHW: L-BFGS needs it
    best = _Best()
    lr = DEFAULT_LR[optimizer] if lr is None else lr

    def evaluate() -> torch.Tensor:
        losses = loss_fn(image)
        losses["total"].backward()
        values = {k: float(v.detach()) for k, v in losses.items()}
        best.history.append(values)
        if values["total"] < best.loss:
            best.loss, best.image = values["total"], image.detach().clone()
        if callback is not None:
            callback(len(best.history), values, view(image.detach().clamp(0, 1)))
        return losses["total"]

    if optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS(
            [image],
            lr=lr,
            max_iter=steps,
            max_eval=steps,
            tolerance_grad=0.0,
            tolerance_change=0.0,
            history_size=history_size,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            if len(best.history) >= steps:
                raise _Done
            opt.zero_grad(set_to_none=False)
            return evaluate()

        with contextlib.suppress(_Done):
            opt.step(closure)  # type: ignore[arg-type]
    elif optimizer == "adam":
        opt = torch.optim.Adam([image], lr=lr)
        for _ in range(steps):
            opt.zero_grad(set_to_none=False)
            evaluate()
            opt.step()
            with torch.no_grad():
                image.clamp_(0, 1)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r}: use lbfgs or adam")
    assert best.image is not None
    return best.image.clamp_(0, 1), best.history
