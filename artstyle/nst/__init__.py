"""Stage 2: Gatys neural style transfer with a batch-averaged Gram loss.

What other modules and users need is exported here; the submodules (losses, optimiser, tiles,
regions) are the implementation.

    from artstyle.nst import StyleTransfer
    result = StyleTransfer(["painting.jpg"]).run("photo.jpg")
"""

from artstyle.nst.optimize import Callback
from artstyle.nst.regions import (
    KEEP,
    Regions,
    from_mask,
    parse_colour,
    read_colour_map,
    read_mask,
    region_styles,
)
from artstyle.nst.transfer import StyleSource, StyleTransfer, TemporalAnchor, TransferResult

__all__ = [
    "KEEP",
    "Callback",
    "Regions",
    "StyleSource",
    "StyleTransfer",
    "TemporalAnchor",
    "TransferResult",
    "from_mask",
    "parse_colour",
    "read_colour_map",
    "read_mask",
    "region_styles",
]
