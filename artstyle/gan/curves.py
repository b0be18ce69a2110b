"""Training curves from a run's `log.csv`: losses, D(x) and D(G(z)), skips and speed."""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from artstyle import atomic
from artstyle.errors import ArtstyleError


def read_log(run_dir: str | Path) -> dict[str, np.ndarray]:
    """The columns of `run_dir/log.csv` as float arrays."""
    path = Path(run_dir) / "log.csv"
    if not path.exists():
        raise ArtstyleError(f"{run_dir}: no log.csv (not a training run folder?)")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ArtstyleError(f"{path}: the log is empty")
    return {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average, so that curves of noisy per-iteration losses stay readable."""
    if window <= 1 or len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_runs(run_dirs: list[str | Path], out: str | Path | None = None) -> Figure:
    """One figure comparing runs: G/D losses, D(x)/D(G(z)), skipped updates, s/iteration."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
    for run_dir in run_dirs:
        log = read_log(run_dir)
        name = Path(run_dir).name
        window = max(1, len(log["step"]) // 100)
        steps = log["step"][window - 1 :] if window > 1 else log["step"]
        axes[0, 0].plot(steps, _smooth(log["loss_d"], window), label=f"{name} D")
        axes[0, 0].plot(steps, _smooth(log["loss_g"], window), "--", label=f"{name} G")
        axes[0, 1].plot(steps, _smooth(log["d_real"], window), label=f"{name} D(x)")
        axes[0, 1].plot(steps, _smooth(log["d_fake"], window), "--", label=f"{name} D(G(z))")
        axes[1, 0].plot(log["step"], np.cumsum(log["skipped_d"]), label=f"{name} D skipped")
        axes[1, 0].plot(log["step"], np.cumsum(log["skipped_g"]), "--", label=f"{name} G skipped")
        axes[1, 1].plot(steps, _smooth(log["seconds"], window), label=name)
    titles = ["losses", "D(x) and D(G(z))", "skipped updates (cumulative)", "seconds / iteration"]
    for ax, title in zip(axes.flat, titles):
        ax.set_title(title)
        ax.set_xlabel("iteration")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    if out is not None:
        with atomic.atomic_path(out) as tmp:
            fig.savefig(tmp, format=Path(out).suffix.lstrip(".") or "png", dpi=100)
        plt.close(fig)
    return fig
