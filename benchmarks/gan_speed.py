"""DCGAN speed: this project against pytorch/examples' dcgan, measured in the same run.

The reference is written here the way pytorch/examples/dcgan/main.py does it: torchvision
`ImageFolder` + `DataLoader` decoding the JPEGs every epoch (Resize, CenterCrop, ToTensor,
Normalize), fp32 NCHW, and its plain step (two backward passes for D, D's weights still
collecting gradients during G's step). Both sides use the same networks, batch and threads. This
project's step is timed in each `--precision` (the recipe's settings otherwise: Gram matching
with its VGG19, EMA). The steps alternate, one of each per round, so a change in the machine's
load hits all alike; each figure is from the median step and, in brackets, the fastest.

Sampling: 64 images from this project's sampler (inference mode, eval BatchNorm) against a plain
forward pass under `torch.no_grad()`, also called in turn.

The texture generator's doublings: its nearest doublings and their convolutions run at the
coarse resolution (`gan.doubling`, what training runs). The step is also timed, in the first
`--precision` and in the same rounds, with the generator's plain layers (upsample, then convolve:
the same function), and a second table times the generator's forward and backward pass alone
both ways, at the training batch and patch size and at the Gram loss's batch and sample size.

With `--device cuda` both sides run on the GPU (the reference's batches are decoded on the CPU and
copied, as the example does); each timed call ends with `torch.cuda.synchronize()`.

    OMP_NUM_THREADS=1 python benchmarks/gan_speed.py --threads 1 --batch-size 64
    python benchmarks/gan_speed.py --device cuda --batch-size 64 --precision fp32 bf16 fp16
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from artstyle.config import TrainConfig
from artstyle.gan import StyleGenerator, build_discriminator, build_generator, load_paintings
from artstyle.gan.train import Run  # the training step itself: what this benchmark times
from artstyle.precision import autocast, resolve_dtype

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "paintings" / "impressionism"


class ReferenceDCGAN:
    """pytorch/examples' dcgan training loop, one step at a time, on the same networks."""

    def __init__(
        self, config: TrainConfig, folder: Path, workers: int, device: torch.device
    ) -> None:
        # ImageFolder wants class subfolders: link the painting folder in as the only class.
        self._root = tempfile.TemporaryDirectory()
        (Path(self._root.name) / folder.name).symlink_to(folder.resolve())
        size = config.networks.image_size
        dataset = datasets.ImageFolder(
            root=self._root.name,
            transform=transforms.Compose(
                [
                    transforms.Resize(size),
                    transforms.CenterCrop(size),
                    transforms.ToTensor(),
                    transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
                ]
            ),
        )
        self.loader = DataLoader(
            dataset, batch_size=config.optim.batch_size, shuffle=True, num_workers=workers
        )
        self.batches = iter(self.loader)
        self.z_dim = config.networks.z_dim
        self.device = device
        self.images = 0  # trained on so far
        self.g = build_generator(config).to(device)
        self.d = build_discriminator(config).to(device)
        self.opt_g = torch.optim.Adam(
            self.g.parameters(), lr=config.optim.lr_g, betas=(config.optim.beta1, 0.999)
        )
        self.opt_d = torch.optim.Adam(
            self.d.parameters(), lr=config.optim.lr_d, betas=(config.optim.beta1, 0.999)
        )
        self.criterion = nn.BCEWithLogitsLoss()  # the example's Sigmoid + BCELoss, fused

    def _next_batch(self) -> torch.Tensor:
        """The next batch, starting a new epoch (and decoding every JPEG again) when one ends."""
        try:
            return next(self.batches)[0]
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)[0]

    def step(self) -> int:
        """One iteration of the example's loop; returns the number of images it trained on."""
        real = self._next_batch().to(self.device)
        n = real.shape[0]
        self.d.zero_grad()
        label = torch.full((n,), 1.0, device=self.device)
        err_d_real = self.criterion(self.d(real), label)
        err_d_real.backward()
        fake = self.g(torch.randn(n, self.z_dim, 1, 1, device=self.device))
        label.fill_(0.0)
        err_d_fake = self.criterion(self.d(fake.detach()), label)
        err_d_fake.backward()
        self.opt_d.step()
        self.g.zero_grad()
        label.fill_(1.0)
        err_g = self.criterion(self.d(fake), label)
        err_g.backward()
        self.opt_g.step()
        self.images += n
        return n


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds of `fn`, including the GPU work it queued."""
    start = time.perf_counter()
    fn()
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def sampling_ms(
    ours: Callable[[], object], reference: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Median wall times in ms of the two samplers, called in turn after one warm-up each."""
    ours(), reference()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        times[0].append(timed(ours))
        times[1].append(timed(reference))
    return 1000 * statistics.median(times[0]), 1000 * statistics.median(times[1])


def generator_pass_ms(
    config: TrainConfig, device: torch.device, precision: str, batch: int, size: int
) -> tuple[float, float]:
    """Median ms of one forward + backward pass of the texture generator on `batch` images of
    `size` px: doublings at the coarse resolution, then the same weights in a plain Sequential."""
    fused = build_generator(config).to(device, memory_format=torch.channels_last)
    plain = copy.deepcopy(fused)
    plain.net = nn.Sequential(*plain.net)
    z = torch.randn(batch, config.networks.z_dim, device=device)
    noise = fused.make_noise(batch, size).to(device)
    dtype = resolve_dtype(precision, device)

    def pass_of(g: nn.Module) -> Callable[[], None]:
        def run() -> None:
            with autocast(device, dtype):
                out = g(z, noise)
            out.float().square().mean().backward()

        return run

    return sampling_ms(pass_of(fused), pass_of(plain), repeats=8)


def doubling_table(config: TrainConfig, device: torch.device, precision: str, threads: int) -> None:
    """Print `generator_pass_ms` at the training and the Gram loss's batch and size."""
    table = Table(
        title=f"texture generator, forward + backward in {precision}, {_machine(device, threads)}",
        title_justify="left",
    )
    for column in ("pass", "doublings at coarse resolution, ms", "plain layers, ms", "ratio"):
        table.add_column(column, justify="left" if column == "pass" else "right")
    training = (config.optim.batch_size, config.networks.image_size)
    for batch, size in (training, (config.gram.batch, config.sample_size)):
        fused, plain = generator_pass_ms(config, device, precision, batch, size)
        table.add_row(
            f"{batch} x {size} px", f"{fused:.0f}", f"{plain:.0f}", f"{plain / fused:.2f}x"
        )
    Console().print(table)


def _loads() -> str:
    """The 1/5/15-minute load averages: the machine is shared, so the table says how busy."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _machine(device: torch.device, threads: int) -> str:
    """What ran the table: the GPU's name, or the number of CPU threads."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{threads} thread(s)"


def batches(n: int, batch_size: int) -> Iterator[torch.Tensor]:
    """Shuffled index batches over `n` images, forever (the project's epochs, minus logging)."""
    while True:
        perm = torch.randperm(n)
        yield from perm[: n // batch_size * batch_size].view(-1, batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of paintings")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--iters", type=int, default=8, help="timed training steps per side")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--workers", type=int, default=0, help="reference DataLoader workers")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (both sides)")
    parser.add_argument(
        "--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16", "fp16"],
        help="precisions this project's step is timed in, in turn",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = TrainConfig(batch_size=args.batch_size, device=args.device)
    device = torch.device(args.device)
    load_before = _loads()

    start = time.perf_counter()
    data = load_paintings(args.data, config.networks.image_size)
    decode_s = time.perf_counter() - start
    first = args.precision[0]
    with tempfile.TemporaryDirectory() as run_dir:
        runs = {
            p: Run(config.model_copy(update={"precision": p}), data, Path(run_dir))
            for p in args.precision
        }
        if config.networks.arch == "texture":  # the same step with the generator's plain layers
            plain_run = Run(config.model_copy(update={"precision": first}), data, Path(run_dir))
            plain_run.g_net.net = nn.Sequential(*plain_run.g_net.net)
            runs[f"{first}, plain layers"] = plain_run
        step_s: dict[str, list[float]] = {p: [] for p in [*runs, "reference"]}
        reference = ReferenceDCGAN(config, args.data, args.workers, device)
        index = batches(len(data), config.optim.batch_size)
        for run in runs.values():
            run.train_step(next(index))  # warm-up: allocator, oneDNN kernels
        warm_images = reference.step()
        for _ in range(args.iters):
            for name, run in runs.items():
                step_s[name].append(timed(lambda run=run: run.train_step(next(index))))
            step_s["reference"].append(timed(reference.step))
    # the example's last batch of an epoch is smaller
    ref_batch = (reference.images - warm_images) / args.iters
    per_step = {p: config.optim.batch_size for p in runs} | {"reference": ref_batch}
    ips = {p: per_step[p] / statistics.median(t) for p, t in step_s.items()}
    best = {p: per_step[p] / min(t) for p, t in step_s.items()}

    sampler = StyleGenerator(build_generator(config).to(device), config, {}, Path("untrained"))
    plain = build_generator(config).to(device)
    z = torch.randn(64, config.networks.z_dim, 1, 1, device=device)

    def plain_forward() -> torch.Tensor:
        """As the example samples: train-mode BatchNorm, then the same 0..1 conversion as ours."""
        with torch.no_grad():
            return plain(z).add(1).div(2).clamp(0, 1)

    ours_ms, ref_ms = sampling_ms(lambda: sampler.sample(64, seed=0), plain_forward, repeats=10)

    net = config.networks
    table = Table(
        title=(
            f"{net.arch} GAN width {net.width}, {net.image_size} px, batch "
            f"{config.optim.batch_size}, {_machine(device, args.threads)}, {len(data)} paintings, "
            f"{args.iters} "
            f"steps each; load {load_before} -> {_loads()}"
        ),
        title_justify="left",
    )
    for column in ("measure", "this project", "pytorch/examples way", "ratio"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for p in runs:
        table.add_row(
            f"training {p}, images/s (fastest)",
            f"{ips[p]:.1f} ({best[p]:.1f})",
            f"{ips['reference']:.1f} ({best['reference']:.1f})",
            f"{ips[p] / ips['reference']:.2f}x",
        )
        table.add_row(
            f"training {p}, iterations/s (fastest)",
            f"{ips[p] / per_step[p]:.2f} ({best[p] / per_step[p]:.2f})",
            "",
            f"{ips[p] / ips[first]:.2f}x {first}" if p != first else "",
        )
    table.add_row(
        "sampling 64 images, ms", f"{ours_ms:.1f}", f"{ref_ms:.1f}", f"{ref_ms / ours_ms:.2f}x"
    )
    table.add_row("decode folder once, s", f"{decode_s:.1f}", "every epoch", "")
    Console().print(table)
    if net.arch == "texture":
        doubling_table(config, device, first, args.threads)


if __name__ == "__main__":
    main()
