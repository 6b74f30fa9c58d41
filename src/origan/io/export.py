"""Write samples where the user asked: ``.npy``, ``.npz``, ``.csv``, a grid ``.png``, or a folder of PNGs, chunk by
chunk.

Samples with classes (a conditional run's) keep them: ``.npz`` holds ``x`` and ``y`` (class indices) and
``classes`` (their names), ``.csv`` gains a last ``label`` column (the class name), a ``.png`` grid shows the
samples in class order (``per_row`` of them a row: one row per class for ``--per-class``), and a folder holds one
sub-folder per class. ``.npy`` holds the samples alone, as for an unconditional run (whose ``.npz`` holds ``x``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
from torch import Tensor

from ..errors import UserError
from ..limits import MAX_GRID
from .files import check_writable, open_atomic, write_atomic

__all__ = [
    "MAX_GRID",
    "check_output",
    "image_grid",
    "save_grid_png",
    "save_samples",
    "to_uint8_images",
    "write_samples",
]


def to_uint8_images(x: Tensor) -> np.ndarray:
    """``(n, C, H, W)`` in [0, 1] -> ``(n, H, W, C)`` uint8."""
    arr = (x.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    return arr.cpu().numpy()


def image_grid(x: Tensor, nrow: int | None = None, padding: int = 2, scale: int = 1) -> np.ndarray:
    """Tile ``(n, C, H, W)`` images in [0, 1] into one ``(H', W', C)`` uint8 array with a black border."""
    imgs = to_uint8_images(x)  # (n, H, W, C)
    n, h, w, c = imgs.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    grid = np.zeros((padding + ncol * (h + padding), padding + nrow * (w + padding), c), dtype=np.uint8)
    for i in range(n):
        r, q = divmod(i, nrow)
        y0, x0 = padding + r * (h + padding), padding + q * (w + padding)
        grid[y0 : y0 + h, x0 : x0 + w] = imgs[i]
    if scale > 1:
        grid = grid.repeat(scale, axis=0).repeat(scale, axis=1)
    return grid


def _png_bytes(arr: np.ndarray) -> bytes:
    from PIL import Image

    img = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def save_grid_png(x: Tensor, path: Path, nrow: int | None = None, scale: int | None = None) -> Path:
    """Save ``(n, C, H, W)`` images as one grid PNG (small images are enlarged so a person can see them)."""
    scale = scale or max(1, 112 // x.shape[-1])
    write_atomic(Path(path), _png_bytes(image_grid(x, nrow, scale=scale)))
    return Path(path)


def check_output(path: Path, kind: str, n: int) -> str:
    """Refuse an output before anything is sampled or written; return its form (npy, csv, grid or folder)."""
    path = Path(path)
    suffix = path.suffix.lower()
    forms = {".npy": "npy", ".npz": "npz", ".csv": "csv", ".png": "grid", "": "folder"}
    if suffix not in forms:
        raise UserError(f"{path}: unknown output type {suffix!r}; expected .npy, .npz, .csv, .png or a folder name")
    form = forms[suffix]
    if form in ("grid", "folder") and kind != "image":
        raise UserError(f"{path}: PNG output needs image data; this run's data are {kind} (use .npy or .csv)")
    if form == "grid" and n > MAX_GRID:
        raise UserError(
            f"{path}: a .png grid holds at most {MAX_GRID} samples, got {n}; "
            "name a folder (one PNG per sample), .npy, .npz or .csv"
        )
    # a FIFO or a device is never replaced; a folder of PNGs is made in an existing folder
    check_writable(path, "the samples", folder=form == "folder", parents=False)
    return form


def _table_codec(codec: dict[str, Any]) -> Any:
    from ..data.tables import TableCodec

    try:
        return TableCodec.from_json(codec)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise UserError(f"table codec: damaged in the checkpoint ({type(e).__name__}: {e})") from None


def write_samples(
    chunks: Iterable[Tensor],
    n: int,
    path: Path,
    kind: str,
    columns: list[str] | None = None,
    codec: dict[str, Any] | None = None,
    labels: Tensor | None = None,
    classes: list[str] | None = None,
    per_row: int | None = None,
) -> Path:
    """Write ``n`` samples arriving as ``chunks`` (tensors of ``(rows, *shape)``), one chunk in memory at a time.

    The path's form: ``.npy`` (a header, then the rows), ``.npz`` (``x``, with classes ``y`` and ``classes``),
    ``.csv``, ``.png`` (one grid, at most :data:`MAX_GRID` samples) or a folder of PNGs (no suffix). Files
    appear whole or not at all.

    Args:
        kind: the dataset kind (``image``, ``vector`` or ``table``); PNG output needs images.
        columns: CSV header; ``x0, x1, ...`` when omitted.
        codec: a table's :class:`~origan.data.tables.TableCodec` as JSON: ``.csv`` output is then decoded to
            the original columns, names and types (``.npy`` keeps the encoded rows).
        labels: ``(n,)`` the samples' class indices into ``classes`` (see the module docstring), or None.
        per_row: samples in a row of a ``.png`` grid (default: a square grid).
    """
    path = Path(path)
    form = check_output(path, kind, n)
    chunks = iter(chunks)
    names = list(classes or [])
    if form == "grid":
        x = torch.cat(list(chunks))
        if labels is not None:
            x = x[torch.argsort(labels, stable=True)]  # class order, each class's samples in drawing order
        save_grid_png(x, path, nrow=per_row)
    elif form == "folder":
        _write_folder(path, chunks, n, labels, names)
    elif form == "npz":
        arrays = {"x": torch.cat(list(chunks)).numpy()}
        if labels is not None:
            arrays |= {"y": labels.numpy(), "classes": np.array(names, dtype=str)}
        with open_atomic(path) as f:
            np.savez(f, allow_pickle=False, **arrays)
    else:
        with open_atomic(path) as f:
            if form == "npy":
                _write_npy(f, chunks, n, columns, codec)
            else:
                _write_csv(f, chunks, n, columns, codec, None if labels is None else [names[i] for i in labels])
    return path


def _folder_name(index: int, name: str) -> str:
    """A class's sub-folder: its name when that is a safe file name, else ``<index>-<name made safe>``."""
    safe = re.sub(r"[^\w.-]", "_", name)
    return name if safe == name and name not in (".", "..") else f"{index}-{safe}"


def _write_folder(path: Path, chunks: Iterator[Tensor], n: int, labels: Tensor | None, names: Any) -> None:
    """One PNG per sample, numbered in drawing order; with labels, in one sub-folder per class."""
    path.mkdir(exist_ok=True)
    width, i = len(str(n - 1)), 0
    for x in chunks:
        for img in to_uint8_images(x):
            where = path
            if labels is not None:
                c = int(labels[i])
                where = path / _folder_name(c, names[c])
                where.mkdir(exist_ok=True)
            write_atomic(where / f"{i:0{width}d}.png", _png_bytes(img))
            i += 1


def _write_npy(f: BinaryIO, chunks: Iterator[Tensor], n: int, columns: Any, codec: Any) -> None:
    header_written = False
    for x in chunks:
        arr = np.ascontiguousarray(x.detach().cpu().numpy())
        if not header_written:
            header = {
                "descr": np.lib.format.dtype_to_descr(arr.dtype),
                "fortran_order": False,
                "shape": (n, *arr.shape[1:]),
            }
            np.lib.format.write_array_header_1_0(f, header)
            header_written = True
        f.write(arr.tobytes())


def _write_csv(
    f: BinaryIO,
    chunks: Iterator[Tensor],
    n: int,
    columns: list[str] | None,
    codec: dict[str, Any] | None,
    labels: list[str] | None = None,
) -> None:
    table = _table_codec(codec) if codec is not None else None
    first, done = True, 0
    for x in chunks:
        if table is not None:
            values = table.decode(x)
            text = table.to_csv_text(values)
            if not first:  # the header once: drop the one each chunk's text starts with
                text = text[len(table.to_csv_text([v[:0] for v in values])) :]
        else:
            flat = x.detach().cpu().reshape(len(x), -1).numpy()
            lines = [",".join(columns or [f"x{i}" for i in range(flat.shape[1])])] if first else []
            lines += [",".join(repr(float(v)) for v in row) for row in flat]
            text = "\n".join(lines) + "\n"
        if labels is not None:  # a last column: the class name of each row
            text = _with_label_column(text, labels[done : done + len(x)], first)
        f.write(text.encode())
        first, done = False, done + len(x)


def _with_label_column(text: str, labels: list[str], header: bool) -> str:
    """CSV ``text`` (a header line if ``header``, then one line per label) with a ``label`` column appended."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([[name] for name in labels])
    cells = buf.getvalue().splitlines()  # each name quoted where CSV needs it
    lines = text.splitlines()
    head = [lines[0] + ",label"] if header else []
    rows = lines[1:] if header else lines
    if len(rows) != len(cells):
        raise ValueError(f"CSV rows ({len(rows)}) and labels ({len(cells)}) do not pair up")
    return "\n".join([*head, *(row + "," + cell for row, cell in zip(rows, cells, strict=True))]) + "\n"


def save_samples(
    x: Tensor, path: Path, kind: str, columns: list[str] | None = None, codec: dict[str, Any] | None = None
) -> Path:
    """Write ``(n, *shape)`` samples by the path's form (see :func:`write_samples`)."""
    return write_samples([x], len(x), path, kind, columns, codec)
