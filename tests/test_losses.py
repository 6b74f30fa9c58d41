"""Losses against independent formulas and their gradients against closed forms."""

import math

import pytest
import torch

from origan import losses
from origan.errors import ConfigError

pytestmark = pytest.mark.kernels  # identities checked to rounding: `make test-cpus` runs them on other CPUs' kernels

LOGITS = torch.linspace(-20, 20, 401, dtype=torch.float64)


def _sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _log_sigmoid(v: float) -> float:  # independent of softplus: the textbook stable form
    return -math.log1p(math.exp(-v)) if v >= 0 else v - math.log1p(math.exp(v))


def test_value_and_d_loss_match_the_textbook_formula():
    gen = torch.Generator().manual_seed(0)
    lr = torch.randn(64, generator=gen, dtype=torch.float64) * 5
    lf = torch.randn(64, generator=gen, dtype=torch.float64) * 5
    expected = sum(_log_sigmoid(v) for v in lr.tolist()) / 64 + sum(_log_sigmoid(-v) for v in lf.tolist()) / 64
    assert losses.value(lr, lf).item() == pytest.approx(expected, abs=1e-12)
    assert losses.d_loss(lr, lf).item() == pytest.approx(-expected, abs=1e-12)
    assert losses.d_loss_halved(lr, lf).item() == pytest.approx(-expected / 2, abs=1e-12)


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("minimax", lambda v: _log_sigmoid(-v)),  # log(1 - D)
        ("nonsaturating", lambda v: -_log_sigmoid(v)),  # -log D
        ("ml", lambda v: -math.exp(v) / 2),  # -exp(logit) / 2
    ],
)
def test_generator_losses_match_their_formulas(name, formula):
    fn = losses.GENERATOR_LOSSES[name]
    for v in LOGITS.tolist():
        got = fn(torch.tensor([v], dtype=torch.float64)).item()
        assert got == pytest.approx(formula(v), rel=1e-12, abs=1e-12), v


@pytest.mark.parametrize(
    ("name", "grad"),
    [
        ("minimax", lambda l: -torch.sigmoid(l)),
        ("nonsaturating", lambda l: -(1 - torch.sigmoid(l))),
        ("ml", lambda l: -torch.exp(l) / 2),
    ],
)
def test_generator_loss_gradients_match_closed_forms(name, grad):
    l = LOGITS.clone().requires_grad_(True)
    # Sum of per-logit losses: the loss of a batch of one per element.
    total = sum(losses.GENERATOR_LOSSES[name](l[i : i + 1]) for i in range(len(l)))
    (g,) = torch.autograd.grad(total, l)
    assert torch.isfinite(g).all()
    torch.testing.assert_close(g, grad(LOGITS), rtol=1e-12, atol=1e-15)


def test_losses_are_finite_in_float32_at_extreme_logits():
    l = torch.tensor([-20.0, 0.0, 20.0, -80.0, 80.0], requires_grad=True)
    for name in ("minimax", "nonsaturating"):
        out = losses.GENERATOR_LOSSES[name](l)
        (g,) = torch.autograd.grad(out, l)
        assert torch.isfinite(out) and torch.isfinite(g).all(), name
    assert torch.isfinite(losses.d_loss(l, l))


def test_unknown_generator_loss_names_the_key_and_the_choices():
    with pytest.raises(ConfigError) as e:
        losses.g_loss("wgan")
    assert str(e.value) == "loss.generator: unknown generator loss 'wgan'; expected one of minimax, ml, nonsaturating"


def test_generator_costs_register_where_defined():
    assert list(losses.GENERATOR_LOSSES) == ["minimax", "nonsaturating", "ml"]
    assert "ml" in losses.GENERATOR_LOSSES and "wgan" not in losses.GENERATOR_LOSSES
    assert losses.g_loss("minimax") is losses.g_loss_minimax


def test_optimal_discriminator_value_is_minus_log4_at_equilibrium():
    # D(x) = 1/2 everywhere (logit 0) gives V = -log 4 exactly.
    zero = torch.zeros(10, dtype=torch.float64)
    assert losses.value(zero, zero).item() == pytest.approx(-math.log(4), abs=1e-15)
    assert math.log(4.0) == losses.LOG4
