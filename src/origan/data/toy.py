"""Toy targets with an exact density: the paper's 1-D Gaussian, a 1-D mixture, the ring and the grid.

Every target is a :class:`~origan.data.mixture.GaussianMixture` of isotropic Gaussians, so one class gives
``sample`` and an exact ``log_prob`` (log-sum-exp over components) in any dimension and any float dtype.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

import torch

from ..errors import ConfigError
from ..limits import check_decoded_size
from . import DATASETS, Dataset
from .mixture import GaussianMixture

if TYPE_CHECKING:
    from ..config import DataConfig

__all__ = ["TOY_TARGETS", "GaussianMixture", "gauss1d", "grid25", "mixture1d", "ring8", "toy_dataset", "toy_target"]

TOY_TARGETS: dict[str, Callable[..., GaussianMixture]] = {}
MAX_COMPONENTS = 10_000  # integer options (modes, side) may ask for at most this many Gaussians


def toy_target(name: str) -> Callable[[Callable[..., GaussianMixture]], Callable[..., GaussianMixture]]:
    """Decorator: a target builder ``f(**options) -> GaussianMixture``, also registered as the dataset ``name``."""

    def deco(builder: Callable[..., GaussianMixture]) -> Callable[..., GaussianMixture]:
        TOY_TARGETS[name] = builder
        DATASETS.add(name, partial(toy_dataset, name))
        return builder

    return deco


def _options(name: str, params: dict[str, float]) -> dict[str, float | int]:
    """``data.params`` checked against the builder's keywords: known names, finite numbers, integers where
    the default is an integer (``modes``, ``side``), and at most ``MAX_COMPONENTS`` Gaussians."""
    defaults = {k: p.default for k, p in inspect.signature(TOY_TARGETS[name]).parameters.items()}
    options: dict[str, float | int] = {}
    for key, value in params.items():
        if key not in defaults:
            raise ConfigError(
                f"data.params.{key}: unknown option for {name}; expected one of {', '.join(sorted(defaults))}"
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"data.params.{key}: expected a finite number, got {value!r}")
        if isinstance(defaults[key], int):
            if value != int(value) or value < 1:
                raise ConfigError(f"data.params.{key}: expected a positive integer, got {value!r}")
            value = int(value)
        options[key] = value
    for key, power in (("modes", 1), ("side", 2)):  # ring8: modes Gaussians; grid25: side x side
        if key in options and options[key] ** power > MAX_COMPONENTS:
            raise ConfigError(
                f"data.params.{key}: {options[key]} gives {options[key] ** power} Gaussians; "
                f"expected at most {MAX_COMPONENTS}"
            )
    return options


def toy_dataset(name: str, cfg: DataConfig) -> Dataset:
    """Sample fixed train / val / test sets of ``cfg.n_*`` points from the target, seeded by ``cfg.split_seed``."""
    target = TOY_TARGETS[name](**_options(name, cfg.params))
    if (target.stds <= 0).any():
        raise ConfigError(f"data.params.std: expected a positive standard deviation, got {cfg.params.get('std')}")
    total = cfg.n_train + cfg.n_val + cfg.n_test
    check_decoded_size(4 * target.dim * total, "data.n_train/n_val/n_test", f"{total:,} points of {name}")
    gen = torch.Generator().manual_seed(cfg.split_seed)
    train, val, test = (target.sample(n, gen) for n in (cfg.n_train, cfg.n_val, cfg.n_test))
    info = {
        "source": f"sampled from the exact {name} target",
        "params": dict(cfg.params),
        "sizes": [cfg.n_train, cfg.n_val, cfg.n_test],
        "split_seed": cfg.split_seed,
        "classes": [],
    }
    return Dataset(name, train, val, test, (target.dim,), "vector", False, target=target, info=info)


@toy_target("gauss1d")
def gauss1d(mean: float = 4.0, std: float = 0.5) -> GaussianMixture:
    """The 1-D Gaussian of the paper's Figure 1 illustration."""
    return GaussianMixture([[mean]], [std])


@toy_target("mixture1d")
def mixture1d(separation: float = 4.0, std: float = 0.5) -> GaussianMixture:
    """Two equal 1-D Gaussians at +-separation/2."""
    return GaussianMixture([[-separation / 2], [separation / 2]], [std, std])


@toy_target("ring8")
def ring8(radius: float = 1.0, std: float = 0.01, modes: int = 8) -> GaussianMixture:
    """``modes`` Gaussians evenly on a circle (the mode-collapse benchmark of VEEGAN / Unrolled GAN)."""
    angles = [2 * math.pi * i / modes for i in range(modes)]
    return GaussianMixture([[radius * math.cos(a), radius * math.sin(a)] for a in angles], [std] * modes)


@toy_target("grid25")
def grid25(spacing: float = 2.0, std: float = 0.05, side: int = 5) -> GaussianMixture:
    """A side x side grid of Gaussians; the default 5 x 5 grid has means {-4, -2, 0, 2, 4}^2 (PacGAN)."""
    offset = spacing * (side - 1) / 2
    coords = [spacing * i - offset for i in range(side)]
    return GaussianMixture([[a, b] for a in coords for b in coords], [std] * (side * side))
