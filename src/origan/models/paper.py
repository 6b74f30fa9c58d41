"""The authors' CIFAR-10 nets (``cifar10_fully_connected.yaml``, ``cifar10_convolutional.yaml``).

- ``paper-fc`` G: ``z -> Linear -> ReLU -> Linear -> sigmoid ... -> Linear`` to the data: the first hidden layer
  has ``generator.activation`` (the paper: ReLU), every later one a sigmoid, as in the authors' CIFAR-10 and
  TFD generators (CIFAR-10: 8000, 8000, then linear 3072). The output is the identity for unbounded data
  (the authors' contrast-normalised CIFAR-10), a sigmoid for data in [0, 1].
- ``paper-conv`` G: the same hidden layers, the last one read as a ``(channels, b, b)`` map, then a
  transposed convolution (pylearn2's ``Deconv``: kernel 5, stride 3, no padding, one bias per output pixel as
  the yaml's ``tied_b: 0``) to the image; its side is ``3 (b - 1) + 5``: 32 from ``80 x 10 x 10 = 8000``.
- ``maxout-conv`` D: three maxout convolutions of 2 pieces, channels ``(w, w, 6 w)`` with ``w`` =
  ``discriminator.width`` (the paper: 32, 32, 192), kernels 8, 8, 5, zero padding 4, 3, 3 (the yaml's ``pad``)
  and max pooling 4/2, 4/2, 2/2; then maxout layers of ``discriminator.hidden`` units and
  ``discriminator.pieces`` pieces (500 x 5) and a linear logit. Dropout on the input of every layer:
  ``dropout_input`` on the image, ``dropout_hidden`` elsewhere (the yaml's include probabilities 0.8, 0.5).

Pooling is cuda-convnet's, which the yaml ran: output side ``ceil((s - k) / stride) + 1``, the last window cut
at the edge; that is torch's ``ceil_mode=True``. For 32x32 images: convolution 33 -> pool 16 -> 15 -> 7 ->
9 -> 5, so the dense layers see ``192 x 5 x 5 = 4800`` values (the yaml's ``partial_sum`` 33 and 15 agree).
Max over pieces and max over a window commute, so pooling comes first (the maxout then runs on 1/4 of the map).

Initialisation, pylearn2's ``irange``: weights U(-r, r), biases zero; G r = ``generator.init_range`` (0.05),
except ``paper-fc``'s linear output layer, U(-0.5, 0.5) as in its yaml; D r = ``discriminator.init_range``
(0.005). ``r = 0`` keeps PyTorch's default initialisation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..config import DiscriminatorConfig, GeneratorConfig
from ..errors import ConfigError
from .builders import DISCRIMINATORS, GENERATORS, output_activation, unconditional_only
from .dropout import Dropout
from .mlp import ACTIVATIONS, Maxout, maxout

__all__ = ["MaxoutConvDiscriminator", "PaperConvGenerator", "PaperFCGenerator", "deconv_base_side"]

FC_OUTPUT_INIT_RANGE = 0.5  # cifar10_fully_connected.yaml: irange .5 on G's linear output layer
DECONV_KERNEL, DECONV_STRIDE = 5, 3  # cifar10_convolutional.yaml's Deconv: kernel_shape [5, 5], output_stride [3, 3]
CONV_PIECES = 2  # every maxout convolution of the yaml has num_pieces: 2
# (channels as a multiple of discriminator.width, kernel, zero padding, pool size, pool stride), per the yaml
CONV_LAYERS = ((1, 8, 4, 4, 2), (1, 8, 3, 4, 2), (6, 5, 3, 2, 2))


def _init_irange_(module: nn.Module, irange: float) -> None:
    """pylearn2's ``irange`` on every linear and (transposed) convolution: weights U(-r, r), biases zero."""
    if irange <= 0:
        return
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.uniform_(m.weight, -irange, irange)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _hidden_layers(noise_dim: int, hidden: Sequence[int], first_activation: str) -> nn.Sequential:
    """``Linear -> first_activation``, then ``Linear -> sigmoid`` for every further width."""
    layers: list[nn.Module] = []
    width = noise_dim
    for i, h in enumerate(hidden):
        layers += [nn.Linear(width, h), ACTIVATIONS[first_activation]() if i == 0 else nn.Sigmoid()]
        width = h
    return nn.Sequential(*layers)


def _check_output(output: str) -> None:
    if output not in ("sigmoid", "identity"):
        raise ValueError(f"output must be 'sigmoid' or 'identity', not {output!r}")


class PaperFCGenerator(nn.Module):
    """``z (n, noise_dim) -> x (n, *data_shape)``: ReLU, then sigmoid hidden layers, then a linear output layer.

    Args:
        noise_dim: size of z.
        data_shape: shape of one sample, e.g. ``(3, 32, 32)``.
        hidden: hidden widths (the paper: 8000, 8000).
        activation: the first hidden layer's activation (the paper: relu); later ones are sigmoids.
        output: ``"identity"`` (the paper's linear output) or ``"sigmoid"``.
        init_range: hidden weights U(-r, r), the output layer's U(-0.5, 0.5); 0 keeps PyTorch's default.
    """

    def __init__(
        self,
        noise_dim: int,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (8000, 8000),
        activation: str = "relu",
        output: str = "identity",
        init_range: float = 0.05,
    ) -> None:
        super().__init__()
        _check_output(output)
        self.noise_dim, self.data_shape, self.output = noise_dim, tuple(data_shape), output
        self.body = _hidden_layers(noise_dim, hidden, activation)
        self.out = nn.Linear(hidden[-1] if hidden else noise_dim, math.prod(self.data_shape))
        _init_irange_(self.body, init_range)
        _init_irange_(self.out, FC_OUTPUT_INIT_RANGE if init_range > 0 else 0.0)

    def forward(self, z: Tensor) -> Tensor:
        h = self.out(self.body(z))  # (n, prod(data_shape))
        if self.output == "sigmoid":
            h = torch.sigmoid(h)
        return h.view(z.shape[0], *self.data_shape)


def deconv_base_side(data_shape: Sequence[int], key: str = "generator.name") -> int:
    """The side ``b`` of the map that the 5x5 stride-3 transposed convolution takes to the image (10 for 32)."""
    shape = tuple(data_shape)
    side = shape[-1] if shape else 0
    ok = len(shape) == 3 and shape[0] in (1, 3) and shape[1] == side and side >= DECONV_KERNEL
    if not ok or (side - DECONV_KERNEL) % DECONV_STRIDE:
        raise ConfigError(
            f"{key}: paper-conv needs square images (C, S, S) with C 1 or 3 and S = 3 b + 2 for some b >= 1 "
            f"(e.g. 8, 32: the side of a 5x5 stride-3 transposed convolution); the data have shape {shape}"
        )
    return (side - DECONV_KERNEL) // DECONV_STRIDE + 1


class PaperConvGenerator(nn.Module):
    """``z (n, noise_dim) -> x (n, C, S, S)``: the hidden layers of :class:`PaperFCGenerator`, then a deconvolution.

    Args:
        noise_dim: size of z.
        data_shape: ``(C, S, S)`` with ``S = 3 b + 2``.
        hidden: hidden widths; the last must be a multiple of ``b * b`` (the paper: 8000 = 80 x 10 x 10).
        activation: the first hidden layer's activation (the paper: relu); later ones are sigmoids.
        output: ``"identity"`` (the paper) or ``"sigmoid"``.
        init_range: weights U(-r, r), biases zero (the paper: 0.05); 0 keeps PyTorch's default.
    """

    def __init__(
        self,
        noise_dim: int,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (8000, 8000),
        activation: str = "relu",
        output: str = "identity",
        init_range: float = 0.05,
    ) -> None:
        super().__init__()
        _check_output(output)
        base = deconv_base_side(data_shape)
        if not hidden or hidden[-1] % (base * base):
            raise ConfigError(
                f"generator.hidden: paper-conv reads its last hidden layer as (channels, {base}, {base}); "
                f"its width must be a multiple of {base * base}, got {list(hidden)}"
            )
        self.noise_dim, self.data_shape, self.output = noise_dim, tuple(data_shape), output
        self.base_shape = (hidden[-1] // (base * base), base, base)  # the paper: (80, 10, 10)
        self.body = _hidden_layers(noise_dim, hidden, activation)
        self.deconv = nn.ConvTranspose2d(self.base_shape[0], data_shape[0], DECONV_KERNEL, DECONV_STRIDE, bias=False)
        self.bias = nn.Parameter(torch.zeros(self.data_shape))  # untied: one per output pixel (tied_b: 0)
        _init_irange_(self, init_range)

    def forward(self, z: Tensor) -> Tensor:
        h = self.body(z).view(len(z), *self.base_shape)  # (n, channels, b, b)
        x = self.deconv(h) + self.bias  # (n, C, S, S)
        return torch.sigmoid(x) if self.output == "sigmoid" else x


class _MaxoutConv(nn.Module):
    """A maxout convolution: ``pieces`` convolutions per output channel, max-pooled, then the max over pieces."""

    def __init__(self, in_channels: int, channels: int, kernel: int, padding: int, pool: int, stride: int) -> None:
        super().__init__()
        self.channels = channels
        self.conv = nn.Conv2d(in_channels, channels * CONV_PIECES, kernel, padding=padding)  # pieces: leading block
        self.pool = nn.MaxPool2d(pool, stride, ceil_mode=True)  # cuda-convnet's pooling: ceil((s - k) / stride) + 1

    def forward(self, x: Tensor) -> Tensor:
        h = self.pool(self.conv(x))  # (n, pieces * channels, s, s)
        return maxout(h.flatten(1), CONV_PIECES).view(len(x), self.channels, *h.shape[2:])  # (n, channels, s, s)


class MaxoutConvDiscriminator(nn.Module):
    """``x (n, C, S, S) -> logits (n,)``: the yaml's three maxout convolutions, maxout dense layers, a logit.

    Args:
        in_shape: ``(C, S, S)``.
        width: channels of the first two convolutions; the third has ``6 * width`` (the paper: 32).
        units: maxout units of each dense layer (the paper: one layer of 500).
        pieces: pieces of each dense maxout unit (the paper: 5).
        dropout_input: drop probability on the image (the paper: 0.2).
        dropout_hidden: drop probability on the input of every later layer (the paper: 0.5).
        init_range: weights U(-r, r), biases zero (the paper: 0.005).
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        width: int = 32,
        units: Sequence[int] = (500,),
        pieces: int = 5,
        dropout_input: float = 0.2,
        dropout_hidden: float = 0.5,
        init_range: float = 0.005,
    ) -> None:
        super().__init__()
        shape = tuple(in_shape)
        if len(shape) != 3 or shape[0] not in (1, 3) or shape[1] != shape[2]:
            raise ConfigError(f"discriminator.name: maxout-conv needs square images (C, S, S); the data have {shape}")
        blocks: list[nn.Module] = [Dropout(dropout_input)]
        channels = shape[0]
        for mult, kernel, padding, pool, stride in CONV_LAYERS:
            blocks += [_MaxoutConv(channels, mult * width, kernel, padding, pool, stride), Dropout(dropout_hidden)]
            channels = mult * width
        self.convs = nn.Sequential(*blocks)
        with torch.no_grad():  # the flattened size, as pylearn2 found it: one pass of a blank image
            try:
                features = math.prod(self.convs.eval()(torch.zeros(1, *shape)).shape[1:])
            except RuntimeError:
                raise ConfigError(
                    f"discriminator.name: maxout-conv's convolutions and pooling leave nothing of {shape} images"
                ) from None
        dense: list[nn.Module] = []
        for u in units:
            dense += [Maxout(features, u, pieces), Dropout(dropout_hidden)]
            features = u
        self.dense = nn.Sequential(*dense)
        self.logit = nn.Linear(features, 1)
        _init_irange_(self, init_range)
        self.train()

    def forward(self, x: Tensor) -> Tensor:
        return self.logit(self.dense(self.convs(x).flatten(1))).squeeze(1)  # (n,) logits


def _paper_generator(name: str, net: type[PaperFCGenerator] | type[PaperConvGenerator]) -> None:
    """Register ``net`` as the generator ``name`` (the two differ only in their output layer)."""

    def build(
        cfg: GeneratorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
    ) -> nn.Module:
        unconditional_only(name, n_classes)
        return net(noise_dim, data_shape, cfg.hidden, cfg.activation, output_activation(cfg, bounded), cfg.init_range)

    GENERATORS.add(name, build)


_paper_generator("paper-fc", PaperFCGenerator)
_paper_generator("paper-conv", PaperConvGenerator)


@DISCRIMINATORS.register("maxout-conv")
def maxout_conv_discriminator(
    cfg: DiscriminatorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    unconditional_only("maxout-conv", n_classes, "discriminator")
    return MaxoutConvDiscriminator(
        data_shape, cfg.width, cfg.hidden, cfg.pieces, cfg.dropout_input, cfg.dropout_hidden, cfg.init_range
    )
