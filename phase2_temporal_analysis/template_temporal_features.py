# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Temporal features: how much a face changes from one frame to the next.

Idea. A real video of a talking head changes smoothly: neighbouring frames differ by a little
motion and noise. A face synthesised frame by frame has no memory of the previous frame, so its
texture, colour and position flicker; the energy of the frame-to-frame difference inside the face
is higher and burstier than in real footage. These cheap signals are the first temporal cue a
detector can use, before learning one with an LSTM or a 3-D CNN.

Papers: D. Guera, E. Delp, "Deepfake Video Detection Using Recurrent Neural Networks", AVSS 2018;
E. Sabir et al., "Recurrent Convolutional Strategies for Face Manipulation Detection in Videos",
CVPR workshops 2019.

Guide: IMPLEMENTATION_GUIDE.md, phase 2.
"""
from __future__ import annotations

from grader.todo import TodoError

import numpy as np
import torch
from torch import nn


def frame_difference_energy(frames: np.ndarray) -> np.ndarray:
    """Mean absolute difference between consecutive frames, in units of full intensity.

    frames: (T, H, W) or (T, H, W, C), uint8 in [0, 255] or float in [0, 1]. Returns (T-1,) float64
    in [0, 1]: entry t is mean(|frame[t+1] - frame[t]|) over all pixels and channels, divided by 255
    for uint8 input. Fewer than two frames gives an empty array.

    Example: two 1x1 gray frames with values 10 and 61 -> [0.2].
    """
    frames = np.asarray(frames)
    if frames.ndim not in (3, 4):
        raise ValueError(f"expected frames of shape (T, H, W) or (T, H, W, C), got {frames.shape}")
    scale = 255.0 if frames.dtype == np.uint8 else 1.0
    # TODO 2.1: convert to float64 (uint8 subtraction wraps around!), np.diff along time, take
    #   the absolute value and average over every axis but time, then divide by scale
    raise TodoError('2.1: convert to float64 (uint8 subtraction wraps around!), np.diff along time, take the absolute value and average over every axis but time, then divide by scale (IMPLEMENTATION_GUIDE.md, 2.1 Frame-difference energy)')


# ------------------------------------------------------------------------------------------------
# Provided: a clip detector built on task 2.1 (registered as "frame_difference" in MODELS)
# ------------------------------------------------------------------------------------------------

CLIP_FEATURE_NAMES = ("log10 mean energy", "log10 std energy", "log10 max energy", "log10 90th percentile energy")


def clip_features(crops: np.ndarray) -> np.ndarray:
    """Four numbers that describe how a face flickers over one clip.

    crops: (T, S, S, 3) uint8 face crops of consecutive frames (T >= 2), the same face tracked.
    Returns (4,) float32: log10 of the mean, standard deviation, maximum and 90th percentile of
    ``frame_difference_energy(crops)`` (each + 1e-4, so a still face gives about -4, and a face
    whose pixels all jump by 10% between frames about -1). A manipulation rendered frame by
    frame raises the mean and, more tellingly, the bursts (max, 90th percentile).

    Example: a clip whose energies are all 0.01 gives [-2, -4, -2, -2] (about).
    """
    energy = frame_difference_energy(np.asarray(crops))
    if len(energy) == 0:
        raise ValueError("a clip needs at least two frames")
    stats = np.array([energy.mean(), energy.std(), energy.max(), np.percentile(energy, 90)])
    return np.log10(stats + 1e-4).astype(np.float32)


class FrameDifferenceClassifier(nn.Module):
    """Logistic regression on :func:`clip_features`: (B, 4) -> (B, 1) logits (P(FAKE) = sigmoid).

    The features are centred on -2 (log10 of a typical energy of 1%) so that plain gradient
    descent starts near the data.
    """

    def __init__(self, n_features: int = len(CLIP_FEATURE_NAMES)) -> None:
        super().__init__()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features + 2.0)
