"""DCGAN-style convolutional G and D (Radford, Metz & Chintala 2016) for square images with 1 or 3 channels.

The side S must be even and at least 8: it is halved while the half is an integer >= 4, which gives the
base side ``b`` and the number of stride-2 stages ``u`` (8 = 4 * 2, 28 = 7 * 2^2, 32 = 4 * 2^3, 64 = 4 * 2^4).

- G: ``z -> Linear -> (width * 2^(u-1), b, b)``, BN, ReLU; then ``u`` transposed convolutions (kernel 4,
  stride 2, padding 1) that double the side and halve the channels, BN + ReLU between them; the last one
  outputs the image's channels, through a sigmoid for data in [0, 1]. (DCGAN's first layer, a 4x4
  transposed convolution of a 1x1 input, is this Linear layer; a Linear also serves a 7x7 base.)
- D: ``u`` convolutions (kernel 4, stride 2, padding 1) that halve the side and double the channels,
  starting at ``width``, LeakyReLU(0.2) after each; then, with ``discriminator.dense = m > 0``, a fully
  connected layer of ``m`` units with LeakyReLU(0.2) (InfoGAN's MNIST D has one of 1,024: every unit sees the
  whole image, where a linear logit over the last feature map only adds up local evidence); then a Linear
  logit. Dropout
  (``discriminator.dropout_input`` on the image, ``dropout_hidden`` after every LeakyReLU) only where its
  probability is positive, so a D without it has exactly the modules and state_dict keys it always had.
  D returns logits ``(n,)``; the losses apply the sigmoid. D has no batch normalisation: the game scores
  real and generated examples in one pass through D (``GAN.d_objective``) but generated ones alone in G's
  step, and batch statistics of a mixed batch are not those of a generated batch, so a BN layer would let
  D judge G(z) one way in its own step and another way in G's (it then fails to train; tried on MNIST).

Initialisation as in DCGAN: every convolution and linear weight N(0, 0.02), BN scales N(1, 0.02), biases 0.

Class-conditional nets (``n_classes > 0``):

- G: a learned class embedding ``nn.Embedding(n_classes, noise_dim)`` (N(0, 1)) multiplies z elementwise
  before the projection (as in common AC-GAN code). Measured on MNIST 5k against the embedding concatenated
  beside z: after 1,000 steps the concatenating G drew one digit per class whatever z (it learned to ignore
  z), the multiplying one varied within every class, since z is the only way in for the class.
- D, ``conditioning = "projection"`` (Miyato & Koyama 2018): ``logit = linear(h) + <embed(y), h>`` with ``h``
  the flattened last feature map and ``embed`` an ``nn.Embedding(n_classes, len(h))`` (N(0, 0.02)).
- D, ``conditioning = "input"``: class maps, ``n_classes`` constant planes (the one-hot class) concatenated to
  the image's channels before the first convolution.

With ``n_classes = 0`` the nets are built exactly as the unconditional ones (same parameters and draws).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..config import DiscriminatorConfig, GeneratorConfig
from ..errors import ConfigError
from .builders import DISCRIMINATORS, GENERATORS, one_hot, output_activation
from .dropout import Dropout

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "dcgan_init_", "dcgan_plan"]

INIT_STD = 0.02  # DCGAN: weights N(0, 0.02)


def dcgan_plan(data_shape: Sequence[int], key: str = "generator.name") -> tuple[int, int, int, int]:
    """``(channels, side, base side, stride-2 stages)`` for images of ``data_shape``, or a ConfigError."""
    shape = tuple(data_shape)
    ok = len(shape) == 3 and shape[0] in (1, 3) and shape[1] == shape[2] and shape[1] >= 8 and shape[1] % 2 == 0
    if not ok:
        raise ConfigError(
            f"{key}: dcgan needs square images (C, S, S) with C 1 or 3 and an even side S >= 8 "
            f"(e.g. 8, 28, 32, 64); the data have shape {shape}"
        )
    base, ups = shape[1], 0
    while base % 2 == 0 and base // 2 >= 4:
        base, ups = base // 2, ups + 1
    return shape[0], shape[1], base, ups


def dcgan_init_(module: nn.Module) -> None:
    """DCGAN's initialisation: conv / linear weights N(0, 0.02), BN scales N(1, 0.02), all biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, INIT_STD)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, INIT_STD)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    """``z (n, noise_dim) -> x (n, C, S, S)``.

    Args:
        noise_dim: size of z.
        data_shape: ``(C, S, S)``.
        width: channels of the last hidden feature map (DCGAN's ngf = 64).
        output: ``"sigmoid"`` (data in [0, 1]) or ``"identity"``.
        n_classes: classes of a conditional G(z, y) (see the module docstring); 0 = unconditional.
    """

    def __init__(
        self, noise_dim: int, data_shape: Sequence[int], width: int = 64, output: str = "sigmoid", n_classes: int = 0
    ) -> None:
        super().__init__()
        c, _, base, ups = dcgan_plan(data_shape)
        if output not in ("sigmoid", "identity"):
            raise ValueError(f"output must be 'sigmoid' or 'identity', not {output!r}")
        self.data_shape, self.output = tuple(data_shape), output
        self.n_classes, self.conditional = n_classes, n_classes > 0
        ch = width * 2 ** (ups - 1)
        self.base_shape = (ch, base, base)
        self.project = nn.Linear(noise_dim, ch * base * base, bias=False)  # DCGAN's 1x1 -> b x b layer
        blocks: list[nn.Module] = [nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(ups - 1):
            blocks += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        blocks.append(nn.ConvTranspose2d(ch, c, 4, 2, 1))  # to the image: side doubled, C channels
        self.body = nn.Sequential(*blocks)
        dcgan_init_(self)
        if n_classes:
            self.embed = nn.Embedding(n_classes, noise_dim)  # N(0, 1), the scale of z

    def init_output_bias(self, data_mean: Tensor) -> None:
        """Start each output channel at the data's mean intensity: bias = logit(channel mean) for a sigmoid output,
        the mean otherwise. With a sigmoid and a dark background (MNIST: mean 0.13) a zero bias lets G draw the
        background with strongly negative features and the strokes as ReLU-dead regions at logit = bias, where no
        gradient can brighten them (seen on MNIST: strokes stuck at sigmoid(bias) ~ 0.6)."""
        out = self.body[-1]
        assert isinstance(out, nn.ConvTranspose2d) and out.bias is not None
        mean = data_mean.reshape(len(out.bias), -1).mean(1).to(out.bias)  # (C,) the channels' mean intensities
        with torch.no_grad():
            if self.output == "sigmoid":
                p = mean.clamp(1e-3, 1 - 1e-3)
                out.bias.copy_(torch.log(p) - torch.log1p(-p))  # logit(p)
            else:
                out.bias.copy_(mean)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if self.conditional:
            if y is None:
                raise ValueError("a conditional net needs the class labels y")
            z = z * self.embed(y.to(z.device)).to(z.dtype)  # (n, noise_dim): the class scales each coordinate
        h = self.project(z).view(len(z), *self.base_shape)  # (n, ch, b, b)
        x = self.body(h)  # (n, C, S, S)
        return torch.sigmoid(x) if self.output == "sigmoid" else x


class DCGANDiscriminator(nn.Module):
    """``x (n, C, S, S) -> logits (n,)``.

    Args:
        data_shape: ``(C, S, S)``.
        width: channels of the first convolution (DCGAN's ndf = 64).
        n_classes: classes of a conditional D(x, y) (see the module docstring); 0 = unconditional.
        conditioning: ``"projection"`` or ``"input"`` (class maps), for a conditional D.
        dropout_input: drop probability on the image (0: no dropout layer).
        dropout_hidden: drop probability after every convolution's (and the dense layer's) LeakyReLU (0: no
            dropout layers).
        dense: units of a fully connected LeakyReLU layer before the logit (0: none, DCGAN's linear logit).
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        width: int = 64,
        n_classes: int = 0,
        conditioning: str = "projection",
        dropout_input: float = 0.0,
        dropout_hidden: float = 0.0,
        dense: int = 0,
    ) -> None:
        super().__init__()
        c, _, base, ups = dcgan_plan(data_shape, "discriminator.name")
        if conditioning not in ("projection", "input"):
            raise ValueError(f"conditioning must be 'projection' or 'input', not {conditioning!r}")
        self.n_classes, self.conditional = n_classes, n_classes > 0
        self.conditioning = conditioning if n_classes else "none"
        maps = n_classes if self.conditioning == "input" else 0  # class maps beside the image's channels

        def dropped(p: float) -> list[nn.Module]:  # no layer at 0 (a bad p is Dropout's ValueError)
            return [Dropout(p)] if p else []

        blocks: list[nn.Module] = [nn.Conv2d(c + maps, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        blocks += dropped(dropout_hidden)
        ch = width
        for _ in range(ups - 1):
            blocks += [nn.Conv2d(ch, ch * 2, 4, 2, 1), nn.LeakyReLU(0.2, True)]  # no BN: see the module docstring
            blocks += dropped(dropout_hidden)
            ch *= 2
        self.drop_input = Dropout(dropout_input) if dropout_input else None  # pixels of the image only
        self.body = nn.Sequential(*blocks)
        features = ch * base * base
        self.dense: nn.Module | None = None
        if dense:
            self.dense = nn.Sequential(nn.Linear(features, dense), nn.LeakyReLU(0.2, True), *dropped(dropout_hidden))
            features = dense
        self.logit = nn.Linear(features, 1)  # DCGAN's last b x b convolution to one value (without dense)
        dcgan_init_(self)
        if self.conditioning == "projection":
            self.embed = nn.Embedding(n_classes, features)
            nn.init.normal_(self.embed.weight, 0.0, INIT_STD)

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        if self.conditional and y is None:
            raise ValueError("a conditional net needs the class labels y")
        if self.drop_input is not None:
            x = self.drop_input(x)
        if self.conditioning == "input":
            assert y is not None
            planes = one_hot(y, self.n_classes, x)[:, :, None, None].expand(-1, -1, *x.shape[2:])  # (n, K, S, S)
            x = torch.cat([x, planes], 1)  # (n, C + K, S, S)
        h = self.body(x).flatten(1)  # (n, features)
        if self.dense is not None:
            h = self.dense(h)  # (n, dense)
        logits = self.logit(h).squeeze(1)  # (n,)
        if self.conditioning == "projection":
            assert y is not None
            logits = logits + (self.embed(y.to(h.device)).to(h.dtype) * h).sum(1)  # + <embed(y), h>
        return logits


@GENERATORS.register("dcgan")
def dcgan_generator(
    cfg: GeneratorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    return DCGANGenerator(noise_dim, data_shape, cfg.width, output_activation(cfg, bounded), n_classes)


@DISCRIMINATORS.register("dcgan")
def dcgan_discriminator(
    cfg: DiscriminatorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    return DCGANDiscriminator(
        data_shape, cfg.width, n_classes, cfg.conditioning, cfg.dropout_input, cfg.dropout_hidden, cfg.dense
    )
