"""Metrics, registered by name: ``compute(samples, reference, **options) -> dict``.

A metric module registers itself with :func:`register_metric`; :func:`evaluate` (and ``origan eval``)
looks metrics up here. ``reference`` is the run's :class:`~origan.data.Dataset`; options every metric may
receive (and ignore): ``seed``, ``embed`` (a feature map for images), ``feature_space``, ``classifier``,
``draw(n, seed)`` (fresh samples), ``out_dir`` (for figures), ``inception_weights``.

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

``table_marginals``, ``table_correlation``, ``table_utility`` and ``table_memorisation`` take the reference
rows as a tensor and the codec as an option; :func:`evaluate` runs them together as ``table_fidelity``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any



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
    """

    name: str
    compute: Callable[..., dict[str, Any]]
    kinds: tuple[str, ...]
    description: str
    applies: Callable[[Any], bool] | None = None
    default: bool = True

    def applies_to(self, data: Any) -> bool:
        """Whether this metric can measure samples of ``data`` (a :class:`~origan.data.Dataset`)."""
        return data.kind in self.kinds and (self.applies is None or bool(self.applies(data)))


METRICS: dict[str, Metric] = {}


def register_metric(name: str, kinds: tuple[str, ...], description: str,
                    applies: Callable[[Any], bool] | None = None, default: bool = True) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Decorator: register ``f(samples: Tensor, reference: Dataset, **options) -> dict`` under ``name``.

    ``reference`` is the run's :class:`~origan.data.Dataset` (train / val / test splits, target, labels).
    """

    def deco(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        METRICS[name] = Metric(name, fn, kinds, description, applies, default)
        return fn

    return deco


def get_metric(name: str) -> Metric:
    from ..errors import ConfigError

    if name not in METRICS:
        raise ConfigError(f"--metrics: unknown metric {name!r}; expected one of {', '.join(sorted(METRICS))}")
    return METRICS[name]




from . import classifier as _classifier  # noqa: E402,F401  (each module registers its metrics)
from . import fid as _fid  # noqa: E402,F401
from . import inception as _inception  # noqa: E402,F401
from . import modes as _modes  # noqa: E402,F401
from . import novelty as _novelty  # noqa: E402,F401
from . import parzen as _parzen  # noqa: E402,F401
from . import prdc as _prdc  # noqa: E402,F401
from . import tables as _tables  # noqa: E402,F401
from .evaluation import TABLE_PARTS, evaluate, summary_rows  # noqa: E402

for _part in TABLE_PARTS:  # they take reference rows, not a Dataset: evaluate runs them as table_fidelity
    METRICS[_part] = replace(METRICS[_part], default=False)
