"""Build the state of a run from its config: seeds, data, G and D, optimizers and every RNG stream.

```python
from origan.training.build import build_state
built = build_state(cfg, torch.device("cpu"))
trainer = Trainer(cfg, built.state)
```

One place builds it, so a fresh run, a resumed run, the benchmarks and the theory lab start from the same
bits for the same seed.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection, Sequence
from typing import NamedTuple, Protocol, cast

import torch
from torch import Tensor

from ..config import Config
from ..data import DATASETS, Dataset, build_dataset
from ..data.clusters import with_clusters
from ..errors import ConfigError, DataError, UserError
from ..gan import GAN
from ..limits import check_request
from ..losses import GENERATOR_LOSSES
from ..models import DISCRIMINATORS, GENERATORS, build_discriminator, build_generator
from ..models.dropout import bind_dropout
from ..priors import PRIORS, build_prior
from ..seeding import derive_seed, seed_all
from .augment import DiffAugment
from .select import Selection, check_select
from .speed import choose_threads, prepare_modules, run_autocast
from .state import BatchSampler, TrainState
from .trainer import make_optimizer

__all__ = ["BuiltState", "build_gan", "build_state", "check_data", "check_registered", "resolve_device"]

_DEVICE = re.compile(r"(cpu|cuda|mps)(:\d+)?")


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when there is one, else the CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(name, str) or not _DEVICE.fullmatch(name):
        raise ConfigError(f"train.device: expected auto, cpu, cuda, cuda:N or mps, got {name!r}")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"train.device: {name} requested but no CUDA device is available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ConfigError(f"train.device: {name} requested but there are {torch.cuda.device_count()} CUDA devices")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"train.device: {name} requested but MPS is not available")
    return device


def _registered(key: str, name: str, family: Collection[str]) -> None:
    if name not in family:
        raise ConfigError(f"{key}: expected one of {', '.join(sorted(family))}, got {name!r}")


def check_registered(cfg: Config) -> Config:
    """Each registered name of ``cfg`` (data, prior, G, D, G cost) is a member of its family's registry: raise
    :class:`ConfigError` naming the key of the first one no registry knows; return ``cfg``.

    :mod:`origan.config` checks types, choices and ranges and knows no registry (so it imports no model, data
    or loss code); this runs where a config is resolved into a run: training, resume, ``load_run`` and
    ``origan train --dry-run``.
    """
    _registered("data.name", cfg.data.name, DATASETS)
    _registered("noise.prior", cfg.noise.prior, PRIORS)
    _registered("generator.name", cfg.generator.name, GENERATORS)
    _registered("discriminator.name", cfg.discriminator.name, DISCRIMINATORS)
    _registered("loss.generator", cfg.loss.generator, GENERATOR_LOSSES)
    return cfg


class _InitsOutputBias(Protocol):
    """A generator that can start its output centred on the data's mean (models.mlp, models.flows)."""

    def init_output_bias(self, data_mean: Tensor) -> None: ...


TRAINING_COPIES = 5  # bytes of a parameter in training, in float32s: weights, gradient, two optimizer moments, average


def _check_model_size(cfg: Config, shape: tuple[int, ...], bounded: bool, k: int) -> None:
    """Refuse G and D whose parameters would not fit the byte budget, counted on the meta device (no memory)
    before the real nets are built: ``noise.dim``, ``generator.*`` and ``discriminator.*`` set the size."""
    try:
        with torch.device("meta"):
            nets = (
                build_generator(cfg.generator, shape, bounded, cfg.noise.dim, k),
                build_discriminator(cfg.discriminator, shape, bounded, cfg.noise.dim, k),
            )
    except UserError:
        raise
    except Exception:  # a builder that needs real memory: the real build decides
        return
    n = sum(p.numel() for net in nets for p in net.parameters())
    check_request(n, 4 * TRAINING_COPIES, "noise.dim, generator.*, discriminator.*", "parameters of G and D")


def build_gan(
    cfg: Config, shape: Sequence[int], bounded: bool, data_mean: Tensor | None = None, n_classes: int = 0
) -> GAN:
    """G, D and p_z from the config, for samples of ``shape``; G's output bias from ``data_mean`` if asked;
    G and D conditional on ``n_classes`` classes when ``train.conditional`` is set."""
    shape = tuple(shape)
    if cfg.train.conditional and n_classes < 1:
        raise ConfigError("train.conditional: a conditional run needs labelled data (no classes given)")
    k = n_classes if cfg.train.conditional else 0
    generator = build_generator(cfg.generator, shape, bounded, cfg.noise.dim, k)
    discriminator = build_discriminator(cfg.discriminator, shape, bounded, cfg.noise.dim, k)
    if data_mean is not None and cfg.generator.output_bias_from_data and hasattr(generator, "init_output_bias"):
        cast(_InitsOutputBias, generator).init_output_bias(data_mean)  # the cast states what hasattr checked
    gan = GAN(generator, discriminator, build_prior(cfg.noise.prior, cfg.noise.dim), cfg.loss.generator)
    if cfg.train.ema > 0:  # starts as G's copy; the trainer moves it after every G update
        gan.G_ema = copy.deepcopy(generator).requires_grad_(False)
    return gan


class BuiltState(NamedTuple):
    """A run's starting point; unpacks as ``data, state, fixed_z = build_state(...)``."""

    data: Dataset
    state: TrainState
    fixed_z: Tensor  # (n_fixed_samples, noise.dim) on the run's device


def check_data(cfg: Config, data: Dataset) -> None:
    """Refuse data that cannot train with ``cfg`` (non-finite values, augmentations of non-images, a conditional
    run without labels, fewer training examples than a batch): a UserError before anything is written."""
    for split in ("train", "val", "test"):
        if not torch.isfinite(getattr(data, split)).all():
            raise DataError(
                f"data ({cfg.data.name}{': ' + cfg.data.path if cfg.data.path else ''}): "
                f"the {split} split holds NaN or Inf values"
            )
    if cfg.train.augment and len(data.shape) != 3:
        raise ConfigError(
            f"train.augment: augmentations act on images (C, H, W); {cfg.data.name} has examples of shape "
            f"{tuple(data.shape)} (set train.augment = [])"
        )
    if cfg.train.conditional and not cfg.train.clusters and not data.labels:
        where = f"{cfg.data.name}{': ' + cfg.data.path if cfg.data.path else ''}"
        raise ConfigError(f"train.conditional: the data ({where}) have no labels; a conditional run needs them")
    if cfg.train.batch_size > len(data.train):
        raise ConfigError(
            f"train.batch_size: expected at most the {len(data.train)} training examples, got {cfg.train.batch_size}"
        )
    check_select(cfg, data)


def build_state(cfg: Config, device: torch.device, rank: int = 0, data: Dataset | None = None) -> BuiltState:
    """Seed, build data and models, optimizers and RNG streams: the state of step 0.

    ``data``: the dataset of ``cfg.data`` when the caller has built it already (``TableGAN`` builds its
    frame's table in memory); None builds it from ``cfg.data``.

    ``rank`` (data-parallel training) offsets the seed of the global RNGs; the training streams (noise,
    data order, dropout) are the run's own on every rank. Raises a :class:`~origan.errors.UserError` for
    data that cannot train (non-finite values, fewer examples than a batch) before anything is written.
    """
    seed_all(cfg.seed, rank)
    torch.use_deterministic_algorithms(cfg.train.deterministic, warn_only=True)
    # Deterministic mode also fills every fresh tensor with NaN (a debugging aid: ~5 % of a CPU step). Code
    # that never reads memory before writing it gives the same bits without; the tests check that.
    torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]  # not in torch's stubs
    data = build_dataset(cfg.data) if data is None else data
    check_data(cfg, data)
    if cfg.train.clusters:  # the classes: k-means clusters of the training split (the same on every rank)
        data = with_clusters(data, cfg.train.clusters, torch.Generator().manual_seed(derive_seed(cfg.seed, "clusters")))
    _check_model_size(cfg, tuple(data.shape), data.bounded, len(data.classes) if cfg.train.conditional else 0)
    gan = build_gan(cfg, data.shape, data.bounded, data.train.mean(0), len(data.classes)).to(device)
    precision = run_autocast(cfg, device)  # the threads are timed as the step will run
    torch.set_num_threads(choose_threads(cfg.train, gan, (cfg.train.batch_size, *data.shape), precision))
    noise_gen = torch.Generator(device=device).manual_seed(derive_seed(cfg.seed, "noise"))
    order_gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "data-order"))
    dropout_gen = torch.Generator(device=device).manual_seed(derive_seed(cfg.seed, "dropout"))
    bind_dropout(gan, dropout_gen)
    augment_gen = None
    if cfg.train.augment:
        # each data-parallel rank transforms its own shard: its own stream (rank 0's is a single process's)
        stream = "augment" if rank == 0 else f"augment-rank-{rank}"
        augment_gen = torch.Generator(device=device).manual_seed(derive_seed(cfg.seed, stream))
        gan.augment = DiffAugment(cfg.train.augment, augment_gen, cfg.train.augment_p)
    prepare_modules(cfg.train, gan.G, gan.D)
    sampler = BatchSampler(
        data.train.to(device), cfg.train.batch_size, order_gen, labels=data.labels["train"] if data.labels else None
    )
    state = TrainState(
        gan,
        make_optimizer(cfg.optim_d, gan.D.parameters()),
        make_optimizer(cfg.optim_g, gan.G.parameters()),
        sampler,
        noise_gen,
        dropout_gen,
        augment_gen,
    )
    if cfg.train.select != "none":
        state.selection = Selection()
    fixed_gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "fixed-noise"))
    fixed_z = gan.prior.sample(cfg.train.n_fixed_samples, fixed_gen)  # (n_fixed, noise.dim)
    return BuiltState(data, state, fixed_z.to(device))
