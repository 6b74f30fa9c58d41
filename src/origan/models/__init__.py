"""Model registries: ``build_generator`` / ``build_discriminator`` from the config and the dataset.

A builder takes ``(section, data_shape, bounded, noise_dim)`` and returns an ``nn.Module``. Generators map
``z (n, noise_dim) -> x (n, *data_shape)``; discriminators map ``x -> logits (n,)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from torch import nn

from .flows import AffineFlow, CouplingFlow, SplineFlow
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


def _flow_dim(name: str, data_shape: tuple[int, ...], noise_dim: int) -> None:
    """A flow is a bijection z -> x, so z and x must have the same number of dimensions."""
    from ..errors import ConfigError

    if math.prod(data_shape) != noise_dim:
        raise ConfigError(f"noise.dim: the {name} generator is invertible and needs noise.dim = the data's "
                          f"dimension {math.prod(data_shape)}, got {noise_dim}")


def _affine_flow(cfg: Any, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    _flow_dim("affine", data_shape, noise_dim)
    return AffineFlow(data_shape)


def _spline_flow(cfg: Any, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    _flow_dim("spline", data_shape, noise_dim)
    return SplineFlow(data_shape, bins=cfg.spline_bins, bound=cfg.spline_bound)


def _coupling_flow(cfg: Any, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    from ..errors import ConfigError

    _flow_dim("coupling", data_shape, noise_dim)
    if noise_dim < 2:
        raise ConfigError(f"generator.name: a coupling flow needs data of dimension >= 2, got dimension {noise_dim}")
    return CouplingFlow(data_shape, layers=cfg.coupling_layers, hidden=cfg.hidden)


Builder = Callable[[Any, tuple[int, ...], bool, int], nn.Module]
GENERATORS: dict[str, Builder] = {"mlp": _mlp_generator, "affine": _affine_flow, "spline": _spline_flow,
                                  "coupling": _coupling_flow}
DISCRIMINATORS: dict[str, Builder] = {"maxout": _maxout_discriminator, "mlp": _mlp_discriminator}


def build_generator(cfg: Any, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    """The generator named by ``cfg.name`` (a :class:`~origan.config.GeneratorConfig`)."""
    return GENERATORS[cfg.name](cfg, data_shape, bounded, noise_dim)


def build_discriminator(cfg: Any, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    """The discriminator named by ``cfg.name`` (a :class:`~origan.config.DiscriminatorConfig`)."""
    return DISCRIMINATORS[cfg.name](cfg, data_shape, bounded, noise_dim)


from . import conv as _conv  # noqa: E402,F401  (registers dcgan)
