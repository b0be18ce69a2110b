"""Training on two processes (gloo on the CPU), as torchrun runs it: the ranks agree, only rank 0
writes, the result is one process's, and a killed run resumes."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.multiprocessing as mp

from artstyle.config import TrainConfig
from artstyle.gan import checkpoint, run_files
from artstyle.gan.distributed import World
from artstyle.gan.observers import Observer
from artstyle.gan.train import Run, train

#: no BatchNorm and no randomness inside the networks, so two ranks with half the batch each
#: compute exactly the gradient one process computes on the whole batch
SAME_AS_ONE = {
    "arch": "mlp", "width": 4, "batch_size": 8, "epochs": 2, "flip": False, "ema": 0.9,
    "gram_weight": None, "settle_steps": 0, "crop": "center", "sample_every": 1,
    "checkpoint_every": 1,
    # fp32: the ranks' averaged gradients equal one process's up to the order of additions;
    # bf16 (what `auto` picks on a CPU with it) rounds that difference up past the tolerance
    "precision": "fp32",
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class WeightDigests(Observer):
    """Records a digest of G's weights after every step."""

    def __init__(self) -> None:
        self.digests: list[str] = []

    def on_step(self, run: Run, stats: dict[str, float], seconds: float) -> None:
        blob = b"".join(p.detach().numpy().tobytes() for p in run.g_net.parameters())
        self.digests.append(hashlib.sha256(blob).hexdigest())


def _rank(rank: int, port: int, data: str, run_dir: str, report: str) -> None:
    """One rank of a 2-process run, as torchrun would start it."""
    os.environ.update(
        RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank),
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
    )  # fmt: skip
    torch.set_num_threads(1)
    writes: list[str] = []

    def audit(event: str, args: tuple[Any, ...]) -> None:
        # every file this process opens for writing, or renames, inside the run folder
        if event == "open" and isinstance(args[0], str | Path) and run_dir in str(args[0]):
            mode = args[1] or ""
            if isinstance(mode, str) and set(mode) & set("wax+"):
                writes.append(str(args[0]))
        elif event in ("os.rename", "os.replace") and run_dir in str(args[1]):
            writes.append(str(args[1]))

    sys.addaudithook(audit)
    digests = WeightDigests()
    train(data, run_dir, TrainConfig(**SAME_AS_ONE), progress=False, observers=[digests])
    Path(report).write_text(json.dumps({"digests": digests.digests, "writes": writes}))


def test_two_ranks_agree_only_rank_0_writes_and_match_one_process(
    painting_folder: Path, tmp_path: Path
) -> None:
    two = tmp_path / "two"
    reports = [tmp_path / f"rank{r}.json" for r in range(2)]
    ctx = mp.get_context("spawn")
    port = _free_port()
    procs = [
        ctx.Process(target=_rank, args=(r, port, str(painting_folder), str(two), str(reports[r])))
        for r in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
        assert p.exitcode == 0
    rank0, rank1 = (json.loads(r.read_text()) for r in reports)

    assert len(rank0["digests"]) == 4  # 16 images, global batch 8, 2 epochs
    assert rank0["digests"] == rank1["digests"]  # identical G after every step
    assert rank1["writes"] == []
    assert any(w.endswith("log.csv") for w in rank0["writes"])  # the audit sees writes
    assert (two / "generator.safetensors").is_file() and (two / run_files.LOG).is_file()
    assert len((two / run_files.LOG).read_text().splitlines()) == 1 + 4

    one = tmp_path / "one"
    train(painting_folder, one, TrainConfig(**SAME_AS_ONE), progress=False)
    a, _ = checkpoint.load(two / run_files.CHECKPOINT)
    b, _ = checkpoint.load(one / run_files.CHECKPOINT)
    nets = [k for k in a if k.startswith(("g.", "d.", "ema."))]
    assert nets and a.keys() == b.keys()
    for key in nets:  # the same up to the order of float additions in the gradient average
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-5)


def test_batch_must_split_over_the_ranks(painting_folder: Path, tmp_path: Path) -> None:
    from artstyle.errors import ArtstyleError
    from artstyle.gan.data import load_paintings

    data = load_paintings(painting_folder, 64, "center")
    with pytest.raises(ArtstyleError, match="does not split evenly over 3 processes"):
        Run(TrainConfig(**SAME_AS_ONE), data, tmp_path, World(0, 3))


def _torchrun(*args: str, run_dir: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
        "--master-port", str(_free_port()), "-m", "artstyle", "train", *args, "-o", str(run_dir),
        "--no-progress",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE)


def _kill_every_process_of(run_dir: Path) -> None:
    """SIGKILL every process whose command line names `run_dir` (torchrun starts its workers in
    sessions of their own, so killing its process group would leave them running)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if str(run_dir).encode() in cmdline.read_bytes():
                os.kill(int(cmdline.parent.name), signal.SIGKILL)
        except (OSError, ValueError):
            pass  # gone already


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    """A run folder whose training processes are all killed when the test ends, however it
    ends (a failed or timed-out check leaves no training behind)."""
    path = tmp_path / "run"
    yield path
    _kill_every_process_of(path)


def test_killed_two_process_run_resumes(painting_folder: Path, run_dir: Path) -> None:
    options = ["--arch", "mlp", "--width", "4", "--batch-size", "8", "--checkpoint-every", "1"]
    proc = _torchrun(str(painting_folder), *options, "--epochs", "400", run_dir=run_dir)
    ckpt = run_dir / run_files.CHECKPOINT
    deadline = time.monotonic() + 120
    while not ckpt.exists() or checkpoint.load(ckpt)[1]["epoch"] < 2:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline
        time.sleep(0.2)
    _kill_every_process_of(run_dir)  # torchrun and its workers, mid-run, no goodbye
    proc.wait()
    epoch = checkpoint.load(ckpt)[1]["epoch"]
    assert 2 <= epoch < 400

    resumed = _torchrun(
        str(painting_folder), "--epochs", str(epoch + 2), "--settle-steps", "0", "--resume",
        run_dir=run_dir,
    )  # fmt: skip
    _, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err.decode()
    assert err.decode().count("resuming") == 1  # rank 0 speaks, rank 1 does not
    steps = [int(r.split(",")[0]) for r in (run_dir / run_files.LOG).read_text().splitlines()[1:]]
    assert steps == list(range(1, 2 * (epoch + 2) + 1))  # every step once, none lost or doubled
    assert checkpoint.load(ckpt)[1]["epoch"] == epoch + 2
    assert (run_dir / "generator.safetensors").is_file()
