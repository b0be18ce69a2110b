"""Training on several processes with PyTorch's own engine: torchrun + DistributedDataParallel.

`torchrun --nproc-per-node N -m artstyle train DATA -o RUN` starts N copies of the ordinary
command; each finds its rank in the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT) and `session` joins the process group: gloo on the CPU, nccl on CUDA,
each CUDA rank on GPU LOCAL_RANK. Without those variables it is one process and nothing changes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from artstyle.errors import ArtstyleError


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (rank 0 of 1 when alone)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes logs, grids, checkpoints and the export."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def share(self, n: int) -> slice:
        """This rank's rows of a global batch of `n` (which the world size divides)."""
        per = n // self.size
        return slice(self.rank * per, (self.rank + 1) * per)

    def mean(self, value: float, device: torch.device) -> float:
        """The mean of `value` over all ranks, so that every rank takes the same decision."""
        if not self.distributed:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=device)
        dist.all_reduce(t)
        return float(t) / self.size

    def any(self, flag: bool, device: torch.device) -> bool:
        """True on every rank when it is true on any one (e.g. a stop request)."""
        return self.mean(float(flag), device) > 0

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def wrap(self, module: nn.Module, device: torch.device, sync_bn: bool) -> nn.Module:
        """`module` wrapped for gradient averaging across ranks (itself when alone)."""
        if not self.distributed:
            return module
        if sync_bn:
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def world_from_env() -> World:
    """The world torchrun (or any launcher setting its variables) describes."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    return World(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")))


@contextmanager
def session(device: torch.device) -> Iterator[tuple[World, torch.device]]:
    """Join the process group for the length of a run; yields the world and this rank's device.

    The backend follows the device: nccl for CUDA, gloo for the CPU. A process group someone
    else opened (a test, a notebook) is used as it is and left open.
    """
    world = world_from_env()
    if not world.distributed:
        yield world, device
        return
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if dist.get_world_size() != world.size:
        raise ArtstyleError("WORLD_SIZE does not match the process group's size")
    try:
        yield world, device
    finally:
        if owned:
            dist.destroy_process_group()
