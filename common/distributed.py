"""Several processes, one job: what a process launched by ``torchrun`` needs to know and share.

``torchrun --standalone --nproc_per_node=N script.py ...`` starts N copies of a script with
``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE`` set. :func:`start_distributed` joins them into one
process group (``nccl`` on CUDA, ``gloo`` on the CPU, so two CPU processes work on any machine)
and gives each process its device (``cuda:LOCAL_RANK``). Training (:func:`common.training.fit`)
shards the training set across the processes; ``detect_video.py`` shards a folder of videos and
gathers one ``summary.csv`` (:func:`gather_to_main`).
"""
from __future__ import annotations

import dataclasses
import os
from typing import Any

import torch
import torch.distributed as dist


@dataclasses.dataclass
class Distributed:
    """Rank information; ``world_size == 1`` means an ordinary single-process run."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    created_group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "LOCAL_RANK" in os.environ


def start_distributed(device: torch.device) -> tuple[Distributed, torch.device]:
    """Join the torchrun process group if launched by torchrun; pick this process's device."""
    if not launched_by_torchrun():
        return Distributed(), device
    local_rank = int(os.environ["LOCAL_RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    created = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        created = True
    info = Distributed(rank=dist.get_rank(), local_rank=local_rank,
                        world_size=dist.get_world_size(), created_group=created)
    return info, device


def share_from_main(value: Any, info: Distributed) -> Any:
    """Rank 0's ``value`` on every rank (a no-op in a single-process run)."""
    if not info.enabled:
        return value
    box = [value if info.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_to_main(values: list, info: Distributed) -> list | None:
    """Every process's list concatenated in rank order on rank 0 (``None`` elsewhere); the list itself
    in a single-process run."""
    if not info.enabled:
        return values
    gathered: list = [None] * info.world_size if info.is_main else None
    dist.gather_object(values, gathered, dst=0)
    return [item for part in gathered for item in part] if info.is_main else None


def stop_distributed(info: Distributed) -> None:
    """Leave the process group this process created (a no-op otherwise), all ranks together: a
    gloo rank that tears its group down while another is still finishing the last collective can
    abort the other (seen once in CI as SIGABRT on rank 0), so every rank waits at a barrier first."""
    if info.created_group and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
