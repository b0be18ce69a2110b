"""The `artstyle` command: a thin typer layer over the library (see `artstyle --help`).

Each stage keeps its commands in its own module; importing them registers them on `app`.
"""

from __future__ import annotations

from artstyle.cli import config, evaluate, explore, gan, studio, transfer  # noqa: F401  (registers)
from artstyle.cli.app import app, main

__all__ = ["app", "main"]
