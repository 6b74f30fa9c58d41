"""Datasets: toy targets with exact densities and embedded real data, each split train/val/test.

``build_dataset(cfg.data)`` returns a :class:`Dataset` whose splits are float32 tensors of shape
``(n, *shape)``. Small datasets live on the training device as one tensor; the trainer draws batches
from a seeded permutation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

if TYPE_CHECKING:
    from ..config import DataConfig
    from .toy import GaussianMixture

__all__ = ["DATASETS", "Dataset", "build_dataset", "register_dataset"]


@dataclass
class Dataset:
    """A dataset split three ways.

    Attributes:
        name: registry name.
        train, val, test: ``(n, *shape)`` float32 tensors.
        shape: the shape of one sample, e.g. ``(1, 28, 28)`` or ``(2,)``.
        kind: ``"image"`` (``(C, H, W)`` in [0, 1]), ``"vector"`` (toy points) or ``"table"``.
        bounded: whether every value lies in [0, 1] (G then ends in a sigmoid).
        target: the exact distribution for toy data, else ``None``.
        labels: class labels per split when the data has them.
        info: how the data was made and split, for the run's records.
    """

    name: str
    train: Tensor
    val: Tensor
    test: Tensor
    shape: tuple[int, ...]
    kind: str
    bounded: bool
    target: GaussianMixture | None = None
    labels: dict[str, Tensor] | None = None
    info: dict[str, Any] = field(default_factory=dict)


DATASETS: dict[str, Callable[[DataConfig], Dataset]] = {}


def register_dataset(name: str) -> Callable[[Callable[[DataConfig], Dataset]], Callable[[DataConfig], Dataset]]:
    """Decorator: register a builder ``f(cfg.data) -> Dataset`` under ``name``."""

    def deco(fn: Callable[[DataConfig], Dataset]) -> Callable[[DataConfig], Dataset]:
        DATASETS[name] = fn
        return fn

    return deco


def split_indices(n: int, fractions: tuple[float, float], seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """A fixed permutation of ``range(n)`` cut into train / val / test by the val and test fractions."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val, n_test = round(n * fractions[0]), round(n * fractions[1])
    return perm[n_val + n_test :], perm[:n_val], perm[n_val : n_val + n_test]


def build_dataset(cfg: DataConfig) -> Dataset:
    """The dataset named by ``cfg.name``, built on the CPU."""
    return DATASETS[cfg.name](cfg)


from . import images as _images  # noqa: E402,F401  (registers mnist, digits)
from . import arrays as _arrays  # noqa: E402,F401  (registers array)
from . import folders as _folders  # noqa: E402,F401  (registers folder)
from . import idx as _idx  # noqa: E402,F401  (registers idx)
from . import tables as _tables  # noqa: E402,F401  (registers csv, wine, breast-cancer)
from . import toy as _toy  # noqa: E402,F401

for _name in _toy.TOY_TARGETS:

    def _make(cfg: DataConfig, _n: str = _name) -> Dataset:
        return _toy.toy_dataset(_n, cfg)

    DATASETS[_name] = _make
