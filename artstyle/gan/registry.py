"""Looking up what is registered by name (losses, architectures): one error for all of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from artstyle.errors import ArtstyleError

T = TypeVar("T")


def lookup(table: Mapping[str, T], name: str, what: str) -> T:
    """`table[name]`, or one clear error naming the registered ones (in registration order)."""
    if name not in table:
        raise ArtstyleError(f"unknown {what} {name!r}; registered: {', '.join(table)}")
    return table[name]
