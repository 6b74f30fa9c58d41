"""Evaluate a trained run with every metric that applies to its data, offline.

```python
from origan.metrics import evaluate
result = evaluate("runs/mnist", n_samples=10_000, seed=0)   # also writes runs/mnist/eval.json
result["metrics"]["parzen"]["model"]["log_likelihood"]
```

The run's dataset is rebuilt from its config (same fixed split), ``n_samples`` samples are drawn from
seeded noise, and each metric sees the same samples (a conditional run's classes drawn from the training
split's class frequencies; ``tstr`` and ``label_accuracy`` draw samples of given classes besides, with
``draw_labelled(y, seed)``). Digit images are measured in the features of the
domain classifier (:mod:`origan.metrics.classifier`); other data in raw values. ``eval.json`` holds the
newest result and ``eval-history.jsonl`` one line per evaluation.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..data import build_dataset
from ..data.tables import check_codec
from ..errors import ConfigError
from ..io import tensorboard
from ..io.files import check_writable, write_atomic
from ..latent.encoder import usable_encoder
from ..limits import check_int
from ..run import Run, load_run
from ..seeding import derive_seed
from ..version import __version__
from .classifier import DomainClassifier, domain_classifier, has_domain_classifier
from .conditional import NEEDS_LABELS
from .inception import check_inception_weights
from .registry import METRICS, MetricContext, get_metric, register_metric
from .tables import NO_HELD_OUT, TABLE_PARTS, fidelity_report

__all__ = ["EVAL_FILE", "HISTORY_FILE", "default_metrics", "evaluate", "summary_rows"]

log = logging.getLogger(__name__)

EVAL_FILE = "eval.json"
HISTORY_FILE = "eval-history.jsonl"
EVAL_COPIES = 3  # an evaluation holds its samples, a float64 copy and features: bytes per sample, in samples
# the metrics that measure against held-out splits (the table ones handle an empty split themselves): a run
# trained on every row (data.val_fraction = data.test_fraction = 0) skips them, or refuses them by name
HELD_OUT_SPLITS = {
    "parzen": ("val", "test"),
    "frechet": ("test",),
    "novelty": ("test",),
    "reconstruction": ("test",),
    "tstr": ("test",),
    "semi": ("test",),
}


def default_metrics(data: Any, conditional: bool = False) -> list[str]:
    """Names of the registered default metrics that apply to ``data`` (a :class:`~origan.data.Dataset`) and to a
    conditional run or not, sorted (registration order follows import order)."""
    return sorted(
        name for name, m in METRICS.items() if m.default and m.applies_to(data) and (conditional or not m.conditional)
    )


@register_metric(
    "table_fidelity",
    kinds=("table",),
    description="for tables: per-column marginals, correlations, train-on-synthetic utility and memorisation of "
    "decoded rows (origan.metrics.tables.fidelity_report), as many samples as training rows",
    applies=lambda data: "codec" in data.info,
)
def table_fidelity_metric(samples: Tensor, reference: Any, ctx: MetricContext) -> dict[str, Any]:
    """The table fidelity report of ``len(train)`` samples (seeded with ``ctx.seed``), without the per-column
    entries."""
    report = fidelity_report(samples[: len(reference.train)], reference, seed=ctx.seed)
    return {part: {k: v for k, v in values.items() if "/" not in k} for part, values in report.items()}


def by_labels(run: Run) -> bool:
    """Whether ``run`` is conditioned on its data's labels (so its classes are the data's): the metrics of
    samples of given classes apply. A run conditioned on k-means clusters (``train.clusters``) is not."""
    return run.conditional and not run.config.train.clusters


def _choose(names: Sequence[str] | None, data: Any, inception_weights: Any, conditional: bool = False) -> list[str]:
    chosen = list(dict.fromkeys(names)) if names else default_metrics(data, conditional)
    if inception_weights is not None and "inception_fid" not in chosen:
        chosen.append("inception_fid")
    for name in chosen:
        metric = get_metric(name)
        if name == "inception_fid":
            if data.kind != "image":
                raise ConfigError(f"--inception-weights: needs image data; this run's data are {data.kind}")
            if inception_weights is None:
                raise ConfigError("--metrics inception_fid: needs --inception-weights FILE.safetensors")
            check_inception_weights(inception_weights)
            continue
        if name in TABLE_PARTS:
            raise ConfigError(f"--metrics {name}: part of table_fidelity; name table_fidelity instead")
        if not metric.applies_to(data):
            raise ConfigError(
                f"--metrics {name}: does not apply to {data.kind} data {data.name!r}; "
                f"applicable: {', '.join(default_metrics(data, conditional))}"
            )
        if metric.conditional and not conditional:
            raise ConfigError(f"--metrics {name}: {NEEDS_LABELS}; this one is not")
    return chosen


class _CachedEmbedding:
    """A feature map that computes each tensor's features once (the same tensors feed several metrics)."""

    def __init__(self, fn: Callable[[Tensor], Tensor]) -> None:
        self.fn = fn
        self.cache: dict[tuple[Any, ...], Tensor] = {}

    def __call__(self, x: Tensor) -> Tensor:
        key = (x.data_ptr(), tuple(x.shape), tuple(x.stride()), x.dtype)
        if key not in self.cache:
            self.cache[key] = self.fn(x)
        return self.cache[key]


def _context(
    run: Run, seed: int, data_name: str, clf: DomainClassifier | None, inception_weights: str | Path | None
) -> MetricContext:
    """The one :class:`MetricContext` of an evaluation: fresh samples of ``run`` from seeded noise, the domain
    classifier ``clf`` and its features (when the data have one), ``RUN/plots`` for figures."""

    def draw(n: int, s: int) -> Tensor:
        return run.sample(n, generator=torch.Generator().manual_seed(derive_seed(s, "eval-draw")))

    def draw_labelled(y: Tensor, s: int) -> Tensor:  # samples of given classes (n,): G(z, y), z from the seed
        return run.sample(len(y), generator=torch.Generator().manual_seed(derive_seed(s, "eval-labelled")), labels=y)

    return MetricContext(
        seed=seed,
        run=run,
        draw=draw,
        draw_labelled=draw_labelled if by_labels(run) else None,
        classifier=clf,
        embed=None if clf is None else _CachedEmbedding(clf.features),
        feature_space="raw" if clf is None else f"{data_name} classifier",
        out_dir=None if run.path is None else Path(run.path) / "plots",
        inception_weights=inception_weights,
    )


def evaluate(
    run: Any,
    metrics: Sequence[str] | None = None,
    n_samples: int = 10_000,
    seed: int = 0,
    inception_weights: str | Path | None = None,
    write: bool = True,
) -> dict[str, Any]:
    """Measure a run's samples with the metrics that apply to its data.

    Args:
        run: a :class:`~origan.run.Run` or a run directory / checkpoint path.
        metrics: names from :data:`~origan.metrics.METRICS`; default: every one that applies.
        n_samples: samples drawn from G (the Parzen protocol uses 10,000).
        seed: seed of the noise (evaluation is deterministic given the checkpoint and the seed).
        inception_weights: a local ``.safetensors`` file enabling ``inception_fid``.
        write: write ``eval.json`` and append to ``eval-history.jsonl`` in the run directory.

    Returns:
        ``{"run", "step", "data", "n_samples", "seed", "metrics": {name: results}, "seconds": {name: s}, ...}``.
        A run without held-out rows (``data.val_fraction`` / ``data.test_fraction`` 0) gets
        ``{"held_out_rows": 0, "skipped": why}`` for the default metrics that need them
        (:data:`HELD_OUT_SPLITS`); naming one of those is a ConfigError.
    """
    n_samples = check_int(n_samples, "--n-samples", "eval_samples")
    seed = check_int(seed, "--seed", "seed")
    run = run if isinstance(run, Run) else load_run(run)
    run.check_request(n_samples, "--n-samples", copies=EVAL_COPIES)  # before the domain classifier trains
    if write and run.path is not None:  # every place it writes, checked before any work
        check_outputs(Path(run.path), run.config.train.tensorboard)
    t_start = time.perf_counter()
    data = build_dataset(run.config.data)
    check_codec(run.data_info.codec, data)  # a table edited since training: one clear error
    chosen = _choose(metrics, data, inception_weights, by_labels(run))
    if metrics is None and usable_encoder(run):  # an encoder's reconstructions join the default metrics
        chosen.append("reconstruction")
    skipped = _without_held_out(chosen, data, named=metrics is not None)
    samples = run.sample(n_samples, generator=torch.Generator().manual_seed(derive_seed(seed, "eval-samples")))
    samples = samples.float().reshape(n_samples, *data.shape)  # (n, *shape), on the CPU
    record: dict[str, Any] = {
        "run": str(run.path) if run.path else None,
        "step": run.step,
        "checkpoint": str(run.checkpoint.name) if run.checkpoint else None,
        "data": data.name,
        "kind": data.kind,
        "n_samples": n_samples,
        "seed": seed,
        "origan_version": __version__,
        "metrics": {},
        "seconds": {},
    }
    clf = None
    if has_domain_classifier(data):
        t0 = time.perf_counter()
        clf = domain_classifier(data)
        record["classifier"] = {
            "test_accuracy": clf.test_accuracy,
            "val_accuracy": clf.val_accuracy,
            "cache_key": clf.key[:20],
            "seconds": round(time.perf_counter() - t0, 2),
        }
    ctx = _context(run, seed, data.name, clf, inception_weights)
    for name in chosen:
        if name in skipped:
            record["metrics"][name] = {"held_out_rows": 0, "skipped": skipped[name]}
            continue
        t0 = time.perf_counter()
        record["metrics"][name] = METRICS[name].compute(samples, data, ctx)
        record["seconds"][name] = round(time.perf_counter() - t0, 2)
        log.info("%s done in %.1f s", name, record["seconds"][name])
    record["seconds"]["total"] = round(time.perf_counter() - t_start, 2)
    if write and run.path is not None:
        _write(Path(run.path), record)
        tensorboard.log_eval(record, run.config.train.tensorboard)  # beside the run's training curves
    return record


def _without_held_out(chosen: Sequence[str], data: Any, named: bool) -> dict[str, str]:
    """The chosen metrics that need a split ``data`` has no rows in, each with why (``{}`` for most runs);
    when the metrics were ``named`` by the user, a one-line ConfigError instead."""
    out = {}
    for name in chosen:
        empty = [split for split in HELD_OUT_SPLITS.get(name, ()) if not len(getattr(data, split))]
        if not empty:
            continue
        options = " and ".join(f"data.{split}_fraction > 0" for split in empty)
        if named:
            raise ConfigError(
                f"--metrics {name}: needs held-out {' and '.join(empty)} rows; this run has none (train with {options})"
            )
        out[name] = f"n/a (no held-out {' and '.join(empty)} rows: train with {options})"
    return out


def check_outputs(path: Path, tensorboard_setting: str) -> None:
    """Refuse an evaluation of the run at ``path`` whose outputs cannot be written, before any work:
    ``eval.json``, ``eval-history.jsonl``, ``plots/`` and, when it logs there, ``tensorboard/``."""
    check_writable(path / EVAL_FILE, "the evaluation record")
    check_writable(path / HISTORY_FILE, "the evaluation history")
    check_writable(path / "plots", "the evaluation figures", folder=True)
    if tensorboard.enabled(tensorboard_setting):
        check_writable(path / tensorboard.FOLDER, "TensorBoard event files", folder=True)


def _write(path: Path, record: dict[str, Any]) -> None:
    write_atomic(path / EVAL_FILE, (json.dumps(record, indent=2) + "\n").encode())
    with open(path / HISTORY_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


# -------------------------------------------------------------------------------------------------------
# A readable summary: (metric, quantity, value) rows, one formatter per metric


def _pm(mean: float | None, se: float | None, digits: int = 2) -> str:
    if mean is None:
        return "n/a"
    return f"{mean:.{digits}f} ± {se:.{digits}f}" if se is not None else f"{mean:.{digits}f}"


def _parzen_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    labels = {
        "model": "samples of G",
        "baseline_train_set": "baseline: training set as samples",
        "baseline_kmeans": "baseline: k-means centroids",
    }
    for key, label in labels.items():
        if key in r:
            p = r[key]
            extra = f" (k={p['k']})" if "k" in p else ""
            edge = ", at grid edge" if p["sigma_at_grid_edge"] else ""
            rows.append(
                (
                    f"log-likelihood, {label}{extra}",
                    f"{_pm(p['log_likelihood'], p['se'])}  (sigma {p['sigma']:.3f}{edge})",
                )
            )
    return rows


def _prdc_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"precision / recall (k=3, {r['features']})", f"{r['precision']:.3f} / {r['recall']:.3f}"),
        (f"density / coverage (k=5, n={r['n']})", f"{r['density']:.3f} / {r['coverage']:.3f}"),
    ]


def _frechet_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    if r["distance"] is None:
        return [(f"Frechet distance ({r['features']})", r["note"])]
    caveat = " [not comparable with published FIDs]" if r["features"] != "raw" else ""
    return [
        (f"Frechet distance ({r['features']}){caveat}", f"{r['distance']:.4g}"),
        ("  held-out test split vs train (floor)", f"{r['held_out_baseline']:.4g}"),
    ]


def _classes_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    hist = " ".join(f"{i}:{p:.3f}" for i, p in enumerate(r["histogram"]))
    return [
        ("class histogram of samples", hist),
        ("classes seen / reverse KL to data", f"{r['classes_seen']}/{r['classes_total']}  {r['reverse_kl']:.4f} nats"),
        ("classifier test accuracy", f"{r['classifier_test_accuracy']:.4f}"),
    ]


def _modes_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            f"modes captured (of {r['modes_total']}, {r['draws']} draws of {r['samples_per_draw']})",
            _pm(r["modes_captured"], r["modes_captured_se"]),
        ),
        (
            "high-quality samples (within 3 std)",
            _pm(
                None if r["high_quality"] is None else 100 * r["high_quality"],
                None if r["high_quality_se"] is None else 100 * r["high_quality_se"],
                1,
            )
            + " %",
        ),
        ("reverse KL of the mode histogram", _pm(r["reverse_kl"], r["reverse_kl_se"], 4)),
    ]


def _novelty_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        (
            "median NN distance to train: samples / held-out",
            f"{r['median_distance_samples']:.4g} / {r['median_distance_held_out']:.4g}",
        ),
        ("share of samples closer than the median held-out", f"{r['share_closer_than_median']:.3f}  (fresh data: 0.5)"),
        ("share closer than the 5th-percentile held-out", f"{r['share_closer_than_p05']:.3f}  (fresh data: 0.05)"),
    ]
    if "figure" in r:
        rows.append(("samples beside their nearest training example", r["figure"]))
    return rows


def _tstr_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (
            f"classifier trained on {r['n_train']} synthetic digits, real test accuracy",
            f"{r['synthetic']:.4f}  (gap to real {100 * r['gap']:.2f} points)",
        ),
        ("  trained on real / on real + synthetic", f"{r['real']:.4f} / {r['both']:.4f}"),
    ]


def _label_accuracy_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"samples in the asked class ({r['per_class_samples']} per class)", f"{r['accuracy']:.4f}"),
        ("  per class", " ".join(f"{i}:{a:.3f}" for i, a in enumerate(r["per_class"]))),
    ]


def _inception_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f"Inception FID (n={r['n']})", f"{r['fid']:.4g}")]


def _table_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    m, c, u, mem = r["marginals"], r["correlation"], r["utility"], r["memorisation"]
    floor = r["real_holdout"]
    held_out = "ks_mean" in floor  # a run trained on every row has no held-out rows: those parts say n/a
    rows = [
        (
            "marginals: mean KS / mean Wasserstein/std (held-out floor)",
            f"{m['ks_mean']:.3f} / {m['wasserstein_mean']:.3f}  "
            + (f"({floor['ks_mean']:.3f} / {floor['wasserstein_mean']:.3f})" if held_out else "(floor n/a)"),
        ),
        ("marginals: mean total variation of categories", f"{m['tv_mean']:.3f}"),
        ("correlations: max / mean |difference|", f"{c['corr_diff_max']:.3f} / {c['corr_diff_mean']:.3f}"),
    ]
    if not held_out:
        return rows + [
            ("utility: train on synthetic / on real", NO_HELD_OUT),
            ("memorisation: median DCR synthetic / exact copies", f"{mem['dcr_synthetic_median']:.3g} / "
             f"{mem['exact_copy_fraction']:.3f}"),
            ("memorisation: vs held-out rows", NO_HELD_OUT),
        ]  # fmt: skip
    score = next(k for k in u if k.startswith("tstr_"))[5:]
    return rows + [
        (f"utility: {score}, train on synthetic / on real", f"{u[f'tstr_{score}']:.3f} / {u[f'trtr_{score}']:.3f}"),
        (
            "memorisation: median DCR synthetic / held-out",
            f"{mem['dcr_synthetic_median']:.3g} / {mem['dcr_holdout_median']:.3g}",
        ),
        (
            "memorisation: share closer than held-out 5th pct.",
            f"{mem['closer_than_holdout_p5_fraction']:.3f}  (fresh data: 0.05)",
        ),
    ]


def _table_dcr_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    copies = f"{r['exact_copy_fraction']:.3f}"
    if not r["held_out_rows"]:
        return [
            (f"DCR closeness ({r['n_samples']} samples, no held-out rows)", NO_HELD_OUT),
            ("  median DCR synthetic / exact copies", f"{r['dcr_synthetic_median']:.3g} / {copies}"),
        ]
    return [
        (
            f"DCR closeness ({r['n_samples']} samples, {r['held_out_rows']} held-out rows)",
            f"{r['closer_than_holdout_median_fraction']:.3f}  (share nearer to a training row than the median "
            "held-out row; fresh data: 0.5, copies: 1)",
        ),
        ("  median DCR synthetic / held-out", f"{r['dcr_synthetic_median']:.3g} / {r['dcr_holdout_median']:.3g}"),
        (
            "  exact copies / closer than held-out 5th pct.",
            f"{copies} / {r['closer_than_holdout_p5_fraction']:.3f}  (fresh data: 0 / 0.05)",
        ),
    ]


def _reconstruction_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [
        (f"L2 error ||x - G(E(x))||, test (n={r['n']}): mean / median", f"{r['l2_mean']:.4g} / {r['l2_median']:.4g}"),
        ("  nearest training example: mean / median", f"{r['nearest_train_l2_mean']:.4g} / "
         f"{r['nearest_train_l2_median']:.4g}"),
        ("  share reconstructed closer than the nearest", f"{r['share_better_than_nearest_train']:.3f}"),
    ]  # fmt: skip
    if "figure" in r:
        rows.append(("test examples, reconstructions, nearest training", r["figure"]))
    return rows


def _semi_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for n, row in r["sizes"].items():
        accs = "  ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "n_labelled")
        rows.append((f"test accuracy, {n} labels (n_test={r['n_test']})", accs))
    return rows


def _sdmetrics_rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"SDMetrics quality score ({r['n_synthetic']} samples vs training rows)", f"{r['score']:.3f}"),
        ("  Column Shapes / Column Pair Trends", f"{r['column_shapes']:.3f} / {r['column_pair_trends']:.3f}"),
    ]


SUMMARIES: dict[str, Callable[[dict[str, Any]], list[tuple[str, str]]]] = {
    "parzen": _parzen_rows,
    "prdc": _prdc_rows,
    "frechet": _frechet_rows,
    "classes": _classes_rows,
    "modes": _modes_rows,
    "novelty": _novelty_rows,
    "inception_fid": _inception_rows,
    "table_fidelity": _table_rows,
    "table_dcr": _table_dcr_rows,
    "tstr": _tstr_rows,
    "label_accuracy": _label_accuracy_rows,
    "reconstruction": _reconstruction_rows,
    "semi": _semi_rows,
    "sdmetrics": _sdmetrics_rows,
}


def summary_rows(record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(metric, quantity, value)`` rows of an :func:`evaluate` result, for a table."""
    rows = []
    for name, result in record["metrics"].items():
        if "skipped" in result:  # a metric this run has no held-out rows for
            rows.append((name, "skipped", result["skipped"]))
            continue
        fmt = SUMMARIES.get(name)
        pairs = fmt(result) if fmt else [(k, f"{v:.4g}") for k, v in result.items() if isinstance(v, float)]
        rows += [(name, q, v) for q, v in pairs]
    return rows
