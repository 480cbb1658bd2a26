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
