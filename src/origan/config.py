"""Typed, frozen configuration: defaults <- preset <- TOML file <- ``--set a.b=value``; JSON out.

Every field has one default and a comment. Unknown keys, wrong types and impossible values raise a
:class:`~origan.errors.ConfigError` whose message names the dotted key.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .presets import PRESETS, merge

__all__ = [
    "Config",
    "DataConfig",
    "DiscriminatorConfig",
    "GeneratorConfig",
    "LossConfig",
    "NoiseConfig",
    "OptimConfig",
    "PRESETS",
    "TrainConfig",
    "from_dict",
    "load_config",
    "parse_set",
    "to_dict",
]


@dataclass(frozen=True)
class DataConfig:
    name: str = "mnist"  # a toy target (gauss1d, mixture1d, ring8, grid25) or embedded data (mnist, digits)
    path: str = ""  # a file or folder for datasets read from disk
    params: dict[str, float] = field(default_factory=dict)  # toy target options, e.g. {radius = 1.0, std = 0.01}
    n_train: int = 50_000  # toy targets: size of the sampled training set
    n_val: int = 10_000  # toy targets: size of the sampled validation set
    n_test: int = 10_000  # toy targets: size of the sampled test set
    split_seed: int = 0  # seed of the fixed train/validation/test split (independent of the run's seed)
    image_size: int = 0  # images are resized and centre-cropped to this square side; 0 = folders 32, arrays/IDX keep theirs
    channels: int = 0  # 1 (grayscale) or 3 (RGB); 0 = the source's (a folder is RGB if any image has colour)
    folder_labels: bool = False  # image folders: the first-level sub-folder names become class labels
    array_key: str = ""  # .npz: the array to train on (empty = the only array in the file)
    label_key: str = ""  # .npz: an optional array of class labels, one per example
    target_column: str = ""  # tables: the column the fidelity report predicts (empty = the last column)
    max_categories: int = 10  # tables: text columns (and integer columns) with at most this many values are one-hot
    drop_columns: tuple[str, ...] = ()  # tables: columns to leave out (identifiers, free text)


@dataclass(frozen=True)
class NoiseConfig:
    prior: str = "uniform"  # uniform U(-sqrt3, sqrt3) (zero mean, unit variance) or normal N(0, I)
    dim: int = 100  # dimension of z


@dataclass(frozen=True)
class GeneratorConfig:
    name: str = "mlp"  # generator architecture (registry in origan.models)
    hidden: tuple[int, ...] = (1200, 1200)  # hidden widths
    activation: str = "relu"  # hidden activation: relu, leaky_relu, tanh, sigmoid
    output: str = "auto"  # sigmoid (data in [0, 1]), identity (unbounded data), or auto from the dataset
    init_range: float = 0.05  # weights U(-r, r) and zero biases; 0 keeps PyTorch's default init
    output_bias_from_data: bool = True  # set the output bias from the data's mean (logit of the mean pixel)
    width: int = 64  # dcgan: channels of the largest hidden feature map (ngf), doubled at each halving of the side
    spline_bins: int = 16  # spline flow: number of rational-quadratic bins
    spline_bound: float = 4.0  # spline flow: the spline acts on z in [-B, B]; linear tails outside
    coupling_layers: int = 6  # coupling flow: affine coupling layers (each with an MLP of `hidden` widths)


@dataclass(frozen=True)
class DiscriminatorConfig:
    name: str = "maxout"  # maxout (the paper's) or mlp
    hidden: tuple[int, ...] = (240, 240)  # units per hidden layer (maxout: units, each of `pieces` pieces)
    pieces: int = 5  # maxout pieces per unit
    activation: str = "leaky_relu"  # hidden activation of the mlp discriminator
    dropout_input: float = 0.2  # drop probability on D's input (the paper keeps 0.8)
    dropout_hidden: float = 0.5  # drop probability after each hidden layer (the paper keeps 0.5)
    init_range: float = 0.005  # weights U(-r, r) and zero biases; 0 keeps PyTorch's default init
    width: int = 64  # dcgan: channels of the first convolution (ndf), doubled at each halving of the side


@dataclass(frozen=True)
class LossConfig:
    generator: str = "nonsaturating"  # G's cost: minimax log(1-D(G(z))), nonsaturating -log D(G(z)), ml -exp(logit)/2


@dataclass(frozen=True)
class OptimConfig:
    name: str = "sgd"  # sgd (with momentum) or adam
    lr: float = 0.1  # initial learning rate
    lr_decay: float = 1.000004  # learning rate divided by this after every update (1 = constant)
    lr_min: float = 1e-6  # floor of the decayed learning rate (a learning rate below it stays constant)
    momentum: float = 0.5  # SGD momentum before `momentum_start_epoch`
    momentum_final: float = 0.7  # SGD momentum from `momentum_saturate_epoch` on (linear in between)
    momentum_start_epoch: int = 1  # epoch at which the momentum ramp starts
    momentum_saturate_epoch: int = 250  # epoch at which the momentum reaches `momentum_final`
    beta1: float = 0.5  # Adam beta1
    beta2: float = 0.999  # Adam beta2
    weight_decay: float = 0.0  # L2 penalty


@dataclass(frozen=True)
class TrainConfig:
    update: str = "alternating"  # alternating (Algorithm 1: k D steps, then one G step) or simultaneous (authors' code)
    k: int = 1  # D steps per G step (alternating update)
    batch_size: int = 100  # minibatch size m
    steps: int = 5000  # budget in G steps (training iterations); 0 = use `epochs`
    epochs: float = 0.0  # budget in passes over the training set; 0 = use `steps`
    log_every: int = 50  # steps between rows of metrics.jsonl
    sample_every: int = 500  # steps between sample figures from the fixed noise batch (0 = only at the end)
    checkpoint_every: int = 1000  # steps between checkpoints (0 = only at the end)
    keep_checkpoints: int = 3  # how many step checkpoints to keep besides `last`
    n_fixed_samples: int = 100  # size of the fixed noise batch for sample figures
    device: str = "auto"  # cpu, cuda, cuda:N, or auto (cuda when available)
    deterministic: bool = True  # torch.use_deterministic_algorithms (cheap on CPU)
    threads: int = 0  # torch intra-op threads on the CPU; 0 chooses at start (1 unless the model is large and gains)
    guard: bool = True  # divergence guard: a NaN/Inf loss, gradient or weight rolls back to the last good state
    guard_lr_factor: float = 0.5  # after a rollback, both learning rates are multiplied by this
    guard_max_rollbacks: int = 3  # give up after this many rollbacks
    autocast: str = "none"  # none (fp32) or bf16: G's and D's forward passes under bfloat16 autocast (CPU or GPU); weights, optimizer and losses stay fp32
    channels_last: bool = False  # 4-D weights (convolutions) in channels_last memory layout, for tensor cores and oneDNN
    compile: str = "none"  # torch.compile G and D: none, default, reduce-overhead (CUDA graphs on a GPU) or max-autotune


@dataclass(frozen=True)
class Config:
    seed: int = 0  # one seed fixes the whole run
    data: DataConfig = field(default_factory=DataConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim_d: OptimConfig = field(default_factory=OptimConfig)
    optim_g: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> Config:
        """Raise :class:`ConfigError` naming the key of the first impossible value; return self."""
        _validate(self)
        return self

    def replace(self, **overrides: Any) -> Config:
        """A copy with dotted-key overrides, e.g. ``cfg.replace(**{"train.k": 2})``."""
        return from_dict(merge(to_dict(self), _nest(overrides)))


# ---------------------------------------------------------------------------------------------------------
# dict <-> dataclass with type checks that name the key


def to_dict(cfg: Any) -> dict[str, Any]:
    """The config as plain JSON-able data (tuples become lists)."""
    return json.loads(json.dumps(dataclasses.asdict(cfg)))


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp``; return it converted (list -> tuple, int -> float)."""
    origin = typing.get_origin(tp)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif origin is tuple:
        (item_tp, _) = typing.get_args(tp)
        if isinstance(value, (list, tuple)):
            return tuple(_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value))
    elif origin is dict:
        _, val_tp = typing.get_args(tp)
        if isinstance(value, Mapping):
            return {str(k): _coerce(v, val_tp, f"{key}.{k}") for k, v in value.items()}
    elif dataclasses.is_dataclass(tp):
        if isinstance(value, Mapping):
            return _build(tp, value, key + ".")
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                continue
    expected = "a table" if dataclasses.is_dataclass(tp) else _type_name(tp)
    raise ConfigError(f"{key}: expected {expected}, got {value!r} ({type(value).__name__})")


def _build(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    for k in data:
        if k not in names:
            raise ConfigError(f"{prefix}{k}: unknown key; expected one of {', '.join(sorted(names))}")
    kwargs = {k: _coerce(v, hints[k], prefix + k) for k, v in data.items()}
    return cls(**kwargs)


def from_dict(data: Mapping[str, Any]) -> Config:
    """Build and validate a :class:`Config` from nested plain data; missing keys take their defaults."""
    return _build(Config, data).validate()


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in flat.items():
        node = out
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{dotted}: {p} is not a table")
        node[leaf] = value
    return out


def _apply_layer(base: dict[str, Any], layer: Mapping[str, Any]) -> dict[str, Any]:
    """Merge a layer; a layer that sets one budget (train.steps or train.epochs) clears the other."""
    train = layer.get("train", {})
    if isinstance(train, Mapping) and ("steps" in train) != ("epochs" in train):
        layer = merge(layer, {"train": {"epochs" if "steps" in train else "steps": 0}})
    return merge(base, layer)


def parse_set(assignment: str) -> tuple[str, Any]:
    """Parse ``a.b=value``; the value is read as a TOML value, else taken as a bare string."""
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key or any(not part.isidentifier() for part in key.split(".")):
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE with a dotted key, e.g. train.k=2")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def load_config(
    preset: str | None = None,
    file: str | Path | None = None,
    overrides: Sequence[str] | Mapping[str, Any] = (),
) -> Config:
    """Resolve defaults <- preset <- TOML file <- overrides and validate.

    Args:
        preset: a name from :data:`PRESETS`.
        file: a TOML file with the same sections as :class:`Config`.
        overrides: ``"a.b=value"`` strings, or a mapping of dotted keys to values.
    """
    data: dict[str, Any] = to_dict(Config())
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"preset {preset!r}: unknown; expected one of {', '.join(PRESETS)}")
        data = _apply_layer(data, PRESETS[preset][1])
    if file is not None:
        path = Path(file)
        try:
            layer = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None
        data = _apply_layer(data, layer)
    pairs = overrides.items() if isinstance(overrides, Mapping) else (parse_set(s) for s in overrides)
    for key, value in pairs:
        data = _apply_layer(data, _nest({key: value}))
    return from_dict(data)


# ---------------------------------------------------------------------------------------------------------
# Value checks


def _check(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")


def _one_of(key: str, value: str, options: Sequence[str]) -> None:
    _check(value in options, key, "one of " + ", ".join(options), value)


def _validate(cfg: Config) -> None:
    from .data import DATASETS
    from .losses import GENERATOR_LOSSES
    from .models import DISCRIMINATORS, GENERATORS
    from .priors import PRIORS

    _one_of("data.name", cfg.data.name, sorted(DATASETS))
    for key in ("n_train", "n_val", "n_test"):
        _check(getattr(cfg.data, key) > 0, f"data.{key}", "a positive integer", getattr(cfg.data, key))
    _check(cfg.data.image_size >= 0, "data.image_size", "a side in pixels >= 0", cfg.data.image_size)
    _check(cfg.data.channels in (0, 1, 3), "data.channels", "0 (the source's), 1 or 3", cfg.data.channels)
    _check(cfg.data.max_categories >= 2, "data.max_categories", "an integer >= 2", cfg.data.max_categories)
    _one_of("noise.prior", cfg.noise.prior, sorted(PRIORS))
    _check(cfg.noise.dim > 0, "noise.dim", "a positive integer", cfg.noise.dim)
    g, d = cfg.generator, cfg.discriminator
    _one_of("generator.name", g.name, sorted(GENERATORS))
    _one_of("generator.output", g.output, ["auto", "sigmoid", "identity"])
    _one_of("generator.activation", g.activation, ["relu", "leaky_relu", "tanh", "sigmoid"])
    _check(all(h > 0 for h in g.hidden), "generator.hidden", "positive widths", list(g.hidden))
    _check(g.init_range >= 0, "generator.init_range", "a number >= 0", g.init_range)
    _check(g.spline_bins >= 2, "generator.spline_bins", "an integer >= 2", g.spline_bins)
    _check(g.spline_bound > 0, "generator.spline_bound", "a number > 0", g.spline_bound)
    _check(g.coupling_layers >= 1, "generator.coupling_layers", "a positive integer", g.coupling_layers)
    _check(g.width > 0 and d.width > 0, "generator.width" if g.width <= 0 else "discriminator.width",
           "a positive number of channels", g.width if g.width <= 0 else d.width)
    _one_of("discriminator.name", d.name, sorted(DISCRIMINATORS))
    _one_of("discriminator.activation", d.activation, ["relu", "leaky_relu", "tanh", "sigmoid"])
    _check(all(h > 0 for h in d.hidden), "discriminator.hidden", "positive widths", list(d.hidden))
    _check(d.pieces > 0, "discriminator.pieces", "a positive integer", d.pieces)
    for key in ("dropout_input", "dropout_hidden"):
        v = getattr(d, key)
        _check(0 <= v < 1, f"discriminator.{key}", "a probability in [0, 1)", v)
    _check(d.init_range >= 0, "discriminator.init_range", "a number >= 0", d.init_range)
    _one_of("loss.generator", cfg.loss.generator, sorted(GENERATOR_LOSSES))
    for name in ("optim_d", "optim_g"):
        o: OptimConfig = getattr(cfg, name)
        _one_of(f"{name}.name", o.name, ["sgd", "adam"])
        _check(o.lr > 0, f"{name}.lr", "a positive learning rate", o.lr)
        _check(o.lr_decay >= 1, f"{name}.lr_decay", "a divisor >= 1", o.lr_decay)
        _check(o.lr_min >= 0, f"{name}.lr_min", "a number >= 0", o.lr_min)
        for key in ("momentum", "momentum_final"):
            _check(0 <= getattr(o, key) < 1, f"{name}.{key}", "a number in [0, 1)", getattr(o, key))
        _check(0 <= o.momentum_start_epoch < o.momentum_saturate_epoch, f"{name}.momentum_saturate_epoch",
               f"an epoch after momentum_start_epoch={o.momentum_start_epoch}", o.momentum_saturate_epoch)
        for key in ("beta1", "beta2"):
            _check(0 <= getattr(o, key) < 1, f"{name}.{key}", "a number in [0, 1)", getattr(o, key))
        _check(o.weight_decay >= 0, f"{name}.weight_decay", "a number >= 0", o.weight_decay)
    t = cfg.train
    _one_of("train.update", t.update, ["alternating", "simultaneous"])
    _check(t.k >= 1, "train.k", "a positive integer", t.k)
    _check(t.update == "alternating" or t.k == 1, "train.k", "1 with the simultaneous update", t.k)
    _check(t.batch_size >= 1, "train.batch_size", "a positive integer", t.batch_size)
    _check(t.steps >= 0, "train.steps", "an integer >= 0", t.steps)
    _check(t.epochs >= 0, "train.epochs", "a number >= 0", t.epochs)
    _check(t.steps > 0 or t.epochs > 0, "train.steps", "a budget: train.steps > 0 or train.epochs > 0", t.steps)
    _check(t.log_every >= 1, "train.log_every", "a positive integer", t.log_every)
    for key in ("sample_every", "checkpoint_every"):
        _check(getattr(t, key) >= 0, f"train.{key}", "an integer >= 0", getattr(t, key))
    _check(t.keep_checkpoints >= 0, "train.keep_checkpoints", "an integer >= 0", t.keep_checkpoints)
    _check(t.n_fixed_samples >= 1, "train.n_fixed_samples", "a positive integer", t.n_fixed_samples)
    _check(t.device == "auto" or t.device == "cpu" or t.device.startswith("cuda") or t.device == "mps",
           "train.device", "auto, cpu, cuda or cuda:N", t.device)
    _check(t.threads >= 0, "train.threads", "an integer >= 0", t.threads)
    _check(0 < t.guard_lr_factor <= 1, "train.guard_lr_factor", "a factor in (0, 1]", t.guard_lr_factor)
    _check(t.guard_max_rollbacks >= 0, "train.guard_max_rollbacks", "an integer >= 0", t.guard_max_rollbacks)
    _one_of("train.autocast", t.autocast, ["none", "bf16"])
    _one_of("train.compile", t.compile, ["none", "default", "reduce-overhead", "max-autotune"])
