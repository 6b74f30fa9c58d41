"""Metrics, registered by name: ``compute(samples, reference, **options) -> dict[str, float]``.

A metric module registers itself with :func:`register_metric`; ``origan eval`` looks metrics up here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any



__all__ = ["METRICS", "Metric", "get_metric", "register_metric"]


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    Attributes:
        name: registry key.
        compute: ``f(samples, reference, **options) -> {name: value}``.
        kinds: dataset kinds it applies to (``image``, ``vector``, ``table``).
        description: definition and source, shown by ``origan eval --help``.
    """

    name: str
    compute: Callable[..., dict[str, Any]]
    kinds: tuple[str, ...]
    description: str


METRICS: dict[str, Metric] = {}


def register_metric(name: str, kinds: tuple[str, ...], description: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Decorator: register ``f(samples: Tensor, reference: Tensor, **options) -> dict`` under ``name``."""

    def deco(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        METRICS[name] = Metric(name, fn, kinds, description)
        return fn

    return deco


def get_metric(name: str) -> Metric:
    from ..errors import ConfigError

    if name not in METRICS:
        raise ConfigError(f"--metrics: unknown metric {name!r}; expected one of {', '.join(sorted(METRICS))}")
    return METRICS[name]


