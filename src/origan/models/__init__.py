"""Model registries: ``build_generator`` / ``build_discriminator`` from the config and the dataset.

A builder takes ``(section, data_shape, bounded, noise_dim)`` and returns an ``nn.Module``. Generators map
``z (n, noise_dim) -> x (n, *data_shape)``; discriminators map ``x -> logits (n,)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from .mlp import MaxoutDiscriminator, MLPDiscriminator, MLPGenerator

__all__ = ["DISCRIMINATORS", "GENERATORS", "build_discriminator", "build_generator"]


def _mlp_generator(cfg: Any, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    output = cfg.output if cfg.output != "auto" else ("sigmoid" if bounded else "identity")
    return MLPGenerator(noise_dim, data_shape, cfg.hidden, cfg.activation, output, cfg.init_range)


def _maxout_discriminator(cfg: Any, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    if len(set(cfg.hidden)) != 1:
        from ..errors import ConfigError

        raise ConfigError(f"discriminator.hidden: maxout needs one or more equal widths, got {list(cfg.hidden)}")
    return MaxoutDiscriminator(data_shape, cfg.hidden[0], cfg.pieces, len(cfg.hidden),
                               cfg.dropout_input, cfg.dropout_hidden, cfg.init_range)


def _mlp_discriminator(cfg: Any, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    return MLPDiscriminator(data_shape, cfg.hidden, cfg.activation, cfg.dropout_input, cfg.dropout_hidden, cfg.init_range)


Builder = Callable[[Any, tuple[int, ...], bool, int], nn.Module]
GENERATORS: dict[str, Builder] = {"mlp": _mlp_generator}
DISCRIMINATORS: dict[str, Builder] = {"maxout": _maxout_discriminator, "mlp": _mlp_discriminator}


def build_generator(cfg: Any, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    """The generator named by ``cfg.name`` (a :class:`~origan.config.GeneratorConfig`)."""
    return GENERATORS[cfg.name](cfg, data_shape, bounded, noise_dim)


def build_discriminator(cfg: Any, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    """The discriminator named by ``cfg.name`` (a :class:`~origan.config.DiscriminatorConfig`)."""
    return DISCRIMINATORS[cfg.name](cfg, data_shape, bounded, noise_dim)


from . import conv as _conv  # noqa: E402,F401  (registers dcgan)
