"""Training terms and architectures as registrations: LeCam, a term added from outside, an
architecture added from outside, and the settling shown by observers."""

from __future__ import annotations

import csv
import math
import signal
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from artstyle.cli import app
from artstyle.config import TrainConfig
from artstyle.errors import ArtstyleError
from artstyle.gan import checkpoint, run_files
from artstyle.gan import train as training
from artstyle.gan.data import load_paintings
from artstyle.gan.models import ARCHS, Arch, DCGANDiscriminator, DCGANGenerator
from artstyle.gan.observers import Observer, log_fields
from artstyle.gan.terms import TERMS, Batch, Term
from artstyle.gan.terms.lecam import LeCam

#: fast: a fully connected GAN without the Gram loss's VGG19
MLP = {
    "arch": "mlp", "width": 4, "batch_size": 8, "crop": "center", "gram_weight": None,
    "settle_steps": 0, "sample_every": 1, "checkpoint_every": 1, "precision": "fp32",
}  # fmt: skip


def _run(cfg: TrainConfig, folder: Path, run_dir: Path = Path("unused")) -> training.Run:
    return training.Run(cfg, load_paintings(folder, 64, cfg.data.crop), run_dir)


def _batch(d_real: list[float], d_fake: list[float]) -> Batch:
    batch = Batch(torch.zeros(2, 3, 8, 8), torch.zeros(2, 4), None, 1.0, lambda: torch.zeros(0))
    batch.d_real, batch.d_fake = torch.tensor(d_real), torch.tensor(d_fake)
    return batch


def test_lecam_pulls_d_towards_its_averages_of_the_other_kind(painting_folder: Path) -> None:
    """||D(x) - ema_fake||^2 + ||D(G(z)) - ema_real||^2, weighted, the averages starting at the
    first outputs and moving by 1 - lecam_decay."""
    assert (
        TrainConfig().lecam.weight == 0
        and "lecam" not in _run(TrainConfig(**MLP), painting_folder).terms
    )
    run = _run(TrainConfig(**MLP, lecam_weight=0.5, lecam_decay=0.9), painting_folder)
    term = run.terms["lecam"]
    assert isinstance(term, LeCam)
    first = _batch([2.0, 4.0], [-1.0, 1.0])  # means: real 3, fake 0
    loss = term.d_loss(first)
    assert term.ema == pytest.approx((3.0, 0.0))
    assert float(loss) == pytest.approx(0.5 * ((4 + 16) / 2 + (16 + 4) / 2))
    assert first.stats["lecam"] == pytest.approx(20.0)
    term.d_loss(_batch([1.0, 1.0], [1.0, 1.0]))
    assert term.ema == pytest.approx((0.9 * 3 + 0.1, 0.1))

    other = _run(TrainConfig(**MLP, lecam_weight=0.5), painting_folder).terms["lecam"]
    other.load_state(term.state())  # its checkpoint entry, exactly
    assert isinstance(other, LeCam) and other.ema == term.ema
    assert set(term.state()) == {"lecam_ema"}


def test_lecam_joins_ds_loss_in_a_step(painting_folder: Path) -> None:
    off = _run(TrainConfig(**MLP), painting_folder).train_step(torch.arange(8))
    on = _run(TrainConfig(**MLP, lecam_weight=0.3), painting_folder).train_step(torch.arange(8))
    assert math.isnan(off["lecam"]) and on["lecam"] > 0
    assert on["d_real"] == off["d_real"] and on["d_fake"] == off["d_fake"]  # the same D, before
    assert on["loss_d"] == pytest.approx(off["loss_d"] + 0.3 * on["lecam"], rel=1e-5)


def test_a_run_with_lecam_resumes_exactly(
    painting_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = TrainConfig(**MLP, epochs=2, lecam_weight=0.3, lecam_decay=0.5)
    training.train(painting_folder, tmp_path / "full", cfg, progress=False)
    original = training.Run.train_step

    def interrupt_at_step_3(self: training.Run, index: torch.Tensor) -> dict[str, float]:
        stats = original(self, index)
        if self.step == 2:
            signal.raise_signal(signal.SIGINT)
        return stats

    monkeypatch.setattr(training.Run, "train_step", interrupt_at_step_3)
    with pytest.raises(training.TrainingInterrupted):
        training.train(painting_folder, tmp_path / "cut", cfg, progress=False)
    monkeypatch.undo()
    training.train(painting_folder, tmp_path / "cut", resume=True, progress=False)
    a, _ = checkpoint.load(tmp_path / "full" / run_files.CHECKPOINT)
    b, _ = checkpoint.load(tmp_path / "cut" / run_files.CHECKPOINT)
    assert "lecam_ema" in a and a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    with (tmp_path / "cut" / run_files.LOG).open() as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["1", "2", "3", "4"] and all(
        float(r["lecam"]) > 0 for r in rows
    )


def test_the_cli_has_lecam_weight(painting_folder: Path, tmp_path: Path) -> None:
    args = ["train", str(painting_folder), "-o", str(tmp_path / "run"), "--recipe", "ast-gan",
            "--arch", "mlp", "--width", "4", "--batch-size", "8", "--epochs", "1",
            "--set", "lecam.weight=0.2", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    old = CliRunner().invoke(app, [*args[:-3], "--lecam-weight", "0.2"])
    assert "--lecam-weight is now --set lecam.weight=VALUE" in old.stderr
    meta = checkpoint.load(tmp_path / "run" / run_files.CHECKPOINT)[1]
    assert meta["config"]["lecam_weight"] == 0.2


class Toy(Term):
    """A term added from outside: pulls G's images towards grey; counts its steps."""

    name = "toy"
    log_fields = ("toy_mean",)

    @classmethod
    def active(cls, config: TrainConfig) -> bool:
        return True

    def __init__(self, run: training.Run) -> None:
        super().__init__(run)
        self.steps = torch.zeros((), dtype=torch.int64)

    def g_loss(self, batch: Batch) -> torch.Tensor:
        self.steps += 1
        batch.stats["toy_mean"] = float(batch.fake.detach().mean())
        return 0.1 * batch.fake.mean().pow(2)

    def state(self) -> dict[str, torch.Tensor]:
        return {"toy_steps": self.steps}

    def load_state(self, tensors: dict[str, torch.Tensor]) -> None:
        self.steps = tensors["toy_steps"].clone()


def test_a_new_term_is_registered_without_touching_the_loop(
    painting_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One class and one registration: the step asks it, the log gets its column (before
    `seconds`), the checkpoint keeps its state."""
    monkeypatch.setitem(TERMS, "toy", Toy)
    assert log_fields()[-2:] == ["toy_mean", "seconds"]
    result = training.train(
        painting_folder, tmp_path / "run", TrainConfig(**MLP, epochs=1), progress=False
    )
    tensors, _ = checkpoint.load(tmp_path / "run" / run_files.CHECKPOINT)
    assert int(tensors["toy_steps"]) == result.steps == 2
    with (tmp_path / "run" / run_files.LOG).open() as f:
        assert all(math.isfinite(float(r["toy_mean"])) for r in csv.DictReader(f))
    training.train(
        painting_folder, tmp_path / "run", TrainConfig(epochs=2), resume=True, progress=False
    )
    assert int(checkpoint.load(tmp_path / "run" / run_files.CHECKPOINT)[0]["toy_steps"]) == 4


def test_a_new_architecture_is_registered_without_touching_the_loop(
    painting_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    narrow = Arch(
        "narrow",
        lambda c: DCGANGenerator(c.networks.z_dim, 2, c.networks.image_size),
        lambda c: DCGANDiscriminator(2, c.networks.image_size),
        memory_format=torch.contiguous_format,
    )
    monkeypatch.setitem(ARCHS, "narrow", narrow)
    cfg = TrainConfig(**{**MLP, "arch": "narrow"})
    run = _run(cfg, painting_folder)
    assert run.memory_format == torch.contiguous_format and run.fixed_noise is None
    assert isinstance(run.g_net, DCGANGenerator) and cfg.sample_size == 64
    assert math.isfinite(run.train_step(torch.arange(8))["loss_g"])
    with pytest.raises(ValueError, match=r"unknown architecture 'wide'; registered: texture"):
        TrainConfig(arch="wide")


def test_retune_may_not_turn_on_a_term_that_shapes_networks(
    painting_folder: Path, tmp_path: Path
) -> None:
    cfg = TrainConfig(**MLP, epochs=1, lecam_weight=0.1)
    training.train(painting_folder, tmp_path / "run", cfg, progress=False)
    assert (
        "whole_weight" in training.architecture() and "lecam_weight" not in training.architecture()
    )
    later = TrainConfig(epochs=2, lecam_weight=0.2)  # a learning setting: retuned
    training.train(
        painting_folder, tmp_path / "run", later, resume=True, retune=True, progress=False
    )
    meta = checkpoint.load(tmp_path / "run" / run_files.CHECKPOINT)[1]
    assert meta["retunes"] == [{"epoch": 1, "settings": {"lecam_weight": 0.2}}]
    with pytest.raises(ArtstyleError, match="whole_weight: a resumed run keeps its networks"):
        training._changes(cfg, TrainConfig(whole_weight=1.0), True)


class SettleSteps(Observer):
    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_settle(self, run: training.Run, step: int, error: float) -> None:
        self.steps.append(step)


def test_observers_see_the_settling(painting_folder: Path, tmp_path: Path) -> None:
    watcher = SettleSteps()
    cfg = TrainConfig(width=4, batch_size=8, epochs=1, gram_batch=2, settle_steps=3)
    training.train(painting_folder, tmp_path / "run", cfg, progress=False, observers=[watcher])
    assert watcher.steps == [1, 2, 3]


def test_every_term_names_real_settings_and_the_log_keeps_its_columns() -> None:
    for term in TERMS.values():
        assert term.section in TrainConfig.model_fields, term.name
    before = [
        "step", "epoch", "iteration", "loss_d", "loss_g", "d_real", "d_fake",
        "skipped_d", "skipped_g", "real_label", "gram_error", "whole_fake", "seconds",
    ]  # fmt: skip
    fields = log_fields()
    assert [f for f in fields if f in before] == before and fields[-1] == "seconds"
    assert list(TERMS) == ["gradient_penalty", "gram", "whole_view", "lecam", "grid"]  # in order
