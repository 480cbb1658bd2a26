"""Physiological signals of a talking head: eye blinks and the pulse.

Blinks. People at rest blink about 10-30 times a minute; a blink lasts 100-400 ms, the lid closing
faster than it opens (Stern et al. 1984). Early deepfakes rarely blinked (Li, Chang & Lyu 2018,
"In Ictu Oculi"). We draw a blink rate per clip, inter-blink intervals from a gamma distribution
with that mean, and a duration per blink; the eye openness follows a close / stay shut / reopen
profile. The eye is described by the 6 points of Soukupova & Cech 2016, so that the eye aspect
ratio EAR = (|p2-p6| + |p3-p5|) / (2 |p1-p4|) is about 0.3 for an open eye and 0 when shut.

Pulse. Each heartbeat changes the skin's blood volume and so its colour by a fraction of a gray
level, strongest in green (Verkruysse et al. 2008, the basis of remote photoplethysmography, rPPG).
We add a periodic waveform at the heart rate (a fundamental plus a second harmonic, like a PPG
wave) to the skin pixels, about 0.5-2 gray levels in green and less in red and blue.

Blink and pulse cues need long clips: generate physiological benchmarks with ``--frames 250`` or
more (10 s at 25 fps); a 64-frame clip (2.6 s) holds at most one or two blinks and heartbeats.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLINK_RATE_PER_MIN = (10.0, 30.0)
"""Range of human resting blink rates drawn for a real clip (blinks per minute)."""
BLINK_DURATION_S = (0.1, 0.4)
"""Range of blink durations (seconds, lid starts closing to fully open again)."""
HEART_RATE_BPM = (50.0, 120.0)
"""Range of heart rates drawn for a clip (beats per minute)."""
PULSE_GREEN_AMPLITUDE = (1.2, 2.0)
"""Range of the pulse's amplitude in the green channel (gray levels, half peak-to-peak)."""
PULSE_CHANNEL_WEIGHTS = np.array([0.45, 1.0, 0.6], dtype=np.float32)
"""Pulse amplitude of R, G, B relative to green (blood absorbs green most)."""


@dataclass(frozen=True)
class BlinkSchedule:
    """The blinks of one clip.

    start_s: (K,) float64 blink start times in seconds.  duration_s: (K,) float64 durations.
    rate_per_min: the blink rate the intervals were drawn with (0 for a clip without blinks).
    """

    start_s: np.ndarray
    duration_s: np.ndarray
    rate_per_min: float


def blink_phases(duration_s: float, fps: float) -> tuple[float, float, float]:
    """Split a blink into (closing, shut, opening) seconds: 30% / 25% / 45% of its duration.

    The shut phase lasts at least 1.05 frame periods, so every blink is fully shut on at least one
    sampled frame. Example: a 0.2-s blink at 25 fps is (0.06, 0.05, 0.09).
    """
    closing, opening = 0.30 * duration_s, 0.45 * duration_s
    shut = max(0.25 * duration_s, 1.05 / fps)
    return closing, shut, opening


def draw_blink_schedule(
    rng: np.random.Generator,
    clip_duration_s: float,
    fps: float,
    rate_per_min: float,
    duration_range_s: tuple[float, float] = BLINK_DURATION_S,
) -> BlinkSchedule:
    """Draw blink start times and durations for a clip.

    Inter-blink intervals are gamma-distributed (shape 3, mean 60/rate seconds) with a refractory
    gap of at least 0.3 s after each blink; the first blink falls uniformly inside a first interval
    so a clip does not always start with one. rate_per_min = 0 gives no blinks. Durations are drawn
    in ``duration_range_s`` and lengthened where needed by :func:`blink_phases`.
    Returns a :class:`BlinkSchedule` with every start inside [0, clip_duration_s).
    Example: at 20 blinks/min a 10-s clip gets about 3 blinks.
    """
    if rate_per_min <= 0:
        return BlinkSchedule(np.zeros(0), np.zeros(0), 0.0)
    mean_interval = 60.0 / rate_per_min
    shape = 3.0
    starts, durations = [], []
    time_s = rng.uniform(0.0, mean_interval)
    while time_s < clip_duration_s:
        duration = float(sum(blink_phases(rng.uniform(*duration_range_s), fps)))
        starts.append(time_s)
        durations.append(duration)
        gap = rng.gamma(shape, mean_interval / shape)
        time_s += max(gap, duration + 0.3)
    return BlinkSchedule(np.array(starts, dtype=np.float64), np.array(durations, dtype=np.float64), float(rate_per_min))


def blink_closure(time_s: np.ndarray, start_s: float, phases: tuple[float, float, float]) -> np.ndarray:
    """Lid closure in [0, 1] (1 = shut) during one blink, at times ``time_s`` (seconds, any shape).

    phases: (closing, shut, opening) seconds from :func:`blink_phases`; cosine ramps down and up.
    Example: with phases (0.06, 0.05, 0.09), at start + 0.08 s the eye is shut (closure 1).
    """
    closing, shut, opening = phases
    t = np.asarray(time_s, dtype=np.float64) - start_s
    closure = np.zeros_like(t)
    going_down = (t >= 0) & (t < closing)
    closure[going_down] = 0.5 - 0.5 * np.cos(np.pi * t[going_down] / closing)
    closure[(t >= closing) & (t < closing + shut)] = 1.0
    coming_up = (t >= closing + shut) & (t < closing + shut + opening)
    closure[coming_up] = 0.5 + 0.5 * np.cos(np.pi * (t[coming_up] - closing - shut) / opening)
    return closure


def eye_openness(schedule: BlinkSchedule, n_frames: int, fps: float) -> np.ndarray:
    """Eye openness per frame, (T,) float32 in [0, 1] (1 = open), from a blink schedule.

    Frame k is sampled at time k / fps. The schedule's durations already include the stretched
    shut phase, so they are split back into phases with the same 30/45 ramp proportions.
    """
    times = np.arange(n_frames, dtype=np.float64) / fps
    closure = np.zeros(n_frames, dtype=np.float64)
    for start, duration in zip(schedule.start_s, schedule.duration_s):
        closure = np.maximum(closure, blink_closure(times, start, phases_of_total(duration, fps)))
    return (1.0 - closure).astype(np.float32)


def phases_of_total(total_s: float, fps: float) -> tuple[float, float, float]:
    """Invert :func:`blink_phases`: the (closing, shut, opening) of a blink lasting ``total_s``."""
    if 0.25 * total_s >= 1.05 / fps:
        return 0.30 * total_s, 0.25 * total_s, 0.45 * total_s
    ramps = (total_s - 1.05 / fps) / 0.75
    return 0.30 * ramps, 1.05 / fps, 0.45 * ramps


BLINK_OPENNESS_THRESHOLD = 0.5
"""A frame is a blink frame when the eye is less than half open."""


@dataclass(frozen=True)
class EyeShape:
    """Geometry of one eye in sprite pixels.

    centre: (2,) eye centre (MTCNN landmark).  axis: (2,) unit vector along the eye from the image-
    left corner to the image-right corner.  width: corner-to-corner distance.  upper, lower: the
    open lids' heights above and below the centre line at the middle of the eye (pixels).
    """

    centre: np.ndarray
    axis: np.ndarray
    width: float
    upper: float
    lower: float

    @property
    def normal(self) -> np.ndarray:
        """Unit vector perpendicular to the eye axis, pointing down the face."""
        return np.array([-self.axis[1], self.axis[0]], dtype=np.float64)

    def scaled(self, width_factor: float, height_factor: float) -> "EyeShape":
        """The same eye enlarged by the given factors (used to cover the photographed eye)."""
        return EyeShape(self.centre, self.axis, self.width * width_factor,
                        self.upper * height_factor, self.lower * height_factor)


# Where along the eye p2/p3 (upper lid) and p6/p5 (lower lid) sit, as a fraction of the half width.
_LID_POINT_OFFSET = 1.0 / 3.0


def lid_profile(s: np.ndarray) -> np.ndarray:
    """Lid height profile along the eye, s in [-1, 1] from corner to corner: sqrt(1 - s^2)."""
    return np.sqrt(np.clip(1.0 - np.square(s), 0.0, 1.0))


def eye_shapes_from_landmarks(landmarks: np.ndarray, open_ear: float) -> tuple[EyeShape, EyeShape]:
    """The two eyes' geometry from MTCNN's 5 landmarks.

    landmarks: (5, 2) with rows 0, 1 the eye centres (image left, image right).  open_ear: the EAR
    of the open eye (e.g. 0.3). Eye width is 0.45 of the interocular distance (human palpebral
    fissure ~29 mm for ~63 mm between pupils); the opening is split 60% above, 40% below the
    centre. Returns (subject's right eye = image left, subject's left eye = image right).
    """
    right, left = landmarks[0].astype(np.float64), landmarks[1].astype(np.float64)
    interocular = float(np.linalg.norm(left - right))
    axis = (left - right) / interocular
    width = 0.45 * interocular
    opening = open_ear * width / float(lid_profile(np.array(_LID_POINT_OFFSET)))
    return tuple(EyeShape(centre, axis, width, 0.6 * opening, 0.4 * opening) for centre in (right, left))


def eye_points(eye: EyeShape, openness: float) -> np.ndarray:
    """The 6 Soukupova & Cech points of one eye, (6, 2) float64 (x, y) in sprite pixels.

    p1 and p4 are the image-left and image-right corners; p2, p3 lie on the upper lid and p5, p6 on
    the lower lid (p2 above p6, p3 above p5). The upper lid drops towards the lower lid as
    ``openness`` goes from 1 to 0, so EAR = openness * open EAR.
    """
    half = eye.width / 2
    offsets = np.array([-1.0, -_LID_POINT_OFFSET, _LID_POINT_OFFSET, 1.0, _LID_POINT_OFFSET, -_LID_POINT_OFFSET])
    profile = lid_profile(offsets)
    lower = eye.lower * profile
    upper = lower - openness * (eye.upper + eye.lower) * profile
    across = np.concatenate([[0.0], upper[1:3], [0.0], lower[4:6]])
    return eye.centre + np.outer(offsets * half, eye.axis) + np.outer(across, eye.normal)


def eye_aspect_ratio(points: np.ndarray) -> np.ndarray:
    """EAR of Soukupova & Cech 2016 from (..., 6, 2) eye points: (|p2-p6| + |p3-p5|) / (2 |p1-p4|)."""
    p = np.asarray(points, dtype=np.float64)
    vertical = np.linalg.norm(p[..., 1, :] - p[..., 5, :], axis=-1) + np.linalg.norm(p[..., 2, :] - p[..., 4, :], axis=-1)
    return vertical / (2.0 * np.linalg.norm(p[..., 0, :] - p[..., 3, :], axis=-1))


def pulse_waveform(n_frames: int, fps: float, heart_rate_bpm: float, phase: float) -> np.ndarray:
    """A PPG-like wave at the heart rate, (T,) float64 with peak amplitude 1.

    Fundamental plus a weaker second harmonic (the dicrotic shape of a real PPG wave).
    Example: heart_rate_bpm = 72 repeats every 25/1.2 = 20.8 frames at 25 fps.
    """
    t = np.arange(n_frames, dtype=np.float64) / fps
    angle = 2 * np.pi * heart_rate_bpm / 60.0 * t + phase
    wave = np.sin(angle) + 0.3 * np.sin(2 * angle + 0.8)
    return wave / 1.3
