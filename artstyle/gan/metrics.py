"""How good is a generator: VGG-KID against its paintings, and a check that it does not copy them.

**VGG-KID** is the unbiased kernel inception distance (Binkowski et al. 2018) computed on features
of the project's own VGG19 (the Caffe weights of `artstyle.backbone`), because no Inception
weights can be loaded here. Its values are on a different scale from published (Inception) KID
numbers and must never be compared with them; compare VGG-KIDs with each other only, at the same
image size and on the same reference folder. Lower is better; two samples of the same
distribution give about 0 (the estimator is unbiased, so small negative values happen).

Features: the images are resized to `FEATURE_SIZE` px; relu4_1 and relu5_1 are averaged over
space, each of the two vectors is scaled to length sqrt(512), and they are concatenated (1024
numbers). Those layers describe texture and composition rather than pixels, which is what a style
GAN should get right. The scaling makes the kernel's x.y/d the mean cosine similarity of the two
layers, so VGG-KID is O(1) whatever the backbone's unit, and both layers count alike. Measured on
the 409 impressionism paintings, plain pooled features divided by the unit were heavy-tailed and
relu4_1 outweighed relu5_1 ten to one; the cubic kernel turned that into KIDs of ~1e5 and a
standard deviation three times the value between two halves of the set, while the scaled features
separate a young generator from the paintings by ~500 of those standard deviations, not ~170.
64 px is the generators' own size; 128 px separated them no better, at four times the cost.

**Memorisation ratio**: in the same feature space, the median distance from each generated image to
its nearest training image, divided by the median distance from each training image to its
nearest *other* training image. About 1 means the samples are as novel as the paintings are among
themselves; well below 1 means the generator reproduces training images (an exact copy is at
distance 0; a mirrored copy reads about 0.6, since the features are not mirror-invariant).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from artstyle.backbone import VGGFeatures
from artstyle.device import resolve_device, seeded_rng
from artstyle.errors import ArtstyleError
from artstyle.gan import run_files
from artstyle.gan.data import PaintingSet, load_paintings
from artstyle.gan.generator import StyleGenerator
from artstyle.images import signed_to_unit, unit_batches

#: VGG19 layers whose spatial means form the feature vector.
FEATURE_LAYERS = ("relu4_1", "relu5_1")
#: Side the images are resized to before VGG19 (generators of any size are measured alike).
FEATURE_SIZE = 64
#: KID subsets: how many, and at most how many images of each set per subset.
SUBSETS = 50
SUBSET_SIZE = 100
#: Columns of a run's `eval.csv`.
EVAL_FIELDS = ["epoch", "step", "vgg_kid", "vgg_kid_std", "memorisation_ratio"]

Images = torch.Tensor  # (N, 3, H, W), uint8 0..255 or float 0..1


@functools.cache
def _backbone(device: torch.device) -> VGGFeatures:
    """One frozen VGG19 per device; built without touching the global RNG (a training run's)."""
    with torch.random.fork_rng(devices=[]):
        return VGGFeatures(FEATURE_LAYERS).to(device)


@torch.inference_mode()
def vgg_features(
    images: Images, device: str | torch.device = "cpu", batch_size: int = 50
) -> torch.Tensor:
    """(N, 1024) float32 CPU features of RGB images (see the module notes), batched on `device`."""
    device = resolve_device(device)
    vgg = _backbone(device)
    out = []
    for x in unit_batches(images, device, FEATURE_SIZE, batch_size):
        pooled = [F.normalize(f.mean(dim=(2, 3)), dim=1) * f.shape[1] ** 0.5 for f in vgg(x)]
        out.append(torch.cat(pooled, dim=1).float().cpu())
    return torch.cat(out)


# --- the statistics ---------------------------------------------------------------------------


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """KID's kernel k(x, y) = (x.y / d + 1)^3 for all pairs of rows."""
    return (x @ y.T / x.shape[1] + 1) ** 3


def mmd2_unbiased(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD^2 of two samples: within-set means leave out the diagonal k(x_i, x_i)."""
    x, y = x.double(), y.double()
    m, n = x.shape[0], y.shape[0]
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    within_x = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    within_y = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(within_x + within_y - 2 * k_xy.mean())


def kid(
    x: torch.Tensor,
    y: torch.Tensor,
    subsets: int = SUBSETS,
    subset_size: int = SUBSET_SIZE,
    seed: int = 0,
) -> tuple[float, float, int]:
    """KID of feature sets `x` and `y`: mean and std of MMD^2 over random subsets, and their size.

    Each subset draws min(len(x), len(y), subset_size) rows of each set without replacement; the
    draw uses its own generator, so it never disturbs anyone's random stream. When neither set
    has more than `subset_size` rows, every subset is the whole of both and the std is 0.
    """
    size = min(x.shape[0], y.shape[0], subset_size)
    if size < 2:
        raise ArtstyleError(
            f"VGG-KID needs at least 2 images on each side, got {x.shape[0]} and {y.shape[0]}"
        )
    gen = torch.Generator().manual_seed(seed)
    values = torch.tensor(
        [
            mmd2_unbiased(
                x[torch.randperm(x.shape[0], generator=gen)[:size]],
                y[torch.randperm(y.shape[0], generator=gen)[:size]],
            )
            for _ in range(subsets)
        ],
        dtype=torch.float64,
    )
    std = float(values.std()) if subsets > 1 else 0.0
    return float(values.mean()), std, size


def nearest(
    query: torch.Tensor, reference: torch.Tensor, exclude_self: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Euclidean distance from each query row to its nearest reference row, and that row's index.

    `exclude_self` (query is reference) gives leave-one-out distances. Exact differences, not the
    matrix-product shortcut, so a copy is at distance 0.
    """
    dist = torch.cdist(
        query.double(), reference.double(), compute_mode="donot_use_mm_for_euclid_dist"
    )
    if exclude_self:
        dist.fill_diagonal_(math.inf)
    found = dist.min(dim=1)
    return found.values.float(), found.indices


# --- a reference set and one evaluation ------------------------------------------------------


def reference_images(data: PaintingSet) -> torch.Tensor:
    """The paintings as the generator sees them: S x S (of patch mode's 2S x 2S, the centre)."""
    s, images = data.image_size, data.images
    top, left = (images.shape[2] - s) // 2, (images.shape[3] - s) // 2
    return images[:, :, top : top + s, left : left + s]


@dataclass(frozen=True)
class Reference:
    """Features of the real paintings and their leave-one-out nearest-neighbour distances."""

    features: torch.Tensor
    neighbour_distances: torch.Tensor

    @classmethod
    def of(cls, data: PaintingSet, device: str | torch.device = "cpu") -> Reference:
        """Compute once; every evaluation against the same paintings reuses it."""
        if len(data) < 2:
            raise ArtstyleError("a reference set needs at least 2 paintings")
        features = vgg_features(reference_images(data), device)
        return cls(features, nearest(features, features, exclude_self=True)[0])

    def __len__(self) -> int:
        return self.features.shape[0]


@dataclass(frozen=True)
class GeneratorScore:
    """VGG-KID and memorisation of `generated` samples against `reference` paintings."""

    vgg_kid: float
    vgg_kid_std: float
    memorisation_ratio: float
    generated: int
    reference: int
    subset_size: int
    distances: torch.Tensor  # per generated sample: distance to its nearest painting
    nearest: torch.Tensor  # per generated sample: index of that painting

    def card_fields(self) -> dict[str, float | int]:
        """The facts a model card keeps, rounded to 4 significant digits."""
        return {
            "vgg_kid": _round(self.vgg_kid),
            "vgg_kid_std": _round(self.vgg_kid_std),
            "memorisation_ratio": _round(self.memorisation_ratio),
            "eval_samples": self.generated,
        }

    def summary(self) -> str:
        """One line for logs."""
        return (
            f"VGG-KID {self.vgg_kid:.4f} ± {self.vgg_kid_std:.4f}, "
            f"memorisation ratio {self.memorisation_ratio:.2f} ({self.generated} samples)"
        )


def _round(value: float, digits: int = 4) -> float:
    return float(f"{value:.{digits}g}")


def compare(generated: torch.Tensor, reference: Reference, seed: int = 0) -> GeneratorScore:
    """Score generated features against a reference: the one place both metrics are computed."""
    value, std, size = kid(generated, reference.features, seed=seed)
    distances, index = nearest(generated, reference.features)
    ratio = float(distances.median() / reference.neighbour_distances.median().clamp_min(1e-12))
    return GeneratorScore(
        value, std, ratio, generated.shape[0], len(reference), size, distances, index
    )


def _generated_features(
    decode: Callable[[torch.Tensor], torch.Tensor],
    z: torch.Tensor,
    device: torch.device,
    batch_size: int,
) -> torch.Tensor:
    """Features of decode(z) computed a batch at a time, so n can be large."""
    return torch.cat([vgg_features(decode(chunk), device) for chunk in z.split(batch_size)])


def evaluate(
    generator: StyleGenerator,
    data: str | Path | PaintingSet | Reference,
    n: int = 500,
    seed: int = 0,
    batch_size: int = 50,
) -> GeneratorScore:
    """VGG-KID and memorisation ratio of `n` samples (seed `seed`) against a folder of paintings.

    A folder is read as the generator was trained (centre crops at its image size); pass a
    `Reference` to score several generators against the same paintings without recomputing.
    """
    if isinstance(data, (str, Path)):
        data = load_paintings(data, generator.config.networks.image_size, "center", min_images=2)
    reference = data if isinstance(data, Reference) else Reference.of(data, generator.device)
    # sample(), not decode(): a texture generator's samples each get their own noise
    features = vgg_features(generator.sample(n, seed), generator.device, batch_size)
    return compare(features, reference, seed)


# --- during training ---------------------------------------------------------------------------


class RunEvaluator:
    """Evaluates a training run's sampler every few epochs and appends the result to `eval.csv`.

    The paintings' features are computed on the first call and kept. Sampling uses fixed latents
    from `seed` (the same as `artstyle evaluate RUN DATA -n n --seed seed`), BatchNorm in eval mode,
    and nothing draws from the global RNG, so an evaluated run trains exactly like one that is not.
    """

    def __init__(
        self,
        data: PaintingSet,
        run_dir: str | Path,
        z_dim: int,
        n: int = 200,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        self.data = data
        self.path = Path(run_dir) / run_files.EVAL
        self.z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))
        self.seed = seed
        self.device = resolve_device(device)
        self._reference: Reference | None = None

    def __call__(self, net: nn.Module, epoch: int, step: int) -> GeneratorScore:
        """Score generator `net` (left in the train/eval mode it was in) and log the row."""
        if self._reference is None:
            self._reference = Reference.of(self.data, self.device)

        def decode(z: torch.Tensor) -> torch.Tensor:
            return signed_to_unit(net(z.to(self.device)))

        was_training = net.training
        net.eval()
        try:
            with torch.inference_mode(), seeded_rng(self.seed, self.device):
                features = _generated_features(decode, self.z, self.device, batch_size=50)
        finally:
            net.train(was_training)
        result = compare(features, self._reference, self.seed)
        self._log(epoch, step, result)
        return result

    def _log(self, epoch: int, step: int, result: GeneratorScore) -> None:
        """Append a row, dropping rows at or after `step` (left behind by a resumed run)."""
        row = {
            "epoch": epoch,
            "step": step,
            "vgg_kid": f"{result.vgg_kid:.6g}",
            "vgg_kid_std": f"{result.vgg_kid_std:.6g}",
            "memorisation_ratio": f"{result.memorisation_ratio:.6g}",
        }
        run_files.rewrite_csv(self.path, EVAL_FIELDS, lambda r: int(r["step"]) < step, [row])
