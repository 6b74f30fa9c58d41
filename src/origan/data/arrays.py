"""NumPy arrays from disk (``.npy`` / ``.npz``), and the array -> dataset rules shared with IDX files.

Shapes, by number of dimensions:

- ``(n, H, W)``: grayscale images.
- ``(n, H, W, C)`` or ``(n, C, H, W)`` with ``C`` in {1, 3}: images (channels last is tried first).
- ``(n, d)``: vectors (kind ``vector``, unbounded), or square images when ``data.image_size`` says
  ``d = C * S * S``.

Integer pixels are divided by their type's maximum (255 for ``uint8``); float pixels must already lie
in [0, 1]. Images are centre-cropped to a square and resized (antialiased bilinear) when
``data.image_size`` asks for another side. Split: a fixed permutation seeded with ``data.split_seed``,
80 % train, 10 % validation, 10 % test, unless the source brings its own split.
"""

from __future__ import annotations

import math
import zipfile
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import DataError
from ..limits import check_decoded_size, regular_file
from . import DATASETS, Dataset, class_indices, split_of

if TYPE_CHECKING:
    from ..config import DataConfig

__all__ = ["array_dataset", "images_from_array", "load_array", "resize_center_crop", "to_channels"]

NPY_MAGIC = b"\x93NUMPY"
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2 luma, as Pillow's RGB -> L


def resolve_path(cfg: DataConfig, what: str, key: str = "path") -> Path:
    """``data.<key>`` (``data.path`` by default) as a path that exists, or a DataError naming the key and saying
    what was expected there."""
    value = getattr(cfg, key)
    if not value:
        raise DataError(f"data.{key}: data.name={cfg.name} reads {what}; set --set data.{key}=...")
    try:
        path = Path(value).expanduser()
    except RuntimeError:  # ~name of a user this machine does not know
        raise DataError(f"{value}: no such user's home folder (data.{key}, expected {what})") from None
    if not path.exists():
        raise DataError(f"{path}: no such file or folder (data.{key}, expected {what})")
    if not path.is_dir():
        regular_file(path, what)
    return path


def _check_npy_header(f: IO[bytes], size: int, source: str) -> None:
    """Refuse an ``.npy`` stream whose header promises more data than it holds, or more than the budget."""
    fmt = np.lib.format
    major, _ = fmt.read_magic(f)
    shape, _, dtype = (fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0)(f)
    if dtype.hasobject:
        raise DataError(f"{source}: holds Python objects (dtype {dtype}); origan never unpickles, expected numbers")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > size - f.tell():
        raise DataError(
            f"{source}: the .npy header promises shape {shape} of {dtype} ({nbytes} bytes), "
            f"the file holds {size - f.tell()}"
        )
    check_decoded_size(nbytes, source, f"an array of shape {shape} and dtype {dtype}")


def _load_npz(path: Path, key: str) -> tuple[np.ndarray, list[str]]:
    with zipfile.ZipFile(path) as z:
        members = {m.filename.removesuffix(".npy"): m for m in z.infolist() if not m.is_dir()}
        names = list(members)
        if not key:
            if len(names) != 1:
                raise DataError(
                    f"{path}: holds {len(names)} arrays ({', '.join(names)}); choose one with data.array_key"
                )
            key = names[0]
        if key not in members:
            raise DataError(f"{path}: no array {key!r} (data.array_key); it holds {', '.join(names) or 'none'}")
        with z.open(members[key]) as f:
            _check_npy_header(f, members[key].file_size, f"{path}[{key}]")
        with z.open(members[key]) as f:
            return np.lib.format.read_array(f, allow_pickle=False), names


def load_array(path: Path, key: str = "") -> tuple[np.ndarray, list[str]]:
    """The array in a ``.npy`` file, or the one named ``key`` in a ``.npz`` (never unpickling); also the npz's names.

    The header's shape and dtype are checked against the file's size and the decoded-data budget first.
    """
    size = regular_file(path, "a .npy or .npz file")
    try:
        with open(path, "rb") as f:
            magic = f.read(len(NPY_MAGIC))
            if magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
                return _load_npz(path, key)
            if magic != NPY_MAGIC:
                raise DataError(f"{path}: not a .npy or .npz file (it starts with {magic!r})")
            if key:
                raise DataError(f"{path}: data.array_key={key!r} given, but a .npy file holds one unnamed array")
            f.seek(0)
            _check_npy_header(f, size, str(path))
            f.seek(0)
            return np.lib.format.read_array(f, allow_pickle=False), []
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise DataError(f"{path}: not a readable .npy/.npz file ({why})") from None


def _as_unit_interval(arr: np.ndarray, source: str) -> np.ndarray:
    """Pixels as float32 in [0, 1]: integers divided by their type's maximum, floats checked."""
    if arr.dtype == np.bool_:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        if arr.size and arr.min() < 0:
            raise DataError(f"{source}: integer pixels must be >= 0; found {arr.min()}")
        return (arr / np.float32(np.iinfo(arr.dtype).max)).astype(np.float32)
    if not np.issubdtype(arr.dtype, np.floating):
        raise DataError(f"{source}: expected numeric pixels, got dtype {arr.dtype}")
    _check_finite(arr, source)
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if lo < 0 or hi > 1:
        raise DataError(f"{source}: float pixels must lie in [0, 1]; found [{lo:g}, {hi:g}] (divide by 255?)")
    return arr.astype(np.float32)


def _check_finite(arr: np.ndarray, source: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{source}: non-finite value {arr[where]} at index {where}")


def to_channels(x: Tensor, channels: int) -> Tensor:
    """``(n, C, H, W)`` -> ``(n, channels, H, W)``: gray is repeated to RGB, RGB becomes luma."""
    if channels == 0 or x.shape[1] == channels:
        return x
    if channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    weights = torch.tensor(LUMA, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * weights).sum(1, keepdim=True)


def resize_center_crop(x: Tensor, size: int) -> Tensor:
    """``(n, C, H, W)`` -> ``(n, C, size, size)``: the centred square of side min(H, W), resized (antialiased)."""
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[..., top : top + side, left : left + side]
    if side != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    return x.contiguous()


def images_from_array(arr: np.ndarray, source: str, cfg: DataConfig) -> Tensor | None:
    """``(n, C, S, S)`` float32 images in [0, 1] from an array of images; ``None`` for a 2-D array of vectors."""
    if arr.ndim == 2:
        if not cfg.image_size:
            return None
        side, d = cfg.image_size, arr.shape[1]
        c = d // (side * side)
        if c not in (1, 3) or c * side * side != d:
            raise DataError(
                f"{source}: rows of {d} values are not {side}x{side} images with 1 or 3 channels (data.image_size)"
            )
        arr = arr.reshape(len(arr), c, side, side)
    elif arr.ndim == 3:
        arr = arr[:, None]
    elif arr.ndim == 4:
        if arr.shape[-1] in (1, 3) and arr.shape[1] not in (1, 3):
            arr = arr.transpose(0, 3, 1, 2)
        elif arr.shape[1] not in (1, 3):
            raise DataError(
                f"{source}: wrong array shape {arr.shape}; expected (n, H, W, C) or (n, C, H, W) with C 1 or 3"
            )
    else:
        raise DataError(
            f"{source}: wrong array shape {arr.shape}; expected (n, H, W), (n, H, W, C), (n, C, H, W) or (n, d)"
        )
    if len(arr) == 0:
        raise DataError(f"{source}: the array holds no examples")
    n, c, h, w = arr.shape
    size, c = cfg.image_size or min(h, w), max(c, cfg.channels)
    check_decoded_size(
        4 * n * c * (h * w + size * size),
        source,
        f"{n} images of {c}x{h}x{w} resized to {size}x{size} (data.image_size) as float32",
    )
    x = torch.from_numpy(np.ascontiguousarray(_as_unit_interval(arr, source)))  # (n, C, H, W)
    x = to_channels(x, cfg.channels)
    return resize_center_crop(x, size)


def _labels(labels: np.ndarray, n: int, source: str) -> tuple[Tensor, tuple[str, ...]]:
    if labels.shape != (n,) or labels.dtype.kind not in "biuU":
        raise DataError(
            f"{source}: labels must be {n} integers or strings, got shape {labels.shape} dtype {labels.dtype}"
        )
    return class_indices(labels, source)


def array_dataset(
    name: str,
    arr: np.ndarray,
    labels: np.ndarray | None,
    cfg: DataConfig,
    source: str,
    split: tuple[Tensor, Tensor, Tensor] | None = None,
) -> Dataset:
    """A Dataset of images (or vectors) from an array; ``split`` gives train/val/test indices, else 80/10/10.

    ``labels``: one per example, integers (class indices) or strings (see :func:`~origan.data.class_indices`).
    """
    if np.iscomplexobj(arr):
        raise DataError(f"{source}: complex values (dtype {arr.dtype}); expected real numbers")
    if 0 in arr.shape[1:]:
        raise DataError(
            f"{source}: examples of shape {arr.shape[1:]} hold no values; expected at least one per example"
        )
    x = images_from_array(arr, source, cfg)
    kind, bounded = "image", True
    if x is None:  # (n, d) vectors: unbounded data, modelled as they are
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise DataError(f"{source}: expected numeric values, got dtype {arr.dtype}")
        _check_finite(arr, source)
        if len(arr) == 0:
            raise DataError(f"{source}: the array holds no examples")
        x, kind, bounded = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)), "vector", False
    y, classes = _labels(labels, len(x), source) if labels is not None else (None, ())
    return Dataset.from_splits(
        name, x, kind, bounded, {"source": source}, cfg.split_seed, y, classes, split, split_of(cfg)
    )


@DATASETS.register("array")
def array(cfg: DataConfig) -> Dataset:
    """An array of images or vectors from ``data.path`` (``.npy``, or ``.npz`` with ``data.array_key``)."""
    path = resolve_path(cfg, "a .npy or .npz file")
    if path.is_dir():
        raise DataError(
            f"{path}: data.name=array reads a .npy or .npz file, not a folder (data.name=folder reads images)"
        )
    x, names = load_array(path, cfg.array_key)
    labels = None
    if cfg.label_key:
        if not names:
            raise DataError(f"{path}: data.label_key={cfg.label_key!r} needs an .npz file holding the labels")
        labels, _ = load_array(path, cfg.label_key)
    source = f"{path}" + (f"[{cfg.array_key}]" if cfg.array_key else "")
    return array_dataset("array", x, labels, cfg, source)
