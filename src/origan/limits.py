"""What a request may cost: one table of bounds for every numeric option, and one budget for bytes.

Every command-line option and API argument that is a number is checked against :data:`BOUNDS` *before* any
work or write: a seed, a count of samples, rows or steps, a batch size, a learning rate. The check takes the
value as given (an ``int`` for a count: ``2.5`` and ``True`` are refused, a numpy integer is taken) and names
the option in its one-line :class:`~origan.errors.OptionError`.

Sizes have one budget, ``$ORIGAN_MAX_DATA_BYTES`` (bytes, or a number with a K, M, G or T suffix, powers of
1024; 8 GiB by default), for what is read and for what a request makes:

- readers check the size a file promises (an ``.npy`` or IDX header, a folder at ``data.image_size``, a CSV
  file's text) before they allocate (:func:`check_decoded_size`, :func:`regular_file`);
- requests check what they will produce (``n`` samples of a run, a walk of ``rows x steps`` images, a
  TableGAN's rows, an encoder's batch) before they draw the first one (:func:`check_request`), so memory and
  output files stay within the budget even where the samples are streamed.

Single images are also held to Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``).
"""

from __future__ import annotations

import math
import numbers
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError, DataError, OptionError

__all__ = [
    "BOUNDS",
    "DEFAULT_MAX_DATA_BYTES",
    "ENV_MAX_DATA_BYTES",
    "MAX_CLASSES",
    "MAX_CLUSTERS",
    "MAX_CONFIG_BYTES",
    "MAX_EPOCHS",
    "MAX_GRID",
    "MAX_K",
    "MAX_SEED",
    "MAX_STEPS",
    "MAX_THREADS",
    "Bound",
    "check_decoded_size",
    "check_float",
    "check_int",
    "check_request",
    "max_data_bytes",
    "regular_file",
    "sample_bytes",
]

MAX_SEED = 2**63 - 1  # torch seeds take 64 bits and the rank is added under torchrun; TOML's largest integer
MAX_THREADS = 1024  # torch.set_num_threads takes seconds at 10^5 and hangs the first matmul beyond
MAX_CLASSES = 100_000  # classes of a labelled dataset (integer labels are class indices below this)
MAX_CLUSTERS = 1000  # train.clusters: k-means costs examples x clusters x features a step (mnist-conv: 20)
MAX_CONFIG_BYTES = 2**20  # a TOML config file (the largest preset is 1 KiB)
MAX_STEPS = 10**9  # optimisation steps a command may ask for (a billion steps of the smallest net: months)
MAX_EPOCHS = 10**6  # passes over the data a run may ask for (train.epochs)
MAX_K = 10_000  # discriminator steps per generator step (train.k; the paper uses 1)
MAX_LOGIT_SCALE = 1000  # discriminator.logit_scale: far past any useful value (unconditional conv nets: 4; 16 hurt)
MAX_GRID = 4096  # samples in one .png grid or sample figure; more go to a folder of PNGs, .npy or .csv

ENV_MAX_DATA_BYTES = "ORIGAN_MAX_DATA_BYTES"
DEFAULT_MAX_DATA_BYTES = 8 * 2**30  # 8 GiB of decoded data (the full MNIST as float32 takes 0.2 GiB)
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?", re.IGNORECASE)
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


@dataclass(frozen=True)
class Bound:
    """The values an option takes: ``low <= value <= high`` (``high`` None: the byte budget decides), an
    integer unless ``integer`` is False (then a finite float; ``open_low`` excludes ``low`` itself)."""

    low: int | float
    high: int | float | None
    expected: str
    integer: bool = True
    open_low: bool = False


# What every numeric option of every command and API method accepts. Counts without a fixed ceiling are held
# to the byte budget by check_request where their size is known.
BOUNDS: dict[str, Bound] = {
    "seed": Bound(0, MAX_SEED, "an integer in [0, 2**63 - 1]"),
    "samples": Bound(1, None, "a positive number of samples"),
    "eval_samples": Bound(2, None, "at least 2 samples"),
    "per_class": Bound(1, None, "a positive number of samples per class"),
    "rows": Bound(1, None, "a positive number of rows"),
    "walk_steps": Bound(2, None, "an integer >= 2 (the two ends of each walk)"),
    "steps": Bound(0, MAX_STEPS, f"an integer in [0, {MAX_STEPS:,}]"),
    "batch_size": Bound(1, None, "a positive number of examples per step"),
    "lr": Bound(0.0, 1e6, "a finite learning rate > 0", integer=False, open_low=True),
}


def _range(b: Bound) -> str:
    return b.expected


def check_int(value: Any, option: str, bound: str) -> int:
    """``value`` as an ``int`` if it is an integer within ``BOUNDS[bound]``, else an OptionError naming
    ``option``. Booleans, floats (even ``3.0``) and text are refused: a count is never guessed."""
    b = BOUNDS[bound]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise OptionError(f"{option}: expected {_range(b)}, got {_shown(value)}")
    v = int(value)
    if v < b.low or (b.high is not None and v > b.high):
        raise OptionError(f"{option}: expected {_range(b)}, got {v if abs(v) < 10**30 else _shown(v)}")
    return v


def check_float(value: Any, option: str, bound: str) -> float:
    """``value`` as a finite ``float`` within ``BOUNDS[bound]``, else an OptionError naming ``option``."""
    b = BOUNDS[bound]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise OptionError(f"{option}: expected {_range(b)}, got {_shown(value)}")
    try:
        v = float(value)
    except OverflowError:  # an integer past float's range
        raise OptionError(f"{option}: expected {_range(b)}, got {_shown(value)}") from None
    low_ok = v > b.low if b.open_low else v >= b.low
    if not math.isfinite(v) or not low_ok or (b.high is not None and v > b.high):
        raise OptionError(f"{option}: expected {_range(b)}, got {v!r}")
    return v


def _shown(value: Any) -> str:
    """A value for a one-line message: its repr, printable, at most 60 characters."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value).encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= 60 else text[:57] + "..."


def sample_bytes(shape: Sequence[int], labelled: bool = False) -> int:
    """Bytes of one float32 sample of ``shape`` (as G writes it), with its class label (int64) if ``labelled``."""
    return 4 * math.prod(int(s) for s in shape) + (8 if labelled else 0)


def max_data_bytes() -> int:
    """The byte budget: ``$ORIGAN_MAX_DATA_BYTES``, else 8 GiB."""
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
    """Refuse ``what`` from ``source`` when it would take more than the byte budget (a DataError)."""
    limit = max_data_bytes()
    if nbytes > limit:
        raise DataError(
            f"{source}: {what} would take {_human(nbytes)}, over the {_human(limit)} limit on decoded "
            f"data (set {ENV_MAX_DATA_BYTES} to raise it)"
        )


def check_request(count: int, item_bytes: int, option: str, what: str) -> None:
    """Refuse a request for ``count`` items of ``item_bytes`` each (``what``: "samples", "rows", ...) when
    they would take more than the byte budget: an OptionError naming ``option``, before anything is drawn."""
    limit = max_data_bytes()
    nbytes = int(count) * int(item_bytes)
    if nbytes > limit:
        shown = f"{count:,}" if count < 10**30 else f"a number of {len(str(count))} digits of"
        raise OptionError(
            f"{option}: {shown} {what} would take {_human(nbytes)}, over the {_human(limit)} limit on what "
            f"one request makes (set {ENV_MAX_DATA_BYTES} to raise it)"
        )


def regular_file(path: Path, what: str) -> int:
    """The size of ``path`` in bytes if it is a regular file (links followed); else a DataError naming ``what``."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise DataError(f"{path}: cannot read {what} ({e.strerror})") from None
    except ValueError as e:  # an embedded NUL byte
        raise DataError(f"{_shown(str(path))}: cannot read {what} ({e})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a device, pipe or socket"
        raise DataError(f"{path}: {kind}, not a regular file; expected {what}")
    return st.st_size
