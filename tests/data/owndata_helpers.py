"""Helpers and fixtures for the own-data tests: image folders and tables, generated on the spot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def solid(mode: str, size: tuple[int, int], colour) -> Image.Image:
    return Image.new(mode, size, colour)


def stripes(size: tuple[int, int], colours: list[tuple[int, int, int]]) -> Image.Image:
    """Vertical stripes of equal width, left to right."""
    w, h = size
    arr = np.zeros((h, w, 3), dtype=np.uint8)
    step = w // len(colours)
    for i, c in enumerate(colours):
        arr[:, i * step : (i + 1) * step] = c
    return Image.fromarray(arr)


def write_mixed_folder(root: Path) -> dict[str, tuple]:
    """A folder of images of mixed sizes, modes and formats in class sub-folders; returns the expected
    RGB colour (0..255) of each file after decoding, where the colour is known exactly (None: JPEG/noise)."""
    (root / "cats").mkdir(parents=True)
    (root / "dogs" / "deeper").mkdir(parents=True)
    expected: dict[str, tuple] = {}
    solid("RGB", (40, 20), (255, 0, 0)).save(root / "cats" / "red.png")
    expected["cats/red.png"] = (255, 0, 0)
    solid("L", (10, 30), 100).save(root / "cats" / "gray.png")
    expected["cats/gray.png"] = (100, 100, 100)
    stripes((30, 10), [(255, 0, 0), (0, 255, 0), (0, 0, 255)]).save(root / "cats" / "stripes.png")
    expected["cats/stripes.png"] = (0, 255, 0)  # the centred square is the green stripe
    Image.fromarray(np.full((12, 12), 100 * 257, dtype=np.uint16)).save(root / "dogs" / "sixteen.png")
    expected["dogs/sixteen.png"] = (100, 100, 100)
    solid("RGBA", (16, 16), (255, 0, 0, 128)).save(root / "dogs" / "half.png")  # over black: 128 red
    expected["dogs/half.png"] = (128, 0, 0)
    solid("RGB", (24, 24), (0, 0, 200)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(
        root / "dogs" / "palette.png"
    )
    expected["dogs/palette.png"] = (0, 0, 200)
    solid("RGB", (50, 40), (200, 100, 50)).save(root / "dogs" / "deeper" / "photo.JPG", quality=95)
    expected["dogs/deeper/photo.JPG"] = None  # (200, 100, 50) up to JPEG's rounding
    solid("RGB", (17, 23), (10, 20, 30)).save(root / "dogs" / "bitmap.bmp")
    expected["dogs/bitmap.bmp"] = (10, 20, 30)
    solid("RGB", (20, 20), (30, 60, 90)).save(root / "dogs" / "lossless.webp", lossless=True)
    expected["dogs/lossless.webp"] = (30, 60, 90)
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    solid("RGB", (8, 8), (1, 2, 3)).save(root / ".hidden" / "skip.png")
    return expected


@pytest.fixture
def mixed_folder(tmp_path: Path) -> tuple[Path, dict[str, tuple]]:
    root = tmp_path / "images"
    return root, write_mixed_folder(root)


def write_noise_folder(root: Path, n: int, size: int = 20, seed: int = 0) -> Path:
    """``n`` random colour images, PNG and JPEG alternating."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        arr = rng.integers(0, 256, (size + i % 3, size, 3), dtype=np.uint8)
        Image.fromarray(arr).save(root / f"img{i:03d}.{'png' if i % 2 else 'jpg'}")
    return root


TABLE_CSV = """id,height,city,rating,tiny,"name; with spaces"
101,1.75,Paris,3,1.5e-3,a
102,1.62,"New York, NY",5,2.25e-3,b
103,1.80,Paris,1,-4e-4,a
104,1.55,Lima,3,0.0e0,c
105,1.91,Lima,4,1e-2,b
106,1.70,"New York, NY",2,3.5e-3,a
107,1.66,Paris,5,7.75e-4,c
108,1.83,Lima,1,-1.25e-3,a
109,1.59,Paris,2,6e-3,b
110,1.72,Paris,4,8.5e-3,c
111,1.68,Lima,3,1.1e-3,a
112,1.77,"New York, NY",1,-2.5e-3,b
"""


@pytest.fixture
def table_csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text(TABLE_CSV)
    return path
