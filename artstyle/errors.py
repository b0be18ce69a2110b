"""The project's error types: every expected failure is one of these, with a one-line message."""

from __future__ import annotations

from pathlib import Path


class ArtstyleError(Exception):
    """An expected failure (bad input, missing weights, ...) that the CLI prints as one line."""


class ImageReadError(ArtstyleError):
    """A file that cannot be used as an image; the message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class OutputError(ArtstyleError):
    """An output that must not or cannot be written (it would overwrite an input, bad suffix)."""
