"""Presets: named layers of config overrides over the defaults. ``origan presets`` lists them.

Each entry is ``name: (one-line description, nested overrides)``; :func:`origan.config.load_config` applies
one between the defaults and a TOML file. Kept apart from ``config.py`` so the schema and its checks
read on their own. The table at the bottom is built from the small blocks above it (optimisers, nets, step
budgets, families of presets), so it reads as a diagram of how the presets relate.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PRESETS", "merge"]


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) and k != "params":
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------------------------------------------------
# Building blocks: sections of overrides (optimisers, budgets, nets) and the families of presets made of them.

_NONSATURATING = {"generator": "nonsaturating"}


def _paper_sgd(lr: float = 0.1) -> dict[str, Any]:
    """The paper's SGD: lr / 1.000004 per update down to 1e-6; momentum 0.5, ramped to 0.7 over epochs 1-250."""
    return {
        "name": "sgd",
        "lr": lr,
        "lr_decay": 1.000004,
        "lr_min": 1e-6,
        "momentum": 0.5,
        "momentum_final": 0.7,
        "momentum_start_epoch": 1,
        "momentum_saturate_epoch": 250,
    }


def _adam(lr: float, lr_decay: float = 1.0) -> dict[str, Any]:
    """Adam with DCGAN's betas (0.5, 0.999)."""
    return {"name": "adam", "lr": lr, "lr_decay": lr_decay, "beta1": 0.5, "beta2": 0.999}


def _train(
    steps: int, batch_size: int, *, log_every: int = 100, every: int = 1000, update: str = "alternating"
) -> dict[str, Any]:
    """A budget of ``steps`` G steps (not epochs), with samples and a checkpoint every ``every`` steps."""
    return {
        "update": update,
        "k": 1,
        "batch_size": batch_size,
        "steps": steps,
        "epochs": 0,
        "log_every": log_every,
        "sample_every": every,
        "checkpoint_every": every,
    }


# The paper-mnist update rule and budget: simultaneous updates (the authors' code), checkpoints every 2000.
_PAPER_TRAIN = _train(20_000, 100, update="simultaneous") | {"checkpoint_every": 2000}


def _mlp_g(hidden: list[int], output: str = "identity", init_range: float = 0.0) -> dict[str, Any]:
    """An MLP generator: ReLU hidden layers, output bias set from the data's mean."""
    return {
        "name": "mlp",
        "hidden": hidden,
        "activation": "relu",
        "output": output,
        "init_range": init_range,
        "output_bias_from_data": True,
    }


def _mlp_d(hidden: list[int]) -> dict[str, Any]:
    """An MLP discriminator: leaky-ReLU hidden layers, no dropout, PyTorch's default init."""
    return {
        "name": "mlp",
        "hidden": hidden,
        "activation": "leaky_relu",
        "dropout_input": 0.0,
        "dropout_hidden": 0.0,
        "init_range": 0.0,
    }


# The paper's maxout D settings: 5 pieces per unit, dropout 0.2 on the input and 0.5 after each hidden layer.
_PAPER_MAXOUT = {"pieces": 5, "dropout_input": 0.2, "dropout_hidden": 0.5, "init_range": 0.005}


def _maxout_d(hidden: list[int]) -> dict[str, Any]:
    """The paper's maxout discriminator with ``hidden`` units per layer."""
    return {"name": "maxout", "hidden": hidden, **_PAPER_MAXOUT}


def _averaged(preset: dict[str, Any]) -> dict[str, Any]:
    """``preset`` sampled from a moving average of G's weights (Yazici et al. 2019)."""
    return merge(preset, {"train": {"ema": 0.999}})


def _conditional(preset: dict[str, Any]) -> dict[str, Any]:
    """``preset`` made class-conditional (one-hot class joined to z and to D's input)."""
    return merge(preset, {"train": {"conditional": True}})


def _toy(
    data: str,
    noise: dict[str, Any],
    hidden_g: list[int],
    hidden_d: list[int],
    adam: dict[str, Any],
    train: dict[str, Any],
) -> dict[str, Any]:
    """A low-dimensional toy: MLP G and D (PyTorch's default init), Adam."""
    return {
        "noise": noise,
        "generator": _mlp_g(hidden_g),
        "discriminator": _mlp_d(hidden_d),
        "optim_d": adam,
        "optim_g": adam,
        "data": {"name": data},
        "train": train,
    }


def _dcgan(data: dict[str, Any], train: dict[str, Any], output_bias_from_data: bool = False) -> dict[str, Any]:
    """DCGAN-style conv G and D (width 64) with DCGAN's optimiser, Adam 2e-4."""
    adam = _adam(2e-4)
    return {
        "noise": {"prior": "normal", "dim": 100},
        "generator": {
            "name": "dcgan",
            "width": 64,
            "output": "sigmoid",
            "output_bias_from_data": output_bias_from_data,
        },
        "discriminator": {"name": "dcgan", "width": 64, "dropout_input": 0.0, "dropout_hidden": 0.0},
        "loss": _NONSATURATING,
        "optim_d": adam,
        "optim_g": adam,
        "data": data,
        "train": train,
    }


def _table(data: str, batch_size: int) -> dict[str, Any]:
    """A table: MLP G and D 256-256 on 32-D normal noise, Adam 1e-3, 800 passes over the training rows (at most
    20,000 steps): a budget that grows with the table, as CTGAN's epochs do, but stays bounded on large ones.

    D's weights decay (L2 1e-2) and G is sampled from its moving average (0.999): on wine and breast-cancer
    the decay keeps G from reproducing training rows (the share of samples nearer to a training row than the
    median held-out row stays near the 0.5 of fresh data, where without it that share climbs past 0.8 with
    the budget) and the average wins back the fidelity the decay costs (see README, Tables)."""
    adam = _adam(1e-3)
    train = _train(0, batch_size, log_every=50, every=500) | {"epochs": 800, "max_steps": 20_000, "ema": 0.999}
    return {
        "noise": {"prior": "normal", "dim": 32},
        "generator": _mlp_g([256, 256]),
        "discriminator": _mlp_d([256, 256]),
        "loss": _NONSATURATING,
        "optim_d": adam | {"weight_decay": 1e-2},
        "optim_g": adam,
        "data": {"name": data},
        "train": train,
    }


# CIFAR-10, the paper's Figure 2 (c, d): the authors' cifar10_fully_connected.yaml and cifar10_convolutional.yaml
# on their split and contrast-normalised pixels (data.preprocess=gcn), with the paper-mnist update rule.
_CIFAR10_G = {"hidden": [8000, 8000], "activation": "relu", "output": "identity", "init_range": 0.05}


def _cifar10(generator: str, discriminator: dict[str, Any], lr: float, batch_size: int) -> dict[str, Any]:
    """One of the authors' CIFAR-10 runs: their G widths and maxout D settings, the paper's SGD at ``lr``."""
    sgd = _paper_sgd(lr)
    return {
        "data": {"name": "cifar10", "preprocess": "gcn"},
        "noise": {"prior": "normal", "dim": 100},
        "loss": _NONSATURATING,
        "generator": _CIFAR10_G | {"name": generator, "output_bias_from_data": False},
        "discriminator": _PAPER_MAXOUT | discriminator,
        "optim_d": sgd,
        "optim_g": sgd,
        "train": _PAPER_TRAIN | {"batch_size": batch_size},
    }


# ---------------------------------------------------------------------------------------------------------
# Presets: each one a layer of overrides over the defaults. `origan presets` lists them.

_PAPER_MNIST: dict[str, Any] = {
    "data": {"name": "mnist"},
    "noise": {"prior": "uniform", "dim": 100},
    "generator": _mlp_g([1200, 1200], output="sigmoid", init_range=0.05),
    "discriminator": _maxout_d([240, 240]),
    "loss": _NONSATURATING,
    "optim_d": _paper_sgd(),
    "optim_g": _paper_sgd(),
    "train": _PAPER_TRAIN,
}

# MNIST digits meant to stand in for the real ones: the paper's game, nets and optimiser (the `paper-mnist`
# preset), with samples drawn from a moving average of G's weights (Yazici et al. 2019). Measured in
# benchmarks/mnist_quality.py and the README ("Images that stand in for data"), against DCGAN-style nets with
# and without differentiable augmentation, which scored worse on MNIST 5k.
# The presets for use (not the paper's record) also choose their matmul precision by the CPU: oneDNN's bf16
# matmuls where the CPU has them in hardware (1.4x faster steps with AMX; without AMX oneDNN keeps them fp32, at
# twice MKL's speed on a Zen 5 EPYC), fp32 elsewhere. Measured on `mnist` (seed 0, README): the same quality as
# fp32 within seed-to-seed differences. Not autocast: `mnist-cond` collapsed under it in 1 of 2 seeds (README).
_MNIST = merge(_averaged(_PAPER_MNIST), {"train": {"autocast": "auto"}})

# MNIST digits from convolutional nets (DCGAN-style G and D, Algorithm 1 with k = 1): Adam at 1e-3 with
# betas (0, 0.9) (Miyato et al. 2018's setting), which learned 2.5x faster per step on MNIST 5k than DCGAN's 2e-4
# with (0.5, 0.999); uniform noise as in the paper; G averaged (0.999); bf16 autocast where the CPU multiplies
# bf16 (1.4x faster conv steps); 2,500 steps, under the `mnist` preset's wall time on 2 cores (4,000 scored a little
# better on validation but took 1.4x mnist's time once mnist's matmuls ran in bf16 on 2 threads). D has a dense layer
# of 256 units before its logit and is spectrally normalised: the dense layer sees whole digits and removed most
# samples that mix two (validation precision 0.54 -> 0.72), and spectral norm kept G drawing every class evenly
# (without it G dropped 6s and 2s); 1,024 units scored about the same at 1.4x the step time. Tuned on the
# validation split's Frechet distance, measured in the README ("Images that stand in for data").
_CONV_ADAM = {"name": "adam", "lr": 1e-3, "lr_decay": 1.0, "beta1": 0.0, "beta2": 0.9}
# The conv recipe that mnist-conv and dcgan-folder share: optimiser, noise, moving average of G, autocast.
_CONV_RECIPE: dict[str, Any] = {
    "noise": {"prior": "uniform"},
    "optim_d": _CONV_ADAM,
    "optim_g": _CONV_ADAM,
    "train": {"ema": 0.999, "autocast": "auto"},
}
_MNIST_CONV: dict[str, Any] = merge(
    merge(
        _dcgan({"name": "mnist"}, _train(2500, 64, log_every=100, every=500), output_bias_from_data=True),
        _CONV_RECIPE,
    ),
    {"generator": {"width": 128}, "discriminator": {"dense": 256, "spectral_norm": True}},
)

# ring8's and grid25's optimiser and budget (why: see their comments below).
_DECAYED_ADAM = _adam(1e-3, lr_decay=1.000288)
_MODES_TRAIN = _train(8000, 256, every=2000)

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "paper-mnist": (
        "the paper's MNIST run (mnist.yaml): MLP G 1200-1200, maxout D 240x5 x2, SGD 0.1, simultaneous updates",
        _PAPER_MNIST,
    ),
    "mnist": (
        "paper-mnist's game, nets and budget, sampled from a moving average of G's weights: digits that stand in",
        _MNIST,
    ),
    "mnist-cond": (
        "the mnist preset, class-conditional (one-hot class joined to z and to D's input): sample by class",
        _conditional(_MNIST),
    ),
    "mnist-conv": (
        "MNIST 5k with a DCGAN-style conv G and a spectrally normalised conv D, conditioned on 20 k-means clusters "
        "of the training digits (no labels), sampled from their frequencies, G averaged",
        # The clusters (train.clusters) took validation precision from 0.77 (the best unconditional nets: D's
        # logit x 4) to 0.90 and density from 0.71 to 1.04. README, "Images that stand in for data".
        merge(_conditional(_MNIST_CONV), {"train": {"clusters": 20}}),
    ),
    "mnist-conv-cond": (
        "mnist-conv's nets conditioned on the digits' labels (class embedding times z in G, projection D): by class",
        _conditional(_MNIST_CONV),
    ),
    "digits": (
        "scikit-learn's 8x8 digits with the paper's MLP G and maxout D (smaller widths), Adam",
        {
            "data": {"name": "digits"},
            "noise": {"prior": "uniform", "dim": 32},
            "generator": {"hidden": [256, 256], "output": "sigmoid"},  # the rest is the defaults: the paper's G
            "discriminator": _maxout_d([128, 128]),
            "optim_d": {"name": "adam", "lr": 2e-4, "lr_decay": 1.0},  # betas: the defaults
            "optim_g": {"name": "adam", "lr": 2e-4, "lr_decay": 1.0},
            "train": _train(5000, 64),
        },
    ),
    "gauss1d": (
        "the paper's Figure-1 1-D Gaussian N(4, 0.5^2), learned from 1-D normal noise",
        _toy("gauss1d", {"prior": "normal", "dim": 1}, [32, 32], [64, 64], _adam(2e-4), _train(4000, 256)),
    ),
    "mixture1d": (
        "a 1-D mixture of two Gaussians at -2 and +2 (std 0.5)",
        _toy(
            "mixture1d", {"prior": "normal", "dim": 1}, [64, 64], [64, 64], _adam(1e-3), _train(3000, 256, log_every=50)
        ),
    ),
    "ring8": (
        "2-D ring of 8 Gaussians (radius 1, std 0.01): all 8 modes, >90 % within 3 std",
        # 256-wide nets and Adam's lr decayed 10x over the run (1.000288^8000 = 10) sharpen the modes
        _toy("ring8", {"prior": "normal", "dim": 2}, [256, 256], [256, 256], _DECAYED_ADAM, _MODES_TRAIN),
    ),
    "grid25": (
        "2-D 5x5 grid of Gaussians (means {-4,-2,0,2,4}^2, std 0.05): all 25 modes, >90 % within 3 std",
        # uniform noise (a square, like the grid) and Adam's lr decayed 10x over the run (1.000288^8000 = 10)
        _toy("grid25", {"prior": "uniform", "dim": 2}, [256] * 3, [256] * 3, _DECAYED_ADAM, _MODES_TRAIN),
    ),
    # Your own data: convolutional nets for images, MLPs for tables.
    "dcgan-digits": (
        "DCGAN-style conv G and D on the 5,000 28x28 MNIST digits (data.name=idx data.path=DIR: all of MNIST)",
        _dcgan({"name": "mnist"}, _train(3000, 64, log_every=50, every=500), output_bias_from_data=True),
    ),
    "dcgan-folder": (
        "DCGAN-style conv G and D on a folder of images at 64x64: --set data.path=FOLDER",
        # the conv recipe of mnist-conv (Adam 1e-3 with betas (0, 0.9), uniform noise, G averaged, bf16
        # autocast where fast) at DCGAN's width 64: measured on a folder of colour digits over photographs
        # (benchmarks/folder_quality.py), README "Colour photos at 64x64"
        merge(_dcgan({"name": "folder", "image_size": 64}, _train(5000, 64, log_every=50)), _CONV_RECIPE),
    ),
    "csv": (
        "a CSV table (numeric and categorical columns) with MLP G and D: --set data.path=TABLE.csv",
        _table("csv", 64),
    ),
    "wine": (
        "scikit-learn's wine table (178 rows, 13 measurements + cultivar) with MLP G and D",
        _table("wine", 32),
    ),
    "breast-cancer": (
        "scikit-learn's breast-cancer table (569 rows, 30 measurements + diagnosis) with MLP G and D",
        _table("breast-cancer", 64),
    ),
    "paper-cifar10-fc": (
        "the paper's CIFAR-10 MLPs: G ReLU 8000, sigmoid 8000, linear; maxout D 1600x5 x2; SGD 0.025; data.path=DIR",
        _cifar10("paper-fc", {"name": "maxout", "hidden": [1600, 1600]}, 0.025, 100),
    ),
    "paper-cifar10-conv": (
        "the paper's CIFAR-10 conv nets: G ReLU 8000, sigmoid 8000, deconv 5x5/3; maxout conv D; SGD 0.004; "
        "data.path=DIR",
        _cifar10("paper-conv", {"name": "maxout-conv", "width": 32, "hidden": [500]}, 0.004, 128),
    ),
}
