"""GAN networks: the DCGAN (Radford et al. 2015), its fully convolutional texture variant, and a
fully connected vanilla GAN.

The DCGAN doubles the resolution with each transposed conv: 4 -> 8 -> ... -> image_size, so a
128-px model has one more layer pair than a 64-px one. `width` is the channel count next to the
image; width 128 at 64 px gives the 1024-filter design of Beyers & Loane.

The texture generator keeps the DCGAN's widths and BatchNorm + ReLU blocks but starts from a 4x4
grid instead of a 1x1 latent and doubles with resize-convolutions, so it has no checkerboard and
makes images of any multiple of a quarter of its training size: trained on patches of the
paintings, it paints a whole painting's worth of texture at the scale the patches were cut at
(see docs/gan.md).

Architectures are registered by name (`ARCHS`, `register_arch`), as losses are: what differs
between them (their networks, local noise, sample size, memory format) is asked of the
registration, never of the network's class.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from artstyle.config import TrainConfig
from artstyle.gan.doubling import DoublingSequential
from artstyle.gan.losses import get_loss
from artstyle.gan.registry import Registry


def _stages(image_size: int) -> int:
    """Number of stride-2 up/down-sampling layers between 4x4 and `image_size`."""
    return int(math.log2(image_size)) - 2


class DCGANGenerator(nn.Module):
    """z (N, z_dim) -> image (N, 3, S, S) in -1..1: transposed convs, BatchNorm + ReLU, tanh."""

    def __init__(self, z_dim: int = 100, width: int = 64, image_size: int = 64) -> None:
        super().__init__()
        n = _stages(image_size)
        ch = width * 2 ** (n - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, ch, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for _ in range(n - 1):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class PixelNoise(nn.Module):
    """Adds one fresh N(0, 1) value per pixel, scaled by a learned weight per channel (init 0).

    It draws from torch's global generator: seed it (or fork it) for reproducible samples."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        return x + self.weight * torch.randn(n, 1, h, w, device=x.device, dtype=x.dtype)


class Residual(nn.Module):
    """x + gain * body(x), the gain learned per channel from 0 (ReZero, Bachlechner et al. 2020):
    the block starts as the identity, so a network it deepens trains at first as it would
    without it."""

    def __init__(self, body: nn.Module, channels: int) -> None:
        super().__init__()
        self.body = body
        self.gain = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gain * self.body(x)


class PixelNorm(nn.Module):
    """Scales each pixel's feature vector to unit RMS (ProGAN / StyleGAN's pixelwise norm).

    Unlike BatchNorm it uses no batch statistics, so a sample is made the same way in training
    and in use: BatchNorm's running statistics left eval-mode samples measurably further from
    the paintings than the training batches (docs/gan.md)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)


def _upsample_mode(upsample: str, stage: int, stages: int) -> str:
    """The interpolation of doubling `stage` of `stages` (0: the coarsest) for `upsample`."""
    if upsample == "coarse-bilinear":
        return "bilinear" if stage < stages // 2 else "nearest"
    return upsample


class TextureGenerator(nn.Module):
    """z (N, z_dim) plus local noise (N, noise_dim, g, g) -> image (N, 3, cg, cg) in -1..1.

    A training image is 4x4 noise cells of c = image_size / 4 pixels; a sample may have any
    number of cells.

    z is broadcast over the grid, so it sets what a whole sample looks like (and keeps latent
    walks and arithmetic meaningful); the local noise varies it from place to place. Nearest
    upsampling followed by a 3x3 convolution replaces the transposed convolution, whose uneven
    overlap prints a periodic checkerboard (Odena et al. 2016) that Gram matrices read as texture;
    each such pair runs at the coarse resolution (`gan.doubling`, the same function, faster).
    Replicate padding instead of zeros tells no layer where the border is, so a sample larger
    than the training patches has no frame. Per-pixel noise added after every convolution
    (StyleGAN's noise inputs, learned per channel, starting at zero) gives the fine brushwork a
    random source of its own; without it, detail finer than a cell can only repeat from cell to
    cell, a periodic weave. `norm` is "batch" (BatchNorm) or "pixel" (`PixelNorm`); `upsample`
    is "nearest", "bilinear" (which gives no edge a head start along the cell grid) or
    "coarse-bilinear" (bilinear for the coarser half of the doublings, nearest for the rest).
    `layout_convs` more convolutions on the cell grid widen what G lays out before its first
    doubling: one sees 3 x 3 cells, each more adds a cell on every side; each is a `Residual`
    block, so G starts out as it would without them. `pixel_noise` adds
    noise at the image's own resolution before the last convolution: the other noise is at
    most half that, so without it any grain finer than 2 x 2 pixels has no random source.
    `position` gives the first convolution each cell's place in a sample of `canvas` x `canvas`
    cells (the style stage's size) as two more inputs, so G can compose a sample (sky above,
    ground below) as the deep style layers read it: a grid smaller than the canvas (a training
    patch) is a window at a random place of it, one larger stretches the canvas over it.
    """

    def __init__(
        self,
        z_dim: int = 100,
        width: int = 64,
        image_size: int = 64,
        noise_dim: int = 16,
        norm: str = "pixel",
        upsample: str = "nearest",
        layout_convs: int = 0,
        pixel_noise: bool = False,
        position: bool = False,
        canvas: int = 8,
    ) -> None:
        super().__init__()

        def normalize(channels: int) -> nn.Module:
            return PixelNorm() if norm == "pixel" else nn.BatchNorm2d(channels)

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [
                nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False, padding_mode="replicate"),
                PixelNoise(c_out),
                normalize(c_out),
                nn.ReLU(True),
            ]

        self.noise_dim = noise_dim
        self.cell = image_size // 4  # pixels per noise cell; a training image is 4x4 cells
        self.canvas = canvas if position else 0  # cells a side of the composed sample; 0: none
        n = _stages(image_size)
        modes = [_upsample_mode(upsample, stage, n) for stage in range(n)]
        ch = width * 2 ** (n - 1)
        layers = block(z_dim + noise_dim + (2 if self.canvas else 0), ch)
        # residual from a zero gain: plain ones stopped two default runs from learning at all
        layers += [Residual(nn.Sequential(*block(ch, ch)), ch) for _ in range(layout_convs)]
        for stage in range(n - 1):
            layers += [nn.Upsample(scale_factor=2, mode=modes[stage]), *block(ch, ch // 2)]
            ch //= 2
        layers += [
            nn.Upsample(scale_factor=2, mode=modes[-1]),
            *([PixelNoise(ch)] if pixel_noise else []),
            nn.Conv2d(ch, 3, 3, 1, 1, padding_mode="replicate"),
            nn.Tanh(),
        ]
        self.net = DoublingSequential(*layers)

    def make_noise(
        self, n: int, size: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Local noise (on the CPU) for `n` images of side `size`, a multiple of the cell."""
        if size % self.cell:
            raise ValueError(f"a texture sample's side must be a multiple of {self.cell} px")
        g = size // self.cell
        return torch.randn(n, self.noise_dim, g, g, generator=generator)

    def forward(self, z: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Images for latents `z`; `noise` (N or 1, noise_dim, g, g) sets their size (g cells),
        else fresh noise from torch's global generator at the training size."""
        if noise is None:
            noise = self.make_noise(z.shape[0], 4 * self.cell).to(z.device, z.dtype)
        n, _, h, w = noise.shape
        if n != z.shape[0]:
            noise = noise.expand(z.shape[0], -1, -1, -1)
        x = torch.cat([z.reshape(z.shape[0], -1, 1, 1).expand(-1, -1, h, w), noise], dim=1)
        if self.canvas:
            rows = self._places(x.shape[0], h)[:, None, :, None].expand(-1, -1, -1, w)
            columns = self._places(x.shape[0], w)[:, None, None, :].expand(-1, -1, h, -1)
            x = torch.cat([x, rows.to(x), columns.to(x)], dim=1)
        return self.net(x)

    def _places(self, n: int, cells: int) -> torch.Tensor:
        """(n, cells) centres of `cells` cells along one side of the canvas, in -1..1: a window
        at a random offset per image (torch's global generator) where the side is shorter."""
        if cells >= self.canvas:
            return ((2 * torch.arange(cells) + 1) / cells - 1).expand(n, -1)
        offset = torch.randint(0, self.canvas - cells + 1, (n, 1))
        return (2 * (offset + torch.arange(cells)) + 1) / self.canvas - 1


class DCGANDiscriminator(nn.Module):
    """image -> one logit per image: strided convs, LeakyReLU, BatchNorm after all but the first.

    `norm=False` drops BatchNorm (WGAN-GP's gradient penalty is per sample, which BN breaks).
    `features` keeps each conv block's output for the activation views in `explore`.
    """

    def __init__(
        self, width: int = 64, image_size: int = 64, slope: float = 0.3, norm: bool = True
    ) -> None:
        super().__init__()
        n = _stages(image_size)
        blocks: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(3, width, 4, 2, 1, bias=False), nn.LeakyReLU(slope, True))
        ]
        ch = width
        for _ in range(n - 1):
            blocks.append(
                nn.Sequential(
                    nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False),
                    nn.BatchNorm2d(ch * 2) if norm else nn.Identity(),
                    nn.LeakyReLU(slope, True),
                )
            )
            ch *= 2
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Conv2d(ch, 1, 4, 1, 0, bias=False)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The output of every conv block, shallow to deep."""
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.head(x).flatten()


class MLPGenerator(nn.Module):
    """Vanilla GAN generator (fully connected), the baseline of the anant10 source."""

    def __init__(self, z_dim: int = 100, image_size: int = 64, hidden: int = 1024) -> None:
        super().__init__()
        self.image_size = image_size
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden // 4),
            nn.LeakyReLU(0.2, True),
            nn.Linear(hidden // 4, hidden // 2),
            nn.LeakyReLU(0.2, True),
            nn.Linear(hidden // 2, hidden),
            nn.LeakyReLU(0.2, True),
            nn.Linear(hidden, 3 * image_size * image_size),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        s = self.image_size
        return self.net(z.view(z.shape[0], -1)).view(-1, 3, s, s)


class MLPDiscriminator(nn.Module):
    """Vanilla GAN discriminator (fully connected) giving one logit per image."""

    def __init__(self, image_size: int = 64, slope: float = 0.3, hidden: int = 1024) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(3 * image_size * image_size, hidden),
            nn.LeakyReLU(slope, True),
            nn.Linear(hidden, hidden // 2),
            nn.LeakyReLU(slope, True),
            nn.Linear(hidden // 2, hidden // 4),
            nn.LeakyReLU(slope, True),
            nn.Linear(hidden // 4, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def init_weights(module: nn.Module) -> None:
    """DCGAN init: conv and linear weights ~ N(0, 0.02); BatchNorm scale ~ N(1, 0.02), bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# --- architectures, registered by name ---------------------------------------------------------


@dataclass(frozen=True)
class Arch:
    """One architecture (`TrainConfig.arch`): how its networks are built and what its generator
    takes. Subclass and `register_arch` it to add another; no code outside asks which it is."""

    name: str
    generator: Callable[[TrainConfig], nn.Module]
    discriminator: Callable[[TrainConfig], nn.Module]
    #: memory format of its networks and their images (channels_last suits convolutions)
    memory_format: torch.memory_format = torch.channels_last
    #: its generator paints at any size, so extra whole samples may be drawn at `sample_size`
    any_size: bool = False

    def noise(
        self, net: nn.Module, n: int, size: int, generator: torch.Generator | None = None
    ) -> torch.Tensor | None:
        """Local noise (on the CPU) for `n` images of side `size`; None for a generator that
        takes z alone."""
        return None

    def sample_size(self, config: TrainConfig) -> int:
        """Side of the samples the style stage uses: the training size."""
        return config.networks.image_size

    def generate(
        self, net: nn.Module, z: torch.Tensor, size: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Images in -1..1 for latents `z`, at side `size` where the generator paints any size,
        on fresh local noise (drawn from `generator`, else torch's global one)."""
        noise = self.noise(net, len(z), size, generator)
        return net(z) if noise is None else net(z, noise.to(z.device))


@dataclass(frozen=True)
class TextureArch(Arch):
    """The texture generator: z plus local noise, any multiple of its cell in size."""

    any_size: bool = True

    def noise(
        self, net: nn.Module, n: int, size: int, generator: torch.Generator | None = None
    ) -> torch.Tensor | None:
        return cast(TextureGenerator, net).make_noise(n, size, generator)

    def sample_size(self, config: TrainConfig) -> int:
        """Trained on patches, it paints a whole painting's worth at the scale the patches were
        cut at (the paintings' short side at 2x the patch, as `gan.data` prepares them)."""
        return (
            2 * config.networks.image_size
            if config.data.crop == "patch"
            else config.networks.image_size
        )


def _dcgan_discriminator(config: TrainConfig) -> nn.Module:
    """BatchNorm unless the loss takes a per-sample gradient penalty, which BatchNorm breaks."""
    norm = not get_loss(config.optim.loss).gradient_penalty
    return DCGANDiscriminator(
        config.networks.width, config.networks.image_size, config.networks.d_slope, norm=norm
    )


#: The architectures `TrainConfig(arch=NAME)` can name.
ARCHS: Registry[Arch] = Registry("architecture")
register_arch, get_arch = ARCHS.register, ARCHS.find


for _arch in (
    TextureArch(
        "texture",
        lambda c: TextureGenerator(
            c.networks.z_dim,
            c.networks.width,
            c.networks.image_size,
            c.networks.noise_dim,
            c.networks.g_norm,
            c.networks.g_upsample,
            c.networks.g_layout_convs,
            c.networks.g_pixel_noise,
            c.networks.g_position,
            4 * c.sample_size // c.networks.image_size,
        ),
        _dcgan_discriminator,
    ),
    Arch(
        "dcgan",
        lambda c: DCGANGenerator(c.networks.z_dim, c.networks.width, c.networks.image_size),
        _dcgan_discriminator,
    ),
    Arch(
        "mlp",
        lambda c: MLPGenerator(c.networks.z_dim, c.networks.image_size),
        lambda c: MLPDiscriminator(c.networks.image_size, c.networks.d_slope),
        memory_format=torch.contiguous_format,
    ),
):
    register_arch(_arch)


def build_generator(config: TrainConfig) -> nn.Module:
    """The generator a config describes, freshly initialised."""
    g = get_arch(config.networks.arch).generator(config)
    g.apply(init_weights)
    return g


def build_discriminator(config: TrainConfig) -> nn.Module:
    """The discriminator a config describes, freshly initialised."""
    d = get_arch(config.networks.arch).discriminator(config)
    d.apply(init_weights)
    return d
