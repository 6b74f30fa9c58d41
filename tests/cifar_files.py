"""CIFAR-10 binary batch files written byte by byte (a label byte, then the R, G, B planes, each row-major)."""

from __future__ import annotations

from pathlib import Path

BATCHES = (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin")


def pixel(file: int, record: int, channel: int, row: int, col: int) -> int:
    """The byte of a pixel in the files below: every file, record, plane, row and column tells apart."""
    return (7 * file + 13 * record + 85 * channel + 3 * row + col) % 256


def label(file: int, record: int) -> int:
    return (3 * file + record) % 10


def record_bytes(file: int, record: int) -> bytes:
    planes = (pixel(file, record, c, r, col) for c in range(3) for r in range(32) for col in range(32))
    return bytes([label(file, record), *planes])


def write_cifar_folder(folder: Path, n: int = 3, n_test: int = 2, names: tuple[str, ...] = BATCHES) -> Path:
    """``n`` records in each data batch and ``n_test`` in the test batch (file index = position in BATCHES)."""
    folder.mkdir(parents=True, exist_ok=True)
    for f, name in enumerate(BATCHES):
        if name in names:
            count = n_test if name == "test_batch.bin" else n
            (folder / name).write_bytes(b"".join(record_bytes(f, j) for j in range(count)))
    return folder
