"""A folder of images (PNG, JPEG, BMP, WebP; searched recursively), decoded once and cached.

Every image is turned upright (EXIF), made grayscale or RGB (transparent pixels over black; 16-bit
grayscale scaled to 8 bits), cropped to its centred square and resized (bicubic, antialiased) to
``data.image_size`` (default 32). With ``data.channels = 0`` the set is RGB if any image has colour
(some pixel with R, G, B not all equal), else grayscale. With ``data.folder_labels`` the first-level
sub-folder names, sorted, are the classes.

The decoded set is cached as ``<cache>/folders/<folder key>-<content key>.safetensors`` (uint8 images and
labels, no pickle). The content key is the SHA-256 of every image's relative path and bytes and of the
decoding options, so a changed, added, removed or renamed file gives a new key and a fresh decode; the
superseded cache file of the same folder is deleted. Split: a fixed permutation seeded with
``data.split_seed``, 80 % train, 10 % validation, 10 % test.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from ..errors import DataError
from ..limits import check_decoded_size
from . import DATASETS, Dataset, split_of
from .arrays import resolve_path
from .images import cache_dir

if TYPE_CHECKING:
    from PIL import Image as PILImage

    from ..config import DataConfig

__all__ = ["DEFAULT_SIZE", "IMAGE_SUFFIXES", "decode_image", "list_images", "load_folder"]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
DEFAULT_SIZE = 32  # side used when data.image_size = 0
CACHE_FORMAT = "origan-image-folder-cache/1"  # part of the content key: a new decoder invalidates old caches
HASH_CHUNK = 1 << 20
SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")


def list_images(root: Path) -> list[Path]:
    """Image files under ``root`` by suffix (any case), recursively, sorted; hidden files and folders skipped."""
    files = [
        p
        for p in root.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def _content_key(root: Path, files: list[Path], options: dict[str, Any]) -> str:
    h = hashlib.sha256(json.dumps({"format": CACHE_FORMAT, **options}, sort_keys=True).encode())
    for path in files:
        rel = path.relative_to(root).as_posix().encode()
        try:
            with open(path, "rb") as f:
                h.update(len(rel).to_bytes(8, "little") + rel + os.fstat(f.fileno()).st_size.to_bytes(8, "little"))
                while chunk := f.read(HASH_CHUNK):  # streamed: a large file never sits in memory whole
                    h.update(chunk)
        except OSError as e:
            raise DataError(f"{path}: cannot read the image file ({e.strerror})") from None
    return h.hexdigest()


def _gray_or_rgb(img: PILImage.Image) -> PILImage.Image:
    """Mode L or RGB: 16-bit gray scaled to 8 bits, transparency composited over black."""
    from PIL import Image

    if img.mode in SIXTEEN_BIT_MODES:
        arr = np.asarray(img, dtype=np.float64) / 65535.0
        return Image.fromarray(np.round(np.clip(arr, 0, 1) * 255).astype(np.uint8), mode="L")
    if img.mode == "F":
        return Image.fromarray(np.round(np.clip(np.asarray(img), 0, 1) * 255).astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("RGB")
    if img.mode in ("L", "RGB"):
        return img
    return img.convert("L" if img.mode == "1" else "RGB")


def decode_image(path: Path, size: int, channels: int = 0) -> np.ndarray:
    """``(C, size, size)`` uint8: the centred square of the image at ``path``, resized; C = 1 or 3.

    ``channels = 0`` keeps the image's own: 1 for grayscale modes, 3 otherwise.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            opened.load()
            img = _gray_or_rgb(ImageOps.exif_transpose(opened))
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(
            f"{path}: not a readable image ({str(e).splitlines()[0] if str(e) else type(e).__name__})"
        ) from None
    if channels:
        img = img.convert("L" if channels == 1 else "RGB")
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    img = img.crop((left, top, left + side, top + side))  # crop first: the filter never sees the cut-off sides
    if side != size:
        img = img.resize((size, size), Image.Resampling.BICUBIC)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


def _decode_all(root: Path, files: list[Path], size: int, channels: int) -> Tensor:
    """``(n, C, size, size)`` uint8; with ``channels = 0``, RGB if any image has colour, else grayscale."""
    arrays = [decode_image(p, size, channels) for p in files]
    if not channels:
        colour = any(a.shape[0] == 3 and not ((a[0] == a[1]).all() and (a[1] == a[2]).all()) for a in arrays)
        target = 3 if colour else 1
        arrays = [np.repeat(a, 3, 0) if a.shape[0] < target else a[:1] if a.shape[0] > target else a for a in arrays]
    log.info("decoded %d images from %s", len(files), root)
    return torch.from_numpy(np.ascontiguousarray(np.stack(arrays)))


def _labels(root: Path, files: list[Path]) -> tuple[Tensor, list[str]]:
    parts = [p.relative_to(root).parts for p in files]
    for path, rel in zip(files, parts, strict=True):
        if len(rel) < 2:
            raise DataError(f"{path}: data.folder_labels needs every image inside a class sub-folder of {root}")
    classes = sorted({rel[0] for rel in parts})
    index = {c: i for i, c in enumerate(classes)}
    return torch.tensor([index[rel[0]] for rel in parts], dtype=torch.int64), classes


def _read_cache(path: Path) -> tuple[dict[str, Tensor], dict[str, str]] | None:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})  # noqa: SIM118  (safe_open is not iterable)
    except Exception as e:
        log.warning("ignoring unreadable cache %s (%s)", path, e)
        return None


def _write_cache(path: Path, tensors: dict[str, Tensor], meta: dict[str, str]) -> None:
    from safetensors.torch import save

    from ..io.files import write_atomic

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, save(tensors, metadata=meta))
        for old in path.parent.glob(path.name.split("-")[0] + "-*.safetensors"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as e:  # an unwritable cache only costs time
        log.warning("cannot write the image cache %s (%s)", path, e)


def load_folder(root: Path, size: int, channels: int = 0, folder_labels: bool = False) -> dict[str, Any]:
    """Decode (or fetch from the cache) every image under ``root``.

    Returns:
        ``images`` ``(n, C, size, size)`` uint8, ``labels`` ``(n,)`` int64 or None, ``classes``, ``files``
        (relative paths), ``cache`` (the cache file) and ``cache_hit`` (whether it was reused).
    """
    files = list_images(root)
    if not files:
        raise DataError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) in the folder or its sub-folders")
    c = channels or 3  # at most
    check_decoded_size(
        5 * len(files) * c * size * size,
        root,  # the uint8 set and its float32 copy
        f"{len(files)} images of {c}x{size}x{size} (data.image_size) as uint8 and float32",
    )
    options = {"size": size, "channels": channels, "folder_labels": folder_labels}
    key = _content_key(root, files, options)
    folder_key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    cache = cache_dir() / "folders" / f"{folder_key}-{key[:40]}.safetensors"
    rel = [p.relative_to(root).as_posix() for p in files]
    cached = _read_cache(cache) if cache.exists() else None
    if cached is not None and cached[1].get("content_key") == key:
        tensors, meta = cached
        log.info("image cache hit: %s", cache)
        return {
            "images": tensors["images"],
            "labels": tensors.get("labels"),
            "classes": json.loads(meta["classes"]),
            "files": rel,
            "cache": cache,
            "cache_hit": True,
        }
    labels, classes = _labels(root, files) if folder_labels else (None, [])
    images = _decode_all(root, files, size, channels)
    tensors = {"images": images} | ({"labels": labels} if labels is not None else {})
    _write_cache(cache, tensors, {"content_key": key, "classes": json.dumps(classes), "root": str(root)})
    return {"images": images, "labels": labels, "classes": classes, "files": rel, "cache": cache, "cache_hit": False}


@DATASETS.register("folder")
def folder(cfg: DataConfig) -> Dataset:
    """Images from the folder ``data.path`` at ``data.image_size`` pixels, in [0, 1]."""
    root = resolve_path(cfg, "a folder of images")
    if not root.is_dir():
        raise DataError(f"{root}: data.name=folder reads a folder of images, not a file")
    loaded = load_folder(root, cfg.image_size or DEFAULT_SIZE, cfg.channels, cfg.folder_labels)
    x = loaded["images"].float() / 255.0  # (n, C, S, S)
    info = {"source": str(root), "files": len(x), "cache": str(loaded["cache"]), "cache_hit": loaded["cache_hit"]}
    return Dataset.from_splits(
        "folder", x, "image", True, info, cfg.split_seed, loaded["labels"], loaded["classes"], fractions=split_of(cfg)
    )
