"""Write samples where the user asked: ``.npy``, ``.csv``, a grid ``.png``, or a folder of PNGs."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import UserError
from .files import write_atomic

__all__ = ["image_grid", "save_grid_png", "save_samples", "to_uint8_images"]


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


def save_samples(x: Tensor, path: Path, kind: str, columns: list[str] | None = None,
                 codec: dict[str, Any] | None = None) -> Path:
    """Write samples by the path's form: ``.npy``, ``.csv``, ``.png`` (a grid) or a folder of PNGs (no suffix).

    Args:
        x: ``(n, *shape)`` samples.
        kind: the dataset kind (``image``, ``vector`` or ``table``); PNG output needs images.
        columns: CSV header; ``x0, x1, ...`` when omitted.
        codec: a table's :class:`~origan.data.tables.TableCodec` as JSON: ``.csv`` output is then decoded to
            the original columns, names and types (``.npy`` keeps the encoded rows).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv" and codec is not None:
        from ..data.tables import TableCodec

        return TableCodec.from_json(codec).write_csv(path, x)
    if suffix == ".npy":
        buf = io.BytesIO()
        np.save(buf, x.detach().cpu().numpy(), allow_pickle=False)
        write_atomic(path, buf.getvalue())
    elif suffix == ".csv":
        flat = x.detach().cpu().reshape(len(x), -1).numpy()
        header = columns or [f"x{i}" for i in range(flat.shape[1])]
        lines = [",".join(header)] + [",".join(repr(float(v)) for v in row) for row in flat]
        write_atomic(path, ("\n".join(lines) + "\n").encode())
    elif suffix == ".png" or suffix == "":
        if kind != "image":
            raise UserError(f"{path}: PNG output needs image data; this run's data are {kind} (use .npy or .csv)")
        if suffix == ".png":
            save_grid_png(x, path)
        else:
            path.mkdir(parents=True, exist_ok=True)
            imgs = to_uint8_images(x)
            width = len(str(len(x) - 1))
            for i, img in enumerate(imgs):
                write_atomic(path / f"{i:0{width}d}.png", _png_bytes(img))
    else:
        raise UserError(f"{path}: unknown output type {suffix!r}; expected .npy, .csv, .png or a folder name")
    return path
