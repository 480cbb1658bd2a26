"""Self-Blended Images as a data source of the shared training loop (``train.py --data-source sbi``).

Shiohara and Yamasaki (CVPR 2022) train a detector on real faces alone: each real face is shown
as it is (REAL) and as a pseudo-fake blended from a slightly changed copy of itself (FAKE), so the
network learns the blending boundary every face swap leaves, not the fingerprints of one
benchmark's generators. The blending itself is the student's tasks 1.10-1.11
(``phase1_cnn_detection/template_self_blended_images.py``, reached through
:func:`common.exercises.self_blended_image`); this module is the plumbing around it:

* :class:`SelfBlendedDataset` reads the REAL training videos' face crops from the same face cache
  the train tool builds (:func:`common.engine.cache_faces`, files of
  :func:`common.torch_data.write_face_cache`) and serves ``2 N`` items for ``N`` real crops: item
  ``i < N`` is real crop ``i`` (label 0), item ``N + i`` its self-blended version (label 1), a
  fresh blend at every draw, seeded by ``(seed, epoch, i, draw)`` so a run is reproducible;
* :func:`crop_landmarks` finds the landmarks of the hull once per crop: mediapipe's face mesh
  (:class:`common.landmarks.FaceMeshLandmarker`, its face oval :data:`FACE_OVAL`, the SBI choice), and
  where the mesh finds no face an ellipse inscribed in the face box the crop was cut around
  (:func:`box_landmarks`: the crop is ``scale`` times the detector's box, centred).

The fakes of the benchmark are not used for training; validation (early stopping, calibration)
still uses the real validation split with its real fakes, and the test split is untouched.

Example::

    data = SelfBlendedDataset(cache_dir, splits["train"], transform=prep.train_transform("forensic", 0))
    image, label, video_id = data[len(data) // 2]       # a self-blended face, label 1.0
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from common.datasets import VideoRecord
from common.errors import CourseError, DatasetLayoutError
from common.torch_data import FaceCropDataset

#: mediapipe face-mesh indices of the face oval (``mp.solutions.face_mesh.FACEMESH_FACE_OVAL``, in
#: order around the face): their convex hull is the whole face, brows to chin, like the SBI paper's
#: hull of the 68 dlib landmarks plus 13 forehead points.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
             152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)

DATA_SOURCES = ("benchmark", "sbi")
"""``--data-source`` choices: the benchmark's own fakes, or Self-Blended Images of its real videos."""

LANDMARK_CHOICES = ("facemesh", "box")
"""How :class:`SelfBlendedDataset` finds the hull: the face mesh (box where it fails) or the box alone."""


def box_landmarks(size: int, scale: float = 1.3, n_points: int = len(FACE_OVAL)) -> np.ndarray:
    """``n_points`` points of the ellipse inscribed in the face box of a ``size``-pixel crop.

    The face cache cuts each crop as the square of ``scale`` times the detector's face box, centred
    on it (task 1.1), so the box is the central square of side ``size / scale``. (n_points, 2)
    float32, x then y.

    Example:
        ``box_landmarks(130, 1.3, 4)``: the box has side 100 around the centre (64.5, 64.5), so the
        points are (114.5, 64.5), (64.5, 114.5), (14.5, 64.5), (64.5, 14.5).
    """
    if size < 1 or not scale >= 1:
        raise ValueError(f"need a crop size >= 1 and a scale >= 1, got {size} and {scale}")
    centre = (size - 1) / 2.0
    radius = size / (2.0 * scale)
    angles = 2 * np.pi * np.arange(n_points) / n_points
    return np.stack([centre + radius * np.cos(angles), centre + radius * np.sin(angles)], axis=1).astype(np.float32)


def crop_landmarks(faces: np.ndarray, *, scale: float = 1.3, method: str = "facemesh",
                   landmarker=None) -> tuple[np.ndarray, np.ndarray]:
    """The hull landmarks of each face crop.

    Args:
        faces: (N, S, S, 3) uint8 RGB crops.
        scale: the crop margin they were cut with (for the box fallback).
        method: ``"facemesh"`` (the face oval, the box ellipse where the mesh finds no face) or
            ``"box"`` (the ellipse only: no mediapipe, instant).
        landmarker: a :class:`common.landmarks.FaceMeshLandmarker` to reuse (one is made otherwise).
    Returns:
        ``(points (N, K, 2) float32, from_mesh (N,) bool)``.
    """
    if method not in LANDMARK_CHOICES:
        raise CourseError(f"unknown landmark method '{method}': choose one of {', '.join(LANDMARK_CHOICES)}")
    faces = np.asarray(faces)
    size = faces.shape[1] if faces.ndim == 4 else 1
    box = box_landmarks(size, scale)
    points = np.repeat(box[None], len(faces), axis=0)
    from_mesh = np.zeros(len(faces), bool)
    if method == "facemesh" and len(faces):
        from common.landmarks import FaceMeshLandmarker

        owner = landmarker is None
        landmarker = landmarker or FaceMeshLandmarker(static_image_mode=True)
        try:
            for n, face in enumerate(faces):
                mesh = landmarker.points(face)
                if mesh is not None and np.isfinite(mesh[list(FACE_OVAL)]).all():
                    points[n] = mesh[list(FACE_OVAL)]
                    from_mesh[n] = True
        finally:
            if owner:
                landmarker.close()
    return points, from_mesh


class SelfBlendedDataset(Dataset):
    """Real face crops (label 0) and their Self-Blended Images (label 1): ``(image, label, video_id)``.

    Args:
        cache_dir: the face-cache folder of the detector (as :class:`common.torch_data.FaceCropDataset`).
        records: the training videos; only the REAL ones (label 0) are read, the fakes are ignored.
        transform: applied to each (3, S, S) float32 image in [0, 1] after blending (the train
            transform of task 1.9: augmentation, resize, normalisation).
        seed: seeds every blend: item ``N + i`` at its ``d``-th draw in epoch ``e`` uses
            ``numpy.random.default_rng([seed, e, i, d])``, so each epoch sees fresh pseudo-fakes
            and a rerun the same ones.
        scale: the crop margin of the cache (for the box landmarks).
        landmarks: ``"facemesh"`` or ``"box"`` (:func:`crop_landmarks`), found once here for every crop.
        blend: the blending function (default: tasks 1.10-1.11 through :mod:`common.exercises`).

    Attributes:
        labels, video_ids, groups: one entry per item (``N`` real then ``N`` blended).
        n_real_videos, n_ignored_fakes: videos used, fake training videos left out.
        mesh_share: share of crops whose hull came from the face mesh (the rest: the box ellipse).

    With ``DataLoader`` worker processes the draw counters live in the workers (they restart every
    epoch unless the workers persist): call :meth:`set_epoch` each epoch to vary the blends there.
    """

    def __init__(self, cache_dir: str | Path, records: Iterable[VideoRecord], transform: Callable | None = None, *,
                 seed: int = 0, scale: float = 1.3, landmarks: str = "facemesh",
                 blend: Callable | None = None, files_in_memory: int = 8) -> None:
        records = list(records)
        real = [record for record in records if record.label == 0]
        self.n_ignored_fakes = len(records) - len(real)
        if not real:
            raise DatasetLayoutError("Self-Blended Images need real training videos; the training split has none")
        self.real = FaceCropDataset(cache_dir, real, transform=None, files_in_memory=files_in_memory)
        if len(self.real) == 0:
            raise DatasetLayoutError(f"no face was found in the {len(real)} real training videos")
        self.n_real_videos = len(real)
        self.transform = transform
        self.seed = int(seed)
        self.epoch = 0
        if blend is None:
            from common.exercises import self_blended_image as blend
        self.blend = blend
        count = len(self.real)
        self.labels = [0] * count + [1] * count
        self.video_ids = list(self.real.video_ids) * 2
        self.groups = list(self.real.groups) * 2
        self._draws = np.zeros(count, np.int64)
        self._points = np.zeros((count, len(FACE_OVAL), 2), np.float32)
        self._from_mesh = np.zeros(count, bool)
        self._find_landmarks(scale, landmarks)
        self.mesh_share = float(self._from_mesh.mean())

    def _find_landmarks(self, scale: float, method: str) -> None:
        landmarker = None
        if method == "facemesh":
            from common.landmarks import FaceMeshLandmarker

            landmarker = FaceMeshLandmarker(static_image_mode=True)
        try:
            start = 0
            for path in self.real.files:  # in item order: FaceCropDataset adds a file's faces together
                faces = self.real._faces_of(path)
                points, from_mesh = crop_landmarks(faces, scale=scale, method=method, landmarker=landmarker)
                self._points[start:start + len(faces)] = points
                self._from_mesh[start:start + len(faces)] = from_mesh
                start += len(faces)
        finally:
            if landmarker is not None:
                landmarker.close()

    def set_epoch(self, epoch: int) -> None:
        """Start epoch ``epoch``: the blends are drawn afresh from ``(seed, epoch, item, draw)``."""
        self.epoch = int(epoch)
        self._draws[:] = 0

    def landmarks(self, index: int) -> np.ndarray:
        """(K, 2) hull landmarks of real crop ``index % N``."""
        return self._points[index % len(self.real)]

    def __len__(self) -> int:
        return 2 * len(self.real)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        count = len(self.real)
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} items")
        index %= len(self)
        crop = index % count
        file_number, face_number = self.real._items[crop]
        face = self.real._faces_of(self.real.files[file_number])[face_number]
        if index < count:
            image = face.astype(np.float32) / 255.0
        else:
            rng = np.random.default_rng([self.seed, self.epoch, crop, int(self._draws[crop])])
            self._draws[crop] += 1
            image, _ = self.blend(face, self._points[crop], rng)
        tensor = torch.from_numpy(np.ascontiguousarray(np.asarray(image, np.float32).transpose(2, 0, 1)))
        if self.transform is not None:
            tensor = self.transform(tensor)
        return tensor, torch.tensor(float(self.labels[index])), self.video_ids[index]

    def describe(self) -> str:
        """One line for the console: what the source holds and what it leaves out."""
        return (f"data source sbi: {len(self.real)} real face crops of {self.n_real_videos} real training videos "
                f"+ as many self-blended ones (hull from the face mesh on {100 * self.mesh_share:.0f}% of crops, "
                f"the face box elsewhere); the {self.n_ignored_fakes} fake training videos are not used")


def real_records(records: Sequence[VideoRecord]) -> list[VideoRecord]:
    """The REAL videos of ``records`` (what an SBI run needs cached for training)."""
    return [record for record in records if record.label == 0]
