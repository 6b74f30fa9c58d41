"""The metric registry and :class:`MetricContext`, what :func:`~origan.metrics.evaluation.evaluate` hands every
metric.

A metric is ``compute(samples, reference, ctx) -> {name: value}``: ``samples`` the ``(n, *shape)`` samples of
G, ``reference`` the run's :class:`~origan.data.Dataset` (for the table parts of :mod:`origan.metrics.tables`,
reference rows), ``ctx`` a :class:`MetricContext`. A metric reads the fields it needs and ignores the rest; one
that needs a field left empty raises a :class:`~origan.errors.ConfigError` naming it. Settings of one metric
alone (``n_max``, ``draws``, a table part's ``train=`` rows, ...) are keyword-only parameters of its function,
after ``ctx``, with defaults that :func:`~origan.metrics.evaluation.evaluate` uses.

The metric modules import this module, never the package :mod:`origan.metrics` (which re-exports it), so the
package, its registry and :mod:`~origan.metrics.evaluation` form no import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..registry import Registry

if TYPE_CHECKING:
    from torch import Tensor

    from ..data.tables import TableCodec
    from ..run import Run

__all__ = ["METRICS", "Classifier", "Metric", "MetricContext", "MetricFn", "get_metric", "register_metric"]


class Classifier(Protocol):
    """What a metric uses of a domain classifier (:class:`~origan.metrics.classifier.DomainClassifier`)."""

    test_accuracy: float  # accuracy on the dataset's test split

    def predict(self, x: Tensor) -> Tensor:
        """``(n,)`` predicted classes of ``(n, C, H, W)`` images."""
        ...


@dataclass(frozen=True)
class MetricContext:
    """What a metric may use besides its samples and reference; every field is optional.

    :func:`~origan.metrics.evaluation.evaluate` builds one per evaluation and hands the same one to every
    metric. A direct call builds its own, e.g. ``marginals(x, rows, MetricContext(codec=codec))``.

    Attributes:
        seed: the evaluation's seed; metrics derive the seeds of their own draws from it.
        run: the :class:`~origan.run.Run` evaluated, for metrics of its networks (``reconstruction``: the
            encoder and G; ``semi``: D and the encoder).
        draw: ``draw(n, seed) -> (n, ...)`` fresh samples of G (``modes`` draws several independent sets).
        draw_labelled: a conditional run's ``draw_labelled(y, seed) -> (n, ...)``, samples ``G(z, y)`` of the
            classes ``y`` ``(n,)`` (``tstr``, ``label_accuracy``); None for an unconditional run.
        classifier: the domain classifier of digit images (:mod:`origan.metrics.classifier`); metrics that
            need one train or load it themselves when it is None.
        embed: a feature map ``(n, ...) -> (n, F)`` the distance metrics measure in (``frechet``, ``prdc``);
            None: raw values.
        feature_space: the name of ``embed``'s space, reported beside the numbers (``"raw"`` without one).
        out_dir: a folder for figures (``novelty``, ``reconstruction``); None: no figures.
        inception_weights: a local ``.safetensors`` file of FID Inception-v3 weights (``inception_fid``).
        codec: the table codec (a :class:`~origan.data.tables.TableCodec` or its JSON form) the table parts
            of :mod:`origan.metrics.tables` decode rows with.
    """

    seed: int = 0
    run: Run | None = None
    draw: Callable[[int, int], Tensor] | None = None
    draw_labelled: Callable[[Tensor, int], Tensor] | None = None
    classifier: Classifier | None = None
    embed: Callable[[Tensor], Tensor] | None = None
    feature_space: str = "raw"
    out_dir: Path | None = None
    inception_weights: str | Path | None = None
    codec: TableCodec | dict[str, Any] | None = None


MetricFn = Callable[["Tensor", Any, MetricContext], dict[str, Any]]
"""``compute(samples, reference, ctx) -> {name: value}``."""

F = TypeVar("F", bound=MetricFn)


@dataclass(frozen=True)
class Metric:
    """A registered metric.

    Attributes:
        name: registry key.
        compute: ``f(samples, reference, ctx: MetricContext) -> {name: value}``.
        kinds: dataset kinds it applies to (``image``, ``vector``, ``table``).
        description: definition and source, shown by ``origan eval --help``.
        applies: ``f(dataset) -> bool``, a further condition beyond the kind (e.g. a known target density).
        default: whether :func:`~origan.metrics.evaluation.evaluate` runs it when no metrics are named (False
            for opt-in metrics and for parts of a report that it runs as a whole).
        conditional: it measures a conditional run's labelled samples (``draw_labelled``), and only those.
    """

    name: str
    compute: MetricFn
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
        "origan.metrics.sdmetrics",
        "origan.metrics.tables",
        "origan.metrics.evaluation",
    ),
)


def register_metric(
    name: str,
    kinds: tuple[str, ...],
    description: str,
    applies: Callable[[Any], bool] | None = None,
    default: bool = True,
    conditional: bool = False,
) -> Callable[[F], F]:
    """Decorator: register ``f(samples: Tensor, reference, ctx: MetricContext) -> dict`` under ``name``.

    ``reference`` is the run's :class:`~origan.data.Dataset` (train / val / test splits, target, labels). The
    function is returned unchanged, so its own keyword-only settings stay callable.
    """

    def deco(fn: F) -> F:
        METRICS.add(name, Metric(name, fn, kinds, description, applies, default, conditional))
        return fn

    return deco


def get_metric(name: str) -> Metric:
    """The metric ``name``; an unknown name is a :class:`~origan.errors.ConfigError` listing the known ones."""
    return METRICS.get(name, "--metrics")
