"""Pairwise Euclidean distances for the metrics: one number per pair, whatever the CPU, threads or block shape.

Every decision a metric takes on distances (PRDC's balls, nearest neighbours for memorisation, k-means
assignments) is taken on the *canonical* squared distance of a pair of rows:

    D(a, b) = sum_k (a_k - b_k)^2 in float64, the squares added pairwise: the coordinates padded with
    zeros to a power of two, then the two halves added until one number is left.

Each step is one IEEE operation per element, so ``D(a, b)`` is the same number on every CPU and for every
block shape or thread count; ``D(a, b) = D(b, a)``, ``D(a, a) = 0``, and ``D`` is within ``(log2 d + 3) u``
(relative, ``u = 2^-53``) of the exact value.

Computing ``D`` for every pair would cost ``d`` elementwise passes per pair, so a block of distances comes
from one matrix product instead, ``A = ||a||^2 + ||b||^2 - 2 a.b``. Its rounding depends on the BLAS kernel
and the block, but is bounded: for any order of summation ``|A - D| <= E = 2 (d + 16) u (||a|| + ||b||)^2``
(Higham, *Accuracy and Stability of Numerical Algorithms*, 2002, eq. 3.5, for the dot products and the
pairwise sum; the factor 2 covers the rounding of the norms and of ``E`` itself). Where ``A`` and ``E``
settle a decision (``D < r``: ``A + E < r`` or ``A - E >= r``) it is taken from them; the rest, exact ties
and near ties, are decided on ``D``, computed for those pairs only. So every decision is the one the exact
``D`` gives, and the radii and nearest distances returned are ``D`` values.

The Parzen window, a smooth function of the distances, uses ``A`` itself (:func:`gram_sq_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

__all__ = ["BLOCK_ELEMENTS", "count_in_balls", "flat64", "gram_sq_blocks", "kth_neighbour_sq_radii",
           "kth_neighbour_sq_radius", "min_first", "nearest_neighbour", "pair_sq_dist", "sq_dist_matrix"]

BLOCK_ELEMENTS = 1 << 22  # entries of one (rows, columns) block of distances: 32 MiB in float64
EPS = torch.finfo(torch.float64).eps  # 2u


def flat64(x: Tensor) -> Tensor:
    """``(n, d)`` float64 rows of ``(n, ...)`` points (detached)."""
    return x.detach().reshape(len(x), -1).to(torch.float64)


def _tree_sum(sq: Tensor) -> Tensor:
    """``(P,)`` row sums of ``(P, w)`` in a fixed order: pad to a power of two, add the halves until one is left."""
    width = sq.shape[1]
    if width == 0:
        return sq.new_zeros(len(sq))
    full = 1 << (width - 1).bit_length()
    if full != width:
        sq = torch.nn.functional.pad(sq, (0, full - width))
    while sq.shape[1] > 1:
        half = sq.shape[1] // 2
        sq = sq[:, :half] + sq[:, half:]  # one rounding per element, the same on every kernel
    return sq[:, 0]


def pair_sq_dist(a: Tensor, b: Tensor, ia: Tensor, ib: Tensor) -> Tensor:
    """Canonical squared distances ``(P,)`` between rows ``a[ia]`` and ``b[ib]`` (``a``, ``b``: ``(n, d)`` float64)."""
    out = torch.empty(len(ia), dtype=torch.float64, device=a.device)
    step = max(1, BLOCK_ELEMENTS // max(a.shape[1], 1))
    for s in range(0, len(ia), step):
        diff = a[ia[s : s + step]] - b[ib[s : s + step]]  # (p, d)
        out[s : s + step] = _tree_sum(diff * diff)
    return out


def sq_dist_matrix(a: Tensor, b: Tensor) -> Tensor:
    """``(n, m)`` canonical squared distances of every pair; for small sets (it costs ``n m d`` elementwise)."""
    a, b = flat64(a), flat64(b).to(a.device)
    ia = torch.arange(len(a), device=a.device).repeat_interleave(len(b))
    ib = torch.arange(len(b), device=a.device).repeat(len(a))
    return pair_sq_dist(a, b, ia, ib).reshape(len(a), len(b))


def gram_sq_blocks(a: Tensor, b: Tensor, block_elements: int = BLOCK_ELEMENTS) -> Iterator[tuple[int, Tensor]]:
    """``(start, A)`` for blocks of rows of ``a``: ``A = ||a||^2 + ||b||^2 - 2 a.b`` (``(rows, m)``, clamped at 0).

    ``a`` ``(n, d)`` and ``b`` ``(m, d)`` are float64; a block holds at most ``block_elements`` entries.
    """
    a_sq, b_sq = (a * a).sum(1), (b * b).sum(1)  # (n,), (m,)
    rows = max(1, block_elements // max(len(b), 1))
    for i in range(0, len(a), rows):
        base = a_sq[i : i + rows, None] + b_sq[None, :]  # (rows, m)
        yield i, torch.addmm(base, a[i : i + rows], b.T, alpha=-2.0).clamp_min_(0.0)


def min_first(values: Tensor) -> tuple[Tensor, Tensor]:
    """Row minima ``(n,)`` of ``(n, m)`` values and the index of the first column holding each (``m`` if none)."""
    low = values.min(1, keepdim=True).values  # (n, 1)
    columns = torch.arange(values.shape[1], device=values.device).expand_as(values)
    return low[:, 0], torch.where(values == low, columns, values.shape[1]).min(1).values


def _bounded_blocks(a: Tensor, b: Tensor) -> Iterator[tuple[int, Tensor, Tensor]]:
    """``(start, lo, hi)`` per block of rows of ``a``: ``lo <= D <= hi`` for every pair (``A -+ E``, rounded)."""
    scale = 2.0 * (a.shape[1] + 16) * (EPS / 2)  # E / (||a|| + ||b||)^2
    a_norm, b_norm = (a * a).sum(1).sqrt(), (b * b).sum(1).sqrt()  # (n,), (m,)
    for i, approx in gram_sq_blocks(a, b):
        err = (a_norm[i : i + len(approx), None] + b_norm[None, :]).square_().mul_(scale)  # (rows, m) E
        # rounding to nearest is monotone, so fl(A + E) >= D and fl(A - E) <= D for the float D
        yield i, approx - err, approx.add_(err)


def _canonical_where(a: Tensor, b: Tensor, start: int, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Rows (in the block), columns and canonical squared distances of the pairs where ``mask`` is True."""
    rows, cols = mask.nonzero(as_tuple=True)
    return rows, cols, pair_sq_dist(a, b, rows + start, cols)


def kth_neighbour_sq_radii(x: Tensor, ks: Sequence[int]) -> Tensor:
    """``(len(ks), n)``: for each ``k``, the canonical squared distance from each row of ``x`` to its k-th
    nearest other row.

    The row itself is the nearest (distance 0), so this is the (k+1)-th smallest distance of its row, as in
    Naeem et al.'s reference code; duplicates count as neighbours at distance 0.
    """
    x = flat64(x)
    top = max(ks) + 1
    if len(x) < top:
        raise ValueError(f"need more than k={top - 1} points for k-th neighbour radii, got {len(x)}")
    out = torch.empty(len(ks), len(x), dtype=torch.float64, device=x.device)
    for i, lo, hi in _bounded_blocks(x, x):
        upper = hi.topk(top, dim=1, largest=False).values  # (rows, top) bounds on the smallest D
        # a pair can be among the (k+1) nearest only if its lower bound is below the (k+1)-th upper bound
        rows, cols, d = _canonical_where(x, x, i, lo <= upper[:, -1:])
        exact = lo.fill_(torch.inf)  # (rows, n) D of the candidates, +inf elsewhere
        exact[rows, cols] = d
        smallest = exact.topk(top, dim=1, largest=False).values  # (rows, top)
        for j, k in enumerate(ks):
            out[j, i : i + len(smallest)] = smallest[:, k]
    return out


def kth_neighbour_sq_radius(x: Tensor, k: int) -> Tensor:
    """``(n,)`` canonical squared distance from each row of ``x`` (``(n, ...)``) to its k-th nearest other row."""
    return kth_neighbour_sq_radii(x, (k,))[0]


def nearest_neighbour(x: Tensor, reference: Tensor) -> tuple[Tensor, Tensor]:
    """Canonical squared distance ``(n,)`` and index ``(n,)`` of each row of ``x`` to its nearest row of
    ``reference``; among equally near rows, the first."""
    a, b = flat64(x), flat64(reference).to(x.device)
    if len(b) == 0:
        raise ValueError("nearest_neighbour: the reference set is empty")
    best = torch.empty(len(a), dtype=torch.float64, device=a.device)
    where = torch.empty(len(a), dtype=torch.long, device=a.device)
    for i, lo, hi in _bounded_blocks(a, b):
        rows, cols, d = _canonical_where(a, b, i, lo <= hi.min(1, keepdim=True).values)
        exact = lo.fill_(torch.inf)  # (rows, m)
        exact[rows, cols] = d
        best[i : i + len(exact)], where[i : i + len(exact)] = min_first(exact)
    return best, where


def count_in_balls(points: Tensor, centres: Tensor, sq_radii: Tensor) -> Tensor:
    """``(R, n)``: for each row ``r`` of ``sq_radii`` (``(R, m)``), how many open balls ``B(centres_j, r_j)``
    hold each of the ``n`` points, i.e. ``#{j : D(points_i, centres_j) < r_j}``."""
    a, b = flat64(points), flat64(centres).to(points.device)
    sq_radii = sq_radii.reshape(-1, len(b)).to(torch.float64)  # (R, m)
    out = torch.zeros(len(sq_radii), len(a), dtype=torch.long, device=a.device)
    for i, lo, hi in _bounded_blocks(a, b):
        for j, r in enumerate(sq_radii):
            sure = hi < r  # (rows, m): D <= hi < r
            out[j, i : i + len(hi)] += sure.sum(1)
            rows, cols, d = _canonical_where(a, b, i, ~sure & (lo < r))  # lo >= r: D >= lo >= r, outside
            inside = d < r[cols]
            out[j, i : i + len(hi)].index_add_(0, rows[inside], torch.ones_like(rows[inside]))
    return out
