"""The model registries: ``build_generator`` / ``build_discriminator`` from a typed config and the dataset.

A builder takes ``(section, data_shape, bounded, noise_dim)`` and returns an ``nn.Module``; it registers
itself where its module is defined (``@GENERATORS.register("mlp")``). Generators map
``z (n, noise_dim) -> x (n, *data_shape)``; discriminators map ``x -> logits (n,)``.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ..config import DiscriminatorConfig, GeneratorConfig
from ..registry import Registry

__all__ = ["DISCRIMINATORS", "GENERATORS", "build_discriminator", "build_generator", "output_activation"]

GeneratorBuilder = Callable[[GeneratorConfig, tuple[int, ...], bool, int], nn.Module]
DiscriminatorBuilder = Callable[[DiscriminatorConfig, tuple[int, ...], bool, int], nn.Module]

_MEMBERS = (  # registration order = listing order
    "origan.models.mlp",
    "origan.models.flows",
    "origan.models.conv",
    "origan.models.paper",
)
GENERATORS: Registry[GeneratorBuilder] = Registry("generator", modules=_MEMBERS)
DISCRIMINATORS: Registry[DiscriminatorBuilder] = Registry("discriminator", modules=_MEMBERS)


def output_activation(cfg: GeneratorConfig, bounded: bool) -> str:
    """G's output layer: the configured one, or with ``auto`` a sigmoid for data in [0, 1], else identity."""
    return cfg.output if cfg.output != "auto" else ("sigmoid" if bounded else "identity")


def build_generator(cfg: GeneratorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int) -> nn.Module:
    """The generator named by ``cfg.name``, for samples of ``data_shape`` and noise of ``noise_dim``."""
    return GENERATORS.get(cfg.name, "generator.name")(cfg, tuple(data_shape), bounded, noise_dim)


def build_discriminator(
    cfg: DiscriminatorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int
) -> nn.Module:
    """The discriminator named by ``cfg.name``, for samples of ``data_shape``."""
    return DISCRIMINATORS.get(cfg.name, "discriminator.name")(cfg, tuple(data_shape), bounded, noise_dim)
