"""Class-conditional GANs: every conditional net family trains on 8x8 digits, G(z, y) depends on y, the fakes'
classes follow the training split's class frequencies, resume is bit-exact, and unconditional runs keep their
random streams."""

import pytest
import torch

import origan
from helpers import metric_rows
from origan.config import DiscriminatorConfig, GeneratorConfig
from origan.errors import ConfigError
from origan.io.checkpoint import load_checkpoint
from origan.models import build_discriminator, build_generator
from origan.training import Trainer
from origan.training.build import build_state

SMALL = [
    "generator.hidden=[32]",
    "discriminator.hidden=[16,16]",
    "discriminator.pieces=2",
    "generator.width=8",
    "discriminator.width=8",
    "train.batch_size=32",
    "train.sample_every=0",
    "train.log_every=2",
    "train.checkpoint_every=0",
    "train.device=cpu",
    "train.threads=1",
]
FAMILIES = {  # (generator, discriminator, conditioning)
    "mlp G + maxout D": ("mlp", "maxout", "projection"),
    "mlp G + mlp D": ("mlp", "mlp", "projection"),
    "dcgan G + dcgan D, projection": ("dcgan", "dcgan", "projection"),
    "dcgan G + dcgan D, class maps": ("dcgan", "dcgan", "input"),
}


def _cfg(family="mlp G + maxout D", *extra, conditional=True):
    g, d, conditioning = FAMILIES[family]
    sets = [f"generator.name={g}", f"discriminator.name={d}", f"discriminator.conditioning={conditioning}"]
    return origan.load_config(
        "digits", overrides=[*SMALL, *sets, f"train.conditional={str(conditional).lower()}", *extra]
    )


@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_a_conditional_run_of_every_family_trains_on_digits(family, update):
    extra = ["train.k=2"] if update == "alternating" else ["train.update=simultaneous"]
    cfg = _cfg(family, "train.steps=3", *extra)
    _, state, _ = build_state(cfg, torch.device("cpu"))
    G, D = state.gan.G, state.gan.D
    assert G.conditional and D.conditional and G.n_classes == D.n_classes == 10
    before = {k: v.clone() for k, v in state.gan.named_parameters()}
    Trainer(cfg, state).fit()
    after = dict(state.gan.named_parameters())
    assert all(torch.isfinite(v).all() for v in after.values())
    assert all(not torch.equal(before[k], after[k]) for k in before)  # every weight learns, embeddings too
    assert (state.step, state.d_updates) == (3, 6 if update == "alternating" else 3)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_g_of_z_and_y_changes_with_y_and_d_with_its_label(family):
    g, d, conditioning = FAMILIES[family]
    torch.manual_seed(0)
    G = build_generator(GeneratorConfig(name=g, hidden=(32,), width=8), (1, 8, 8), True, 6, n_classes=10).eval()
    dcfg = DiscriminatorConfig(name=d, hidden=(16, 16), pieces=2, width=8, conditioning=conditioning)
    D = build_discriminator(dcfg, (1, 8, 8), True, 6, n_classes=10).eval()
    if d == "dcgan" and conditioning == "projection":
        torch.nn.init.normal_(D.logit.weight)  # DCGAN's N(0, 0.02) makes the features tiny; the test needs them
    z = torch.randn(5, 6, generator=torch.Generator().manual_seed(1)).repeat(10, 1)  # the same z for every class
    y = torch.arange(10).repeat_interleave(5)
    x = G(z, y).view(10, 5, -1)  # (class, sample, pixels)
    assert x.shape == (10, 5, 64)
    for c in range(1, 10):
        assert (x[c] - x[0]).abs().amax(1).min() > 1e-4  # each sample differs from class 0's
    assert torch.equal(G(z[:5], y[:5]), x[0].view(5, 1, 8, 8))  # the class, not the batch, decides
    logits = D(x.view(50, 1, 8, 8), y)
    other = D(x.view(50, 1, 8, 8), (y + 1) % 10)
    assert (logits - other).abs().min() > 0  # D reads the label too
    with pytest.raises(ValueError, match="class labels"):
        G(z)


def test_a_conditional_net_differs_from_the_unconditional_one_only_where_the_class_enters():
    for name in ("mlp", "dcgan"):
        g_cfg = GeneratorConfig(name=name, hidden=(32,), width=8)
        plain, cond = (build_generator(g_cfg, (1, 8, 8), True, 6, n_classes=k) for k in (0, 4))
        assert not plain.conditional and cond.conditional
        shapes = {k: v.shape for k, v in plain.state_dict().items()}
        changed = {k for k, v in cond.state_dict().items() if shapes.get(k) != v.shape}
        if name == "mlp":  # the one-hot class joins z
            assert (
                changed == {"body.0.weight"}
                and cond.state_dict()["body.0.weight"].shape[1] == shapes["body.0.weight"][1] + 4
            )
        else:  # the class embedding multiplies z: one new table, the projection unchanged
            assert changed == {"embed.weight"} and cond.state_dict()["embed.weight"].shape == (4, 6)
    for name, conditioning, first in [
        ("maxout", "projection", "body.1.linear.weight"),
        ("mlp", "projection", "body.1.weight"),  # body.0: the input dropout
        ("dcgan", "input", "body.0.weight"),
        ("dcgan", "projection", None),
    ]:
        d_cfg = DiscriminatorConfig(name=name, hidden=(16, 16), pieces=2, width=8, conditioning=conditioning)
        plain, cond = (build_discriminator(d_cfg, (1, 8, 8), True, 6, n_classes=k) for k in (0, 4))
        shapes = {k: v.shape for k, v in plain.state_dict().items()}
        changed = {k for k, v in cond.state_dict().items() if shapes.get(k) != v.shape}
        assert changed == ({first} if first else {"embed.weight"}), name
        if first:
            assert cond.state_dict()[first].shape[1] == shapes[first][1] + 4


def test_fake_labels_are_a_categorical_draw_from_the_class_frequencies_with_the_noise_stream():
    cfg = _cfg("mlp G + mlp D", "train.steps=4", "train.k=2")
    _, state, _ = build_state(cfg, torch.device("cpu"))
    gen = torch.Generator().set_state(state.noise_gen.get_state())
    train_y = state.sampler.labels
    freqs = torch.bincount(train_y).float() / len(train_y)
    seen = []
    gan = state.gan
    d_obj, g_obj = gan.d_objective, gan.g_objective
    gan.d_objective = lambda x, z, y, y_fake=None: seen.append((z, y_fake)) or d_obj(x, z, y, y_fake)  # type: ignore
    gan.g_objective = lambda z, y: seen.append((z, y)) or g_obj(z, y)  # type: ignore
    Trainer(cfg, state).fit()
    assert len(seen) == 4 * 3
    for z, y in seen:  # per step: z, then the fakes' classes, both from the noise stream
        assert torch.equal(z, gan.prior.sample(32, gen))
        assert torch.equal(y, torch.multinomial(freqs, 32, replacement=True, generator=gen))
    assert torch.equal(gen.get_state(), state.noise_gen.get_state())


def test_an_unconditional_run_draws_no_labels_from_the_noise_stream():
    cfg = _cfg("mlp G + mlp D", "train.steps=3", "train.k=2", conditional=False)
    _, state, _ = build_state(cfg, torch.device("cpu"))
    assert state.sampler.labels is not None and not state.gan.G.conditional  # labelled data, unconditional run
    gen = torch.Generator().set_state(state.noise_gen.get_state())
    Trainer(cfg, state).fit()
    for _ in range(3 * 3):  # exactly the noise of 3 x (2 D steps + 1 G step), nothing more
        state.gan.prior.sample(32, gen)
    assert torch.equal(gen.get_state(), state.noise_gen.get_state())


@pytest.mark.parametrize("clusters", [0, 6])  # the digits' labels, or 6 k-means clusters (rebuilt on resume)
@pytest.mark.parametrize("update", ["alternating", "simultaneous"])
def test_resume_of_a_conditional_run_is_bit_exact(tmp_path, update, clusters):
    extra = ["train.k=2"] if update == "alternating" else ["train.update=simultaneous"]
    full = _cfg("mlp G + maxout D", "train.steps=10", "train.checkpoint_every=4", f"train.clusters={clusters}", *extra)
    origan.train(full, out=tmp_path / "full")
    origan.train(full.replace(**{"train.steps": 4}), out=tmp_path / "part")
    origan.resume(tmp_path / "part", overrides={"train.steps": 10})
    assert metric_rows(tmp_path / "full") == metric_rows(tmp_path / "part")
    a, b = origan.load_run(tmp_path / "full"), origan.load_run(tmp_path / "part")
    for (k, v), (k2, v2) in zip(a.gan.state_dict().items(), b.gan.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2), k
    info = load_checkpoint(tmp_path / "full" / "checkpoints" / "last.json").manifest["data"]
    counts = torch.bincount(build_state(full, torch.device("cpu")).state.sampler.labels).tolist()
    classes = [f"cluster-{c}" for c in range(6)] if clusters else [str(c) for c in range(10)]
    assert info["classes"] == classes and info["class_counts"] == counts


def test_a_conditional_run_trains_under_bf16_autocast_and_the_divergence_guard(tmp_path, monkeypatch):
    import origan.gan as gan_mod

    real = gan_mod.GAN.g_objective
    count = {"n": 0}

    def poisoned(self, z, y=None):
        count["n"] += 1
        out = real(self, z, y)
        if count["n"] == 5:  # one NaN, in step 5
            out.loss = out.loss * float("nan")
        return out

    monkeypatch.setattr(gan_mod.GAN, "g_objective", poisoned)
    cfg = _cfg("dcgan G + dcgan D, projection", "train.steps=8", "train.checkpoint_every=3", "train.autocast=bf16")
    run = origan.train(cfg, out=tmp_path / "r")
    events = [r for r in run.metrics() if r.get("event") == "rollback"]
    assert len(events) == 1 and events[0]["step"] == 5 and events[0]["to_step"] == 3
    assert run.step == 8 and all(torch.isfinite(p).all() for p in run.gan.parameters())


def test_a_conditional_run_needs_labels_and_a_conditional_family(tmp_path):
    ring = origan.load_config("ring8", overrides=["train.conditional=true", "train.device=cpu"])
    with pytest.raises(ConfigError, match=r"^train.conditional: the data \(ring8\) have no labels"):
        origan.train(ring, out=tmp_path / "ring")
    assert not (tmp_path / "ring").exists()
    with pytest.raises(ConfigError, match="^train.conditional: the affine generator is unconditional"):
        build_generator(GeneratorConfig(name="affine"), (2,), False, 2, n_classes=3)


@pytest.mark.slow  # two torchrun processes: about a minute on a loaded 2-core machine
def test_two_processes_draw_the_fakes_classes_of_one_process(tmp_path):
    from test_distributed import _torchrun

    sets = [*SMALL, "train.conditional=true", "train.steps=4", "train.k=2", "train.log_every=2", "train.batch_size=20"]
    _torchrun(["train", "--preset", "digits", *(a for s in sets for a in ("--set", s)), "--out", str(tmp_path / "ddp")])
    one = origan.train(origan.load_config("digits", overrides=sets), out=tmp_path / "one")
    for a, b in zip(metric_rows(tmp_path / "ddp"), metric_rows(one.path), strict=True):
        for key in ("d_loss", "g_loss", "value", "d_real", "d_fake"):
            assert a[key] == pytest.approx(b[key], abs=1e-6), key
    ddp = origan.load_run(tmp_path / "ddp").gan.state_dict()
    diff = max((v - ddp[k]).abs().max().item() for k, v in one.gan.state_dict().items())
    assert diff <= 1e-5  # the same updates up to the order of the gradient sums (seen: 1.5e-6, Adam)
    start = build_state(one.config, torch.device("cpu")).state.gan.state_dict()
    moved = max((v - start[k]).abs().max().item() for k, v in one.gan.state_dict().items())
    assert moved > 100 * diff


def test_a_builder_without_n_classes_builds_unconditional_nets_and_refuses_conditional_ones(monkeypatch):
    from origan.models import DISCRIMINATORS

    monkeypatch.setitem(DISCRIMINATORS._members, "plain", lambda cfg, shape, bounded, dim: torch.nn.Linear(2, 1))
    cfg = DiscriminatorConfig(name="plain")
    assert isinstance(build_discriminator(cfg, (2,), False, 2), torch.nn.Linear)
    with pytest.raises(ConfigError, match="^train.conditional: the plain discriminator has no conditional form$"):
        build_discriminator(cfg, (2,), False, 2, n_classes=3)
