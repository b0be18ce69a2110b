"""What is registered by name (losses, architectures, training terms): one table type for all."""

from __future__ import annotations

from typing import Protocol, TypeVar

from artstyle.errors import ArtstyleError


class Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=Named)


class Registry(dict[str, N]):
    """Things of one kind by their `name`, in registration order: `register` adds one (a
    decorator too), `find` looks one up with one clear error naming the registered ones."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def register(self, item: N) -> N:
        self[item.name] = item
        return item

    def find(self, name: str) -> N:
        if name not in self:
            raise ArtstyleError(f"unknown {self.what} {name!r}; registered: {', '.join(self)}")
        return self[name]
