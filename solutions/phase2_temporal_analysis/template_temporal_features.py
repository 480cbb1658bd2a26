"""Temporal features: how much a face changes from one frame to the next.

Idea. A real video of a talking head changes smoothly: neighbouring frames differ by a little
motion and noise. A face synthesised frame by frame has no memory of the previous frame, so its
texture, colour and position flicker; the energy of the frame-to-frame difference inside the face
is higher and burstier than in real footage. These cheap signals are the first temporal cue a
detector can use, before learning one with an LSTM or a 3-D CNN.

Three signals, each a task:

* 2.1 the frame-difference energy: how much the face's pixels change per frame;
* 2.2 the temporal flicker: how much of a per-frame statistic of the face (its mean brightness or
  colour) changes *faster* than a person can, the power above a cut-off frequency;
* 2.3 the landmark jitter: how much the face's landmarks move against each other once the head's
  own motion (translation, rotation, scale) is removed.

Papers: D. Guera, E. Delp, "Deepfake Video Detection Using Recurrent Neural Networks", AVSS 2018;
E. Sabir et al., "Recurrent Convolutional Strategies for Face Manipulation Detection in Videos",
CVPR workshops 2019; S. Umeyama, "Least-squares estimation of transformation parameters between two
point patterns", TPAMI 1991 (the similarity fit of 2.3).

Guide: IMPLEMENTATION_GUIDE.md, phase 2.
"""
from __future__ import annotations

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
    # BEGIN SOLUTION 2.1: convert to float64 (uint8 subtraction wraps around!), np.diff along time, take the absolute value and average over every axis but time, then divide by scale
    values = frames.astype(np.float64)
    differences = np.abs(np.diff(values, axis=0))
    return differences.reshape(len(differences), -1).mean(axis=1) / scale
    # END SOLUTION


def high_frequency_energy(series: np.ndarray, fps: float, cutoff_hz: float) -> np.ndarray | float:
    """Power of a per-frame series above ``cutoff_hz``, in the series' units squared.

    series: (T,) or (T, C) float, one value (or C values) per frame, sampled at ``fps`` frames per
    second. Returns a float for (T,) input, (C,) float64 for (T, C).

    The power is the one-sided power spectrum of the series with its mean removed, the quantity
    ``scipy.signal.periodogram(x, fs, scaling="spectrum")`` gives: bin k of ``rfft`` has power
    ``|X_k|^2 / T^2``, doubled for every bin that has a negative-frequency twin (all but DC and, for
    even T, the Nyquist bin). Summed over *all* bins it is the series' variance (Parseval); summed
    over the bins whose frequency ``k * fps / T`` is above the cut-off it is the variance that
    changes faster than ``cutoff_hz``.

    Example: 50 frames at 25 fps of ``0.1 * sin(2 pi 5 t)`` (5 Hz, exactly bin 10) have variance
    0.1^2 / 2 = 0.005, all of it at 5 Hz: the energy above 2 Hz is 0.005, above 6 Hz it is 0.
    """
    values = np.asarray(series, dtype=np.float64)
    if values.ndim not in (1, 2) or len(values) < 2:
        raise ValueError(f"expected a series of shape (T,) or (T, C) with T >= 2, got {values.shape}")
    n = len(values)
    # BEGIN SOLUTION 2.2: remove the mean over time, take |np.fft.rfft|^2 / T^2 along time, double every bin except DC and (for even T) the last one, and sum the bins whose np.fft.rfftfreq(T, 1 / fps) is above cutoff_hz
    centred = values - values.mean(axis=0)
    power = np.abs(np.fft.rfft(centred, axis=0)) ** 2 / n ** 2
    power[1:] *= 2.0
    if n % 2 == 0:
        power[-1] /= 2.0
    frequencies = np.fft.rfftfreq(n, d=1.0 / fps)
    return power[frequencies > cutoff_hz].sum(axis=0)
    # END SOLUTION


def landmark_jitter(landmarks: np.ndarray) -> np.ndarray:
    """How much the landmarks move against each other between consecutive frames, in pixels.

    landmarks: (T, K, 2) float, K >= 2 points (x, y) of one face per frame (MTCNN's 5). Returns
    (T-1,) float64: entry t is the root-mean-square distance, in pixels, between the points of frame
    t+1 and the points of frame t mapped onto them by the best similarity transform (scale s,
    rotation R, translation; least squares, Umeyama 1991). A head that moves, turns or comes
    closer has zero jitter; a face re-synthesised in every frame, whose features wobble
    independently of the head, does not.

    The fit, for centred points x_i (frame t) and y_i (frame t+1): take the SVD U S V^T of the
    2x2 cross-covariance sum_i y_i x_i^T; R = U D V^T with D = diag(1, sign(det(U V^T))) (a
    rotation, never a mirror); s = trace(D S) / sum_i |x_i|^2; the residual of point i is
    s R x_i - y_i.

    Example: a frame whose 5 points are those of the previous frame rotated by 10 degrees, scaled
    by 1.2 and shifted by (3, -1) pixels has jitter 0.
    """
    points = np.asarray(landmarks, dtype=np.float64)
    if points.ndim != 3 or points.shape[2] != 2 or points.shape[1] < 2:
        raise ValueError(f"expected landmarks of shape (T, K, 2) with K >= 2, got {points.shape}")
    jitter = np.zeros(max(len(points) - 1, 0))
    for t in range(len(points) - 1):
        source = points[t] - points[t].mean(axis=0)
        target = points[t + 1] - points[t + 1].mean(axis=0)
        # BEGIN SOLUTION 2.3: SVD of the cross-covariance target.T @ source; the rotation U D V^T with D = diag(1, sign(det(U V^T))); the scale trace(D S) / (source**2).sum(); jitter[t] = RMS over points of the distance between scale * source @ R.T and target
        u, singular, vt = np.linalg.svd(target.T @ source)
        d = np.array([1.0, np.sign(np.linalg.det(u @ vt))])
        rotation = u @ np.diag(d) @ vt
        spread = (source ** 2).sum()
        scale = (singular * d).sum() / spread if spread > 0 else 0.0
        residual = scale * source @ rotation.T - target
        jitter[t] = np.sqrt((residual ** 2).sum(axis=1).mean())
        # END SOLUTION
    return jitter


# ------------------------------------------------------------------------------------------------
# Provided: per-frame statistics of the face, and the clip feature vector of the temporal detector
# ------------------------------------------------------------------------------------------------

FLICKER_CUTOFF_HZ = 3.0
"""Brightness and colour of a real face change slowly (head motion, light, the pulse at 0.7-4 Hz is
tiny); a face rendered frame by frame flickers at every frequency up to half the frame rate."""

FACE_STATISTIC_NAMES = ("red", "green", "blue", "luma")


def face_statistics(crops: np.ndarray, inner: float = 1 / 1.3) -> np.ndarray:
    """Mean red, green, blue and luma of the central face region of each crop, in [0, 1].

    crops: (T, S, S, 3) uint8 face crops (a square of 1.3 times the face box, as the course cuts
    them). ``inner``: side of the central square kept, as a fraction of S (1 / 1.3 keeps the face
    box, not the background around it). Returns (T, 4) float64; luma is 0.299 R + 0.587 G + 0.114 B.

    Example: a crop that is (255, 0, 0) everywhere gives [1, 0, 0, 0.299].
    """
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"expected crops of shape (T, S, S, 3), got {crops.shape}")
    side = crops.shape[1]
    margin = int(round(side * (1 - inner) / 2))
    centre = crops[:, margin:side - margin, margin:side - margin].astype(np.float64) / 255.0
    rgb = centre.mean(axis=(1, 2))
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    return np.column_stack([rgb, luma])


TEMPORAL_FEATURE_NAMES = ("log10 mean energy", "log10 std energy", "log10 max energy",
                          "log10 90th percentile energy") + tuple(f"log10 {name} flicker" for name in FACE_STATISTIC_NAMES)


def temporal_clip_features(crops: np.ndarray, fps: float = 25.0) -> np.ndarray:
    """Eight numbers for one clip of a tracked face: the 4 frame-difference statistics of
    :func:`clip_features` (task 2.1) and the log10 flicker energy (task 2.2) above
    :data:`FLICKER_CUTOFF_HZ` of each face statistic (:func:`face_statistics`).

    crops: (T, S, S, 3) uint8, T >= 2 consecutive frames at ``fps``. Returns (8,) float32. The clip
    detectors of the course see crops at the video's own rate; mini-forensics is 25 fps.

    Example: a face whose brightness jumps by 2% at random every frame has flicker energies about
    log10(0.02^2 * 0.76) = -3.5 (the share of white noise above 3 of 12.5 Hz is 0.76); a real one,
    about -5 or less.
    """
    crops = np.asarray(crops)
    statistics = face_statistics(crops)
    flicker = np.log10(high_frequency_energy(statistics, fps, FLICKER_CUTOFF_HZ) + 1e-7)
    return np.concatenate([clip_features(crops), flicker]).astype(np.float32)


class StandardisedLogistic(nn.Module):
    """Logistic regression on standardised features: (B, D) -> (B,) logits.

    A ``BatchNorm1d`` without learned scale and shift standardises each feature with the training
    set's running mean and variance (in eval mode, those stored statistics), so plain gradient
    descent works whatever the features' units; then one linear layer. It is scikit-learn's
    ``StandardScaler`` + ``LogisticRegression`` written as a network the shared training loop fits.
    """

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.standardise = nn.BatchNorm1d(n_features, affine=False)
        self.linear = nn.Linear(n_features, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear(self.standardise(features)).squeeze(1)


def build_temporal_classifier() -> StandardisedLogistic:
    """The ``temporal_features`` detector: :class:`StandardisedLogistic` on :func:`temporal_clip_features`."""
    return StandardisedLogistic(len(TEMPORAL_FEATURE_NAMES))


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
