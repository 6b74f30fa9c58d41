"""The paper's Parzen-window log-likelihood (Table 1), with the two baselines that show its weakness.

Protocol (the authors' ``parzen_ll.py``):

- fit an isotropic Gaussian Parzen window to 10,000 samples ``s_i`` of G;
- ``log p(x) = logmeanexp_i(-||x - s_i||^2 / (2 sigma^2)) - d log(sigma sqrt(2 pi))``;
- choose ``sigma`` from ``logspace(-1, 0, 10)`` by the mean log-likelihood of the first 1,000 validation
  examples;
- report the mean log-likelihood of the test split and its standard error ``std(ddof=0) / sqrt(n)``
  (numpy's default ``std``, as in the authors' code).

Everything is float64; squared distances come from ``||x||^2 + ||s||^2 - 2 x.s`` in batches
(:func:`origan.distances.gram_sq_blocks`), so a 10k x 10k x 784 evaluation is a few float64 matrix
products and never holds more than a batch in memory. The log-likelihood is a smooth function of the
distances: their rounding, which depends on the CPU's matrix kernels, moves it by about ``1e-12`` relative.

The estimate is weak in high dimensions (Theis, van den Oord & Bethge 2016): the training set itself used
as "samples", and the k-means centroids of the training set, are scored by the same protocol so a reader
can see how little a good number means.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..distances import BLOCK_ELEMENTS, flat64, gram_sq_blocks, kmeans
from .registry import MetricContext, register_metric

__all__ = [
    "N_SAMPLES",
    "N_VALIDATION",
    "PAPER_SIGMAS",
    "parzen_log_likelihood",
    "parzen_protocol",
    "select_sigma",
]

PAPER_SIGMAS = tuple(float(s) for s in torch.logspace(-1, 0, 10, dtype=torch.float64))  # 0.1 ... 1.0
VECTOR_SIGMAS = tuple(float(s) for s in torch.logspace(-3, 0, 13, dtype=torch.float64))  # toys and tables: finer scales
N_SAMPLES = 10_000  # samples of G in the window
N_VALIDATION = 1_000  # validation examples used to choose sigma
KMEANS_MAX_K = 1_000  # centroids of the k-means baseline: a fifth of the training set, at most this many


def parzen_log_likelihood(
    x: Tensor,
    samples: Tensor,
    sigmas: float | list[float] | tuple[float, ...] | Tensor,
    batch_elements: int = BLOCK_ELEMENTS,
) -> Tensor:
    """Log-density of each row of ``x`` under the Parzen window on ``samples``, for every ``sigma``.

    Args:
        x: ``(n, ...)`` points to score.
        samples: ``(m, ...)`` window centres (same trailing shape).
        sigmas: one width or several.
        batch_elements: size of one block of squared distances; bounds memory.

    Returns:
        ``(len(sigmas), n)`` float64 log-likelihoods (``(n,)`` for a single float ``sigma``).
    """
    single = isinstance(sigmas, (int, float))
    sig = torch.as_tensor([sigmas] if single else sigmas, dtype=torch.float64, device=x.device)  # (S,)
    s = flat64(samples).to(x.device)  # (m, d)
    m, d = s.shape
    norm = d * torch.log(sig * math.sqrt(2 * math.pi)) + math.log(m)  # (S,) normaliser of the mean of kernels
    out = torch.empty(len(sig), len(x), dtype=torch.float64, device=x.device)
    for i, sq in gram_sq_blocks(flat64(x), s, batch_elements):  # (b, m) ||x - s||^2
        for j, sigma in enumerate(sig.tolist()):
            out[j, i : i + len(sq)] = torch.logsumexp(sq * (-0.5 / sigma**2), dim=1) - norm[j]
    return out[0] if single else out


def select_sigma(samples: Tensor, x_val: Tensor, sigmas: tuple[float, ...] = PAPER_SIGMAS) -> tuple[float, list[float]]:
    """The sigma with the highest mean validation log-likelihood, and the mean for every sigma (the curve)."""
    curve = parzen_log_likelihood(x_val, samples, list(sigmas)).mean(1)  # (S,)
    return float(sigmas[int(curve.argmax())]), curve.tolist()


def parzen_protocol(
    samples: Tensor,
    x_val: Tensor,
    x_test: Tensor,
    sigmas: tuple[float, ...] = PAPER_SIGMAS,
    n_validation: int = N_VALIDATION,
) -> dict[str, Any]:
    """Choose sigma on the first ``n_validation`` rows of ``x_val``; score ``x_test``.

    Returns:
        ``log_likelihood`` (mean over the test rows, nats), ``se`` (``std(ddof=0) / sqrt(n)``), ``sigma``,
        ``sigma_at_grid_edge`` (True when the best sigma is the smallest or largest of the grid),
        ``validation_curve`` (mean validation log-likelihood per sigma), ``n_samples``, ``n_test``.
    """
    sigma, curve = select_sigma(samples, x_val[:n_validation], sigmas)
    ll = parzen_log_likelihood(x_test, samples, sigma)  # (n_test,)
    se = float(ll.std(unbiased=False) / math.sqrt(len(ll)))
    return {
        "log_likelihood": float(ll.mean()),
        "se": se,
        "sigma": sigma,
        "sigma_at_grid_edge": sigma in (sigmas[0], sigmas[-1]),
        "validation_curve": curve,
        "n_samples": len(samples),
        "n_test": len(x_test),
    }


@register_metric(
    "parzen",
    kinds=("image", "vector", "table"),
    description="Parzen-window log-likelihood of the test split (the paper's Table 1 protocol: 10,000 samples, "
    "sigma from logspace(-1,0,10) on 1,000 validation examples, mean +- s.e.), beside two "
    "baselines scored the same way: the training set as samples and k-means centroids of it",
)
def parzen_metric(
    samples: Tensor, reference: Any, ctx: MetricContext, *, kmeans_k: int | None = None, baselines: bool = True
) -> dict[str, Any]:
    """The protocol on ``samples`` and, when ``baselines``, on the training set and its k-means centroids
    (k-means++ seeded with ``ctx.seed``)."""
    sigmas = PAPER_SIGMAS if reference.kind == "image" else VECTOR_SIGMAS
    out: dict[str, Any] = {
        "model": parzen_protocol(samples, reference.val, reference.test, sigmas),
        "sigma_grid": list(sigmas),
    }
    if baselines:
        train = reference.train[:N_SAMPLES]
        k = kmeans_k or max(1, min(KMEANS_MAX_K, len(reference.train) // 5))
        centroids, _ = kmeans(reference.train, k, torch.Generator().manual_seed(ctx.seed))
        out["baseline_train_set"] = parzen_protocol(train, reference.val, reference.test, sigmas)
        out["baseline_kmeans"] = parzen_protocol(centroids, reference.val, reference.test, sigmas)
        out["baseline_kmeans"]["k"] = k
    out["note"] = (
        "weak in high dimensions (Theis et al. 2016): compare with the baselines, which are not generative models"
    )
    return out
