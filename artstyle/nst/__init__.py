"""Gatys neural style transfer with a batch-averaged Gram loss: backbone, losses, optimiser."""

from artstyle.nst.losses import GramTarget, content_loss, gram, gram_targets, style_loss, tv_loss
from artstyle.nst.optimize import Callback, optimize
from artstyle.nst.vgg import PRESETS, LayerPreset, VGGFeatures, canonical_layer

__all__ = [
    "PRESETS",
    "Callback",
    "GramTarget",
    "LayerPreset",
    "VGGFeatures",
    "canonical_layer",
    "content_loss",
    "gram",
    "gram_targets",
    "optimize",
    "style_loss",
    "tv_loss",
]
