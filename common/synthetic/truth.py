"""Ground truth of a synthetic clip: everything a detector could be asked to recover.

Label convention: 1 = FAKE, 0 = REAL. Coordinates are frame pixels with pixel centres at integer
positions (OpenCV convention). A :class:`ClipTruth` saves to and loads from a compressed ``.npz``
holding only plain arrays and one JSON string (no pickles).
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.atomic import atomic_output
from common.errors import DatasetLayoutError

_ARRAY_FIELDS = ("boxes", "eye_landmarks", "eye_openness", "blink_frames", "blink_times_s",
                 "blink_durations_s", "pulse", "mask")


@dataclass
class ClipTruth:
    """Ground truth of one clip of T frames of H x W pixels.

    label: 1 FAKE, 0 REAL.  method: one of ``METHODS``.  identity: the target (shown) identity.
    source_identity: the identity swapped in (None unless the method swaps faces).
    fps: frames per second.  seed: the seed the clip was made from.
    boxes: (T, 4) float32 face box x1, y1, x2, y2 in pixels (MTCNN's box convention).
    eye_landmarks: (T, 2, 6, 2) float32; index 0 is the subject's right eye (image left), 1 the
        left eye; the 6 points p1..p6 of Soukupova & Cech 2016 (p1/p4 the image-left/right
        corners, p2, p3 upper lid, p5, p6 lower lid) as (x, y).
    eye_openness: (T,) float32 in [0, 1], 1 = open.
    blink_frames: (T,) bool, True where the eye is less than half open.
    blink_times_s: (K,) float64 blink start times.  blink_durations_s: (K,) float64.
    blink_rate_per_min: the rate the blinks were drawn with (0 = no blinks).
    heart_rate_bpm: the pulse rate, or None where the clip has no pulse.
    pulse: (T,) float32 the pulse added to the cheeks' green channel (gray levels; zeros if none).
    pulse_mode: "consistent" (same pulse on all skin), "absent", or "antiphase" (forehead pulse
        is the negative of the cheeks' pulse).
    mask: (T, H, W) float32 in [0, 1], the manipulated pixels (zeros for a real clip).
    """

    label: int
    method: str
    identity: str
    source_identity: str | None
    fps: float
    seed: int
    boxes: np.ndarray
    eye_landmarks: np.ndarray
    eye_openness: np.ndarray
    blink_frames: np.ndarray
    blink_times_s: np.ndarray
    blink_durations_s: np.ndarray
    blink_rate_per_min: float
    heart_rate_bpm: float | None
    pulse: np.ndarray
    pulse_mode: str
    mask: np.ndarray = field(repr=False)

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return int(self.boxes.shape[0])

    @property
    def duration_s(self) -> float:
        """Clip duration in seconds (T / fps)."""
        return self.n_frames / self.fps

    def metadata(self) -> dict:
        """The scalar fields as a JSON-ready dict."""
        return {
            "label": int(self.label), "method": self.method, "identity": self.identity,
            "source_identity": self.source_identity, "fps": float(self.fps), "seed": int(self.seed),
            "blink_rate_per_min": float(self.blink_rate_per_min),
            "heart_rate_bpm": None if self.heart_rate_bpm is None else float(self.heart_rate_bpm),
            "pulse_mode": self.pulse_mode,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write to a compressed ``.npz`` (atomically: a temporary file then a rename). Returns the path."""
        path = Path(path)
        arrays = {name: getattr(self, name) for name in _ARRAY_FIELDS}
        with atomic_output(path) as temporary:
            np.savez_compressed(temporary, metadata=np.array(json.dumps(self.metadata())), **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ClipTruth":
        """Read a truth file written by :meth:`save`; DatasetLayoutError if missing or not one."""
        path = Path(path)
        if not path.is_file():
            raise DatasetLayoutError(f"cannot read clip truth '{path}': no such file")
        try:
            with np.load(path, allow_pickle=False) as archive:
                metadata = json.loads(str(archive["metadata"]))
                arrays = {name: archive[name] for name in _ARRAY_FIELDS}
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as error:
            reason = " ".join(str(error).split()) or type(error).__name__
            raise DatasetLayoutError(f"cannot read clip truth '{path}': not a truth file ({reason})") from None
        arrays["mask"] = arrays["mask"].astype(np.float32)
        return cls(**metadata, **arrays)


@dataclass
class Clip:
    """A synthetic clip in memory: frames (T, H, W, 3) uint8 RGB and its :class:`ClipTruth`."""

    frames: np.ndarray
    truth: ClipTruth

    @property
    def label(self) -> int:
        """1 FAKE, 0 REAL."""
        return self.truth.label

    @property
    def method(self) -> str:
        """The manipulation method ("real" for a pristine clip)."""
        return self.truth.method
