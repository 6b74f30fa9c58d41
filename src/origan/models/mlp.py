"""The paper's fully connected nets: a ReLU MLP generator and a maxout discriminator with dropout.

Generators map ``z (n, noise_dim)`` to ``x (n, *data_shape)``; discriminators map ``x`` to logits ``(n,)``.
No sigmoid inside D: the losses apply softplus to the logits.

Class-conditional nets (``n_classes > 0``; Mirza & Osindero 2014): the one-hot class is joined to z in G and to
D's flattened input (after D's input dropout, which drops pixels, never the class). The first layer grows by
``n_classes`` inputs; nothing else changes, and ``n_classes = 0`` builds the unconditional net exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.autograd.function import BackwardCFunction

from ..config import DiscriminatorConfig, GeneratorConfig
from ..errors import ConfigError
from .builders import DISCRIMINATORS, GENERATORS, one_hot, output_activation
from .dropout import Dropout

__all__ = ["MLPDiscriminator", "MLPGenerator", "Maxout", "MaxoutDiscriminator", "maxout"]

# In place where the maths allows (each follows a Linear whose output nothing else reads): one allocation less.
ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "leaky_relu": lambda: nn.LeakyReLU(0.2, inplace=True),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
}


def _with_class(h: Tensor, y: Tensor | None, n_classes: int) -> Tensor:
    """``(n, d + n_classes)``: ``h (n, d)`` with the one-hot code of ``y (n,)`` joined on the right."""
    if y is None:
        raise ValueError("a conditional net needs the class labels y")
    return torch.cat([h, one_hot(y, n_classes, h)], 1)


def _d_forward(body: nn.Sequential, logit: nn.Linear, x: Tensor, y: Tensor | None, n_classes: int, join: int) -> Tensor:
    """``(n,)`` logits of an MLP D: the class joined after the first ``join`` layers (the input dropout)."""
    h = x.flatten(1)
    if n_classes:
        h = body[join:](_with_class(body[:join](h), y, n_classes))
    else:
        h = body(h)
    return logit(h).squeeze(1)


def _init_uniform_(module: nn.Module, irange: float) -> None:
    """pylearn2's ``irange``: weights U(-irange, irange), biases zero. ``irange <= 0`` keeps PyTorch's default."""
    if irange <= 0:
        return
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.uniform_(m.weight, -irange, irange)
            nn.init.zeros_(m.bias)


class MLPGenerator(nn.Module):
    """z -> hidden ReLU layers -> output (sigmoid for data in [0, 1], identity for unbounded data).

    Args:
        noise_dim: size of z.
        data_shape: shape of one sample, e.g. ``(1, 28, 28)`` or ``(2,)``.
        hidden: widths of the hidden layers (the paper: 1200, 1200).
        activation: hidden activation name.
        output: ``"sigmoid"`` or ``"identity"``.
        init_range: weights U(-r, r), biases zero (the paper: 0.05); 0 keeps PyTorch's default init.
        n_classes: classes of a conditional G(z, y) (the one-hot class joined to z); 0 = unconditional.
    """

    def __init__(
        self,
        noise_dim: int,
        data_shape: Sequence[int],
        hidden: Sequence[int] = (1200, 1200),
        activation: str = "relu",
        output: str = "sigmoid",
        init_range: float = 0.05,
        n_classes: int = 0,
    ) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.data_shape = tuple(data_shape)
        self.n_classes, self.conditional = n_classes, n_classes > 0
        out_dim = math.prod(self.data_shape)
        layers: list[nn.Module] = []
        width = noise_dim + n_classes
        for h in hidden:
            layers += [nn.Linear(width, h), ACTIVATIONS[activation]()]
            width = h
        self.body = nn.Sequential(*layers)
        self.out = nn.Linear(width, out_dim)
        if output not in ("sigmoid", "identity"):
            raise ValueError(f"output must be 'sigmoid' or 'identity', not {output!r}")
        self.output = output
        _init_uniform_(self, init_range)

    def init_output_bias(self, data_mean: Tensor) -> None:
        """Start G at the data's marginals: bias = logit(mean pixel) for sigmoid output, the mean otherwise."""
        mean = data_mean.reshape(-1).to(self.out.bias)
        with torch.no_grad():
            if self.output == "sigmoid":
                p = mean.clamp(1e-3, 1 - 1e-3)
                self.out.bias.copy_(torch.log(p) - torch.log1p(-p))  # logit(p)
            else:
                self.out.bias.copy_(mean)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.conditional:
            z = _with_class(z, y, self.n_classes)  # (n, noise_dim + n_classes)
        h = self.out(self.body(z))  # (n, prod(data_shape))
        if self.output == "sigmoid":
            h = torch.sigmoid(h)
        return h.view(z.shape[0], *self.data_shape)


class _MaxOverPieces(torch.autograd.Function):
    """``max_j h[:, j]`` over the pieces of ``h (n, pieces, units)``; the gradient flows to the maximal piece.

    Autograd's ``amax`` backward takes four passes with bool temporaries (about 0.75 ms for the paper's D
    at batch 100) in every backward through the layer (two per simultaneous update). Here the forward
    marks the maximal pieces once (a float comparison) and each backward is one multiply. Without ties it
    is the same gradient bit for bit. Tied pieces (measure zero) each get the full gradient, as Theano's max
    did in the paper's code, where ``amax`` splits it among them.
    """

    @staticmethod
    def forward(ctx: BackwardCFunction, h: Tensor) -> Tensor:
        out = h.amax(dim=1)  # (n, units)
        if ctx.needs_input_grad[0]:
            is_max = torch.empty_like(h)
            torch.eq(h, out.unsqueeze(1), out=is_max)  # (n, pieces, units): 1.0 at the maximal piece
            ctx.save_for_backward(is_max)
        return out

    @staticmethod
    def backward(ctx: BackwardCFunction, grad: Tensor) -> Tensor:
        (is_max,) = ctx.saved_tensors
        return is_max * grad.unsqueeze(1)  # (n, pieces, units)


def maxout(h: Tensor, pieces: int) -> Tensor:
    """``(n, units)`` maxout of ``h (n, pieces * units)`` laid out with the pieces as the leading block."""
    return _MaxOverPieces.apply(h.view(h.shape[0], pieces, h.shape[1] // pieces))


class Maxout(nn.Module):
    """Maxout units (Goodfellow et al. 2013): ``max_j (W_j x + b_j)`` over ``pieces`` affine maps.

    The weight is laid out with the pieces as the leading block, ``(pieces * units, in)``, so the max runs
    over a contiguous leading dimension of ``(n, pieces, units)`` (twice as fast as interleaved pieces).
    """

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: Tensor) -> Tensor:
        return maxout(self.linear(x), self.pieces)  # (n, pieces * units) -> (n, units)


class MaxoutDiscriminator(nn.Module):
    """The paper's D: input dropout, maxout layers with dropout, then a linear logit.

    Dropout is :class:`~origan.models.dropout.Dropout` (nn.Dropout's maths, cheap masks drawn from the
    generator the trainer binds).

    Args:
        in_shape: shape of one sample; it is flattened.
        units: maxout units per layer (the paper: 240).
        pieces: pieces per unit (the paper: 5).
        layers: number of maxout layers (the paper: 2).
        dropout_input: drop probability on the input (the paper: 0.2, i.e. keep 0.8).
        dropout_hidden: drop probability on hidden layers (the paper: 0.5).
        init_range: weights U(-r, r), biases zero (the paper: 0.005).
        n_classes: classes of a conditional D(x, y) (the one-hot class joined to the input); 0 = unconditional.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        units: int = 240,
        pieces: int = 5,
        layers: int = 2,
        dropout_input: float = 0.2,
        dropout_hidden: float = 0.5,
        init_range: float = 0.005,
        n_classes: int = 0,
    ) -> None:
        super().__init__()
        self.n_classes, self.conditional = n_classes, n_classes > 0
        width = math.prod(in_shape) + n_classes
        blocks: list[nn.Module] = [Dropout(dropout_input)]
        self._join = 1  # the class joins after the input dropout
        for _ in range(layers):
            blocks += [Maxout(width, units, pieces), Dropout(dropout_hidden)]
            width = units
        self.body = nn.Sequential(*blocks)
        self.logit = nn.Linear(width, 1)
        _init_uniform_(self, init_range)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return _d_forward(self.body, self.logit, x, y, self.n_classes, self._join)  # (n,) logits


class MLPDiscriminator(nn.Module):
    """A plain MLP discriminator: hidden layers with an activation and optional dropout, then a logit; the
    class joined to the input when ``n_classes > 0``."""

    def __init__(
        self,
        in_shape: Sequence[int],
        hidden: Sequence[int] = (256, 256),
        activation: str = "leaky_relu",
        dropout_input: float = 0.0,
        dropout_hidden: float = 0.0,
        init_range: float = 0.0,
        n_classes: int = 0,
    ) -> None:
        super().__init__()
        self.n_classes, self.conditional = n_classes, n_classes > 0
        width = math.prod(in_shape) + n_classes
        blocks: list[nn.Module] = [Dropout(dropout_input)] if dropout_input > 0 else []
        self._join = len(blocks)  # the class joins after the input dropout
        for h in hidden:
            blocks += [nn.Linear(width, h), ACTIVATIONS[activation]()]
            if dropout_hidden > 0:
                blocks.append(Dropout(dropout_hidden))
            width = h
        self.body = nn.Sequential(*blocks)
        self.logit = nn.Linear(width, 1)
        _init_uniform_(self, init_range)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        return _d_forward(self.body, self.logit, x, y, self.n_classes, self._join)  # (n,) logits


@GENERATORS.register("mlp")
def mlp_generator(
    cfg: GeneratorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    return MLPGenerator(
        noise_dim, data_shape, cfg.hidden, cfg.activation, output_activation(cfg, bounded), cfg.init_range, n_classes
    )


@DISCRIMINATORS.register("maxout")
def maxout_discriminator(
    cfg: DiscriminatorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    if len(set(cfg.hidden)) != 1:
        raise ConfigError(f"discriminator.hidden: maxout needs one or more equal widths, got {list(cfg.hidden)}")
    return MaxoutDiscriminator(
        data_shape,
        cfg.hidden[0],
        cfg.pieces,
        len(cfg.hidden),
        cfg.dropout_input,
        cfg.dropout_hidden,
        cfg.init_range,
        n_classes,
    )


@DISCRIMINATORS.register("mlp")
def mlp_discriminator(
    cfg: DiscriminatorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    return MLPDiscriminator(
        data_shape, cfg.hidden, cfg.activation, cfg.dropout_input, cfg.dropout_hidden, cfg.init_range, n_classes
    )
