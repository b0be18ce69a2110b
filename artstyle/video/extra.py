"""The `video` extra's libraries, imported on first use with one line naming the install."""

from __future__ import annotations

import importlib
from types import ModuleType

from artstyle.errors import ArtstyleError

#: What to run where the extra is missing (no brackets in Rich markup: printed as is).
INSTALL = "pip install 'artstyle[video]'"


def require(module: str) -> ModuleType:
    """`av` or `cv2`, or one error line saying how to install them."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ArtstyleError(f"painting a video needs {module} (install: {INSTALL})") from None
