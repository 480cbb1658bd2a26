"""Dense facial landmarks for the biological-signal detectors: eyes for blinks, skin for the pulse.

Phase 4's cues need more than MTCNN's five points: the eye aspect ratio needs six points per eye
(Soukupova & Cech 2016), the pulse needs patches of bare skin (forehead and both cheeks) followed
frame by frame, and head pose needs points spread over the face. One small interface provides them:

* :class:`FaceMeshLandmarker` runs mediapipe 0.10.14's face mesh (468 points + 10 iris points, the
  model ships inside the wheel, works offline) on RGB uint8 face crops or frames;
* :func:`truth_landmarks` turns the mini-forensics ground truth (:class:`common.synthetic.ClipTruth`)
  into the same :class:`LandmarkSeries`, so a detector or a measurement can swap a real landmark
  detector for the perfect one and see what the landmarks cost.

A :class:`LandmarkSeries` holds, for T frames, the 6 + 6 eye points (subject's right eye first, in
the order p1..p6 of the eye aspect ratio), the points that outline each skin region (the region is
their convex hull: :func:`region_mask`), the full mesh where there is one, and ``ok`` / ``reasons``:
a frame where landmarks fail stays in the series with ``ok[t] = False``, NaN points and a reason -
it is reported, never dropped, so the time axis keeps the video's frame rate.

Example::

    from common.landmarks import FaceMeshLandmarker
    series = FaceMeshLandmarker().detect(crops)        # crops: (T, S, S, 3) uint8 RGB
    series.eyes.shape, series.ok.mean()                # (T, 2, 6, 2), share of frames with landmarks
    mask = region_mask(series, 0, "forehead", crops.shape[1:3])
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common.errors import CourseError

#: mediapipe face-mesh indices of the 6 eye points p1..p6 (p1, p4 the corners; p2, p3 upper lid above
#: p6, p5 lower lid), subject's right eye (image left) then left eye (image right).
EYE_INDICES = ((33, 160, 158, 133, 153, 144), (362, 385, 387, 263, 373, 380))

#: Skin regions for the pulse, as mediapipe face-mesh indices whose convex hull is the region:
#: the lower forehead, from between the brows (point 9) to mid-forehead (108, 151, 337), and each
#: cheek below the eye, beside the nose (checked on scikit-image's astronaut:
#: tests/foundation/test_landmarks.py). The upper forehead up to the hairline (points 10, 109, 338)
#: is left out: hair and fringes cover it on many faces, and a region that is partly hair averages
#: the pulse away (on mini-forensics the forehead-cheeks correlation of the antiphase fakes then
#: overlapped the real videos'; guide, phase 4, "Which skin? The forehead below the fringe").
REGION_INDICES = {
    "forehead": (9, 69, 299, 108, 151, 337),
    "right_cheek": (117, 118, 119, 100, 142, 203, 206, 207, 187, 123, 50, 101, 36, 205),
    "left_cheek": (346, 347, 348, 329, 371, 423, 426, 427, 411, 352, 280, 330, 266, 425),
}
REGIONS = tuple(REGION_INDICES)

#: Landmark failure reasons.
NO_FACE = "the face mesh found no face in this frame"
NOT_A_FRAME = "not an RGB uint8 frame"


@dataclass
class LandmarkSeries:
    """Landmarks of T consecutive frames (pixels of the images they were found in, x then y).

    Attributes:
        eyes: (T, 2, 6, 2) float32, the EAR points of the right then the left eye; NaN where ``ok`` is False.
        regions: {name: (T, K, 2) float32} the points outlining each skin region (:data:`REGIONS`).
        ok: (T,) bool, landmarks found.  reasons: per frame None or why they were not found.
        mesh: (T, 478, 2) float32 face-mesh points, or None (ground-truth landmarks have no mesh).
        source: "facemesh" or "truth".
    """

    eyes: np.ndarray
    regions: dict[str, np.ndarray]
    ok: np.ndarray
    reasons: list[str | None]
    mesh: np.ndarray | None = None
    source: str = "facemesh"
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ok.shape[0])

    @property
    def failed_frames(self) -> list[int]:
        """Positions (0..T-1) of the frames without landmarks."""
        return [int(t) for t in np.flatnonzero(~self.ok)]


def region_mask(series: LandmarkSeries, t: int, region: str, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the convex hull of ``region``'s points in frame ``t`` (all False if it failed)."""
    import cv2

    mask = np.zeros(tuple(shape[:2]), np.uint8)
    points = series.regions[region][t]
    if series.ok[t] and np.isfinite(points).all():
        hull = cv2.convexHull(np.round(points).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool)


def _empty_series(n_frames: int, n_mesh: int | None, source: str) -> LandmarkSeries:
    nan = np.float32(np.nan)
    return LandmarkSeries(
        eyes=np.full((n_frames, 2, 6, 2), nan, np.float32),
        regions={name: np.full((n_frames, len(idx), 2), nan, np.float32) for name, idx in REGION_INDICES.items()},
        ok=np.zeros(n_frames, bool), reasons=[None] * n_frames,
        mesh=None if n_mesh is None else np.full((n_frames, n_mesh, 2), nan, np.float32), source=source)


def series_from_mesh(mesh: np.ndarray) -> LandmarkSeries:
    """A series from (T, N >= 468, 2) face-mesh points (NaN rows = failed frames, reason NO_FACE)."""
    mesh = np.asarray(mesh, np.float32)
    series = _empty_series(len(mesh), mesh.shape[1], "facemesh")
    series.mesh = mesh
    series.ok = np.isfinite(mesh).all(axis=(1, 2))
    series.reasons = [None if good else NO_FACE for good in series.ok]
    series.eyes = np.stack([mesh[:, list(idx)] for idx in EYE_INDICES], axis=1)
    series.regions = {name: mesh[:, list(idx)] for name, idx in REGION_INDICES.items()}
    return series


class FaceMeshLandmarker:
    """mediapipe's face mesh (``refine_landmarks=True``: 478 points) behind the series interface.

    Args:
        static_image_mode: True treats every image independently (photos, shuffled crops); False
            (default) tracks the face from frame to frame, faster and steadier on a video.
        min_detection_confidence: mediapipe's face-detector threshold.

    ``detect(images)`` takes (T, H, W, 3) uint8 RGB (or a list of such images, sizes may differ)
    and returns a :class:`LandmarkSeries` in each image's pixels. Use one landmarker per video
    (tracking carries over between calls); :meth:`close` frees mediapipe's graph.
    """

    def __init__(self, static_image_mode: bool = False, min_detection_confidence: float = 0.5) -> None:
        try:
            import mediapipe as mp
        except ImportError as error:  # pragma: no cover - mediapipe is in requirements-nodeps.txt
            raise CourseError(f"the face mesh needs mediapipe 0.10.14 ({error})") from None
        self.static_image_mode = bool(static_image_mode)
        self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=self.static_image_mode, max_num_faces=1,
                                                     refine_landmarks=True,
                                                     min_detection_confidence=min_detection_confidence)

    def points(self, image: np.ndarray) -> np.ndarray | None:
        """(478, 2) float32 points of one RGB uint8 image in pixels, or None without a face."""
        result = self._mesh.process(np.ascontiguousarray(image))
        if not result.multi_face_landmarks:
            return None
        height, width = image.shape[:2]
        return np.array([[p.x * width, p.y * height] for p in result.multi_face_landmarks[0].landmark], np.float32)

    def detect(self, images) -> LandmarkSeries:
        meshes, reasons = [], []
        for image in images:
            image = np.asarray(image)
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                meshes.append(None)
                reasons.append(NOT_A_FRAME)
                continue
            found = self.points(image)
            meshes.append(found)
            reasons.append(None if found is not None else NO_FACE)
        mesh = np.full((len(meshes), 478, 2), np.nan, np.float32)
        for t, found in enumerate(meshes):
            if found is not None:
                mesh[t] = found
        series = series_from_mesh(mesh)
        series.reasons = reasons
        return series

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> "FaceMeshLandmarker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def truth_landmarks(truth) -> LandmarkSeries:
    """The mini-forensics ground truth as a :class:`LandmarkSeries` (frame pixels; no mesh).

    Eyes: the truth's own 6-point eyes. Regions from the eye points (the face's axis ``u`` from the
    right to the left eye, ``n`` pointing down the face, ``d`` the interocular distance): the
    forehead is the quadrilateral from 0.4 d to 0.75 d above the eyes, 0.45 d either side of
    their middle; each cheek spans 0.35 d to 0.9 d below its eye, 0.3 d either side of it - inside
    the pulsing skin of :func:`common.synthetic.render.skin_masks`.
    """
    eyes = np.asarray(truth.eye_landmarks, np.float64)
    centres = eyes.mean(axis=2)                                    # (T, 2, 2)
    axis = centres[:, 1] - centres[:, 0]
    distance = np.linalg.norm(axis, axis=1, keepdims=True)
    u = axis / distance
    n = np.stack([-u[:, 1], u[:, 0]], axis=1)                      # image y grows downwards: n points down
    middle = centres.mean(axis=1)

    def quad(centre, half_width, top, bottom):
        corners = [(-half_width, top), (half_width, top), (half_width, bottom), (-half_width, bottom)]
        return np.stack([centre + (a * u + b * n) * distance for a, b in corners], axis=1)

    series = _empty_series(len(eyes), None, "truth")
    series.eyes = eyes.astype(np.float32)
    series.regions = {"forehead": quad(middle, 0.45, -0.75, -0.4).astype(np.float32),
                      "right_cheek": quad(centres[:, 0], 0.3, 0.35, 0.9).astype(np.float32),
                      "left_cheek": quad(centres[:, 1], 0.3, 0.35, 0.9).astype(np.float32)}
    series.ok = np.isfinite(eyes).all(axis=(1, 2, 3))
    series.reasons = [None if good else "no ground truth for this frame" for good in series.ok]
    return series
