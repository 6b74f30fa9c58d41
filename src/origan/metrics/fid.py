"""The Fréchet distance between Gaussians fitted to two sets of features (the FID formula, Heusel et al. 2017).

``FD = ||mu_1 - mu_2||^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^{1/2})``, in float64. The trace of the matrix
square root comes from eigenvalues: with ``A = S_1^{1/2}`` (symmetric, from ``eigh``), ``S_1 S_2`` is similar
to the symmetric PSD matrix ``A S_2 A``, so ``tr((S_1 S_2)^{1/2}) = sum_i sqrt(lambda_i(A S_2 A))`` — no
complex ``sqrtm`` and no imaginary residue to discard.

On digit images the features are those of origan's own domain classifier, so the number is **not
comparable with published FIDs** (which use Inception-v3 features of 299x299 colour images); it compares
runs of origan with each other. A held-out baseline (test split vs training split) shows the floor that
finite samples of the data itself reach.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..errors import ConfigError
from ..training.select import SCORES
from .registry import MetricContext, register_metric

__all__ = ["feature_statistics", "frechet_distance", "frechet_distance_of_features"]

MAX_DIM = 4096  # larger raw images (e.g. 64x64 RGB) would need a covariance too large to be useful


def feature_statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean ``(d,)`` and covariance ``(d, d)`` (``ddof = 1``) of ``(n, ...)`` features, float64."""
    f = features.detach().reshape(len(features), -1).to(torch.float64)  # (n, d)
    if len(f) < 2:
        raise ValueError(f"need at least 2 feature rows for a covariance, got {len(f)}")
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / (len(f) - 1)


def _psd_sqrt(s: Tensor) -> Tensor:
    """Symmetric square root of a symmetric PSD matrix (negative round-off eigenvalues clamped to 0)."""
    evals, evecs = torch.linalg.eigh((s + s.T) / 2)
    return (evecs * evals.clamp_min(0).sqrt()) @ evecs.T


def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """The Fréchet (2-Wasserstein) distance squared between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    Args:
        mu1, mu2: ``(d,)`` means.
        sigma1, sigma2: ``(d, d)`` covariances (symmetric PSD).
    """
    mu1, mu2, s1, s2 = (t.to(torch.float64) for t in (mu1, mu2, sigma1, sigma2))
    a = _psd_sqrt(s1)
    m = a @ s2 @ a
    tr_sqrt = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    diff = mu1 - mu2
    return float(diff @ diff + torch.trace(s1) + torch.trace(s2) - 2.0 * tr_sqrt)


def frechet_distance_of_features(a: Tensor, b: Tensor) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` and ``b`` (``(n, ...)`` each)."""
    return frechet_distance(*feature_statistics(a), *feature_statistics(b))


@register_metric(
    "frechet",
    kinds=("image", "vector", "table"),
    description="Frechet distance (the FID formula, float64, eigenvalue square root) between samples and the "
    "training split, in domain-classifier features for digit images (not comparable with published "
    "FIDs) or raw values; with the held-out test split as a floor",
)
def frechet_metric(samples: Tensor, reference: Any, ctx: MetricContext, *, n_max: int = 10_000) -> dict[str, Any]:
    """FD(samples, train) and FD(test, train), in the ``ctx.embed`` feature space (``ctx.feature_space``)."""
    feature_space = ctx.feature_space
    train = reference.train[:n_max]
    fake, test = samples[:n_max], reference.test
    if ctx.embed is not None:
        train, fake, test = ctx.embed(train), ctx.embed(fake), ctx.embed(test)
    dim = train[0].numel()
    if dim > MAX_DIM:
        return {
            "distance": None,
            "held_out_baseline": None,
            "features": feature_space,
            "note": f"skipped: {dim}-dimensional features (a {dim}x{dim} covariance); at most {MAX_DIM}",
        }
    stats_train = feature_statistics(train)
    out: dict[str, Any] = {
        "distance": frechet_distance(*feature_statistics(fake), *stats_train),
        "held_out_baseline": frechet_distance(*feature_statistics(test), *stats_train),
        "n_samples": len(fake),
        "n_train": len(train),
        "n_test": len(test),
        "features": feature_space,
    }
    if feature_space != "raw":
        out["note"] = "domain-classifier features: not comparable with published FIDs"
    return out


@SCORES.register("frechet")
def frechet_selection(data: Any) -> Any:
    """``train.select = "frechet"``: the score of samples is minus their Fréchet distance to the validation split
    (never the test split), in the domain classifier's features for labelled images (trained on first use and
    cached, as ``origan eval`` does) or in raw values up to :data:`MAX_DIM` dimensions; a ConfigError naming
    ``train.select`` for data it cannot score."""
    from .classifier import domain_classifier, has_domain_classifier

    if len(data.val) < 2:
        raise ConfigError(
            f"train.select: scores the validation split, and {data.name} has {len(data.val)} examples; expected "
            "at least 2 (set data.val_fraction > 0, or train.select=none)"
        )
    embed = domain_classifier(data).features if has_domain_classifier(data) else (lambda x: x)
    val = embed(data.val.cpu())
    if val[0].numel() > MAX_DIM:
        raise ConfigError(
            f"train.select: frechet compares {val[0].numel()}-dimensional raw values (a covariance of that "
            f"side); expected at most {MAX_DIM} (labelled images use a classifier's features)"
        )
    stats = feature_statistics(val)

    def score(samples: Tensor) -> dict[str, float]:
        d = frechet_distance(*feature_statistics(embed(samples)), *stats)
        return {"score": -d, "frechet": d}

    return score
