"""Typed, frozen configuration: defaults <- preset <- TOML file <- ``--set a.b=value``; JSON out.

Every field has one default and a comment. Unknown keys, wrong types, choices outside a ``Literal``,
non-finite floats and impossible values raise a :class:`~origan.errors.ConfigError` whose message names the
dotted key. This module knows no registry: names of registered things (data, prior, models, G cost) are
checked by :func:`origan.training.build.check_registered` where a config is resolved into a run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import stat
import tomllib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError
from .limits import (
    MAX_CLUSTERS,
    MAX_CONFIG_BYTES,
    MAX_EPOCHS,
    MAX_GRID,
    MAX_K,
    MAX_LOGIT_SCALE,
    MAX_SEED,
    MAX_STEPS,
    MAX_THREADS,
)
from .presets import PRESETS, merge

__all__ = [
    "MAX_SEED",
    "MAX_THREADS",
    "PRESETS",
    "Config",
    "DataConfig",
    "DiscriminatorConfig",
    "GeneratorConfig",
    "LossConfig",
    "NoiseConfig",
    "OptimConfig",
    "TrainConfig",
    "from_dict",
    "load_config",
    "parse_set",
    "to_dict",
]


Activation = Literal["relu", "leaky_relu", "tanh", "sigmoid"]  # hidden activations (origan.models.mlp)
Output = Literal["auto", "sigmoid", "identity"]  # G's output layer
Update = Literal["alternating", "simultaneous"]  # how D and G take turns
Autocast = Literal["none", "bf16", "bf16-matmul", "auto"]  # the precision of the steps (training/speed.py)
Compile = Literal["none", "default", "reduce-overhead", "max-autotune"]  # torch.compile modes
Conditioning = Literal["projection", "input"]  # how a conditional dcgan D takes the class
Preprocess = Literal["none", "gcn"]  # data preprocessing (origan.data.cifar)
TensorBoard = Literal["auto", "on", "off"]  # TensorBoard logging (origan.io.tensorboard)
Select = Literal["none", "table", "frechet"]  # the validation score that keeps G's weights (training/select.py)


@dataclass(frozen=True)
class DataConfig:
    name: str = "mnist"  # a toy target (gauss1d, mixture1d, ring8, grid25) or embedded data (mnist, digits)
    path: str = ""  # a file or folder for datasets read from disk
    params: dict[str, float] = field(default_factory=dict)  # toy target options, e.g. {radius = 1.0, std = 0.01}
    n_train: int = 50_000  # toy targets: size of the sampled training set
    n_val: int = 10_000  # toy targets: size of the sampled validation set
    n_test: int = 10_000  # toy targets: size of the sampled test set
    split_seed: int = 0  # seed of the fixed train/validation/test split (independent of the run's seed; <= MAX_SEED)
    # data without a split of its own: the shares of the fixed permutation held out for validation and for
    # testing (0 and 0: every example trains, and metrics that need held-out examples have none)
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    val_path: str = ""  # csv: a CSV file of validation rows with data.path's header (data.val_fraction then unused)
    image_size: int = (
        0  # images are resized and centre-cropped to this square side; 0 = folders 32, arrays/IDX keep theirs
    )
    channels: int = 0  # 1 (grayscale) or 3 (RGB); 0 = the source's (a folder is RGB if any image has colour)
    folder_labels: bool = False  # image folders: the first-level sub-folder names become class labels
    array_key: str = ""  # .npz: the array to train on (empty = the only array in the file)
    label_key: str = ""  # .npz: an optional array of class labels, one per example
    target_column: str = ""  # tables: the column the fidelity report predicts (empty = the last column)
    max_categories: int = 10  # tables: text columns (and integer columns) with at most this many values are one-hot
    drop_columns: tuple[str, ...] = ()  # tables: columns to leave out (identifiers, free text)
    preprocess: Preprocess = "none"  # cifar10: none (pixels in [0, 1]) or gcn (the authors' contrast normalisation)


@dataclass(frozen=True)
class NoiseConfig:
    prior: str = "uniform"  # uniform U(-sqrt3, sqrt3) (zero mean, unit variance) or normal N(0, I)
    dim: int = 100  # dimension of z


@dataclass(frozen=True)
class GeneratorConfig:
    name: str = "mlp"  # generator architecture (registry in origan.models)
    hidden: tuple[int, ...] = (1200, 1200)  # hidden widths
    activation: Activation = "relu"  # hidden activation: relu, leaky_relu, tanh, sigmoid
    output: Output = "auto"  # sigmoid (data in [0, 1]), identity (unbounded data), or auto from the dataset
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
    activation: Activation = "leaky_relu"  # hidden activation of the mlp discriminator
    dropout_input: float = 0.2  # drop probability on D's input (the paper keeps 0.8)
    dropout_hidden: float = 0.5  # drop probability after each hidden layer (the paper keeps 0.5)
    init_range: float = 0.005  # weights U(-r, r) and zero biases; 0 keeps PyTorch's default init
    width: int = 64  # dcgan: channels of the first convolution (ndf), doubled at each halving of the side
    conditioning: Conditioning = "projection"  # conditional dcgan D: projection (Miyato & Koyama) or input maps
    spectral_norm: bool = False  # every conv / linear weight divided by its largest singular value (Miyato et al.)
    dense: int = 0  # dcgan: units of a fully connected LeakyReLU layer before the logit (0: none, DCGAN's)
    logit_scale: float = 1.0  # D's logit multiplied by this constant (with spectral_norm: D's Lipschitz bound)


@dataclass(frozen=True)
class LossConfig:
    generator: str = "nonsaturating"  # G's cost: minimax log(1-D(G(z))), nonsaturating -log D(G(z)), ml -exp(logit)/2


@dataclass(frozen=True)
class OptimConfig:
    name: Literal["sgd", "adam"] = "sgd"  # sgd (with momentum) or adam
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
    update: Update = (
        "alternating"  # alternating (Algorithm 1: k D steps, then a G step) or simultaneous (authors' code)
    )
    k: int = 1  # D steps per G step (alternating update)
    batch_size: int = 100  # minibatch size m
    steps: int = 5000  # budget in G steps (training iterations); 0 = use `epochs`
    epochs: float = 0.0  # budget in passes over the training set; 0 = use `steps`
    max_steps: int = 0  # a budget in epochs stops after at most this many G steps (0 = no cap)
    log_every: int = 50  # steps between rows of metrics.jsonl
    sample_every: int = 500  # steps between sample figures from the fixed noise batch (0 = only at the end)
    checkpoint_every: int = 1000  # steps between checkpoints (0 = only at the end)
    keep_checkpoints: int = 3  # how many step checkpoints to keep besides `last`
    n_fixed_samples: int = 100  # size of the fixed noise batch for sample figures
    device: str = "auto"  # auto (cuda when available), cpu, mps, cuda or cuda:N
    deterministic: bool = True  # torch.use_deterministic_algorithms (cheap on CPU)
    threads: int = 0  # torch intra-op threads, at most MAX_THREADS; 0 chooses at start (1 unless the model gains)
    guard: bool = True  # divergence guard: a NaN/Inf loss, gradient or weight rolls back to the last good state
    guard_lr_factor: float = 0.5  # after a rollback, both learning rates are multiplied by this
    guard_max_rollbacks: int = 3  # give up after this many rollbacks
    # none (fp32); bf16: G's and D's forward passes under bfloat16 autocast (CPU or GPU); bf16-matmul (CPU):
    # fp32 everywhere but in the matmuls and convolutions, whose inputs oneDNN rounds to bf16 (fp32 sums) on a
    # CPU with AMX (on other AVX-512 CPUs they stay fp32, in oneDNN's kernels); auto: on a CPU with fast bf16
    # matmuls (AMX or AVX512-BF16) bf16-matmul for fully connected nets and bf16 for convolutional ones, else
    # none, chosen when the run is created and recorded in its config. Weights, gradients, optimizer and losses
    # stay fp32 in every mode.
    autocast: Autocast = "none"
    channels_last: bool = (
        False  # 4-D weights (convolutions) in channels_last memory layout, for tensor cores and oneDNN
    )
    # torch.compile G and D: none, default, reduce-overhead (CUDA graphs on a GPU) or max-autotune
    compile: Compile = "none"
    # differentiable augmentation of every image D sees, real and generated, in both players' steps
    # (origan.training.augment): some of translation, cutout, brightness, contrast; empty = none
    augment: tuple[str, ...] = ()
    augment_p: float = 1.0  # probability that each augmentation is applied to each image
    ema: float = 0.0  # G's weights averaged with this decay per G update, used for every sample (0 = off)
    conditional: bool = False  # class-conditional G(z, y) and D(x, y) (the data must have labels)
    # with train.conditional: the classes are this many k-means clusters of the training split's examples
    # (pixels), not the data's labels; samples draw them from the clusters' frequencies (0 = the labels)
    clusters: int = 0
    # keep the weights G samples with at their best validation score (training/select.py): none; table (fidelity
    # to the validation rows, less a penalty for rows closer to the training rows than held-out rows are); frechet
    # (the Frechet distance to the validation split: a digit classifier's features for digit images, else raw)
    select: Select = "none"
    select_every: int = 100  # steps between validation scores (train.select)
    patience: int = 0  # stop after this many scores without a better one (0 = train the whole budget)
    tensorboard: TensorBoard = "auto"  # event files in RUN/tensorboard: auto (when tensorboard imports), on or off


@dataclass(frozen=True)
class Config:
    seed: int = 0  # one seed fixes the whole run (0 <= seed <= MAX_SEED)
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
            number = float(value) if isinstance(value, float) or abs(value) < 2**1023 else math.inf
            if not math.isfinite(number):  # no float of the config means anything at inf or nan
                raise ConfigError(f"{key}: expected a finite number, got {value!r}")
            return number
    elif origin is Literal:
        options = typing.get_args(tp)
        if isinstance(value, str) and value in options:
            return value
        raise ConfigError(f"{key}: expected one of {', '.join(options)}, got {value!r}")
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
    elif isinstance(tp, type) and dataclasses.is_dataclass(tp):
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
            size = os.stat(path).st_size if stat.S_ISREG(os.stat(path).st_mode) else -1
            if size < 0 or size > MAX_CONFIG_BYTES:  # a FIFO or a device would block or never end
                what = "not a regular file" if size < 0 else f"{size:,} bytes, over {MAX_CONFIG_BYTES:,}"
                raise ConfigError(f"{path}: {what}; expected a TOML config file")
            layer = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None
        except RecursionError:
            raise ConfigError(f"{path}: not valid TOML (nested too deeply)") from None
        except OSError as e:
            raise ConfigError(f"{path}: cannot read the config file ({e.strerror or e})") from None
        data = _apply_layer(data, layer)
    pairs = overrides.items() if isinstance(overrides, Mapping) else (parse_set(s) for s in overrides)
    for key, value in pairs:
        if not isinstance(key, str):
            raise ConfigError(f"overrides: expected dotted keys as text such as 'train.k', got {key!r:.60}")
        data = _apply_layer(data, _nest({key: value}))
    return from_dict(data)


# ---------------------------------------------------------------------------------------------------------
# Value checks (types, choices and finiteness are checked while building; registered names by
# origan.training.build.check_registered where a config is resolved)

_DEVICE = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
AUGMENTATIONS = ("translation", "cutout", "brightness", "contrast")  # origan.training.augment implements them


def _positive(v: Any) -> bool:
    return v > 0


def _non_negative(v: Any) -> bool:
    return v >= 0


def _unit(v: float) -> bool:
    return 0 <= v < 1


def _widths(v: tuple[int, ...]) -> bool:
    return all(h > 0 for h in v)


def _device(v: str) -> bool:
    return _DEVICE.fullmatch(v) is not None


_OPTIM_RULES: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("lr", _positive, "a positive learning rate"),
    ("lr_decay", lambda v: v >= 1, "a divisor >= 1"),
    ("lr_min", _non_negative, "a number >= 0"),
    ("momentum", _unit, "a number in [0, 1)"),
    ("momentum_final", _unit, "a number in [0, 1)"),
    ("beta1", _unit, "a number in [0, 1)"),
    ("beta2", _unit, "a number in [0, 1)"),
    ("weight_decay", _non_negative, "a number >= 0"),
)

# dotted key -> (check, what is expected); each names the key of the first value that fails
_RULES: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("seed", lambda v: 0 <= v <= MAX_SEED, "an integer in [0, 2**63 - 1]"),
    ("data.n_train", _positive, "a positive integer"),
    ("data.n_val", _positive, "a positive integer"),
    ("data.n_test", _positive, "a positive integer"),
    ("data.split_seed", lambda v: 0 <= v <= MAX_SEED, "an integer in [0, 2**63 - 1]"),
    ("data.val_fraction", lambda v: 0 <= v < 1, "a share in [0, 1)"),
    ("data.test_fraction", lambda v: 0 <= v < 1, "a share in [0, 1)"),
    ("data.image_size", _non_negative, "a side in pixels >= 0"),
    ("data.channels", lambda v: v in (0, 1, 3), "0 (the source's), 1 or 3"),
    ("data.max_categories", lambda v: v >= 2, "an integer >= 2"),
    ("noise.dim", _positive, "a positive integer"),
    ("generator.hidden", _widths, "positive widths"),
    ("generator.init_range", _non_negative, "a number >= 0"),
    ("generator.spline_bins", lambda v: v >= 2, "an integer >= 2"),
    ("generator.spline_bound", _positive, "a number > 0"),
    ("generator.coupling_layers", _positive, "a positive integer"),
    ("generator.width", _positive, "a positive number of channels"),
    ("discriminator.hidden", _widths, "positive widths"),
    ("discriminator.pieces", _positive, "a positive integer"),
    ("discriminator.dropout_input", _unit, "a probability in [0, 1)"),
    ("discriminator.dropout_hidden", _unit, "a probability in [0, 1)"),
    ("discriminator.init_range", _non_negative, "a number >= 0"),
    ("discriminator.width", _positive, "a positive number of channels"),
    ("discriminator.dense", _non_negative, "a number of units >= 0 (0 = no dense layer)"),
    ("discriminator.logit_scale", lambda v: 0 < v <= MAX_LOGIT_SCALE, f"a number in (0, {MAX_LOGIT_SCALE:,}]"),
    *((f"{o}.{key}", ok, expected) for o in ("optim_d", "optim_g") for key, ok, expected in _OPTIM_RULES),
    ("train.k", lambda v: 1 <= v <= MAX_K, f"an integer in [1, {MAX_K:,}]"),
    ("train.batch_size", _positive, "a positive integer"),
    ("train.steps", lambda v: 0 <= v <= MAX_STEPS, f"an integer in [0, {MAX_STEPS:,}]"),
    ("train.epochs", lambda v: 0 <= v <= MAX_EPOCHS, f"a number in [0, {MAX_EPOCHS:,}]"),
    ("train.max_steps", lambda v: 0 <= v <= MAX_STEPS, f"an integer in [0, {MAX_STEPS:,}] (0 = no cap)"),
    ("train.log_every", _positive, "a positive integer"),
    ("train.sample_every", _non_negative, "an integer >= 0"),
    ("train.checkpoint_every", _non_negative, "an integer >= 0"),
    ("train.keep_checkpoints", _non_negative, "an integer >= 0"),
    ("train.n_fixed_samples", lambda v: 1 <= v <= MAX_GRID, f"an integer in [1, {MAX_GRID}] (one figure)"),
    ("train.device", _device, "auto, cpu, mps, cuda or cuda:N"),
    ("train.threads", lambda v: 0 <= v <= MAX_THREADS, f"an integer in [0, {MAX_THREADS}] (0 = chosen at start)"),
    ("train.guard_lr_factor", lambda v: 0 < v <= 1, "a factor in (0, 1]"),
    ("train.guard_max_rollbacks", _non_negative, "an integer >= 0"),
    (
        "train.augment",
        lambda v: all(o in AUGMENTATIONS for o in v) and len(set(v)) == len(v),
        f"distinct names among {', '.join(AUGMENTATIONS)}",
    ),
    ("train.augment_p", lambda v: 0 < v <= 1, "a probability in (0, 1]"),
    ("train.ema", _unit, "a decay in [0, 1) (0 = no average)"),
    ("train.select_every", _positive, "a positive number of steps"),
    ("train.patience", _non_negative, "an integer >= 0 (0 = no early stop)"),
    ("train.clusters", lambda v: v == 0 or 2 <= v <= MAX_CLUSTERS, f"0 (the data's labels) or 2 to {MAX_CLUSTERS:,}"),
)


def _check(ok: bool, key: str, expected: str, value: Any) -> None:
    if not ok:
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")


def _get(cfg: Config, dotted: str) -> Any:
    node: Any = cfg
    for part in dotted.split("."):
        node = getattr(node, part)
    return node


def _validate(cfg: Config) -> None:
    for key, ok, expected in _RULES:
        value = _get(cfg, key)
        _check(bool(ok(value)), key, expected, list(value) if isinstance(value, tuple) else value)
    for name in ("optim_d", "optim_g"):
        o: OptimConfig = getattr(cfg, name)
        _check(
            0 <= o.momentum_start_epoch < o.momentum_saturate_epoch,
            f"{name}.momentum_saturate_epoch",
            f"an epoch after momentum_start_epoch={o.momentum_start_epoch}",
            o.momentum_saturate_epoch,
        )
    d = cfg.data
    _check(not d.val_path or d.name == "csv", "data.val_path", "empty unless data.name = csv", d.val_path)
    _check(
        d.val_fraction + d.test_fraction < 1,
        "data.test_fraction",
        f"a share below 1 - data.val_fraction = {1 - d.val_fraction:g} (some examples must train)",
        d.test_fraction,
    )
    t = cfg.train
    _check(t.update == "alternating" or t.k == 1, "train.k", "1 with the simultaneous update", t.k)
    _check(t.conditional or not t.clusters, "train.clusters", "0 unless train.conditional = true", t.clusters)
    _check(t.steps > 0 or t.epochs > 0, "train.steps", "a budget: train.steps > 0 or train.epochs > 0", t.steps)
