"""Choosing the compute device, mixed precision, and seeding for reproducible runs.

Every tool takes ``--device auto|cpu|cuda|cuda:N|mps``. ``auto`` picks a CUDA GPU, then Apple's MPS,
then the CPU. Asking for a device that is not there is a user mistake and raises a one-line
:class:`~common.errors.DeviceError` instead of a deep CUDA traceback.

Mixed precision (``torch.autocast``) runs matrix multiplications and convolutions in 16-bit floats
on a GPU: about twice the speed and half the memory, as the DFDC winner did with fp16. On the CPU it
is switched off here (a null context): CPU autocast only helps on recent server processors.
"""
from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from common.errors import DeviceError


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn a device name into an available :class:`torch.device`.

    Args:
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``,
            or a :class:`torch.device`.

    Returns:
        The device; ``"cuda"`` becomes ``cuda:0`` (the current CUDA device).

    Raises:
        DeviceError: the name is not a device, or the device is not available on this machine.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if isinstance(device, str) and device.strip().lower() == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device.strip().lower() if isinstance(device, str) else device)
    except (RuntimeError, TypeError, ValueError):
        raise DeviceError(f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if chosen.type == "cpu":
        return chosen
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {str(device)!r} requested but no CUDA GPU is available here; use --device cpu or auto")
        count = torch.cuda.device_count()
        index = torch.cuda.current_device() if chosen.index is None else chosen.index
        if index >= count:
            raise DeviceError(f"device {str(device)!r} requested but this machine has {count} CUDA GPU(s) (cuda:0..cuda:{count - 1})")
        return torch.device("cuda", index)
    if chosen.type == "mps":
        if not _mps_available():
            raise DeviceError(f"device {str(device)!r} requested but Apple MPS is not available here; use --device cpu or auto")
        return chosen
    raise DeviceError(f"unsupported device {str(device)!r}; use auto, cpu, cuda, cuda:N or mps")


def autocast_dtype(device: str | torch.device, prefer_bfloat16: bool = False) -> torch.dtype | None:
    """The 16-bit dtype :func:`autocast_for` uses on ``device``, or ``None`` when autocast is off.

    fp16 on CUDA by default (it needs a ``GradScaler`` when training); bf16 when
    ``prefer_bfloat16`` and the GPU supports it (Ampere or newer; same range as fp32, no scaler
    needed). ``None`` on CPU and MPS.
    """
    chosen = torch.device(device)
    if chosen.type != "cuda":
        return None
    if prefer_bfloat16 and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


@contextlib.contextmanager
def autocast_for(device: str | torch.device, enabled: bool = True,
                 prefer_bfloat16: bool = False) -> Iterator[None]:
    """Mixed precision on CUDA, nothing on other devices.

    Args:
        device: where the model runs. enabled: ``False`` gives a null context everywhere.
        prefer_bfloat16: use bf16 instead of fp16 where the GPU supports it.

    Example::

        with autocast_for(device):
            logits = model(images)  # fp16 matmuls on a GPU, fp32 on the CPU
    """
    dtype = autocast_dtype(device, prefer_bfloat16) if enabled else None
    if dtype is None:
        yield
        return
    with torch.autocast(device_type="cuda", dtype=dtype):
        yield


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed Python, NumPy and PyTorch (CPU and every GPU) so a run can be repeated.

    Args:
        seed: any non-negative integer.
        deterministic: also ask PyTorch for deterministic kernels (cuDNN autotuning off,
            ``torch.use_deterministic_algorithms`` with warnings for ops that have none). Slower on
            a GPU; on the CPU, seeding alone already makes our training loop repeatable.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)  # read by Python subprocesses started later
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
