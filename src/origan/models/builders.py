"""The model registries: ``build_generator`` / ``build_discriminator`` from a typed config and the dataset.

A builder takes ``(section, data_shape, bounded, noise_dim)`` (and a keyword ``n_classes``, if its family has a
conditional form) and returns an ``nn.Module``; it registers itself where its module is defined
(``@GENERATORS.register("mlp")``). Generators map ``z (n, noise_dim) -> x (n, *data_shape)``; discriminators
map ``x -> logits (n,)``. With ``n_classes > 0`` the net is class-conditional: it has ``conditional = True``
and is called ``G(z, y)`` / ``D(x, y)`` with ``y (n,)`` class indices; a family that cannot condition raises a
ConfigError naming ``train.conditional``. ``n_classes`` is passed only when positive, and a net built without
it is exactly the unconditional one (same parameters, same initial weights).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from ..config import DiscriminatorConfig, GeneratorConfig
from ..errors import ConfigError
from ..registry import Registry
from .spectral import spectral_norm

__all__ = [
    "CONVOLUTIONAL",
    "DISCRIMINATORS",
    "GENERATORS",
    "build_discriminator",
    "build_generator",
    "convolutional",
    "logit_scaled",
    "one_hot",
    "output_activation",
    "spectrally_normalised",
    "unconditional_only",
]

# (section, data_shape, bounded, noise_dim) and, for a family with a conditional form, the keyword n_classes
GeneratorBuilder = Callable[..., nn.Module]
DiscriminatorBuilder = Callable[..., nn.Module]

_MEMBERS = (  # registration order = listing order
    "origan.models.mlp",
    "origan.models.flows",
    "origan.models.conv",
    "origan.models.paper",
)
GENERATORS: Registry[GeneratorBuilder] = Registry("generator", modules=_MEMBERS)
DISCRIMINATORS: Registry[DiscriminatorBuilder] = Registry("discriminator", modules=_MEMBERS)
CONVOLUTIONAL = frozenset({"dcgan", "maxout-conv"})  # the families built of convolutions (train.autocast = auto)


def convolutional(generator: GeneratorConfig, discriminator: DiscriminatorConfig) -> bool:
    """Whether G or D is a convolutional family (their matmuls are mostly convolutions)."""
    return generator.name in CONVOLUTIONAL or discriminator.name in CONVOLUTIONAL


def output_activation(cfg: GeneratorConfig, bounded: bool) -> str:
    """G's output layer: the configured one, or with ``auto`` a sigmoid for data in [0, 1], else identity."""
    return cfg.output if cfg.output != "auto" else ("sigmoid" if bounded else "identity")


def unconditional_only(name: str, n_classes: int, role: str = "generator") -> None:
    """A ConfigError for a family that has no conditional form, asked for one."""
    if n_classes:
        raise ConfigError(f"train.conditional: the {name} {role} is unconditional; use mlp or dcgan")


def build_generator(
    cfg: GeneratorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    """The generator named by ``cfg.name``, for samples of ``data_shape`` and noise of ``noise_dim``;
    conditional on ``n_classes`` classes when it is positive."""
    build = GENERATORS.get(cfg.name, "generator.name")
    return build(cfg, tuple(data_shape), bounded, noise_dim, **_classes(build, "generator", cfg.name, n_classes))


def build_discriminator(
    cfg: DiscriminatorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    """The discriminator named by ``cfg.name``, for samples of ``data_shape``; conditional on ``n_classes``
    classes when it is positive."""
    build = DISCRIMINATORS.get(cfg.name, "discriminator.name")
    net = build(cfg, tuple(data_shape), bounded, noise_dim, **_classes(build, "discriminator", cfg.name, n_classes))
    if cfg.spectral_norm:
        spectrally_normalised(net)
    return logit_scaled(net, cfg.logit_scale) if cfg.logit_scale != 1 else net


class _ScaleOutput:
    """A forward hook that multiplies a module's output by a constant."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def __call__(self, module: nn.Module, inputs: Any, output: Tensor) -> Tensor:
        return output * self.scale


def logit_scaled(net: nn.Module, scale: float) -> nn.Module:
    """``net`` (a D) with its logits multiplied by ``scale``, in place: a forward hook, so its parameters and
    state_dict keys stay as they are and its checkpoints load either way. A spectrally normalised D is about
    1-Lipschitz in its input (every layer's weight has spectral norm 1, LeakyReLU's slopes are at most 1): on
    images in [0, 1] its logits stay within a few tenths and D(x) near 1/2, however well it could tell real
    from generated; the scale makes the bound ``scale`` (``discriminator.logit_scale``)."""
    net.register_forward_hook(_ScaleOutput(scale))
    return net


def spectrally_normalised(net: nn.Module) -> nn.Module:
    """``net`` with every convolution's and linear layer's weight divided by its largest singular value
    (spectral normalisation, Miyato et al. 2018: one power iteration per forward pass in training mode; PyTorch's
    buffers and keys with a fused backward, ``spectral.py``), in place. It bounds D's Lipschitz constant without
    batch statistics, so D still scores real and generated examples in one pass; the game's objective is
    unchanged."""
    for module in list(net.modules()):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            spectral_norm(module)
    return net


def _classes(build: Callable[..., nn.Module], role: str, name: str, n_classes: int) -> dict[str, int]:
    """The keyword that makes a builder's net conditional: none for an unconditional one."""
    if not n_classes:
        return {}
    if "n_classes" not in inspect.signature(build).parameters:
        raise ConfigError(f"train.conditional: the {name} {role} has no conditional form")
    return {"n_classes": n_classes}


def one_hot(y: Tensor, n_classes: int, like: Tensor) -> Tensor:
    """``(n, n_classes)`` the one-hot code of class indices ``y (n,)`` in ``like``'s dtype and device."""
    return nn.functional.one_hot(y.to(like.device), n_classes).to(like.dtype)
