"""One training loop for every detector of the course: images, frame sequences, multi-input models.

A detector here maps a batch of inputs to **one logit per sample** (output shape ``(B,)`` or
``(B, 1)``); ``sigmoid(logit)`` is the probability of FAKE (label 1; REAL is 0). :func:`fit` trains
it with binary cross-entropy on logits (``BCEWithLogitsLoss``, numerically stable), and:

* balances the classes, since deepfake datasets are skewed (FaceForensics++ has 4-5 fakes per real
  video): ``balance="pos_weight"`` weights the FAKE term of the loss by ``n_real / n_fake``;
  ``balance="sampler"`` draws batches with a ``WeightedRandomSampler`` so both classes are equally
  frequent;
* validates after every epoch with :func:`common.metrics.binary_metrics`, keeps the best epoch of the
  monitored metric (``val_auc`` by default), stops early after ``patience`` epochs without
  improvement, restores the best weights at the end and saves them with
  :func:`common.checkpoint.save_checkpoint` together with that epoch's metrics and its Youden
  threshold;
* uses mixed precision (fp16 autocast + ``GradScaler``) on CUDA, pinned memory and DataLoader
  workers, and is repeatable: the same ``seed`` gives the same history.

Batches. By default a batch is ``(x, y)`` or ``(x, y, *extra)`` (extra items such as video ids are
ignored), or a dict with keys ``"x"`` and ``"label"``; ``y`` holds 0/1 labels. For anything else
pass ``batch_to_inputs``, a function ``batch -> (inputs, labels)``. ``inputs`` is passed to the model
as ``model(inputs)`` for a tensor, ``model(*inputs)`` for a tuple/list (e.g. ``(frames, lengths)``)
and ``model(**inputs)`` for a dict (e.g. ``{"frames": ..., "mask": ...}``).

Several GPUs. Launch the same training script once per GPU with ``torchrun``::

    torchrun --standalone --nproc_per_node=4 your_train_script.py --device cuda ...

``torchrun`` sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``; :func:`fit` sees them, initialises
the process group (``nccl`` on CUDA, ``gloo`` on the CPU), puts process ``LOCAL_RANK`` on
``cuda:LOCAL_RANK``, wraps the model in ``DistributedDataParallel`` and gives each process its share
of the training set through a ``DistributedSampler``. ``batch_size`` is per process. Rank 0 alone
validates, logs and saves; it shares each epoch's results with the other ranks so that all of them
stop at the same epoch. ``--nproc_per_node=2`` also works on a CPU-only machine (gloo), which is how
the tests check it.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from tqdm.auto import tqdm

from common.checkpoint import save_checkpoint
from common.distributed import Distributed, share_from_main, start_distributed
from common.device import autocast_for, resolve_device, seed_everything
from common.metrics import binary_metrics
from common.torch_data import balanced_sampler

logger = logging.getLogger(__name__)

BatchToInputs = Callable[[Any], tuple[Any, Any]]

MONITOR_MODES: dict[str, str] = {
    "val_auc": "max",
    "val_ap": "max",
    "val_accuracy": "max",
    "val_balanced_accuracy": "max",
    "val_f1": "max",
    "val_loss": "min",
    "val_log_loss": "min",
    "val_eer": "min",
    "val_brier": "min",
}
"""Metrics ``TrainConfig.monitor`` may name, and whether higher (max) or lower (min) is better."""

_HISTORY_NAMES: dict[str, str] = {
    "val_auc": "roc_auc",
    "val_ap": "average_precision",
    "val_accuracy": "accuracy",
    "val_balanced_accuracy": "balanced_accuracy",
    "val_f1": "f1",
    "val_log_loss": "log_loss",
    "val_eer": "eer",
    "val_brier": "brier",
}
"""History column -> key of :func:`common.metrics.binary_metrics`."""

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULERS = ("cosine", None)
BALANCING = ("pos_weight", "sampler", None)


# --------------------------------------------------------------------------------------------
# Configuration and result
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class TrainConfig:
    """Hyper-parameters of a training run (stored in the checkpoint with :meth:`to_dict`).

    Attributes:
        epochs: maximum number of passes over the training set.
        batch_size: samples per optimisation step (per process under ``torchrun``).
        lr: learning rate of the optimiser (parameter groups may override it).
        weight_decay: decoupled weight decay (AdamW) or L2 penalty (Adam, SGD).
        optimizer: ``"adamw"``, ``"adam"`` or ``"sgd"`` (with ``momentum``, Nesterov).
        momentum: SGD momentum.
        scheduler: ``"cosine"`` (cosine annealing of the lr over ``epochs``, stepped per epoch) or
            ``None`` (constant lr).
        patience: stop after this many epochs without improvement of ``monitor`` (``None``: never).
        min_delta: an improvement must exceed this amount.
        monitor: one of :data:`MONITOR_MODES` (``"val_auc"``, ``"val_loss"``, ...).
        balance: ``"pos_weight"`` (loss weight ``n_real / n_fake`` on FAKE samples), ``"sampler"``
            (class-balanced ``WeightedRandomSampler``) or ``None``.
        num_workers: DataLoader worker processes (0 = load in the main process).
        pin_memory: page-locked host memory for faster GPU copies; ``None`` = on for CUDA only.
        amp: mixed precision (fp16 autocast + GradScaler); only ever active on CUDA.
        grad_clip: clip the global gradient norm to this value (``None``: no clipping).
        seed: seeds Python, NumPy, torch, the shuffling and the sampler.
        deterministic: also request deterministic kernels (see :func:`common.device.seed_everything`).
        log_every: refresh the running loss in the progress bar every this many steps.
        progress: show tqdm progress bars and a summary line per epoch.
    """

    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    momentum: float = 0.9
    scheduler: str | None = "cosine"
    patience: int | None = 5
    min_delta: float = 0.0
    monitor: str = "val_auc"
    balance: str | None = "pos_weight"
    num_workers: int = 0
    pin_memory: bool | None = None
    amp: bool = True
    grad_clip: float | None = None
    seed: int = 0
    deterministic: bool = False
    log_every: int = 20
    progress: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs} and {self.batch_size}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r} unknown; choose one of {OPTIMIZERS}")
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler {self.scheduler!r} unknown; choose one of {SCHEDULERS}")
        if self.monitor not in MONITOR_MODES:
            raise ValueError(f"monitor {self.monitor!r} unknown; choose one of {tuple(MONITOR_MODES)}")
        if self.balance not in BALANCING:
            raise ValueError(f"balance {self.balance!r} unknown; choose one of {BALANCING}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience}")
        if self.log_every < 1:
            raise ValueError(f"log_every must be >= 1, got {self.log_every}")

    def to_dict(self) -> dict:
        """All fields as a plain dict (JSON- and checkpoint-safe)."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class TrainResult:
    """What :func:`fit` returns.

    Attributes:
        history: one dict per epoch run: ``epoch`` (1-based), ``train_loss``, ``lr``, ``val_loss``,
            ``val_auc``, ``val_ap``, ``val_eer``, ``val_accuracy``, ``val_balanced_accuracy``,
            ``val_f1``, ``val_log_loss``, ``val_brier``, ``seconds``.
        best_epoch: the 1-based epoch whose weights the model holds after ``fit``.
        best_metrics: :func:`common.metrics.binary_metrics` of that epoch plus ``val_loss`` and
            ``epoch``.
        checkpoint_path: where the best weights were saved (``None`` if no path was given).
        stopped_early: whether early stopping ended training before ``epochs``.
        pos_weight: the FAKE loss weight used (``n_real / n_fake``), ``None`` unless
            ``balance="pos_weight"``.
        world_size: number of processes that trained (1 without ``torchrun``).
    """

    history: list[dict]
    best_epoch: int
    best_metrics: dict
    checkpoint_path: Path | None
    stopped_early: bool = False
    pos_weight: float | None = None
    world_size: int = 1


# --------------------------------------------------------------------------------------------
# Batches, labels and class balance
# --------------------------------------------------------------------------------------------


def default_batch_to_inputs(batch: Any) -> tuple[Any, Any]:
    """The default batch convention: ``(x, y)``, ``(x, y, *extra)`` or ``{"x": x, "label": y}``.

    Returns:
        ``(inputs, labels)``.

    Raises:
        ValueError: the batch has another layout (then pass ``batch_to_inputs`` to :func:`fit`).
    """
    if isinstance(batch, Mapping):
        if "x" in batch and "label" in batch:
            return batch["x"], batch["label"]
        raise ValueError(
            f"a dict batch needs keys 'x' and 'label', found {sorted(batch)}; pass batch_to_inputs= "
            "to map your batch to (inputs, labels)"
        )
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        return batch[0], batch[1]
    raise ValueError(
        f"a batch must be (x, y), (x, y, ...) or {{'x': ..., 'label': ...}}, got {type(batch).__name__}; "
        "pass batch_to_inputs= to map your batch to (inputs, labels)"
    )


def _check_binary_labels(labels: np.ndarray, where: str) -> np.ndarray:
    if labels.size and not np.isin(labels, (0, 1)).all():
        bad = sorted(set(labels[~np.isin(labels, (0, 1))].tolist()))[:5]
        raise ValueError(f"{where}: labels must be 0 (REAL) or 1 (FAKE), found {bad}")
    return labels.astype(np.int64)


def dataset_labels(dataset: Dataset, batch_to_inputs: BatchToInputs | None = None,
                   batch_size: int = 256, num_workers: int = 0) -> np.ndarray:
    """Labels of every sample, in dataset order, as an ``(N,)`` int64 array of 0/1.

    Uses ``dataset.labels`` when the dataset has it (also through a ``torch.utils.data.Subset``);
    otherwise reads the whole dataset once through a DataLoader and ``batch_to_inputs``.
    """
    labels = getattr(dataset, "labels", None)
    if labels is None and isinstance(dataset, Subset):
        base_labels = getattr(dataset.dataset, "labels", None)
        if base_labels is not None:
            labels = [base_labels[i] for i in dataset.indices]
    if labels is not None:
        array = np.asarray(labels).reshape(-1)
        if array.size != len(dataset):
            raise ValueError(f"dataset.labels has {array.size} entries but the dataset has {len(dataset)} samples")
        return _check_binary_labels(array, "dataset.labels")
    to_inputs = batch_to_inputs or default_batch_to_inputs
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    parts = [torch.as_tensor(to_inputs(batch)[1]).reshape(-1).cpu().numpy() for batch in loader]
    return _check_binary_labels(np.concatenate(parts) if parts else np.zeros(0), "dataset labels")


def compute_pos_weight(labels: Sequence[int] | np.ndarray) -> float:
    """Weight of the FAKE term in the BCE loss that balances the classes: ``n_real / n_fake``.

    With 800 fakes and 200 reals the weight is 0.25: each fake counts a quarter, so both classes
    contribute equally to the loss.

    >>> compute_pos_weight([1, 1, 1, 1, 0])
    0.25
    """
    array = _check_binary_labels(np.asarray(labels).reshape(-1), "compute_pos_weight")
    n_fake = int(array.sum())
    n_real = int(array.size - n_fake)
    if n_fake == 0 or n_real == 0:
        raise ValueError(f"class balancing needs both classes, the training set has {n_real} REAL and {n_fake} FAKE")
    return n_real / n_fake


# --------------------------------------------------------------------------------------------
# Small pieces of the loop
# --------------------------------------------------------------------------------------------


def _move_to(value: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """Move a tensor, or tensors nested in tuples/lists/dicts, to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=non_blocking)
    if isinstance(value, Mapping):
        return {key: _move_to(item, device, non_blocking) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_move_to(item, device, non_blocking) for item in value)
    return value


def _forward_logits(model: nn.Module, inputs: Any) -> torch.Tensor:
    """Call the model on ``inputs`` and return its logits as shape ``(B,)``."""
    if isinstance(inputs, Mapping):
        output = model(**inputs)
    elif isinstance(inputs, (tuple, list)):
        output = model(*inputs)
    else:
        output = model(inputs)
    if not isinstance(output, torch.Tensor) or output.dim() not in (1, 2) or (output.dim() == 2 and output.shape[1] != 1):
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise ValueError(f"the model must return one logit per sample, shape (B,) or (B, 1), got {shape}")
    return output.reshape(-1)


def _labels_tensor(labels: Any, batch_len: int, device: torch.device) -> torch.Tensor:
    target = torch.as_tensor(labels).reshape(-1).to(device=device, dtype=torch.float32)
    if target.numel() != batch_len:
        raise ValueError(f"the batch has {batch_len} logits but {target.numel()} labels")
    return target


def _seed_worker(worker_id: int) -> None:
    """Seed NumPy and ``random`` in a DataLoader worker from the seed torch gave it."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


def _make_optimizer(parameters: Any, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(parameters, lr=config.lr, weight_decay=config.weight_decay,
                           momentum=config.momentum, nesterov=config.momentum > 0)


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def _as_loader(data: Dataset | DataLoader, batch_size: int, num_workers: int, pin_memory: bool) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    return DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                      pin_memory=pin_memory, worker_init_fn=_seed_worker)


def _run_inference(model: nn.Module, loader: DataLoader, device: torch.device, use_amp: bool,
                   batch_to_inputs: BatchToInputs, progress: bool, description: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Labels (``-1`` where a batch has none) and float64 logits of every sample of ``loader``."""
    all_labels, all_logits = [], []
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for batch in tqdm(loader, desc=description, disable=not progress, leave=False):
                inputs, labels = batch_to_inputs(batch)
                with autocast_for(device, enabled=use_amp):
                    logits = _forward_logits(model, _move_to(inputs, device, non_blocking=True))
                all_logits.append(logits.float().cpu().numpy().astype(np.float64))
                if labels is None:
                    all_labels.append(np.full(logits.numel(), -1, dtype=np.int64))
                else:
                    all_labels.append(torch.as_tensor(labels).reshape(-1).cpu().numpy().astype(np.int64))
    finally:
        model.train(was_training)
    if not all_logits:
        raise ValueError("no samples to predict: the dataset is empty")
    return np.concatenate(all_labels), np.concatenate(all_logits)


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return torch.sigmoid(torch.from_numpy(logits)).numpy()


def predict(model: nn.Module, dataset_or_loader: Dataset | DataLoader, *, device: str | torch.device = "auto",
            batch_size: int = 64, batch_to_inputs: BatchToInputs | None = None, num_workers: int = 0,
            amp: bool = True, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Score every sample: P(FAKE) = sigmoid(logit), batched, without gradients.

    Args:
        model: a detector returning one logit per sample. It is moved to ``device`` and run in eval
            mode (its train/eval mode is restored afterwards).
        dataset_or_loader: a Dataset (read in order, ``batch_size`` at a time) or a DataLoader.
        device: see :func:`common.device.resolve_device`.
        batch_to_inputs: ``batch -> (inputs, labels)``; default :func:`default_batch_to_inputs`.
            ``labels`` may be ``None`` for unlabelled data.
        amp: fp16 autocast on CUDA (ignored elsewhere).

    Returns:
        ``(labels, scores)``: ``(N,)`` int64 (``-1`` where unlabelled) and ``(N,)`` float64 in [0, 1].

    Example::

        labels, scores = predict(model, test_set, device="auto")
        print(binary_metrics(labels, scores)["roc_auc"])
    """
    chosen = resolve_device(device)
    model.to(chosen)
    loader = _as_loader(dataset_or_loader, batch_size, num_workers, pin_memory=chosen.type == "cuda")
    labels, logits = _run_inference(model, loader, chosen, amp and chosen.type == "cuda",
                                    batch_to_inputs or default_batch_to_inputs, progress, "predict")
    return labels, _sigmoid(logits)


# --------------------------------------------------------------------------------------------
# Distributed training (torchrun)
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------


def _is_improvement(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None:
        return True
    return value > best + min_delta if mode == "max" else value < best - min_delta


def _history_entry(epoch: int, train_loss: float, lr: float, val_loss: float, metrics: dict, seconds: float) -> dict:
    entry = {"epoch": epoch, "train_loss": train_loss, "lr": lr, "val_loss": val_loss}
    entry.update({column: metrics[key] for column, key in _HISTORY_NAMES.items()})
    entry["seconds"] = seconds
    return entry


def _train_loader(train_set: Dataset, config: TrainConfig, labels: np.ndarray | None, info: Distributed,
                  pin_memory: bool) -> DataLoader:
    """Shuffled (or class-balanced, or per-rank) batches of the training set."""
    generator = torch.Generator().manual_seed(config.seed)
    sampler = None
    if info.enabled:
        sampler = DistributedSampler(train_set, num_replicas=info.world_size, rank=info.rank,
                                     shuffle=True, seed=config.seed)
    elif config.balance == "sampler":
        sampler = balanced_sampler(labels, seed=config.seed)
    # A last batch of one sample breaks BatchNorm in training mode: drop it in that case only.
    per_process = math.ceil(len(train_set) / info.world_size)
    drop_last = per_process > config.batch_size and per_process % config.batch_size == 1
    return DataLoader(
        train_set, batch_size=config.batch_size, shuffle=sampler is None, sampler=sampler,
        num_workers=config.num_workers, pin_memory=pin_memory, drop_last=drop_last,
        worker_init_fn=_seed_worker, generator=generator, persistent_workers=config.num_workers > 0,
    )


def _train_one_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer,
                     loss_fn: nn.Module, scaler: torch.amp.GradScaler, device: torch.device, use_amp: bool,
                     config: TrainConfig, batch_to_inputs: BatchToInputs, epoch: int, info: Distributed,
                     non_blocking: bool) -> float:
    """One pass over ``loader``; returns the mean training loss over all samples (all ranks)."""
    model.train()
    loss_sum, count = 0.0, 0
    bar = tqdm(loader, desc=f"epoch {epoch}/{config.epochs}", disable=not (config.progress and info.is_main),
               leave=False)
    for step, batch in enumerate(bar, start=1):
        inputs, labels = batch_to_inputs(batch)
        inputs = _move_to(inputs, device, non_blocking)
        with autocast_for(device, enabled=use_amp):
            logits = _forward_logits(model, inputs)
        target = _labels_tensor(labels, logits.numel(), device)
        loss = loss_fn(logits.float(), target)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"training loss became {loss.item()} at epoch {epoch} step {step}; lower lr or set grad_clip"
            )
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if config.grad_clip is not None:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        loss_sum += loss.item() * target.numel()
        count += target.numel()
        if step % config.log_every == 0:
            bar.set_postfix(loss=f"{loss_sum / count:.4f}")
    if info.enabled:
        totals = torch.tensor([loss_sum, float(count)], dtype=torch.float64, device=device)
        dist.all_reduce(totals)
        loss_sum, count = totals[0].item(), int(totals[1].item())
    return loss_sum / max(count, 1)


def _validate(model: nn.Module, loader: DataLoader, device: torch.device, use_amp: bool,
              batch_to_inputs: BatchToInputs, progress: bool) -> tuple[float, dict]:
    """Validation loss (plain BCE on logits) and :func:`binary_metrics` of the whole validation set."""
    labels, logits = _run_inference(model, loader, device, use_amp, batch_to_inputs, progress, "validate")
    if (labels < 0).any():
        raise ValueError("the validation set has unlabelled samples; fit needs 0/1 labels")
    val_loss = F.binary_cross_entropy_with_logits(torch.from_numpy(logits), torch.from_numpy(labels).double())
    return float(val_loss), binary_metrics(labels, _sigmoid(logits))


def fit(model: nn.Module, train_set: Dataset, val_set: Dataset | DataLoader, *, config: TrainConfig,
        device: str | torch.device = "auto", checkpoint_path: str | os.PathLike | None = None,
        architecture: str = "model", model_config: dict | None = None, param_groups: list[dict] | None = None,
        batch_to_inputs: BatchToInputs | None = None) -> TrainResult:
    """Train a one-logit detector with validation, early stopping and a best-epoch checkpoint.

    Args:
        model: returns one logit per sample, ``(B,)`` or ``(B, 1)``. Moved to ``device``; on
            return it holds the weights of the best epoch. Build it *after* seeding if you want the
            initial weights to be repeatable too (``seed_everything(config.seed)``).
        train_set: training samples (see the module docstring for batch layouts). With
            ``balance`` set, its labels are read from ``train_set.labels`` if present, otherwise by
            reading the dataset once.
        val_set: validation samples (Dataset or DataLoader), scored after every epoch.
        config: a :class:`TrainConfig`.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``... (under torchrun, process ``LOCAL_RANK`` uses
            ``cuda:LOCAL_RANK``).
        checkpoint_path: where to save the best epoch (rank 0 only); ``None`` saves nothing.
        architecture, model_config: stored in the checkpoint so tools can rebuild the model.
        param_groups: optimiser parameter groups, e.g. ``[{"params": head.parameters()},
            {"params": backbone.parameters(), "lr": 1e-5}]``; default: every parameter that requires
            a gradient, at ``config.lr``.
        batch_to_inputs: ``batch -> (inputs, labels)``; default :func:`default_batch_to_inputs`.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: non-binary labels, a balance mode with one class, a monitored metric that is
            undefined (e.g. ``val_auc`` on a validation set with one class), bad model output shape.
        FloatingPointError: the training loss became NaN or infinite.
    """
    seed_everything(config.seed, deterministic=config.deterministic)
    to_inputs = batch_to_inputs or default_batch_to_inputs
    info, chosen = start_distributed(resolve_device(device))
    try:
        return _fit(model, train_set, val_set, config, chosen, info, checkpoint_path, architecture,
                    model_config or {}, param_groups, to_inputs)
    finally:
        if info.created_group:
            dist.destroy_process_group()


def _fit(model: nn.Module, train_set: Dataset, val_set: Dataset | DataLoader, config: TrainConfig,
         device: torch.device, info: Distributed, checkpoint_path: str | os.PathLike | None,
         architecture: str, model_config: dict, param_groups: list[dict] | None,
         to_inputs: BatchToInputs) -> TrainResult:
    """The body of :func:`fit`, once seeding, devices and process groups are settled."""
    if info.enabled and config.balance == "sampler":
        raise ValueError("balance='sampler' cannot be combined with torchrun's DistributedSampler; use 'pos_weight'")
    pin_memory = config.pin_memory if config.pin_memory is not None else device.type == "cuda"
    use_amp = config.amp and device.type == "cuda"

    labels = dataset_labels(train_set, to_inputs, num_workers=config.num_workers) if config.balance else None
    pos_weight = compute_pos_weight(labels) if config.balance == "pos_weight" else None
    if config.balance == "sampler":
        compute_pos_weight(labels)  # same check: both classes present
    loss_fn = nn.BCEWithLogitsLoss(
        pos_weight=None if pos_weight is None else torch.tensor(pos_weight, dtype=torch.float32, device=device)
    )

    model.to(device)
    bare_model = model
    if info.enabled:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    parameters = param_groups if param_groups is not None else [p for p in bare_model.parameters() if p.requires_grad]
    optimizer = _make_optimizer(parameters, config)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs)
                 if config.scheduler == "cosine" else None)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)

    train_loader = _train_loader(train_set, config, labels, info, pin_memory)
    val_loader = _as_loader(val_set, config.batch_size, config.num_workers, pin_memory)
    mode = MONITOR_MODES[config.monitor]
    history: list[dict] = []
    best_value: float | None = None
    best_epoch, best_metrics, best_state = 0, {}, None
    epochs_without_improvement = 0
    saved_path: Path | None = None
    show = config.progress and info.is_main

    for epoch in range(1, config.epochs + 1):
        started = time.perf_counter()
        if isinstance(train_loader.sampler, DistributedSampler):
            train_loader.sampler.set_epoch(epoch)
        lr = optimizer.param_groups[0]["lr"]
        train_loss = _train_one_epoch(model, train_loader, optimizer, loss_fn, scaler, device, use_amp, config,
                                      to_inputs, epoch, info, non_blocking=pin_memory)
        if scheduler is not None:
            scheduler.step()

        # Rank 0 validates the bare model (no DDP collectives) and shares the results.
        entry, metrics = None, None
        if info.is_main:
            val_loss, metrics = _validate(bare_model, val_loader, device, use_amp, to_inputs, show)
            metrics = {**metrics, "val_loss": val_loss, "epoch": epoch}
            entry = _history_entry(epoch, train_loss, lr, val_loss, metrics, time.perf_counter() - started)
        entry, metrics = share_from_main((entry, metrics), info)
        history.append(entry)

        value = entry[config.monitor]
        if value is None:
            raise ValueError(
                f"monitor {config.monitor!r} is undefined on this validation set (it has "
                f"{metrics['n_real']} REAL and {metrics['n_fake']} FAKE samples); monitor 'val_loss' instead"
            )
        if _is_improvement(value, best_value, mode, config.min_delta):
            best_value, best_epoch, best_metrics = value, epoch, metrics
            epochs_without_improvement = 0
            best_state = {key: tensor.detach().to("cpu", copy=True) for key, tensor in bare_model.state_dict().items()}
            if checkpoint_path is not None and info.is_main:
                saved_path = save_checkpoint(
                    checkpoint_path, bare_model, architecture=architecture, model_config=model_config,
                    metrics=metrics, threshold=metrics["youden_threshold"] if metrics["youden_threshold"] is not None else 0.5,
                    training_config=config.to_dict(), extra={"epoch": epoch, "history": history},
                )
        else:
            epochs_without_improvement += 1

        if show:
            marker = " *" if best_epoch == epoch else ""
            tqdm.write(f"epoch {epoch}: train_loss {train_loss:.4f}  val_loss {entry['val_loss']:.4f}  "
                       f"{config.monitor} {value:.4f}{marker}")
        logger.info("epoch %d: %s", epoch, entry)
        if config.patience is not None and epochs_without_improvement >= config.patience:
            break

    if best_state is not None:
        bare_model.load_state_dict(best_state)
    if info.enabled:
        dist.barrier()  # no rank returns before rank 0 has written the checkpoint
    stopped_early = len(history) < config.epochs
    if checkpoint_path is not None and info.enabled:
        saved_path = Path(checkpoint_path)
    return TrainResult(history=history, best_epoch=best_epoch, best_metrics=best_metrics,
                       checkpoint_path=saved_path, stopped_early=stopped_early,
                       pos_weight=pos_weight, world_size=info.world_size)
