"""How much memory this process may still take: the limit that really applies to it.

`MemAvailable` describes the whole host. Under Slurm, Docker or Kubernetes a job is held to a
memory cgroup far smaller than that, and the kernel kills it at the cgroup's limit, so every
sizing decision (tiles, photos per batch, L-BFGS's history) reads the smallest of: the host's
`MemAvailable`, what each memory cgroup above this process leaves (v2 `memory.max` less
`memory.current`, v1 `memory.limit_in_bytes` less `memory.usage_in_bytes`, page cache the kernel
can drop counted as free) and, on a CUDA device, the device's free memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import torch

#: (limit file, usage file, memory.stat key of reclaimable page cache) of each cgroup version.
V1 = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file")
V2 = ("memory.max", "memory.current", "inactive_file")


def available_memory(device: torch.device, root: Path = Path("/")) -> int:
    """Bytes free for this work now on `device`: the GPU's free memory on CUDA, else the least
    of the host's `MemAvailable` and what this process's memory cgroups leave. `root`: where
    /proc and /sys are found (tests point it at a fake tree)."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    host = host_available(root)
    group = cgroup_available(root)
    return host if group is None else min(host, group)


def cgroup_limited(root: Path = Path("/")) -> bool:
    """Whether a memory cgroup leaves this process less than the host has available."""
    group = cgroup_available(root)
    return group is not None and group < host_available(root)


def host_available(root: Path = Path("/")) -> int:
    """The host's `MemAvailable` (half the physical memory where /proc/meminfo cannot tell)."""
    try:
        for line in (root / "proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2)


def cgroup_available(root: Path = Path("/")) -> int | None:
    """Bytes the memory cgroups of this process leave it (limit less usage, the least over its
    own group and every group above it, whose limits hold too), or None where none sets one."""
    free: int | None = None
    for mount, files, group in _memory_groups(root):
        while True:
            left = _left(group, files)
            if left is not None:
                free = left if free is None else min(free, left)
            if group == mount:
                break
            group = group.parent
    return free


def _memory_groups(root: Path) -> Iterator[tuple[Path, tuple[str, str, str], Path]]:
    """(mount, file names, this process's group folder) for each memory cgroup hierarchy named
    in /proc/self/cgroup: `0::/path` for v2, `N:...memory...:/path` for v1."""
    try:
        lines = (root / "proc/self/cgroup").read_text(encoding="ascii").splitlines()
    except OSError:
        return
    base = root / "sys/fs/cgroup"
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            mounts, files = [base, base / "unified"], V2  # unified, or hybrid's v2 mount
        elif "memory" in controllers.split(","):
            mounts, files = [base / "memory"], V1
        else:
            continue
        for mount in filter(Path.is_dir, mounts):
            group = mount / path.lstrip("/")
            # a container may show its host's path while its own group is mounted at the root
            yield mount, files, group if group.is_dir() else mount


def _left(group: Path, files: tuple[str, str, str]) -> int | None:
    """Limit less usage of one group (reclaimable page cache counted as free); None where the
    group sets no limit or its files cannot be read."""
    limit_file, usage_file, cache_key = files
    try:
        limit = (group / limit_file).read_text(encoding="ascii").strip()
        if limit == "max":
            return None
        usage = int((group / usage_file).read_text(encoding="ascii"))
        return max(0, int(limit) - usage + _stat(group / "memory.stat", cache_key))
    except (OSError, ValueError):
        return None


def _stat(path: Path, key: str) -> int:
    """The value of `key` in a memory.stat file (0 when absent or unreadable)."""
    try:
        for line in path.read_text(encoding="ascii").splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0
