"""Tests of common/training.py and common/device.py on tiny synthetic problems (CPU, seconds)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score, roc_curve
from torch import nn
from torch.utils.data import Dataset, TensorDataset

from common.checkpoint import load_checkpoint, load_state_into
from common.device import autocast_for, resolve_device, seed_everything
from common.errors import DeviceError
from common.training import TrainConfig, compute_pos_weight, fit, predict
from tests.tolerances import RELOADED_SCORES_ATOL, SEPARABLE_BLOBS_MIN_VAL_AUC, TRAINING_SAMPLER_SHARE_ATOL

pytestmark = pytest.mark.foundation

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def one_cpu_thread():
    """Tiny models train several times faster on one thread than on two contended ones."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def blobs(n: int, seed: int, fake_share: float = 0.3, separation: float = 3.0) -> TensorDataset:
    """2-D Gaussian blobs: REAL around (0, 0), FAKE around (s, s); labels 1 = FAKE."""
    generator = torch.Generator().manual_seed(seed)
    labels = (torch.rand(n, generator=generator) < fake_share).long()
    x = torch.randn(n, 2, generator=generator) + separation * labels[:, None].float()
    return TensorDataset(x, labels)


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))


def quick_config(**overrides) -> TrainConfig:
    settings = dict(epochs=6, batch_size=32, lr=1e-2, patience=None, progress=False, seed=0)
    settings.update(overrides)
    return TrainConfig(**settings)


def _without_timing(history: list[dict]) -> list[dict]:
    return [{key: value for key, value in entry.items() if key != "seconds"} for entry in history]


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------


def test_fit_learns_separable_blobs():
    model = mlp()
    val = blobs(200, seed=2)
    result = fit(model, blobs(400, seed=1), val, config=quick_config(), device="cpu")
    labels, scores = predict(model, val, device="cpu")
    auc = roc_auc_score(labels, scores)  # scikit-learn on our predictions, not our own metric
    assert auc > SEPARABLE_BLOBS_MIN_VAL_AUC, f"validation AUC {auc:.3f}: the loop does not learn"
    assert len(result.history) == 6 and result.history[-1]["train_loss"] < result.history[0]["train_loss"]
    assert result.best_metrics["roc_auc"] == pytest.approx(max(h["val_auc"] for h in result.history))
    assert result.world_size == 1 and result.checkpoint_path is None


def test_early_stopping_stops_patience_epochs_after_the_best():
    model = mlp()
    config = quick_config(epochs=40, patience=2, monitor="val_loss", lr=0.3, optimizer="sgd", scheduler=None)
    # lr 0.3 with momentum overshoots once the blobs are separated, so val loss stops improving.
    result = fit(model, blobs(200, seed=1), blobs(100, seed=2), config=config, device="cpu")
    losses = [entry["val_loss"] for entry in result.history]
    assert result.stopped_early and len(result.history) < 40, "training ran to the last epoch"
    assert len(result.history) == result.best_epoch + 2, "must stop exactly `patience` epochs after the best"
    assert losses[result.best_epoch - 1] == min(losses), "best_epoch is not the epoch of the lowest val_loss"


def test_pos_weight_is_n_real_over_n_fake():
    assert compute_pos_weight([1, 1, 1, 1, 0]) == pytest.approx(0.25)
    train = blobs(150, seed=3, fake_share=0.25)
    labels = train.tensors[1].numpy()
    expected = (labels == 0).sum() / (labels == 1).sum()
    result = fit(mlp(), train, blobs(60, seed=4), config=quick_config(epochs=1), device="cpu")
    assert result.pos_weight == pytest.approx(expected), "pos_weight must be n_real / n_fake of the training set"
    with pytest.raises(ValueError, match="both classes"):
        compute_pos_weight([0, 0, 0])


class CountingDataset(Dataset):
    """Wraps a TensorDataset, exposes ``labels`` and records the label of every item read."""

    def __init__(self, base: TensorDataset):
        self.base = base
        self.labels = base.tensors[1].tolist()
        self.read_labels: list[int] = []

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int):
        x, y = self.base[index]
        self.read_labels.append(int(y))
        return x, y


def test_sampler_balance_draws_both_classes_equally_often():
    generator = torch.Generator().manual_seed(5)
    labels = torch.cat([torch.zeros(120), torch.ones(30)]).long()[torch.randperm(150, generator=generator)]
    x = torch.randn(150, 2, generator=generator) + 3.0 * labels[:, None].float()
    train = CountingDataset(TensorDataset(x, labels))
    result = fit(mlp(), train, blobs(60, seed=4), config=quick_config(epochs=20, balance="sampler"), device="cpu")
    share = np.mean(train.read_labels)
    assert len(train.read_labels) == 20 * 150
    assert share == pytest.approx(0.5, abs=TRAINING_SAMPLER_SHARE_ATOL), f"FAKE share of draws {share:.3f}, not balanced"
    assert result.pos_weight is None


def test_best_checkpoint_reloads_into_a_fresh_model_with_the_same_predictions(tmp_path):
    model = mlp()
    val = blobs(120, seed=2, separation=1.5)  # overlapping, so the Youden threshold is informative
    result = fit(model, blobs(300, seed=1, separation=1.5), val, config=quick_config(epochs=5),
                 device="cpu", checkpoint_path=tmp_path / "best.pt", architecture="mlp",
                 model_config={"hidden": 16})
    assert result.checkpoint_path == tmp_path / "best.pt"
    checkpoint = load_checkpoint(result.checkpoint_path, expected_architecture="mlp")
    fresh = load_state_into(mlp(seed=123), checkpoint)

    labels, trained_scores = predict(model, val, device="cpu")
    _, reloaded_scores = predict(fresh, val, device="cpu")
    np.testing.assert_allclose(reloaded_scores, trained_scores, atol=RELOADED_SCORES_ATOL,
                               err_msg="fit must leave the best epoch's weights in the model and in the checkpoint")

    assert checkpoint.extra["epoch"] == result.best_epoch
    assert checkpoint.model_config == {"hidden": 16}
    assert checkpoint.training_config == quick_config(epochs=5).to_dict()
    assert checkpoint.metrics["roc_auc"] == pytest.approx(roc_auc_score(labels, reloaded_scores))
    fpr, tpr, thresholds = roc_curve(labels, reloaded_scores)
    youden = thresholds[1:][np.argmax((tpr - fpr)[1:])]
    assert checkpoint.threshold == pytest.approx(youden, abs=RELOADED_SCORES_ATOL), "stored threshold is not Youden's"


def test_same_seed_gives_the_same_history():
    def run() -> list[dict]:
        seed_everything(7)
        config = quick_config(epochs=3, seed=7, balance="sampler")
        return fit(mlp(seed=7), blobs(200, seed=1), blobs(80, seed=2), config=config, device="cpu").history

    first, second = run(), run()
    assert _without_timing(first) == _without_timing(second), "two runs with the same seed differ"


def test_param_groups_control_the_learning_rate_per_layer():
    model = mlp()
    frozen_before = model[0].weight.detach().clone()
    groups = [{"params": model[0].parameters(), "lr": 0.0}, {"params": model[2].parameters()}]
    fit(model, blobs(100, seed=1), blobs(50, seed=2), config=quick_config(epochs=2, weight_decay=0.0),
        device="cpu", param_groups=groups)
    assert torch.equal(model[0].weight, frozen_before), "a parameter group with lr 0 must not change"


class TwoInputModel(nn.Module):
    """Takes two tensors (like a sequence model taking frames and lengths)."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(1, 8)
        self.second = nn.Linear(1, 8)
        self.head = nn.Linear(8, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.first(a) + self.second(b)))  # (B, 1)


class DictDataset(Dataset):
    def __init__(self, base: TensorDataset):
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> dict:
        x, y = self.base[index]
        return {"a": x[:1], "b": x[1:], "x": x, "label": y}


def test_dict_batches_and_multi_input_models_train_with_the_same_loop():
    train, val = DictDataset(blobs(200, seed=1)), DictDataset(blobs(100, seed=2))
    torch.manual_seed(0)
    two_inputs = TwoInputModel()
    # 15 epochs: with 6, 3 of 16 initialisations (torch seeds 0-15) stopped at 0.93-0.94, short of
    # the bar (a machine with other float rounding is another draw); with 15, 20 of 20 pass
    result = fit(two_inputs, train, val, config=quick_config(epochs=15), device="cpu",
                 batch_to_inputs=lambda batch: ((batch["a"], batch["b"]), batch["label"]))
    assert result.best_metrics["roc_auc"] > SEPARABLE_BLOBS_MIN_VAL_AUC
    # The default convention reads a dict batch's "x" and "label".
    result = fit(mlp(), train, val, config=quick_config(epochs=2), device="cpu")
    assert len(result.history) == 2


def test_model_with_two_outputs_per_sample_is_rejected():
    wrong = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="one logit per sample"):
        fit(wrong, blobs(40, seed=1), blobs(20, seed=2), config=quick_config(epochs=1), device="cpu")


def test_auc_monitor_on_a_single_class_validation_set_is_an_error():
    only_real = TensorDataset(torch.randn(20, 2), torch.zeros(20, dtype=torch.long))
    with pytest.raises(ValueError, match="monitor 'val_loss' instead"):
        fit(mlp(), blobs(40, seed=1), only_real, config=quick_config(epochs=1), device="cpu")


def test_train_config_rejects_unknown_choices():
    for bad in ({"optimizer": "lamb"}, {"scheduler": "step"}, {"monitor": "val_acc"}, {"balance": "oversample"}):
        with pytest.raises(ValueError):
            TrainConfig(**bad)
    assert TrainConfig().to_dict()["monitor"] == "val_auc"


# --------------------------------------------------------------------------------------------
# predict
# --------------------------------------------------------------------------------------------


def test_predict_returns_labels_and_sigmoid_of_logits_in_order():
    linear = nn.Linear(2, 1)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[1.0, -2.0]]))
        linear.bias.fill_(0.5)
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [3.0, -1.0], [-2.0, 2.0], [0.5, 0.25]])
    y = torch.tensor([0, 1, 1, 0, 1])
    labels, scores = predict(linear, TensorDataset(x, y), device="cpu", batch_size=2)
    logits = x.numpy().astype(np.float64) @ np.array([1.0, -2.0]) + 0.5
    np.testing.assert_allclose(scores, 1 / (1 + np.exp(-logits)), atol=1e-6)
    assert labels.tolist() == [0, 1, 1, 0, 1] and scores.dtype == np.float64
    assert linear.training, "predict must restore the model's training mode"


# --------------------------------------------------------------------------------------------
# device
# --------------------------------------------------------------------------------------------


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_resolve_device_cuda_without_gpu_is_a_one_line_device_error():
    with pytest.raises(DeviceError) as error:
        resolve_device("cuda")
    message = str(error.value)
    assert "\n" not in message and "cuda" in message and "no CUDA GPU" in message


def test_resolve_device_names():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected_auto = "cuda" if torch.cuda.is_available() else None
    if expected_auto is None and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        assert resolve_device("auto") == torch.device("cpu")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu9")


def test_autocast_for_cpu_keeps_float32():
    a, b = torch.randn(4, 4), torch.randn(4, 4)
    with autocast_for("cpu"):
        product = a @ b
    assert product.dtype == torch.float32


def test_seed_everything_repeats_python_numpy_and_torch_draws():
    import random

    def draws():
        seed_everything(11)
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    assert draws() == draws()


# --------------------------------------------------------------------------------------------
# several processes (torchrun)
# --------------------------------------------------------------------------------------------

DDP_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import torch
    from torch import nn
    from torch.utils.data import TensorDataset
    from common.device import seed_everything
    from common.training import TrainConfig, fit

    torch.set_num_threads(1)
    out = sys.argv[1]

    def blobs(n, seed):
        g = torch.Generator().manual_seed(seed)
        y = (torch.rand(n, generator=g) < 0.3).long()
        return TensorDataset(torch.randn(n, 2, generator=g) + 3.0 * y[:, None].float(), y)

    rank = os.environ["RANK"]
    seed_everything(100 + int(rank))  # a different initialisation on each rank: DDP must sync them
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    config = TrainConfig(epochs=3, batch_size=32, lr=1e-2, patience=None, progress=False)
    result = fit(model, blobs(256, 1), blobs(128, 2), config=config, device="cpu",
                 checkpoint_path=os.path.join(out, "best.pt"), architecture="mlp")
    torch.save(model.state_dict(), os.path.join(out, f"weights_{rank}.pt"))
    with open(os.path.join(out, f"result_{rank}.json"), "w") as f:
        json.dump({"world_size": result.world_size, "best_epoch": result.best_epoch,
                   "history": result.history}, f)
    """
)


@pytest.mark.slow
def test_torchrun_two_cpu_processes_train_one_synchronised_model(tmp_path):
    script = tmp_path / "ddp_fit.py"
    script.write_text(DDP_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    # `python -m torch.distributed.run` is the `torchrun` command, found without relying on PATH.
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(script), str(tmp_path)]
    completed = subprocess.run(command, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, f"torchrun failed:\n{completed.stderr[-3000:]}"

    results = [json.loads((tmp_path / f"result_{rank}.json").read_text()) for rank in (0, 1)]
    assert [r["world_size"] for r in results] == [2, 2], "fit did not run distributed"
    assert results[0]["history"] == results[1]["history"], "ranks disagree on the validation history"
    weights = [torch.load(tmp_path / f"weights_{rank}.pt", weights_only=True) for rank in (0, 1)]
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), f"{key} differs between ranks: DDP did not sync"
    checkpoint = load_checkpoint(tmp_path / "best.pt", expected_architecture="mlp")
    assert checkpoint.extra["epoch"] == results[0]["best_epoch"]
    assert results[0]["history"][results[0]["best_epoch"] - 1]["val_auc"] > SEPARABLE_BLOBS_MIN_VAL_AUC
