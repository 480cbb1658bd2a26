"""Face extraction: find the face in every frame, cut a square crop with a margin, optionally align it.

Idea. A deepfake changes the face and leaves the rest of the frame alone, so every detector in
this course looks at the face only. The pipeline used by FaceForensics++ and DeepfakeBench is:

1. detect the faces of a frame (here MTCNN, Zhang et al. 2016: a cascade of three small CNNs
   giving a box, a probability and five landmarks per face);
2. enlarge the box to a square 1.3 times the face's longer side (the margin keeps the blending
   boundary around the face, where face swaps leave their artefacts), shift it to stay inside the
   frame, crop and resize to a fixed size (task 1.1);
3. or, instead of 2, *align* the face: find the rotation + uniform scale + translation that moves
   its five landmarks onto a fixed template, and warp the frame with it (task 1.2), so that eyes and
   mouth always land on the same pixels whatever the head's roll.

Papers: K. Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded
Convolutional Networks" (MTCNN), IEEE SPL 2016. A. Rossler et al., "FaceForensics++", ICCV 2019
(crop scale 1.3). S. Umeyama, "Least-squares estimation of transformation parameters between two
point patterns", IEEE TPAMI 1991 (the similarity fit). J. Deng et al., "ArcFace", CVPR 2019 (the
five-point template).

Coordinates are pixels, x to the right and y down; boxes are (x1, y1, x2, y2). Frames are
(H, W, 3) uint8 RGB arrays (OpenCV reads BGR: convert with ``cv2.cvtColor(f, cv2.COLOR_BGR2RGB)``).

Guide: IMPLEMENTATION_GUIDE.md, phase 1 (1.1 Square face crop, 1.2 Face alignment).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Sequence

import cv2
import numpy as np
import torch

from common.device import resolve_device

# Five-point template of the ArcFace / InsightFace 112x112 crops (Deng et al. 2019), in pixels (x, y):
# left eye, right eye, nose tip, left mouth corner, right mouth corner ("left" = image left, the
# order MTCNN gives its landmarks in). Scaled to any output size by size / 112.
ARCFACE_TEMPLATE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)


# ------------------------------------------------------------------------------------------------
# Task 1.1: the square crop
# ------------------------------------------------------------------------------------------------

def square_crop_box(box: Sequence[float], scale: float, frame_shape: Sequence[int]) -> tuple[int, int, int, int]:
    """The square region to cut around a detected face.

    Args:
        box: (x1, y1, x2, y2) face box in pixels (floats are fine), x2 > x1, y2 > y1.
        scale: margin factor; the square's side is ``scale * max(w, h)`` (1.3 in FaceForensics++
            and DeepfakeBench).
        frame_shape: the frame's shape (H, W) or (H, W, C).

    Returns:
        (x1, y1, x2, y2) ints with ``x2 - x1 == y2 - y1 == side``, so that
        ``frame[y1:y2, x1:x2]`` is the square crop (x2, y2 exclusive).

    The rule:
        1. side = round(scale * max(w, h)) (round half up), at least 1 and at most min(H, W) (a
           square never larger than the frame);
        2. centre the square on the box centre: x1 = round(cx - side / 2), y1 = round(cy - side / 2);
        3. shift it (never shrink it) back inside the frame: x1 is clipped to [0, W - side] and y1
           to [0, H - side]. The crop is always square and always inside the frame.

    Example:
        box (100, 100, 200, 150), scale 1.3, frame 480x640: side = 130, centre (150, 125),
        so the square is (85, 60, 215, 190). The same box at the top-left corner, (0, 10, 40, 60)
        in a 100x100 frame: side 65, x1 = round(20 - 32.5) = -12 is shifted to 0 -> (0, 3, 65, 68).
    """
    height, width = int(frame_shape[0]), int(frame_shape[1])
    x1, y1, x2, y2 = (float(v) for v in box)
    # BEGIN SOLUTION 1.1: the side is scale times the longer box side, rounded half up (math.floor(v + 0.5)) and kept within 1..min(H, W); centre the square on the box centre (corner rounded half up), then shift it, never shrink it, back inside the frame; return four ints
    side = math.floor(scale * max(x2 - x1, y2 - y1) + 0.5)
    side = max(1, min(side, height, width))
    centre_x, centre_y = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left = math.floor(centre_x - side / 2.0 + 0.5)
    top = math.floor(centre_y - side / 2.0 + 0.5)
    left = min(max(left, 0), width - side)
    top = min(max(top, 0), height - side)
    return int(left), int(top), int(left + side), int(top + side)
    # END SOLUTION


def crop_face(frame: np.ndarray, box: Sequence[float], size: int, scale: float = 1.3) -> np.ndarray:
    """Cut the square crop of :func:`square_crop_box` out of a frame and resize it.

    Args:
        frame: (H, W, 3) uint8 RGB.
        box: (x1, y1, x2, y2) face box in pixels.
        size: output side S in pixels.
        scale: margin factor (see :func:`square_crop_box`).

    Returns:
        (S, S, 3) uint8 RGB. Resized with ``cv2.INTER_AREA`` when shrinking (it averages the pixels
        it merges, no aliasing) and ``cv2.INTER_LINEAR`` when enlarging; not resized at all when
        the square is already S pixels wide.

    Example:
        >>> crop_face(np.zeros((480, 640, 3), np.uint8), (100, 100, 200, 150), size=256).shape
        (256, 256, 3)
    """
    # BEGIN SOLUTION 1.1: cut out the square that square_crop_box gives and bring it to size x size with cv2.resize: INTER_AREA to shrink, INTER_LINEAR to enlarge, and no resize (just a copy) when it already has that size
    x1, y1, x2, y2 = square_crop_box(box, scale, frame.shape)
    square = np.ascontiguousarray(frame[y1:y2, x1:x2])
    side = x2 - x1
    if side == size:
        return square.copy()
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(square, (size, size), interpolation=interpolation)
    # END SOLUTION


# ------------------------------------------------------------------------------------------------
# Task 1.2: five-point alignment
# ------------------------------------------------------------------------------------------------

def similarity_transform(src_points: np.ndarray, dst_points: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (rotation, uniform scale, translation) from src to dst.

    Umeyama (1991): with centred point sets A = src - mean(src), B = dst - mean(dst) (N x 2), the
    covariance C = B^T A / N has the SVD C = U diag(s) V^T. The rotation is R = U D V^T with
    D = diag(1, det(U) det(V)) (so R is a rotation, never a reflection), the scale
    c = trace(diag(s) D) / var(A) with var(A) = sum |A_i|^2 / N, and the translation
    t = mean(dst) - c R mean(src). It minimises sum_i |dst_i - (c R src_i + t)|^2.

    Args:
        src_points: (N, 2) float points (x, y), N >= 2, not all equal.
        dst_points: (N, 2) float points, the targets.

    Returns:
        (2, 3) float64 matrix M = [c R | t], so that dst ~ M @ [x, y, 1]; it is the matrix
        ``cv2.warpAffine`` expects.

    Example:
        src (0, 0), (1, 0) and dst (1, 1), (1, 3): scale 2, rotation 90 degrees, translation (1, 1):
        M = [[0, -2, 1], [2, 0, 1]].
    """
    src = np.asarray(src_points, dtype=np.float64)
    dst = np.asarray(dst_points, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"expected two (N, 2) point arrays with N >= 2, got {src.shape} and {dst.shape}")
    # BEGIN SOLUTION 1.2: Umeyama's method from the docstring: centre both point sets, take np.linalg.svd of their 2x2 cross-covariance, flip the last singular direction when the determinants' product is negative (a rotation, never a reflection), then derive the rotation, the scale and the translation and stack them into the 2x3 matrix
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_centred, dst_centred = src - src_mean, dst - dst_mean
    covariance = dst_centred.T @ src_centred / len(src)
    u, singular_values, vt = np.linalg.svd(covariance)
    signs = np.array([1.0, 1.0 if np.linalg.det(u) * np.linalg.det(vt) >= 0 else -1.0])
    rotation = u @ np.diag(signs) @ vt
    src_variance = (src_centred ** 2).sum() / len(src)
    scale = float((singular_values * signs).sum() / src_variance)
    translation = dst_mean - scale * rotation @ src_mean
    return np.hstack([scale * rotation, translation[:, None]])
    # END SOLUTION


def alignment_template(size: int, scale: float = 1.0) -> np.ndarray:
    """The five landmark positions of an aligned face in an S x S crop.

    The ArcFace 112x112 template (:data:`ARCFACE_TEMPLATE_112`) scaled by ``size / 112``; with
    ``scale > 1`` the points are pulled towards the crop's centre by 1/scale, so the crop shows
    ``scale`` times more context around the face (scale 1.3 ~ the margin of the square crops).

    Args:
        size: output side S in pixels. scale: context factor, >= 1 for more margin.

    Returns:
        (5, 2) float64 points (x, y) in pixels.

    Example:
        >>> alignment_template(112)[0]        # the left eye of the original template
        array([38.2946, 51.6963])
    """
    unit = ARCFACE_TEMPLATE_112 / 112.0  # the template in units of the crop side
    return ((unit - 0.5) / scale + 0.5) * size  # SOLUTION 1.2: move the unit template towards the centre 0.5 by 1/scale, then multiply by size


def align_face(frame: np.ndarray, landmarks: np.ndarray, size: int, scale: float = 1.0) -> np.ndarray:
    """Warp a frame so that a face's five landmarks land on the alignment template.

    Args:
        frame: (H, W, 3) uint8 RGB.
        landmarks: (5, 2) float (x, y) pixels: left eye, right eye, nose, left and right mouth
            corners (MTCNN's order).
        size: output side S in pixels.
        scale: context factor of :func:`alignment_template`.

    Returns:
        (S, S, 3) uint8 RGB aligned face: ``cv2.warpAffine`` with the matrix of
        :func:`similarity_transform` (landmarks -> template), bilinear interpolation, pixels from
        outside the frame filled by reflecting the border.

    Example:
        A face tilted by 20 degrees comes out upright, eyes on one horizontal line near y = 0.46 S.
    """
    # BEGIN SOLUTION 1.2: estimate the landmarks -> alignment_template similarity with similarity_transform, then warp the frame into a size x size image with cv2.warpAffine, bilinear interpolation and a reflected border (BORDER_REFLECT_101)
    matrix = similarity_transform(np.asarray(landmarks, dtype=np.float64), alignment_template(size, scale))
    return cv2.warpAffine(np.ascontiguousarray(frame), matrix, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101)
    # END SOLUTION


# ------------------------------------------------------------------------------------------------
# Provided: the detector object (MTCNN over batches of frames) and the per-frame results
# ------------------------------------------------------------------------------------------------

@dataclass
class Face:
    """One detected face.

    Attributes:
        box: (4,) float32 (x1, y1, x2, y2) in pixels of the original frame.
        landmarks: (5, 2) float32 (x, y): left eye, right eye, nose, left / right mouth corner.
        probability: MTCNN's face probability in [0, 1].
        crop: (S, S, 3) uint8 RGB, the square crop (or the aligned face when ``align=True``).
        track_id: the same number for the same face across consecutive frames (IoU matching), or
            ``None`` when tracking is off.
    """

    box: np.ndarray
    landmarks: np.ndarray
    probability: float
    crop: np.ndarray
    track_id: int | None = None

    @property
    def area(self) -> float:
        return float(max(self.box[2] - self.box[0], 0.0) * max(self.box[3] - self.box[1], 0.0))


@dataclass
class FrameFaces:
    """What the extractor found in one frame. Every input frame gets one, faces or not.

    Attributes:
        frame_index: the frame's index (its position in the input, or the index passed in).
        faces: detected faces, largest first (at most one with ``select="largest"``); empty when
            no face passed ``min_probability``.
    """

    frame_index: int
    faces: list[Face] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``"face"`` or ``"no_face"``: frames without a face are reported, never dropped."""
        return "face" if self.faces else "no_face"

    @property
    def has_face(self) -> bool:
        return bool(self.faces)

    @property
    def face(self) -> Face | None:
        """The largest face, or ``None`` for a no-face frame."""
        return self.faces[0] if self.faces else None


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes, in [0, 1]."""
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    intersection = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection
    return float(intersection / union) if union > 0 else 0.0


def assign_track_ids(results: list[FrameFaces], iou_threshold: float = 0.3) -> None:
    """Give each face a track id, in place: a face continues the track of the face in the previous
    frame that overlaps it most (IoU >= ``iou_threshold``, each track taken once per frame);
    otherwise it starts a new track. A frame without faces ends no track: the next face is
    compared with the last frame that had faces. Simple, and enough for one or two people."""
    previous: list[Face] = []
    next_id = 0
    for result in results:
        taken: set[int] = set()
        for face in result.faces:
            candidates = [(box_iou(face.box, old.box), old.track_id) for old in previous if old.track_id not in taken]
            best = max(candidates, default=(0.0, None), key=lambda pair: pair[0])
            if best[1] is not None and best[0] >= iou_threshold:
                face.track_id = best[1]
            else:
                face.track_id, next_id = next_id, next_id + 1
            taken.add(face.track_id)
        if result.faces:
            previous = result.faces


class FaceExtractor:
    """MTCNN face detection over frames, returning one :class:`FrameFaces` per frame.

    Args:
        device: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``.
        size: side S of the output crops in pixels (256 in DeepfakeBench, 380 for EfficientNet-B4,
            299 for Xception).
        scale: margin factor of the square crop (1.3: FaceForensics++, DeepfakeBench).
        select: ``"largest"`` keeps the largest face per frame; ``"all"`` keeps every face.
        align: ``False`` gives square crops (task 1.1); ``True`` gives five-point aligned faces
            (task 1.2) with the same context factor ``scale``.
        min_probability: faces below this MTCNN probability are ignored.
        min_face_size: MTCNN's smallest face in pixels of the detection frame.
        max_detection_side: frames whose longer side exceeds this are downscaled before detection
            (the DFDC winner ran MTCNN on half-size frames: a face filling a 1080p frame is still
            found, and detection is ~4x faster); boxes and landmarks are mapped back, crops are cut
            from the full-resolution frame.
        batch_size: frames per MTCNN call (equal-size frames are detected in one batched call).
        track: give faces track ids across the frames of one :meth:`extract` call.

    Example::

        extractor = FaceExtractor(device="cpu", size=256)
        results = extractor.extract(frames)            # frames: list of (H, W, 3) uint8 RGB
        crops = [r.face.crop for r in results if r.has_face]
    """

    def __init__(self, device: str | torch.device = "auto", size: int = 256, scale: float = 1.3,
                 select: Literal["largest", "all"] = "largest", align: bool = False,
                 min_probability: float = 0.9, min_face_size: int = 20, max_detection_side: int = 960,
                 batch_size: int = 16, track: bool = True) -> None:
        from facenet_pytorch import MTCNN  # imported here: heavy, and only needed by this class

        if select not in ("largest", "all"):
            raise ValueError(f"select must be 'largest' or 'all', got {select!r}")
        if size < 1 or scale <= 0 or batch_size < 1 or max_detection_side < 32:
            raise ValueError("size, scale and batch_size must be positive and max_detection_side >= 32")
        self.device = resolve_device(device)
        self.size, self.scale, self.select, self.align = int(size), float(scale), select, bool(align)
        self.min_probability, self.max_detection_side = float(min_probability), int(max_detection_side)
        self.batch_size, self.track = int(batch_size), bool(track)
        self.mtcnn = MTCNN(keep_all=True, min_face_size=min_face_size, device=self.device)

    def extract(self, frames: Sequence[np.ndarray] | np.ndarray,
                frame_indices: Sequence[int] | None = None) -> list[FrameFaces]:
        """Detect, select and crop the faces of every frame.

        Args:
            frames: a sequence of (H, W, 3) uint8 RGB frames (sizes may differ), or one
                (T, H, W, 3) uint8 array.
            frame_indices: the index to report for each frame (default 0 .. T-1).

        Returns:
            A list of T :class:`FrameFaces`, in input order; frames without a face have
            ``status == "no_face"`` and an empty ``faces`` list.
        """
        frames = [self._check_frame(frame, number) for number, frame in enumerate(frames)]
        indices = list(range(len(frames))) if frame_indices is None else [int(i) for i in frame_indices]
        if len(indices) != len(frames):
            raise ValueError(f"frame_indices has {len(indices)} entries for {len(frames)} frames")
        results: list[FrameFaces] = []
        for start, stop in self._equal_size_batches(frames):
            detections = self._detect_batch(frames[start:stop])
            for frame, index, (boxes, probabilities, landmarks) in zip(frames[start:stop], indices[start:stop], detections):
                results.append(FrameFaces(index, self._faces_of(frame, boxes, probabilities, landmarks)))
        if self.track:
            assign_track_ids(results)
        return results

    @staticmethod
    def _check_frame(frame: np.ndarray, number: int) -> np.ndarray:
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"frame {number} must be an (H, W, 3) uint8 RGB array, got {frame.shape} {frame.dtype}")
        return np.ascontiguousarray(frame)

    def _equal_size_batches(self, frames: list[np.ndarray]) -> list[tuple[int, int]]:
        """(start, stop) runs of consecutive equal-size frames, each at most ``batch_size`` long."""
        runs, start = [], 0
        for stop in range(1, len(frames) + 1):
            if stop == len(frames) or frames[stop].shape != frames[start].shape or stop - start == self.batch_size:
                runs.append((start, stop))
                start = stop
        return runs

    def _detection_factor(self, shape: tuple[int, ...]) -> float:
        longer = max(shape[0], shape[1])
        return min(1.0, self.max_detection_side / longer)

    def _detect_batch(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Run MTCNN once on equal-size frames; return per frame (boxes (K, 4), probs (K,), landmarks (K, 5, 2))
        in full-resolution pixels (K may be 0)."""
        factor = self._detection_factor(frames[0].shape)
        if factor < 1.0:
            new_size = (max(1, round(frames[0].shape[1] * factor)), max(1, round(frames[0].shape[0] * factor)))
            batch = np.stack([cv2.resize(f, new_size, interpolation=cv2.INTER_AREA) for f in frames])
        else:
            batch = np.stack(frames)
        boxes, probabilities, landmarks = self.mtcnn.detect(batch, landmarks=True)
        out = []
        for frame_boxes, frame_probs, frame_points in zip(boxes, probabilities, landmarks):
            if frame_boxes is None:  # MTCNN returns None (in an object array) for a frame without faces
                out.append((np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)))
                continue
            out.append((np.asarray(frame_boxes, dtype=np.float32).reshape(-1, 4) / factor,
                        np.asarray(frame_probs, dtype=np.float32).reshape(-1),
                        np.asarray(frame_points, dtype=np.float32).reshape(-1, 5, 2) / factor))
        return out

    def _faces_of(self, frame: np.ndarray, boxes: np.ndarray, probabilities: np.ndarray,
                  landmarks: np.ndarray) -> list[Face]:
        keep = probabilities >= self.min_probability
        boxes, probabilities, landmarks = boxes[keep], probabilities[keep], landmarks[keep]
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        order = np.argsort(-areas, kind="stable")
        if self.select == "largest":
            order = order[:1]
        faces = []
        for k in order:
            if self.align:
                crop = align_face(frame, landmarks[k], self.size, self.scale)
            else:
                crop = crop_face(frame, boxes[k], self.size, self.scale)
            faces.append(Face(boxes[k].copy(), landmarks[k].copy(), float(probabilities[k]), crop))
        return faces
