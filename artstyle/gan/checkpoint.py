"""Training checkpoints: modules and optimisers as named tensors in one `artstyle.tensorfile`
(safetensors + JSON metadata, written atomically), and networks built back from them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from artstyle.config import TrainConfig, stored_train_config
from artstyle.errors import ArtstyleError
from artstyle.tensorfile import load, save

__all__ = [
    "load",
    "load_module",
    "load_network",
    "load_optimizer",
    "module_tensors",
    "optimizer_tensors",
    "save",
]


def optimizer_tensors(opt: torch.optim.Optimizer, prefix: str) -> dict[str, torch.Tensor]:
    """Flatten an optimiser's per-parameter state into named tensors."""
    out = {}
    for idx, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            out[f"{prefix}.{idx}.{key}"] = torch.as_tensor(value)
    return out


def load_optimizer(
    opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], prefix: str
) -> None:
    """Inverse of `optimizer_tensors`; hyperparameters come from the optimiser as built."""
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            idx, key = name[len(prefix) + 1 :].split(".", 1)
            state.setdefault(int(idx), {})[key] = value
    full = opt.state_dict()
    full["state"] = state
    opt.load_state_dict(full)


def module_tensors(module: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """A module's parameters and buffers under `prefix.`."""
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(module: torch.nn.Module, tensors: dict[str, torch.Tensor], prefix: str) -> None:
    """Load the `prefix.` entries of `tensors` into `module` (strict: every key must match); a
    mismatch is one error saying which tensors differ (a file from another version's networks)."""
    cut = len(prefix) + 1
    sub = {k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    expected = module.state_dict()
    problems = [
        *(f"{k} missing" for k in expected if k not in sub),
        *(f"{k} not in the model" for k in sub if k not in expected),
        *(
            f"{k} is {tuple(v.shape)}, the model's {tuple(expected[k].shape)}"
            for k, v in sub.items()
            if k in expected and v.shape != expected[k].shape
        ),
    ]
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise ArtstyleError(
            f"weights do not fit the model ({prefix}.{problems[0]}{more}); "
            "was the file made by another version of artstyle?"
        )
    module.load_state_dict(sub)


def load_network(
    path: str | Path,
    build: Callable[[TrainConfig], torch.nn.Module],
    prefix: Callable[[dict[str, Any], dict[str, torch.Tensor]], str],
    missing: str,
) -> tuple[torch.nn.Module, TrainConfig, dict[str, Any]]:
    """The network a training file describes: built from its settings by `build`, loaded (as
    float32) from the tensors under the `prefix(meta, tensors)` chosen for the file. A file
    without settings or without those tensors is one error naming it (`missing` says what).
    """
    tensors, meta = load(path)
    name = prefix(meta, tensors) if "config" in meta else ""
    if not name or not any(k.startswith(name + ".") for k in tensors):
        raise ArtstyleError(f"{path}: {missing}")
    config = stored_train_config(meta["config"])
    net = build(config)
    try:
        load_module(net, {k: v.float() for k, v in tensors.items()}, name)
    except ArtstyleError as exc:
        raise ArtstyleError(f"{path}: {exc}") from None
    return net, config, meta
