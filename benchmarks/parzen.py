"""Speed of the Parzen protocol at the paper's size: 10,000 samples x 10,000 test points x 784 pixels.

    OMP_NUM_THREADS=2 python benchmarks/parzen.py            # the full size (under 2 minutes on 2 cores)
    python benchmarks/parzen.py --n 2000                     # smaller

Baseline, measured in the same run: the authors' formulation (explicit differences ``x_j - s_i`` for every
pair, one sigma at a time, float64) on a slice of the test points, extrapolated to the full size. The ratio
is baseline time / origan time for the whole protocol (10 sigmas on 1,000 validation points, then the test).
"""

from __future__ import annotations

import argparse
import math
import time

import torch

from origan.metrics.parzen import N_VALIDATION, PAPER_SIGMAS, parzen_protocol


def explicit_differences(x: torch.Tensor, samples: torch.Tensor, sigma: float, batch: int = 10) -> torch.Tensor:
    """The authors' ``theano_parzen``: ``logmeanexp(-0.5 ||(x - s) / sigma||^2) - d log(sigma sqrt(2 pi))``."""
    out = []
    d = samples.shape[1]
    for i in range(0, len(x), batch):
        a = (x[i : i + batch, None, :] - samples[None, :, :]) / sigma  # (b, m, d)
        e = -0.5 * (a**2).sum(2)
        out.append(torch.logsumexp(e, 1) - math.log(len(samples)) - d * math.log(sigma * math.sqrt(2 * math.pi)))
    return torch.cat(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="samples and test points")
    parser.add_argument("--d", type=int, default=784)
    parser.add_argument("--baseline-rows", type=int, default=50, help="test points timed for the baseline")
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(0)
    samples = torch.rand(args.n, args.d, generator=gen, dtype=torch.float64)
    val = torch.rand(N_VALIDATION, args.d, generator=gen, dtype=torch.float64)
    test = torch.rand(args.n, args.d, generator=gen, dtype=torch.float64)
    print(
        f"threads: {torch.get_num_threads()}; {args.n} samples x {args.n} test x {args.d} dims, "
        f"{len(PAPER_SIGMAS)} sigmas"
    )
    t0 = time.perf_counter()
    result = parzen_protocol(samples, val, test)
    ours = time.perf_counter() - t0
    print(
        f"origan: {ours:.1f} s  (log-likelihood {result['log_likelihood']:.3f} ± {result['se']:.3f}, "
        f"sigma {result['sigma']:.3f})"
    )
    rows = args.baseline_rows
    t0 = time.perf_counter()
    ref = explicit_differences(test[:rows], samples, result["sigma"])
    per_row = (time.perf_counter() - t0) / rows
    baseline = per_row * (len(PAPER_SIGMAS) * N_VALIDATION + args.n)
    from origan.metrics.parzen import parzen_log_likelihood

    agree = float((ref - parzen_log_likelihood(test[:rows], samples, result["sigma"])).abs().max())
    print(f"explicit differences (authors' formulation), extrapolated from {rows} rows: {baseline:.0f} s")
    print(f"speed-up: {baseline / ours:.1f}x   (max |difference| on the timed rows: {agree:.2e})")


if __name__ == "__main__":
    main()
