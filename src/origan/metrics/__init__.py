"""Metrics, registered by name: ``compute(samples, reference, ctx) -> dict``.

A metric module registers itself with :func:`register_metric`; :func:`evaluate` (and ``origan eval``)
looks metrics up here. ``reference`` is the run's :class:`~origan.data.Dataset`; ``ctx`` is a
:class:`MetricContext`, one typed record of what a metric may use (and ignore): ``seed``, ``run`` (the
:class:`~origan.run.Run`, for metrics of its networks), ``draw(n, seed)`` (fresh samples), for a conditional
run ``draw_labelled(y, seed)`` (fresh samples of the classes ``y``), ``classifier``, ``embed`` (a feature map
for images) and its ``feature_space``, ``out_dir`` (for figures), ``inception_weights`` and ``codec``.
:func:`evaluate` builds one context per evaluation and hands every metric the same one. The registry and the
context live in :mod:`origan.metrics.registry`, which every metric module imports (never this package).

| name | data | what it measures |
| --- | --- | --- |
| parzen | all | the paper's Parzen-window log-likelihood, with two baselines |
| prdc | all | precision/recall (k=3), density/coverage (k=5) |
| frechet | all | Fréchet distance in classifier features (digits) or raw values |
| classes | digit images | class histogram of samples, reverse KL to the data's classes |
| modes | toy mixtures | modes captured, high-quality share, reverse KL (VEEGAN/PacGAN) |
| novelty | all | memorisation: nearest-training-example distances vs held-out data |
| inception_fid | images | FID with local Inception weights (only with --inception-weights) |
| table_fidelity | tables | marginals, correlations, utility and memorisation of decoded rows |
| tstr | digit images, conditional runs | classifier trained on synthetic / real / both, tested on real |
| label_accuracy | digit images, conditional runs | share of samples the classifier puts in the asked class |
| reconstruction | all | with an encoder: ||x - G(E(x))|| on test data vs the nearest training example (default then) |
| semi | digit images | linear probes on D's / E's features with 100 and 1,000 labels (only with --metrics semi) |
| sdmetrics | tables | SDMetrics' quality report: Column Shapes, Column Pair Trends, overall (when installed) |

``table_marginals``, ``table_correlation``, ``table_utility`` and ``table_memorisation`` take the reference
rows as a tensor and the codec as ``ctx.codec``; :func:`evaluate` runs them together as ``table_fidelity``.
"""

from __future__ import annotations

from typing import Any

from .registry import METRICS, Metric, MetricContext, get_metric, register_metric

__all__ = ["METRICS", "Metric", "MetricContext", "evaluate", "get_metric", "register_metric", "summary_rows"]


def __getattr__(name: str) -> Any:
    # evaluate() and summary_rows() need every metric module: imported on first use, not with the registry,
    # and after it (its own imports would otherwise register some metrics ahead of the others)
    if name in ("evaluate", "summary_rows"):
        METRICS.names()
        from . import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
