"""Training: Algorithm 1's bookkeeping, the simultaneous update, learning on toys, determinism, resume."""

import pytest
import torch

import origan
from helpers import TINY_TOY, metric_rows
from origan.gan import GAN
from origan.training import BatchSampler, Trainer
from origan.training.build import build_state

TINY = [*TINY_TOY, "train.checkpoint_every=0"]


def _tiny(preset="ring8", *extra):
    return origan.load_config(preset, overrides=[*TINY, *extra])


def test_alternating_k3_takes_three_d_steps_on_distinct_minibatches_per_g_step():
    cfg = _tiny("ring8", "train.k=3", "train.steps=4")
    _, state, _ = build_state(cfg, torch.device("cpu"))
    calls = []
    gan = state.gan
    d_obj, g_obj = gan.d_objective, gan.g_objective
    gan.d_objective = (  # type: ignore
        lambda x, z, y, y_fake=None: calls.append(("D", x.clone(), z.clone())) or d_obj(x, z, y, y_fake)
    )
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
    cfg = _tiny(
        "ring8",
        "train.update=simultaneous",
        "train.steps=1",
        "optim_d.name=sgd",
        "optim_g.name=sgd",
        "optim_d.lr=0.1",
        "optim_g.lr=0.1",
        "optim_d.lr_decay=1.0",
        "optim_g.lr_decay=1.0",
        "optim_d.momentum=0.0",
        "optim_g.momentum=0.0",
        "optim_d.momentum_final=0.0",
        "optim_g.momentum_final=0.0",
    )
    _, state, _ = build_state(cfg, torch.device("cpu"))
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


def test_same_seed_gives_identical_metrics_and_another_seed_does_not(tmp_path):
    cfg = _tiny("ring8", "train.steps=30")
    origan.train(cfg, out=tmp_path / "a")
    origan.train(cfg, out=tmp_path / "b")
    origan.train(cfg.replace(seed=1), out=tmp_path / "c")
    assert metric_rows(tmp_path / "a") == metric_rows(tmp_path / "b")
    assert metric_rows(tmp_path / "a") != metric_rows(tmp_path / "c")


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_resume_continues_exactly(tmp_path, update):
    extra = ["train.k=2"] if update == "alternating" else ["train.update=simultaneous"]
    full = _tiny("ring8", "train.steps=40", "train.checkpoint_every=15", "discriminator.dropout_hidden=0.3", *extra)
    origan.train(full, out=tmp_path / "full")
    origan.train(full.replace(**{"train.steps": 15}), out=tmp_path / "part")
    origan.resume(tmp_path / "part", overrides={"train.steps": 40})
    assert metric_rows(tmp_path / "full") == metric_rows(tmp_path / "part")
    a, b = origan.load_run(tmp_path / "full"), origan.load_run(tmp_path / "part")
    for (k, v), (k2, v2) in zip(a.gan.state_dict().items(), b.gan.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2), k


def test_epoch_budget_counts_passes_over_the_training_set(tmp_path):
    cfg = _tiny("ring8", "train.epochs=2", "train.k=2")  # 512 / 32 = 16 batches per epoch, 2 per step
    run = origan.train(cfg, out=tmp_path / "run")
    assert run.step == 16


# -- labels: every batch is (x, y); the unconditional game ignores y, a conditional net receives it ------------


def test_sampler_gathers_labels_with_the_batch_and_draws_the_same_random_numbers_without_them():
    x = torch.arange(60.0).view(30, 2)  # row i holds 2i, 2i + 1
    y = torch.arange(30) % 7
    plain, labelled = (BatchSampler(x, 7, torch.Generator().manual_seed(3), labels=lab) for lab in (None, y))
    for _ in range(10):  # 4 batches per epoch: across epoch boundaries
        xa, ya = plain.next()
        xb, yb = labelled.next()
        assert ya is None and torch.equal(xa, xb)
        assert torch.equal(yb, (xb[:, 0] / 2).long() % 7)  # each label stays with its row
    assert torch.equal(plain.generator.get_state(), labelled.generator.get_state())
    assert plain.state_dict()["epoch"] == labelled.state_dict()["epoch"] == 2
    with pytest.raises(ValueError, match=r"labels: expected shape \(30,\)"):
        BatchSampler(x, 7, torch.Generator(), labels=y[:29])


def test_labels_reach_both_steps_and_an_unconditional_run_ignores_them():
    cfg = origan.load_config("digits", overrides=[*TINY[:5], "train.batch_size=32", "train.steps=3", "train.k=2"])
    _, state, _ = build_state(cfg, torch.device("cpu"))
    _, bare, _ = build_state(cfg, torch.device("cpu"))
    bare.sampler.labels = None  # the same run on the same images without their labels
    assert state.sampler.labels is not None
    seen = []
    gan, d_obj, g_obj = state.gan, state.gan.d_objective, state.gan.g_objective
    gan.d_objective = lambda x, z, y, y_fake=None: seen.append(("D", x, y)) or d_obj(x, z, y, y_fake)  # type: ignore
    gan.g_objective = lambda z, y: seen.append(("G", None, y)) or g_obj(z, y)  # type: ignore
    Trainer(cfg, state).fit()
    Trainer(cfg, bare).fit()
    assert [s[0] for s in seen] == ["D", "D", "G"] * 3
    train_x, train_y = state.sampler.data, state.sampler.labels
    for i, (who, x, y) in enumerate(seen):
        if who == "D":  # the labels of exactly these images
            rows = (x[:, None, :] == train_x[None]).flatten(2).all(-1).float().argmax(1)  # (m,) row of each image
            assert torch.equal(y, train_y[rows])
        else:  # G's step: the labels of the iteration's last minibatch
            assert y is seen[i - 1][2]
    for k, v in state.gan.state_dict().items():
        assert torch.equal(v, bare.gan.state_dict()[k]), k


class _CondG(torch.nn.Module):
    conditional = True

    def __init__(self, dim):
        super().__init__()
        self.lin, self.emb, self.calls = torch.nn.Linear(dim, 2), torch.nn.Embedding(10, 2), []

    def forward(self, z, y):
        self.calls.append(y)
        return self.lin(z) + self.emb(y)


class _CondD(_CondG):
    def __init__(self):
        super().__init__(2)
        self.out = torch.nn.Linear(2, 1)

    def forward(self, x, y):
        return self.out(super().forward(x, y)).squeeze(1)


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_a_conditional_g_and_d_receive_the_labels_of_their_examples(update):
    cfg = _tiny("ring8", "train.steps=2", f"train.update={update}")
    _, state, _ = build_state(cfg, torch.device("cpu"))
    G, D = _CondG(cfg.noise.dim), _CondD()
    state.gan = GAN(G, D, state.gan.prior)
    state.opt_d, state.opt_g = (torch.optim.SGD(m.parameters(), lr=0.1) for m in (D, G))
    state.sampler.labels = torch.arange(state.sampler.n) % 10
    batches = []
    draw = state.sampler.next
    state.sampler.next = lambda: batches.append(draw()) or batches[-1]  # type: ignore
    before = [p.clone() for p in (*G.parameters(), *D.parameters())]
    Trainer(cfg, state).fit()
    ys = [y for _, y in batches]
    if update == "alternating":  # per step: D's pass on G(z, y) and [x; G(z)] with [y; y], then G's on the same y
        assert all(torch.equal(a, b) for a, b in zip(G.calls, [y for y in ys for _ in (0, 1)], strict=True))
        assert all(
            torch.equal(a, b) for a, b in zip(D.calls, [c for y in ys for c in (torch.cat([y, y]), y)], strict=True)
        )
    else:  # one G pass and one D pass over [x; G(z, y)] per step
        assert all(torch.equal(a, b) for a, b in zip(G.calls, ys, strict=True))
        assert all(torch.equal(a, torch.cat([y, y])) for a, y in zip(D.calls, ys, strict=True))
    after = [p for p in (*G.parameters(), *D.parameters())]
    assert all(not torch.equal(a, b) for a, b in zip(before, after, strict=True))  # the embeddings learn too


def test_a_checkpoint_of_the_former_format_with_an_inner_counter_loads():
    cfg = _tiny("ring8", "train.steps=2")
    _, state, _ = build_state(cfg, torch.device("cpu"))
    Trainer(cfg, state).fit()
    tree = state.state_dict()
    assert "inner" not in tree["counters"]
    _, fresh, _ = build_state(cfg, torch.device("cpu"))
    fresh.load_state_dict(tree | {"counters": tree["counters"] | {"inner": 0}})
    assert (fresh.step, fresh.d_updates, fresh.g_updates) == (2, 2, 2)


def test_training_flushes_subnormal_floats_and_gives_the_setting_back(tmp_path):
    from origan.training.speed import denormals_flushed

    seen = []

    class Probe:
        def on_log(self, trainer, row):
            seen.append(denormals_flushed())

    assert not denormals_flushed()
    origan.train(_tiny("ring8", "train.steps=4", "train.log_every=2"), out=tmp_path / "a", callbacks=[Probe()])
    assert seen == [True, True]  # a 15,000-step table run stepped 7x slower on subnormals without it
    assert not denormals_flushed()  # the caller's arithmetic is its own again
    assert 5e-324 > 0.0  # Python's floats too (the flag is the thread's)
