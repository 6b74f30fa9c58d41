"""Generators with an exact density: invertible maps x = G(z) and log p_g(x) by change of variables.

The proof of the paper's Section 4 writes p_g as the push-forward of p_z through G. For an invertible G
that push-forward has a density we can evaluate:

    log p_g(x) = log p_z(G^-1(x)) + log |det dG^-1/dx (x)|

Every flow here is an ``nn.Module`` with ``forward(z) -> x`` (so it trains like any generator) and
``log_prob(x) -> (n,)``. The noise prior is bound by :meth:`Flow.bind_prior`; :class:`~origan.gan.GAN` binds
its own prior, so ``gan.G.log_prob(x)`` works for any GAN whose generator is a flow.

- :class:`AffineFlow`: ``x = b + L z`` with L lower triangular, positive diagonal (any d; a Gaussian p_g
  under a normal prior).
- :class:`SplineFlow`: an elementwise monotone rational-quadratic spline (Durkan et al. 2019) on
  [-B, B] with linear tails, then a scale and a shift (meant for 1-D; identity at initialisation).
- :class:`CouplingFlow`: affine coupling layers (Dinh et al. 2017, RealNVP) with alternating halves,
  then a scale and a shift (d >= 2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ..config import GeneratorConfig
from ..errors import ConfigError
from ..priors import Prior
from .builders import GENERATORS, unconditional_only

__all__ = ["AffineFlow", "CouplingFlow", "Flow", "SplineFlow", "rq_spline"]


class Flow(nn.Module):
    """An invertible generator ``z (n, d) -> x (n, *data_shape)`` with ``prod(data_shape) == d``.

    Subclasses implement :meth:`transform` (z -> x and log|det dx/dz|) and :meth:`inverse`
    (x -> z and log|det dz/dx|) on flat ``(n, d)`` tensors.
    """

    shift: nn.Parameter  # (d,) the final shift; every subclass registers it

    def __init__(self, data_shape: Sequence[int], prior: Prior | None = None) -> None:
        super().__init__()
        self.data_shape = tuple(data_shape)
        self.dim = math.prod(self.data_shape)
        self.prior = prior  # not a module: it holds no parameters and is not saved with the weights

    def bind_prior(self, prior: Prior) -> None:
        """Use ``prior`` as p_z in :meth:`log_prob` (the GAN binds its own prior)."""
        if prior.dim != self.dim:
            raise ValueError(f"a flow on {self.dim} dimensions needs a {self.dim}-d prior, got {prior.dim}-d")
        self.prior = prior

    def transform(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """``(x (n, d), log|det dx/dz| (n,))``."""
        raise NotImplementedError

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(z (n, d), log|det dz/dx| (n,))``."""
        raise NotImplementedError

    def forward(self, z: Tensor) -> Tensor:
        x, _ = self.transform(z)  # (n, d)
        return x.view(z.shape[0], *self.data_shape)

    def log_prob(self, x: Tensor) -> Tensor:
        """``(n,)`` exact log p_g(x) for ``x`` of shape ``(n, *data_shape)``; -inf where p_z(G^-1(x)) = 0."""
        if self.prior is None:
            raise RuntimeError("this flow has no prior: pass prior= or call bind_prior(prior) (a GAN does this)")
        z, log_det = self.inverse(x.reshape(x.shape[0], self.dim))  # (n, d), (n,)
        return self.prior.log_prob(z) + log_det

    def sample_with_log_prob(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """``(x (n, *data_shape), log p_g(x) (n,))`` for noise ``z (n, d)`` without inverting G."""
        if self.prior is None:
            raise RuntimeError("this flow has no prior: pass prior= or call bind_prior(prior) (a GAN does this)")
        x, log_det = self.transform(z)
        return x.view(z.shape[0], *self.data_shape), self.prior.log_prob(z) - log_det

    @torch.no_grad()
    def init_output_bias(self, data_mean: Tensor) -> None:
        """Start G's output centred on the data's mean (the final shift)."""
        self.shift.copy_(data_mean.reshape(-1).to(self.shift))


class AffineFlow(Flow):
    """``x = b + L z`` with L lower triangular and diag(L) = exp(log_diag) > 0; identity at initialisation."""

    def __init__(self, data_shape: Sequence[int], prior: Prior | None = None) -> None:
        super().__init__(data_shape, prior)
        d = self.dim
        self.shift = nn.Parameter(torch.zeros(d))  # b (d,)
        self.log_diag = nn.Parameter(torch.zeros(d))  # log diag(L) (d,)
        self.lower = nn.Parameter(torch.zeros(d, d))  # strictly lower part of L (d, d); the rest is masked off

    def matrix(self) -> Tensor:
        """``(d, d)`` the lower-triangular L."""
        return torch.tril(self.lower, diagonal=-1) + torch.diag(self.log_diag.exp())

    def transform(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = self.shift + z @ self.matrix().T  # (n, d)
        return x, self.log_diag.sum().expand(z.shape[0])

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        centred = (x - self.shift).T  # (d, n)
        z = torch.linalg.solve_triangular(self.matrix(), centred, upper=False).T  # (n, d)
        return z, (-self.log_diag.sum()).expand(x.shape[0])


# ---------------------------------------------------------------------------------------------------------
# Rational-quadratic spline (Durkan, Bekasov, Murray, Papamakarios 2019, "Neural Spline Flows")

MIN_BIN = 1e-3  # smallest bin, as a fraction of [-bound, bound] (keeps the inverse well conditioned)
MIN_DERIV = 1e-3  # smallest derivative at a knot


def _knots(raw: Tensor, bound: float, min_size: float) -> Tensor:
    """``(..., K+1)`` increasing knots from exactly -bound to exactly bound; each bin >= ``min_size`` of the range."""
    k = raw.shape[-1]
    sizes = min_size + (1 - min_size * k) * torch.softmax(raw, dim=-1)  # (..., K), sums to 1
    inner = 2 * bound * torch.cumsum(sizes, dim=-1)[..., :-1] - bound  # (..., K-1)
    ends = torch.full_like(inner[..., :1], bound)
    return torch.cat([-ends, inner, ends], dim=-1)


def rq_spline(
    inputs: Tensor,
    raw_widths: Tensor,
    raw_heights: Tensor,
    raw_derivs: Tensor,
    bound: float,
    inverse: bool = False,
    min_size: float = MIN_BIN,
    min_deriv: float = MIN_DERIV,
) -> tuple[Tensor, Tensor]:
    """The monotone rational-quadratic spline on [-bound, bound], linear outside, applied elementwise.

    Args:
        inputs: ``(n, d)``.
        raw_widths, raw_heights: ``(d, K)`` unnormalised bin widths and heights.
        raw_derivs: ``(d, K+1)`` unconstrained derivatives at the knots; outside [-bound, bound] the map
            continues linearly with the end knots' slopes (so it is C1 and invertible on all of R).
        inverse: evaluate the inverse map (solved exactly: a quadratic per element).

    Returns:
        ``(outputs (n, d), log|d out / d in| (n, d))``.
    """
    xk = _knots(raw_widths, bound, min_size)  # (d, K+1)
    yk = _knots(raw_heights, bound, min_size)  # (d, K+1)
    # softplus(raw + c) = 1 - min_deriv at raw = 0, so zero parameters give the identity
    c = math.log(math.expm1(1 - min_deriv))
    derivs = min_deriv + F.softplus(raw_derivs + c)  # (d, K+1)
    inside = (inputs > -bound) & (inputs < bound)  # (n, d)
    knots_in = (yk if inverse else xk).expand(inputs.shape[0], *xk.shape).contiguous()  # (n, d, K+1)
    clamped = inputs.clamp(-bound, bound).contiguous()
    idx = (torch.searchsorted(knots_in, clamped[..., None], right=True) - 1).clamp(0, xk.shape[-1] - 2)  # (n, d, 1)

    def at(t: Tensor, j: int = 0) -> Tensor:
        return torch.gather(t.expand(inputs.shape[0], *t.shape), -1, idx + j)[..., 0]  # (n, d)

    x0, x1, y0, y1 = at(xk), at(xk, 1), at(yk), at(yk, 1)
    d0, d1 = at(derivs), at(derivs, 1)
    w, h = x1 - x0, y1 - y0
    s = h / w  # (n, d) slope of the bin
    if inverse:
        dy = clamped - y0
        a = h * (s - d0) + dy * (d0 + d1 - 2 * s)
        b = h * d0 - dy * (d0 + d1 - 2 * s)
        cq = -s * dy
        disc = (b * b - 4 * a * cq).clamp_min(0)
        xi = (2 * cq) / (-b - disc.sqrt())  # the stable root in [0, 1]
        out = x0 + xi * w
    else:
        xi = (clamped - x0) / w
        out = y0 + h * (s * xi**2 + d0 * xi * (1 - xi)) / (s + (d0 + d1 - 2 * s) * xi * (1 - xi))
    one_minus = 1 - xi
    denom = s + (d0 + d1 - 2 * s) * xi * one_minus
    log_grad = 2 * s.log() + (d1 * xi**2 + 2 * s * xi * one_minus + d0 * one_minus**2).log() - 2 * denom.log()
    if inverse:
        log_grad = -log_grad
    # linear tails: slope d_0 below -bound, d_K above bound (in the inverse, 1 / slope)
    edge_slope = torch.where(inputs <= -bound, derivs[..., 0], derivs[..., -1]).expand_as(inputs)  # (n, d)
    edge = torch.where(inputs <= -bound, -bound, bound)
    tail = edge + (inputs - edge) / edge_slope if inverse else edge + (inputs - edge) * edge_slope
    tail_log_grad = -edge_slope.log() if inverse else edge_slope.log()
    out = torch.where(inside, out, tail)
    log_grad = torch.where(inside, log_grad, tail_log_grad)
    return out, log_grad


class SplineFlow(Flow):
    """``x = shift + exp(log_scale) * RQS(z)``: a monotone rational-quadratic spline per dimension.

    Args:
        data_shape: shape of one sample (``(1,)`` for the 1-D lab).
        bins: number of spline bins K.
        bound: the spline acts on [-bound, bound] of z; outside, it continues linearly with the end slopes.
        prior: p_z, or bind it later.
    """

    def __init__(
        self, data_shape: Sequence[int], bins: int = 16, bound: float = 4.0, prior: Prior | None = None
    ) -> None:
        super().__init__(data_shape, prior)
        if bins < 2 or bound <= 0:
            raise ValueError(f"a spline needs bins >= 2 and bound > 0, got bins={bins}, bound={bound}")
        d = self.dim
        self.bound = float(bound)
        self.raw_widths = nn.Parameter(torch.zeros(d, bins))
        self.raw_heights = nn.Parameter(torch.zeros(d, bins))
        self.raw_derivs = nn.Parameter(torch.zeros(d, bins + 1))
        self.log_scale = nn.Parameter(torch.zeros(d))
        self.shift = nn.Parameter(torch.zeros(d))

    def transform(self, z: Tensor) -> tuple[Tensor, Tensor]:
        y, log_grad = rq_spline(z, self.raw_widths, self.raw_heights, self.raw_derivs, self.bound)  # (n, d) x2
        x = self.shift + self.log_scale.exp() * y
        return x, log_grad.sum(1) + self.log_scale.sum()

    @torch.no_grad()
    def knots(self) -> Tensor:
        """``(d, K+1)`` the knots in x-space: between them log p_g is smooth (quadrature panel edges go there)."""
        yk = _knots(self.raw_heights, self.bound, MIN_BIN)  # (d, K+1)
        return self.shift[:, None] + self.log_scale.exp()[:, None] * yk

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        y = (x - self.shift) * torch.exp(-self.log_scale)
        z, log_grad = rq_spline(y, self.raw_widths, self.raw_heights, self.raw_derivs, self.bound, inverse=True)
        return z, log_grad.sum(1) - self.log_scale.sum()


# ---------------------------------------------------------------------------------------------------------
# Affine coupling (RealNVP)


class _Coupling(nn.Module):
    """``x_b = x_b * exp(s(x_a)) + t(x_a)`` with ``x_a`` the dimensions in ``mask``; s bounded by tanh."""

    mask: Tensor  # a buffer, registered in __init__

    def __init__(self, mask: Tensor, hidden: Sequence[int], max_log_scale: float) -> None:
        super().__init__()
        self.register_buffer("mask", mask)  # (d,) 1 for conditioning dimensions
        d, layers, width = mask.numel(), [], mask.numel()
        for h in hidden:
            layers += [nn.Linear(width, h), nn.Tanh()]
            width = h
        out = nn.Linear(width, 2 * d)
        nn.init.zeros_(out.weight)  # identity at initialisation
        nn.init.zeros_(out.bias)
        self.net = nn.Sequential(*layers, out)
        self.max_log_scale = max_log_scale

    def _scale_shift(self, x_a: Tensor) -> tuple[Tensor, Tensor]:
        raw_s, t = self.net(x_a).chunk(2, dim=1)  # (n, d) each
        free = 1 - self.mask
        return self.max_log_scale * torch.tanh(raw_s / self.max_log_scale) * free, t * free

    def transform(self, z: Tensor) -> tuple[Tensor, Tensor]:
        s, t = self._scale_shift(z * self.mask)
        return z * s.exp() + t, s.sum(1)

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        s, t = self._scale_shift(x * self.mask)
        return (x - t) * torch.exp(-s), -s.sum(1)


class CouplingFlow(Flow):
    """Affine coupling layers on alternating halves of the coordinates, then a per-dimension scale and shift.

    Args:
        data_shape: shape of one sample; needs at least 2 dimensions.
        layers: number of coupling layers.
        hidden: widths of each layer's scale/shift network (tanh).
        max_log_scale: bound on each layer's log-scale (soft, by tanh), for stable training.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        layers: int = 6,
        hidden: Sequence[int] = (64, 64),
        max_log_scale: float = 3.0,
        prior: Prior | None = None,
    ) -> None:
        super().__init__(data_shape, prior)
        d = self.dim
        if d < 2 or layers < 1:
            raise ValueError(f"a coupling flow needs d >= 2 and layers >= 1, got d={d}, layers={layers}")
        half = (torch.arange(d) < d // 2).float()
        masks = [half if i % 2 == 0 else 1 - half for i in range(layers)]
        self.layers = nn.ModuleList(_Coupling(m, hidden, max_log_scale) for m in masks)
        self.log_scale = nn.Parameter(torch.zeros(d))
        self.shift = nn.Parameter(torch.zeros(d))

    @property
    def couplings(self) -> Sequence[_Coupling]:
        """The coupling layers in order: ``self.layers``, which holds only these (a ModuleList is typed as
        holding any module)."""
        return cast("Sequence[_Coupling]", self.layers)

    def transform(self, z: Tensor) -> tuple[Tensor, Tensor]:
        log_det = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
        for layer in self.couplings:
            z, ld = layer.transform(z)
            log_det = log_det + ld
        return self.shift + self.log_scale.exp() * z, log_det + self.log_scale.sum()

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        z = (x - self.shift) * torch.exp(-self.log_scale)
        log_det = (-self.log_scale.sum()).expand(x.shape[0])
        for layer in reversed(self.couplings):
            z, ld = layer.inverse(z)
            log_det = log_det + ld
        return z, log_det


def _check_flow_dim(name: str, data_shape: tuple[int, ...], noise_dim: int) -> None:
    """A flow is a bijection z -> x, so z and x must have the same number of dimensions."""
    if math.prod(data_shape) != noise_dim:
        raise ConfigError(
            f"noise.dim: the {name} generator is invertible and needs noise.dim = the data's "
            f"dimension {math.prod(data_shape)}, got {noise_dim}"
        )


@GENERATORS.register("affine")
def affine_flow(
    cfg: GeneratorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    unconditional_only("affine", n_classes)
    _check_flow_dim("affine", data_shape, noise_dim)
    return AffineFlow(data_shape)


@GENERATORS.register("spline")
def spline_flow(
    cfg: GeneratorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    unconditional_only("spline", n_classes)
    _check_flow_dim("spline", data_shape, noise_dim)
    return SplineFlow(data_shape, bins=cfg.spline_bins, bound=cfg.spline_bound)


@GENERATORS.register("coupling")
def coupling_flow(
    cfg: GeneratorConfig, data_shape: tuple[int, ...], bounded: bool, noise_dim: int, n_classes: int = 0
) -> nn.Module:
    unconditional_only("coupling", n_classes)
    _check_flow_dim("coupling", data_shape, noise_dim)
    if noise_dim < 2:
        raise ConfigError(f"generator.name: a coupling flow needs data of dimension >= 2, got dimension {noise_dim}")
    return CouplingFlow(data_shape, layers=cfg.coupling_layers, hidden=cfg.hidden)
