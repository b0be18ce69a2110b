"""What watches a training run: the CSV log, sample grids, evaluation, checkpoints, progress.

The loop in `gan.train` only steps (and settles) and tells its observers; each observer decides
what to record or show, and when. On several processes only rank 0 gets the built-in
observers, so every file is written once. Add your own by subclassing `Observer` and passing it
to `train(observers=...)`.
"""

from __future__ import annotations

import csv
import time
from typing import TYPE_CHECKING

import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from artstyle.device import seeded_rng
from artstyle.gan import run_files
from artstyle.gan.metrics import RunEvaluator
from artstyle.gan.terms import term_log_fields
from artstyle.images import image_grid, signed_to_unit, write_image

if TYPE_CHECKING:
    from artstyle.gan.train import Run

#: The columns of `log.csv` that every run fills; the training terms' come before `seconds`.
STEP_FIELDS = [
    "step", "epoch", "iteration", "loss_d", "loss_g", "d_real", "d_fake",
    "skipped_d", "skipped_g", "real_label",
]  # fmt: skip


def log_fields() -> list[str]:
    """The columns of `log.csv`: the step's, every registered term's, and the step's seconds."""
    return [*STEP_FIELDS, *term_log_fields(), "seconds"]


class Observer:
    """Hooks the training loop calls; each does nothing unless overridden."""

    def on_step(self, run: Run, stats: dict[str, float], seconds: float) -> None:
        """After every iteration, with its statistics and duration."""

    def on_epoch(self, run: Run) -> None:
        """After every epoch (`run.epoch` already counts it)."""

    def on_interrupt(self, run: Run) -> None:
        """When a stop was requested: keep what must survive it."""

    def on_settle(self, run: Run, step: int, error: float) -> None:
        """After each step of the settling that follows the last epoch (`gan.settle`; rank 0
        only), with the running Gram error."""

    def close(self) -> None:
        """When the loop ends, however it ends."""


def _due(run: Run, every: int | None) -> bool:
    """True at every `every`-th epoch and at the last one."""
    return every is not None and (run.epoch % every == 0 or run.epoch == run.epochs)


class CsvLog(Observer):
    """One row per iteration in `log.csv`, flushed at once so a killed run keeps its log."""

    def __init__(self, run: Run) -> None:
        path = run.run_dir / run_files.LOG
        new = not path.exists()
        self.file = path.open("a", newline="")
        self.writer = csv.DictWriter(self.file, log_fields())
        if new:
            self.writer.writeheader()

    def on_step(self, run: Run, stats: dict[str, float], seconds: float) -> None:
        self.writer.writerow(
            {"step": run.step, "epoch": run.epoch + 1, "iteration": run.iteration,
             **stats, "seconds": round(seconds, 4)}
        )  # fmt: skip
        self.file.flush()

    def close(self) -> None:
        self.file.close()


class SampleGrids(Observer):
    """The fixed-z grid every `sample_every` epochs, of the sampler in eval mode; it consumes
    none of the run's randomness."""

    def on_epoch(self, run: Run) -> None:
        if _due(run, run.config.run.sample_every):
            self.write(run)

    @torch.inference_mode()
    def write(self, run: Run) -> None:
        net = run.sampler
        was_training = net.training
        net.eval()
        with seeded_rng(2, run.device):
            noise = run.fixed_noise
            out = net(run.fixed_z) if noise is None else net(run.fixed_z, noise)
        net.train(was_training)
        write_image(
            image_grid(signed_to_unit(out).cpu()), run_files.sample_grid(run.run_dir, run.epoch)
        )


class Evaluation(Observer):
    """VGG-KID and memorisation every `eval_every` epochs, printed and kept in the run folder."""

    def __init__(self, run: Run, console: Console) -> None:
        self.console = console
        self.evaluator = RunEvaluator(
            run.data, run.run_dir, run.config.networks.z_dim, device=run.device
        )

    def on_epoch(self, run: Run) -> None:
        if _due(run, run.config.run.eval_every):
            result = self.evaluator(run.sampler, run.epoch, run.step)
            summary = f"epoch {run.epoch}/{run.epochs} {result.summary()}"
            self.console.print(summary, highlight=False)


class Checkpoints(Observer):
    """A checkpoint every `checkpoint_every` epochs, at the end, and on a stop request."""

    def on_epoch(self, run: Run) -> None:
        if _due(run, run.config.run.checkpoint_every):
            run.save_checkpoint()

    def on_interrupt(self, run: Run) -> None:
        run.save_checkpoint()


class ProgressDisplay(Observer):
    """A live bar (epoch, it/s, losses, time left), or a line per checkpoint without one; then
    a bar of the settling steps, or a line when they are done."""

    def __init__(self, run: Run, console: Console, live: bool) -> None:
        self.console = console
        self.live = live
        self.last: dict[str, float] = {}
        self.settle_start = 0.0
        self.bar = Progress(
            TextColumn("[bold]epoch {task.fields[epoch]}/{task.fields[epochs]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "{task.fields[speed]:.1f} it/s  D {task.fields[ld]:.3f}  G {task.fields[lg]:.3f}"
            ),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not live,
        )
        self.task = self.bar.add_task(
            "train",
            total=run.epochs * run.batches_per_epoch(),
            completed=run.step,
            epoch=run.epoch + 1,
            epochs=run.epochs,
            speed=0.0,
            ld=0.0,
            lg=0.0,
        )
        self.bar.start()

    def on_step(self, run: Run, stats: dict[str, float], seconds: float) -> None:
        self.last = stats
        self.bar.update(
            self.task, advance=1, epoch=run.epoch + 1, speed=1 / seconds,
            ld=stats["loss_d"], lg=stats["loss_g"],
        )  # fmt: skip

    def on_epoch(self, run: Run) -> None:
        if self.live or not self.last or not _due(run, run.config.run.checkpoint_every):
            return
        s = self.last
        self.console.print(
            f"epoch {run.epoch}/{run.epochs} step {run.step} "
            f"D {s['loss_d']:.3f} G {s['loss_g']:.3f} "
            f"D(x) {s['d_real']:.2f} D(G(z)) {s['d_fake']:.2f} "
            f"{run.step / max(run.seconds, 1e-9):.2f} it/s"
        )

    def on_settle(self, run: Run, step: int, error: float) -> None:
        if step == 1:  # the training bar is done: the settling one replaces it
            self.bar.stop()
            self.bar = Progress(
                TextColumn("[bold]settling"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=self.console, disable=not self.live,
            )  # fmt: skip
            self.task = self.bar.add_task("settle", total=run.config.settle.steps)
            self.bar.start()
            self.settle_start = time.perf_counter()
        self.bar.advance(self.task)
        if step == run.config.settle.steps and not self.live:
            minutes = (time.perf_counter() - self.settle_start) / 60
            self.console.print(f"settled in {step} steps, {minutes:.1f} min")

    def close(self) -> None:
        self.bar.stop()
