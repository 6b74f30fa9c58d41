"""Presets: named layers of config overrides over the defaults. ``origan presets`` lists them.

Each entry is ``name: (one-line description, nested overrides)``; :func:`origan.config.load_config` applies
one between the defaults and a TOML file. Kept apart from ``config.py`` so the schema and its checks
read on their own.
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
# Presets: each one a layer of overrides over the defaults. `origan presets` lists them.

_PAPER_OPTIM = {
    "name": "sgd",
    "lr": 0.1,
    "lr_decay": 1.000004,
    "lr_min": 1e-6,
    "momentum": 0.5,
    "momentum_final": 0.7,
    "momentum_start_epoch": 1,
    "momentum_saturate_epoch": 250,
}

_TOY_MODELS = {
    "noise": {"prior": "normal", "dim": 2},
    "generator": {
        "name": "mlp",
        "hidden": [128, 128],
        "activation": "relu",
        "output": "identity",
        "init_range": 0.0,
        "output_bias_from_data": True,
    },
    "discriminator": {
        "name": "mlp",
        "hidden": [128, 128],
        "activation": "leaky_relu",
        "dropout_input": 0.0,
        "dropout_hidden": 0.0,
        "init_range": 0.0,
    },
    "optim_d": {"name": "adam", "lr": 1e-3, "lr_decay": 1.0, "beta1": 0.5, "beta2": 0.999},
    "optim_g": {"name": "adam", "lr": 1e-3, "lr_decay": 1.0, "beta1": 0.5, "beta2": 0.999},
}


# MNIST digits meant to stand in for the real ones: the paper's game, nets and optimiser (the `paper-mnist`
# preset), with samples drawn from a moving average of G's weights (Yazici et al. 2019). Measured in
# benchmarks/mnist_quality.py and the README ("Images that stand in for data"), against DCGAN-style nets with
# and without differentiable augmentation, which scored worse on MNIST 5k.
_MNIST_EMA = {"train": {"ema": 0.999}}


def _toy(name: str, **over: Any) -> dict[str, Any]:
    return merge(merge(_TOY_MODELS, {"data": {"name": name}}), over)


_PAPER_MNIST: dict[str, Any] = {
    "data": {"name": "mnist"},
    "noise": {"prior": "uniform", "dim": 100},
    "generator": {
        "name": "mlp",
        "hidden": [1200, 1200],
        "activation": "relu",
        "output": "sigmoid",
        "init_range": 0.05,
        "output_bias_from_data": True,
    },
    "discriminator": {
        "name": "maxout",
        "hidden": [240, 240],
        "pieces": 5,
        "dropout_input": 0.2,
        "dropout_hidden": 0.5,
        "init_range": 0.005,
    },
    "loss": {"generator": "nonsaturating"},
    "optim_d": _PAPER_OPTIM,
    "optim_g": _PAPER_OPTIM,
    "train": {
        "update": "simultaneous",
        "k": 1,
        "batch_size": 100,
        "steps": 20_000,
        "epochs": 0,
        "log_every": 100,
        "sample_every": 1000,
        "checkpoint_every": 2000,
    },
}

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "paper-mnist": (
        "the paper's MNIST run (mnist.yaml): MLP G 1200-1200, maxout D 240x5 x2, SGD 0.1, simultaneous updates",
        _PAPER_MNIST,
    ),
    "mnist": (
        "paper-mnist's game, nets and budget, sampled from a moving average of G's weights: digits that stand in",
        merge(_PAPER_MNIST, _MNIST_EMA),
    ),
    "mnist-cond": (
        "the mnist preset, class-conditional (one-hot class joined to z and to D's input): sample by class",
        merge(merge(_PAPER_MNIST, _MNIST_EMA), {"train": {"conditional": True}}),
    ),
    "digits": (
        "scikit-learn's 8x8 digits with the paper's MLP G and maxout D (smaller widths), Adam",
        {
            "data": {"name": "digits"},
            "noise": {"prior": "uniform", "dim": 32},
            "generator": {"hidden": [256, 256], "output": "sigmoid"},
            "discriminator": {
                "name": "maxout",
                "hidden": [128, 128],
                "pieces": 5,
                "dropout_input": 0.2,
                "dropout_hidden": 0.5,
                "init_range": 0.005,
            },
            "optim_d": {"name": "adam", "lr": 2e-4, "lr_decay": 1.0},
            "optim_g": {"name": "adam", "lr": 2e-4, "lr_decay": 1.0},
            "train": {
                "update": "alternating",
                "k": 1,
                "batch_size": 64,
                "steps": 5000,
                "epochs": 0,
                "log_every": 100,
                "sample_every": 1000,
                "checkpoint_every": 1000,
            },
        },
    ),
    "gauss1d": (
        "the paper's Figure-1 1-D Gaussian N(4, 0.5^2), learned from 1-D normal noise",
        _toy(
            "gauss1d",
            noise={"prior": "normal", "dim": 1},
            generator={"hidden": [32, 32]},
            discriminator={"hidden": [64, 64]},
            optim_d={"lr": 2e-4},
            optim_g={"lr": 2e-4},
            train={
                "update": "alternating",
                "k": 1,
                "batch_size": 256,
                "steps": 4000,
                "epochs": 0,
                "log_every": 100,
                "sample_every": 1000,
                "checkpoint_every": 1000,
            },
        ),
    ),
    "mixture1d": (
        "a 1-D mixture of two Gaussians at -2 and +2 (std 0.5)",
        _toy(
            "mixture1d",
            noise={"prior": "normal", "dim": 1},
            generator={"hidden": [64, 64]},
            discriminator={"hidden": [64, 64]},
            train={
                "update": "alternating",
                "k": 1,
                "batch_size": 256,
                "steps": 3000,
                "epochs": 0,
                "log_every": 50,
                "sample_every": 1000,
                "checkpoint_every": 1000,
            },
        ),
    ),
    "ring8": (
        "2-D ring of 8 Gaussians (radius 1, std 0.01): all 8 modes, >90 % within 3 std",
        # 256-wide nets and Adam's lr decayed 10x over the run (1.000288^8000 = 10) sharpen the modes
        _toy(
            "ring8",
            noise={"prior": "normal", "dim": 2},
            generator={"hidden": [256, 256]},
            discriminator={"hidden": [256, 256]},
            optim_d={"lr_decay": 1.000288},
            optim_g={"lr_decay": 1.000288},
            train={
                "update": "alternating",
                "k": 1,
                "batch_size": 256,
                "steps": 8000,
                "epochs": 0,
                "log_every": 100,
                "sample_every": 2000,
                "checkpoint_every": 2000,
            },
        ),
    ),
    "grid25": (
        "2-D 5x5 grid of Gaussians (means {-4,-2,0,2,4}^2, std 0.05): all 25 modes, >90 % within 3 std",
        # uniform noise (a square, like the grid) and Adam's lr decayed 10x over the run (1.000288^8000 = 10)
        _toy(
            "grid25",
            noise={"prior": "uniform", "dim": 2},
            generator={"hidden": [256, 256, 256]},
            discriminator={"hidden": [256, 256, 256]},
            optim_d={"lr_decay": 1.000288},
            optim_g={"lr_decay": 1.000288},
            train={
                "update": "alternating",
                "k": 1,
                "batch_size": 256,
                "steps": 8000,
                "epochs": 0,
                "log_every": 100,
                "sample_every": 2000,
                "checkpoint_every": 2000,
            },
        ),
    ),
}

# Your own data: convolutional nets for images, MLPs for tables (new entries only).
_ADAM = {"name": "adam", "lr": 2e-4, "lr_decay": 1.0, "beta1": 0.5, "beta2": 0.999}  # DCGAN's optimizer
_DCGAN_MODELS = {
    "noise": {"prior": "normal", "dim": 100},
    "generator": {"name": "dcgan", "width": 64, "output": "sigmoid", "output_bias_from_data": False},
    "discriminator": {"name": "dcgan", "width": 64, "dropout_input": 0.0, "dropout_hidden": 0.0},
    "loss": {"generator": "nonsaturating"},
    "optim_d": _ADAM,
    "optim_g": _ADAM,
}
_TABLE_MODELS = {
    "noise": {"prior": "normal", "dim": 32},
    "generator": {
        "name": "mlp",
        "hidden": [256, 256],
        "activation": "relu",
        "output": "identity",
        "init_range": 0.0,
        "output_bias_from_data": True,
    },
    "discriminator": {
        "name": "mlp",
        "hidden": [256, 256],
        "activation": "leaky_relu",
        "dropout_input": 0.0,
        "dropout_hidden": 0.0,
        "init_range": 0.0,
    },
    "loss": {"generator": "nonsaturating"},
    "optim_d": _ADAM | {"lr": 1e-3},
    "optim_g": _ADAM | {"lr": 1e-3},
}


def _train(steps: int, batch_size: int, every: int = 500) -> dict[str, Any]:
    return {
        "train": {
            "update": "alternating",
            "k": 1,
            "batch_size": batch_size,
            "steps": steps,
            "epochs": 0,
            "log_every": 50,
            "sample_every": every,
            "checkpoint_every": every,
        }
    }


PRESETS.update(
    {
        "dcgan-digits": (
            "DCGAN-style conv G and D on the 5,000 28x28 MNIST digits (data.name=idx data.path=DIR: all of MNIST)",
            merge(
                merge(_DCGAN_MODELS, {"data": {"name": "mnist"}, "generator": {"output_bias_from_data": True}}),
                _train(3000, 64),
            ),
        ),
        "dcgan-folder": (
            "DCGAN-style conv G and D on a folder of images at 64x64: --set data.path=FOLDER",
            merge(merge(_DCGAN_MODELS, {"data": {"name": "folder", "image_size": 64}}), _train(5000, 64, 1000)),
        ),
        "csv": (
            "a CSV table (numeric and categorical columns) with MLP G and D: --set data.path=TABLE.csv",
            merge(merge(_TABLE_MODELS, {"data": {"name": "csv"}}), _train(3000, 64)),
        ),
        "wine": (
            "scikit-learn's wine table (178 rows, 13 measurements + cultivar) with MLP G and D",
            merge(merge(_TABLE_MODELS, {"data": {"name": "wine"}}), _train(3000, 32)),
        ),
        "breast-cancer": (
            "scikit-learn's breast-cancer table (569 rows, 30 measurements + diagnosis) with MLP G and D",
            merge(merge(_TABLE_MODELS, {"data": {"name": "breast-cancer"}}), _train(3000, 64)),
        ),
    }
)

# CIFAR-10, the paper's Figure 2 (c, d): the authors' cifar10_fully_connected.yaml and cifar10_convolutional.yaml
# on their split and contrast-normalised pixels (data.preprocess=gcn), with the paper-mnist update rule.
_CIFAR10_COMMON = {
    "data": {"name": "cifar10", "preprocess": "gcn"},
    "noise": {"prior": "normal", "dim": 100},
    "loss": {"generator": "nonsaturating"},
}
_CIFAR10_G = {"hidden": [8000, 8000], "activation": "relu", "output": "identity", "init_range": 0.05}
_CIFAR10_D = {"pieces": 5, "dropout_input": 0.2, "dropout_hidden": 0.5, "init_range": 0.005}


def _cifar10(generator: str, discriminator: dict[str, Any], lr: float, batch_size: int) -> dict[str, Any]:
    optim = _PAPER_OPTIM | {"lr": lr}
    train = {
        "update": "simultaneous",
        "k": 1,
        "batch_size": batch_size,
        "steps": 20_000,
        "epochs": 0,
        "log_every": 100,
        "sample_every": 1000,
        "checkpoint_every": 2000,
    }
    return merge(
        _CIFAR10_COMMON,
        {
            "generator": _CIFAR10_G | {"name": generator, "output_bias_from_data": False},
            "discriminator": _CIFAR10_D | discriminator,
            "optim_d": optim,
            "optim_g": optim,
            "train": train,
        },
    )


PRESETS.update(
    {
        "paper-cifar10-fc": (
            "the paper's CIFAR-10 MLPs: G ReLU 8000, sigmoid 8000, linear; maxout D 1600x5 x2; SGD 0.025; "
            "data.path=DIR",
            _cifar10("paper-fc", {"name": "maxout", "hidden": [1600, 1600]}, 0.025, 100),
        ),
        "paper-cifar10-conv": (
            "the paper's CIFAR-10 conv nets: G ReLU 8000, sigmoid 8000, deconv 5x5/3; maxout conv D; SGD 0.004; "
            "data.path=DIR",
            _cifar10("paper-conv", {"name": "maxout-conv", "width": 32, "hidden": [500]}, 0.004, 128),
        ),
    }
)
