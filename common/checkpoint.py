"""Saving and loading trained detectors safely.

A checkpoint is one ``torch.save`` file holding a plain dict::

    {"format": "deepfake-course-checkpoint", "format_version": 1,
     "architecture": "xception", "model_config": {...},     # how to rebuild the network
     "state_dict": {...},                                   # its weights (CPU tensors)
     "metrics": {...}, "threshold": 0.43,                   # validation results, decision threshold
     "training_config": {...}, "extra": {...},
     "versions": {"torch", "torchvision", "python", "numpy", "course"}, "created": "2025-...Z"}

Why not ``torch.save(model)``? A pickled model stores the *import path* of its class and runs
arbitrary code when loaded, so it breaks outside the repository that wrote it (the problem of
FaceForensics++'s released models) and is unsafe to open from an untrusted source. Our files hold
only tensors, numbers, strings, lists and dicts, so :func:`load_checkpoint` reads them with
``torch.load(weights_only=True)``, which refuses to execute anything else.

Writes are atomic (a temporary file then ``os.replace``), so an interrupted save never leaves a
truncated checkpoint where the previous good one was.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import pickle
import platform
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import common
from common.atomic import atomic_output
from common.errors import CheckpointError

FORMAT_NAME = "deepfake-course-checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS: tuple[str, ...] = (
    "format", "format_version", "architecture", "model_config", "state_dict", "metrics",
    "threshold", "training_config", "extra", "versions", "created",
)
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")  # DataParallel/DDP, torch.compile


@dataclasses.dataclass
class Checkpoint:
    """A loaded checkpoint: everything needed to rebuild, trust and use a trained detector."""

    path: Path
    architecture: str
    model_config: dict
    state_dict: dict[str, torch.Tensor]
    metrics: dict
    threshold: float
    training_config: dict
    extra: dict
    versions: dict
    created: str
    format_version: int = FORMAT_VERSION


def recorded_detect_every(extra: dict) -> int | None:
    """The ``--detect-every`` a checkpoint's training tracked faces with (``train.py`` records it in
    ``extra``); None for checkpoints written before it did. Example: ``{"detect_every": 8}`` -> 8."""
    value = extra.get("detect_every")
    return None if value is None else int(value)


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def _unwrap(model: nn.Module) -> nn.Module:
    """The bare network inside DataParallel / DistributedDataParallel / torch.compile wrappers."""
    while True:
        if isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def _strip_wrapper_prefixes(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove ``module.`` / ``_orig_mod.`` from keys when *every* key carries that prefix."""
    state = dict(state_dict)
    changed = True
    while changed and state:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if all(key.startswith(prefix) for key in state):
                state = {key[len(prefix):]: value for key, value in state.items()}
                changed = True
    return state


def _safe_value(value: Any, where: str) -> Any:
    """Convert ``value`` to types ``torch.load(weights_only=True)`` accepts, or raise TypeError.

    NumPy scalars become Python numbers, NumPy arrays become tensors, paths become strings, tuples
    become lists.
    """
    # Exact builtin types only: subclasses such as IntEnum or torch's TorchVersion (a str) are
    # pickled by class name, which weights-only loading refuses.
    if value is None:
        return None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_safe_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        safe = {}
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where} has a key {key!r} of type {type(key).__name__}; use str keys")
            safe[key] = _safe_value(item, f"{where}[{key!r}]")
        return safe
    raise TypeError(
        f"{where} is a {type(value).__module__}.{type(value).__name__}, which weights-only loading "
        "cannot read; store numbers, strings, lists, dicts or tensors"
    )


def _versions() -> dict[str, str]:
    try:
        import torchvision
        torchvision_version = torchvision.__version__
    except ImportError:
        torchvision_version = "not installed"
    return {
        "torch": str(torch.__version__),  # a str subclass that weights-only loading refuses
        "torchvision": str(torchvision_version),
        "python": platform.python_version(),
        "numpy": str(np.__version__),
        "course": str(getattr(common, "__version__", "unversioned")),
    }


def save_checkpoint(path: str | os.PathLike, model: nn.Module, *, architecture: str, model_config: dict,
                    metrics: dict | None = None, threshold: float = 0.5,
                    training_config: dict | None = None, extra: dict | None = None) -> Path:
    """Write ``model``'s weights and everything needed to rebuild it, atomically.

    Args:
        path: destination file (parent folders are created); conventionally ``*.pt``.
        model: the network; DataParallel / DDP / ``torch.compile`` wrappers are unwrapped, so keys
            never start with ``module.``.
        architecture: registry name of the network (e.g. ``"xception"``), checked when loading.
        model_config: keyword arguments that rebuild the network (e.g. ``{"num_classes": 1}``).
        metrics: validation metrics (e.g. from :func:`common.metrics.binary_metrics`).
        threshold: decision threshold on P(FAKE) chosen on validation data.
        training_config: hyper-parameters of the run (e.g. ``TrainConfig.to_dict()``).
        extra: anything else small (epoch, history...). All dicts may hold only numbers, strings,
            ``None``, lists, dicts and tensors (NumPy values are converted).

    Returns:
        The path written, as a :class:`~pathlib.Path`.

    Raises:
        TypeError: a config/metrics value that weights-only loading could not read back.
    """
    if not isinstance(architecture, str) or not architecture:
        raise TypeError("architecture must be a non-empty string such as 'xception'")
    bare = _unwrap(model)
    state_dict = {
        key: tensor.detach().cpu().clone()
        for key, tensor in _strip_wrapper_prefixes(bare.state_dict()).items()
    }
    payload = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "architecture": architecture,
        "model_config": _safe_value(dict(model_config), "model_config"),
        "state_dict": state_dict,
        "metrics": _safe_value(dict(metrics or {}), "metrics"),
        "threshold": float(threshold),
        "training_config": _safe_value(dict(training_config or {}), "training_config"),
        "extra": _safe_value(dict(extra or {}), "extra"),
        "versions": _versions(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    target = Path(path)
    with atomic_output(target) as temporary:
        torch.save(payload, temporary)
    return target


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def _looks_like_pickle(header: bytes) -> bool:
    """A pickle stream of protocol 2+ starts with the PROTO opcode 0x80 and the protocol number."""
    return len(header) >= 2 and header[0] == 0x80 and 2 <= header[1] <= 5


def _read_torch_file(path: Path, map_location: Any) -> Any:
    """``torch.load(weights_only=True)`` with its failures turned into one-line CheckpointErrors."""
    if not path.exists():
        raise CheckpointError(f"checkpoint {path} not found")
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a directory, not a file")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes); the save was probably interrupted")
    with path.open("rb") as file:
        header = file.read(4)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Detected pickle protocol 4" on foreign files
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(error))
        if found:
            raise CheckpointError(
                f"checkpoint {path} was refused for safety: it contains a pickled Python object "
                f"({found.group(1)}) that weights-only loading will not execute; re-save the weights "
                "with common.checkpoint.save_checkpoint"
            ) from None
        if _looks_like_pickle(header) or header.startswith(b"PK"):
            raise CheckpointError(
                f"checkpoint {path} was refused for safety: it is a pickle that weights-only loading "
                "cannot read (not a tensors-only torch file)"
            ) from None
        raise CheckpointError(_not_a_torch_file(path)) from None
    except (RuntimeError, EOFError, KeyError, ValueError, OSError, IndexError):
        if header.startswith(b"PK"):
            raise CheckpointError(f"checkpoint {path} is a corrupt or truncated PyTorch file") from None
        raise CheckpointError(_not_a_torch_file(path)) from None


def _not_a_torch_file(path: Path) -> str:
    """The one-line message for a file torch cannot read, naming the course file it is when it is one:
    a fusion model (``multi_modal_detect.py --fusion-model``) or a detection report."""
    import json

    from common.fusion import FUSION_FORMAT
    from common.report import SCHEMA_NAME

    kinds = {FUSION_FORMAT: "a fusion model: give it to multi_modal_detect.py --fusion-model",
             SCHEMA_NAME: "a detection report: draw it with visualize_detection.py --predictions"}
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        content = None
    found = content.get("format", content.get("schema")) if isinstance(content, dict) else None
    if found in kinds:
        return f"checkpoint {path} is not a PyTorch file but {kinds[found]}"
    return f"checkpoint {path} is not a PyTorch file (unrecognised contents)"


def _describe_foreign(path: Path, loaded: Any) -> str:
    """Say what a loaded torch file holds when it is not one of our checkpoints."""
    expected = ", ".join(REQUIRED_KEYS)
    if isinstance(loaded, Mapping) and loaded and all(isinstance(v, torch.Tensor) for v in loaded.values()):
        first = next(iter(loaded))
        return (f"checkpoint {path} is a bare state_dict ({len(loaded)} tensors such as {first!r}), not a course "
                f"checkpoint; expected a dict with keys {expected} (write it with save_checkpoint)")
    if isinstance(loaded, Mapping):
        keys = ", ".join(repr(k) for k in list(loaded)[:5])
        return (f"checkpoint {path} is a torch file with keys [{keys}] but not a course checkpoint; "
                f"expected keys {expected}")
    return (f"checkpoint {path} holds a {type(loaded).__name__}, not a course checkpoint; "
            f"expected a dict with keys {expected}")


def load_checkpoint(path: str | os.PathLike, *, expected_architecture: str | None = None,
                    map_location: Any = "cpu") -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`, refusing anything unsafe or foreign.

    Args:
        path: the ``.pt`` file.
        expected_architecture: if given, the checkpoint must be for this architecture.
        map_location: where tensors are loaded (``"cpu"`` works on every machine).

    Returns:
        A :class:`Checkpoint`; rebuild the network from ``architecture`` and ``model_config``, then
        call :func:`load_state_into`.

    Raises:
        CheckpointError: (one line) missing, empty, corrupt or non-torch file; a pickle refused for
            safety; a torch file that is not a course checkpoint; a newer format version; another
            architecture than expected.
    """
    file_path = Path(path)
    loaded = _read_torch_file(file_path, map_location)
    if not isinstance(loaded, Mapping) or loaded.get("format") != FORMAT_NAME:
        raise CheckpointError(_describe_foreign(file_path, loaded))
    missing = [key for key in REQUIRED_KEYS if key not in loaded]
    if missing:
        raise CheckpointError(f"checkpoint {file_path} is incomplete: missing keys {', '.join(missing)}")
    if int(loaded["format_version"]) > FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {file_path} has format version {loaded['format_version']}, newer than this "
            f"course code understands ({FORMAT_VERSION}); update the course repository"
        )
    if expected_architecture is not None and loaded["architecture"] != expected_architecture:
        raise CheckpointError(
            f"checkpoint {file_path} is for architecture {loaded['architecture']!r}, "
            f"expected {expected_architecture!r}"
        )
    return Checkpoint(
        path=file_path,
        architecture=loaded["architecture"],
        model_config=dict(loaded["model_config"]),
        state_dict=dict(loaded["state_dict"]),
        metrics=dict(loaded["metrics"]),
        threshold=float(loaded["threshold"]),
        training_config=dict(loaded["training_config"]),
        extra=dict(loaded["extra"]),
        versions=dict(loaded["versions"]),
        created=str(loaded["created"]),
        format_version=int(loaded["format_version"]),
    )


def _first(keys: list[str], limit: int = 3) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


def load_state_into(model: nn.Module, checkpoint: Checkpoint) -> nn.Module:
    """Copy the checkpoint's weights into ``model`` (strictly: every key, every shape).

    Args:
        model: a network built from ``checkpoint.architecture`` / ``checkpoint.model_config``
            (DataParallel / DDP wrappers are fine).
        checkpoint: from :func:`load_checkpoint`.

    Returns:
        ``model`` itself, with the weights loaded (on the device the model already is).

    Raises:
        CheckpointError: (one line) naming the first missing, unexpected or mis-shaped keys.
    """
    bare = _unwrap(model)
    expected = bare.state_dict()
    given = _strip_wrapper_prefixes(checkpoint.state_dict)
    missing = [key for key in expected if key not in given]
    unexpected = [key for key in given if key not in expected]
    mis_shaped = [
        f"{key} {tuple(given[key].shape)} vs model {tuple(expected[key].shape)}"
        for key in expected if key in given and tuple(given[key].shape) != tuple(expected[key].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys {_first(missing)}")
    if unexpected:
        problems.append(f"unexpected keys {_first(unexpected)}")
    if mis_shaped:
        problems.append(f"shape mismatch {_first(mis_shaped)}")
    if problems:
        raise CheckpointError(
            f"checkpoint {checkpoint.path} ({checkpoint.architecture!r}) does not fit this model: "
            + "; ".join(problems)
        )
    bare.load_state_dict(given, strict=True)
    return model
