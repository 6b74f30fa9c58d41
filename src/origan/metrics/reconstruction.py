"""Reconstruction by the inference net: how close is G(E(x)) to a real test example x?

For each of up to ``n_max`` examples of the test split (never trained on), the Euclidean distance
``||x - G(E(x))||_2`` over raw values (pixels in [0, 1] for images): the *per-example L2 error*. It is set
beside the nearest-training-example baseline, ``min_j ||x - train_j||_2`` (canonical nearest-neighbour
distances, :mod:`origan.distances`): a G that covers the data reconstructs an unseen example at
least as well as the closest training example does; a G that misses part of the data does worse there.
``rmse_per_value`` is the per-example error divided by ``sqrt(d)`` (``d`` values per example).

For images a PNG: a row of test examples, a row of their reconstructions, a row of each one's nearest
training example. Runs by default when the run has an encoder (``origan encode RUN --train``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .novelty import nearest_neighbours
from .registry import MetricContext, register_metric

__all__ = ["reconstruction", "save_reconstruction_figure"]

N_DEFAULT = 1000  # test examples reconstructed
FIGURE_COLUMNS = 16


@torch.no_grad()
def reconstruct(run: Any, x: Tensor, batch_size: int = 1024) -> Tensor:
    """``G(E(x))`` ``(n, *shape)`` by the run's encoder and the generator it was fitted to (:meth:`GAN.generate`:
    G's moving average when the run keeps one), on the CPU."""
    from ..latent.encoder import encode, load_encoder

    z = encode(load_encoder(run), x)  # (n, noise_dim)
    return run.gan.generate(z, batch_size=batch_size).cpu().float()


def reconstruction(x: Tensor, x_rec: Tensor, train: Tensor) -> tuple[dict[str, Any], Tensor]:
    """The error of ``x_rec`` against ``x`` beside the nearest-training-example baseline; and the neighbours'
    indices ``(n,)``."""
    err = (x.double() - x_rec.double()).flatten(1).square().sum(1).sqrt()  # (n,)
    base, idx = nearest_neighbours(x, train)  # (n,), (n,)
    d = x[0].numel()
    out = {
        "l2_mean": float(err.mean()),
        "l2_median": float(err.median()),
        "rmse_per_value": float(err.square().mean().sqrt() / math.sqrt(d)),
        "nearest_train_l2_mean": float(base.mean()),
        "nearest_train_l2_median": float(base.median()),
        "share_better_than_nearest_train": float((err < base).double().mean()),
        "n": len(x),
        "n_train": len(train),
    }
    return out, idx


def save_reconstruction_figure(x: Tensor, x_rec: Tensor, neighbours: Tensor, path: Path) -> Path:
    """Rows: test examples, their reconstructions G(E(x)), their nearest training examples."""
    from ..io.export import save_grid_png

    k = min(FIGURE_COLUMNS, len(x))
    grid = torch.cat([x[:k].float(), x_rec[:k].float(), neighbours[:k].float()])  # (3k, C, H, W)
    return save_grid_png(grid.clamp(0, 1), Path(path), nrow=k)


@register_metric(
    "reconstruction",
    kinds=("image", "vector", "table"),
    description="with an encoder (origan encode RUN --train): per-example L2 error ||x - G(E(x))|| on up to "
    "1,000 test examples beside each one's distance to its nearest training example; for images a PNG of "
    "test examples, reconstructions and nearest training examples (runs by default when an encoder exists)",
    default=False,
)
def reconstruction_metric(
    samples: Tensor, reference: Any, ctx: MetricContext, *, n_max: int = N_DEFAULT
) -> dict[str, Any]:
    """Reconstruction error of the test split by the encoder and G of ``ctx.run``; the PNG goes to ``ctx.out_dir``."""
    from ..errors import ConfigError

    run, out_dir = ctx.run, ctx.out_dir
    if run is None:
        raise ConfigError("--metrics reconstruction: needs the run (its encoder and G)")
    x = reference.test[:n_max].float()
    x_rec = reconstruct(run, x)
    out, idx = reconstruction(x, x_rec.reshape(x.shape), reference.train)
    if reference.kind == "image" and out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        path = Path(out_dir) / "reconstructions.png"
        out["figure"] = str(save_reconstruction_figure(x, x_rec.reshape(x.shape), reference.train[idx], path))
    return out
