"""The domain classifier: trained on first use, accurate, cached as safetensors under a content hash."""

import json
import time

import pytest
import torch

from origan.config import DataConfig
from origan.data import build_dataset
from origan.metrics.classifier import (
    CLASSIFIER_SPECS,
    DigitCNN,
    _content_key,
    _load_cached,
    _random_shift,
    domain_classifier,
)


@pytest.fixture(scope="module")
def digits():
    return build_dataset(DataConfig(name="digits"))


def test_digits_classifier_is_accurate_cached_and_reloaded(digits):
    clf = domain_classifier(digits)
    assert clf.test_accuracy >= 0.96 and clf.val_accuracy >= 0.96
    assert clf.test_accuracy == pytest.approx(
        float((clf.predict(digits.test) == digits.labels["test"]).double().mean())
    )
    assert clf.path.suffix == ".safetensors" and clf.key[:20] in clf.path.name
    header_len = int.from_bytes(clf.path.read_bytes()[:8], "little")  # safetensors: u64 length, then JSON
    assert json.loads(clf.path.read_bytes()[8 : 8 + header_len])
    t0 = time.perf_counter()
    again = domain_classifier(digits)
    assert time.perf_counter() - t0 < 2.0  # loaded, not retrained
    for (k, a), (_, b) in zip(clf.net.state_dict().items(), again.net.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    feats = again.features(digits.test[:7])
    assert feats.shape == (7, 128) and (feats >= 0).all()  # post-ReLU penultimate layer


def test_a_damaged_cache_entry_is_not_used(digits):
    clf = domain_classifier(digits)
    blob = bytearray(clf.path.read_bytes())
    blob[-1] ^= 0xFF
    clf.path.write_bytes(bytes(blob))
    assert _load_cached(clf.path, CLASSIFIER_SPECS["digits"], clf.key) is None
    clf.path.with_suffix(".json").unlink()
    assert _load_cached(clf.path, CLASSIFIER_SPECS["digits"], clf.key) is None


def test_the_cache_key_follows_the_data_and_the_seed(digits):
    spec = CLASSIFIER_SPECS["digits"]
    other_split = build_dataset(DataConfig(name="digits", split_seed=1))
    key = _content_key("digits", spec, digits, 0)
    assert key == _content_key("digits", spec, build_dataset(DataConfig(name="digits")), 0)
    assert key != _content_key("digits", spec, other_split, 0)
    assert key != _content_key("digits", spec, digits, 1)


def test_random_shift_translates_with_zero_fill():
    x = torch.zeros(200, 1, 5, 5)
    x[:, 0, 2, 2] = 1.0
    shifted = _random_shift(x, 1, torch.Generator().manual_seed(0))
    assert torch.equal(shifted.sum((1, 2, 3)), torch.ones(200))  # the lit pixel stays inside
    where = shifted[:, 0].flatten(1).argmax(1)
    rows, cols = where // 5, where % 5
    assert set(rows.tolist()) == {1, 2, 3} and set(cols.tolist()) == {1, 2, 3}


def test_architecture_shapes():
    assert DigitCNN(28)(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert DigitCNN(8).features(torch.zeros(3, 1, 8, 8)).shape == (3, 128)


@pytest.mark.slow
def test_mnist_classifier_reaches_98_percent():
    clf = domain_classifier(build_dataset(DataConfig(name="mnist")))
    assert clf.test_accuracy >= 0.98
