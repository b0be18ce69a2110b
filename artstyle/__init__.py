"""artstyle: learn a painting style with a DCGAN, paint photos with it by Gatys style transfer.

from artstyle import stylize
stylize("photo.jpg").save("painted.png")                  # a shipped, learned style
stylize("photo.jpg", styles=["painting.jpg"]).save("b.png")  # your own style images
"""

from __future__ import annotations

import importlib
from typing import Any

from artstyle.config import (
    RECIPES,
    PipelineConfig,
    RegionsConfig,
    TrainConfig,
    TransferConfig,
    VideoConfig,
    train_recipe,
)
from artstyle.errors import ArtstyleError, ImageReadError, OutputError
from artstyle.folder import FolderResult, PhotoOutcome, paint_folder
from artstyle.gan import StyleGenerator, TrainResult
from artstyle.gan.train import train  # `artstyle.gan.train` names the module, so it lives here
from artstyle.images import read_image, write_image
from artstyle.nst import StyleTransfer, TransferResult
from artstyle.pipeline import (
    PipelineResult,
    StylePipeline,
    example_photo,
    masked_transfer,
    regional_transfer,
    style_transfer_for,
    stylize,
    stylize_result,
    stylize_video,
)
from artstyle.video import VideoResult

#: Heavy or plotting modules, imported on first use: `import artstyle` stays quick and side-effect
#: free (no matplotlib backend is touched).
_LAZY = {"explore": ("artstyle.explore", None), "write_report": ("artstyle.report", "write_report")}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'artstyle' has no attribute {name!r}")
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)


__all__ = [
    "RECIPES",
    "ArtstyleError",
    "FolderResult",
    "ImageReadError",
    "OutputError",
    "PhotoOutcome",
    "PipelineConfig",
    "PipelineResult",
    "RegionsConfig",
    "StyleGenerator",
    "StylePipeline",
    "StyleTransfer",
    "TrainConfig",
    "TrainResult",
    "TransferConfig",
    "TransferResult",
    "VideoConfig",
    "VideoResult",
    "example_photo",
    "explore",
    "masked_transfer",
    "paint_folder",
    "read_image",
    "regional_transfer",
    "style_transfer_for",
    "stylize",
    "stylize_result",
    "stylize_video",
    "train",
    "train_recipe",
    "write_image",
    "write_report",
]
