"""ms per style-transfer step: this project against a tutorial-structured reference, same run.

The reference follows the PyTorch NST tutorial: loss modules spliced into an nn.Sequential
after the seed's layers, one Gram loss per style image per step, fp32, NCHW, the input clamped
in the closure, and (as the tutorial does) the stack cut after its last loss module. Both sides
use the same Caffe VGG19 weights and time one L-BFGS loss + gradient evaluation. This project is
timed in each `--precision` (fp32, and bf16 where the CPU has it: `artstyle.precision`). The CPU
may be shared with other jobs, so the sides run in turn, a few steps each, `--rounds` times
(reference, fp32, bf16, reference, ...); each figure is the fastest step (min) and the median
step, and the ratio columns (of the fastest steps, measured in the same run) are the figures to
read, not the absolute times.

GFLOP per evaluation is counted by `torch.utils.flop_counter` on one evaluation of this project's
loss and gradient (convolutions forward and their input gradients, Gram matrices); each "% peak"
column divides that same count by its fastest step. The CPU's peak is measured in the same run
as the faster of a large fp32 matrix product and a large 3 x 3 convolution (see `peak_gflops`),
so "% of peak" can be checked; bf16 may exceed the fp32 peak (it is measured against fp32's).

    .venv/bin/python benchmarks/nst_speed.py            # 256, 512, 1024 px; m = 1, 8, 64
    .venv/bin/python benchmarks/nst_speed.py --quick    # fewer repeats
    .venv/bin/python benchmarks/nst_speed.py --compile  # also artstyle with compile=True
    .venv/bin/python benchmarks/nst_speed.py --keep-freed-memory  # glibc set as the CLI sets it
    .venv/bin/python benchmarks/nst_speed.py --precision fp32 bf16 --sizes 512 --counts 16

With `--device cuda` both sides run on the GPU and every time stamp waits for the GPU's queued
work (`torch.cuda.synchronize()`); the peak is then the GPU's fp32 matrix product and convolution
(TF32 off, PyTorch's default for convolutions too is TF32 on: see the header line).

    .venv/bin/python benchmarks/nst_speed.py --device cuda --sizes 512 1024 2048 --counts 8 \
        --precision fp32 bf16 fp16

`--keep-freed-memory` runs the whole benchmark (both sides) with glibc keeping freed buffers, as
`artstyle transfer` does (`artstyle.device.keep_freed_memory`); it is process-wide and cannot be
undone, so compare it with a run without it.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from artstyle import StyleTransfer
from artstyle.backbone import MODULE_NAMES, PRESETS, VGGFeatures, canonical_layer
from artstyle.device import keep_freed_memory


class _ContentLoss(nn.Module):
    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.target = target.detach()
        self.loss = torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.loss = F.mse_loss(x, self.target)
        return x


def _tutorial_gram(x: torch.Tensor) -> torch.Tensor:
    b, c, h, w = x.shape
    f = x.view(b * c, h * w)
    return f @ f.t() / (b * c * h * w)


class _StyleLoss(nn.Module):
    """The tutorial's loss, one Gram comparison per style image (the seed's batch average)."""

    def __init__(self, targets: list[torch.Tensor]) -> None:
        super().__init__()
        self.targets = targets  # the style images' Gram matrices
        self.loss = torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = _tutorial_gram(x)
        self.loss = sum(F.mse_loss(g, t) for t in self.targets) / len(self.targets)
        return x


class _Normalization(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor([103.939, 116.779, 123.68], device=x.device).view(1, 3, 1, 1)
        return x[:, [2, 1, 0]] * 255 - mean


def reference_steps(content: torch.Tensor, styles: torch.Tensor, repeats: int) -> list[float]:
    """The tutorial's model and closure (its trim after the last loss module kept)."""
    vgg = VGGFeatures(["relu5_4"]).net  # the whole convolutional stack, as the tutorial loads it
    vgg.to(content.device, memory_format=torch.contiguous_format)
    preset = PRESETS["ast-gan"]
    style_at = {canonical_layer(n) for n in preset.style}
    content_at = {canonical_layer(n) for n in preset.content}
    model = nn.Sequential(_Normalization())
    losses: list[nn.Module] = []
    for name, layer in zip(MODULE_NAMES, vgg, strict=False):  # no pool5 in `vgg`
        model.append(nn.ReLU(inplace=False) if isinstance(layer, nn.ReLU) else layer)
        if name in content_at:
            losses.append(_ContentLoss(model(content).detach()))
            model.append(losses[-1])
        if name in style_at:
            # one style image at a time: m feature maps at once do not fit at 1024 px, m = 64
            with torch.no_grad():
                grams = [_tutorial_gram(model(s.unsqueeze(0))) for s in styles]
            losses.append(_StyleLoss(grams))
            model.append(losses[-1])
    last = max(i for i, module in enumerate(model) if any(module is x for x in losses))
    model = model[: last + 1]
    model.eval().requires_grad_(False)
    image = content.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([image])
    stamps: list[float] = []

    def closure() -> torch.Tensor:
        with torch.no_grad():
            image.clamp_(0, 1)
        optimizer.zero_grad()
        model(image)
        total = image.new_zeros(())
        for module in losses:
            total = total + (5e4 if isinstance(module, _StyleLoss) else 1.0) * module.loss
        total.backward()
        stamps.append(_stamp())
        if len(stamps) > repeats:
            raise StopIteration
        return total

    with contextlib.suppress(StopIteration):
        while True:
            optimizer.step(closure)  # type: ignore[arg-type]
    return _intervals(stamps)


def _stamp() -> float:
    """The time once the GPU's queued work (if any) is done."""
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return time.perf_counter()


def _intervals(stamps: list[float]) -> list[float]:
    """Milliseconds between consecutive step stamps."""
    return [(b - a) * 1000 for a, b in itertools.pairwise(stamps)]


def _project_steps(
    content: torch.Tensor,
    styles: torch.Tensor,
    repeats: int,
    compile: bool = False,
    precision: str = "fp32",
) -> tuple[list[float], float]:
    """This project's real loop (`StyleTransfer.run`), timed between step callbacks: one pass
    at the row's size (no base pass), so every step timed is a step at that size. Returns (ms
    of each step, seconds before the first step beyond one step's time: the compiling)."""
    size = max(content.shape[-2:])
    painter = StyleTransfer(
        styles, style_size=None, size=size, base_size=None, device=str(content.device),
        steps=repeats + 1,
        compile=compile, precision=precision,
    )  # fmt: skip
    start = _stamp()
    stamps: list[float] = []
    painter.run(content, lambda step, losses, image: stamps.append(_stamp()))
    steps = _intervals(stamps)
    return steps, stamps[0] - start - min(steps) / 1000


def gflop_per_evaluation(content: torch.Tensor, styles: torch.Tensor) -> float:
    """FLOPs of one loss + gradient evaluation of this project's objective, counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    size = max(content.shape[-2:])
    painter = StyleTransfer(
        styles, style_size=None, size=size, device=str(content.device), precision="fp32"
    )
    objective = painter._objective(painter.config, content)
    image = content.clone().requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        objective(image)["total"].backward()
    return counter.get_total_flops() / 1e9


def _best_gflops(flop: float, run: Callable[[], object], seconds: float) -> float:
    """GFLOP/s of `run` (`flop` FLOPs a call), the best call of a few seconds."""
    best, end = 0.0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = _stamp()
        run()
        best = max(best, flop / (_stamp() - start) / 1e9)
    return best


@torch.no_grad()
def peak_gflops(device: torch.device, seconds: float = 3.0) -> tuple[float, float]:
    """fp32 GFLOP/s of the fastest kernels found on this CPU: (a 2048^2 matrix product, a 3 x 3
    convolution 256 -> 256 channels at 128^2, channels_last). The larger is the peak: on an AMD
    CPU, MKL's matrix product runs an AVX2 path at about half of what oneDNN's convolutions reach
    with AVX-512, so a matrix product alone understates the peak about 2x."""
    a, b = torch.randn(2048, 2048, device=device), torch.randn(2048, 2048, device=device)
    conv = nn.Conv2d(256, 256, 3, padding=1).to(device, memory_format=torch.channels_last)
    x = torch.randn(1, 256, 128, 128, device=device).contiguous(memory_format=torch.channels_last)
    matmul = _best_gflops(2 * 2048**3, lambda: a @ b, seconds)
    convolution = _best_gflops(2 * 256 * 256 * 9 * 128 * 128, lambda: conv(x), seconds)
    return matmul, convolution


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 8, 64], help="m values")
    parser.add_argument(
        "--compile", action="store_true", help="also time artstyle with compile=True"
    )
    parser.add_argument(
        "--keep-freed-memory", action="store_true", help="glibc as the CLI sets it (both sides)"
    )
    parser.add_argument(
        "--precision", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16", "fp16"],
        help="precisions this project is timed in (the first is the one ratios compare with)",
    )  # fmt: skip
    parser.add_argument("--rounds", type=int, default=2, help="turns of each side, interleaved")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (both sides)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.keep_freed_memory:
        keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    matmul, convolution = peak_gflops(device)
    peak = max(matmul, convolution)
    first = args.precision[0]
    print(f"{_machine(device)}, torch {torch.__version__}, "
          f"keep freed memory: {args.keep_freed_memory}, fp32 GFLOP/s: 2048^2 matmul "
          f"{matmul:.0f}, 3x3 conv {convolution:.0f}; peak {peak:.0f}; load {_loads()}; "
          f"ms per evaluation as min/median of {args.rounds} interleaved rounds")  # fmt: skip
    columns = [f"{'size':>5} {'m':>3} {'GFLOP/eval':>10} {'reference ms':>13}"]
    columns += [f"{p + ' ms':>13} {'ref/' + p:>9}" for p in args.precision]
    columns += [f"{first + '/' + p:>10}" for p in args.precision[1:]]
    columns += [f"{p + ' % peak':>12}" for p in args.precision]
    if args.compile:
        columns.append(f"{'compiled ms':>13} {'ratio':>6} {'compile s':>10}")
    print(" ".join(columns))
    for size in args.sizes:
        for m in args.counts:
            repeats = 2 if args.quick or size >= 512 else 4
            content = torch.rand(1, 3, size, size, device=device)
            styles = torch.rand(m, 3, size, size, device=device)  # the tutorial: one size
            gflop = gflop_per_evaluation(content, styles)
            steps: dict[str, list[float]] = {"reference": []}
            steps.update({p: [] for p in args.precision})
            compiled: list[float] = []
            compiling = 0.0
            for _ in range(args.rounds):
                steps["reference"] += reference_steps(content, styles, repeats)
                for p in args.precision:
                    steps[p] += _project_steps(content, styles, repeats, precision=p)[0]
                if args.compile:
                    fast, compiling = _project_steps(content, styles, repeats, compile=True)
                    compiled += fast
            best = {k: min(v) for k, v in steps.items()}
            row = [f"{size:>5} {m:>3} {gflop:>10.1f} {_min_median(steps['reference']):>13}"]
            row += [
                f"{_min_median(steps[p]):>13} {best['reference'] / best[p]:>8.2f}x"
                for p in args.precision
            ]
            row += [f"{best[first] / best[p]:>9.2f}x" for p in args.precision[1:]]
            row += [f"{100 * gflop / best[p] * 1e3 / peak:>11.0f}%" for p in args.precision]
            if args.compile:
                row.append(
                    f"{_min_median(compiled):>13} {best['reference'] / min(compiled):>5.2f}x"
                    f" {compiling:>10.0f}"
                )
            print(" ".join(row), flush=True)
    print(f"load after: {_loads()}")


def _machine(device: torch.device) -> str:
    """What ran the table: the GPU (and its TF32 settings), or the CPU's threads."""
    if device.type == "cuda":
        tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
        return f"{torch.cuda.get_device_name(device)}, TF32 conv/matmul {tf32[0]}/{tf32[1]}"
    return f"threads: {torch.get_num_threads()}"


def _min_median(ms: list[float]) -> str:
    return f"{min(ms):.0f}/{statistics.median(ms):.0f}"


def _loads() -> str:
    """The 1/5/15-minute load averages: the machine is shared, so each table says how busy."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
