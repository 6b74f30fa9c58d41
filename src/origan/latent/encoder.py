"""Learned approximate inference (the paper's Section 7.2): an encoder E: x -> z fitted to a trained G.

"The inference net may be trained for a fixed generator net after the generator net has finished training":
each step draws a fresh batch ``z ~ p_z`` and minimises the mean squared error ``||E(G(z)) - z||^2`` over it
(G fixed, in eval mode). Optional refinement steps then minimise ``||x - G(E(x))||^2`` on real training
examples (gradients through the fixed G into E). G is the generator samples come from
(:meth:`GAN.generate`): the moving average of G's weights when the run keeps one (``train.ema``), so E inverts
what ``origan sample`` draws, and its checks and ``origan eval``'s reconstruction use the same net.

E is an MLP for vector data and a convolutional net for images (the DCGAN discriminator's body: stride-2
convolutions with LeakyReLU) followed by a hidden layer (its features) and a linear map to z; for a uniform
prior its output is squashed into the prior's box. It is stored as ``RUN/encoder/encoder.safetensors`` +
``encoder.json`` in the checkpoint format (checksummed, no pickle), with the SHA-256 of the generator's
weights it was fitted to: after more training of G the encoder is refused until it is fitted again. Every
option and the destination are checked before E trains; a new encoder replaces a stored one only once both
of its files are written whole (a failed ``encode --train`` leaves the stored encoder as it was).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import torch
from torch import Tensor, nn

from ..errors import CheckpointError, ConfigError, DataError, OptionError
from ..io.files import check_writable
from ..limits import check_decoded_size, check_float, check_int, check_request, regular_file, sample_bytes

if TYPE_CHECKING:
    from ..config import Config
    from ..data import DataInfo
    from ..gan import GAN

__all__ = [
    "ENCODER_DIR",
    "Encoder",
    "EncoderSpec",
    "Trained",
    "check_encoder",
    "check_encoder_destination",
    "check_fit",
    "check_fit_options",
    "encode",
    "encoder_path",
    "fit_encoder",
    "generator_sha256",
    "has_encoder",
    "input_path",
    "load_encoder",
    "read_inputs",
    "save_encoder",
    "usable_encoder",
]

log = logging.getLogger(__name__)

ENCODER_DIR = "encoder"
ENCODER_NAME = "encoder"


class Trained(Protocol):
    """A trained GAN and its run folder, as the encoder reads them: an :class:`origan.run.Run` or the
    :class:`origan.training.session.Fitted` a fit returns (this module knows neither class)."""

    @property
    def path(self) -> Path | None: ...  # the run directory (the encoder is stored in RUN/encoder/)

    @property
    def config(self) -> Config: ...

    @property
    def gan(self) -> GAN: ...

    @property
    def step(self) -> int: ...

    @property
    def data_info(self) -> DataInfo: ...


@dataclass(frozen=True)
class EncoderSpec:
    """How an encoder is built and fitted (stored in its manifest)."""

    shape: tuple[int, ...]  # one sample's shape
    noise_dim: int
    prior: str  # "uniform" (output squashed into the prior's box) or "normal"
    half_width: float = 0.0  # the uniform prior's half-width
    arch: str = "mlp"  # "mlp" or "conv"
    hidden: tuple[int, ...] = (256, 256)  # MLP widths; the last is the feature layer
    width: int = 32  # channels of the first convolution (conv)
    features: int = 256  # the feature layer after the convolutions (conv)


class Encoder(nn.Module):
    """``x (n, *shape) -> z (n, noise_dim)``; :meth:`features` gives the last hidden layer."""

    def __init__(self, spec: EncoderSpec) -> None:
        super().__init__()
        self.spec = spec
        if spec.arch == "conv":
            from ..models.conv import DCGANDiscriminator

            body = DCGANDiscriminator(spec.shape, spec.width).body  # stride-2 convs, LeakyReLU(0.2)
            with torch.no_grad():
                flat = body(torch.zeros(1, *spec.shape)).numel()
            self.body = nn.Sequential(body, nn.Flatten(), nn.Linear(flat, spec.features), nn.ReLU())
            width = spec.features
        else:
            layers: list[nn.Module] = [nn.Flatten()]
            width = math.prod(spec.shape)
            for h in spec.hidden:
                layers += [nn.Linear(width, h), nn.ReLU()]
                width = h
            self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, spec.noise_dim)

    def features(self, x: Tensor) -> Tensor:
        """``(n, F)`` the last hidden layer."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        z = self.head(self.body(x))  # (n, noise_dim)
        return self.spec.half_width * torch.tanh(z) if self.spec.prior == "uniform" else z


def default_spec(run: Trained, hidden: Sequence[int] = (), width: int = 0) -> EncoderSpec:
    """The encoder for ``run``'s data: convolutional for square images the DCGAN body takes, else an MLP."""
    from ..models.conv import dcgan_plan

    shape = tuple(run.data_info.shape)
    arch = "mlp"
    if run.data_info.kind == "image":
        try:
            dcgan_plan(shape)
            arch = "conv"
        except ConfigError:
            pass
    prior = run.config.noise.prior
    half = float(getattr(run.gan.prior, "half_width", 0.0)) if prior == "uniform" else 0.0
    spec = EncoderSpec(shape, run.config.noise.dim, prior, half, arch)
    if hidden:
        spec = EncoderSpec(**{**asdict(spec), "hidden": tuple(hidden), "features": hidden[-1]})
    if width:
        spec = EncoderSpec(**{**asdict(spec), "width": width})
    return spec


def encoder_path(run_path: Path) -> Path:
    """The manifest of ``run_path``'s encoder."""
    return Path(run_path) / ENCODER_DIR / f"{ENCODER_NAME}.json"


def has_encoder(run: Trained) -> bool:
    """Whether ``run`` has a stored encoder (intact or not)."""
    return run.path is not None and encoder_path(run.path).exists()


def usable_encoder(run: Trained) -> bool:
    """Whether ``run`` has an encoder that loads and fits its G; a damaged or stale one is logged, not raised
    (for defaults that add the encoder's metrics only when they can run)."""
    if not has_encoder(run):
        return False
    try:
        load_encoder(run)
    except CheckpointError as e:
        log.warning("not using the encoder: %s", e)
        return False
    return True


def generator_sha256(run: Trained) -> str:
    """SHA-256 of the weights (and buffers) of the generator samples come from (:attr:`GAN.sampler`: G's
    moving average when the run keeps one): what an encoder is fitted to, and how a stale one is told."""
    h = hashlib.sha256()
    for key, value in sorted(run.gan.sampler.state_dict().items()):
        t = value.detach().cpu().contiguous()
        h.update(f"{key}:{t.dtype}:{list(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _generator_name(run: Trained) -> str:
    return "G_ema" if run.gan.G_ema is not None else "G"


def check_fit_options(
    steps: Any, refine_real: Any, batch_size: Any, lr: Any, seed: Any
) -> tuple[int, int, int, float, int]:
    """The options of :func:`fit_encoder` within their bounds (:data:`origan.limits.BOUNDS`), else an
    OptionError naming the option. ``steps = 0`` fits E on real data alone (then ``refine_real >= 1``)."""
    steps = check_int(steps, "--steps", "steps")
    refine_real = check_int(refine_real, "--refine-real", "steps")
    batch_size = check_int(batch_size, "--batch-size", "batch_size")
    lr = check_float(lr, "--lr", "lr")
    seed = check_int(seed, "--seed", "seed")
    if steps + refine_real == 0:
        raise OptionError(
            "--steps: expected a positive number of steps, got 0 (0 only with --refine-real N: E fitted on real "
            "data alone)"
        )
    return steps, refine_real, batch_size, lr, seed


def check_fit(
    run: Trained, steps: Any, refine_real: Any, batch_size: Any, lr: Any, seed: Any
) -> tuple[int, int, int, float, int]:
    """:func:`check_fit_options`, then what depends on ``run``: an unconditional G, and a batch of examples
    and codes within the byte budget. Nothing is computed or written."""
    options = check_fit_options(steps, refine_real, batch_size, lr, seed)
    if run.gan.conditional:
        raise ConfigError("encode: an encoder for a conditional generator G(z, y) is not supported")
    item = sample_bytes(run.data_info.shape) + 4 * run.gan.prior.dim  # one example and its code
    check_request(options[2], item, "--batch-size", "examples per step")
    return options


def fit_encoder(
    run: Trained,
    steps: int = 2000,
    refine_real: int = 0,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    spec: EncoderSpec | None = None,
    real: Tensor | None = None,
) -> tuple[Encoder, list[dict[str, float]]]:
    """Fit E to the run's generator (:meth:`GAN.generate`: G's moving average when there is one): ``steps``
    Adam steps on fresh pairs (z, G(z)), then ``refine_real`` steps on ``real`` examples (default: the run's
    training split, read before the first step). Every argument is checked first (:func:`check_fit`).
    Returns E (eval mode, on the CPU) and per-phase losses."""
    steps, refine_real, batch_size, lr, seed = check_fit(run, steps, refine_real, batch_size, lr, seed)
    x_real = _real_examples(run, real) if refine_real else None
    spec = spec or default_spec(run)
    gen = torch.Generator().manual_seed(seed)
    device = run.gan.device
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        E = Encoder(spec)
    E.to(device)
    opt = torch.optim.Adam(E.parameters(), lr=lr)
    history: list[dict[str, float]] = []
    E.train()
    for step in range(1, steps + 1):
        z = run.gan.prior.sample(batch_size, generator=gen).to(device)  # (b, dim), fresh each step
        x = run.gan.generate(z)  # (b, *shape), no graph
        loss = (E(x) - z).square().sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps:
            history.append({"phase": 0.0, "step": float(step), "z_sq_error": float(loss.detach())})
    if x_real is not None:
        history += _refine(run, E, opt, x_real, refine_real, batch_size, gen)
    return E.cpu().eval(), history


def _real_examples(run: Trained, real: Tensor | None) -> Tensor:
    """``(n, *shape)`` the examples of the refinement: ``real``, else the run's training split."""
    shape = tuple(run.data_info.shape)
    if real is None:
        from ..data import build_dataset

        real = build_dataset(run.config.data).train
    if real.ndim < 1 or len(real) == 0 or tuple(real.shape[1:]) != shape:
        raise DataError(f"real: expected examples of shape (n, {', '.join(map(str, shape))}), got {list(real.shape)}")
    return real


def _refine(
    run: Trained, E: Encoder, opt: Any, x_all: Tensor, steps: int, batch_size: int, gen: torch.Generator
) -> list[dict[str, float]]:
    """``steps`` Adam steps on ``||x - G(E(x))||^2``: gradients through the fixed generator into E."""
    history = []
    device = run.gan.device
    for step in range(1, steps + 1):
        x = x_all[torch.randint(0, len(x_all), (batch_size,), generator=gen)].float().to(device)  # (b, *shape)
        loss = (run.gan.generate(E(x), grad=True) - x).flatten(1).square().sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps:
            history.append({"phase": 1.0, "step": float(step), "x_sq_error": float(loss.detach())})
    return history


@torch.no_grad()
def check_encoder(run: Trained, E: Encoder, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """E on ``n`` fresh draws (never trained on) with their baselines: the mean ``||E(G(z)) - z||^2`` beside
    ``||z||^2`` (the error of guessing p_z's mean, 0), and the mean ``||G(E(G(z))) - G(z)||`` beside
    ``||G(z') - G(z)||`` for an independent ``z'`` (two unrelated samples). G is :meth:`GAN.generate`'s, the
    generator E was fitted to."""
    from ..seeding import derive_seed

    gen = torch.Generator().manual_seed(derive_seed(seed, "encoder-check"))
    z, z_other = run.gan.prior.sample(n, generator=gen), run.gan.prior.sample(n, generator=gen)  # (n, dim) each
    x = run.gan.generate(z).cpu()  # (n, *shape)
    z_hat = encode(E, x)

    def l2(a: Tensor, b: Tensor) -> float:
        return float((a.double() - b.double()).flatten(1).square().sum(1).sqrt().mean())

    return {
        "z_sq_error": float((z_hat.double() - z.double()).square().sum(1).mean()),
        "z_sq_norm": float(z.double().square().sum(1).mean()),
        "x_l2": l2(run.gan.generate(z_hat).cpu(), x),
        "x_l2_independent": l2(run.gan.generate(z_other).cpu(), x),
        "n": float(n),
    }


def check_encoder_destination(run_path: Path) -> Path:
    """``RUN/encoder``, once an encoder can be written there: a writable folder (or none yet, in a writable run
    directory) whose encoder files, if any, are regular files; else a RunDirError naming it. Writes nothing;
    called before E trains."""
    folder = Path(run_path) / ENCODER_DIR
    check_writable(folder, "the run's encoder", folder=True)
    for name in (f"{ENCODER_NAME}.json", f"{ENCODER_NAME}.safetensors"):
        if (folder / name).exists() or (folder / name).is_symlink():
            check_writable(folder / name, "the run's encoder")
    return folder


def save_encoder(
    run: Trained,
    E: Encoder,
    history: list[dict[str, float]],
    options: dict[str, Any],
    check: dict[str, float] | None = None,
) -> Path:
    """Write ``RUN/encoder/encoder.{safetensors,json}``; return the manifest's path.

    Both files are written whole (fsynced) under a staging folder beside them, then moved in, the manifest
    last; an error before or during the move leaves the stored encoder as it was. (Only a machine crash between
    the two moves can leave a new tensor file beside the old manifest: a checksum mismatch, refused on load.)
    """
    from ..config import to_dict
    from ..io.checkpoint import save_checkpoint
    from ..io.files import fsync_dir

    if run.path is None:
        raise CheckpointError("encode --train: needs a run directory to store the encoder in")
    folder = check_encoder_destination(run.path)
    extra = {
        "step": run.step,
        "config": to_dict(run.config),
        "data": run.data_info.to_json(),
        "encoder": {
            "spec": asdict(E.spec),
            "generator": _generator_name(run),
            "generator_sha256": generator_sha256(run),
            "options": options,
            "history": history,
            "check": check or {},
        },
    }
    names = [f"{ENCODER_NAME}.safetensors", f"{ENCODER_NAME}.json"]  # the manifest last
    staging: Path | None = None
    try:
        folder.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
        save_checkpoint(staging, ENCODER_NAME, {"E": E.state_dict()}, extra)
        old = folder / names[0]
        if old.is_file():  # kept until the manifest is in, to put it back on an error
            try:
                os.link(old, staging / "previous.safetensors")
            except OSError:  # a file system without hard links
                shutil.copyfile(old, staging / "previous.safetensors")
        moved: list[str] = []
        try:
            for name in names:
                os.replace(staging / name, folder / name)
                moved.append(name)
        except BaseException:
            if moved and (staging / "previous.safetensors").exists():
                os.replace(staging / "previous.safetensors", old)
            elif moved:
                old.unlink(missing_ok=True)
            raise
        fsync_dir(folder)
    except OSError as e:
        raise CheckpointError(
            f"{folder}: cannot write the encoder ({e.strerror or e}); the stored encoder, if any, is unchanged"
        ) from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return folder / names[1]


def load_encoder(run: Trained) -> Encoder:
    """The run's stored encoder; a missing, damaged or stale one (G trained since) is a CheckpointError."""
    from ..io.checkpoint import load_checkpoint

    if run.path is None or not encoder_path(run.path).exists():
        where = run.path if run.path is not None else "this checkpoint"
        raise CheckpointError(f"{where}: no encoder yet; fit one with `origan encode {where} --train`")
    ckpt = load_checkpoint(encoder_path(run.path))
    info: Any = ckpt.manifest.get("encoder")
    try:
        spec_d = dict(info["spec"])
        spec = EncoderSpec(**{**spec_d, "shape": tuple(spec_d["shape"]), "hidden": tuple(spec_d["hidden"])})
        E = Encoder(spec)
        E.load_state_dict(ckpt.state["E"])
        sha = info["generator_sha256"]
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{ckpt.path}: not an encoder of this run ({first[:200]})") from None
    if spec.shape != tuple(run.data_info.shape) or sha != generator_sha256(run):
        fit = f"fit it again with `origan encode {run.path} --train`"
        if ckpt.step != run.step:
            raise CheckpointError(
                f"{ckpt.path}: fitted to G at step {ckpt.step}, the run's G is now step {run.step}; {fit}"
            )
        raise CheckpointError(
            f"{ckpt.path}: fitted to other generator weights than the run's {_generator_name(run)} at step "
            f"{run.step} (an older origan, or G rather than its moving average); {fit}"
        )
    return E.eval()


@torch.no_grad()
def encode(E: Encoder, x: Tensor, batch_size: int = 1024) -> Tensor:
    """``(n, noise_dim)`` E(x) on the CPU for ``x`` ``(n, *shape)`` (or ``(n, prod(shape))``)."""
    shape = E.spec.shape
    x = x.detach().float().cpu()
    if x.ndim == 0 or (tuple(x.shape[1:]) != shape and not (x.ndim == 2 and x.shape[1] == math.prod(shape))):
        raise DataError(f"encode: expected examples of shape {list(shape)}, got {list(x.shape[1:])}")
    x = x.reshape(len(x), *shape)
    if not torch.isfinite(x).all():
        raise DataError("encode: the input holds NaN or infinite values")
    device = next(E.parameters()).device
    if not len(x):
        return x.new_zeros(0, E.spec.noise_dim)
    return torch.cat([E(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])


INPUTS = "examples to encode (.npy, an image or a folder of images)"


def input_path(path: str | Path, option: str = "--in") -> Path:
    """``path`` (``~`` expanded) once it is a folder or a regular file: a DataError naming it otherwise (a
    missing path, a pipe, a device; a path with a NUL byte or of an unknown user)."""
    text = os.fspath(path)
    if "\0" in text:
        raise DataError(f"{option}: {text!r}: a path cannot hold a NUL byte")
    try:
        p = Path(text).expanduser()
    except RuntimeError:
        raise DataError(
            f"{option}: {text}: cannot expand {text.split(os.sep)[0]!r} (no such user or home folder)"
        ) from None
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise DataError(f"{p}: no such file or folder ({option}: expected {INPUTS})") from None
    except OSError as e:
        raise DataError(f"{p}: cannot read {INPUTS} ({e.strerror or e})") from None
    if not stat.S_ISDIR(st.st_mode):
        regular_file(p, INPUTS)
    return p


def read_inputs(path: str | Path, shape: Sequence[int], kind: str) -> Tensor:
    """Examples to encode from ``path``: a ``.npy`` array ``(n, *shape)`` of finite numbers, one image, or a
    folder of images (decoded to the run's ``(C, S, S)`` in [0, 1], sorted by path). Every file is checked
    (a regular file, within the byte budget) before it is read; an error names the file."""
    import numpy as np

    from ..data.arrays import load_array
    from ..data.folders import IMAGE_SUFFIXES, decode_image, list_images

    path, shape = input_path(path), tuple(int(s) for s in shape)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        if kind != "image" or len(shape) != 3:
            raise DataError(f"{path}: images given, but this run's data are {kind} of shape {list(shape)}")
        files = list_images(path) if path.is_dir() else [path]
        if not files:
            raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        check_decoded_size(len(files) * 4 * math.prod(shape), path, f"{len(files):,} images of shape {list(shape)}")
        images = []
        for f in files:
            regular_file(f, "an image")
            images.append(decode_image(f, shape[1], shape[0]))
        return torch.from_numpy(np.stack(images).astype(np.float32) / 255.0)
    if path.suffix.lower() != ".npy":
        raise DataError(f"{path}: unknown input type {path.suffix!r}; expected .npy, an image or a folder of images")
    arr, _ = load_array(path)  # a regular file, its header checked against its size and the budget; no pickle
    if arr.dtype.kind not in "fiub":
        raise DataError(f"{path}: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 0 or (tuple(arr.shape[1:]) != shape and not (arr.ndim == 2 and arr.shape[1] == math.prod(shape))):
        raise DataError(f"{path}: expected an array of shape (n, {', '.join(map(str, shape))}), got {list(arr.shape)}")
    if len(arr) == 0:
        raise DataError(f"{path}: holds no examples; expected an array of shape (n, {', '.join(map(str, shape))})")
    x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    bad = ~torch.isfinite(x)
    if bad.any():
        where = tuple(int(i) for i in bad.nonzero()[0])
        raise DataError(f"{path}: non-finite value {float(x[where])} at index {where}; expected finite numbers")
    return x.reshape(len(x), *shape)
