"""CIFAR-10's binary version: the data of the paper's Figure 2 (c, d), with the authors' split and preprocessing.

The format (the CIFAR-10 page, "binary version"): a file is a sequence of 3,073-byte records, each one label
byte (the class, 0-9) and then 3,072 pixel bytes: the red, green and blue planes of a 32x32 image, each plane
row-major. The real files (``cifar-10-binary.tar.gz``, which unpacks to ``cifar-10-batches-bin/``) hold 10,000
records each. The pickled Python version is never read.

``data.name=cifar10`` with ``data.path`` = the folder holding ``data_batch_1.bin`` ... ``data_batch_5.bin`` and
``test_batch.bin`` (or the folder holding ``cifar-10-batches-bin``). Sizes: every file must hold a positive whole
number of records and the five data batches equally many (the real ones: 10,000, i.e. 30,730,000 bytes);
anything else is a :class:`~origan.errors.DataError` naming the file. Class names come from
``batches.meta.txt`` (one per line) when it is there, else the standard ten.

Split, the authors' (``cifar10_*.yaml``): train = the first four fifths of the concatenated data batches
(images 0-40,000 of the real files, ``data_batch_1`` to ``_4``), validation = the last fifth (40,000-50,000,
``data_batch_5``), test = ``test_batch``.

Values: pixels / 255 in [0, 1] (``data.preprocess=none``), or with ``data.preprocess=gcn`` the authors' global
contrast normalisation (pylearn2's ``CIFAR10(gcn=55.)``): unbounded values, so G's output is the identity.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from ..errors import DataError
from ..limits import check_decoded_size, regular_file
from . import DATASETS, Dataset
from .arrays import array_dataset, resolve_path

if TYPE_CHECKING:
    from ..config import DataConfig

__all__ = ["CLASSES", "RECORD_BYTES", "global_contrast_normalize", "read_cifar_batch"]

SIDE, CHANNELS = 32, 3
RECORD_BYTES = 1 + CHANNELS * SIDE * SIDE  # a label byte, then the R, G, B planes of a 32x32 image
RECORDS_PER_FILE = 10_000  # in each of the real files
DATA_BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_BATCH = "test_batch.bin"
META = "batches.meta.txt"  # the class names, one per line
MAX_META_BYTES = 1 << 16
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
BINARY_FOLDER = "cifar-10-batches-bin"  # what the binary tarball unpacks to
GCN_SCALE = 55.0  # the authors' CIFAR10(gcn=55.): each image's centred pixel vector rescaled to L2 norm 55
GCN_MIN_DIVISOR = 1e-8  # pylearn2's default: an image with a smaller divisor (a constant image) is not divided
GCN_CHUNK = 4096  # images normalised at a time (in float64)


def _record_count(path: Path) -> int:
    """The number of records in ``path``: its size must be a positive multiple of RECORD_BYTES."""
    size = regular_file(path, "a CIFAR-10 binary batch file")
    if size == 0 or size % RECORD_BYTES:
        raise DataError(
            f"{path}: {size:,} bytes is not a whole, positive number of {RECORD_BYTES:,}-byte CIFAR-10 records "
            f"(a label byte and 3,072 pixel bytes); expected {RECORDS_PER_FILE * RECORD_BYTES:,} bytes "
            f"({RECORDS_PER_FILE:,} records): truncated, or not the binary version"
        )
    return size // RECORD_BYTES


def read_cifar_batch(path: str | Path, n_classes: int = len(CLASSES)) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 3, 32, 32)`` uint8 images and ``(n,)`` int64 labels from one CIFAR-10 binary batch file.

    The size is checked (a positive whole number of records) and every label must be below ``n_classes``.
    """
    path = Path(path)
    n = _record_count(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(n * RECORD_BYTES + 1)  # one byte more shows a file that grew since its size was read
    except OSError as e:
        raise DataError(f"{path}: cannot read the CIFAR-10 batch file ({e.strerror})") from None
    if len(raw) != n * RECORD_BYTES:
        raise DataError(f"{path}: changed while being read ({len(raw):,} bytes, {n * RECORD_BYTES:,} expected)")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(n, RECORD_BYTES)  # (n, 3073)
    labels = records[:, 0].astype(np.int64)  # (n,)
    bad = np.flatnonzero(labels >= n_classes)
    if bad.size:
        raise DataError(
            f"{path}: record {int(bad[0])} has label {int(labels[bad[0]])}; expected a class index "
            f"0..{n_classes - 1} ({n_classes} classes)"
        )
    images = records[:, 1:].reshape(n, CHANNELS, SIDE, SIDE)  # (n, 3, 32, 32): the R, G, B planes, row-major
    return images, labels


def _class_names(folder: Path) -> tuple[str, ...]:
    """The names in ``batches.meta.txt`` (non-empty lines), else the standard ten."""
    path = folder / META
    if not path.exists():
        return CLASSES
    size = regular_file(path, "the class names, one per line")
    if size > MAX_META_BYTES:
        raise DataError(f"{path}: {size:,} bytes; expected a short text file of class names, one per line")
    try:
        names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not a readable UTF-8 text file of class names ({e})") from None
    if not names or len(set(names)) != len(names):
        raise DataError(f"{path}: expected distinct class names, one per line; found {list(names)[:12]}")
    return names


def _batch_folder(path: Path) -> Path:
    """The folder holding the batch files: ``path`` itself, or its ``cifar-10-batches-bin`` sub-folder."""
    if not path.is_dir():
        raise DataError(f"{path}: data.name=cifar10 reads a folder (the binary version's batch files), not a file")
    inner = path / BINARY_FOLDER
    folder = inner if not (path / DATA_BATCHES[0]).exists() and inner.is_dir() else path
    for name in (*DATA_BATCHES, TEST_BATCH):
        if not (folder / name).exists():
            pickled = " (this folder holds the pickled Python version, which origan never reads)"
            raise DataError(
                f"{folder / name}: missing; data.name=cifar10 reads the binary version's files "
                f"data_batch_1.bin ... data_batch_5.bin and test_batch.bin"
                + (pickled if (folder / "data_batch_1").exists() else "")
            )
    return folder


def global_contrast_normalize(
    x: Tensor, scale: float = GCN_SCALE, min_divisor: float = GCN_MIN_DIVISOR, chunk: int = GCN_CHUNK
) -> Tensor:
    """pylearn2's ``global_contrast_normalize(X, scale)`` with its other defaults, per example of ``x (n, ...)``.

    Each example's values are centred on their own mean, then divided by ``||centred||_2 / scale``, or left
    undivided when that divisor is below ``min_divisor`` (a constant example stays all zeros). So every
    non-constant example ends with mean 0 and L2 norm ``scale``. Computed in float64, returned as float32.
    The result does not depend on the pixels' unit (0-255 or [0, 1]) beyond rounding.
    """
    out = torch.empty(x.shape, dtype=torch.float32)
    flat, flat_out = x.reshape(len(x), -1), out.view(len(x), -1)  # (n, d)
    for start in range(0, len(x), chunk):
        block = flat[start : start + chunk].double()  # (b, d)
        block -= block.mean(1, keepdim=True)
        divisor = block.square().sum(1, keepdim=True).sqrt() / scale  # (b, 1)
        divisor[divisor < min_divisor] = 1.0
        flat_out[start : start + chunk] = block / divisor
    return out


@DATASETS.register("cifar10")
def cifar10(cfg: DataConfig) -> Dataset:
    """CIFAR-10 from its binary batch files in ``data.path``, split and (optionally) normalised as the authors did."""
    folder = _batch_folder(resolve_path(cfg, "CIFAR-10's binary version (a folder of .bin batch files)"))
    counts = {name: _record_count(folder / name) for name in (*DATA_BATCHES, TEST_BATCH)}
    n = counts[DATA_BATCHES[0]]
    for name in DATA_BATCHES[1:]:
        if counts[name] != n:
            raise DataError(
                f"{folder / name}: {counts[name]:,} records, {DATA_BATCHES[0]} holds {n:,}; the five data batches "
                f"must hold equally many ({RECORDS_PER_FILE:,} each in the real files)"
            )
    total = sum(counts.values())
    check_decoded_size(total * RECORD_BYTES, folder, f"{total:,} CIFAR-10 records")
    classes = _class_names(folder)
    parts = [read_cifar_batch(folder / name, len(classes)) for name in (*DATA_BATCHES, TEST_BATCH)]
    images = np.concatenate([p[0] for p in parts])  # (5n + n_test, 3, 32, 32) uint8
    labels = np.concatenate([p[1] for p in parts])  # (5n + n_test,)
    del parts
    n_data = 5 * n  # the authors' cut: train = the first 4/5 (0-40,000), validation = the last 1/5 (40,000-50,000)
    split = (torch.arange(4 * n), torch.arange(4 * n, n_data), torch.arange(n_data, total))
    data = array_dataset("cifar10", images, labels, cfg, str(folder), split=split)
    data.classes = classes
    data.info |= {
        "classes": list(classes),
        "split": "the authors': the first 4/5 of data_batch_1-5 train (images 0-40,000), the last 1/5 validates, "
        "test_batch tests",
        "preprocess": cfg.preprocess,
    }
    if cfg.preprocess == "gcn":
        data.train, data.val, data.test = (global_contrast_normalize(x) for x in (data.train, data.val, data.test))
        data.bounded = False
        data.info["preprocess"] = f"gcn: each image centred, then scaled to L2 norm {GCN_SCALE:g} (pylearn2)"
    return data
