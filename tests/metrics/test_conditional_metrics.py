"""tstr and label_accuracy against brute-force definitions on 8x8 digits, and `origan eval` of a conditional run."""

import json
from pathlib import Path

import pytest
import torch

import origan
from helpers import set_args
from origan.cli import main
from origan.data import build_dataset
from origan.metrics import MetricContext
from origan.metrics.classifier import CLASSIFIER_SPECS, ClassifierSpec, DomainClassifier, train_classifier
from origan.metrics.conditional import label_accuracy_metric, train_synthetic_test_real, tstr_metric
from origan.metrics.evaluation import default_metrics

FAST_SPEC = ClassifierSpec(side=8, channels=(16,), feature_dim=32, epochs=4, batch_size=32, lr=1e-2, dropout=0.0)
TINY_SPEC = ClassifierSpec(side=8, channels=(16, 32), feature_dim=32, epochs=5, batch_size=32, lr=5e-3, dropout=0.0)


@pytest.fixture(scope="module")
def digits():
    return build_dataset(origan.load_config("digits").data)


def _stand_in(data, split="test"):
    """A labelled draw made of real digits: sample i of class c is the i-th image of class c (cycling), except
    that every third sample shows the next class (so not every sample is in its class)."""
    x, labels = getattr(data, split), data.labels[split]

    def draw(y, seed):
        out = []
        for i, c in enumerate(y.tolist()):
            shown = (c + 1) % 10 if i % 3 == 2 else c
            pool = (labels == shown).nonzero().flatten()
            out.append(x[pool[(i + seed) % len(pool)]])
        return torch.stack(out)

    return draw


def _hand_accuracy(net, x, y):
    hits = 0
    with torch.no_grad():
        for xi, yi in zip(x, y, strict=True):
            hits += int(net(xi[None].float()).argmax(1).item() == int(yi))
    return hits / len(y)


def test_label_accuracy_is_the_share_of_samples_in_the_asked_class(digits):
    net = train_classifier(FAST_SPEC, digits.train, digits.labels["train"])
    clf = DomainClassifier(net, _hand_accuracy(net, digits.test, digits.labels["test"]), 0.0, "", Path())
    draw = _stand_in(digits)
    r = label_accuracy_metric(
        torch.zeros(70, 1, 8, 8), digits, MetricContext(seed=1, draw_labelled=draw, classifier=clf)
    )
    assert r["per_class_samples"] == 7  # the eval's n split over the 10 classes
    y = torch.arange(10).repeat_interleave(7)
    x = draw(y, 1)
    per_class = []
    for c in range(10):
        rows = [i for i in range(70) if y[i] == c]
        per_class.append(sum(int(clf.net(x[i][None]).argmax(1).item() == c) for i in rows) / len(rows))
    assert r["per_class"] == pytest.approx(per_class, abs=1e-12)
    assert r["accuracy"] == pytest.approx(sum(per_class) / 10, abs=1e-12)
    assert r["accuracy"] < clf.test_accuracy - 0.1  # a third of the stand-ins show the next class


def test_tstr_equals_training_the_classifier_by_hand(digits):
    draw = _stand_in(digits, "train")
    r = tstr_metric(torch.zeros(4, 1, 8, 8), digits, MetricContext(seed=0, draw_labelled=draw), spec=FAST_SPEC)
    y_syn = digits.labels["train"]
    x_syn = draw(y_syn, 0)
    x_real, y_real, x_test, y_test = digits.train, y_syn, digits.test, digits.labels["test"]
    by_hand = {
        "synthetic": _hand_accuracy(train_classifier(FAST_SPEC, x_syn, y_syn, 0), x_test, y_test),
        "real": _hand_accuracy(train_classifier(FAST_SPEC, x_real, y_real, 0), x_test, y_test),
        "both": _hand_accuracy(
            train_classifier(FAST_SPEC, torch.cat([x_real, x_syn]), torch.cat([y_real, y_syn]), 0), x_test, y_test
        ),
    }
    for key, value in by_hand.items():
        assert r[key] == pytest.approx(value, abs=1e-12), key
    assert r["gap"] == pytest.approx(by_hand["real"] - by_hand["synthetic"], abs=1e-12)
    assert (r["n_train"], r["n_test"]) == (len(y_syn), len(y_test))
    assert r["synthetic"] < r["real"]  # a third of the stand-in labels are wrong


def test_the_shared_definition_fits_in_order_and_uses_a_known_real_score():
    fitted = []

    def fit(x, y):
        fitted.append((x.tolist(), y.tolist()))
        return lambda xt, yt: float(sum(x.tolist()) + len(yt))

    t = torch.tensor
    scores = train_synthetic_test_real(fit, t([1.0]), t([0]), t([2.0, 3.0]), t([1, 1]), t([0.0]), t([0]))
    assert scores == {"synthetic": 2.0, "real": 6.0, "both": 7.0}
    assert fitted == [([1.0], [0]), ([2.0, 3.0], [1, 1]), ([2.0, 3.0, 1.0], [1, 1, 0])]
    fitted.clear()
    assert train_synthetic_test_real(
        fit, t([1.0]), t([0]), t([2.0]), t([1]), t([0.0]), t([0]), real=0.5, both=False
    ) == {
        "synthetic": 2.0,
        "real": 0.5,
    }
    assert len(fitted) == 1


def test_origan_eval_of_a_conditional_run_prints_tstr_and_label_accuracy(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(CLASSIFIER_SPECS, "digits", TINY_SPEC)  # a smaller domain classifier: seconds, not a minute
    sets = ["train.conditional=true", "train.steps=30", "generator.hidden=[32]", "discriminator.hidden=[16]"]
    path = tmp_path / "cond"
    assert main(["train", "--preset", "digits", *set_args([*sets, "train.sample_every=0"]), "--out", str(path)]) == 0
    capsys.readouterr()
    assert main(["eval", str(path), "--metrics", "tstr,label_accuracy", "--n-samples", "200"]) == 0
    out = capsys.readouterr().out
    record = json.loads((path / "eval.json").read_text())
    tstr, label = record["metrics"]["tstr"], record["metrics"]["label_accuracy"]
    assert tstr["real"] == record["classifier"]["test_accuracy"] > 0.7  # the cached domain classifier
    assert 0 <= tstr["synthetic"] <= 1 and 0 <= tstr["both"] <= 1 and tstr["n_train"] == 1437
    assert label["per_class_samples"] == 20 and len(label["per_class"]) == 10
    assert label["accuracy"] == pytest.approx(sum(label["per_class"]) / 10, abs=1e-12)
    assert "classifier trained on 1437 synthetic digits" in out and "samples in the asked class (20 per class)" in out
    data = build_dataset(origan.load_run(path).config.data)
    assert {"tstr", "label_accuracy"} <= set(default_metrics(data, conditional=True))  # on by default
    assert not {"tstr", "label_accuracy"} & set(default_metrics(data))  # not for an unconditional run
