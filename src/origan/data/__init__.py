"""Datasets: toy targets with exact densities and embedded real data, each split train/val/test.

``build_dataset(cfg.data)`` returns a :class:`Dataset` whose splits are float32 tensors of shape
``(n, *shape)``. Small datasets live on the training device as one tensor; the trainer draws batches
from a seeded permutation. Every builder registers itself in :data:`DATASETS` where it is defined.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError, DataError
from ..limits import MAX_CLASSES
from ..registry import Registry

if TYPE_CHECKING:
    from ..config import DataConfig
    from .mixture import GaussianMixture

__all__ = [
    "DATASETS",
    "SPLIT_FRACTIONS",
    "DataInfo",
    "Dataset",
    "build_dataset",
    "class_indices",
    "split_indices",
    "split_of",
    "split_rule",
]

SPLIT_FRACTIONS = (0.1, 0.1)  # validation, test (data.val_fraction, data.test_fraction): cut 80 % / 10 % / 10 %
SPLITS = ("train", "val", "test")

DATASETS: Registry[Callable[[DataConfig], Dataset]] = Registry(
    "dataset",
    modules=(
        "origan.data.toy",
        "origan.data.images",
        "origan.data.arrays",
        "origan.data.folders",
        "origan.data.idx",
        "origan.data.tables",
        "origan.data.cifar",
    ),
)


def split_indices(n: int, fractions: tuple[float, float], seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """A fixed permutation of ``range(n)`` cut into train / val / test by the val and test fractions (each
    part rounded; at least one example trains)."""
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val, n_test = round(n * fractions[0]), round(n * fractions[1])
    if n_val + n_test >= n:  # a tiny set: the held-out parts give way, test first
        n_test = max(0, n - 1 - n_val)
        n_val = min(n_val, n - 1 - n_test)
    return perm[n_val + n_test :], perm[:n_val], perm[n_val : n_val + n_test]


def split_rule(fractions: tuple[float, float]) -> str:
    """How :func:`split_indices` cuts a set, in words (recorded in the run's data info)."""
    val, test = (100 * f for f in fractions)
    return f"fixed permutation: {100 - val - test:g}% train, {val:g}% validation, {test:g}% test"


def split_of(cfg: DataConfig) -> tuple[float, float]:
    """The validation and test shares ``cfg`` asks for (``data.val_fraction``, ``data.test_fraction``)."""
    return (cfg.val_fraction, cfg.test_fraction)


def class_indices(values: Sequence[Any] | np.ndarray, source: str) -> tuple[Tensor, tuple[str, ...]]:
    """``(n,)`` int64 class indices and the class names.

    Integer labels are class indices already: they must lie in ``0 .. MAX_CLASSES - 1`` and the classes are
    ``"0" .. str(max)``. Text labels index their distinct values, sorted.
    """
    arr = np.asarray(values)
    if arr.dtype.kind in "biu":
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, -1)
        if lo < 0 or hi >= MAX_CLASSES:
            raise DataError(
                f"{source}: integer labels are class indices and must lie in 0..{MAX_CLASSES - 1}; found {lo}..{hi}"
            )
        return torch.from_numpy(arr.astype(np.int64).reshape(-1)), tuple(str(i) for i in range(hi + 1))
    levels, index = np.unique(arr, return_inverse=True)
    return torch.from_numpy(index.astype(np.int64).reshape(-1)), tuple(str(v) for v in levels.tolist())


@dataclass
class Dataset:
    """A dataset split three ways.

    Attributes:
        name: registry name.
        train, val, test: ``(n, *shape)`` float32 tensors.
        shape: the shape of one sample, e.g. ``(1, 28, 28)`` or ``(2,)``.
        kind: ``"image"`` (``(C, H, W)``, in [0, 1] when ``bounded``), ``"vector"`` (toy points) or ``"table"``.
        bounded: whether every value lies in [0, 1] (G then ends in a sigmoid).
        target: the exact distribution for toy data, else ``None``.
        labels: ``{"train", "val", "test"}`` -> ``(n,)`` int64 class indices into ``classes``; ``None``
            for unlabelled data.
        classes: the class names (``()`` for unlabelled data); also in ``info["classes"]``.
        info: how the data was made and split, for the run's records (plain JSON).
        source: the dataset as read when ``labels`` are classes found in it (k-means clusters,
            :func:`origan.data.clusters.with_clusters`), else ``None``: what metrics and validation scores
            compare with.
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
    classes: tuple[str, ...] = ()
    info: dict[str, Any] = field(default_factory=dict)
    source: Dataset | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_splits(
        cls,
        name: str,
        x: Tensor,
        kind: str,
        bounded: bool,
        info: dict[str, Any],
        seed: int = 0,
        labels: Tensor | None = None,
        classes: Sequence[str] = (),
        split: tuple[Tensor, Tensor, Tensor] | None = None,
        fractions: tuple[float, float] = SPLIT_FRACTIONS,
    ) -> Dataset:
        """Cut ``x`` ``(n, *shape)`` (and its ``(n,)`` labels) into train / val / test.

        ``split`` gives the source's own train / val / test indices; without it the split is the fixed
        permutation of :func:`split_indices` seeded with ``seed`` with the validation and test ``fractions``
        (80 / 10 / 10 by default). ``info`` gains the sizes, the seed, the rule and the class names.
        """
        parts = split if split is not None else split_indices(len(x), fractions, seed)
        names = tuple(classes) if labels is not None else ()
        info = dict(info) | {
            "sizes": [len(p) for p in parts],
            "split_seed": seed,
            "split": "the source's own" if split is not None else split_rule(fractions),
            "classes": list(names),
        }
        y = None if labels is None else dict(zip(SPLITS, (labels[p] for p in parts), strict=True))
        tr, va, te = (x[p] for p in parts)
        return cls(name, tr, va, te, tuple(x.shape[1:]), kind, bounded, labels=y, classes=names, info=info)


@dataclass(frozen=True)
class DataInfo:
    """What sampling, walks, the encoder and the metrics need to know of a run's training data.

    Attributes:
        name: the dataset's registered name (``data.name``).
        shape: the shape of one example, e.g. ``(1, 28, 28)`` or ``(2,)``.
        kind: ``image``, ``vector`` or ``table``.
        bounded: whether examples lie in ``[0, 1]`` (G then ends in a sigmoid).
        codec: a table's codec as plain JSON (how samples decode to the original columns), else None.
        classes: labelled data's class names, in class-index order (``()`` without labels).
        class_counts: the training examples of each class (a conditional run draws classes so), else None.
    """

    name: str
    shape: tuple[int, ...]
    kind: str
    bounded: bool
    codec: dict[str, Any] | None = None
    classes: tuple[str, ...] = ()
    class_counts: tuple[int, ...] | None = None

    @classmethod
    def of(cls, data: Dataset) -> DataInfo:
        """The record of a built :class:`~origan.data.Dataset`."""
        counts = None
        if data.labels:
            counts = tuple(torch.bincount(data.labels["train"], minlength=len(data.classes)).tolist())
        return cls(
            name=data.name,
            shape=tuple(data.shape),
            kind=data.kind,
            bounded=data.bounded,
            codec=data.info.get("codec"),
            classes=tuple(data.classes),
            class_counts=counts,
        )

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> DataInfo:
        """The record of a manifest's ``data`` field (checked by :mod:`origan.io.checkpoint` when it was read)."""
        counts = d.get("class_counts")
        return cls(
            name=d["name"],
            shape=tuple(d["shape"]),
            kind=d["kind"],
            bounded=d["bounded"],
            codec=d.get("codec"),
            classes=tuple(d.get("classes") or ()),
            class_counts=None if counts is None else tuple(counts),
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON, the fields in their stored order; absent optional fields are left out."""
        out: dict[str, Any] = {"name": self.name, "shape": list(self.shape), "kind": self.kind, "bounded": self.bounded}
        if self.codec is not None:
            out["codec"] = self.codec
        if self.classes:
            out["classes"] = list(self.classes)
        if self.class_counts is not None:
            out["class_counts"] = list(self.class_counts)
        return out


def build_dataset(cfg: DataConfig) -> Dataset:
    """The dataset named by ``cfg.name``, built on the CPU."""
    if cfg.preprocess != "none" and cfg.name != "cifar10":  # the one reader that applies data.preprocess
        raise ConfigError(f"data.preprocess: {cfg.preprocess} applies to data.name=cifar10 only, not {cfg.name}")
    return DATASETS.get(cfg.name, "data.name")(cfg)
