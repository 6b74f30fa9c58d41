"""MNIST's IDX files, raw or gzipped: the paper's full experiment on the real 60,000 + 10,000 digits.

The format (LeCun's MNIST page): two zero bytes, a type byte, the number of dimensions, then each
dimension as a big-endian uint32, then the values, big-endian, row-major.

``data.name=idx`` with ``data.path``:

- a folder holding MNIST's files (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``; Fashion-MNIST's names are the same):
  the source's own split, as the paper's code used it: the first five sixths of the training file train
  (50,000), the last sixth validates (10,000), the t10k file tests (10,000);
- one images file (labels from its ``labels``/``idx1`` sibling when there is one): 80/10/10 as arrays.
"""

from __future__ import annotations

import gzip
import io
import math
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import DataError
from ..io.files import write_atomic
from ..limits import check_decoded_size, regular_file
from . import DATASETS, Dataset
from .arrays import array_dataset, resolve_path

if TYPE_CHECKING:
    from ..config import DataConfig

__all__ = ["IDX_TYPES", "read_idx", "write_idx"]

IDX_TYPES: dict[int, np.dtype] = {  # type byte -> big-endian dtype
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


def _read_idx(stream: io.BufferedIOBase, path: Path, stored: int | None) -> np.ndarray:
    """Parse an IDX stream; ``stored`` is the data size on disk (None for a gzip stream, read with a bound)."""
    head = stream.read(4)
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DataError(f"{path}: not an IDX file (expected two zero bytes, a type byte and a rank byte)")
    type_code, ndim = head[2], head[3]
    if type_code not in IDX_TYPES:
        raise DataError(
            f"{path}: unknown IDX type byte 0x{type_code:02X}; expected one of "
            + ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        )
    raw_dims = stream.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError(f"{path}: truncated IDX header ({4 + len(raw_dims)} bytes, expected {4 + 4 * ndim})")
    dims = struct.unpack(f">{ndim}I", raw_dims)
    dtype = IDX_TYPES[type_code]
    expected = math.prod(dims) * dtype.itemsize
    found = None if stored is None else stored - 4 - 4 * ndim
    if found is None:
        check_decoded_size(expected, path, f"IDX data of shape {dims}")
        body = stream.read(expected + 1)  # never more than the header promises, plus one byte to see a longer stream
        found = len(body)
    if found != expected:
        more = " or more" if stored is None and found > expected else ""
        raise DataError(f"{path}: IDX header promises {expected} bytes of data for shape {dims}, found {found}{more}")
    if stored is not None:
        check_decoded_size(expected, path, f"IDX data of shape {dims}")
        body = stream.read(expected)
    return np.frombuffer(body, dtype=dtype, count=math.prod(dims)).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | Path) -> np.ndarray:
    """The array in an IDX file (gzip detected by its magic bytes), in native byte order.

    The header's shape is checked against the file's size (or, gzipped, inflating stops one byte past what it
    promises) and against the decoded-data budget before the values are read.
    """
    path = Path(path)
    size = regular_file(path, "an IDX file")
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            if not gzipped:
                return _read_idx(raw, path, size)
            with gzip.GzipFile(fileobj=raw) as stream:
                return _read_idx(stream, path, None)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read the IDX file ({e})") from None


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file, gzipped when the name ends in ``.gz``."""
    path = Path(path)
    array = np.asarray(array)
    for code, dtype in IDX_TYPES.items():  # noqa: B007  (code is read after the loop)
        if array.dtype == dtype.newbyteorder("="):
            break
    else:
        raise ValueError(f"IDX cannot hold dtype {array.dtype}; use one of uint8, int8, int16, int32, float32, float64")
    body = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    body += np.ascontiguousarray(array, dtype=dtype).tobytes()
    write_atomic(path, gzip.compress(body, mtime=0) if path.suffix == ".gz" else body)
    return path


def _find(folder: Path, stem: str) -> Path | None:
    """MNIST's file ``stem`` in ``folder``, raw or gzipped, with '-' or '.' before ``idxN``."""
    hits = sorted(p for p in folder.iterdir() if p.is_file() and p.name.replace(".", "-").startswith(stem))
    return hits[0] if hits else None


def _images_and_labels(images: Path, labels: Path | None) -> tuple[np.ndarray, np.ndarray | None]:
    x = read_idx(images)
    if x.ndim not in (3, 4):
        raise DataError(f"{images}: wrong IDX shape {x.shape}; expected images (n, H, W)")
    y = None
    if labels is not None:
        y = read_idx(labels)
        if y.shape != (len(x),):
            raise DataError(
                f"{labels}: {y.shape[0] if y.ndim else 0} labels of shape {y.shape} "
                f"for the {len(x)} images of {images.name}"
            )
    return x, y


def _mnist_folder(folder: Path, cfg: DataConfig) -> Dataset:
    train_images = _find(folder, "train-images-idx")
    if train_images is None:
        raise DataError(f"{folder}: no train-images-idx3-ubyte[.gz] file (data.name=idx expects MNIST's file names)")
    x, y = _images_and_labels(train_images, _find(folder, "train-labels-idx"))
    test_images = _find(folder, "t10k-images-idx")
    if test_images is None:  # no test file: treat the training file like any array
        return array_dataset("idx", x, y, cfg, str(train_images))
    x_test, y_test = _images_and_labels(test_images, _find(folder, "t10k-labels-idx"))
    if x_test.shape[1:] != x.shape[1:]:
        raise DataError(f"{test_images}: images of shape {x_test.shape[1:]}, the training images are {x.shape[1:]}")
    if (y is None) != (y_test is None):
        y = y_test = None  # labels only for one part: train unlabelled
    n, n_val = len(x), len(x) // 6  # MNIST: 50,000 train, 10,000 validation
    split = (torch.arange(n - n_val), torch.arange(n - n_val, n), torch.arange(n, n + len(x_test)))
    labels = None if y is None or y_test is None else np.concatenate([y, y_test]).astype(np.int64)
    data = array_dataset("idx", np.concatenate([x, x_test]), labels, cfg, str(folder), split=split)
    data.info["split"] = "the source's: first 5/6 of the training file, its last 1/6 validates, t10k tests"
    return data


@DATASETS.register("idx")
def idx(cfg: DataConfig) -> Dataset:
    """MNIST-format IDX images from ``data.path`` (MNIST's folder or one images file)."""
    path = resolve_path(cfg, "MNIST's IDX files (a folder) or one IDX images file")
    if path.is_dir():
        return _mnist_folder(path, cfg)
    sibling = path.with_name(path.name.replace("images", "labels").replace("idx3", "idx1"))
    labels = sibling if sibling != path and sibling.is_file() else None
    x, y = _images_and_labels(path, labels)
    return array_dataset("idx", x, y, cfg, str(path))
