"""Memorisation: are samples closer to the training set than unseen real data is?

For each of ``n`` samples, the Euclidean distance (raw values: pixels for images) to its nearest training
example; the same for ``n`` held-out real examples (the test split), which were never trained on. A
generator that copies its training data puts samples much closer than held-out data typically is:

- ``share_closer_than_median``: the share of samples nearer to the training set than the median held-out
  example (about 0.5 when samples are as novel as fresh data; near 1 when they are copies);
- ``share_closer_than_p05``: the share nearer than the 5th percentile of held-out distances (about 0.05
  for fresh data), which counts near-copies;
- for images, the paper's figure: each sample followed by its nearest training example, as a PNG.

A very blurry or collapsed generator can also sit close to training data, so read these with precision
and recall.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..distances import nearest_neighbour
from .registry import MetricContext, register_metric

__all__ = ["nearest_neighbours", "novelty", "save_neighbour_figure"]

N_DEFAULT = 1000  # samples (and held-out examples) compared with the training set


def nearest_neighbours(x: Tensor, reference: Tensor) -> tuple[Tensor, Tensor]:
    """Distance ``(n,)`` (float64) and index ``(n,)`` of each row of ``x`` to its nearest row of ``reference``.

    The distance is the square root of the canonical squared distance (:mod:`origan.distances`), so
    the comparisons below give the same answer on every CPU; among equally near rows the first is chosen.
    """
    sq, idx = nearest_neighbour(x, reference)
    return sq.sqrt(), idx


def novelty(samples: Tensor, train: Tensor, held_out: Tensor) -> dict[str, Any]:
    """Nearest-training-example distances of ``samples`` against those of ``held_out`` real data."""
    d_fake, _ = nearest_neighbours(samples, train)
    d_real, _ = nearest_neighbours(held_out, train)
    median_real = float(d_real.median())
    p05_real = float(torch.quantile(d_real, 0.05))
    median_fake = float(d_fake.median())
    return {
        "median_distance_samples": median_fake,
        "median_distance_held_out": median_real,
        "distance_ratio": median_fake / median_real if median_real > 0 else None,
        "share_closer_than_median": float((d_fake < median_real).double().mean()),
        "share_closer_than_p05": float((d_fake < p05_real).double().mean()),
        "n_samples": len(samples),
        "n_held_out": len(held_out),
        "n_train": len(train),
    }


def save_neighbour_figure(samples: Tensor, train: Tensor, path: Path, n: int = 32) -> Path:
    """The paper's check: each of ``n`` samples followed by its nearest training example (pixel L2)."""
    from ..io.export import save_grid_png

    x = samples[:n]
    _, idx = nearest_neighbours(x, train)
    pairs = torch.stack([x.float(), train[idx].float()], dim=1).reshape(2 * len(x), *x.shape[1:])  # (2n, C, H, W)
    return save_grid_png(pairs.clamp(0, 1), Path(path), nrow=8)


@register_metric(
    "novelty",
    kinds=("image", "vector", "table"),
    description="memorisation: nearest-training-example distances of 1,000 samples vs up to 1,000 held-out examples, "
    "the share of samples closer than held-out data typically is; for images a PNG of samples "
    "beside their nearest training example",
)
def novelty_metric(samples: Tensor, reference: Any, ctx: MetricContext, *, n_max: int = N_DEFAULT) -> dict[str, Any]:
    """Memorisation figures of up to ``n_max`` samples; the neighbour PNG goes to ``ctx.out_dir`` for images."""
    out = novelty(samples[:n_max], reference.train, reference.test[:n_max])
    out_dir = ctx.out_dir
    if reference.kind == "image" and out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        out["figure"] = str(save_neighbour_figure(samples, reference.train, Path(out_dir) / "nearest-neighbours.png"))
    return out
