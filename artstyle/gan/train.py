"""DCGAN training, in the manner of pytorch/examples' dcgan: the step reads top to bottom.

A run lives in one folder: `config.json`, `log.csv` (one row per iteration), `samples/` (a
fixed-z grid every few epochs), `checkpoint.safetensors` (every few epochs and on Ctrl-C or
SIGTERM) and, at the end, `generator.safetensors` with its model card and `curves.png`.
Resuming restores the models, optimisers, RNG state and the epoch's shuffle, so an interrupted
run continues exactly as if it had never stopped (on the CPU with the same seed).

`Run` holds the game (G, D, their optimisers, the EMA copy) and where the loop stands; each step
updates D on the adversarial loss plus what the active training terms add (`gan.terms`: the
gradient penalty, LeCam), then G on its adversarial loss plus the terms' pulls (Gram matching,
the whole-view discriminator). The architecture is a registration (`gan.models.get_arch`).

The loop steps and tells its observers (`gan.observers`: log, grids, evaluation, checkpoints,
progress, also of the settling). Under torchrun it runs on every rank (`gan.distributed`):
`batch_size` is the global batch, each rank takes its share of every batch of one shuffle drawn
in lockstep, gradients are averaged by DistributedDataParallel, and only rank 0 writes files.

With `precision` bf16 (or fp16) the forward passes of G, the discriminators and the Gram loss's
VGG19 run under autocast; the losses are taken on fp32 logits, the Gram matrices summed in fp32,
and the weights, optimisers and EMA stay fp32. fp16 scales the losses (`torch.amp.GradScaler`);
bf16 has fp32's exponent range and needs no scaling. fp32 runs no autocast at all.
"""

from __future__ import annotations

import json
import platform
import signal
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from torch import nn

from artstyle import atomic
from artstyle.config import TrainConfig, stored_train_config
from artstyle.device import resolve_device, seeded_rng
from artstyle.errors import ArtstyleError, ImageReadError
from artstyle.gan import checkpoint, run_files
from artstyle.gan.augment import diff_augment
from artstyle.gan.data import PaintingSet, load_paintings
from artstyle.gan.distributed import World, session
from artstyle.gan.export import data_description, export_generator
from artstyle.gan.gram_match import GramMatch
from artstyle.gan.losses import get_loss
from artstyle.gan.models import build_discriminator, build_generator, get_arch
from artstyle.gan.observers import (
    Checkpoints,
    CsvLog,
    Evaluation,
    Observer,
    ProgressDisplay,
    SampleGrids,
    log_fields,
)
from artstyle.gan.settle import settle
from artstyle.gan.terms import Batch, Term, active_terms, unlogged
from artstyle.gan.terms.gram import GramMatching
from artstyle.precision import autocast, dtype_name, grad_scaler, resolve_dtype, scaled_step
from artstyle.settings import architecture_names, explicit, flatten, resumable_names

#: Flat names of the settings a resumed run may change: those of the sections that decide how
#: long it runs and what it records, not how it learns (`run`, `settle`: settling only changes the
#: exported copy), so the run stays the same run.
RESUMABLE = resumable_names(TrainConfig)


def architecture(cls: type[TrainConfig] = TrainConfig) -> frozenset[str]:
    """Flat names of every setting no retune may change: those that shape the networks and the
    data they learn from (the `networks` section, `data.crop`, the terms' fields tagged so)."""
    return architecture_names(cls)


class TrainingInterrupted(ArtstyleError):
    """Raised after Ctrl-C / SIGTERM once the checkpoint is safely written."""


@dataclass
class TrainResult:
    """What a finished run produced."""

    run_dir: Path
    generator_path: Path
    steps: int
    seconds: float
    skipped_d: int
    skipped_g: int


def real_label_at(config: TrainConfig, epoch: int, epochs: int) -> float:
    """One-sided label smoothing: `real_label`, raised to `real_label_late` at the switch."""
    return (
        config.optim.real_label
        if epoch < config.optim.label_switch * epochs
        else config.optim.real_label_late
    )


def lr_scale_at(config: TrainConfig, epoch: int, epochs: int) -> float:
    """Learning-rate factor of `epoch` of `epochs`: 1, then `anneal_lr` for the last `anneal`."""
    return config.optim.anneal_lr if epoch >= (1 - config.optim.anneal) * epochs else 1.0


# --- the run ----------------------------------------------------------------------------------


class Run:
    """The state of one training run (on one rank): G, D, their optimisers, the EMA copy, the
    active training terms (`gan.terms`) and where the loop stands; `train()` drives it.

    `g_net`/`d_net` are the networks; `g`/`d` the same wrapped for gradient averaging when there
    are several ranks (the networks themselves otherwise).
    """

    def __init__(
        self,
        config: TrainConfig,
        data: PaintingSet,
        run_dir: Path,
        world: World | None = None,
        device: torch.device | None = None,
    ) -> None:
        self.config = config.for_paintings(len(data))
        self.data = data
        self.run_dir = run_dir
        self.world = world or World()
        self.device = device or resolve_device(config.run.device)
        #: the dtype the forward passes run in (`config.optim.precision`), and fp16's loss scaling
        self.dtype = resolve_dtype(config.optim.precision, self.device)
        self.scaler = grad_scaler(self.device, self.dtype)
        self._check_world()
        self.loss = get_loss(config.optim.loss)
        self.arch = get_arch(config.networks.arch)
        self.memory_format = self.arch.memory_format
        torch.manual_seed(config.optim.seed)  # the networks' initial weights, in this order
        self.g_net = self.place(build_generator(config))
        self.d_net = self.place(build_discriminator(config))
        self.g = self.world.wrap(self.g_net, self.device, config.run.sync_bn)
        self.d = self.world.wrap(self.d_net, self.device, config.run.sync_bn)
        self.ema = self._ema_copy()
        self.opt_g = self.adam(self.g, config.optim.lr_g)
        self.opt_d = self.adam(self.d, config.optim.lr_d)
        #: the training terms the settings turn on, by name, in the order the step asks them
        self.terms: dict[str, Term] = {t.name: t(self) for t in active_terms(config)}
        self.fixed_z = torch.randn(64, config.networks.z_dim, device=self.device)
        #: texture arch: the grids show whole samples at the card's scale, on fixed local noise
        noise = self.arch.noise(
            self.g_net, 64, config.sample_size, torch.Generator().manual_seed(1)
        )
        self.fixed_noise = None if noise is None else noise.to(self.device)
        self.step = 0
        self.epoch = 0
        self.iteration = 0  # next batch within the epoch
        self.perm: torch.Tensor | None = None
        self.seconds = 0.0
        self.skipped_d = 0
        self.skipped_g = 0
        #: learning settings changed on resume (`retune`): [{"epoch": E, "settings": {...}}]
        self.retunes: list[dict[str, Any]] = []

    def _check_world(self) -> None:
        if self.config.optim.batch_size % self.world.size:
            raise ArtstyleError(
                f"the batch of {self.config.optim.batch_size} (the global batch) does not split "
                f"evenly over {self.world.size} processes"
            )
        if self.config.run.sync_bn and self.world.distributed and self.device.type != "cuda":
            raise ArtstyleError("--sync-bn needs CUDA (PyTorch's SyncBatchNorm is GPU-only)")

    def _ema_copy(self) -> nn.Module | None:
        """The EMA copy of G (`config.optim.ema`), starting as G."""
        if self.config.optim.ema is None:
            return None
        ema = build_generator(self.config).to(self.device)
        ema.load_state_dict(self.g_net.state_dict())
        return ema.requires_grad_(False)

    def place(self, net: nn.Module) -> nn.Module:
        """A freshly built network on the run's device, in its memory format."""
        return net.to(self.device).to(memory_format=self.memory_format)

    def adam(self, net: nn.Module, lr: float) -> torch.optim.Adam:
        """The run's Adam (Ast-GAN's betas) over `net`'s parameters."""
        betas = (self.config.optim.beta1, self.config.optim.beta2)
        return torch.optim.Adam(net.parameters(), lr=lr, betas=betas, eps=1e-8)

    def amp(self) -> AbstractContextManager[None]:
        """Forward passes in the run's precision (no autocast at all in fp32)."""
        return autocast(self.device, self.dtype)

    @property
    def gram(self) -> GramMatch | None:
        """The Gram matching of the run (what settling pulls towards), None when it is off."""
        term = self.terms.get(GramMatching.name)
        return term.match if isinstance(term, GramMatching) else None

    # one iteration: the whole training step, top to bottom
    def train_step(self, index: torch.Tensor) -> dict[str, float]:
        """One step on the global batch `index`, of which this rank takes its share."""
        batch = self._batch(index)
        with self._rank_rng():
            return self._step(batch)

    def _batch(self, index: torch.Tensor) -> Batch:
        """Real images, latents, local noise and what the terms draw, of this rank's share of
        the global batch.

        All ranks draw the whole batch's crops, flips and latents from the same generator state
        and keep their own rows, so the ranks stay in lockstep and together see exactly what one
        process would."""
        cfg, mine = self.config, self.world.share(len(index))
        real = self.data.batch(index, cfg.data.flip)[mine]
        real = real.to(self.device, memory_format=self.memory_format)
        z = torch.randn(len(index), cfg.networks.z_dim, device=self.device)[mine]
        noise = self.arch.noise(self.g_net, len(index), cfg.networks.image_size)
        noise = None if noise is None else noise[mine].to(self.device)
        label = real_label_at(cfg, self.epoch, self.epochs)
        batch = Batch(real, z, noise, label, lambda: self._samples(batch))
        for term in self.terms.values():
            term.draw(batch, index, mine)
        return batch

    @contextmanager
    def _rank_rng(self) -> Iterator[None]:
        """Randomness inside the networks (pixel noise, DiffAugment) from a stream of this rank's
        own, so ranks do not repeat each other; one process keeps the global stream."""
        if not self.world.distributed:
            yield
            return
        with seeded_rng(
            hash((self.config.optim.seed, self.world.rank, self.step)) & 0x7FFFFFFF, self.device
        ):
            yield

    def _step(self, batch: Batch) -> dict[str, float]:
        cfg, loss, augment = self.config, self.loss, self.config.data.diffaugment
        self._anneal()
        with self.amp():
            batch.fake = self.g(batch.z) if batch.noise is None else self.g(batch.z, batch.noise)

        # (1) update D: maximise log D(x) + log(1 - D(G(z))) (or the hinge / Wasserstein form),
        # plus what the terms add (the gradient penalty, LeCam)
        self.d.requires_grad_(True)
        with self.amp():  # logits back in fp32 for the losses
            batch.d_real = self.d(diff_augment(batch.real, augment)).float()
            batch.d_fake = self.d(diff_augment(batch.fake.detach(), augment)).float()
        adversarial_d = loss.d(batch.d_real, batch.d_fake, batch.label)
        loss_d = _plus(adversarial_d, (term.d_loss(batch) for term in self.terms.values()))
        skip_d = self._sits_out(loss_d, cfg.optim.d_threshold)
        if not skip_d:
            scaled_step(self.scaler, self.opt_d, loss_d)

        # (2) update G: maximise log D(G(z)); D's weights need no gradient (nor averaging) here;
        # the terms' pulls (Gram matching, the whole view) join the adversarial one
        self.d_net.requires_grad_(False)
        with self.amp():
            d_gen = self.d_net(diff_augment(batch.fake, augment)).float()
        loss_g = loss.g(d_gen)
        skip_g = self._sits_out(loss_g, cfg.optim.g_threshold)
        if not skip_g:
            total_g = _plus(loss_g, (term.g_loss(batch) for term in self.terms.values()))
            scaled_step(self.scaler, self.opt_g, total_g)
            self._update_ema()

        self.skipped_d += skip_d
        self.skipped_g += skip_g
        return {
            "loss_d": loss_d.item(), "loss_g": loss_g.item(),
            "d_real": loss.score(batch.d_real), "d_fake": loss.score(batch.d_fake),
            "skipped_d": int(skip_d), "skipped_g": int(skip_g), "real_label": batch.label,
            **unlogged(), **batch.stats,
        }  # fmt: skip

    def _anneal(self) -> None:
        """G's and D's learning rates of this epoch (`lr_scale_at`)."""
        scale = lr_scale_at(self.config, self.epoch, self.epochs)
        for opt, lr in ((self.opt_g, self.config.optim.lr_g), (self.opt_d, self.config.optim.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * scale

    def _sits_out(self, loss: torch.Tensor, threshold: float | None) -> bool:
        """Conditional backprop: a network whose loss is already below `threshold` sits out.
        Every rank takes the same decision (on the mean loss), or the gradient averaging
        stalls."""
        mean = self.world.mean(loss.item(), self.device)
        return threshold is not None and mean < threshold

    def _samples(self, batch: Batch) -> torch.Tensor:
        """What the Gram loss and the whole view look at (`Batch.samples`): this rank's share of
        `gram_batch` training images, or as many fresh samples at the size the style stage
        uses (`gram_scale = "sample"`) where the generator paints any size."""
        n = self.n_samples()
        if self.config.gram.scale == "patch" or not self.arch.any_size:
            return batch.fake[:n]
        z = torch.randn(n, self.config.networks.z_dim, device=self.device)
        with self.amp():
            return self.arch.generate(self.g_net, z, self.config.sample_size)

    def n_samples(self) -> int:
        """This rank's share of the `gram_batch` samples per step."""
        return max(1, self.config.gram.batch // self.world.size)

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema is None or self.config.optim.ema is None:
            return
        # warm-up: early on the average follows G closely instead of remembering its random init
        decay = min(self.config.optim.ema, (1 + self.step) / (10 + self.step))
        for p_ema, p in zip(self.ema.parameters(), self.g_net.parameters()):
            p_ema.lerp_(p, 1.0 - decay)
        for b_ema, b in zip(self.ema.buffers(), self.g_net.buffers()):
            b_ema.copy_(b)

    @property
    def sampler(self) -> nn.Module:
        """The generator used for samples and export: the EMA copy when there is one."""
        return self.ema if self.ema is not None else self.g_net

    @property
    def epochs(self) -> int:
        """The run's length in epochs (`TrainConfig.for_paintings`)."""
        assert self.config.run.epochs is not None  # resolved in __init__
        return self.config.run.epochs

    def batches_per_epoch(self) -> int:
        return len(self.data) // self.config.optim.batch_size

    # checkpoints ------------------------------------------------------------------------------

    def _networks(self) -> dict[str, nn.Module | torch.optim.Optimizer]:
        """The run's own networks and optimisers by checkpoint prefix (the terms keep theirs)."""
        own: dict[str, nn.Module | torch.optim.Optimizer] = {
            "g": self.g_net, "d": self.d_net, "opt_g": self.opt_g, "opt_d": self.opt_d,
        }  # fmt: skip
        return own if self.ema is None else {**own, "ema": self.ema}

    def save_checkpoint(self) -> Path:
        tensors = {"fixed_z": self.fixed_z, "rng_cpu": torch.get_rng_state()}
        for prefix, part in self._networks().items():
            if isinstance(part, nn.Module):
                tensors.update(checkpoint.module_tensors(part, prefix))
            else:
                tensors.update(checkpoint.optimizer_tensors(part, prefix))
        for term in self.terms.values():
            tensors.update(term.state())
        if self.perm is not None:
            tensors["perm"] = self.perm
        if self.device.type == "cuda":
            tensors["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        meta = {
            "config": self.config.flat(),
            **{key: getattr(self, key) for key in _PROGRESS},
            "images": len(self.data),
            "retunes": self.retunes,
            "grad_scaler": self.scaler.state_dict(),  # empty unless fp16
        }
        path = self.run_dir / run_files.CHECKPOINT
        checkpoint.save(path, tensors, meta)
        return path

    def load_checkpoint(self, path: Path) -> None:
        tensors, meta = checkpoint.load(path)
        if meta["images"] != len(self.data):
            raise ArtstyleError(
                f"{path}: the run was trained on {meta['images']} images but the folder now "
                f"holds {len(self.data)} usable ones; resume needs the same data"
            )
        try:
            for prefix, part in self._networks().items():
                if isinstance(part, nn.Module):
                    checkpoint.load_module(part, tensors, prefix)
                else:
                    checkpoint.load_optimizer(part, tensors, prefix)
            for term in self.terms.values():
                term.load_state(tensors)
        except ArtstyleError as exc:
            raise ArtstyleError(f"{path}: {exc}") from None
        self.fixed_z = tensors["fixed_z"].to(self.device)
        self.perm = tensors.get("perm")
        torch.set_rng_state(tensors["rng_cpu"])  # rank 0's, which every rank shares in lockstep
        if "rng_cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng_cuda"], self.device)
        for key in _PROGRESS:
            setattr(self, key, meta[key])
        self.retunes = meta.get("retunes", [])
        if meta.get("grad_scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(meta["grad_scaler"])


def _plus(loss: torch.Tensor, extras: Iterable[torch.Tensor | None]) -> torch.Tensor:
    """`loss` plus each of `extras` in turn (a term that adds nothing gives None)."""
    for extra in extras:
        if extra is not None:
            loss = loss + extra
    return loss


#: Where the loop stands, kept in a checkpoint's metadata.
_PROGRESS = ("step", "epoch", "iteration", "seconds", "skipped_d", "skipped_g")


@contextmanager
def _stop_requests() -> Iterator[list[bool]]:
    """Turn SIGINT/SIGTERM into a flag checked between iterations (main thread only)."""
    flag = [False]

    def handler(signum: int, frame: FrameType | None) -> None:
        flag[0] = True

    previous: dict[int, Any] = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield flag
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def train(
    data_dir: str | Path,
    run_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    resume: bool = False,
    retune: bool = False,
    console: Console | None = None,
    on_skip: Callable[[ImageReadError], None] | None = None,
    progress: bool = True,
    observers: Sequence[Observer] = (),
) -> TrainResult:
    """Train a GAN on the images under `data_dir`, writing everything to `run_dir`.

    With `resume=True` the run continues from `run_dir/checkpoint.safetensors` with the settings
    stored there; of `config` only the explicitly set settings of the resumable sections apply
    (`run`, `settle`: `RESUMABLE`), or with `retune=True` every explicitly set one but the
    `architecture()` (a fine-tune: the run goes
    on with other learning settings, recorded in its checkpoint and card). Without `resume`, a
    `run_dir` that already holds a checkpoint is refused, so no earlier run is overwritten.
    `observers` watch the loop beside the built-in ones, on every rank.
    """
    console = console or Console(stderr=True)
    run_dir = Path(run_dir)
    config, changed = _settings(run_dir, config, resume, retune)
    resume_command = f"artstyle train {data_dir} -o {run_dir} --resume"
    data = load_paintings(
        data_dir,
        config.networks.image_size,
        config.data.crop,
        on_skip=on_skip,
        min_images=config.optim.batch_size,
    )
    with session(resolve_device(config.run.device)) as (world, device):
        run = Run(config, data, run_dir, world, device)
        if world.is_main and data.skipped:
            console.print(f"[yellow]skipped {len(data.skipped)} unreadable file(s)[/]")
        if resume:
            _resume(run, changed, console)
        _write_settings(run, data_dir)
        with ExitStack() as stack:
            watchers = [*(_built_in(run, console, progress) if world.is_main else []), *observers]
            for watcher in watchers:
                stack.callback(watcher.close)
            _loop(run, watchers, resume_command)
            settled: dict[str, Any] = {}
            if world.is_main:
                generator, settled = _settle(run, watchers, resume_command)
        generator_path = run_dir / run_files.GENERATOR
        if world.is_main:
            _export(run, generator, settled, data_dir, generator_path)
        world.barrier()
    seconds = run.seconds + settled.get("settle_seconds", 0.0)
    return TrainResult(run_dir, generator_path, run.step, seconds, run.skipped_d, run.skipped_g)


def _settings(
    run_dir: Path, config: TrainConfig | None, resume: bool, retune: bool
) -> tuple[TrainConfig, dict[str, Any]]:
    """The run's settings, and (resuming) those of `config` that change the stored ones."""
    ckpt = run_dir / run_files.CHECKPOINT
    if retune and not resume:
        raise ArtstyleError("--retune changes a run being resumed; add --resume")
    if not resume:
        if ckpt.exists():
            raise ArtstyleError(
                f"{run_dir}: already holds a training run; use --resume to continue it "
                "or choose another output folder"
            )
        config = config or TrainConfig()
        # the whole view's default follows the design; a run keeps the one it started with, so
        # a later retune of the design cannot switch on a discriminator its checkpoint lacks
        pinned = {**config.flat(), "whole_weight": config.whole_view_weight}
        return TrainConfig.model_validate(pinned), {}
    if not ckpt.exists():
        raise ArtstyleError(f"{run_dir}: no checkpoint to resume from")
    stored = stored_train_config(checkpoint.load(ckpt)[1]["config"])
    changed = _changes(stored, config, retune)
    return TrainConfig.model_validate({**stored.flat(), **changed}), changed


def _resume(run: Run, changed: dict[str, Any], console: Console) -> None:
    """Load the run's checkpoint, record a retune, and drop the log rows written after it."""
    run.load_checkpoint(run.run_dir / run_files.CHECKPOINT)
    learning = {k: v for k, v in changed.items() if k not in resumable_names(type(run.config))}
    if learning:
        run.retunes.append({"epoch": run.epoch, "settings": learning})
    if run.world.is_main:
        step = run.step
        log = run.run_dir / run_files.LOG
        run_files.rewrite_csv(log, log_fields(), lambda row: int(row["step"]) <= step)
        where = escape(str(run.run_dir))
        console.print(f"resuming {where} at epoch {run.epoch + 1}, step {run.step}")


def _write_settings(run: Run, data_dir: str | Path) -> None:
    """`config.json`: the data folder and the settings (rank 0), before any rank starts."""
    if run.world.is_main:
        run.run_dir.mkdir(parents=True, exist_ok=True)
        settings = {"data": str(Path(data_dir).resolve()), **run.config.flat()}
        atomic.write_text(run.run_dir / run_files.CONFIG, json.dumps(settings, indent=2))
    run.world.barrier()


def _built_in(run: Run, console: Console, progress: bool) -> list[Observer]:
    """The observers rank 0 runs: log, grids, evaluation, checkpoints, progress."""
    return [
        CsvLog(run), SampleGrids(), Evaluation(run, console), Checkpoints(),
        ProgressDisplay(run, console, live=progress),
    ]  # fmt: skip


def _changes(stored: TrainConfig, config: TrainConfig | None, retune: bool) -> dict[str, Any]:
    """The settings of `config` a resumed run takes over (explicitly set ones only): those
    that only decide how long it runs and what it records, or with `retune` all but the
    architecture; asking for another architecture is one error."""
    if config is None:
        return {}
    cls = type(stored)
    given = flatten(cls, explicit(config))
    if not retune:
        resumable = resumable_names(cls)
        given = {k: v for k, v in given.items() if k in resumable}
    old = stored.flat()
    new = {k: v for k, v in given.items() if v != old[k]}
    if "iterations" in new and "epochs" not in given:  # the length resolves again from them
        new["epochs"] = None
    shaped = sorted(set(new) & architecture(cls))
    if shaped:
        raise ArtstyleError(
            f"{', '.join(shaped)}: a resumed run keeps its networks and data; "
            "start a new run for another architecture"
        )
    return new


def _loop(run: Run, observers: list[Observer], resume_command: str) -> None:
    """Epochs of steps until the configured number, telling the observers; stops cleanly (after
    a checkpoint) when any rank is asked to."""
    per_epoch = run.batches_per_epoch()
    with _stop_requests() as stop:
        while run.epoch < run.epochs:
            if run.perm is None:
                run.perm = torch.randperm(len(run.data))
            batches = run.perm[: per_epoch * run.config.optim.batch_size].view(per_epoch, -1)
            while run.iteration < per_epoch:
                start = time.perf_counter()
                stats = run.train_step(batches[run.iteration])
                seconds = time.perf_counter() - start
                run.seconds += seconds
                run.step += 1
                run.iteration += 1
                for observer in observers:
                    observer.on_step(run, stats, seconds)
                if run.world.any(stop[0], run.device):
                    for observer in observers:
                        observer.on_interrupt(run)
                    run.world.barrier()
                    raise TrainingInterrupted(
                        f"stopped at epoch {run.epoch + 1}, step {run.step}; checkpoint saved to "
                        f"{run.run_dir / run_files.CHECKPOINT}; continue with: {resume_command}"
                    )
            run.epoch += 1
            run.iteration = 0
            run.perm = None
            for observer in observers:
                observer.on_epoch(run)


def _settle(
    run: Run, observers: list[Observer], resume_command: str
) -> tuple[nn.Module, dict[str, Any]]:
    """The generator to export: the sampler settled (`gan.settle`) when the settings ask for it,
    telling the observers each step, and what the card records of that. A stop request ends it
    without a generator: the checkpoint already holds every finished epoch, and resuming
    settles again."""
    cfg = run.config
    if not cfg.settle.steps or run.gram is None:
        return run.sampler, {}
    done = [0]
    start = time.perf_counter()
    with _stop_requests() as stop:

        def on_step(step: int, error: float) -> bool:
            done[0] = step
            for observer in observers:
                observer.on_settle(run, step, error)
            return stop[0]

        generator = settle(run.sampler, run.gram, cfg, run.device, on_step)
    if stop[0]:
        raise TrainingInterrupted(
            f"stopped while settling ({done[0]} of {cfg.settle.steps} steps); the checkpoint "
            f"holds every finished epoch; continue with: {resume_command}"
        )
    seconds = time.perf_counter() - start
    return generator, {"settle_steps": cfg.settle.steps, "settle_seconds": round(seconds, 1)}


def _export(
    run: Run, generator: nn.Module, settled: dict[str, Any], data_dir: str | Path, path: Path
) -> None:
    """The finished run's generator with its model card, and its curves."""
    config = run.config
    seconds = run.seconds + settled.get("settle_seconds", 0.0)
    export_generator(
        generator,
        config,
        path,
        card={
            "data": data_description(data_dir, len(run.data)),
            "images": len(run.data),
            "epochs": run.epochs,
            "iterations": run.step,
            "training_seconds": round(seconds, 1),
            **settled,
            "machine": f"{platform.machine()} {run.device.type}, "
            f"{torch.get_num_threads()} threads x {run.world.size} process(es)",
            "precision": dtype_name(run.dtype),
            "skipped_d": run.skipped_d,
            "skipped_g": run.skipped_g,
            "retunes": run.retunes,
        },
    )
    from artstyle.gan.curves import plot_runs

    plot_runs([run.run_dir], run.run_dir / run_files.CURVES)
