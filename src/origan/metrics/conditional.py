"""Labelled samples of a conditional run as data: train on synthetic, test on real (``tstr``), and whether the
samples show the class they were asked for (``label_accuracy``).

Both need a conditional run (``train.conditional``): :func:`~origan.metrics.evaluation.evaluate` passes them
``ctx.draw_labelled(y, seed)``, which returns ``G(z, y)`` for the classes ``y (n,)``, and ``ctx.classifier``, the
domain classifier of the digit datasets (:mod:`origan.metrics.classifier`).

- ``tstr``: the domain classifier's network, spec and schedule (and seed) trained on synthetic digits only,
  as many as the real training split with exactly its labels (so the same class mix), scored on the real test
  split; beside it the same classifier trained on the real training split (the cached domain classifier: the
  same training, so the same weights) and on real + synthetic together (augmentation).
- ``label_accuracy``: ``n // K`` samples of each of the K classes (``n`` the evaluation's sample count); the
  share the real-data domain classifier puts in the requested class, overall and per class.

:func:`train_synthetic_test_real` is the one definition of train-on-synthetic / train-on-real scores; the
tables' ``utility`` (:mod:`origan.metrics.tables`) uses it too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError
from .classifier import (
    ClassifierSpec,
    classifier_spec,
    domain_classifier,
    has_domain_classifier,
    predict,
    train_classifier,
)
from .registry import MetricContext, register_metric

__all__ = ["NEEDS_LABELS", "label_accuracy_metric", "train_synthetic_test_real", "tstr_metric"]

Scorer = Callable[[Any, Any], float]  # score(x_test, y_test)
CLASSIFIER_SEED = 0  # the domain classifier's seed (domain_classifier's default): only the data differ


def _join(a: Any, b: Any) -> Any:
    return torch.cat([a, b]) if isinstance(a, Tensor) else np.concatenate([a, b])


def train_synthetic_test_real(
    fit: Callable[[Any, Any], Scorer],
    x_syn: Any,
    y_syn: Any,
    x_real: Any,
    y_real: Any,
    x_test: Any,
    y_test: Any,
    *,
    real: float | None = None,
    both: bool = True,
) -> dict[str, float]:
    """Scores on the real test examples of one model fitted on synthetic examples, on real ones, and (``both``)
    on the real examples followed by the synthetic ones.

    Args:
        fit: ``fit(x, y)`` trains a fresh model and returns its ``score(x_test, y_test)``.
        real: the train-on-real score when it is already known (then the model is not fitted on real data).

    Returns:
        ``{"synthetic", "real"}`` and, with ``both``, ``"both"``.
    """
    scores = {"synthetic": fit(x_syn, y_syn)(x_test, y_test)}
    scores["real"] = real if real is not None else fit(x_real, y_real)(x_test, y_test)
    if both:
        scores["both"] = fit(_join(x_real, x_syn), _join(y_real, y_syn))(x_test, y_test)
    return scores


# what the metrics of samples of given classes need (a run on k-means clusters has classes, not the data's)
NEEDS_LABELS = "needs a run conditioned on the data's labels (train.conditional = true, train.clusters = 0)"


def _labelled_draw(
    draw_labelled: Callable[[Tensor, int], Tensor] | None, metric: str
) -> Callable[[Tensor, int], Tensor]:
    if draw_labelled is None:
        raise ConfigError(f"--metrics {metric}: {NEEDS_LABELS}")
    return draw_labelled


def _accuracy_scorer(net: torch.nn.Module) -> Scorer:
    return lambda x, y: float((predict(net, x) == y).double().mean())


@register_metric(
    "tstr",
    kinds=("image",),
    description="conditional runs: the domain classifier (same network and schedule) trained on synthetic "
    "digits only (the training split's labels, G(z, y)), on real ones, and on both; accuracy on the real test "
    "split",
    applies=has_domain_classifier,
    conditional=True,
)
def tstr_metric(
    samples: Tensor, reference: Any, ctx: MetricContext, *, spec: ClassifierSpec | None = None
) -> dict[str, Any]:
    """Train on synthetic (``ctx.draw_labelled``), test on real; ``spec`` replaces the dataset's classifier spec
    (then the real-data score is trained too, not read from the cached domain classifier)."""
    draw = _labelled_draw(ctx.draw_labelled, "tstr")
    y_syn = reference.labels["train"]  # (n_train,): the same classes, so the same class mix
    x_syn = draw(y_syn, ctx.seed).float().reshape(len(y_syn), *reference.shape)
    real = None
    if spec is None:
        spec = classifier_spec(reference)
        real = (ctx.classifier or domain_classifier(reference, CLASSIFIER_SEED)).test_accuracy
    scores = train_synthetic_test_real(
        lambda x, y: _accuracy_scorer(train_classifier(spec, x, y, CLASSIFIER_SEED)),
        x_syn,
        y_syn,
        reference.train.float(),
        reference.labels["train"],
        reference.test.float(),
        reference.labels["test"],
        real=real,
    )
    return scores | {"gap": scores["real"] - scores["synthetic"], "n_train": len(y_syn), "n_test": len(reference.test)}


@register_metric(
    "label_accuracy",
    kinds=("image",),
    description="conditional runs: the share of samples asked for class c that the real-data domain classifier "
    "puts in class c (n // K samples of each of the K classes), overall and per class",
    applies=has_domain_classifier,
    conditional=True,
)
def label_accuracy_metric(samples: Tensor, reference: Any, ctx: MetricContext, *, per_class: int = 0) -> dict[str, Any]:
    """Label accuracy of ``per_class`` samples of each class (default ``len(samples) // K``), drawn with
    ``ctx.draw_labelled`` and classified by ``ctx.classifier`` (else the cached domain classifier)."""
    draw = _labelled_draw(ctx.draw_labelled, "label_accuracy")
    clf = ctx.classifier or domain_classifier(reference, CLASSIFIER_SEED)
    k_classes = len(reference.classes)
    k = per_class or max(1, len(samples) // k_classes)
    y = torch.arange(k_classes).repeat_interleave(k)  # (K k,)
    hit = (clf.predict(draw(y, ctx.seed).float().reshape(len(y), *reference.shape)) == y).double()  # (K k,)
    return {
        "accuracy": float(hit.mean()),
        "per_class": [float(hit[y == c].mean()) for c in range(k_classes)],
        "per_class_samples": k,
        "classifier_test_accuracy": clf.test_accuracy,
    }
