"""Latent walks (the paper's Figure 3): G along straight (or great-circle) paths between noise vectors.

```python
walk = run.interpolate(rows=8, steps=10, seed=0)     # walk.x: (8, 10, *shape), walk.z: (8, 10, noise_dim)
write_interpolation(walk, "walk.png", run.data_info.kind)
```

Each row joins two draws ``z0``, ``z1`` of p_z in ``steps`` points ``z(t)``, ``t = 0, 1/(steps-1), ..., 1``:

- ``linear``: ``z(t) = (1 - t) z0 + t z1`` (the paper's "linearly interpolating between coordinates in z space");
- ``slerp`` (Gaussian noise only): ``z(t) = sin((1 - t) w) / sin w * z0 + sin(t w) / sin w * z1`` with
  ``w`` the angle between ``z0`` and ``z1``; it keeps the norm typical of N(0, I), which a straight line does
  not (the middle of a chord is shorter than its ends).

The first and last columns are exactly ``G(z0)`` and ``G(z1)``: the endpoints are evaluated as one batch of
``z0`` and one of ``z1`` (the same call as ``GAN.sample(rows, z=z0)``), the points between as a third batch.

For a conditional G (a net with ``conditional = True``, called ``G(z, y)``) each row keeps one class
(row ``i`` draws class ``i mod K``), and ``across_classes`` gives the other walk: one fixed ``z`` per row,
the columns the ``K`` classes.

G is run by :meth:`GAN.generate`: the moving average of its weights when the run keeps one, the net
``origan sample`` draws from. Before anything is computed, every argument is checked (:func:`walk_grid`:
the bounds of :data:`origan.limits.BOUNDS`, the walk's points within the byte budget) and so is the output
(:func:`check_interpolation_output`: its path, and a picture's sides and pixels); a failed walk writes nothing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError, UserError
from ..io.files import check_writable, open_atomic
from ..limits import check_int, check_request, sample_bytes

if TYPE_CHECKING:
    from ..data import DataInfo
    from ..data.mixture import GaussianMixture
    from ..gan import GAN

__all__ = [
    "METHODS",
    "Interpolation",
    "check_interpolation_output",
    "check_walk_options",
    "interpolate",
    "output_file",
    "path_points",
    "walk_grid",
    "write_interpolation",
]

METHODS = ("linear", "slerp")
FORMS = {".png": "picture", ".gif": "animation", ".npy": "npy"}
GIF_MS_PER_FRAME = 150
GIF_MAX_SIDE = 65535  # GIF stores a frame's width and height in 16 bits
PNG_MAX_SIDE = 2**31 - 1  # PNG stores them in 31 bits
GIF_ROW = 8  # walks side by side in one GIF frame
PATH_FIGURE = {"picture": 110, "animation": 90}  # dpi of the 5-inch figure of 2-D paths, per form
_TMP_SUFFIX = 16  # what an atomic write adds to a file's name (".NAME.tmp-PID")


@dataclass
class Interpolation:
    """A grid of latent walks.

    Attributes:
        z: ``(rows, steps, noise_dim)`` the noise of every point.
        x: ``(rows, steps, *shape)`` G's output at every point (CPU).
        t: ``(steps,)`` the path parameter of each column (``None`` for a walk across classes).
        labels: ``(rows, steps)`` class indices given to a conditional G, else ``None``.
        method: ``linear``, ``slerp`` or ``classes``.
    """

    z: Tensor
    x: Tensor
    t: Tensor | None
    labels: Tensor | None
    method: str


def path_points(z0: Tensor, z1: Tensor, t: Tensor, method: str = "linear") -> Tensor:
    """``(rows, steps, dim)`` points between ``z0`` and ``z1`` (``(rows, dim)``) at ``t`` ``(steps,)`` in [0, 1].

    The first and last points are ``z0`` and ``z1`` themselves (copied, not recomputed) when ``t`` starts at 0
    and ends at 1.
    """
    if method not in METHODS:
        raise ConfigError(f"--method: expected one of {', '.join(METHODS)}, got {method!r}")
    a, b, tt = z0[:, None, :], z1[:, None, :], t[None, :, None].to(z0)  # (rows, 1, dim), (1, steps, 1)
    if method == "linear":
        z = (1 - tt) * a + tt * b
    else:
        cos = torch.nn.functional.cosine_similarity(z0, z1, dim=1).clamp(-1.0, 1.0)  # (rows,)
        omega = torch.arccos(cos)[:, None, None]  # (rows, 1, 1)
        sin = torch.sin(omega)
        near = sin.abs() < 1e-6  # (anti)parallel ends: the great circle is not unique; take the chord
        safe = torch.where(near, torch.ones_like(sin), sin)
        curved = torch.sin((1 - tt) * omega) / safe * a + torch.sin(tt * omega) / safe * b
        z = torch.where(near, (1 - tt) * a + tt * b, curved)
    if len(t) and float(t[0]) == 0.0:
        z[:, 0] = z0
    if len(t) and float(t[-1]) == 1.0:
        z[:, -1] = z1
    return z


def _classes(gan: GAN, data: DataInfo | None) -> int:
    k = (len(data.classes) if data is not None else 0) or int(getattr(gan.G, "n_classes", 0) or 0)
    if k < 1:
        raise ConfigError("interpolate: the conditional generator's number of classes is unknown")
    return k


def _sample_shape(gan: GAN, data: DataInfo | None) -> tuple[int, ...]:
    """One sample's shape: the run's data, else what G makes of an empty batch."""
    if data is not None:
        return tuple(int(s) for s in data.shape)
    z = torch.zeros(0, gan.prior.dim)
    y = torch.zeros(0, dtype=torch.long) if gan.conditional else None
    return tuple(gan.generate(z, y).shape[1:])


def check_walk_options(rows: Any, steps: Any, seed: Any, method: str = "linear") -> tuple[int, int, int]:
    """``(rows, steps, seed)`` once each is within its bound (:data:`origan.limits.BOUNDS`) and ``method`` is
    known; an OptionError naming the option otherwise. Cheap: the CLI calls it before loading the run."""
    rows = check_int(rows, "--rows", "rows")
    steps = check_int(steps, "--steps", "walk_steps")
    seed = check_int(seed, "--seed", "seed")
    if method not in METHODS:
        raise ConfigError(f"--method: expected one of {', '.join(METHODS)}, got {method!r}")
    return rows, steps, seed


def walk_grid(
    gan: GAN,
    data: DataInfo | None,
    rows: Any = 8,
    steps: Any = 10,
    seed: Any = 0,
    method: str = "linear",
    across_classes: bool = False,
    prior_name: str = "",
) -> tuple[int, int]:
    """``(rows, columns)`` of the walk :func:`interpolate` would make, once every argument is checked and the
    walk fits the byte budget (``rows x columns`` points of G's output and noise); nothing is computed."""
    rows, steps, seed = check_walk_options(rows, steps, seed, method)
    if across_classes:
        if not gan.conditional:
            raise ConfigError("--across-classes: needs a conditional run (a generator called as G(z, y))")
        cols, option = _classes(gan, data), "--rows x classes"
    else:
        if method == "slerp" and prior_name != "normal":
            raise ConfigError(
                f"--method slerp: needs Gaussian noise (noise.prior=normal); this run's prior is {prior_name}"
            )
        cols, option = steps, "--rows x --steps"
    point = (
        sample_bytes(_sample_shape(gan, data), gan.conditional) + 4 * gan.prior.dim
    )  # G's output, its label and its z
    check_request(rows * cols, point, option, "walk points")
    return rows, cols


def interpolate(
    gan: GAN,
    data: DataInfo | None,
    rows: int = 8,
    steps: int = 10,
    seed: int = 0,
    method: str = "linear",
    across_classes: bool = False,
    prior_name: str = "",
) -> Interpolation:
    """``rows`` latent walks of ``steps`` points each, endpoints drawn from p_z with a CPU generator seeded
    with ``seed`` (``z0`` for every row, then ``z1``), G run by :meth:`GAN.generate` (the moving average of
    its weights when the run keeps one). Every argument is checked first (:func:`walk_grid`)."""
    rows, _ = walk_grid(gan, data, rows, steps, seed, method, across_classes, prior_name)
    if across_classes:
        return _across_classes(gan, data, rows, seed)
    gen = torch.Generator().manual_seed(seed)
    z0 = gan.prior.sample(rows, generator=gen)  # (rows, dim)
    z1 = gan.prior.sample(rows, generator=gen)
    t = torch.linspace(0.0, 1.0, steps)
    z = path_points(z0, z1, t, method)  # (rows, steps, dim)
    y = None
    if gan.conditional:
        y = (torch.arange(rows) % _classes(gan, data))[:, None].expand(rows, steps).contiguous()

    def run_g(cols: Any) -> Tensor:  # G at the columns ``cols`` of every row, rows first: (rows * c, *shape)
        zc = z[:, cols].reshape(-1, z.shape[-1])
        return gan.generate(zc, None if y is None else y[:, cols].reshape(-1)).cpu()

    first, last = run_g(0), run_g(steps - 1)  # (rows, *shape) each: G(z0), G(z1), as GAN.sample(rows, z=z0)
    inner = run_g(slice(1, -1))  # (rows * (steps - 2), *shape); empty for steps = 2
    shape = first.shape[1:]
    x = torch.cat([first[:, None], inner.reshape(rows, steps - 2, *shape), last[:, None]], dim=1)
    return Interpolation(z, x, t, y, method)


def _across_classes(gan: GAN, data: DataInfo | None, rows: int, seed: int) -> Interpolation:
    k = _classes(gan, data)
    z0 = gan.prior.sample(rows, generator=torch.Generator().manual_seed(seed))  # (rows, dim)
    z = z0[:, None, :].expand(rows, k, z0.shape[1]).contiguous()  # (rows, K, dim)
    y = torch.arange(k)[None, :].expand(rows, k).contiguous()  # (rows, K)
    x = gan.generate(z.reshape(rows * k, -1), y.reshape(-1)).cpu()  # (rows * K, *shape)
    return Interpolation(z, x.reshape(rows, k, *x.shape[1:]), None, y, "classes")


# -------------------------------------------------------------------------------------------------------
# Writing


def output_file(path: str | Path, option: str, suffixes: Iterable[str], what: str = "the walk") -> Path:
    """``path`` (``~`` expanded, as the shell would) once ``what``, a file of one of ``suffixes``, can be
    written there (:func:`origan.io.files.check_writable`); else a one-line UserError naming it, or ``option``
    where the path itself is unusable. Writes nothing."""
    text = os.fspath(path)
    if "\0" in text:
        raise UserError(f"{option}: {text!r}: a path cannot hold a NUL byte")
    try:
        out = Path(text).expanduser()
    except RuntimeError:  # ~user of no such user, or no home folder at all
        head = text.split(os.sep)[0]
        raise UserError(
            f"{option}: {text}: cannot expand {head!r} (no such user or home folder); give the full path"
        ) from None
    check_writable(out, what)
    allowed = tuple(suffixes)
    if out.suffix.lower() not in allowed:
        got = repr(out.suffix) if out.suffix else "(no suffix)"
        listed = allowed[0] if len(allowed) == 1 else f"{', '.join(allowed[:-1])} or {allowed[-1]}"
        raise UserError(f"{out}: unknown output type {got}; expected {listed}")
    try:
        name_max = os.pathconf(out.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    if len(os.fsencode(out.name)) + _TMP_SUFFIX > name_max:  # the atomic write's temporary name must fit too
        raise UserError(f"{out}: the file name is too long (at most {name_max - _TMP_SUFFIX} bytes here)")
    return out


def _picture_size(form: str, kind: str, shape: tuple[int, ...], rows: int, cols: int) -> tuple[int, int, int, int]:
    """``(frames, height, width, channels)`` of the picture or animation of a ``rows x cols`` walk."""
    if kind != "image":  # 2-D paths over the target density: a 5-inch figure, one frame per step for a GIF
        side = 5 * PATH_FIGURE[form]
        return (1 if form == "picture" else cols), side, side, 4
    c, h, w = shape
    scale = max(1, 112 // w)  # as origan.io.export.save_grid_png enlarges small images; 2-pixel borders
    if form == "picture":  # one walk per row
        return 1, (2 + rows * (h + 2)) * scale, (2 + cols * (w + 2)) * scale, c
    across = min(rows, GIF_ROW)  # a frame: the walks' points of one step, GIF_ROW of them a row
    return cols, (2 + math.ceil(rows / across) * (h + 2)) * scale, (2 + across * (w + 2)) * scale, c


def check_interpolation_output(
    path: str | Path, kind: str, shape: tuple[int, ...], rows: int | None = None, cols: int | None = None
) -> str:
    """Refuse an output before anything is computed; return its form (``picture``, ``animation``, ``npy``).

    With the walk's ``rows`` and ``cols`` a picture is also held to its format's largest side (PNG 2**31 - 1,
    GIF 65535 pixels) and its pixels (all frames) to the byte budget.
    """
    out = output_file(path, "--out", FORMS)
    form = FORMS[out.suffix.lower()]
    if form != "npy" and not (kind == "image" or (kind == "vector" and tuple(shape) == (2,))):
        raise UserError(
            f"{out}: pictures of a walk need image data or 2-D points; this run's data are {kind} of shape "
            f"{list(shape)} (use .npy)"
        )
    if form == "npy" or rows is None or cols is None:
        return form
    frames, height, width, channels = _picture_size(form, kind, tuple(shape), rows, cols)
    side = PNG_MAX_SIDE if form == "picture" else GIF_MAX_SIDE
    if max(height, width) > side:
        raise UserError(
            f"{out}: a {'PNG' if form == 'picture' else 'GIF frame'} of {width:,} x {height:,} pixels for "
            f"--rows {rows} x {cols} columns; the format holds at most {side:,} pixels a side (use .npy)"
        )
    check_request(frames * height * width, channels, "--rows x --steps", f"pixels of {out.name}")
    return form


def write_interpolation(
    walk: Interpolation, path: str | Path, kind: str, target: GaussianMixture | None = None
) -> Path:
    """Write ``walk`` by extension: ``.png`` (a grid for images, paths over the target density for 2-D
    points), ``.gif`` (one frame per column), ``.npy`` (``x`` as float32, ``(rows, steps, *shape)``).
    The file appears whole or not at all (an atomic write); ``path`` is checked before anything is drawn."""
    rows, cols = walk.x.shape[:2]
    form = check_interpolation_output(path, kind, tuple(walk.x.shape[2:]), rows, cols)
    out = output_file(path, "--out", FORMS)
    try:
        if form == "npy":
            with open_atomic(out) as f:
                np.save(f, walk.x.float().numpy(), allow_pickle=False)
        elif kind == "image":
            _write_images(walk, out, form)
        else:
            _write_paths(walk, out, form, target)
    except OSError as e:
        raise UserError(f"{out}: cannot write the walk ({e.strerror or e}); nothing was written") from None
    return out


def _write_images(walk: Interpolation, path: Path, form: str) -> None:
    from ..io.export import image_grid, save_grid_png

    rows, steps = walk.x.shape[:2]
    if form == "picture":
        save_grid_png(walk.x.reshape(rows * steps, *walk.x.shape[2:]), path, nrow=steps)
        return
    scale = max(1, 112 // walk.x.shape[-1])
    frames = [image_grid(walk.x[:, j], nrow=min(rows, GIF_ROW), scale=scale) for j in range(steps)]
    _save_gif(frames, path)


def _save_gif(frames: list[np.ndarray], path: Path) -> None:
    from PIL import Image

    images = [Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in frames]
    with open_atomic(path) as out:
        images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=GIF_MS_PER_FRAME, loop=0)


def _write_paths(walk: Interpolation, path: Path, form: str, target: GaussianMixture | None) -> None:
    """The walks as paths over the target density: the whole paths (``.png``) or growing point by point
    (``.gif``); the density is drawn once."""
    import io

    from PIL import Image

    from ..plotting import _plt, draw_density_2d

    plt = _plt()
    pts = walk.x.double().numpy()  # (rows, steps, 2)
    steps = pts.shape[1]
    fig, ax = plt.subplots(figsize=(5, 5))
    draw_density_2d(ax, target)
    colours = plt.get_cmap("tab10")
    lines = []
    for i, row in enumerate(pts):
        c = colours(i % 10)
        ax.plot(row[0, 0], row[0, 1], "o", color=c, ms=6, mfc="none")  # the start z0
        lines.append(ax.plot(row[:, 0], row[:, 1], ".-", color=c, lw=1.2, ms=4)[0])
    ax.set_aspect("equal")
    ax.set_title(f"G along {walk.method} paths in z")
    fig.tight_layout()
    try:
        if form == "picture":
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110)
            with open_atomic(path) as out:
                out.write(buf.getvalue())
            return
        frames = []
        for last in range(steps):
            for line, row in zip(lines, pts, strict=True):
                line.set_data(row[: last + 1, 0], row[: last + 1, 1])
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90)
            frames.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))
    finally:
        plt.close(fig)
    _save_gif(frames, path)
