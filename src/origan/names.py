"""The registered-name checks of a config: each name must be a member of its family's registry.

:mod:`origan.config` checks types, choices and ranges and knows no registry (so it imports no model, data
or loss code); :func:`check_registered` runs where a config is resolved into a run: ``origan.train``,
resume, ``load_run`` and ``origan train --dry-run``.
"""

from __future__ import annotations

from collections.abc import Collection

from .config import Config
from .data import DATASETS
from .errors import ConfigError
from .losses import GENERATOR_LOSSES
from .models import DISCRIMINATORS, GENERATORS
from .priors import PRIORS

__all__ = ["check_registered"]


def _registered(key: str, name: str, family: Collection[str]) -> None:
    if name not in family:
        raise ConfigError(f"{key}: expected one of {', '.join(sorted(family))}, got {name!r}")


def check_registered(cfg: Config) -> Config:
    """Raise :class:`ConfigError` naming the key of the first name no registry knows; return ``cfg``."""
    _registered("data.name", cfg.data.name, DATASETS)
    _registered("noise.prior", cfg.noise.prior, PRIORS)
    _registered("generator.name", cfg.generator.name, GENERATORS)
    _registered("discriminator.name", cfg.discriminator.name, DISCRIMINATORS)
    _registered("loss.generator", cfg.loss.generator, GENERATOR_LOSSES)
    return cfg
