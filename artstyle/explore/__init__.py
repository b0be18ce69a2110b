"""Look inside a trained GAN, as Beyers & Loane and aakashpydi did: indexed sample grids, latent
walks, vector arithmetic, what the discriminator sees, training curves, style-transfer progress.

Every view is a function that returns a PIL image, a list of GIF frames or a matplotlib Figure;
`save` writes any of them atomically. A sample is named by its index in the grid of `count`
samples drawn with `seed` (what `sample_grid` shows), so a user picks samples by number there and
passes the same numbers, seed and count to the other views.
"""

from artstyle.explore.discriminator import (
    Rule,
    activation_figure,
    layer_activations,
    load_discriminator,
    reconstruct,
)
from artstyle.explore.latents import (
    Interpolation,
    arithmetic_figure,
    arithmetic_latents,
    interpolate,
    interpolation_frames,
    interpolation_gif,
    interpolation_grid,
    walk_latents,
)
from artstyle.explore.progress import find_intermediates, loss_curve, progress_frames, read_history
from artstyle.explore.views import View, pick, sample_grid, save, to_png
from artstyle.gan import plot_runs, read_log

__all__ = [
    "Interpolation",
    "Rule",
    "View",
    "activation_figure",
    "arithmetic_figure",
    "arithmetic_latents",
    "find_intermediates",
    "interpolate",
    "interpolation_frames",
    "interpolation_gif",
    "interpolation_grid",
    "layer_activations",
    "load_discriminator",
    "loss_curve",
    "pick",
    "plot_runs",
    "progress_frames",
    "read_history",
    "read_log",
    "reconstruct",
    "sample_grid",
    "save",
    "to_png",
    "walk_latents",
]
