"""Dropout with cheap masks: keep decisions made from random bits drawn with an explicit generator.

``nn.Dropout`` on the CPU draws every mask element with its own call of torch's Bernoulli sampler (about
9 ns an element, an eighth of a paper-MNIST step). A keep decision with probability ``q`` needs only ``b``
random bits when ``q * 2**b`` is an integer (one bit for the paper's hidden keep 0.5); otherwise it takes
32 bits and ``q`` is rounded to a multiple of 2**-32 (an error below 1.2e-10, finer than torch's own
sampler). The bits come 64 at a time from one ``random_`` call, so a mask costs a few elementwise passes.
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

_UNPACK_SHIFTS: dict[tuple[int, torch.device], Tensor] = {}


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


def _uniform_codes(n: int, bits: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """``(n,)`` independent uniform ``bits``-bit codes; 8/16/32-bit codes are signed, smaller ones unsigned."""
    words = torch.empty(math.ceil(n * bits / 64), dtype=torch.int64, device=device)
    words.random_(-(2**63), None, generator=generator)  # every one of the 64 bits uniform
    if bits >= 8:
        return words.view({8: torch.int8, 16: torch.int16, 32: torch.int32}[bits])[:n]
    key = (bits, words.device)
    if key not in _UNPACK_SHIFTS:
        _UNPACK_SHIFTS[key] = torch.arange(0, 8, bits, dtype=torch.uint8, device=device)
    codes = (words.view(torch.uint8).unsqueeze(1) >> _UNPACK_SHIFTS[key]).bitwise_and_(2**bits - 1)  # (bytes, 8/bits)
    return codes.view(-1)[:n]


def keep_mask(n: int, row_shape: Sequence[int], keep: float, generator: torch.Generator | None,
              device: torch.device | str, dtype: torch.dtype = torch.float32) -> Tensor:
    """``(n, *row_shape)`` i.i.d. Bernoulli(``keep``) decisions as 1.0 / 0.0 in ``dtype``, drawn row-major.

    The draw for ``n`` rows is the draw for the first ``n1`` rows followed by the draw for the rest only
    when a row holds a whole number of 64-bit words; :class:`Dropout` always draws a batch at once.
    """
    size = n * math.prod(row_shape)
    bits, threshold = keep_threshold(keep)
    codes = _uniform_codes(size, bits, generator, torch.device(device))
    offset = 2 ** (bits - 1) if bits >= 8 else 0  # signed codes: u < t  <=>  s < t - 2**(bits-1)
    out = torch.empty(size, dtype=dtype, device=device)
    torch.lt(codes, threshold - offset, out=out)  # 1.0 where kept; a float output is the fast path
    return out.view(n, *row_shape)


@lru_cache(maxsize=64)
def _scale(keep: float, dtype: torch.dtype) -> float:
    """``1 / keep`` rounded as nn.Dropout rounds it: the division done in ``dtype``."""
    return torch.ones((), dtype=dtype).div_(keep).item()


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
        n, row_shape = x.shape[0], x.shape[1:]
        if self.shard is None:
            mask = keep_mask(n, row_shape, keep, self.generator, x.device, x.dtype)  # (n, *row)
        else:
            rank, world, m = self.shard
            blocks = n // m
            full = keep_mask(n * world, row_shape, keep, self.generator, x.device, x.dtype)  # the global batch
            rows = (torch.arange(blocks, device=x.device).unsqueeze(1) * (m * world) + rank * m
                    + torch.arange(m, device=x.device)).view(-1)  # this rank's rows of each block
            mask = full.index_select(0, rows)  # (n, *row)
        scale = self._scales[x.dtype] if x.dtype in self._scales else _scale(keep, x.dtype)  # a constant to torch.compile
        return x * mask.mul_(scale)


def bind_dropout(module: nn.Module, generator: torch.Generator | None,
                 shard: tuple[int, int, int] | None = None) -> int:
    """Make every :class:`Dropout` inside ``module`` draw from ``generator`` (and keep ``shard``'s rows).

    Returns how many layers were bound.
    """
    layers = [m for m in module.modules() if isinstance(m, Dropout)]
    for layer in layers:
        layer.generator, layer.shard = generator, shard
    return len(layers)
