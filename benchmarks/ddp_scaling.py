"""Training throughput on 1, 2, ... processes under torchrun: images per second at the defaults.

Each row is one real `torchrun --nproc-per-node N -m artstyle train` run of a few epochs (the
global batch stays 64, so every row learns the same thing). Images/s comes from the run's own
`log.csv`: rank 0's step times, which include waiting for the gradient average, after the
first `--warmup` steps. On the CPU the cores are split between the processes
(OMP_NUM_THREADS = cores / N), so on 2 cores expect little gain: the point is that it runs. On
CUDA there is a row per GPU count, one GPU per process.

    python benchmarks/ddp_scaling.py            # CPU: 1 and 2 processes
    python benchmarks/ddp_scaling.py --cuda     # 1 .. all GPUs
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "paintings" / "impressionism"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(data: Path, procs: int, device: str, epochs: int, warmup: int, threads: int) -> dict:
    """One torchrun training run; its throughput from the log."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        command = [
            sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(procs),
            "--master-port", str(_free_port()), "-m", "artstyle", "train", str(data),
            "-o", str(out), "--epochs", str(epochs), "--device", device, "--no-progress",
        ]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        wall = time.perf_counter() - start
        with (out / "log.csv").open() as f:
            rows = list(csv.DictReader(f))
        timed = rows[warmup:]
        seconds = sum(float(r["seconds"]) for r in timed)
        batch = 64
        return {"steps": len(rows), "images_s": len(timed) * batch / seconds, "wall": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2, help="first steps left out")
    parser.add_argument("--cuda", action="store_true", help="one row per GPU count")
    parser.add_argument("--max-procs", type=int, default=2, help="CPU: up to this many")
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    if args.cuda:
        rows = [(n, "cuda", max(1, cores // n)) for n in range(1, torch.cuda.device_count() + 1)]
    else:
        rows = [(n, "cpu", max(1, cores // n)) for n in range(1, args.max_procs + 1)]
    table = Table(title=f"GAN training at the defaults, global batch 64, {args.data.name}")
    for column in (
        "processes",
        "device",
        "threads each",
        "steps",
        "images/s",
        "speed-up",
        "wall s",
    ):
        table.add_column(column, justify="right")
    base = None
    for procs, device, threads in rows:
        result = run(args.data, procs, device, args.epochs, args.warmup, threads)
        base = base or result["images_s"]
        table.add_row(
            str(procs), device, str(threads), str(result["steps"]),
            f"{result['images_s']:.1f}", f"{result['images_s'] / base:.2f}x",
            f"{result['wall']:.0f}",
        )  # fmt: skip
    Console().print(table)


if __name__ == "__main__":
    main()
