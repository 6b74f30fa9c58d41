"""Training: Algorithm 1's bookkeeping, the simultaneous update, learning on toys, determinism, resume."""

import json

import pytest
import torch

import origan
from origan.io.rundir import TIMING_FIELDS
from origan.run import _prepare
from origan.training import Trainer

TINY = ["train.sample_every=0", "train.checkpoint_every=0", "train.log_every=5",
        "generator.hidden=[16]", "discriminator.hidden=[16]", "data.n_train=512", "data.n_val=64", "data.n_test=64",
        "train.batch_size=32"]


def _tiny(preset="ring8", *extra):
    return origan.load_config(preset, overrides=[*TINY, *extra])


def test_alternating_k3_takes_three_d_steps_on_distinct_minibatches_per_g_step():
    cfg = _tiny("ring8", "train.k=3", "train.steps=4")
    _, state, _ = _prepare(cfg, torch.device("cpu"))
    calls = []
    gan = state.gan
    d_obj, g_obj = gan.d_objective, gan.g_objective
    gan.d_objective = lambda x, z, y: calls.append(("D", x.clone(), z.clone())) or d_obj(x, z, y)  # type: ignore
    gan.g_objective = lambda z, y: calls.append(("G", None, z.clone())) or g_obj(z, y)  # type: ignore
    Trainer(cfg, state).fit()
    assert [c[0] for c in calls] == ["D", "D", "D", "G"] * 4
    batches = [c[1] for c in calls if c[0] == "D"]
    for i in range(len(batches)):
        for j in range(i + 1, len(batches)):
            assert not torch.equal(batches[i], batches[j])  # a fresh minibatch for every D step
    zs = [c[2] for c in calls]
    assert all(not torch.equal(zs[i], zs[i + 1]) for i in range(len(zs) - 1))  # fresh noise each step
    assert (state.d_updates, state.g_updates, state.step) == (12, 4, 4)
    # Batches come from a permutation: within an epoch no example repeats.
    seen = torch.cat(batches[: 512 // 32])
    assert len(torch.unique(seen, dim=0)) == len(seen)


def test_simultaneous_update_uses_one_batch_for_both_players_and_halves_d():
    cfg = _tiny("ring8", "train.update=simultaneous", "train.steps=1", "optim_d.name=sgd", "optim_g.name=sgd",
                "optim_d.lr=0.1", "optim_g.lr=0.1", "optim_d.lr_decay=1.0", "optim_g.lr_decay=1.0",
                "optim_d.momentum=0.0", "optim_g.momentum=0.0", "optim_d.momentum_final=0.0", "optim_g.momentum_final=0.0")
    _, state, _ = _prepare(cfg, torch.device("cpu"))
    gan = state.gan
    before = {k: v.clone() for k, v in gan.state_dict().items()}
    # Reproduce the step by hand: same batch, same z, same dropout masks (no dropout here), gradients at the old point.
    sampler_state = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in state.sampler.state_dict().items()}
    noise_state = state.noise_gen.get_state()
    x, _ = state.sampler.next()
    z = gan.noise(32, state.noise_gen)
    state.sampler.load_state_dict(sampler_state)
    state.noise_gen.set_state(noise_state)
    x_fake = gan.G(z)
    logits = gan.D(torch.cat([x, x_fake]))
    lr_, lf = logits[:32], logits[32:]
    d_obj = 0.5 * (torch.nn.functional.softplus(-lr_).mean() + torch.nn.functional.softplus(lf).mean())
    g_obj = torch.nn.functional.softplus(-lf).mean()
    gd = torch.autograd.grad(d_obj, list(gan.D.parameters()), retain_graph=True)
    gg = torch.autograd.grad(g_obj, list(gan.G.parameters()))
    Trainer(cfg, state).fit()
    for (name, p), g in zip(gan.D.named_parameters(), gd, strict=True):
        torch.testing.assert_close(p.detach(), before[f"D.{name}"] - 0.1 * g)
    for (name, p), g in zip(gan.G.named_parameters(), gg, strict=True):
        torch.testing.assert_close(p.detach(), before[f"G.{name}"] - 0.1 * g)


def test_gauss1d_learns_mean_and_std_within_ten_percent(tmp_path):
    cfg = origan.load_config("gauss1d", overrides=["train.sample_every=0", "train.checkpoint_every=0"])
    run = origan.train(cfg, out=tmp_path / "run")
    x = run.sample(20000, seed=1)
    assert abs(x.mean().item() - 4.0) <= 0.4
    assert abs(x.std().item() - 0.5) <= 0.05


def test_ring8_run_covers_at_least_six_modes(tmp_path):
    cfg = origan.load_config("ring8", overrides=["train.sample_every=0", "train.checkpoint_every=0"])
    run = origan.train(cfg, out=tmp_path / "run")
    x = run.sample(2500, seed=1).double()
    modes = origan.data.toy.ring8().modes
    dist = torch.cdist(x, modes)
    near = dist.min(1).values < 3 * 0.01 * 3  # within 9 std of a mode
    covered = torch.unique(dist.argmin(1)[near])
    assert len(covered) >= 6, len(covered)


def _metrics(path):
    rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in TIMING_FIELDS} for r in rows]


def test_same_seed_gives_identical_metrics_and_another_seed_does_not(tmp_path):
    cfg = _tiny("ring8", "train.steps=30")
    origan.train(cfg, out=tmp_path / "a")
    origan.train(cfg, out=tmp_path / "b")
    origan.train(cfg.replace(seed=1), out=tmp_path / "c")
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")
    assert _metrics(tmp_path / "a") != _metrics(tmp_path / "c")


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_resume_continues_exactly(tmp_path, update):
    extra = ["train.k=2"] if update == "alternating" else ["train.update=simultaneous"]
    full = _tiny("ring8", "train.steps=40", "train.checkpoint_every=15", "discriminator.dropout_hidden=0.3", *extra)
    origan.train(full, out=tmp_path / "full")
    origan.train(full.replace(**{"train.steps": 15}), out=tmp_path / "part")
    origan.resume(tmp_path / "part", overrides={"train.steps": 40})
    assert _metrics(tmp_path / "full") == _metrics(tmp_path / "part")
    a, b = origan.load_run(tmp_path / "full"), origan.load_run(tmp_path / "part")
    for (k, v), (k2, v2) in zip(a.gan.state_dict().items(), b.gan.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2), k


def test_epoch_budget_counts_passes_over_the_training_set(tmp_path):
    cfg = _tiny("ring8", "train.epochs=2", "train.k=2")  # 512 / 32 = 16 batches per epoch, 2 per step
    run = origan.train(cfg, out=tmp_path / "run")
    assert run.step == 16
