"""artstyle: learn a painting style with a DCGAN, paint photos with it by Gatys style transfer.

    from artstyle import stylize
    stylize("photo.jpg", styles=["painting.jpg"]).save("painted.png")
"""

from artstyle.config import TrainConfig, TransferConfig
from artstyle.errors import ArtstyleError, ImageReadError, OutputError
from artstyle.gan.generator import StyleGenerator
from artstyle.gan.train import TrainResult, train
from artstyle.images import read_image, write_image
from artstyle.pipeline import StyleTransfer, TransferResult, stylize, stylize_result

__all__ = [
    "ArtstyleError",
    "ImageReadError",
    "OutputError",
    "StyleGenerator",
    "StyleTransfer",
    "TrainConfig",
    "TrainResult",
    "TransferConfig",
    "TransferResult",
    "read_image",
    "stylize",
    "stylize_result",
    "train",
    "write_image",
]
