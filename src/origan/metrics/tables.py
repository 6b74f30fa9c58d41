"""Fidelity of synthetic tables: marginals, correlations, usefulness for a model, and memorisation.

Every metric takes encoded rows ``(n, width)`` (what G outputs) and a
:class:`~origan.metrics.registry.MetricContext` whose ``codec`` is the table's codec (the one stored in the
run, or its JSON). Rows are decoded to the original columns first, so a sample is judged as the CSV a user
would get; where a metric needs numbers, decoded rows are encoded again (numeric columns standardised,
categorical columns one-hot), which puts real and synthetic rows in the same space.

- ``table_marginals``: per numeric column the two-sample Kolmogorov-Smirnov statistic and the
  1-Wasserstein distance in units of the column's standard deviation (``scipy.stats``); per categorical
  column the total-variation distance between level frequencies.
- ``table_correlation``: Pearson correlation matrices of the re-encoded columns; max, mean (over pairs)
  and Frobenius norm of their difference.
- ``table_utility``: train a scikit-learn model on synthetic rows and on real training rows to predict
  ``target`` from the other columns; score both on the real held-out rows (accuracy for a categorical
  target, R^2 for a numeric one): "train on synthetic, test on real" against "train on real, test on real"
  (:func:`origan.metrics.conditional.train_synthetic_test_real`, the definition ``tstr`` uses for images).
- ``table_memorisation``: distance from each synthetic row to its nearest training row (DCR) against
  the same distance for held-out real rows; copies show up as a low ratio and a high share of rows
  closer than the held-out rows' 5th percentile (about 0.05 for a model that does not copy).

:func:`fidelity_report` runs all four on a run (or samples) and its dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from ..data.tables import TableCodec, check_codec
from ..errors import ConfigError
from .conditional import train_synthetic_test_real
from .distances import nearest_neighbour
from .registry import MetricContext, register_metric

if TYPE_CHECKING:
    from ..data import Dataset
    from ..run import Run

__all__ = ["TABLE_PARTS", "fidelity_report", "marginals", "memorisation", "table_correlation", "utility"]

# the parts of the report: they take reference rows, not a Dataset, so evaluate() runs them together as
# table_fidelity (registered with default=False) and refuses them by name
TABLE_PARTS = ("table_marginals", "table_correlation", "table_utility", "table_memorisation")


def _codec(codec: TableCodec | dict[str, Any] | None, metric: str) -> TableCodec:
    if codec is None:
        raise ConfigError(f"{metric}: needs codec= (the table codec stored in the run: run.data_info.codec)")
    return codec if isinstance(codec, TableCodec) else TableCodec.from_json(codec)


def _reencode(codec: TableCodec, x: Tensor | np.ndarray) -> np.ndarray:
    """``(n, width)``: decoded (rounded, argmaxed) rows encoded again."""
    return codec.encode(codec.decode(x))


@register_metric(
    "table_marginals",
    kinds=("table",),
    default=False,
    description="per-column KS and Wasserstein/std (numeric) and total variation (categorical) "
    "between the decoded samples and the reference rows (scipy.stats)",
)
def marginals(samples: Tensor, reference: Tensor, ctx: MetricContext) -> dict[str, float]:
    """Marginal distances per column and their means; lower is closer (0 = identical marginals)."""
    from scipy.stats import ks_2samp, wasserstein_distance

    c = _codec(ctx.codec, "table_marginals")
    fake, real = c.decode(samples), c.decode(reference)
    out: dict[str, float] = {}
    ks, ws, tv = [], [], []
    for col, f, r in zip(c.columns, fake, real, strict=True):
        if col.kind == "numeric":
            f64, r64 = f.astype(np.float64), r.astype(np.float64)
            ks.append(float(ks_2samp(r64, f64).statistic))
            ws.append(float(wasserstein_distance(r64, f64)) / col.std)
            out[f"ks/{col.name}"], out[f"wasserstein/{col.name}"] = ks[-1], ws[-1]
        else:
            p = np.array([np.mean(r == lv) for lv in col.levels])
            q = np.array([np.mean(f == lv) for lv in col.levels])
            tv.append(0.5 * float(np.abs(p - q).sum()))
            out[f"tv/{col.name}"] = tv[-1]
    summary = {
        "ks_mean": np.mean(ks) if ks else np.nan,
        "ks_max": max(ks, default=np.nan),
        "wasserstein_mean": np.mean(ws) if ws else np.nan,
        "tv_mean": np.mean(tv) if tv else np.nan,
    }
    return {k: float(v) for k, v in summary.items()} | out


def _correlation(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(0)
    std = np.sqrt((x**2).mean(0))
    z = np.divide(x, std, out=np.zeros_like(x), where=std > 0)  # constant columns correlate 0 with all
    corr = z.T @ z / len(x)
    np.fill_diagonal(corr, 1.0)
    return corr


@register_metric(
    "table_correlation",
    kinds=("table",),
    default=False,
    description="difference of the Pearson correlation matrices of the re-encoded columns "
    "(standardised numeric, one-hot categorical): max, mean over pairs, Frobenius",
)
def table_correlation(samples: Tensor, reference: Tensor, ctx: MetricContext) -> dict[str, float]:
    """How far the synthetic rows' correlations are from the reference's; 0 = identical."""
    c = _codec(ctx.codec, "table_correlation")
    diff = np.abs(_correlation(_reencode(c, samples)) - _correlation(_reencode(c, reference)))
    pairs = diff[np.triu_indices(len(diff), k=1)]
    return {
        "corr_diff_max": float(pairs.max(initial=0.0)),
        "corr_diff_mean": float(pairs.mean()) if pairs.size else 0.0,
        "corr_diff_fro": float(np.sqrt((diff**2).sum())),
    }


MODELS: dict[str, Callable[[bool, int], Any]] = {}


def _random_forest(classify: bool, seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if classify else RandomForestRegressor
    return cls(n_estimators=200, random_state=seed, n_jobs=1)


def _linear(classify: bool, seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression, Ridge

    return LogisticRegression(max_iter=2000, random_state=seed) if classify else Ridge(alpha=1.0)


MODELS.update({"random_forest": _random_forest, "linear": _linear})


def _xy(c: TableCodec, x: Tensor | np.ndarray, target: str) -> tuple[np.ndarray, np.ndarray]:
    cols = c.decode(x)
    features = c.encode(cols)
    sl = c.slices()[target]
    keep = np.r_[0 : sl.start, sl.stop : c.width]
    return features[:, keep], cols[c.names.index(target)]


@register_metric(
    "table_utility",
    kinds=("table",),
    default=False,
    description="train on synthetic, test on real vs train on real, test on real: a scikit-learn "
    "model predicts target= (accuracy for categories, R^2 for numbers); needs train=",
)
def utility(
    samples: Tensor,
    reference: Tensor,
    ctx: MetricContext,
    *,
    train: Tensor | None = None,
    target: str = "",
    model: str = "random_forest",
) -> dict[str, float]:
    """Scores on the real ``reference`` rows of a model fit on ``samples`` (TSTR) and on real ``train`` rows (TRTR);
    ``ctx.seed`` seeds the model."""
    c = _codec(ctx.codec, "table_utility")
    seed = ctx.seed
    if train is None:
        raise ConfigError("table_utility: needs train= (the real training rows) for the train-on-real baseline")
    target = target or c.names[-1]
    if target not in c.names:
        raise ConfigError(f"table_utility: target {target!r} is not a column ({', '.join(c.names)})")
    if model not in MODELS:
        raise ConfigError(f"table_utility: model {model!r} unknown; expected one of {', '.join(MODELS)}")
    classify = next(col for col in c.columns if col.name == target).kind == "categorical"
    as_y = (lambda y: y.astype(str)) if classify else (lambda y: y.astype(np.float64))
    x_test, y_test = _xy(c, reference, target)
    x_syn, y_syn = _xy(c, samples, target)
    x_real, y_real = _xy(c, train, target)

    def fit(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray, np.ndarray], float]:
        y = as_y(y)
        if classify and len(np.unique(y)) < 2:  # one class only: the model can only predict it
            return lambda xt, yt: float(np.mean(as_y(yt) == y[0]))
        fitted = MODELS[model](classify, seed).fit(x, y)
        return lambda xt, yt: float(fitted.score(xt, as_y(yt)))

    shared = train_synthetic_test_real(fit, x_syn, y_syn, x_real, y_real, x_test, y_test, both=False)
    scores = {"tstr": shared["synthetic"], "trtr": shared["real"]}
    score = "accuracy" if classify else "r2"
    ratio = scores["tstr"] / scores["trtr"] if scores["trtr"] > 0 else float("nan")
    return {f"tstr_{score}": scores["tstr"], f"trtr_{score}": scores["trtr"], "utility_ratio": ratio}


@register_metric(
    "table_memorisation",
    kinds=("table",),
    default=False,
    description="distance to the closest training row of synthetic rows vs held-out real rows "
    "(reference); needs train=",
)
def memorisation(
    samples: Tensor, reference: Tensor, ctx: MetricContext, *, train: Tensor | None = None
) -> dict[str, float]:
    """Nearest-training-row distances (re-encoded space) of synthetic rows against those of held-out rows."""
    c = _codec(ctx.codec, "table_memorisation")
    if train is None:
        raise ConfigError("table_memorisation: needs train= (the real training rows)")
    rows = torch.from_numpy(_reencode(c, train))  # (n_train, width)
    # canonical distances (origan.metrics.distances): the comparisons below are the same on every CPU
    d_fake = nearest_neighbour(torch.from_numpy(_reencode(c, samples)), rows)[0].sqrt().numpy()  # (n_samples,)
    d_hold = nearest_neighbour(torch.from_numpy(_reencode(c, reference)), rows)[0].sqrt().numpy()  # (n_holdout,)
    p5 = float(np.percentile(d_hold, 5))
    med_fake, med_hold = float(np.median(d_fake)), float(np.median(d_hold))
    return {
        "dcr_synthetic_median": med_fake,
        "dcr_holdout_median": med_hold,
        "dcr_ratio": med_fake / med_hold if med_hold > 0 else float("nan"),
        "exact_copy_fraction": float(np.mean(d_fake < 1e-9)),
        "closer_than_holdout_p5_fraction": float(np.mean(d_fake < p5)),
    }


def fidelity_report(
    run_or_samples: Run | Tensor,
    dataset: Dataset | None = None,
    target: str = "",
    n: int = 0,
    seed: int = 0,
    model: str = "random_forest",
) -> dict[str, dict[str, float]]:
    """All table metrics for a run (or for encoded samples) against its dataset.

    Marginals and correlations compare the samples with the real training rows, and (``real_holdout``)
    the held-out real rows with the training rows, a floor set by sampling noise. Utility and
    memorisation hold out the validation and test rows.

    Args:
        run_or_samples: a table :class:`~origan.run.Run` (sampled ``n`` rows with ``seed``) or ``(n, width)`` rows.
        dataset: the run's dataset; built from the run's config when omitted.
        target: the column to predict (default: the dataset's ``target_column``).
        n: rows to sample from a run (default: as many as the training split).
    """
    from ..data import build_dataset

    if isinstance(run_or_samples, Tensor):
        samples = run_or_samples
        if dataset is None:
            raise ConfigError("fidelity_report: samples need their dataset")
    else:
        dataset = dataset or build_dataset(run_or_samples.config.data)
        check_codec(run_or_samples.data_info.codec, dataset)
        samples = run_or_samples.sample(n or len(dataset.train), generator=torch.Generator().manual_seed(seed))
    if dataset.kind != "table" or "codec" not in dataset.info:
        raise ConfigError(f"fidelity_report: needs a table dataset, got {dataset.name!r} ({dataset.kind})")
    ctx = MetricContext(seed=seed, codec=TableCodec.from_json(dataset.info["codec"]))
    target = target or dataset.info.get("target_column", "")
    holdout = torch.cat([dataset.val, dataset.test])
    return {
        "marginals": marginals(samples, dataset.train, ctx),
        "correlation": table_correlation(samples, dataset.train, ctx),
        "real_holdout": {
            k: v
            for k, v in (
                marginals(holdout, dataset.train, ctx) | table_correlation(holdout, dataset.train, ctx)
            ).items()
            if "/" not in k
        },
        "utility": utility(samples, holdout, ctx, train=dataset.train, target=target, model=model),
        "memorisation": memorisation(samples, holdout, ctx, train=dataset.train),
    }
