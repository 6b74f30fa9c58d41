"""Dropout with cheap masks: keep decisions made from random bits drawn with an explicit generator.

``nn.Dropout`` on the CPU draws every mask element with its own call of torch's Bernoulli sampler (about
9 ns an element, an eighth of a paper-MNIST step). A keep decision with probability ``q`` needs only ``b``
random bits when ``q * 2**b`` is an integer (one bit for the paper's hidden keep 0.5); otherwise it takes
32 bits and ``q`` is rounded to a multiple of 2**-32 (an error below 1.2e-10, finer than torch's own
sampler). The bits come 64 at a time from one ``random_`` call; with 8 bits or fewer a 256-entry table turns
each random byte into ``8 / b`` mask values at once, so a mask costs one or two elementwise passes.
The maths is nn.Dropout's: ``x * mask`` with ``mask`` 0 or ``1 / q``, that scale computed in x's dtype as
nn.Dropout computes it, so given the same keep decisions the two agree bit for bit.

Data parallelism: each rank holds a shard of every global batch. With ``shard = (rank, world, m)`` (``m``
examples per rank and block) a rank draws the mask of the whole global batch and keeps its own rows, so N
ranks drop exactly what one process would. A D pass sees ``blocks`` such shards stacked (real and fake:
two blocks), laid out globally as ``[block 0 of every rank, block 1 of every rank, ...]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import torch
from torch import Tensor, nn

__all__ = ["Dropout", "bind_dropout", "keep_mask", "keep_threshold"]

_TABLES: dict[tuple[int, int, float, torch.dtype, torch.device], Tensor] = {}


def keep_threshold(keep: float) -> tuple[int, int]:
    """``(bits, threshold)``: a uniform ``bits``-bit draw ``u`` keeps when ``u < threshold``.

    ``threshold / 2**bits`` equals ``keep`` when ``keep`` is a multiple of 1/65536, else it is within 2**-33.
    """
    if not 0.0 < keep <= 1.0:
        raise ValueError(f"keep probability must be in (0, 1], got {keep}")
    for bits in (1, 2, 4, 8, 16):
        t = keep * 2**bits
        if t == int(t):
            return bits, int(t)
    return 32, min(round(keep * 2**32), 2**32)


def _byte_table(bits: int, threshold: int, value: float, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``(256, 8 // bits)``: for each byte, its codes (low bits first) mapped to ``value`` (kept) or 0."""
    key = (bits, threshold, value, dtype, device)
    if key not in _TABLES:
        per = 8 // bits
        codes = [[(b >> (k * bits)) & (2**bits - 1) for k in range(per)] for b in range(256)]
        _TABLES[key] = torch.tensor(
            [[value if c < threshold else 0.0 for c in row] for row in codes], dtype=dtype, device=device
        )
    return _TABLES[key]


def keep_mask(
    n: int,
    row_shape: Sequence[int],
    keep: float,
    generator: torch.Generator | None,
    device: torch.device | str,
    dtype: torch.dtype = torch.float32,
    value: float = 1.0,
) -> Tensor:
    """``(n, *row_shape)`` i.i.d. Bernoulli(``keep``) decisions as ``value`` (kept) or 0, in ``dtype``.

    The codes are read row-major from 64-bit words drawn with ``random_``: with ``bits <= 8`` per code, the
    bytes' codes low bits first, unsigned; with 16 or 32, the words viewed as signed integers ``s``, which
    keep when ``s < threshold - 2**(bits-1)`` (the same probability, ``threshold / 2**bits``).
    """
    device = torch.device(device)
    size = n * math.prod(row_shape)
    bits, threshold = keep_threshold(keep)
    words = torch.empty(math.ceil(size * bits / 64), dtype=torch.int64, device=device)
    words.random_(-(2**63), None, generator=generator)  # every one of the 64 bits uniform
    if bits <= 8:  # one lookup per byte: 8 / bits decisions at once
        table = _byte_table(bits, threshold, value, dtype, device)
        mask = table.index_select(0, words.view(torch.uint8).to(torch.int32)).view(-1)[:size]
    else:
        codes = words.view(torch.int16 if bits == 16 else torch.int32)[:size]
        mask = torch.empty(size, dtype=dtype, device=device)
        torch.lt(codes, threshold - 2 ** (bits - 1), out=mask)  # 1.0 where kept; a float output is the fast path
        if value != 1.0:
            mask.mul_(value)
    return mask.view(n, *row_shape)


@lru_cache(maxsize=64)
def _scale(keep: float, dtype: torch.dtype) -> float:
    """``1 / keep`` rounded as nn.Dropout rounds it: the division done in ``dtype``."""
    return torch.ones((), dtype=dtype, device="cpu").div_(keep).item()  # on the CPU under any default device


class Dropout(nn.Module):
    """``x * mask / (1 - p)`` in training, the identity in eval mode; masks from :func:`keep_mask`.

    Attributes:
        p: drop probability.
        generator: the stream masks are drawn from; ``None`` uses torch's default generator. Set by
            :func:`bind_dropout` (the trainer binds its seeded ``dropout`` stream).
        shard: ``(rank, world, m)`` under data parallelism (see the module docstring), else ``None``.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p
        self.generator: torch.Generator | None = None
        self.shard: tuple[int, int, int] | None = None
        self._scales = {dt: _scale(1.0 - p, dt) for dt in (torch.float32, torch.bfloat16, torch.float16, torch.float64)}

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        scale = (
            self._scales[x.dtype] if x.dtype in self._scales else _scale(keep, x.dtype)
        )  # a constant to torch.compile
        n, row_shape = x.shape[0], x.shape[1:]
        if self.shard is None:
            mask = keep_mask(n, row_shape, keep, self.generator, x.device, x.dtype, scale)  # (n, *row): scale or 0
        else:
            rank, world, m = self.shard
            blocks = n // m
            full = keep_mask(n * world, row_shape, keep, self.generator, x.device, x.dtype, scale)  # the global batch
            rows = (
                torch.arange(blocks, device=x.device).unsqueeze(1) * (m * world)
                + rank * m
                + torch.arange(m, device=x.device)
            ).view(-1)  # this rank's rows of each block
            mask = full.index_select(0, rows)  # (n, *row)
        return x * mask


def bind_dropout(
    module: nn.Module, generator: torch.Generator | None, shard: tuple[int, int, int] | None = None
) -> int:
    """Make every :class:`Dropout` inside ``module`` draw from ``generator`` (and keep ``shard``'s rows).

    Returns how many layers were bound.
    """
    layers = [m for m in module.modules() if isinstance(m, Dropout)]
    for layer in layers:
        layer.generator, layer.shard = generator, shard
    return len(layers)
