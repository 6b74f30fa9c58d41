"""DCGAN-style G and D: shapes for 8/28/32/64 pixels and 1 or 3 channels, DCGAN's initialisation, logits
out of D, every loss and update mode, and a short run on 8x8 digits that lowers the Frechet distance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import linalg

import origan
from origan.config import load_config
from origan.data import build_dataset
from origan.errors import ConfigError
from origan.models import build_discriminator, build_generator
from origan.models.conv import DCGANDiscriminator, DCGANGenerator


@pytest.mark.parametrize("side", [8, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_ranges(side, channels):
    torch.manual_seed(0)
    G, D = DCGANGenerator(16, (channels, side, side), width=8), DCGANDiscriminator((channels, side, side), width=8)
    x = G(torch.randn(5, 16))
    assert x.shape == (5, channels, side, side) and x.min() > 0 and x.max() < 1  # sigmoid output
    assert D(x).shape == (5,)


def test_discriminator_returns_unsquashed_logits():
    torch.manual_seed(0)
    D = DCGANDiscriminator((1, 8, 8), width=8)
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in D.modules())
    with torch.no_grad():
        D.logit.weight.mul_(1000)
    logits = D(torch.rand(64, 1, 8, 8))
    assert logits.min() < 0 and logits.max() > 1  # a probability could do neither


def test_dcgan_initialisation():
    torch.manual_seed(0)
    G, D = DCGANGenerator(100, (3, 64, 64), width=64), DCGANDiscriminator((3, 64, 64), width=64)
    weights = [
        m.weight
        for net in (G, D)
        for m in net.modules()
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))
    ]
    for w in weights:
        n = w.numel()  # sample std of n draws of N(0, 0.02): 0.02 * (1 +- ~5/sqrt(2n))
        assert abs(w.std().item() - 0.02) < 0.02 * 5 / math.sqrt(2 * n) + 1e-4 and abs(
            w.mean().item()
        ) < 0.02 * 5 / math.sqrt(n)
    bn = [m for m in G.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bn and all((m.bias == 0).all() for m in bn)
    scales = torch.cat([m.weight for m in bn])
    assert abs(scales.mean().item() - 1) < 0.01 and abs(scales.std().item() - 0.02) < 0.005
    biases = [
        m.bias
        for net in (G, D)
        for m in net.modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.Linear) and m.bias is not None
    ]
    assert all((b == 0).all() for b in biases)


@pytest.mark.parametrize("shape", [(14,), (1, 7, 7), (1, 9, 9), (2, 8, 8), (1, 8, 16), (1, 6, 6)])
def test_unsupported_shapes_are_config_errors(shape):
    cfg = load_config("dcgan-digits")
    with pytest.raises(ConfigError, match=r"generator.name: dcgan needs square images.*even side S >= 8"):
        build_generator(cfg.generator, shape, True, 100)
    with pytest.raises(ConfigError, match="discriminator.name"):
        build_discriminator(cfg.discriminator, shape, True, 100)


def _digits_cfg(steps: int, *extra: str):
    return load_config(
        "dcgan-digits",
        overrides=[
            "data.name=digits",
            "noise.dim=32",
            "generator.width=32",
            "discriminator.width=32",
            f"train.steps={steps}",
            "train.batch_size=64",
            "train.log_every=1",
            "train.sample_every=0",
            "train.checkpoint_every=0",
            *extra,
        ],
    )


@pytest.mark.parametrize("loss", ["minimax", "nonsaturating", "ml"])
@pytest.mark.parametrize("update", ["alternating k=1", "alternating k=2", "simultaneous"])
def test_every_loss_and_update_mode_trains(tmp_path, loss, update):
    mode, _, k = update.partition(" k=")
    cfg = _digits_cfg(3, f"loss.generator={loss}", f"train.update={mode}", f"train.k={k or 1}")
    before = {}

    class AtStart:
        def on_start(self, trainer):
            before.update({n: p.detach().clone() for n, p in trainer.state.gan.named_parameters()})

    run = origan.train(cfg, out=tmp_path / "run", callbacks=[AtStart()])
    after = dict(run.gan.named_parameters())
    assert {n for n, p in after.items() if not torch.equal(p.detach(), before[n])} == set(before)  # every weight moved
    rows = run.metrics()
    assert len(rows) == 3 and all(math.isfinite(r[key]) for r in rows for key in ("d_loss", "g_loss", "value"))
    again = origan.load_run(tmp_path / "run").sample(4, seed=0)
    assert again.shape == (4, 1, 8, 8) and torch.equal(again, run.sample(4, seed=0))


def frechet_distance(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-6) -> float:
    """||mu_x - mu_y||^2 + tr(S_x + S_y - 2 (S_x S_y)^1/2) of Gaussians fit to flattened pixels (scipy).

    ``eps`` on the diagonals keeps the square root defined where pixels are constant (the digits' borders)."""
    a, b = x.flatten(1).double().numpy(), y.flatten(1).double().numpy()
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a = np.cov(a, rowvar=False) + eps * np.eye(a.shape[1])
    s_b = np.cov(b, rowvar=False) + eps * np.eye(b.shape[1])
    root = linalg.sqrtm(s_a @ s_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * root))


def test_short_run_on_8x8_digits_lowers_the_frechet_distance(tmp_path):
    cfg = _digits_cfg(300, "train.log_every=50")
    real = build_dataset(cfg.data).train  # (1437, 1, 8, 8)
    start = {}

    class AtStart:
        def on_start(self, trainer):
            start["x"] = trainer.state.gan.sample(len(real), generator=torch.Generator().manual_seed(1)).cpu()

    run = origan.train(cfg, out=tmp_path / "run", callbacks=[AtStart()])
    fd_start = frechet_distance(start["x"], real)
    fd_end = frechet_distance(run.sample(len(real), seed=1), real)
    assert fd_end < 0.5 * fd_start, (fd_start, fd_end)  # measured: about 11.4 -> 3.8 in 300 steps


@pytest.mark.parametrize("output", ["sigmoid", "identity"])
def test_output_bias_starts_at_each_channels_mean_intensity(output):
    G = DCGANGenerator(8, (3, 8, 8), width=8, output=output)
    mean = torch.stack([torch.full((8, 8), v) for v in (0.13, 0.5, 0.9)])  # (3, 8, 8) per-pixel means
    G.init_output_bias(mean)
    want = torch.tensor([0.13, 0.5, 0.9])
    want = torch.log(want) - torch.log1p(-want) if output == "sigmoid" else want
    torch.testing.assert_close(G.body[-1].bias.detach(), want, rtol=0, atol=1e-6)


def test_the_dcgan_digits_preset_starts_g_at_the_digits_mean_intensity():
    cfg = load_config("dcgan-digits", overrides=["train.steps=1", "train.ema=0.5"])
    from origan.training.build import build_state

    data, state, _ = build_state(cfg, torch.device("cpu"))
    p = data.train.mean()
    torch.testing.assert_close(state.gan.G.body[-1].bias.detach(), (torch.log(p) - torch.log1p(-p)).reshape(1))
    torch.testing.assert_close(state.gan.G_ema.body[-1].bias, state.gan.G.body[-1].bias.detach())  # the average too


def test_discriminator_dropout_only_where_asked_and_drawn_from_the_bound_stream():
    from origan.models.dropout import Dropout, bind_dropout

    torch.manual_seed(0)
    plain = DCGANDiscriminator((1, 28, 28), width=8)
    torch.manual_seed(0)
    dropped = DCGANDiscriminator((1, 28, 28), width=8, dropout_input=0.2, dropout_hidden=0.5)
    assert not any(isinstance(m, Dropout) for m in plain.modules())
    assert [m.p for m in dropped.modules() if isinstance(m, Dropout)] == [0.2, 0.5, 0.5]  # image, after each conv
    weights = [p for p in dropped.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(plain.parameters(), weights, strict=True))  # the same draws
    x = torch.rand(6, 1, 28, 28)
    dropped.eval()
    torch.testing.assert_close(dropped(x), plain(x), rtol=0, atol=0)  # eval mode: no dropout
    dropped.train()
    bind_dropout(dropped, torch.Generator().manual_seed(3))
    first, second = dropped(x), dropped(x)
    assert not torch.equal(first, second) and not torch.equal(first, plain(x))
    bind_dropout(dropped, torch.Generator().manual_seed(3))
    assert torch.equal(dropped(x), first)  # the masks come from the bound stream alone


def test_a_run_with_discriminator_dropout_resumes_exactly(tmp_path):
    extra = ("discriminator.dropout_input=0.1", "discriminator.dropout_hidden=0.3")
    whole = origan.train(_digits_cfg(4, *extra), out=tmp_path / "whole")
    origan.train(_digits_cfg(2, *extra), out=tmp_path / "part")
    resumed = origan.resume(tmp_path / "part", overrides={"train.steps": 4})
    a, b = whole.gan.D.state_dict(), resumed.gan.D.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(whole.sample(8, seed=0), resumed.sample(8, seed=0))


def test_a_dense_layer_before_the_logit_only_where_asked():
    torch.manual_seed(0)
    plain = DCGANDiscriminator((1, 28, 28), width=8)
    dense = DCGANDiscriminator((1, 28, 28), width=8, dense=32, dropout_hidden=0.5)
    assert set(plain.state_dict()) == {"body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"} | {
        "logit.weight",
        "logit.bias",
    }  # dense = 0: DCGAN's D, the keys it always had
    assert dense.dense[0].weight.shape == (32, 16 * 7 * 7) and dense.logit.weight.shape == (1, 32)
    assert float(dense.dense[0].weight.detach().std()) == pytest.approx(0.02, rel=0.05)  # DCGAN's initialisation
    x = torch.rand(5, 1, 28, 28)
    dense.eval()
    h = dense.body(x).flatten(1)
    expected = dense.logit(torch.nn.functional.leaky_relu(dense.dense[0](h), 0.2)).squeeze(1)
    torch.testing.assert_close(dense(x), expected, rtol=0, atol=0)
    projection = DCGANDiscriminator((1, 28, 28), width=8, n_classes=3, dense=32)
    assert projection.embed.weight.shape == (3, 32)  # the projection term pairs the class with the dense units
    assert projection(x, torch.tensor([0, 1, 2, 0, 1])).shape == (5,)
    cfg = load_config("mnist-conv", overrides=["discriminator.dense=64"])
    assert build_discriminator(cfg.discriminator, (1, 28, 28), True, 100).dense[0].out_features == 64
    with pytest.raises(ConfigError, match="discriminator.dense"):
        load_config("mnist-conv", overrides=["discriminator.dense=-1"])
