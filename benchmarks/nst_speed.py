"""ms per style-transfer step: this project against a tutorial-structured reference, same run.

The reference follows the PyTorch NST tutorial: loss modules spliced into an `nn.Sequential`
after the seed's layers, one Gram loss per style image per step, fp32, the whole feature stack
kept (no truncation), weights with gradients, NCHW. Both sides use the same Caffe VGG19 weights
and the same L-BFGS step (one loss + gradient evaluation). The CPU may be shared with other jobs,
so compare the ratio column, not absolute times.

    .venv/bin/python benchmarks/nst_speed.py            # 256 and 512 px, m = 1, 8, 64
    .venv/bin/python benchmarks/nst_speed.py --quick    # fewer repeats
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from artstyle.nst.vgg import MODULE_NAMES, PRESETS, VGGFeatures, canonical_layer
from artstyle.pipeline import StyleTransfer


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
        self.targets = [_tutorial_gram(t).detach() for t in targets]
        self.loss = torch.zeros(())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = _tutorial_gram(x)
        self.loss = sum(F.mse_loss(g, t) for t in self.targets) / len(self.targets)
        return x


class _Normalization(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
        return x[:, [2, 1, 0]] * 255 - mean


def _reference_step(content: torch.Tensor, styles: torch.Tensor) -> Callable[[], float]:
    """Build the tutorial's model (full VGG19 stack) and return one L-BFGS evaluation."""
    vgg = VGGFeatures(["relu5_4"]).net  # the whole convolutional stack, as the tutorial loads
    vgg.to(memory_format=torch.contiguous_format).requires_grad_(True)
    preset = PRESETS["seed"]
    style_at = {canonical_layer(n) for n in preset.style}
    content_at = {canonical_layer(n) for n in preset.content}
    model = nn.Sequential(_Normalization())
    style_losses, content_losses = [], []
    for name, layer in zip(MODULE_NAMES, vgg, strict=False):
        model.append(nn.ReLU(inplace=False) if isinstance(layer, nn.ReLU) else layer)
        if name in content_at:
            loss = _ContentLoss(model(content))
            model.append(loss)
            content_losses.append(loss)
        if name in style_at:
            sloss = _StyleLoss([model(s.unsqueeze(0)) for s in styles])
            model.append(sloss)
            style_losses.append(sloss)
    image = content.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([image])

    def step() -> float:
        optimizer.zero_grad()
        model(image)
        loss = 5e4 * sum(s.loss for s in style_losses) + sum(c.loss for c in content_losses)
        loss.backward()
        return float(loss)

    return step


def _project_step(content: torch.Tensor, styles: torch.Tensor) -> Callable[[], float]:
    """One evaluation of this project's loss (the body of `StyleTransfer.run`'s closure)."""
    painter = StyleTransfer(styles, style_size=None, device="cpu")
    times: list[float] = []
    painter_steps = {"n": 0}

    def step() -> float:
        painter_steps["n"] += 1
        t = time.perf_counter()
        painter.config.steps = 1
        painter.run(content)
        times.append(time.perf_counter() - t)
        return 0.0

    return step


def _ms_per_step(step: Callable[[], float], repeats: int) -> float:
    step()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"{'size':>5} {'m':>3} {'reference ms':>13} {'artstyle ms':>12} {'ratio':>6}")
    for size in (256, 512):
        for m in (1, 8, 64):
            repeats = 2 if args.quick or size == 512 else 4
            content = torch.rand(1, 3, size, size)
            styles = torch.rand(m, 3, 256, 256)
            ref = _ms_per_step(_reference_step(content, styles), repeats)
            ours = _ms_per_step(_project_step(content, styles), repeats)
            print(f"{size:>5} {m:>3} {ref:>13.0f} {ours:>12.0f} {ref / ours:>6.2f}x", flush=True)


if __name__ == "__main__":
    main()
