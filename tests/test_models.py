"""Models: maxout against a naive reference, dropout, initialisation, shapes; priors; toy targets."""

import math

import pytest
import torch

from origan.config import DiscriminatorConfig, GeneratorConfig
from origan.data.toy import GaussianMixture, grid25, ring8
from origan.errors import ConfigError
from origan.models import DISCRIMINATORS, GENERATORS, build_discriminator, build_generator
from origan.models.mlp import Maxout, MaxoutDiscriminator, MLPDiscriminator, MLPGenerator
from origan.priors import PRIORS, NormalPrior, UniformPrior, build_prior


def test_maxout_matches_naive_reference():
    torch.manual_seed(0)
    layer = Maxout(7, units=4, pieces=3).double()
    x = torch.randn(5, 7, dtype=torch.float64)
    w, b = (
        layer.linear.weight.detach(),
        layer.linear.bias.detach(),
    )  # (pieces * units, in): piece j of unit u is row j * units + u
    expected = torch.empty(5, 4, dtype=torch.float64)
    for n in range(5):
        for u in range(4):
            expected[n, u] = max(float(w[j * 4 + u] @ x[n] + b[j * 4 + u]) for j in range(3))
    torch.testing.assert_close(layer(x), expected)


def test_dropout_inactive_in_eval_mode_and_active_in_train_mode():
    torch.manual_seed(0)
    d = MaxoutDiscriminator((1, 28, 28), units=16, pieces=3, layers=2, init_range=0.5)
    x = torch.rand(8, 1, 28, 28)
    d.eval()
    torch.testing.assert_close(d(x), d(x))
    d.train()
    assert not torch.equal(d(x), d(x))


def test_paper_initialisation_ranges():
    torch.manual_seed(0)
    g = MLPGenerator(100, (1, 28, 28), (1200, 1200), init_range=0.05)
    d = MaxoutDiscriminator((1, 28, 28), 240, 5, 2, init_range=0.005)
    for m in g.modules():
        if isinstance(m, torch.nn.Linear):
            assert m.weight.abs().max() <= 0.05 and m.weight.abs().max() > 0.04
    for m in d.modules():
        if isinstance(m, torch.nn.Linear):
            assert m.weight.abs().max() <= 0.005 and torch.all(m.bias == 0)
    mean = torch.rand(1, 28, 28) * 0.8 + 0.1
    g.init_output_bias(mean)
    with torch.no_grad():
        # Zero weights in the last layer would give exactly the data mean; the bias is its logit.
        torch.testing.assert_close(torch.sigmoid(g.out.bias), mean.reshape(-1))


def test_generator_and_discriminator_shapes():
    g = MLPGenerator(3, (2,), (8,), output="identity")
    assert g(torch.randn(5, 3)).shape == (5, 2)
    g = MLPGenerator(3, (1, 8, 8), (8,), output="sigmoid")
    x = g(torch.randn(5, 3))
    assert x.shape == (5, 1, 8, 8) and x.min() >= 0 and x.max() <= 1
    assert MLPDiscriminator((1, 8, 8), (16,))(x).shape == (5,)


def test_uniform_prior_has_zero_mean_unit_variance_and_exact_density():
    p = UniformPrior(100)
    z = p.sample(20000, torch.Generator().manual_seed(0))
    assert z.abs().max() <= math.sqrt(3)
    assert abs(z.mean().item()) < 0.01 and abs(z.var().item() - 1) < 0.01
    lp = p.log_prob(torch.zeros(1, 100, dtype=torch.float64))
    assert lp.item() == pytest.approx(-100 * math.log(2 * math.sqrt(3)))
    assert p.log_prob(torch.full((1, 100), 2.0)).item() == -math.inf


def test_normal_prior_log_prob():
    p = NormalPrior(2)
    z = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    expected = -0.5 * (0.09 + 1.44) - math.log(2 * math.pi)
    assert p.log_prob(z).item() == pytest.approx(expected, abs=1e-14)


def test_toy_targets_log_prob_against_scipy():
    from scipy.stats import multivariate_normal

    target = GaussianMixture([[0.0, 1.0], [2.0, -1.0]], [0.5, 1.5], [0.3, 0.7])
    x = torch.tensor([[0.1, 0.2], [3.0, -2.0], [-1.0, 4.0]], dtype=torch.float64)
    expected = [
        math.log(0.3 * multivariate_normal([0, 1], 0.25).pdf(p) + 0.7 * multivariate_normal([2, -1], 2.25).pdf(p))
        for p in x.tolist()
    ]
    torch.testing.assert_close(target.log_prob(x), torch.tensor(expected, dtype=torch.float64))


def test_ring_and_grid_geometry_and_samples():
    r = ring8()
    torch.testing.assert_close(r.modes.norm(dim=1), torch.ones(8, dtype=torch.float64))
    g = grid25()
    assert sorted(set(g.modes[:, 0].tolist())) == [-4, -2, 0, 2, 4]
    x = g.sample(5000, torch.Generator().manual_seed(0))
    nearest = torch.cdist(x.double(), g.modes).min(1).values
    assert nearest.max() < 0.05 * 6  # every sample within 6 std of a mode


def test_every_registered_model_builds_from_its_typed_config_where_it_is_defined():
    assert sorted(GENERATORS) == ["affine", "coupling", "dcgan", "mlp", "paper-conv", "paper-fc", "spline"]
    assert sorted(DISCRIMINATORS) == ["dcgan", "maxout", "maxout-conv", "mlp"]
    homes = {"mlp": "mlp", "maxout": "mlp", "affine": "flows", "spline": "flows", "coupling": "flows", "dcgan": "conv"}
    homes |= {"paper-fc": "paper", "paper-conv": "paper", "maxout-conv": "paper"}
    shape = (1, 8, 8)  # 64 dimensions: every model applies, flows with noise.dim = 64
    for name in GENERATORS:
        assert GENERATORS[name].__module__ == f"origan.models.{homes[name]}"
        g = build_generator(GeneratorConfig(name=name, hidden=(8, 8), width=4), shape, True, 64)
        assert g(torch.randn(3, 64)).shape == (3, *shape), name
    for name in DISCRIMINATORS:
        assert DISCRIMINATORS[name].__module__ == f"origan.models.{homes[name]}"
        d = build_discriminator(DiscriminatorConfig(name=name, hidden=(8, 8), width=4), shape, True, 64)
        assert d(torch.rand(3, *shape)).shape == (3,), name


def test_unknown_model_and_prior_names_are_config_errors_listing_the_known_ones():
    with pytest.raises(ConfigError) as e:
        build_generator(GeneratorConfig(name="vae"), (2,), False, 2)
    assert (
        str(e.value) == "generator.name: unknown generator 'vae'; expected one of affine, coupling, dcgan, mlp, "
        "paper-conv, paper-fc, spline"
    )
    with pytest.raises(ConfigError) as e:
        build_prior("cauchy", 2)
    assert str(e.value) == "noise.prior: unknown prior 'cauchy'; expected one of normal, uniform"
    assert list(PRIORS) == ["uniform", "normal"] and isinstance(build_prior("normal", 3), NormalPrior)
