"""The number format the networks run in: fp32, or bf16 / fp16 where the hardware is fast at it.

`auto` decides from what is found at run time, never from an assumption about the machine: bf16
on a CUDA device that supports it and on a CPU whose flags (`/proc/cpuinfo`) list AVX512-BF16 or
AMX-BF16; fp32 everywhere else. Without those instructions bf16 is emulated, and was measured
19-100x *slower* than fp32 on this project's first machine. fp16 is never chosen automatically:
its narrow exponent range needs loss scaling (the GAN's training step scales; see docs).

What stays fp32 whatever the precision is decided by the callers: Gram matrices and loss sums
(`backbone.gram`), optimiser state, the optimised image, an EMA copy of the generator.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from pathlib import Path

import torch

from artstyle.config import Precision

#: /proc/cpuinfo flags of CPUs with bf16 arithmetic in hardware (oneDNN uses them for convolutions).
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})

#: Where Linux lists the CPU's flags.
CPUINFO = "/proc/cpuinfo"

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@functools.cache
def cpu_flags(path: str) -> frozenset[str]:
    """The flags of the first CPU listed in `path`; empty where it cannot be read (not Linux)."""
    try:
        text = Path(path).read_text(encoding="ascii", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def has_fast_bf16(device: torch.device) -> bool:
    """Whether `device` does bf16 arithmetic in hardware (see the module's doc)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    if device.type == "cpu":
        return torch.backends.mkldnn.is_available() and bool(cpu_flags(CPUINFO) & BF16_FLAGS)
    return False


def resolve_dtype(precision: Precision | str, device: torch.device) -> torch.dtype:
    """The dtype the networks run in on `device` for a `precision` setting."""
    if precision == "auto":
        return torch.bfloat16 if has_fast_bf16(device) else torch.float32
    try:
        return _DTYPES[precision]
    except KeyError:
        raise ValueError(f"unknown precision {precision!r}: use auto, fp32, bf16 or fp16") from None


def dtype_name(dtype: torch.dtype) -> str:
    """`torch.bfloat16` -> "bf16", as the settings spell it."""
    return next(name for name, d in _DTYPES.items() if d == dtype)


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype) -> Iterator[None]:
    """Run a block's network operations in `dtype` (torch's autocast); for fp32 no autocast at
    all, so the fp32 path is exactly the code without this context."""
    if dtype == torch.float32:
        yield
        return
    with torch.autocast(device.type, dtype=dtype):
        yield


def grad_scaler(device: torch.device, dtype: torch.dtype) -> torch.amp.GradScaler:
    """Loss scaling for `dtype`: on for fp16, whose small gradients would otherwise flush to
    zero; off (every call a pass-through) for bf16 and fp32."""
    return torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)


def scaled_step(
    scaler: torch.amp.GradScaler, opt: torch.optim.Optimizer, loss: torch.Tensor
) -> None:
    """Backward and one optimiser step; with scaling on, the loss is scaled, a step with
    overflowed gradients skipped and the scale adapted (scale, step and update in turn, so the
    scale cannot change between a loss's scaling and its unscaling)."""
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
