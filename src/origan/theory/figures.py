"""The lab's figures (matplotlib with the Agg backend, imported lazily).

Each function writes one file and returns its path.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..data.toy import gauss1d
from ..losses import LOG4
from ..plotting import _plt
from .densities import FlowDensity
from .optimal import d_star_logit

__all__ = [
    "plot_convergence",
    "plot_figure1",
    "plot_identity",
    "plot_optimal_d_1d",
    "plot_optimal_d_2d",
    "plot_saturation",
    "save_gif",
]


def _save(fig: Any, path: Path) -> Path:
    path = Path(path)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def _grid_1d(domain: Any, n: int = 1200) -> torch.Tensor:
    ((lo, hi),) = domain.bounds
    return torch.linspace(lo, hi, n, dtype=torch.float64)[:, None]


def plot_identity(rows: Sequence[dict[str, float]], example: tuple[Any, Any], path: Path) -> Path:
    """Left: V(G, D*) against -log 4 + 2 JSD for every pair. Right: one 1-D pair with D* and a perturbed D."""
    plt = _plt()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
    rhs = [-LOG4 + 2 * r["jsd"] for r in rows]
    ax0.plot([-LOG4, 0], [-LOG4, 0], color="gray", lw=1, label="y = x")
    ax0.scatter(rhs, [r["v_star"] for r in rows], s=14, c=["tab:blue" if r["dim"] == 1 else "tab:orange" for r in rows])
    ax0.set_xlabel("-log 4 + 2 JSD(p_data || p_g)")
    ax0.set_ylabel("V(G, D*)")
    worst = max(r["identity_diff"] for r in rows)
    ax0.set_title(f"{len(rows)} random mixture pairs (blue 1-D, orange 2-D)\nmax |difference| = {worst:.1e}")
    p, q = example
    lo = float(min(p.means.min() - 4 * p.stds.max(), q.means.min() - 4 * q.stds.max()))
    hi = float(max(p.means.max() + 4 * p.stds.max(), q.means.max() + 4 * q.stds.max()))
    x = torch.linspace(lo, hi, 800, dtype=torch.float64)[:, None]
    lp, lq = p.log_prob(x), q.log_prob(x)
    ax1.plot(x[:, 0], lp.exp(), "k-", label="p_data")
    ax1.plot(x[:, 0], lq.exp(), "g-", label="p_g")
    ax1.plot(x[:, 0], torch.sigmoid(d_star_logit(lp, lq)), "b--", label="D* = p_data / (p_data + p_g)")
    ax1.set_xlabel("x")
    ax1.set_title("an example pair")
    ax1.legend(fontsize=8)
    return _save(fig, path)


def plot_optimal_d_1d(view: dict[str, Any], path: Path) -> Path:
    """Trained D against D*, with p_data and p_g."""
    plt = _plt()
    x = _grid_1d(view["domain"])
    lp, lq = view["p_data"].log_prob(x), view["p_g"].log_prob(x)
    with torch.no_grad():
        d = torch.sigmoid(view["D"](x))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(x[:, 0], lp.exp(), "k-", lw=1, label="p_data")
    ax.plot(x[:, 0], lq.exp(), "g-", lw=1, label="p_g (fixed flow)")
    ax.plot(x[:, 0], torch.sigmoid(d_star_logit(lp, lq)), color="tab:blue", lw=2.5, alpha=0.4, label="D* (exact)")
    ax.plot(x[:, 0], d, "b--", lw=1.2, label="D (trained MLP)")
    ax.set_xlim(-6, 6)
    ax.set_xlabel("x")
    ax.legend(fontsize=8)
    ax.set_title("Proposition 1 in 1-D: the trained D against D*")
    return _save(fig, path)


def plot_optimal_d_2d(view: dict[str, Any], path: Path) -> Path:
    """Heat maps of D*, the trained D and |D - D*| weighted by m."""
    plt = _plt()
    (x0, x1), (y0, y1) = [(max(a, -5.0), min(b, 5.0)) for a, b in view["domain"].bounds]
    gx, gy = torch.meshgrid(
        torch.linspace(x0, x1, 200, dtype=torch.float64),
        torch.linspace(y0, y1, 200, dtype=torch.float64),
        indexing="xy",
    )
    pts = torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)
    lp, lq = view["p_data"].log_prob(pts), view["p_g"].log_prob(pts)
    d_star = torch.sigmoid(d_star_logit(lp, lq)).reshape(gx.shape)
    with torch.no_grad():
        d = torch.sigmoid(view["D"](pts)).reshape(gx.shape)
    m = (0.5 * torch.logaddexp(lp, lq).exp()).reshape(gx.shape)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, img, title in (
        (axes[0], d_star, "D* (exact)"),
        (axes[1], d, "D (trained MLP)"),
        (axes[2], m * (d - d_star).abs(), "m(x) |D - D*|"),
    ):
        im = ax.imshow(img.numpy(), origin="lower", extent=(x0, x1, y0, y1), cmap="viridis")
        ax.contour(gx, gy, lp.exp().reshape(gx.shape), levels=4, colors="w", linewidths=0.5)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.8)
    return _save(fig, path)


def plot_convergence(histories: dict[str, list[dict[str, float]]], path: Path) -> Path:
    """Exact JSD (log scale) and C(G) + log 4 along training, one line per arm."""
    plt = _plt()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
    for name, rows in histories.items():
        steps = [r["step"] for r in rows]
        ax0.semilogy(steps, [max(r["jsd"], 1e-16) for r in rows], label=name)
        ax1.semilogy(steps, [max(r["max_d_star_dev"], 1e-16) for r in rows], label=name)
    ax0.axhline(1e-3, color="gray", ls=":", label="target 1e-3")
    ax0.set_xlabel("G step")
    ax0.set_ylabel("exact JSD(p_data || p_g)")
    ax1.axhline(0.02, color="gray", ls=":", label="target 0.02")
    ax1.set_xlabel("G step")
    ax1.set_ylabel("max |D* - 1/2| over the data's support")
    ax0.legend(fontsize=8)
    ax1.legend(fontsize=8)
    return _save(fig, path)


def plot_saturation(d_fake: torch.Tensor, histories: dict[str, list[tuple[int, float]]], path: Path) -> Path:
    """Left: the three G costs against D(G(z)), with D(G(z)) at initialisation as a rug. Right: JSD per loss."""
    plt = _plt()
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4))
    d = torch.linspace(1e-3, 0.999, 500, dtype=torch.float64)
    ax0.plot(d, torch.log1p(-d), label="minimax: log(1 - D)")
    ax0.plot(d, -torch.log(d), label="non-saturating: -log D")
    ax0.plot(d, -d / (2 * (1 - d)), label="maximum likelihood: -D / (2(1 - D))")
    ax0.plot(
        d_fake.numpy(),
        torch.full_like(d_fake, -6.0).numpy(),
        "|",
        color="k",
        ms=8,
        alpha=0.3,
        label="D(G(z)) at initialisation",
    )
    ax0.set_ylim(-6.5, 5)
    ax0.set_xlabel("D(G(z))")
    ax0.set_ylabel("G's cost (minimised)")
    ax0.legend(fontsize=8)
    for name, rows in histories.items():
        ax1.semilogy([s for s, _ in rows], [max(j, 1e-12) for _, j in rows], label=name)
    ax1.axhline(0.05, color="gray", ls=":", label="JSD = 0.05")
    ax1.set_xlabel("G step")
    ax1.set_ylabel("exact JSD(p_data || p_g)")
    ax1.legend(fontsize=8)
    return _save(fig, path)


def _figure1_axes(ax: Any, gan: Any, title: str) -> None:
    """One panel in the paper's style: p_data as dots, p_g green, D blue dashed, and the z -> x mapping below."""

    p_data, p_g = gauss1d(), FlowDensity(gan.G)
    x = torch.linspace(0.5, 7.0, 600, dtype=torch.float64)[:, None]
    with torch.no_grad():
        d = torch.sigmoid(gan.D(x.float())).double()
    xd = torch.linspace(0.5, 7.0, 70, dtype=torch.float64)[:, None]
    ax.plot(xd[:, 0], p_data.log_prob(xd).exp(), "k.", ms=3, label="p_data")
    ax.plot(x[:, 0], p_g.log_prob(x).exp(), "g-", lw=1.5, label="p_g")
    ax.plot(x[:, 0], d, "b--", lw=1.2, label="D")
    u = (torch.arange(15, dtype=torch.float64) + 0.5) / 15  # equally spaced u = Phi(z) on the z-line
    z = torch.special.ndtri(u)[:, None]
    with torch.no_grad():
        gz = p_g.flow(z)[:, 0]
    z_pos = 1.0 + 5.5 * u  # the z-line drawn under the x-line
    for zi, xi in zip(z_pos.tolist(), gz.tolist(), strict=True):
        ax.annotate("", xy=(xi, -0.12), xytext=(zi, -0.42), arrowprops={"arrowstyle": "->", "lw": 0.6, "color": "0.3"})
    ax.axhline(-0.12, color="k", lw=0.8)
    ax.axhline(-0.42, color="k", lw=0.8)
    ax.text(0.55, -0.1, "x", fontsize=8)
    ax.text(0.55, -0.4, "z", fontsize=8)  # the paper's uniform z: here u = Phi(z)
    ax.set_xlim(0.5, 7.0)
    ax.set_ylim(-0.5, 1.05)
    ax.set_yticks([0, 0.5, 1.0])
    ax.set_title(title, fontsize=9)


def plot_figure1(panels: dict[str, Any], numbers: dict[str, dict[str, float]], path: Path) -> Path:
    """The four panels (a)-(d) side by side."""
    plt = _plt()
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), sharey=True)
    captions = {
        "a": "(a) near convergence",
        "b": "(b) D trained: D -> D*",
        "c": "(c) after G updates",
        "d": "(d) equilibrium: p_g = p_data, D = 1/2",
    }
    for ax, key in zip(axes, "abcd", strict=True):
        _figure1_axes(ax, panels[key], f"{captions[key]}\nJSD = {numbers[key]['jsd']:.2e}")
    axes[0].legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def save_gif(frames: Sequence[tuple[int, Any]], path: Path, ms_per_frame: int = 120) -> Path:
    """An animated GIF, one frame per snapshot of the run (Pillow)."""
    from PIL import Image

    plt = _plt()
    images = []
    for step, gan in frames:
        fig, ax = plt.subplots(figsize=(5, 3.6))
        _figure1_axes(ax, gan, f"step {step}")
        ax.legend(fontsize=7, loc="upper left")
        buf = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buf, format="png", dpi=80)
        plt.close(fig)
        buf.seek(0)
        images.append(Image.open(buf).convert("P", palette=Image.Palette.ADAPTIVE))
    path = Path(path)
    images[0].save(path, save_all=True, append_images=images[1:], duration=ms_per_frame, loop=0)
    return path
