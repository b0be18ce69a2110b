"""Checkpoints as one safetensors file: tensors in the body, everything else as JSON metadata.

One file written atomically means a checkpoint is either the old one or the new one, whatever
moment the process is killed at; no pickle is ever loaded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from artstyle.atomic import atomic_path
from artstyle.config import TrainConfig
from artstyle.errors import ArtstyleError


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


def save(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Write tensors + JSON-able `meta` to `path` atomically."""
    body = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(body, str(tmp), metadata={"meta": json.dumps(meta)})


def load(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a file written by `save`; a clear error for a missing or damaged file."""
    path = Path(path)
    if not path.is_file():
        raise ArtstyleError(f"{path}: no such weights file")
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("meta", "{}")
        return load_file(str(path)), json.loads(raw)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtstyleError(f"{path}: not a valid artstyle safetensors file ({exc})") from None


def module_tensors(module: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    """A module's parameters and buffers under `prefix.`."""
    return {f"{prefix}.{k}": v for k, v in module.state_dict().items()}


def load_module(module: torch.nn.Module, tensors: dict[str, torch.Tensor], prefix: str) -> None:
    """Load the `prefix.` entries of `tensors` into `module` (strict: every key must match)."""
    cut = len(prefix) + 1
    sub = {k[cut:]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    try:
        module.load_state_dict(sub)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise ArtstyleError(f"weights do not fit the model ({first})") from None


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
    config = TrainConfig.model_validate(meta["config"])
    net = build(config)
    load_module(net, {k: v.float() for k, v in tensors.items()}, name)
    return net, config, meta
