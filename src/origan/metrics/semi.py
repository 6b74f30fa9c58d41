"""Semi-supervised features (the paper's Section 7.4): do D's (or E's) features help when labels are few?

For each number of labels ``n`` (100 and 1,000): ``n / K`` training examples of each of the ``K`` classes,
the first of each class in a permutation of the training split seeded by the evaluation seed. On them, the
same linear classifier (scikit-learn: standardised features, then ``LogisticRegression(max_iter=1000)``) is
fitted on

- ``raw``: the raw values (pixels), flattened;
- ``D``: the discriminator's penultimate features (the input of its logit layer, dropout off);
- ``E``: the inference net's last hidden layer, when the run has an encoder;

and, beside them, ``cnn``: the domain CNN (:mod:`origan.metrics.classifier`) trained on those ``n`` labelled
examples alone (the same architecture and schedule, run for as many updates as the full classifier takes on
the whole training split). Each reports its accuracy on the whole test split. Opt-in: ``--metrics semi``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ..seeding import derive_seed
from .classifier import classifier_spec, has_domain_classifier
from .registry import MetricContext, register_metric

__all__ = ["SIZES", "d_features", "labelled_indices", "linear_probe", "semi_supervised"]

SIZES = (100, 1000)


def labelled_indices(labels: Tensor, n: int, seed: int) -> Tensor:
    """Sorted indices of ``n / K`` examples per class (all of a class that has fewer): the first of each class
    in a permutation of ``range(len(labels))`` drawn by a CPU generator seeded with ``seed``."""
    k = int(labels.max()) + 1
    if n % k:
        raise ConfigError(f"semi: {n} labels do not split evenly over {k} classes")
    perm = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    picked = [perm[labels[perm] == c][: n // k] for c in range(k)]
    return torch.cat(picked).sort().values


def linear_probe(train_x: Tensor, train_y: Tensor, test_x: Tensor, test_y: Tensor) -> float:
    """Test accuracy of standardised features + ``LogisticRegression(max_iter=1000)`` fitted on the train rows."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    clf.fit(train_x.flatten(1).double().numpy(), train_y.numpy())
    return float((clf.predict(test_x.flatten(1).double().numpy()) == test_y.numpy()).mean())


@torch.no_grad()
def d_features(D: nn.Module, x: Tensor, batch_size: int = 1000) -> Tensor:
    """``(n, F)`` the input of D's logit layer (its penultimate features), with D in eval mode."""
    logit = getattr(D, "logit", None)
    if not isinstance(logit, nn.Module) or getattr(D, "conditional", False):
        raise ConfigError("--metrics semi: the discriminator has no unconditional penultimate layer (D.logit)")
    seen: list[Tensor] = []
    handle = logit.register_forward_pre_hook(lambda _m, inputs: seen.append(inputs[0].detach().cpu()))
    was_training = D.training
    D.eval()
    try:
        device = next(D.parameters()).device
        for i in range(0, len(x), batch_size):
            D(x[i : i + batch_size].to(device))
    finally:
        handle.remove()
        D.train(was_training)
    return torch.cat(seen).flatten(1)


def _cnn_accuracy(reference: Any, idx: Tensor, seed: int) -> float:
    from .classifier import train_classifier

    spec = classifier_spec(reference)
    epochs = math.ceil(spec.epochs * len(reference.train) / len(idx))  # the full classifier's number of updates
    x, y = reference.train[idx].float(), reference.labels["train"][idx]
    net = train_classifier(dataclasses.replace(spec, epochs=epochs), x, y, seed)
    with torch.no_grad():
        pred = torch.cat([net(chunk).argmax(1) for chunk in reference.test.float().split(1000)])
    return float((pred == reference.labels["test"]).double().mean())


def semi_supervised(
    reference: Any,
    features: dict[str, Callable[[Tensor], Tensor]],
    sizes: Sequence[int] = SIZES,
    seed: int = 0,
    cnn: bool = True,
) -> dict[str, Any]:
    """Test accuracies of the linear probe on each feature map and of the CNN, per number of labels."""
    y_train, y_test = reference.labels["train"], reference.labels["test"]
    mapped = {name: (fn(reference.train), fn(reference.test)) for name, fn in features.items()}
    out: dict[str, Any] = {
        "n_test": len(reference.test),
        "feature_dims": {name: int(tr.shape[1]) for name, (tr, _) in mapped.items()},
        "sizes": {},
    }
    for n in sizes:
        idx = labelled_indices(y_train, n, derive_seed(seed, f"semi-{n}"))
        row: dict[str, Any] = {"n_labelled": len(idx)}
        for name, (tr, te) in mapped.items():
            row[name] = linear_probe(tr[idx], y_train[idx], te, y_test)
        if cnn:
            row["cnn"] = _cnn_accuracy(reference, idx, derive_seed(seed, f"semi-cnn-{n}"))
        out["sizes"][str(n)] = row
    return out


@register_metric(
    "semi",
    kinds=("image",),
    description="semi-supervised features (Section 7.4): a linear classifier on D's penultimate features (and "
    "E's, with an encoder) with 100 and 1,000 labelled training digits, beside the same classifier on raw "
    "pixels and the domain CNN trained on those labels alone; test accuracies (opt-in)",
    applies=has_domain_classifier,
    default=False,
)
def semi_metric(samples: Tensor, reference: Any, ctx: MetricContext) -> dict[str, Any]:
    """The semi-supervised table of ``ctx.run`` on its digit dataset (labelled examples drawn with ``ctx.seed``);
    ``E`` joins it when the run's encoder loads and fits the generator samples come from (a stale one is left
    out, with a warning)."""
    from ..latent.encoder import load_encoder, usable_encoder

    run = ctx.run
    if run is None:
        raise ConfigError("--metrics semi: needs the run (its discriminator)")
    features: dict[str, Callable[[Tensor], Tensor]] = {
        "raw": lambda x: x.flatten(1),
        "D": lambda x: d_features(run.gan.D, x.float()),
    }
    if usable_encoder(run):
        E = load_encoder(run)
        features["E"] = lambda x: torch.no_grad()(E.features)(x.float())
    return semi_supervised(reference, features, SIZES, ctx.seed)
