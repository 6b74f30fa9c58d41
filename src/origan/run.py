"""The library's front door: train a run, resume it, load it, sample from it.

```python
import origan
cfg = origan.load_config("ring8", overrides=["train.steps=2000"])
run = origan.train(cfg, out="runs/ring8")
x = run.sample(1000, generator=torch.Generator().manual_seed(0))   # (1000, 2)
run = origan.load_run("runs/ring8")
```
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .config import Config, from_dict, to_dict
from .data import Dataset, build_dataset
from .errors import CheckpointError, ConfigError, DataError, RunDirError
from .gan import GAN
from .io.checkpoint import Checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from .io.files import write_atomic
from .io.rundir import RunDir, next_run_path
from .models import build_discriminator, build_generator
from .models.dropout import bind_dropout
from .names import check_registered
from .priors import build_prior
from .seeding import seed_all
from .training import Callback, Trainer, TrainState
from .training.speed import choose_threads, prepare_modules
from .training.trainer import make_optimizer

__all__ = ["Run", "build_gan", "derive_seed", "inspect_run", "load_run", "resume", "train"]

log = logging.getLogger(__name__)

BUDGET_KEYS = ("steps", "epochs")  # the only keys a resume may change


def derive_seed(seed: int, tag: str) -> int:
    """An independent 63-bit seed for the stream named ``tag`` (noise, data order, fixed samples...)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{tag}".encode()).digest()[:8], "little") >> 1


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device: {name} requested but no CUDA device is available")
    return device


def build_gan(cfg: Config, shape: Sequence[int], bounded: bool, data_mean: Tensor | None = None) -> GAN:
    """G, D and p_z from the config, for samples of ``shape``; G's output bias from ``data_mean`` if asked."""
    shape = tuple(shape)
    generator = build_generator(cfg.generator, shape, bounded, cfg.noise.dim)
    discriminator = build_discriminator(cfg.discriminator, shape, bounded, cfg.noise.dim)
    if data_mean is not None and cfg.generator.output_bias_from_data and hasattr(generator, "init_output_bias"):
        generator.init_output_bias(data_mean)
    return GAN(generator, discriminator, build_prior(cfg.noise.prior, cfg.noise.dim), cfg.loss.generator)


def _data_info(data: Dataset) -> dict[str, Any]:
    info = {"name": data.name, "shape": list(data.shape), "kind": data.kind, "bounded": data.bounded}
    if "codec" in data.info:  # tables: how to decode samples to the original columns (plain JSON)
        info["codec"] = data.info["codec"]
    if data.classes:  # labelled data: the class names, in class-index order (plain JSON)
        info["classes"] = list(data.classes)
    return info


class Run:
    """A run directory and the GAN in its newest good checkpoint.

    Attributes:
        path: the run directory.
        config: the resolved :class:`Config`.
        gan: the trained :class:`GAN` (on the CPU unless moved).
        step: the G steps done when the checkpoint was written.
        data_info: name, sample shape, kind and boundedness of the training data.
    """

    def __init__(self, path: Path | None, config: Config, gan: GAN, step: int, data_info: dict[str, Any],
                 checkpoint: Path | None = None) -> None:
        self.path, self.config, self.gan, self.step, self.data_info = path, config, gan, step, data_info
        self.checkpoint = checkpoint

    def sample(self, n: int, generator: torch.Generator | None = None, seed: int | None = None) -> Tensor:
        """``(n, *shape)`` samples of G; ``seed`` is a shortcut for a fresh seeded CPU generator."""
        if seed is not None:
            generator = torch.Generator().manual_seed(seed)
        return self.gan.sample(n, generator=generator).cpu()

    def metrics(self) -> list[dict[str, Any]]:
        """The rows of ``metrics.jsonl``."""
        return RunDir(self.path).read_metrics() if self.path else []

    def __repr__(self) -> str:
        return f"Run(path={str(self.path)!r}, step={self.step}, data={self.data_info['name']!r})"


# -------------------------------------------------------------------------------------------------------
# Building the state of a run


def _prepare(cfg: Config, device: torch.device, rank: int = 0) -> tuple[Dataset, TrainState, Tensor]:
    """Seed, build data and models, optimizers and RNG streams; return (data, state, fixed noise).

    ``rank`` (data-parallel training) offsets the seed of the global RNGs; the training streams (noise,
    data order, dropout) are the run's own on every rank.
    """
    seed_all(cfg.seed, rank)
    torch.use_deterministic_algorithms(cfg.train.deterministic, warn_only=True)
    # Deterministic mode also fills every fresh tensor with NaN (a debugging aid: ~5 % of a CPU step). Code
    # that never reads memory before writing it gives the same bits without; the tests check that.
    torch.utils.deterministic.fill_uninitialized_memory = False
    data = build_dataset(cfg.data)
    for split in ("train", "val", "test"):
        if not torch.isfinite(getattr(data, split)).all():
            raise DataError(f"data ({cfg.data.name}{': ' + cfg.data.path if cfg.data.path else ''}): "
                            f"the {split} split holds NaN or Inf values")
    if cfg.train.batch_size > len(data.train):
        raise ConfigError(f"train.batch_size: expected at most the {len(data.train)} training examples, got {cfg.train.batch_size}")
    gan = build_gan(cfg, data.shape, data.bounded, data.train.mean(0)).to(device)
    torch.set_num_threads(choose_threads(cfg.train, gan, (cfg.train.batch_size, *data.shape)))
    gen_kw = {"device": device}
    noise_gen = torch.Generator(**gen_kw).manual_seed(derive_seed(cfg.seed, "noise"))
    order_gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "data-order"))
    from .training import BatchSampler

    dropout_gen = torch.Generator(**gen_kw).manual_seed(derive_seed(cfg.seed, "dropout"))
    bind_dropout(gan, dropout_gen)
    prepare_modules(cfg.train, gan.G, gan.D)
    sampler = BatchSampler(data.train.to(device), cfg.train.batch_size, order_gen,
                           labels=data.labels["train"] if data.labels else None)
    state = TrainState(gan, make_optimizer(cfg.optim_d, gan.D.parameters()),
                       make_optimizer(cfg.optim_g, gan.G.parameters()), sampler, noise_gen, dropout_gen)
    fixed_z = gan.prior.sample(cfg.train.n_fixed_samples, torch.Generator().manual_seed(derive_seed(cfg.seed, "fixed-noise")))
    return data, state, fixed_z.to(device)


def _checkpoint_writer(run: RunDir, cfg: Config, data: Dataset) -> Any:
    def save(trainer: Trainer, reason: str) -> None:
        s = trainer.state
        extra = {"step": s.step, "epoch": s.sampler.epoch, "reason": reason, "config": to_dict(cfg),
                 "data": _data_info(data)}
        name = f"step-{s.step:09d}"
        try:
            save_checkpoint(run.checkpoints, name, s.state_dict(), extra)
            _link_last(run.checkpoints, name)
        except OSError as e:
            raise CheckpointError(f"{run.checkpoints}: cannot write checkpoint {name} ({e.strerror or e}); "
                                  "the previous checkpoint is intact") from None
        keep = cfg.train.keep_checkpoints
        for old in list_checkpoints(run.checkpoints)[: -keep if keep else None]:
            if old.stem != name:
                old.with_suffix(".safetensors").unlink(missing_ok=True)
                old.unlink(missing_ok=True)
        log.info("checkpoint %s (%s)", name, reason)

    return save


def _link_last(folder: Path, name: str) -> None:
    """Make ``last.*`` the checkpoint ``name`` (hard links, swapped in atomically; copies where links fail)."""
    import os
    import shutil

    for suffix in (".safetensors", ".json"):  # the manifest last: a torn swap leaves a detectable mismatch
        src, dst = folder / f"{name}{suffix}", folder / f"last{suffix}"
        tmp = folder / f".last{suffix}.tmp-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        if suffix == ".json":  # the manifest of `last` names `last.safetensors`
            manifest = json.loads(tmp.read_text(encoding="utf-8"))
            tmp.unlink()
            manifest["tensor_file"] = "last.safetensors"
            write_atomic(tmp, json.dumps(manifest, indent=1).encode())
        os.replace(tmp, dst)


def _sample_writer(run: RunDir, data: Dataset, fixed_z: Tensor) -> Any:
    from .plotting import save_sample_figure

    def draw(trainer: Trainer) -> None:
        x = trainer.state.gan.sample(len(fixed_z), z=fixed_z)
        save_sample_figure(x.cpu(), data.kind, data.target, run.sample_path(trainer.state.step),
                           title=f"step {trainer.state.step}")

    return draw


def _run_trainer(cfg: Config, run: RunDir, data: Dataset, state: TrainState, fixed_z: Tensor,
                 callbacks: Sequence[Callback], ctx: Any = None) -> Run:
    hooks: dict[str, Any] = {"write_row": run.append_metrics, "save_checkpoint": _checkpoint_writer(run, cfg, data),
                             "on_samples": _sample_writer(run, data, fixed_z), "callbacks": callbacks}
    if ctx is None:
        trainer = Trainer(cfg, state, **hooks)
    else:
        from .training.distributed import DistributedTrainer

        trainer = DistributedTrainer(ctx, cfg, state, **hooks)
    trainer.fit()
    from .plotting import plot_curves

    if ctx is None or ctx.is_main:
        plot_curves(run.read_metrics(), run.plots)
    return Run(run.path, cfg, state.gan, state.step, _data_info(data), run.checkpoints / "last.json")


def _create_run(path: Path, overwrite: bool, cfg: Config) -> RunDir:
    run = RunDir.create(path, overwrite=overwrite)
    run.write_json("config.json", to_dict(cfg))
    return run


def train(config: Config, out: str | Path | None = None, *, overwrite: bool = False,
          callbacks: Sequence[Callback] = ()) -> Run:
    """Train a new run of ``config`` into ``out`` (default ``runs/NNNNN-<data>``); return the :class:`Run`.

    ``config.json`` is written before training starts; checkpoints, samples, metrics and plots follow.
    Under ``torchrun`` every process trains its shard of each batch (see :mod:`origan.training.distributed`)
    and only rank 0 writes.
    """
    from .training import distributed

    cfg = check_registered(config.validate())
    ctx = distributed.setup()
    try:
        path = Path(out) if out is not None else distributed.on_main(ctx, lambda: next_run_path(Path("runs"), cfg.data.name))
        device = resolve_device(cfg.train.device)
        data, state, fixed_z = _prepare(cfg, ctx.device(device) if ctx else device, ctx.rank if ctx else 0)
        if ctx is not None:
            distributed.parallelize(ctx, cfg, state)
        run = distributed.on_main(ctx, lambda: _create_run(path, overwrite, cfg))
        return _run_trainer(cfg, run, data, state, fixed_z, callbacks, ctx)
    finally:
        distributed.teardown(ctx)


def newest_good_checkpoint(folder: Path) -> Checkpoint:
    """``last`` if it verifies, else the newest step checkpoint that does (saying so in the log)."""
    candidates = [folder / "last.json"] + list(reversed(list_checkpoints(folder)))
    errors = []
    for path in candidates:
        if not path.exists() and not path.with_suffix(".safetensors").exists():
            continue
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as e:
            errors.append(str(e))
            log.warning("skipping checkpoint: %s", e)
            continue
        if errors:
            log.warning("falling back to %s", path.name)
        return ckpt
    detail = f" ({errors[0]})" if errors else ""
    raise CheckpointError(f"{folder}: no intact checkpoint to resume from{detail}")


def _open_for_resume(path: str | Path, overrides: dict[str, Any] | None) -> tuple[RunDir, dict[str, Any], Any, str]:
    """The run, its config (with the budget overrides, written back) and its newest intact checkpoint's state."""
    run = RunDir.open(Path(path))
    cfg = check_registered(from_dict(run.read_config_dict()))
    for key in overrides or {}:
        if key not in (f"train.{k}" for k in BUDGET_KEYS):
            raise ConfigError(f"{key}: a resumed run keeps its config; only train.steps and train.epochs may change")
    if overrides:
        cfg = cfg.replace(**overrides)
        run.write_json("config.json", to_dict(cfg))
    ckpt = newest_good_checkpoint(run.checkpoints)
    _check_same_config(ckpt, cfg)
    return run, to_dict(cfg), ckpt.state, ckpt.path.name


def resume(path: str | Path, *, overrides: dict[str, Any] | None = None, callbacks: Sequence[Callback] = ()) -> Run:
    """Continue the run at ``path`` from its newest intact checkpoint, exactly where it stopped.

    Args:
        overrides: ``{"train.steps": N}`` or ``{"train.epochs": E}`` to extend the budget; nothing else may change.

    Under ``torchrun`` rank 0 reads the run and sends the checkpoint to the other ranks.
    """
    from .training import distributed

    ctx = distributed.setup()
    try:
        run, cfg_dict, tree, name = distributed.on_main(ctx, lambda: _open_for_resume(path, overrides))
        cfg = from_dict(cfg_dict)
        device = resolve_device(cfg.train.device)
        data, state, fixed_z = _prepare(cfg, ctx.device(device) if ctx else device, ctx.rank if ctx else 0)
        state.load_state_dict(distributed.rank_state(ctx, tree) if ctx else tree)
        if ctx is not None:
            distributed.parallelize(ctx, cfg, state)
        distributed.on_main(ctx, lambda: run.truncate_metrics(state.step))
        log.info("resuming %s from %s at step %d", run.path, name, state.step)
        return _run_trainer(cfg, run, data, state, fixed_z, callbacks, ctx)
    finally:
        distributed.teardown(ctx)


def _check_same_config(ckpt: Checkpoint, cfg: Config) -> None:
    try:  # normalised, so fields added to the config since the checkpoint take their defaults
        saved = to_dict(from_dict(ckpt.manifest.get("config", {})))
    except ConfigError as e:
        raise CheckpointError(f"{ckpt.path}: its config no longer validates ({e})") from None
    mine = to_dict(cfg)
    for d in (saved, mine):
        d["train"] = {k: v for k, v in dict(d.get("train", {})).items() if k not in BUDGET_KEYS}
    if saved != mine:
        keys = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
        raise CheckpointError(f"{ckpt.path}: checkpoint was written by another config (differs in: {', '.join(keys)})")


def load_run(path: str | Path, map_location: str | torch.device = "cpu") -> Run:
    """Load a run directory (its newest intact checkpoint) or a single checkpoint file for sampling."""
    path = Path(path)
    if not path.exists():
        raise RunDirError(f"{path}: no such run directory or checkpoint")
    if path.is_dir():
        run = RunDir.open(path)
        ckpt = newest_good_checkpoint(run.checkpoints)
        run_path: Path | None = run.path
    else:
        ckpt = load_checkpoint(path)
        run_path = path.parent.parent if path.parent.name == "checkpoints" else None
    cfg = check_registered(from_dict(ckpt.manifest["config"]))
    info = ckpt.manifest["data"]
    gan = build_gan(cfg, info["shape"], info["bounded"])
    state = ckpt.state
    try:
        gan.G.load_state_dict(state["G"])
        gan.D.load_state_dict(state["D"])
    except (RuntimeError, KeyError) as e:
        raise CheckpointError(f"{ckpt.path}: weights do not fit the model of its config ({str(e).splitlines()[0]})") from None
    gan.to(map_location).eval()
    return Run(run_path, cfg, gan, ckpt.step, info, ckpt.path)


def inspect_run(path: str | Path) -> dict[str, Any]:
    """A health report of a run directory: config, steps done, every checkpoint's status, last metrics.

    ``healthy`` is False when the newest checkpoint (highest step, or ``last``) is torn or edited.
    """
    import re

    from .io.checkpoint import checkpoint_problem

    run = RunDir.open(Path(path))
    cfg = run.read_config_dict()
    stems = sorted({p.stem for p in run.checkpoints.glob("*.json")} | {p.stem for p in run.checkpoints.glob("*.safetensors")}
                   if run.checkpoints.exists() else set())
    checkpoints = []
    for stem in stems:
        m = re.fullmatch(r"step-(\d+)", stem)
        if not m and stem != "last":
            continue
        problem = checkpoint_problem(run.checkpoints / f"{stem}.json")
        step = int(m.group(1)) if m else None
        if stem == "last" and problem is None:
            step = load_checkpoint(run.checkpoints / "last.json").step
        checkpoints.append({"name": stem, "step": step, "ok": problem is None, "problem": problem})
    step_files = [c for c in checkpoints if c["name"] != "last"]
    newest = max(step_files, key=lambda c: c["step"], default=None)  # by name: a torn one has no readable step
    healthy = all(c["ok"] for c in checkpoints if c["name"] == "last" or c is newest)
    rows = [r for r in run.read_metrics() if "d_loss" in r]
    return {
        "path": str(run.path), "data": cfg.get("data", {}).get("name"), "seed": cfg.get("seed"),
        "budget": {k: cfg.get("train", {}).get(k) for k in BUDGET_KEYS},
        "steps_done": max((c["step"] for c in checkpoints if c["ok"] and c["step"] is not None), default=0),
        "checkpoints": checkpoints, "last_metrics": rows[-1] if rows else None,
        "healthy": healthy,
    }
