"""Mode metrics on constructed samples, with analytic expectations."""

import math

import numpy as np
import pytest
import torch

from origan.config import DataConfig
from origan.data import Dataset, build_dataset
from origan.data.toy import grid25, ring8
from origan.metrics import MetricContext, get_metric
from origan.metrics.modes import mode_coverage, summarise_draws

pytestmark = pytest.mark.kernels  # results depend on float kernels: `make test-cpus` runs them on others


def test_exact_means_capture_every_mode_with_full_quality():
    target = ring8()
    x = target.modes.repeat(300, 1)  # (2400, 2): every mode equally often, exactly at its mean
    r = mode_coverage(x, target.modes, target.stds)
    assert r["modes_captured"] == 8 and r["high_quality"] == 1.0
    assert r["reverse_kl"] == pytest.approx(0.0, abs=1e-15)
    assert r["histogram"] == [300] * 8


def test_a_collapsed_generator_captures_one_mode():
    target = grid25()
    x = target.modes[7] + 0.01 * torch.randn(2500, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    r = mode_coverage(x, target.modes, target.stds)
    assert r["modes_captured"] == 1 and r["high_quality"] == 1.0
    assert r["reverse_kl"] == pytest.approx(math.log(25), rel=1e-12)  # KL(delta_7 || uniform) = log K


def test_uniform_noise_gives_the_area_share_of_the_discs():
    # uniform on [-5, 5]^2: the discs of radius 3 * 0.05 around the 25 grid means lie inside and apart,
    # so P(high quality) = 25 * pi * 0.15^2 / 100
    target = grid25()
    n = 400_000
    x = 10 * torch.rand(n, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 5
    r = mode_coverage(x, target.modes, target.stds)
    p = 25 * math.pi * 0.15**2 / 100  # 0.01767
    assert abs(r["high_quality"] - p) < 5 * math.sqrt(p * (1 - p) / n)
    assert r["modes_captured"] == 25
    assert r["reverse_kl"] < 0.01  # the uniform spreads evenly over the modes


def test_high_quality_radius_is_three_standard_deviations():
    target = ring8()  # std 0.01
    mu = target.modes[0]
    inside, outside = (
        mu + torch.tensor([0.0, 0.0299], dtype=torch.float64),
        mu + torch.tensor([0.0, 0.0301], dtype=torch.float64),
    )
    assert mode_coverage(inside[None], target.modes, target.stds)["high_quality"] == 1.0
    assert mode_coverage(outside[None], target.modes, target.stds)["high_quality"] == 0.0
    nothing = mode_coverage(torch.zeros(10, 2), target.modes, target.stds)  # the ring's centre is far from all
    assert nothing["modes_captured"] == 0 and nothing["reverse_kl"] is None


def test_summary_is_mean_and_standard_error_over_draws():
    draws = [
        {"modes_captured": m, "high_quality": q, "reverse_kl": k}
        for m, q, k in [(8, 0.9, 0.01), (7, 0.8, 0.2), (8, 0.95, 0.03)]
    ]
    s = summarise_draws(draws, 8)
    values = np.array([8, 7, 8], dtype=float)
    assert s["modes_captured"] == pytest.approx(values.mean())
    assert s["modes_captured_se"] == pytest.approx(values.std(ddof=1) / math.sqrt(3))
    assert s["high_quality"] == pytest.approx(np.mean([0.9, 0.8, 0.95]))


def test_registered_metric_draws_fresh_samples_and_needs_a_target():
    data = build_dataset(DataConfig(name="ring8", n_train=100, n_val=100, n_test=100))
    seeds = []

    def draw(n, seed):
        seeds.append(seed)
        return data.target.sample(n, torch.Generator().manual_seed(seed))

    metric = get_metric("modes")
    r = metric.compute(torch.empty(0, 2), data, MetricContext(seed=0, draw=draw), draws=4)
    assert len(set(seeds)) == 4 and r["draws"] == 4 and r["samples_per_draw"] == 2500
    assert r["modes_captured"] == 8 and r["high_quality"] > 0.97  # real data: 1 - exp(-9/2) = 0.989 in 2-D
    assert metric.applies_to(data)
    images = torch.zeros(4, 1, 8, 8)
    assert not metric.applies_to(Dataset("images", images, images, images, (1, 8, 8), "image", True))
