"""Models: the paper's MLP G and maxout D (mlp.py), DCGAN-style conv nets (conv.py), invertible G with an exact
density (flows.py), and the registries that build them by name (builders.py)."""

from .builders import DISCRIMINATORS, GENERATORS, build_discriminator, build_generator, convolutional

__all__ = ["DISCRIMINATORS", "GENERATORS", "build_discriminator", "build_generator", "convolutional"]
