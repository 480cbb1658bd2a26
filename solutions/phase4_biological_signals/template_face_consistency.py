"""Face consistency: does the face move as one rigid head? Head pose from landmarks, and its flaws.

Idea. A face-swap pastes a generated inner face (eyes, nose, mouth) into a real head. The pasted
part is aligned in 2-D, so small errors of its 3-D orientation remain: the pose computed from the
inner face alone disagrees with the pose of the whole head (its outline, chin, forehead), while in a
real face both are the same rigid head (Yang, Li & Lyu, "Exposing Deep Fakes Using Inconsistent Head
Poses", ICASSP 2019: AUROC 0.89 on UADFV).

A head pose is a rotation R and a translation t that carry a generic 3-D face model into the camera
so that its projection lands on the 2-D landmarks: the Perspective-n-Point problem, which OpenCV's
``cv2.solvePnP`` solves. The camera is unknown, so we take a pinhole camera whose focal length is
the image width and whose centre is the image centre - good enough for a pose, as in Yang et al.

Papers: X. Yang, Y. Li, S. Lyu, ICASSP 2019; V. Lepetit et al., "EPnP", IJCV 2009.

Guide: IMPLEMENTATION_GUIDE.md, phase 4 (4.8-4.9).
"""
from __future__ import annotations

import cv2
import numpy as np

from phase4_biological_signals.template_blink_detection import SignalClassifier

# A 3-D face in millimetres, camera-style axes (x to the image right, y down, z away from the camera),
# origin at the nose tip, keyed by mediapipe face-mesh index (common.landmarks): mediapipe's own 3-D
# mesh of scikit-image's astronaut (a frontal face), eyes levelled, scaled to 90 mm between the
# outer eye corners and made left-right symmetric. A model from the same landmark detector keeps
# the points' meaning consistent (a textbook 6-point model put the ear points elsewhere).
FACE_MODEL_3D = {
    1: (0.0, 0.0, 0.0),          # nose tip
    168: (0.0, -44.0, 18.0),     # between the eyes (nasion)
    33: (-45.0, -41.0, 40.0),    # right eye, outer corner (image left)
    133: (-17.5, -38.0, 35.0),   # right eye, inner corner
    362: (17.5, -38.0, 35.0),    # left eye, inner corner
    263: (45.0, -41.0, 40.0),    # left eye, outer corner
    61: (-32.0, 15.0, 45.0),     # mouth, right corner
    291: (32.0, 15.0, 45.0),     # mouth, left corner
    152: (0.0, 70.0, 45.0),      # chin
    10: (0.0, -87.0, 18.0),      # top of the forehead
    234: (-67.5, -26.0, 94.5),   # right side of the face, at the ear
    454: (67.5, -26.0, 94.5),    # left side of the face, at the ear
    172: (-56.5, 30.5, 83.0),    # right jaw angle
    397: (56.5, 30.5, 83.0),     # left jaw angle
}
INNER_FACE = (1, 168, 33, 133, 362, 263, 61, 291)
"""Yang et al.'s central face: eyes, nose, mouth (what a face-swap replaces)."""
WHOLE_FACE = tuple(FACE_MODEL_3D)
"""The whole head: the central face and its outline (chin, forehead, sides, jaw)."""


def camera_matrix(width: int, height: int) -> np.ndarray:
    """(3, 3) pinhole camera of an image: focal length = width (pixels), principal point at the centre.
    Example: camera_matrix(200, 100) = [[200, 0, 100], [0, 200, 50], [0, 0, 1]]."""
    return np.array([[width, 0.0, width / 2.0], [0.0, width, height / 2.0], [0.0, 0.0, 1.0]])


# ------------------------------------------------------------------------------------------------
# 4.8 Head pose with solvePnP
# ------------------------------------------------------------------------------------------------

def head_pose(points_2d: np.ndarray, points_3d: np.ndarray, camera: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The head's rotation and translation from N >= 6 landmarks and their 3-D model points.

    points_2d: (N, 2) pixels.  points_3d: (N, 3) model millimetres, in the same order.
    camera: (3, 3) from :func:`camera_matrix`; no lens distortion. Solves PnP with
    ``cv2.solvePnP(..., flags=cv2.SOLVEPNP_SQPNP)`` (Terzakis & Lourakis 2020: the global minimum of
    the reprojection error, so no mirror-image pose behind the camera, which the iterative solver
    can fall into from a poor first guess) and turns the rotation vector into a matrix with
    ``cv2.Rodrigues``.
    Returns (R (3, 3) float64, t (3,) float64): a model point X lands at camera point R X + t.

    Example: the model projected with R = identity and t = (0, 0, 500) (a face half a metre away,
    looking at the camera) gives back R ~ identity and t ~ (0, 0, 500).
    """
    points_2d = np.ascontiguousarray(points_2d, dtype=np.float64).reshape(-1, 1, 2)
    points_3d = np.ascontiguousarray(points_3d, dtype=np.float64).reshape(-1, 1, 3)
    if len(points_2d) != len(points_3d) or len(points_2d) < 6:
        raise ValueError(f"head_pose needs N >= 6 matching points, got {len(points_2d)} 2-D and {len(points_3d)} 3-D")
    # BEGIN SOLUTION 4.8: call cv2.solvePnP(points_3d, points_2d, camera, np.zeros(4), flags=cv2.SOLVEPNP_SQPNP) -> (ok, rvec, tvec); turn rvec into a 3x3 matrix with cv2.Rodrigues (its first output); return it and tvec flattened to (3,)
    _, rvec, tvec = cv2.solvePnP(points_3d, points_2d, camera, np.zeros(4), flags=cv2.SOLVEPNP_SQPNP)
    rotation, _ = cv2.Rodrigues(rvec)
    return rotation, tvec.reshape(3)
    # END SOLUTION


# ------------------------------------------------------------------------------------------------
# 4.9 Inner face against whole head (Yang, Li & Lyu 2019)
# ------------------------------------------------------------------------------------------------

def rotation_angle_deg(r_a: np.ndarray, r_b: np.ndarray) -> float:
    """Angle in degrees of the rotation that takes orientation ``r_a`` to ``r_b`` (both (3, 3)).

    The relative rotation is R = r_a^T r_b; its angle is arccos((trace(R) - 1) / 2) (clip the
    cosine to [-1, 1] against rounding). Example: identity and a 10-degree turn about any axis -> 10.
    """
    # BEGIN SOLUTION 4.9: relative = r_a.T @ r_b; cosine = (np.trace(relative) - 1) / 2 clipped to [-1, 1]; return the arccos in degrees
    relative = np.asarray(r_a, np.float64).T @ np.asarray(r_b, np.float64)
    cosine = np.clip((np.trace(relative) - 1.0) / 2.0, -1.0, 1.0)
    return float(np.degrees(np.arccos(cosine)))
    # END SOLUTION


def pose_disagreement(points: dict[int, np.ndarray] | np.ndarray, camera: np.ndarray,
                      inner: tuple[int, ...] = INNER_FACE, whole: tuple[int, ...] = WHOLE_FACE) -> float:
    """Yang et al.'s cue: degrees between the head pose of the inner face and of the whole face.

    points: the 2-D landmarks, indexable by face-mesh index (a (478, 2) mesh array, or a dict
    {index: (x, y)}).  camera: (3, 3). Each pose is :func:`head_pose` of the chosen indices' 2-D
    points against their :data:`FACE_MODEL_3D` points; returns :func:`rotation_angle_deg` of the two
    rotations. About 0 for a real, rigid face; several degrees for a pasted inner face.
    """
    def pose_of(indices):
        points_2d = np.array([points[i] for i in indices], np.float64)
        points_3d = np.array([FACE_MODEL_3D[i] for i in indices], np.float64)
        return head_pose(points_2d, points_3d, camera)[0]

    # BEGIN SOLUTION 4.9: the rotation of the inner indices and the rotation of the whole indices (pose_of each), then the angle between them
    return rotation_angle_deg(pose_of(inner), pose_of(whole))
    # END SOLUTION


# ------------------------------------------------------------------------------------------------
# The consistency and combined detectors (provided)
# ------------------------------------------------------------------------------------------------

CONSISTENCY_FEATURE_NAMES = ("median pose disagreement / 10 deg", "landmark shape instability * 10",
                             "landmark failure share")


def landmark_instability(mesh: np.ndarray) -> float:
    """How much the face's shape (not its position or size) changes over the frames: the mesh of
    each frame centred and divided by its RMS radius, then the mean over points of the standard
    deviation over time (in units of the face's radius). Frames with NaN are ignored."""
    good = np.isfinite(mesh).all(axis=(1, 2))
    if good.sum() < 2:
        return 0.0
    shapes = mesh[good] - mesh[good].mean(axis=1, keepdims=True)
    shapes = shapes / np.sqrt((shapes ** 2).sum(axis=2).mean(axis=1))[:, None, None]
    return float(shapes.std(axis=0).mean())


BOUNDARY_BAND_PX = 4
"""Width in pixels of the bands either side of the face boundary whose colours are compared."""


def boundary_colour_gap(image: np.ndarray, face_mask: np.ndarray, band_px: int = BOUNDARY_BAND_PX) -> float:
    """Colour consistency across a face boundary (provided): how far the colour just inside the
    boundary of ``face_mask`` is from the colour just outside it.

    A face-swap blends a generated face into the target's head; the blend hides the seam but rarely
    the colour: the pasted skin is a little redder, paler or greener than the skin around it, a
    mismatch right at the blending boundary that Face X-ray (Li et al., CVPR 2020) learns to find.
    image: (H, W, 3) uint8 RGB.  face_mask: (H, W) bool, the face region (e.g. the convex hull of
    the inner face's landmarks).  band_px: width of each band.
    The inner band is the mask minus its erosion by ``band_px``, the outer band the dilation minus
    the mask (OpenCV, an elliptic kernel of side 2 band_px + 1). Both bands' mean colours are
    converted to CIELAB (L 0-100; ``cv2.cvtColor`` of float RGB in [0, 1]) and the result is their
    Euclidean distance (CIE76 Delta E; about 2.3 is a just noticeable difference).
    Returns NaN when either band is empty.

    Example: a face tinted from RGB (200, 150, 120) to (230, 150, 120) on the same skin outside
    gives Delta E of about 13.4; the same skin on both sides gives 0.
    """
    image = np.asarray(image)
    mask = np.asarray(face_mask, bool).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band_px + 1, 2 * band_px + 1))
    inner = mask.astype(bool) & ~cv2.erode(mask, kernel).astype(bool)
    outer = cv2.dilate(mask, kernel).astype(bool) & ~mask.astype(bool)
    if not inner.any() or not outer.any():
        return float("nan")
    means = np.stack([image[inner].mean(axis=0), image[outer].mean(axis=0)]).astype(np.float32) / 255.0
    lab = cv2.cvtColor(means[None], cv2.COLOR_RGB2LAB)[0].astype(np.float64)
    return float(np.linalg.norm(lab[0] - lab[1]))


def inner_face_mask(series, t: int, shape: tuple[int, int], indices: tuple[int, ...] = INNER_FACE) -> np.ndarray:
    """(H, W) bool: the convex hull of the inner face's face-mesh points in frame ``t`` (eyes, nose,
    mouth: what a face-swap replaces); all False without a mesh or landmarks in that frame."""
    mask = np.zeros(tuple(shape[:2]), np.uint8)
    if series.mesh is not None and series.ok[t]:
        points = series.mesh[t][list(indices)]
        if np.isfinite(points).all():
            cv2.fillConvexPoly(mask, cv2.convexHull(np.round(points).astype(np.int32)), 1)
    return mask.astype(bool)


def boundary_colour_gaps(crops: np.ndarray, series, band_px: int = BOUNDARY_BAND_PX) -> np.ndarray:
    """(T,) float64 :func:`boundary_colour_gap` of the inner face in each crop (NaN where the
    landmarks failed or there is no mesh)."""
    gaps = np.full(len(crops), np.nan)
    for t, crop in enumerate(crops):
        mask = inner_face_mask(series, t, crop.shape[:2])
        if mask.any():
            gaps[t] = boundary_colour_gap(crop, mask, band_px)
    return gaps


def consistency_features(crops: np.ndarray, series, fps: float, step: int = 5) -> np.ndarray:
    """(3,) float32 features of a window (task 4.8-4.9): the median inner/whole pose disagreement over
    every ``step``-th frame with landmarks (in 10s of degrees), the shape instability of the mesh and
    the share of frames whose landmarks failed. Without a mesh (ground-truth landmarks) the first
    two are 0."""
    failed = float(1.0 - np.mean(series.ok)) if len(series) else 1.0
    if series.mesh is None or not series.ok.any():
        return np.array([0.0, 0.0, failed], np.float32)
    height, width = crops.shape[1:3]
    camera = camera_matrix(width, height)
    angles = [pose_disagreement(series.mesh[t], camera) for t in np.flatnonzero(series.ok)[::step]]
    return np.array([np.median(angles) / 10.0, landmark_instability(series.mesh) * 10.0, failed], np.float32)


def biological_features(crops: np.ndarray, series, fps: float) -> np.ndarray:
    """(9,) float32: the blink, pulse and consistency features of a window, side by side - the one
    biological score per video that phase 5's fusion reads comes from a classifier on these."""
    from phase4_biological_signals.template_blink_detection import blink_features
    from phase4_biological_signals.template_pulse_detection import pulse_features

    return np.concatenate([blink_features(crops, series, fps), pulse_features(crops, series, fps),
                           consistency_features(crops, series, fps)]).astype(np.float32)


def window_signals(crops: np.ndarray, series, fps: float) -> dict:
    """The combined detector's time series of a window: the blink detector's EAR and the pulse
    detector's pulse side by side (both ``window_signals``; provided, for the report's plots)."""
    from phase4_biological_signals.template_blink_detection import window_signals as blink_signals
    from phase4_biological_signals.template_pulse_detection import window_signals as pulse_signals

    return {**blink_signals(crops, series, fps), **pulse_signals(crops, series, fps)}


class BiologicalClassifier(SignalClassifier):
    """The combined biological detector's logistic regression on :func:`biological_features` (see ``SignalClassifier``)."""
