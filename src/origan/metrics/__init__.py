"""Metrics, registered by name: ``compute(samples, reference, **options) -> dict``.

A metric module registers itself with :func:`register_metric`; :func:`evaluate` (and ``origan eval``)
looks metrics up here. ``reference`` is the run's :class:`~origan.data.Dataset`; options every metric may
receive (and ignore): ``seed``, ``embed`` (a feature map for images), ``feature_space``, ``classifier``,
``draw(n, seed)`` (fresh samples), ``out_dir`` (for figures), ``inception_weights``, ``run`` (the
:class:`~origan.run.Run`, for metrics of its networks), and for a conditional run ``draw_labelled(y, seed)``
(fresh samples of the classes ``y``).

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
rows as a tensor and the codec as an option; :func:`evaluate` runs them together as ``table_fidelity``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..registry import Registry

__all__ = ["METRICS", "Metric", "evaluate", "get_metric", "register_metric", "summary_rows"]


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    Attributes:
        name: registry key.
        compute: ``f(samples, reference, **options) -> {name: value}``.
        kinds: dataset kinds it applies to (``image``, ``vector``, ``table``).
        description: definition and source, shown by ``origan eval --help``.
        applies: ``f(dataset) -> bool``, a further condition beyond the kind (e.g. a known target density).
        default: whether :func:`evaluate` runs it when no metrics are named (False for opt-in metrics and
            for parts of a report that :func:`evaluate` runs as a whole).
        conditional: it measures a conditional run's labelled samples (``draw_labelled``), and only those.
    """

    name: str
    compute: Callable[..., dict[str, Any]]
    kinds: tuple[str, ...]
    description: str
    applies: Callable[[Any], bool] | None = None
    default: bool = True
    conditional: bool = False

    def applies_to(self, data: Any) -> bool:
        """Whether this metric can measure samples of ``data`` (a :class:`~origan.data.Dataset`)."""
        return data.kind in self.kinds and (self.applies is None or bool(self.applies(data)))


# the modules whose @register_metric fill the registry, imported the first time it is read
METRICS: Registry[Metric] = Registry(
    "metric",
    modules=(
        "origan.metrics.classifier",
        "origan.metrics.conditional",
        "origan.metrics.fid",
        "origan.metrics.inception",
        "origan.metrics.modes",
        "origan.metrics.novelty",
        "origan.metrics.parzen",
        "origan.metrics.prdc",
        "origan.metrics.reconstruction",
        "origan.metrics.semi",
        "origan.metrics.quality",
        "origan.metrics.tables",
        "origan.metrics.evaluation",
    ),
)

MetricFn = Callable[..., dict[str, Any]]


def register_metric(
    name: str,
    kinds: tuple[str, ...],
    description: str,
    applies: Callable[[Any], bool] | None = None,
    default: bool = True,
    conditional: bool = False,
) -> Callable[[MetricFn], MetricFn]:
    """Decorator: register ``f(samples: Tensor, reference: Dataset, **options) -> dict`` under ``name``.

    ``reference`` is the run's :class:`~origan.data.Dataset` (train / val / test splits, target, labels).
    """

    def deco(fn: MetricFn) -> MetricFn:
        METRICS.add(name, Metric(name, fn, kinds, description, applies, default, conditional))
        return fn

    return deco


def get_metric(name: str) -> Metric:
    """The metric ``name``; an unknown name is a :class:`~origan.errors.ConfigError` listing the known ones."""
    return METRICS.get(name, "--metrics")


def __getattr__(name: str) -> Any:
    # evaluate() and summary_rows() need every metric module: imported on first use, not with the registry,
    # and after it (its own imports would otherwise register some metrics ahead of the others)
    if name in ("evaluate", "summary_rows"):
        METRICS.names()
        from . import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
