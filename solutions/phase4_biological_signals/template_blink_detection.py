"""Eye blinks: the eye aspect ratio (Soukupova & Cech 2016), blink detection and the blink rate.

Idea. Six landmarks outline an eye: p1 and p4 are the corners, p2, p3 on the upper lid and p6, p5
below them. The eye aspect ratio

    EAR = (|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|)

is about 0.25-0.35 for an open eye and drops towards 0 when the lids close, whatever the face's
size or position. A blink is a short run of frames (about 100-400 ms) with EAR below a threshold.
People blink about 15-20 times a minute; early deepfakes, trained on photos of open eyes, rarely
blink at all (Li, Chang, Lyu, "In Ictu Oculi", WIFS 2018).

A fixed EAR threshold (0.2 in the paper) fails across faces and landmark models: one person's open
eye reads 0.22, another's 0.32, and mediapipe's face mesh reads lower than hand labels. So the
threshold here is a fraction of the person's own open-eye EAR (the clip's median), and a blink must
last a minimum number of frames, so that one noisy frame is not a blink.

Papers: T. Soukupova, J. Cech, "Real-Time Eye Blink Detection using Facial Landmarks", CVWW 2016.

Guide: IMPLEMENTATION_GUIDE.md, phase 4 (4.1-4.3).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


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
    # BEGIN SOLUTION 4.1: measure the two vertical distances |p2-p6|, |p3-p5| and the horizontal |p1-p4| with np.linalg.norm over the last axis (points are 0-indexed: p1 is eye[..., 0, :])
    vertical = np.linalg.norm(eye[..., 1, :] - eye[..., 5, :], axis=-1) + np.linalg.norm(eye[..., 2, :] - eye[..., 4, :], axis=-1)
    horizontal = np.linalg.norm(eye[..., 0, :] - eye[..., 3, :], axis=-1)
    return vertical / (2.0 * horizontal)
    # END SOLUTION


# ------------------------------------------------------------------------------------------------
# 4.2 Blinks: a threshold under the person's own open-eye EAR, held for a minimum run of frames
# ------------------------------------------------------------------------------------------------

BLINK_RATIO = 0.7
"""A frame is 'closed' when its EAR is below this fraction of the person's open-eye baseline."""
MIN_BLINK_FRAMES = 2
"""Shortest run of closed frames that counts as a blink (Soukupova & Cech: 2-3 frames at 25-30 fps)."""
MAX_BLINK_S = 1.0
"""Longest closure that is still a blink (longer: eyes shut on purpose, looking down, asleep)."""


def detect_blinks(ear: np.ndarray, fps: float, ratio: float = BLINK_RATIO, min_frames: int = MIN_BLINK_FRAMES,
                  max_s: float = MAX_BLINK_S) -> np.ndarray:
    """Find the blinks in a per-frame EAR curve.

    ear: (T,) float, one EAR per frame (mean of both eyes); NaN where the landmarks failed (such a
    frame counts as open: it can neither start nor extend a blink).  fps: frames per second.
    The per-person baseline is the median of the finite EAR values (eyes are open >90% of the time,
    so blinks barely move it, while it adapts to each face: one person's open eye is 0.22, another's
    0.32, and a landmark model may report all of them lower). A frame is closed when
    ``ear < ratio * baseline``; a blink is a maximal run of closed frames at least ``min_frames``
    long and at most ``max_s * fps`` frames long. Runs that touch the first or the last frame count
    like any other (a blink cut by the clip's edge is still a blink).

    Returns (K, 2) int64 [start, stop) frame indices of the blinks, in time order (stop exclusive).

    Example: ear = [.3, .3, .1, .1, .3, .1, .3] at 25 fps: baseline 0.3, threshold 0.21, closed runs
    [2, 4) (2 frames: a blink) and [5, 6) (1 frame: too short) -> [[2, 4]].
    """
    ear = np.asarray(ear, dtype=np.float64)
    if ear.ndim != 1:
        raise ValueError(f"expected a (T,) EAR curve, got shape {ear.shape}")
    finite = np.isfinite(ear)
    if not finite.any():
        return np.zeros((0, 2), np.int64)
    # BEGIN SOLUTION 4.2: baseline = np.median of the finite EAR values; closed = finite & (ear < ratio * baseline); find each maximal run of closed frames (np.diff of the closed mask padded with False at both ends gives +1 at starts, -1 at stops) and keep runs with min_frames <= length <= max_s * fps
    baseline = float(np.median(ear[finite]))
    closed = finite & (ear < ratio * baseline)
    edges = np.diff(np.concatenate([[0], closed.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = stops - starts
    keep = (lengths >= min_frames) & (lengths <= max_s * fps)
    return np.stack([starts[keep], stops[keep]], axis=1).astype(np.int64)
    # END SOLUTION


# ------------------------------------------------------------------------------------------------
# 4.3 Blink rate, durations and a verdict against the human range
# ------------------------------------------------------------------------------------------------

HUMAN_BLINK_RATE_PER_MIN = (6.0, 40.0)
"""Blink rates a person at rest plausibly shows (typical 15-20 a minute; individuals vary widely)."""


@dataclass(frozen=True)
class BlinkSummary:
    """What the blinks of a clip say.

    count: blinks.  rate_per_min: count / duration * 60.  durations_s: (K,) float64 seconds.
    mean_duration_s: their mean (0 without blinks).  verdict: "too few", "normal" or "too many"
    against :data:`HUMAN_BLINK_RATE_PER_MIN`.
    """

    count: int
    rate_per_min: float
    durations_s: np.ndarray
    mean_duration_s: float
    verdict: str


def blink_summary(blinks: np.ndarray, n_frames: int, fps: float,
                  human_range: tuple[float, float] = HUMAN_BLINK_RATE_PER_MIN) -> BlinkSummary:
    """Count, rate, durations and verdict of the blinks of a clip of ``n_frames`` at ``fps``.

    blinks: (K, 2) [start, stop) frame indices from :func:`detect_blinks`. The clip lasts
    ``n_frames / fps`` seconds; a blink lasts ``(stop - start) / fps`` seconds. The verdict is
    "too few" below ``human_range[0]`` blinks a minute, "too many" above ``human_range[1]``
    (both bounds themselves are "normal").

    Example: blinks [[10, 14], [100, 103]] in 250 frames at 25 fps (10 s): count 2, 12 per minute,
    durations [0.16, 0.12] s, mean 0.14 s, "normal".
    """
    blinks = np.asarray(blinks, dtype=np.int64).reshape(-1, 2)
    if n_frames < 1 or fps <= 0:
        raise ValueError(f"a clip needs n_frames >= 1 and fps > 0, got {n_frames}, {fps}")
    # BEGIN SOLUTION 4.3: duration of the clip = n_frames / fps seconds; rate = count per minute; durations = (stop - start) / fps; the verdict compares the rate with both ends of human_range; return a BlinkSummary
    count = len(blinks)
    rate = count / (n_frames / fps) * 60.0
    durations = (blinks[:, 1] - blinks[:, 0]) / fps
    mean_duration = float(durations.mean()) if count else 0.0
    verdict = "too few" if rate < human_range[0] else "too many" if rate > human_range[1] else "normal"
    return BlinkSummary(int(count), float(rate), durations.astype(np.float64), mean_duration, verdict)
    # END SOLUTION


# ------------------------------------------------------------------------------------------------
# The blink detector (provided): features of a window for a small classifier
# ------------------------------------------------------------------------------------------------

BLINK_FEATURE_NAMES = ("rate_per_min / 20", "closed_share * 10", "mean_duration_s * 5")


def ear_curve(series) -> np.ndarray:
    """(T,) float64 mean EAR of both eyes per frame of a :class:`common.landmarks.LandmarkSeries` (NaN where it failed)."""
    ear = eye_aspect_ratio(np.asarray(series.eyes, np.float64)).mean(axis=1)
    ear[~np.asarray(series.ok)] = np.nan
    return ear


def blink_features(crops: np.ndarray, series, fps: float) -> np.ndarray:
    """(3,) float32 features of a window for the blink detector: the blink rate (in 20s a minute),
    the share of frames inside a blink (x 10) and the mean blink duration (x 5 per second), from the
    window's landmarks (tasks 4.1-4.3). ``crops`` is unused (the signature of every phase-4 feature
    function). Example: 3 blinks of 0.2 s in a 10-s window at 25 fps -> [0.9, 0.6, 1.0]."""
    ear = ear_curve(series)
    blinks = detect_blinks(ear, fps)
    summary = blink_summary(blinks, len(ear), fps)
    closed_share = float((blinks[:, 1] - blinks[:, 0]).sum()) / max(len(ear), 1)
    return np.array([summary.rate_per_min / 20.0, closed_share * 10.0, summary.mean_duration_s * 5.0], np.float32)


def window_signals(crops: np.ndarray, series, fps: float) -> dict:
    """The blink detector's time series of a window, for the report and its plots (provided).

    Returns ``{"ear": (T,) float64 mean EAR per frame (NaN where landmarks failed, :func:`ear_curve`),
    "ear_threshold": the EAR below which a frame is closed (``BLINK_RATIO`` times the median of the
    finite EAR, as in :func:`detect_blinks`; NaN without landmarks), "blinks": (K, 2) [start, stop)
    positions in the window (:func:`detect_blinks`)}``. ``crops`` is unused, as in :func:`blink_features`.
    Example: EAR 0.3 everywhere but 0.1 in frames 2-3 -> threshold 0.21, blinks [[2, 4]].
    """
    ear = ear_curve(series)
    finite = np.isfinite(ear)
    threshold = BLINK_RATIO * float(np.median(ear[finite])) if finite.any() else float("nan")
    return {"ear": ear, "ear_threshold": threshold, "blinks": detect_blinks(ear, fps)}


class SignalClassifier(nn.Module):
    """Logistic regression on a phase-4 feature vector: (B, D) float32 -> (B, 1) logits.

    The features are already scaled to about unit size by their feature function, so this is only
    ``nn.Linear(D, 1)`` (P(FAKE) = sigmoid(logit)), like phase 2's ``FrameDifferenceClassifier``.
    ``window_s``: the seconds of video it reads (kept in the checkpoint's config).
    """

    def __init__(self, n_features: int = len(BLINK_FEATURE_NAMES), window_s: float = 10.0) -> None:
        super().__init__()
        self.window_s = float(window_s)
        self.linear = nn.Linear(n_features, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(features)
