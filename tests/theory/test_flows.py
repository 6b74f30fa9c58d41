"""Generators with exact density: change of variables against autograd Jacobians, against samples (KS and
box counts), normalisation by quadrature, and training through the library like any generator."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

import origan
from origan import theory
from origan.config import load_config
from origan.errors import ConfigError
from origan.gan import GAN
from origan.models import GENERATORS, build_generator
from origan.models.flows import AffineFlow, CouplingFlow, SplineFlow
from origan.models.mlp import MLPDiscriminator
from origan.priors import NormalPrior, UniformPrior
from origan.theory import Domain, FlowDensity


def _random_flow(kind: str, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    flow = {
        "affine1": lambda: AffineFlow((1,)),
        "affine2": lambda: AffineFlow((2,)),
        "spline": lambda: SplineFlow((1,), bins=6, bound=2.5),
        "coupling": lambda: CouplingFlow((2,), layers=3, hidden=(16,)),
    }[kind]()
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(0.3 * torch.randn_like(p))
    flow.bind_prior(NormalPrior(flow.dim))
    return flow.double()


FLOWS = ["affine1", "affine2", "spline", "coupling"]


@pytest.mark.parametrize("kind", FLOWS)
def test_inverse_and_log_det_against_autograd_jacobian(kind):
    flow = _random_flow(kind)
    z = 2.5 * torch.randn(
        40, flow.dim, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )  # spline tails too
    x, log_det = flow.transform(z)
    z_back, log_det_inv = flow.inverse(x)
    torch.testing.assert_close(z_back, z, atol=1e-10, rtol=0)
    torch.testing.assert_close(log_det_inv, -log_det, atol=1e-10, rtol=0)
    jac = torch.stack([torch.autograd.functional.jacobian(lambda v: flow.transform(v[None])[0][0], zi) for zi in z])
    torch.testing.assert_close(log_det, torch.linalg.slogdet(jac)[1], atol=1e-10, rtol=0)
    # log p_g(x) = log p_z(z) - log|det dG/dz|, two ways
    _, lp = flow.sample_with_log_prob(z)
    torch.testing.assert_close(flow.log_prob(x), lp, atol=1e-10, rtol=0)
    torch.testing.assert_close(lp, NormalPrior(flow.dim).log_prob(z) - torch.linalg.slogdet(jac)[1], atol=1e-10, rtol=0)


@pytest.mark.parametrize("kind", ["affine1", "spline"])
def test_1d_density_matches_samples_ks(kind):
    """The CDF obtained by integrating exp(log_prob) agrees with G's samples (Kolmogorov-Smirnov)."""
    density = FlowDensity(_random_flow(kind))
    x = density.sample(4000, torch.Generator().manual_seed(2))[:, 0].numpy()
    grid = torch.linspace(float(x.min()) - 5, float(x.max()) + 5, 40001, dtype=torch.float64)
    pdf = density.log_prob(grid[:, None]).exp().numpy()
    cdf = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2 * np.diff(grid.numpy()))])
    assert cdf[-1] == pytest.approx(1.0, abs=1e-4)
    result = stats.kstest(x, lambda t: np.interp(t, grid.numpy(), cdf))
    assert result.pvalue > 1e-3
    wrong = stats.kstest(x, lambda t: np.interp(t + 0.15, grid.numpy(), cdf))  # a shifted density is rejected
    assert wrong.pvalue < 1e-3


@pytest.mark.parametrize("kind", ["affine2", "coupling"])
def test_2d_density_matches_sample_counts_in_boxes(kind):
    density = FlowDensity(_random_flow(kind))
    n = 20_000
    x = density.sample(n, torch.Generator().manual_seed(3))
    for i, (cx, cy) in enumerate([(0.0, 0.0), (0.5, -0.5), (-0.7, 0.4)]):
        box = Domain.box([(cx - 0.6, cx + 0.6), (cy - 0.4, cy + 0.4)], 8)
        prob = theory.summary(density.log_prob, density.log_prob, box)["mass_data"].value
        inside = ((x[:, 0] - cx).abs() <= 0.6) & ((x[:, 1] - cy).abs() <= 0.4)
        frac = float(inside.double().mean())
        se = math.sqrt(prob * (1 - prob) / n)
        assert abs(frac - prob) <= 4.5 * se, (i, frac, prob)


@pytest.mark.parametrize("kind", FLOWS)
def test_log_prob_integrates_to_one(kind):
    density = FlowDensity(_random_flow(kind))
    x = density.sample(50_000, torch.Generator().manual_seed(4))
    lo, hi = x.min(0).values - 4, x.max(0).values + 4
    domain = Domain.box(
        list(zip(lo.tolist(), hi.tolist(), strict=False)),
        60 if density.dim == 1 else 24,
        breaks=density.flow.knots().tolist() if kind == "spline" else (),
    )
    mass = theory.summary(density.log_prob, density.log_prob, domain, order=12 if density.dim == 1 else 8)["mass_data"]
    assert mass.value == pytest.approx(1.0, abs=2e-6)


def test_uniform_prior_gives_minus_inf_outside_the_image():
    flow = SplineFlow((1,), bins=4, bound=math.sqrt(3.0), prior=UniformPrior(1)).double()
    lo, hi = flow(torch.tensor([[-math.sqrt(3.0)], [math.sqrt(3.0)]], dtype=torch.float64))[:, 0].tolist()
    lp = flow.log_prob(torch.tensor([[lo - 0.1], [0.0], [hi + 0.1]], dtype=torch.float64))
    assert lp[0].item() == -math.inf and lp[2].item() == -math.inf and math.isfinite(lp[1].item())


def test_flows_are_identity_at_initialisation():
    z = torch.randn(10, 2)
    for flow in (AffineFlow((2,)), SplineFlow((2,), bins=5, bound=2.0), CouplingFlow((2,), layers=2, hidden=(8,))):
        torch.testing.assert_close(flow(z), z)


def test_registry_builds_flows_and_checks_dimensions():
    cfg = load_config(
        "ring8", overrides=["generator.name=coupling", "generator.coupling_layers=3", "generator.hidden=[16]"]
    )
    flow = build_generator(cfg.generator, (2,), False, 2)
    assert isinstance(flow, CouplingFlow) and len(flow.layers) == 3
    assert {"affine", "spline", "coupling"} <= set(GENERATORS)
    with pytest.raises(ConfigError, match="noise.dim"):
        build_generator(cfg.generator, (2,), False, 5)
    with pytest.raises(ConfigError, match="coupling"):
        build_generator(cfg.generator, (1,), False, 1)
    with pytest.raises(ConfigError, match="generator.spline_bins"):
        load_config("gauss1d", overrides=["generator.name=spline", "generator.spline_bins=1", "noise.prior=normal"])


def test_gan_binds_its_prior_so_log_prob_works():
    flow = AffineFlow((1,))
    with pytest.raises(RuntimeError, match="prior"):
        flow.log_prob(torch.zeros(3, 1))
    gan = GAN(flow, MLPDiscriminator((1,), (8,)), NormalPrior(1))
    torch.testing.assert_close(gan.G.log_prob(torch.zeros(1, 1)), torch.tensor([-0.5 * math.log(2 * math.pi)]))


@pytest.mark.parametrize("name, preset", [("spline", "gauss1d"), ("coupling", "ring8"), ("affine", "ring8")])
def test_flows_train_through_origan_train_and_reload(tmp_path, name, preset):
    cfg = load_config(
        preset,
        overrides=[
            f"generator.name={name}",
            "generator.hidden=[16]",
            "generator.coupling_layers=2",
            "noise.prior=normal",
            "train.steps=30",
            "train.log_every=10",
            "train.sample_every=0",
            "train.checkpoint_every=0",
            "data.n_train=2000",
            "data.n_val=100",
            "data.n_test=100",
            "train.batch_size=64",
            "train.device=cpu",
        ],
    )
    before = build_generator(cfg.generator, (cfg.noise.dim,), False, cfg.noise.dim).state_dict()
    run = origan.train(cfg, tmp_path / "run")
    after = run.gan.G.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # G trained
    loaded = origan.load_run(tmp_path / "run")
    x = loaded.sample(16, seed=0)
    torch.testing.assert_close(loaded.gan.G.log_prob(x), run.gan.G.log_prob(x))
    assert torch.isfinite(loaded.gan.G.log_prob(x)).all()
