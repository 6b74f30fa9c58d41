"""Classes found in the data: a dataset's labels replaced by k-means clusters of its training split.

``train.clusters = K`` with ``train.conditional = true`` conditions G and D on K clusters of the training
examples (k-means on their values: pixels for images) instead of the data's labels, which need not exist. It
is a conditional GAN of the pairs ``(x, cluster(x))``: at its optimum ``p_g(x, c) = p_data(x, c)``, so the
samples' marginal is ``p_data(x)``, and drawing the cluster from the clusters' training frequencies (what a
conditional run's sampling does without a class) gives unconditional samples. Conditioning on groups found
in the data ("self-conditioning": Liu et al. 2020 cluster D's features; Armandpour et al. 2021 partition the
data) lets each class of G cover a compact part of the data, so fewer samples fall between the parts: on
MNIST 5k, 20 pixel clusters raised the conv nets' validation precision from 0.77 to 0.90.

The clusters are numbered by size (cluster 0 the largest), empty ones dropped; validation and test examples
take their nearest centroid. k-means is :func:`origan.distances.kmeans`: canonical distances in float64, so
the clusters of a seed are the same on every CPU, and a resumed run finds the ones it started with.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch

from ..distances import flat64, kmeans, nearest_neighbour
from ..errors import ConfigError

__all__ = ["KMEANS_ITERATIONS", "cluster_names", "with_clusters"]

KMEANS_ITERATIONS = 100  # Lloyd steps at most (MNIST 5k, 20 clusters: settles in about 30-60)


def cluster_names(k: int) -> tuple[str, ...]:
    """The class names of ``k`` clusters: ``cluster-0`` (the largest) to ``cluster-{k-1}``."""
    return tuple(f"cluster-{i}" for i in range(k))


def with_clusters(data: Any, k: int, generator: torch.Generator) -> Any:
    """``data`` (a :class:`~origan.data.Dataset`) with its labels replaced by ``k`` k-means clusters of its
    training split (k-means++ seeded from ``generator``); ``source`` keeps the dataset as read (its metrics and
    validation scores are in terms of the data, not of the clusters). A ConfigError naming ``train.clusters``
    for tables or more clusters than training examples."""
    if data.kind == "table":
        raise ConfigError(
            f"train.clusters: clusters the values of images and points; {data.name} is a table (set train.clusters=0)"
        )
    if k > len(data.train):
        raise ConfigError(
            f"train.clusters: expected at most the {len(data.train)} training examples of {data.name}, got {k}"
        )
    centroids, assign = kmeans(data.train, k, generator, iterations=KMEANS_ITERATIONS)  # (k, ...), (n,)
    counts = torch.bincount(assign, minlength=len(centroids))
    order = sorted((i for i in range(len(counts)) if counts[i] > 0), key=lambda i: (-int(counts[i]), i))
    rank = torch.full((len(counts),), -1, dtype=torch.int64)
    rank[torch.tensor(order)] = torch.arange(len(order))  # old cluster index -> its place by size
    kept = flat64(centroids[torch.tensor(order)])  # (K', d): non-empty clusters, largest first

    def nearest(x: torch.Tensor) -> torch.Tensor:
        return nearest_neighbour(flat64(x), kept)[1] if len(x) else torch.zeros(0, dtype=torch.int64)

    labels = {"train": rank[assign], "val": nearest(data.val), "test": nearest(data.test)}
    names = cluster_names(len(order))
    info = dict(data.info) | {
        "classes": list(names),
        "clusters": {
            "k": k,
            "found": len(order),
            "method": f"k-means (k-means++ seeding, at most {KMEANS_ITERATIONS} Lloyd steps) of the training split",
        },
    }
    return dataclasses.replace(
        data, labels=labels, classes=names, info=info, source=data if data.source is None else data.source
    )
