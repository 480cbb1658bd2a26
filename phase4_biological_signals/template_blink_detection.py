# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Eye blinks: the eye aspect ratio (Soukupova & Cech 2016) and blink counting.

Idea. Six landmarks outline an eye: p1 and p4 are the corners, p2, p3 on the upper lid and p6, p5
below them. The eye aspect ratio

    EAR = (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|)

is about 0.25-0.35 for an open eye and drops towards 0 when the lids close, whatever the face's
size or position. A blink is a short run of frames (about 100-400 ms) with EAR below a threshold.
People blink about 15-20 times a minute; early deepfakes, trained on photos of open eyes, rarely
blink at all (Li, Chang, Lyu, "In Ictu Oculi", WIFS 2018).

Papers: T. Soukupova, J. Cech, "Real-Time Eye Blink Detection using Facial Landmarks", CVWW 2016.

Guide: IMPLEMENTATION_GUIDE.md, phase 4.
"""
from __future__ import annotations

from grader.todo import TodoError

import numpy as np


def eye_aspect_ratio(eye: np.ndarray) -> np.ndarray:
    """Eye aspect ratio of one eye, or of many at once.

    eye: (..., 6, 2) float, the points p1..p6 in pixels (x, y), in the order above. Returns an
    array of shape (...) (a 0-d array for a single eye): (|p2-p6| + |p3-p5|) / (2 |p1-p4|).

    Example: corners (0, 0) and (10, 0), lids 3 px above and below at x = 3 and x = 7:
    EAR = (6 + 6) / (2 * 10) = 0.6.
    """
    eye = np.asarray(eye, dtype=np.float64)
    if eye.shape[-2:] != (6, 2):
        raise ValueError(f"expected eye landmarks of shape (..., 6, 2), got {eye.shape}")
    # TODO 4.1: measure the two vertical distances |p2-p6|, |p3-p5| and the horizontal |p1-p4|
    #   with np.linalg.norm over the last axis (points are 0-indexed: p1 is eye[..., 0, :])
    raise TodoError('4.1: measure the two vertical distances |p2-p6|, |p3-p5| and the horizontal |p1-p4| with np.linalg.norm over the last axis (points are 0-indexed: p1 is eye[..., 0, :]) (IMPLEMENTATION_GUIDE.md, 4.1 Eye aspect ratio)')
