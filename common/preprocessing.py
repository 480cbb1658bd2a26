"""How a model's face crops are prepared: one object shared by training, detection, Grad-CAM.

A detector only works on inputs prepared exactly as in training: the same number of frames, the
same crop margin, the same crop size and the same normalisation. :class:`Preprocessing` holds
these facts, ``train.py`` stores them in the checkpoint, and every consumer reads them back with
:func:`checkpoint_preprocessing`:

* training and evaluation feed crops through :meth:`Preprocessing.eval_transform` /
  :meth:`~Preprocessing.train_transform` (your task 1.9);
* ``detect_video.py`` and Grad-CAM normalise whole batches with :meth:`Preprocessing.normalise`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from common.errors import CourseError

AUGMENTATION_CHOICES = ("forensic", "mild", "none")
"""Values of ``train.py --augment``."""


@dataclass(frozen=True)
class Preprocessing:
    """``n_frames`` per video, crops of ``scale`` x the face box resized to ``size`` pixels,
    normalised with ``mean`` / ``std`` (per channel, for values in [0, 1]).

    ``clip_fps``: clip detectors read their ``n_frames`` frames at about this rate whatever the
    video's, every k-th frame with k the whole number nearest video fps / ``clip_fps``
    (:meth:`common.face_track.FramePlan.stride`: the rate they were trained at, so that one step
    carries about the motion they learned);
    ``None`` for other detectors, and for clip checkpoints saved before it was stored (they read
    consecutive frames, as they were trained and calibrated)."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    scale: float = 1.3
    n_frames: int = 32
    clip_fps: float | None = None

    def to_dict(self) -> dict[str, Any]:
        stored = {"size": self.size, "mean": list(self.mean), "std": list(self.std), "scale": self.scale,
                  "n_frames": self.n_frames}
        return stored if self.clip_fps is None else {**stored, "clip_fps": float(self.clip_fps)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Preprocessing":
        clip_fps = data.get("clip_fps")
        return cls(int(data["size"]), tuple(data["mean"]), tuple(data["std"]), float(data["scale"]),
                   int(data["n_frames"]), None if clip_fps is None else float(clip_fps))

    def with_frames(self, n_frames: int) -> "Preprocessing":
        return replace(self, n_frames=int(n_frames))

    def cache_folder_name(self, plan: str = "") -> str:
        """A folder name per crop setting (and frame plan), so caches of different settings never mix.

        Example:
            >>> Preprocessing(64, (0.5,) * 3, (0.5,) * 3, 1.3, 16).cache_folder_name()
            'faces_64px_16f_scale1.3'
        """
        return f"faces_{self.size}px_{self.n_frames}f_scale{self.scale:g}{plan}"

    def normalise(self, crops: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """A batch of crops as the network's input.

        Args:
            crops: ``(N, S, S, 3)`` uint8 RGB crops at the model's input size.
            device: where the tensor goes.

        Returns:
            ``(N, 3, S, S)`` float32, ``(crop / 255 - mean) / std`` per channel.

        Example: with mean 0.5 and std 0.5 a black pixel becomes -1 and a white one 1.
        """
        batch = torch.from_numpy(np.ascontiguousarray(crops)).to(device)
        mean = torch.tensor(self.mean, device=batch.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=batch.device).view(1, 3, 1, 1)
        return (batch.permute(0, 3, 1, 2).float() / 255.0 - mean) / std

    def eval_transform(self) -> Any:
        """Resize and normalise one crop (task 1.9's ``EvalTransform``)."""
        from common import exercises

        return exercises.eval_transform(self.size, self.mean, self.std)

    def train_transform(self, augment: str, seed: int) -> Any:
        """The training transform for a ``--augment`` choice (task 1.9).

        ``forensic``: flip, rotation, brightness/contrast, blur, JPEG: robustness to re-encoding, at
        the price of erasing pixel-level artefacts. ``mild``: flip and brightness/contrast only.
        ``none``: :meth:`eval_transform`.
        """
        from common import exercises

        if augment not in AUGMENTATION_CHOICES:
            raise CourseError(f"unknown augmentation '{augment}': choose one of {', '.join(AUGMENTATION_CHOICES)}")
        if augment == "none":
            return self.eval_transform()
        return exercises.train_transform(self.size, self.mean, self.std, seed=seed, mild=augment == "mild")


def model_preprocessing(row: Any, config: dict | None = None, *, size: int | None = None,
                        scale: float | None = None, n_frames: int | None = None) -> Preprocessing:
    """The preprocessing of a registry row (:class:`common.registry.Model`), with overrides.

    A sized network's ``input_size`` in ``config`` wins over the row's default size.
    """
    chosen = row.input_size
    if row.sized and config and "input_size" in config:
        chosen = int(config["input_size"])
    if size is not None:
        chosen = int(size)
    return Preprocessing(chosen, tuple(row.mean), tuple(row.std), float(row.scale if scale is None else scale),
                         int(row.frames if n_frames is None else n_frames),
                         float(row.clip_fps) if row.kind == "clip" else None)


def checkpoint_preprocessing(checkpoint: Any) -> Preprocessing:
    """The preprocessing stored by ``train.py`` in ``checkpoint.extra``, or the registry's defaults."""
    from common.models import get_spec

    stored = checkpoint.extra.get("preprocessing")
    if stored:
        return Preprocessing.from_dict(stored)
    return model_preprocessing(get_spec(checkpoint.architecture), checkpoint.model_config)
