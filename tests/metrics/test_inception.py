"""Optional Inception FID: local safetensors weights only; pickle and foreign files are refused."""

import pickle

import pytest
import torch
from safetensors.torch import save_file

from origan.errors import CheckpointError
from origan.metrics.inception import InceptionFID, check_inception_weights, load_inception


class Boom:
    def __reduce__(self):  # unpickling this would run code
        return (exec, ("raise SystemExit('unpickled')",))


def test_pickle_files_are_refused_without_being_read(tmp_path):
    path = tmp_path / "weights.pt"
    path.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CheckpointError, match="expected a .safetensors file"):
        load_inception(path)
    disguised = tmp_path / "weights.safetensors"
    disguised.write_bytes(pickle.dumps(Boom()))
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        load_inception(disguised)
    with pytest.raises(CheckpointError, match="no such file"):
        check_inception_weights(tmp_path / "absent.safetensors")


def test_foreign_safetensors_are_refused(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"fc.weight": torch.zeros(3, 3)}, str(path))
    with pytest.raises(CheckpointError, match="not FID Inception-v3 weights"):
        load_inception(path)


def test_weights_load_into_the_network_and_give_2048_features(tmp_path):
    torch.manual_seed(0)
    source = InceptionFID().eval()
    with torch.no_grad():  # make the batch-norm statistics non-trivial so a failed load would show
        for m in source.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "inception.safetensors"
    state = {k: v for k, v in source.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file({**state, "fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)}, str(path))
    loaded = load_inception(path)
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want, got = source(x), loaded(x)
    assert got.shape == (2, 2048)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
