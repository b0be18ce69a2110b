"""Training curves from run folders: G and D losses, D(x) and D(G(z)), skipped updates, seconds
per iteration (`log.csv`), and VGG-KID with the memorisation ratio (`eval.csv`, when written).

Several runs go on one figure so that models and data sets can be compared, as aakashpydi did.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from artstyle import atomic
from artstyle.errors import ArtstyleError
from artstyle.figures import figure
from artstyle.gan import run_files


def read_csv(path: str | Path) -> dict[str, np.ndarray]:
    """The columns of a numeric CSV file as float arrays (empty cells become NaN)."""
    path = Path(path)
    try:
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        columns = {key: np.array([float(r[key] or "nan") for r in rows]) for key in rows[0]}
    except IndexError:
        raise ArtstyleError(f"{path}: the file is empty") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ArtstyleError(f"{path}: not a readable numeric CSV ({exc})") from None
    return columns


def read_log(run_dir: str | Path) -> dict[str, np.ndarray]:
    """The columns of `run_dir/log.csv` (one row per iteration) as float arrays."""
    path = Path(run_dir) / run_files.LOG
    if not path.exists():
        raise ArtstyleError(f"{run_dir}: no log.csv (not a training run folder?)")
    return read_csv(path)


def read_eval(run_dir: str | Path) -> dict[str, np.ndarray] | None:
    """The columns of `run_dir/eval.csv` (VGG-KID every few epochs), or None without one."""
    path = Path(run_dir) / run_files.EVAL
    return read_csv(path) if path.exists() else None


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Moving average, so that curves of noisy per-iteration losses stay readable."""
    if window <= 1 or len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def _names(run_dirs: list[Path]) -> list[str]:
    """Folder names, or longer paths where two runs share a name (runs/a/x vs runs/b/x)."""
    names = [p.name for p in run_dirs]
    return [str(p) if names.count(p.name) > 1 else p.name for p in run_dirs]


def plot_runs(run_dirs: list[str | Path], out: str | Path | None = None) -> Figure:
    """One figure comparing runs: losses, D(x)/D(G(z)), skips, s/iteration, and VGG-KID plus the
    memorisation ratio for runs that wrote `eval.csv`. Written atomically to `out` if given."""
    if not run_dirs:
        raise ArtstyleError("no run folders to plot")
    paths = [Path(p) for p in run_dirs]
    logs = [read_log(p) for p in paths]
    evals = [read_eval(p) for p in paths]
    cols = 3 if any(e is not None for e in evals) else 2
    fig = figure(figsize=(5.5 * cols, 7))
    axes = fig.subplots(2, cols, squeeze=False)
    for name, log, ev in zip(_names(paths), logs, evals):
        window = max(1, len(log["step"]) // 100)
        steps = log["step"][window - 1 :]
        axes[0, 0].plot(steps, _smooth(log["loss_d"], window), label=f"{name} D")
        axes[0, 0].plot(steps, _smooth(log["loss_g"], window), "--", label=f"{name} G")
        axes[0, 1].plot(steps, _smooth(log["d_real"], window), label=f"{name} D(x)")
        axes[0, 1].plot(steps, _smooth(log["d_fake"], window), "--", label=f"{name} D(G(z))")
        axes[1, 0].plot(log["step"], np.cumsum(log["skipped_d"]), label=f"{name} D skipped")
        axes[1, 0].plot(log["step"], np.cumsum(log["skipped_g"]), "--", label=f"{name} G skipped")
        axes[1, 1].plot(steps, _smooth(log["seconds"], window), label=name)
        if ev is not None:
            line = axes[0, 2].plot(ev["epoch"], ev["vgg_kid"], "o-", ms=3, label=name)[0]
            if "vgg_kid_std" in ev:
                low, high = ev["vgg_kid"] - ev["vgg_kid_std"], ev["vgg_kid"] + ev["vgg_kid_std"]
                axes[0, 2].fill_between(ev["epoch"], low, high, color=line.get_color(), alpha=0.2)
            if "memorisation_ratio" in ev:
                axes[1, 2].plot(ev["epoch"], ev["memorisation_ratio"], "o-", ms=3, label=name)
    titles = {
        (0, 0): ("losses", "iteration"),
        (0, 1): ("D(x) and D(G(z))", "iteration"),
        (1, 0): ("skipped updates (cumulative)", "iteration"),
        (1, 1): ("seconds / iteration", "iteration"),
        (0, 2): ("VGG-KID (lower is better; band: ±1 std)", "epoch"),
        (1, 2): ("memorisation ratio", "epoch"),
    }
    for (r, c), (title, xlabel) in titles.items():
        if c < cols:
            axes[r, c].set_title(title)
            axes[r, c].set_xlabel(xlabel)
            axes[r, c].grid(alpha=0.3)
            if axes[r, c].has_data():
                axes[r, c].legend(fontsize="small")
    axes[1, 0].set_ylim(bottom=0)
    if out is not None:
        with atomic.atomic_path(out) as tmp:
            fig.savefig(tmp, format=Path(out).suffix.lstrip(".") or "png", dpi=100)
    return fig
