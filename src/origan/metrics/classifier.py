"""A small domain classifier for labelled image sets, trained on first use and cached.

No metric here may download Inception weights, so images are measured in the features of a small CNN trained
on the run's own training split: the embedded digit sets (MNIST 5k: 28x28; scikit-learn digits: 8x8) with
specs tuned for them, and a user's own labelled images (an image folder with ``data.folder_labels``, an
``.npz`` array with ``data.label_key``; square, side >= 8) with a spec derived from their shape and size
(:func:`classifier_spec`). Training is
seeded and deterministic; the weights are cached as safetensors (never pickle) in origan's cache folder
under a hash of everything that determines them (data, labels, architecture, schedule, seed), so a second
evaluation loads them in milliseconds and a different split trains a new classifier.

Its penultimate activations (128 numbers) feed the Fréchet distance and precision/recall/density/coverage;
its predictions give the class histogram of samples. Its test accuracy is reported next to them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .registry import MetricContext, register_metric

__all__ = [
    "CLASSIFIER_SPECS",
    "ClassifierSpec",
    "DigitCNN",
    "DomainClassifier",
    "class_histogram_metric",
    "classifier_spec",
    "domain_classifier",
    "has_domain_classifier",
    "predict",
    "train_classifier",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1  # bump when training or architecture change, so old cache entries are not reused


@dataclass(frozen=True)
class ClassifierSpec:
    """How the classifier of one dataset is built and trained."""

    side: int  # image side in pixels
    channels: tuple[int, ...] = (32, 64)  # 3x3 conv layers; for sides >= 16 each is followed by a 2x2 max-pool
    feature_dim: int = 128  # penultimate width: the feature space of the metrics
    epochs: int = 12  # passes over the training split
    batch_size: int = 64
    lr: float = 2e-3  # Adam, cosine-decayed to 0 over the run
    shift: int = 2  # random translation of +-shift pixels (data augmentation)
    dropout: float = 0.3  # before the last layer
    in_channels: int = 1  # 1 (grayscale) or 3 (RGB)
    n_classes: int = 10


CLASSIFIER_SPECS: dict[str, ClassifierSpec] = {
    "mnist": ClassifierSpec(side=28, channels=(32, 64), shift=2, epochs=20),
    "digits": ClassifierSpec(side=8, channels=(32, 64), shift=0, epochs=20),
}
OWN_IMAGE_SOURCES = ("folder", "array")  # the user's own images: a classifier spec derived from the data
OWN_EXAMPLE_PASSES = 100_000  # a user's set trains for about this many examples (3 to 20 epochs)


def classifier_spec(data: Any) -> ClassifierSpec:
    """The classifier spec of a labelled image set: the tuned one of a digit set, else one derived from the
    images: 3x3 convs (32, 64) for sides below 48, (16, 32, 64) with a pool after each for larger ones (a
    64x64 image ends at 8x8), translations of up to side/14 pixels, 3 to 20 epochs."""
    if data.name in CLASSIFIER_SPECS:
        return CLASSIFIER_SPECS[data.name]
    channels, side = data.shape[0], data.shape[1]
    return ClassifierSpec(
        side=side,
        channels=(16, 32, 64) if side >= 48 else (32, 64),
        epochs=max(3, min(20, math.ceil(OWN_EXAMPLE_PASSES / max(1, len(data.train))))),
        shift=max(1, round(side / 14)),
        in_channels=channels,
        n_classes=max(2, len(data.classes)),
    )


class DigitCNN(nn.Module):
    """3x3 convs with ReLU and max-pools -> linear -> ReLU (the features) -> dropout -> linear (logits).

    Images of side >= 16 are pooled after every conv (28 -> 14 -> 7 -> 3), smaller ones after the last (8 -> 4).
    """

    def __init__(
        self,
        side: int,
        channels: tuple[int, ...] = (32, 64),
        feature_dim: int = 128,
        n_classes: int = 10,
        dropout: float = 0.3,
        in_channels: int = 1,
    ) -> None:
        super().__init__()
        pool_each = side >= 16
        layers: list[nn.Module] = []
        c_in, reduced = in_channels, side
        for i, c_out in enumerate(channels):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU()]
            if pool_each or i == len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
                reduced //= 2
            c_in = c_out
        self.conv = nn.Sequential(*layers)
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(c_in * reduced * reduced, feature_dim), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, n_classes))

    def features(self, x: Tensor) -> Tensor:
        """``(n, C, side, side)`` images -> ``(n, feature_dim)`` penultimate activations."""
        return self.embed(self.conv(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))  # (n, n_classes) logits


def _random_shift(x: Tensor, shift: int, generator: torch.Generator) -> Tensor:
    """Translate each image by up to ``shift`` pixels in each direction (zero fill)."""
    if shift == 0:
        return x
    n, c, h, w = x.shape
    padded = nn.functional.pad(x, (shift, shift, shift, shift))
    dy = torch.randint(0, 2 * shift + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * shift + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None].expand(n, c, h, w + 2 * shift)
    cropped = padded.gather(2, rows)  # (n, c, h, w + 2 shift)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(n, c, h, w)
    return cropped.gather(3, cols)  # (n, c, h, w)


def _network(spec: ClassifierSpec) -> DigitCNN:
    return DigitCNN(spec.side, spec.channels, spec.feature_dim, spec.n_classes, spec.dropout, spec.in_channels)


def train_classifier(spec: ClassifierSpec, x: Tensor, y: Tensor, seed: int = 0) -> DigitCNN:
    """Seeded training of a fresh :class:`DigitCNN` with Adam and a cosine learning-rate decay.

    One thread, so the weights do not depend on the machine's core count (the cache key cannot see it)
    and a busy machine does not stall on thread barriers.
    """
    gen = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # initial weights and dropout masks
            net = _network(spec)
            opt = torch.optim.Adam(net.parameters(), lr=spec.lr)
            total = spec.epochs * math.ceil(len(x) / spec.batch_size)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * t / total)))
            net.train()
            for _ in range(spec.epochs):
                order = torch.randperm(len(x), generator=gen)
                for i in range(0, len(x), spec.batch_size):
                    idx = order[i : i + spec.batch_size]
                    xb = _random_shift(x[idx], spec.shift, gen)  # (b, C, side, side)
                    loss = nn.functional.cross_entropy(net(xb), y[idx])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
    finally:
        torch.set_num_threads(threads)
    return net.eval()


@dataclass
class DomainClassifier:
    """A trained domain classifier and its held-out accuracy.

    Attributes:
        net: the CNN in eval mode.
        test_accuracy: accuracy on the dataset's test split.
        val_accuracy: accuracy on the validation split.
        key: the content hash naming its cache entry.
        path: the cached ``.safetensors`` file.
    """

    net: DigitCNN
    test_accuracy: float
    val_accuracy: float
    key: str
    path: Path

    @torch.no_grad()
    def features(self, x: Tensor, batch_size: int = 1000) -> Tensor:
        """``(n, C, H, W)`` images in [0, 1] -> ``(n, 128)`` features."""
        x = x.detach().float().cpu()
        return torch.cat([self.net.features(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])

    def predict(self, x: Tensor, batch_size: int = 1000) -> Tensor:
        """``(n,)`` predicted classes of ``(n, C, H, W)`` images."""
        return predict(self.net, x, batch_size)


@torch.no_grad()
def predict(net: nn.Module, x: Tensor, batch_size: int = 1000) -> Tensor:
    """``(n,)`` the classes a classifier ``net`` (in eval mode) predicts for ``(n, C, H, W)`` images."""
    x = x.detach().float().cpu()
    return torch.cat([net(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)])


def has_domain_classifier(data: Any) -> bool:
    """Whether ``data`` (a Dataset) is a labelled image set a domain classifier is trained for: an embedded
    digit set, or the user's own square images (side >= 8) in two or more classes with every split non-empty."""
    if data.kind != "image" or data.labels is None:
        return False
    if data.name in CLASSIFIER_SPECS:
        return True
    _, h, w = data.shape
    return (
        data.name in OWN_IMAGE_SOURCES
        and h == w >= 8
        and len(data.classes) >= 2
        and all(len(getattr(data, split)) > 0 for split in ("train", "val", "test"))
    )


def _content_key(name: str, spec: ClassifierSpec, data: Any, seed: int) -> str:
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {
                "format": FORMAT_VERSION,
                "name": name,
                "spec": asdict(spec),
                "seed": seed,
                "torch": torch.__version__.split("+")[0],
            },
            sort_keys=True,
        ).encode()
    )
    for split in ("train", "val", "test"):
        h.update(getattr(data, split).contiguous().numpy().tobytes())
        h.update(data.labels[split].contiguous().numpy().tobytes())
    return h.hexdigest()


def _load_cached(path: Path, spec: ClassifierSpec, key: str) -> DomainClassifier | None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    meta_path = path.with_suffix(".json")
    if not (path.exists() and meta_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("key") != key or meta.get("sha256") != hashlib.sha256(path.read_bytes()).hexdigest():
            raise ValueError("hash mismatch")
        net = _network(spec)
        net.load_state_dict(load_file(str(path)))
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as e:
        log.warning("classifier cache %s unusable (%s); retraining", path, e)
        return None
    return DomainClassifier(net.eval(), meta["test_accuracy"], meta["val_accuracy"], key, path)


def _accuracy(clf: DomainClassifier, x: Tensor, y: Tensor) -> float:
    return float((clf.predict(x) == y).double().mean())


def domain_classifier(data: Any, seed: int = 0) -> DomainClassifier:
    """The classifier of a labelled image set (:func:`has_domain_classifier`): loaded from the cache, else trained
    and cached."""
    from safetensors.torch import save

    from ..data.images import cache_dir
    from ..io.files import write_atomic

    spec = classifier_spec(data)
    key = _content_key(data.name, spec, data, seed)
    path = cache_dir() / "classifiers" / f"{data.name}-{key[:20]}.safetensors"
    cached = _load_cached(path, spec, key)
    if cached is not None:
        return cached
    log.info("training the %s domain classifier (%d images, %d epochs)", data.name, len(data.train), spec.epochs)
    net = train_classifier(spec, data.train.float(), data.labels["train"], seed)
    clf = DomainClassifier(net, 0.0, 0.0, key, path)
    clf.test_accuracy = _accuracy(clf, data.test, data.labels["test"])
    clf.val_accuracy = _accuracy(clf, data.val, data.labels["val"])
    blob = save({k: v.contiguous() for k, v in net.state_dict().items()})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, blob)
        meta = {
            "key": key,
            "sha256": hashlib.sha256(blob).hexdigest(),
            "dataset": data.name,
            "spec": asdict(spec),
            "seed": seed,
            "test_accuracy": clf.test_accuracy,
            "val_accuracy": clf.val_accuracy,
        }
        write_atomic(path.with_suffix(".json"), json.dumps(meta, indent=1).encode())
    except OSError as e:  # an unwritable cache only costs time
        log.warning("could not cache the classifier at %s (%s)", path, e)
    log.info("%s classifier: test accuracy %.4f", data.name, clf.test_accuracy)
    return clf


@register_metric(
    "classes",
    kinds=("image",),
    description="class histogram of samples under the domain classifier, classes seen, and the reverse KL "
    "KL(p_g(class) || p_data(class)) to the training labels; with the classifier's test accuracy",
    applies=has_domain_classifier,
)
def class_histogram_metric(samples: Tensor, reference: Any, ctx: MetricContext) -> dict[str, Any]:
    """Class shares of ``samples`` by the classifier's predictions (``ctx.classifier``, else the dataset's
    domain classifier of seed ``ctx.seed``), against the training label shares."""
    clf = ctx.classifier or domain_classifier(reference, ctx.seed)
    n_classes = int(reference.labels["train"].max()) + 1
    pred = clf.predict(samples)
    p_g = torch.bincount(pred, minlength=n_classes).double() / len(pred)
    p_data = torch.bincount(reference.labels["train"], minlength=n_classes).double() / len(reference.labels["train"])
    seen = p_g > 0
    kl = float((p_g[seen] * (p_g[seen] / p_data[seen]).log()).sum())
    return {
        "histogram": [round(float(p), 6) for p in p_g],
        "data_histogram": [round(float(p), 6) for p in p_data],
        "classes_seen": int(seen.sum()),
        "classes_total": n_classes,
        "reverse_kl": kl,
        "classifier_test_accuracy": clf.test_accuracy,
        "n": len(samples),
    }
