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
  the same distance for held-out real rows; copies show up as a low ratio, a high share of rows
  closer than the held-out rows' 5th percentile (about 0.05 for a model that does not copy) and a high
  *closeness* (below).
- ``table_dcr`` (run by ``origan eval`` on tables): the same DCR numbers for up to 10,000 samples against
  the dataset's validation + test rows.

*Closeness* (``closer_than_holdout_median_fraction``) is the share of synthetic rows nearer to a training
row than the median held-out row is: 0.5 for fresh rows of the real distribution, near 1 for a model that
copies. Distances are canonical (:mod:`origan.distances`), so ties are exact; a synthetic row at
exactly the held-out median counts with the weight ``w = (0.5 - P(d_hold < m)) / P(d_hold = m)`` that
makes the held-out rows themselves score exactly 0.5 (``w = 0.5`` for an odd number of distinct distances).
So a table whose held-out rows often repeat training rows (median 0) gives exact copies ``w < 1``, not 0
(a strict ``<``) or 1 (``<=``, which would give fresh rows more than 0.5 as well).

Without held-out rows (``data.val_fraction = data.test_fraction = 0``) the parts that need them report
``held_out_rows: 0`` and leave their held-out numbers out; what needs only training rows is still given.

:func:`fidelity_report` runs all four on a run (or samples) and its dataset. :func:`validation_score` is a
fast, deterministic score of synthetic rows against the validation rows, for choosing a checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from ..data.tables import TableCodec, check_codec
from ..distances import nearest_neighbour
from ..errors import ConfigError
from ..training.select import CLOSENESS_FREE, SCORES
from .conditional import train_synthetic_test_real
from .registry import MetricContext, register_metric

if TYPE_CHECKING:
    from ..data import Dataset
    from ..run import Run

__all__ = [
    "NO_HELD_OUT",
    "TABLE_PARTS",
    "closeness",
    "fidelity_report",
    "marginals",
    "memorisation",
    "table_correlation",
    "table_dcr",
    "utility",
    "validation_score",
    "validation_scorer",
]

# the parts of the report: they take reference rows, not a Dataset, so evaluate() runs them together as
# table_fidelity (registered with default=False) and refuses them by name
TABLE_PARTS = ("table_marginals", "table_correlation", "table_utility", "table_memorisation")
NO_HELD_OUT = "n/a (no held-out rows: train with data.val_fraction > 0)"  # printed for a part without held-out rows
DCR_SAMPLES = 10_000  # table_dcr: samples compared with the training rows


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
            if col.missing:  # missing values (NaN): the gap in their rates; KS and Wasserstein on the others
                out[f"missing/{col.name}"] = abs(float(np.isnan(r64).mean() - np.isnan(f64).mean()))
                f64, r64 = f64[~np.isnan(f64)], r64[~np.isnan(r64)]
                if not len(f64) or not len(r64):
                    continue
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
    y = cols[c.names.index(target)]
    if c.columns[c.names.index(target)].missing:  # a numeric target: rows without a value have nothing to predict
        rows = ~np.isnan(y)
        return features[rows][:, keep], y[rows]
    return features[:, keep], y


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
    if len(reference) == 0:
        raise ConfigError(
            "table_utility: no held-out rows to score on (reference is empty); train with data.val_fraction > 0"
        )
    classify = next(col for col in c.columns if col.name == target).kind == "categorical"
    as_y = (lambda y: y.astype(str)) if classify else (lambda y: y.astype(np.float64))
    x_test, y_test = _xy(c, reference, target)
    x_syn, y_syn = _xy(c, samples, target)
    x_real, y_real = _xy(c, train, target)

    def fit(x: np.ndarray, y: np.ndarray) -> Callable[[np.ndarray, np.ndarray], float]:
        y = as_y(y)
        if not len(y):  # every target value missing: no model to fit
            return lambda xt, yt: float("nan")
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
    """Nearest-training-row distances (re-encoded space) of synthetic rows against those of held-out rows
    ``reference``; without held-out rows only the synthetic side, with ``held_out_rows: 0``."""
    c = _codec(ctx.codec, "table_memorisation")
    if train is None:
        raise ConfigError("table_memorisation: needs train= (the real training rows)")
    d_fake, d_hold = _dcr(c, samples, reference, train)
    med_fake = float(np.median(d_fake)) if len(d_fake) else float("nan")
    out = {"dcr_synthetic_median": med_fake, "exact_copy_fraction": float(np.mean(d_fake < 1e-9))}
    if not len(d_hold):
        return out | {"held_out_rows": 0}
    p5 = float(np.percentile(d_hold, 5))
    med_hold = float(np.median(d_hold))
    return {
        "dcr_synthetic_median": med_fake,
        "dcr_holdout_median": med_hold,
        "dcr_ratio": med_fake / med_hold if med_hold > 0 else float("nan"),
        "exact_copy_fraction": out["exact_copy_fraction"],
        "closer_than_holdout_p5_fraction": float(np.mean(d_fake < p5)),
        "closer_than_holdout_median_fraction": closeness(d_fake, d_hold),
        "held_out_rows": len(d_hold),
    }


def _rows64(c: TableCodec, x: Tensor | np.ndarray) -> Tensor:
    """``(n, width)`` float64 re-encoded rows (``(0, width)`` for none)."""
    return torch.from_numpy(_reencode(c, x)).reshape(len(x), c.width)


def _dcr(c: TableCodec, samples: Tensor, held_out: Tensor, train: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Distances to the closest training row (re-encoded space), ``(n_samples,)`` and ``(n_held_out,)``."""
    rows = _rows64(c, train)  # (n_train, width)
    if not len(rows):
        raise ConfigError("table_memorisation: no training rows to measure distances to")

    def dcr(x: Tensor) -> np.ndarray:
        if not len(x):
            return np.zeros(0)
        # canonical distances (origan.distances): the comparisons are the same on every CPU
        return nearest_neighbour(_rows64(c, x), rows)[0].sqrt().numpy()

    return dcr(samples), dcr(held_out)


def closeness(d_fake: np.ndarray | Tensor, d_hold: np.ndarray | Tensor) -> float:
    """The share of ``d_fake`` below the median ``m`` of ``d_hold`` (distances to the closest training row),
    a value exactly at ``m`` counting ``w = (0.5 - P(d_hold < m)) / P(d_hold = m)``, the weight that makes
    ``closeness(d_hold, d_hold) == 0.5``: 0.5 for rows as near as fresh data, 1 when all are nearer."""
    fake, hold = np.asarray(d_fake, dtype=np.float64), np.asarray(d_hold, dtype=np.float64)
    if not len(hold) or not len(fake):
        raise ConfigError("closeness: needs synthetic and held-out distances (got an empty set)")
    m = float(np.median(hold))
    at = float(np.mean(hold == m))
    weight = min(1.0, max(0.0, (0.5 - float(np.mean(hold < m))) / at)) if at > 0 else 0.0
    return float(np.mean(fake < m) + weight * np.mean(fake == m))


@register_metric(
    "table_dcr",
    kinds=("table",),
    description="for tables: distance to the closest training row (DCR, re-encoded columns) of up to 10,000 "
    "samples vs the validation + test rows; closeness = share of samples nearer than the median held-out "
    "row (fresh data 0.5, copies 1)",
    applies=lambda data: "codec" in data.info,
)
def table_dcr(samples: Tensor, reference: Any, ctx: MetricContext, *, n_max: int = DCR_SAMPLES) -> dict[str, Any]:
    """DCR closeness of up to ``n_max`` samples against the held-out rows (validation + test) of ``reference``,
    the run's table :class:`~origan.data.Dataset`; ``held_out_rows: 0`` and no held-out numbers without them."""
    c = TableCodec.from_json(reference.info["codec"]) if ctx.codec is None else _codec(ctx.codec, "table_dcr")
    held_out = torch.cat([reference.val.reshape(-1, c.width), reference.test.reshape(-1, c.width)])
    out: dict[str, Any] = memorisation(
        samples[:n_max], held_out, MetricContext(seed=ctx.seed, codec=c), train=reference.train
    )
    if out.get("dcr_ratio") != out.get("dcr_ratio"):  # NaN (held-out median 0): plain JSON has no NaN
        out["dcr_ratio"] = None
    return out | {"n_samples": min(n_max, len(samples)), "n_train": len(reference.train)}


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
    memorisation hold out the validation and test rows. A dataset without held-out rows (``data.val_fraction``
    and ``data.test_fraction`` 0) gives ``{"held_out_rows": 0}`` for ``real_holdout`` and ``utility``, and
    memorisation's synthetic side only (see :func:`memorisation`).

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
    report = {
        "marginals": marginals(samples, dataset.train, ctx),
        "correlation": table_correlation(samples, dataset.train, ctx),
    }
    if not len(holdout):  # every row trained: only the parts that need no held-out rows
        none: dict[str, float] = {"held_out_rows": 0}
        mem = memorisation(samples, holdout, ctx, train=dataset.train)
        return report | {"real_holdout": none, "utility": none, "memorisation": mem}
    return report | {
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


# -------------------------------------------------------------------------------------------------------
# A validation score for choosing a checkpoint


PAIR_BINS = 10  # numeric columns paired with a categorical one: equal-width bins over the validation range


def _decoded(c: TableCodec, x: Tensor | np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Per column the decoded values as float64 (numeric; NaN where missing) or level indices (categorical), and
    the re-encoded rows ``(n, width)`` float64: ``codec.encode(codec.decode(x))`` (what :func:`_reencode` gives),
    computed on the blocks without a pass over the values in Python."""
    x64 = x.detach().cpu().double().numpy() if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
    values = c.decode(x64)
    enc = np.zeros((len(x64), c.width))
    cols = []
    for col, v, sl in zip(c.columns, values, c.slices().values(), strict=True):
        if col.kind == "categorical":  # decoded to levels[argmax] and encoded back: the argmax's one-hot
            cols.append(x64[:, sl].argmax(1))
            enc[np.arange(len(x64)), sl.start + cols[-1]] = 1
            continue
        cols.append(v.astype(np.float64))
        absent = np.isnan(cols[-1])  # a missing cell: imputed with the mean (0 standardised), then [0, 1]
        enc[:, sl.start] = np.where(absent, 0.0, (cols[-1] - col.mean) / col.std)
        if sl.stop - sl.start == 3:  # [value, present, missing]
            enc[:, sl.start + 1], enc[:, sl.start + 2] = ~absent, absent
    return cols, enc


def _cdf(sorted_x: np.ndarray, at: np.ndarray) -> np.ndarray:
    return np.searchsorted(sorted_x, at, "right") / len(sorted_x)


def _bin(inner: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Bin indices of numbers ``v`` between the ``inner`` edges (0 .. PAIR_BINS - 1), ``PAIR_BINS`` where missing."""
    return np.where(np.isnan(v), PAIR_BINS, np.searchsorted(inner, v, "right"))


def _complement_ks(r: np.ndarray, f: np.ndarray) -> float:
    """1 - the two-sample KS statistic (scipy's ``ks_2samp(r, f).statistic``) of sorted present values; a side
    without any: 1 when both are so, else 0."""
    if not len(r) or not len(f):
        return float(len(r) == len(f))
    at = np.concatenate([r, f])
    return 1 - float(np.abs(_cdf(r, at) - _cdf(f, at)).max())


def validation_scorer(
    codec: TableCodec | dict[str, Any],
    train: Tensor | np.ndarray,
    val: Tensor | np.ndarray,
    *,
    free: float = CLOSENESS_FREE,
) -> Callable[[Tensor | np.ndarray], dict[str, float]]:
    """:func:`validation_score` with the training and validation rows fixed: what depends on them alone (decoded
    validation columns, their bins, correlations and joint frequencies, the validation rows' distances to the
    training rows) is computed once here, and ``scorer(samples)`` costs only the samples' part."""
    c = _codec(codec, "validation_score")
    if not len(val):
        raise ConfigError("validation_score: no validation rows; choosing a checkpoint needs data.val_fraction > 0")
    if not len(train):
        raise ConfigError("validation_score: needs training rows (got none)")
    real, enc_val = _decoded(c, val)
    rows = torch.from_numpy(_decoded(c, train)[1])  # (n_train, width)
    d_val = nearest_neighbour(torch.from_numpy(enc_val), rows)[0].sqrt().numpy()  # (n_val,)
    kinds = [col.kind for col in c.columns]
    numeric = [j for j, kind in enumerate(kinds) if kind == "numeric"]
    present = {j: real[j][~np.isnan(real[j])] for j in numeric}  # missing cells: left out of KS, as SDMetrics
    sorted_real = {j: np.sort(v) for j, v in present.items()}
    means = np.array([c.columns[j].mean for j in numeric])  # correlations: missing cells at the codec's mean
    # pairs with a category: 10 bins over the validation range (outside: the end bins) and one for missing cells
    inner = {j: np.histogram_bin_edges(v if len(v) else np.zeros(1), PAIR_BINS)[1:-1] for j, v in present.items()}
    sizes = np.array([PAIR_BINS + 1 if col.kind == "numeric" else len(col.levels) for col in c.columns])
    freq_real = {
        j: np.bincount(real[j], minlength=sizes[j]) / len(enc_val) for j in range(len(kinds)) if j not in inner
    }
    tri = np.triu_indices(len(numeric), k=1)

    def numbers(cols: list[np.ndarray]) -> np.ndarray:  # (n, numeric columns), missing cells at the mean
        x = np.stack([cols[j] for j in numeric], 1)
        return np.where(np.isnan(x), means, x)

    corr_real = _correlation(numbers(real))[tri] if len(numeric) > 1 else None
    pairs = [
        (i, j) for i in range(len(kinds)) for j in range(i + 1, len(kinds)) if "categorical" in (kinds[i], kinds[j])
    ]
    ii, jj = np.array(pairs, dtype=np.int64).reshape(-1, 2).T
    cells = sizes[ii] * sizes[jj]
    offsets = np.concatenate([[0], np.cumsum(cells)[:-1]]).astype(np.int64)

    def joint(cols: list[np.ndarray]) -> np.ndarray:  # joint frequencies of every pair with a category, one bincount
        codes = np.stack([_bin(inner[j], v) if j in inner else v for j, v in enumerate(cols)], 1)
        return np.bincount(
            (codes[:, ii] * sizes[jj] + codes[:, jj] + offsets).ravel(), minlength=int(cells.sum())
        ) / len(codes)

    joint_real = joint(real) if pairs else None

    def scorer(samples: Tensor | np.ndarray) -> dict[str, float]:
        if not len(samples):
            raise ConfigError("validation_score: needs synthetic rows (got none)")
        fake, enc_fake = _decoded(c, samples)
        shapes = []
        for j, f in enumerate(fake):
            if j in sorted_real:  # 1 - the two-sample KS statistic of the present values
                shapes.append(_complement_ks(sorted_real[j], np.sort(f[~np.isnan(f)])))
            else:  # 1 - total variation distance of the level frequencies
                q = np.bincount(f, minlength=sizes[j]) / len(f)
                shapes.append(1 - 0.5 * float(np.abs(q - freq_real[j]).sum()))
        trends: list[float] = []
        if corr_real is not None:  # two numeric columns: 1 - |difference of Pearson correlations| / 2
            corr_fake = _correlation(numbers(fake))[tri]
            trends += (1 - 0.5 * np.abs(corr_fake - corr_real)).tolist()
        if joint_real is not None:  # with a category: 1 - total variation distance of the joint frequencies
            trends += (1 - 0.5 * np.add.reduceat(np.abs(joint(fake) - joint_real), offsets)).tolist()
        column_shapes = float(np.mean(shapes))
        pair_trends = float(np.mean(trends)) if trends else float("nan")
        quality = (column_shapes + pair_trends) / 2 if trends else column_shapes
        d_fake = nearest_neighbour(torch.from_numpy(enc_fake), rows)[0].sqrt().numpy()  # (n_samples,)
        near = closeness(d_fake, d_val)
        return {
            "quality": quality,
            "closeness": near,
            "score": quality - max(0.0, near - free),
            "column_shapes": column_shapes,
            "column_pair_trends": pair_trends,
            "n_samples": len(enc_fake),
            "n_val": len(enc_val),
        }

    return scorer


def validation_score(
    codec: TableCodec | dict[str, Any],
    samples: Tensor | np.ndarray,
    train: Tensor | np.ndarray,
    val: Tensor | np.ndarray,
    *,
    free: float = CLOSENESS_FREE,
) -> dict[str, float]:
    """A score of synthetic rows to maximise when choosing a checkpoint: fidelity to the validation rows, less a
    penalty for rows nearer the training rows than held-out rows are. Deterministic, numpy and torch only; for
    many scores against the same rows, build :func:`validation_scorer` once.

    Args:
        codec: the table's codec (or its JSON form).
        samples: ``(n, width)`` encoded synthetic rows (what G outputs).
        train, val: ``(n_train, width)`` and ``(n_val, width)`` encoded real training and validation rows.

    Returns:
        - ``quality`` in [0, 1], higher is closer: the mean of *Column Shapes* (per column, 1 - the KS statistic
          of a numeric column, 1 - the total variation distance of a categorical one's level frequencies;
          averaged) and *Column Pair Trends* (per pair of columns, 1 - |difference of Pearson correlations| / 2
          for two numeric columns, 1 - the total variation distance of the joint frequencies when one is
          categorical, a numeric partner cut into 10 equal-width bins over the validation range; averaged),
          between the decoded samples and the validation rows, as in SDMetrics' quality report (its Column
          Shapes exactly; with one column, Column Shapes alone and ``column_pair_trends`` NaN). Missing cells of
          a numeric column: left out of its KS statistic (as SDMetrics), at the column's mean in correlations
          (the codec's imputation), a bin of their own in joint frequencies;
        - ``closeness``: the share of samples nearer to a training row than the median validation row is
          (:func:`closeness`, re-encoded space; 0.5 for fresh data, 1 for copies);
        - ``score = quality - max(0, closeness - free)`` (``free`` = 0.6, ``train.select``'s
          :data:`~origan.training.select.CLOSENESS_FREE`): a model as novel as fresh data (closeness 0.5, up to
          sampling noise) is judged on quality alone, and each point of closeness above ``free`` costs a point of
          quality, so copying the training rows (closeness 1) costs 0.5, far more than the quality a copy gains
          over a good generator (at most the gap between the real rows' quality and the model's). Closeness
          below 0.5 (samples farther away than real data) earns nothing: quality already measures it.
          ``free`` moves the threshold: with few validation rows fresh samples' closeness is noisy (standard
          deviation about ``sqrt(0.25 / n + 0.25 / n_val)``), and ``free = 0.5 + 2 sd`` keeps that noise out of
          the score;
        - ``column_shapes``, ``column_pair_trends``, ``n_samples``, ``n_val``.
    """
    return validation_scorer(codec, train, val, free=free)(samples)


@SCORES.register("table")
def table_selection(data: Dataset) -> Callable[[Tensor], dict[str, float]]:
    """``train.select = "table"``: :func:`validation_scorer` of ``data``'s training and validation rows; data that
    is no table, or a table with fewer than 2 validation rows, is a ConfigError naming ``train.select``."""
    if data.kind != "table" or "codec" not in data.info:
        raise ConfigError(f"train.select: table scores tables; data.name={data.name} is {data.kind} data")
    if len(data.val) < 2:
        raise ConfigError(
            f"train.select: scores the validation rows, and {data.name} has {len(data.val)}; expected at least 2 "
            "(set data.val_fraction > 0, or train.select=none)"
        )
    return validation_scorer(data.info["codec"], data.train.cpu(), data.val.cpu())
