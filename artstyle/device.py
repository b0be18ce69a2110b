"""Where the work runs: device choice (`auto` picks CUDA when present) and CPU allocator tuning."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import torch

from artstyle.errors import ArtstyleError
from artstyle.memory import cgroup_limited

DeviceName = Literal["auto", "cpu", "cuda"]


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Turn `auto|cpu|cuda` (or `cuda:N`) into a torch device; a clear error if CUDA is absent."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ArtstyleError(
                "--device cuda was asked for, but PyTorch sees no CUDA GPU here "
                "(use --device cpu or auto)"
            )
        return torch.device(name)
    raise ArtstyleError(f"unknown device {name!r}: use auto, cpu or cuda")


#: Held by `seeded_rng`: torch's global generators are shared by the threads of a process, and a
#: thread drawing from them inside another's seeded block changes what that block draws (the
#: studio's worker decodes style batches while its request threads decode or load others).
_GLOBAL_RNG = threading.RLock()


@contextmanager
def seeded_rng(seed: int, device: torch.device) -> Iterator[None]:
    """Run a block on torch's global generators seeded with `seed`, then restore them, so that
    sampling is reproducible and a training run's random stream is left untouched; no other
    thread of this process runs a seeded block meanwhile. Building networks (whose initial
    weights are drawn) inside one keeps them off the others' streams too."""
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def keep_freed_memory() -> None:
    """Ask glibc to keep freed buffers for reuse instead of handing them back to the OS.

    Style transfer frees and re-allocates the same large activation buffers at every step; with
    glibc's defaults each of them is an mmap/munmap pair and fresh page faults. Keeping them was
    measured 1.12x faster per step at 512 px on this project's CPU (DESIGN.md: 1.2-1.3x at
    >= 512 px, for about +65 % peak memory). Process-wide, so the CLI calls it and the library
    leaves it to the caller. Does nothing where the C library is not glibc, nor where a memory
    cgroup limits the job below what the host has (Slurm, Docker, Kubernetes): there the memory
    is what runs out, and a 4096-px output in 8 GiB was killed with the buffers kept.
    """
    if cgroup_limited():
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_max = -1, -4  # from glibc's malloc.h
    libc.mallopt(m_mmap_max, 0)
    libc.mallopt(m_trim_threshold, 1 << 30)
