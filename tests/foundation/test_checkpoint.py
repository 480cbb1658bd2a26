"""Tests of common/checkpoint.py: round trip, safe loading, and one-line errors for bad files."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from common import checkpoint as checkpoint_module
from common.checkpoint import (
    Checkpoint,
    load_checkpoint,
    load_state_into,
    save_checkpoint,
)
from common.errors import CheckpointError, CourseError

pytestmark = pytest.mark.foundation


class ArbitraryObject:
    """A class that is not tensors/numbers/strings: weights-only loading must refuse it."""

    def __init__(self):
        self.note = "unpickling me would run code"


def _mlp(hidden: int = 8) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, hidden), nn.BatchNorm1d(hidden), nn.ReLU(), nn.Linear(hidden, 1))


def _save_good(path, model=None, architecture="mlp"):
    return save_checkpoint(path, model if model is not None else _mlp(), architecture=architecture,
                           model_config={"hidden": 8}, metrics={"roc_auc": 0.91}, threshold=0.42,
                           training_config={"lr": 1e-3}, extra={"epoch": 3})


def _assert_one_line_error(error: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message, f"the error message must be one line, got {message!r}"
    assert isinstance(error.value, CourseError)
    for fragment in fragments:
        assert fragment in message, f"expected {fragment!r} in the message {message!r}"


# --------------------------------------------------------------------------------------------
# Round trip
# --------------------------------------------------------------------------------------------


def test_round_trip_restores_weights_metadata_and_predictions(tmp_path):
    model = _mlp()
    with torch.no_grad():  # non-default running stats, so buffers are checked too
        model[1].running_mean.uniform_(-1, 1)
    model.eval()
    path = _save_good(tmp_path / "runs" / "best.pt", model)
    loaded = load_checkpoint(path, expected_architecture="mlp")

    assert isinstance(loaded, Checkpoint)
    assert (loaded.architecture, loaded.model_config, loaded.threshold) == ("mlp", {"hidden": 8}, 0.42)
    assert loaded.metrics == {"roc_auc": 0.91}
    assert loaded.training_config == {"lr": 1e-3} and loaded.extra == {"epoch": 3}
    assert set(loaded.versions) == {"torch", "torchvision", "python", "numpy", "course"}
    assert loaded.created and loaded.format_version == 1

    fresh = _mlp(hidden=8)
    nn.init.zeros_(fresh[0].weight)
    load_state_into(fresh, loaded).eval()
    for key, tensor in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], tensor), f"{key} differs after the round trip"
    x = torch.randn(5, 4)
    assert torch.equal(fresh(x), model(x)), "the reloaded model predicts differently"


def test_saved_file_is_a_plain_dict_that_torch_weights_only_loads(tmp_path):
    path = _save_good(tmp_path / "best.pt")
    raw = torch.load(path, weights_only=True)  # the independent oracle: torch's own safe loader
    assert raw["format"] == "deepfake-course-checkpoint" and raw["format_version"] == 1
    assert set(raw) == set(checkpoint_module.REQUIRED_KEYS)
    assert all(tensor.device.type == "cpu" for tensor in raw["state_dict"].values())


def test_dataparallel_prefixes_are_removed(tmp_path):
    path = _save_good(tmp_path / "dp.pt", nn.DataParallel(_mlp()))
    keys = list(torch.load(path, weights_only=True)["state_dict"])
    assert keys and not any(key.startswith("module.") for key in keys), f"keys still carry 'module.': {keys[:3]}"
    load_state_into(_mlp(), load_checkpoint(path))  # and the bare model accepts them


def test_numpy_values_are_converted_and_unsafe_values_refused_before_writing(tmp_path):
    path = save_checkpoint(tmp_path / "np.pt", _mlp(), architecture="mlp", model_config={"sizes": (4, 8)},
                           metrics={"auc": np.float32(0.5), "n": np.int64(7)})
    loaded = load_checkpoint(path)
    assert loaded.metrics == {"auc": 0.5, "n": 7} and type(loaded.metrics["n"]) is int
    assert loaded.model_config == {"sizes": [4, 8]}
    with pytest.raises(TypeError, match="extra"):
        save_checkpoint(tmp_path / "bad.pt", _mlp(), architecture="mlp", model_config={},
                        extra={"object": ArbitraryObject()})
    assert not (tmp_path / "bad.pt").exists()


def test_a_failed_save_keeps_the_previous_checkpoint_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    path = _save_good(tmp_path / "best.pt")
    before = path.read_bytes()

    def crash_half_way(payload, file):
        Path(file).write_bytes(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module.torch, "save", crash_half_way)
    with pytest.raises(OSError, match="disk full"):
        _save_good(path)
    assert path.read_bytes() == before, "an interrupted save must not damage the existing checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.pt"], "temporary file left behind"


# --------------------------------------------------------------------------------------------
# Bad files: one-line CheckpointError
# --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "nope.pt")
    _assert_one_line_error(error, "nope.pt", "not found")


def test_empty_file(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "empty.pt")
    _assert_one_line_error(error, "empty.pt", "empty")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path)
    _assert_one_line_error(error, "directory")


@pytest.mark.parametrize("content", [b"hello, this is a text file\n", bytes(range(256)) * 4],
                         ids=["text", "binary"])
def test_file_that_is_not_a_torch_file(tmp_path, content):
    (tmp_path / "junk.pt").write_bytes(content)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "junk.pt")
    _assert_one_line_error(error, "junk.pt", "not a PyTorch file")


def test_truncated_torch_file(tmp_path):
    path = _save_good(tmp_path / "good.pt")
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "cut.pt")
    _assert_one_line_error(error, "cut.pt", "corrupt or truncated")


def test_torch_file_with_an_arbitrary_object_is_refused_for_safety(tmp_path):
    torch.save({"model": ArbitraryObject()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "evil.pt")
    _assert_one_line_error(error, "evil.pt", "refused for safety", "ArbitraryObject")


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_plain_pickle_of_an_arbitrary_object_is_refused_for_safety(tmp_path, protocol):
    with open(tmp_path / "evil.pkl", "wb") as file:
        pickle.dump(ArbitraryObject(), file, protocol=protocol)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "evil.pkl")
    _assert_one_line_error(error, "evil.pkl", "refused for safety")


def test_bare_state_dict_is_named_and_expected_keys_listed(tmp_path):
    torch.save(_mlp().state_dict(), tmp_path / "weights.pt")
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "weights.pt")
    _assert_one_line_error(error, "weights.pt", "bare state_dict", "architecture", "model_config", "state_dict")


def test_torch_dict_of_another_format(tmp_path):
    torch.save({"epoch": 3, "net": _mlp().state_dict()}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(tmp_path / "other.pt")
    _assert_one_line_error(error, "other.pt", "not a course checkpoint", "'epoch'")


def test_newer_format_version_is_refused(tmp_path):
    path = _save_good(tmp_path / "future.pt")
    raw = torch.load(path, weights_only=True)
    raw["format_version"] = 99
    torch.save(raw, path)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    _assert_one_line_error(error, "future.pt", "format version 99")


def test_other_architecture_than_expected(tmp_path):
    path = _save_good(tmp_path / "mlp.pt", architecture="mlp")
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path, expected_architecture="xception")
    _assert_one_line_error(error, "mlp.pt", "'mlp'", "'xception'")


def test_load_state_into_a_different_network_names_the_mismatching_keys(tmp_path):
    path = _save_good(tmp_path / "mlp.pt")
    wider = _mlp(hidden=16)
    before = {key: tensor.clone() for key, tensor in wider.state_dict().items()}
    with pytest.raises(CheckpointError) as error:
        load_state_into(wider, load_checkpoint(path))
    _assert_one_line_error(error, "mlp.pt", "shape mismatch", "0.weight (8, 4) vs model (16, 4)")
    assert all(torch.equal(before[k], v) for k, v in wider.state_dict().items()), "a failed load changed weights"

    deeper = nn.Sequential(*_mlp(), nn.Linear(1, 1))
    with pytest.raises(CheckpointError) as error:
        load_state_into(deeper, load_checkpoint(path))
    _assert_one_line_error(error, "missing keys 4.weight, 4.bias")


def test_checkpoint_error_prints_as_one_line_through_run_cli(tmp_path, capsys):
    from common.errors import run_cli

    def main(argv):
        load_checkpoint(tmp_path / "missing.pt")

    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, [])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: checkpoint ") and err.count("\n") == 1, f"unexpected stderr {err!r}"
    assert os.fspath(tmp_path / "missing.pt") in err


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_outputs_get_the_mode_the_umask_gives_a_new_file(tmp_path, umask):
    """Reports, videos and checkpoints are written through atomic_output: the oracle is the mode of
    a file made by plain open() under the same umask."""
    from common.atomic import atomic_output

    previous = os.umask(umask)
    try:
        plain = tmp_path / f"plain_{umask:o}.txt"
        plain.write_text("x")
        with atomic_output(tmp_path / f"atomic_{umask:o}.json") as temporary:
            temporary.write_text("{}")
    finally:
        os.umask(previous)
    expected = plain.stat().st_mode & 0o777
    got = (tmp_path / f"atomic_{umask:o}.json").stat().st_mode & 0o777
    assert got == expected, f"umask {umask:03o}: atomic file mode {got:03o}, open() gives {expected:03o}"
