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
and the block, but is bounded whatever the order of summation (Higham, *Accuracy and Stability of Numerical
Algorithms*, 2002, section 3.1; finite inputs): ``|A - D| <= (d + log2 d + 4) u (||a|| + ||b||)^2``, half of the
``E = 4 (d + 8) u (||a|| + max ||b||)^2`` used here (the factor 2 also covers rounding the norms and ``E``).
Where ``A`` and ``E`` settle a decision (``D < r`` when ``A + E < r``, not when ``A - E >= r``) it is taken
from them; the rest, exact ties and near ties, are decided on ``D``, computed for those pairs only. So every
decision is the one ``D`` gives, and the radii and nearest distances returned are ``D`` values.

The Parzen window, a smooth function of the distances, uses ``A`` itself (:func:`gram_sq_blocks`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from .errors import DataError

__all__ = [
    "BLOCK_ELEMENTS",
    "count_in_balls",
    "flat64",
    "gram_sq_blocks",
    "kmeans",
    "kth_neighbour_sq_radii",
    "kth_neighbour_sq_radius",
    "min_first",
    "nearest_neighbour",
    "pair_sq_dist",
    "sq_dist_matrix",
]

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
    out = torch.empty(len(a), len(b), dtype=torch.float64, device=a.device)
    rows = max(1, BLOCK_ELEMENTS // max(len(b) * a.shape[1], 1))
    for i in range(0, len(a), rows):
        diff = a[i : i + rows, None, :] - b[None, :, :]  # (rows, m, d)
        out[i : i + rows] = _tree_sum((diff * diff).reshape(-1, a.shape[1])).reshape(-1, len(b))
    return out


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
    """``(start, A, E)`` per block of rows of ``a``: ``A`` ``(rows, m)`` and a bound ``E`` ``(rows, 1)`` with
    ``|A - D| <= E / 2`` for every pair of the row and ``E >= 36 u A``."""
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):  # NaN would leave rows without candidates
        raise DataError("metrics: points with NaN or infinite values (has the generator diverged?)")
    scale = 4.0 * (a.shape[1] + 8) * (EPS / 2)  # twice the bound, over (||a|| + max ||b||)^2
    a_norm, b_max = (a * a).sum(1).sqrt(), (b * b).sum(1).max().sqrt()  # (n,), ()
    for i, approx in gram_sq_blocks(a, b):
        yield i, approx, (a_norm[i : i + len(approx), None] + b_max).square_().mul_(scale)


def _canonical_where(a: Tensor, b: Tensor, start: int, mask: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Rows (in the block), columns and canonical squared distances of the pairs where ``mask`` is True."""
    rows, cols = mask.nonzero(as_tuple=True)
    return rows, cols, pair_sq_dist(a, b, rows + start, cols)


def _candidates(approx: Tensor, err: Tensor, k: int) -> Tensor:
    """``(rows, m)`` mask of the pairs that can be among the ``k + 1`` nearest of their row (by ``D``).

    With ``t`` the (k+1)-th smallest ``A`` of a row, ``D <= A + E/2`` puts the (k+1)-th smallest ``D`` at most
    ``t + E/2``, and a pair with ``A > t + 2E`` (rounded: ``E >= 36 u A`` absorbs it) has ``D > t + E``.
    """
    kth = approx.topk(k + 1, dim=1, largest=False).values[:, k:]  # (rows, 1)
    return approx <= kth + 2.0 * err


def _sorted_by_row(rows: Tensor, values: Tensor, n_rows: int) -> tuple[Tensor, Tensor]:
    """``values`` sorted within each row, rows in order, and where each row starts."""
    by_value = values.sort(stable=True).indices
    order = by_value[rows[by_value].sort(stable=True).indices]
    counts = torch.bincount(rows, minlength=n_rows)
    return values[order], counts.cumsum(0) - counts


def kth_neighbour_sq_radii(x: Tensor, ks: Sequence[int]) -> Tensor:
    """``(len(ks), n)``: for each ``k``, the canonical squared distance from each row of ``x`` to its k-th
    nearest other row.

    The row itself is the nearest (distance 0), so this is the (k+1)-th smallest distance of its row, as in
    Naeem et al.'s reference code; duplicates count as neighbours at distance 0.
    """
    x = flat64(x)
    top = max(ks)
    if len(x) <= top:
        raise ValueError(f"need more than k={top} points for k-th neighbour radii, got {len(x)}")
    out = torch.empty(len(ks), len(x), dtype=torch.float64, device=x.device)
    for i, approx, err in _bounded_blocks(x, x):
        rows, _, d = _canonical_where(x, x, i, _candidates(approx, err, top))
        smallest, starts = _sorted_by_row(rows, d, len(approx))  # every row has at least top + 1
        for j, k in enumerate(ks):
            out[j, i : i + len(approx)] = smallest[starts + k]
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
    for i, approx, err in _bounded_blocks(a, b):
        rows, cols, d = _canonical_where(a, b, i, _candidates(approx, err, 0))
        low = torch.full((len(approx),), torch.inf, dtype=torch.float64, device=a.device)
        low.scatter_reduce_(0, rows, d, "amin")
        first = torch.full((len(approx),), len(b), dtype=torch.long, device=a.device)
        tied = d == low[rows]
        first.scatter_reduce_(0, rows[tied], cols[tied], "amin")
        best[i : i + len(approx)], where[i : i + len(approx)] = low, first
    return best, where


def count_in_balls(points: Tensor, centres: Tensor, sq_radii: Tensor) -> Tensor:
    """``(R, n)``: for each row ``r`` of ``sq_radii`` (``(R, m)``), how many open balls ``B(centres_j, r_j)``
    hold each of the ``n`` points, i.e. ``#{j : D(points_i, centres_j) < r_j}``."""
    a, b = flat64(points), flat64(centres).to(points.device)
    sq_radii = sq_radii.reshape(-1, len(b)).to(torch.float64)  # (R, m)
    out = torch.zeros(len(sq_radii), len(a), dtype=torch.long, device=a.device)
    for i, approx, err in _bounded_blocks(a, b):
        # D <= A + E/2 <= fl(A + E) and D >= fl(A - E) (E >= 36 u A absorbs the rounding)
        hi, lo = approx + err, approx.sub_(err)  # (rows, m)
        for j, r in enumerate(sq_radii):
            unsure = hi >= r  # not surely inside
            out[j, i : i + len(hi)] += len(b) - unsure.sum(1)
            rows, cols, d = _canonical_where(a, b, i, unsure.logical_and_(lo < r))  # lo >= r: surely outside
            inside = d < r[cols]
            out[j, i : i + len(hi)].index_add_(0, rows[inside], torch.ones_like(rows[inside]))
    return out


def kmeans(x: Tensor, k: int, generator: torch.Generator, iterations: int = 10) -> tuple[Tensor, Tensor]:
    """Lloyd's k-means on ``x`` ``(n, ...)``, k-means++ seeding from ``generator``: ``(k, ...)`` centroids (in
    ``x``'s dtype; ``k`` at most ``n``) and ``(n,)`` int64 the nearest centroid of each point.

    In float64, at most ``iterations`` Lloyd steps (fewer when the centroids stop moving). Points are assigned
    to their nearest centroid by the canonical distance (ties to the first centroid), so the assignments, and
    the centroids, are the same on every CPU; the seeding draws with probabilities from matrix-product
    distances, whose last bits do not move a draw in practice. An empty cluster keeps its centre.
    """
    flat = flat64(x)  # (n, d)
    n = len(flat)
    k = min(k, n)
    sq_norm = (flat * flat).sum(1)  # (n,)
    idx = [int(torch.randint(n, (1,), generator=generator))]
    nearest = (sq_norm - 2.0 * flat @ flat[idx[0]] + sq_norm[idx[0]]).clamp_min(0.0)  # (n,)
    for _ in range(1, k):  # k-means++: the next centre drawn with probability ~ squared distance to the chosen
        i = int(torch.multinomial(nearest + 1e-300, 1, generator=generator))
        idx.append(i)
        nearest = torch.minimum(nearest, (sq_norm - 2.0 * flat @ flat[i] + sq_norm[i]).clamp_min(0.0))
    c = flat[idx].clone()  # (k, d)
    assign: Tensor | None = None  # the nearest centroid of each point, for the centroids c
    for _ in range(iterations):
        _, assign = nearest_neighbour(flat, c)  # (n,)
        sums = torch.zeros_like(c).index_add_(0, assign, flat)
        counts = torch.bincount(assign, minlength=k).to(c.dtype)
        moved = counts > 0
        c_new = c.clone()
        c_new[moved] = sums[moved] / counts[moved, None]
        if torch.equal(c_new, c):
            break
        c, assign = c_new, None
    if assign is None:
        _, assign = nearest_neighbour(flat, c)
    return c.reshape(k, *x.shape[1:]).to(x.dtype), assign
