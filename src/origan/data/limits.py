"""What reading data may cost: regular files only, and one budget for decoded data.

Every reader checks a size *before* it allocates: the shape an ``.npy`` or IDX header promises, the
images a folder or an array will become at ``data.image_size``, the text of a CSV file. Anything over
the budget is a :class:`~origan.errors.DataError` naming the file, so a hostile or mistaken file costs
an error message, not the machine's memory. The budget is ``$ORIGAN_MAX_DATA_BYTES`` (bytes, or a
number with a K, M, G or T suffix, powers of 1024), 8 GiB by default. Single images are also held to
Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from ..errors import ConfigError, DataError

__all__ = ["DEFAULT_MAX_DATA_BYTES", "ENV_MAX_DATA_BYTES", "check_decoded_size", "max_data_bytes", "regular_file"]

ENV_MAX_DATA_BYTES = "ORIGAN_MAX_DATA_BYTES"
DEFAULT_MAX_DATA_BYTES = 8 * 2**30  # 8 GiB of decoded data (the full MNIST as float32 takes 0.2 GiB)
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def max_data_bytes() -> int:
    """The budget for decoded data in bytes: ``$ORIGAN_MAX_DATA_BYTES``, else 8 GiB."""
    text = os.environ.get(ENV_MAX_DATA_BYTES, "").strip()
    if not text:
        return DEFAULT_MAX_DATA_BYTES
    m = _SIZE.fullmatch(text)
    if not m or float(m[1]) <= 0:
        raise ConfigError(
            f"{ENV_MAX_DATA_BYTES}: expected a positive number of bytes such as 8589934592 or 8G, got {text!r}"
        )
    return int(float(m[1]) * _UNITS[m[2].upper()])


def _human(n: int) -> str:
    for unit in ("T", "G", "M", "K"):
        if n >= _UNITS[unit]:
            return f"{n / _UNITS[unit]:.3g} {unit}iB"
    return f"{n} bytes"


def check_decoded_size(nbytes: int, source: str | Path, what: str) -> None:
    """Refuse ``what`` from ``source`` when it would take more than the budget of decoded data."""
    limit = max_data_bytes()
    if nbytes > limit:
        raise DataError(
            f"{source}: {what} would take {_human(nbytes)}, over the {_human(limit)} limit on decoded "
            f"data (set {ENV_MAX_DATA_BYTES} to raise it)"
        )


def regular_file(path: Path, what: str) -> int:
    """The size of ``path`` in bytes if it is a regular file (links followed); else a DataError naming ``what``."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise DataError(f"{path}: cannot read {what} ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a device, pipe or socket"
        raise DataError(f"{path}: {kind}, not a regular file; expected {what}")
    return st.st_size
