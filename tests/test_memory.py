"""Memory sizing reads the limit that applies to the job: a fake /proc and /sys tree."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artstyle import memory
from artstyle.nst import tiles

GiB = 2**30
CPU = torch.device("cpu")


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="ascii")


def host(root: Path, available: int, cgroup: str) -> None:
    """A host with `available` bytes of MemAvailable whose process is in `cgroup`."""
    write(root, {
        "proc/meminfo": f"MemTotal: {48 * GiB // 1024} kB\nMemAvailable: {available // 1024} kB\n",
        "proc/self/cgroup": cgroup,
    })  # fmt: skip


def test_no_cgroup_limit_leaves_memavailable(tmp_path: Path) -> None:
    host(tmp_path, 20 * GiB, "0::/user.slice/job\n")
    write(tmp_path, {"sys/fs/cgroup/user.slice/job/memory.max": "max\n",
                     "sys/fs/cgroup/user.slice/job/memory.current": str(GiB)})  # fmt: skip
    assert memory.cgroup_available(tmp_path) is None and not memory.cgroup_limited(tmp_path)
    assert memory.available_memory(CPU, tmp_path) == 20 * GiB


def test_cgroup_v2_limit_below_the_host_wins_and_counts_page_cache_free(tmp_path: Path) -> None:
    host(tmp_path, 20 * GiB, "0::/slurm/job_7\n")
    job = "sys/fs/cgroup/slurm/job_7"
    write(tmp_path, {
        f"{job}/memory.max": str(8 * GiB), f"{job}/memory.current": str(3 * GiB),
        f"{job}/memory.stat": f"anon {2 * GiB}\ninactive_file {GiB}\nactive_file 0\n",
    })  # fmt: skip
    assert memory.available_memory(CPU, tmp_path) == 6 * GiB  # 8 - (3 - 1 of droppable cache)
    assert memory.cgroup_limited(tmp_path)


def test_a_parent_groups_limit_holds_too(tmp_path: Path) -> None:
    host(tmp_path, 20 * GiB, "0::/kubepods/pod1/box\n")
    write(tmp_path, {
        "sys/fs/cgroup/kubepods/pod1/memory.max": str(4 * GiB),
        "sys/fs/cgroup/kubepods/pod1/memory.current": str(3 * GiB),
        "sys/fs/cgroup/kubepods/pod1/box/memory.max": "max\n",
        "sys/fs/cgroup/kubepods/pod1/box/memory.current": str(2 * GiB),
    })  # fmt: skip
    assert memory.available_memory(CPU, tmp_path) == GiB


def test_cgroup_v1_limit_and_a_container_showing_its_hosts_path(tmp_path: Path) -> None:
    # the process's group is named as the host sees it; the container mounts its own at the root
    host(tmp_path, 20 * GiB, "5:cpu,cpuacct:/docker/abc\n4:memory:/docker/abc\n0::/\n")
    write(tmp_path, {
        "sys/fs/cgroup/memory/memory.limit_in_bytes": str(8 * GiB),
        "sys/fs/cgroup/memory/memory.usage_in_bytes": str(5 * GiB),
        "sys/fs/cgroup/memory/memory.stat": f"cache {GiB}\ntotal_inactive_file {GiB // 2}\n",
    })  # fmt: skip
    assert memory.available_memory(CPU, tmp_path) == 3 * GiB + GiB // 2


def test_a_full_group_leaves_nothing_and_unreadable_files_are_no_limit(tmp_path: Path) -> None:
    host(tmp_path, 20 * GiB, "0::/a\n")
    write(tmp_path, {"sys/fs/cgroup/a/memory.max": str(GiB),
                     "sys/fs/cgroup/a/memory.current": str(2 * GiB)})  # fmt: skip
    assert memory.available_memory(CPU, tmp_path) == 0
    write(tmp_path, {"sys/fs/cgroup/a/memory.current": "garbage"})
    assert memory.available_memory(CPU, tmp_path) == 20 * GiB


def test_tiles_and_history_follow_the_cgroup_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sizing decisions shrink under a limit the host's MemAvailable does not show."""
    host(tmp_path, 20 * GiB, "0::/job\n")
    write(tmp_path, {"sys/fs/cgroup/job/memory.max": "max\n",
                     "sys/fs/cgroup/job/memory.current": str(GiB)})  # fmt: skip
    fake = memory.available_memory
    monkeypatch.setattr(tiles, "available_memory", lambda device: fake(device, tmp_path))
    free_side = tiles.tile_side(4096, 4096, None, CPU)
    free_history = tiles.lbfgs_history(4096 * 4096, CPU)
    assert tiles.tile_side(1024, 1024, None, CPU) is None  # fits whole in 20 GiB

    write(tmp_path, {"sys/fs/cgroup/job/memory.max": str(4 * GiB)})  # a 4 GiB job
    limited_side = tiles.tile_side(4096, 4096, None, CPU)
    assert free_side is not None and limited_side is not None and limited_side < free_side
    assert tiles.lbfgs_history(4096 * 4096, CPU) < free_history
    assert tiles.tile_side(1024, 1024, None, CPU) is not None  # tiled within 3 GiB left
