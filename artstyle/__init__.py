"""artstyle: learn a painting style with a DCGAN, paint photos with it by Gatys style transfer.

from artstyle import stylize
stylize("photo.jpg").save("painted.png")                  # a shipped, learned style
stylize("photo.jpg", styles=["painting.jpg"]).save("b.png")  # your own style images
"""

from artstyle import explore
from artstyle.config import TrainConfig, TransferConfig
from artstyle.errors import ArtstyleError, ImageReadError, OutputError
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.train import TrainResult, train
from artstyle.images import read_image, write_image
from artstyle.nst.transfer import StyleTransfer, TransferResult
from artstyle.pipeline import (
    PipelineResult,
    StylePipeline,
    example_photo,
    stylize,
    stylize_result,
)
from artstyle.report import write_report

__all__ = [
    "ArtstyleError",
    "ImageReadError",
    "OutputError",
    "PipelineResult",
    "StyleGenerator",
    "StylePipeline",
    "StyleTransfer",
    "TrainConfig",
    "TrainResult",
    "TransferConfig",
    "TransferResult",
    "example_photo",
    "explore",
    "read_image",
    "stylize",
    "stylize_result",
    "train",
    "write_image",
    "write_report",
]
