"""The fast paths keep the maths: the trainer against a plain reference loop, bit for bit; cheap dropout
masks against the Bernoulli law; the bf16 / channels_last / compile options on the CPU."""

import pytest
import torch
import torch.nn.functional as F

import origan
from origan.models.mlp import Maxout
from origan.run import _prepare
from origan.training import Trainer
from origan.training.schedules import learning_rate, momentum

SMALL_MNIST = ["generator.hidden=[48,48]", "discriminator.hidden=[24,24]", "train.batch_size=20",
               "train.sample_every=0", "train.checkpoint_every=0", "train.log_every=2", "train.device=cpu"]


def _reference_d(D, x):
    """The maxout D as the textbook writes it: max over the pieces by amax, the module's own dropout layers."""
    h = x.flatten(1)
    for layer in D.body:
        if isinstance(layer, Maxout):
            h = F.linear(h, layer.linear.weight, layer.linear.bias).view(len(h), layer.pieces, layer.units).amax(1)
        else:
            h = layer(h)  # dropout: the same mask stream as the module's
    return F.linear(h, D.logit.weight, D.logit.bias).squeeze(1)


class _PlainSGD:
    """torch.optim.SGD's update written out per tensor: buf = mu buf + g (buf = g at first); p -= lr buf."""

    def __init__(self, params):
        self.params, self.bufs = list(params), None

    def step(self, grads, lr, mu):
        if self.bufs is None:
            self.bufs = [g.clone() for g in grads]
        else:
            for b, g in zip(self.bufs, grads, strict=True):
                b.mul_(mu).add_(g)
        with torch.no_grad():
            for p, b in zip(self.params, self.bufs, strict=True):
                p.add_(b, alpha=-lr)


def _reference_run(cfg, steps):
    """Algorithm 1 / the simultaneous update in plain autograd, drawing data, noise and masks in origan's order."""
    _, s, _ = _prepare(cfg, torch.device("cpu"))
    G, D, m = s.gan.G, s.gan.D, cfg.train.batch_size
    d_params, g_params = list(D.parameters()), list(G.parameters())
    opt_d, opt_g = _PlainSGD(d_params), _PlainSGD(g_params)
    n_d = n_g = 0

    def sched(o, n):
        return learning_rate(o, n), momentum(o, s.sampler.epoch)

    for _ in range(steps):
        if cfg.train.update == "simultaneous":
            x = s.sampler.next()
            z = s.gan.prior.sample(m, s.noise_gen, "cpu")
            x_fake = G(z)
            logits = _reference_d(D, torch.cat([x, x_fake]))
            l_real, l_fake = logits[:m], logits[m:]
            d_obj = 0.5 * (F.softplus(-l_real).mean() + F.softplus(l_fake).mean())
            g_obj = F.softplus(-l_fake).mean()
            gd = torch.autograd.grad(d_obj, d_params, retain_graph=True)
            gg = torch.autograd.grad(g_obj, g_params)
            opt_d.step(gd, *sched(cfg.optim_d, n_d))
            opt_g.step(gg, *sched(cfg.optim_g, n_g))
            n_d, n_g = n_d + 1, n_g + 1
            continue
        for _ in range(cfg.train.k):
            x = s.sampler.next()
            z = s.gan.prior.sample(m, s.noise_gen, "cpu")
            with torch.no_grad():
                x_fake = G(z)
            logits = _reference_d(D, torch.cat([x, x_fake]))
            d_obj = F.softplus(-logits[:m]).mean() + F.softplus(logits[m:]).mean()
            opt_d.step(torch.autograd.grad(d_obj, d_params), *sched(cfg.optim_d, n_d))
            n_d += 1
        z = s.gan.prior.sample(m, s.noise_gen, "cpu")
        g_obj = F.softplus(-_reference_d(D, G(z))).mean()
        opt_g.step(torch.autograd.grad(g_obj, g_params), *sched(cfg.optim_g, n_g))
        n_g += 1
    return s


@pytest.mark.parametrize("update", ["simultaneous", "alternating"])
def test_trainer_equals_the_plain_reference_loop_bit_for_bit(update):
    extra = ["train.update=alternating", "train.k=2"] if update == "alternating" else []
    cfg = origan.load_config("paper-mnist", overrides=[*SMALL_MNIST, "train.steps=6", *extra])
    ref = _reference_run(cfg, 6)
    _, state, _ = _prepare(cfg, torch.device("cpu"))
    Trainer(cfg, state).fit()
    for (name, a), b in zip(state.gan.state_dict().items(), ref.gan.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert not torch.equal(state.gan.D.logit.weight, _prepare(cfg, torch.device("cpu"))[1].gan.D.logit.weight)
