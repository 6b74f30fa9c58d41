"""The contract of every registered generator, discriminator, prior and G cost.

Parametrised over the registries themselves, so a newly registered member is checked without a new test:
G maps ``(n, noise_dim)`` to ``(n, *shape)``, D maps ``(n, *shape)`` to ``(n,)`` logits, gradients reach every
parameter and are finite, and a shape a member cannot serve is a one-line ConfigError, never a crash.
"""

from __future__ import annotations

import math

import pytest
import torch

from origan.config import DiscriminatorConfig, GeneratorConfig
from origan.errors import ConfigError
from origan.gan import GAN
from origan.losses import GENERATOR_LOSSES, d_loss, g_loss
from origan.models import DISCRIMINATORS, GENERATORS, build_discriminator, build_generator
from origan.priors import PRIORS, build_prior

# Sample shapes every family should meet: an 8x8 image (bounded), a 2-D point and a 1-D point (unbounded).
SHAPES = {"image 1x8x8": ((1, 8, 8), True), "vector 2": ((2,), False), "vector 1": ((1,), False)}
SMALL_G = GeneratorConfig(hidden=(16,), width=8, coupling_layers=2, spline_bins=4)
SMALL_D = DiscriminatorConfig(hidden=(8, 8), pieces=2, width=8)


def _noise_dim(g_name: str, shape: tuple[int, ...]) -> int:
    return math.prod(shape) if g_name in ("affine", "spline", "coupling") else 5


def _build(g_name: str, d_name: str, shape: tuple[int, ...], bounded: bool):
    noise_dim = _noise_dim(g_name, shape)
    G = build_generator(GeneratorConfig(**{**SMALL_G.__dict__, "name": g_name}), shape, bounded, noise_dim)
    D = build_discriminator(DiscriminatorConfig(**{**SMALL_D.__dict__, "name": d_name}), shape, bounded, noise_dim)
    return G, D, noise_dim


@pytest.mark.parametrize("shape_name", list(SHAPES))
@pytest.mark.parametrize("d_name", list(DISCRIMINATORS))
@pytest.mark.parametrize("g_name", list(GENERATORS))
def test_every_generator_and_discriminator_pair(g_name, d_name, shape_name):
    shape, bounded = SHAPES[shape_name]
    torch.manual_seed(0)
    try:
        G, D, noise_dim = _build(g_name, d_name, shape, bounded)
    except ConfigError as e:  # a member that cannot serve this shape says so in one line naming the key
        assert shape_name != "image 1x8x8", "every generator and discriminator serves 8x8 images"
        assert "\n" not in str(e) and str(e).split(":")[0] in ("noise.dim", "generator.name", "discriminator.name")
        return
    gan = GAN(G, D, build_prior("normal", noise_dim), "nonsaturating").train()
    n = 6
    z = torch.randn(n, noise_dim, generator=torch.Generator().manual_seed(1))  # (n, noise_dim)
    x_fake = G(z)  # (n, *shape)
    assert x_fake.shape == (n, *shape) and x_fake.dtype == torch.float32
    assert torch.isfinite(x_fake).all()
    if bounded and g_name not in ("affine", "spline", "coupling"):
        assert ((x_fake >= 0) & (x_fake <= 1)).all()
    x_real = torch.rand(n, *shape, generator=torch.Generator().manual_seed(2))  # (n, *shape)
    logits_real, logits_fake = D(x_real), D(x_fake)
    assert logits_real.shape == (n,) and logits_fake.shape == (n,)
    loss = d_loss(logits_real, logits_fake) + gan.g_objective(z).loss
    loss.backward()
    for name, p in [
        *(("G." + k, v) for k, v in G.named_parameters()),
        *(("D." + k, v) for k, v in D.named_parameters()),
    ]:
        assert p.grad is not None, f"{name} gets no gradient"
        assert torch.isfinite(p.grad).all(), f"{name} has a non-finite gradient"


@pytest.mark.parametrize("conditioning", ["projection", "input"])
@pytest.mark.parametrize("d_name", list(DISCRIMINATORS))
@pytest.mark.parametrize("g_name", list(GENERATORS))
def test_every_family_is_conditional_or_says_it_cannot_be(g_name, d_name, conditioning):
    """With ``n_classes`` a net is ``conditional``: G(z, y) and D(x, y) keep the shapes above, gradients reach
    every parameter (the class embeddings too); a family without a conditional form is a one-line ConfigError."""
    shape, k = (1, 8, 8), 3
    noise_dim = _noise_dim(g_name, shape)
    torch.manual_seed(0)
    try:
        G = build_generator(GeneratorConfig(**{**SMALL_G.__dict__, "name": g_name}), shape, True, noise_dim, k)
    except ConfigError as e:
        assert g_name in ("affine", "spline", "coupling", "paper-fc", "paper-conv") and "\n" not in str(e)
        assert str(e).startswith(f"train.conditional: the {g_name} generator is unconditional")
        return
    d_cfg = DiscriminatorConfig(**{**SMALL_D.__dict__, "name": d_name, "conditioning": conditioning})
    try:
        D = build_discriminator(d_cfg, shape, True, noise_dim, k)
    except ConfigError as e:
        assert d_name == "maxout-conv" and "\n" not in str(e)
        assert str(e).startswith(f"train.conditional: the {d_name} discriminator is unconditional")
        return
    assert G.conditional and D.conditional
    gan = GAN(G, D, build_prior("normal", noise_dim), "nonsaturating").train()
    n = 6
    z = torch.randn(n, noise_dim, generator=torch.Generator().manual_seed(1))  # (n, noise_dim)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    x_fake = G(z, y)
    assert x_fake.shape == (n, *shape) and ((x_fake >= 0) & (x_fake <= 1)).all()
    x_real = torch.rand(n, *shape, generator=torch.Generator().manual_seed(2))
    logits_real = D(x_real, y)
    assert logits_real.shape == (n,)
    loss = d_loss(logits_real, D(x_fake, y)) + gan.g_objective(z, y).loss
    loss.backward()
    for name, p in [
        *(("G." + a, v) for a, v in G.named_parameters()),
        *(("D." + a, v) for a, v in D.named_parameters()),
    ]:
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("g_name", [g for g in GENERATORS if g in ("affine", "spline", "coupling")])
def test_every_flow_generator_has_an_exact_log_density(g_name):
    """Change of variables: log p_g(G(z)) = log p_z(z) - log|det dG/dz|, checked against autograd's Jacobian."""
    shape = (2,)
    torch.manual_seed(0)
    G = build_generator(GeneratorConfig(**{**SMALL_G.__dict__, "name": g_name}), shape, False, 2).double()
    prior = build_prior("normal", 2)
    z = torch.randn(5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    x = G(z)
    G.bind_prior(prior)
    for zi, xi in zip(z, x, strict=True):
        jac = torch.autograd.functional.jacobian(lambda v: G(v[None])[0], zi)  # (2, 2)
        expected = prior.log_prob(zi[None].float()).double() - torch.linalg.slogdet(jac)[1]
        torch.testing.assert_close(G.log_prob(xi[None]), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", list(PRIORS))
def test_every_prior_samples_its_log_density(name):
    prior = build_prior(name, 3)
    z = prior.sample(4000, generator=torch.Generator().manual_seed(0))  # (4000, 3)
    assert z.shape == (4000, 3) and torch.isfinite(prior.log_prob(z)).all()
    # zero mean and unit variance per coordinate (both priors are standardised), within 5 standard errors
    assert z.mean(0).abs().max() < 5 / math.sqrt(4000)
    assert (z.var(0) - 1).abs().max() < 0.1
    again = prior.sample(4000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(z, again)


@pytest.mark.parametrize("name", list(GENERATOR_LOSSES))
def test_every_generator_cost_is_finite_on_extreme_logits_and_pushes_d_of_g_up(name):
    logits = torch.tensor([-200.0, -20.0, 0.0, 20.0, 200.0], requires_grad=True)
    cost = g_loss(name)(logits)
    assert (cost.shape == () and torch.isfinite(cost)) or name == "ml"  # -exp(200)/2 overflows by definition
    logits_mid = torch.linspace(-3, 3, 7, requires_grad=True)
    (grad,) = torch.autograd.grad(g_loss(name)(logits_mid), logits_mid)
    assert torch.isfinite(grad).all() and (grad < 0).all()  # every cost falls as D(G(z)) rises
