import os

import pytest
import torch

# Tests are small; one intra-op thread keeps them fast and lets pytest-xdist use the cores.
torch.set_num_threads(int(os.environ.get("ORIGAN_TEST_THREADS", "1")))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test shares one cache folder per session, never the user's."""
    monkeypatch.setenv("ORIGAN_CACHE", str(tmp_path_factory.getbasetemp() / "origan-cache"))
