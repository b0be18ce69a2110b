"""DCGAN training, in the manner of pytorch/examples' dcgan: the step reads top to bottom.

A run lives in one folder: `config.json`, `log.csv` (one row per iteration), `samples/` (a
fixed-z grid every few epochs), `checkpoint.safetensors` (every few epochs and on Ctrl-C or
SIGTERM) and, at the end, `generator.safetensors` with its model card and `curves.png`.
Resuming restores the models, optimisers, RNG state and the epoch's shuffle, so an interrupted
run continues exactly as if it had never stopped (on the CPU with the same seed).

The loop steps and tells its observers (`gan.observers`: log, grids, evaluation, checkpoints,
progress). Under torchrun it runs on every rank (`gan.distributed`): `batch_size` is the global
batch, each rank takes its share of every batch of one shuffle drawn in lockstep, gradients are
averaged by DistributedDataParallel, and only rank 0 writes files.

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
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from torch import nn

from artstyle import atomic
from artstyle.config import TrainConfig, stored_train_config
from artstyle.device import resolve_device, seeded_rng
from artstyle.errors import ArtstyleError, ImageReadError
from artstyle.gan import checkpoint, run_files
from artstyle.gan.augment import diff_augment
from artstyle.gan.data import PaintingSet, load_paintings, training_batch
from artstyle.gan.distributed import World, session
from artstyle.gan.export import data_description, export_generator
from artstyle.gan.gram_match import GramMatch, matched_layers
from artstyle.gan.losses import get_loss
from artstyle.gan.models import (
    TextureGenerator,
    build_discriminator,
    build_generator,
    generate,
)
from artstyle.gan.observers import (
    LOG_FIELDS,
    Checkpoints,
    CsvLog,
    Evaluation,
    Observer,
    ProgressDisplay,
    SampleGrids,
)
from artstyle.gan.settle import settle
from artstyle.gan.whole_view import shrink, whole_paintings
from artstyle.images import image_grid, signed_to_unit, write_image
from artstyle.precision import autocast, dtype_name, grad_scaler, resolve_dtype, scaled_step

#: Settings a resumed run may change: they decide how long it runs and what it records, not how
#: it learns, so the run stays the same run (settling only changes the exported copy).
RESUMABLE = frozenset(
    {
        "epochs", "sample_every", "checkpoint_every", "eval_every", "device", "sync_bn",
        "settle_steps", "settle_lr",
    }
)  # fmt: skip
#: Settings no retune may change: they shape the networks and the data they learn from.
ARCHITECTURE = frozenset(
    {
        "arch",
        "image_size",
        "width",
        "z_dim",
        "noise_dim",
        "g_norm",
        "d_slope",
        "crop",
        "whole_weight",
    }
)


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


# --- losses -----------------------------------------------------------------------------------


def gradient_penalty(d: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 on random mixes of real and fake images (the norm in
    fp32)."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(d(mix).float().sum(), mix, create_graph=True)
    return ((grad.float().flatten(1).norm(dim=1) - 1) ** 2).mean()


def real_label_at(config: TrainConfig, epoch: int) -> float:
    """One-sided label smoothing: `real_label`, raised to `real_label_late` at the switch."""
    return (
        config.real_label if epoch < config.label_switch * config.epochs else config.real_label_late
    )


def lr_scale_at(config: TrainConfig, epoch: int) -> float:
    """Learning-rate factor of `epoch`: 1, then `anneal_lr` for the last `anneal` of the run."""
    return config.anneal_lr if epoch >= (1 - config.anneal) * config.epochs else 1.0


# --- the run ----------------------------------------------------------------------------------


class Run:
    """Models, optimisers and bookkeeping of one training run (on one rank); `train()` drives it.

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
        self.config = config
        self.data = data
        self.run_dir = run_dir
        self.world = world or World()
        self.device = device or resolve_device(config.device)
        #: the dtype the forward passes run in (`config.precision`), and fp16's loss scaling
        self.dtype = resolve_dtype(config.precision, self.device)
        self.scaler = grad_scaler(self.device, self.dtype)
        if config.batch_size % self.world.size:
            raise ArtstyleError(
                f"the batch of {config.batch_size} (the global batch) does not split evenly "
                f"over {self.world.size} processes"
            )
        if config.sync_bn and self.world.distributed and self.device.type != "cuda":
            raise ArtstyleError("--sync-bn needs CUDA (PyTorch's SyncBatchNorm is GPU-only)")
        self.loss = get_loss(config.loss)
        self.memory_format = (
            torch.contiguous_format if config.arch == "mlp" else torch.channels_last
        )
        torch.manual_seed(config.seed)
        self.g_net = self._place(build_generator(config))
        self.d_net = self._place(build_discriminator(config))
        self.g = self.world.wrap(self.g_net, self.device, config.sync_bn)
        self.d = self.world.wrap(self.d_net, self.device, config.sync_bn)
        self.ema = build_generator(config).to(self.device) if config.ema else None
        if self.ema is not None:
            self.ema.load_state_dict(self.g_net.state_dict())
            self.ema.requires_grad_(False)
        self.opt_g = self._adam(self.g, config.lr_g)
        self.opt_d = self._adam(self.d, config.lr_d)
        #: the whole-view discriminator (`gan.whole_view`) and the shrunk paintings it sees
        self.dw_net: nn.Module | None = None
        if config.whole_weight:
            self.dw_net = self._place(build_discriminator(config))
            self.dw = self.world.wrap(self.dw_net, self.device, config.sync_bn)
            self.opt_dw = self._adam(self.dw, config.lr_d)
            self.wholes = whole_paintings(data)
        self.fixed_z = torch.randn(64, config.z_dim, device=self.device)
        #: texture arch: the grids show whole samples at the card's scale, on fixed local noise
        self.fixed_noise = (
            self.g_net.make_noise(64, config.sample_size, torch.Generator().manual_seed(1)).to(
                self.device
            )
            if isinstance(self.g_net, TextureGenerator)
            else None
        )
        self.gram = (
            GramMatch(data.paintings(), self.device, matched_layers(config.gram_layers))
            if config.gram_weight
            else None
        )
        self.step = 0
        self.epoch = 0
        self.iteration = 0  # next batch within the epoch
        self.perm: torch.Tensor | None = None
        self.seconds = 0.0
        self.skipped_d = 0
        self.skipped_g = 0
        #: learning settings changed on resume (`retune`): [{"epoch": E, "settings": {...}}]
        self.retunes: list[dict[str, Any]] = []

    def _place(self, net: nn.Module) -> nn.Module:
        """A freshly built network on the run's device, in its memory format."""
        return net.to(self.device).to(memory_format=self.memory_format)

    def _adam(self, net: nn.Module, lr: float) -> torch.optim.Adam:
        """The run's Adam (Ast-GAN's betas) over `net`'s parameters."""
        betas = (self.config.beta1, self.config.beta2)
        return torch.optim.Adam(net.parameters(), lr=lr, betas=betas, eps=1e-8)

    # one iteration: the whole training step, top to bottom
    def train_step(self, index: torch.Tensor) -> dict[str, float]:
        """One step on the global batch `index`, of which this rank takes its share."""
        inputs = self._inputs(index)
        with self._rank_rng():
            return self._step(*inputs)

    def _inputs(
        self, index: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Real images, latents, local noise and (with the whole view) whole paintings of this
        rank's share of the global batch.

        All ranks draw the whole batch's crops, flips and latents from the same generator state
        and keep their own rows, so the ranks stay in lockstep and together see exactly what one
        process would."""
        mine = self.world.share(len(index))
        real = self.data.batch(index, self.config.flip)[mine]
        real = real.to(self.device, memory_format=self.memory_format)
        z = torch.randn(len(index), self.config.z_dim, device=self.device)[mine]
        noise = None
        if isinstance(self.g_net, TextureGenerator):
            noise = self.g_net.make_noise(len(index), 4 * self.g_net.cell)[mine].to(self.device)
        wholes = None
        if self.dw_net is not None:  # as many as the Gram samples they are compared with
            wholes = training_batch(self.wholes[index], self.config.flip)[mine][: self._n_samples()]
            wholes = wholes.to(self.device, memory_format=self.memory_format)
        return real, z, noise, wholes

    @contextmanager
    def _rank_rng(self) -> Iterator[None]:
        """Randomness inside the networks (pixel noise, DiffAugment) from a stream of this rank's
        own, so ranks do not repeat each other; one process keeps the global stream."""
        if not self.world.distributed:
            yield
            return
        with seeded_rng(
            hash((self.config.seed, self.world.rank, self.step)) & 0x7FFFFFFF, self.device
        ):
            yield

    def _amp(self) -> AbstractContextManager[None]:
        """Forward passes in the run's precision (no autocast at all in fp32)."""
        return autocast(self.device, self.dtype)

    def _step(
        self,
        real: torch.Tensor,
        z: torch.Tensor,
        noise: torch.Tensor | None,
        wholes: torch.Tensor | None,
    ) -> dict[str, float]:
        cfg, g, d, adversarial, world = self.config, self.g, self.d, self.loss, self.world
        with self._amp():
            fake = g(z) if noise is None else g(z, noise)
        label = real_label_at(cfg, self.epoch)
        scale = lr_scale_at(cfg, self.epoch)
        for opt, lr in ((self.opt_g, cfg.lr_g), (self.opt_d, cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * scale

        # (1) update D: maximise log D(x) + log(1 - D(G(z))) (or the hinge / Wasserstein form)
        d.requires_grad_(True)
        with self._amp():  # logits back in fp32 for the losses
            d_real = d(diff_augment(real, cfg.diffaugment)).float()
            d_fake = d(diff_augment(fake.detach(), cfg.diffaugment)).float()
        loss_d = adversarial.d(d_real, d_fake, label)
        if adversarial.gradient_penalty:
            with self._amp():
                penalty = gradient_penalty(d, real, fake.detach())
            loss_d = loss_d + cfg.gp_weight * penalty
        # every rank takes the same decision (on the mean loss), or the gradient averaging stalls
        mean_d = world.mean(loss_d.item(), self.device)
        skip_d = cfg.d_threshold is not None and mean_d < cfg.d_threshold
        if not skip_d:  # conditional backprop: a network that is already winning sits out
            scaled_step(self.scaler, self.opt_d, loss_d)

        # (2) update G: maximise log D(G(z)); D's weights need no gradient (nor averaging) here
        self.d_net.requires_grad_(False)
        with self._amp():
            d_gen = self.d_net(diff_augment(fake, cfg.diffaugment)).float()
        loss_g = adversarial.g(d_gen)
        mean_g = world.mean(loss_g.item(), self.device)
        skip_g = cfg.g_threshold is not None and mean_g < cfg.g_threshold
        # (3) optionally pull the batch's mean Gram matrices towards the paintings'
        total_g, gram_error, whole_fake = loss_g, float("nan"), float("nan")
        samples = None
        if (self.gram is not None or wholes is not None) and not skip_g:
            with self._amp():
                samples = self._gram_samples(fake)
        if self.gram is not None and cfg.gram_weight and samples is not None:
            with self._amp():  # the Gram matrices and the loss are summed in fp32
                loss_gram, gram_error = self.gram.loss(samples)
            total_g = total_g + cfg.gram_weight * loss_gram
        # (4) optionally judge whole samples, shrunk as a viewer sees them, beside whole paintings
        if self.dw_net is not None and wholes is not None and samples is not None:
            view = shrink(samples, cfg.image_size)
            self.dw.requires_grad_(True)
            with self._amp():
                dw_fake = self.dw(diff_augment(view.detach(), cfg.whole_diffaugment)).float()
                dw_real = self.dw(diff_augment(wholes, cfg.whole_diffaugment)).float()
            scaled_step(self.scaler, self.opt_dw, adversarial.d(dw_real, dw_fake, label))
            self.dw_net.requires_grad_(False)
            with self._amp():
                dw_gen = self.dw_net(diff_augment(view, cfg.whole_diffaugment)).float()
            total_g = total_g + cfg.whole_weight * adversarial.g(dw_gen)
            whole_fake = adversarial.score(dw_fake)
        if not skip_g:
            scaled_step(self.scaler, self.opt_g, total_g)
            self._update_ema()

        self.skipped_d += skip_d
        self.skipped_g += skip_g
        return {
            "loss_d": loss_d.item(),
            "loss_g": loss_g.item(),
            "d_real": adversarial.score(d_real),
            "d_fake": adversarial.score(d_fake),
            "skipped_d": int(skip_d),
            "skipped_g": int(skip_g),
            "real_label": label,
            "gram_error": gram_error,
            "whole_fake": whole_fake,
        }

    def _gram_samples(self, fake: torch.Tensor) -> torch.Tensor:
        """What the Gram loss looks at: this rank's share of `gram_batch` training patches, or
        as many fresh samples at the size the style stage uses (`gram_scale = "sample"`).

        The extra samples go through the bare generator: its gradient joins the adversarial one
        in the same backward pass, so DDP still averages the sum once."""
        n = self._n_samples()
        if self.config.gram_scale == "patch" or not isinstance(self.g_net, TextureGenerator):
            return fake[:n]
        z = torch.randn(n, self.config.z_dim, device=self.device)
        return generate(self.g_net, z, self.config.sample_size)

    def _n_samples(self) -> int:
        """This rank's share of the `gram_batch` samples per step."""
        return max(1, self.config.gram_batch // self.world.size)

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self.ema is None or self.config.ema is None:
            return
        # warm-up: early on the average follows G closely instead of remembering its random init
        decay = min(self.config.ema, (1 + self.step) / (10 + self.step))
        for p_ema, p in zip(self.ema.parameters(), self.g_net.parameters()):
            p_ema.lerp_(p, 1.0 - decay)
        for b_ema, b in zip(self.ema.buffers(), self.g_net.buffers()):
            b_ema.copy_(b)

    @property
    def sampler(self) -> nn.Module:
        """The generator used for samples and export: the EMA copy when there is one."""
        return self.ema if self.ema is not None else self.g_net

    def batches_per_epoch(self) -> int:
        return len(self.data) // self.config.batch_size

    # checkpoints ------------------------------------------------------------------------------

    def save_checkpoint(self) -> Path:
        tensors = {
            **checkpoint.module_tensors(self.g_net, "g"),
            **checkpoint.module_tensors(self.d_net, "d"),
            **checkpoint.optimizer_tensors(self.opt_g, "opt_g"),
            **checkpoint.optimizer_tensors(self.opt_d, "opt_d"),
            "fixed_z": self.fixed_z,
            "rng_cpu": torch.get_rng_state(),
        }
        if self.ema is not None:
            tensors.update(checkpoint.module_tensors(self.ema, "ema"))
        if self.dw_net is not None:
            tensors.update(checkpoint.module_tensors(self.dw_net, "dw"))
            tensors.update(checkpoint.optimizer_tensors(self.opt_dw, "opt_dw"))
        if self.gram is not None:
            tensors.update(self.gram.state())
        if self.perm is not None:
            tensors["perm"] = self.perm
        if self.device.type == "cuda":
            tensors["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        meta = {
            "config": self.config.model_dump(mode="json"),
            "step": self.step,
            "epoch": self.epoch,
            "iteration": self.iteration,
            "seconds": self.seconds,
            "skipped_d": self.skipped_d,
            "skipped_g": self.skipped_g,
            "images": len(self.data),
            "retunes": self.retunes,
            "grad_scaler": self.scaler.state_dict(),  # empty unless fp16
        }
        path = self.run_dir / run_files.CHECKPOINT
        checkpoint.save(path, tensors, meta)
        return path

    def load_checkpoint(self, path: Path) -> None:
        tensors, meta = checkpoint.load(path)
        checkpoint.load_module(self.g_net, tensors, "g")
        checkpoint.load_module(self.d_net, tensors, "d")
        if self.ema is not None:
            checkpoint.load_module(self.ema, tensors, "ema")
        checkpoint.load_optimizer(self.opt_g, tensors, "opt_g")
        checkpoint.load_optimizer(self.opt_d, tensors, "opt_d")
        if self.dw_net is not None:
            checkpoint.load_module(self.dw_net, tensors, "dw")
            checkpoint.load_optimizer(self.opt_dw, tensors, "opt_dw")
        if self.gram is not None:
            self.gram.load_state(tensors)
        self.fixed_z = tensors["fixed_z"].to(self.device)
        self.perm = tensors.get("perm")
        torch.set_rng_state(tensors["rng_cpu"])  # rank 0's, which every rank shares in lockstep
        if "rng_cuda" in tensors and self.device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng_cuda"], self.device)
        for key in ("step", "epoch", "iteration", "seconds", "skipped_d", "skipped_g"):
            setattr(self, key, meta[key])
        self.retunes = meta.get("retunes", [])
        if meta.get("grad_scaler") and self.scaler.is_enabled():
            self.scaler.load_state_dict(meta["grad_scaler"])
        if meta["images"] != len(self.data):
            raise ArtstyleError(
                f"{path}: the run was trained on {meta['images']} images but the folder now "
                f"holds {len(self.data)} usable ones; resume needs the same data"
            )

    # outputs -----------------------------------------------------------------------------------

    @torch.inference_mode()
    def sample_grid(self) -> Path:
        """Write the fixed-z grid for the current epoch; eval-mode BN, no RNG consumed."""
        net = self.sampler
        was_training = net.training
        net.eval()
        with seeded_rng(2, self.device):
            out = (
                net(self.fixed_z)
                if self.fixed_noise is None
                else net(self.fixed_z, self.fixed_noise)
            )
        images = signed_to_unit(out).cpu()
        net.train(was_training)
        return write_image(image_grid(images), run_files.sample_grid(self.run_dir, self.epoch))


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
    stored there; of `config` only the explicitly set `RESUMABLE` fields apply, or with
    `retune=True` every explicitly set field but the `ARCHITECTURE` (a fine-tune: the run goes
    on with other learning settings, recorded in its checkpoint and card). Without `resume`, a
    `run_dir` that already holds a checkpoint is refused, so no earlier run is overwritten.
    `observers` watch the loop beside the built-in ones, on every rank.
    """
    console = console or Console(stderr=True)
    run_dir = Path(run_dir)
    ckpt = run_dir / run_files.CHECKPOINT
    if retune and not resume:
        raise ArtstyleError("--retune changes a run being resumed; add --resume")
    if resume:
        if not ckpt.exists():
            raise ArtstyleError(f"{run_dir}: no checkpoint to resume from")
        stored = stored_train_config(checkpoint.load(ckpt)[1]["config"])
        changed = _changes(stored, config, retune)
        config = TrainConfig.model_validate({**stored.model_dump(), **changed})
    elif ckpt.exists():
        raise ArtstyleError(
            f"{run_dir}: already holds a training run; use --resume to continue it "
            "or choose another output folder"
        )
    config = config or TrainConfig()

    resume_command = f"artstyle train {data_dir} -o {run_dir} --resume"
    data = load_paintings(
        data_dir, config.image_size, config.crop, on_skip=on_skip, min_images=config.batch_size
    )
    with session(resolve_device(config.device)) as (world, device):
        run = Run(config, data, run_dir, world, device)
        if world.is_main and data.skipped:
            console.print(f"[yellow]skipped {len(data.skipped)} unreadable file(s)[/]")
        if resume:
            run.load_checkpoint(ckpt)
            learning = {k: v for k, v in changed.items() if k not in RESUMABLE}
            if learning:
                run.retunes.append({"epoch": run.epoch, "settings": learning})
            if world.is_main:
                step = run.step
                run_files.rewrite_csv(
                    run_dir / run_files.LOG, LOG_FIELDS, lambda row: int(row["step"]) <= step
                )
                where = escape(str(run_dir))
                console.print(f"resuming {where} at epoch {run.epoch + 1}, step {run.step}")
        if world.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            atomic.write_text(
                run_dir / run_files.CONFIG,
                json.dumps(
                    {"data": str(Path(data_dir).resolve()), **config.model_dump(mode="json")},
                    indent=2,
                ),
            )
        world.barrier()
        with ExitStack() as stack:
            watchers = list(observers)
            if world.is_main:
                watchers = [
                    CsvLog(run), SampleGrids(), Evaluation(run, console), Checkpoints(),
                    ProgressDisplay(run, console, live=progress), *watchers,
                ]  # fmt: skip
            for watcher in watchers:
                stack.callback(watcher.close)
            _loop(run, watchers, resume_command)
        generator_path = run_dir / run_files.GENERATOR
        settled: dict[str, Any] = {}
        if world.is_main:
            generator, settled = _settle(run, console, progress, resume_command)
            _export(run, generator, settled, data_dir, generator_path)
        world.barrier()
    seconds = run.seconds + settled.get("settle_seconds", 0.0)
    return TrainResult(run_dir, generator_path, run.step, seconds, run.skipped_d, run.skipped_g)


def _changes(stored: TrainConfig, config: TrainConfig | None, retune: bool) -> dict[str, Any]:
    """The settings of `config` a resumed run takes over (explicitly set ones only): those
    that only decide how long it runs and what it records, or with `retune` all but the
    architecture; asking for another architecture is one error."""
    if config is None:
        return {}
    given = config.model_fields_set
    if not retune:
        given = given & RESUMABLE
    new = {k: getattr(config, k) for k in given if getattr(config, k) != getattr(stored, k)}
    shaped = sorted(set(new) & ARCHITECTURE)
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
        while run.epoch < run.config.epochs:
            if run.perm is None:
                run.perm = torch.randperm(len(run.data))
            batches = run.perm[: per_epoch * run.config.batch_size].view(per_epoch, -1)
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
    run: Run, console: Console, live: bool, resume_command: str
) -> tuple[nn.Module, dict[str, Any]]:
    """The generator to export: the sampler settled (`gan.settle`) when the settings ask for it,
    and what the card records of that. A stop request ends it without a generator: the
    checkpoint already holds every finished epoch, and resuming settles again."""
    cfg = run.config
    if not cfg.settle_steps or run.gram is None:
        return run.sampler, {}
    done = [0]
    start = time.perf_counter()
    columns = (TextColumn("[bold]settling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with _stop_requests() as stop, Progress(*columns, console=console, disable=not live) as bar:
        task = bar.add_task("settle", total=cfg.settle_steps)

        def on_step(step: int, error: float) -> bool:
            done[0] = step
            bar.advance(task)
            return stop[0]

        generator = settle(run.sampler, run.gram, cfg, run.device, on_step)
    if stop[0]:
        raise TrainingInterrupted(
            f"stopped while settling ({done[0]} of {cfg.settle_steps} steps); the checkpoint "
            f"holds every finished epoch; continue with: {resume_command}"
        )
    seconds = time.perf_counter() - start
    if not live:
        console.print(f"settled in {cfg.settle_steps} steps, {seconds / 60:.1f} min")
    return generator, {"settle_steps": cfg.settle_steps, "settle_seconds": round(seconds, 1)}


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
            "epochs": config.epochs,
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
