"""What watches a training run: the CSV log, sample grids, evaluation, checkpoints, progress.

The loop in `gan.train` only steps and tells its observers; each observer decides what to record
and when. On several processes only rank 0 gets the file-writing observers, so every file is
written once. Add your own by subclassing `Observer` and passing it to `train(observers=...)`.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from artstyle.gan import run_files
from artstyle.gan.metrics import RunEvaluator

if TYPE_CHECKING:
    from artstyle.gan.train import Run

LOG_FIELDS = [
    "step", "epoch", "iteration", "loss_d", "loss_g", "d_real", "d_fake",
    "skipped_d", "skipped_g", "real_label", "gram_error", "whole_fake", "seconds",
]  # fmt: skip


class Observer:
    """Hooks the training loop calls; each does nothing unless overridden."""

    def on_step(self, run: Run, stats: dict[str, float], seconds: float) -> None:
        """After every iteration, with its statistics and duration."""

    def on_epoch(self, run: Run) -> None:
        """After every epoch (`run.epoch` already counts it)."""

    def on_interrupt(self, run: Run) -> None:
        """When a stop was requested: keep what must survive it."""

    def close(self) -> None:
        """When the loop ends, however it ends."""


def _due(run: Run, every: int | None) -> bool:
    """True at every `every`-th epoch and at the last one."""
    return every is not None and (run.epoch % every == 0 or run.epoch == run.config.epochs)


class CsvLog(Observer):
    """One row per iteration in `log.csv`, flushed at once so a killed run keeps its log."""

    def __init__(self, run: Run) -> None:
        path = run.run_dir / run_files.LOG
        new = not path.exists()
        self.file = path.open("a", newline="")
        self.writer = csv.DictWriter(self.file, LOG_FIELDS)
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
    """The fixed-z grid every `sample_every` epochs."""

    def on_epoch(self, run: Run) -> None:
        if _due(run, run.config.sample_every):
            run.sample_grid()


class Evaluation(Observer):
    """VGG-KID and memorisation every `eval_every` epochs, printed and kept in the run folder."""

    def __init__(self, run: Run, console: Console) -> None:
        self.console = console
        self.evaluator = RunEvaluator(run.data, run.run_dir, run.config.z_dim, device=run.device)

    def on_epoch(self, run: Run) -> None:
        if _due(run, run.config.eval_every):
            result = self.evaluator(run.sampler, run.epoch, run.step)
            summary = f"epoch {run.epoch}/{run.config.epochs} {result.summary()}"
            self.console.print(summary, highlight=False)


class Checkpoints(Observer):
    """A checkpoint every `checkpoint_every` epochs, at the end, and on a stop request."""

    def on_epoch(self, run: Run) -> None:
        if _due(run, run.config.checkpoint_every):
            run.save_checkpoint()

    def on_interrupt(self, run: Run) -> None:
        run.save_checkpoint()


class ProgressDisplay(Observer):
    """A live bar (epoch, it/s, losses, time left), or a line per checkpoint without one."""

    def __init__(self, run: Run, console: Console, live: bool) -> None:
        self.console = console
        self.live = live
        self.last: dict[str, float] = {}
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
            total=run.config.epochs * run.batches_per_epoch(),
            completed=run.step,
            epoch=run.epoch + 1,
            epochs=run.config.epochs,
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
        if self.live or not self.last or not _due(run, run.config.checkpoint_every):
            return
        s = self.last
        self.console.print(
            f"epoch {run.epoch}/{run.config.epochs} step {run.step} "
            f"D {s['loss_d']:.3f} G {s['loss_g']:.3f} "
            f"D(x) {s['d_real']:.2f} D(G(z)) {s['d_fake']:.2f} "
            f"{run.step / max(run.seconds, 1e-9):.2f} it/s"
        )

    def close(self) -> None:
        self.bar.stop()
