"""`make test-cpus` runs the `kernels` tests as other CPUs would: this checks that torch honours the settings."""

import os

import pytest
import torch

pytestmark = pytest.mark.kernels


def test_torch_runs_the_kernels_and_threads_the_environment_asks_for():
    # ATEN_CPU_CAPABILITY is read when torch is imported; a run that kept this machine's kernels would prove nothing
    wanted = os.environ.get("ATEN_CPU_CAPABILITY", "")
    got = torch.backends.cpu.get_cpu_capability()
    assert got in ("DEFAULT", "NO AVX", "AVX2", "AVX512", "SVE256", "Z VECTOR", "VSX")
    if wanted:
        assert got == wanted.upper()
    assert torch.get_num_threads() == int(os.environ.get("ORIGAN_TEST_THREADS", "1"))
