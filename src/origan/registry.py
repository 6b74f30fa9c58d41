"""One registry mechanism for every family: generators, discriminators, priors, G costs, datasets, metrics
and theory experiments.

A family is a :class:`Registry`; a member registers itself with a decorator where it is defined::

    GENERATORS = Registry("generator", modules=("origan.models.mlp", "origan.models.conv"))

    @GENERATORS.register("mlp")
    def mlp_generator(cfg, shape, bounded, noise_dim): ...

``modules`` names the modules that hold the members; they are imported the first time the registry is
read, so a package needs no import tail to fill its registry and importing the registry alone never
pulls in its members' (heavier) dependencies. An unknown name is a :class:`~origan.errors.ConfigError`
that lists the known ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import ConfigError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named members of one family, filled by :meth:`register` in the modules listed in ``modules``."""

    def __init__(self, family: str, modules: tuple[str, ...] = ()) -> None:
        self.family = family  # what a member is, for error messages: "generator", "dataset", ...
        self._modules = modules
        self._members: dict[str, T] = {}
        self._loaded = not modules

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the decorated object under ``name`` (a name registers once)."""

        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` under ``name``; registering a taken name is a programming error."""
        if name in self._members and self._members[name] is not obj:
            raise ValueError(f"{self.family} {name!r} is registered twice")
        self._members[name] = obj

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True  # first, so a member module that reads the registry does not recurse
            for module in self._modules:
                importlib.import_module(module)

    def get(self, name: str, key: str | None = None) -> T:
        """The member ``name``; an unknown name raises :class:`ConfigError` naming ``key`` (default the family)."""
        self._load()
        try:
            return self._members[name]
        except KeyError:
            raise ConfigError(
                f"{key or self.family}: unknown {self.family} {name!r}; expected one of "
                f"{', '.join(sorted(self._members))}"
            ) from None

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        self._load()
        return list(self._members)

    def items(self) -> list[tuple[str, T]]:
        self._load()
        return list(self._members.items())

    def values(self) -> list[T]:
        self._load()
        return list(self._members.values())

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._members

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self._load()
        return len(self._members)

    def __repr__(self) -> str:
        return f"Registry({self.family!r}, {self.names()})"
