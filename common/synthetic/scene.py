"""The scene around the face: a textured background, natural head motion and slow lighting changes.

A person talking to a fixed camera moves the head slowly and smoothly (a few percent of the frame,
a few degrees of roll, small changes of distance) and the room light drifts over seconds. Both are
sums of a few slow sinusoids (below 0.3 Hz, well under the 0.7-4 Hz pulse band that rPPG looks at), so
they are smooth, never repeat exactly, and stay deterministic for a seed.

Backgrounds are defocused crops of scikit-image's sample textures (brick, grass, gravel, coins,
the Moon, Hubble's deep field, ...) or smooth multi-scale noise, tinted and dimmed. No background
image contains a face.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

MAX_MOTION_HZ = 0.3
"""Highest frequency of head motion and lighting drift (Hz)."""

_TEXTURES = ("brick", "grass", "gravel", "coins", "moon", "page", "text", "clock", "cell",
             "coffee", "rocket", "hubble_deep_field", "immunohistochemistry")


def smooth_signal(rng: np.random.Generator, n_frames: int, fps: float, amplitude: float,
                  max_hz: float = MAX_MOTION_HZ, n_waves: int = 3) -> np.ndarray:
    """A smooth random signal, (T,) float64 in [-amplitude, amplitude].

    Sum of ``n_waves`` sinusoids with random frequencies in [0.03, max_hz] Hz, phases and weights,
    normalised by the sum of weights. Example: amplitude 5 gives a slow wander within +-5.
    """
    t = np.arange(n_frames, dtype=np.float64) / fps
    freqs = rng.uniform(0.03, max_hz, n_waves)
    phases = rng.uniform(0, 2 * np.pi, n_waves)
    weights = rng.uniform(0.5, 1.0, n_waves)
    waves = np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None])
    return amplitude * (weights @ waves) / weights.sum()


@dataclass(frozen=True)
class HeadMotion:
    """Head pose per frame in frame pixels.

    centre: (T, 2) face-box centre (x, y).  angle_deg: (T,) roll, counter-clockwise positive.
    scale: (T,) multiplier of the face size (1 = the clip's base size).
    """

    centre: np.ndarray
    angle_deg: np.ndarray
    scale: np.ndarray


def draw_head_motion(rng: np.random.Generator, n_frames: int, fps: float, size: int) -> HeadMotion:
    """Natural head motion: centre near (0.5, 0.47) of the frame drifting by up to 4% of its side,
    roll within +-4 degrees, scale within +-4%."""
    base = np.array([rng.uniform(0.45, 0.55), rng.uniform(0.42, 0.52)]) * size
    dx = smooth_signal(rng, n_frames, fps, 0.04 * size)
    dy = smooth_signal(rng, n_frames, fps, 0.03 * size)
    centre = base[None, :] + np.stack([dx, dy], axis=1)
    angle = rng.uniform(-2.0, 2.0) + smooth_signal(rng, n_frames, fps, 3.0)
    scale = 1.0 + smooth_signal(rng, n_frames, fps, 0.04)
    return HeadMotion(centre=centre, angle_deg=angle, scale=scale)


def pose_matrices(motion: HeadMotion, sprite_centre: np.ndarray) -> np.ndarray:
    """Affine maps from sprite pixels to frame pixels, (T, 2, 3) float64.

    Frame t rotates by angle_deg[t] and scales by scale[t] about ``sprite_centre`` (the sprite's
    face-box centre) and puts that point at centre[t]. A point p maps to M[:, :2] @ p + M[:, 2].
    """
    theta = np.deg2rad(motion.angle_deg)
    cos, sin = np.cos(theta) * motion.scale, np.sin(theta) * motion.scale
    # Image y points down, so a counter-clockwise roll on screen is [[cos, sin], [-sin, cos]].
    linear = np.stack([np.stack([cos, sin], axis=1), np.stack([-sin, cos], axis=1)], axis=1)
    offset = motion.centre - linear @ np.asarray(sprite_centre, dtype=np.float64)
    return np.concatenate([linear, offset[:, :, None]], axis=2)


@dataclass(frozen=True)
class Lighting:
    """Slow lighting changes. gain: (T,) overall brightness factor; tilt: (T,) left-right gradient
    (the factor changes by ``tilt`` from the frame's centre to its right edge)."""

    gain: np.ndarray
    tilt: np.ndarray


def draw_lighting(rng: np.random.Generator, n_frames: int, fps: float) -> Lighting:
    """Brightness drifting within +-6% around a base in [0.9, 1.1], and a side light within +-12%."""
    gain = rng.uniform(0.9, 1.1) + smooth_signal(rng, n_frames, fps, 0.06, max_hz=0.25)
    tilt = rng.uniform(-0.08, 0.08) + smooth_signal(rng, n_frames, fps, 0.04, max_hz=0.25)
    return Lighting(gain=gain, tilt=tilt)


def apply_lighting(frame: np.ndarray, gain: float, tilt: float) -> np.ndarray:
    """Multiply an (H, W, 3) float32 frame by ``gain * (1 + tilt * (x - W/2) / (W/2))``, in place."""
    width = frame.shape[1]
    ramp = (np.arange(width, dtype=np.float32) - width / 2) / (width / 2)
    factor = (gain * (1.0 + tilt * ramp)).astype(np.float32)
    frame *= factor[None, :, None]
    return frame


@functools.lru_cache(maxsize=None)
def _texture(name: str) -> np.ndarray:
    """A scikit-image sample image as float32 RGB 0..255."""
    from skimage import data

    image = np.asarray(getattr(data, name)(), dtype=np.float32)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return image[..., :3]


def _smooth_noise(rng: np.random.Generator, size: int) -> np.ndarray:
    """Multi-scale smooth noise, (size, size, 3) float32 roughly in 0..255."""
    total = np.zeros((size, size, 3), dtype=np.float32)
    for sigma_fraction, weight in ((0.25, 1.0), (0.08, 0.5), (0.02, 0.25)):
        noise = rng.standard_normal((size, size, 3)).astype(np.float32)
        blurred = cv2.GaussianBlur(noise, (0, 0), max(0.5, sigma_fraction * size))
        total += weight * blurred / (blurred.std() + 1e-6)
    return 128.0 + 40.0 * total / 1.75


def make_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A textured, defocused, tinted background, (size, size, 3) float32 in 0..255.

    One of the sample textures (random crop, flip and scale) or smooth noise; blurred like an
    out-of-focus wall, contrast reduced, tinted and set to a random brightness in [60, 190].
    """
    kind = rng.integers(len(_TEXTURES) + 2)  # two chances in 15 of smooth noise
    if kind >= len(_TEXTURES):
        image = _smooth_noise(rng, size)
    else:
        texture = _texture(_TEXTURES[kind])
        height, width = texture.shape[:2]
        side = int(rng.uniform(0.4, 0.95) * min(height, width))
        top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        crop = texture[top:top + side, left:left + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        image = cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=cv2.INTER_AREA)
    image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.6, 2.0) * size / 128)
    mean = image.mean(axis=(0, 1), keepdims=True)
    image = mean + (image - mean) * rng.uniform(0.4, 0.85)
    tint = rng.uniform(0.75, 1.2, 3).astype(np.float32)
    image = image * tint / image.mean() * rng.uniform(60, 190)
    return np.clip(image, 0, 255).astype(np.float32)
