# Exercise file generated from the reference solution: fill in every TODO (see IMPLEMENTATION_GUIDE.md).
"""Optical flow: how every part of the face moves from one frame to the next.

Idea. Optical flow is the apparent motion of the image between two frames: for each point, the
displacement (dx, dy) in pixels that carries it from frame t to frame t+1. A real head moves as one
body: the flow inside the face continues smoothly into the hair, ears and neck around it. A face
that was synthesised and pasted in every frame moves *differently from its head*: it slides,
wobbles and shimmers against the region around it. Amerini et al. 2019 fed the flow field to a CNN;
here we compute it and summarise it in numbers a logistic regression can use.

Lucas and Kanade (1981) assume that a small window moves rigidly and that the brightness of a point
does not change. Linearising ``I_next(x + d) = I_prev(x)`` around the current guess gives, for a
window with image gradients (Ix, Iy) and temporal difference It, the 2x2 normal equations

    [ sum Ix Ix   sum Ix Iy ] [dx]     [ sum Ix It ]
    [ sum Ix Iy   sum Iy Iy ] [dy] = - [ sum Iy It ]

solved again and again as the window is re-sampled at the improved position (task 2.4). The
linearisation only holds for motions of a pixel or two, so large motions are found coarse to fine
on an image pyramid, each level's answer doubled as the next level's starting guess (Bouguet 2001,
what ``cv2.calcOpticalFlowPyrLK`` implements; task 2.5). Dense flow for every pixel comes from
OpenCV's Farneback method (provided); task 2.6 turns it into statistics of the face against its
surroundings.

Papers: B. Lucas, T. Kanade, "An Iterative Image Registration Technique with an Application to
Stereo Vision", IJCAI 1981; J.-Y. Bouguet, "Pyramidal Implementation of the Lucas Kanade Feature
Tracker", Intel 2001; G. Farneback, "Two-Frame Motion Estimation Based on Polynomial Expansion",
SCIA 2003; I. Amerini et al., "Deepfake Video Detection through Optical Flow based CNN", ICCV
workshops 2019.

Guide: IMPLEMENTATION_GUIDE.md, phase 2 (2.4-2.6).
"""
from __future__ import annotations

from grader.todo import TodoError

from typing import Sequence

import cv2
import numpy as np

from phase2_temporal_analysis.template_temporal_features import StandardisedLogistic


# ------------------------------------------------------------------------------------------------
# Provided: gradients, sub-pixel windows and pyramids
# ------------------------------------------------------------------------------------------------

def to_gray_float(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, 3) RGB image, uint8 or float -> (H, W) float32 gray in the image's own units."""
    image = np.asarray(image)
    if image.ndim == 3:
        image = cv2.cvtColor(image.astype(np.float32), cv2.COLOR_RGB2GRAY)
    return image.astype(np.float32)


def image_gradients(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradients ``(Ix, Iy)`` of a (H, W) float image, in intensity per pixel.

    Example: the ramp ``I(x, y) = 2x`` has Ix = 2 and Iy = 0 everywhere.
    """
    gy, gx = np.gradient(np.asarray(image, dtype=np.float32))
    return gx.astype(np.float32), gy.astype(np.float32)


def sample_window(image: np.ndarray, centre: Sequence[float], size: int) -> np.ndarray:
    """The ``size`` x ``size`` window of a (H, W) float image centred on the sub-pixel point
    ``centre = (x, y)``, bilinearly interpolated (``cv2.getRectSubPix``); returns float64.

    Example: on the ramp ``I = x`` the 3x3 window at (5.25, 7) has columns 4.25, 5.25, 6.25.
    """
    window = cv2.getRectSubPix(np.asarray(image, dtype=np.float32), (size, size),
                               (float(centre[0]), float(centre[1])))
    return window.astype(np.float64)


def gaussian_pyramid(image: np.ndarray, levels: int) -> list[np.ndarray]:
    """``levels`` images, level 0 the input, each next one blurred and halved (``cv2.pyrDown``).
    A point (x, y) of level 0 is at (x / 2^l, y / 2^l) on level l."""
    pyramid = [np.asarray(image, dtype=np.float32)]
    for _ in range(levels - 1):
        pyramid.append(cv2.pyrDown(pyramid[-1]))
    return pyramid


# ------------------------------------------------------------------------------------------------
# Tasks 2.4 and 2.5: Lucas-Kanade for one point
# ------------------------------------------------------------------------------------------------

def lucas_kanade(previous: np.ndarray, following: np.ndarray, point: Sequence[float], window: int = 21,
                 iterations: int = 20, initial: Sequence[float] = (0.0, 0.0), tolerance: float = 1e-3) -> np.ndarray:
    """Iterative Lucas-Kanade on one image level: the displacement of the window around ``point``.

    previous, following: (H, W) float gray frames. point: (x, y) in pixels of ``previous``.
    window: side of the square window (odd). initial: starting guess (dx, dy). Returns (2,) float64
    ``(dx, dy)`` in pixels such that ``following(point + d)`` looks like ``previous(point)``.

    Each iteration samples the window of ``following`` at ``point + d``, takes It = that window
    minus the window of ``previous``, solves the 2x2 system of the module docstring with the
    gradients of ``previous`` for the update and adds it to d; it stops after ``iterations`` or
    when the update is shorter than ``tolerance`` pixels.

    Example: a smooth texture shifted right by 0.4 px and up by 0.25 px gives about (0.4, -0.25).
    """
    gx, gy = image_gradients(previous)
    ix = sample_window(gx, point, window)
    iy = sample_window(gy, point, window)
    template = sample_window(previous, point, window)
    flow = np.array(initial, dtype=np.float64)
    # TODO 2.4: build the 2x2 matrix G of sums of Ix*Ix, Ix*Iy, Iy*Iy once; then repeat: sample
    #   following at point + flow, It = that window - template, solve G @ step = -(sum Ix*It, sum
    #   Iy*It) with np.linalg.solve, add step to flow, stop when the step is shorter than
    #   tolerance
    raise TodoError('2.4: build the 2x2 matrix G of sums of Ix*Ix, Ix*Iy, Iy*Iy once; then repeat: sample following at point + flow, It = that window - template, solve G @ step = -(sum Ix*It, sum Iy*It) with np.linalg.solve, add step to flow, stop when the step is shorter than tolerance (IMPLEMENTATION_GUIDE.md, 2.4 Lucas-Kanade)')
    return flow


def pyramid_lucas_kanade(previous: np.ndarray, following: np.ndarray, point: Sequence[float], levels: int = 3,
                         window: int = 21, iterations: int = 20) -> np.ndarray:
    """Coarse-to-fine Lucas-Kanade (Bouguet 2001): large motions, one pixel at a time per level.

    On level l of both Gaussian pyramids (:func:`gaussian_pyramid`) the point is at point / 2^l and
    the motion is d / 2^l: start on the coarsest level with d = 0, run :func:`lucas_kanade` there
    with the current guess, double the answer for the next finer level, and return level 0's.
    Returns (2,) float64 (dx, dy) in pixels of the full-size frames.

    Example: with 3 levels a 6-pixel motion is 1.5 pixels on level 2, within reach of one window.
    """
    previous_pyramid = gaussian_pyramid(to_gray_float(previous), levels)
    following_pyramid = gaussian_pyramid(to_gray_float(following), levels)
    flow = np.zeros(2)
    # TODO 2.5: loop over the levels from the coarsest (levels - 1) down to 0; on level l run
    #   lucas_kanade on that level's images at the point divided by 2**l with initial=flow; double
    #   the flow before moving to a finer level
    raise TodoError("2.5: loop over the levels from the coarsest (levels - 1) down to 0; on level l run lucas_kanade on that level's images at the point divided by 2**l with initial=flow; double the flow before moving to a finer level (IMPLEMENTATION_GUIDE.md, 2.5 Pyramidal Lucas-Kanade)")
    return flow


# ------------------------------------------------------------------------------------------------
# Provided: dense flow between two face crops (Farneback, OpenCV)
# ------------------------------------------------------------------------------------------------

FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=9, iterations=5, poly_n=5, poly_sigma=1.1, flags=0)
"""Farneback settings for face crops of 64-300 px: 3 pyramid levels, 9-px averaging windows."""


def dense_flow(previous: np.ndarray, following: np.ndarray) -> np.ndarray:
    """Flow of every pixel from ``previous`` to ``following`` (Farneback 2003, OpenCV).

    previous, following: (H, W) or (H, W, 3) frames, uint8 or float in [0, 255]. Returns (H, W, 2)
    float32: ``flow[y, x] = (dx, dy)`` in pixels, so that ``following[y + dy, x + dx]`` matches
    ``previous[y, x]``.
    """
    a = np.clip(to_gray_float(previous), 0, 255).astype(np.uint8)
    b = np.clip(to_gray_float(following), 0, 255).astype(np.uint8)
    return cv2.calcOpticalFlowFarneback(a, b, None, **FARNEBACK)


def face_region_mask(side: int, inner: float = 1 / 1.3) -> np.ndarray:
    """(side, side) bool mask of the face box inside a course crop (a square of 1.3 x the box):
    the central square of ``inner * side`` pixels. The rest is the ring of hair, ears, neck and
    background around the face."""
    margin = int(round(side * (1 - inner) / 2))
    mask = np.zeros((side, side), dtype=bool)
    mask[margin:side - margin, margin:side - margin] = True
    return mask


# ------------------------------------------------------------------------------------------------
# Task 2.6: the face against its surroundings
# ------------------------------------------------------------------------------------------------

FLOW_STATISTIC_NAMES = ("face speed", "surround speed", "face-surround mismatch", "face spread", "surround spread")


def flow_statistics(flow: np.ndarray, face_mask: np.ndarray) -> np.ndarray:
    """Five numbers, in pixels per frame, that compare the face's motion with its surroundings'.

    flow: (H, W, 2) float (dx, dy) per pixel. face_mask: (H, W) bool, True inside the face (at
    least one pixel inside and one outside). Returns (5,) float64:

    0. face speed: mean of the flow's length |(dx, dy)| over face pixels;
    1. surround speed: the same over the pixels outside the face;
    2. face-surround mismatch: length of (mean flow vector of the face - mean flow vector outside);
       a head moving as one body gives 0, a face sliding over its head gives its relative speed;
    3. face spread: root-mean-square distance of the face's flow vectors from their mean (0 for a
       rigid shift; a face that wobbles or rotates inside has a spread);
    4. surround spread: the same outside the face.

    Example: the face moves (1, 0) px and the surroundings (0, 0): [1, 0, 1, 0, 0].
    """
    flow = np.asarray(flow, dtype=np.float64)
    face_mask = np.asarray(face_mask, dtype=bool)
    if flow.shape[:2] != face_mask.shape or flow.shape[-1] != 2:
        raise ValueError(f"flow {flow.shape} and face mask {face_mask.shape} do not match")
    if face_mask.all() or not face_mask.any():
        raise ValueError("the face mask needs pixels both inside and outside the face")
    face, surround = flow[face_mask], flow[~face_mask]
    # TODO 2.6: for the face vectors and the surround vectors (each (N, 2)): mean speed = mean
    #   of np.linalg.norm over the last axis; mean vector; spread = sqrt of the mean squared
    #   distance to the mean vector; mismatch = norm of the difference of the two mean vectors
    raise TodoError('2.6: for the face vectors and the surround vectors (each (N, 2)): mean speed = mean of np.linalg.norm over the last axis; mean vector; spread = sqrt of the mean squared distance to the mean vector; mismatch = norm of the difference of the two mean vectors (IMPLEMENTATION_GUIDE.md, 2.6 Flow of the face against its surroundings)')


# ------------------------------------------------------------------------------------------------
# Provided: the flow-statistics clip detector (registered as "flow_statistics")
# ------------------------------------------------------------------------------------------------

FLOW_FEATURE_NAMES = tuple(f"log10 mean {name}" for name in FLOW_STATISTIC_NAMES) + tuple(
    f"log10 max {name}" for name in FLOW_STATISTIC_NAMES)


def flow_clip_features(crops: np.ndarray) -> np.ndarray:
    """Ten numbers for one clip of a tracked face: the log10 mean and maximum over its frame pairs of
    each :func:`flow_statistics` value, from the Farneback flow between consecutive crops.

    crops: (T, S, S, 3) uint8 crops of the same tracked face, T >= 2. Returns (10,) float32 (each
    statistic + 1e-3 px before the log, so a still face gives about -3).
    """
    crops = np.asarray(crops)
    if len(crops) < 2:
        raise ValueError("a clip needs at least two frames")
    mask = face_region_mask(crops.shape[1])
    per_pair = np.stack([flow_statistics(dense_flow(a, b), mask) for a, b in zip(crops[:-1], crops[1:])])
    return np.log10(np.concatenate([per_pair.mean(axis=0), per_pair.max(axis=0)]) + 1e-3).astype(np.float32)


def build_flow_classifier() -> StandardisedLogistic:
    """The ``flow_statistics`` detector: standardised logistic regression on :func:`flow_clip_features`."""
    return StandardisedLogistic(len(FLOW_FEATURE_NAMES))
