"""Matplotlib figures without pyplot.

No backend is chosen and no global figure list is kept, so importing artstyle never switches a
notebook's backend and a figure is freed like any object. Each figure gets its own Agg canvas,
so it can be drawn to pixels (`fig.canvas.buffer_rgba()`) or saved anywhere.
"""

from __future__ import annotations

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def figure(figsize: tuple[float, float]) -> Figure:
    """A new figure of `figsize` inches with constrained layout and an Agg canvas."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig
