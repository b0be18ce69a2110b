"""One file of tensors plus JSON metadata (safetensors): checkpoints, generators, style targets.

Written atomically, so a file is either the old one or the new one whatever moment the process is
killed at; no pickle is ever loaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from artstyle.atomic import atomic_path
from artstyle.errors import ArtstyleError


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
