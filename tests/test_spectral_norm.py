"""``discriminator.spectral_norm``: every convolution and linear weight of D divided by its largest singular
value (Miyato et al. 2018), for every D family; off, D is built exactly as before; a run with it resumes
exactly. ``discriminator.logit_scale``: D's logits times a constant, D's weights and keys unchanged."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import origan
from origan.config import load_config
from origan.errors import ConfigError
from origan.models import build_discriminator
from origan.models.spectral import _SpectralDivide, spectral_norm


def _weighted(net: nn.Module) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


@pytest.mark.parametrize(("preset", "shape"), [("dcgan-digits", (1, 28, 28)), ("mnist", (1, 28, 28)), ("ring8", (2,))])
def test_every_weight_of_d_has_largest_singular_value_one(preset, shape):
    cfg = load_config(preset, overrides=["discriminator.spectral_norm=true"])
    torch.manual_seed(0)
    D = build_discriminator(cfg.discriminator, shape, True, 100)
    layers = _weighted(D)
    assert layers and all(nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    D.train()
    x = torch.rand(16, *shape)
    for _ in range(100):  # one power iteration per training-mode forward pass
        D(x)
    D.eval()
    for m in layers:
        w = m.weight.detach().flatten(1)  # (out, in * kh * kw): the matrix the normalisation divides
        sigma = torch.linalg.matrix_norm(w.double(), ord=2).item()
        # The power iteration's estimate is a lower bound that converges at the rate (sigma_2 / sigma_1)^2 a
        # pass, slowly for random matrices whose top singular values lie close (maxout's: 1.005 after 50 passes).
        assert 1 - 1e-4 < sigma < 1.01, (preset, m, sigma)


def test_off_builds_d_exactly_as_before():
    cfg = load_config("dcgan-digits")
    assert cfg.discriminator.spectral_norm is False
    torch.manual_seed(0)
    D = build_discriminator(cfg.discriminator, (1, 28, 28), True, 100)
    assert not any(nn.utils.parametrize.is_parametrized(m) for m in D.modules())
    assert all("parametrizations" not in k for k in D.state_dict())


def test_a_bad_value_is_a_config_error():
    with pytest.raises(ConfigError, match="discriminator.spectral_norm"):
        load_config("dcgan-digits", overrides=["discriminator.spectral_norm=2"])


@pytest.mark.parametrize(
    ("preset", "shape"),
    [("mnist-conv", (1, 28, 28)), ("mnist-conv-cond", (1, 28, 28)), ("mnist", (1, 28, 28)), ("ring8", (2,))],
)
def test_logit_scale_multiplies_the_logits_and_leaves_the_weights(preset, shape):
    nets = []
    for scale in (1, 4):
        cfg = load_config(preset, overrides=[f"discriminator.logit_scale={scale}"])
        torch.manual_seed(0)
        nets.append(build_discriminator(cfg.discriminator, shape, True, 100, n_classes=10 * cfg.train.conditional))
    one, four = nets
    a, b = one.state_dict(), four.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # checkpoints load either way
    x, y = torch.rand(8, *shape), torch.arange(8)
    args = (x, y) if getattr(one, "conditional", False) else (x,)
    one.eval(), four.eval()
    with torch.no_grad():
        assert torch.equal(four(*args), 4 * one(*args))  # a power of two: exact in floating point


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1001", "'four'", "true"])
def test_a_bad_logit_scale_is_a_config_error(value):
    with pytest.raises(ConfigError, match="discriminator.logit_scale"):
        load_config("mnist-conv", overrides=[f"discriminator.logit_scale={value}"])


def _cfg(steps: int, *extra: str):
    return load_config(
        "dcgan-digits",
        overrides=[
            "data.name=digits",
            "noise.dim=16",
            "generator.width=16",
            "discriminator.width=16",
            "discriminator.spectral_norm=true",
            f"train.steps={steps}",
            "train.batch_size=32",
            "train.log_every=1",
            "train.sample_every=0",
            "train.checkpoint_every=0",
            *extra,
        ],
    )


@pytest.mark.parametrize("extra", [(), ("discriminator.logit_scale=4",)])
def test_a_run_with_it_trains_and_resumes_exactly(tmp_path, extra):
    whole = origan.train(_cfg(4, *extra), out=tmp_path / "whole")
    origan.train(_cfg(2, *extra), out=tmp_path / "part")
    resumed = origan.resume(tmp_path / "part", overrides={"train.steps": 4})
    a, b = whole.gan.D.state_dict(), resumed.gan.D.state_dict()
    assert any(k.endswith("_u") for k in a)  # the power iteration's vectors are part of D's state
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(whole.sample(8, seed=0), resumed.sample(8, seed=0))


@pytest.mark.parametrize(
    ("make", "shape"),
    [(lambda: nn.Linear(50, 30), (50,)), (lambda: nn.Conv2d(3, 8, 4, 2, 1), (3, 8, 8))],
    ids=["linear", "conv"],
)
def test_it_computes_what_pytorchs_spectral_norm_computes(make, shape):
    # The same initial draws, buffers and keys as nn.utils.parametrizations.spectral_norm; the same outputs and
    # (in float64, to rounding) the same gradients through several training passes: only the backward is fused.
    torch.manual_seed(1)
    ours = make().double()
    torch.manual_seed(2)
    spectral_norm(ours)
    torch.manual_seed(1)
    theirs = make().double()
    torch.manual_seed(2)
    nn.utils.parametrizations.spectral_norm(theirs)
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    x = torch.randn(16, *shape, dtype=torch.double)
    for _ in range(3):
        y_ours, y_theirs = ours(x), theirs(x)
        torch.testing.assert_close(y_ours, y_theirs, rtol=1e-12, atol=1e-12)
        (y_ours.square().sum() + y_ours.sum()).backward()
        (y_theirs.square().sum() + y_theirs.sum()).backward()
    g_ours = ours.parametrizations.weight.original.grad
    g_theirs = theirs.parametrizations.weight.original.grad
    torch.testing.assert_close(g_ours, g_theirs, rtol=1e-10, atol=1e-12)
    a, b = ours.state_dict(), theirs.state_dict()
    torch.testing.assert_close(a["parametrizations.weight.0._u"], b["parametrizations.weight.0._u"], rtol=0, atol=1e-12)


def test_its_gradient_is_the_derivative_of_w_over_sigma():
    torch.manual_seed(0)
    w = torch.randn(7, 3, 2, 2, dtype=torch.double, requires_grad=True)
    u = nn.functional.normalize(torch.randn(7, dtype=torch.double), dim=0)
    v = nn.functional.normalize(torch.randn(12, dtype=torch.double), dim=0)
    assert torch.autograd.gradcheck(lambda w: _SpectralDivide.apply(w, u, v), (w,))
